/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_check: the part of cel-go's type checker that a CRD rule meets most — field selections
 * on self and oldSelf resolved against the structural schema (apiserver/pkg/cel/common
 * SchemaDeclType): an object with properties has those fields only (at the resource root,
 * apiVersion, kind and metadata with name and generateName: WithTypeAndObjectMeta), a map
 * (additionalProperties) any key, and what the schema leaves open (no type,
 * x-kubernetes-preserve-unknown-fields without properties, int-or-string) is dyn. Loop
 * variables of the macros take the list's items' schema (a map's keys are strings).
 * "undefined field 'x'" as cel-go words it; everything else stays for evaluation.
 */
#include <stdio.h>
#include <string.h>

#include "cel_int.h"
#include "k8s_jv.h"

/* a type as far as this checker knows it */
struct ct {
	const struct jv *s; /* the schema, NULL: dyn (anything goes) */
	bool root;	    /* the resource root: apiVersion, kind, metadata too */
	bool meta;	    /* the root's metadata: name, generateName */
	bool str;	    /* a string (a map's key) */
};

struct checker {
	const char *src;
	char *err;
	size_t errlen;
	bool failed;
};

struct cscope {
	const char *name;
	size_t nlen;
	struct ct t;
	const struct cscope *up;
};

static const struct ct dyn = {0};

static void undefined(struct checker *k, const struct cel_node *n)
{
	char msg[300];

	if (k->failed)
		return;
	k->failed = true;
	snprintf(msg, sizeof(msg), "undefined field '%.*s'", (int)n->nlen, n->name);
	cel_error_display(k->src, strlen(k->src), n->pos, msg, k->err, k->errlen);
}

static bool open_schema(const struct jv *s)
{
	const struct jv *t = jv_get(s, "type");

	if (!t || jv_get(s, "x-kubernetes-int-or-string"))
		return true;
	if (jv_is_str(t, "object") && !jv_get(s, "properties") &&
	    !jv_get(s, "additionalProperties"))
		return true; /* preserve-unknown-fields, or an empty object */
	return false;
}

/* the field name of t, or false (undefined) */
static bool field(const struct ct *t, const char *name, size_t nlen, struct ct *out)
{
	static const char *const meta[] = {"name", "generateName"};
	const struct jv *addl, *p;
	char buf[256];

	*out = dyn;
	if (t->meta) {
		for (size_t i = 0; i < 2; i++)
			if (strlen(meta[i]) == nlen && !memcmp(meta[i], name, nlen)) {
				out->str = true;
				return true;
			}
		return false;
	}
	if (!t->s || open_schema(t->s) || !jv_is_str(jv_get(t->s, "type"), "object"))
		return true;
	if (t->root && ((nlen == 10 && !memcmp(name, "apiVersion", 10)) ||
			(nlen == 4 && !memcmp(name, "kind", 4)))) {
		out->str = true;
		return true;
	}
	if (t->root && nlen == 8 && !memcmp(name, "metadata", 8)) {
		out->meta = true;
		return true;
	}
	addl = jv_get(t->s, "additionalProperties");
	if (addl && addl->type == JV_OBJECT) {
		out->s = addl;
		return true;
	}
	if (addl && addl->type == JV_TRUE)
		return true;
	p = jv_getn(jv_get(t->s, "properties"), name, nlen);
	if (!p && nlen < sizeof(buf) && memmem(name, nlen, "__", 2)) {
		/* Kubernetes' escaped names (__dash__ and the others) */
		p = jv_getn(jv_get(t->s, "properties"), buf,
			    cel_unescape_name(name, nlen, buf, sizeof(buf)));
	}
	if (!p)
		return false;
	out->s = p;
	return true;
}

static struct ct check(struct checker *k, const struct cel_node *n, const struct cscope *sc,
		       const struct ct *self);

static struct ct elem(const struct ct *t)
{
	struct ct e = dyn;

	if (!t->s)
		return e;
	if (jv_is_str(jv_get(t->s, "type"), "array"))
		e.s = jv_get(t->s, "items");
	else if (jv_is_str(jv_get(t->s, "type"), "object"))
		e.str = true;
	return e;
}

static struct ct check(struct checker *k, const struct cel_node *n, const struct cscope *sc,
		       const struct ct *self)
{
	struct ct a, out;

	if (!n || k->failed)
		return dyn;
	switch (n->kind) {
	case N_IDENT:
		for (const struct cscope *s = sc; s; s = s->up)
			if (s->nlen == n->nlen && !memcmp(s->name, n->name, n->nlen))
				return s->t;
		if ((n->nlen == 4 && !memcmp(n->name, "self", 4)) ||
		    (n->nlen == 7 && !memcmp(n->name, "oldSelf", 7)))
			return *self;
		return dyn;
	case N_SELECT:
	case N_HAS:
		a = check(k, n->a, sc, self);
		if (a.str)
			return dyn; /* no field of a string: the evaluation's error */
		if (!field(&a, n->name, n->nlen, &out))
			undefined(k, n);
		return n->kind == N_HAS ? dyn : out;
	case N_INDEX:
		a = check(k, n->a, sc, self);
		check(k, n->b, sc, self);
		if (a.s && jv_is_str(jv_get(a.s, "type"), "array"))
			return elem(&a);
		if (a.s) {
			const struct jv *addl = jv_get(a.s, "additionalProperties");

			out = dyn;
			out.s = addl && addl->type == JV_OBJECT ? addl : NULL;
			return out;
		}
		return dyn;
	case N_MACRO: {
		struct cscope inner;

		a = check(k, n->a, sc, self);
		inner.name = n->args[0]->name;
		inner.nlen = n->args[0]->nlen;
		inner.t = elem(&a);
		inner.up = sc;
		for (size_t i = 1; i < n->nargs; i++)
			check(k, n->args[i], &inner, self);
		return dyn;
	}
	default:
		check(k, n->a, sc, self);
		check(k, n->b, sc, self);
		check(k, n->c, sc, self);
		for (size_t i = 0; i < n->nargs; i++)
			check(k, n->args[i], sc, self);
		return dyn;
	}
}

int cel_check_schema(const struct cel_program *p, const struct jv *schema, bool root, char *err,
		     size_t errlen)
{
	struct checker k = {.src = p->src, .err = err, .errlen = errlen};
	struct ct self = {.s = schema, .root = root};

	if (!schema)
		return 0;
	check(&k, p->root, NULL, &self);
	return k.failed ? -1 : 0;
}
