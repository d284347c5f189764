/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_env: a container's environment as the kubelet makes it (kubelet_pods.go
 * makeEnvironmentVariables): envFrom first (ConfigMaps and Secrets, each key with the
 * prefix), then env in order (a later name replaces an earlier one): value with $(VAR)
 * references expanded against what was declared before it, or valueFrom (fieldRef,
 * configMapKeyRef, secretKeyRef; optional ones skipped when their object or key is missing).
 * $(VAR) expansion is third_party/forked/golang/expansion's: $$ escapes, an unknown or
 * unterminated reference stays as written. Objects come through a callback, so the unit
 * tests need no server; errors carry the kubelet's text (`configmap "x" not found`,
 * "couldn't find key k in ConfigMap ns/x") for CreateContainerConfigError.
 */
#ifndef DROVER_AGENT_ENV_H
#define DROVER_AGENT_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s_jv.h"

struct env_kv {
	char *name, *value;
};

struct env_list {
	struct env_kv *v;
	size_t n, cap;
};

/* Set name to value (replacing it in place when present, else appended). 0 or -ENOMEM. */
int env_set(struct env_list *l, const char *name, const char *value);
/* The value of name, or NULL. */
const char *env_get(const struct env_list *l, const char *name);
void env_list_free(struct env_list *l);

/* expansion.Expand of in over ctx (NULL: nothing defined); malloc'd, NULL on ENOMEM. */
char *env_expand(const char *in, const struct env_list *ctx);
/* The same over ctx, then more for a name ctx lacks (the kubelet's MappingFuncFor). */
char *env_expand2(const char *in, const struct env_list *ctx, const struct env_list *more);

/* Where the ConfigMaps and Secrets come from: kind "ConfigMap" or "Secret"; 0 and *obj (a
 * tree in d), -ENOENT when it does not exist, other -errno with err set. */
typedef int (*env_get_obj_fn)(void *arg, const char *kind, const char *ns, const char *name,
			      struct jv_doc *d, struct jv **obj, char *err, size_t errlen);
/* A downward API fieldRef's value (NULL: not supported). */
typedef const char *(*env_field_fn)(void *arg, const char *path);

/* The environment of container ctr in namespace ns into *out (appended). 0, -EINVAL with
 * the kubelet's message in err (the container is not started: CreateContainerConfigError),
 * -ENOMEM. */
/* The agent's env_get_obj_fn (agent_ctr.c): the object from the API server; agent is the
 * struct agent. */
int agent_api_obj(void *agent, const char *kind, const char *ns, const char *name, struct jv_doc *d,
		  struct jv **obj, char *err, size_t errlen);

/* svc (NULL: none): the services' variables (agent_svcenv.c); env values expand against
 * what was declared before, then against svc, and svc's names the container does not declare
 * are appended, as kubelet_pods.go's makeEnvironmentVariables does. */
int env_build(const struct jv *ctr, const char *ns, env_get_obj_fn get, env_field_fn field,
	      void *arg, const struct env_list *svc, struct env_list *out, char *err,
	      size_t errlen);

/* The services' variables of envvars.FromServices for a pod in namespace ns: every service of
 * ns with a cluster IP when links (spec.enableServiceLinks), and default/kubernetes always
 * (FOO_SERVICE_HOST, FOO_SERVICE_PORT, FOO_SERVICE_PORT_<NAME>, Docker link variables
 * FOO_PORT, FOO_PORT_80_TCP, _PROTO, _PORT, _ADDR). services: the Service objects to draw
 * from (any namespaces). Appended to out; 0 or -ENOMEM. */
int env_services(const struct jv *const *services, size_t n, const char *ns, bool links,
		 struct env_list *out);

#endif
