/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstrap_rbac: the default RBAC policy kube-apiserver 1.32's rbac/bootstrap-roles
 * post-start hook creates (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): the ClusterRoles
 * and ClusterRoleBindings of policy.go, the controllers' roles and bindings of
 * controller_policy.go, the kube-system and kube-public Roles and RoleBindings of
 * namespace_policy.go. The policy is data, bootstrap_rbac.yaml (its header says which sources
 * it follows), embedded in the binary at build time (tools/embed.cmake); it is parsed as a
 * manifest stream (strict, against the generated schemas) and each object made once through
 * the registry: an existing object is kept, as a cluster administrator may have edited it
 * (kube reconciles autoupdate=true objects; drover does not).
 *
 * drover's own components: the in-process scheduler and controllers call the registry
 * directly (no request, no authorization); `drover scheduler`/`controller-manager` and
 * `drover up` use the admin kubeconfig (system:masters); agents are system:node:NAME
 * (the Node authorizer), bootstrapping with tokens (system:bootstrappers, auth.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "log.h"
#include "reg_int.h"

#define COMP "bootstrap"

/* bootstrap_rbac.yaml, embedded (bootstrap_rbac_yaml.c, generated) */
extern const char reg_rbac_policy_yaml[];
extern const size_t reg_rbac_policy_yaml_len;

/* Make one object of the policy unless it exists; its kind names its resource. */
static int ensure_object(struct k8s_obj *o, void *ud)
{
	struct registry *reg = ud;
	const struct api_resource *res = api_resource_of_kind(k8s_obj_kind(o));
	char *json = res ? k8s_obj_to_json(o) : NULL;
	int err;

	if (!res)
		log_error(COMP, "rbac policy: %s %s: not a served kind", k8s_obj_kind(o)->kind,
			  k8s_obj_name(o) ?: "");
	err = json ? reg_ensure(reg, res, k8s_obj_namespace(o), json) : -EINVAL;
	free(json);
	k8s_obj_free(o);
	return err;
}

int reg_bootstrap_rbac(struct registry *reg)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT, .origin = "bootstrap_rbac.yaml"};
	struct k8s_errors errs = {0};
	int err = k8s_parse_stream(reg_rbac_policy_yaml, reg_rbac_policy_yaml_len, &po,
				   ensure_object, reg, &errs);

	if (err == -EINVAL || errs.n) {
		char msg[512];

		k8s_errors_format(&errs, po.origin, NULL, msg, sizeof(msg));
		log_error(COMP, "rbac policy: %s", msg);
	}
	k8s_errors_free(&errs);
	return err;
}
