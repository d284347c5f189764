/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ready: the ready list behind one eventfd that watch sets are made of (store_ready.h).
 */
#include "store_ready.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int store_ready_init(struct store_ready *r)
{
	memset(r, 0, sizeof(*r));
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0)
		return -errno;
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

void store_ready_destroy(struct store_ready *r)
{
	close(r->efd);
	pthread_mutex_destroy(&r->lock);
	free(r->items);
}

int store_ready_add(struct store_ready *r, void *item)
{
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void **items = realloc(r->items, cap * sizeof(*items));

		if (!items) {
			pthread_mutex_unlock(&r->lock);
			return -ENOMEM;
		}
		r->items = items;
		r->cap = cap;
	}
	r->items[r->n++] = item;
	if (!r->efd_set && write(r->efd, &one, sizeof(one)) == sizeof(one))
		r->efd_set = true;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

size_t store_ready_take(struct store_ready *r, void *out, size_t max)
{
	size_t n;
	uint64_t v;

	pthread_mutex_lock(&r->lock);
	n = r->n < max ? r->n : max;
	if (n) {
		memcpy(out, r->items, n * sizeof(*r->items));
		memmove(r->items, r->items + n, (r->n - n) * sizeof(*r->items));
		r->n -= n;
	}
	if (!r->n && r->efd_set && (read(r->efd, &v, sizeof(v)) == sizeof(v) || errno == EAGAIN))
		r->efd_set = false;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void store_ready_remove(struct store_ready *r, const void *item)
{
	size_t k = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i] != item)
			r->items[k++] = r->items[i];
	r->n = k;
	pthread_mutex_unlock(&r->lock);
}
