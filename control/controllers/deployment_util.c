/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deployment_util: kube's pkg/controller/deployment/util for drover's trees: the
 * pod-template-hash, fenceposts, annotations, orderings, sums and conditions (deployment.h).
 *
 * pod-template-hash. Kubernetes computes ComputeHash(template, collisionCount): FNV-32a over
 * go-spew's "%#v" printing of the v1.PodTemplateSpec Go struct (every field of every nested
 * struct, zero or not, with Go type names and unexported fields such as a Quantity's cached
 * int64Amount), then collisionCount as 8 little-endian bytes (the low 4 set), the sum printed
 * in decimal and mapped digit by digit through rand.SafeEncodeString's alphabet
 * "bcdfghjklmnpqrstvwxz2456789". drover does every step the same except the first input: it
 * hashes the template's JSON as Kubernetes writes it (k8s_jv_write_schema: struct fields in
 * Go order, map keys sorted, empty fields omitted) instead of the spew printing. The bytes
 * differ, so the values differ from kube-controller-manager's for the same template; their
 * form (up to 10 characters of "456789bcdf"), their determinism (same template, same
 * hash), their change with any field of the template and with collisionCount are the same.
 * A bit-exact spew printing would need the Go type tree of PodTemplateSpec as of 1.32 (field
 * order, pointer-ness, Go type names, unexported fields of Quantity and Time), which the
 * project's types.json does not carry (no pointer-ness; read at a newer k8s.io/api).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployment.h"
#include "k8s_buf.h"

/* ---- pod-template-hash ---- */

void dp_template_hash(const struct jv *tmpl, const int64_t *collision, char *out)
{
	static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
	const struct k8s_type *t = &k8s_schema_types[K8S_T_core_v1_PodTemplateSpec];
	struct k8s_buf b = {0};
	uint32_t h = 2166136261u;
	char dec[16];

	k8s_jv_write_schema(&b, tmpl, t);
	for (size_t i = 0; i < b.len; i++) {
		h ^= (uint8_t)b.p[i];
		h *= 16777619u;
	}
	free(b.p);
	if (collision) {
		uint8_t le[8] = {0};
		uint32_t c = (uint32_t)*collision;

		for (int i = 0; i < 4; i++)
			le[i] = (uint8_t)(c >> (8 * i));
		for (int i = 0; i < 8; i++) {
			h ^= le[i];
			h *= 16777619u;
		}
	}
	snprintf(dec, sizeof(dec), "%u", h);
	for (size_t i = 0; dec[i]; i++)
		out[i] = alphanums[(uint8_t)dec[i] % (sizeof(alphanums) - 1)];
	out[strlen(dec)] = 0;
}

/* ---- fenceposts ---- */

int dp_scaled_value(const struct jv *v, int64_t total, bool round_up, int64_t *out)
{
	char *end;
	long long x;

	if (!v)
		return -EINVAL;
	if (v->type == JV_NUMBER)
		return jv_int(v, out);
	if (v->type != JV_STRING || v->len < 1 || v->s[v->len - 1] != '%')
		return -EINVAL;
	errno = 0;
	x = strtoll(v->s, &end, 10);
	if (errno || end != v->s + v->len - 1 || end == v->s)
		return -EINVAL;
	*out = (int64_t)(round_up ? ceil((double)x * (double)total / 100)
				  : floor((double)x * (double)total / 100));
	return 0;
}

bool dp_is_rolling(const struct jv *dep)
{
	const char *t = jv_path_str(dep, "spec.strategy.type");

	return !t || strcmp(t, "RollingUpdate") == 0;
}

static int64_t spec_replicas(const struct jv *dep)
{
	int64_t r;

	return jv_path_int(dep, "spec.replicas", &r) == 0 ? r : 1;
}

/* kube's ResolveFenceposts: both zero means maxUnavailable 1 */
static void fenceposts(const struct jv *dep, int64_t *surge, int64_t *unavail)
{
	const struct jv *s = jv_path(dep, "spec.strategy.rollingUpdate.maxSurge");
	const struct jv *u = jv_path(dep, "spec.strategy.rollingUpdate.maxUnavailable");
	int64_t n = spec_replicas(dep);

	*surge = *unavail = 0;
	if (s && dp_scaled_value(s, n, true, surge) != 0)
		*surge = 0;
	if (u && dp_scaled_value(u, n, false, unavail) != 0)
		*unavail = 0;
	if (*surge == 0 && *unavail == 0)
		*unavail = 1;
}

int64_t dp_max_surge(const struct jv *dep)
{
	int64_t s, u;

	if (!dp_is_rolling(dep))
		return 0;
	fenceposts(dep, &s, &u);
	return s;
}

int64_t dp_max_unavailable(const struct jv *dep)
{
	int64_t s, u, n = spec_replicas(dep);

	if (!dp_is_rolling(dep) || n == 0)
		return 0;
	fenceposts(dep, &s, &u);
	return u > n ? n : u;
}

bool dp_progress_deadline(const struct jv *dep, int64_t *secs)
{
	int64_t v;

	if (jv_path_int(dep, "spec.progressDeadlineSeconds", &v) != 0 || v == INT32_MAX)
		return false;
	if (secs)
		*secs = v;
	return true;
}

/* ---- templates and annotations ---- */

static struct jv *without_hash(struct jv_doc *d, const struct jv *tmpl)
{
	struct jv *t = jv_copy(d, tmpl), *labels = jv_path(t, "metadata.labels");

	if (labels) {
		jv_del(labels, DP_HASH_LABEL);
		/* apimachinery's semantic DeepEqual: an empty map equals a missing one */
		if (!jv_count(labels))
			jv_del(jv_get(t, "metadata"), "labels");
	}
	return t;
}

bool dp_equal_ignore_hash(const struct jv *a, const struct jv *b)
{
	struct jv_doc *d = jv_doc_new();
	bool eq = d && jv_equal(without_hash(d, a), without_hash(d, b));

	jv_doc_free(d);
	return eq;
}

const char *dp_annotation(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(jv_path(obj, "metadata.annotations"), key);

	return v && v->type == JV_STRING ? v->s : NULL;
}

/* strconv.ParseInt: 0 and *out, or -EINVAL */
static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !s[0])
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int64_t dp_revision(const struct jv *rs)
{
	int64_t v = 0;

	if (parse_i64(dp_annotation(rs, DP_REVISION), &v) != 0)
		return 0;
	return v;
}

void dp_set_annotation(struct jv_doc *d, struct jv *obj, const char *key, const char *val)
{
	struct jv *md = jv_obj_at(d, obj, "metadata");
	struct jv *an = md ? jv_obj_at(d, md, "annotations") : NULL;

	if (an)
		jv_set(d, an, key, jv_new_strz(d, val));
}

bool dp_replicas_annotations_need_update(const struct jv *rs, int64_t desired, int64_t max)
{
	char a[24], b[24];
	const char *da = dp_annotation(rs, DP_DESIRED), *ma = dp_annotation(rs, DP_MAX);

	snprintf(a, sizeof(a), "%lld", (long long)desired);
	snprintf(b, sizeof(b), "%lld", (long long)max);
	return !da || strcmp(da, a) != 0 || !ma || strcmp(ma, b) != 0;
}

bool dp_set_replicas_annotations(struct jv_doc *d, struct jv *rs, int64_t desired, int64_t max)
{
	char a[24], b[24];
	bool changed = false;
	const char *v;

	snprintf(a, sizeof(a), "%lld", (long long)desired);
	snprintf(b, sizeof(b), "%lld", (long long)max);
	if (!(v = dp_annotation(rs, DP_DESIRED)) || strcmp(v, a) != 0) {
		dp_set_annotation(d, rs, DP_DESIRED, a);
		changed = true;
	}
	if (!(v = dp_annotation(rs, DP_MAX)) || strcmp(v, b) != 0) {
		dp_set_annotation(d, rs, DP_MAX, b);
		changed = true;
	}
	return changed;
}

/* kube's annotationsToSkip */
static bool skip_copy(const char *key)
{
	static const char *const skip[] = {
	    "kubectl.kubernetes.io/last-applied-configuration",
	    DP_REVISION,
	    DP_REVISION_HISTORY,
	    DP_DESIRED,
	    DP_MAX,
	    "deprecated.deployment.rollback.to",
	};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(key, skip[i]) == 0)
			return true;
	return false;
}

bool dp_set_new_rs_annotations(struct jv_doc *d, const struct jv *dep, struct jv *rs,
			       const char *new_revision, bool exists)
{
	bool changed = false;
	const char *old_rev = dp_annotation(rs, DP_REVISION);
	int64_t old_i = 0, new_i = 0;
	char old_copy[32] = "";

	/* the Deployment's annotations but kube's own ones */
	for (const struct jv *a = jv_first(jv_path(dep, "metadata.annotations")); a; a = a->next) {
		const char *cur;

		if (a->type != JV_STRING || skip_copy(a->key))
			continue;
		cur = dp_annotation(rs, a->key);
		if (cur && strcmp(cur, a->s) == 0)
			continue;
		dp_set_annotation(d, rs, a->key, a->s);
		changed = true;
	}
	jv_obj_at(d, jv_obj_at(d, rs, "metadata"), "annotations");
	if (old_rev) {
		snprintf(old_copy, sizeof(old_copy), "%s", old_rev);
		if (parse_i64(old_rev, &old_i) != 0)
			return false; /* kube: "OldRevision not int" */
	}
	if (parse_i64(new_revision, &new_i) != 0)
		return false;
	if (old_i < new_i) {
		dp_set_annotation(d, rs, DP_REVISION, new_revision);
		changed = true;
	}
	/* a revision annotation bumped: a rollback to this ReplicaSet; its old revisions are
	 * kept (bounded to 2000 characters, oldest dropped first) */
	if (old_rev && old_i < new_i) {
		const char *hist = dp_annotation(rs, DP_REVISION_HISTORY);

		if (!hist || !hist[0]) {
			dp_set_annotation(d, rs, DP_REVISION_HISTORY, old_copy);
		} else {
			size_t total = strlen(hist) + strlen(old_copy) + 1;
			const char *start = hist;

			while (total > DP_MAX_REV_HISTORY_CHARS && start) {
				const char *comma = strchr(start, ',');
				size_t len = comma ? (size_t)(comma - start) : strlen(start);

				total -= len + 1;
				start = comma ? comma + 1 : NULL;
			}
			if (total <= DP_MAX_REV_HISTORY_CHARS) {
				struct jv *v = start && start[0]
						   ? jv_new_strf(d, "%s,%s", start, old_copy)
						   : jv_new_strz(d, old_copy);

				if (v)
					dp_set_annotation(d, rs, DP_REVISION_HISTORY, v->s);
			}
		}
	}
	if (!exists && dp_set_replicas_annotations(d, rs, spec_replicas(dep),
						   spec_replicas(dep) + dp_max_surge(dep)))
		changed = true;
	return changed;
}

/* ---- orderings ---- */

static int by_created(const struct dp_rs *a, const struct dp_rs *b)
{
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_created(const void *x, const void *y)
{
	return by_created(*(struct dp_rs *const *)x, *(struct dp_rs *const *)y);
}

static int cmp_created_rev(const void *x, const void *y)
{
	return -cmp_created(x, y);
}

void dp_sort_created(struct dp_rs **v, size_t n, bool newest_first)
{
	qsort(v, n, sizeof(*v), newest_first ? cmp_created_rev : cmp_created);
}

static int cmp_revision(const void *x, const void *y)
{
	const struct dp_rs *a = *(struct dp_rs *const *)x, *b = *(struct dp_rs *const *)y;
	int64_t ra = dp_revision(a->t), rb = dp_revision(b->t);

	if (ra == rb)
		return by_created(a, b);
	return ra < rb ? -1 : 1;
}

void dp_sort_revision(struct dp_rs **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_revision);
}

static int cmp_size_older(const void *x, const void *y)
{
	const struct dp_rs *a = *(struct dp_rs *const *)x, *b = *(struct dp_rs *const *)y;

	if (a->replicas == b->replicas)
		return by_created(a, b);
	return a->replicas > b->replicas ? -1 : 1;
}

static int cmp_size_newer(const void *x, const void *y)
{
	const struct dp_rs *a = *(struct dp_rs *const *)x, *b = *(struct dp_rs *const *)y;

	if (a->replicas == b->replicas)
		return by_created(b, a);
	return a->replicas > b->replicas ? -1 : 1;
}

void dp_sort_size(struct dp_rs **v, size_t n, bool newer)
{
	qsort(v, n, sizeof(*v), newer ? cmp_size_newer : cmp_size_older);
}

/* ---- sums ---- */

#define SUM(fn, field)                               \
	int64_t fn(struct dp_rs *const *v, size_t n) \
	{                                            \
		int64_t s = 0;                       \
		for (size_t i = 0; i < n; i++)       \
			s += v[i] ? v[i]->field : 0; \
		return s;                            \
	}
SUM(dp_sum_spec, replicas)
SUM(dp_sum_actual, st_replicas)
SUM(dp_sum_ready, st_ready)
SUM(dp_sum_avail, st_avail)

int64_t dp_sum_pods(struct dp_rs *const *v, size_t n)
{
	int64_t s = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i])
			s +=
			    v[i]->st_replicas > v[i]->replicas ? v[i]->st_replicas : v[i]->replicas;
	return s;
}

/* ---- conditions ---- */

struct jv *dp_condition(const struct jv *st, const char *type)
{
	for (struct jv *c = jv_first(jv_get(st, "conditions")); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return c;
	return NULL;
}

void dp_remove_condition(struct jv *st, const char *type)
{
	struct jv *conds = jv_get(st, "conditions"), *prev = NULL;

	for (struct jv *c = jv_first(conds); c; prev = c, c = c->next)
		if (jv_is_str(jv_get(c, "type"), type)) {
			jv_unlink(conds, prev, c);
			break;
		}
	if (conds && !jv_count(conds))
		jv_del(st, "conditions");
}

void dp_set_condition(struct jv_doc *d, struct jv *st, const char *type, const char *status,
		      const char *reason, const char *msg)
{
	struct jv *cur = dp_condition(st, type), *c, *conds;
	char now[32];
	const char *ltt;

	if (cur && jv_is_str(jv_get(cur, "status"), status) &&
	    jv_is_str(jv_get(cur, "reason"), reason))
		return;
	ctrl_time(ctrl_now(), now);
	ltt = cur && jv_is_str(jv_get(cur, "status"), status)
		  ? jv_path_str(cur, "lastTransitionTime")
		  : NULL;
	c = jv_new(d, JV_OBJECT);
	if (!c)
		return;
	jv_set(d, c, "type", jv_new_strz(d, type));
	jv_set(d, c, "status", jv_new_strz(d, status));
	jv_set(d, c, "lastUpdateTime", jv_new_strz(d, now));
	jv_set(d, c, "lastTransitionTime", jv_new_strz(d, ltt ? ltt : now));
	jv_set(d, c, "reason", jv_new_strz(d, reason));
	jv_set(d, c, "message", jv_new_strz(d, msg));
	dp_remove_condition(st, type);
	conds = jv_get(st, "conditions");
	if (!conds) {
		conds = jv_new(d, JV_ARRAY);
		jv_set(d, st, "conditions", conds);
	}
	jv_push(conds, c);
}
