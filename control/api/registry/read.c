/* SPDX-License-Identifier: Apache-2.0 */
/*
 * read: get and list with Kubernetes' resourceVersion semantics (a list at "0" or unset reads
 * the latest state, at "N" with Exact — explicit, or implied by a limit — reads revision N,
 * a revision newer than the store's is 504 "Too large resource version", one compacted away
 * 410 Expired), pages (limit/continue; a continue token pins its revision) and selectors;
 * items come out as the store holds them, parsed only when a selector or a conversion needs
 * the tree; a list of spec.nodeName=X reads X's pods from the store's index (by_node).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "api_strategy.h"
#include "reg_int.h"

int reg_get(struct registry *reg, const struct reg_req *rq, bool tree, struct api_result *out)
{
	struct reg_call c;
	int err;

	if (reg_call_init(&c, reg, rq, out) != 0)
		return -EINVAL;
	if (api_strategy_of(c.res)->refresh)
		api_strategy_of(c.res)->refresh(reg, c.res);
	if (api_strategy_of(c.res)->deprecated)
		api_result_warn(out, "%s", api_strategy_of(c.res)->deprecated);
	err = store_get(reg->store, c.key, strlen(c.key), 0, &out->kv);
	if (err) {
		api_fail_store(out, c.res, c.name, err);
		return err;
	}
	out->code = 200;
	out->rev = out->kv.mod_rev;
	if (tree || c.wire) {
		struct jv *o =
		    api_load_object(c.d, out->kv.value, out->kv.value_len, out->kv.mod_rev);

		if (!o) {
			api_fail(out, 500, "InternalError",
				 "Internal error occurred: corrupt object");
			return -EIO;
		}
		if (c.wire)
			c.wire->from_storage(c.wire, c.d, o);
		out->obj = o;
	}
	return 0;
}

/* The revision a list reads at: 0 (current) or an exact one. */
static int list_revision(struct reg_call *c, const struct reg_list_opts *o, uint64_t *rev)
{
	uint64_t cur = store_revision(c->reg->store), want;
	const char *rv = o->rv, *match = o->match;
	char *end;

	*rev = 0;
	if (o->cont && o->cont[0] && rv && rv[0] && strcmp(rv, "0") != 0) {
		api_fail(c->out, 400, "BadRequest",
			 "specifying resource version is not allowed when using continue");
		return -EINVAL;
	}
	if (match && match[0] && strcmp(match, "Exact") != 0 &&
	    strcmp(match, "NotOlderThan") != 0) {
		api_fail(c->out, 400, "BadRequest",
			 "resourceVersionMatch: Unsupported value: \"%s\": supported values: "
			 "\"Exact\", \"NotOlderThan\"",
			 match);
		return -EINVAL;
	}
	if (!rv || !rv[0] || strcmp(rv, "0") == 0 || (o->cont && o->cont[0]))
		return 0;
	errno = 0;
	want = strtoull(rv, &end, 10);
	if (errno || *end || rv[0] == '-') {
		api_fail(c->out, 400, "BadRequest", "invalid resource version: %s", rv);
		return -EINVAL;
	}
	if (want > cur) {
		api_fail(c->out, 504, "Timeout",
			 "Too large resource version: %" PRIu64 ", current: %" PRIu64, want, cur);
		return -EINVAL;
	}
	/* Exact (explicitly, or implied by a limit as Kubernetes does); else any newer state */
	if ((match && strcmp(match, "Exact") == 0) || ((!match || !match[0]) && o->limit))
		*rev = want;
	return 0;
}

/* A field equality whose value the stored JSON (compact, written by api_store_json) must
 * hold verbatim: the kubelet's spec.nodeName=X, so that a list the store's index of pods by
 * node does not serve (an older revision, a later page) still parses only the pods that can
 * match. Only names JSON writes without escapes qualify; a match of the bytes still goes
 * through the real selector. */
static void raw_prefilter(struct reg_list *l, const struct api_selector *sel)
{
	const char *v = api_selector_field_eq(sel, "spec.nodeName");
	size_t n;

	if (!v || !v[0] || strcmp(l->res->kind->kind, "Pod") != 0)
		return;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return;
	n = (size_t)snprintf(l->raw_eq, sizeof(l->raw_eq), "\"nodeName\":\"%s\"", v);
	if (n < sizeof(l->raw_eq))
		l->raw_eq_len = n;
}

/* spec.nodeName=X of pods at the current revision: the store's index gives X's pods (the
 * selector still checks each). An older revision or a later page reads every pod, as the
 * store would tag each by parsing it: the raw prefilter is cheaper there. */
static void by_node(struct registry *reg, const struct reg_list *l, struct store_list_opts *lo)
{
	const char *v = api_selector_field_eq(l->sel, "spec.nodeName");

	if (!v || !reg->pods_by_node || l->pin_len || lo->rev || lo->continue_token ||
	    strcmp(l->res->kind->kind, "Pod") != 0)
		return;
	lo->index = reg->pods_by_node;
	lo->tag = v;
	lo->tag_len = strlen(v);
}

int reg_list(struct registry *reg, const struct reg_req *rq, const struct reg_list_opts *o,
	     struct reg_list *l, struct api_result *out)
{
	struct store_list_opts lo = {0};
	struct reg_call c;
	char prefix[1024];
	const char *pin;
	int n, err;

	memset(l, 0, sizeof(*l));
	if (reg_call_init(&c, reg, &(struct reg_req){.res = rq->res, .ns = rq->ns, .d = rq->d},
			  out) != 0 ||
	    list_revision(&c, o, &lo.rev) != 0)
		return -EINVAL;
	l->res = c.res;
	l->wire = c.wire;
	if (api_strategy_of(c.res)->refresh)
		api_strategy_of(c.res)->refresh(reg, c.res);
	if (api_strategy_of(c.res)->deprecated)
		api_result_warn(out, "%s", api_strategy_of(c.res)->deprecated);
	l->sel = o->sel;
	raw_prefilter(l, o->sel);
	/* metadata.name=x pins one key: read that prefix only (in one namespace, or of a
	 * cluster-scoped kind: across namespaces the name is in every one's keys) */
	pin = c.ns || c.res->kind->cluster_scoped ? api_selector_name(o->sel) : NULL;
	n = api_key(c.res, c.ns, pin, prefix, sizeof(prefix));
	if (n < 0) {
		api_fail(out, 400, "BadRequest", "name too long");
		return -EINVAL;
	}
	l->pin_len = pin ? (size_t)n : 0;
	lo.prefix = prefix;
	lo.prefix_len = (size_t)n;
	lo.limit = o->limit;
	lo.continue_token = o->cont && o->cont[0] ? o->cont : NULL;
	by_node(reg, l, &lo);
	err = store_list(reg->store, &lo, &l->l);
	if (err == -STORE_ECOMPACTED) {
		api_fail(out, 410, "Expired",
			 lo.continue_token
			     ? "The provided continue parameter is too old to display a consistent "
			       "list result. You can start a new list without the continue "
			       "parameter, or use the continue token in this response to retrieve "
			       "the remainder of the results."
			     : "too old resource version");
		return err;
	}
	if (err == -EINVAL && lo.continue_token) {
		api_fail(out, 400, "BadRequest", "continue key is not valid");
		return err;
	}
	if (err) {
		api_fail_store(out, c.res, NULL, err);
		return err;
	}
	out->code = 200;
	out->rev = l->l.rev;
	return 0;
}

int reg_list_next(struct reg_list *l, struct jv_doc *d, bool tree, const struct store_kv **kv,
		  struct jv **obj)
{
	*obj = NULL;
	for (; l->next < l->l.count; l->next++) {
		const struct store_kv *it = &l->l.items[l->next];
		struct jv *o;

		/* the key of a pinned name also prefixes longer names */
		if (l->pin_len && it->key_len != l->pin_len)
			continue;
		if (!tree && !l->sel && !l->wire) {
			*kv = it;
			l->next++;
			return 1;
		}
		if (l->raw_eq_len && !memmem(it->value, it->value_len, l->raw_eq, l->raw_eq_len))
			continue;
		o = api_load_object(d, it->value, it->value_len, it->mod_rev);
		if (!o || !api_selector_match(l->sel, o))
			continue;
		if (l->wire)
			l->wire->from_storage(l->wire, d, o);
		*kv = it;
		*obj = o;
		l->next++;
		return 1;
	}
	return 0;
}

size_t reg_list_remaining(const struct reg_list *l)
{
	return l->l.count - l->next;
}

void reg_list_free(struct reg_list *l)
{
	if (l)
		store_list_free(&l->l);
}
