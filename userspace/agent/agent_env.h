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

int env_build(const struct jv *ctr, const char *ns, env_get_obj_fn get, env_field_fn field,
	      void *arg, struct env_list *out, char *err, size_t errlen);

#endif
