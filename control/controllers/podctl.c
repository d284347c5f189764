/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podctl: pods from templates, their creation and deletion with Events, owned objects from
 * the informers' caches, and ControllerRevisions (podctl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "podctl.h"

/* ---- pods ---- */

struct jv *ctrl_pod_from_template(struct jv_doc *d, const struct jv *tpl, const struct jv *owner,
				  const struct k8s_kind *k, const char *generate_name)
{
	struct jv *pod = jv_new(d, JV_OBJECT), *md, *refs;
	const struct jv *tmd = jv_get(tpl, "metadata");

	if (!pod)
		return NULL;
	jv_set(d, pod, "apiVersion", jv_new_strz(d, "v1"));
	jv_set(d, pod, "kind", jv_new_strz(d, "Pod"));
	md = jv_obj_at(d, pod, "metadata");
	if (generate_name)
		jv_set(d, md, "generateName", jv_new_strz(d, generate_name));
	if (jv_get(tmd, "labels"))
		jv_set(d, md, "labels", jv_copy(d, jv_get(tmd, "labels")));
	if (jv_get(tmd, "annotations"))
		jv_set(d, md, "annotations", jv_copy(d, jv_get(tmd, "annotations")));
	if (jv_get(tmd, "finalizers"))
		jv_set(d, md, "finalizers", jv_copy(d, jv_get(tmd, "finalizers")));
	refs = jv_new(d, JV_ARRAY);
	jv_push(refs, ctrl_owner_ref(d, owner, k));
	jv_set(d, md, "ownerReferences", refs);
	jv_set(d, pod, "spec", jv_copy(d, jv_get(tpl, "spec")));
	return jv_get(pod, "spec") ? pod : NULL;
}

int ctrl_pod_create(struct ctrl_ctx *c, const char *ns, const struct jv *pod,
		    const struct jv *owner, struct kc_status *st)
{
	struct kc_status own = {0};
	struct kc_obj *out = NULL;
	struct jv_doc *d;
	int err;

	st = st ? st : &own;
	*st = (struct kc_status){0};
	err = kc_create(c->kc, ctrl_k_pod, ns, pod, NULL, &out, st);
	if (err) {
		if (!ctrl_ns_terminating(err, st))
			kc_event(c->rec, owner, "Warning", "FailedCreate", "Error creating: %s",
				 st->message[0] ? st->message : kc_strerror(err));
		return err;
	}
	d = jv_doc_new();
	kc_event(c->rec, owner, "Normal", "SuccessfulCreate", "Created pod: %s",
		 jv_path_str(d ? kc_obj_parse(out, d) : NULL, "metadata.name") ?: "");
	jv_doc_free(d);
	kc_obj_put(out);
	return 0;
}

int ctrl_pod_delete(struct ctrl_ctx *c, const char *ns, const char *name, const struct jv *owner,
		    struct kc_status *st)
{
	struct kc_status own = {0};
	int err;

	st = st ? st : &own;
	*st = (struct kc_status){0};
	err = kc_delete(c->kc, ctrl_k_pod, ns, name, NULL, NULL, st);
	if (err == -ENOENT)
		return err;
	if (err) {
		kc_event(c->rec, owner, "Warning", "FailedDelete", "Error deleting: %s",
			 st->message[0] ? st->message : kc_strerror(err));
		return err;
	}
	kc_event(c->rec, owner, "Normal", "SuccessfulDelete", "Deleted pod: %s", name);
	return 0;
}

int ctrl_slow_start(int n, int (*fn)(void *arg, int i), void *arg, int *err)
{
	int done = 0, ok = 0;

	*err = 0;
	for (int batch = 1; done < n && !*err; batch *= 2)
		for (int end = n - done < batch ? n : done + batch; done < end; done++) {
			int e = fn(arg, done);

			if (e)
				*err = e;
			else
				ok++;
		}
	return ok;
}

/* ---- the caches ---- */

int ctrl_owner_index(struct ctrl_ctx *c, const struct k8s_kind *k)
{
	return ctrl_informer_index(c, k, CTRL_IDX_OWNER, kc_index_owner_uid);
}

struct jv **ctrl_owned(struct kc_informer *inf, const char *owner_uid, struct jv_doc *d, size_t *n)
{
	struct kc_obj **objs = NULL;
	struct jv **out;
	size_t count = 0;

	*n = 0;
	if (!owner_uid || kc_informer_list(inf, CTRL_IDX_OWNER, owner_uid, &objs, &count) != 0)
		return NULL;
	out = count ? jv_alloc(d, count * sizeof(*out)) : NULL;
	for (size_t i = 0; out && i < count; i++) {
		struct jv *t = kc_obj_parse(objs[i], d);

		if (t && ctrl_controlled_by(t, owner_uid))
			out[(*n)++] = t;
	}
	kc_objs_free(objs, count);
	return out;
}

const char *ctrl_owner_uid_of(const struct jv *obj, const char *kind)
{
	const struct jv *r = ctrl_controller_ref(obj);

	if (!r || !jv_is_str(jv_get(r, "kind"), kind))
		return NULL;
	return jv_path_str(r, "uid");
}

struct jv *ctrl_cached(struct kc_informer *inf, const char *ns, const char *name, struct jv_doc *d)
{
	struct kc_obj *o = kc_informer_get(inf, ns, name);
	struct jv *t = o ? kc_obj_parse(o, d) : NULL;

	kc_obj_put(o);
	return t;
}

struct jv *ctrl_resolve_ref(struct kc_informer *inf, const char *ns, const struct jv *ref,
			    const char *kind, struct jv_doc *d)
{
	const char *name = jv_path_str(ref, "name");
	struct jv *t;

	if (!ns || !name || !jv_is_str(jv_get(ref, "kind"), kind))
		return NULL;
	t = ctrl_cached(inf, ns, name, d);
	return t && jv_is_str(jv_path(t, "metadata.uid"), jv_path_str(ref, "uid")) ? t : NULL;
}

/* ---- ControllerRevisions ---- */

static int key_cmp(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;

	return strcmp(x->key, y->key);
}

/* JSON as Go's encoding/json writes a map[string]interface{}: keys sorted at every level. */
static int write_sorted(struct k8s_buf *b, const struct jv *v)
{
	if (v->type == JV_ARRAY) {
		k8s_buf_putc(b, '[');
		for (const struct jv *i = v->head; i; i = i->next) {
			if (i != v->head)
				k8s_buf_putc(b, ',');
			if (write_sorted(b, i))
				return -ENOMEM;
		}
		k8s_buf_putc(b, ']');
	} else if (v->type == JV_OBJECT) {
		const struct jv **kids = calloc(v->len + 1, sizeof(*kids));
		size_t n = 0;

		if (!kids)
			return -ENOMEM;
		for (const struct jv *i = v->head; i; i = i->next)
			kids[n++] = i;
		qsort(kids, n, sizeof(*kids), key_cmp);
		k8s_buf_putc(b, '{');
		for (size_t i = 0; i < n; i++) {
			if (i)
				k8s_buf_putc(b, ',');
			k8s_buf_json_string(b, kids[i]->key, kids[i]->klen);
			k8s_buf_putc(b, ':');
			if (write_sorted(b, kids[i])) {
				free(kids);
				return -ENOMEM;
			}
		}
		k8s_buf_putc(b, '}');
		free(kids);
	} else {
		jv_write(b, v);
	}
	return 0;
}

char *ctrl_rev_patch(const struct jv *owner)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *patch, *tpl;
	struct k8s_buf b = {0};
	char *out = NULL;

	if (!d)
		return NULL;
	patch = jv_new(d, JV_OBJECT);
	tpl = jv_copy(d, jv_path(owner, "spec.template"));
	if (patch && tpl && tpl->type == JV_OBJECT) {
		jv_set(d, tpl, "$patch", jv_new_strz(d, "replace"));
		jv_set(d, jv_obj_at(d, patch, "spec"), "template", tpl);
		if (write_sorted(&b, patch) == 0)
			out = k8s_buf_take(&b, NULL);
	}
	k8s_buf_free(&b);
	jv_doc_free(d);
	return out;
}

const char *ctrl_rev_hash(const char *data, int64_t collision, char *buf)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	uint32_t h = 2166136261u;
	char num[24];
	size_t i;

	for (const unsigned char *p = (const unsigned char *)data; *p; p++)
		h = (h * 16777619u) ^ *p;
	if (collision >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)collision);
		for (const unsigned char *p = (const unsigned char *)num; *p; p++)
			h = (h * 16777619u) ^ *p;
	}
	snprintf(num, sizeof(num), "%u", h);
	for (i = 0; num[i]; i++)
		buf[i] = alnum[(unsigned char)num[i] % (sizeof(alnum) - 1)];
	buf[i] = 0;
	return buf;
}

struct jv *ctrl_rev_new(struct jv_doc *d, const struct jv *owner, const struct k8s_kind *k,
			const struct jv *tpl_labels, const char *data, const char *hash,
			int64_t revision)
{
	struct jv *rev = jv_new(d, JV_OBJECT), *md, *labels, *refs, *dv;
	const char *name = jv_path_str(owner, "metadata.name");

	if (!rev || !name)
		return NULL;
	jv_set(d, rev, "apiVersion", jv_new_strz(d, "apps/v1"));
	jv_set(d, rev, "kind", jv_new_strz(d, "ControllerRevision"));
	md = jv_obj_at(d, rev, "metadata");
	/* ControllerRevisionName: the prefix is cut to 223 bytes */
	jv_set(d, md, "name", jv_new_strf(d, "%.223s-%s", name, hash));
	jv_set(d, md, "namespace", jv_new_strz(d, jv_path_str(owner, "metadata.namespace")));
	labels = tpl_labels ? jv_copy(d, tpl_labels) : jv_new(d, JV_OBJECT);
	jv_set(d, labels, "controller-revision-hash", jv_new_strz(d, hash));
	jv_set(d, md, "labels", labels);
	refs = jv_new(d, JV_ARRAY);
	jv_push(refs, ctrl_owner_ref(d, owner, k));
	jv_set(d, md, "ownerReferences", refs);
	dv = jv_parse(d, data, strlen(data), NULL);
	if (!dv)
		return NULL;
	jv_set(d, rev, "data", dv);
	jv_set(d, rev, "revision", jv_new_int(d, revision));
	return rev;
}

bool ctrl_rev_data_equal(const struct jv *rev, const char *data)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *v = d ? jv_parse(d, data, strlen(data), NULL) : NULL;
	bool eq = v && jv_equal(jv_get(rev, "data"), v);

	jv_doc_free(d);
	return eq;
}

int64_t ctrl_rev_number(const struct jv *rev)
{
	int64_t n = 0;

	jv_path_int(rev, "revision", &n);
	return n;
}

static int rev_cmp(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;
	int64_t rx = ctrl_rev_number(x), ry = ctrl_rev_number(y);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(jv_path_str(x, "metadata.name") ?: "", jv_path_str(y, "metadata.name") ?: "");
}

void ctrl_revs_sort(struct jv **revs, size_t n)
{
	if (n > 1)
		qsort(revs, n, sizeof(*revs), rev_cmp);
}
