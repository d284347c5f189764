/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched_pod: a pod read once from its tree into what scheduling needs (struct sched_pod),
 * with kube-scheduler's interpretation of each field:
 *   - requests as resourcehelper.PodRequests computes them: the sum of containers, raised to
 *     each init container's need (a restartable "sidecar" init container also adds to the
 *     sum and to every later init container's need), plus spec.overhead; and the same with
 *     100m cpu / 200Mi memory for a container that leaves a request unset, which is what
 *     the scores count (NonZeroRequested);
 *   - host ports of containers (hostIP "" = 0.0.0.0, protocol "" = TCP);
 *   - labels, priority, creationTimestamp, deletionTimestamp, phase, schedulingGates, and a
 *     fingerprint of labels, annotations and spec (the queue's "was it really updated");
 *   - node and pod affinity, tolerations and spread constraints: sched_pod_terms.c.
 * Everything lives in the pod's arena; the pod is immutable once returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "sched_int.h"

struct sched_pod *sched_pod_ref(struct sched_pod *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void sched_pod_unref(struct sched_pod *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	struct sched_arena a = p->arena;

	sched_arena_free(&a);
}

const char *sched_pod_namespace(const struct sched_pod *p)
{
	return p->ns;
}

const char *sched_pod_name(const struct sched_pod *p)
{
	return p->name;
}

bool sched_pod_terminating(const struct sched_pod *p)
{
	return p->terminating;
}

const char *sched_pod_nominated(const struct sched *s, const struct sched_pod *p)
{
	return sched_intern_str(s->strings, p->nominated_id);
}

const char *sched_pod_uid(const struct sched_pod *p)
{
	return p->uid;
}

/* ---- time ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int sched_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0;
	size_t i = 19;

	if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (s[i] == '.') {
		int64_t scale = 100000000;

		for (i++; s[i] >= '0' && s[i] <= '9'; i++) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om))
			return -EINVAL;
		if (s[i] == '-') {
			oh = -oh;
			om = -om;
		}
		i += 6;
	} else {
		return -EINVAL;
	}
	if (s[i])
		return -EINVAL;
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		       sec - oh * 3600 - om * 60;

	*out = secs * 1000000000 + frac;
	return 0;
}

/* ---- resources ---- */

/* A resource list being summed: cpu in millicores, the rest in units. */
#define MAX_SCALARS 16
struct rlist {
	int64_t cpu, mem, eph;
	bool has_cpu, has_mem;
	uint32_t n;
	struct sched_scalar sc[MAX_SCALARS];
};

/* schedutil.IsScalarResourceName: extended, hugepages, kubernetes.io/-prefixed, attachable
 * volumes. Plain names without a '/' that are not cpu/memory/storage are not counted. */
static bool is_scalar(const char *name)
{
	if (strncmp(name, "hugepages-", 10) == 0 || strncmp(name, "attachable-volumes-", 19) == 0)
		return true;
	if (strstr(name, "kubernetes.io/"))
		return true;
	return strchr(name, '/') && strncmp(name, "requests.", 9) != 0;
}

static void rl_set_scalar(struct rlist *l, uint32_t name, int64_t v, int how)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->sc[i].name == name) {
			if (how == 0)
				l->sc[i].v += v;
			else if (v > l->sc[i].v)
				l->sc[i].v = v;
			return;
		}
	if (l->n < MAX_SCALARS)
		l->sc[l->n++] = (struct sched_scalar){.name = name, .v = v};
}

static void rl_add(struct rlist *l, const struct rlist *r)
{
	l->cpu += r->cpu;
	l->mem += r->mem;
	l->eph += r->eph;
	l->has_cpu |= r->has_cpu;
	l->has_mem |= r->has_mem;
	for (uint32_t i = 0; i < r->n; i++)
		rl_set_scalar(l, r->sc[i].name, r->sc[i].v, 0);
}

static void rl_max(struct rlist *l, const struct rlist *r)
{
	if (r->cpu > l->cpu)
		l->cpu = r->cpu;
	if (r->mem > l->mem)
		l->mem = r->mem;
	if (r->eph > l->eph)
		l->eph = r->eph;
	for (uint32_t i = 0; i < r->n; i++)
		rl_set_scalar(l, r->sc[i].name, r->sc[i].v, 1);
}

/* A ResourceList (requests, overhead); nonzero: a missing cpu/memory counts the default. */
static int rl_parse(struct sched *s, const struct jv *list, bool nonzero, struct rlist *out)
{
	memset(out, 0, sizeof(*out));
	for (const struct jv *m = jv_first(list); m; m = m->next) {
		int64_t v, milli;
		int rc = -EINVAL;

		if (m->type == JV_STRING || m->type == JV_NUMBER)
			rc = k8s_quantity_parse(m->s, m->len, &v, &milli);
		if (rc < 0)
			continue; /* not a quantity: the API server would not have stored it */
		if (strcmp(m->key, "cpu") == 0) {
			out->cpu = milli;
			out->has_cpu = true;
		} else if (strcmp(m->key, "memory") == 0) {
			out->mem = v;
			out->has_mem = true;
		} else if (strcmp(m->key, "ephemeral-storage") == 0) {
			out->eph = v;
		} else if (is_scalar(m->key)) {
			uint32_t id = sched_intern(s->strings, m->key, m->klen);

			if (id == SCHED_NOID)
				return -ENOMEM;
			rl_set_scalar(out, id, v, 0);
		}
	}
	if (nonzero) {
		if (!out->has_cpu)
			out->cpu = SCHED_DEFAULT_MILLI_CPU;
		if (!out->has_mem)
			out->mem = SCHED_DEFAULT_MEMORY;
	}
	return 0;
}

/* resourcehelper.PodRequests */
static int pod_requests(struct sched *s, const struct jv *spec, bool nonzero, struct rlist *reqs)
{
	struct rlist c, restartable, init_max, tmp;
	int rc;

	memset(reqs, 0, sizeof(*reqs));
	memset(&restartable, 0, sizeof(restartable));
	memset(&init_max, 0, sizeof(init_max));
	for (const struct jv *k = jv_first(jv_get(spec, "containers")); k; k = k->next) {
		rc = rl_parse(s, jv_path(k, "resources.requests"), nonzero, &c);
		if (rc < 0)
			return rc;
		rl_add(reqs, &c);
	}
	for (const struct jv *k = jv_first(jv_get(spec, "initContainers")); k; k = k->next) {
		rc = rl_parse(s, jv_path(k, "resources.requests"), nonzero, &c);
		if (rc < 0)
			return rc;
		if (jv_is_str(jv_get(k, "restartPolicy"), "Always")) {
			rl_add(reqs, &c);
			rl_add(&restartable, &c);
			tmp = restartable;
		} else {
			tmp = c;
			rl_add(&tmp, &restartable);
		}
		rl_max(&init_max, &tmp);
	}
	rl_max(reqs, &init_max);
	rc = rl_parse(s, jv_get(spec, "overhead"), false, &c);
	if (rc < 0)
		return rc;
	rl_add(reqs, &c);
	return 0;
}

static int cmp_scalar(const void *a, const void *b)
{
	const struct sched_scalar *x = a, *y = b;

	return x->name < y->name ? -1 : x->name > y->name;
}

static int res_from(struct sched_arena *a, const struct rlist *l, struct sched_res *out)
{
	out->cpu = l->cpu;
	out->mem = l->mem;
	out->eph = l->eph;
	out->nscalar = 0;
	out->scalar = NULL;
	if (!l->n)
		return 0;
	out->scalar = sched_arena_alloc(a, l->n * sizeof(*out->scalar));
	if (!out->scalar)
		return -ENOMEM;
	memcpy(out->scalar, l->sc, l->n * sizeof(*out->scalar));
	out->nscalar = l->n;
	qsort(out->scalar, out->nscalar, sizeof(*out->scalar), cmp_scalar);
	return 0;
}

int sched_res_parse(struct sched *s, struct sched_arena *a, const struct jv *list,
		    struct sched_res *out, int64_t *pods)
{
	struct rlist l;
	int rc = rl_parse(s, list, false, &l);

	if (rc < 0)
		return rc;
	if (pods) {
		const struct jv *v = jv_get(list, "pods");

		*pods = 0;
		if (v && (v->type == JV_STRING || v->type == JV_NUMBER))
			k8s_quantity_parse(v->s, v->len, pods, NULL);
	}
	return res_from(a, &l, out);
}

/* ---- labels ---- */

/* A string map (labels, nodeSelector) into a sorted label set; the last duplicate wins. */
int sched_labels_from(struct sched *s, struct sched_arena *a, const struct jv *map,
		      struct sched_labels *out)
{
	size_t n = jv_count(map);
	uint32_t k = 0;

	out->n = 0;
	out->v = NULL;
	if (!n || map->type != JV_OBJECT)
		return 0;
	out->v = sched_arena_alloc(a, n * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (const struct jv *m = jv_first(map); m; m = m->next) {
		if (m->type != JV_STRING)
			continue;
		struct sched_label l = {
		    .key = sched_intern(s->strings, m->key, m->klen),
		    .val = sched_intern(s->strings, m->s, m->len),
		};

		if (l.key == SCHED_NOID || l.val == SCHED_NOID)
			return -ENOMEM;
		out->v[out->n++] = l;
	}
	/* stable for equal keys: keep the last */
	for (uint32_t i = 1; i < out->n; i++)
		for (uint32_t j = i; j > 0 && out->v[j - 1].key > out->v[j].key; j--) {
			struct sched_label t = out->v[j];

			out->v[j] = out->v[j - 1];
			out->v[j - 1] = t;
		}
	for (uint32_t i = 0; i < out->n; i++) {
		if (k && out->v[k - 1].key == out->v[i].key)
			out->v[k - 1] = out->v[i];
		else
			out->v[k++] = out->v[i];
	}
	out->n = k;
	return 0;
}

/* ---- effects, ports ---- */

uint8_t sched_effect_of(const char *e)
{
	if (!e || !*e)
		return SCHED_EFFECT_NONE;
	if (strcmp(e, "NoSchedule") == 0)
		return SCHED_EFFECT_NOSCHEDULE;
	if (strcmp(e, "PreferNoSchedule") == 0)
		return SCHED_EFFECT_PREFER;
	if (strcmp(e, "NoExecute") == 0)
		return SCHED_EFFECT_NOEXECUTE;
	return SCHED_EFFECT_OTHER;
}

static int parse_ports(struct sched *s, struct sched_pod *p, const struct jv *containers)
{
	size_t n = 0;

	for (const struct jv *c = jv_first(containers); c; c = c->next)
		for (const struct jv *pt = jv_first(jv_get(c, "ports")); pt; pt = pt->next) {
			int64_t hp = 0;

			if (jv_path_int(pt, "hostPort", &hp) == 0 && hp > 0)
				n++;
		}
	if (!n)
		return 0;
	p->ports = sched_arena_alloc(&p->arena, n * sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	for (const struct jv *c = jv_first(containers); c; c = c->next)
		for (const struct jv *pt = jv_first(jv_get(c, "ports")); pt; pt = pt->next) {
			int64_t hp = 0;
			const char *ip = jv_path_str(pt, "hostIP");
			const char *proto = jv_path_str(pt, "protocol");
			struct sched_port *o;

			if (jv_path_int(pt, "hostPort", &hp) < 0 || hp <= 0 || hp > 65535)
				continue;
			o = &p->ports[p->nports++];
			o->port = (uint16_t)hp;
			o->ip =
			    ip && *ip ? sched_intern(s->strings, ip, strlen(ip)) : s->id_zero_ip;
			if (o->ip == SCHED_NOID)
				return -ENOMEM;
			o->proto = !proto || !*proto || strcmp(proto, "TCP") == 0 ? 0
				   : strcmp(proto, "UDP") == 0			  ? 1
				   : strcmp(proto, "SCTP") == 0			  ? 2
										  : 3;
		}
	return 0;
}

/* ---- the pod ---- */

static uint64_t fingerprint(const struct jv *pod)
{
	struct k8s_buf b = {0};
	uint64_t h;

	const struct jv *parts[] = {jv_path(pod, "metadata.labels"),
				    jv_path(pod, "metadata.annotations"), jv_get(pod, "spec")};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i])
			jv_write(&b, parts[i]);
		k8s_buf_putc(&b, 0);
	}
	h = hmap_hash(b.p ? b.p : "", b.len);
	k8s_buf_free(&b);
	return h;
}

static const char *intern_str(struct sched *s, const char *v, uint32_t *id)
{
	*id = sched_intern(s->strings, v ? v : "", v ? strlen(v) : 0);
	return *id == SCHED_NOID ? NULL : sched_intern_str(s->strings, *id);
}

/* What DefaultPreemption reads of a pod: its policy, its start time (MoreImportantPod), its
 * nomination and whether the scheduler's preemption is terminating it
 * (podTerminatingByPreemption). */
static int parse_preemption(struct sched *s, struct sched_pod *p, const struct jv *pod)
{
	const char *pol = jv_path_str(pod, "spec.preemptionPolicy");
	const char *st = jv_path_str(pod, "status.startTime");
	const char *nnn = jv_path_str(pod, "status.nominatedNodeName");

	p->preempt_never = pol && strcmp(pol, "Never") == 0;
	if (!st || sched_parse_time(st, &p->start_ns) < 0)
		p->start_ns = INT64_MAX;
	if (nnn && *nnn && !intern_str(s, nnn, &p->nominated_id))
		return -ENOMEM;
	for (const struct jv *c = jv_first(jv_path(pod, "status.conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), "DisruptionTarget")) {
			p->preempted = jv_is_str(jv_get(c, "status"), "True") &&
				       jv_is_str(jv_get(c, "reason"), "PreemptionByScheduler");
			break;
		}
	return 0;
}

struct sched_pod *sched_pod_parse(struct sched *s, const struct jv *pod)
{
	struct sched_arena a = {0};
	struct sched_pod *p = sched_arena_alloc(&a, sizeof(*p));
	const struct jv *meta = jv_get(pod, "metadata"), *spec = jv_get(pod, "spec");
	const char *uid = jv_path_str(meta, "uid"), *name = jv_path_str(meta, "name");
	const char *ts = jv_path_str(meta, "creationTimestamp");
	const char *phase = jv_path_str(pod, "status.phase");
	const char *sn = jv_path_str(spec, "schedulerName");
	struct rlist rl;
	int64_t prio = 0;
	int rc = -ENOMEM;

	if (!p)
		goto fail;
	p->arena = a;
	atomic_init(&p->refs, 1);
	if (!uid || !name || !*uid || !*name) {
		rc = -EINVAL;
		goto fail;
	}
	p->uid = sched_arena_strndup(&p->arena, uid, strlen(uid));
	p->name = sched_arena_strndup(&p->arena, name, strlen(name));
	p->ns = intern_str(s, jv_path_str(meta, "namespace"), &p->ns_id);
	p->node_name = intern_str(s, jv_path_str(spec, "nodeName"), &p->node_id);
	p->sched_name = intern_str(s, sn && *sn ? sn : "default-scheduler", &(uint32_t){0});
	if (!p->uid || !p->name || !p->ns || !p->node_name || !p->sched_name)
		goto fail;
	if (sched_labels_from(s, &p->arena, jv_get(meta, "labels"), &p->labels) < 0)
		goto fail;
	if (jv_path_int(spec, "priority", &prio) == 0)
		p->priority = (int32_t)prio;
	if (ts)
		sched_parse_time(ts, &p->created_ns);
	p->terminating = jv_get(meta, "deletionTimestamp") != NULL &&
			 jv_get(meta, "deletionTimestamp")->type != JV_NULL;
	p->terminal = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
	p->gated = jv_count(jv_get(spec, "schedulingGates")) > 0;
	if (parse_preemption(s, p, pod) < 0)
		goto fail;
	for (const struct jv *o = jv_first(jv_get(meta, "ownerReferences")); o; o = o->next) {
		const char *oname = jv_path_str(o, "name");

		if (jv_get(o, "controller") && jv_get(o, "controller")->type == JV_TRUE && oname) {
			p->owner_tag = sched_controller_tag(jv_path_str(o, "apiVersion"),
							    jv_path_str(o, "kind"));
			p->owner_name = sched_arena_strndup(&p->arena, oname, strlen(oname));
			if (!p->owner_name)
				goto fail;
			break;
		}
	}
	if (pod_requests(s, spec, false, &rl) < 0 || res_from(&p->arena, &rl, &p->req) < 0)
		goto fail;
	if (pod_requests(s, spec, true, &rl) < 0)
		goto fail;
	p->nz_cpu = rl.cpu;
	p->nz_mem = rl.mem;
	if (parse_ports(s, p, jv_get(spec, "containers")) < 0)
		goto fail;
	rc = sched_pod_parse_ext(s, p, spec);
	if (rc < 0)
		goto fail;
	p->fingerprint = fingerprint(pod);
	return p;
fail:
	if (p)
		a = p->arena;
	sched_arena_free(&a);
	errno = -rc;
	return NULL;
}
