/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch: watch streams over suspended connections. The content reader hands libmicrohttpd as
 * many whole events as fit in one read (one chunk, one TLS record and one send for a batch
 * instead of one per event): each event's line is the one the registry encoded once for
 * every watch that gets it (reg_event_line), copied straight from it; a Table or a version
 * served by conversion is formatted for the watch (the rare slow path), as are bookmarks.
 * When nothing is pending (its registry watch drained) the reader suspends its connection.
 * Every registry watch is in one watch set: the watch thread waits on the set's fd (one
 * wake-up per batch of events, however many watches), on the client sockets (hang-up,
 * edge-triggered) and on a timer for bookmarks and timeouts, and resumes the connections that
 * have work; the reader runs again on an HTTP thread. Nothing ever busy-returns 0 from a
 * reader. A watch's mutex orders suspend (reader) before resume (watch thread), which
 * libmicrohttpd requires.
 *
 * Direct writes: once a chunked (HTTP/1.1) stream's reader has drained its watch, the
 * connection stays suspended for the rest of the stream and the watch thread writes each
 * batch itself as one chunk — one TLS record and one send, straight from the fan-out, with
 * no resume, no wake-up of an HTTP thread, no reader call and no re-suspension per event
 * (those were most of the server's CPU per delivered event beside the send itself). This
 * is safe because libmicrohttpd calls a chunked response's reader only when everything
 * before it (headers, earlier chunks) has been sent, and never touches a suspended
 * connection; GnuTLS allows one thread to send while another receives on a session. The
 * stream's end goes back through libmicrohttpd: the connection is resumed, the reader
 * returns end of stream and libmicrohttpd writes the last chunk and finishes the request.
 * DROVER_WATCH_NO_DIRECT=1 in the server's environment turns direct writes off (the
 * benchmark measures both paths in one run).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_selector.h"
#include "array.h"
#include "api_table.h"
#include "api_watch.h"
#include "hmap.h"
#include "log.h"

#define COMP	     "watch"
/* Bytes of events one direct write gathers (about libmicrohttpd's own per-connection buffer:
 * a backlog goes out in batches of this size, each one chunk) */
#define DIRECT_BATCH (32u * 1024u)
/* A direct write buffer grown past this is given back when its watch has drained. */
#define DIRECT_KEEP  (16u * 1024u)
/* Batches one push writes before the shard's other watches get their turn (the rest of a
 * backlog goes on the shard's next pass). */
#define DIRECT_TURN  4

/* The watches are spread over shards, one watch thread each (as many as the HTTP threads):
 * with direct writes a shard's thread does its watches' sends, and one thread alone for
 * every stream would be the fan-out's bottleneck (and get one thread's share of a busy
 * machine's CPUs). */
struct watch_shard {
	struct api_server *srv;
	unsigned idx;
	pthread_mutex_t lock;
	struct hmap *byid; /* id -> struct api_watch */
	struct hmap *byrw; /* struct reg_watch * -> struct api_watch */
	struct reg_watch_set *set;
	int epfd;
	pthread_t thread;
	bool running;
	bool stopping;
	/* ids of direct watches that still have events after their turn */
	uint64_t *again;
	size_t nagain, capagain;
};

struct api_watchers {
	struct watch_shard *sh;
	unsigned n;
	atomic_uint_fast64_t next_id;
	int stopfd; /* readable once stopping: wakes every shard's thread */
};

struct api_watch {
	struct api_server *srv;
	struct MHD_Connection *conn;
	uint64_t id;
	pthread_mutex_t mu;
	const struct api_resource *res;	   /* as requested */
	const struct api_resource *stored; /* its stored version (Table columns) */
	struct watch_shard *sh;
	bool table, defs_sent, bookmarks;
	int include;
	struct reg_watch *rw;
	uint64_t deadline_ms, next_bookmark_ms;
	/* the event being written: its shared line, line_off bytes of it sent */
	struct reg_event ev;
	const char *line;
	size_t line_len, line_off;
	/* what is formatted for this watch alone (Tables, conversions, bookmarks, errors) */
	struct k8s_buf out;
	size_t out_off;
	int sock;
	bool suspended, ended;
	/* direct writes (see the top of the file): allowed for a chunked response, on since
	 * the reader first drained the watch; the chunk being sent, pend_off bytes of it
	 * sent, tls_again the length of a TLS write that would have blocked (GnuTLS wants the
	 * same call again); out_wait: waiting for the socket to take more */
	bool direct_ok, direct, out_wait;
	uint64_t out_wait_ms; /* since when */
	gnutls_session_t tls;
	struct k8s_buf pend;
	size_t pend_off, tls_again;
};

enum { TAG_SOCK = 1, TAG_STOP = 2, TAG_SET = 3 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the watch thread ---- */

static struct api_watch *lookup(struct watch_shard *ws, uint64_t id)
{
	return hmap_get(ws->byid, &id, sizeof(id));
}

static void push(struct api_watch *w);
static void end_direct(struct api_watch *w);

/* A direct stream whose client takes nothing more: past the watch's deadline, or longer than
 * an idle connection may wait (libmicrohttpd closed such a connection after that much time
 * without progress; it does not time out a suspended one). */
static bool stalled(const struct api_watch *w)
{
	uint64_t now = now_ms();

	return now >= w->deadline_ms ||
	       now - w->out_wait_ms >= (uint64_t)w->srv->cfg.idle_timeout_s * 1000u;
}

/* Something for w to do at the timers' pass: its timeout or a bookmark, a stalled client to
 * cut, or events its set did not report (a wake-up an allocation failure kept off the ready
 * list). The reader changes these fields: read them under w->mu. Caller holds ws->lock. */
static bool due(struct api_watch *w, uint64_t now)
{
	bool due;

	pthread_mutex_lock(&w->mu);
	due = now >= w->deadline_ms || (w->bookmarks && now >= w->next_bookmark_ms) ||
	      (w->out_wait ? stalled(w) : w->rw && reg_watch_pending(w->rw));
	pthread_mutex_unlock(&w->mu);
	return due;
}

/* Resume w's connection if its reader suspended it, or write its events now if the watch
 * thread writes them (ended: resume it to finish the stream). Caller holds ws->lock. */
static void wake(struct api_watch *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->direct) {
		if (w->out_wait && stalled(w))
			w->ended = true; /* cut short: end_direct shuts the socket down */
		if (w->ended)
			end_direct(w);
		else if (!w->out_wait)
			push(w);
	} else if (w->suspended) {
		w->suspended = false;
		MHD_resume_connection(w->conn);
	}
	pthread_mutex_unlock(&w->mu);
}

/* The client's socket can take more: finish a direct write that would have blocked. */
static void writable(struct api_watch *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->direct && w->out_wait) {
		w->out_wait = false;
		push(w);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Resume the watches that have events. Caller holds ws->lock (a registry watch is closed
 * only under it, so the pointers handed out stay valid while we look them up). */
static void wake_ready(struct watch_shard *ws)
{
	struct reg_watch *ready[256];
	size_t n;

	while ((n = reg_watch_set_ready(ws->set, ready, 256)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct api_watch *w = hmap_get(ws->byrw, &ready[i], sizeof(ready[i]));

			if (w)
				wake(w);
		}
	}
}

/* History compaction, as kube-apiserver has etcd do: every interval, drop the versions older
 * than the revision that was current one interval ago (a watch or a paged list that far
 * behind gets 410 Expired and starts over). Without it every update would be kept forever. */
static void maybe_compact(struct api_server *s, uint64_t now, uint64_t *next_ms, uint64_t *mark)
{
	uint64_t cur;
	int err;

	if (now < *next_ms)
		return;
	*next_ms = now + s->cfg.compact_interval_s * 1000ull;
	cur = store_revision(s->store);
	if (*mark > store_compacted_revision(s->store)) {
		err = store_compact(s->store, *mark);
		if (err && err != -STORE_ECOMPACTED)
			log_warn(COMP, "compacting to %" PRIu64 ": %s", *mark, store_strerror(err));
		else
			log_debug(COMP, "compacted to revision %" PRIu64, *mark);
#ifdef __GLIBC__
		/* the old versions were spread over the heap: give the pages back to the system
		 * (glibc keeps freed memory otherwise, and the RSS never comes down); nothing was
		 * freed when nothing was compacted */
		if (!err)
			malloc_trim(0);
#endif
	}
	*mark = cur;
}

/* A shard's watch thread: resumes (or writes) its watches with events, ends those whose
 * client hung up, runs the timers (bookmarks, timeouts; shard 0 the compaction too). */
static void *watch_thread(void *arg)
{
	struct watch_shard *ws = arg;
	struct api_server *s = ws->srv;
	struct epoll_event evs[256];
	uint64_t last_scan = now_ms();
	uint64_t next_compact = last_scan + s->cfg.compact_interval_s * 1000ull, mark = 0;

	pthread_setname_np(pthread_self(), "api-watch");
	for (;;) {
		int n = epoll_wait(ws->epfd, evs, 256, ws->nagain ? 0 : 500);
		uint64_t now = now_ms();

		if (n < 0 && errno != EINTR) {
			log_error(COMP, "epoll_wait: %s", strerror(errno));
			return NULL;
		}
		pthread_mutex_lock(&ws->lock);
		if (ws->stopping) {
			pthread_mutex_unlock(&ws->lock);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			struct api_watch *w;

			if (evs[i].data.u64 == TAG_SET) {
				wake_ready(ws);
				continue;
			}
			w = lookup(ws, evs[i].data.u64 >> 2);
			if (!w)
				continue;
			if ((evs[i].data.u64 & 3) == TAG_SOCK &&
			    !(evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
				writable(w);
				continue;
			}
			/* the client hung up: end the stream so that the connection closes */
			if ((evs[i].data.u64 & 3) == TAG_SOCK) {
				pthread_mutex_lock(&w->mu);
				w->ended = true;
				pthread_mutex_unlock(&w->mu);
			}
			wake(w);
		}
		/* the watches whose turn ended with events left: their next turn (a watch freed
		 * meanwhile is not found) */
		if (ws->nagain) {
			size_t k = ws->nagain;
			uint64_t *ids = ws->again;

			ws->again = NULL;
			ws->nagain = ws->capagain = 0;
			for (size_t i = 0; i < k; i++) {
				struct api_watch *w = lookup(ws, ids[i]);

				if (w)
					wake(w);
			}
			free(ids);
		}
		/* timers: bookmarks and timeouts, checked twice a second */
		if (now - last_scan >= 500) {
			last_scan = now;
			for (struct hmap_entry *e = hmap_first(ws->byid); e;
			     e = hmap_next(ws->byid, e)) {
				struct api_watch *w = hmap_entry_val(e);

				if (due(w, now))
					wake(w);
			}
		}
		pthread_mutex_unlock(&ws->lock);
		if (ws->idx == 0)
			maybe_compact(s, now, &next_compact, &mark);
	}
}

static int shard_start(struct api_server *s, struct watch_shard *ws, unsigned idx, int stopfd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_STOP};
	struct epoll_event sev = {.events = EPOLLIN, .data.u64 = TAG_SET};
	int err;

	ws->srv = s;
	ws->idx = idx;
	pthread_mutex_init(&ws->lock, NULL);
	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	ws->byid = hmap_new();
	ws->byrw = hmap_new();
	if (ws->epfd < 0 || !ws->byid || !ws->byrw || reg_watch_set_new(&ws->set) != 0)
		return -ENOMEM;
	if (epoll_ctl(ws->epfd, EPOLL_CTL_ADD, stopfd, &ev) != 0 ||
	    epoll_ctl(ws->epfd, EPOLL_CTL_ADD, reg_watch_set_fd(ws->set), &sev) != 0)
		return -errno;
	err = pthread_create(&ws->thread, NULL, watch_thread, ws);
	if (err)
		return -err;
	ws->running = true;
	return 0;
}

int api_watchers_start(struct api_server *s)
{
	struct api_watchers *ws = calloc(1, sizeof(*ws));
	unsigned n = s->cfg.threads ? s->cfg.threads : 1;

	if (!ws)
		return -ENOMEM;
	s->watchers = ws;
	atomic_init(&ws->next_id, 1);
	ws->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ws->sh = calloc(n, sizeof(*ws->sh));
	if (ws->stopfd < 0 || !ws->sh)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		ws->sh[i].epfd = -1;
	for (; ws->n < n; ws->n++) {
		int err = shard_start(s, &ws->sh[ws->n], ws->n, ws->stopfd);

		if (err) {
			ws->n++; /* api_watchers_free frees what it got */
			return err;
		}
	}
	return 0;
}

void api_watchers_stop(struct api_server *s)
{
	struct api_watchers *ws = s->watchers;
	uint64_t one = 1;

	if (!ws)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		struct watch_shard *sh = &ws->sh[i];

		pthread_mutex_lock(&sh->lock);
		sh->stopping = true;
		for (struct hmap_entry *e = sh->byid ? hmap_first(sh->byid) : NULL; e;
		     e = hmap_next(sh->byid, e)) {
			struct api_watch *w = hmap_entry_val(e);

			pthread_mutex_lock(&w->mu);
			w->ended = true;
			pthread_mutex_unlock(&w->mu);
			wake(w);
		}
		pthread_mutex_unlock(&sh->lock);
	}
	if (ws->stopfd >= 0 && write(ws->stopfd, &one, sizeof(one)) < 0)
		log_debug(COMP, "stop: %s", strerror(errno));
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->sh[i].running) {
			pthread_join(ws->sh[i].thread, NULL);
			ws->sh[i].running = false;
		}
	}
}

void api_watchers_free(struct api_server *s)
{
	struct api_watchers *ws = s->watchers;

	if (!ws)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		struct watch_shard *sh = &ws->sh[i];

		hmap_free(sh->byid);
		hmap_free(sh->byrw);
		free(sh->again);
		reg_watch_set_free(sh->set);
		if (sh->epfd >= 0)
			close(sh->epfd);
		pthread_mutex_destroy(&sh->lock);
	}
	free(ws->sh);
	if (ws->stopfd >= 0)
		close(ws->stopfd);
	free(ws);
	s->watchers = NULL;
}

/* ---- events ---- */

static void put_object(struct api_watch *w, struct jv_doc *d, struct jv *obj)
{
	if (!w->table) {
		k8s_jv_write_schema(&w->out, obj, w->res->kind->type);
		return;
	}
	if (w->res->storage) {
		/* the columns read the stored version's fields */
		obj = jv_copy(d, obj);
		if (obj)
			w->res->to_storage(w->res, d, obj);
	}
	api_table_begin(&w->out, w->stored, reg_watch_rev(w->rw), NULL, !w->defs_sent);
	w->defs_sent = true;
	api_table_row(&w->out, w->stored, obj, (enum api_include_object)w->include, true);
	api_table_end(&w->out);
}

/* An event formatted for this watch alone: a Table, or its version's object. */
static void emit(struct api_watch *w, struct jv_doc *d, const struct reg_event *ev)
{
	static const char *const names[] = {
	    [REG_ADDED] = "ADDED", [REG_MODIFIED] = "MODIFIED", [REG_DELETED] = "DELETED"};

	k8s_buf_printf(&w->out, "{\"type\":\"%s\",\"object\":", names[ev->type]);
	if (ev->obj)
		put_object(w, d, ev->obj);
	else
		api_emit_object(&w->out, ev->kv.value, ev->kv.value_len, ev->kv.mod_rev);
	k8s_buf_puts(&w->out, "}\n");
}

static void emit_bookmark(struct api_watch *w)
{
	const struct k8s_kind *k = w->res->kind;

	k8s_buf_printf(&w->out,
		       "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
		       "\"metadata\":{\"resourceVersion\":\"%" PRIu64 "\",\"creationTimestamp\":"
		       "null}}}\n",
		       w->table ? "Table" : k->kind, w->table ? "meta.k8s.io/v1" : k->api_version,
		       reg_watch_rev(w->rw));
}

static void emit_error(struct api_watch *w, unsigned code, const char *reason, const char *msg)
{
	size_t len;
	char *st = api_status_json(code, reason, msg, &len);

	if (!st)
		return;
	k8s_buf_puts(&w->out, "{\"type\":\"ERROR\",\"object\":");
	k8s_buf_put(&w->out, st, len);
	k8s_buf_puts(&w->out, "}\n");
	free(st);
}

/* The next event: its shared line in w->line, or formatted into w->out. 1, 0 (none
 * pending: the registry watch is drained), or -1 (the stream is over: w->ended). */
static int next_event(struct api_watch *w)
{
	bool own = w->table || w->res->storage;
	struct jv_doc *d = NULL;
	int rc;

	if (w->ended || !w->rw || atomic_load(&w->srv->stopping)) {
		w->ended = true;
		return -1;
	}
	if (own && !(d = jv_doc_new())) {
		w->ended = true;
		return -1;
	}
	rc = reg_watch_next(w->rw, d, &w->ev);
	if (rc == 1 && own) {
		emit(w, d, &w->ev);
		reg_event_put(&w->ev);
	} else if (rc == 1) {
		w->line = reg_event_line(&w->ev, &w->line_len);
		w->line_off = 0;
		if (!w->line) {
			reg_event_put(&w->ev);
			rc = -ENOMEM;
		}
	}
	jv_doc_free(d);
	if (rc < 0) {
		if (rc == -STORE_ESLOW)
			log_debug(COMP, "watch %" PRIu64 " fell behind; ended", w->id);
		w->ended = true;
		return -1;
	}
	return rc;
}

/* Bytes of p[0..len) to send in room: whole lines (events) only, or, when nothing is in the
 * buffer yet and one line does not fit, as much of it as does. */
static size_t whole_lines(const char *p, size_t len, size_t room, bool empty)
{
	size_t k = 0;

	while (k < len) {
		const char *nl = memchr(p + k, '\n', len - k);
		size_t end = nl ? (size_t)(nl + 1 - p) : len;

		if (end > room)
			break;
		k = end;
	}
	return !k && empty ? (len < room ? len : room) : k;
}

/* Due when nothing else is: the timeout ends the stream, else a bookmark may be due. */
static void timers(struct api_watch *w)
{
	uint64_t now = now_ms();

	if (now >= w->deadline_ms) {
		w->ended = true;
		return;
	}
	if (w->bookmarks && now >= w->next_bookmark_ms && !reg_watch_has_initial(w->rw)) {
		emit_bookmark(w);
		w->next_bookmark_ms = now + w->srv->cfg.bookmark_interval_s * 1000u;
	}
}

/* ---- direct writes (the watch thread, under ws->lock and w->mu) ---- */

/* Send what is left of w->pend: 1 all of it, 0 the socket would block, -1 the stream is
 * broken. */
static int send_pend(struct api_watch *w)
{
	while (w->pend_off < w->pend.len) {
		const char *p = w->pend.p + w->pend_off;
		size_t left = w->pend.len - w->pend_off;
		ssize_t k;

		if (w->tls) {
			size_t len = w->tls_again ? w->tls_again : left;

			k = gnutls_record_send(w->tls, p, len);
			if (k == GNUTLS_E_INTERRUPTED)
				continue;
			if (k == GNUTLS_E_AGAIN) {
				w->tls_again = len;
				return 0;
			}
			w->tls_again = 0;
			if (k < 0) {
				log_debug(COMP, "watch %" PRIu64 ": %s", w->id,
					  gnutls_strerror((int)k));
				return -1;
			}
		} else {
			k = send(w->sock, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (k < 0) {
				log_debug(COMP, "watch %" PRIu64 ": %s", w->id, strerror(errno));
				return -1;
			}
		}
		w->pend_off += (size_t)k;
	}
	return 1;
}

/* Gather the pending events (up to DIRECT_BATCH bytes, whole events) into w->pend as one
 * chunk. False when there was nothing to send (drained, or the stream ended). */
static bool gather(struct api_watch *w)
{
	static const size_t head = 10; /* 8 hex digits of size and CRLF */
	size_t n;
	char hex[16];

	w->pend.len = w->pend_off = 0;
	k8s_buf_put(&w->pend, "00000000\r\n", head);
	while (w->pend.len - head < DIRECT_BATCH) {
		if (w->out_off < w->out.len) {
			k8s_buf_put(&w->pend, w->out.p + w->out_off, w->out.len - w->out_off);
			w->out.len = w->out_off = 0;
			continue;
		}
		if (w->line) {
			k8s_buf_put(&w->pend, w->line + w->line_off, w->line_len - w->line_off);
			w->line = NULL;
			reg_event_put(&w->ev);
			continue;
		}
		if (w->ended || next_event(w) != 1)
			break;
	}
	n = w->pend.len - head;
	if (w->pend.oom) {
		log_warn(COMP, "watch %" PRIu64 ": out of memory; ended", w->id);
		w->pend.oom = false;
		w->ended = true;
		n = 0;
	}
	if (!n) {
		w->pend.len = 0;
		return false;
	}
	/* chunk-size may have leading zeros (RFC 9112 7.1) */
	snprintf(hex, sizeof(hex), "%08x", (unsigned)n); /* an event is far below 4 GiB */
	memcpy(w->pend.p, hex, 8);
	k8s_buf_put(&w->pend, "\r\n", 2);
	if (w->pend.oom) {
		w->pend.oom = false;
		w->pend.len = 0;
		w->ended = true;
		return false;
	}
	return true;
}

/* Write w's events until it is drained or the socket would block; then the timers (a
 * bookmark is written the same way; a timeout ends the stream). */
static void push(struct api_watch *w)
{
	struct watch_shard *ws = w->sh;
	unsigned batches = 0;

	for (;;) {
		if (w->pend_off < w->pend.len) {
			int rc = send_pend(w);

			if (rc == 0) {
				w->out_wait = true; /* EPOLLOUT brings us back */
				w->out_wait_ms = now_ms();
				return;
			}
			if (rc < 0) {
				w->ended = true;
				break;
			}
		}
		w->pend.len = w->pend_off = 0;
		if (batches == DIRECT_TURN &&
		    ARRAY_GROW(ws->again, ws->capagain, ws->nagain + 1) == 0) {
			ws->again[ws->nagain++] = w->id; /* the rest on the next pass */
			return;
		}
		if (gather(w)) {
			batches++;
			continue;
		}
		if (w->ended)
			break;
		timers(w);
		if (w->out.len || w->ended)
			continue;
		/* drained: an idle watch keeps a small buffer only */
		if (w->pend.cap > DIRECT_KEEP)
			k8s_buf_free(&w->pend);
		return;
	}
	end_direct(w);
}

/* The stream is over: hand the connection back to libmicrohttpd, whose reader call ends
 * the response. A chunk cut short cannot be followed by anything: the connection is shut
 * down instead, and libmicrohttpd closes it. */
static void end_direct(struct api_watch *w)
{
	if (w->pend_off < w->pend.len || w->tls_again)
		shutdown(w->sock, SHUT_RDWR);
	k8s_buf_free(&w->pend);
	w->pend_off = w->tls_again = 0;
	w->direct = w->out_wait = false;
	w->ended = true;
	w->suspended = false;
	MHD_resume_connection(w->conn);
}

/* The reader drained the watch: from now on the watch thread writes this stream. */
static void start_direct(struct api_watch *w)
{
	struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLOUT | EPOLLET,
				 .data.u64 = (w->id << 2) | TAG_SOCK};
	int one = 1, zero = 0;

	/* the watch thread learns when the socket takes more (only direct streams need it) */
	if (epoll_ctl(w->sh->epfd, EPOLL_CTL_MOD, w->sock, &ev) != 0) {
		log_debug(COMP, "watch %" PRIu64 ": EPOLLOUT: %s", w->id, strerror(errno));
		return; /* the reader writes this stream */
	}

	/* small chunks must leave at once: libmicrohttpd corks a TLS connection and sets
	 * TCP_NODELAY per send as it sees fit, and a corked socket holds a chunk up to 200 ms */
	if (setsockopt(w->sock, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)) != 0 ||
	    setsockopt(w->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_debug(COMP, "watch %" PRIu64 ": socket options: %s", w->id, strerror(errno));
	w->direct = true;
}

ssize_t api_watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_watch *w = cls;
	size_t n = 0;

	(void)pos;
	pthread_mutex_lock(&w->mu);
	while (n < max) {
		size_t room = max - n, k;

		if (w->out_off < w->out.len) {
			k = whole_lines(w->out.p + w->out_off, w->out.len - w->out_off, room,
					n == 0);
			if (!k)
				break;
			memcpy(buf + n, w->out.p + w->out_off, k);
			n += k;
			w->out_off += k;
			if (w->out_off == w->out.len)
				w->out.len = w->out_off = 0;
			continue;
		}
		if (w->line) {
			size_t left = w->line_len - w->line_off;

			if (n && left > room)
				break; /* whole events in a batch: this one goes first next time */
			k = left < room ? left : room;
			memcpy(buf + n, w->line + w->line_off, k);
			n += k;
			w->line_off += k;
			if (w->line_off < w->line_len)
				break;
			w->line = NULL;
			reg_event_put(&w->ev);
			continue;
		}
		if (w->ended)
			break;
		if (next_event(w) != 0)
			continue;
		/* drained */
		if (n)
			break;
		timers(w);
		if (w->out.len || w->ended)
			continue;
		/* nothing due: suspend until the watch thread resumes us, or for good if it
		 * writes the stream from now on */
		if (w->direct_ok)
			start_direct(w);
		w->suspended = true;
		MHD_suspend_connection(w->conn);
		break;
	}
	pthread_mutex_unlock(&w->mu);
	if (!n && w->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

void api_watch_free(struct api_watch *w)
{
	struct watch_shard *ws;

	if (!w)
		return;
	ws = w->sh;
	pthread_mutex_lock(&ws->lock);
	hmap_del(ws->byid, &w->id, sizeof(w->id));
	if (w->rw)
		hmap_del(ws->byrw, &w->rw, sizeof(w->rw));
	if (w->sock >= 0)
		epoll_ctl(ws->epfd, EPOLL_CTL_DEL, w->sock, NULL);
	reg_event_put(&w->ev);
	reg_watch_close(w->rw); /* under ws->lock: see wake_ready */
	pthread_mutex_unlock(&ws->lock);
	k8s_buf_free(&w->out);
	k8s_buf_free(&w->pend);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* ---- starting ---- */

void api_watch_start(struct api_req *r, const struct api_watch_opts *o)
{
	struct api_watchers *all = r->srv->watchers;
	uint64_t id = atomic_fetch_add(&all->next_id, 1);
	struct watch_shard *ws = &all->sh[id % all->n];
	struct api_watch *w = calloc(1, sizeof(*w));
	const union MHD_ConnectionInfo *ci;
	struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLET};
	struct reg_watch_opts wo = {.sel = o->sel, .rv = o->rv, .tree = o->table, .set = ws->set};
	struct api_result res = {0};
	uint64_t now = now_ms();
	long timeout = o->timeout_s;
	int err;

	if (!w) {
		api_selector_free(o->sel);
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	wo.sel = o->sel; /* the registry's watch takes it over */
	pthread_mutex_init(&w->mu, NULL);
	w->srv = r->srv;
	w->sh = ws;
	w->conn = r->conn;
	w->res = o->res;
	w->stored = o->res->storage ? o->res->storage : o->res;
	w->table = o->table;
	w->include = o->include;
	w->bookmarks = o->bookmarks;
	w->sock = -1;
	/* Kubernetes ends a watch without timeoutSeconds after 30-60 minutes */
	if (timeout <= 0)
		timeout = 1800 + (long)(now % 1800);
	w->deadline_ms = now + (uint64_t)timeout * 1000u;
	w->next_bookmark_ms = now + r->srv->cfg.bookmark_interval_s * 1000u;
	err = reg_watch_open(r->srv->reg, &(struct reg_req){.res = o->res, .ns = o->ns}, &wo,
			     &w->rw, &res);
	if (err == -STORE_ECOMPACTED) {
		/* as Kubernetes: a 200 stream whose one event is the 410 */
		emit_error(w, 410, "Expired",
			   res.message ? res.message : "too old resource version");
		w->ended = true;
	} else if (err) {
		api_reply_status(r, &res);
		goto fail;
	}
	ci = r->conn ? MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
	w->sock = ci ? ci->connect_fd : -1;
	if (r->conn && !r->srv->cfg.insecure_loopback) {
		ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		w->tls = ci ? (gnutls_session_t)ci->tls_session : NULL;
	}
	/* direct writes need chunked framing (HTTP/1.1) and, over TLS, the session */
	w->direct_ok = r->http11 && w->sock >= 0 && (w->tls || r->srv->cfg.insecure_loopback) &&
		       !getenv("DROVER_WATCH_NO_DIRECT");
	pthread_mutex_lock(&ws->lock);
	if (ws->stopping) {
		pthread_mutex_unlock(&ws->lock);
		api_error(r, 503, "ServiceUnavailable", "the server is shutting down");
		goto fail;
	}
	w->id = id;
	ev.data.u64 = (w->id << 2) | TAG_SOCK;
	/* the client's hang-up ends the stream: edge-triggered, reported once */
	if (hmap_put(ws->byid, &w->id, sizeof(w->id), w, NULL) < 0 ||
	    (w->rw && hmap_put(ws->byrw, &w->rw, sizeof(w->rw), w, NULL) < 0) ||
	    (w->sock >= 0 && epoll_ctl(ws->epfd, EPOLL_CTL_ADD, w->sock, &ev) != 0)) {
		hmap_del(ws->byid, &w->id, sizeof(w->id));
		if (w->rw)
			hmap_del(ws->byrw, &w->rw, sizeof(w->rw));
		pthread_mutex_unlock(&ws->lock);
		api_error(r, 500, "InternalError", "Internal error occurred: watch registration");
		goto fail;
	}
	pthread_mutex_unlock(&ws->lock);
	r->stream_read = api_watch_read;
	r->stream_free = (void (*)(void *))api_watch_free;
	r->stream_cls = w;
	r->state = REQ_STREAM;
	api_result_free(&res);
	return;
fail:
	api_result_free(&res);
	reg_watch_close(w->rw);
	k8s_buf_free(&w->out);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
