/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_api: Services and EndpointSlices from the API server, as kube-proxy gets them: two
 * informers (kclient's reflector: list, then watch with bookmarks; resume after a broken
 * stream; re-list after 410 Gone), cluster-wide, with kube-proxy's label selector: objects
 * labelled service.kubernetes.io/service-proxy-name belong to another proxy, EndpointSlices
 * labelled service.kubernetes.io/headless to headless Services (cmd/kube-proxy/app/server.go).
 *
 * Threads. The informers call the handlers on their own threads. A handler decodes the
 * object there (decode.c, on the tree the informer already parsed) and queues the result
 * under its key ("S/ns/name", "E/ns/name"), a newer state of an object replacing the one
 * still queued; then it wakes the proxy through an eventfd. The model is touched only by
 * dispatch and reload, on the proxy's thread.
 *
 * Synced: an informer is synced once its first list was delivered to the handlers; the
 * source is synced once both are and the queue that held their lists was applied. Until
 * then the proxy commits nothing.
 *
 * Relist = replace. The informer delivers a re-list as its difference to its cache, deletes
 * for what the new list lacks included; the source sees the re-list in the informer's
 * counters and reports it (replaced: the proxy commits with full=true and also sweeps
 * frontends no service claims). A change that cannot be queued (no memory) is not lost
 * either: the next dispatch replaces the model's objects with what the informers' caches
 * hold and deletes what the source had set and the caches no longer have.
 *
 * Errors. The API server validated every object: one the decoder refuses all the same is
 * logged and skipped, and the model keeps its last good state of it; the others apply.
 */
#define _GNU_SOURCE
#include "source.h"
#include "decode.h"
#include "hmap.h"
#include "informer.h"
#include "kclient.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define COMP	       "api-source"
/* kube-proxy's selector (labels.Selector's String() of its two DoesNotExist requirements) */
#define PROXY_SELECTOR "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"
#define KEY_MAX	       (2 + 64 + 1 + MODEL_NAME_MAX + 1)
#define SYNC_POLL_MS   100   /* how often an unsynced source looks whether both lists are in */
#define WAIT_LOG_MS    10000 /* and says it is still waiting */

enum kind { K_SVC, K_SLICE, K_N };

static const char *const kind_name[K_N] = {"Service", "EndpointSlice"};

/* One object's latest state, queued for the proxy's thread. */
struct delta {
	enum kind kind;
	bool del;
	struct k8s_service *svc;
	struct k8s_slice *sl;
	char ns[64];
	char name[MODEL_NAME_MAX];
};

struct api_src;

/* A handler's argument: the source and the kind its informer delivers. */
struct feed {
	struct api_src *s;
	enum kind kind;
};

struct api_src {
	struct proxy_source base;
	struct kclient *c;
	bool own_client;
	struct kc_informer *inf[K_N];
	struct feed feed[K_N];
	int efd;
	char server[256];

	pthread_mutex_t mu;  /* guards the three below */
	struct hmap *queue;  /* key -> struct delta * */
	bool lost;	     /* a change could not be queued: replace from the caches */
	unsigned fail_queue; /* tests: changes still to lose */

	/* the proxy's thread only */
	struct hmap *held; /* keys of the objects the source set in the model */
	bool synced;
	uint64_t relists; /* the informers' re-lists last seen */
	uint64_t start_ms, next_wait_log_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void make_key(char *buf, size_t len, enum kind k, const char *ns, const char *name)
{
	snprintf(buf, len, "%c/%s/%s", k == K_SVC ? 'S' : 'E', ns, name);
}

static void delta_free(struct delta *d)
{
	if (!d)
		return;
	k8s_service_free(d->svc);
	k8s_slice_free(d->sl);
	free(d);
}

/* Free a queue and the deltas in it. */
static void queue_free(struct hmap *q)
{
	if (!q)
		return;
	for (struct hmap_entry *e = hmap_first(q); e; e = hmap_next(q, e))
		delta_free(hmap_entry_val(e));
	hmap_free(q);
}

static void wake(struct api_src *s)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is at its maximum, so the descriptor is readable anyway */
	if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(COMP, "eventfd: %s", strerror(errno));
}

/* ---------- the informers' side ---------- */

/* Queue d (taken; NULL: a change was lost) for the proxy's thread and wake it. */
static void enqueue(struct api_src *s, struct delta *d)
{
	struct delta *old = NULL;
	char key[KEY_MAX];
	bool ok = false;

	pthread_mutex_lock(&s->mu);
	if (d && s->fail_queue) {
		s->fail_queue--;
	} else if (d) {
		make_key(key, sizeof(key), d->kind, d->ns, d->name);
		ok = hmap_sput(s->queue, key, d, (void **)&old) >= 0;
	}
	if (!ok)
		s->lost = true;
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		log_error(COMP, "out of memory queueing a change for the proxy: every object will "
				"be read again from the informers' caches");
		delta_free(d);
	}
	delta_free(old);
	wake(s);
}

/* An object of d->kind decoded into d (its ns and name too). 0; -EINVAL: refused by the
 * decoder, logged (the model keeps its last good state of it); -ENOMEM. */
static int decode_delta(struct delta *d, const struct jv *tree)
{
	char err[512];
	int rc = d->kind == K_SVC ? decode_service(tree, &d->svc, err, sizeof(err))
				  : decode_slice(tree, &d->sl, err, sizeof(err));

	if (rc == -EINVAL) {
		const char *ns = jv_path_str(tree, "metadata.namespace");
		const char *name = jv_path_str(tree, "metadata.name");

		log_error(COMP, "%s %s/%s: %s; skipped (its last good state stays in place)",
			  kind_name[d->kind], ns ? ns : "default", name ? name : "?", err);
	} else if (!rc) {
		snprintf(d->ns, sizeof(d->ns), "%s", d->svc ? d->svc->ns : d->sl->ns);
		snprintf(d->name, sizeof(d->name), "%s", d->svc ? d->svc->name : d->sl->name);
	}
	return rc;
}

static void on_upsert(struct feed *f, const struct jv *tree)
{
	struct delta *d = tree ? calloc(1, sizeof(*d)) : NULL;
	int rc;

	if (!d) {
		enqueue(f->s, NULL);
		return;
	}
	d->kind = f->kind;
	rc = decode_delta(d, tree);
	if (rc) {
		free(d);
		if (rc != -EINVAL)
			enqueue(f->s, NULL); /* no memory: lost, the caches will tell */
		return;
	}
	enqueue(f->s, d);
}

static void on_add(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	(void)o;
	on_upsert(arg, tree);
}

static void on_update(void *arg, const struct kc_obj *old, const struct jv *old_tree,
		      const struct kc_obj *cur, const struct jv *cur_tree)
{
	(void)old;
	(void)old_tree;
	(void)cur;
	on_upsert(arg, cur_tree);
}

static void on_del(void *arg, const struct kc_obj *o, const struct jv *tree)
{
	struct feed *f = arg;
	const char *ns = jv_path_str(tree, "metadata.namespace");
	const char *name = jv_path_str(tree, "metadata.name");
	struct delta *d = name ? calloc(1, sizeof(*d)) : NULL;

	(void)o;
	if (d) {
		d->kind = f->kind;
		d->del = true;
		snprintf(d->ns, sizeof(d->ns), "%s", ns ? ns : "default");
		snprintf(d->name, sizeof(d->name), "%s", name);
	}
	enqueue(f->s, d); /* NULL (no memory, no tree): lost, the caches will tell */
}

/* ---------- the proxy's side ---------- */

/* The queue so far, a new empty one in its place; NULL on ENOMEM (nothing taken). *lost:
 * whether a change could not be queued (cleared). */
static struct hmap *take_queue(struct api_src *s, bool *lost)
{
	struct hmap *fresh = hmap_new(), *q = NULL;

	pthread_mutex_lock(&s->mu);
	*lost = s->lost;
	if (fresh) {
		q = s->queue;
		s->queue = fresh;
		s->lost = false;
	}
	pthread_mutex_unlock(&s->mu);
	return q;
}

/* Set or delete one object in the model. 1: the model changed, 0: nothing to do, -ENOMEM
 * (the model keeps what it had; a reload sets it again). Takes d's objects. */
static int apply(struct api_src *s, struct proxy_model *m, struct delta *d)
{
	char key[KEY_MAX];
	int rc;

	make_key(key, sizeof(key), d->kind, d->ns, d->name);
	if (d->del) {
		/* not held: never set (skipped as bad), nothing to delete */
		if (!hmap_sdel(s->held, key))
			return 0;
		if (d->kind == K_SVC)
			model_del_service(m, d->ns, d->name);
		else
			model_del_slice(m, d->ns, d->name);
		return 1;
	}
	/* the record first: whatever the model holds from this source, the source knows of */
	if (hmap_sput(s->held, key, (void *)1, NULL) < 0)
		return -ENOMEM;
	rc = d->kind == K_SVC ? model_set_service(m, d->svc) : model_set_slice(m, d->sl);
	d->svc = NULL; /* the model's, also on error */
	d->sl = NULL;
	return rc ? rc : 1;
}

/* Apply a queue (and free it). */
static int apply_queue(struct api_src *s, struct proxy_model *m, struct hmap *q,
		       struct source_delta *out)
{
	int rc = 0;

	for (struct hmap_entry *e = hmap_first(q); e; e = hmap_next(q, e)) {
		struct delta *d = hmap_entry_val(e);
		int r = apply(s, m, d);

		if (r < 0)
			rc = r;
		else if (r > 0)
			out->changed = true;
	}
	queue_free(q);
	return rc;
}

/* One cached object during a replace: set it (or, refused by the decoder, keep its last
 * state) and note its key in seen. 0 or -ENOMEM. */
static int replace_one(struct api_src *s, struct proxy_model *m, enum kind k, struct kc_obj *o,
		       struct hmap *seen, struct source_delta *out)
{
	struct jv_doc *doc = jv_doc_new();
	struct jv *t = doc ? kc_obj_parse(o, doc) : NULL;
	const char *ns = jv_path_str(t, "metadata.namespace");
	const char *name = jv_path_str(t, "metadata.name");
	struct delta d = {.kind = k};
	char key[KEY_MAX];
	int rc;

	if (!t || !name) {
		jv_doc_free(doc);
		return t ? 0 : -ENOMEM; /* no name: the informer never cached such an object */
	}
	/* seen before the decode: an object it refuses keeps its last state, it is not gone */
	snprintf(d.ns, sizeof(d.ns), "%s", ns ? ns : "default");
	snprintf(d.name, sizeof(d.name), "%s", name);
	make_key(key, sizeof(key), k, d.ns, d.name);
	rc = hmap_sput(seen, key, (void *)1, NULL) < 0 ? -ENOMEM : decode_delta(&d, t);
	if (rc == -EINVAL) {
		rc = 0;
	} else if (!rc) {
		rc = apply(s, m, &d);
		if (rc > 0)
			out->changed = true;
		rc = rc < 0 ? rc : 0;
	}
	k8s_service_free(d.svc);
	k8s_slice_free(d.sl);
	jv_doc_free(doc);
	return rc;
}

/*
 * Bring the model in line with the informers' caches: every cached object set, every object
 * the source set and the caches no longer hold deleted. Changes queued before are dropped
 * first: a handler queues after its informer updated the cache, so the caches read next are
 * at least as new, and what is queued meanwhile is newer still (the next dispatch applies
 * it). Deletes only once every cached object was read: an object that could not be read
 * (no memory) must never count as gone.
 */
static int replace(struct api_src *s, struct proxy_model *m, struct source_delta *out)
{
	struct hmap *seen = hmap_new(), *q;
	size_t ngone = 0, sets = 0;
	bool lost;
	char **gone = NULL;
	int rc = 0;

	q = seen ? take_queue(s, &lost) : NULL;
	if (q)
		queue_free(q);
	else
		rc = -ENOMEM;
	for (int k = 0; k < K_N && !rc; k++) {
		struct kc_obj **objs;
		size_t n;

		rc = kc_informer_list(s->inf[k], NULL, NULL, &objs, &n);
		for (size_t i = 0; i < n && !rc; i++)
			rc = replace_one(s, m, (enum kind)k, objs[i], seen, out);
		if (!rc)
			sets += n;
		kc_objs_free(objs, n); /* NULL and 0 after a failure */
	}
	if (!rc) {
		gone = calloc(hmap_size(s->held) + 1, sizeof(*gone));
		rc = gone ? 0 : -ENOMEM;
	}
	for (struct hmap_entry *e = rc ? NULL : hmap_first(s->held); e; e = hmap_next(s->held, e)) {
		size_t klen;
		const char *k = hmap_entry_key(e, &klen);

		if (hmap_get(seen, k, klen))
			continue;
		gone[ngone] = strndup(k, klen);
		if (!gone[ngone]) {
			rc = -ENOMEM;
			break;
		}
		ngone++;
	}
	for (size_t i = 0; i < ngone; i++) {
		/* "S/ns/name" */
		char *ns = gone[i] + 2, *name = strchr(ns, '/');
		struct delta d = {.kind = gone[i][0] == 'S' ? K_SVC : K_SLICE, .del = true};

		if (!rc && name) {
			*name++ = '\0';
			snprintf(d.ns, sizeof(d.ns), "%s", ns);
			snprintf(d.name, sizeof(d.name), "%s", name);
			if (apply(s, m, &d) > 0)
				out->changed = true;
		}
		free(gone[i]);
	}
	free(gone);
	hmap_free(seen);
	if (rc) {
		pthread_mutex_lock(&s->mu);
		s->lost = true; /* the replace is still owed */
		pthread_mutex_unlock(&s->mu);
		log_error(COMP, "out of memory reading the informers' caches; trying again later");
		return rc;
	}
	out->replaced = true;
	log_info(COMP, "model replaced with the informers' caches: %zu object(s), %zu removed",
		 sets, ngone);
	return 0;
}

static bool informers_synced(struct api_src *s)
{
	return kc_informer_synced(s->inf[K_SVC]) && kc_informer_synced(s->inf[K_SLICE]);
}

static uint64_t relist_count(struct api_src *s)
{
	struct kc_informer_stats st;
	uint64_t n = 0;

	for (int k = 0; k < K_N; k++) {
		kc_informer_stats(s->inf[k], &st);
		n += st.relists;
	}
	return n;
}

static int api_start(struct proxy_source *s_, struct proxy_model *m, struct source_delta *d)
{
	struct api_src *s = (struct api_src *)s_;
	int rc = 0;

	(void)m;
	d->changed = false;
	d->replaced = false;
	s->start_ms = now_ms();
	s->next_wait_log_ms = s->start_ms + WAIT_LOG_MS;
	for (int k = 0; k < K_N && !rc; k++)
		rc = kc_informer_start(s->inf[k]);
	if (rc)
		log_error(COMP, "cannot start the informers: %s", strerror(-rc));
	else
		log_info(COMP, "watching Services and EndpointSlices of %s (selector %s)",
			 s->server, PROXY_SELECTOR);
	return rc;
}

static bool api_synced(struct proxy_source *s)
{
	return ((struct api_src *)s)->synced;
}

static int api_fd(struct proxy_source *s)
{
	return ((struct api_src *)s)->efd;
}

static int api_timeout(struct proxy_source *s_)
{
	struct api_src *s = (struct api_src *)s_;

	/* the informers signal a list only through its objects: an empty cluster's would go
	 * unnoticed, so an unsynced source looks now and then */
	return s->synced ? -1 : SYNC_POLL_MS;
}

static int api_dispatch(struct proxy_source *s_, struct proxy_model *m, struct source_delta *out)
{
	struct api_src *s = (struct api_src *)s_;
	uint64_t n, relists, now;
	bool synced_now, lost;
	struct hmap *q;
	int rc = 0;

	out->changed = false;
	out->replaced = false;
	if (read(s->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn(COMP, "eventfd: %s", strerror(errno));
	/* read before the queue is taken: whatever they report is in it by then */
	synced_now = informers_synced(s);
	relists = relist_count(s);
	q = take_queue(s, &lost);
	if (q)
		rc = apply_queue(s, m, q, out);
	else
		rc = -ENOMEM;
	if (lost) {
		int r;

		log_warn(COMP, "changes were lost on their way to the proxy: replacing every "
			       "object with the informers' caches");
		r = replace(s, m, out);
		rc = r ? r : rc;
	}
	if (!s->synced && synced_now) {
		s->synced = true;
		s->relists = relists;
		out->replaced = true;
		log_info(COMP, "synced with %s: %zu Service(s), %zu EndpointSlice(s) in %llu ms",
			 s->server, kc_informer_count(s->inf[K_SVC]),
			 kc_informer_count(s->inf[K_SLICE]),
			 (unsigned long long)(now_ms() - s->start_ms));
	} else if (s->synced && relists != s->relists) {
		s->relists = relists;
		out->replaced = true;
		log_info(COMP,
			 "%s: listed again (the watch history had expired); the model holds "
			 "what the server has",
			 s->server);
	}
	now = now_ms();
	if (!s->synced && now >= s->next_wait_log_ms) {
		s->next_wait_log_ms = now + WAIT_LOG_MS;
		log_info(COMP,
			 "waiting for %s: Services %s, EndpointSlices %s; the kernel keeps its "
			 "current state until both are",
			 s->server, kc_informer_synced(s->inf[K_SVC]) ? "listed" : "not listed",
			 kc_informer_synced(s->inf[K_SLICE]) ? "listed" : "not listed");
	}
	return rc;
}

static int api_reload(struct proxy_source *s_, struct proxy_model *m, struct source_delta *out)
{
	struct api_src *s = (struct api_src *)s_;
	int rc;

	out->changed = false;
	out->replaced = false;
	rc = replace(s, m, out);
	if (!s->synced)
		out->replaced = false; /* a replace of a partial picture is none */
	return rc;
}

static void api_free(struct proxy_source *s_)
{
	struct api_src *s = (struct api_src *)s_;

	if (!s)
		return;
	/* informers first: when kc_informer_free returns, no handler runs any more */
	for (int k = 0; k < K_N; k++)
		kc_informer_free(s->inf[k]);
	queue_free(s->queue);
	hmap_free(s->held);
	if (s->efd >= 0)
		close(s->efd);
	if (s->own_client)
		kclient_free(s->c);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static const struct proxy_source_ops api_ops = {
    .name = "api",
    .start = api_start,
    .synced = api_synced,
    .fd = api_fd,
    .timeout_ms = api_timeout,
    .dispatch = api_dispatch,
    .reload = api_reload,
    .free = api_free,
};

static struct api_src *api_new(struct kclient *c, bool own, const char *server)
{
	static const char *const kinds[K_N][2] = {{"v1", "Service"},
						  {"discovery.k8s.io/v1", "EndpointSlice"}};
	struct api_src *s = calloc(1, sizeof(*s));

	if (!s) {
		if (own)
			kclient_free(c);
		return NULL;
	}
	s->base.ops = &api_ops;
	s->c = c;
	s->own_client = own;
	snprintf(s->server, sizeof(s->server), "%s", server);
	pthread_mutex_init(&s->mu, NULL);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->queue = hmap_new();
	s->held = hmap_new();
	if (s->efd < 0 || !s->queue || !s->held)
		goto fail;
	for (int k = 0; k < K_N; k++) {
		struct kc_informer_opts io = {.kind = k8s_kind_find(kinds[k][0], kinds[k][1]),
					      .label_selector = PROXY_SELECTOR};
		struct kc_handlers h = {
		    .add = on_add, .update = on_update, .del = on_del, .arg = &s->feed[k]};

		s->feed[k] = (struct feed){.s = s, .kind = (enum kind)k};
		s->inf[k] = io.kind ? kc_informer_new(c, &io) : NULL;
		if (!s->inf[k] || kc_informer_add_handlers(s->inf[k], &h) != 0)
			goto fail;
	}
	return s;
fail:
	log_error(COMP, "cannot set up the watches: %s",
		  s->efd < 0 ? strerror(errno) : "out of memory");
	api_free(&s->base);
	return NULL;
}

struct proxy_source *source_api_new_client(struct kclient *c)
{
	struct api_src *s = c ? api_new(c, false, "the API server") : NULL;

	return s ? &s->base : NULL;
}

struct proxy_source *source_api_new(const char *kubeconfig)
{
	struct kc_config cfg;
	struct kclient *c;
	struct api_src *s;
	char err[512];

	if (kc_config_load(kubeconfig, &cfg, err, sizeof(err)) != 0) {
		log_error(COMP, "%s", err);
		return NULL;
	}
	c = kclient_http_new(&cfg);
	if (!c) {
		log_error(COMP, "client for %s: %s", cfg.server ? cfg.server : "?",
			  strerror(errno));
		kc_config_free(&cfg);
		return NULL;
	}
	kclient_set_field_manager(c, "drover-proxy");
	s = api_new(c, true, cfg.server ? cfg.server : "the API server");
	kc_config_free(&cfg);
	return s ? &s->base : NULL;
}

void source_api_hold(struct proxy_source *s_, bool services, bool slices)
{
	struct api_src *s = (struct api_src *)s_;

	kc_informer_hold(s->inf[K_SVC], services);
	kc_informer_hold(s->inf[K_SLICE], slices);
}

void source_api_fail_queue(struct proxy_source *s_, unsigned n)
{
	struct api_src *s = (struct api_src *)s_;

	pthread_mutex_lock(&s->mu);
	s->fail_queue = n;
	pthread_mutex_unlock(&s->mu);
}
