/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_patch: the patch engines. Byte 0 picks the engine (merge, JSON patch, strategic
 * merge, server-side apply, field-set algebra), byte 1 the kind whose schema drives it; the
 * rest is two JSON documents separated by a NUL byte: the object and the patch (for apply:
 * the live object and the configuration).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_apply.h"
#include "api_managed.h"
#include "api_patch.h"
#include "api_resources.h"
#include "k8s.h"
#include "k8s_jv.h"

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
	struct k8s_buf conflicts = {0};
	char msg[256];

	if (size < 3)
		return 0;
	sep = memchr(data + 2, 0, size - 2);
	if (!sep)
		return 0;
	res = &api_resources[data[1] % api_nresources];
	d = jv_doc_new();
	obj = jv_parse(d, (const char *)data + 2, (size_t)(sep - data - 2), NULL);
	patch = jv_parse(d, (const char *)sep + 1, size - (size_t)(sep + 1 - data), NULL);
	if (!obj || !patch)
		goto out;
	switch (data[0] % 5) {
	case 0:
		out = api_merge_patch(d, obj, patch);
		break;
	case 1:
		if (patch->type == JV_ARRAY)
			out = api_json_patch(d, obj, patch, msg, sizeof(msg));
		break;
	case 2:
		if (patch->type == JV_OBJECT)
			out = api_strategic_patch(d, obj, patch, res->kind->type, msg, sizeof(msg));
		break;
	case 3:
		if (obj->type == JV_OBJECT && patch->type == JV_OBJECT) {
			struct api_apply_in in = {.d = d,
						  .kind = res->kind,
						  .has_status = res->flags & API_RES_STATUS,
						  .manager = "fuzz",
						  .force = data[0] & 8};

			api_apply_compute(&in, data[0] & 16 ? NULL : obj, patch, &out, &conflicts);
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
	k8s_buf_free(&conflicts);
	jv_doc_free(d);
	return 0;
}
