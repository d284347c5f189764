/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recorder: Events as client-go's record package writes them (recorder.h). The caller's
 * thread only copies what the Event will say into a queue; the recorder's thread creates the
 * Event, or, when an identical one (object uid, type, reason, message) was written within
 * ten minutes, merge-patches its count and lastTimestamp. Names are "<object>.<hex
 * nanoseconds>" as client-go makes them.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "k8s_buf.h"
#include "log.h"
#include "recorder.h"

#define COMP	    "events"
#define QUEUE_MAX   1000 /* client-go's broadcaster queue length */
#define AGGREGATE_S 600	 /* an identical event within this is counted, not created */
#define CACHE_MAX   4096

struct rec_ev {
	struct rec_ev *next;
	char *kind, *api_version, *ns, *name, *uid, *rv;
	char *type, *reason, *message;
	int64_t at;
};

/* An Event written, for aggregation. */
struct seen {
	char ns[256], name[320];
	unsigned count;
	int64_t first, last;
	char first_ts[32];
};

struct kc_recorder {
	struct kclient *c;
	char *component;
	pthread_mutex_t mu;
	pthread_cond_t cond, idle;
	struct rec_ev *head, *tail;
	size_t len;
	bool stop, busy;
	pthread_t thread;
	struct hmap *seen; /* uid/type/reason/message -> struct seen */
	_Atomic uint64_t created, aggregated, dropped, failed;
};

static void rec_ev_free(struct rec_ev *e)
{
	if (!e)
		return;
	free(e->kind);
	free(e->api_version);
	free(e->ns);
	free(e->name);
	free(e->uid);
	free(e->rv);
	free(e->type);
	free(e->reason);
	free(e->message);
	free(e);
}

static char *dup_str(const char *s)
{
	return strdup(s ? s : "");
}

static void time_text(int64_t t, char *buf)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void put_str(struct k8s_buf *b, const char *key, const char *v, bool comma)
{
	if (comma)
		k8s_buf_putc(b, ',');
	k8s_buf_json_string(b, key, strlen(key));
	k8s_buf_putc(b, ':');
	k8s_buf_json_string(b, v, strlen(v));
}

/* Create the Event of e; 0 or the client's error. */
static int create(struct kc_recorder *r, const struct rec_ev *e, const char *name, const char *ts)
{
	const struct k8s_kind *k = k8s_kind_find("v1", "Event");
	struct k8s_buf b = {0};
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	struct jv *obj;
	int err = -ENOMEM;

	k8s_buf_puts(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{");
	put_str(&b, "name", name, false);
	put_str(&b, "namespace", e->ns[0] ? e->ns : "default", true);
	k8s_buf_puts(&b, "},\"involvedObject\":{");
	put_str(&b, "kind", e->kind, false);
	if (e->ns[0])
		put_str(&b, "namespace", e->ns, true);
	put_str(&b, "name", e->name, true);
	put_str(&b, "uid", e->uid, true);
	put_str(&b, "apiVersion", e->api_version, true);
	if (e->rv[0])
		put_str(&b, "resourceVersion", e->rv, true);
	k8s_buf_putc(&b, '}');
	put_str(&b, "reason", e->reason, true);
	put_str(&b, "message", e->message, true);
	k8s_buf_puts(&b, ",\"source\":{");
	put_str(&b, "component", r->component, false);
	k8s_buf_putc(&b, '}');
	put_str(&b, "firstTimestamp", ts, true);
	put_str(&b, "lastTimestamp", ts, true);
	k8s_buf_puts(&b, ",\"count\":1");
	put_str(&b, "type", e->type, true);
	put_str(&b, "reportingComponent", r->component, true);
	put_str(&b, "reportingInstance", "", true);
	k8s_buf_putc(&b, '}');
	obj = d && !b.oom ? jv_parse(d, b.p, b.len, NULL) : NULL;
	if (obj)
		err = kc_create(r->c, k, e->ns[0] ? e->ns : "default", obj, NULL, NULL, &st);
	if (err && err != -ENOMEM)
		log_debug(COMP, "event %s: %s", name, st.message);
	k8s_buf_free(&b);
	jv_doc_free(d);
	return err;
}

/* Count one more occurrence of an Event written before. */
static int bump(struct kc_recorder *r, struct seen *s, const char *ts)
{
	char patch[160];
	int n = snprintf(patch, sizeof(patch), "{\"count\":%u,\"lastTimestamp\":\"%s\"}",
			 s->count + 1, ts);

	return kc_patch(r->c, k8s_kind_find("v1", "Event"), s->ns, s->name, NULL, KC_PATCH_MERGE,
			patch, (size_t)n, NULL, NULL, NULL);
}

static void write_event(struct kc_recorder *r, const struct rec_ev *e)
{
	struct k8s_buf key = {0};
	struct seen *s;
	char ts[32], name[320];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	time_text(e->at, ts);
	k8s_buf_printf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s", e->uid, e->name, e->type, e->reason,
		       e->message);
	if (key.oom)
		return;
	s = hmap_get(r->seen, key.p, key.len);
	if (s && e->at - s->first <= AGGREGATE_S) {
		if (bump(r, s, ts) == 0) {
			s->count++;
			s->last = e->at;
			atomic_fetch_add(&r->aggregated, 1);
			k8s_buf_free(&key);
			return;
		}
		/* gone (expired, deleted): write a new one */
	}
	snprintf(name, sizeof(name), "%.250s.%" PRIx64, e->name,
		 (uint64_t)now.tv_sec * UINT64_C(1000000000) + (uint64_t)now.tv_nsec);
	if (create(r, e, name, ts) != 0) {
		atomic_fetch_add(&r->failed, 1);
		k8s_buf_free(&key);
		return;
	}
	atomic_fetch_add(&r->created, 1);
	if (!s) {
		if (hmap_size(r->seen) >= CACHE_MAX) {
			/* forget them all rather than grow: an identical event is then created */
			for (struct hmap_entry *it = hmap_first(r->seen); it;
			     it = hmap_next(r->seen, it))
				free(hmap_entry_val(it));
			hmap_free(r->seen);
			r->seen = hmap_new();
		}
		s = calloc(1, sizeof(*s));
		if (!s || !r->seen || hmap_put(r->seen, key.p, key.len, s, NULL) < 0) {
			free(s);
			k8s_buf_free(&key);
			return;
		}
	}
	snprintf(s->ns, sizeof(s->ns), "%s", e->ns[0] ? e->ns : "default");
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->count = 1;
	s->first = s->last = e->at;
	k8s_buf_free(&key);
}

static void *recorder_main(void *arg)
{
	struct kc_recorder *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct rec_ev *e;

		while (!r->head && !r->stop) {
			r->busy = false;
			pthread_cond_broadcast(&r->idle);
			pthread_cond_wait(&r->cond, &r->mu);
		}
		e = r->head;
		if (!e)
			break;
		r->head = e->next;
		if (!r->head)
			r->tail = NULL;
		r->len--;
		r->busy = true;
		pthread_mutex_unlock(&r->mu);
		write_event(r, e);
		rec_ev_free(e);
		pthread_mutex_lock(&r->mu);
	}
	r->busy = false;
	pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

void kc_event(struct kc_recorder *r, const struct jv *obj, const char *type, const char *reason,
	      const char *fmt, ...)
{
	struct rec_ev *e;
	char msg[1024];
	va_list ap;

	if (!r || !obj)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = calloc(1, sizeof(*e));
	if (!e) {
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	e->kind = dup_str(jv_path_str(obj, "kind"));
	e->api_version = dup_str(jv_path_str(obj, "apiVersion"));
	e->ns = dup_str(jv_path_str(obj, "metadata.namespace"));
	e->name = dup_str(jv_path_str(obj, "metadata.name"));
	e->uid = dup_str(jv_path_str(obj, "metadata.uid"));
	e->rv = dup_str(jv_path_str(obj, "metadata.resourceVersion"));
	e->type = dup_str(type);
	e->reason = dup_str(reason);
	e->message = dup_str(msg);
	e->at = (int64_t)time(NULL);
	if (!e->kind || !e->api_version || !e->ns || !e->name || !e->uid || !e->rv || !e->type ||
	    !e->reason || !e->message) {
		rec_ev_free(e);
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	pthread_mutex_lock(&r->mu);
	if (r->len >= QUEUE_MAX || r->stop) {
		pthread_mutex_unlock(&r->mu);
		rec_ev_free(e);
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	if (r->tail)
		r->tail->next = e;
	else
		r->head = e;
	r->tail = e;
	r->len++;
	r->busy = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

void kc_recorder_flush(struct kc_recorder *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->head || r->busy)
		pthread_cond_wait(&r->idle, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

void kc_recorder_stats(struct kc_recorder *r, struct kc_recorder_stats *out)
{
	out->created = atomic_load(&r->created);
	out->aggregated = atomic_load(&r->aggregated);
	out->dropped = atomic_load(&r->dropped);
	out->failed = atomic_load(&r->failed);
}

struct kc_recorder *kc_recorder_new(struct kclient *c, const char *component)
{
	struct kc_recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	r->component = strdup(component ? component : "drover");
	r->seen = hmap_new();
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_cond_init(&r->idle, NULL);
	if (!r->component || !r->seen || pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
		hmap_free(r->seen);
		free(r->component);
		free(r);
		return NULL;
	}
	return r;
}

void kc_recorder_free(struct kc_recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	for (struct hmap_entry *it = hmap_first(r->seen); it; it = hmap_next(r->seen, it))
		free(hmap_entry_val(it));
	hmap_free(r->seen);
	pthread_cond_destroy(&r->cond);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	free(r->component);
	free(r);
}
