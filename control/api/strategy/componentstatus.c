/* SPDX-License-Identifier: Apache-2.0 */
/*
 * componentstatus: core/v1 ComponentStatus, computed, never written by a client, as
 * pkg/registry/core/componentstatus/rest.go serves it: one object per control-plane server,
 * named as kube-apiserver names them (scheduler, controller-manager, etcd-0), each with one
 * Healthy condition (True with message "ok" as a /healthz answers, else False with the
 * error). drover answers for its own: the scheduler and the controller manager as `drover
 * server` reports them (registry_set_component; Unhealthy when this server does not run
 * them, e.g. --no-scheduler), and its store as etcd-0 (healthy while it answers).
 *
 * Before each read the registry calls refresh, which writes the objects to the store when
 * their state changed, so that get, list, Tables and selectors work as for stored kinds.
 */
#include <stdio.h>
#include <string.h>

#include "api_obj.h"
#include "api_strategy.h"
#include "registry.h"

struct cs_state {
	const char *name;
	bool healthy;
	char error[200];
};

static void put(struct registry *reg, const struct api_resource *res, const struct cs_state *c)
{
	struct store_kv kv = {0};
	struct k8s_buf b = {0};
	char key[256];

	if (api_key(res, NULL, c->name, key, sizeof(key)) < 0)
		return;
	k8s_buf_printf(&b,
		       "{\"kind\":\"ComponentStatus\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
		       "\"%s\"},\"conditions\":[{\"type\":\"Healthy\",\"status\":\"%s\",",
		       c->name, c->healthy ? "True" : "False");
	if (c->healthy) {
		k8s_buf_puts(&b, "\"message\":\"ok\"}]}");
	} else {
		k8s_buf_puts(&b, "\"error\":");
		k8s_buf_json_string(&b, c->error, strlen(c->error));
		k8s_buf_puts(&b, "}]}");
	}
	if (!b.p || b.oom) {
		k8s_buf_free(&b);
		return;
	}
	if (store_get(reg->store, key, strlen(key), 0, &kv) == 0) {
		if (kv.value_len != b.len || memcmp(kv.value, b.p, b.len) != 0)
			store_update(reg->store, key, strlen(key), b.p, b.len, kv.mod_rev, NULL);
		store_kv_release(&kv);
	} else {
		store_create(reg->store, key, strlen(key), b.p, b.len, NULL);
	}
	k8s_buf_free(&b);
}

static void cs_refresh(struct registry *reg, const struct api_resource *res)
{
	struct reg_component comps[REG_MAX_COMPONENTS];
	size_t n = registry_components(reg, comps, REG_MAX_COMPONENTS);
	struct cs_state cs[] = {{.name = "scheduler"}, {.name = "controller-manager"}};
	struct cs_state store = {.name = "etcd-0", .healthy = true};
	struct store_stats st;
	int err;

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		snprintf(cs[i].error, sizeof(cs[i].error), "%s is not run by this server",
			 cs[i].name);
		for (size_t j = 0; j < n; j++)
			if (strcmp(comps[j].name, cs[i].name) == 0) {
				cs[i].healthy = comps[j].healthy;
				snprintf(cs[i].error, sizeof(cs[i].error), "%s", comps[j].error);
			}
		put(reg, res, &cs[i]);
	}
	err = store_get_stats(reg->store, &st);
	if (err) {
		store.healthy = false;
		snprintf(store.error, sizeof(store.error), "%s", store_strerror(err));
	}
	put(reg, res, &store);
}

const struct api_strategy api_strategy_componentstatuses = {
    .refresh = cs_refresh,
    .deprecated = "v1 ComponentStatus is deprecated in v1.19+",
};
