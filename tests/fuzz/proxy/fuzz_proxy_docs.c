/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the cut the manifests source relies on to decode only the documents of a
 * file that changed (manifest_docs.h). Property: when every piece mdoc_split cuts the input
 * into parses (k8s_parse_stream, strict, with a parser kept between parses as the source
 * parses), the whole input parses too
 * and yields the same objects in the same order (their canonical JSON compared). The pieces
 * cover the input in order, each hash that of its bytes. A violation aborts with what
 * differs. (A piece that fails makes the source parse the whole file: nothing to check.)
 */
#include "k8s.h"
#include "manifest_docs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OBJS 256

struct objs {
	char *json[MAX_OBJS];
	size_t n;
	bool overflow;
};

static int take(struct k8s_obj *o, void *ud)
{
	struct objs *v = ud;

	if (v->n == MAX_OBJS) {
		v->overflow = true;
	} else {
		v->json[v->n] = k8s_obj_to_json(o);
		if (!v->json[v->n]) /* no JSON form: a placeholder, compared as such */
			v->json[v->n] = strdup("(none)");
		v->n++;
	}
	k8s_obj_free(o);
	return 0;
}

/* The pieces are parsed as the source parses them, with a parser kept from one parse to the
 * next (across inputs too); the whole input with a fresh one. */
static int parse(const char *text, size_t len, struct objs *v, struct k8s_parse_cache *pc)
{
	struct k8s_parse_opts po = {
	    .validation = K8S_FV_STRICT, .max_bytes = MDOC_MAX_FILE, .cache = pc};
	struct k8s_errors errs = {0};
	int rc = k8s_parse_stream(text, len, &po, take, v, &errs);

	k8s_errors_free(&errs);
	return rc;
}

static void objs_free(struct objs *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->json[i]);
	v->n = 0;
}

static void bad(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_proxy_docs: %s (object %zu)\n", what, i);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct k8s_parse_cache *cache;
	const char *buf = (const char *)data;
	struct objs pieces = {0}, whole = {0};
	struct mdoc *docs;
	size_t n, at = 0;
	int rc = 0;

	if (!cache)
		cache = k8s_parse_cache_new(); /* kept for the process's life */
	if (mdoc_split(buf, size, &docs, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (docs[i].off != at || docs[i].hash != mdoc_hash(buf + at, docs[i].len))
			bad("pieces do not cover the input in order", i);
		at += docs[i].len;
		if (!rc)
			rc = parse(buf + docs[i].off, docs[i].len, &pieces, cache);
	}
	if (at != size)
		bad("pieces do not reach the input's end", n);
	if (!rc && !pieces.overflow) {
		if (parse(buf, size, &whole, NULL))
			bad("every piece parses, the whole input does not", 0);
		if (whole.n != pieces.n)
			bad("the pieces and the whole give different numbers of objects", whole.n);
		for (size_t i = 0; i < whole.n; i++) {
			if (strcmp(whole.json[i], pieces.json[i]))
				bad("an object differs between the pieces and the whole", i);
		}
	}
	objs_free(&pieces);
	objs_free(&whole);
	free(docs);
	return 0;
}
