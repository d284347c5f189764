/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_k8s_parse: any bytes through k8s_parse_stream (each field validation level, chosen by
 * the input's length) and every object it yields through both canonical JSON forms, the
 * getters and k8s_errors_format; then through k8s_obj_parse. Nothing may crash or leak, and
 * what is accepted must read back (a violated property aborts with both sides printed):
 *   - an accepted object has a canonical JSON form; that JSON, parsed again as the object's
 *     type at the same level, is accepted and gives the same JSON byte for byte (but for
 *     a -0 that reads back as 0, as Kubernetes' own YAML-to-JSON and JSON decoding do);
 *   - the JSON tree's decoder (k8s_jv_decode) accepts that JSON too, and the tree it decodes
 *     equals the one decoded from the schema-ordered form (the two writers agree).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "k8s_jv.h"

static void fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_k8s_parse: %s\n  first:  %s\n  second: %s\n", what, a ? a : "",
		b ? b : "");
	abort();
}

/* The tree decoder accepts v, read from json, as type t (what the object model accepted). */
static void jv_accepts(struct jv *v, const struct k8s_type *t, const struct k8s_validate_opts *vo,
		       const char *what, const char *json)
{
	struct k8s_errors e = {0};
	char line[512];

	if (k8s_jv_decode(v, t, vo, &e) != 0) {
		k8s_errors_format(&e, "jv", NULL, line, sizeof(line));
		fail(what, json, line);
	}
	k8s_errors_free(&e);
}

/* a and b are the same JSON but for -0 read as 0: YAML's -.0 converts to JSON -0 (Go's
 * float64 -0), and a JSON -0 read back is apimachinery's int64 0. */
static bool same_but_neg_zero(const struct jv *a, const struct jv *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == JV_NUMBER)
		return strcmp(a->s, b->s) == 0 ||
		       (strcmp(a->s, "-0") == 0 && strcmp(b->s, "0") == 0);
	if (a->type == JV_ARRAY || a->type == JV_OBJECT) {
		const struct jv *x = a->head, *y = b->head;

		for (; x && y; x = x->next, y = y->next)
			if ((a->type == JV_OBJECT &&
			     (x->klen != y->klen || memcmp(x->key, y->key, x->klen) != 0)) ||
			    !same_but_neg_zero(x, y))
				return false;
		return !x && !y;
	}
	return jv_equal(a, b);
}

/* j1 and j2 differ: acceptable only as the -0 normalisation, after which the JSON is fixed. */
static void check_normalised(const struct k8s_type *t, enum k8s_field_validation level,
			     const char *j1, const char *j2)
{
	struct k8s_parse_opts po = {.validation = level, .type = t};
	struct jv_doc *d = jv_doc_new();
	struct k8s_errors e = {0};
	struct k8s_obj *o3;
	const struct jv *a, *b;
	char *j3;

	if (!d)
		return;
	a = jv_parse(d, j1, strlen(j1), NULL);
	b = jv_parse(d, j2, strlen(j2), NULL);
	if (!a || !b || !same_but_neg_zero(a, b))
		fail("an accepted object's JSON, read and written again, changes", j1, j2);
	jv_doc_free(d);
	o3 = k8s_obj_parse(j2, strlen(j2), &po, &e);
	k8s_errors_free(&e);
	j3 = o3 ? k8s_obj_to_json(o3) : NULL;
	if (j3 && strcmp(j2, j3) != 0)
		fail("an accepted object's JSON, read and written twice, changes", j2, j3);
	free(j3);
	k8s_obj_free(o3);
}

/* The object's JSON read back by both decoders. */
static void check_round_trip(struct k8s_obj *o, enum k8s_field_validation level)
{
	const struct k8s_type *t = k8s_obj_type(o);
	struct k8s_parse_opts po = {.validation = level, .type = t};
	struct k8s_validate_opts vo = {.validation = level};
	struct k8s_errors e = {0};
	char *j1, *j2 = NULL, *s1 = NULL, line[512];
	struct k8s_obj *o2 = NULL;
	struct jv_doc *d = NULL;
	struct jv *v, *sv;

	errno = 0;
	j1 = k8s_obj_to_json(o);
	if (!j1) {
		if (errno == ENOMEM)
			return;
		fail("an accepted object has no JSON form", k8s_obj_name(o), NULL);
	}
	o2 = k8s_obj_parse(j1, strlen(j1), &po, &e);
	if (!o2) {
		if (errno == ENOMEM)
			goto out;
		k8s_errors_format(&e, "json", NULL, line, sizeof(line));
		fail("the JSON of an accepted object is refused", j1, line);
	}
	j2 = k8s_obj_to_json(o2);
	if (j2 && strcmp(j1, j2) != 0)
		check_normalised(t, level, j1, j2);

	d = jv_doc_new();
	s1 = k8s_obj_to_json_ex(o, K8S_JSON_SCHEMA_ORDER);
	if (!d || !s1)
		goto out;
	v = jv_parse(d, j1, strlen(j1), NULL);
	if (!v)
		fail("the JSON of an accepted object does not parse as a tree", j1, NULL);
	jv_accepts(v, t, &vo, "the tree decoder refuses what the object model accepted", j1);
	sv = jv_parse(d, s1, strlen(s1), NULL);
	if (!sv)
		fail("the schema-ordered JSON does not parse as a tree", s1, NULL);
	jv_accepts(sv, t, &vo, "the tree decoder refuses the schema-ordered JSON", s1);
	if (!jv_equal(v, sv))
		fail("the canonical and the schema-ordered JSON decode to different trees", j1, s1);
out:
	k8s_errors_free(&e);
	k8s_obj_free(o2);
	jv_doc_free(d);
	free(j1);
	free(j2);
	free(s1);
}

static int consume(struct k8s_obj *o, void *ud)
{
	const enum k8s_field_validation *level = ud;
	const char *s;
	int64_t i;
	bool b;
	char *j;

	check_round_trip(o, *level);
	free(k8s_obj_to_json(o));
	j = k8s_obj_to_json_ex(o, K8S_JSON_SCHEMA_ORDER);
	free(j);
	k8s_get_str(k8s_obj_root(o), "metadata.name", &s);
	k8s_get_int(k8s_obj_root(o), "spec.ports[0].port", &i);
	k8s_get_bool(k8s_obj_root(o), "/spec/ports/0/x~1y", &b);
	k8s_obj_name(o);
	k8s_obj_namespace(o);
	k8s_obj_free(o);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_parse_opts opts = {.validation = (enum k8s_field_validation)(size % 3)};
	struct k8s_errors e = {0};
	struct k8s_obj *o;
	char line[256];

	k8s_parse_stream((const char *)data, size, &opts, consume, &opts.validation, &e);
	k8s_errors_format(&e, "fuzz", NULL, line, sizeof(line));
	k8s_errors_free(&e);
	o = k8s_obj_parse((const char *)data, size, &opts, &e);
	if (o)
		consume(o, &opts.validation);
	k8s_errors_free(&e);
	return 0;
}
