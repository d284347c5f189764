/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth: the identities a joining node uses, and what they may do.
 *
 * Authentication of bootstrap tokens, as Kubernetes' bootstrap token authenticator
 * (plugin/pkg/auth/authenticator/token/bootstrap): "Bearer <id>.<secret>" matching
 * [a-z0-9]{6}.[a-z0-9]{16}, whose Secret kube-system/bootstrap-token-<id> has type
 * bootstrap.kubernetes.io/token, the same token-secret, no expiration in the past and
 * usage-bootstrap-authentication "true", is user system:bootstrap:<id> in the groups
 * system:bootstrappers and its auth-extra-groups. Anything else is no bootstrap token (401).
 *
 * The Impersonate-* headers are honoured first (rbac.c, as the impersonation filter runs
 * between authentication and authorization); authorization is then kube-apiserver's
 * --authorization-mode=Node,RBAC behind the privileged group authorizer
 * (authorizerfactory.NewPrivilegedGroups: system:masters may do everything):
 *  - a node (user system:node:NAME in group system:nodes: Kubernetes' Node authorizer,
 *    plugin/pkg/auth/authorizer/node, with the static rules of bootstrappolicy.NodeRules()),
 *    then NodeRestriction admission (plugin/pkg/admission/noderestriction) on its writes;
 *  - a bootstrapper (group system:bootstrappers: the ClusterRoles kubeadm binds to it,
 *    system:node-bootstrapper and ...:certificatesigningrequests:nodeclient).
 * Both may read the discovery documents, version and health (system:discovery,
 * system:public-info-viewer). Every other identity, and a request the two above are refused,
 * is RBAC's (rbac.c: the stored Roles and bindings, bootstrap_rbac.c's defaults). A denial is
 * 403 with Kubernetes' messages.
 *
 * A node may create a TokenRequest only for a service account one of its pods runs as
 * (authorizeCreateToken over the graph, found among the node's pods of that namespace), bound to
 * such a pod by name and uid (NodeRestriction's admitServiceAccount).
 *
 * Simplifications (the graph of the Node authorizer is not kept): a node may get/list/watch
 * secrets, configmaps, pods in any namespace (Kubernetes limits secrets, configmaps and
 * PVCs to those of pods bound to the node, and pod lists to fieldSelector spec.nodeName);
 * it may also list/watch endpoints and EndpointSlices (the proxy runs in the agent:
 * system:node-proxier's rules). NodeRestriction's label and taint rules for Node updates
 * and its pod-status label check are not applied.
 */
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_codec.h"
#include "api_http.h"
#include "api_obj.h"
#include "api_selector.h"
#include "log.h"
#include "rbac.h"

#define COMP "auth"

#define BOOTSTRAPPERS "system:bootstrappers"
#define NODES	      "system:nodes"
#define NODE_PREFIX   "system:node:"
#define LEASE_NS      "kube-node-lease"

void api_req_add_group(struct api_req *r, const char *g, size_t len)
{
	if (r->ngroups >= API_MAX_GROUPS || len == 0 || len >= sizeof(r->groups[0]))
		return;
	memcpy(r->groups[r->ngroups], g, len);
	r->groups[r->ngroups][len] = 0;
	r->ngroups++;
}

static bool in_group(const struct api_req *r, const char *g)
{
	for (unsigned i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i], g) == 0)
			return true;
	return false;
}

/* ---- bootstrap tokens ---- */

static bool token_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* data[key] of a Secret, base64-decoded into buf (NUL-terminated); false if absent/bad. */
static bool secret_data(const struct jv *secret, const char *key, char *buf, size_t size)
{
	const struct jv *v = jv_get(jv_get(secret, "data"), key);
	gnutls_datum_t in, out = {0};
	bool ok = false;

	if (!v || v->type != JV_STRING)
		return false;
	in = (gnutls_datum_t){(unsigned char *)v->s, v->len};
	if (gnutls_base64_decode2(&in, &out) < 0)
		return false;
	if (out.size < size) {
		memcpy(buf, out.data, out.size);
		buf[out.size] = 0;
		ok = true;
	}
	gnutls_free(out.data);
	return ok;
}

static bool same_secret(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char diff = 0;

	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* The token's Secret says it authenticates r: fills the user and groups. */
static bool token_secret_ok(struct api_req *r, const struct jv *secret, const char *id,
			    const char *tsecret)
{
	char buf[1024];

	if (jv_path(secret, "metadata.deletionTimestamp"))
		return false;
	if (!jv_is_str(jv_get(secret, "type"), "bootstrap.kubernetes.io/token"))
		return false;
	if (!secret_data(secret, "token-secret", buf, sizeof(buf)) || !same_secret(buf, tsecret))
		return false;
	if (secret_data(secret, "token-id", buf, sizeof(buf)) && strcmp(buf, id) != 0)
		return false;
	if (secret_data(secret, "expiration", buf, sizeof(buf))) {
		int64_t exp = api_parse_time(buf);

		/* an expiration that does not parse counts as expired, as in Kubernetes */
		if (exp < 0 || (int64_t)time(NULL) >= exp)
			return false;
	}
	if (!secret_data(secret, "usage-bootstrap-authentication", buf, sizeof(buf)) ||
	    strcmp(buf, "true") != 0)
		return false;
	snprintf(r->user, sizeof(r->user), "system:bootstrap:%s", id);
	r->ngroups = 0;
	api_req_add_group(r, BOOTSTRAPPERS, strlen(BOOTSTRAPPERS));
	if (secret_data(secret, "auth-extra-groups", buf, sizeof(buf))) {
		for (char *g = buf, *end; *g; g = end + (*end != 0)) {
			end = g + strcspn(g, ",");
			while (*g == ' ')
				g++;
			/* only system:bootstrappers:* groups are valid extra groups */
			if ((size_t)(end - g) > strlen(BOOTSTRAPPERS ":") &&
			    strncmp(g, BOOTSTRAPPERS ":", strlen(BOOTSTRAPPERS ":")) == 0)
				api_req_add_group(r, g, (size_t)(end - g));
		}
	}
	return true;
}

bool api_bootstrap_authenticate(struct api_req *r)
{
	const char *a = r->authorization, *t;
	char id[7], tsecret[17], name[64];
	const struct api_resource *res = api_resource_find("", "v1", "secrets");
	struct reg_req rq = {0};
	struct api_result out = {0};
	bool ok = false;

	if (!a || strncasecmp(a, "Bearer ", 7) != 0 || !res || !r->srv->reg)
		return false;
	t = a + 7;
	if (strlen(t) != 23 || t[6] != '.' || !token_chars(t, 6) || !token_chars(t + 7, 16))
		return false;
	memcpy(id, t, 6);
	id[6] = 0;
	memcpy(tsecret, t + 7, 16);
	tsecret[16] = 0;
	snprintf(name, sizeof(name), "bootstrap-token-%s", id);
	rq = (struct reg_req){.res = res, .ns = "kube-system", .name = name, .d = jv_doc_new()};
	if (!rq.d)
		return false;
	if (reg_get(r->srv->reg, &rq, true, &out) == 0 && !api_result_failed(&out) && out.obj)
		ok = token_secret_ok(r, out.obj, id, tsecret);
	if (!ok)
		log_debug(COMP, "bootstrap token %s refused", id);
	api_result_free(&out);
	jv_doc_free(rq.d);
	return ok;
}

/* ---- authorization ---- */

#define MASTERS "system:masters"

static const char *verb_name(const struct api_req *r)
{
	bool watch = r->rt.watch_path || api_arg_true(r, "watch");

	switch (r->method) {
	case API_M_GET:
	case API_M_HEAD:
		return watch ? "watch" : r->rt.name ? "get" : "list";
	case API_M_POST:
		return "create";
	case API_M_PUT:
		return "update";
	case API_M_PATCH:
		return "patch";
	case API_M_DELETE:
		return r->rt.name ? "delete" : "deletecollection";
	default:
		return "";
	}
}

/* w is one of the space-separated words of list */
static bool in_list(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; *p;) {
		size_t m = strcspn(p, " ");

		if (m == n && strncmp(p, w, n) == 0)
			return true;
		p += m;
		while (*p == ' ')
			p++;
	}
	return false;
}

struct rule {
	const char *verbs, *group, *resources; /* resources: "res" or "res/sub" words */
};

/* bootstrappolicy.NodeRules() (Kubernetes 1.32), plus system:node-proxier's reads of
 * endpoints and EndpointSlices; leases and service accounts are the authorizer's own
 * (authorize_lease, authorize_create_token: serviceaccounts/token never reaches the rule). */
static const struct rule node_rules[] = {
    {"create", "authentication.k8s.io", "tokenreviews"},
    {"create", "authorization.k8s.io", "subjectaccessreviews localsubjectaccessreviews"},
    {"get list watch", "", "services"},
    {"create get list watch update patch", "", "nodes"},
    {"update patch", "", "nodes/status"},
    {"create update patch", "", "events"},
    {"create update patch", "events.k8s.io", "events"},
    {"get list watch create delete", "", "pods"},
    {"update patch", "", "pods/status"},
    {"create", "", "pods/eviction"},
    {"get list watch", "", "secrets configmaps"},
    {"get", "", "persistentvolumeclaims persistentvolumes"},
    {"get list watch", "", "endpoints"},
    {"get list watch", "discovery.k8s.io", "endpointslices"},
    {"create get list watch", "certificates.k8s.io", "certificatesigningrequests"},
    {"create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient"},
    {"get", "storage.k8s.io", "volumeattachments"},
    {"get list watch", "node.k8s.io", "runtimeclasses"},
    {"create", "", "serviceaccounts/token"},
};

/* system:node-bootstrapper and ...:certificatesigningrequests:nodeclient */
static const struct rule bootstrap_rules[] = {
    {"create get list watch", "certificates.k8s.io", "certificatesigningrequests"},
    {"create", "certificates.k8s.io", "certificatesigningrequests/nodeclient"},
};

static bool rules_allow(const struct rule *rules, size_t n, const struct api_authz *a)
{
	char res[128];

	if (a->sub)
		snprintf(res, sizeof(res), "%s/%s", a->resource, a->sub);
	else
		snprintf(res, sizeof(res), "%s", a->resource);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rules[i].group, a->group) == 0 && in_list(rules[i].verbs, a->verb) &&
		    in_list(rules[i].resources, res))
			return true;
	return false;
}

/* The Node authorizer's graph (graph_populator.go AddPod: serviceaccount -> pod -> node for
 * every pod with a nodeName): some pod of ns bound to node runs as service account sa. */
static bool node_runs_sa(struct api_server *s, const char *node, const char *ns, const char *sa)
{
	const struct api_resource *res = api_resource_find("", "v1", "pods");
	struct reg_req rq = {.res = res, .ns = ns, .d = jv_doc_new()};
	struct reg_list_opts o = {0};
	struct reg_list l = {0};
	struct api_result out = {0};
	struct api_selector *sel = NULL;
	char field[300], msg[256];
	bool found = false;

	/* the node's pods (the store's index by spec.nodeName), not the namespace's */
	snprintf(field, sizeof(field), "spec.nodeName=%s", node);
	if (res && api_selector_parse(NULL, field, res, &sel, msg, sizeof(msg)) != 0)
		sel = NULL;
	o.sel = sel;
	if (res && sel && rq.d && s->reg && ns && reg_list(s->reg, &rq, &o, &l, &out) == 0) {
		while (!found) {
			struct jv_doc *d = jv_doc_new();
			const struct store_kv *kv;
			struct jv *pod = NULL;
			int rc = d ? reg_list_next(&l, d, true, &kv, &pod) : -1;

			found = rc > 0 && pod && jv_is_str(jv_path(pod, "spec.nodeName"), node) &&
				jv_is_str(jv_path(pod, "spec.serviceAccountName"), sa);
			jv_doc_free(d);
			if (rc <= 0)
				break;
		}
		reg_list_free(&l);
	}
	api_result_free(&out);
	api_selector_free(sel);
	jv_doc_free(rq.d);
	return found;
}

/* The Node authorizer's authorizeCreateToken: NULL (allowed) or the reason it is not. */
static const char *authorize_create_token(struct api_server *s, const char *node,
					  const struct api_authz *a, char *buf, size_t size)
{
	if (strcmp(a->verb, "create") != 0 || !a->name || !a->name[0])
		return "can only create tokens for individual service accounts";
	if (!a->sub || strcmp(a->sub, "token") != 0)
		return "can only create token subresource of serviceaccount";
	if (!node_runs_sa(s, node, a->ns, a->name)) {
		snprintf(buf, size, "no relationship found between node '%s' and this object",
			 node);
		return buf;
	}
	return NULL;
}

/* The Node authorizer's authorizeLease: NULL (allowed) or the reason it is not. */
static const char *authorize_lease(const char *node, const struct api_authz *a)
{
	if (!in_list("get create update patch delete", a->verb))
		return "can only get, create, update, patch, or delete a node lease";
	if (!a->ns || strcmp(a->ns, LEASE_NS) != 0)
		return "can only access leases in the \"" LEASE_NS "\" system namespace";
	/* the name of a create is NodeRestriction's to check */
	if (strcmp(a->verb, "create") != 0 && (!a->name || strcmp(a->name, node) != 0))
		return "can only access node lease with the same name as the requesting node";
	return NULL;
}

/* 403 as responsewriters.Forbidden writes it (forbiddenMessage + reason). */
static void forbid(struct api_req *r, const struct api_authz *a, const char *reason)
{
	struct api_user u = {r->user, (const char(*)[128])r->groups, r->ngroups};

	api_authz_forbid(r, &u, a, reason);
}

/* NodeRestriction's refusal: admission.NewForbidden (name: the object's). */
static void admit_forbid(struct api_req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void admit_forbid(struct api_req *r, const char *name, const char *fmt, ...)
{
	struct api_result res = {0};
	char msg[1024], q[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_res_qualified(r->rt.res, q, sizeof(q));
	if (name && name[0])
		api_fail_details(&res, 403, "Forbidden", r->rt.res, name,
				 "%s \"%s\" is forbidden: %s", q, name, msg);
	else
		api_fail_details(&res, 403, "Forbidden", r->rt.res, "", "%s is forbidden: %s", q,
				 msg);
	api_reply_status(r, &res);
	api_result_free(&res);
}

static bool discovery_path(const struct api_req *r)
{
	switch (r->rt.type) {
	case ROUTE_VERSION:
	case ROUTE_HEALTH:
	case ROUTE_API:
	case ROUTE_APIS:
	case ROUTE_GROUP:
	case ROUTE_GROUP_VERSION:
	case ROUTE_OPENAPI_V2:
	case ROUTE_OPENAPI_V3:
	case ROUTE_OPENAPI_V3_GV:
		return r->method == API_M_GET || r->method == API_M_HEAD;
	default:
		return false;
	}
}

/* The body of a create, parsed (JSON; other encodings give NULL). */
static struct jv *body_obj(const struct api_req *r, struct jv_doc *d)
{
	struct jv_perr err;

	if (!r->body.p || !r->body.len)
		return NULL;
	return jv_parse(d, r->body.p, r->body.len, &err);
}

/* The stored object of ns/name of resource res (tree in d), or NULL. */
static struct jv *stored(struct api_req *r, const char *resource, const char *ns, const char *name,
			 struct jv_doc *d, struct api_result *out)
{
	struct reg_req rq = {
	    .res = api_resource_find("", "v1", resource), .ns = ns, .name = name, .d = d};

	if (!rq.res || !name || reg_get(r->srv->reg, &rq, true, out) != 0 || api_result_failed(out))
		return NULL;
	return out->obj;
}

/* NodeRestriction for pods: true to go on, false with the answer set. */
static bool admit_pod(struct api_req *r, const char *node, const struct api_authz *a,
		      struct jv_doc *d)
{
	struct api_result out = {0};
	const struct jv *pod;
	bool ok = true;

	if (a->sub && strcmp(a->sub, "status") != 0 && strcmp(a->sub, "eviction") != 0) {
		admit_forbid(r, a->name, "unexpected subresource \"%s\"", a->sub);
		return false;
	}
	if (!a->sub && strcmp(a->verb, "create") == 0) {
		const struct jv *obj = body_obj(r, d);
		const char *name = jv_path_str(obj, "metadata.name");

		if (!jv_get(jv_path(obj, "metadata.annotations"), "kubernetes.io/config.mirror")) {
			admit_forbid(
			    r, name,
			    "pod does not have \"kubernetes.io/config.mirror\" annotation, "
			    "node \"%s\" can only create mirror pods",
			    node);
			return false;
		}
		if (!jv_is_str(jv_path(obj, "spec.nodeName"), node)) {
			admit_forbid(r, name,
				     "node \"%s\" can only create pods with spec.nodeName set to "
				     "itself",
				     node);
			return false;
		}
		return true;
	}
	if (!a->sub && strcmp(a->verb, "delete") != 0) {
		admit_forbid(r, a->name,
			     "unexpected operation \"%s\", node \"%s\" can only create and delete "
			     "mirror pods",
			     strcmp(a->verb, "deletecollection") == 0 ? "DELETE" : "UPDATE", node);
		return false;
	}
	pod = stored(r, "pods", a->ns, a->name, d, &out);
	if (!pod) {
		ok = true; /* not found: the registry answers 404 */
	} else if (!jv_is_str(jv_path(pod, "spec.nodeName"), node)) {
		ok = false;
		if (!a->sub)
			admit_forbid(r, a->name,
				     "node \"%s\" can only delete pods with spec.nodeName set to "
				     "itself",
				     node);
		else if (strcmp(a->sub, "status") == 0)
			admit_forbid(r, a->name,
				     "node \"%s\" can only update pod status for pods with "
				     "spec.nodeName set to itself",
				     node);
		else
			admit_forbid(r, a->name,
				     "node %s can only evict pods with spec.nodeName set to itself",
				     node);
	}
	api_result_free(&out);
	return ok;
}

/* NodeRestriction's admitServiceAccount for a TokenRequest: true to go on, false with the
 * answer set. A node's token must be bound to a pod (by name and uid) bound to the node. */
static bool admit_token(struct api_req *r, const char *node, const struct api_authz *a,
			struct jv_doc *d)
{
	const struct k8s_kind *tk = k8s_kind_find("authentication.k8s.io/v1", "TokenRequest");
	struct api_body b = {.p = r->body.p,
			     .len = r->body.len,
			     .ctype = r->content_type,
			     .max = r->srv->cfg.max_body};
	struct api_result out = {0};
	const struct jv *tr, *ref, *pod;
	const char *name, *uid;
	bool ok = false;

	/* the body as the handler decodes it (JSON, YAML or protobuf: the kubelet's) */
	tr = tk ? api_decode_as(&b, d, tk->type, K8S_FV_IGNORE, &out) : NULL;
	api_result_free(&out);
	if (!tr)
		return true; /* the handler answers the bad body with its 400 */
	ref = jv_path(tr, "spec.boundObjectRef");
	name = jv_path_str(ref, "name");
	uid = jv_path_str(ref, "uid");
	out = (struct api_result){0};
	if (!ref || !jv_is_str(jv_get(ref, "apiVersion"), "v1") ||
	    !jv_is_str(jv_get(ref, "kind"), "Pod") || !name || !name[0]) {
		admit_forbid(r, a->name, "node requested token not bound to a pod");
		return false;
	}
	if (!uid || !uid[0]) {
		admit_forbid(r, a->name, "node requested token with a pod binding without a uid");
		return false;
	}
	pod = stored(r, "pods", a->ns, name, d, &out);
	if (!pod) {
		struct api_result nf = {0};

		api_fail_not_found(&nf, api_resource_find("", "v1", "pods"), name);
		api_reply_status(r, &nf);
		api_result_free(&nf);
	} else if (!jv_is_str(jv_path(pod, "metadata.uid"), uid)) {
		admit_forbid(r, a->name,
			     "the UID in the bound object reference (%s) does not match the UID in "
			     "record. The object might have been deleted and then recreated",
			     uid);
	} else if (!jv_is_str(jv_path(pod, "spec.nodeName"), node)) {
		admit_forbid(r, a->name,
			     "node requested token bound to a pod scheduled on a different node");
	} else {
		ok = true;
	}
	api_result_free(&out);
	return ok;
}

/* NodeRestriction on a write by node `node` (the authorizer allowed it). */
static bool admit(struct api_req *r, const char *node, const struct api_authz *a)
{
	struct jv_doc *d;
	const char *name = a->name;
	bool ok = true;
	bool node_res = a->group[0] == 0 && strcmp(a->resource, "nodes") == 0;
	bool pod_res = a->group[0] == 0 && strcmp(a->resource, "pods") == 0;
	bool lease_res =
	    strcmp(a->group, "coordination.k8s.io") == 0 && strcmp(a->resource, "leases") == 0;
	bool token_res = a->group[0] == 0 && strcmp(a->resource, "serviceaccounts") == 0 &&
			 strcmp(a->verb, "create") == 0 && a->sub && strcmp(a->sub, "token") == 0;

	/* only these writes are NodeRestriction's: no body parsed for the others (events) */
	if (in_list("get list watch", a->verb) || !(node_res || pod_res || lease_res || token_res))
		return true;
	d = jv_doc_new();
	if (!d) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return false;
	}
	if (strcmp(a->verb, "create") == 0 && !a->sub && !pod_res)
		name = jv_path_str(body_obj(r, d), "metadata.name");
	if (node_res) {
		if (!name || strcmp(name, node) != 0) {
			admit_forbid(r, name, "node \"%s\" is not allowed to modify node \"%s\"",
				     node, name ? name : "");
			ok = false;
		}
	} else if (pod_res) {
		ok = admit_pod(r, node, a, d);
	} else if (token_res) {
		ok = admit_token(r, node, a, d);
	} else {
		if (!a->ns || strcmp(a->ns, LEASE_NS) != 0) {
			admit_forbid(r, name,
				     "can only access leases in the \"" LEASE_NS
				     "\" system namespace");
			ok = false;
		} else if (!name || strcmp(name, node) != 0) {
			admit_forbid(r, name,
				     "can only access node lease with the same name as the "
				     "requesting node");
			ok = false;
		}
	}
	jv_doc_free(d);
	return ok;
}

static bool user_in(const struct api_user *u, const char *g)
{
	for (unsigned i = 0; i < u->ngroups; i++)
		if (strcmp(u->groups[i], g) == 0)
			return true;
	return false;
}

/* The Node authorizer's decision for node (its NoOpinion is false): reason set when it has
 * one (leases, service accounts). */
static bool node_allows(struct api_server *s, const char *node, const struct api_authz *a,
			char *reason, size_t size)
{
	char buf[300];
	const char *why;

	if (!a->resource_req)
		return false;
	if (strcmp(a->group, "coordination.k8s.io") == 0 && strcmp(a->resource, "leases") == 0) {
		why = authorize_lease(node, a);
		if (why)
			snprintf(reason, size, "%s", why);
		return !why;
	}
	if (a->group[0] == 0 && strcmp(a->resource, "serviceaccounts") == 0) {
		why = authorize_create_token(s, node, a, buf, sizeof(buf));
		if (why)
			snprintf(reason, size, "%s", why);
		return !why;
	}
	return rules_allow(node_rules, sizeof(node_rules) / sizeof(node_rules[0]), a);
}

static const char *node_of(const struct api_user *u)
{
	if (strncmp(u->name, NODE_PREFIX, strlen(NODE_PREFIX)) == 0 && user_in(u, NODES) &&
	    u->name[strlen(NODE_PREFIX)])
		return u->name + strlen(NODE_PREFIX);
	return NULL;
}

bool api_authz_decide(struct api_server *s, const struct api_user *u, const struct api_authz *a,
		      char *reason, size_t size)
{
	const char *node = node_of(u);
	char why[512] = "";

	reason[0] = 0;
	if (user_in(u, MASTERS))
		return true;
	if (node && node_allows(s, node, a, why, sizeof(why)))
		return true;
	if (user_in(u, BOOTSTRAPPERS) && a->resource_req &&
	    rules_allow(bootstrap_rules, sizeof(bootstrap_rules) / sizeof(bootstrap_rules[0]), a))
		return true;
	if (api_rbac_allows(s, u, a, reason, size))
		return true;
	/* the union authorizer's reasons, joined */
	if (why[0] && reason[0]) {
		char rb[512];

		snprintf(rb, sizeof(rb), "%s", reason);
		snprintf(reason, size, "%s, %s", why, rb);
	} else if (why[0]) {
		snprintf(reason, size, "%s", why);
	}
	return false;
}

bool api_authorize(struct api_req *r)
{
	struct api_authz a = {.verb = verb_name(r), .group = "", .resource = "", .path = r->path};
	struct api_user u;
	const char *node;
	char reason[600];

	if (r->srv->cfg.insecure_loopback || !r->conn)
		return true;
	if (!api_impersonate(r))
		return false;
	u = (struct api_user){r->user, (const char(*)[128])r->groups, r->ngroups};
	node = node_of(&u);
	if (r->rt.type != ROUTE_RESOURCE) {
		if ((node || in_group(r, BOOTSTRAPPERS)) && discovery_path(r))
			return true;
		a.verb = r->method == API_M_GET || r->method == API_M_HEAD ? "get"
			 : r->method == API_M_POST			   ? "post"
			 : r->method == API_M_PUT			   ? "put"
			 : r->method == API_M_PATCH			   ? "patch"
			 : r->method == API_M_DELETE			   ? "delete"
									   : "";
	} else {
		a.resource_req = true;
		a.group = r->rt.res->kind->group;
		a.resource = r->rt.res->kind->resource;
		a.sub = r->rt.sub;
		a.ns = r->rt.ns;
		a.name = r->rt.name;
	}
	if (!api_authz_decide(r->srv, &u, &a, reason, sizeof(reason))) {
		forbid(r, &a, reason);
		return false;
	}
	/* NodeRestriction admission on a node's writes */
	return node && a.resource_req ? admit(r, node, &a) : true;
}

/* ---- CertificateSigningRequests: who asked ---- */

void api_csr_requester(struct api_req *r)
{
	struct jv_doc *d;
	struct jv *obj, *spec, *groups;
	char *json;
	size_t len;

	if (r->rt.type != ROUTE_RESOURCE || r->method != API_M_POST || r->rt.sub ||
	    strcmp(r->rt.res->kind->group, "certificates.k8s.io") != 0 ||
	    strcmp(r->rt.res->kind->resource, "certificatesigningrequests") != 0)
		return;
	d = jv_doc_new();
	obj = d ? body_obj(r, d) : NULL;
	spec = obj && obj->type == JV_OBJECT ? jv_obj_at(d, obj, "spec") : NULL;
	if (!spec) {
		jv_doc_free(d); /* not JSON: the decoder answers */
		return;
	}
	/* PrepareForCreate: the requester's identity, whatever the client wrote */
	jv_set(d, spec, "username", jv_new_strz(d, r->user));
	jv_del(spec, "uid");
	jv_del(spec, "extra");
	groups = jv_new(d, JV_ARRAY);
	for (unsigned i = 0; i < r->ngroups; i++)
		jv_push(groups, jv_new_strz(d, r->groups[i]));
	jv_push(groups, jv_new_strz(d, "system:authenticated"));
	jv_set(d, spec, "groups", groups);
	json = jv_to_json(obj, &len);
	if (json) {
		r->body.len = 0;
		k8s_buf_put(&r->body, json, len);
		free(json);
	}
	jv_doc_free(d);
}
