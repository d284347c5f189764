/* SPDX-License-Identifier: Apache-2.0 */
/*
 * validate_pod: the pod spec rules of pkg/apis/core/validation/validation.go that sit below
 * validateContainers, with its field paths, wording and order: one source per volume
 * (validateVolumeSource), env names (ValidateEnv with IsRelaxedEnvVarName: the
 * RelaxedEnvironmentVariableValidation gate is beta and on in 1.32), volumeMounts that name a
 * declared volume (ValidateVolumeMounts), requests within limits (ValidateResourceRequirements)
 * and one handler per probe (validateProbe/validateHandler). validate.c calls these for a pod
 * and for every pod template, with the template's path prefix.
 */
#include <stdio.h>
#include <string.h>

#include "api_quota.h"
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
		snprintf(f, sizeof(f), "%.400s.volumes[%zu]", path, i++);
		volume_source_count(a, vol, f);
	}
}

/* A volume ValidateVolumes kept (declared, and without errors of its own here). */
static bool volume_declared(const struct jv *spec, const char *name)
{
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

/* validateHandler of a probe: exactly one of its handlers, in this order. */
static void validate_probe(struct api_admit *a, const struct jv *probe, const char *path)
{
	static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc"};
	size_t n = 0;
	char f[512];

	if (!probe || probe->type != JV_OBJECT)
		return;
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const struct jv *h = jv_get(probe, handlers[i]);

		if (!h || h->type == JV_NULL)
			continue;
		if (n++) {
			snprintf(f, sizeof(f), "%.400s.%s", path, handlers[i]);
			api_cause_forbidden(a, f, "may not specify more than 1 handler type");
		}
	}
	if (!n)
		api_cause_required(a, path, "must specify a handler type");
}

/* validateContainers' probes of a regular container, after its common rules. */
void api_validate_container_probes(struct api_admit *a, const struct jv *ct, const char *path)
{
	static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	char f[512];

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		snprintf(f, sizeof(f), "%.400s.%s", path, probes[i]);
		validate_probe(a, jv_get(ct, probes[i]), f);
	}
}
