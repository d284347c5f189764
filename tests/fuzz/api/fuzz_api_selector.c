/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_selector: label and field selectors. Byte 0 picks the resource (its field
 * selector fields); the rest is "labelSelector\nfieldSelector"; what parses is matched
 * against two objects. A trailing "\n{json}" is also read as a LabelSelector object and
 * printed and matched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_resources.h"
#include "api_selector.h"
#include "k8s_jv.h"

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
	o = jv_parse(d, pod, sizeof(pod) - 1, NULL);
	if (api_selector_parse(text, fields, res, &sel, buf, sizeof(buf)) == 0) {
		api_selector_match(sel, o);
		api_selector_match(sel, jv_new(d, JV_OBJECT));
		api_selector_name(sel);
		api_selector_free(sel);
	}
	ls = json ? jv_parse(d, json, strlen(json), NULL) : NULL;
	if (ls) {
		api_label_selector_string(ls, buf, sizeof(buf));
		api_label_selector_matches(ls, jv_path(o, "metadata.labels"));
	}
	jv_doc_free(d);
	free(text);
	return 0;
}
