/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac_env: what the RBAC tests share (rbac_env.h).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_env.h"

long call(struct env *e, const char *as, const char *method, const char *path, const char *body,
	  char **out)
{
	char hdrs[8][300];
	const char *h[9] = {0};
	size_t nh = 0;
	struct tresp r;
	long code;

	e->t.crt[0] = 0;
	if (as && strncmp(as, "cert", 4) == 0) {
		snprintf(e->t.crt, sizeof(e->t.crt), "%s", e->alice_crt);
		snprintf(e->t.key, sizeof(e->t.key), "%s", e->alice_key);
		as = as[4] == ':' ? as + 5 : NULL;
	} else {
		snprintf(hdrs[nh++], sizeof(hdrs[0]), "Authorization: Bearer %s", e->token);
	}
	for (const char *p = as; p && *p && nh < 8;) {
		size_t n = strcspn(p, "|");

		snprintf(hdrs[nh++], sizeof(hdrs[0]), "Impersonate-%s: %.*s",
			 p == as ? "User" : "Group", (int)n, p);
		p += n + (p[n] == '|');
	}
	for (size_t i = 0; i < nh; i++)
		h[i] = hdrs[i];
	treq_headers(&e->t, method, path, e->ctype, body, NULL, h, &r);
	code = r.code;
	if (out)
		*out = strdup(r.body ? r.body : "");
	tresp_free(&r);
	return code;
}

void expect(struct env *e, const char *as, const char *method, const char *path, const char *body,
	    long code, const char *text)
{
	char *out = NULL;
	long got = call(e, as, method, path, body, &out);

	if (got != code || (text && !strstr(out, text)))
		fail_msg("%s %s as %s: %ld %s (want %ld, \"%s\")", method, path, as ? as : "admin",
			 got, out, code, text ? text : "");
	free(out);
}

int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	tsrv_start_tls(&e->t);
	snprintf(e->token, sizeof(e->token), "%s", api_server_token(e->t.s));
	tsrv_client_cert(&e->t, "alice", "alice", "team", e->alice_crt, e->alice_key);
	*state = e;
	return 0;
}

int teardown(void **state)
{
	struct env *e = *state;

	tsrv_stop(&e->t);
	free(e);
	return 0;
}

void role(struct env *e, const char *ns, const char *name, const char *rules)
{
	char path[200], body[2000];

	snprintf(path, sizeof(path), RBAC "/namespaces/%s/roles", ns);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\","
		 "\"metadata\":{\"name\":\"%s\"},\"rules\":[%s]}",
		 name, rules);
	expect(e, NULL, "POST", path, body, 201, NULL);
}

void binding(struct env *e, const char *ns, const char *name, const char *kind, const char *role,
	     const char *subject)
{
	char path[200], body[2000];

	if (ns)
		snprintf(path, sizeof(path), RBAC "/namespaces/%s/rolebindings", ns);
	else
		snprintf(path, sizeof(path), RBAC "/clusterrolebindings");
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"%s\","
		 "\"metadata\":{\"name\":\"%s\"},\"roleRef\":{\"apiGroup\":"
		 "\"rbac.authorization.k8s.io\",\"kind\":\"%s\",\"name\":\"%s\"},"
		 "\"subjects\":[%s]}",
		 ns ? "RoleBinding" : "ClusterRoleBinding", name, kind, role, subject);
	expect(e, NULL, "POST", path, body, 201, NULL);
}
