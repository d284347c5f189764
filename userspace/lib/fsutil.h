/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsutil: small file system helpers every binary shares (today mkdir -p, which the agent, the
 * image store, the runtime, cgroups, drover-cni and the proxy's pin root all need).
 */
#ifndef DROVER_FSUTIL_H
#define DROVER_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * mkdir -p: path and every missing parent, made with mode; existing directories are fine.
 * No allocation and nothing but mkdir(2) (a cloned child may call it). When made is not NULL
 * it gets the length of the shortest prefix of path this call created (0: none), so that a
 * caller can remove what it made. 0 or -errno (-ENAMETOOLONG past PATH_MAX).
 */
int fs_mkdir_p(const char *path, mode_t mode, size_t *made);

#endif
