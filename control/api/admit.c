/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admit: validation of a defaulted object with Kubernetes' field paths and wording: the
 * schema's enums and required fields (k8s_jv_decode under Strict), object metadata (names,
 * labels, annotations), and each kind's own rules (pkg/apis/<group>/validation) that kubectl
 * users meet: containers, ports, selectors against template labels, service ports and types,
 * immutable fields on update; and the Service allocations (ClusterIP, NodePorts) with their
 * release when a write fails or a Service goes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_admit.h"
#include "api_alloc.h"
#include "api_selector.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

static const char DNS1123_SUBDOMAIN_MSG[] = API_DNS1123_SUBDOMAIN_MSG;
static const char DNS1123_LABEL_MSG[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

const char *api_dns1123_label_error(const char *s)
{
	if (strlen(s) > 63)
		return "must be no more than 63 characters";
	return label_ok(s, strlen(s)) ? NULL : DNS1123_LABEL_MSG;
}

const char *api_dns1123_subdomain_error(const char *s)
{
	return api_dns1123_subdomain_error_n(s, strlen(s));
}

const char *api_dns1123_subdomain_error_n(const char *s, size_t n)
{
	size_t start = 0;

	if (n > 253)
		return "must be no more than 253 characters";
	if (n == 0)
		return DNS1123_SUBDOMAIN_MSG;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start || !lower_alnum(s[start]) || !lower_alnum(s[i - 1]))
			return DNS1123_SUBDOMAIN_MSG;
		for (size_t j = start; j < i; j++)
			if (!lower_alnum(s[j]) && s[j] != '-')
				return DNS1123_SUBDOMAIN_MSG;
		start = i + 1;
	}
	return NULL;
}

/* ---- causes ---- */

__attribute__((format(printf, 4, 5))) static void cause(struct api_admit *a, const char *field,
							const char *reason, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k8s_errors_add(&a->errs, field, reason, 0, 0, "%s", msg);
}

static void invalid(struct api_admit *a, const char *field, const struct jv *v, const char *why)
{
	char val[256];

	if (v && v->type == JV_STRING)
		snprintf(val, sizeof(val), "\"%.200s\"", v->s);
	else if (v && v->type == JV_NUMBER)
		snprintf(val, sizeof(val), "%s", v->s);
	else
		snprintf(val, sizeof(val), "%s", v && v->type == JV_TRUE ? "true" : "null");
	cause(a, field, K8S_REASON_INVALID, "Invalid value: %s: %s", val, why);
}

static void required(struct api_admit *a, const char *field, const char *detail)
{
	if (detail)
		cause(a, field, K8S_REASON_REQUIRED, "Required value: %s", detail);
	else
		cause(a, field, K8S_REASON_REQUIRED, "Required value");
}

/* ---- metadata ---- */

enum name_rule { NAME_SUBDOMAIN, NAME_LABEL, NAME_PATH };

static enum name_rule name_rule_of(const struct api_resource *res)
{
	const char *r = res->kind->resource;

	if (strcmp(r, "namespaces") == 0 || strcmp(r, "services") == 0)
		return NAME_LABEL;
	if (strcmp(r, "events") == 0 || strcmp(r, "horizontalpodautoscalers") == 0 ||
	    strstr(res->kind->group, "rbac") == res->kind->group)
		return NAME_PATH;
	return NAME_SUBDOMAIN;
}

static void validate_name(struct api_admit *a, const char *name)
{
	const struct jv *v = jv_path(a->obj, "metadata.name");
	const char *why = NULL;

	if (!name || !name[0])
		return; /* reported as required by the create */
	switch (name_rule_of(a->res)) {
	case NAME_LABEL:
		why = api_dns1123_label_error(name);
		break;
	case NAME_SUBDOMAIN:
		why = api_dns1123_subdomain_error(name);
		break;
	case NAME_PATH:
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			why = "may not be '.' or '..'";
		else if (strchr(name, '/') || strchr(name, '%'))
			why = "may not contain '/' or '%'";
		break;
	}
	if (why)
		invalid(a, "metadata.name", v, why);
}

static void validate_labels(struct api_admit *a, const struct jv *labels, const char *path)
{
	char field[512];

	for (const struct jv *l = labels && labels->type == JV_OBJECT ? labels->head : NULL; l;
	     l = l->next) {
		const char *why = api_label_key_error(l->key, l->klen);

		if (why) {
			struct jv key = {.type = JV_STRING, .s = l->key, .len = l->klen};

			invalid(a, path, &key, why);
			continue;
		}
		if (l->type == JV_STRING && (why = api_label_value_error(l->s, l->len))) {
			snprintf(field, sizeof(field), "%s", path);
			invalid(a, field, l, why);
		}
	}
}

static void validate_metadata(struct api_admit *a)
{
	const struct jv *md = jv_get(a->obj, "metadata");
	const struct jv *ann = jv_get(md, "annotations");
	size_t total = 0;

	validate_name(a, jv_path_str(md, "name"));
	validate_labels(a, jv_get(md, "labels"), "metadata.labels");
	for (const struct jv *x = ann && ann->type == JV_OBJECT ? ann->head : NULL; x;
	     x = x->next) {
		const char *why = api_label_key_error(x->key, x->klen);

		total += x->klen + (x->type == JV_STRING ? x->len : 0);
		if (why) {
			struct jv key = {.type = JV_STRING, .s = x->key, .len = x->klen};

			invalid(a, "metadata.annotations", &key, why);
		}
	}
	if (total > 256 * 1024)
		cause(a, "metadata.annotations", "FieldValueTooLong",
		      "Too long: must have at most 262144 bytes");
	if (a->old) {
		const char *on = jv_path_str(a->old, "metadata.name");
		const char *nn = jv_path_str(md, "name");

		if (on && nn && strcmp(on, nn) != 0)
			invalid(a, "metadata.name", jv_get(md, "name"), "field is immutable");
	}
}

/* ---- pods ---- */

static void validate_container(struct api_admit *a, const struct jv *ct, const char *path,
			       bool image_required)
{
	char f[512];
	const char *name = jv_path_str(ct, "name"), *image = jv_path_str(ct, "image");
	size_t i = 0;

	snprintf(f, sizeof(f), "%.400s.name", path);
	if (name && name[0] && api_dns1123_label_error(name))
		invalid(a, f, jv_get(ct, "name"), api_dns1123_label_error(name));
	snprintf(f, sizeof(f), "%.400s.image", path);
	if (image_required && (!image || !image[0]))
		required(a, f, NULL);
	EACH(p, jv_get(ct, "ports"))
	{
		int64_t port = 0;

		snprintf(f, sizeof(f), "%.400s.ports[%zu].containerPort", path, i);
		if (jv_path_int(p, "containerPort", &port) == 0 && (port < 1 || port > 65535))
			invalid(a, f, jv_get(p, "containerPort"),
				"must be between 1 and 65535, inclusive");
		i++;
	}
}

static void validate_containers(struct api_admit *a, const struct jv *spec, const char *path,
				const char *key, bool required_nonempty)
{
	char f[512];
	size_t i = 0;
	const struct jv *arr = jv_get(spec, key);

	snprintf(f, sizeof(f), "%s.%s", path, key);
	if (required_nonempty && !jv_count(arr)) {
		required(a, f, NULL);
		return;
	}
	EACH(ct, arr)
	{
		const char *name = jv_path_str(ct, "name");
		size_t j = 0;

		snprintf(f, sizeof(f), "%s.%s[%zu]", path, key, i);
		validate_container(a, ct, f, true);
		EACH(prev, arr)
		{
			if (j++ >= i)
				break;
			if (name && jv_is_str(jv_get(prev, "name"), name)) {
				char nf[560];

				snprintf(nf, sizeof(nf), "%s.name", f);
				cause(a, nf, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"", name);
				break;
			}
		}
		i++;
	}
}

static void validate_pod_spec(struct api_admit *a, const struct jv *spec, const char *path)
{
	if (!spec)
		return;
	validate_containers(a, spec, path, "containers", true);
	validate_containers(a, spec, path, "initContainers", false);
}

static void validate_template(struct api_admit *a, const struct jv *spec, const char *path,
			      bool restart_always)
{
	const struct jv *tmpl = jv_get(spec, "template");
	const struct jv *sel = jv_get(spec, "selector");
	const struct jv *labels = jv_path(tmpl, "metadata.labels");
	const char *rp = jv_path_str(tmpl, "spec.restartPolicy");
	char f[256];

	snprintf(f, sizeof(f), "%s.selector", path);
	if (!sel) {
		required(a, f, NULL);
	} else if (!jv_count(jv_get(sel, "matchLabels")) &&
		   !jv_count(jv_get(sel, "matchExpressions"))) {
		invalid(a, f, NULL, "empty selector is invalid for deployment");
	} else if (!api_label_selector_matches(sel, labels)) {
		snprintf(f, sizeof(f), "%s.template.metadata.labels", path);
		invalid(a, f, NULL, "`selector` does not match template `labels`");
	}
	snprintf(f, sizeof(f), "%s.template.spec", path);
	validate_pod_spec(a, jv_path(tmpl, "spec"), f);
	snprintf(f, sizeof(f), "%s.template.metadata.labels", path);
	validate_labels(a, labels, f);
	if (restart_always && rp && strcmp(rp, "Always") != 0) {
		snprintf(f, sizeof(f), "%s.template.spec.restartPolicy", path);
		cause(a, f, K8S_REASON_NOT_SUPPORTED,
		      "Unsupported value: \"%s\": supported values: "
		      "\"Always\"",
		      rp);
	}
}

static void validate_replicas(struct api_admit *a, const struct jv *spec, const char *path)
{
	int64_t n = 0;
	char f[128];

	snprintf(f, sizeof(f), "%s.replicas", path);
	if (jv_path_int(spec, "replicas", &n) == 0 && n < 0)
		invalid(a, f, jv_get(spec, "replicas"), "must be greater than or equal to 0");
}

/* apps/v1 selectors may not change */
static void immutable(struct api_admit *a, const char *path)
{
	const struct jv *n = jv_path(a->obj, path), *o = a->old ? jv_path(a->old, path) : NULL;

	if (a->old && !jv_equal(n, o))
		invalid(a, path, NULL, "field is immutable");
}

/* ---- services ---- */

static void validate_service(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	const char *type = jv_path_str(spec, "type");
	const char *cip = jv_path_str(spec, "clusterIP");
	bool external = type && strcmp(type, "ExternalName") == 0;
	bool headless = cip && strcmp(cip, "None") == 0;
	size_t i = 0;
	char f[128];

	if (!external && !headless && !jv_count(jv_get(spec, "ports")))
		required(a, "spec.ports", NULL);
	if (external && !jv_path_str(spec, "externalName"))
		required(a, "spec.externalName", NULL);
	EACH(p, jv_get(spec, "ports"))
	{
		int64_t port = 0;
		const char *name = jv_path_str(p, "name");
		size_t j = 0;

		snprintf(f, sizeof(f), "spec.ports[%zu].port", i);
		if (jv_path_int(p, "port", &port) != 0)
			required(a, f, NULL);
		else if (port < 1 || port > 65535)
			invalid(a, f, jv_get(p, "port"), "must be between 1 and 65535, inclusive");
		snprintf(f, sizeof(f), "spec.ports[%zu].name", i);
		if (jv_count(jv_get(spec, "ports")) > 1 && (!name || !name[0]))
			required(a, f, NULL);
		EACH(q, jv_get(spec, "ports"))
		{
			if (j++ >= i)
				break;
			if (name && name[0] && jv_is_str(jv_get(q, "name"), name)) {
				cause(a, f, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"", name);
				break;
			}
		}
		if (jv_path_int(p, "nodePort", &port) == 0 && port && type &&
		    strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0) {
			snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
			cause(a, f, "FieldValueForbidden",
			      "Forbidden: may not be used when `type` is '%s'", type);
		}
		i++;
	}
	if (a->old && cip && cip[0]) {
		const char *ocip = jv_path_str(a->old, "spec.clusterIP");
		const char *otype = jv_path_str(a->old, "spec.type");

		if (ocip && ocip[0] && strcmp(ocip, cip) != 0 &&
		    !(otype && strcmp(otype, "ExternalName") == 0) && !external)
			invalid(a, "spec.clusterIPs[0]", jv_get(spec, "clusterIP"),
				"may not change once set");
	}
	validate_labels(a, jv_get(spec, "selector"), "spec.selector");
}

/* ---- configmaps and secrets ---- */

static void validate_data_keys(struct api_admit *a, const char *key)
{
	char f[320];

	for (const struct jv *k = jv_first(jv_get(a->obj, key)); k; k = k->next) {
		bool ok = k->klen > 0 && k->klen <= 253 && strcmp(k->key, ".") != 0 &&
			  strcmp(k->key, "..") != 0;

		for (size_t i = 0; ok && i < k->klen; i++) {
			char ch = k->key[i];

			ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		}
		if (!ok) {
			struct jv kv = {.type = JV_STRING, .s = k->key, .len = k->klen};

			snprintf(f, sizeof(f), "%s[%.250s]", key, k->key);
			invalid(
			    a, f, &kv,
			    "a valid config key must consist of alphanumeric characters, '-', "
			    "'_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
			    "used for validation is '[-._a-zA-Z0-9]+')");
		}
	}
}

static void validate_secret(struct api_admit *a)
{
	const char *type = jv_path_str(a->obj, "type");
	const struct jv *data = jv_get(a->obj, "data");

	validate_data_keys(a, "data");
	if (!type)
		return;
	if (strcmp(type, "kubernetes.io/tls") == 0) {
		if (!jv_get(data, "tls.crt"))
			required(a, "data[tls.crt]", NULL);
		if (!jv_get(data, "tls.key"))
			required(a, "data[tls.key]", NULL);
	} else if (strcmp(type, "kubernetes.io/dockerconfigjson") == 0) {
		if (!jv_get(data, ".dockerconfigjson"))
			required(a, "data[.dockerconfigjson]", NULL);
	} else if (strcmp(type, "kubernetes.io/basic-auth") == 0) {
		if (!jv_get(data, "username") && !jv_get(data, "password"))
			required(a, "data", "must have at least one of username or password");
	}
	if (a->old && !jv_equal(jv_get(a->old, "type"), jv_get(a->obj, "type")))
		invalid(a, "type", jv_get(a->obj, "type"), "field is immutable");
}

/* ---- entry ---- */

int api_admit_validate(struct api_admit *a)
{
	struct k8s_validate_opts vo = {.validation = K8S_FV_STRICT};
	const char *res = a->res->kind->resource, *g = a->res->kind->group;
	const struct jv *spec = jv_get(a->obj, "spec");

	/* the schema: enums and +required fields, on the defaulted object */
	if (k8s_jv_decode(a->obj, a->res->kind->type, &vo, &a->errs) == -ENOMEM)
		return -ENOMEM;
	validate_metadata(a);
	if (!g[0]) {
		if (strcmp(res, "pods") == 0 && !a->sub) {
			validate_pod_spec(a, spec, "spec");
		} else if (strcmp(res, "services") == 0) {
			validate_service(a);
		} else if (strcmp(res, "configmaps") == 0) {
			validate_data_keys(a, "data");
			validate_data_keys(a, "binaryData");
		} else if (strcmp(res, "secrets") == 0) {
			validate_secret(a);
		}
	} else if (strcmp(g, "apps") == 0) {
		bool always = strcmp(res, "deployments") == 0 || strcmp(res, "daemonsets") == 0 ||
			      strcmp(res, "statefulsets") == 0 || strcmp(res, "replicasets") == 0;

		if (strcmp(res, "controllerrevisions") != 0) {
			validate_template(a, spec, "spec", always);
			validate_replicas(a, spec, "spec");
			immutable(a, "spec.selector");
		}
	} else if (strcmp(g, "batch") == 0 && strcmp(res, "jobs") == 0) {
		validate_pod_spec(a, jv_path(spec, "template.spec"), "spec.template.spec");
	} else if (strcmp(g, "batch") == 0 && strcmp(res, "cronjobs") == 0) {
		validate_pod_spec(a, jv_path(spec, "jobTemplate.spec.template.spec"),
				  "spec.jobTemplate.spec.template.spec");
		if (!jv_path_str(spec, "schedule"))
			required(a, "spec.schedule", NULL);
	}
	return a->errs.n ? -EINVAL : 0;
}

/* ---- Service allocations ---- */

static void note_ip(struct api_admit *a, const char *ip, bool is_new)
{
	if (is_new && a->nnew_ips < API_ADMIT_MAX_ALLOC)
		snprintf(a->new_ips[a->nnew_ips++], 16, "%s", ip);
	else if (!is_new && a->nold_ips < API_ADMIT_MAX_ALLOC)
		snprintf(a->old_ips[a->nold_ips++], 16, "%s", ip);
}

static void note_port(struct api_admit *a, int port, bool is_new)
{
	if (is_new && a->nnew_ports < API_ADMIT_MAX_ALLOC)
		a->new_ports[a->nnew_ports++] = port;
	else if (!is_new && a->nold_ports < API_ADMIT_MAX_ALLOC)
		a->old_ports[a->nold_ports++] = port;
}

static bool wants_cluster_ip(const char *type)
{
	return !type || strcmp(type, "ExternalName") != 0;
}

static bool wants_node_ports(const struct jv *spec)
{
	const char *type = jv_path_str(spec, "type");
	const struct jv *alloc = jv_get(spec, "allocateLoadBalancerNodePorts");

	if (!type)
		return false;
	if (strcmp(type, "NodePort") == 0)
		return true;
	return strcmp(type, "LoadBalancer") == 0 && !(alloc && alloc->type == JV_FALSE);
}

static int old_node_port(const struct jv *old, const struct jv *p)
{
	EACH(q, jv_path(old, "spec.ports"))
	{
		int64_t np = 0;

		if (jv_path_int(q, "nodePort", &np) == 0 &&
		    jv_equal(jv_get(q, "port"), jv_get(p, "port")) &&
		    jv_equal(jv_get(q, "protocol"), jv_get(p, "protocol")))
			return (int)np;
	}
	return 0;
}

static void allocate_cluster_ip(struct api_admit *a, struct jv *spec)
{
	const char *want = jv_path_str(spec, "clusterIP");
	const char *had = a->old ? jv_path_str(a->old, "spec.clusterIP") : NULL;
	char ip[16], why[256];
	struct jv *ips;
	int err;

	if (want && strcmp(want, "None") == 0)
		goto set_ips;
	if (had && had[0] && strcmp(had, "None") != 0 &&
	    (!want || !want[0] || !strcmp(want, had))) {
		jv_set(a->d, spec, "clusterIP", jv_new_strz(a->d, had));
		goto set_ips;
	}
	err = api_alloc_ip(a->srv, want, ip);
	if (err) {
		if (err == -EEXIST)
			snprintf(why, sizeof(why),
				 "failed to allocate IP %s: provided IP is already "
				 "allocated",
				 want);
		else if (err == -ERANGE)
			snprintf(
			    why, sizeof(why),
			    "failed to allocate IP %s: the provided IP (%s) is not in the valid "
			    "range. The range of valid IPs is %s",
			    want, want, api_alloc_cidr(a->srv));
		else if (err == -EINVAL)
			snprintf(why, sizeof(why),
				 "must be a valid IP address, (e.g. 10.9.8.7 or "
				 "2001:db8::ffff)");
		else
			snprintf(why, sizeof(why), "failed to allocate a serviceIP: range is full");
		invalid(a, "spec.clusterIPs", jv_get(spec, "clusterIP"), why);
		return;
	}
	note_ip(a, ip, true);
	jv_set(a->d, spec, "clusterIP", jv_new_strz(a->d, ip));
set_ips:
	ips = jv_new(a->d, JV_ARRAY);
	jv_push(ips, jv_new_strz(a->d, jv_path_str(spec, "clusterIP")));
	jv_set(a->d, spec, "clusterIPs", ips);
}

static void allocate_node_ports(struct api_admit *a, struct jv *spec)
{
	size_t i = 0;

	EACH(p, jv_get(spec, "ports"))
	{
		int64_t want = 0;
		int had = a->old ? old_node_port(a->old, p) : 0, port = 0, lo, hi, err;
		char f[64], why[160];

		jv_path_int(p, "nodePort", &want);
		if (had && (!want || want == had)) {
			jv_set(a->d, p, "nodePort", jv_new_int(a->d, had));
			i++;
			continue;
		}
		err = api_alloc_port(a->srv, (int)want, &port);
		snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
		if (err == -EEXIST) {
			invalid(a, f, jv_get(p, "nodePort"), "provided port is already allocated");
		} else if (err == -ERANGE) {
			api_alloc_port_range(a->srv, &lo, &hi);
			snprintf(
			    why, sizeof(why),
			    "provided port is not in the valid range. The range of valid ports "
			    "is %d-%d",
			    lo, hi);
			invalid(a, f, jv_get(p, "nodePort"), why);
		} else if (err) {
			invalid(a, f, jv_get(p, "nodePort"), "range is full");
		} else {
			note_port(a, port, true);
			jv_set(a->d, p, "nodePort", jv_new_int(a->d, port));
		}
		i++;
	}
}

/* What the old Service held that the new one no longer does: freed after the write. */
static void note_released(struct api_admit *a, const struct jv *spec)
{
	const char *oip = jv_path_str(a->old, "spec.clusterIP");
	const char *nip = jv_path_str(spec, "clusterIP");

	if (oip && oip[0] && strcmp(oip, "None") != 0 && (!nip || strcmp(oip, nip) != 0))
		note_ip(a, oip, false);
	EACH(q, jv_path(a->old, "spec.ports"))
	{
		int64_t np = 0;
		bool kept = false;

		if (jv_path_int(q, "nodePort", &np) != 0 || !np)
			continue;
		EACH(p, jv_get(spec, "ports"))
		{
			int64_t n = 0;

			if (jv_path_int(p, "nodePort", &n) == 0 && n == np)
				kept = true;
		}
		if (!kept)
			note_port(a, (int)np, false);
	}
}

int api_admit_allocate(struct api_admit *a)
{
	struct jv *spec;

	if (strcmp(a->res->kind->resource, "services") != 0 || a->res->kind->group[0] ||
	    (a->sub && strcmp(a->sub, "status") == 0))
		return 0;
	spec = jv_obj_at(a->d, a->obj, "spec");
	if (wants_cluster_ip(jv_path_str(spec, "type")))
		allocate_cluster_ip(a, spec);
	else {
		jv_del(spec, "clusterIP");
		jv_del(spec, "clusterIPs");
	}
	if (wants_node_ports(spec))
		allocate_node_ports(a, spec);
	else
		EACH(p, jv_get(spec, "ports"))
	jv_del(p, "nodePort");
	if (a->old)
		note_released(a, spec);
	if (a->errs.n) {
		api_admit_abort(a);
		return -EINVAL;
	}
	return 0;
}

void api_admit_commit(struct api_admit *a)
{
	for (size_t i = 0; i < a->nold_ips; i++)
		api_alloc_ip_release(a->srv, a->old_ips[i]);
	for (size_t i = 0; i < a->nold_ports; i++)
		api_alloc_port_release(a->srv, a->old_ports[i]);
	a->nold_ips = a->nold_ports = a->nnew_ips = a->nnew_ports = 0;
}

void api_admit_abort(struct api_admit *a)
{
	for (size_t i = 0; i < a->nnew_ips; i++)
		api_alloc_ip_release(a->srv, a->new_ips[i]);
	for (size_t i = 0; i < a->nnew_ports; i++)
		api_alloc_port_release(a->srv, a->new_ports[i]);
	a->nold_ips = a->nold_ports = a->nnew_ips = a->nnew_ports = 0;
}

void api_admit_release_deleted(struct api_server *s, const struct api_resource *res,
			       const struct jv *obj)
{
	const char *ip = jv_path_str(obj, "spec.clusterIP");

	if (strcmp(res->kind->resource, "services") != 0 || res->kind->group[0])
		return;
	if (ip && ip[0] && strcmp(ip, "None") != 0)
		api_alloc_ip_release(s, ip);
	EACH(p, jv_path(obj, "spec.ports"))
	{
		int64_t np = 0;

		if (jv_path_int(p, "nodePort", &np) == 0 && np)
			api_alloc_port_release(s, (int)np);
	}
}

void api_admit_free(struct api_admit *a)
{
	k8s_errors_free(&a->errs);
}
