/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient_local: kclient's transport over the registry (kclient_local.h). A call builds the
 * registry request a decoded HTTP request would (the client's tree is copied into a doc of the
 * call and checked as a JSON body is), runs it, and hands back the result: an object read is
 * the store's value itself (a kc_obj holding a store reference; the stored JSON lacks the
 * resourceVersion, which is kc_obj.rv), an object written is the JSON just stored; a failure
 * is its Status' code, reason and message.
 *
 * Watches: one thread per client waits on the client's registry watch set (and an eventfd for
 * new watches and stops) and delivers each watch's events to its callbacks; a watch's initial
 * events (from resourceVersion "" or "0") are delivered as soon as it is registered.
 * Bookmarks and timeouts are checked on a half-second tick. A callback runs under the
 * client's dispatch lock, which kc_watch_stop takes: once stop returns, no callback of that
 * watch runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "api_codec.h"
#include "api_selector.h"
#include "hmap.h"
#include "kclient_int.h"
#include "kclient_local.h"
#include "log.h"
#include "reg_int.h"

#define COMP "kclient-local"

struct local_client {
	struct kclient base;
	struct registry *reg;
	unsigned bookmark_interval_s;
	/* watches */
	pthread_mutex_t lock;	  /* the maps and lists below */
	pthread_mutex_t dispatch; /* held while callbacks run (kc_watch_stop waits on it) */
	struct reg_watch_set *set;
	struct hmap *byrw; /* struct reg_watch * -> struct local_watch */
	struct local_watch *all;
	struct local_watch *graveyard; /* stopped from a callback, freed after the round */
	int evfd, epfd;
	pthread_t thread;
	bool running, stopping;
};

struct local_watch {
	struct kc_watch base; /* first: kc_watch_stop finds the transport through it */
	struct local_client *lc;
	struct reg_watch *rw;
	struct kc_watch_cb cb;
	void *arg;
	const struct api_resource *res;
	bool bookmarks, ended, kick; /* kick: deliver now (initial events) */
	bool stopped;		     /* stopped from the watch thread: freed at its next round */
	struct local_watch *gnext;   /* the graveyard's list */
	uint64_t deadline_ms, next_bookmark_ms;
	struct local_watch *next, *prev;
};

#define LC(c) ((struct local_client *)(c))

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- objects ---- */

/* A kc_obj over a store value (a kv reference, or a watch event that holds it). */
struct store_obj {
	struct kc_obj o;
	struct store_kv kv; /* with its own reference, or */
	struct reg_hev *ev; /* the shared watch event whose memory kv borrows */
};

static void store_obj_release(struct kc_obj *o)
{
	struct store_obj *so = (struct store_obj *)o;

	store_kv_release(&so->kv);
	reg_hev_put(so->ev);
	free(so);
}

/* An object over kv; ev (may be NULL) holds kv's memory and is taken over. */
static struct kc_obj *obj_of_kv(const struct store_kv *kv, struct reg_hev *ev)
{
	struct store_obj *so = calloc(1, sizeof(*so));

	if (!so) {
		reg_hev_put(ev);
		return NULL;
	}
	if (ev) {
		so->kv = *kv;
		so->kv._ref = NULL;
		so->ev = ev;
	} else {
		store_kv_dup(kv, &so->kv);
	}
	atomic_init(&so->o.refs, 1);
	so->o.json = (const char *)so->kv.value;
	so->o.len = so->kv.value_len;
	so->o.rv = kv->mod_rev;
	so->o.release = store_obj_release;
	return &so->o;
}

/* An object owning json (malloc'd). */
struct owned_obj {
	struct kc_obj o;
	char *json;
};

static void owned_obj_release(struct kc_obj *o)
{
	free(((struct owned_obj *)o)->json);
	free(o);
}

static struct kc_obj *obj_of_json(char *json, size_t len, uint64_t rv)
{
	struct owned_obj *oo = calloc(1, sizeof(*oo));

	if (!oo) {
		free(json);
		return NULL;
	}
	atomic_init(&oo->o.refs, 1);
	oo->json = json;
	oo->o.json = json;
	oo->o.len = len;
	oo->o.rv = rv;
	oo->o.release = owned_obj_release;
	return &oo->o;
}

/* The object of a successful result. */
static struct kc_obj *obj_of_result(struct api_result *r)
{
	char *json;
	size_t len;

	if (r->json) {
		json = r->json;
		r->json = NULL;
		return obj_of_json(json, r->json_len, r->rev);
	}
	if (r->kv.value && !r->obj)
		return obj_of_kv(&r->kv, NULL);
	if (!r->obj)
		return NULL;
	json = jv_to_json(r->obj, &len);
	return json ? obj_of_json(json, len, r->rev) : NULL;
}

/* ---- calls ---- */

static const struct api_resource *resource_of(const struct k8s_kind *k, struct kc_status *st)
{
	const struct api_resource *res =
	    k ? api_resource_find(k->group, k->version, k->resource) : NULL;

	if (!res)
		kc_status_set(st, 404, "NotFound",
			      "the server could not find the requested resource");
	return res;
}

/* A finished call: 0 and *out, or the error of its Status. */
static int finish(struct api_result *r, struct kc_obj **out, struct kc_status *st)
{
	int err = 0;

	if (api_result_failed(r)) {
		kc_status_set(st, (int)r->code, r->reason, "%s", r->message ? r->message : "");
		err = kc_error_of((int)r->code, r->reason);
	} else if (out) {
		*out = obj_of_result(r);
		if (!*out && (r->obj || r->json || r->kv.value))
			err = -ENOMEM;
	}
	api_result_free(r);
	return err;
}

static int local_get(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		     const char *sub, struct kc_obj **out, struct kc_status *st)
{
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = res, .ns = ns, .name = name, .sub = sub, .d = d};
	struct api_result r = {0};
	int err;

	if (!res || !d) {
		jv_doc_free(d);
		return res ? -ENOMEM : -ENOENT;
	}
	if (sub && strcmp(sub, "scale") == 0)
		reg_scale(LC(c)->reg, &rq, REG_SCALE_GET, NULL, API_PATCH_MERGE, NULL, 0, &r);
	else
		reg_get(LC(c)->reg, &rq, false, &r);
	err = finish(&r, out, st);
	jv_doc_free(d);
	return err;
}

static int local_list(struct kclient *c, const struct k8s_kind *k, const char *ns,
		      const struct kc_list_opts *o, struct kc_list *out, struct kc_status *st)
{
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = jv_doc_new();
	struct reg_req rq = {.res = res, .ns = ns, .d = d};
	struct reg_list_opts lo = {0};
	struct api_selector *sel = NULL;
	struct api_result r = {0};
	struct reg_list l;
	char msg[512];
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!res || !d) {
		jv_doc_free(d);
		return res ? -ENOMEM : -ENOENT;
	}
	if (o) {
		err = api_selector_parse(o->label_selector, o->field_selector, res, &sel, msg,
					 sizeof(msg));
		if (err) {
			kc_status_set(st, 400, "BadRequest", "%s", msg);
			jv_doc_free(d);
			return err == -EINVAL ? -KC_EAPI : err;
		}
		lo = (struct reg_list_opts){.sel = sel,
					    .limit = o->limit,
					    .cont = o->continue_token,
					    .rv = o->resource_version,
					    .match = o->resource_version_match};
	}
	if (reg_list(LC(c)->reg, &rq, &lo, &l, &r) != 0) {
		err = finish(&r, NULL, st);
		goto out;
	}
	out->items = calloc(reg_list_remaining(&l) + 1, sizeof(*out->items));
	out->rv = l.l.rev;
	out->next = l.l.next ? strdup(l.l.next) : NULL;
	if (!out->items || (l.l.next && !out->next)) {
		err = -ENOMEM;
		goto list_out;
	}
	for (;;) {
		struct jv_doc *id = jv_doc_new();
		const struct store_kv *kv;
		struct jv *obj;
		struct kc_obj *ko;
		int rc = id ? reg_list_next(&l, id, false, &kv, &obj) : -ENOMEM;

		if (rc <= 0) {
			jv_doc_free(id);
			err = rc;
			break;
		}
		if (obj && l.wire) {
			/* converted: the client's version, written out */
			size_t len;
			char *json = jv_to_json(obj, &len);

			ko = json ? obj_of_json(json, len, kv->mod_rev) : NULL;
		} else {
			ko = obj_of_kv(kv, NULL);
		}
		jv_doc_free(id);
		if (!ko) {
			err = -ENOMEM;
			break;
		}
		out->items[out->count++] = ko;
	}
list_out:
	reg_list_free(&l);
	api_result_free(&r);
	if (err)
		kc_list_free(out);
out:
	api_selector_free(sel);
	jv_doc_free(d);
	return err;
}

/* The client's tree as a body of the kind would arrive: copied into the call's doc and
 * checked (types, unknown fields as warnings, nulls dropped). */
static struct jv *body_of(struct jv_doc *d, const struct jv *obj, const struct k8s_kind *k,
			  struct api_result *r)
{
	struct jv *o = jv_copy(d, obj);

	if (!o) {
		api_fail_oom(r);
		return NULL;
	}
	return api_decode_tree(d, o, k, K8S_FV_WARN, r) == 0 ? o : NULL;
}

static void req_init(struct reg_req *rq, struct kclient *c, const struct api_resource *res,
		     const char *ns, const char *name, const char *sub,
		     const struct kc_write_opts *o, struct jv_doc *d)
{
	*rq =
	    (struct reg_req){.res = res,
			     .ns = ns,
			     .name = name,
			     .sub = sub,
			     .manager = o && o->field_manager ? o->field_manager : c->field_manager,
			     .dry_run = o && o->dry_run,
			     .force = o && o->force,
			     .fv = K8S_FV_WARN,
			     .d = d};
}

static int local_create(struct kclient *c, const struct k8s_kind *k, const char *ns,
			const char *name, const char *sub, const struct jv *obj,
			const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = jv_doc_new();
	struct api_result r = {0};
	struct reg_req rq;
	struct jv *body;
	int err;

	if (!res || !d) {
		jv_doc_free(d);
		return res ? -ENOMEM : -ENOENT;
	}
	req_init(&rq, c, res, ns, name, sub, o, d);
	if (!sub) {
		body = body_of(d, obj, res->kind, &r);
		if (body)
			reg_create(LC(c)->reg, &rq, body, &r);
	} else if (strcmp(sub, "binding") == 0) {
		body = body_of(d, obj, k8s_kind_find("v1", "Binding"), &r);
		if (body)
			reg_bind(LC(c)->reg, &rq, body, &r);
	} else if (strcmp(sub, "eviction") == 0) {
		body = body_of(d, obj, k8s_kind_find("policy/v1", "Eviction"), &r);
		if (body)
			reg_evict(LC(c)->reg, &rq, body, &r);
	} else {
		api_fail(&r, 404, "NotFound", "the server could not find the requested resource");
	}
	err = finish(&r, out, st);
	jv_doc_free(d);
	return err;
}

static int local_update(struct kclient *c, const struct k8s_kind *k, const char *ns,
			const char *name, const char *sub, const struct jv *obj,
			const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = jv_doc_new();
	struct api_result r = {0};
	struct reg_req rq;
	struct jv *body;
	int err;

	if (!res || !d) {
		jv_doc_free(d);
		return res ? -ENOMEM : -ENOENT;
	}
	req_init(&rq, c, res, ns, name, sub, o, d);
	if (sub && strcmp(sub, "scale") == 0) {
		body = body_of(d, obj, k8s_kind_find("autoscaling/v1", "Scale"), &r);
		if (body)
			reg_scale(LC(c)->reg, &rq, REG_SCALE_UPDATE, body, API_PATCH_MERGE, NULL, 0,
				  &r);
	} else {
		body = body_of(d, obj, res->kind, &r);
		if (body)
			reg_update(LC(c)->reg, &rq, body, &r);
	}
	err = finish(&r, out, st);
	jv_doc_free(d);
	return err;
}

static int local_patch(struct kclient *c, const struct k8s_kind *k, const char *ns,
		       const char *name, const char *sub, enum kc_patch_type t, const char *patch,
		       size_t len, const struct kc_write_opts *o, struct kc_obj **out,
		       struct kc_status *st)
{
	static const enum api_patch_type types[] = {[KC_PATCH_MERGE] = API_PATCH_MERGE,
						    [KC_PATCH_STRATEGIC] = API_PATCH_STRATEGIC,
						    [KC_PATCH_JSON] = API_PATCH_JSON,
						    [KC_PATCH_APPLY] = API_PATCH_APPLY};
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = jv_doc_new();
	struct api_result r = {0};
	struct reg_req rq;
	int err;

	if (!res || !d) {
		jv_doc_free(d);
		return res ? -ENOMEM : -ENOENT;
	}
	req_init(&rq, c, res, ns, name, sub, o, d);
	if (t == KC_PATCH_APPLY) {
		struct api_body b = {.p = patch, .len = len, .max = LC(c)->reg->cfg.max_body};
		struct jv *cfg = api_decode_apply(&b, d, res->kind, K8S_FV_WARN, &r);

		if (cfg)
			reg_apply(LC(c)->reg, &rq, cfg, &r);
	} else if (sub && strcmp(sub, "scale") == 0) {
		reg_scale(LC(c)->reg, &rq, REG_SCALE_PATCH, NULL, types[t], patch, len, &r);
	} else {
		reg_patch(LC(c)->reg, &rq, types[t], patch, len, &r);
	}
	err = finish(&r, out, st);
	jv_doc_free(d);
	return err;
}

/* A delete's options as the registry takes them. */
static void del_opts(const struct kc_delete_opts *o, struct reg_delete_opts *dopts,
		     struct reg_req *rq)
{
	dopts->grace = o->grace_seconds;
	dopts->propagation = o->propagation;
	dopts->uid = o->precondition_uid;
	dopts->rv = o->precondition_rv;
	rq->dry_run = o->dry_run;
}

static int local_del(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		     const struct kc_delete_opts *o, struct kc_obj **out, struct kc_status *st)
{
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = jv_doc_new();
	struct reg_delete_opts dopts = REG_DELETE_OPTS_INIT;
	struct reg_req rq = {.res = res, .ns = ns, .name = name, .d = d};
	struct api_result r = {0};
	int err;

	if (!res || !d) {
		jv_doc_free(d);
		return res ? -ENOMEM : -ENOENT;
	}
	rq.manager = c->field_manager;
	if (o)
		del_opts(o, &dopts, &rq);
	reg_delete(LC(c)->reg, &rq, &dopts, &r);
	err = finish(&r, out, st);
	jv_doc_free(d);
	return err;
}

/* deletecollection; a resource without the verb answers 405, as over HTTP. */
static int local_delcol(struct kclient *c, const struct k8s_kind *k, const char *ns,
			const struct kc_list_opts *sel, const struct kc_delete_opts *o,
			struct kc_status *st)
{
	const struct api_resource *res = resource_of(k, st);
	struct jv_doc *d = res ? jv_doc_new() : NULL;
	struct reg_delete_opts dopts = REG_DELETE_OPTS_INIT;
	struct reg_req rq = {.res = res, .ns = ns, .d = d, .manager = c->field_manager};
	struct api_selector *s = NULL;
	struct api_result r = {0};
	char msg[512];
	int err = 0;

	if (!d)
		return res ? -ENOMEM : -ENOENT;
	if (!(res->verbs & API_VERB_DELETECOLLECTION)) {
		kc_status_set(st, 405, "MethodNotAllowed",
			      "the server does not allow this method on the requested resource");
		err = kc_error_of(405, "MethodNotAllowed");
	} else if (sel && (err = api_selector_parse(sel->label_selector, sel->field_selector, res,
						    &s, msg, sizeof(msg)))) {
		kc_status_set(st, 400, "BadRequest", "%s", msg);
		err = err == -EINVAL ? -KC_EAPI : err;
	} else {
		del_opts(o, &dopts, &rq);
		reg_deletecollection(LC(c)->reg, &rq, s, &dopts, &r);
		err = finish(&r, NULL, st);
	}
	api_selector_free(s);
	jv_doc_free(d);
	return err;
}

/* ---- watches ---- */

static void wake_thread(struct local_client *lc)
{
	uint64_t one = 1;

	if (write(lc->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(COMP, "eventfd: %s", strerror(errno));
}

/* A BOOKMARK as the HTTP server sends it: the kind, its version, the resourceVersion. */
static void bookmark(struct local_watch *w)
{
	const struct k8s_kind *k = w->res->kind;
	char json[256];
	int n = snprintf(json, sizeof(json),
			 "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
			 "\"resourceVersion\":\"%" PRIu64 "\"}}",
			 k->kind, k->api_version, reg_watch_rev(w->rw));
	struct kc_obj *o = kc_obj_new(json, (size_t)n, reg_watch_rev(w->rw));

	if (o) {
		w->cb.event(w->arg, KC_BOOKMARK, o);
		kc_obj_put(o);
	}
}

static void end_watch(struct local_watch *w, int err)
{
	if (w->ended)
		return;
	w->ended = true;
	w->cb.end(w->arg, err);
}

/* Deliver what w has. Caller holds lc->dispatch. */
static void deliver(struct local_client *lc, struct local_watch *w)
{
	for (int n = 0; !w->ended && !w->stopped && n < 4096; n++) {
		static const enum kc_event_type types[] = {[REG_ADDED] = KC_ADDED,
							   [REG_MODIFIED] = KC_MODIFIED,
							   [REG_DELETED] = KC_DELETED};
		/* a tree only for a version served by conversion */
		struct jv_doc *d = w->res->storage ? jv_doc_new() : NULL;
		struct reg_event ev;
		struct kc_obj *o;
		int rc = d || !w->res->storage ? reg_watch_next(w->rw, d, &ev) : -ENOMEM;

		if (rc == 0) {
			jv_doc_free(d);
			return;
		}
		if (rc < 0) {
			jv_doc_free(d);
			end_watch(w, rc == -STORE_ECLOSED ? -ESHUTDOWN : -EIO);
			return;
		}
		if (ev.obj && w->res->storage) {
			size_t len;
			char *json = jv_to_json(ev.obj, &len);

			o = json ? obj_of_json(json, len, ev.kv.mod_rev) : NULL;
			reg_event_put(&ev);
		} else {
			struct store_kv own;

			/* the object keeps its value alone: an informer holding every pod must
			 * not also hold each one's previous version and encoded watch line */
			if (reg_event_value(&ev, &own) == 0) {
				o = obj_of_kv(&own, NULL);
				store_kv_release(&own);
				reg_event_put(&ev);
			} else {
				/* the event's reference moves into the object */
				o = obj_of_kv(&ev.kv, reg_event_take(&ev));
			}
		}
		jv_doc_free(d);
		if (!o) {
			end_watch(w, -ENOMEM);
			return;
		}
		atomic_fetch_add(&lc->base.watch_events, 1);
		w->cb.event(w->arg, types[ev.type], o);
		kc_obj_put(o);
	}
	/* a long backlog: the rest on the next round, after the others had theirs */
	pthread_mutex_lock(&lc->lock);
	w->kick = true;
	pthread_mutex_unlock(&lc->lock);
	wake_thread(lc);
}

static void reap(struct local_client *lc);

/* The watch thread. It holds the dispatch lock while it delivers, so no watch is freed under
 * it (kc_watch_stop takes that lock): the list can only grow meanwhile (at its head), and
 * lc->lock is taken only to read what other threads write (the head, the set's map), never
 * around a callback — a callback may open another watch. */
static void *watch_thread(void *arg)
{
	struct local_client *lc = arg;
	uint64_t last_tick = now_ms();

	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(lc->epfd, evs, 8, 500);
		uint64_t now = now_ms(), junk;
		struct local_watch *head;
		bool stop;

		if (n < 0 && errno != EINTR)
			log_error(COMP, "epoll_wait: %s", strerror(errno));
		if (read(lc->evfd, &junk, sizeof(junk)) < 0 && errno != EAGAIN)
			log_debug(COMP, "eventfd: %s", strerror(errno));
		pthread_mutex_lock(&lc->dispatch);
		pthread_mutex_lock(&lc->lock);
		stop = lc->stopping;
		head = lc->all;
		pthread_mutex_unlock(&lc->lock);
		if (stop) {
			pthread_mutex_unlock(&lc->dispatch);
			return NULL;
		}
		/* watches with work: kicked ones (new, or a backlog left), then the set's */
		for (struct local_watch *w = head; w; w = w->next) {
			bool kick;

			pthread_mutex_lock(&lc->lock);
			kick = w->kick;
			w->kick = false;
			pthread_mutex_unlock(&lc->lock);
			if (kick && !w->stopped)
				deliver(lc, w);
		}
		for (;;) {
			struct reg_watch *ready[64];
			struct local_watch *ws[64];
			size_t nr = reg_watch_set_ready(lc->set, ready, 64);

			if (!nr)
				break;
			pthread_mutex_lock(&lc->lock);
			for (size_t i = 0; i < nr; i++)
				ws[i] = hmap_get(lc->byrw, &ready[i], sizeof(ready[i]));
			pthread_mutex_unlock(&lc->lock);
			for (size_t i = 0; i < nr; i++)
				if (ws[i] && !ws[i]->stopped)
					deliver(lc, ws[i]);
		}
		/* timers */
		if (now - last_tick >= 500) {
			last_tick = now;
			for (struct local_watch *w = head; w; w = w->next) {
				if (w->ended || w->stopped)
					continue;
				if (now >= w->deadline_ms) {
					end_watch(w, 0);
				} else if (w->bookmarks && now >= w->next_bookmark_ms) {
					w->next_bookmark_ms =
					    now + lc->bookmark_interval_s * 1000ull;
					if (!reg_watch_has_initial(w->rw))
						bookmark(w);
				} else if (reg_watch_pending(w->rw)) {
					/* a wake-up the set lost (out of memory) */
					deliver(lc, w);
				}
			}
		}
		reap(lc);
		pthread_mutex_unlock(&lc->dispatch);
	}
}

static int local_watch(struct kclient *c, const struct k8s_kind *k, const char *ns,
		       const struct kc_watch_opts *o, const struct kc_watch_cb *cb, void *arg,
		       struct kc_watch **out, struct kc_status *st)
{
	struct local_client *lc = LC(c);
	const struct api_resource *res = resource_of(k, st);
	struct reg_watch_opts wo = {.set = lc->set};
	struct api_result r = {0};
	struct local_watch *w;
	char msg[512];
	uint64_t now = now_ms();
	int err;

	*out = NULL;
	if (!res)
		return -ENOENT;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (o) {
		err = api_selector_parse(o->label_selector, o->field_selector, res, &wo.sel, msg,
					 sizeof(msg));
		if (err) {
			kc_status_set(st, 400, "BadRequest", "%s", msg);
			free(w);
			return err == -EINVAL ? -KC_EAPI : err;
		}
		wo.rv = o->resource_version;
	}
	err = reg_watch_open(lc->reg, &(struct reg_req){.res = res, .ns = ns}, &wo, &w->rw, &r);
	if (err) {
		err = finish(&r, NULL, st);
		free(w);
		return err;
	}
	api_result_free(&r);
	w->base.c = c;
	w->lc = lc;
	w->cb = *cb;
	w->arg = arg;
	w->res = res;
	w->bookmarks = o && o->bookmarks;
	/* as the HTTP server: no timeoutSeconds ends the watch after 30-60 minutes */
	w->deadline_ms =
	    now + 1000ull * (o && o->timeout_s > 0 ? (uint64_t)o->timeout_s : 1800 + now % 1800);
	w->next_bookmark_ms = now + lc->bookmark_interval_s * 1000ull;
	w->kick = true; /* the initial events */
	pthread_mutex_lock(&lc->lock);
	if (hmap_put(lc->byrw, &w->rw, sizeof(w->rw), w, NULL) < 0) {
		pthread_mutex_unlock(&lc->lock);
		reg_watch_close(w->rw);
		free(w);
		return -ENOMEM;
	}
	w->next = lc->all;
	if (lc->all)
		lc->all->prev = w;
	lc->all = w;
	pthread_mutex_unlock(&lc->lock);
	wake_thread(lc);
	*out = &w->base;
	return 0;
}

/* Unlink and free w. Caller holds lc->dispatch (so no callback of it runs). */
static void unlink_free(struct local_client *lc, struct local_watch *w)
{
	pthread_mutex_lock(&lc->lock);
	hmap_del(lc->byrw, &w->rw, sizeof(w->rw));
	if (w->prev)
		w->prev->next = w->next;
	else
		lc->all = w->next;
	if (w->next)
		w->next->prev = w->prev;
	reg_watch_close(w->rw); /* under the lock: the set's ready list is read under it */
	pthread_mutex_unlock(&lc->lock);
	free(w);
}

static void reap(struct local_client *lc)
{
	while (lc->graveyard) {
		struct local_watch *w = lc->graveyard;

		lc->graveyard = w->gnext;
		unlink_free(lc, w);
	}
}

static void local_watch_stop(struct kc_watch *kw)
{
	struct local_watch *w = (struct local_watch *)kw;
	struct local_client *lc = w->lc;

	if (lc->running && pthread_equal(pthread_self(), lc->thread)) {
		/* from a callback (the thread holds the dispatch lock): no callback of it runs
		 * from now on; freed when the round ends */
		if (!w->stopped) {
			w->stopped = true;
			w->gnext = lc->graveyard;
			lc->graveyard = w;
		}
		return;
	}
	pthread_mutex_lock(&lc->dispatch);
	unlink_free(lc, w);
	pthread_mutex_unlock(&lc->dispatch);
}

static void local_free(struct kclient *c)
{
	struct local_client *lc = LC(c);

	pthread_mutex_lock(&lc->lock);
	lc->stopping = true;
	pthread_mutex_unlock(&lc->lock);
	if (lc->running) {
		wake_thread(lc);
		pthread_join(lc->thread, NULL);
	}
	lc->running = false;
	reap(lc);
	while (lc->all)
		local_watch_stop(&lc->all->base);
	hmap_free(lc->byrw);
	reg_watch_set_free(lc->set);
	if (lc->epfd >= 0)
		close(lc->epfd);
	if (lc->evfd >= 0)
		close(lc->evfd);
	pthread_mutex_destroy(&lc->lock);
	pthread_mutex_destroy(&lc->dispatch);
	free(lc);
}

static const struct kc_ops local_ops = {
    .name = "local",
    .get = local_get,
    .list = local_list,
    .create = local_create,
    .update = local_update,
    .patch = local_patch,
    .del = local_del,
    .delcol = local_delcol,
    .watch = local_watch,
    .watch_stop = local_watch_stop,
    .free = local_free,
};

struct kclient *kclient_local_new(struct registry *reg, const struct kclient_local_opts *o)
{
	struct local_client *lc = calloc(1, sizeof(*lc));
	struct epoll_event ev = {.events = EPOLLIN};
	int err;

	if (!lc)
		return NULL;
	kclient_init(&lc->base, &local_ops);
	lc->reg = reg;
	lc->bookmark_interval_s = o && o->bookmark_interval_s ? o->bookmark_interval_s : 60;
	pthread_mutex_init(&lc->lock, NULL);
	pthread_mutex_init(&lc->dispatch, NULL);
	lc->epfd = epoll_create1(EPOLL_CLOEXEC);
	lc->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	lc->byrw = hmap_new();
	if (lc->epfd < 0 || lc->evfd < 0 || !lc->byrw || reg_watch_set_new(&lc->set) != 0)
		goto fail;
	if (epoll_ctl(lc->epfd, EPOLL_CTL_ADD, lc->evfd, &ev) != 0 ||
	    epoll_ctl(lc->epfd, EPOLL_CTL_ADD, reg_watch_set_fd(lc->set), &ev) != 0)
		goto fail;
	err = pthread_create(&lc->thread, NULL, watch_thread, lc);
	if (err) {
		errno = err;
		goto fail;
	}
	lc->running = true;
	return &lc->base;
fail:
	err = errno;
	local_free(&lc->base);
	errno = err ? err : ENOMEM;
	return NULL;
}
