/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac_env: what the RBAC tests share: a TLS server whose admin (token: system:masters) acts
 * as other users through the Impersonate-* headers, alice's client certificate (CN alice,
 * O team), and requests made as either.
 */
#ifndef DROVER_TEST_RBAC_ENV_H
#define DROVER_TEST_RBAC_ENV_H

#include "helpers.h"

#define RBAC "/apis/rbac.authorization.k8s.io/v1"
#define PODS "/api/v1/namespaces/default/pods"

struct env {
	struct tsrv t; /* TLS; requests present alice's certificate when t.crt is set */
	char token[128], alice_crt[300], alice_key[300];
	const char *ctype; /* the requests' Content-Type (NULL: JSON) */
};

/* One request: as NULL (the admin's token), "user[|group...]" (the admin impersonating),
 * "cert" (alice's client certificate, CN alice, O team) or "cert:user[|group...]" (alice
 * impersonating). The code, the body
 * in *out. */
long call(struct env *e, const char *as, const char *method, const char *path, const char *body,
	  char **out);
/* call, which must answer code with text (unless NULL) in its body */
void expect(struct env *e, const char *as, const char *method, const char *path, const char *body,
	    long code, const char *text);
/* cmocka's group setup and teardown: *state the env */
int setup(void **state);
int teardown(void **state);
/* The admin creates a Role in ns with rules (JSON of its items), a binding (ns NULL: a
 * ClusterRoleBinding) of kind/role to subject (JSON of its items). */
void role(struct env *e, const char *ns, const char *name, const char *rules);
void binding(struct env *e, const char *ns, const char *name, const char *kind, const char *role,
	     const char *subject);

#endif
