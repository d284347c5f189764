/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstrap_rbac: the default ClusterRoles and ClusterRoleBindings kube-apiserver 1.32's
 * rbac/bootstrap-roles post-start hook creates (plugin/pkg/auth/authorizer/rbac/
 * bootstrappolicy/policy.go: ClusterRoles(), ClusterRoleBindings(); controller_policy.go for
 * the controllers' own), labelled kubernetes.io/bootstrapping=rbac-defaults and annotated
 * rbac.authorization.kubernetes.io/autoupdate=true. Made once (an existing object is kept, as
 * a cluster administrator may have edited it).
 *
 * Subset: cluster-admin, admin/edit/view and the system:aggregate-to-* roles they aggregate
 * (their rules abbreviated to the core, apps, batch, autoscaling, networking, policy and rbac
 * resources), system:discovery, system:basic-user, system:public-info-viewer, system:node,
 * system:node-proxier, system:node-bootstrapper, system:auth-delegator, system:kube-scheduler,
 * system:kube-controller-manager (with the per-controller roles folded into it: drover's
 * controller-manager runs as one identity), and their bindings.
 *
 * drover's own components: the in-process scheduler and controllers call the registry
 * directly (no request, no authorization); `drover scheduler`/`controller-manager` and
 * `drover up` use the admin kubeconfig (system:masters); agents are system:node:NAME
 * (the Node authorizer), bootstrapping with tokens (system:bootstrappers, auth.c).
 */
#include <stdio.h>
#include <string.h>

#include "reg_int.h"

#define META(name)                                                                             \
	"\"metadata\":{\"name\":\"" name "\",\"labels\":{\"kubernetes.io/bootstrapping\":"     \
	"\"rbac-defaults\"},\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":" \
	"\"true\"}}"
#define META_L(name, label)                                                                \
	"\"metadata\":{\"name\":\"" name "\",\"labels\":{\"kubernetes.io/bootstrapping\":" \
	"\"rbac-defaults\",\"" label "\":\"true\"},\"annotations\":{"                      \
	"\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}}"
#define CR(meta, rest)                                                                             \
	"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\"," meta "," rest \
	"}"
#define AGGR(label)                                                         \
	"\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{" \
	"\"rbac.authorization.k8s.io/" label "\":\"true\"}}]},\"rules\":[]"
#define R(verbs, groups, resources) \
	"{\"verbs\":[" verbs "],\"apiGroups\":[" groups "],\"resources\":[" resources "]}"
#define NR(verbs, urls) "{\"verbs\":[" verbs "],\"nonResourceURLs\":[" urls "]}"
#define READ		"\"get\",\"list\",\"watch\""
#define WRITE		"\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\""
#define RW		READ "," WRITE
#define AGG		"rbac.authorization.k8s.io/aggregate-to-"
#define SUBJ_G(n) \
	"{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"" n "\"}"
#define SUBJ_U(n) \
	"{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"" n "\"}"

static const char
    *const
	cluster_roles
	    [] =
		{
		    CR(META("cluster-admin"),
		       "\"rules\":[" R("\"*\"", "\"*\"", "\"*\"") "," NR("\"*\"", "\"*\"") "]"),
		    CR(META("system:discovery"),
		       "\"rules\":[" NR("\"get\"",
					"\"/api\",\"/api/*\",\"/apis\",\"/apis/*\",\"/healthz\","
					"\"/livez\",\"/openapi\",\"/openapi/*\",\"/readyz\","
					"\"/version\",\"/version/\"") "]"),
		    CR(META("system:basic-user"), "\"rules\":[" R(
						      "\"create\"", "\"authorization.k8s.io\"",
						      "\"selfsubjectaccessreviews\","
						      "\"selfsubjectrulesreviews\"") "," R("\"creat"
											   "e\"",
											   "\"authe"
											   "nticati"
											   "on.k8s."
											   "io\"",
											   "\"selfs"
											   "ubjectr"
											   "eviews"
											   "\"") "]"),
		    CR(META("system:public-info-viewer"),
		       "\"rules\":[" NR(
			   "\"get\"",
			   "\"/healthz\",\"/livez\",\"/readyz\",\"/version\",\"/version/\"") "]"),
		    CR(META("admin"), AGGR("aggregate-to-admin")),
		    CR(META_L("edit", AGG "admin"), AGGR("aggregate-to-edit")),
		    CR(META_L("view", AGG "edit"), AGGR("aggregate-to-view")),
		    CR(META_L("system:aggregate-to-admin", AGG "admin"),
		       "\"rules\":[" R(READ, "\"\"", "\"namespaces\"") "," R(
			   "\"create\"", "\"authorization.k8s.io\"",
			   "\"localsubjectaccessreviews\"") "," R(RW,
								  "\"rbac.authorization.k8s.io\"",
								  "\"rolebindings\",\"roles\"") "]"),
		    CR(META_L("system:aggregate-to-edit", AGG "edit"),
		       "\"rules\":[" R("\"impersonate\"", "\"\"", "\"serviceaccounts\"") "," R(
			   WRITE, "\"\"",
			   "\"pods\",\"pods/attach\",\"pods/exec\",\"pods/portforward\",\"pods/"
			   "proxy\"") "," R("\"create\"", "\"\"",
					    "\"pods/eviction\"") "," R(RW, "\"\"",
								       "\"configmaps\",\"events\","
								       "\"persistentvolumeclaims\","
								       "\"replicationcontrollers\","
								       "\"replicationcontrollers/"
								       "scale\",\"secrets\","
								       "\"serviceaccounts\","
								       "\"services\","
								       "\"services/proxy\"") "," R("\"create\"", "\"\"", "\"serviceaccounts/token\"") "," R(RW,
																			    "\"apps\"",
																			    "\"daemonsets\",\"deployments\",\"deployments/rollback\",\"deployments/scale\","
																			    "\"replicasets\",\"replicasets/scale\",\"statefulsets\",\"statefulsets/scale\"") "," R(RW,
																														   "\"autoscaling\"", "\"horizontalpodautoscalers\"") "," R(RW,
																																					    "\"batch\"", "\"cronjobs\",\"jobs\"") "," R(RW, "\"networking.k8s.io\"", "\"ingresses\",\"networkpolicies\"") "," R(RW,
																																																				"\"policy\"",
																																																				"\"poddisruptionbudgets\"") "," R(RW,
																																																								  "\"coordination.k8s.io\"", "\"leases\"") "]"),
		    CR(META_L("system:aggregate-to-view", AGG "view"),
		       "\"rules\":[" R(
			   READ, "\"\"",
			   "\"configmaps\",\"endpoints\",\"persistentvolumeclaims\","
			   "\"persistentvolumeclaims/status\",\"pods\",\"replicationcontrollers\","
			   "\"replicationcontrollers/scale\",\"serviceaccounts\",\"services\","
			   "\"services/status\"") "," R(READ, "\"\"",
							"\"bindings\",\"events\",\"limitranges\","
							"\"namespaces/status\",\"pods/log\","
							"\"pods/status\",\"replicationcontrollers/"
							"status\",\"resourcequotas\","
							"\"resourcequotas/status\"") "," R(READ,
											   "\"\"",
											   "\"names"
											   "paces"
											   "\"") "," R(READ,
												       "\"discovery.k8s.io\"",
												       "\"endpointslices\"") "," R(READ,
																   "\"apps\"",
																   "\"controllerrevisions\",\"daemonsets\",\"daemonsets/status\",\"deployments\","
																   "\"deployments/scale\",\"deployments/status\",\"replicasets\",\"replicasets/scale\","
																   "\"replicasets/status\",\"statefulsets\",\"statefulsets/scale\","
																   "\"statefulsets/status\"") "," R(READ,
																				    "\"autoscaling\"",
																				    "\"horizontalpodautoscalers\","
																				    "\"horizontalpodautoscalers/status\"") "," R(READ,
																										 "\"batch\"", "\"cronjobs\",\"cronjobs/status\",\"jobs\",\"jobs/status\"") "," R(READ, "\"networking.k8s.io\"", "\"ingresses\",\"ingresses/status\",\"networkpolicies\"") "," R(READ,
																																																"\"policy\"", "\"poddisruptionbudgets\",\"poddisruptionbudgets/status\"") "]"),
		    /* NodeRules() */
		    CR(
			META("system:node"),
			"\"rules\":[" R(
			    "\"create\"", "\"authentication.k8s.io\"",
			    "\"tokenreviews\"") "," R("\"create\"", "\"authorization.k8s.io\"",
						      "\"localsubjectaccessreviews\","
						      "\"subjectaccessreviews\"") "," R(READ,
											"\"\"", "\"services\"") "," R("\"create\",\"get\",\"list\",\"watch\"",
														      "\"\"", "\"nodes\"") "," R("\"patch\",\"update\"", "\"\"", "\"nodes/status\"") "," R("\"delete\",\"patch\",\"update\"", "\"\"", "\"nodes\"") "," R("\"create\",\"patch\",\"update\"", "\"\",\"events.k8s.io\"", "\"events\"") "," R(READ,
																																											  "\"\"",
																																											  "\"pods\"") "," R("\"create\",\"delete\"",
																																													    "\"\"",
																																													    "\"pods\"") "," R("\"patch\",\"update\"",
																																															      "\"\"",
																																															      "\"pods/status\"") "," R("\"create\"",
																																																		       "\"\"",
																																																		       "\"pods/eviction\"") "," R("\"get\"", "\"\"", "\"configmaps\",\"secrets\"") "," R("\"get\"", "\"\"", "\"persistentvolumeclaims\",\"persistentvolumes\"") "," R("\"get\"", "\"\"", "\"endpoints\"") "," R("\"create\",\"get\",\"list\",\"watch\"", "\"certificates.k8s.io\"",
																																																																												"\"certificatesigningrequests\"") "," R("\"create\",\"delete\",\"get\",\"patch\",\"update\"",
																																																																																	"\"coordination.k8s.io\"", "\"leases\"") "," R("\"get\"", "\"storage.k8s.io\"", "\"volumeattachments\"") "," R("\"create\"", "\"\"", "\"serviceaccounts/token\"") "," R(READ,
																																																																																																						"\"node.k8s.io\"",
																																																																																																						"\"runtimeclasses\"") "]"),
		    CR(META("system:node-proxier"),
		       "\"rules\":[" R("\"list\",\"watch\"", "\"\"", "\"endpoints\",\"services\"") "," R(
			   "\"get\",\"list\",\"watch\"", "\"\"",
			   "\"nodes\"") "," R("\"create\",\"patch\",\"update\"",
					      "\"\",\"events.k8s.io\"",
					      "\"events\"") "," R("\"list\",\"watch\"",
								  "\"discovery.k8s.io\"",
								  "\"endpointslices\"") "]"),
		    /* apiserver auth delegation (kube-rbac-proxy, aggregated API servers) */
		    CR(META("system:auth-delegator"),
		       "\"rules\":[" R("\"create\"", "\"authentication.k8s.io\"",
				       "\"tokenreviews\"") "," R("\"create\"", "\"authorization.k8s.io\"",
								 "\"subjectaccessreviews\"") "]"),
		    CR(META("system:node-bootstrapper"),
		       "\"rules\":[" R("\"create\",\"get\",\"list\",\"watch\"",
				       "\"certificates.k8s.io\"",
				       "\"certificatesigningrequests\"") "]"),
		    CR(META("system:kube-scheduler"),
		       "\"rules\":[" R("\"create\",\"patch\",\"update\"", "\"\",\"events.k8s.io\"", "\"events\"") "," R("\"create\"", "\"coordination.k8s.io\"", "\"leases\"") "," R(
			   "\"get\",\"update\"", "\"coordination.k8s.io\"",
			   "\"leases\"") "," R("\"create\"", "\"\"",
					       "\"endpoints\"") "," R("\"get\",\"update\"", "\"\"",
								      "\"endpoints\"") "," R(READ,
											     "\"\"",
											     "\"nod"
											     "es\"") "," R("\"delete\"," READ,
													   "\"\"",
													   "\"pods\"") "," R("\"create\"", "\"\"", "\"bindings\",\"pods/binding\"") "," R("\"patch\",\"update\"", "\"\"", "\"pods/status\"") "," R(READ, "\"\"", "\"replicationcontrollers\",\"services\"") "," R(READ,
																																						  "\"apps\",\"extensions\"", "\"replicasets\"") "," R(READ,
																																												      "\"apps\"",
																																												      "\"statefulsets\"") "," R(READ, "\"policy\"", "\"poddisruptionbudgets\"") "," R(READ,
																																																						      "\"\"", "\"persistentvolumeclaims\",\"persistentvolumes\"") "," R("\"create\"", "\"authentication.k8s.io\"", "\"tokenreviews\"") "," R("\"create\"", "\"authorization.k8s.io\"", "\"subjectaccessreviews\"") "," R(READ,
																																																																																	 "\"storage.k8s.io\"",
																																																																																	 "\"csidrivers\",\"csinodes\",\"csistoragecapacities\",\"storageclasses\"") "," R(READ,
																																																																																											  "\"\"",
																																																																																											  "\"namespaces\"") "]"),
		    /* KCM's own rules plus the controllers' (controller_policy.go), folded */
		    CR(META("system:kube-controller-manager"),
		       "\"rules\":[" R("\"*\"", "\"*\"", "\"*\"") "]"),
};

static const char *const cluster_role_bindings[] = {
#define CRB(name, role, subjects)                                                                 \
	"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\"," META( \
	    name) ",\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":"            \
		  "\"ClusterRole\",\"name\":\"" role "\"},\"subjects\":[" subjects "]}"
    CRB("cluster-admin", "cluster-admin", SUBJ_G("system:masters")),
    CRB("system:discovery", "system:discovery", SUBJ_G("system:authenticated")),
    CRB("system:basic-user", "system:basic-user", SUBJ_G("system:authenticated")),
    CRB("system:public-info-viewer", "system:public-info-viewer",
	SUBJ_G("system:authenticated") "," SUBJ_G("system:unauthenticated")),
    CRB("system:node-proxier", "system:node-proxier", SUBJ_U("system:kube-proxy")),
    CRB("system:kube-scheduler", "system:kube-scheduler", SUBJ_U("system:kube-scheduler")),
    CRB("system:kube-controller-manager", "system:kube-controller-manager",
	SUBJ_U("system:kube-controller-manager")),
    /* empty since 1.8 (the Node authorizer answers for nodes) */
    CRB("system:node", "system:node", ""),
#undef CRB
};

int reg_bootstrap_rbac(struct registry *reg)
{
	const struct api_resource *cr =
	    api_resource_find("rbac.authorization.k8s.io", "v1", "clusterroles");
	const struct api_resource *crb =
	    api_resource_find("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
	int err = 0;

	for (size_t i = 0; cr && !err && i < sizeof(cluster_roles) / sizeof(cluster_roles[0]); i++)
		err = reg_ensure(reg, cr, NULL, cluster_roles[i]);
	for (size_t i = 0;
	     crb && !err && i < sizeof(cluster_role_bindings) / sizeof(cluster_role_bindings[0]);
	     i++)
		err = reg_ensure(reg, crb, NULL, cluster_role_bindings[i]);
	return err;
}
