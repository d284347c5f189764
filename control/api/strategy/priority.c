/* SPDX-License-Identifier: Apache-2.0 */
/*
 * priority: PriorityClasses (scheduling.k8s.io/v1) and the Priority admission plugin, as
 * Kubernetes 1.32 has them: the two system classes (pkg/apis/scheduling/v1/helpers.go,
 * created at start by the registry's bootstrap as pkg/registry/scheduling/rest/
 * storage_scheduling.go creates them, and never deleted by name: priorityclass/storage/
 * storage.go REST.Delete), the class's defaults (SetDefaults_PriorityClass) and validation
 * (pkg/apis/scheduling/validation: ValidatePriorityClass, ValidatePriorityClassUpdate), and
 * plugin/pkg/admission/priority/admission.go: a new pod's priorityClassName resolved through
 * the stored classes to spec.priority and spec.preemptionPolicy (admitPod), a pod update
 * keeping them, and at most one globalDefault class (validatePriorityClass).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api_strategy.h"
#include "kinds.h"

/* scheduling.HighestUserDefinablePriority */
#define HIGHEST_USER_PRIORITY 1000000000
#define SYSTEM_PREFIX	      "system-"

const struct api_system_priority_class api_system_priority_classes[] = {
    {"system-node-critical", 2000001000,
     "Used for system critical pods that must not be moved from their current node."},
    {"system-cluster-critical", 2000000000,
     "Used for system critical pods that must run in the cluster, but can be moved to another "
     "node if necessary."},
};
const size_t api_nsystem_priority_classes =
    sizeof(api_system_priority_classes) / sizeof(api_system_priority_classes[0]);

static const struct api_system_priority_class *system_class(const char *name)
{
	for (size_t i = 0; name && i < api_nsystem_priority_classes; i++)
		if (strcmp(api_system_priority_classes[i].name, name) == 0)
			return &api_system_priority_classes[i];
	return NULL;
}

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

static struct jv *stored_classes(struct api_admit *a)
{
	return api_admit_cached(a, "scheduling.k8s.io", "v1", "priorityclasses", NULL);
}

/* getDefaultPriorityClass: of the globalDefault classes the one of lowest value (more than
 * one only after a race), or NULL. */
static const struct jv *default_class(const struct jv *classes)
{
	const struct jv *best = NULL;
	int64_t bv = 0, v;

	for (const struct jv *pc = jv_first(classes); pc; pc = pc->next) {
		if (!is_true(jv_get(pc, "globalDefault")))
			continue;
		v = 0;
		jv_path_int(pc, "value", &v);
		if (!best || v < bv) {
			best = pc;
			bv = v;
		}
	}
	return best;
}

static const struct jv *class_named(const struct jv *classes, const char *name)
{
	for (const struct jv *pc = jv_first(classes); pc; pc = pc->next)
		if (jv_is_str(jv_path(pc, "metadata.name"), name))
			return pc;
	return NULL;
}

/* ---- the Priority admission plugin: pods ---- */

/* admitPod on update: what the create set stays (validation forbids changing it). */
static void keep_pod_priority(struct api_admit *a, struct jv *spec)
{
	static const char *const keys[] = {"priority", "preemptionPolicy"};

	for (size_t i = 0; i < 2; i++) {
		const struct jv *o = jv_path(jv_get(a->old, "spec"), keys[i]);

		if (!jv_get(spec, keys[i]) && o)
			jv_set(a->d, spec, keys[i], jv_copy(a->d, o));
	}
}

void api_admit_pod_priority(struct api_admit *a, struct jv *spec)
{
	const char *cls = jv_path_str(spec, "priorityClassName");
	const struct jv *classes, *pc, *given_policy;
	const char *policy = "PreemptLowerPriority";
	int64_t value = 0, given;

	if (!spec || spec->type != JV_OBJECT || a->sub)
		return;
	if (a->old) {
		keep_pod_priority(a, spec);
		return;
	}
	classes = stored_classes(a);
	if (!cls || !cls[0]) {
		/* getDefaultPriority: the globalDefault class (its name too), else 0 */
		pc = default_class(classes);
		if (pc)
			jv_set(a->d, spec, "priorityClassName",
			       jv_copy(a->d, jv_path(pc, "metadata.name")));
	} else if (!(pc = class_named(classes, cls))) {
		snprintf(a->forbidden, sizeof(a->forbidden),
			 "no PriorityClass with name %s was found", cls);
		return;
	}
	if (pc) {
		jv_path_int(pc, "value", &value);
		policy = jv_path_str(pc, "preemptionPolicy");
	}
	if (jv_path_int(spec, "priority", &given) == 0 && given != value) {
		snprintf(a->forbidden, sizeof(a->forbidden),
			 "the integer value of priority (%" PRId64
			 ") must not be provided in pod spec; priority admission controller "
			 "computed %" PRId64 " from the given PriorityClass name",
			 given, value);
		return;
	}
	jv_set(a->d, spec, "priority", jv_new_int(a->d, value));
	if (!policy)
		return;
	given_policy = jv_get(spec, "preemptionPolicy");
	if (given_policy && given_policy->type == JV_STRING && !jv_is_str(given_policy, policy)) {
		snprintf(a->forbidden, sizeof(a->forbidden),
			 "the string value of PreemptionPolicy (%.*s) must not be provided in pod "
			 "spec; priority admission controller computed %s from the given "
			 "PriorityClass name",
			 (int)given_policy->len, given_policy->s, policy);
		return;
	}
	jv_set(a->d, spec, "preemptionPolicy", jv_new_strz(a->d, policy));
}

/* ---- PriorityClass ---- */

static void pc_defaults(struct api_admit *a)
{
	/* SetDefaults_PriorityClass */
	if (!jv_path_str(a->obj, "preemptionPolicy"))
		jv_set(a->d, a->obj, "preemptionPolicy", jv_new_strz(a->d, "PreemptLowerPriority"));
}

/* The plugin's validatePriorityClass: a second globalDefault class is refused. */
static void pc_admit(struct api_admit *a)
{
	const char *name = jv_path_str(a->obj, "metadata.name");
	const struct jv *dpc;
	const char *dname;

	if (!is_true(jv_get(a->obj, "globalDefault")) || a->sub)
		return;
	dpc = default_class(stored_classes(a));
	dname = dpc ? jv_path_str(dpc, "metadata.name") : NULL;
	if (dname && (!a->old || !name || strcmp(dname, name) != 0))
		snprintf(
		    a->forbidden, sizeof(a->forbidden),
		    "PriorityClass %s is already marked as default. Only one default can exist",
		    dname);
}

static void pc_validate(struct api_admit *a)
{
	const char *name = jv_path_str(a->obj, "metadata.name");
	int64_t value = 0, old_value = 0;
	char why[256];

	jv_path_int(a->obj, "value", &value);
	if (!a->old) {
		/* ValidatePriorityClass (preemptionPolicy's enum is the schema's) */
		if (name && strncmp(name, SYSTEM_PREFIX, strlen(SYSTEM_PREFIX)) == 0) {
			const struct api_system_priority_class *s = system_class(name);
			bool gd = is_true(jv_get(a->obj, "globalDefault"));
			char err[160];

			/* IsKnownSystemPriorityClass */
			if (!s)
				snprintf(err, sizeof(err),
					 "%s is not a known system priority class", name);
			else if (s->value != value)
				snprintf(err, sizeof(err),
					 "value of %s PriorityClass must be %" PRId64, s->name,
					 s->value);
			else if (gd)
				snprintf(err, sizeof(err),
					 "globalDefault of %s PriorityClass must be false",
					 s->name);
			else
				err[0] = 0;
			if (err[0]) {
				snprintf(why, sizeof(why),
					 "priority class names with '" SYSTEM_PREFIX
					 "' prefix are reserved for system use only. error: %s",
					 err);
				api_cause_forbidden(a, "metadata.name", why);
			}
		} else if (value > HIGHEST_USER_PRIORITY) {
			snprintf(why, sizeof(why),
				 "maximum allowed value of a user defined priority is %d",
				 HIGHEST_USER_PRIORITY);
			api_cause_forbidden(a, "value", why);
		}
	} else {
		/* ValidatePriorityClassUpdate */
		jv_path_int(a->old, "value", &old_value);
		if (value != old_value)
			api_cause_forbidden(a, "value", "may not be changed in an update.");
		if (!jv_equal(jv_get(a->obj, "preemptionPolicy"),
			      jv_get(a->old, "preemptionPolicy")))
			api_cause_invalid(a, "preemptionPolicy", jv_get(a->obj, "preemptionPolicy"),
					  "field is immutable");
	}
	/* the plugin validates after the object's own validation passed */
	if (!a->errs.n)
		pc_admit(a);
}

static const char *pc_forbid_delete(const char *name)
{
	return system_class(name) ? "this is a system priority class and cannot be deleted" : NULL;
}

const struct api_strategy api_strategy_priorityclasses = {
    .defaults = pc_defaults,
    .validate = pc_validate,
    .forbid_delete = pc_forbid_delete,
};
