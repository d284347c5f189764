/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: manifest bytes -> object model -> the proxy's decoder -> the model's
 * frontend computation, the path every manifest reload takes. Whatever the input, the proxy
 * must answer with an error or a consistent set of frontends, never crash or leak.
 */
#include "decode.h"
#include "k8s.h"
#include "model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	struct proxy_model *m;
	char names[64][2][256];
	int n;
};

static int on_obj(struct k8s_obj *o, void *ud)
{
	struct ctx *c = ud;
	const struct k8s_kind *k = k8s_obj_kind(o);
	char err[512];

	if (k && !strcmp(k->kind, "Service")) {
		struct k8s_service *s;

		if (decode_service(o, &s, err, sizeof(err)) == 0) {
			if (c->n < 64) {
				strncpy(c->names[c->n][0], s->ns, 255);
				strncpy(c->names[c->n][1], s->name, 255);
				c->n++;
			}
			model_set_service(c->m, s);
		}
	} else if (k && !strcmp(k->kind, "EndpointSlice")) {
		struct k8s_slice *s;

		if (decode_slice(o, &s, err, sizeof(err)) == 0)
			model_set_slice(c->m, s);
	}
	k8s_obj_free(o);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT, .origin = "fuzz"};
	struct k8s_errors errs = {0};
	struct model_opts mo = {.node_name = "n1"};
	struct ctx c = {0};

	c.m = model_new(&mo, NULL);
	if (!c.m)
		return 0;
	k8s_parse_stream((const char *)data, size, &po, on_obj, &c, &errs);
	k8s_errors_free(&errs);
	for (int i = 0; i < c.n; i++) {
		struct lb_frontend *fes;
		size_t n;

		if (model_service_frontends(c.m, c.names[i][0], c.names[i][1], &fes, &n) == 0)
			model_frontends_free(fes, n);
	}
	model_free(c.m);
	return 0;
}
