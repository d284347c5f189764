/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table: Table output. Columns come from the generated resource table; each cell is filled
 * the way kube-apiserver's printers (pkg/printers/internalversion/printers.go) fill it: the
 * "fn:" cells below are those printers' logic, the "str:", "int:" and "bool:" cells a field's
 * value.
 * Every column is sent, wide ones too (priority 1): kubectl shows them with -o wide.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api_obj.h"
#include "api_selector.h"
#include "api_table.h"

bool api_accept_table(const char *accept)
{
	return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

int api_include_object(const char *arg)
{
	if (!arg || !arg[0] || strcmp(arg, "Metadata") == 0)
		return API_INCLUDE_METADATA;
	if (strcmp(arg, "Object") == 0)
		return API_INCLUDE_OBJECT;
	if (strcmp(arg, "None") == 0)
		return API_INCLUDE_NONE;
	return -1;
}

/* duration.HumanDuration of d seconds */
static void human_duration(long long d, char *buf, size_t size)
{
	long long m, h;

	if (d < -1) {
		snprintf(buf, size, "<invalid>");
		return;
	}
	if (d < 0)
		d = 0;
	if (d < 120) {
		snprintf(buf, size, "%llds", d);
		return;
	}
	m = d / 60;
	if (m < 10) {
		if (d % 60)
			snprintf(buf, size, "%lldm%llds", m, d % 60);
		else
			snprintf(buf, size, "%lldm", m);
		return;
	}
	if (m < 180) {
		snprintf(buf, size, "%lldm", m);
		return;
	}
	h = d / 3600;
	if (h < 8) {
		if (m % 60)
			snprintf(buf, size, "%lldh%lldm", h, m % 60);
		else
			snprintf(buf, size, "%lldh", h);
	} else if (h < 48) {
		snprintf(buf, size, "%lldh", h);
	} else if (h < 24 * 8) {
		if (h % 24)
			snprintf(buf, size, "%lldd%lldh", h / 24, h % 24);
		else
			snprintf(buf, size, "%lldd", h / 24);
	} else if (h < 24 * 365 * 2) {
		snprintf(buf, size, "%lldd", h / 24);
	} else if (h < 24 * 365 * 8) {
		long long dy = (h / 24) % 365;

		if (dy)
			snprintf(buf, size, "%lldy%lldd", h / 24 / 365, dy);
		else
			snprintf(buf, size, "%lldy", h / 24 / 365);
	} else {
		snprintf(buf, size, "%lldy", h / 24 / 365);
	}
}

void api_human_since(int64_t t, char *buf, size_t size)
{
	if (t <= 0) {
		snprintf(buf, size, "<unknown>");
		return;
	}
	human_duration((long long)time(NULL) - t, buf, size);
}

static void since(const struct jv *o, const char *path, char *buf, size_t size)
{
	api_human_since(api_parse_time(jv_path_str(o, path)), buf, size);
}

/* ---- cells ---- */

struct cell {
	char s[1024];
	bool is_int, is_bool;
	long long i;
};

static void cell_str(struct cell *c, const char *s)
{
	snprintf(c->s, sizeof(c->s), "%s", s ? s : "");
}

static void cell_int(struct cell *c, long long v)
{
	c->is_int = true;
	c->i = v;
}

static long long int_at(const struct jv *o, const char *path)
{
	int64_t v = 0;

	return jv_path_int(o, path, &v) == 0 ? (long long)v : 0;
}

static const char *str_or(const struct jv *o, const char *path, const char *dflt)
{
	const char *s = jv_path_str(o, path);

	return s && s[0] ? s : dflt;
}

/* Append s to c->s, with sep before all but the first. */
static void cell_add(struct cell *c, const char *sep, const char *s)
{
	size_t n = strlen(c->s);

	snprintf(c->s + n, sizeof(c->s) - n, "%s%s", n ? sep : "", s);
}

static void cell_more(struct cell *c, size_t more)
{
	char tail[48];

	snprintf(tail, sizeof(tail), " + %zu more...", more);
	cell_add(c, "", tail);
}

static const struct jv *first(const struct jv *o, const char *path)
{
	const struct jv *a = jv_path(o, path);

	return a && (a->type == JV_ARRAY || a->type == JV_OBJECT) ? a->head : NULL;
}

static void join_field(struct cell *c, const struct jv *o, const char *path, const char *field)
{
	c->s[0] = 0;
	for (const struct jv *i = first(o, path); i; i = i->next)
		cell_add(c, ",", str_or(i, field, ""));
}

static void lower(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i < size - 1; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[i] = 0;
}

/* labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty. */
static void format_labels(struct cell *c, const struct jv *m)
{
	const struct jv *keys[64];
	size_t n = 0;

	c->s[0] = 0;
	for (const struct jv *i = m && m->type == JV_OBJECT ? m->head : NULL; i && n < 64;
	     i = i->next)
		keys[n++] = i;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1]->key, keys[b]->key) > 0; b--) {
			const struct jv *t = keys[b];

			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		char kv[512];

		snprintf(kv, sizeof(kv), "%s=%s", keys[i]->key,
			 keys[i]->type == JV_STRING ? keys[i]->s : "");
		cell_add(c, ",", kv);
	}
	if (!n)
		cell_str(c, "<none>");
}

static bool cond_true(const struct jv *conds, const char *type)
{
	for (const struct jv *c = jv_first(conds); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return jv_is_str(jv_get(c, "status"), "True");
	return false;
}

/* ---- pods (printPod) ---- */

struct podinfo {
	char reason[256];
	long long restarts, total, ready;
	int64_t last_restart;
};

/* A terminated state's reason text, with prefix ("Init:" or ""). */
static void terminated_reason(const struct jv *term, const char *prefix, char *out, size_t size)
{
	const char *tr = jv_path_str(term, "reason");

	if (tr && tr[0])
		snprintf(out, size, "%s%s", prefix, tr);
	else if (int_at(term, "signal"))
		snprintf(out, size, "%sSignal:%lld", prefix, int_at(term, "signal"));
	else
		snprintf(out, size, "%sExitCode:%lld", prefix, int_at(term, "exitCode"));
}

static void note_restart(struct podinfo *p, const struct jv *cs)
{
	int64_t fin = api_parse_time(jv_path_str(cs, "lastState.terminated.finishedAt"));

	p->restarts += int_at(cs, "restartCount");
	if (fin > p->last_restart)
		p->last_restart = fin;
}

static bool pod_init_containers(const struct jv *o, struct podinfo *p)
{
	size_t i = 0, ninit = jv_count(jv_path(o, "spec.initContainers"));

	for (const struct jv *c = first(o, "status.initContainerStatuses"); c; c = c->next, i++) {
		const struct jv *term = jv_path(c, "state.terminated");
		const char *wr = jv_path_str(c, "state.waiting.reason");

		note_restart(p, c);
		if (term && int_at(term, "exitCode") == 0)
			continue;
		if (term)
			terminated_reason(term, "Init:", p->reason, sizeof(p->reason));
		else if (wr && wr[0] && strcmp(wr, "PodInitializing") != 0)
			snprintf(p->reason, sizeof(p->reason), "Init:%s", wr);
		else
			snprintf(p->reason, sizeof(p->reason), "Init:%zu/%zu", i, ninit);
		return true;
	}
	return false;
}

static void pod_containers(const struct jv *o, struct podinfo *p)
{
	const struct jv *arr[64];
	size_t n = 0;
	bool has_running = false;

	p->restarts = 0;
	p->last_restart = 0;
	for (const struct jv *c = first(o, "status.containerStatuses"); c && n < 64; c = c->next)
		arr[n++] = c;
	while (n--) {
		const struct jv *c = arr[n], *term = jv_path(c, "state.terminated");
		const struct jv *ready = jv_get(c, "ready");
		const char *wr = jv_path_str(c, "state.waiting.reason");

		note_restart(p, c);
		if (wr && wr[0]) {
			snprintf(p->reason, sizeof(p->reason), "%s", wr);
		} else if (term) {
			terminated_reason(term, "", p->reason, sizeof(p->reason));
		} else if (ready && ready->type == JV_TRUE && jv_path(c, "state.running")) {
			has_running = true;
			p->ready++;
		}
	}
	if (strcmp(p->reason, "Completed") == 0 && has_running)
		snprintf(p->reason, sizeof(p->reason), "%s",
			 cond_true(jv_path(o, "status.conditions"), "Ready") ? "Running"
									     : "NotReady");
}

static void pod_info(const struct jv *o, struct podinfo *p)
{
	const char *phase = jv_path_str(o, "status.phase"), *sr = jv_path_str(o, "status.reason");

	memset(p, 0, sizeof(*p));
	p->total = (long long)jv_count(jv_path(o, "spec.containers"));
	snprintf(p->reason, sizeof(p->reason), "%s", sr && sr[0] ? sr : phase ? phase : "");
	for (const struct jv *c = first(o, "status.conditions"); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "PodScheduled") &&
		    jv_is_str(jv_get(c, "reason"), "SchedulingGated"))
			snprintf(p->reason, sizeof(p->reason), "SchedulingGated");
	if (!pod_init_containers(o, p) || cond_true(jv_path(o, "status.conditions"), "Initialized"))
		pod_containers(o, p);
	if (jv_path(o, "metadata.deletionTimestamp")) {
		if (sr && strcmp(sr, "NodeLost") == 0)
			snprintf(p->reason, sizeof(p->reason), "Unknown");
		else if (!phase ||
			 (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0))
			snprintf(p->reason, sizeof(p->reason), "Terminating");
	}
}

static void pod_cell(const struct jv *o, const char *which, struct cell *c)
{
	struct podinfo p;

	pod_info(o, &p);
	if (strcmp(which, "ready") == 0) {
		snprintf(c->s, sizeof(c->s), "%lld/%lld", p.ready, p.total);
	} else if (strcmp(which, "status") == 0) {
		cell_str(c, p.reason);
	} else if (p.restarts && p.last_restart > 0) {
		char ago[32];

		api_human_since(p.last_restart, ago, sizeof(ago));
		snprintf(c->s, sizeof(c->s), "%lld (%s ago)", p.restarts, ago);
	} else {
		snprintf(c->s, sizeof(c->s), "%lld", p.restarts);
	}
}

static void pod_readiness_gates(const struct jv *o, struct cell *c)
{
	const struct jv *conds = jv_path(o, "status.conditions");
	size_t ok = 0, n = jv_count(jv_path(o, "spec.readinessGates"));

	if (!n) {
		cell_str(c, "<none>");
		return;
	}
	for (const struct jv *g = first(o, "spec.readinessGates"); g; g = g->next) {
		const char *t = jv_path_str(g, "conditionType");

		if (t && cond_true(conds, t))
			ok++;
	}
	snprintf(c->s, sizeof(c->s), "%zu/%zu", ok, n);
}

static void pod_ip(const struct jv *o, struct cell *c)
{
	const char *ip = jv_path_str(o, "status.podIPs[0].ip");

	if (!ip || !ip[0])
		ip = jv_path_str(o, "status.podIP");
	cell_str(c, ip && ip[0] ? ip : "<none>");
}

/* ---- nodes (printNode) ---- */

static void node_status(const struct jv *o, struct cell *c)
{
	const struct jv *u = jv_path(o, "spec.unschedulable");

	c->s[0] = 0;
	for (const struct jv *x = first(o, "status.conditions"); x; x = x->next)
		if (jv_is_str(jv_get(x, "type"), "Ready"))
			cell_str(c, jv_is_str(jv_get(x, "status"), "True") ? "Ready" : "NotReady");
	if (!c->s[0])
		cell_str(c, "Unknown");
	if (u && u->type == JV_TRUE)
		cell_add(c, ",", "SchedulingDisabled");
}

static void node_roles(const struct jv *o, struct cell *c)
{
	static const char prefix[] = "node-role.kubernetes.io/";

	c->s[0] = 0;
	for (const struct jv *l = first(o, "metadata.labels"); l; l = l->next) {
		if (strncmp(l->key, prefix, sizeof(prefix) - 1) == 0 && l->key[sizeof(prefix) - 1])
			cell_add(c, ",", l->key + sizeof(prefix) - 1);
		else if (strcmp(l->key, "kubernetes.io/role") == 0 && l->type == JV_STRING &&
			 l->len)
			cell_add(c, ",", l->s);
	}
	if (!c->s[0])
		cell_str(c, "<none>");
}

static void node_address(const struct jv *o, const char *type, struct cell *c)
{
	for (const struct jv *a = first(o, "status.addresses"); a; a = a->next)
		if (jv_is_str(jv_get(a, "type"), type)) {
			cell_str(c, jv_path_str(a, "address"));
			return;
		}
	cell_str(c, "<none>");
}

/* ---- services and endpoints ---- */

static void svc_ports(const struct jv *o, struct cell *c)
{
	c->s[0] = 0;
	for (const struct jv *p = first(o, "spec.ports"); p; p = p->next) {
		const char *proto = str_or(p, "protocol", "TCP");
		char one[96];

		if (int_at(p, "nodePort") > 0)
			snprintf(one, sizeof(one), "%lld:%lld/%s", int_at(p, "port"),
				 int_at(p, "nodePort"), proto);
		else
			snprintf(one, sizeof(one), "%lld/%s", int_at(p, "port"), proto);
		cell_add(c, ",", one);
	}
	if (!c->s[0])
		cell_str(c, "<none>");
}

static void join_strings(struct cell *c, const struct jv *o, const char *path)
{
	for (const struct jv *i = first(o, path); i; i = i->next)
		if (i->type == JV_STRING)
			cell_add(c, ",", i->s);
}

static void svc_external_ip(const struct jv *o, struct cell *c)
{
	const char *type = str_or(o, "spec.type", "ClusterIP");

	c->s[0] = 0;
	if (strcmp(type, "ExternalName") == 0) {
		cell_str(c, jv_path_str(o, "spec.externalName"));
		return;
	}
	if (strcmp(type, "LoadBalancer") == 0) {
		for (const struct jv *i = first(o, "status.loadBalancer.ingress"); i; i = i->next)
			cell_add(c, ",", str_or(i, "ip", str_or(i, "hostname", "")));
		join_strings(c, o, "spec.externalIPs");
		if (!c->s[0])
			cell_str(c, "<pending>");
		return;
	}
	join_strings(c, o, "spec.externalIPs");
	if (!c->s[0])
		cell_str(c, strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0
				? "<none>"
				: "<unknown>");
}

static void svc_cluster_ip(const struct jv *o, struct cell *c)
{
	const struct jv *ip = first(o, "spec.clusterIPs");

	cell_str(c, ip && ip->type == JV_STRING ? ip->s : "<none>");
}

static void endpoints_cell(const struct jv *o, struct cell *c)
{
	size_t count = 0, listed = 0;

	c->s[0] = 0;
	if (!jv_count(jv_get(o, "subsets"))) {
		cell_str(c, "<none>");
		return;
	}
	for (const struct jv *ss = first(o, "subsets"); ss; ss = ss->next) {
		const struct jv *p = first(ss, "ports");
		size_t naddr = jv_count(jv_get(ss, "addresses"));

		do { /* once per port, or once with no port */
			count += naddr;
			for (const struct jv *a = first(ss, "addresses"); a && listed < 3;
			     a = a->next, listed++) {
				char one[96];

				if (p)
					snprintf(one, sizeof(one), "%s:%lld", str_or(a, "ip", ""),
						 int_at(p, "port"));
				else
					snprintf(one, sizeof(one), "%s", str_or(a, "ip", ""));
				cell_add(c, ",", one);
			}
			p = p ? p->next : NULL;
		} while (p);
	}
	if (count > listed)
		cell_more(c, count - listed);
}

static void slice_ports(const struct jv *o, struct cell *c)
{
	c->s[0] = 0;
	for (const struct jv *i = first(o, "ports"); i; i = i->next) {
		char one[32];

		if (jv_get(i, "port"))
			snprintf(one, sizeof(one), "%lld", int_at(i, "port"));
		else
			snprintf(one, sizeof(one), "<unset>");
		cell_add(c, ",", one);
	}
	if (!c->s[0])
		cell_str(c, "<unset>");
}

static void slice_endpoints(const struct jv *o, struct cell *c)
{
	size_t count = 0;

	c->s[0] = 0;
	for (const struct jv *i = first(o, "endpoints"); i; i = i->next)
		for (const struct jv *a = first(i, "addresses"); a; a = a->next, count++)
			if (count < 3 && a->type == JV_STRING)
				cell_add(c, ",", a->s);
	if (count > 3)
		cell_more(c, count - 3);
	if (!c->s[0])
		cell_str(c, "<unset>");
}

/* ---- events (printEvent) ---- */

static void event_cell(const struct jv *o, const char *which, struct cell *c)
{
	char first_seen[32], last_seen[32], kind[128];
	long long count = int_at(o, "count");

	if (jv_path_str(o, "firstTimestamp"))
		since(o, "firstTimestamp", first_seen, sizeof(first_seen));
	else
		since(o, "eventTime", first_seen, sizeof(first_seen));
	if (jv_path_str(o, "lastTimestamp"))
		since(o, "lastTimestamp", last_seen, sizeof(last_seen));
	else
		snprintf(last_seen, sizeof(last_seen), "%s", first_seen);
	if (jv_get(o, "series")) {
		since(o, "series.lastObservedTime", last_seen, sizeof(last_seen));
		count = int_at(o, "series.count");
	} else if (!count) {
		count = 1;
	}
	if (strcmp(which, "first_seen") == 0) {
		cell_str(c, first_seen);
	} else if (strcmp(which, "last_seen") == 0) {
		cell_str(c, last_seen);
	} else if (strcmp(which, "count") == 0) {
		cell_int(c, count);
	} else if (strcmp(which, "object") == 0) {
		const char *name = jv_path_str(o, "involvedObject.name");

		lower(kind, sizeof(kind), jv_path_str(o, "involvedObject.kind"));
		if (name && name[0])
			snprintf(c->s, sizeof(c->s), "%s/%s", kind, name);
		else
			cell_str(c, kind);
	} else {
		const char *comp =
		    str_or(o, "source.component", str_or(o, "reportingComponent", ""));
		const char *host = str_or(o, "source.host", str_or(o, "reportingInstance", ""));

		if (host[0])
			snprintf(c->s, sizeof(c->s), "%s, %s", comp, host);
		else
			cell_str(c, comp);
	}
}

/* ---- workloads ---- */

static void job_status(const struct jv *o, struct cell *c)
{
	static const char *const order[] = {"Failed", "Complete", "SuccessCriteriaMet",
					    "FailureTarget", "Suspended"};
	const struct jv *conds = jv_path(o, "status.conditions");

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (cond_true(conds, order[i])) {
			cell_str(c, order[i]);
			return;
		}
	cell_str(c, jv_path(o, "metadata.deletionTimestamp") ? "Terminating" : "Running");
}

static void job_completions(const struct jv *o, struct cell *c)
{
	long long ok = int_at(o, "status.succeeded");

	if (jv_path(o, "spec.completions"))
		snprintf(c->s, sizeof(c->s), "%lld/%lld", ok, int_at(o, "spec.completions"));
	else if (int_at(o, "spec.parallelism") > 1)
		snprintf(c->s, sizeof(c->s), "%lld/1 of %lld", ok, int_at(o, "spec.parallelism"));
	else
		snprintf(c->s, sizeof(c->s), "%lld/1", ok);
}

static void job_duration(const struct jv *o, struct cell *c)
{
	int64_t start = api_parse_time(jv_path_str(o, "status.startTime"));
	int64_t end = api_parse_time(jv_path_str(o, "status.completionTime"));

	if (start < 0) {
		cell_str(c, "");
		return;
	}
	if (end < 0)
		end = (int64_t)time(NULL);
	human_duration((long long)(end - start), c->s, sizeof(c->s));
}

static void hpa_metric(const struct jv *m, const struct jv *st, char *one, size_t size)
{
	const char *type = str_or(m, "type", "");
	char cur[48], tgt[48];

	if (strcmp(type, "Resource") == 0) {
		const char *name = str_or(m, "resource.name", "");
		const char *av = jv_path_str(m, "resource.target.averageValue");

		if (av) {
			snprintf(one, size, "%s: %s/%s", name,
				 str_or(st, "resource.current.averageValue", "<unknown>"), av);
			return;
		}
		if (jv_path(st, "resource.current.averageUtilization"))
			snprintf(cur, sizeof(cur), "%lld%%",
				 int_at(st, "resource.current.averageUtilization"));
		else
			snprintf(cur, sizeof(cur), "<unknown>");
		if (jv_path(m, "resource.target.averageUtilization"))
			snprintf(tgt, sizeof(tgt), "%lld%%",
				 int_at(m, "resource.target.averageUtilization"));
		else
			snprintf(tgt, sizeof(tgt), "<auto>");
		snprintf(one, size, "%s: %s/%s", name, cur, tgt);
	} else if (strcmp(type, "Pods") == 0) {
		snprintf(one, size, "%s/%s", str_or(st, "pods.current.averageValue", "<unknown>"),
			 str_or(m, "pods.target.averageValue", ""));
	} else {
		snprintf(one, size, "<unknown type>");
	}
}

static void hpa_targets(const struct jv *o, struct cell *c)
{
	const struct jv *sts = jv_path(o, "status.currentMetrics");
	size_t i = 0;

	c->s[0] = 0;
	if (!jv_count(jv_path(o, "spec.metrics"))) {
		cell_str(c, "<none>");
		return;
	}
	for (const struct jv *m = first(o, "spec.metrics"); m; m = m->next, i++) {
		char one[160];

		if (i >= 2)
			continue;
		hpa_metric(m, jv_at(sts, i), one, sizeof(one));
		cell_add(c, ", ", one);
	}
	if (i > 2)
		cell_more(c, i - 2);
}

/* ---- RBAC, quota, volumes, ingress, revisions ---- */

static void binding_subjects(const struct jv *o, const char *kind, struct cell *c)
{
	c->s[0] = 0;
	for (const struct jv *s = first(o, "subjects"); s; s = s->next) {
		char one[256];

		if (!jv_is_str(jv_get(s, "kind"), kind))
			continue;
		if (strcmp(kind, "ServiceAccount") == 0)
			snprintf(one, sizeof(one), "%s/%s", str_or(s, "namespace", ""),
				 str_or(s, "name", ""));
		else
			snprintf(one, sizeof(one), "%s", str_or(s, "name", ""));
		cell_add(c, ", ", one);
	}
}

static void quota_cell(const struct jv *o, bool limits, struct cell *c)
{
	const struct jv *used = jv_path(o, "status.used");

	c->s[0] = 0;
	for (const struct jv *h = first(o, "spec.hard"); h; h = h->next) {
		const struct jv *u = jv_get(used, h->key);
		char one[256];

		if ((strncmp(h->key, "limits.", 7) == 0) != limits)
			continue;
		snprintf(one, sizeof(one), "%s: %s/%s", h->key,
			 u && u->type == JV_STRING ? u->s : "0", h->type == JV_STRING ? h->s : "");
		cell_add(c, ", ", one);
	}
}

static void access_modes(const struct jv *o, const char *path, struct cell *c)
{
	static const char *const modes[][2] = {{"ReadWriteOnce", "RWO"},
					       {"ReadOnlyMany", "ROX"},
					       {"ReadWriteMany", "RWX"},
					       {"ReadWriteOncePod", "RWOP"}};

	c->s[0] = 0;
	for (size_t i = 0; i < 4; i++)
		for (const struct jv *m = first(o, path); m; m = m->next)
			if (jv_is_str(m, modes[i][0]))
				cell_add(c, ",", modes[i][1]);
}

static void ingress_hosts(const struct jv *o, struct cell *c)
{
	size_t n = 0;

	c->s[0] = 0;
	for (const struct jv *r = first(o, "spec.rules"); r; r = r->next, n++)
		if (n < 4)
			cell_add(c, ",", str_or(r, "host", "*"));
	if (n > 4)
		cell_more(c, n - 4);
	if (!n)
		cell_str(c, "*");
}

static void ingress_address(const struct jv *o, struct cell *c)
{
	c->s[0] = 0;
	for (const struct jv *i = first(o, "status.loadBalancer.ingress"); i; i = i->next)
		cell_add(c, ",", str_or(i, "ip", str_or(i, "hostname", "")));
}

static void controller_of(const struct jv *o, struct cell *c)
{
	for (const struct jv *r = first(o, "metadata.ownerReferences"); r; r = r->next) {
		const struct jv *ctl = jv_get(r, "controller");
		const char *av = str_or(r, "apiVersion", ""), *slash = strchr(av, '/');
		char kind[128];

		if (!ctl || ctl->type != JV_TRUE)
			continue;
		lower(kind, sizeof(kind), jv_path_str(r, "kind"));
		if (slash)
			snprintf(c->s, sizeof(c->s), "%s.%.*s/%s", kind, (int)(slash - av), av,
				 str_or(r, "name", ""));
		else
			snprintf(c->s, sizeof(c->s), "%s/%s", kind, str_or(r, "name", ""));
		return;
	}
	cell_str(c, "<none>");
}

static void int_or_string(const struct jv *v, struct cell *c)
{
	cell_str(c, v && (v->type == JV_STRING || v->type == JV_NUMBER) ? v->s : "N/A");
}

static void selector_cell(const struct jv *o, const char *path, struct cell *c)
{
	api_label_selector_string(jv_path(o, path), c->s, sizeof(c->s));
}

/* ---- the "fn:" cells ---- */

enum cell_fn {
	FN_POD_READY,
	FN_POD_STATUS,
	FN_POD_RESTARTS,
	FN_POD_IP,
	FN_POD_READINESS_GATES,
	FN_NODE_STATUS,
	FN_NODE_ROLES,
	FN_NODE_INTERNAL_IP,
	FN_NODE_EXTERNAL_IP,
	FN_SVC_CLUSTER_IP,
	FN_SVC_EXTERNAL_IP,
	FN_SVC_PORTS,
	FN_SVC_SELECTOR,
	FN_ENDPOINTS,
	FN_SLICE_PORTS,
	FN_SLICE_ENDPOINTS,
	FN_DATA_COUNT,
	FN_SA_SECRETS,
	FN_EVENT_LAST_SEEN,
	FN_EVENT_FIRST_SEEN,
	FN_EVENT_OBJECT,
	FN_EVENT_SOURCE,
	FN_EVENT_COUNT,
	FN_DEPLOY_READY,
	FN_STS_READY,
	FN_TEMPLATE_CONTAINERS,
	FN_TEMPLATE_IMAGES,
	FN_LABEL_SELECTOR,
	FN_DS_NODE_SELECTOR,
	FN_REVISION_CONTROLLER,
	FN_JOB_STATUS,
	FN_JOB_COMPLETIONS,
	FN_JOB_DURATION,
	FN_CRONJOB_SUSPEND,
	FN_CRONJOB_ACTIVE,
	FN_CRONJOB_LAST_SCHEDULE,
	FN_CRONJOB_CONTAINERS,
	FN_CRONJOB_IMAGES,
	FN_CRONJOB_SELECTOR,
	FN_HPA_REFERENCE,
	FN_HPA_TARGETS,
	FN_HPA_MIN,
	FN_INGRESS_CLASS,
	FN_INGRESS_HOSTS,
	FN_INGRESS_ADDRESS,
	FN_INGRESS_PORTS,
	FN_NETPOL_SELECTOR,
	FN_PDB_MIN_AVAILABLE,
	FN_PDB_MAX_UNAVAILABLE,
	FN_BINDING_ROLE,
	FN_BINDING_USERS,
	FN_BINDING_GROUPS,
	FN_BINDING_SAS,
	FN_QUOTA_REQUEST,
	FN_QUOTA_LIMIT,
	FN_CREATED_AT,
	FN_PVC_VOLUME,
	FN_PVC_CAPACITY,
	FN_PVC_ACCESS_MODES,
	FN_PVC_STORAGE_CLASS,
	FN_PVC_VOLUME_ATTRIBUTES_CLASS,
	FN_PVC_VOLUME_MODE,
	FN_CSR_DURATION,
	FN_CSR_CONDITION,
	FN_PV_CAPACITY,
	FN_PV_ACCESS_MODES,
	FN_PV_RECLAIM_POLICY,
	FN_PV_STATUS,
	FN_PV_CLAIM,
	FN_PV_STORAGE_CLASS,
	FN_PV_REASON,
	FN_PODTEMPLATE_CONTAINERS,
	FN_PODTEMPLATE_IMAGES,
	FN_PODTEMPLATE_LABELS,
	FN_RC_SELECTOR,
	FN_CS_STATUS,
	FN_CS_MESSAGE,
	FN_CS_ERROR,
	FN_SC_NAME,
	FN_SC_RECLAIM_POLICY,
	FN_SC_BINDING_MODE,
	FN_SC_ALLOW_EXPANSION,
	FN_CSI_ATTACH_REQUIRED,
	FN_CSI_POD_INFO,
	FN_CSI_STORAGE_CAPACITY,
	FN_CSI_TOKEN_REQUESTS,
	FN_CSI_REPUBLISH,
	FN_CSI_MODES,
	FN_CSINODE_DRIVERS,
	FN_CSICAP_CLASS,
	FN_CSICAP_CAPACITY,
	FN_VA_ATTACHER,
	FN_VA_PV,
	FN_VA_NODE,
	FN_VA_ATTACHED,
	FN_INGRESSCLASS_CONTROLLER,
	FN_INGRESSCLASS_PARAMETERS,
	FN_RUNTIMECLASS_HANDLER,
	FN_WEBHOOK_COUNT,
	FN_VAP_VALIDATIONS,
	FN_VAP_PARAM_KIND,
	FN_VAPB_PARAM_REF,
	FN_FS_DISTINGUISHER,
	FN_FS_MISSING_PL,
	FN_PLC_SHARES,
	FN_PLC_QUEUES,
	FN_PLC_HAND_SIZE,
	FN_PLC_QUEUE_LENGTH_LIMIT,
	FN_APISERVICE_SERVICE,
	FN_APISERVICE_AVAILABLE,
	FN__COUNT,
};

static const char *const fn_names[FN__COUNT] = {
    "pod_ready",
    "pod_status",
    "pod_restarts",
    "pod_ip",
    "pod_readiness_gates",
    "node_status",
    "node_roles",
    "node_internal_ip",
    "node_external_ip",
    "svc_cluster_ip",
    "svc_external_ip",
    "svc_ports",
    "svc_selector",
    "endpoints",
    "slice_ports",
    "slice_endpoints",
    "data_count",
    "sa_secrets",
    "event_last_seen",
    "event_first_seen",
    "event_object",
    "event_source",
    "event_count",
    "deploy_ready",
    "sts_ready",
    "template_containers",
    "template_images",
    "label_selector",
    "ds_node_selector",
    "revision_controller",
    "job_status",
    "job_completions",
    "job_duration",
    "cronjob_suspend",
    "cronjob_active",
    "cronjob_last_schedule",
    "cronjob_containers",
    "cronjob_images",
    "cronjob_selector",
    "hpa_reference",
    "hpa_targets",
    "hpa_min",
    "ingress_class",
    "ingress_hosts",
    "ingress_address",
    "ingress_ports",
    "netpol_selector",
    "pdb_min_available",
    "pdb_max_unavailable",
    "binding_role",
    "binding_users",
    "binding_groups",
    "binding_sas",
    "quota_request",
    "quota_limit",
    "created_at",
    "pvc_volume",
    "pvc_capacity",
    "pvc_access_modes",
    "pvc_storage_class",
    "pvc_volume_attributes_class",
    "pvc_volume_mode",
    "csr_duration",
    "csr_condition",
    "pv_capacity",
    "pv_access_modes",
    "pv_reclaim_policy",
    "pv_status",
    "pv_claim",
    "pv_storage_class",
    "pv_reason",
    "podtemplate_containers",
    "podtemplate_images",
    "podtemplate_labels",
    "rc_selector",
    "cs_status",
    "cs_message",
    "cs_error",
    "sc_name",
    "sc_reclaim_policy",
    "sc_binding_mode",
    "sc_allow_expansion",
    "csi_attach_required",
    "csi_pod_info",
    "csi_storage_capacity",
    "csi_token_requests",
    "csi_republish",
    "csi_modes",
    "csinode_drivers",
    "csicap_class",
    "csicap_capacity",
    "va_attacher",
    "va_pv",
    "va_node",
    "va_attached",
    "ingressclass_controller",
    "ingressclass_parameters",
    "runtimeclass_handler",
    "webhook_count",
    "vap_validations",
    "vap_param_kind",
    "vapb_param_ref",
    "fs_distinguisher",
    "fs_missing_pl",
    "plc_shares",
    "plc_queues",
    "plc_hand_size",
    "plc_queue_length_limit",
    "apiservice_service",
    "apiservice_available",
};

/* printCertificateSigningRequest: the requested duration, and extractCSRStatus */
static void csr_duration(const struct jv *o, struct cell *c)
{
	int64_t secs;

	if (jv_path_int(o, "spec.expirationSeconds", &secs) != 0)
		cell_str(c, "<none>");
	else
		human_duration((long long)secs, c->s, sizeof(c->s));
}

static void csr_condition(const struct jv *o, struct cell *c)
{
	bool approved = false, denied = false, failed = false;
	const struct jv *cert = jv_path(o, "status.certificate");

	for (const struct jv *x = jv_first(jv_path(o, "status.conditions")); x; x = x->next) {
		const struct jv *t = jv_get(x, "type");

		approved |= jv_is_str(t, "Approved");
		denied |= jv_is_str(t, "Denied");
		failed |= jv_is_str(t, "Failed");
	}
	snprintf(c->s, sizeof(c->s), "%s%s%s",
		 denied	    ? "Denied"
		 : approved ? "Approved"
			    : "Pending",
		 failed ? ",Failed" : "",
		 cert && cert->type == JV_STRING && cert->len ? ",Issued" : "");
}

/* ---- the API server's configuration kinds ---- */

/* printValidatingAdmissionPolicyBinding: the param's namespace/name, or its selector */
static void vapb_param_ref(const struct jv *o, struct cell *c)
{
	const struct jv *pr = jv_path(o, "spec.paramRef");
	const char *name = jv_path_str(pr, "name"), *ns = jv_path_str(pr, "namespace");

	if (!pr) {
		cell_str(c, "<unset>");
	} else if (name && name[0]) {
		/* "Can't tell from here if param is cluster-scoped": no namespace is "*" */
		snprintf(c->s, sizeof(c->s), "%s/%s", ns && ns[0] ? ns : "*", name);
	} else if (jv_get(pr, "selector")) {
		api_label_selector_string(jv_get(pr, "selector"), c->s, sizeof(c->s));
	} else {
		cell_str(c, "<unset>");
	}
}

/* printFlowSchema: the status of the Dangling condition, "?" without one */
static void fs_missing_pl(const struct jv *o, struct cell *c)
{
	cell_str(c, "?");
	for (const struct jv *x = first(o, "status.conditions"); x; x = x->next)
		if (jv_is_str(jv_get(x, "type"), "Dangling")) {
			cell_str(c, str_or(x, "status", ""));
			return;
		}
}

/* printPriorityLevelConfiguration: the limited level's figures, "<none>" for others (and
 * the queuing ones for a level that rejects) */
static void plc_cell(const struct jv *o, const char *path, struct cell *c)
{
	const struct jv *lim = jv_path(o, "spec.limited");
	int64_t v;

	if (lim && jv_path_int(lim, path, &v) == 0)
		cell_int(c, v);
	else if (lim && strcmp(path, "nominalConcurrencyShares") == 0)
		cell_int(c, 0);
	else
		cell_str(c, "<none>");
}

/* kube-aggregator's APIService ConvertToTable: "Local" or namespace/name, and the
 * Available condition: True, or its status with the reason */
static void apiservice_available(const struct jv *o, struct cell *c)
{
	cell_str(c, "Unknown");
	for (const struct jv *x = first(o, "status.conditions"); x; x = x->next) {
		const char *st = str_or(x, "status", ""), *reason = str_or(x, "reason", "");

		if (!jv_is_str(jv_get(x, "type"), "Available"))
			continue;
		if (strcmp(st, "True") == 0 || !reason[0])
			cell_str(c, st);
		else
			snprintf(c->s, sizeof(c->s), "%s (%s)", st, reason);
		return;
	}
}

static void admin_cell(int fn, const struct jv *o, struct cell *c)
{
	const struct jv *pk = jv_path(o, "spec.paramKind");

	switch (fn) {
	case FN_WEBHOOK_COUNT:
		cell_int(c, (long long)jv_count(jv_get(o, "webhooks")));
		break;
	case FN_VAP_VALIDATIONS:
		cell_int(c, (long long)jv_count(jv_path(o, "spec.validations")));
		break;
	case FN_VAP_PARAM_KIND:
		if (pk)
			snprintf(c->s, sizeof(c->s), "%s/%s", str_or(pk, "apiVersion", ""),
				 str_or(pk, "kind", ""));
		else
			cell_str(c, "<unset>");
		break;
	case FN_VAPB_PARAM_REF:
		vapb_param_ref(o, c);
		break;
	case FN_FS_DISTINGUISHER:
		cell_str(c, str_or(o, "spec.distinguisherMethod.type", "<none>"));
		break;
	case FN_FS_MISSING_PL:
		fs_missing_pl(o, c);
		break;
	case FN_PLC_SHARES:
		plc_cell(o, "nominalConcurrencyShares", c);
		break;
	case FN_PLC_QUEUES:
		plc_cell(o, "limitResponse.queuing.queues", c);
		break;
	case FN_PLC_HAND_SIZE:
		plc_cell(o, "limitResponse.queuing.handSize", c);
		break;
	case FN_PLC_QUEUE_LENGTH_LIMIT:
		plc_cell(o, "limitResponse.queuing.queueLengthLimit", c);
		break;
	case FN_APISERVICE_SERVICE:
		if (jv_path(o, "spec.service"))
			snprintf(c->s, sizeof(c->s), "%s/%s",
				 str_or(o, "spec.service.namespace", ""),
				 str_or(o, "spec.service.name", ""));
		else
			cell_str(c, "Local");
		break;
	case FN_APISERVICE_AVAILABLE:
		apiservice_available(o, c);
		break;
	}
}

static int fn_lookup(const char *name)
{
	for (int i = 0; i < FN__COUNT; i++)
		if (strcmp(fn_names[i], name) == 0)
			return i;
	return -1;
}

static void ready_of(const struct jv *o, struct cell *c)
{
	snprintf(c->s, sizeof(c->s), "%lld/%lld", int_at(o, "status.readyReplicas"),
		 int_at(o, "spec.replicas"));
}

static void kinds_cell(int fn, const struct jv *o, struct cell *c);

static void fn_cell(int fn, const struct jv *o, struct cell *c)
{
	static const char tmpl[] = "spec.template.spec.containers";
	static const char cj_tmpl[] = "spec.jobTemplate.spec.template.spec.containers";

	switch (fn) {
	case FN_POD_READY:
		pod_cell(o, "ready", c);
		break;
	case FN_POD_STATUS:
		pod_cell(o, "status", c);
		break;
	case FN_POD_RESTARTS:
		pod_cell(o, "restarts", c);
		break;
	case FN_POD_IP:
		pod_ip(o, c);
		break;
	case FN_POD_READINESS_GATES:
		pod_readiness_gates(o, c);
		break;
	case FN_NODE_STATUS:
		node_status(o, c);
		break;
	case FN_NODE_ROLES:
		node_roles(o, c);
		break;
	case FN_NODE_INTERNAL_IP:
		node_address(o, "InternalIP", c);
		break;
	case FN_NODE_EXTERNAL_IP:
		node_address(o, "ExternalIP", c);
		break;
	case FN_SVC_CLUSTER_IP:
		svc_cluster_ip(o, c);
		break;
	case FN_SVC_EXTERNAL_IP:
		svc_external_ip(o, c);
		break;
	case FN_SVC_PORTS:
		svc_ports(o, c);
		break;
	case FN_SVC_SELECTOR:
		format_labels(c, jv_path(o, "spec.selector"));
		break;
	case FN_ENDPOINTS:
		endpoints_cell(o, c);
		break;
	case FN_SLICE_PORTS:
		slice_ports(o, c);
		break;
	case FN_SLICE_ENDPOINTS:
		slice_endpoints(o, c);
		break;
	case FN_DATA_COUNT:
		cell_int(c, (long long)(jv_count(jv_get(o, "data")) +
					jv_count(jv_get(o, "binaryData"))));
		break;
	case FN_SA_SECRETS:
		cell_int(c, (long long)jv_count(jv_get(o, "secrets")));
		break;
	case FN_EVENT_LAST_SEEN:
		event_cell(o, "last_seen", c);
		break;
	case FN_EVENT_FIRST_SEEN:
		event_cell(o, "first_seen", c);
		break;
	case FN_EVENT_OBJECT:
		event_cell(o, "object", c);
		break;
	case FN_EVENT_SOURCE:
		event_cell(o, "source", c);
		break;
	case FN_EVENT_COUNT:
		event_cell(o, "count", c);
		break;
	case FN_DEPLOY_READY:
	case FN_STS_READY:
		ready_of(o, c);
		break;
	case FN_TEMPLATE_CONTAINERS:
		join_field(c, o, tmpl, "name");
		break;
	case FN_TEMPLATE_IMAGES:
		join_field(c, o, tmpl, "image");
		break;
	case FN_CRONJOB_CONTAINERS:
		join_field(c, o, cj_tmpl, "name");
		break;
	case FN_CRONJOB_IMAGES:
		join_field(c, o, cj_tmpl, "image");
		break;
	case FN_LABEL_SELECTOR:
		selector_cell(o, "spec.selector", c);
		break;
	case FN_CRONJOB_SELECTOR:
		selector_cell(o, "spec.jobTemplate.spec.selector", c);
		break;
	case FN_NETPOL_SELECTOR:
		selector_cell(o, "spec.podSelector", c);
		break;
	case FN_DS_NODE_SELECTOR:
		format_labels(c, jv_path(o, "spec.template.spec.nodeSelector"));
		break;
	case FN_REVISION_CONTROLLER:
		controller_of(o, c);
		break;
	case FN_JOB_STATUS:
		job_status(o, c);
		break;
	case FN_JOB_COMPLETIONS:
		job_completions(o, c);
		break;
	case FN_JOB_DURATION:
		job_duration(o, c);
		break;
	case FN_CRONJOB_SUSPEND: {
		const struct jv *s = jv_path(o, "spec.suspend");

		c->is_bool = true;
		c->i = s && s->type == JV_TRUE;
		break;
	}
	case FN_CRONJOB_ACTIVE:
		cell_int(c, (long long)jv_count(jv_path(o, "status.active")));
		break;
	case FN_CRONJOB_LAST_SCHEDULE:
		if (jv_path_str(o, "status.lastScheduleTime"))
			since(o, "status.lastScheduleTime", c->s, sizeof(c->s));
		else
			cell_str(c, "<none>");
		break;
	case FN_HPA_REFERENCE:
		snprintf(c->s, sizeof(c->s), "%s/%s", str_or(o, "spec.scaleTargetRef.kind", ""),
			 str_or(o, "spec.scaleTargetRef.name", ""));
		break;
	case FN_HPA_TARGETS:
		hpa_targets(o, c);
		break;
	case FN_HPA_MIN:
		if (jv_path(o, "spec.minReplicas"))
			snprintf(c->s, sizeof(c->s), "%lld", int_at(o, "spec.minReplicas"));
		else
			cell_str(c, "<unset>");
		break;
	case FN_INGRESS_CLASS:
		cell_str(c, str_or(o, "spec.ingressClassName", "<none>"));
		break;
	case FN_INGRESS_HOSTS:
		ingress_hosts(o, c);
		break;
	case FN_INGRESS_ADDRESS:
		ingress_address(o, c);
		break;
	case FN_INGRESS_PORTS:
		cell_str(c, jv_count(jv_path(o, "spec.tls")) ? "80, 443" : "80");
		break;
	case FN_PDB_MIN_AVAILABLE:
		int_or_string(jv_path(o, "spec.minAvailable"), c);
		break;
	case FN_PDB_MAX_UNAVAILABLE:
		int_or_string(jv_path(o, "spec.maxUnavailable"), c);
		break;
	case FN_BINDING_ROLE:
		snprintf(c->s, sizeof(c->s), "%s/%s", str_or(o, "roleRef.kind", ""),
			 str_or(o, "roleRef.name", ""));
		break;
	case FN_BINDING_USERS:
		binding_subjects(o, "User", c);
		break;
	case FN_BINDING_GROUPS:
		binding_subjects(o, "Group", c);
		break;
	case FN_BINDING_SAS:
		binding_subjects(o, "ServiceAccount", c);
		break;
	case FN_QUOTA_REQUEST:
		quota_cell(o, false, c);
		break;
	case FN_QUOTA_LIMIT:
		quota_cell(o, true, c);
		break;
	case FN_CREATED_AT:
		cell_str(c, jv_path_str(o, "metadata.creationTimestamp"));
		break;
	case FN_PVC_VOLUME:
		cell_str(c, jv_path_str(o, "spec.volumeName"));
		break;
	case FN_PVC_CAPACITY:
		cell_str(c, jv_path_str(o, "status.capacity.storage"));
		break;
	case FN_PVC_ACCESS_MODES:
		access_modes(o, "status.accessModes", c);
		break;
	case FN_PVC_STORAGE_CLASS:
		cell_str(c, str_or(o, "spec.storageClassName", "<unset>"));
		break;
	case FN_PVC_VOLUME_ATTRIBUTES_CLASS:
		cell_str(c, str_or(o, "spec.volumeAttributesClassName", "<unset>"));
		break;
	case FN_PVC_VOLUME_MODE:
		cell_str(c, str_or(o, "spec.volumeMode", "<unset>"));
		break;
	case FN_CSR_DURATION:
		csr_duration(o, c);
		break;
	case FN_CSR_CONDITION:
		csr_condition(o, c);
		break;
	case FN_WEBHOOK_COUNT:
	case FN_VAP_VALIDATIONS:
	case FN_VAP_PARAM_KIND:
	case FN_VAPB_PARAM_REF:
	case FN_FS_DISTINGUISHER:
	case FN_FS_MISSING_PL:
	case FN_PLC_SHARES:
	case FN_PLC_QUEUES:
	case FN_PLC_HAND_SIZE:
	case FN_PLC_QUEUE_LENGTH_LIMIT:
	case FN_APISERVICE_SERVICE:
	case FN_APISERVICE_AVAILABLE:
		admin_cell(fn, o, c);
		break;
	default:
		kinds_cell(fn, o, c);
		break;
	}
}

/* ---- the cells of the kinds of tools/k8sgen/apifacts.py's kinds-core block ---- */

/* A pointer-to-bool field of a printer: its value, or dflt when unset. */
static void bool_cell(struct cell *c, const struct jv *o, const char *path, bool dflt)
{
	const struct jv *v = jv_path(o, path);

	c->is_bool = true;
	c->i = v && (v->type == JV_TRUE || v->type == JV_FALSE) ? v->type == JV_TRUE : dflt;
}

/* printComponentStatus: the Healthy condition's status, message and error. */
static void cs_cell(const struct jv *o, const char *which, struct cell *c)
{
	for (const struct jv *x = first(o, "conditions"); x; x = x->next) {
		if (!jv_is_str(jv_get(x, "type"), "Healthy"))
			continue;
		if (strcmp(which, "status") == 0)
			cell_str(c,
				 jv_is_str(jv_get(x, "status"), "True") ? "Healthy" : "Unhealthy");
		else
			cell_str(c, jv_path_str(x, which));
		return;
	}
	cell_str(c, strcmp(which, "status") == 0 ? "Unknown" : "");
}

/* printStorageClass: " (default)" after a default class's name (IsDefaultAnnotation). */
static void sc_name(const struct jv *o, struct cell *c)
{
	const struct jv *ann = jv_path(o, "metadata.annotations");
	bool dflt =
	    jv_is_str(jv_get(ann, "storageclass.kubernetes.io/is-default-class"), "true") ||
	    jv_is_str(jv_get(ann, "storageclass.beta.kubernetes.io/is-default-class"), "true");

	snprintf(c->s, sizeof(c->s), "%s%s", str_or(o, "metadata.name", ""),
		 dflt ? " (default)" : "");
}

/* printIngressClass: Kind[.APIGroup]/Name of spec.parameters. */
static void ingressclass_parameters(const struct jv *o, struct cell *c)
{
	const struct jv *p = jv_path(o, "spec.parameters");
	const char *group = jv_path_str(p, "apiGroup");

	if (!p) {
		cell_str(c, "<none>");
		return;
	}
	snprintf(c->s, sizeof(c->s), "%s%s%s/%s", str_or(p, "kind", ""), group ? "." : "",
		 group ? group : "", str_or(p, "name", ""));
}

/* printCSIDriver: the audiences of tokenRequests, "<unset>" without the field. */
static void csi_token_requests(const struct jv *o, struct cell *c)
{
	if (!jv_path(o, "spec.tokenRequests"))
		cell_str(c, "<unset>");
	else
		join_field(c, o, "spec.tokenRequests", "audience");
}

static void kinds_cell(int fn, const struct jv *o, struct cell *c)
{
	switch (fn) {
	case FN_PV_CAPACITY: /* a missing Quantity prints as "0" */
		cell_str(c, str_or(o, "spec.capacity.storage", "0"));
		break;
	case FN_PV_ACCESS_MODES:
		access_modes(o, "spec.accessModes", c);
		break;
	case FN_PV_RECLAIM_POLICY:
		cell_str(c, jv_path_str(o, "spec.persistentVolumeReclaimPolicy"));
		break;
	case FN_PV_STATUS:
		cell_str(c, jv_path(o, "metadata.deletionTimestamp")
				? "Terminating"
				: jv_path_str(o, "status.phase"));
		break;
	case FN_PV_CLAIM:
		if (jv_path(o, "spec.claimRef"))
			snprintf(c->s, sizeof(c->s), "%s/%s",
				 str_or(o, "spec.claimRef.namespace", ""),
				 str_or(o, "spec.claimRef.name", ""));
		break;
	case FN_PV_STORAGE_CLASS: { /* GetPersistentVolumeClass: the beta annotation first */
		const struct jv *a = jv_get(jv_path(o, "metadata.annotations"),
					    "volume.beta.kubernetes.io/storage-class");

		cell_str(c, a && a->type == JV_STRING ? a->s
						      : jv_path_str(o, "spec.storageClassName"));
		break;
	}
	case FN_PV_REASON:
		cell_str(c, jv_path_str(o, "status.reason"));
		break;
	case FN_PODTEMPLATE_CONTAINERS:
		join_field(c, o, "template.spec.containers", "name");
		break;
	case FN_PODTEMPLATE_IMAGES:
		join_field(c, o, "template.spec.containers", "image");
		break;
	case FN_PODTEMPLATE_LABELS:
		format_labels(c, jv_path(o, "template.metadata.labels"));
		break;
	case FN_RC_SELECTOR:
		format_labels(c, jv_path(o, "spec.selector"));
		break;
	case FN_CS_STATUS:
		cs_cell(o, "status", c);
		break;
	case FN_CS_MESSAGE:
		cs_cell(o, "message", c);
		break;
	case FN_CS_ERROR:
		cs_cell(o, "error", c);
		break;
	case FN_SC_NAME:
		sc_name(o, c);
		break;
	case FN_SC_RECLAIM_POLICY:
		cell_str(c, str_or(o, "reclaimPolicy", "Delete"));
		break;
	case FN_SC_BINDING_MODE:
		cell_str(c, str_or(o, "volumeBindingMode", "Immediate"));
		break;
	case FN_SC_ALLOW_EXPANSION: /* a bool cell in a "string" column, as Kubernetes has it */
		bool_cell(c, o, "allowVolumeExpansion", false);
		break;
	case FN_CSI_ATTACH_REQUIRED:
		bool_cell(c, o, "spec.attachRequired", true);
		break;
	case FN_CSI_POD_INFO:
		bool_cell(c, o, "spec.podInfoOnMount", false);
		break;
	case FN_CSI_STORAGE_CAPACITY:
		bool_cell(c, o, "spec.storageCapacity", false);
		break;
	case FN_CSI_TOKEN_REQUESTS:
		csi_token_requests(o, c);
		break;
	case FN_CSI_REPUBLISH:
		bool_cell(c, o, "spec.requiresRepublish", false);
		break;
	case FN_CSI_MODES:
		join_strings(c, o, "spec.volumeLifecycleModes");
		if (!c->s[0])
			cell_str(c, "<none>");
		break;
	case FN_CSINODE_DRIVERS:
		cell_int(c, (long long)jv_count(jv_path(o, "spec.drivers")));
		break;
	case FN_CSICAP_CLASS:
		cell_str(c, jv_path_str(o, "storageClassName"));
		break;
	case FN_CSICAP_CAPACITY:
		cell_str(c, str_or(o, "capacity", "<unset>"));
		break;
	case FN_VA_ATTACHER:
		cell_str(c, jv_path_str(o, "spec.attacher"));
		break;
	case FN_VA_PV:
		cell_str(c, jv_path_str(o, "spec.source.persistentVolumeName"));
		break;
	case FN_VA_NODE:
		cell_str(c, jv_path_str(o, "spec.nodeName"));
		break;
	case FN_VA_ATTACHED:
		bool_cell(c, o, "status.attached", false);
		break;
	case FN_INGRESSCLASS_CONTROLLER:
		cell_str(c, jv_path_str(o, "spec.controller"));
		break;
	case FN_INGRESSCLASS_PARAMETERS:
		ingressclass_parameters(o, c);
		break;
	case FN_RUNTIMECLASS_HANDLER:
		cell_str(c, jv_path_str(o, "handler"));
		break;
	default:
		cell_str(c, "<unknown>");
	}
}

static void fill_cell(const struct api_column *col, const struct jv *o, struct cell *c)
{
	const char *spec = col->cell;

	memset(c, 0, sizeof(*c));
	if (strcmp(spec, "name") == 0) {
		cell_str(c, jv_path_str(o, "metadata.name"));
	} else if (strcmp(spec, "age") == 0) {
		since(o, "metadata.creationTimestamp", c->s, sizeof(c->s));
	} else if (strncmp(spec, "str:", 4) == 0) {
		const struct jv *v = jv_path(o, spec + 4);

		cell_str(c, v && (v->type == JV_STRING || v->type == JV_NUMBER) && v->len
				? v->s
				: "<none>");
	} else if (strncmp(spec, "int:", 4) == 0) {
		cell_int(c, int_at(o, spec + 4));
	} else if (strncmp(spec, "bool:", 5) == 0) {
		const struct jv *v = jv_path(o, spec + 5);

		c->is_bool = true;
		c->i = v && v->type == JV_TRUE;
	} else if (strncmp(spec, "fn:", 3) == 0) {
		fn_cell(fn_lookup(spec + 3), o, c);
	}
}

/* ---- the table ---- */

void api_table_begin(struct k8s_buf *b, const struct api_resource *res, uint64_t rev,
		     const char *cont, bool defs)
{
	k8s_buf_printf(b,
		       "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{"
		       "\"resourceVersion\":\"%llu\"",
		       (unsigned long long)rev);
	if (cont && cont[0]) {
		k8s_buf_puts(b, ",\"continue\":");
		k8s_buf_json_string(b, cont, strlen(cont));
	}
	k8s_buf_puts(b, "},\"columnDefinitions\":[");
	for (size_t i = 0; defs && i < res->ncolumns; i++) {
		const struct api_column *c = &res->columns[i];

		k8s_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		k8s_buf_json_string(b, c->name, strlen(c->name));
		k8s_buf_printf(b, ",\"type\":\"%s\",\"format\":\"%s\",\"description\":", c->type,
			       c->format);
		k8s_buf_json_string(b, c->description, strlen(c->description));
		k8s_buf_printf(b, ",\"priority\":%d}", c->priority);
	}
	/* kinds without printer columns: Kubernetes' default table (Name, Created At) */
	if (defs && res->ncolumns == 0)
		k8s_buf_puts(b,
			     "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\","
			     "\"description\":\"Name must be unique within a namespace.\","
			     "\"priority\":0},{\"name\":\"Created At\",\"type\":\"date\","
			     "\"format\":\"\",\"description\":\"CreationTimestamp is a timestamp "
			     "representing the server time when this object was created.\","
			     "\"priority\":0}");
	k8s_buf_puts(b, "],\"rows\":[");
}

void api_table_row(struct k8s_buf *b, const struct api_resource *res, const struct jv *obj,
		   enum api_include_object inc, bool first_row)
{
	struct cell c;

	k8s_buf_puts(b, first_row ? "{\"cells\":[" : ",{\"cells\":[");
	for (size_t i = 0; i < res->ncolumns; i++) {
		if (i)
			k8s_buf_putc(b, ',');
		fill_cell(&res->columns[i], obj, &c);
		if (c.is_int)
			k8s_buf_printf(b, "%lld", c.i);
		else if (c.is_bool)
			k8s_buf_puts(b, c.i ? "true" : "false");
		else
			k8s_buf_json_string(b, c.s, strlen(c.s));
	}
	if (res->ncolumns == 0) {
		const char *n = str_or(obj, "metadata.name", "");
		const char *t = str_or(obj, "metadata.creationTimestamp", "");

		k8s_buf_json_string(b, n, strlen(n));
		k8s_buf_putc(b, ',');
		k8s_buf_json_string(b, t, strlen(t));
	}
	k8s_buf_putc(b, ']');
	if (inc == API_INCLUDE_METADATA) {
		const struct jv *md = jv_get(obj, "metadata");

		k8s_buf_puts(b, ",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":"
				"\"meta.k8s.io/v1\",\"metadata\":");
		if (md)
			jv_write(b, md);
		else
			k8s_buf_puts(b, "{}");
		k8s_buf_putc(b, '}');
	} else if (inc == API_INCLUDE_OBJECT) {
		k8s_buf_puts(b, ",\"object\":");
		k8s_jv_write_schema(b, obj, res->kind->type);
	}
	k8s_buf_putc(b, '}');
}

/* FlowSchemaSequence.Less (printFlowSchemaList): matchingPrecedence, then name */
static int by_matching_precedence(const struct jv *a, const struct jv *b)
{
	long long pa = int_at(a, "spec.matchingPrecedence"),
		  pb = int_at(b, "spec.matchingPrecedence");

	if (pa != pb)
		return pa < pb ? -1 : 1;
	return strcmp(str_or(a, "metadata.name", ""), str_or(b, "metadata.name", ""));
}

int api_table_compare(const struct api_resource *res, const struct jv *a, const struct jv *b)
{
	if (res->table_order && strcmp(res->table_order, "matching_precedence") == 0)
		return by_matching_precedence(a, b);
	return 0;
}

void api_table_end(struct k8s_buf *b)
{
	k8s_buf_puts(b, "]}");
}
