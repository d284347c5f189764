/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient_local: the in-process transport of kclient (userspace/lib/kclient/kclient.h):
 * every call goes straight to the registry — the same decoding checks, defaulting,
 * admission, validation, Status errors and watch semantics as over HTTPS, with no socket, no
 * TLS and no re-encoding where it can be avoided (objects read are the store's own bytes,
 * shared by reference). Controllers and the scheduler inside `drover server` use it; the
 * same code runs against any server over kclient_http.
 *
 * Watches of one client share one thread: their store watches are in one watch set, so a
 * thousand idle watches cost one fd; bookmarks and timeouts run on that thread's timer.
 */
#ifndef DROVER_KCLIENT_LOCAL_H
#define DROVER_KCLIENT_LOCAL_H

#include "kclient.h"

struct registry;

struct kclient_local_opts {
	unsigned bookmark_interval_s; /* 0: 60 */
};

/* A client over reg (borrowed: it outlives the client). NULL with errno set. */
struct kclient *kclient_local_new(struct registry *reg, const struct kclient_local_opts *o);

#endif
