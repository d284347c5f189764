/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podsecurity: the PodSecurity admission plugin of kube-apiserver 1.32 (on by default; off
 * with --disable-admission-plugins PodSecurity), as k8s.io/pod-security-admission writes it.
 *
 * The policy of a namespace comes from its labels pod-security.kubernetes.io/{enforce,audit,
 * warn} (privileged, baseline or restricted) and their -version labels (latest or v1.x), the
 * server's defaults (privileged:latest, no exemptions) for what is not set
 * (api/helpers.go PolicyToEvaluate; warn defaults to a stricter enforce level). Pods are
 * checked by podsecurity_checks.c. admission/admission.go:
 * - ValidatePod: enforce refuses (403 `pods "x" is forbidden: violates PodSecurity
 *   "restricted:latest": ...`); warn adds a `would violate PodSecurity` warning; updates
 *   that change nothing the checks read (isSignificantPodUpdate) and the pod's ignored
 *   subresources pass.
 * - ValidatePodController: the pod template of Deployments, ReplicaSets, StatefulSets,
 *   DaemonSets, Jobs, CronJobs, ReplicationControllers and PodTemplates is checked for warn
 *   only (DefaultPodSpecExtractor).
 * - ValidateNamespace: invalid labels are refused (422), and a new enforce level warns about
 *   the namespace's pods that violate it (EvaluatePodsInNamespace).
 * Audit is not evaluated: drover keeps no audit log for its annotations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_strategy.h"
#include "kinds.h"
#include "podsecurity.h"
#include "registry.h"

/* defaultNamespaceMaxPodsToCheck */
#define PSA_NS_MAX_PODS 3000

#define PSA_LABEL_PREFIX "pod-security.kubernetes.io/"

static const char *const psa_level_names[] = {"privileged", "baseline", "restricted"};

struct psa_policy {
	struct psa_lv enforce, audit, warn;
};

static bool lv_equal(struct psa_lv a, struct psa_lv b)
{
	return a.level == b.level && a.minor == b.minor;
}

static void lv_string(struct psa_lv lv, char *buf, size_t size)
{
	if (lv.minor < 0)
		snprintf(buf, size, "%s:latest", psa_level_names[lv.level]);
	else
		snprintf(buf, size, "%s:v1.%d", psa_level_names[lv.level], lv.minor);
}

/* ---- the policy of a namespace (api/helpers.go) ---- */

struct psa_label_err {
	const char *label, *value, *msg;
};

/* ParseLevel: "restricted" on error (the caller fails warn and audit open) */
static int parse_level(const char *v, enum psa_level *out)
{
	for (int l = PSA_PRIVILEGED; l <= PSA_RESTRICTED; l++)
		if (strcmp(v, psa_level_names[l]) == 0) {
			*out = (enum psa_level)l;
			return 0;
		}
	*out = PSA_RESTRICTED;
	return -1;
}

/* ParseVersion: "latest" or ^v1\.([0-9]|[1-9][0-9]*)$; latest on error */
static int parse_version(const char *v, int *minor)
{
	const char *d = v + 3;
	long m = 0;

	*minor = -1;
	if (strcmp(v, "latest") == 0)
		return 0;
	if (strncmp(v, "v1.", 3) != 0 || !*d || (d[0] == '0' && d[1]) || strlen(d) > 9)
		return -1;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		m = m * 10 + (*d - '0');
	}
	*minor = (int)m;
	return 0;
}

/* PolicyToEvaluate over the server's defaults (privileged:latest): the policy, and the
 * invalid labels in its order (at most 6). Warn defaults to an enforce level set stricter
 * than it, with the enforce version unless warn-version is set (kubernetes#113491, 1.26). */
static struct psa_policy psa_policy_of(const struct jv *labels, struct psa_label_err *errs,
				       size_t *nerrs)
{
	static const char *const level_label[] = {
	    PSA_LABEL_PREFIX "enforce", PSA_LABEL_PREFIX "audit", PSA_LABEL_PREFIX "warn"};
	static const char *const version_label[] = {PSA_LABEL_PREFIX "enforce-version",
						    PSA_LABEL_PREFIX "audit-version",
						    PSA_LABEL_PREFIX "warn-version"};
	struct psa_policy p = {{PSA_PRIVILEGED, -1}, {PSA_PRIVILEGED, -1}, {PSA_PRIVILEGED, -1}};
	struct psa_lv *lvs[] = {&p.enforce, &p.audit, &p.warn};
	bool has_level[3] = {false}, has_version[3] = {false}, warn_set = false;

	*nerrs = 0;
	for (int m = 0; m < 3; m++) {
		const struct jv *lv = jv_get(labels, level_label[m]);
		const struct jv *vv = jv_get(labels, version_label[m]);
		const char *v = lv && lv->type == JV_STRING ? lv->s : NULL;

		if (m == 2)
			warn_set = v != NULL;
		has_level[m] = v && parse_level(v, &lvs[m]->level) == 0;
		if (v && !has_level[m]) {
			errs[(*nerrs)++] = (struct psa_label_err){
			    level_label[m], v, "must be one of privileged, baseline, restricted"};
			if (m > 0)
				lvs[m]->level = PSA_PRIVILEGED; /* fail open for audit and warn */
		}
		v = vv && vv->type == JV_STRING ? vv->s : NULL;
		has_version[m] = v && parse_version(v, &lvs[m]->minor) == 0;
		if (v && !has_version[m])
			errs[(*nerrs)++] = (struct psa_label_err){version_label[m], v,
								  "must be \"latest\" or \"v1.x\""};
	}
	if (!warn_set && has_level[0] && p.enforce.level > p.warn.level) {
		p.warn.level = p.enforce.level;
		if (!has_version[2] && has_version[0])
			p.warn.minor = p.enforce.minor;
	}
	return p;
}

static bool psa_enabled(const struct api_admit *a)
{
	return a->reg && !a->reg->cfg.no_pod_security;
}

/* The policy of the namespace the object is in; *perr when its labels do not parse. */
static struct psa_policy ns_policy(struct api_admit *a, bool *perr)
{
	const char *ns = jv_path_str(a->obj, "metadata.namespace");
	const struct jv *o = ns ? api_admit_stored_one(a, "", "v1", "namespaces", NULL, ns) : NULL;
	struct psa_label_err errs[6];
	size_t n;
	struct psa_policy p = psa_policy_of(jv_path(o, "metadata.labels"), errs, &n);

	*perr = n > 0;
	return p;
}

/* Admission.EvaluatePod: enforce (when asked) refuses, warn warns when nothing refused;
 * a level+version evaluated once is reused. */
static void psa_evaluate_pod(struct api_admit *a, const struct psa_policy *p, const struct jv *meta,
			     const struct jv *spec, bool enforce)
{
	struct psa_agg ge = {0}, gw = {0};
	char lv[64];

	if (enforce) {
		psa_evaluate(p->enforce, meta, spec, &ge);
		if (ge.n) {
			lv_string(p->enforce, lv, sizeof(lv));
			snprintf(a->forbidden, sizeof(a->forbidden),
				 "violates PodSecurity \"%s\": %s", lv,
				 ge.detail.p ? ge.detail.p : "");
			goto out;
		}
	}
	if (enforce && lv_equal(p->warn, p->enforce))
		goto out; /* the same evaluation: it passed */
	psa_evaluate(p->warn, meta, spec, &gw);
	if (gw.n) {
		lv_string(p->warn, lv, sizeof(lv));
		k8s_errors_warn(&a->errs, "would violate PodSecurity \"%s\": %s", lv,
				gw.detail.p ? gw.detail.p : "");
	}
out:
	psa_agg_free(&ge);
	psa_agg_free(&gw);
}

/* isSignificantContainerUpdate */
static bool container_changed(const struct jv *c, const struct jv *oc, const struct jv *ann,
			      const struct jv *oann)
{
	char key[320];

	if (!jv_equal(jv_get(c, "image"), jv_get(oc, "image")))
		return true;
	snprintf(key, sizeof(key), "container.seccomp.security.alpha.kubernetes.io/%s",
		 psa_cname(c));
	return !jv_equal(jv_get(ann, key), jv_get(oann, key));
}

/* isSignificantPodUpdate: what the checks read and an update may change */
static bool pod_update_significant(const struct jv *pod, const struct jv *old)
{
	const struct jv *ann = jv_path(pod, "metadata.annotations");
	const struct jv *oann = jv_path(old, "metadata.annotations");
	static const char *const lists[] = {"containers", "initContainers"};

	if (!jv_equal(jv_get(ann, "seccomp.security.alpha.kubernetes.io/pod"),
		      jv_get(oann, "seccomp.security.alpha.kubernetes.io/pod")))
		return true;
	for (size_t l = 0; l < 2; l++) {
		const struct jv *cs = jv_path(jv_get(pod, "spec"), lists[l]);
		const struct jv *ocs = jv_path(jv_get(old, "spec"), lists[l]);

		if (jv_count(cs) != jv_count(ocs))
			return true;
		for (size_t i = 0; i < jv_count(cs); i++)
			if (container_changed(jv_at(cs, i), jv_at(ocs, i), ann, oann))
				return true;
	}
	for (const struct jv *c = jv_first(jv_path(pod, "spec.ephemeralContainers")); c;
	     c = c->next) {
		const struct jv *oc = NULL;

		for (const struct jv *o = jv_first(jv_path(old, "spec.ephemeralContainers")); o;
		     o = o->next)
			if (strcmp(psa_cname(o), psa_cname(c)) == 0) {
				oc = o;
				break;
			}
		if (!oc || container_changed(c, oc, ann, oann))
			return true;
	}
	return false;
}

/* Admission.ValidatePod */
void api_podsecurity_pod(struct api_admit *a)
{
	static const char *const ignored[] = {"exec", "attach",	     "binding", "eviction",
					      "log",  "portforward", "proxy",	"status"};
	struct psa_policy p;
	bool perr;

	if (!psa_enabled(a))
		return;
	for (size_t i = 0; a->sub && i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (strcmp(a->sub, ignored[i]) == 0)
			return;
	p = ns_policy(a, &perr);
	if (!perr && p.enforce.level == PSA_PRIVILEGED && p.warn.level == PSA_PRIVILEGED &&
	    p.audit.level == PSA_PRIVILEGED)
		return;
	if (a->old && !pod_update_significant(a->obj, a->old))
		return;
	psa_evaluate_pod(a, &p, jv_get(a->obj, "metadata"), jv_get(a->obj, "spec"), true);
}

/* Admission.ValidatePodController, with the template DefaultPodSpecExtractor finds (NULL:
 * a ReplicationController without one, not checked) */
static void psa_template(struct api_admit *a, const struct jv *tmpl)
{
	struct psa_policy p;
	bool perr;

	if (!psa_enabled(a) || a->sub)
		return;
	p = ns_policy(a, &perr);
	if (!perr && p.warn.level == PSA_PRIVILEGED && p.audit.level == PSA_PRIVILEGED)
		return;
	if (!tmpl)
		return;
	psa_evaluate_pod(a, &p, jv_get(tmpl, "metadata"), jv_get(tmpl, "spec"), false);
}

void api_podsecurity_workload(struct api_admit *a)
{
	psa_template(a, jv_path(a->obj, "spec.template"));
}

void api_podsecurity_cronjob(struct api_admit *a)
{
	psa_template(a, jv_path(a->obj, "spec.jobTemplate.spec.template"));
}

void api_podsecurity_podtemplate(struct api_admit *a)
{
	psa_template(a, jv_get(a->obj, "template"));
}

/* The invalid labels as the error's text, to compare an update's with the old object's. */
static void label_errs_text(const struct psa_label_err *e, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s=%s:%s;", e[i].label, e[i].value,
					e[i].msg);
}

struct ns_warning {
	char reasons[512];
	const char *first; /* the lexically first pod with these reasons */
	size_t count;
};

static int cmp_warning(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Admission.EvaluatePodsInNamespace: the warnings about the namespace's pods that violate
 * its new enforce level, one per distinct set of reasons, naming its first pod */
static void psa_pods_in_namespace(struct api_admit *a, const char *ns, struct psa_lv enforce)
{
	struct jv *pods = api_admit_stored(a, "", "v1", "pods", ns);
	struct ns_warning *w = NULL;
	size_t nw = 0, total = jv_count(pods), checked = 0;
	char lv[64], **lines = NULL;

	if (!pods)
		return;
	w = calloc(total ? total : 1, sizeof(*w));
	if (!w)
		return;
	for (const struct jv *pod = jv_first(pods); pod && checked < PSA_NS_MAX_PODS;
	     pod = pod->next, checked++) {
		const char *name = jv_path_str(pod, "metadata.name");
		struct psa_agg g = {0};
		size_t i;

		psa_evaluate(enforce, jv_get(pod, "metadata"), jv_get(pod, "spec"), &g);
		if (g.n && g.reasons.p) {
			for (i = 0; i < nw && strcmp(w[i].reasons, g.reasons.p) != 0; i++)
				;
			if (i == nw)
				snprintf(w[nw++].reasons, sizeof(w[0].reasons), "%s", g.reasons.p);
			if (!w[i].first || (name && strcmp(name, w[i].first) < 0))
				w[i].first = name ? name : "";
			w[i].count++;
		}
		psa_agg_free(&g);
	}
	lv_string(enforce, lv, sizeof(lv));
	if (checked < total)
		k8s_errors_warn(&a->errs,
				"new PodSecurity enforce level only checked against the first %zu "
				"of %zu existing pods",
				checked, total);
	if (nw)
		k8s_errors_warn(&a->errs,
				"existing pods in namespace \"%s\" violate the new PodSecurity "
				"enforce level \"%s\"",
				ns, lv);
	/* decoratePodWarnings, then sorted */
	lines = calloc(nw ? nw : 1, sizeof(*lines));
	for (size_t i = 0; lines && i < nw; i++) {
		char more[48] = "";

		if (w[i].count == 2)
			snprintf(more, sizeof(more), " (and 1 other pod)");
		else if (w[i].count > 2)
			snprintf(more, sizeof(more), " (and %zu other pods)", w[i].count - 1);
		if (asprintf(&lines[i], "%s%s: %s", w[i].first, more, w[i].reasons) < 0)
			lines[i] = NULL;
	}
	for (size_t i = 0; lines && i < nw; i++)
		if (!lines[i])
			lines[i] = strdup("");
	if (lines && nw) {
		qsort(lines, nw, sizeof(*lines), cmp_warning);
		for (size_t i = 0; i < nw; i++)
			k8s_errors_warn(&a->errs, "%s", lines[i] ? lines[i] : "");
	}
	for (size_t i = 0; lines && i < nw; i++)
		free(lines[i]);
	free(lines);
	free(w);
}

/* Admission.ValidateNamespace */
void api_podsecurity_namespace(struct api_admit *a)
{
	struct psa_label_err errs[6], oerrs[6];
	struct psa_policy np, op;
	size_t n, on;
	char t[1024], ot[1024];

	if (!psa_enabled(a) || a->sub)
		return;
	np = psa_policy_of(jv_path(a->obj, "metadata.labels"), errs, &n);
	if (a->old) {
		op = psa_policy_of(jv_path(a->old, "metadata.labels"), oerrs, &on);
		label_errs_text(errs, n, t, sizeof(t));
		label_errs_text(oerrs, on, ot, sizeof(ot));
		/* invalid labels are refused on update only when they changed */
		if (n && on && strcmp(t, ot) == 0)
			n = 0;
	}
	if (n) {
		for (size_t i = 0; i < n; i++) {
			char field[128];

			snprintf(field, sizeof(field), "metadata.labels[%s]", errs[i].label);
			api_cause_invalid(a, field,
					  jv_get(jv_path(a->obj, "metadata.labels"), errs[i].label),
					  errs[i].msg);
		}
		return;
	}
	if (!a->old)
		return;
	/* no pods to check: the enforce policy did not change, is privileged, or was relaxed
	 * within its version */
	if (lv_equal(np.enforce, op.enforce) || np.enforce.level == PSA_PRIVILEGED)
		return;
	if (np.enforce.minor == op.enforce.minor && np.enforce.level <= op.enforce.level)
		return;
	psa_pods_in_namespace(a, jv_path_str(a->obj, "metadata.name"), np.enforce);
}
