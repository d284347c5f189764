/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_patch: the patch engines, called through api_patch.h and api_apply.h. Byte 0
 * picks the engine (merge, JSON patch, strategic merge, server-side apply, field-set
 * algebra), byte 1 the kind whose schema drives it; the rest is two JSON documents separated
 * by a NUL byte: the object and the patch (for apply: the live object and the configuration).
 * Properties checked, besides the absence of crashes and leaks (a violation aborts with the
 * trees printed):
 *   merge     applying a merge patch twice gives what applying it once gave; the merge
 *             patch derived from the object to the second document (as RFC 7386 generates
 *             one) turns the object into that document (without its null members);
 *   strategic for an object and a patch that both decode as the kind: the patch applies,
 *             the result decodes as the kind, and applying the patch again changes nothing;
 *   apply     a configuration that applies (decoded as the kind, as the server decodes it)
 *             applied again by the same manager to the result changes nothing (managedFields
 *             timestamps aside, which the server also ignores), and the result decodes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_apply.h"
#include "api_managed.h"
#include "api_patch.h"
#include "api_resources.h"
#include "k8s.h"
#include "k8s_jv.h"

static void fail(const char *what, const struct jv *a, const struct jv *b, const struct jv *c)
{
	char *sa = a ? jv_to_json(a, NULL) : NULL, *sb = b ? jv_to_json(b, NULL) : NULL;
	char *sc = c ? jv_to_json(c, NULL) : NULL;

	fprintf(stderr, "fuzz_api_patch: %s\n  object: %s\n  patch:  %s\n  result: %s\n", what,
		sa ? sa : "", sb ? sb : "", sc ? sc : "");
	abort();
}

/* Decode a copy of v as type t, the way the server decodes a body it is lenient with. */
static struct jv *decoded(struct jv_doc *d, const struct jv *v, const struct k8s_type *t)
{
	struct k8s_validate_opts vo = {.validation = K8S_FV_IGNORE,
				       .checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED};
	struct k8s_errors e = {0};
	struct jv *c = v && v->type == JV_OBJECT ? jv_copy(d, v) : NULL;
	int rc = c ? k8s_jv_decode(c, t, &vo, &e) : -EINVAL;

	k8s_errors_free(&e);
	return rc == 0 ? c : NULL;
}

/* ---- merge patch ---- */

/* What a merge patch can make of b: null members of objects dropped (recursively through
 * objects; arrays and scalars are taken whole). */
static struct jv *without_nulls(struct jv_doc *d, const struct jv *b)
{
	struct jv *o;

	if (b->type != JV_OBJECT)
		return jv_copy(d, b);
	o = jv_new(d, JV_OBJECT);
	for (const struct jv *m = b->head; o && m; m = m->next) {
		const struct jv *v = jv_getn(b, m->key, m->klen); /* the last duplicate */

		if (v != m || v->type == JV_NULL)
			continue;
		jv_setn(d, o, m->key, m->klen, without_nulls(d, v));
	}
	return o;
}

/* The merge patch from a to b, as RFC 7386 section 3 generates it. */
static struct jv *merge_diff(struct jv_doc *d, const struct jv *a, const struct jv *b)
{
	struct jv *p;

	if (a->type != JV_OBJECT || b->type != JV_OBJECT)
		return without_nulls(d, b);
	p = jv_new(d, JV_OBJECT);
	for (const struct jv *m = a->head; p && m; m = m->next) {
		const struct jv *bv = jv_getn(b, m->key, m->klen);

		if (!bv || bv->type == JV_NULL)
			jv_setn(d, p, m->key, m->klen, jv_new(d, JV_NULL));
	}
	for (const struct jv *m = b->head; p && m; m = m->next) {
		const struct jv *bv = jv_getn(b, m->key, m->klen);
		const struct jv *av = jv_getn(a, m->key, m->klen);

		if (bv != m || bv->type == JV_NULL || (av && jv_equal(av, bv)))
			continue;
		jv_setn(d, p, m->key, m->klen,
			av && av->type == JV_OBJECT && bv->type == JV_OBJECT
			    ? merge_diff(d, av, bv)
			    : without_nulls(d, bv));
	}
	return p;
}

static void check_merge(struct jv_doc *d, const struct jv *obj, const struct jv *patch)
{
	struct jv *once = api_merge_patch(d, obj, patch), *twice, *diff, *to, *want;

	if (!once)
		return; /* out of memory */
	twice = api_merge_patch(d, once, patch);
	if (twice && !jv_equal(once, twice))
		fail("a merge patch applied twice differs from once", obj, patch, twice);
	/* the second document as a target */
	diff = merge_diff(d, obj, patch);
	to = diff ? api_merge_patch(d, obj, diff) : NULL;
	want = without_nulls(d, patch);
	if (to && want && !jv_equal(to, want))
		fail("the merge patch derived from object to target does not give the target", obj,
		     diff, to);
}

/* ---- strategic merge patch ---- */

static void check_strategic(struct jv_doc *d, const struct jv *obj, const struct jv *patch,
			    const struct k8s_type *t)
{
	struct jv *o = decoded(d, obj, t), *p = decoded(d, patch, t), *out, *again;
	char msg[256];

	if (!o || !p)
		return;
	msg[0] = '\0';
	out = api_strategic_patch(d, o, p, t, msg, sizeof(msg));
	if (!out)
		return; /* refused with a reason (a list item without its merge key), or no memory */
	if (!decoded(d, out, t))
		fail("a strategic merge of two valid objects is not a valid object", o, p, out);
	again = api_strategic_patch(d, out, p, t, msg, sizeof(msg));
	if (!again)
		fail("a strategic merge patch that applied once does not apply again", out, p,
		     NULL);
	if (!jv_equal(out, again))
		fail("a strategic merge patch applied twice differs from once", o, p, again);
}

/* ---- server-side apply ---- */

/* The object with its managedFields timestamps removed. */
static struct jv *untimed(struct jv_doc *d, const struct jv *v)
{
	struct jv *c = jv_copy(d, v);

	for (struct jv *e = jv_first(jv_path(c, "metadata.managedFields")); e; e = e->next)
		jv_del(e, "time");
	return c;
}

static void check_apply(struct jv_doc *d, const struct api_resource *res, const struct jv *obj,
			const struct jv *patch, uint8_t flags)
{
	const struct k8s_type *t = res->kind->type;
	struct api_apply_in in = {.d = d,
				  .kind = res->kind,
				  .has_status = res->flags & API_RES_STATUS,
				  .manager = "fuzz",
				  .force = flags & 8};
	struct jv *live = flags & 16 ? NULL : decoded(d, obj, t);
	struct jv *cfg = decoded(d, patch, t), *cfg2, *once = NULL, *twice = NULL;
	struct k8s_buf conflicts = {0};
	int rc;

	if (!cfg || (!(flags & 16) && !live))
		return;
	cfg2 = jv_copy(d, cfg);
	rc = api_apply_compute(&in, live, cfg, &once, &conflicts);
	k8s_buf_free(&conflicts);
	if (rc || !cfg2)
		return; /* a conflict, or out of memory */
	if (!decoded(d, once, t))
		fail("an applied configuration gives an invalid object", live, cfg2, once);
	in.force = false;
	rc = api_apply_compute(&in, once, cfg2, &twice, &conflicts);
	k8s_buf_free(&conflicts);
	if (rc == -ENOMEM)
		return;
	if (rc)
		fail("the same configuration applied again by the same manager conflicts", once,
		     cfg2, NULL);
	if (!jv_equal(untimed(d, once), untimed(d, twice)))
		fail("the same configuration applied again by the same manager changes the "
		     "object",
		     once, cfg2, twice);
}

/* ---- field sets ---- */

static void fieldsets(struct jv_doc *d, const struct jv *a, const struct jv *b,
		      const struct k8s_type *t)
{
	struct fset *x = fset_new(), *y = fset_new(), *z = fset_new(), *w = fset_new();

	if (x && y && z && w) {
		fset_of_object(x, a, t);
		fset_diff(y, a, b, t);
		fset_intersect(z, x, y);
		fset_union(x, y);
		fset_remove(x, z);
		fset_from_fieldsv1(w, fset_to_fieldsv1(d, x));
		fset_delete_from(jv_copy(d, b), w, t);
		api_managed_scope(w, NULL, true);
	}
	fset_free(x);
	fset_free(y);
	fset_free(z);
	fset_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep;
	const struct api_resource *res;
	struct jv_doc *d;
	struct jv *obj, *patch, *out = NULL;
	char msg[256];

	if (size < 3)
		return 0;
	sep = memchr(data + 2, 0, size - 2);
	if (!sep)
		return 0;
	res = &api_resources[data[1] % api_nresources];
	d = jv_doc_new();
	if (!d)
		return 0;
	obj = jv_parse(d, (const char *)data + 2, (size_t)(sep - data - 2), NULL);
	patch = jv_parse(d, (const char *)sep + 1, size - (size_t)(sep + 1 - data), NULL);
	if (!obj || !patch)
		goto out;
	switch (data[0] % 5) {
	case 0:
		check_merge(d, obj, patch);
		out = api_merge_patch(d, obj, patch);
		break;
	case 1:
		if (patch->type == JV_ARRAY)
			out = api_json_patch(d, obj, patch, msg, sizeof(msg));
		break;
	case 2:
		if (patch->type == JV_OBJECT)
			out = api_strategic_patch(d, obj, patch, res->kind->type, msg, sizeof(msg));
		check_strategic(d, obj, patch, res->kind->type);
		break;
	case 3:
		if (obj->type == JV_OBJECT && patch->type == JV_OBJECT) {
			struct api_apply_in in = {.d = d,
						  .kind = res->kind,
						  .has_status = res->flags & API_RES_STATUS,
						  .manager = "fuzz",
						  .force = data[0] & 8};
			struct k8s_buf conflicts = {0};

			/* on the raw trees (the engine must not crash on anything) ... */
			api_apply_compute(&in, data[0] & 16 ? NULL : obj, jv_copy(d, patch), &out,
					  &conflicts);
			k8s_buf_free(&conflicts);
			/* ... and the properties on decoded ones */
			check_apply(d, res, obj, patch, data[0]);
		}
		break;
	default:
		if (obj->type == JV_OBJECT && patch->type == JV_OBJECT)
			fieldsets(d, obj, patch, res->kind->type);
		break;
	}
	if (out) {
		struct k8s_buf b = {0};

		k8s_jv_write_schema(&b, out, res->kind->type);
		k8s_buf_free(&b);
	}
out:
	jv_doc_free(d);
	return 0;
}
