/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch: one watcher's bounded queue of shared events and its eventfd. Backends push; the
 * consumer pops from its own thread, waiting on the eventfd. Nothing here copies an event: the
 * queue holds references to the one immutable event the backend built.
 *
 * Lock: w->lock guards q/head/len, err, efd_set, in_set_ready. The eventfd is set when the
 * queue becomes non-empty or the watch is cancelled, and cleared when the consumer finds it
 * empty, so the fd is readable exactly while store_watch_next() would not block.
 *
 * A watch in a watch set signals the set instead of its own eventfd: it is put on the set's
 * ready list (store_ready.h; its lock is taken inside w->lock) when it gets work and is not
 * there or handed out already; it leaves that state when its consumer drains it. One eventfd
 * write per batch and consumer thread instead of one per watch: what lets one thread serve
 * thousands.
 */
#include "store_int.h"
#include "store_ready.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct store_watch_set {
	struct store_ready r; /* of struct store_watch */
};

int store_watch_set_new(struct store_watch_set **out)
{
	struct store_watch_set *set;
	int err;

	if (!out)
		return -EINVAL;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	err = store_ready_init(&set->r);
	if (err) {
		free(set);
		return err;
	}
	*out = set;
	return 0;
}

void store_watch_set_free(struct store_watch_set *set)
{
	if (!set)
		return;
	store_ready_destroy(&set->r);
	free(set);
}

int store_watch_set_fd(const struct store_watch_set *set)
{
	return set ? set->r.efd : -EINVAL;
}

/* Caller holds w->lock. */
static void set_add(struct store_watch *w)
{
	/* on failure the consumer's own poll of the watch still finds it */
	if (!w->in_set_ready && store_ready_add(&w->set->r, w) == 0)
		w->in_set_ready = true;
}

size_t store_watch_set_ready(struct store_watch_set *set, struct store_watch **out, size_t max,
			     int timeout_ms)
{
	struct pollfd pfd = {.fd = set ? set->r.efd : -1, .events = POLLIN};
	size_t n;

	if (!set || !out || !max)
		return 0;
	n = store_ready_take(&set->r, out, max);
	if (n || timeout_ms == 0)
		return n;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	return store_ready_take(&set->r, out, max);
}

struct store_watch *watch_new(const void *prefix, size_t prefix_len, size_t limit, bool in_set)
{
	struct store_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	/* a watch in a set is signalled through the set's eventfd: it needs none of its own */
	w->efd = in_set ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->prefix = malloc(prefix_len ? prefix_len : 1);
	if ((!in_set && w->efd < 0) || !w->prefix) {
		if (w->efd >= 0)
			close(w->efd);
		free(w->prefix);
		free(w);
		return NULL;
	}
	if (prefix_len)
		memcpy(w->prefix, prefix, prefix_len);
	w->prefix_len = prefix_len;
	w->limit = limit ? limit : 1;
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

bool watch_matches(const struct store_watch *w, const uint8_t *key, size_t key_len)
{
	return key_len >= w->prefix_len && memcmp(key, w->prefix, w->prefix_len) == 0;
}

static void efd_set(struct store_watch *w)
{
	uint64_t one = 1;

	if (w->set) {
		set_add(w);
		return;
	}
	if (w->efd_set)
		return;
	if (write(w->efd, &one, sizeof(one)) == sizeof(one))
		w->efd_set = true;
}

static void efd_clear(struct store_watch *w)
{
	uint64_t v;

	if (!w->efd_set)
		return;
	if (read(w->efd, &v, sizeof(v)) == sizeof(v) || errno == EAGAIN)
		w->efd_set = false;
}

static void drop_queue(struct store_watch *w)
{
	while (w->len) {
		store_event_put(w->q[w->head]);
		w->head = (w->head + 1) % w->cap;
		w->len--;
	}
	free(w->q);
	w->q = NULL;
	w->cap = w->head = 0;
}

static void cancel_locked(struct store_watch *w, int err)
{
	if (w->err)
		return;
	w->err = err;
	drop_queue(w);
	efd_set(w);
}

static int grow(struct store_watch *w, size_t need)
{
	size_t cap = w->cap ? w->cap : 16;
	struct store_event **q;

	while (cap < need)
		cap *= 2;
	if (cap > w->limit)
		cap = w->limit;
	q = malloc(cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < w->len; i++)
		q[i] = w->q[(w->head + i) % w->cap];
	free(w->q);
	w->q = q;
	w->cap = cap;
	w->head = 0;
	return 0;
}

int watch_push_many(struct store_watch *w, struct store_event **evs, size_t n)
{
	int err = 0;

	if (!n)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (w->err)
		goto out;
	if (w->len + n > w->limit) {
		cancel_locked(w, -STORE_ESLOW);
		err = -STORE_ESLOW;
		goto out;
	}
	if (w->len + n > w->cap && grow(w, w->len + n)) {
		cancel_locked(w, -ENOMEM);
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sref_get(evs[i]->_ref);
		w->q[(w->head + w->len) % w->cap] = evs[i];
		w->len++;
	}
	efd_set(w);
out:
	pthread_mutex_unlock(&w->lock);
	return err;
}

int watch_push(struct store_watch *w, struct store_event *ev)
{
	return watch_push_many(w, &ev, 1);
}

void watch_cancel(struct store_watch *w, int err)
{
	pthread_mutex_lock(&w->lock);
	cancel_locked(w, err);
	pthread_mutex_unlock(&w->lock);
}

static int pop(struct store_watch *w, struct store_event **ev)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (w->len) {
		*ev = w->q[w->head];
		w->head = (w->head + 1) % w->cap;
		w->len--;
		ret = 1;
	} else if (w->err) {
		ret = w->err;
	}
	if (!w->len && !w->err) {
		efd_clear(w);
		w->in_set_ready = false; /* drained: the next event puts it back on the list */
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int store_watch_next(struct store_watch *w, struct store_event **ev, int timeout_ms)
{
	struct pollfd pfd;
	int ret;

	if (!w || !ev || (w->set && timeout_ms != 0))
		return -EINVAL;
	*ev = NULL;
	for (;;) {
		ret = pop(w, ev);
		if (ret != 0 || timeout_ms == 0)
			return ret;
		pfd.fd = w->efd;
		pfd.events = POLLIN;
		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret == 0)
			return pop(w, ev);
		/* Woken (or EINTR): try again; a spurious wake-up waits once more at most
		 * the full timeout, which callers treat as an upper bound anyway. */
	}
}

int store_watch_fd(const struct store_watch *w)
{
	return w && !w->set ? w->efd : -EINVAL;
}

size_t store_watch_pending(struct store_watch *w)
{
	size_t n;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	n = w->len;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void watch_free(struct store_watch *w)
{
	if (!w)
		return;
	if (w->set)
		store_ready_remove(&w->set->r, w); /* a closing watch leaves the ready list */
	drop_queue(w);
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->lock);
	free(w->prefix);
	free(w);
}

void store_watch_close(struct store_watch *w)
{
	if (!w)
		return;
	if (w->detach)
		w->detach(w);
	watch_free(w);
}
