/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cel_eval: the CEL parser and evaluator (cel.h). The input is an expression, optionally
 * followed by "\n\n" and a JSON value bound to self. Hostile input must neither crash nor
 * hang: the evaluation runs under a small cost limit; the schema checker walks the JSON as a
 * schema.
 * Properties (a violation aborts): an evaluation is deterministic (twice, the same printed
 * result and cost), never passes the cost limit by more than one step's charge, and a value
 * printed by cel_eval_print is a CEL literal that compiles and evaluates to a value printed
 * the same way (round trip), for the values whose print is a literal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "k8s_jv.h"

#define LIMIT 20000

static const char *const vars[] = {"self", "oldSelf"};

static void roundtrip(const char *text)
{
	struct cel_program *p;
	struct cel_result r;
	char err[512];

	if (strstr(text, "Inf") || strstr(text, "NaN") || strstr(text, "google.") ||
	    strstr(text, "optional") || strlen(text) > 4096)
		return;
	p = cel_compile(text, vars, 2, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "fuzz_cel_eval: the printed value %s does not compile: %s\n", text,
			err);
		abort();
	}
	if (cel_eval_print(p, NULL, 0, 0, &r) == 0) {
		if (r.type == CEL_R_ERROR || strcmp(r.text, text)) {
			fprintf(stderr, "fuzz_cel_eval: the printed value %s evaluates to %s\n",
				text, r.text);
			abort();
		}
		cel_result_free(&r);
	}
	cel_program_free(p);
}

/* Duplicate keys collapsed, the last kept, as the API server's decoders hand objects over
 * (cel.h: the evaluator reads a map's members as they are). */
static void collapse(struct jv *v, int depth)
{
	if (!v || depth > 200 || (v->type != JV_OBJECT && v->type != JV_ARRAY))
		return;
	for (struct jv *m = v->head, *prev = NULL, *next; m; m = next) {
		bool later = false;

		next = m->next;
		for (const struct jv *x = m->next; x && v->type == JV_OBJECT && !later; x = x->next)
			later = x->klen == m->klen && !memcmp(x->key, m->key, m->klen);
		if (later) {
			jv_unlink(v, prev, m);
			continue;
		}
		collapse(m, depth + 1);
		prev = m;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1), *json, err[512];
	struct jv_doc *d = NULL;
	struct cel_binding b[2] = {{.name = "self"}, {.name = "oldSelf", .optional = true}};
	struct cel_program *p;
	struct cel_result r1, r2;

	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = 0;
	json = strstr(src, "\n\n");
	if (json) {
		*json = 0;
		json += 2;
		d = jv_doc_new();
		b[0].value = d ? jv_parse(d, json, strlen(json), NULL) : NULL;
		collapse((struct jv *)b[0].value, 0);
		b[1].value = b[0].value;
	}
	p = cel_compile(src, vars, 2, err, sizeof(err));
	/* the JSON doubles as a schema for the checker: any tree must be safe to walk */
	if (p)
		cel_check_schema(p, b[0].value, true, err, sizeof(err));
	if (p && cel_eval_print(p, b, 2, LIMIT, &r1) == 0) {
		if (cel_eval_print(p, b, 2, LIMIT, &r2) == 0) {
			if (r1.cost != r2.cost || strcmp(r1.text, r2.text)) {
				fprintf(stderr, "fuzz_cel_eval: %s evaluates to %s, then %s\n", src,
					r1.text, r2.text);
				abort();
			}
			cel_result_free(&r2);
		}
		if (r1.cost > LIMIT + 100000) {
			fprintf(stderr, "fuzz_cel_eval: %s cost %lld past the limit %d\n", src,
				(long long)r1.cost, LIMIT);
			abort();
		}
		if (r1.type != CEL_R_ERROR)
			roundtrip(r1.text);
		cel_result_free(&r1);
	}
	cel_program_free(p);
	jv_doc_free(d);
	free(src);
	return 0;
}
