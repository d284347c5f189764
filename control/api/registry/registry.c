/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry: the registry's lifecycle (its store, its allocators repaired against the stored
 * Services) and the steps every call shares: setting a call up from its request, loading an
 * object, converting between the stored version and the one a client speaks, answering with
 * an object, and checking the namespace of a namespaced write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alloc.h"
#include "log.h"
#include "reg_hub.h"

#define COMP "registry"

#define EACH(it, arr)                                                                         \
	for (const struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

int reg_list_all(struct registry *reg, const struct api_resource *res, const char *ns, size_t limit,
		 struct store_list *out)
{
	return api_list_all(reg->store, res, ns, limit, out);
}

/* ---- lifecycle ---- */

/* The values stored Services hold, for the allocators' repair. */
static int repair_allocations(struct registry *reg)
{
	const struct api_resource *svc = api_resource_find("", "v1", "services");
	struct api_alloc_holder *h = NULL;
	struct jv_doc **docs = NULL;
	int(*ports)[API_ADMIT_MAX_ALLOC] = NULL;
	char(*owners)[320] = NULL;
	struct store_list l;
	int err = reg_list_all(reg, svc, NULL, 0, &l);

	if (err)
		return err;
	h = calloc(l.count + 1, sizeof(*h));
	docs = calloc(l.count + 1, sizeof(*docs));
	ports = calloc(l.count + 1, sizeof(*ports));
	owners = calloc(l.count + 1, sizeof(*owners));
	if (!h || !docs || !ports || !owners) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct jv *o;

		docs[i] = jv_doc_new();
		o = docs[i] ? api_load_object(docs[i], l.items[i].value, l.items[i].value_len, 0)
			    : NULL;
		snprintf(owners[i], sizeof(owners[i]), "%s/%s",
			 jv_path_str(o, "metadata.namespace") ?: "",
			 jv_path_str(o, "metadata.name") ?: "");
		h[i].owner = owners[i];
		h[i].ip = jv_path_str(o, "spec.clusterIP");
		h[i].ports = ports[i];
		EACH(p, jv_path(o, "spec.ports"))
		{
			int64_t np = 0;

			if (jv_path_int(p, "nodePort", &np) == 0 && np &&
			    h[i].nports < API_ADMIT_MAX_ALLOC)
				ports[i][h[i].nports++] = (int)np;
		}
	}
	/* a key no Service holds: a create that crashed between taking its values and
	 * storing the Service (or one in flight on another server, hence the minute) */
	err = api_alloc_repair(reg->alloc, h, l.count, 60);
out:
	for (size_t i = 0; docs && i < l.count; i++)
		jv_doc_free(docs[i]);
	free(docs);
	free(ports);
	free(owners);
	free(h);
	store_list_free(&l);
	return err;
}

/* The store's tag of a pod: its spec.nodeName ("" when unbound or unreadable). */
static size_t pod_node_tag(const void *key, size_t key_len, const void *value, size_t value_len,
			   char *out, size_t size)
{
	struct jv_doc *d = jv_doc_new();
	struct jv_perr pe;
	const struct jv *o = d ? jv_parse(d, value, value_len, &pe) : NULL;
	const char *node = jv_path_str(o, "spec.nodeName");
	size_t n = node ? strlen(node) : 0;

	(void)key;
	(void)key_len;
	memcpy(out, node ? node : "", n < size ? n : size);
	jv_doc_free(d);
	return n;
}

int registry_new(struct store *store, const struct registry_config *cfg, struct registry **out)
{
	struct registry *reg = calloc(1, sizeof(*reg));
	int err;

	*out = NULL;
	if (!reg)
		return -ENOMEM;
	reg->cfg = *cfg;
	reg->store = store;
	pthread_mutex_init(&reg->comp_lock, NULL);
	reg->service_cidr = strdup(cfg->service_cidr ? cfg->service_cidr : "10.96.0.0/16");
	if (!reg->service_cidr) {
		registry_free(reg);
		return -ENOMEM;
	}
	reg->cfg.service_cidr = reg->service_cidr;
	if (!reg->cfg.nodeport_min)
		reg->cfg.nodeport_min = 30000;
	if (!reg->cfg.nodeport_max)
		reg->cfg.nodeport_max = 32767;
	if (!reg->cfg.max_body)
		reg->cfg.max_body = 3u << 20;
	err = reg_hubs_new(reg);
	if (!err)
		err = reg_crds_new(reg);
	if (!err)
		err = reg_webhooks_new(reg);
	if (!err)
		err = reg_cache_new(reg);
	if (err) {
		registry_free(reg);
		return err;
	}
	{
		char prefix[64];
		int n = api_key(api_resource_find("", "v1", "pods"), NULL, NULL, prefix,
				sizeof(prefix));

		err = n < 0 ? n
			    : store_index_add(store, prefix, (size_t)n, pod_node_tag,
					      &reg->pods_by_node);
		if (err && err != -EOPNOTSUPP) {
			log_error(COMP, "the index of pods by node: %s", store_strerror(err));
			registry_free(reg);
			return err;
		}
	}
	err = api_alloc_new(store, reg->service_cidr, reg->cfg.nodeport_min, reg->cfg.nodeport_max,
			    &reg->alloc);
	if (err) {
		log_error(COMP, "service range %s, node ports %u-%u: %s", reg->service_cidr,
			  reg->cfg.nodeport_min, reg->cfg.nodeport_max, strerror(-err));
		registry_free(reg);
		return err;
	}
	err = repair_allocations(reg);
	if (err) {
		log_error(COMP, "allocations: %s", store_strerror(err));
		registry_free(reg);
		return err;
	}
	err = reg_crds_load(reg);
	if (err) {
		log_error(COMP, "custom resources: %s", store_strerror(err));
		registry_free(reg);
		return err;
	}
	*out = reg;
	return 0;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	reg_hubs_free(reg);
	reg_crds_free(reg);
	reg_webhooks_free(reg);
	reg_cache_free(reg);
	api_alloc_free(reg->alloc);
	free(reg->service_cidr);
	pthread_mutex_destroy(&reg->comp_lock);
	free(reg);
}

void registry_set_component(struct registry *reg, const char *name, bool healthy, const char *error)
{
	size_t i;

	pthread_mutex_lock(&reg->comp_lock);
	for (i = 0; i < reg->ncomps && strcmp(reg->comps[i].name, name) != 0; i++)
		;
	if (i < REG_MAX_COMPONENTS) {
		snprintf(reg->comps[i].name, sizeof(reg->comps[i].name), "%s", name);
		reg->comps[i].healthy = healthy;
		snprintf(reg->comps[i].error, sizeof(reg->comps[i].error), "%s",
			 error ? error : "");
		if (i == reg->ncomps)
			reg->ncomps++;
	}
	pthread_mutex_unlock(&reg->comp_lock);
}

size_t registry_components(struct registry *reg, struct reg_component *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&reg->comp_lock);
	n = reg->ncomps < max ? reg->ncomps : max;
	memcpy(out, reg->comps, n * sizeof(*out));
	pthread_mutex_unlock(&reg->comp_lock);
	return n;
}

/* ---- one call ---- */

int reg_call_init(struct reg_call *c, struct registry *reg, const struct reg_req *rq,
		  struct api_result *out)
{
	const struct api_resource *res = rq->res->storage ? rq->res->storage : rq->res;

	memset(c, 0, sizeof(*c));
	c->reg = reg;
	c->rq = rq;
	c->res = res;
	c->wire = rq->res->storage ? rq->res : NULL;
	c->strategy = api_strategy_of(res);
	c->ns = api_resource_namespaced(res) ? rq->ns : NULL;
	c->name = rq->name;
	c->sub = rq->sub;
	c->d = rq->d;
	c->dry_run = rq->dry_run;
	c->manager = rq->manager && rq->manager[0] ? rq->manager : "unknown";
	c->out = out;
	if (api_key(res, c->ns, c->name, c->key, sizeof(c->key)) < 0) {
		api_fail(out, 400, "BadRequest", "name or namespace too long");
		return -EINVAL;
	}
	return 0;
}

int reg_load(struct reg_call *c, const char *key, struct jv **out, uint64_t *rev)
{
	struct store_kv kv = {0};
	int err = store_get(c->reg->store, key, strlen(key), 0, &kv);

	if (err)
		return err;
	*out = api_load_object(c->d, kv.value, kv.value_len, kv.mod_rev);
	*rev = kv.mod_rev;
	store_kv_release(&kv);
	return *out ? 0 : -EIO;
}

const struct k8s_kind *reg_wire_kind(const struct reg_call *c)
{
	return (c->wire ? c->wire : c->res)->kind;
}

void reg_from_wire(struct reg_call *c, struct jv *obj)
{
	if (c->wire && obj)
		c->wire->to_storage(c->wire, c->d, obj);
}

void reg_done_object(struct reg_call *c, unsigned code, struct jv *obj, uint64_t rev)
{
	jv_set(c->d, jv_obj_at(c->d, obj, "metadata"), "resourceVersion", api_rv_node(c->d, rev));
	if (c->wire) {
		struct jv *w = jv_copy(c->d, obj);

		if (!w) {
			api_fail_oom(c->out);
			return;
		}
		c->wire->from_storage(c->wire, c->d, w);
		obj = w;
	}
	api_succeed_object(c->out, code, obj, rev);
}

void reg_done_written(struct reg_call *c, unsigned code, struct jv *obj, char *json, size_t len,
		      uint64_t rev)
{
	reg_done_object(c, code, obj, rev);
	if (!c->wire && !api_result_failed(c->out)) {
		c->out->json = json;
		c->out->json_len = len;
	} else {
		free(json);
	}
}

int reg_check_namespace(struct reg_call *c, bool creating)
{
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	char key[512];
	struct jv *ns;
	uint64_t rev;
	int err;

	if (!c->ns)
		return 0;
	api_key(nsres, NULL, c->ns, key, sizeof(key));
	err = reg_load(c, key, &ns, &rev);
	if (err == -ENOENT) {
		api_fail_details(c->out, 404, "NotFound", nsres, c->ns,
				 "namespaces \"%s\" not found", c->ns);
		return err;
	}
	if (err) {
		api_fail_store(c->out, nsres, c->ns, err);
		return err;
	}
	if (creating && jv_path(ns, "metadata.deletionTimestamp")) {
		char q[128];

		api_fail_details(
		    c->out, 403, "Forbidden", c->res, c->name,
		    "%s \"%s\" is forbidden: unable to create new content in namespace "
		    "%s because it is being terminated",
		    api_res_qualified(c->res, q, sizeof(q)), c->name ? c->name : "", c->ns);
		return -EPERM;
	}
	return 0;
}
