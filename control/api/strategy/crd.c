/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crd: CustomResourceDefinitions (apiextensions.k8s.io/v1), as k8s.io/apiextensions-apiserver
 * 1.32 has them: the defaults (pkg/apis/apiextensions/v1/defaults.go:
 * SetDefaults_CustomResourceDefinitionSpec and SetDefaults_ServiceReference's conversion
 * strategy None), the strategy's PrepareForCreate/PrepareForUpdate (pkg/registry/
 * customresourcedefinition/strategy.go: status reset, storedVersions gaining the storage
 * version), the essentials of ValidateCustomResourceDefinition / ...Update (pkg/apis/
 * apiextensions/validation/validation.go) and, in place of the naming and establishing
 * controllers (pkg/controller/status/naming_controller.go: calculateNamesAndConditions;
 * pkg/controller/establish/establishing_controller.go), their outcome written with the write
 * itself: a CRD whose names no other CRD of its group has accepted gets acceptedNames and the
 * conditions NamesAccepted=True and Established=True at once, so a client that waits for
 * Established (kubectl wait, a CRD followed by its objects in one apply) sees it.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api_obj.h"
#include "api_selector.h"
#include "api_strategy.h"
#include "registry.h"

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

static const char *str_of(const struct jv *o, const char *path)
{
	const char *s = jv_path_str(o, path);

	return s ? s : "";
}

/* ---- defaults ---- */

/* SetDefaults_CustomResourceDefinitionSpec: singular = lower(kind), listKind = kind+"List",
 * conversion None. */
static void crd_defaults_spec(struct api_admit *a)
{
	struct jv *spec = jv_get(a->obj, "spec"), *names, *conv;
	const char *kind;
	char buf[300];

	if (!spec || spec->type != JV_OBJECT)
		return;
	names = jv_get(spec, "names");
	kind = jv_path_str(names, "kind");
	if (names && names->type == JV_OBJECT && kind && kind[0]) {
		if (!jv_path_str(names, "singular")) {
			size_t i;

			for (i = 0; kind[i] && i + 1 < sizeof(buf); i++)
				buf[i] = (char)tolower((unsigned char)kind[i]);
			buf[i] = 0;
			jv_set(a->d, names, "singular", jv_new_strz(a->d, buf));
		}
		if (!jv_path_str(names, "listKind")) {
			snprintf(buf, sizeof(buf), "%sList", kind);
			jv_set(a->d, names, "listKind", jv_new_strz(a->d, buf));
		}
	}
	conv = jv_obj_at(a->d, spec, "conversion");
	if (conv && !jv_path_str(conv, "strategy"))
		jv_set(a->d, conv, "strategy", jv_new_strz(a->d, "None"));
}

/* ---- names and conditions (the naming and establishing controllers) ---- */

static bool names_have(const struct jv *names, const char *s)
{
	if (!s || !s[0])
		return false;
	if (jv_is_str(jv_get(names, "plural"), s) || jv_is_str(jv_get(names, "singular"), s))
		return true;
	for (const struct jv *sn = jv_first(jv_get(names, "shortNames")); sn; sn = sn->next)
		if (jv_is_str(sn, s))
			return true;
	return false;
}

static bool kinds_have(const struct jv *names, const char *s)
{
	return s && s[0] &&
	       (jv_is_str(jv_get(names, "kind"), s) || jv_is_str(jv_get(names, "listKind"), s));
}

/* What the other CRDs of the group have accepted: their plurals, singulars and short names
 * (resources) or kinds and list kinds (kinds). */
static bool in_use(const struct jv *crds, const char *self, const char *group, const char *s,
		   bool kinds)
{
	for (const struct jv *c = jv_first(crds); c; c = c->next) {
		const struct jv *acc = jv_path(c, "status.acceptedNames");

		if (strcmp(str_of(c, "spec.group"), group) != 0 ||
		    strcmp(str_of(c, "metadata.name"), self) == 0)
			continue;
		if (kinds ? kinds_have(acc, s) : names_have(acc, s))
			return true;
	}
	return false;
}

/* calculateNamesAndConditions (naming_controller.go): each requested name is accepted when
 * it is the one accepted before or no other CRD of the group has accepted it; a conflict
 * keeps the name accepted before and sets NamesAccepted False with the last conflict's reason
 * and message. reason is "" when every name was accepted. */
static struct jv *accept_names(struct api_admit *a, const struct jv *req, const struct jv *old,
			       char *reason, size_t rlen, char *msg, size_t mlen)
{
	static const struct {
		const char *key, *reason;
		bool kinds;
	} keys[] = {{"plural", "PluralConflict", false},
		    {"singular", "SingularConflict", false},
		    {"kind", "KindConflict", true},
		    {"listKind", "ListKindConflict", true}};
	struct jv *crds =
	    api_admit_stored(a, "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL);
	const char *group = str_of(a->obj, "spec.group"), *self = str_of(a->obj, "metadata.name");
	struct jv *acc = jv_copy(a->d, req);
	bool short_ok = true;

	reason[0] = msg[0] = 0;
	if (!acc)
		return NULL;
	for (size_t i = 0; i < 4; i++) {
		const char *s = jv_path_str(req, keys[i].key);

		/* the controller checks the short names after the singular */
		for (const struct jv *sn = jv_first(jv_get(req, "shortNames")); i == 2 && sn;
		     sn = sn->next)
			if (sn->type == JV_STRING && !names_have(old, sn->s) &&
			    in_use(crds, self, group, sn->s, false)) {
				snprintf(reason, rlen, "ShortNamesConflict");
				snprintf(msg, mlen, "\"%s\" is already in use", sn->s);
				short_ok = false;
			}
		if (!s || jv_is_str(jv_get(old, keys[i].key), s) ||
		    !in_use(crds, self, group, s, keys[i].kinds))
			continue;
		snprintf(reason, rlen, "%s", keys[i].reason);
		snprintf(msg, mlen, "\"%s\" is already in use", s);
		if (jv_get(old, keys[i].key))
			jv_set(a->d, acc, keys[i].key, jv_copy(a->d, jv_get(old, keys[i].key)));
		else
			jv_del(acc, keys[i].key);
	}
	if (short_ok)
		return acc;
	if (jv_get(old, "shortNames"))
		jv_set(a->d, acc, "shortNames", jv_copy(a->d, jv_get(old, "shortNames")));
	else
		jv_del(acc, "shortNames");
	return acc;
}

/* The condition of type t in conds, set to status/reason/message; its lastTransitionTime
 * changes only when its status does (SetCRDCondition). */
static void set_condition(struct api_admit *a, struct jv *conds, const struct jv *old_conds,
			  const char *t, const char *status, const char *reason, const char *msg)
{
	struct jv *c = jv_new(a->d, JV_OBJECT);
	const struct jv *prev = NULL;
	char now[40];

	if (!c)
		return;
	for (const struct jv *o = jv_first(old_conds); o; o = o->next)
		if (jv_is_str(jv_get(o, "type"), t))
			prev = o;
	jv_set(a->d, c, "type", jv_new_strz(a->d, t));
	jv_set(a->d, c, "status", jv_new_strz(a->d, status));
	if (prev && jv_is_str(jv_get(prev, "status"), status) && jv_get(prev, "lastTransitionTime"))
		jv_set(a->d, c, "lastTransitionTime",
		       jv_copy(a->d, jv_get(prev, "lastTransitionTime")));
	else
		jv_set(a->d, c, "lastTransitionTime", jv_new_strz(a->d, api_now(now)));
	jv_set(a->d, c, "reason", jv_new_strz(a->d, reason));
	jv_set(a->d, c, "message", jv_new_strz(a->d, msg));
	jv_push(conds, c);
}

static const char *storage_version(const struct jv *spec)
{
	for (const struct jv *v = jv_first(jv_get(spec, "versions")); v; v = v->next)
		if (is_true(jv_get(v, "storage")))
			return jv_path_str(v, "name");
	return NULL;
}

/* The status the write leaves: storedVersions gaining the storage version (PrepareForCreate/
 * PrepareForUpdate), and the names and conditions the controllers would set: acceptedNames
 * and NamesAccepted as calculateNamesAndConditions computes them, Established once names
 * were accepted (an Established CRD stays so). */
static void crd_status(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec"), *names = jv_get(spec, "names");
	const struct jv *old_st = a->old ? jv_get(a->old, "status") : NULL;
	const struct jv *old_conds = jv_get(old_st, "conditions");
	const struct jv *old_acc = jv_get(old_st, "acceptedNames");
	struct jv *st = jv_new(a->d, JV_OBJECT), *conds, *stored, *acc;
	const char *sv = storage_version(spec);
	char reason[32], msg[300];
	bool have = false, was_established = false;

	if (!st || !names || names->type != JV_OBJECT)
		return;
	acc = accept_names(a, names, old_acc, reason, sizeof(reason), msg, sizeof(msg));
	conds = jv_new(a->d, JV_ARRAY);
	stored = jv_new(a->d, JV_ARRAY);
	if (!acc || !conds || !stored)
		return;
	jv_set(a->d, st, "acceptedNames", acc);
	if (!reason[0])
		set_condition(a, conds, old_conds, "NamesAccepted", "True", "NoConflicts",
			      "no conflicts found");
	else
		set_condition(a, conds, old_conds, "NamesAccepted", "False", reason, msg);
	for (const struct jv *c = jv_first(old_conds); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "Established") &&
		    jv_is_str(jv_get(c, "status"), "True"))
			was_established = true;
	if (!reason[0] || was_established)
		set_condition(a, conds, old_conds, "Established", "True", "InitialNamesAccepted",
			      "the initial names have been accepted");
	else
		set_condition(a, conds, old_conds, "Established", "False", "NotAccepted",
			      "not all names are accepted");
	jv_set(a->d, st, "conditions", conds);
	for (const struct jv *v = jv_first(jv_get(old_st, "storedVersions")); v; v = v->next) {
		jv_push(stored, jv_copy(a->d, v));
		have = have || (sv && jv_is_str(v, sv));
	}
	if (sv && !have)
		jv_push(stored, jv_new_strz(a->d, sv));
	jv_set(a->d, st, "storedVersions", stored);
	jv_set(a->d, a->obj, "status", st);
}

static void crd_prepare_create(struct api_admit *a)
{
	jv_del(a->obj, "status");
}

static void crd_defaults(struct api_admit *a)
{
	if (a->sub)
		return;
	crd_defaults_spec(a);
	crd_status(a);
}

/* ---- validation ---- */

static void names_rules(struct api_admit *a, const struct jv *names, const char *path)
{
	static const char *const label_keys[] = {"plural", "singular"};
	static const char *const kind_keys[] = {"kind", "listKind"};
	const char *e, *s;
	char f[160], low[300], why[600];
	size_t i, j;

	/* ValidateCustomResourceDefinitionNames */
	for (i = 0; i < 2; i++) {
		s = jv_path_str(names, label_keys[i]);
		if (s && s[0] && (e = api_dns1123_label_error(s))) {
			snprintf(f, sizeof(f), "%s.%s", path, label_keys[i]);
			api_cause_invalid(a, f, jv_get(names, label_keys[i]), e);
		}
	}
	for (i = 0; i < 2; i++) {
		s = jv_path_str(names, kind_keys[i]);
		if (!s || !s[0])
			continue;
		for (j = 0; s[j] && j + 1 < sizeof(low); j++)
			low[j] = (char)tolower((unsigned char)s[j]);
		low[j] = 0;
		if ((e = api_dns1123_label_error(low))) {
			snprintf(f, sizeof(f), "%s.%s", path, kind_keys[i]);
			snprintf(why, sizeof(why),
				 "may have mixed case, but should otherwise match: %s", e);
			api_cause_invalid(a, f, jv_get(names, kind_keys[i]), why);
		}
	}
	i = 0;
	for (const struct jv *sn = jv_first(jv_get(names, "shortNames")); sn; sn = sn->next, i++)
		if (sn->type == JV_STRING && (e = api_dns1123_label_error(sn->s))) {
			snprintf(f, sizeof(f), "%s.shortNames[%zu]", path, i);
			api_cause_invalid(a, f, sn, e);
		}
	s = jv_path_str(names, "kind");
	if (s && s[0] && jv_is_str(jv_get(names, "listKind"), s)) {
		snprintf(f, sizeof(f), "%s.listKind", path);
		api_cause_invalid(a, f, jv_get(names, "listKind"),
				  "kind and listKind may not be the same");
	}
	i = 0;
	for (const struct jv *c = jv_first(jv_get(names, "categories")); c; c = c->next, i++)
		if (c->type == JV_STRING && (e = api_dns1123_label_error(c->s))) {
			snprintf(f, sizeof(f), "%s.categories[%zu]", path, i);
			api_cause_invalid(a, f, c, e);
		}
}

/* ValidateCustomResourceDefinitionSpec's essentials. */
static void spec_rules(struct api_admit *a, const struct jv *spec)
{
	const char *group = jv_path_str(spec, "group"), *scope = jv_path_str(spec, "scope"), *e;
	const struct jv *names = jv_get(spec, "names");
	size_t storage = 0, i = 0;
	bool unique = true;
	char f[64];

	if (!group || !group[0])
		api_cause_required(a, "spec.group", NULL);
	else if ((e = api_dns1123_subdomain_error(group)))
		api_cause_invalid(a, "spec.group", jv_get(spec, "group"), e);
	else if (!strchr(group, '.'))
		api_cause_invalid(a, "spec.group", jv_get(spec, "group"),
				  "should be a domain with at least one dot");
	/* an unsupported scope is the schema enum's cause */
	if (!scope || !scope[0])
		api_cause_required(a, "spec.scope", NULL);
	for (const struct jv *v = jv_first(jv_get(spec, "versions")); v; v = v->next, i++) {
		const char *vn = jv_path_str(v, "name");

		if (is_true(jv_get(v, "storage")))
			storage++;
		for (const struct jv *w = jv_first(jv_get(spec, "versions")); w != v; w = w->next)
			if (vn && jv_is_str(jv_get(w, "name"), vn))
				unique = false;
		if (vn && (e = api_dns1123_label_error(vn))) {
			snprintf(f, sizeof(f), "spec.versions[%zu].name", i);
			api_cause_invalid(a, f, jv_get(v, "name"), e);
		}
	}
	/* Kubernetes prints the whole versions slice as the value; its Go syntax is not ours */
	if (!unique)
		api_cause(a, "spec.versions", K8S_REASON_INVALID,
			  "Invalid value: \"array\": must contain unique version names");
	if (storage != 1)
		api_cause(
		    a, "spec.versions", K8S_REASON_INVALID,
		    "Invalid value: \"array\": must have exactly one version marked as storage "
		    "version");
	/* required for spec, not for status */
	if (!jv_path_str(names, "plural") || !jv_path_str(names, "plural")[0])
		api_cause_required(a, "spec.names.plural", NULL);
	if (!jv_path_str(names, "singular") || !jv_path_str(names, "singular")[0])
		api_cause_required(a, "spec.names.singular", NULL);
	if (!jv_path_str(names, "kind") || !jv_path_str(names, "kind")[0])
		api_cause_required(a, "spec.names.kind", NULL);
	if (!jv_path_str(names, "listKind") || !jv_path_str(names, "listKind")[0])
		api_cause_required(a, "spec.names.listKind", NULL);
	names_rules(a, names, "spec.names");
}

static bool established(const struct jv *crd)
{
	for (const struct jv *c = jv_first(jv_path(crd, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "Established"))
			return jv_is_str(jv_get(c, "status"), "True");
	return false;
}

static void immutable(struct api_admit *a, const char *path)
{
	const struct jv *n = jv_path(a->obj, path);

	if (!jv_equal(n, jv_path(a->old, path)))
		api_cause_invalid(a, path, n, "field is immutable");
}

static void crd_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec");
	const char *name = jv_path_str(a->obj, "metadata.name");
	const struct jv *vs;
	char want[600];
	bool same;
	size_t i;

	if (a->sub)
		return;
	/* the nameFn of ValidateCustomResourceDefinition */
	snprintf(want, sizeof(want), "%s.%s", str_of(spec, "names.plural"), str_of(spec, "group"));
	if (name && strcmp(name, want) != 0)
		api_cause_invalid(a, "metadata.name", jv_path(a->obj, "metadata.name"),
				  "must be spec.names.plural+\".\"+spec.group");
	spec_rules(a, spec);
	/* validateCustomResourceDefinitionValidation: the rules compile. The internal version
	 * holds the versions' schema once, at spec.validation, when every version has the same
	 * (Convert_v1_CustomResourceDefinitionSpec_To_apiextensions_...), and the errors name
	 * that path. */
	vs = jv_get(spec, "versions");
	same = jv_first(vs) != NULL;
	for (const struct jv *v = jv_first(vs); v; v = v->next)
		same = same && jv_equal(jv_path(v, "schema.openAPIV3Schema"),
					jv_path(vs->head, "schema.openAPIV3Schema"));
	i = 0;
	for (const struct jv *v = jv_first(vs); v && !same; v = v->next, i++) {
		char path[96];

		snprintf(path, sizeof(path), "spec.versions[%zu].schema.openAPIV3Schema", i);
		api_crd_cel_check(a, jv_path(v, "schema.openAPIV3Schema"), path);
	}
	if (same)
		api_crd_cel_check(a, jv_path(vs->head, "schema.openAPIV3Schema"),
				  "spec.validation.openAPIV3Schema");
	if (!a->old)
		return;
	/* ValidateCustomResourceDefinitionSpecUpdate */
	if (established(a->old)) {
		immutable(a, "spec.scope");
		immutable(a, "spec.names.kind");
	}
	immutable(a, "spec.group");
	immutable(a, "spec.names.plural");
}

/* The customresource handler serves what the stored CRD says (crdHandler's crdInformer). */
static void crd_committed(struct api_admit *a)
{
	if (a->reg)
		reg_crd_serve(a->reg, a->obj, false);
}

/* The CRD went: its resources are no longer served and its objects go with it (the
 * customresourcecleanup finalizer's controller: finalizer/crd_finalizer.go). */
static void crd_release(struct registry *reg, const struct jv *obj)
{
	/* the objects first: their watchers see them deleted before their watches end */
	reg_crd_purge(reg, obj);
	reg_crd_serve(reg, obj, true);
}

const struct api_strategy api_strategy_crds = {
    .prepare_create = crd_prepare_create,
    .defaults = crd_defaults,
    .validate = crd_validate,
    .release = crd_release,
    .committed = crd_committed,
};
