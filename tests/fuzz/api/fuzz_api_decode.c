/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_decode: a request body as the API server decodes it. Byte 0 picks the format
 * (JSON through k8s_jv, YAML through libfyaml, a protobuf envelope), byte 1 the served kind
 * and byte 2 the fieldValidation level; what decodes is written back in schema order and
 * printed as a Table row (every printer cell runs on it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_codec.h"
#include "api_pb.h"
#include "api_resources.h"
#include "api_table.h"
#include "k8s.h"
#include "k8s_jv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum k8s_field_validation levels[] = {K8S_FV_STRICT, K8S_FV_WARN,
							   K8S_FV_IGNORE};
	const struct api_resource *res;
	struct k8s_validate_opts vo = {0};
	struct k8s_errors e = {0};
	struct k8s_buf b = {0};
	struct jv_doc *d;
	struct jv *o = NULL;
	char msg[256];

	if (size < 3)
		return 0;
	res = &api_resources[data[1] % api_nresources];
	vo.validation = levels[data[2] % 3];
	vo.checks = data[2] & 4 ? 0 : K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED;
	d = jv_doc_new();
	switch (data[0] % 3) {
	case 0:
		o = jv_parse(d, (const char *)data + 3, size - 3, NULL);
		break;
	case 1: {
		/* as the server does: libfyaml in a child process, since it hangs or crashes on
		 * some inputs (tabs after explicit keys, directives); the fork is slow, so inputs
		 * without those characters are parsed in process, where coverage is seen */
		struct k8s_parse_opts po = {.validation = vo.validation, .type = res->kind->type};
		char *json = NULL;
		size_t len = 0;

		if (memchr(data + 3, '\t', size - 3) || memchr(data + 3, '%', size - 3) ||
		    memchr(data + 3, '?', size - 3)) {
			if (api_yaml_parse((const char *)data + 3, size - 3, &po, &e, &json,
					   &len) == 0)
				o = jv_parse(d, json, len, NULL);
			free(json);
		} else {
			struct k8s_obj *obj =
			    k8s_obj_parse((const char *)data + 3, size - 3, &po, &e);

			if (obj)
				o = k8s_jv_from_node(d, k8s_obj_root(obj));
			k8s_obj_free(obj);
		}
		break;
	}
	default:
		o = api_pb_decode(d, data + 3, size - 3, NULL, msg, sizeof(msg));
		break;
	}
	if (o && o->type == JV_OBJECT && k8s_jv_decode(o, res->kind->type, &vo, &e) == 0) {
		k8s_jv_write_schema(&b, o, res->kind->type);
		api_table_begin(&b, res, 1, "cont", true);
		api_table_row(&b, res, o, API_INCLUDE_METADATA, true);
		api_table_end(&b);
	}
	k8s_buf_free(&b);
	k8s_errors_free(&e);
	jv_doc_free(d);
	return 0;
}
