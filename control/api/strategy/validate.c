/* SPDX-License-Identifier: Apache-2.0 */
/*
 * validate: validation of a defaulted object with Kubernetes' field paths and wording: the
 * schema's enums and required fields (k8s_jv_decode under Strict), object metadata (names by
 * the strategy's rule, labels, annotations), and the kinds' own rules (pkg/apis/<group>/
 * validation) that kubectl users meet, as strategy hooks: containers, ports, selectors
 * against template labels, service ports and types, immutable fields on update.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_selector.h"
#include "cron.h"
#include "api_strategy.h"
#include "kinds.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* ---- metadata ---- */

static void validate_name(struct api_admit *a, const char *name)
{
	const struct jv *v = jv_path(a->obj, "metadata.name");
	const char *why = NULL;

	if (!name || !name[0])
		return; /* reported as required by the create */
	switch (api_strategy_of(a->res)->name_rule) {
	case API_NAME_LABEL:
		why = api_dns1123_label_error(name);
		break;
	case API_NAME_SUBDOMAIN:
		why = api_dns1123_subdomain_error(name);
		break;
	case API_NAME_PATH:
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			why = "may not be '.' or '..'";
		else if (strchr(name, '/') || strchr(name, '%'))
			why = "may not contain '/' or '%'";
		break;
	}
	if (why)
		api_cause_invalid(a, "metadata.name", v, why);
}

static void validate_labels(struct api_admit *a, const struct jv *labels, const char *path)
{
	char field[512];

	for (const struct jv *l = labels && labels->type == JV_OBJECT ? labels->head : NULL; l;
	     l = l->next) {
		const char *why = api_label_key_error(l->key, l->klen);

		if (why) {
			struct jv key = {.type = JV_STRING, .s = l->key, .len = l->klen};

			api_cause_invalid(a, path, &key, why);
			continue;
		}
		if (l->type == JV_STRING && (why = api_label_value_error(l->s, l->len))) {
			snprintf(field, sizeof(field), "%s", path);
			api_cause_invalid(a, field, l, why);
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

			api_cause_invalid(a, "metadata.annotations", &key, why);
		}
	}
	if (total > 256 * 1024)
		api_cause(a, "metadata.annotations", "FieldValueTooLong",
			  "Too long: must have at most 262144 bytes");
	if (a->old) {
		const char *on = jv_path_str(a->old, "metadata.name");
		const char *nn = jv_path_str(md, "name");

		if (on && nn && strcmp(on, nn) != 0)
			api_cause_invalid(a, "metadata.name", jv_get(md, "name"),
					  "field is immutable");
	}
}

/* ---- pods ---- */

static void validate_container(struct api_admit *a, const struct jv *spec, const struct jv *ct,
			       const char *path, bool image_required)
{
	char f[512];
	const char *name = jv_path_str(ct, "name"), *image = jv_path_str(ct, "image");

	snprintf(f, sizeof(f), "%.400s.name", path);
	if (name && name[0] && api_dns1123_label_error(name))
		api_cause_invalid(a, f, jv_get(ct, "name"), api_dns1123_label_error(name));
	snprintf(f, sizeof(f), "%.400s.image", path);
	if (image_required && (!image || !image[0]))
		api_cause_required(a, f, NULL);
	api_validate_container_ports(a, ct, path);
	api_validate_container_spec(a, spec, ct, path);
}

static void validate_containers(struct api_admit *a, const struct jv *spec, const char *path,
				const char *key, bool required_nonempty)
{
	char f[512];
	size_t i = 0;
	const struct jv *arr = jv_get(spec, key);

	snprintf(f, sizeof(f), "%s.%s", path, key);
	if (required_nonempty && !jv_count(arr)) {
		api_cause_required(a, f, NULL);
		return;
	}
	EACH(ct, arr)
	{
		const char *name = jv_path_str(ct, "name");
		size_t j = 0;
		bool dup = false;

		snprintf(f, sizeof(f), "%s.%s[%zu]", path, key, i);
		validate_container(a, spec, ct, f, true);
		/* an init container's name is also unique among the regular ones */
		EACH(prev, strcmp(key, "containers") ? jv_get(spec, "containers") : NULL)
		if (name && jv_is_str(jv_get(prev, "name"), name)) {
			char nf[560];

			snprintf(nf, sizeof(nf), "%s.name", f);
			api_cause(a, nf, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"", name);
			dup = true;
			break;
		}
		EACH(prev, dup ? NULL : arr)
		{
			if (j++ >= i)
				break;
			if (name && jv_is_str(jv_get(prev, "name"), name)) {
				char nf[560];

				snprintf(nf, sizeof(nf), "%s.name", f);
				api_cause(a, nf, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"",
					  name);
				break;
			}
		}
		api_validate_container_probes(a, spec, ct, strcmp(key, "containers") != 0, f);
		i++;
	}
}

static bool names_container(const struct jv *spec, const char *name)
{
	EACH(ct, jv_get(spec, "containers"))
	if (jv_is_str(jv_get(ct, "name"), name))
		return true;
	EACH(ct, jv_get(spec, "initContainers"))
	if (jv_is_str(jv_get(ct, "name"), name))
		return true;
	return false;
}

/* validateEphemeralContainers (1.32): a container's rules (validateContainerCommon), a name
 * unique among all the pod's containers, a targetContainerName naming a container or init
 * container, none of the fields outside allowedEphemeralContainerFields (validateFieldAllowList
 * in the struct's order: set means not Go's zero value) and no subPath mounts. */
static void validate_ephemeral_containers(struct api_admit *a, const struct jv *spec,
					  const char *path)
{
	static const char *const denied[] = {"ports",	      "resources",	"resizePolicy",
					     "livenessProbe", "readinessProbe", "startupProbe",
					     "lifecycle",     "restartPolicy"};
	const struct jv *arr = jv_get(spec, "ephemeralContainers");
	char f[512], nf[600];
	size_t i = 0;

	EACH(ec, arr)
	{
		const char *name = jv_path_str(ec, "name");
		const char *target = jv_path_str(ec, "targetContainerName");
		bool dup = name && names_container(spec, name);
		size_t j = 0, m = 0;

		snprintf(f, sizeof(f), "%s.ephemeralContainers[%zu]", path, i);
		validate_container(a, spec, ec, f, true);
		EACH(prev, dup ? NULL : arr)
		{
			if (j++ >= i)
				break;
			dup = name && jv_is_str(jv_get(prev, "name"), name);
			if (dup)
				break;
		}
		snprintf(nf, sizeof(nf), "%s.name", f);
		if (dup)
			api_cause(a, nf, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"", name);
		snprintf(nf, sizeof(nf), "%s.targetContainerName", f);
		if (target && target[0] && !names_container(spec, target))
			api_cause(a, nf, "FieldValueNotFound", "Not found: \"%s\"", target);
		for (size_t k = 0; k < sizeof(denied) / sizeof(denied[0]); k++) {
			const struct jv *v = jv_get(ec, denied[k]);

			if (!v || v->type == JV_NULL ||
			    ((v->type == JV_OBJECT || v->type == JV_ARRAY ||
			      v->type == JV_STRING) &&
			     v->len == 0))
				continue;
			snprintf(nf, sizeof(nf), "%s.%s", f, denied[k]);
			api_cause_forbidden(a, nf, "cannot be set for an Ephemeral Container");
		}
		EACH(vm, jv_get(ec, "volumeMounts"))
		{
			static const char *const sub[] = {"subPath", "subPathExpr"};

			for (size_t k = 0; k < 2; k++) {
				const char *sp = jv_path_str(vm, sub[k]);

				if (!sp || !sp[0])
					continue;
				snprintf(nf, sizeof(nf), "%s.volumeMounts[%zu].%s", f, m, sub[k]);
				api_cause_forbidden(a, nf,
						    "cannot be set for an Ephemeral Container");
			}
			m++;
		}
		i++;
	}
}

static void validate_pod_spec(struct api_admit *a, const struct jv *spec, const char *path)
{
	if (!spec)
		return;
	api_validate_volumes(a, spec, path);
	validate_containers(a, spec, path, "containers", true);
	validate_containers(a, spec, path, "initContainers", false);
	validate_ephemeral_containers(a, spec, path);
}

static void validate_template(struct api_admit *a, const struct jv *spec, const char *path,
			      bool restart_always, bool pod_spec)
{
	const struct jv *tmpl = jv_get(spec, "template");
	const struct jv *sel = jv_get(spec, "selector");
	const struct jv *labels = jv_path(tmpl, "metadata.labels");
	const char *rp = jv_path_str(tmpl, "spec.restartPolicy");
	char f[256];

	snprintf(f, sizeof(f), "%s.selector", path);
	if (!sel) {
		api_cause_required(a, f, NULL);
	} else if (!jv_count(jv_get(sel, "matchLabels")) &&
		   !jv_count(jv_get(sel, "matchExpressions"))) {
		api_cause_invalid(a, f, NULL, "empty selector is invalid for deployment");
	} else if (!api_label_selector_matches(sel, labels)) {
		snprintf(f, sizeof(f), "%s.template.metadata.labels", path);
		api_cause_invalid(a, f, NULL, "`selector` does not match template `labels`");
	}
	snprintf(f, sizeof(f), "%s.template.spec", path);
	if (pod_spec)
		validate_pod_spec(a, jv_path(tmpl, "spec"), f);
	snprintf(f, sizeof(f), "%s.template.metadata.labels", path);
	validate_labels(a, labels, f);
	if (restart_always && rp && strcmp(rp, "Always") != 0) {
		snprintf(f, sizeof(f), "%s.template.spec.restartPolicy", path);
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
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
		api_cause_invalid(a, f, jv_get(spec, "replicas"),
				  "must be greater than or equal to 0");
}

/* ---- services ---- */

/* ValidateService's "Check for duplicate Ports, considering (protocol,port) pairs": the key
 * it reports is a core.ServicePort holding only those two, printed with %#v. */
static void validate_service_duplicate_ports(struct api_admit *a, const struct jv *spec)
{
	size_t i = 0;
	char f[64];

	EACH(p, jv_get(spec, "ports"))
	{
		const char *proto = jv_path_str(p, "protocol");
		int64_t port = 0, qport = 0;
		size_t j = 0;

		jv_path_int(p, "port", &port);
		EACH(q, jv_get(spec, "ports"))
		{
			const char *qproto = jv_path_str(q, "protocol");

			if (j++ >= i)
				break;
			jv_path_int(q, "port", &qport);
			if (qport != port || strcmp(proto ? proto : "", qproto ? qproto : "") != 0)
				continue;
			snprintf(f, sizeof(f), "spec.ports[%zu]", i);
			api_cause(
			    a, f, K8S_REASON_DUPLICATE,
			    "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"%s\", "
			    "AppProtocol:(*string)(nil), Port:%lld, TargetPort:intstr.IntOrString{"
			    "Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
			    proto ? proto : "", (long long)port);
			break;
		}
		i++;
	}
}

/* ValidateService's ServiceTypeExternalName case: the name (a CNAME, which may end with the
 * dot of a fully qualified name) is required and an RFC 1123 subdomain once that dot is
 * trimmed; the value reported is the trimmed one. */
static void validate_external_name(struct api_admit *a, const struct jv *spec)
{
	const char *name = jv_path_str(spec, "externalName");
	size_t n = name ? strlen(name) : 0;
	const char *why;

	if (n && name[n - 1] == '.')
		n--;
	if (!n) {
		api_cause_required(a, "spec.externalName", NULL);
		return;
	}
	why = api_dns1123_subdomain_error_n(name, n);
	if (why)
		api_cause_invalid(a, "spec.externalName", jv_new_str(a->d, name, n), why);
}

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
		api_cause_required(a, "spec.ports", NULL);
	if (external)
		validate_external_name(a, spec);
	EACH(p, jv_get(spec, "ports"))
	{
		int64_t port = 0;
		const char *name = jv_path_str(p, "name");
		size_t j = 0;

		/* validateServicePort's order: name, port, protocol, targetPort */
		snprintf(f, sizeof(f), "spec.ports[%zu].name", i);
		if (jv_count(jv_get(spec, "ports")) > 1 && (!name || !name[0]))
			api_cause_required(a, f, NULL);
		else if (name && name[0] && api_dns1123_label_error(name))
			api_cause_invalid(a, f, jv_get(p, "name"), api_dns1123_label_error(name));
		EACH(q, jv_get(spec, "ports"))
		{
			if (j++ >= i)
				break;
			if (name && name[0] && jv_is_str(jv_get(q, "name"), name)) {
				api_cause(a, f, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"",
					  name);
				break;
			}
		}
		snprintf(f, sizeof(f), "spec.ports[%zu].port", i);
		if (jv_path_int(p, "port", &port) != 0)
			api_cause_required(a, f, NULL);
		else if (port < 1 || port > 65535)
			api_cause_invalid(a, f, jv_get(p, "port"),
					  "must be between 1 and 65535, inclusive");
		snprintf(f, sizeof(f), "spec.ports[%zu].targetPort", i);
		if (jv_get(p, "targetPort"))
			api_validate_port_num_or_name(a, f, jv_get(p, "targetPort"));
		if (jv_path_int(p, "nodePort", &port) == 0 && port && type &&
		    strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0) {
			snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
			api_cause(a, f, "FieldValueForbidden",
				  "Forbidden: may not be used when `type` is '%s'", type);
		}
		i++;
	}
	if (a->old && cip && cip[0]) {
		const char *ocip = jv_path_str(a->old, "spec.clusterIP");
		const char *otype = jv_path_str(a->old, "spec.type");

		if (ocip && ocip[0] && strcmp(ocip, cip) != 0 &&
		    !(otype && strcmp(otype, "ExternalName") == 0) && !external)
			api_cause_invalid(a, "spec.clusterIPs[0]", jv_get(spec, "clusterIP"),
					  "may not change once set");
	}
	validate_labels(a, jv_get(spec, "selector"), "spec.selector");
	validate_service_duplicate_ports(a, spec);
}

/* ---- configmaps and secrets ---- */

/* core.MaxSecretSize, the limit of a ConfigMap's and a Secret's data */
#define MAX_SECRET_SIZE (1024 * 1024)

/* The bytes of the values of data (base64: decoded) */
static size_t data_size(const struct jv *data, bool base64)
{
	size_t total = 0;

	for (const struct jv *k = jv_first(data); k; k = k->next) {
		size_t n = k->type == JV_STRING ? k->len : 0;

		if (base64 && n) {
			size_t pad = (k->s[n - 1] == '=') + (n > 1 && k->s[n - 2] == '=');

			n = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) - pad;
		}
		total += n;
	}
	return total;
}

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
			api_cause_invalid(
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
	/* ValidateSecret: field.TooLong(data, "", MaxSecretSize) */
	if (data_size(data, true) > MAX_SECRET_SIZE)
		api_cause(a, "data", "FieldValueTooLong", "Too long: must have at most %d bytes",
			  MAX_SECRET_SIZE);
	if (!type)
		return;
	if (strcmp(type, "kubernetes.io/tls") == 0) {
		if (!jv_get(data, "tls.crt"))
			api_cause_required(a, "data[tls.crt]", NULL);
		if (!jv_get(data, "tls.key"))
			api_cause_required(a, "data[tls.key]", NULL);
	} else if (strcmp(type, "kubernetes.io/dockerconfigjson") == 0) {
		if (!jv_get(data, ".dockerconfigjson"))
			api_cause_required(a, "data[.dockerconfigjson]", NULL);
	} else if (strcmp(type, "kubernetes.io/basic-auth") == 0) {
		if (!jv_get(data, "username") && !jv_get(data, "password"))
			api_cause_required(a, "data",
					   "must have at least one of username or password");
	}
}

/* ---- the kinds' hooks ---- */

void api_validate_pod(struct api_admit *a)
{
	/* ValidatePodEphemeralContainersUpdate validates the whole pod (validatePodMetadataAndSpec)
	 * as ValidatePod does */
	if (!a->sub || strcmp(a->sub, "ephemeralcontainers") == 0)
		validate_pod_spec(a, jv_get(a->obj, "spec"), "spec");
	/* ValidatePodCreate */
	if (!a->old && !a->sub && jv_count(jv_path(a->obj, "spec.ephemeralContainers")))
		api_cause_forbidden(a, "spec.ephemeralContainers", "cannot be set on create");
	/* the validating admission of a pod that passed its validation */
	api_limitranger_validate(a);
}

void api_validate_service(struct api_admit *a)
{
	validate_service(a);
}

void api_validate_configmap(struct api_admit *a)
{
	validate_data_keys(a, "data");
	validate_data_keys(a, "binaryData");
	/* ValidateConfigMap: field.TooLong(field.NewPath(""), cfg, MaxSecretSize), the whole
	 * object; Path.String() writes a nameless element as an index: "[]" */
	if (data_size(jv_get(a->obj, "data"), false) +
		data_size(jv_get(a->obj, "binaryData"), true) >
	    MAX_SECRET_SIZE)
		api_cause(a, "[]", "FieldValueTooLong", "Too long: must have at most %d bytes",
			  MAX_SECRET_SIZE);
}

void api_validate_secret(struct api_admit *a)
{
	validate_secret(a);
}

/* Deployments, ReplicaSets, DaemonSets: a template that restarts Always. */
void api_validate_workload(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");

	validate_template(a, spec, "spec", true, true);
	validate_replicas(a, spec, "spec");
}

/* StatefulSets: ValidatePodTemplateSpecForStatefulSet leaves the pod spec out ("TODO: Add
 * validation for PodSpec, currently this will check volumes, which we know will fail": its
 * volumeMounts name volumeClaimTemplates); labels, selector and restartPolicy stay. */
void api_validate_statefulset(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");

	validate_template(a, spec, "spec", true, false);
	validate_replicas(a, spec, "spec");
}

/* A map as Go's %#v prints a map[string]string (the value of a field.Invalid). */
static void go_string_map(const struct jv *m, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "map[string]string{");

	for (const struct jv *i = jv_first(m); i && n < size; i = i->next)
		n += (size_t)snprintf(buf + n, size - n, "%s\"%.*s\":\"%s\"",
				      i == m->head ? "" : ", ", (int)i->klen, i->key,
				      i->type == JV_STRING ? i->s : "");
	if (n < size)
		snprintf(buf + n, size - n, "}");
}

/* ValidateReplicationControllerSpec and ValidatePodTemplateSpecForRC: a non-empty selector
 * (a map, not a LabelSelector) that the template's labels match, a template that restarts
 * Always and has no activeDeadlineSeconds. */
void api_validate_rc(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec"), *tmpl = jv_get(spec, "template");
	const struct jv *sel = jv_get(spec, "selector");
	const struct jv *labels = jv_path(tmpl, "metadata.labels");
	const char *rp = jv_path_str(tmpl, "spec.restartPolicy");
	char val[1024];

	if (a->sub)
		return;
	validate_replicas(a, spec, "spec");
	if (!jv_count(sel))
		api_cause_required(a, "spec.selector", NULL);
	if (!tmpl) {
		api_cause_required(a, "spec.template", NULL);
		return;
	}
	for (const struct jv *k = jv_count(sel) ? sel->head : NULL; k; k = k->next) {
		const struct jv *l = jv_getn(labels, k->key, k->klen);

		if (!l || !jv_equal(l, k)) {
			go_string_map(labels, val, sizeof(val));
			api_cause(a, "spec.template.metadata.labels", K8S_REASON_INVALID,
				  "Invalid value: %s: `selector` does not match template `labels`",
				  val);
			break;
		}
	}
	validate_labels(a, labels, "spec.template.metadata.labels");
	validate_pod_spec(a, jv_get(tmpl, "spec"), "spec.template.spec");
	if (rp && strcmp(rp, "Always") != 0)
		api_cause(a, "spec.template.spec.restartPolicy", K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"Always\"", rp);
	if (jv_path(tmpl, "spec.activeDeadlineSeconds"))
		api_cause(a, "spec.template.spec.activeDeadlineSeconds", "FieldValueForbidden",
			  "Forbidden: activeDeadlineSeconds in ReplicationController is not "
			  "Supported");
}

/* ValidatePodTemplate: the template's labels and pod spec. */
void api_validate_podtemplate(struct api_admit *a)
{
	validate_labels(a, jv_path(a->obj, "template.metadata.labels"), "template.metadata.labels");
	validate_pod_spec(a, jv_path(a->obj, "template.spec"), "template.spec");
}

/* validateJobSpec's end: the template (ValidatePodTemplateSpec), then its restartPolicy, which
 * SetDefaults_PodSpec makes Always when it is not given. */
static void validate_job_template(struct api_admit *a, const struct jv *jobspec, const char *path)
{
	const char *rp = jv_path_str(jobspec, "template.spec.restartPolicy");
	char f[256];

	snprintf(f, sizeof(f), "%s.template.spec", path);
	validate_pod_spec(a, jv_path(jobspec, "template.spec"), f);
	snprintf(f, sizeof(f), "%s.template.spec.restartPolicy", path);
	if (!rp || !rp[0] || !strcmp(rp, "Always"))
		api_cause_required(a, f, "valid values: \"OnFailure\", \"Never\"");
	else if (strcmp(rp, "OnFailure") != 0 && strcmp(rp, "Never") != 0)
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"OnFailure\", \"Never\"",
			  rp);
}

void api_validate_job(struct api_admit *a)
{
	validate_job_template(a, jv_get(a->obj, "spec"), "spec");
}

/* validateScheduleFormat and validateTimeZone: robfig's ParseStandard, no TZ in the
 * schedule (unless an update keeps an old schedule that had one), a zone the system has. */
static void validate_cron_schedule(struct api_admit *a, const struct jv *spec)
{
	const struct jv *sched = jv_get(spec, "schedule"), *tz = jv_get(spec, "timeZone");
	const char *old = a->old ? jv_path_str(a->old, "spec.schedule") : NULL;
	struct cron_sched *cs = NULL;
	char err[256];

	if (cron_parse(sched->s, &cs, err, sizeof(err)) != 0)
		api_cause_invalid(a, "spec.schedule", sched, err);
	cron_free(cs);
	if (strstr(sched->s, "TZ") && !(old && strstr(old, "TZ")))
		api_cause_invalid(
		    a, "spec.schedule", sched,
		    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
	if (tz && tz->type == JV_STRING) {
		struct cron_tz *z;

		if (!tz->s[0]) {
			api_cause_invalid(a, "spec.timeZone", tz,
					  "timeZone must be nil or non-empty string");
			return;
		}
		if (!strcasecmp(tz->s, "Local")) {
			api_cause_invalid(a, "spec.timeZone", tz,
					  "timeZone must be an explicit time zone as defined in "
					  "https://www.iana.org/time-zones");
			return;
		}
		z = cron_tz_load(tz->s, err, sizeof(err));
		if (!z)
			api_cause_invalid(a, "spec.timeZone", tz, err);
		cron_tz_free(z);
	}
}

void api_validate_cronjob(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");

	/* validateCronJobSpec: the schedule, then ValidateJobTemplateSpec */
	if (!jv_path_str(spec, "schedule"))
		api_cause_required(a, "spec.schedule", NULL);
	else
		validate_cron_schedule(a, spec);
	validate_job_template(a, jv_path(spec, "jobTemplate.spec"), "spec.jobTemplate.spec");
}

/* ---- entry ---- */

int api_admit_validate(struct api_admit *a)
{
	struct k8s_validate_opts vo = {.validation = K8S_FV_STRICT};
	const struct api_strategy *st = api_strategy_of(a->res);

	size_t nschema, k = 0;

	/* the schema: enums and +required fields, on the defaulted object */
	if (k8s_jv_decode(a->obj, a->res->kind->type, &vo, &a->errs) == -ENOMEM)
		return -ENOMEM;
	nschema = a->errs.n;
	validate_metadata(a);
	if (st->validate)
		st->validate(a);
	/* a field the kind's own rules judged keeps their cause only (Kubernetes' wording and
	 * order: e.g. a container port's protocol, with its supported values sorted) */
	for (size_t i = 0; i < a->errs.n; i++) {
		struct k8s_cause *c = &a->errs.causes[i];
		bool judged = false;

		for (size_t j = nschema; i < nschema && j < a->errs.n && !judged; j++)
			judged = strcmp(a->errs.causes[j].field, c->field) == 0;
		if (judged) {
			free(c->field);
			free(c->reason);
			free(c->message);
			continue;
		}
		a->errs.causes[k++] = *c;
	}
	a->errs.n = k;
	return a->errs.n ? -EINVAL : 0;
}
