/* SPDX-License-Identifier: Apache-2.0 */
/*
 * namespace: kube-controller-manager's namespace controller (pkg/controller/namespace and
 * its deletion/namespaced_resources_deleter.go). A namespace being deleted (the API marked it
 * Terminating and keeps it while spec.finalizers holds "kubernetes") is emptied: every
 * namespaced kind the server serves is deleted with one deletecollection (Background
 * propagation), or item by item where the server refuses the collection; what remains is
 * counted, its finalizers named, and the namespace's status.conditions say so
 * (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
 * NamespaceDeletionContentFailure, NamespaceContentRemaining, NamespaceFinalizersRemaining,
 * worded as 1.32 words them). While content remains the namespace is checked again after
 * half the estimate (pods: their grace period; objects held by finalizers: 15 s); once empty
 * the controller removes "kubernetes" through namespaces/<ns>/finalize (the API then deletes
 * the namespace) and deletes it again if it is still there with nothing to finalize.
 *
 * Unlike kube's, there is no 5 s wait before the first pass: that wait lets the caches of
 * several API servers catch up; drover's reads come from one store.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"

#define COMP		     "namespace-controller"
#define FINALIZER	     "kubernetes"
/* the estimate for content held by finalizers (finalizerEstimateSeconds) */
#define FINALIZER_ESTIMATE_S 15
#define MAX_ITEMS	     64 /* distinct finalizers / kinds reported in a condition */

struct ns_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *ns;
	struct kc_queue *q;
	struct kc_workers *w;
	const struct k8s_kind **kinds; /* the namespaced kinds served (preferred versions) */
	size_t nkinds;
	_Atomic bool *no_delcol; /* per kind: the collection delete is refused (opCache) */
};

static void enqueue(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct ns_ctrl *s = arg;
	const char *name = jv_path_str(t, "metadata.name");

	(void)o;
	if (name && jv_path(t, "metadata.deletionTimestamp"))
		kc_queue_add(s->q, name);
}

static void ns_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	enqueue(arg, cur, cur_t);
}

/* ---- what one pass found ---- */

struct counted {
	char name[256];
	int n;
};

struct content {
	int64_t estimate;
	struct counted kinds[MAX_ITEMS], finalizers[MAX_ITEMS];
	size_t nkinds, nfinalizers;
	char errors[MAX_ITEMS][512];
	size_t nerrors;
};

static void count(struct counted *arr, size_t *n, const char *name, int add)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(arr[i].name, name) == 0) {
			arr[i].n += add;
			return;
		}
	if (*n < MAX_ITEMS) {
		snprintf(arr[*n].name, sizeof(arr[*n].name), "%s", name);
		arr[(*n)++].n = add;
	}
}

static void add_error(struct content *ct, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_error(struct content *ct, const char *fmt, ...)
{
	va_list ap;

	if (ct->nerrors >= MAX_ITEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(ct->errors[ct->nerrors++], sizeof(ct->errors[0]), fmt, ap);
	va_end(ap);
}

/* Go's schema.GroupVersionResource.String(): "apps/v1, Resource=deployments". */
static const char *gvr_string(const struct k8s_kind *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s, Resource=%s", k->group, k->version, k->resource);
	return buf;
}

/* ---- one kind ---- */

/* Pods: the longest grace period of the namespace's running pods, unless it has passed since
 * the namespace's deletion (estimateGracefulTerminationForPods). */
static int pods_estimate(struct ns_ctrl *s, const char *ns, int64_t deleted_at, int64_t *out)
{
	struct kc_list l = {0};
	struct kc_status st;
	struct jv_doc *d;
	int64_t est = 0;
	int err = kc_list(s->c->kc, ctrl_k_pod, ns, NULL, &l, &st);

	*out = 0;
	if (err)
		return err;
	d = jv_doc_new();
	for (size_t i = 0; d && i < l.count; i++) {
		struct jv *p = kc_obj_parse(l.items[i], d);
		const char *phase = jv_path_str(p, "status.phase");
		int64_t g;

		if (!p || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
			continue;
		if (jv_path_int(p, "spec.terminationGracePeriodSeconds", &g) == 0 && g > est)
			est = g;
	}
	jv_doc_free(d);
	kc_list_free(&l);
	if (deleted_at >= 0 && ctrl_now() - deleted_at >= est)
		est = 0;
	*out = est;
	return d ? 0 : -ENOMEM;
}

/* Delete what the list shows one by one (deleteEachItem). */
static int delete_each(struct ns_ctrl *s, const struct k8s_kind *k, const char *ns,
		       struct kc_status *st)
{
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_list l = {0};
	struct jv_doc *d;
	int err = kc_list(s->c->kc, k, ns, NULL, &l, st);

	if (err)
		return err == -ENOENT ? 0 : err;
	o.propagation = "Background";
	d = jv_doc_new();
	for (size_t i = 0; d && i < l.count && !err; i++) {
		const char *name = jv_path_str(kc_obj_parse(l.items[i], d), "metadata.name");

		if (!name)
			continue;
		err = kc_delete(s->c->kc, k, ns, name, &o, NULL, st);
		if (err == -ENOENT || err == -KC_EAPI)
			err = 0; /* gone, or not deletable (405) */
	}
	jv_doc_free(d);
	kc_list_free(&l);
	return d ? err : -ENOMEM;
}

/* deleteAllContentForGroupVersionResource: delete, then count what remains. */
static void empty_kind(struct ns_ctrl *s, size_t ki, const char *ns, int64_t deleted_at,
		       struct content *ct)
{
	const struct k8s_kind *k = s->kinds[ki];
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_list l = {0};
	struct kc_status st;
	struct content mine = {0};
	struct jv_doc *d;
	char gvr[256], what[320];
	int64_t est = 0;
	int err = 0;

	if (k == ctrl_k_pod && (err = pods_estimate(s, ns, deleted_at, &est)) != 0) {
		add_error(ct, "%s", kc_strerror(err));
		return;
	}
	o.propagation = "Background";
	if (!s->no_delcol[ki]) {
		err = kc_delete_collection(s->c->kc, k, ns, NULL, &o, &st);
		/* MethodNotSupported or NotFound: remember, and go item by item */
		if (err == -ENOENT || (err == -KC_EAPI && st.code == 405)) {
			s->no_delcol[ki] = true;
			err = delete_each(s, k, ns, &st);
		}
	} else {
		err = delete_each(s, k, ns, &st);
	}
	if (err) {
		ct->estimate = est > ct->estimate ? est : ct->estimate;
		add_error(ct, "%s", st.message[0] ? st.message : kc_strerror(err));
		return;
	}
	err = kc_list(s->c->kc, k, ns, NULL, &l, &st);
	if (err) {
		if (err != -ENOENT)
			add_error(ct, "%s", st.message[0] ? st.message : kc_strerror(err));
		return;
	}
	if (!l.count) {
		kc_list_free(&l);
		return;
	}
	d = jv_doc_new();
	for (size_t i = 0; d && i < l.count; i++) {
		const struct jv *f = jv_path(kc_obj_parse(l.items[i], d), "metadata.finalizers");

		for (const struct jv *it = jv_first(f); it; it = it->next)
			if (it->type == JV_STRING)
				count(mine.finalizers, &mine.nfinalizers, it->s, 1);
	}
	jv_doc_free(d);
	snprintf(what, sizeof(what), "%s.%s", k->resource, k->group);
	if (est == 0 && mine.nfinalizers)
		est = FINALIZER_ESTIMATE_S;
	if (est == 0)
		/* nothing says why it stays: it should have gone */
		add_error(ct, "unexpected items still remain in namespace: %s for gvr: %s", ns,
			  gvr_string(k, gvr, sizeof(gvr)));
	count(ct->kinds, &ct->nkinds, what, (int)l.count);
	for (size_t i = 0; i < mine.nfinalizers; i++)
		count(ct->finalizers, &ct->nfinalizers, mine.finalizers[i].name,
		      mine.finalizers[i].n);
	if (est > ct->estimate)
		ct->estimate = est;
	kc_list_free(&l);
}

/* ---- the namespace's conditions (status_condition_utils.go) ---- */

static int cmp_counted(const void *a, const void *b)
{
	return strcmp(((const struct counted *)a)->name, ((const struct counted *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "<prefix><item><sep><item>..." of the sorted items, into buf. */
static void join(char *buf, size_t size, const char *prefix, struct counted *arr, size_t n,
		 const char *fmt)
{
	size_t off = (size_t)snprintf(buf, size, "%s", prefix);
	char item[320];

	qsort(arr, n, sizeof(*arr), cmp_counted);
	for (size_t i = 0; i < n && off < size; i++) {
		snprintf(item, sizeof(item), fmt, arr[i].name, arr[i].n);
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", item);
	}
}

/* Set every condition the deleter owns: a failure, or its "ok" variant. */
static bool set_conditions(struct jv_doc *d, struct jv *ns, struct content *ct)
{
	char msg[4096];
	bool changed = false;

	changed |=
	    ctrl_set_condition(d, ns, "NamespaceDeletionDiscoveryFailure", "False",
			       "ResourcesDiscovered", "All resources successfully discovered");
	changed |=
	    ctrl_set_condition(d, ns, "NamespaceDeletionGroupVersionParsingFailure", "False",
			       "ParsedGroupVersions", "All legacy kube types successfully parsed");
	if (ct->nerrors) {
		size_t off;

		qsort(ct->errors, ct->nerrors, sizeof(ct->errors[0]), cmp_str);
		off = (size_t)snprintf(
		    msg, sizeof(msg),
		    "Failed to delete all resource types, %zu remaining: ", ct->nerrors);
		for (size_t i = 0; i < ct->nerrors && off < sizeof(msg); i++)
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? ", " : "",
						ct->errors[i]);
		changed |= ctrl_set_condition(d, ns, "NamespaceDeletionContentFailure", "True",
					      "ContentDeletionFailed", msg);
	} else {
		changed |= ctrl_set_condition(
		    d, ns, "NamespaceDeletionContentFailure", "False", "ContentDeleted",
		    "All content successfully deleted, may be waiting on finalization");
	}
	if (ct->nkinds) {
		join(msg, sizeof(msg), "Some resources are remaining: ", ct->kinds, ct->nkinds,
		     "%s has %d resource instances");
		changed |= ctrl_set_condition(d, ns, "NamespaceContentRemaining", "True",
					      "SomeResourcesRemain", msg);
	} else {
		changed |= ctrl_set_condition(d, ns, "NamespaceContentRemaining", "False",
					      "ContentRemoved", "All content successfully removed");
	}
	if (ct->nfinalizers) {
		join(msg, sizeof(msg), "Some finalizers are remaining: ", ct->finalizers,
		     ct->nfinalizers, "%s in %d resource instances");
		changed |= ctrl_set_condition(d, ns, "NamespaceFinalizersRemaining", "True",
					      "SomeFinalizerRemain", msg);
	} else {
		changed |= ctrl_set_condition(d, ns, "NamespaceFinalizersRemaining", "False",
					      "ContentRemoved", "All content successfully removed");
	}
	return changed;
}

/* ---- the namespace ---- */

/* The namespace now: 0 and *out (parsed into d), -ENOENT, or an error. */
static int get_ns(struct ns_ctrl *s, struct jv_doc *d, const char *name, struct jv **out)
{
	struct kc_obj *o = NULL;
	struct kc_status st;
	int err = kc_get(s->c->kc, ctrl_k_namespace, NULL, name, &o, &st);

	*out = NULL;
	if (err)
		return err;
	*out = kc_obj_parse(o, d);
	kc_obj_put(o);
	return *out ? 0 : -ENOMEM;
}

static bool finalized(const struct jv *ns)
{
	return jv_count(jv_path(ns, "spec.finalizers")) == 0;
}

/* Remove our finalizer through namespaces/<name>/finalize, re-reading on conflict
 * (finalizeNamespace under retryOnConflictError). */
static int finalize(struct ns_ctrl *s, struct jv_doc *d, struct jv *ns, const char *name)
{
	const char *uid = jv_path_str(ns, "metadata.uid");
	struct kc_status st;
	int err;

	for (int i = 0; i < 16; i++) {
		const struct jv *f = jv_path(ns, "spec.finalizers");
		const char *names[MAX_ITEMS];
		struct jv *keep = jv_new(d, JV_ARRAY);
		size_t n = 0;

		/* the others, sorted, as a set (sets.NewString().List()) */
		for (const struct jv *it = jv_first(f); it && n < MAX_ITEMS; it = it->next)
			if (it->type == JV_STRING && strcmp(it->s, FINALIZER) != 0)
				names[n++] = it->s;
		qsort(names, n, sizeof(names[0]), cmp_strp);
		for (size_t j = 0; j < n; j++)
			if (j == 0 || strcmp(names[j], names[j - 1]) != 0)
				jv_push(keep, jv_new_strz(d, names[j]));
		jv_set(d, jv_obj_at(d, ns, "spec"), "finalizers", keep);
		err = kc_update(s->c->kc, ctrl_k_namespace, NULL, "finalize", ns, NULL, NULL, &st);
		if (err != -KC_ECONFLICT)
			return err == -ENOENT ? 0 : err;
		err = get_ns(s, d, name, &ns);
		if (err)
			return err == -ENOENT ? 0 : err;
		if (!jv_is_str(jv_path(ns, "metadata.uid"), uid ? uid : ""))
			return -ESTALE; /* "namespace uid has changed across retries" */
	}
	return -KC_ECONFLICT;
}

static int sync_ns(void *arg, const char *name)
{
	struct ns_ctrl *s = arg;
	struct jv_doc *d = jv_doc_new();
	struct content *ct = NULL;
	struct kc_delete_opts del = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	struct jv *ns;
	int64_t deleted_at;
	int err;

	if (!d)
		return -ENOMEM;
	err = get_ns(s, d, name, &ns);
	if (err || !jv_path(ns, "metadata.deletionTimestamp"))
		goto out;
	/* the phase says Terminating (the API's delete set it; an older object may not) */
	if (!jv_is_str(jv_path(ns, "status.phase"), "Terminating")) {
		jv_set(d, jv_obj_at(d, ns, "status"), "phase", jv_new_strz(d, "Terminating"));
		err = kc_update(s->c->kc, ctrl_k_namespace, NULL, "status", ns, NULL, NULL, &st);
		if (err)
			goto out; /* a conflict or a failure: again, from the top */
		err = get_ns(s, d, name, &ns);
		if (err)
			goto out;
	}
	if (finalized(ns))
		goto delete_again;
	ct = calloc(1, sizeof(*ct));
	if (!ct) {
		err = -ENOMEM;
		goto out;
	}
	deleted_at = ctrl_parse_time(jv_path_str(ns, "metadata.deletionTimestamp"));
	for (size_t i = 0; i < s->nkinds; i++)
		empty_kind(s, i, name, deleted_at, ct);
	/* always written when changed: a condition may go from failing back to ok */
	if (set_conditions(d, ns, ct) &&
	    (err = kc_update(s->c->kc, ctrl_k_namespace, NULL, "status", ns, NULL, NULL, &st)))
		log_warn(COMP, "couldn't update status condition for namespace \"%s\": %s", name,
			 st.message[0] ? st.message : kc_strerror(err));
	if (ct->nerrors) {
		log_warn(COMP, "deletion of namespace %s failed: %s", name, ct->errors[0]);
		err = -EAGAIN;
		goto out;
	}
	if (ct->estimate > 0) {
		/* content remains: look again after half the estimate */
		kc_queue_add_after(s->q, name, (uint64_t)(ct->estimate / 2 + 1) * 1000);
		err = 0;
		goto out;
	}
	err = get_ns(s, d, name, &ns);
	if (!err)
		err = finalize(s, d, ns, name);
	if (err)
		goto out;
delete_again:
	/* finalized: the API deleted it; if something kept it, delete it again */
	err = get_ns(s, d, name, &ns);
	if (!err && finalized(ns) && !jv_count(jv_path(ns, "metadata.finalizers"))) {
		del.precondition_uid = jv_path_str(ns, "metadata.uid");
		err = kc_delete(s->c->kc, ctrl_k_namespace, NULL, name, &del, NULL, &st);
	}
out:
	if (err == -ENOENT)
		err = 0;
	free(ct);
	jv_doc_free(d);
	return err;
}

/* ---- lifecycle ---- */

static int ns_init(struct ctrl_ctx *c, void **state)
{
	struct ns_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers h = {.add = enqueue, .update = ns_update};
	const struct k8s_kind **all = NULL;
	size_t n = 0;
	int err;

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->q = kc_queue_new("namespace");
	s->ns = ctrl_informer(c, ctrl_k_namespace);
	if (!s->q || !s->ns)
		return -ENOMEM;
	h.arg = s;
	if (kc_informer_add_handlers(s->ns, &h) != 0)
		return -ENOMEM;
	err = ctrl_served_kinds(c, &all, &n);
	if (err)
		return err;
	s->kinds = calloc(n + 1, sizeof(*s->kinds));
	s->no_delcol = calloc(n + 1, sizeof(*s->no_delcol));
	if (!s->kinds || !s->no_delcol) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!all[i]->cluster_scoped && ctrl_kind_preferred(all, n, all[i]))
			s->kinds[s->nkinds++] = all[i];
	free(all);
	return 0;
}

static int ns_run(void *state)
{
	struct ns_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_ns, s, "namespace");
	return s->w ? 0 : -ENOMEM;
}

static void ns_stop(void *state)
{
	struct ns_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s->kinds);
	free((void *)s->no_delcol);
	free(s);
}

const struct ctrl_desc ctrl_namespace = {
    .name = "namespace",
    .component = "namespace-controller",
    .init = ns_init,
    .run = ns_run,
    .stop = ns_stop,
};
