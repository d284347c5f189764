/* SPDX-License-Identifier: Apache-2.0 */
/*
 * validate_pod: the pod spec rules of pkg/apis/core/validation/validation.go that sit below
 * validateContainers, with its field paths, wording and order: one source per volume
 * (validateVolumeSource), env names (ValidateEnv with IsRelaxedEnvVarName: the
 * RelaxedEnvironmentVariableValidation gate is beta and on in 1.32), volumeMounts that name a
 * declared volume (ValidateVolumeMounts), requests within limits (ValidateResourceRequirements),
 * volume names (ValidateVolumes), container ports (validateContainerPorts, IsValidPortName),
 * probes and lifecycle hooks (validateProbe and its liveness/readiness/startup rules,
 * validateLifecycle, validateHandler with its actions) and what init containers may carry
 * (validateInitContainers). validate.c calls these for a pod and for every pod template, with
 * the template's path prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_quota.h"
#include "api_selector.h"
#include "kinds.h"

#define EACH(it, arr)                                                                   \
	for (struct jv *it = (arr) && (arr)->type == JV_ARRAY ? (arr)->head : NULL; it; \
	     it = it->next)

/* validateVolumeSource's sources, in the order it tests them (v1 JSON names). */
static const char *const volume_sources[] = {
    "emptyDir",
    "hostPath",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephfs",
    "quobyte",
    "downwardAPI",
    "fc",
    "flexVolume",
    "configMap",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "storageos",
    "projected",
    "scaleIO",
    "csi",
    "ephemeral",
    "image",
};

/* The number of sources of a volume (its first cause reported into a when a is set). */
static size_t volume_source_count(struct api_admit *a, const struct jv *vol, const char *path)
{
	size_t n = 0;
	char f[512];

	for (size_t i = 0; i < sizeof(volume_sources) / sizeof(volume_sources[0]); i++) {
		const struct jv *s = jv_get(vol, volume_sources[i]);

		if (!s || s->type == JV_NULL)
			continue;
		if (n++ && a) {
			snprintf(f, sizeof(f), "%.400s.%s", path, volume_sources[i]);
			api_cause_forbidden(a, f, "may not specify more than 1 volume type");
		}
	}
	return n;
}

/* ValidateVolumes: a volume with more than one source is refused. */
void api_validate_volumes(struct api_admit *a, const struct jv *spec, const char *path)
{
	char f[512];
	size_t i = 0;

	EACH(vol, jv_get(spec, "volumes"))
	{
		const struct jv *name = jv_get(vol, "name");
		size_t j = 0;

		snprintf(f, sizeof(f), "%.400s.volumes[%zu]", path, i);
		volume_source_count(a, vol, f);
		/* then its name: required, a DNS-1123 label, unique */
		snprintf(f, sizeof(f), "%.400s.volumes[%zu].name", path, i);
		if (!name || name->type != JV_STRING || !name->len)
			api_cause_required(a, f, NULL);
		else if (api_dns1123_label_error(name->s))
			api_cause_invalid(a, f, name, api_dns1123_label_error(name->s));
		EACH(prev, name && name->type == JV_STRING ? jv_get(spec, "volumes") : NULL)
		{
			if (j++ >= i)
				break;
			if (jv_is_str(jv_get(prev, "name"), name->s)) {
				api_cause(a, f, K8S_REASON_DUPLICATE, "Duplicate value: \"%.200s\"",
					  name->s);
				break;
			}
		}
		i++;
	}
}

/* A volume ValidateVolumes kept (declared, and without errors of its own here: the first of
 * its name, with one source and a valid name). */
static bool volume_declared(const struct jv *spec, const char *name)
{
	if (!name[0] || api_dns1123_label_error(name))
		return false;
	EACH(vol, jv_get(spec, "volumes"))
	if (jv_is_str(jv_get(vol, "name"), name))
		return volume_source_count(NULL, vol, NULL) <= 1;
	return false;
}

/* ValidateEnv: a name is required, and IsRelaxedEnvVarName's (printable ASCII, no '='). */
static void validate_env(struct api_admit *a, const struct jv *ct, const char *path)
{
	char f[512];
	size_t i = 0;

	EACH(ev, jv_get(ct, "env"))
	{
		const struct jv *name = jv_get(ev, "name");

		snprintf(f, sizeof(f), "%.400s.env[%zu].name", path, i++);
		if (!name || name->type != JV_STRING || !name->len) {
			api_cause_required(a, f, NULL);
			continue;
		}
		for (size_t k = 0; k < name->len; k++) {
			unsigned char c = (unsigned char)name->s[k];

			if (c < 0x20 || c > 0x7e || c == '=') {
				api_cause_invalid(
				    a, f, name,
				    "a valid environment variable name must consist "
				    "only of printable ASCII characters other than '='");
				break;
			}
		}
	}
}

/* ValidateVolumeMounts: each mount names a volume of the pod ("Not found"). */
static void validate_volume_mounts(struct api_admit *a, const struct jv *spec, const struct jv *ct,
				   const char *path)
{
	char f[512];
	size_t i = 0;

	EACH(m, jv_get(ct, "volumeMounts"))
	{
		const char *name = jv_path_str(m, "name");

		snprintf(f, sizeof(f), "%.400s.volumeMounts[%zu].name", path, i++);
		if (!name || !name[0])
			api_cause_required(a, f, NULL);
		if (!volume_declared(spec, name ? name : ""))
			api_cause(a, f, "FieldValueNotFound", "Not found: \"%s\"",
				  name ? name : "");
	}
}

/* A quantity of a resource list as resource.Quantity.String() writes it. */
static const char *quantity_string(const struct jv *q, int64_t *milli, char *buf, size_t size)
{
	if (!q || q->type != JV_STRING || k8s_quantity_parse(q->s, q->len, NULL, milli) != 0)
		return NULL;
	return api_quantity_string(*milli, strchr(q->s, 'i') != NULL, buf, size);
}

/* ValidateResourceRequirements: each request at most its limit (overcommittable resources;
 * extended ones and hugepages must be equal, "must be equal to <name> limit of <limit>", and
 * have a limit). */
static void validate_resources(struct api_admit *a, const struct jv *ct, const char *path)
{
	const struct jv *limits = jv_path(ct, "resources.limits");
	char f[512], lf[512], req[64], lim[64];

	snprintf(f, sizeof(f), "%.400s.resources.requests", path);
	snprintf(lf, sizeof(lf), "%.400s.resources.limits", path);
	for (const struct jv *r = jv_first(jv_path(ct, "resources.requests")); r; r = r->next) {
		const struct jv *l = jv_getn(limits, r->key, r->klen);
		int64_t rm = 0, lm = 0;
		bool native =
		    !memchr(r->key, '/', r->klen) || !strncmp(r->key, "kubernetes.io/", 14);
		bool overcommit = native && strncmp(r->key, "hugepages-", 10) != 0;

		if (!l) {
			if (!overcommit)
				api_cause_required(
				    a, lf, "Limit must be set for non overcommitable resources");
			continue;
		}
		if (!quantity_string(r, &rm, req, sizeof(req)) ||
		    !quantity_string(l, &lm, lim, sizeof(lim)))
			continue;
		if (rm != lm && !overcommit)
			api_cause(a, f, K8S_REASON_INVALID,
				  "Invalid value: \"%s\": must be equal to %.*s limit of %s", req,
				  (int)r->klen, r->key, lim);
		else if (rm > lm)
			api_cause(
			    a, f, K8S_REASON_INVALID,
			    "Invalid value: \"%s\": must be less than or equal to %.*s limit of %s",
			    req, (int)r->klen, r->key, lim);
	}
}

/* The rules of validateContainerCommon after ports, in its order. */
void api_validate_container_spec(struct api_admit *a, const struct jv *spec, const struct jv *ct,
				 const char *path)
{
	validate_env(a, ct, path);
	validate_volume_mounts(a, spec, ct, path);
	validate_resources(a, ct, path);
}

/* ValidatePortNumOrName: an int in 1..65535 or an IANA_SVC_NAME (absent: Go's zero value, the
 * int 0). */
void api_validate_port_num_or_name(struct api_admit *a, const char *f, const struct jv *v)
{
	const char *msgs[5];
	int64_t n = 0;

	if (v && v->type == JV_STRING) {
		size_t k = api_port_name_errors(v->s, msgs);

		for (size_t i = 0; i < k; i++)
			api_cause_invalid(a, f, v, msgs[i]);
		return;
	}
	if (v && v->type == JV_NUMBER)
		n = strtoll(v->s, NULL, 10);
	if (n < 1 || n > 65535)
		api_cause(a, f, K8S_REASON_INVALID,
			  "Invalid value: %lld: must be between 1 and 65535, inclusive",
			  (long long)n);
}

/* A port's protocol: required, one of supportedPortProtocols (listed sorted). */
void api_validate_protocol(struct api_admit *a, const char *f, const struct jv *proto)
{
	if (!proto || proto->type != JV_STRING || !proto->len)
		api_cause_required(a, f, NULL);
	else if (!jv_is_str(proto, "TCP") && !jv_is_str(proto, "UDP") && !jv_is_str(proto, "SCTP"))
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%.200s\": supported values: \"SCTP\", \"TCP\", "
			  "\"UDP\"",
			  proto->s);
}

/* validateContainerPorts: names unique IANA_SVC_NAMEs, containerPort required and in range,
 * hostPort in range, protocol one of TCP, UDP, SCTP. */
void api_validate_container_ports(struct api_admit *a, const struct jv *ct, const char *path)
{
	char f[512];
	size_t i = 0;

	EACH(p, jv_get(ct, "ports"))
	{
		const struct jv *name = jv_get(p, "name"), *proto = jv_get(p, "protocol");
		int64_t port = 0;

		if (name && name->type == JV_STRING && name->len) {
			const char *msgs[5];
			size_t k = api_port_name_errors(name->s, msgs), j = 0;

			snprintf(f, sizeof(f), "%.400s.ports[%zu].name", path, i);
			for (size_t m = 0; m < k; m++)
				api_cause_invalid(a, f, name, msgs[m]);
			EACH(q, jv_get(ct, "ports"))
			{
				if (k || j++ >= i)
					break;
				if (jv_is_str(jv_get(q, "name"), name->s)) {
					api_cause(a, f, K8S_REASON_DUPLICATE,
						  "Duplicate value: \"%s\"", name->s);
					break;
				}
			}
		}
		snprintf(f, sizeof(f), "%.400s.ports[%zu].containerPort", path, i);
		if (jv_path_int(p, "containerPort", &port) != 0 || port == 0)
			api_cause_required(a, f, NULL);
		else if (port < 1 || port > 65535)
			api_cause_invalid(a, f, jv_get(p, "containerPort"),
					  "must be between 1 and 65535, inclusive");
		snprintf(f, sizeof(f), "%.400s.ports[%zu].hostPort", path, i);
		if (jv_path_int(p, "hostPort", &port) == 0 && port && (port < 1 || port > 65535))
			api_cause_invalid(a, f, jv_get(p, "hostPort"),
					  "must be between 1 and 65535, inclusive");
		snprintf(f, sizeof(f), "%.400s.ports[%zu].protocol", path, i);
		api_validate_protocol(a, f, proto);
		i++;
	}
}

/* validateHandler: exactly one handler, the first one set validated (exec, httpGet,
 * tcpSocket, then grpc for a probe or sleep for a lifecycle hook), every later one forbidden.
 * grace: the pod's terminationGracePeriodSeconds (-1: not set). */
static void validate_handler(struct api_admit *a, const struct jv *h, bool probe, int64_t grace,
			     const char *path)
{
	static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc", "sleep"};
	size_t n = 0;
	char f[512];

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const struct jv *x = jv_get(h, handlers[i]), *v;
		int64_t secs = 0;

		if ((probe && i == 4) || (!probe && i == 3) || !x || x->type == JV_NULL)
			continue;
		snprintf(f, sizeof(f), "%.400s.%s", path, handlers[i]);
		if (n++) {
			api_cause_forbidden(a, f, "may not specify more than 1 handler type");
			continue;
		}
		switch (i) {
		case 0: /* validateExecAction */
			if (!jv_count(jv_get(x, "command"))) {
				strncat(f, ".command", sizeof(f) - strlen(f) - 1);
				api_cause_required(a, f, NULL);
			}
			break;
		case 1: /* validateHTTPGetAction (path "/" and scheme HTTP by default) */
			v = jv_get(x, "scheme");
			strncat(f, ".port", sizeof(f) - strlen(f) - 1);
			api_validate_port_num_or_name(a, f, jv_get(x, "port"));
			if (v && v->type == JV_STRING && !jv_is_str(v, "HTTP") &&
			    !jv_is_str(v, "HTTPS")) {
				snprintf(f, sizeof(f), "%.400s.httpGet.scheme", path);
				api_cause(
				    a, f, K8S_REASON_NOT_SUPPORTED,
				    "Unsupported value: \"%.200s\": supported values: \"HTTP\", "
				    "\"HTTPS\"",
				    v->s);
			}
			break;
		case 2: /* validateTCPSocketAction */
		case 3: /* validateGRPCAction: a plain int32 */
			strncat(f, ".port", sizeof(f) - strlen(f) - 1);
			v = jv_get(x, "port");
			api_validate_port_num_or_name(
			    a, f, i == 3 && v && v->type == JV_STRING ? NULL : v);
			break;
		default: /* validateSleepAction (the zero-sleep gate is alpha, off, in 1.32) */
			if (grace >= 0 &&
			    (jv_path_int(x, "seconds", &secs) != 0 || secs <= 0 || secs > grace)) {
				char why[200];

				snprintf(
				    why, sizeof(why),
				    "must be greater than 0 and less than "
				    "terminationGracePeriodSeconds (%lld). Enable "
				    "AllowPodLifecycleSleepActionZeroValue feature gate for zero "
				    "sleep.",
				    (long long)grace);
				api_cause(a, f, K8S_REASON_INVALID, "Invalid value: %lld: %s",
					  (long long)secs, why);
			}
			break;
		}
	}
	if (!n)
		api_cause_required(a, path, "must specify a handler type");
}

/* validateProbe and the liveness/readiness/startup rules around it. */
static void validate_probe(struct api_admit *a, const struct jv *probe, const char *kind,
			   int64_t grace, const char *path)
{
	static const char *const nonneg[] = {"initialDelaySeconds", "timeoutSeconds",
					     "periodSeconds", "successThreshold",
					     "failureThreshold"};
	const struct jv *tg;
	int64_t v;
	char f[512];

	if (!probe || probe->type != JV_OBJECT)
		return;
	validate_handler(a, probe, true, grace, path);
	for (size_t i = 0; i < sizeof(nonneg) / sizeof(nonneg[0]); i++)
		if (jv_path_int(probe, nonneg[i], &v) == 0 && v < 0) {
			snprintf(f, sizeof(f), "%.400s.%s", path, nonneg[i]);
			api_cause_invalid(a, f, jv_get(probe, nonneg[i]),
					  "must be greater than or equal to 0");
		}
	tg = jv_get(probe, "terminationGracePeriodSeconds");
	snprintf(f, sizeof(f), "%.400s.terminationGracePeriodSeconds", path);
	if (tg && tg->type == JV_NUMBER && strtoll(tg->s, NULL, 10) <= 0)
		api_cause_invalid(a, f, tg, "must be greater than 0");
	if (strcmp(kind, "readinessProbe") == 0) {
		if (tg && tg->type != JV_NULL)
			api_cause_invalid(a, f, tg, "must not be set for readinessProbes");
	} else if (jv_path_int(probe, "successThreshold", &v) == 0 && v != 1) {
		snprintf(f, sizeof(f), "%.400s.successThreshold", path);
		api_cause_invalid(a, f, jv_get(probe, "successThreshold"), "must be 1");
	}
}

/* validateContainers' (and a restartable init container's) lifecycle and probes; a regular
 * init container may have none of them. */
void api_validate_container_probes(struct api_admit *a, const struct jv *spec, const struct jv *ct,
				   bool init, const char *path)
{
	static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	const struct jv *lc = jv_get(ct, "lifecycle");
	const struct jv *rp = jv_get(ct, "restartPolicy");
	int64_t grace = -1;
	char f[512];

	if (init && rp && rp->type == JV_STRING && !jv_is_str(rp, "Always")) {
		/* validateInitContainerRestartPolicy */
		snprintf(f, sizeof(f), "%.400s.restartPolicy", path);
		api_cause(a, f, K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%.200s\": supported values: \"Always\"", rp->s);
	}
	if (init && !jv_is_str(rp, "Always")) {
		const char *why = "may not be set for init containers without restartPolicy=Always";

		if (lc && lc->type != JV_NULL) {
			snprintf(f, sizeof(f), "%.400s.lifecycle", path);
			api_cause_forbidden(a, f, why);
		}
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			const struct jv *p = jv_get(ct, probes[i]);

			snprintf(f, sizeof(f), "%.400s.%s", path, probes[i]);
			if (p && p->type != JV_NULL)
				api_cause_forbidden(a, f, why);
		}
		return;
	}
	jv_path_int(spec, "terminationGracePeriodSeconds", &grace);
	if (lc && lc->type == JV_OBJECT) {
		static const char *const hooks[] = {"postStart", "preStop"};

		for (size_t i = 0; i < 2; i++) {
			const struct jv *h = jv_get(lc, hooks[i]);

			snprintf(f, sizeof(f), "%.400s.lifecycle.%s", path, hooks[i]);
			if (h && h->type == JV_OBJECT)
				validate_handler(a, h, false, grace, f);
		}
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		snprintf(f, sizeof(f), "%.400s.%s", path, probes[i]);
		validate_probe(a, jv_get(ct, probes[i]), probes[i], grace, f);
	}
	if (!init && rp && rp->type != JV_NULL) {
		snprintf(f, sizeof(f), "%.400s.restartPolicy", path);
		api_cause_forbidden(a, f, "may not be set for non-init containers");
	}
}
