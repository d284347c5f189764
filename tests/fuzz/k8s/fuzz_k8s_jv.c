/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_k8s_jv: the JSON tree of the object model (k8s_jv.h) and its schema decode and writer.
 * Byte 0 picks the kind, byte 1 the fieldValidation level (and whether enums and required
 * fields are checked); the rest is JSON. Properties, not only the absence of crashes:
 *   - any parsed tree written compactly parses back to an equal tree (jv_equal);
 *   - an object k8s_jv_decode accepts for the kind is written (k8s_jv_write_schema) to JSON
 *     that parses, is accepted again under the same options, decodes to an equal tree, and
 *     is written again to the same bytes: nothing is accepted that cannot be read back.
 * A violated property aborts with the two sides printed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "k8s_jv.h"

static void fail(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
	fprintf(stderr, "fuzz_k8s_jv: %s\n  first:  %.*s\n  second: %.*s\n", what, (int)alen,
		a ? a : "", (int)blen, b ? b : "");
	abort();
}

/* Compact JSON of any tree parses back to an equal tree. */
static void check_compact(struct jv_doc *d, const struct jv *v)
{
	size_t len;
	char *s = jv_to_json(v, &len);
	struct jv *back;

	if (!s)
		return; /* out of memory */
	back = jv_parse(d, s, len, NULL);
	if (!back)
		fail("jv_write's output does not parse", s, len, NULL, 0);
	if (!jv_equal(v, back))
		fail("jv_write's output parses to another tree", s, len, NULL, 0);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum k8s_field_validation levels[] = {K8S_FV_STRICT, K8S_FV_WARN,
							   K8S_FV_IGNORE};
	const struct k8s_kind *kind;
	struct k8s_validate_opts vo = {0};
	struct k8s_errors e = {0};
	struct k8s_buf w1 = {0}, w2 = {0};
	struct jv_doc *d;
	struct jv *v, *v2;

	if (size < 2)
		return 0;
	kind = &k8s_schema_kinds[data[0] % k8s_schema_nkinds];
	vo.validation = levels[data[1] % 3];
	vo.checks = data[1] & 4 ? 0 : K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED;
	d = jv_doc_new();
	if (!d)
		return 0;
	v = jv_parse(d, (const char *)data + 2, size - 2, NULL);
	if (!v)
		goto out;
	check_compact(d, v);
	if (v->type != JV_OBJECT || k8s_jv_decode(v, kind->type, &vo, &e) != 0)
		goto out;
	check_compact(d, v);

	/* accepted: written, read back, accepted again, equal, written the same */
	k8s_jv_write_schema(&w1, v, kind->type);
	if (w1.oom)
		goto out;
	v2 = jv_parse(d, w1.p, w1.len, NULL);
	if (!v2)
		fail("an accepted object is written as JSON that does not parse", w1.p, w1.len,
		     NULL, 0);
	k8s_errors_free(&e);
	if (k8s_jv_decode(v2, kind->type, &vo, &e) != 0) {
		char line[512];

		k8s_errors_format(&e, kind->kind, NULL, line, sizeof(line));
		fail("an accepted object, written and read back, is refused", w1.p, w1.len, line,
		     strlen(line));
	}
	if (!jv_equal(v, v2)) {
		char *s = jv_to_json(v2, NULL);

		fail("an accepted object, written and read back, is another object", w1.p, w1.len,
		     s, s ? strlen(s) : 0);
	}
	k8s_jv_write_schema(&w2, v2, kind->type);
	if (!w2.oom && (w1.len != w2.len || memcmp(w1.p, w2.p, w1.len) != 0))
		fail("writing an accepted object twice gives different bytes", w1.p, w1.len, w2.p,
		     w2.len);
out:
	k8s_buf_free(&w1);
	k8s_buf_free(&w2);
	k8s_errors_free(&e);
	jv_doc_free(d);
	return 0;
}
