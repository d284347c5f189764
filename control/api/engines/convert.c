/* SPDX-License-Identifier: Apache-2.0 */
/*
 * convert: versions served by conversion from another version's stored objects:
 * autoscaling/v1 HorizontalPodAutoscaler over the stored autoscaling/v2 objects (kubectl
 * autoscale posts v1), converted as Kubernetes converts them: v1's
 * targetCPUUtilizationPercentage is v2's Resource metric "cpu" with a Utilization target,
 * currentCPUUtilizationPercentage its current value. What v1 cannot express (other metrics,
 * behavior, conditions) rides in annotations while an object is in v1 form, so that a v1
 * client's read-modify-write keeps it; Kubernetes does the same with its
 * autoscaling.alpha.kubernetes.io/... annotations, whose values are in the older v2beta1
 * shape. drover's keys below hold the v2 JSON as it is, so they are named for drover.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_obj.h"

#define ANN_METRICS    "autoscaling.drover.dev/v2-metrics"
#define ANN_CURRENT    "autoscaling.drover.dev/v2-current-metrics"
#define ANN_CONDITIONS "autoscaling.drover.dev/v2-conditions"
#define ANN_BEHAVIOR   "autoscaling.drover.dev/v2-behavior"

/* The two parts of an HPA that differ between the versions: v2's metric list (list) is v1's
 * cpu percentage (pct) plus, in annotation ann_list, the other metrics; v2's member extra is
 * in annotation ann_extra. which: the metric's member holding the value. */
static const struct hpa_part {
	const char *part, *list, *which, *pct, *ann_list, *extra, *ann_extra;
} hpa_parts[] = {
    {"spec", "metrics", "target", "targetCPUUtilizationPercentage", ANN_METRICS, "behavior",
     ANN_BEHAVIOR},
    {"status", "currentMetrics", "current", "currentCPUUtilizationPercentage", ANN_CURRENT,
     "conditions", ANN_CONDITIONS},
};

/* Is m the Resource metric of "cpu" with a Utilization target (spec) or value (status)? */
static bool is_cpu_util(const struct jv *m, const char *which)
{
	char path[64];

	snprintf(path, sizeof(path), "resource.%s.averageUtilization", which);
	return jv_is_str(jv_get(m, "type"), "Resource") &&
	       jv_is_str(jv_path(m, "resource.name"), "cpu") && jv_path(m, path) &&
	       jv_path(m, path)->type == JV_NUMBER &&
	       (strcmp(which, "current") == 0 ||
		jv_is_str(jv_path(m, "resource.target.type"), "Utilization"));
}

/* Move v (unlinked from its parent by the caller's jv_del) into annotation key as JSON. */
static void stash(struct jv_doc *d, struct jv *obj, const char *key, const struct jv *v)
{
	size_t len;
	char *json;

	if (!v || (v->type == JV_ARRAY && !jv_count(v)))
		return;
	json = jv_to_json(v, &len);
	if (!json)
		return;
	jv_set(d, jv_obj_at(d, jv_obj_at(d, obj, "metadata"), "annotations"), key,
	       jv_new_str(d, json, len));
	free(json);
}

/* The JSON an annotation holds, removed from the object; NULL if absent or not JSON. */
static struct jv *unstash(struct jv_doc *d, struct jv *obj, const char *key)
{
	struct jv *ann = jv_path(obj, "metadata.annotations"), *s = jv_del(ann, key);

	if (ann && ann->type == JV_OBJECT && !jv_count(ann))
		jv_del(jv_get(obj, "metadata"), "annotations");
	if (!s || s->type != JV_STRING)
		return NULL;
	return jv_parse(d, s->s, s->len, NULL);
}

/* Split list into the cpu-utilization item (returned, its value) and the rest (stashed). */
static struct jv *split_cpu(struct jv_doc *d, struct jv *obj, struct jv *list, const char *which,
			    const char *key)
{
	struct jv *rest = jv_new(d, JV_ARRAY), *cpu = NULL;
	char path[64];

	snprintf(path, sizeof(path), "resource.%s.averageUtilization", which);
	for (struct jv *m = jv_first(list), *next; m; m = next) {
		next = m->next;
		if (!cpu && is_cpu_util(m, which))
			cpu = jv_copy(d, jv_path(m, path));
		else if (rest)
			jv_push(rest, jv_copy(d, m));
	}
	stash(d, obj, key, rest);
	return cpu;
}

/* One part of a v2 object to v1. */
static void part_to_v1(struct jv_doc *d, struct jv *obj, const struct hpa_part *h)
{
	struct jv *part = jv_get(obj, h->part), *v;

	if (!part || part->type != JV_OBJECT)
		return;
	v = split_cpu(d, obj, jv_del(part, h->list), h->which, h->ann_list);
	if (v)
		jv_set(d, part, h->pct, v);
	stash(d, obj, h->ann_extra, jv_del(part, h->extra));
}

void api_conv_hpa_v1_from_storage(const struct api_resource *res, struct jv_doc *d, struct jv *obj)
{
	(void)res;
	jv_set(d, obj, "apiVersion", jv_new_strz(d, "autoscaling/v1"));
	for (size_t i = 0; i < sizeof(hpa_parts) / sizeof(hpa_parts[0]); i++)
		part_to_v1(d, obj, &hpa_parts[i]);
}

/* {"type":"Resource","resource":{"name":"cpu","<which>":{[type],averageUtilization}}} */
static struct jv *cpu_metric(struct jv_doc *d, struct jv *pct, const char *which)
{
	struct jv *m = jv_new(d, JV_OBJECT), *r, *t;

	if (!m)
		return NULL;
	jv_set(d, m, "type", jv_new_strz(d, "Resource"));
	r = jv_obj_at(d, m, "resource");
	jv_set(d, r, "name", jv_new_strz(d, "cpu"));
	t = jv_obj_at(d, r, which);
	if (strcmp(which, "target") == 0)
		jv_set(d, t, "type", jv_new_strz(d, "Utilization"));
	jv_set(d, t, "averageUtilization", pct);
	return m;
}

/* v1's cpu percentage at key of parent, if any, appended to the stashed list as v2's item. */
static struct jv *join_cpu(struct jv_doc *d, struct jv *obj, struct jv *parent, const char *key,
			   const char *ann, const char *which)
{
	struct jv *list = unstash(d, obj, ann), *pct = parent ? jv_del(parent, key) : NULL;

	if (list && list->type != JV_ARRAY)
		list = NULL;
	if (pct && pct->type == JV_NUMBER) {
		if (!list)
			list = jv_new(d, JV_ARRAY);
		if (list)
			jv_push(list, cpu_metric(d, pct, which));
	}
	return list;
}

/* One part of a v1 object to v2 (the inverse of part_to_v1). */
static void part_to_v2(struct jv_doc *d, struct jv *obj, const struct hpa_part *h)
{
	struct jv *part = jv_get(obj, h->part), *list, *v;

	if (part && part->type != JV_OBJECT)
		part = NULL;
	/* the annotations go also when there is no part to put them back in */
	list = join_cpu(d, obj, part, h->pct, h->ann_list, h->which);
	v = unstash(d, obj, h->ann_extra);
	if (!part)
		return;
	if (list)
		jv_set(d, part, h->list, list);
	if (v)
		jv_set(d, part, h->extra, v);
}

void api_conv_hpa_v1_to_storage(const struct api_resource *res, struct jv_doc *d, struct jv *obj)
{
	(void)res;
	jv_set(d, obj, "apiVersion", jv_new_strz(d, "autoscaling/v2"));
	for (size_t i = 0; i < sizeof(hpa_parts) / sizeof(hpa_parts[0]); i++)
		part_to_v2(d, obj, &hpa_parts[i]);
}

/*
 * events.k8s.io/v1 Event over the stored core/v1 Events, as kube-apiserver serves both from
 * one storage (pkg/apis/events/v1/conversion.go: Convert_v1_Event_To_core_Event and back):
 * the fields v1 renamed, each pair {core/v1, events.k8s.io/v1}. The rest (action, reason,
 * related, series, eventTime, type, reportingInstance, metadata) is the same in both.
 */
static const char *const event_renames[][2] = {
    {"involvedObject", "regarding"},
    {"message", "note"},
    {"source", "deprecatedSource"},
    {"firstTimestamp", "deprecatedFirstTimestamp"},
    {"lastTimestamp", "deprecatedLastTimestamp"},
    {"count", "deprecatedCount"},
    {"reportingComponent", "reportingController"},
};

/* Move every member named by column from of event_renames to the other column's name. */
static void event_rename(struct jv_doc *d, struct jv *obj, int from, const char *api_version)
{
	struct jv *v[sizeof(event_renames) / sizeof(event_renames[0])];
	size_t n = sizeof(event_renames) / sizeof(event_renames[0]);

	jv_set(d, obj, "apiVersion", jv_new_strz(d, api_version));
	/* all out first, then all in: no name of one column is a name of the other */
	for (size_t i = 0; i < n; i++)
		v[i] = jv_del(obj, event_renames[i][from]);
	for (size_t i = 0; i < n; i++)
		if (v[i])
			jv_set(d, obj, event_renames[i][!from], v[i]);
}

void api_conv_event_v1_from_storage(const struct api_resource *res, struct jv_doc *d,
				    struct jv *obj)
{
	(void)res;
	event_rename(d, obj, 0, "events.k8s.io/v1");
}

void api_conv_event_v1_to_storage(const struct api_resource *res, struct jv_doc *d, struct jv *obj)
{
	(void)res;
	event_rename(d, obj, 1, "v1");
}
