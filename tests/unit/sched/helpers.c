/* SPDX-License-Identifier: Apache-2.0 */
/* helpers: see helpers.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

_Atomic uint64_t t_clock = 1000 * T_SEC;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return t_clock;
}

struct sched *t_sched(const struct sched_opts *opts)
{
	struct sched_opts o = {0};
	struct sched *s;

	if (opts)
		o = *opts;
	o.clock = fake_clock;
	if (!o.seed)
		o.seed = 42;
	s = sched_new(&o);
	assert_non_null(s);
	return s;
}

static struct jv *parse(struct jv_doc *d, const char *text)
{
	struct jv_perr err;
	struct jv *v = jv_parse(d, text, strlen(text), &err);

	if (!v)
		fail_msg("bad test JSON at %zu: %s\n%s", err.offset, err.msg, text);
	return v;
}

typedef int (*feed_fn)(struct sched *, const struct jv *);

static void feed(struct sched *s, feed_fn fn, const char *fmt, va_list ap)
{
	char *text = NULL;
	struct jv_doc *d = jv_doc_new();
	int rc;

	assert_non_null(d);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	rc = fn(s, parse(d, text));
	if (rc != 0)
		fail_msg("feeding %s: %d", text, rc);
	free(text);
	jv_doc_free(d);
}

void t_node(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	feed(s, sched_node_upsert, fmt, ap);
	va_end(ap);
}

void t_pod(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	feed(s, sched_pod_upsert, fmt, ap);
	va_end(ap);
}

void t_svc(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	feed(s, sched_service_upsert, fmt, ap);
	va_end(ap);
}

void t_ctrl(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	feed(s, sched_controller_upsert, fmt, ap);
	va_end(ap);
}

void t_ns(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	feed(s, sched_namespace_upsert, fmt, ap);
	va_end(ap);
}

void t_pod_delete(struct sched *s, const char *uid)
{
	char text[256];
	struct jv_doc *d = jv_doc_new();

	snprintf(text, sizeof(text), "{\"metadata\":{\"uid\":\"%s\"}}", uid);
	assert_int_equal(sched_pod_delete(s, parse(d, text)), 0);
	jv_doc_free(d);
}

struct sched_pod *t_parse(struct sched *s, const char *fmt, ...)
{
	char *text = NULL;
	struct jv_doc *d = jv_doc_new();
	struct sched_pod *p;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	p = sched_pod_parse(s, parse(d, text));
	if (!p)
		fail_msg("pod did not parse: %s", text);
	free(text);
	jv_doc_free(d);
	return p;
}

void t_add_node(struct sched *s, const char *name, const char *cpu, const char *mem, int pods,
		const char *labels, const char *spec)
{
	t_node(s,
	       "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
	       "\"kubernetes.io/hostname\":\"%s\"%s%s}},"
	       "\"status\":{\"allocatable\":{\"cpu\":\"%s\",\"memory\":\"%s\",\"pods\":\"%d\"},"
	       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}%s%s}",
	       name, name, *labels ? "," : "", labels, cpu, mem, pods, *spec ? "," : "", spec);
}

const char *t_pod_json(char *buf, size_t size, const char *name, const char *labels,
		       const char *cpu, const char *mem, const char *spec, const char *node)
{
	const char *slash = strchr(name, '/'), *uid = name;
	char ns[64] = "default", req[256] = "";

	if (slash) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - name), name);
		name = slash + 1;
	}
	if (*cpu || *mem)
		snprintf(req, sizeof(req), ",\"resources\":{\"requests\":{%s%s%s%s%s%s%s}}",
			 *cpu ? "\"cpu\":\"" : "", cpu, *cpu ? "\"" : "", *cpu && *mem ? "," : "",
			 *mem ? "\"memory\":\"" : "", mem, *mem ? "\"" : "");
	snprintf(buf, size,
		 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
		 "\"uid\":\"uid-%s\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
		 "\"labels\":{%s}},\"spec\":{\"nodeName\":\"%s\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"x\"%s}]%s%s}}",
		 name, ns, uid, labels, node, req, *spec ? "," : "", spec);
	return buf;
}

void t_add_pod(struct sched *s, const char *name, const char *labels, const char *cpu,
	       const char *mem, const char *spec, const char *node)
{
	char buf[8192];

	t_pod(s, "%s", t_pod_json(buf, sizeof(buf), name, labels, cpu, mem, spec, node));
}

void t_schedule(struct sched *s, struct sched_result *r, const char *name, const char *labels,
		const char *cpu, const char *mem, const char *spec)
{
	char buf[8192];
	struct sched_pod *p =
	    t_parse(s, "%s", t_pod_json(buf, sizeof(buf), name, labels, cpu, mem, spec, ""));

	assert_int_equal(sched_schedule(s, p, r), 0);
	sched_pod_unref(p);
}

void t_place(struct sched *s, const char *name, const char *labels, const char *cpu,
	     const char *mem, const char *spec, const char *want_node)
{
	struct sched_result r;

	t_schedule(s, &r, name, labels, cpu, mem, spec);
	if (!r.scheduled)
		fail_msg("%s not scheduled: %s", name, r.message);
	if (want_node && strcmp(r.node, want_node) != 0)
		fail_msg("%s went to %s, want %s", name, r.node, want_node);
	t_add_pod(s, name, labels, cpu, mem, spec, r.node);
	sched_result_clear(&r);
}

static void prefilter(struct sched *s, struct sched_pod *p)
{
	struct sched_cycle *cy = &s->cy;

	sched_cycle_reset(cy);
	cy->p = p;
	cy->naff_any = p->x && (p->x->node_selector.n || p->x->has_req_naff);
	assert_int_equal(sched_prefilter_spread(s, cy), 0);
	assert_int_equal(sched_prefilter_interpod(s, cy), 0);
}

bool t_fits(struct sched *s, struct sched_pod *p, const char *node, const char **reason)
{
	struct sched_status st = {0};
	struct sched_node *n;
	bool ok;

	pthread_mutex_lock(&s->cache.mu);
	n = sched_cache_node(&s->cache, node);
	if (!n)
		fail_msg("no node %s", node);
	prefilter(s, p);
	ok = sched_filter_all(s, &s->cy, n, &st);
	if (reason)
		*reason = ok ? NULL : st.reasons[0];
	pthread_mutex_unlock(&s->cache.mu);
	return ok;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct sched_node *const *)a)->spec->name,
		      (*(struct sched_node *const *)b)->spec->name);
}

const char *t_feasible(struct sched *s, struct sched_pod *p, char *buf, size_t size)
{
	struct sched_node **all, **v;
	uint32_t n;
	size_t len = 0;

	buf[0] = 0;
	pthread_mutex_lock(&s->cache.mu);
	assert_int_equal(sched_cache_order(&s->cache, &all, &n), 0);
	v = malloc((n + 1) * sizeof(*v));
	memcpy(v, all, n * sizeof(*v));
	pthread_mutex_unlock(&s->cache.mu);
	qsort(v, n, sizeof(*v), cmp_name);
	for (uint32_t i = 0; i < n; i++)
		if (t_fits(s, p, v[i]->spec->name, NULL))
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "",
						v[i]->spec->name);
	free(v);
	return buf;
}

void t_scores(struct sched *s, struct sched_pod *p, enum t_plugin pl, const char *const *names,
	      int64_t *out)
{
	struct sched_node *nodes[64];
	uint32_t n = 0;

	pthread_mutex_lock(&s->cache.mu);
	for (; names[n]; n++) {
		nodes[n] = sched_cache_node(&s->cache, names[n]);
		if (!nodes[n])
			fail_msg("no node %s", names[n]);
	}
	prefilter(s, p);
	assert_int_equal(sched_defaults_spread(s, &s->cy), 0);
	assert_int_equal(sched_prescore_spread(s, &s->cy, nodes, n), 0);
	switch (pl) {
	case T_TAINT:
		sched_score_taints(p, nodes, n, out);
		break;
	case T_NODEAFF:
		sched_score_node_affinity(s->strings, p, nodes, n, out);
		break;
	case T_FIT:
		sched_score_fit(p, nodes, n, out);
		break;
	case T_SPREAD:
		sched_score_spread(&s->cy, nodes, n, out);
		break;
	case T_INTERPOD:
		sched_score_interpod(&s->cy, nodes, n, out);
		break;
	case T_BALANCED:
		sched_score_balanced(p, nodes, n, out);
		break;
	}
	pthread_mutex_unlock(&s->cache.mu);
}
