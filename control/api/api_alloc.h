/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_alloc: the Service ClusterIP range (10.96.0.0/16 by default; .1 is the kubernetes
 * Service's) and the NodePort range (30000-32767). Every address and port is held by at most
 * one Service; allocations are released when the Service is deleted or changes, or when the
 * write that took them fails. Rebuilt from the stored Services at start. Thread-safe.
 */
#ifndef DROVER_API_ALLOC_H
#define DROVER_API_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

struct api_server;

int api_alloc_new(struct api_server *s);
void api_alloc_free(struct api_server *s);

/* Take an address: want NULL or "" for any free one (written to out, 16 bytes), else that one.
 * 0, -EEXIST (held), -ERANGE (outside the range), -EINVAL (not an IPv4 address), -ENOSPC. */
int api_alloc_ip(struct api_server *s, const char *want, char *out);
void api_alloc_ip_release(struct api_server *s, const char *ip);
/* Mark an address held (rebuilding from stored Services); false if it was already held. */
bool api_alloc_ip_mark(struct api_server *s, const char *ip);
/* "10.96.0.0/16" */
const char *api_alloc_cidr(struct api_server *s);
/* The n-th address of the range as text ("10.96.0.1" for n = 1). */
void api_alloc_ip_nth(struct api_server *s, uint32_t n, char *out);

/* Take a NodePort: want 0 for any free one. 0, -EEXIST, -ERANGE, -ENOSPC. */
int api_alloc_port(struct api_server *s, int want, int *out);
void api_alloc_port_release(struct api_server *s, int port);
bool api_alloc_port_mark(struct api_server *s, int port);
void api_alloc_port_range(struct api_server *s, int *lo, int *hi);

#endif
