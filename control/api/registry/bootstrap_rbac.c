/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstrap_rbac: the default RBAC policy kube-apiserver 1.32's rbac/bootstrap-roles
 * post-start hook creates (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): the ClusterRoles
 * and ClusterRoleBindings of policy.go, the controllers' roles and bindings of
 * controller_policy.go, the kube-system and kube-public Roles and RoleBindings of
 * namespace_policy.go. The policy is data, bootstrap_rbac.yaml (its header says which sources
 * it follows), embedded in the binary at build time (tools/embed.cmake); it is parsed as a
 * manifest stream (strict, against the generated schemas) and reconciled through the
 * registry on every start, as pkg/registry/rbac/rest/storage_rbac.go's ensureRBACPolicy does
 * with staging/src/k8s.io/component-helpers/auth/rbac/reconciliation (Confirm true,
 * RemoveExtraPermissions and RemoveExtraSubjects false): a missing object is created; an
 * existing one annotated rbac.authorization.kubernetes.io/autoupdate=false is left as it is;
 * any other gets what it lacks (labels and annotations, the rules its rules do not cover, the
 * aggregationRule selectors, the subjects) and keeps what it has more; a binding whose roleRef
 * changed is deleted and made anew. Nothing is written for an object already in place.
 * kube's upgrade steps from releases before drover's first policy (primeAggregatedClusterRoles,
 * primeSplitClusterRoleBindings: 1.9 and 1.14 layouts) are not taken.
 *
 * drover's own components: the in-process scheduler and controllers call the registry
 * directly (no request, no authorization); `drover scheduler`/`controller-manager` and
 * `drover up` use the admin kubeconfig (system:masters); agents are system:node:NAME
 * (the Node authorizer), bootstrapping with tokens (system:bootstrappers, auth.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"
#include "api_rbac_rules.h"
#include "log.h"
#include "reg_int.h"

#define COMP "bootstrap"

#define RBAC_GROUP   "rbac.authorization.k8s.io"
/* rbacv1.AutoUpdateAnnotationKey */
#define AUTOUPDATE   "rbac.authorization.kubernetes.io/autoupdate"
/* ReconcileRoleOptions.run gives up after a few attempts (a role appearing and going while
 * it is reconciled), RetryOnConflict after DefaultBackoff's 4 steps: one bound for both. */
#define MAX_ATTEMPTS 4

/* bootstrap_rbac.yaml, embedded (bootstrap_rbac_yaml.c, generated) */
extern const char reg_rbac_policy_yaml[];
extern const size_t reg_rbac_policy_yaml_len;

/* reconciliation.ReconcileOperation */
enum rec_op { REC_NONE, REC_CREATE, REC_UPDATE, REC_RECREATE };

/* One object of the policy being reconciled (ReconcileRoleOptions/ReconcileRoleBindingOptions
 * and their result). */
struct rec {
	struct registry *reg;
	struct reg_req rq;
	struct jv_doc *d;
	struct jv *want;    /* the policy's object */
	struct jv *have;    /* the stored one, or NULL */
	struct jv *next;    /* what is written: create, update, or recreate */
	struct jv *missing; /* the rules (subjects) want has that have lacks */
	enum rec_op op;
	bool protect; /* have says autoupdate "false" */
};

/* ---- computeReconciledRole / computeReconciledRoleBinding ---- */

/* merge(expected, existing) of metadata.<key> into next: the existing values win, so next
 * changes only by the keys that want has and have lacks. True if one was added. */
static bool merge_map(struct rec *c, const char *key)
{
	const struct jv *want = jv_get(jv_get(c->want, "metadata"), key);
	struct jv *meta = jv_obj_at(c->d, c->next, "metadata");
	struct jv *map = jv_get(meta, key);
	bool added = false;

	for (const struct jv *kv = jv_first(want); kv; kv = kv->next) {
		if (jv_getn(map, kv->key, kv->klen))
			continue;
		if (!map)
			map = jv_obj_at(c->d, meta, key);
		jv_setn(c->d, map, kv->key, kv->klen, jv_copy(c->d, kv));
		added = true;
	}
	return added;
}

/* next = a copy of have with want's labels and annotations it lacks */
static void start_from_have(struct rec *c)
{
	bool annotations, labels;

	/* a key, not a path: it holds dots */
	c->protect =
	    jv_is_str(jv_get(jv_path(c->have, "metadata.annotations"), AUTOUPDATE), "false");
	c->next = jv_copy(c->d, c->have);
	if (!c->next)
		return;
	annotations = merge_map(c, "annotations");
	labels = merge_map(c, "labels");
	if (annotations || labels)
		c->op = REC_UPDATE;
}

/* The array at key of next, made if absent (NULL: out of memory). */
static struct jv *array_at(struct rec *c, struct jv *o, const char *key)
{
	struct jv *a = jv_get(o, key);

	if (a && a->type == JV_ARRAY)
		return a;
	a = jv_new(c->d, JV_ARRAY);
	return a && jv_set(c->d, o, key, a) == 0 ? a : NULL;
}

/* The union case: c->missing appended to next's list at key (an update if any) */
static int add_missing(struct rec *c, const char *key)
{
	struct jv *list;

	if (!jv_count(c->missing))
		return 0;
	list = array_at(c, c->next, key);
	if (!list)
		return -ENOMEM;
	for (const struct jv *m = jv_first(c->missing); m; m = m->next)
		jv_push(list, jv_copy(c->d, m));
	c->op = REC_UPDATE;
	return 0;
}

/* aggregationRuleCovers(existing, expected): the selectors of want's aggregationRule that no
 * selector of have's equals (equality.Semantic.DeepEqual), appended to have's. */
static void reconcile_aggregation(struct rec *c)
{
	const struct jv *want = jv_get(c->want, "aggregationRule");
	const struct jv *have = jv_get(c->have, "aggregationRule");
	struct jv *sels = NULL;

	if (!want) {
		/* the policy's role is not aggregated: an aggregationRule added to it goes */
		if (have && jv_del(c->next, "aggregationRule"))
			c->op = REC_UPDATE;
		return;
	}
	for (const struct jv *w = jv_first(jv_get(want, "clusterRoleSelectors")); w; w = w->next) {
		const struct jv *h = jv_first(jv_get(have, "clusterRoleSelectors"));

		while (h && !jv_equal(h, w))
			h = h->next;
		if (h)
			continue;
		if (!sels)
			sels = array_at(c, jv_obj_at(c->d, c->next, "aggregationRule"),
					"clusterRoleSelectors");
		if (sels)
			jv_push(sels, jv_copy(c->d, w));
		c->op = REC_UPDATE;
	}
}

/* computeReconciledRole with removeExtraPermissions false: the rules want grants that have's
 * rules do not cover (validation.Covers, broken down to one verb, resource and name each)
 * are added; have's others stay. */
static int reconcile_role(struct rec *c)
{
	long n;

	start_from_have(c);
	c->missing = jv_new(c->d, JV_ARRAY);
	if (!c->next || !c->missing)
		return -ENOMEM;
	n = api_rbac_uncovered(jv_get(c->have, "rules"), jv_get(c->want, "rules"), c->d,
			       c->missing);
	if (n < 0)
		return (int)n;
	reconcile_aggregation(c);
	return add_missing(c, "rules");
}

static bool same_str(const struct jv *a, const struct jv *b, const char *key)
{
	const char *x = jv_path_str(a, key), *y = jv_path_str(b, key);

	return strcmp(x ? x : "", y ? y : "") == 0;
}

/* rbacv1.Subject / RoleRef compared as Go compares the structs (an absent field is "") */
static bool same_fields(const struct jv *a, const struct jv *b)
{
	static const char *const keys[] = {"kind", "apiGroup", "name", "namespace"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!same_str(a, b, keys[i]))
			return false;
	return true;
}

static bool has_subject(const struct jv *list, const struct jv *s)
{
	for (const struct jv *x = jv_first(list); x; x = x->next)
		if (same_fields(x, s))
			return true;
	return false;
}

/* computeReconciledRoleBinding with removeExtraSubjects false: another roleRef (immutable)
 * makes the binding anew as the policy has it; else the subjects want has and have lacks
 * (diffSubjectLists) are added, have's others stay. */
static int reconcile_binding(struct rec *c)
{
	const struct jv *have_subjects = jv_get(c->have, "subjects");

	start_from_have(c);
	c->missing = jv_new(c->d, JV_ARRAY);
	if (!c->next || !c->missing)
		return -ENOMEM;
	if (!same_fields(jv_get(c->want, "roleRef"), jv_get(c->have, "roleRef"))) {
		c->next = jv_copy(c->d, c->want);
		c->op = REC_RECREATE;
		return c->next ? 0 : -ENOMEM;
	}
	for (const struct jv *s = jv_first(jv_get(c->want, "subjects")); s; s = s->next)
		if (!has_subject(have_subjects, s) && !has_subject(c->missing, s))
			jv_push(c->missing, jv_copy(c->d, s));
	return add_missing(c, "subjects");
}

/* ---- ReconcileRoleOptions.run / ReconcileRoleBindingOptions.run ---- */

static void rec_reset(struct rec *c)
{
	c->have = c->next = c->missing = NULL;
	c->op = REC_NONE;
	c->protect = false;
}

/* Compute what the stored object needs: 0, or -errno (out set for a failed read). */
static int rec_compute(struct rec *c, struct api_result *out)
{
	const char *name = jv_path_str(c->want, "metadata.name");
	int err;

	rec_reset(c);
	c->rq.name = name;
	err = reg_get(c->reg, &c->rq, true, out);
	if (err && out->code == 404) {
		c->next = jv_copy(c->d, c->want);
		c->op = REC_CREATE;
		return c->next ? 0 : -ENOMEM;
	}
	if (err)
		return err;
	c->have = out->obj;
	return jv_get(c->want, "roleRef") ? reconcile_binding(c) : reconcile_role(c);
}

static int rec_create(struct rec *c, struct api_result *out)
{
	c->rq.name = NULL;
	if (reg_create(c->reg, &c->rq, c->next, out) == 0)
		return 0;
	/* made meanwhile: run again */
	return out->code == 409 ? -EAGAIN : -EIO;
}

/* The write c->op says. 0 done, -EAGAIN to run again (the object came, went or changed
 * meanwhile), or another error (out set). */
static int rec_write(struct rec *c, struct api_result *out)
{
	struct reg_delete_opts dopts = REG_DELETE_OPTS_INIT;

	switch (c->op) {
	case REC_NONE:
		return 0;
	case REC_RECREATE:
		/* the uid read is the delete's precondition: another object of that name is
		 * not deleted */
		dopts.uid = jv_path_str(c->have, "metadata.uid");
		if (reg_delete(c->reg, &c->rq, &dopts, out) != 0 && out->code != 404)
			return out->code == 409 ? -EAGAIN : -EIO;
		api_result_free(out);
		return rec_create(c, out);
	case REC_CREATE:
		return rec_create(c, out);
	case REC_UPDATE:
		/* the resourceVersion read is the update's precondition */
		if (reg_update(c->reg, &c->rq, c->next, out) == 0)
			return 0;
		return out->code == 404 || out->code == 409 ? -EAGAIN : -EIO;
	}
	return -EINVAL;
}

/* "clusterrole.rbac.authorization.k8s.io/NAME" (+ " in NS"), as kube's messages name it */
static void rec_name(const struct rec *c, char *buf, size_t size)
{
	const char *kind = jv_path_str(c->want, "kind") ?: "";
	size_t n = 0;

	for (; kind[n] && n + 1 < size; n++)
		buf[n] = (char)(kind[n] >= 'A' && kind[n] <= 'Z' ? kind[n] - 'A' + 'a' : kind[n]);
	snprintf(buf + n, size - n, "." RBAC_GROUP "/%s%s%s",
		 jv_path_str(c->want, "metadata.name") ?: "", c->rq.ns ? " in " : "",
		 c->rq.ns ? c->rq.ns : "");
}

/* The outcome, worded as ensureRBACPolicy logs it */
static void rec_log(const struct rec *c)
{
	bool binding = jv_get(c->want, "roleRef") != NULL;
	char *what = c->missing ? jv_to_json(c->missing, NULL) : NULL;
	char name[512];

	rec_name(c, name, sizeof(name));
	if (c->protect && c->op != REC_NONE)
		log_warn(COMP, "skipped reconcile-protected %s with missing %s: %s", name,
			 binding ? "subjects" : "permissions", what ?: "[]");
	else if (c->op == REC_UPDATE)
		log_info(COMP, "updated %s with additional %s: %s", name,
			 binding ? "subjects" : "permissions", what ?: "[]");
	else if (c->op == REC_CREATE) /* kube logs all three at V(2); a new cluster makes 128 */
		log_debug(COMP, "created %s", name);
	else if (c->op == REC_RECREATE)
		log_info(COMP, "recreated %s", name);
	free(what);
}

/* Reconcile one object of the policy; its kind names its resource. A failure is logged and
 * the others still reconciled, as ensureRBACPolicy goes on ("try to create as many as you
 * can"). */
static int reconcile_object(struct k8s_obj *o, void *ud)
{
	struct registry *reg = ud;
	const struct api_resource *res = api_resource_of_kind(k8s_obj_kind(o));
	char *json = res ? k8s_obj_to_json(o) : NULL;
	struct rec c = {.reg = reg, .d = jv_doc_new()};
	struct api_result out = {0};
	int err = -EAGAIN;

	c.rq = (struct reg_req){
	    .res = res, .ns = k8s_obj_namespace(o), .manager = "drover-server", .d = c.d};
	c.want = json && c.d ? jv_parse(c.d, json, strlen(json), NULL) : NULL;
	if (!res)
		log_error(COMP, "rbac policy: %s %s: not a served kind", k8s_obj_kind(o)->kind,
			  k8s_obj_name(o) ?: "");
	else if (!c.want)
		err = -ENOMEM;
	for (unsigned attempt = 0; c.want && err == -EAGAIN && attempt < MAX_ATTEMPTS; attempt++) {
		api_result_free(&out);
		out = (struct api_result){0};
		err = rec_compute(&c, &out);
		if (!err && !c.protect) {
			api_result_free(&out);
			out = (struct api_result){0};
			err = rec_write(&c, &out);
		}
	}
	if (!err) {
		rec_log(&c);
	} else if (res) {
		char name[512];

		rec_name(&c, name, sizeof(name));
		log_error(COMP, "unable to reconcile %s: %s", name,
			  err == -EAGAIN ? "exceeded maximum attempts"
			  : out.message	 ? out.message
					 : strerror(-err));
	}
	api_result_free(&out);
	jv_doc_free(c.d);
	free(json);
	k8s_obj_free(o);
	return 0;
}

int reg_bootstrap_rbac(struct registry *reg)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT, .origin = "bootstrap_rbac.yaml"};
	struct k8s_errors errs = {0};
	int err = k8s_parse_stream(reg_rbac_policy_yaml, reg_rbac_policy_yaml_len, &po,
				   reconcile_object, reg, &errs);

	if (err == -EINVAL || errs.n) {
		char msg[512];

		k8s_errors_format(&errs, po.origin, NULL, msg, sizeof(msg));
		log_error(COMP, "rbac policy: %s", msg);
	}
	k8s_errors_free(&errs);
	return err;
}
