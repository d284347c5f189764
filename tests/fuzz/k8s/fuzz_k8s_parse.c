/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_k8s_parse: any bytes through k8s_parse_stream (each field validation level, chosen by
 * the input's length) and every object it yields through both canonical JSON forms, the
 * getters and k8s_errors_format; then through k8s_obj_parse. Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

static int consume(struct k8s_obj *o, void *ud)
{
	const char *s;
	int64_t i;
	bool b;
	char *j;

	(void)ud;
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

	k8s_parse_stream((const char *)data, size, &opts, consume, NULL, &e);
	k8s_errors_format(&e, "fuzz", NULL, line, sizeof(line));
	k8s_errors_free(&e);
	o = k8s_obj_parse((const char *)data, size, &opts, &e);
	if (o)
		consume(o, NULL);
	k8s_errors_free(&e);
	return 0;
}
