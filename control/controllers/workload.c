/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload: pods from templates, the deletion ranking of pods, the controller ref manager's
 * claim, and UID-tracking expectations (workload.h), as pkg/controller's controller_utils.go
 * and controller_ref_manager.go do them.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "log.h"
#include "workload.h"

struct jv *ctrl_obj_tree(const struct kc_obj *o, struct jv_doc *d, const struct k8s_kind *k)
{
	struct jv *t = kc_obj_parse(o, d);

	if (!t)
		return NULL;
	if (!jv_get(t, "apiVersion"))
		jv_set(d, t, "apiVersion", jv_new_strz(d, k->api_version));
	if (!jv_get(t, "kind"))
		jv_set(d, t, "kind", jv_new_strz(d, k->kind));
	return t;
}

void ctrl_index_orphan_ns(const struct jv *obj, void (*emit)(void *, const char *), void *ctx)
{
	const char *ns = jv_path_str(obj, "metadata.namespace");

	if (ns && !ctrl_controller_ref(obj))
		emit(ctx, ns);
}

/* ---- which pods go first ---- */

int64_t ctrl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* kube's podPhaseToOrdinal: a phase missing from the map is 0 */
static int phase_ordinal(const struct jv *pod)
{
	const char *p = jv_path_str(pod, "status.phase");

	if (p && strcmp(p, "Unknown") == 0)
		return 1;
	if (p && strcmp(p, "Running") == 0)
		return 2;
	return 0;
}

/* controller.kubernetes.io/pod-deletion-cost; unparsable or out of int32: 0 */
static int64_t deletion_cost(const struct jv *pod)
{
	const char *s =
	    jv_path_str(pod, "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]");
	char *end;
	long long v;

	if (!s || !s[0])
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < INT32_MIN || v > INT32_MAX)
		return 0;
	return v;
}

/* The Ready condition's lastTransitionTime of a ready pod, in ns; 0 (Go's zero time) if not
 * ready or absent. */
static int64_t ready_time_ns(const struct jv *pod)
{
	int64_t t;

	if (!ctrl_pod_ready(pod))
		return 0;
	t = ctrl_parse_time(jv_path_str(ctrl_condition(pod, "Ready"), "lastTransitionTime"));
	return t > 0 ? t * 1000000000 : 0;
}

static int64_t created_ns(const struct jv *pod)
{
	int64_t t = ctrl_parse_time(jv_path_str(pod, "metadata.creationTimestamp"));

	return t > 0 ? t * 1000000000 : 0;
}

/* kube's logarithmicRankDiff: the difference of floor(log2(age in ns)) */
static int64_t log_rank_diff(int64_t t1, int64_t t2, int64_t now)
{
	int64_t r1 = -1, r2 = -1;

	if (now - t1 > 0)
		r1 = (int64_t)log2((double)(now - t1));
	if (now - t2 > 0)
		r2 = (int64_t)log2((double)(now - t2));
	return r1 - r2;
}

static int uid_cmp(const struct jv *a, const struct jv *b)
{
	const char *ua = jv_path_str(a, "metadata.uid") ?: "";
	const char *ub = jv_path_str(b, "metadata.uid") ?: "";

	return strcmp(ua, ub);
}

/* Younger (or zero) time first, as kube's afterOrZero and its logarithmic variant. */
static bool time_less(const struct jv *a, const struct jv *b, int64_t ta, int64_t tb, int64_t now)
{
	int64_t diff;

	if (now == 0 || ta == 0 || tb == 0) {
		if (ta == 0 || tb == 0)
			return ta == 0;
		return ta > tb;
	}
	diff = log_rank_diff(ta, tb, now);
	if (diff == 0)
		return uid_cmp(a, b) < 0;
	return diff < 0;
}

/* The highest restartCount of the regular containers, and of the sidecars (init containers
 * with restartPolicy Always). */
static void max_restarts(const struct jv *pod, int64_t *regular, int64_t *sidecar)
{
	int64_t v;

	*regular = *sidecar = 0;
	for (const struct jv *c = jv_first(jv_path(pod, "status.containerStatuses")); c;
	     c = c->next)
		if (jv_path_int(c, "restartCount", &v) == 0 && v > *regular)
			*regular = v;
	for (const struct jv *c = jv_first(jv_path(pod, "status.initContainerStatuses")); c;
	     c = c->next) {
		const char *name = jv_path_str(c, "name");
		bool side = false;

		for (const struct jv *ic = jv_first(jv_path(pod, "spec.initContainers"));
		     ic && name; ic = ic->next)
			if (jv_is_str(jv_get(ic, "name"), name) &&
			    jv_is_str(jv_get(ic, "restartPolicy"), "Always"))
				side = true;
		if (side && jv_path_int(c, "restartCount", &v) == 0 && v > *sidecar)
			*sidecar = v;
	}
}

bool ctrl_pod_delete_before(const struct ctrl_pod_rank *a, const struct ctrl_pod_rank *b,
			    int64_t now_ns)
{
	const struct jv *pa = a->pod, *pb = b->pod;
	const char *na = jv_path_str(pa, "spec.nodeName") ?: "";
	const char *nb = jv_path_str(pb, "spec.nodeName") ?: "";
	bool ra = ctrl_pod_ready(pa), rb = ctrl_pod_ready(pb);
	int64_t x, y, xs, ys;

	/* 1. unassigned < assigned */
	if (strcmp(na, nb) != 0 && (!na[0] || !nb[0]))
		return !na[0];
	/* 2. Pending < Unknown < Running */
	if (phase_ordinal(pa) != phase_ordinal(pb))
		return phase_ordinal(pa) < phase_ordinal(pb);
	/* 3. not ready < ready */
	if (ra != rb)
		return !ra;
	/* 4. lower pod-deletion-cost first */
	x = deletion_cost(pa);
	y = deletion_cost(pb);
	if (x != y)
		return x < y;
	/* 5. doubled up (more related pods on its node) first */
	if (a->rank != b->rank)
		return a->rank > b->rank;
	/* 6. ready for less time first */
	if (ra && rb) {
		x = ready_time_ns(pa);
		y = ready_time_ns(pb);
		if (x != y)
			return time_less(pa, pb, x, y, now_ns);
	}
	/* 7. more restarts first */
	max_restarts(pa, &x, &xs);
	max_restarts(pb, &y, &ys);
	if (x != y)
		return x > y;
	if (xs != ys)
		return xs > ys;
	/* 8. newer first */
	x = created_ns(pa);
	y = created_ns(pb);
	if (x != y)
		return time_less(pa, pb, x, y, now_ns);
	return false;
}

static __thread int64_t sort_now;

static int rank_cmp(const void *x, const void *y)
{
	const struct ctrl_pod_rank *a = x, *b = y;

	if (ctrl_pod_delete_before(a, b, sort_now))
		return -1;
	if (ctrl_pod_delete_before(b, a, sort_now))
		return 1;
	return 0;
}

void ctrl_pods_rank_sort(struct ctrl_pod_rank *p, size_t n, int64_t now_ns)
{
	sort_now = now_ns;
	qsort(p, n, sizeof(*p), rank_cmp);
}

/* ---- the controller ref manager ---- */

enum ctrl_claim ctrl_claim_decide(const struct jv *owner, const struct jv *selector,
				  const struct jv *obj)
{
	const struct jv *ref = ctrl_controller_ref(obj);
	const char *uid = jv_path_str(owner, "metadata.uid");
	bool owner_deleting = jv_path(owner, "metadata.deletionTimestamp") != NULL;
	bool match = ctrl_selector_matches(selector, jv_path(obj, "metadata.labels"));
	const char *ons = jv_path_str(owner, "metadata.namespace");
	const char *ns = jv_path_str(obj, "metadata.namespace");

	if (ref) {
		if (!uid || !jv_is_str(jv_get(ref, "uid"), uid))
			return CTRL_CLAIM_IGNORE;
		if (match)
			return CTRL_CLAIM_OWNED;
		return owner_deleting ? CTRL_CLAIM_IGNORE : CTRL_CLAIM_RELEASE;
	}
	if (owner_deleting || !match || jv_path(obj, "metadata.deletionTimestamp"))
		return CTRL_CLAIM_IGNORE;
	if (ons && ons[0] && (!ns || strcmp(ns, ons) != 0))
		return CTRL_CLAIM_IGNORE;
	return CTRL_CLAIM_ADOPT;
}

bool ctrl_has_finalizer(const struct jv *obj, const char *f)
{
	for (const struct jv *x = jv_first(jv_path(obj, "metadata.finalizers")); x; x = x->next)
		if (jv_is_str(x, f))
			return true;
	return false;
}

/* Append f to obj's metadata.finalizers (obj in d). */
static int add_finalizer(struct jv_doc *d, struct jv *obj, const char *f)
{
	struct jv *md = jv_obj_at(d, obj, "metadata"), *fins, *s = jv_new_strz(d, f);

	if (!md || !s)
		return -ENOMEM;
	fins = jv_get(md, "finalizers");
	if (!fins || fins->type != JV_ARRAY) {
		jv_del(md, "finalizers");
		fins = jv_new(d, JV_ARRAY);
		if (!fins)
			return -ENOMEM;
		jv_set(d, md, "finalizers", fins);
	}
	jv_push(fins, s);
	return 0;
}

static int write_refs(struct kclient *kc, const struct k8s_kind *k, const struct jv *obj,
		      const struct jv *owner, const struct k8s_kind *owner_kind,
		      const char *drop_uid, const char *finalizer, struct kc_status *st)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o = d ? jv_copy(d, obj) : NULL;
	struct jv *md = o ? jv_obj_at(d, o, "metadata") : NULL, *refs, *keep;
	int err;

	if (!md) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	refs = jv_get(md, "ownerReferences");
	keep = jv_new(d, JV_ARRAY);
	for (struct jv *r = jv_first(refs), *next; r; r = next) {
		next = r->next;
		if (drop_uid && jv_is_str(jv_get(r, "uid"), drop_uid))
			continue;
		r->next = NULL;
		r->key = NULL;
		jv_push(keep, r);
	}
	if (owner)
		jv_push(keep, ctrl_owner_ref(d, owner, owner_kind));
	jv_del(md, "ownerReferences");
	if (jv_count(keep))
		jv_set(d, md, "ownerReferences", keep);
	if (finalizer && !ctrl_has_finalizer(o, finalizer) && add_finalizer(d, o, finalizer) != 0) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	err = kc_update(kc, k, jv_path_str(o, "metadata.namespace"), NULL, o, NULL, NULL, st);
	jv_doc_free(d);
	return err;
}

int ctrl_adopt(struct kclient *kc, const struct k8s_kind *k, const struct jv *obj,
	       const struct jv *owner, const struct k8s_kind *owner_kind, struct kc_status *st)
{
	return write_refs(kc, k, obj, owner, owner_kind, NULL, NULL, st);
}

int ctrl_release(struct kclient *kc, const struct k8s_kind *k, const struct jv *obj,
		 const char *owner_uid, struct kc_status *st)
{
	return write_refs(kc, k, obj, NULL, NULL, owner_uid, NULL, st);
}

int ctrl_index_trees(struct kc_informer *inf, const char *index, const char *value,
		     const struct k8s_kind *k, struct jv_doc *d, struct jv ***v, size_t *n)
{
	struct kc_obj **objs = NULL;
	size_t m = 0;
	struct jv **nv;
	int err = kc_informer_list(inf, index, value, &objs, &m);

	if (err)
		return err;
	nv = m ? jv_alloc(d, (*n + m) * sizeof(*nv)) : *v;
	if (m && !nv)
		err = -ENOMEM;
	if (nv && nv != *v && *n)
		memcpy(nv, *v, *n * sizeof(*nv));
	for (size_t i = 0; !err && i < m; i++) {
		nv[*n] = ctrl_obj_tree(objs[i], d, k);
		if (!nv[(*n)++])
			err = -ENOMEM;
	}
	if (!err)
		*v = nv;
	kc_objs_free(objs, m);
	return err;
}

void ctrl_enqueue_selecting_conv(struct kc_informer *owners, struct kc_queue *q,
				 const struct jv *obj,
				 int (*conv)(struct jv_doc *d, struct jv *owner))
{
	const char *ns = jv_path_str(obj, "metadata.namespace");
	const struct jv *labels = jv_path(obj, "metadata.labels");
	struct kc_obj **objs = NULL;
	size_t n = 0;
	char key[512];

	if (!ns || kc_informer_list(owners, "namespace", ns, &objs, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *o = d ? kc_obj_parse(objs[i], d) : NULL;
		const struct jv *sel;

		if (o && conv && conv(d, o) != 0)
			o = NULL;
		sel = jv_path(o, "spec.selector");

		/* an empty selector matches nothing here, as kube's GetPodReplicaSets */
		if (o && jv_count(sel) && ctrl_selector_matches(sel, labels)) {
			snprintf(key, sizeof(key), "%s/%s", ns,
				 jv_path_str(o, "metadata.name") ?: "");
			kc_queue_add(q, key);
		}
		jv_doc_free(d);
	}
	kc_objs_free(objs, n);
}

void ctrl_enqueue_selecting(struct kc_informer *owners, struct kc_queue *q, const struct jv *obj)
{
	ctrl_enqueue_selecting_conv(owners, q, obj, NULL);
}

int ctrl_claim_indexes(struct ctrl_ctx *c, const struct k8s_kind *k)
{
	return ctrl_owner_index(c, k)
		   ?: ctrl_informer_index(c, k, CTRL_IDX_ORPHAN, ctrl_index_orphan_ns);
}

/* kube's RecheckDeletionTimestamp: may owner, as the cache has it, still adopt? A quorum
 * read of it: 0, or -EAGAIN when it is gone, replaced by another of its name or being
 * deleted (the cache was stale: the owner's next sync sees it), or the read's error. */
static int recheck_owner(struct ctrl_ctx *c, const struct jv *owner,
			 const struct k8s_kind *owner_kind, char *why, size_t whylen)
{
	const char *ns = jv_path_str(owner, "metadata.namespace");
	const char *name = jv_path_str(owner, "metadata.name");
	const char *uid = jv_path_str(owner, "metadata.uid");
	struct kc_status st = {0};
	struct kc_obj *fresh = NULL;
	struct jv_doc *d;
	struct jv *o;
	int err = kc_get(c->kc, owner_kind, ns, name, &fresh, &st);

	if (err) {
		snprintf(why, whylen, "can't recheck DeletionTimestamp: %.400s",
			 st.message[0] ? st.message : kc_strerror(err));
		return err == -ENOENT ? -EAGAIN : err;
	}
	d = jv_doc_new();
	o = d ? kc_obj_parse(fresh, d) : NULL;
	kc_obj_put(fresh);
	if (!o) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	if (!uid || !jv_is_str(jv_path(o, "metadata.uid"), uid)) {
		snprintf(why, whylen, "original %s %s/%s is gone: got uid %s, wanted %s",
			 owner_kind->kind, ns ?: "", name ?: "",
			 jv_path_str(o, "metadata.uid") ?: "", uid ?: "");
		err = -EAGAIN;
	} else if (jv_path(o, "metadata.deletionTimestamp")) {
		snprintf(why, whylen, "%s/%s has just been deleted at %s", ns ?: "", name ?: "",
			 jv_path_str(o, "metadata.deletionTimestamp") ?: "");
		err = -EAGAIN;
	}
	jv_doc_free(d);
	return err;
}

static struct jv **claim(struct ctrl_ctx *c, struct kc_informer *inf, const struct k8s_kind *k,
			 const struct jv *owner, const struct k8s_kind *owner_kind,
			 bool (*keep)(const struct jv *owner, const struct jv *obj),
			 const char *finalizer, struct jv_doc *d, size_t *n, int *errp)
{
	const char *uid = jv_path_str(owner, "metadata.uid");
	const char *ns = jv_path_str(owner, "metadata.namespace");
	const struct jv *sel = jv_path(owner, "spec.selector");
	struct jv **cand = NULL;
	size_t nc = 0;
	int err = 0, can_adopt = 1; /* 1: not rechecked yet */
	char why[512] = "";

	*n = 0;
	if (!uid || !ns)
		err = -EINVAL;
	if (!err)
		err = ctrl_index_trees(inf, CTRL_IDX_OWNER, uid, k, d, &cand, &nc);
	if (!err)
		err = ctrl_index_trees(inf, CTRL_IDX_ORPHAN, ns, k, d, &cand, &nc);
	if (err) {
		*errp = err;
		return NULL;
	}
	/* cand is filtered in place: what is kept is what the owner has after claiming */
	for (size_t i = 0; i < nc; i++) {
		struct kc_status st = {0};
		int e = 0;

		if (keep && !keep(owner, cand[i]))
			continue;
		switch (ctrl_claim_decide(owner, sel, cand[i])) {
		case CTRL_CLAIM_OWNED:
			cand[(*n)++] = cand[i];
			break;
		case CTRL_CLAIM_ADOPT:
			/* once, before the first adoption (kube's CanAdopt: a sync.Once) */
			if (can_adopt == 1)
				can_adopt = recheck_owner(c, owner, owner_kind, why, sizeof(why));
			e = can_adopt;
			if (e) {
				snprintf(st.message, sizeof(st.message),
					 "can't adopt %s %.100s/%.253s (%.64s): %s", k->kind, ns,
					 jv_path_str(cand[i], "metadata.name") ?: "",
					 jv_path_str(cand[i], "metadata.uid") ?: "", why);
				break;
			}
			e = write_refs(c->kc, k, cand[i], owner, owner_kind, NULL, finalizer, &st);
			if (e == 0 && finalizer && !ctrl_has_finalizer(cand[i], finalizer))
				e = add_finalizer(d, cand[i], finalizer);
			if (e == 0)
				cand[(*n)++] = cand[i];
			break;
		case CTRL_CLAIM_RELEASE:
			e = ctrl_release(c->kc, k, cand[i], uid, &st);
			break;
		case CTRL_CLAIM_IGNORE:
			break;
		}
		if (e && e != -ENOENT) {
			log_info("controllers", "%s %s/%s: claiming %s %s: %s", owner_kind->kind,
				 ns, jv_path_str(owner, "metadata.name"), k->kind,
				 jv_path_str(cand[i], "metadata.name"),
				 st.message[0] ? st.message : kc_strerror(e));
			err = err ?: e;
		}
	}
	*errp = err;
	return cand;
}

struct jv **ctrl_claim(struct ctrl_ctx *c, struct kc_informer *inf, const struct k8s_kind *k,
		       const struct jv *owner, const struct k8s_kind *owner_kind,
		       bool (*keep)(const struct jv *owner, const struct jv *obj), struct jv_doc *d,
		       size_t *n, int *errp)
{
	return claim(c, inf, k, owner, owner_kind, keep, NULL, d, n, errp);
}

struct jv **ctrl_claim_fin(struct ctrl_ctx *c, struct kc_informer *inf, const struct k8s_kind *k,
			   const struct jv *owner, const struct k8s_kind *owner_kind,
			   bool (*keep)(const struct jv *owner, const struct jv *obj),
			   const char *finalizer, struct jv_doc *d, size_t *n, int *errp)
{
	return claim(c, inf, k, owner, owner_kind, keep, finalizer, d, n, errp);
}

/* ---- UID-tracking expectations ---- */

struct uid_set {
	char **keys;
	size_t n;
};

struct ctrl_uexpect {
	struct ctrl_expect *e;
	pthread_mutex_t lock;
	struct hmap *dels; /* controller key -> struct uid_set */
};

static void uid_set_free(struct uid_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s);
}

struct ctrl_uexpect *ctrl_uexpect_new(void)
{
	struct ctrl_uexpect *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->e = ctrl_expect_new();
	u->dels = hmap_new();
	if (!u->e || !u->dels) {
		ctrl_expect_free(u->e);
		hmap_free(u->dels);
		free(u);
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	return u;
}

void ctrl_uexpect_free(struct ctrl_uexpect *u)
{
	if (!u)
		return;
	for (struct hmap_entry *it = hmap_first(u->dels); it; it = hmap_next(u->dels, it))
		uid_set_free(hmap_entry_val(it));
	hmap_free(u->dels);
	ctrl_expect_free(u->e);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

bool ctrl_uexpect_satisfied(struct ctrl_uexpect *u, const char *key)
{
	return ctrl_expect_satisfied(u->e, key);
}

void ctrl_uexpect_creations(struct ctrl_uexpect *u, const char *key, int n)
{
	ctrl_expect_set(u->e, key, n, 0);
}

void ctrl_uexpect_creation_observed(struct ctrl_uexpect *u, const char *key)
{
	ctrl_expect_observe(u->e, key, 1, 0);
}

void ctrl_uexpect_deletions(struct ctrl_uexpect *u, const char *key, const char *const *obj_keys,
			    size_t n)
{
	struct uid_set *s = calloc(1, sizeof(*s));
	void *old = NULL;

	pthread_mutex_lock(&u->lock);
	if (s && (s->keys = calloc(n ? n : 1, sizeof(char *)))) {
		for (size_t i = 0; i < n; i++)
			if ((s->keys[s->n] = strdup(obj_keys[i])))
				s->n++;
		if (hmap_sput(u->dels, key, s, &old) < 0) {
			uid_set_free(s);
			s = NULL;
		}
		uid_set_free(old);
	} else {
		free(s);
		s = NULL;
	}
	/* what could not be tracked is still counted: a missed observation only delays a sync
	 * until the expectations expire, never makes one act twice */
	ctrl_expect_set(u->e, key, 0, (int)n);
	pthread_mutex_unlock(&u->lock);
}

void ctrl_uexpect_deletion_observed(struct ctrl_uexpect *u, const char *key, const char *obj_key)
{
	struct uid_set *s;

	pthread_mutex_lock(&u->lock);
	s = hmap_sget(u->dels, key);
	for (size_t i = 0; s && i < s->n; i++) {
		if (strcmp(s->keys[i], obj_key) != 0)
			continue;
		free(s->keys[i]);
		s->keys[i] = s->keys[--s->n];
		ctrl_expect_observe(u->e, key, 0, 1);
		break;
	}
	pthread_mutex_unlock(&u->lock);
}

void ctrl_uexpect_forget(struct ctrl_uexpect *u, const char *key)
{
	pthread_mutex_lock(&u->lock);
	uid_set_free(hmap_sdel(u->dels, key));
	ctrl_expect_delete(u->e, key);
	pthread_mutex_unlock(&u->lock);
}
