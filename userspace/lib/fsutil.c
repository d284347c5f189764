/* SPDX-License-Identifier: Apache-2.0 */
/* fsutil: file system helpers. See fsutil.h. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"

int fs_mkdir_p(const char *path, mode_t mode, size_t *made)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (made)
		*made = 0;
	if (n == 0)
		return -ENOENT;
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == 0) {
			if (made && !*made)
				*made = (size_t)(p - buf);
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (!c)
			return 0;
		*p = c;
	}
}
