/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_watch: a watch of a collection as the API defines it, with no transport in it: from
 * resourceVersion "0" or unset, the current state as ADDED events first (a list taken at the
 * revision the watch then continues from); from "N", every change after N (410 Expired when
 * N is older than the kept history). Events are filtered by the watch's selectors: an update
 * that moves an object into the selection is an ADDED, out of it a DELETED (carrying the new
 * state), as Kubernetes' watch cache reports it. The events come from the resource's watch
 * hub (reg_hub.c), filtered and shared; a watch older than the hub's ring reads a store watch
 * of its own and filters it here. The HTTP watch streams (http/watch.c) and the in-process
 * client read from it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "reg_hub.h"

static int parse_rv(const char *rv, uint64_t *out)
{
	char *end;

	*out = 0;
	if (!rv || !rv[0])
		return 0;
	errno = 0;
	*out = strtoull(rv, &end, 10);
	if (errno || *end || rv[0] == '-')
		return -EINVAL;
	return 0;
}

int reg_watch_open(struct registry *reg, const struct reg_req *rq, struct reg_watch_opts *o,
		   struct reg_watch **out_w, struct api_result *out)
{
	struct reg_watch *w = calloc(1, sizeof(*w));
	struct reg_call c;
	uint64_t rv;
	int n, err;

	*out_w = NULL;
	if (!w) {
		api_selector_free(o->sel);
		o->sel = NULL;
		api_fail_oom(out);
		return -ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	w->reg = reg;
	w->sel = o->sel;
	o->sel = NULL;
	err = reg_call_init(&c, reg, &(struct reg_req){.res = rq->res, .ns = rq->ns, .d = rq->d},
			    out);
	if (err)
		goto fail;
	w->res = c.res;
	w->wire = c.wire;
	w->tree = o->tree;
	n = api_key(c.res, c.ns, NULL, w->prefix, sizeof(w->prefix));
	if (n < 0 || parse_rv(o->rv, &rv) != 0 || !o->set) {
		err = -EINVAL;
		if (!o->set)
			api_fail(out, 500, "InternalError",
				 "Internal error occurred: no watch set");
		else if (n < 0)
			api_fail(out, 400, "BadRequest", "namespace too long");
		else
			api_fail(out, 400, "BadRequest", "invalid resource version: %s", o->rv);
		goto fail;
	}
	w->prefix_len = (size_t)n;
	w->set = o->set;
	if (rv == 0) {
		/* the current state as ADDED events, then every change after it: the hub first,
		 * so that it holds every event after the list */
		struct store_list_opts lo = {.prefix = w->prefix, .prefix_len = w->prefix_len};

		err = reg_hub_prepare(reg, c.res);
		if (!err)
			err = store_list(reg->store, &lo, &w->init);
		if (err) {
			api_fail_store(out, c.res, NULL, err);
			goto fail;
		}
		w->rev = w->init.rev;
		if (!w->init.count)
			store_list_free(&w->init);
	} else {
		w->rev = rv;
	}
	w->after = w->rev;
	err = reg_hub_join(w);
	if (err == -STORE_ECOMPACTED) {
		api_fail(out, 410, "Expired", "too old resource version: %" PRIu64 " (%" PRIu64 ")",
			 rv, store_compacted_revision(reg->store));
		goto fail;
	}
	if (err) {
		api_fail_store(out, c.res, NULL, err);
		goto fail;
	}
	out->code = 200;
	*out_w = w;
	return 0;
fail:
	reg_watch_close(w);
	return err;
}

static bool needs_tree(const struct reg_watch *w)
{
	return w->tree || w->wire;
}

static struct jv *load(struct reg_watch *w, struct jv_doc *d, const struct store_kv *kv,
		       uint64_t rev)
{
	struct jv *o =
	    d && kv->value_len ? api_load_object(d, kv->value, kv->value_len, rev) : NULL;

	if (o && w->wire)
		w->wire->from_storage(w->wire, d, o);
	return o;
}

static void fill(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev, struct reg_hev *h,
		 int v)
{
	static const enum reg_event_type types[] = {[HV_ADDED] = REG_ADDED,
						    [HV_MODIFIED] = REG_MODIFIED,
						    [HV_MOVED_OUT] = REG_DELETED,
						    [HV_DELETED] = REG_DELETED};
	const struct store_event *se = h->se;

	ev->type = types[v];
	ev->kv = v == HV_DELETED ? se->prev : se->kv;
	ev->kv.mod_rev = se->kv.mod_rev;
	ev->kv._ref = NULL; /* the event holds it */
	ev->_w = w;
	ev->_hev = h;
	ev->_variant = v;
	if (needs_tree(w))
		ev->obj = load(w, d, &ev->kv, ev->kv.mod_rev);
	if (se->kv.mod_rev > w->rev)
		w->rev = se->kv.mod_rev;
}

/* The next initial event: 1 or 0 (none left). */
static int next_initial(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev)
{
	while (w->init_next < w->init.count) {
		const struct store_kv *kv = &w->init.items[w->init_next++];
		struct jv *o = NULL;

		if (w->sel) {
			struct jv_doc *sd = jv_doc_new();
			struct jv *so =
			    sd ? jv_parse(sd, (const char *)kv->value, kv->value_len, NULL) : NULL;
			bool ok = so && api_selector_match(w->sel, so);

			jv_doc_free(sd);
			if (!ok)
				continue;
		}
		if (needs_tree(w)) {
			o = load(w, d, kv, kv->mod_rev);
			if (!o)
				continue;
		}
		ev->type = REG_ADDED;
		ev->kv = *kv; /* with the list's reference: store_kv_dup keeps it */
		ev->obj = o;
		ev->_w = w;
		ev->_variant = HV_ADDED;
		return 1;
	}
	return 0;
}

/* A store watch of the watch's own: its events filtered here, as the hub filters its own. */
static int next_own(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev)
{
	for (bool rechecked = false;;) {
		struct store_event *se = NULL;
		struct hev_trees t;
		struct reg_hev *h;
		int rc = store_watch_next(w->sw, &se, 0), v;

		if (rc == 0 && !rechecked) {
			/* drained: no longer notified, then look once more (an event that came
			 * in between found it still notified and was not forwarded) */
			reg_hub_unnotify(w);
			rechecked = true;
			continue;
		}
		if (rc <= 0)
			return rc;
		if (se->kv.mod_rev > w->rev)
			w->rev = se->kv.mod_rev;
		t = (struct hev_trees){.se = se};
		v = reg_hev_variant(w, &t);
		hev_trees_done(&t);
		if (v == HV_NONE) {
			store_event_put(se);
			continue;
		}
		h = reg_hev_new(se);
		if (!h)
			return -ENOMEM;
		fill(w, d, ev, h, v);
		return 1;
	}
}

int reg_watch_next(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev)
{
	struct reg_hev *h;
	uint64_t progress;
	int rc, v;

	memset(ev, 0, sizeof(*ev));
	if (next_initial(w, d, ev))
		return 1;
	if (w->init.items)
		store_list_free(&w->init);
	if (w->sw)
		return next_own(w, d, ev);
	/* read before the queue: every event of w's up to it is queued by then */
	progress = reg_hub_progress(w);
	rc = reg_hub_pop(w, &h, &v);
	if (rc == 1) {
		fill(w, d, ev, h, v);
		return 1;
	}
	if (rc == 0 && progress > w->rev)
		w->rev = progress; /* what it has passed on, for bookmarks */
	return rc;
}

const char *reg_event_line(struct reg_event *ev, size_t *len)
{
	struct reg_watch *w = ev->_w;
	const struct hline *l;

	if (ev->_hev) {
		l = reg_hev_line(ev->_hev, ev->_variant);
		*len = l ? l->len : 0;
		return l ? l->p : NULL;
	}
	if (!w)
		return NULL;
	/* an initial event: the watch's own line */
	w->scratch.len = 0;
	k8s_buf_puts(&w->scratch, "{\"type\":\"ADDED\",\"object\":");
	api_emit_object(&w->scratch, ev->kv.value, ev->kv.value_len, ev->kv.mod_rev);
	k8s_buf_puts(&w->scratch, "}\n");
	if (w->scratch.oom) {
		k8s_buf_free(&w->scratch);
		return NULL;
	}
	*len = w->scratch.len;
	return w->scratch.p;
}

void reg_event_put(struct reg_event *ev)
{
	if (ev && ev->_hev) {
		reg_hev_put(ev->_hev);
		ev->_hev = NULL;
	}
}

struct reg_hev *reg_event_take(struct reg_event *ev)
{
	struct reg_hev *h = ev->_hev;

	ev->_hev = NULL;
	return h;
}

int reg_event_value(struct reg_event *ev, struct store_kv *out)
{
	if (!ev->_hev) {
		/* a kv of the watch's initial list: it carries the list's reference */
		if (!ev->kv._ref)
			return -ENOENT;
		store_kv_dup(&ev->kv, out);
		return 0;
	}
	store_event_value(ev->_hev->se, &ev->kv, out);
	if (!out->_ref) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	return 0;
}

bool reg_watch_has_initial(const struct reg_watch *w)
{
	return w->init_next < w->init.count;
}

uint64_t reg_watch_rev(const struct reg_watch *w)
{
	return w->rev;
}

void reg_watch_close(struct reg_watch *w)
{
	if (!w)
		return;
	if (w->reg)
		reg_hub_leave(w);
	store_list_free(&w->init);
	api_selector_free(w->sel);
	k8s_buf_free(&w->scratch);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
