/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_ready: a ready list behind one eventfd, what a watch set is made of: producers put the
 * items that have work on the list (one eventfd write while it is not empty, however many),
 * one consumer thread takes them; the fd is readable while the list is not empty. The list
 * does not look at its items: keeping an item off it while it is there or handed out (a flag
 * under the item's own lock) is the caller's. The store's watch sets (watch.c) and the
 * registry's (control/api/registry/reg_hev.c) are both one of these.
 */
#ifndef DROVER_STORE_READY_H
#define DROVER_STORE_READY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct store_ready {
	pthread_mutex_t lock; /* items, n, cap, efd_set */
	int efd;
	bool efd_set;
	void **items;
	size_t n, cap;
};

/* 0 or -errno (the eventfd). */
int store_ready_init(struct store_ready *r);
void store_ready_destroy(struct store_ready *r);
/* Put item at the end and signal the fd: 0, or -ENOMEM (not put). */
int store_ready_add(struct store_ready *r, void *item);
/* Take up to max items, oldest first, into out: an array of max object pointers of the type
 * the items were put as. The fd is cleared once the list is empty. How many were taken. */
size_t store_ready_take(struct store_ready *r, void *out, size_t max);
/* Take item off the list (every time it is on it). */
void store_ready_remove(struct store_ready *r, const void *item);

#endif
