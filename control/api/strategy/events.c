/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events: the validation of Events, as pkg/apis/core/validation/events.go does it for both
 * versions that share their storage: every write passes the legacy rules (the involved
 * object's namespace, and for an Event with eventTime the reporting fields); a create through
 * events.k8s.io/v1 passes the strict ones too (a DNS subdomain name, eventTime, Normal or
 * Warning, no deprecated fields, a series of at least 2). The object is in its stored core/v1
 * form here, so the paths are the internal type's (as Kubernetes reports them), except the
 * reporting controller's, which legacyValidateEvent names after the request's version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"
#include "api_strategy.h"
#include "kinds.h"

static bool has_str(const struct jv *o, const char *path)
{
	const char *s = jv_path_str(o, path);

	return s && s[0];
}

/* field.Invalid(path, "", why): Kubernetes reports these with an empty value */
static void invalid_empty(struct api_admit *a, const char *field, const char *why)
{
	api_cause(a, field, K8S_REASON_INVALID, "Invalid value: \"\": %s", why);
}

/* legacyValidateEvent */
static void validate_legacy(struct api_admit *a, bool v1_request)
{
	const struct jv *o = a->obj;
	const char *ns = jv_path_str(o, "metadata.namespace") ?: "";
	const char *ions = jv_path_str(o, "involvedObject.namespace") ?: "";
	const char *rc = jv_path_str(o, "reportingComponent") ?: "";
	const char *rc_field = v1_request ? "reportingComponent" : "reportingController";
	const char *why;

	if (!has_str(o, "eventTime")) {
		if (ions[0] ? strcmp(ns, ions) != 0 : ns[0] && strcmp(ns, "default") != 0)
			api_cause_invalid(a, "involvedObject.namespace",
					  jv_path(o, "involvedObject.namespace"),
					  "does not match event.namespace");
		return;
	}
	if (!ions[0] && strcmp(ns, "default") != 0 && strcmp(ns, "kube-system") != 0)
		invalid_empty(a, "involvedObject.namespace", "does not match event.namespace");
	if (!rc[0])
		api_cause_required(a, rc_field, NULL);
	/* ValidateQualifiedName: an empty name fails both of IsQualifiedName's checks */
	if (!rc[0]) {
		invalid_empty(a, rc_field, "name part must be non-empty");
		invalid_empty(a, rc_field, api_label_key_error("-", 1));
	} else if ((why = api_label_key_error(rc, strlen(rc))) != NULL) {
		api_cause_invalid(a, rc_field, jv_get(o, "reportingComponent"), why);
	}
	if (!has_str(o, "reportingInstance"))
		api_cause_required(a, "reportingInstance", NULL);
	if (!has_str(o, "action"))
		api_cause_required(a, "action", NULL);
	if (!has_str(o, "reason"))
		api_cause_required(a, "reason", NULL);
}

/* ValidateEventCreate's strict part (events.k8s.io/v1 and newer) */
static void validate_strict(struct api_admit *a)
{
	const struct jv *o = a->obj, *series = jv_get(o, "series");
	const char *name = jv_path_str(o, "metadata.name"), *why;
	const char *type = jv_path_str(o, "type") ?: "";
	int64_t n = 0;
	char msg[160];

	if (name && name[0] && (why = api_dns1123_subdomain_error(name)) != NULL)
		api_cause_invalid(a, "metadata.name", jv_path(o, "metadata.name"), why);
	if (series) {
		/* validateV1EventSeries */
		if (jv_path_int(series, "count", &n) != 0 || n < 2)
			invalid_empty(a, "series.count", "should be at least 2");
		if (!has_str(series, "lastObservedTime"))
			api_cause_required(a, "series.lastObservedTime", NULL);
	}
	if (!has_str(o, "eventTime"))
		api_cause_required(a, "eventTime", NULL);
	if (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0) {
		snprintf(msg, sizeof(msg), "has invalid value: %.100s", type);
		invalid_empty(a, "type", msg);
	}
	if (has_str(o, "firstTimestamp"))
		invalid_empty(a, "firstTimestamp", "needs to be unset");
	if (has_str(o, "lastTimestamp"))
		invalid_empty(a, "lastTimestamp", "needs to be unset");
	if (jv_path_int(o, "count", &n) == 0 && n != 0)
		invalid_empty(a, "count", "needs to be unset");
	if (has_str(o, "source.component") || has_str(o, "source.host"))
		invalid_empty(a, "source", "needs to be unset");
}

/* ValidateEventUpdate's strict part: an Event written through events.k8s.io/v1 changes only
 * its series and metadata. (Kubernetes prints a struct's value with Go's %#v, a time's with
 * its String(); drover prints those values as JSON.) */
static void validate_strict_update(struct api_admit *a)
{
	static const char *const immutable[] = {
	    "involvedObject",	"reason",	 "message", "source",
	    "firstTimestamp",	"lastTimestamp", "count",   "type",
	    "eventTime",	"action",	 "related", "reportingComponent",
	    "reportingInstance"};
	char val[256];

	if (!jv_equal(jv_get(a->obj, "series"), jv_get(a->old, "series"))) {
		const struct jv *series = jv_get(a->obj, "series");
		int64_t n = 0;

		if (series && (jv_path_int(series, "count", &n) != 0 || n < 2))
			invalid_empty(a, "series.count", "should be at least 2");
		if (series && !has_str(series, "lastObservedTime"))
			api_cause_required(a, "series.lastObservedTime", NULL);
	}
	for (size_t i = 0; i < sizeof(immutable) / sizeof(immutable[0]); i++) {
		const struct jv *v = jv_get(a->obj, immutable[i]);
		/* the internal field's name: core/v1's reportingComponent is ReportingController */
		const char *field = strcmp(immutable[i], "reportingComponent") == 0
					? "reportingController"
					: immutable[i];

		if (jv_equal(v, jv_get(a->old, immutable[i])))
			continue;
		if (!v || v->type == JV_STRING || v->type == JV_NUMBER) {
			api_cause_invalid(a, field, v, "field is immutable");
			continue;
		}
		{
			size_t len;
			char *json = jv_to_json(v, &len);

			snprintf(val, sizeof(val), "%.200s", json ? json : "");
			free(json);
		}
		api_cause(a, field, K8S_REASON_INVALID, "Invalid value: %s: field is immutable",
			  val);
	}
}

void api_validate_event(struct api_admit *a)
{
	/* the client's version: core/v1 when the write came through it (no conversion) */
	bool v1_request = !a->wire;

	validate_legacy(a, v1_request);
	if (v1_request || a->sub)
		return;
	if (a->old)
		validate_strict_update(a);
	else
		validate_strict(a);
}
