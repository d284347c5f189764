/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodematch: node selectors, required node affinity and tolerations on trees (nodematch.h).
 */
#include <stdlib.h>
#include <string.h>

#include "nodematch.h"

static bool in_values(const struct jv *values, const char *v)
{
	for (const struct jv *x = jv_first(values); v && x; x = x->next)
		if (jv_is_str(x, v))
			return true;
	return false;
}

/* Gt/Lt: both sides integers (a value that is not one matches nothing). */
static bool compare(const struct jv *values, const char *v, bool gt)
{
	char *end;
	long long have, want;

	if (!v || jv_count(values) != 1 || !jv_first(values)->s)
		return false;
	have = strtoll(v, &end, 10);
	if (*end || !*v)
		return false;
	want = strtoll(jv_first(values)->s, &end, 10);
	if (*end)
		return false;
	return gt ? have > want : have < want;
}

static bool requirement(const struct jv *r, const char *value, bool present)
{
	const char *op = jv_path_str(r, "operator");
	const struct jv *values = jv_get(r, "values");

	if (!op)
		return false;
	if (!strcmp(op, "In"))
		return present && in_values(values, value);
	if (!strcmp(op, "NotIn"))
		return !present || !in_values(values, value);
	if (!strcmp(op, "Exists"))
		return present;
	if (!strcmp(op, "DoesNotExist"))
		return !present;
	if (!strcmp(op, "Gt"))
		return present && compare(values, value, true);
	if (!strcmp(op, "Lt"))
		return present && compare(values, value, false);
	return false;
}

bool ctrl_node_term_matches(const struct jv *term, const struct jv *node)
{
	const struct jv *labels = jv_path(node, "metadata.labels");
	const struct jv *exprs = jv_get(term, "matchExpressions");
	const struct jv *fields = jv_get(term, "matchFields");

	if (!jv_count(exprs) && !jv_count(fields))
		return false;
	for (const struct jv *r = jv_first(exprs); r; r = r->next) {
		const char *key = jv_path_str(r, "key");
		const struct jv *v = key ? jv_get(labels, key) : NULL;

		if (!key || !requirement(r, v ? v->s : NULL, v != NULL))
			return false;
	}
	for (const struct jv *r = jv_first(fields); r; r = r->next) {
		const char *name = jv_path_str(node, "metadata.name");

		/* metadata.name is the one field a node selector may name */
		if (!jv_is_str(jv_get(r, "key"), "metadata.name") ||
		    !requirement(r, name, name != NULL))
			return false;
	}
	return true;
}

bool ctrl_node_affinity_fits(const struct jv *podspec, const struct jv *node)
{
	const struct jv *labels = jv_path(node, "metadata.labels");
	const struct jv *req = jv_path(
	    podspec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	bool any = false;

	for (const struct jv *s = jv_first(jv_get(podspec, "nodeSelector")); s; s = s->next) {
		const struct jv *v = jv_getn(labels, s->key, s->klen);

		if (!v || v->type != JV_STRING || !s->s || strcmp(v->s, s->s) != 0)
			return false;
	}
	if (!req)
		return true;
	for (const struct jv *t = jv_first(jv_get(req, "nodeSelectorTerms")); t && !any;
	     t = t->next)
		any = ctrl_node_term_matches(t, node);
	return any;
}

bool ctrl_tolerates(const struct jv *tol, const struct jv *taint)
{
	const char *effect = jv_path_str(tol, "effect");
	const char *key = jv_path_str(tol, "key");
	const char *op = jv_path_str(tol, "operator");
	const char *tval = jv_path_str(tol, "value");
	const char *val = jv_path_str(taint, "value");

	if (effect && effect[0] && !jv_is_str(jv_get(taint, "effect"), effect))
		return false;
	if (key && key[0] && !jv_is_str(jv_get(taint, "key"), key))
		return false;
	if (!op || !op[0] || !strcmp(op, "Equal"))
		return strcmp(tval ? tval : "", val ? val : "") == 0;
	return !strcmp(op, "Exists");
}

bool ctrl_untolerated(const struct jv *taints, const struct jv *tolerations, unsigned effects)
{
	static const char *names[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};

	for (const struct jv *t = jv_first(taints); t; t = t->next) {
		bool wanted = false, ok = false;

		for (unsigned i = 0; i < 3; i++)
			if ((effects & (1u << i)) && jv_is_str(jv_get(t, "effect"), names[i]))
				wanted = true;
		if (!wanted)
			continue;
		for (const struct jv *tol = jv_first(tolerations); tol && !ok; tol = tol->next)
			ok = ctrl_tolerates(tol, t);
		if (!ok)
			return true;
	}
	return false;
}
