/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac: authorization as kube-apiserver 1.32 does it with --authorization-mode=Node,RBAC
 * (auth.c holds the Node authorizer; rbac.c the RBAC authorizer, impersonation and the
 * access reviews).
 */
#ifndef DROVER_API_RBAC_H
#define DROVER_API_RBAC_H

#include <stdbool.h>
#include <stddef.h>

#include "api_http.h"

/* authorizer.Attributes: what a request asks to do */
struct api_authz {
	const char *verb, *group, *resource, *sub, *ns, *name;
	const char *path; /* non-resource requests */
	bool resource_req;
};

/* user.Info: the name and groups (system:authenticated is implied) */
struct api_user {
	const char *name;
	const char (*groups)[128];
	unsigned ngroups;
};

/* The RBAC authorizer (plugin/pkg/auth/authorizer/rbac: Authorize): true if a binding
 * allows a; reason as Kubernetes words it ("RBAC: allowed by ..." or the errors met). */
bool api_rbac_allows(struct api_server *s, const struct api_user *u, const struct api_authz *a,
		     char *reason, size_t size);

/* Hand the server's registry the authorizer and the RBAC rule resolver (struct reg_authz),
 * which the RBAC kinds' escalation check asks. */
void api_rbac_attach(struct api_server *s);

/* The union authorizer: system:masters (NewPrivilegedGroups), Node, RBAC (auth.c). */
bool api_authz_decide(struct api_server *s, const struct api_user *u, const struct api_authz *a,
		      char *reason, size_t size);

/* 403 as responsewriters.Forbidden writes it for a (reason appended when set). */
void api_authz_forbid(struct api_req *r, const struct api_user *u, const struct api_authz *a,
		      const char *reason);

/* The Impersonate-* headers (endpoints/filters/impersonation.go): true to go on with r's
 * user and groups replaced; false with a 403 set. */
bool api_impersonate(struct api_req *r);

/* The create-only reviews: SelfSubjectAccessReview, SubjectAccessReview,
 * LocalSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview. */
bool api_review_resource(const struct api_resource *res);
void api_serve_review(struct api_req *r);

#endif
