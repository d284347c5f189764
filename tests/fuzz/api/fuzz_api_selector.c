/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_selector: label and field selectors, through api_selector.h. Byte 0 picks the
 * resource (its field selector fields); the rest is "labelSelector\nfieldSelector"; what
 * parses is matched against two objects. A trailing "\n{json}" is also read as a
 * LabelSelector object and printed and matched.
 * Property (a violation aborts): a valid LabelSelector object (decoded as
 * meta/v1 LabelSelector; keys, values and operators as Kubernetes validates them) prints
 * (api_label_selector_string, FormatLabelSelector's text) as a selector that parses, and the
 * parsed selector selects exactly the label sets the object selects. The label sets tried
 * are made of the selector's own keys and values, absent or present, chosen by the input.
 * api_selector.h has no printer for a parsed text selector, so the text → selector → text
 * round trip is checked through the object's printed form.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_resources.h"
#include "api_selector.h"
#include "k8s_jv.h"

#define MAX_KEYS 16

static bool valid_value(const struct jv *v)
{
	return v && v->type == JV_STRING && !api_label_value_error(v->s, v->len) &&
	       strlen(v->s) == v->len;
}

static bool valid_key(const char *k, size_t len)
{
	return k && !api_label_key_error(k, len) && strlen(k) == len;
}

/* A LabelSelector Kubernetes' validation (ValidateLabelSelector) accepts. */
static bool valid_selector(const struct jv *ls)
{
	const struct jv *ml = jv_get(ls, "matchLabels"), *me = jv_get(ls, "matchExpressions");

	for (const struct jv *m = jv_first(ml); m; m = m->next)
		if (!valid_key(m->key, m->klen) || !valid_value(m))
			return false;
	for (const struct jv *e = jv_first(me); e; e = e->next) {
		const struct jv *key = jv_get(e, "key"), *vals = jv_get(e, "values");
		const char *op = jv_path_str(e, "operator");
		bool set = op && (!strcmp(op, "In") || !strcmp(op, "NotIn"));

		if (!key || key->type != JV_STRING || !valid_key(key->s, key->len) || !op)
			return false;
		if (!set && strcmp(op, "Exists") && strcmp(op, "DoesNotExist"))
			return false;
		if (set != (jv_count(vals) > 0))
			return false; /* In/NotIn need values, Exists/DoesNotExist take none */
		for (const struct jv *v = jv_first(vals); v; v = v->next)
			if (!valid_value(v))
				return false;
	}
	return true;
}

struct keyset {
	const struct jv *key[MAX_KEYS];
	const struct jv *vals[MAX_KEYS][4]; /* values the selector names for the key */
	size_t nvals[MAX_KEYS];
	size_t n;
};

static void note(struct keyset *ks, const char *key, size_t klen, const struct jv *keynode,
		 const struct jv *val)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (ks->key[i]->len == klen && !memcmp(ks->key[i]->s, key, klen))
			break;
	if (i == ks->n) {
		if (ks->n == MAX_KEYS)
			return;
		ks->key[ks->n++] = keynode;
	}
	if (val && ks->nvals[i] < 4)
		ks->vals[i][ks->nvals[i]++] = val;
}

/* The label sets to try: each key absent, with one of the selector's values, or another. */
static void check_object_selector(struct jv_doc *d, struct jv *ls, const struct api_resource *res,
				  const uint8_t *choice, size_t nchoice)
{
	const struct k8s_type *t = &k8s_schema_types[K8S_T_meta_v1_LabelSelector];
	struct k8s_validate_opts vo = {.validation = K8S_FV_STRICT};
	struct k8s_errors e = {0};
	struct api_selector *sel = NULL;
	struct keyset ks = {0};
	char text[2048], msg[512];
	int rc;

	rc = ls->type == JV_OBJECT ? k8s_jv_decode(ls, t, &vo, &e) : -EINVAL;
	k8s_errors_free(&e);
	if (rc || !valid_selector(ls))
		return;
	api_label_selector_string(ls, text, sizeof(text));
	if (!strcmp(text, "<none>") || strlen(text) >= sizeof(text) - 1)
		return; /* empty (selects everything; the text is no selector), or cut */
	if (api_selector_parse(text, NULL, res, &sel, msg, sizeof(msg)) != 0) {
		fprintf(stderr,
			"fuzz_api_selector: a valid LabelSelector prints as \"%s\", which "
			"does not parse: %s\n",
			text, msg);
		abort();
	}
	for (const struct jv *m = jv_first(jv_get(ls, "matchLabels")); m; m = m->next)
		note(&ks, m->key, m->klen, jv_new_str(d, m->key, m->klen), m);
	for (const struct jv *x = jv_first(jv_get(ls, "matchExpressions")); x; x = x->next) {
		const struct jv *key = jv_get(x, "key");

		note(&ks, key->s, key->len, key, NULL);
		for (const struct jv *v = jv_first(jv_get(x, "values")); v; v = v->next)
			note(&ks, key->s, key->len, key, v);
	}
	for (size_t round = 0; round < 16; round++) {
		struct jv *obj = jv_new(d, JV_OBJECT), *md = jv_obj_at(d, obj, "metadata");
		struct jv *labels = jv_obj_at(d, md, "labels");
		bool want, got;

		if (!labels)
			break;
		for (size_t i = 0; i < ks.n; i++) {
			size_t c = nchoice ? choice[(round * ks.n + i) % nchoice] : round + i;
			size_t pick = c % (ks.nvals[i] + 2);
			const struct jv *k = ks.key[i];

			if (pick == 0)
				continue; /* absent */
			jv_setn(d, labels, k->s, k->len,
				pick == 1 ? jv_new_strz(d, "zz-other")
					  : jv_copy(d, ks.vals[i][pick - 2]));
		}
		want = api_label_selector_matches(ls, labels);
		got = api_selector_match(sel, obj);
		if (want != got) {
			char *l = jv_to_json(labels, NULL), *s = jv_to_json(ls, NULL);

			fprintf(stderr,
				"fuzz_api_selector: LabelSelector %s %s labels %s; its text \"%s\" "
				"%s them\n",
				s ? s : "", want ? "selects" : "does not select", l ? l : "", text,
				got ? "selects" : "does not select");
			abort();
		}
	}
	api_selector_free(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pod[] =
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"labels\":{\"app\":\"web\",\"n\":"
	    "\"5\",\"x.io/y\":\"\"}},\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true},"
	    "\"status\":{\"phase\":\"Running\"},\"source\":{\"component\":\"c\"}}";
	char *text, *fields = NULL, *json = NULL, buf[512];
	const struct api_resource *res;
	struct api_selector *sel = NULL;
	struct jv_doc *d;
	struct jv *o, *ls;

	if (size < 1)
		return 0;
	res = &api_resources[data[0] % api_nresources];
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	fields = strchr(text, '\n');
	if (fields) {
		*fields++ = 0;
		json = strchr(fields, '\n');
		if (json)
			*json++ = 0;
	}
	d = jv_doc_new();
	o = d ? jv_parse(d, pod, sizeof(pod) - 1, NULL) : NULL;
	if (o && api_selector_parse(text, fields, res, &sel, buf, sizeof(buf)) == 0) {
		api_selector_match(sel, o);
		api_selector_match(sel, jv_new(d, JV_OBJECT));
		api_selector_name(sel);
		api_selector_free(sel);
	}
	ls = o && json ? jv_parse(d, json, strlen(json), NULL) : NULL;
	if (ls) {
		api_label_selector_string(ls, buf, sizeof(buf));
		api_label_selector_matches(ls, jv_path(o, "metadata.labels"));
		check_object_selector(d, ls, res, data, size);
	}
	jv_doc_free(d);
	free(text);
	return 0;
}
