/* SPDX-License-Identifier: Apache-2.0 */
/* image_ref_normalize against the references docker/distribution's ParseNormalizedNamed and
 * containerd's default tag make of them, and the ones they refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "image.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalized(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"busybox", "docker.io/library/busybox:latest"},
	    {"busybox:1.35", "docker.io/library/busybox:1.35"},
	    {"library/busybox", "docker.io/library/busybox:latest"},
	    {"docker.io/busybox", "docker.io/library/busybox:latest"},
	    {"index.docker.io/library/busybox:1", "docker.io/library/busybox:1"},
	    {"foo/bar", "docker.io/foo/bar:latest"},
	    {"localhost/x:y", "localhost/x:y"},
	    {"localhost:5000/x", "localhost:5000/x:latest"},
	    {"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
	    {"gcr.io/a/b/c_d-e.f__g:v1.0-rc_1", "gcr.io/a/b/c_d-e.f__g:v1.0-rc_1"},
	    {"busybox@sha256:" D64, "docker.io/library/busybox@sha256:" D64},
	    {"busybox:1.35@sha256:" D64, "docker.io/library/busybox:1.35@sha256:" D64},
	    {"a--b", "docker.io/library/a--b:latest"},
	};
	char out[IMAGE_REF_MAX], err[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = image_ref_normalize(cases[i].in, out, sizeof(out), err, sizeof(err));
		if (r != 0)
			fail_msg("%s: %s", cases[i].in, err);
		assert_string_equal(out, cases[i].out);
	}
}

static void test_refused(void **state)
{
	static const struct {
		const char *in, *err;
	} cases[] = {
	    {"", "invalid reference format"},
	    {"Busybox", "repository name (library/Busybox) must be lowercase"},
	    {"foo/Bar", "repository name (foo/Bar) must be lowercase"},
	    {"Busy..box", "repository name (library/Busy..box) must be lowercase"},
	    {D64, "cannot specify 64-byte hexadecimal strings"},
	    {"busybox:", "invalid reference format"},
	    {"busybox:-x", "invalid reference format"},
	    {"-busybox", "invalid reference format"},
	    {"busy..box", "invalid reference format"},
	    {"a//b", "invalid reference format"},
	    {"busybox@sha256:abc", "invalid reference format"},
	    {"busybox@md5:" D64, "invalid reference format"},
	    {"localhost:x/y", "invalid reference format"},
	};
	char out[IMAGE_REF_MAX], err[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		int r = image_ref_normalize(cases[i].in, out, sizeof(out), err, sizeof(err));
		if (r != -EINVAL)
			fail_msg("%s: accepted as %s", cases[i].in, out);
		if (!strstr(err, cases[i].err))
			fail_msg("%s: error '%s' lacks '%s'", cases[i].in, err, cases[i].err);
	}
	/* a name over 255 characters */
	char longname[300];
	memset(longname, 'a', 280);
	longname[280] = '\0';
	assert_int_equal(image_ref_normalize(longname, out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	/* too small an output buffer */
	assert_int_equal(image_ref_normalize("busybox", out, 8, NULL, 0), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalized),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
