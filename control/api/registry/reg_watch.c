/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_watch: a watch of a collection as the API defines it, with no transport in it: from
 * resourceVersion "0" or unset, the current state as ADDED events first (a list taken at the
 * revision the watch then continues from); from "N", every change after N (410 Expired when
 * N is older than the kept history). Events are filtered by the watch's selectors: an update
 * that moves an object into the selection is an ADDED, out of it a DELETED (carrying the new
 * state), as Kubernetes' watch cache reports it. The HTTP watch streams (http/watch.c) and
 * the in-process client read from it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "reg_int.h"

struct reg_watch {
	struct registry *reg;
	const struct api_resource *res;	 /* stored */
	const struct api_resource *wire; /* requested, when served by conversion */
	struct api_selector *sel;
	bool tree;
	struct store_watch *sw;
	struct store_list init; /* initial ADDED events, delivered first */
	size_t init_next;
	uint64_t rev; /* latest revision delivered */
};

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
	struct store_watch_opts wo = {.set = o->set};
	struct reg_call c;
	char prefix[1024];
	uint64_t rv;
	int n, err;

	*out_w = NULL;
	if (!w) {
		api_selector_free(o->sel);
		api_fail_oom(out);
		return -ENOMEM;
	}
	w->sel = o->sel;
	o->sel = NULL;
	err = reg_call_init(&c, reg, &(struct reg_req){.res = rq->res, .ns = rq->ns, .d = rq->d},
			    out);
	if (err)
		goto fail;
	w->reg = reg;
	w->res = c.res;
	w->wire = c.wire;
	w->tree = o->tree;
	n = api_key(c.res, c.ns, NULL, prefix, sizeof(prefix));
	if (n < 0 || parse_rv(o->rv, &rv) != 0) {
		err = -EINVAL;
		if (n < 0)
			api_fail(out, 400, "BadRequest", "namespace too long");
		else
			api_fail(out, 400, "BadRequest", "invalid resource version: %s", o->rv);
		goto fail;
	}
	wo.prefix = prefix;
	wo.prefix_len = (size_t)n;
	if (rv == 0) {
		/* the current state as ADDED events, then every change after it */
		struct store_list_opts lo = {.prefix = prefix, .prefix_len = (size_t)n};

		err = store_list(reg->store, &lo, &w->init);
		if (err) {
			api_fail_store(out, c.res, NULL, err);
			goto fail;
		}
		w->rev = w->init.rev;
		if (!w->init.count)
			store_list_free(&w->init);
		wo.from_rev = w->rev + 1;
	} else {
		w->rev = rv;
		wo.from_rev = rv + 1;
	}
	err = store_watch_open(reg->store, &wo, &w->sw);
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
	return w->tree || w->sel || w->wire;
}

static struct jv *load(struct reg_watch *w, struct jv_doc *d, const struct store_kv *kv,
		       uint64_t rev)
{
	struct jv *o = kv->value_len ? api_load_object(d, kv->value, kv->value_len, rev) : NULL;

	if (o && w->wire)
		w->wire->from_storage(d, o);
	return o;
}

/* One store event as the watch reports it: 1 (ev filled) or 0 (filtered out). */
static int translate(struct reg_watch *w, struct store_event *se, struct jv_doc *d,
		     struct reg_event *ev)
{
	struct jv *cur = NULL, *prev = NULL;
	bool cur_ok, prev_ok;

	w->rev = se->kv.mod_rev;
	ev->kv = se->type == STORE_EVENT_DELETE ? se->prev : se->kv;
	ev->kv.mod_rev = se->kv.mod_rev;
	ev->obj = NULL;
	if (!needs_tree(w)) {
		ev->type = se->type == STORE_EVENT_CREATE   ? REG_ADDED
			   : se->type == STORE_EVENT_UPDATE ? REG_MODIFIED
							    : REG_DELETED;
		return 1;
	}
	if (se->type != STORE_EVENT_DELETE)
		cur = load(w, d, &se->kv, se->kv.mod_rev);
	/* an update's previous state matters only to a selector (moving in or out of it) */
	if (se->type == STORE_EVENT_DELETE || (se->type == STORE_EVENT_UPDATE && w->sel))
		prev = load(w, d, &se->prev, se->kv.mod_rev);
	cur_ok = cur && api_selector_match(w->sel, cur);
	prev_ok = prev && api_selector_match(w->sel, prev);
	if (se->type == STORE_EVENT_CREATE && cur_ok) {
		ev->type = REG_ADDED;
		ev->obj = cur;
	} else if (se->type == STORE_EVENT_DELETE && prev_ok) {
		ev->type = REG_DELETED;
		ev->obj = prev;
	} else if (se->type == STORE_EVENT_UPDATE && cur_ok) {
		ev->type = prev_ok || !w->sel ? REG_MODIFIED : REG_ADDED;
		ev->obj = cur;
	} else if (se->type == STORE_EVENT_UPDATE && prev_ok) {
		/* moved out of the selection: a DELETED with the new state */
		ev->type = REG_DELETED;
		ev->obj = cur;
		ev->kv = se->kv;
	} else {
		return 0;
	}
	return 1;
}

int reg_watch_next(struct reg_watch *w, struct jv_doc *d, struct reg_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	while (w->init_next < w->init.count) {
		const struct store_kv *kv = &w->init.items[w->init_next++];
		struct jv *o = NULL;

		if (needs_tree(w)) {
			o = load(w, d, kv, kv->mod_rev);
			if (!o || !api_selector_match(w->sel, o))
				continue;
		}
		ev->type = REG_ADDED;
		ev->kv = *kv;
		ev->kv._ref = NULL; /* the list holds it */
		ev->obj = o;
		return 1;
	}
	if (w->init.items && w->init_next >= w->init.count)
		store_list_free(&w->init);
	for (;;) {
		struct store_event *se = NULL;
		int rc = store_watch_next(w->sw, &se, 0);

		if (rc <= 0)
			return rc;
		if (translate(w, se, d, ev)) {
			ev->kv._ref = NULL;
			/* the kv borrows the event's memory: held until reg_event_put */
			ev->_held = se;
			return 1;
		}
		store_event_put(se);
	}
}

void reg_event_put(struct reg_event *ev)
{
	if (ev && ev->_held) {
		store_event_put(ev->_held);
		ev->_held = NULL;
	}
}

bool reg_watch_has_initial(const struct reg_watch *w)
{
	return w->init_next < w->init.count;
}

uint64_t reg_watch_rev(const struct reg_watch *w)
{
	return w->rev;
}

struct store_watch *reg_watch_store(const struct reg_watch *w)
{
	return w->sw;
}

void reg_watch_close(struct reg_watch *w)
{
	if (!w)
		return;
	store_watch_close(w->sw);
	store_list_free(&w->init);
	api_selector_free(w->sel);
	free(w);
}
