/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_webhook: the MutatingAdmissionWebhook and ValidatingAdmissionWebhook admission plugins
 * of kube-apiserver 1.32 (k8s.io/apiserver/pkg/admission/plugin/webhook): which webhooks a
 * write calls (generic/webhook.go ShouldCallHook with predicates/rules, namespace and object
 * selectors, matchPolicy), in which order (mutating: configurations by name, then webhook
 * order, reinvoked once as reinvocationPolicy IfNeeded asks; validating: after every
 * mutation and the built-in validation), and what their answers do (mutating/dispatcher.go,
 * validating/dispatcher.go, errors/statuserror.go). The AdmissionReview and the HTTPS call are
 * reg_webhook_call.c's.
 *
 * The configurations are read from the store once per change (a snapshot, refcounted, that a
 * write keeps while it calls): their strategy bumps registry.webhook_gen on every write.
 * A webhook is called with no lock held, so a slow one holds only its own request.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_selector.h"
#include "log.h"
#include "reg_int.h"
#include "reg_webhook.h"

#define COMP "webhook"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

struct reg_webhooks {
	pthread_mutex_t lock;
	struct wh_snap *cur;
};

/* ---- the configurations' snapshot ---- */

static void snap_free(struct wh_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->hooks[i].ca_fd >= 0)
			close(s->hooks[i].ca_fd);
	free(s->hooks);
	jv_doc_free(s->d);
	free(s);
}

static int cmp_hooks(const void *pa, const void *pb)
{
	const struct wh_hook *a = pa, *b = pb;
	int r = a->mutating != b->mutating ? (a->mutating ? -1 : 1) : strcmp(a->config, b->config);

	if (r)
		return r;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int load_kind(struct registry *reg, struct wh_snap *s, const char *resource, bool mutating,
		     size_t *cap)
{
	const struct api_resource *res =
	    api_resource_find("admissionregistration.k8s.io", "v1", resource);
	struct store_list l = {0};
	int err;

	if (!res)
		return 0;
	err = api_list_all(reg->store, res, NULL, 0, &l);
	if (err)
		return err;
	for (size_t i = 0; i < l.count && !err; i++) {
		struct jv *o = api_load_object(s->d, l.items[i].value, l.items[i].value_len,
					       l.items[i].mod_rev);
		const char *name = jv_path_str(o, "metadata.name");
		size_t idx = 0;

		if (!o || !name)
			continue;
		EACH(w, jv_get(o, "webhooks"))
		{
			if (s->n == *cap) {
				size_t ncap = *cap ? *cap * 2 : 8;
				struct wh_hook *nh = realloc(s->hooks, ncap * sizeof(*nh));

				if (!nh) {
					err = -ENOMEM;
					break;
				}
				s->hooks = nh;
				*cap = ncap;
			}
			s->hooks[s->n] = (struct wh_hook){.config = name,
							  .w = w,
							  .idx = idx++,
							  .mutating = mutating,
							  .ca_fd = reg_wh_ca_fd(w)};
			if (mutating)
				s->nmutating++;
			s->n++;
		}
	}
	store_list_free(&l);
	return err;
}

static struct wh_snap *snap_load(struct registry *reg, uint64_t gen)
{
	struct wh_snap *s = calloc(1, sizeof(*s));
	size_t cap = 0;
	int err;

	if (!s || !(s->d = jv_doc_new())) {
		free(s);
		return NULL;
	}
	s->refs = 1;
	s->gen = gen;
	err = load_kind(reg, s, "mutatingwebhookconfigurations", true, &cap);
	if (!err)
		err = load_kind(reg, s, "validatingwebhookconfigurations", false, &cap);
	if (err) {
		log_warn(COMP, "reading the webhook configurations: %s", store_strerror(err));
		snap_free(s);
		return NULL;
	}
	/* mutating first, each kind by configuration name then webhook order
	 * (generic/webhook.go: the sorted accessors of configuration/mutating_webhook_manager.go) */
	if (s->n > 1)
		qsort(s->hooks, s->n, sizeof(*s->hooks), cmp_hooks);
	return s;
}

static void snap_put(struct reg_webhooks *w, struct wh_snap *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&w->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (last)
		snap_free(s);
}

/* The current snapshot (a reference: snap_put it), read again when a configuration changed
 * since; NULL when none can be read. */
static struct wh_snap *snap_get(struct registry *reg)
{
	struct reg_webhooks *w = reg->webhooks;
	uint64_t gen = __atomic_load_n(&reg->webhook_gen, __ATOMIC_ACQUIRE);
	struct wh_snap *s, *old = NULL;

	pthread_mutex_lock(&w->lock);
	if (!w->cur || w->cur->gen != gen) {
		s = snap_load(reg, gen);
		if (s) {
			old = w->cur;
			w->cur = s;
			if (old && --old->refs != 0)
				old = NULL;
		}
	}
	s = w->cur;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&w->lock);
	snap_free(old);
	return s;
}

int reg_webhooks_new(struct registry *reg)
{
	/* libcurl's global state, made here while one thread runs (curl_easy_init would make
	 * it on first use, racing with other threads) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	reg->webhooks = calloc(1, sizeof(*reg->webhooks));
	if (!reg->webhooks)
		return -ENOMEM;
	pthread_mutex_init(&reg->webhooks->lock, NULL);
	return 0;
}

void reg_webhooks_free(struct registry *reg)
{
	if (!reg->webhooks)
		return;
	snap_free(reg->webhooks->cur);
	pthread_mutex_destroy(&reg->webhooks->lock);
	free(reg->webhooks);
	reg->webhooks = NULL;
	curl_global_cleanup();
}

/* ---- which webhooks a request calls ---- */

static bool list_has(const struct jv *arr, const char *s)
{
	EACH(i, (struct jv *)arr)
	if (jv_is_str(i, "*") || jv_is_str(i, s))
		return true;
	return false;
}

/* predicates/rules/rules.go Matcher.Matches: scope, operation, group, version, resource (with
 * "*", "res/sub", "res/<all>" and "<all>/sub"); a Namespace object is cluster-scoped. */
static bool rule_matches(const struct jv *r, const struct wh_attr *a,
			 const struct api_resource *res)
{
	const char *scope = jv_path_str(r, "scope");
	const char *sub = a->sub ? a->sub : "";
	bool cluster = a->is_namespace || !a->ns || !a->ns[0];

	if (scope && strcmp(scope, "Namespaced") == 0 && cluster)
		return false;
	if (scope && strcmp(scope, "Cluster") == 0 && !cluster)
		return false;
	if (!list_has(jv_get(r, "operations"), a->op) ||
	    !list_has(jv_get(r, "apiGroups"), res->kind->group) ||
	    !list_has(jv_get(r, "apiVersions"), res->kind->version))
		return false;
	EACH(i, jv_get(r, "resources"))
	{
		const char *s = i->type == JV_STRING ? i->s : "", *slash = strchr(s, '/');
		size_t rl = slash ? (size_t)(slash - s) : strlen(s);
		const char *rs = slash ? slash + 1 : "";
		bool rm = (rl == 1 && s[0] == '*') || (strlen(res->kind->resource) == rl &&
						       !strncmp(s, res->kind->resource, rl));

		if (rm && (strcmp(rs, "*") == 0 || strcmp(rs, sub) == 0))
			return true;
	}
	return false;
}

/* The version of the request's resource a webhook's rules match: the request's own, else
 * (matchPolicy Equivalent, the default) another version of it the server serves, the stored
 * one first, then those served by conversion from it (generic/webhook.go ShouldCallHook: the
 * equivalent resources of the RESTMapper); NULL: no rule. */
static const struct api_resource *match_rules(const struct jv *m, const char *rules,
					      const struct wh_attr *a)
{
	const struct api_resource *st = a->c->res;
	const char *policy = jv_path_str(m, "matchPolicy");

	EACH(r, jv_get(m, rules))
	if (rule_matches(r, a, a->req))
		return a->req;
	if (policy && strcmp(policy, "Exact") == 0)
		return NULL;
	for (size_t i = 0; i <= api_nresources; i++) {
		const struct api_resource *e = i == 0 ? st : &api_resources[i - 1];

		if (e == a->req || (i > 0 && e->storage != st))
			continue;
		EACH(r, jv_get(m, rules))
		if (rule_matches(r, a, e))
			return e;
	}
	return NULL;
}

static bool selector_empty(const struct jv *sel)
{
	return !sel || (!jv_count(jv_get(sel, "matchLabels")) &&
			!jv_count(jv_get(sel, "matchExpressions")));
}

static bool labels_match(const struct jv *sel, const struct jv *obj)
{
	static struct jv none = {.type = JV_OBJECT};
	const struct jv *l = jv_path(obj, "metadata.labels");

	return api_label_selector_matches(sel, l ? l : &none);
}

/* predicates/namespace/matcher.go MatchNamespaceSelector: a cluster-scoped object other than
 * a Namespace always matches; a Namespace's create or update is matched by its own labels,
 * anything else by its namespace's as stored. 0, or -ENOENT when the namespace is not there. */
static int ns_matches(struct wh_attr *a, const struct jv *m, bool *match)
{
	const struct jv *sel = jv_get(m, "namespaceSelector");

	*match = true;
	if ((!a->ns || !a->ns[0]) && !a->is_namespace)
		return 0;
	if (selector_empty(sel))
		return 0;
	if (a->is_namespace && !a->sub && a->obj) {
		*match = labels_match(sel, a->obj);
		return 0;
	}
	if (!reg_wh_namespace(a))
		return -ENOENT;
	*match = labels_match(sel, a->ns_obj);
	return 0;
}

/* predicates/object/matcher.go MatchObjectSelector: the new or the old object's labels. */
static bool object_matches(const struct wh_attr *a, const struct jv *m)
{
	const struct jv *sel = jv_get(m, "objectSelector");

	if (selector_empty(sel))
		return true;
	return (a->obj && labels_match(sel, a->obj)) || (a->old && labels_match(sel, a->old));
}

/* Kubernetes never calls webhooks for its admission configuration itself
 * (rules.IsExemptAdmissionConfigurationResource), so a broken webhook cannot lock it out. */
bool reg_wh_exempt(const struct wh_attr *a)
{
	return strcmp(a->c->res->kind->group, "admissionregistration.k8s.io") == 0;
}

/* The resource a hook is called for (NULL: not called); -ENOENT: the namespace is missing
 * (404 as MatchNamespaceSelector answers). */
int reg_wh_match(struct wh_attr *a, const struct jv *m, const char *rules,
		 const struct api_resource **res)
{
	bool ok;

	*res = match_rules(m, rules, a);
	if (!*res)
		return 0;
	if (ns_matches(a, m, &ok) != 0) {
		*res = NULL;
		return -ENOENT;
	}
	if (!ok || !object_matches(a, m))
		*res = NULL;
	return 0;
}

static int should_call(struct wh_attr *a, const struct wh_hook *h, const struct api_resource **res)
{
	return reg_wh_match(a, h->w, "rules", res);
}

/* ---- dispatch ---- */

const struct jv *reg_wh_namespace(struct wh_attr *a)
{
	if (!a->ns_obj) {
		struct reg_req rq = {
		    .res = api_resource_find("", "v1", "namespaces"), .name = a->ns, .d = a->c->d};
		struct reg_call nc;
		struct api_result scratch = {0};
		uint64_t rev;

		if (reg_call_init(&nc, a->c->reg, &rq, &scratch) != 0 ||
		    reg_load(&nc, nc.key, &a->ns_obj, &rev) != 0)
			a->ns_obj = NULL;
		api_result_free(&scratch);
	}
	return a->ns_obj;
}

void reg_wh_attr_init(struct wh_attr *a, struct reg_call *c, const char *op, struct jv *obj,
		      const struct jv *old, const struct reg_delete_opts *dopts)
{
	const struct jv *named = obj ? obj : old;

	*a = (struct wh_attr){.c = c,
			      .op = op,
			      .obj = obj,
			      .old = old,
			      .dopts = dopts,
			      .req = c->wire ? c->wire : c->res,
			      .sub = c->sub,
			      .ns = c->ns,
			      .name = c->name};
	/* a generated name does not exist yet when admission runs */
	if (strcmp(op, "CREATE") == 0) {
		const char *gen = jv_path_str(named, "metadata.generateName");

		a->name = gen && gen[0] ? "" : jv_path_str(named, "metadata.name");
	}
	/* rules.go's namespaceResource: the request is about a Namespace itself, whose
	 * admission namespace is its name when the path names it (RequestInfo's Namespace for
	 * /namespaces/<name>), none for a create (POST /namespaces) */
	a->is_namespace = !c->res->kind->group[0] && c->res->kind->resource &&
			  strcmp(c->res->kind->resource, "namespaces") == 0;
	if (a->is_namespace)
		a->ns = strcmp(op, "CREATE") != 0 ? a->name : NULL;
}

void reg_wh_fail_ns_missing(struct wh_attr *a)
{
	api_fail_details(a->c->out, 404, "NotFound", api_resource_find("", "v1", "namespaces"),
			 a->ns, "namespaces \"%s\" not found", a->ns);
}

int reg_webhooks_mutate(struct reg_call *c, const char *op, struct jv *obj, const struct jv *old,
			const struct reg_delete_opts *dopts)
{
	struct wh_snap *s;
	struct wh_attr a;
	/* reinvocationcontext.go: the IfNeeded webhooks called since the object last changed
	 * (prev), and those a later change asks to run again (reinvoke) */
	bool *prev = NULL, *reinvoke, changed_any = false;
	int err = 0;

	if (!c->reg->webhooks)
		return 0;
	reg_wh_attr_init(&a, c, op, obj, old, dopts);
	if (reg_wh_exempt(&a))
		return 0;
	s = snap_get(c->reg);
	if (!s || !s->nmutating)
		goto out;
	prev = calloc(2 * s->nmutating, sizeof(*prev));
	if (!prev) {
		api_fail_oom(c->out);
		err = -ENOMEM;
		goto out;
	}
	reinvoke = prev + s->nmutating;
	/* round 1 runs only when round 0 changed the object, and calls only the webhooks a
	 * change after them asked for (mutating/dispatcher.go Dispatch) */
	for (int round = 0; round < 2 && !err && (round == 0 || changed_any); round++) {
		for (size_t i = 0; i < s->nmutating && !err; i++) {
			const struct wh_hook *h = &s->hooks[i];
			const struct api_resource *res;
			bool changed = false;

			if (round == 1 && !reinvoke[i])
				continue;
			if (should_call(&a, h, &res) != 0) {
				reg_wh_fail_ns_missing(&a);
				err = -EPERM;
				break;
			}
			if (!res)
				continue;
			err = reg_wh_call(&a, h, res, round, &changed);
			if (round == 1)
				continue;
			if (changed) {
				changed_any = true;
				for (size_t k = 0; k < s->nmutating; k++)
					if (prev[k]) {
						reinvoke[k] = true;
						prev[k] = false;
					}
			}
			if (jv_is_str(jv_get(h->w, "reinvocationPolicy"), "IfNeeded"))
				prev[i] = true;
		}
	}
out:
	free(prev);
	snap_put(c->reg->webhooks, s);
	return err;
}

int reg_webhooks_validate(struct reg_call *c, const char *op, const struct jv *obj,
			  const struct jv *old, const struct reg_delete_opts *dopts)
{
	struct wh_snap *s;
	struct wh_attr a;
	int err = 0;

	if (!c->reg->webhooks)
		return 0;
	reg_wh_attr_init(&a, c, op, (struct jv *)obj, old, dopts);
	if (reg_wh_exempt(&a))
		return 0;
	s = snap_get(c->reg);
	if (!s)
		return 0;
	/* one after the other: the outcome is the parallel dispatcher's (the first refusal) */
	for (size_t i = s->nmutating; i < s->n && !err; i++) {
		const struct api_resource *res;

		if (should_call(&a, &s->hooks[i], &res) != 0) {
			reg_wh_fail_ns_missing(&a);
			err = -EPERM;
		} else if (res) {
			err = reg_wh_call(&a, &s->hooks[i], res, 0, NULL);
		}
	}
	snap_put(c->reg->webhooks, s);
	return err;
}
