/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storage: the REST strategies of PersistentVolumes (core/v1) and of storage.k8s.io/v1
 * StorageClasses, CSIDrivers, CSINodes, CSIStorageCapacities and VolumeAttachments, as
 * Kubernetes 1.32 has them: pkg/registry/core/persistentvolume/strategy.go and
 * pkg/registry/storage/<kind>/strategy.go (what a create resets), the SetDefaults_* of
 * pkg/apis/core/v1/defaults.go and pkg/apis/storage/v1/defaults.go, and the rules of
 * pkg/apis/core/validation (ValidatePersistentVolume[Update]) and pkg/apis/storage/validation
 * that users meet, with their messages: mostly the fields that never change after a create.
 */
#include <stdio.h>
#include <string.h>

#include "api_obj.h"
#include "api_selector.h"
#include "api_strategy.h"
#include "registry.h"

/* ---- shared ---- */

static void set_if_absent(struct api_admit *a, struct jv *o, const char *key, struct jv *v)
{
	if (o && o->type == JV_OBJECT && !jv_get(o, key))
		jv_set(a->d, o, key, v);
}

/* A list of strings as Go's %#v prints a []<type> (a field.Invalid's value). */
static void go_string_list(const struct jv *l, const char *type, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "[]%s{", type);

	for (const struct jv *i = jv_first(l); i && n < size; i = i->next)
		n += (size_t)snprintf(buf + n, size - n, "%s\"%s\"", i == l->head ? "" : ", ",
				      i->type == JV_STRING ? i->s : "");
	if (n < size)
		snprintf(buf + n, size - n, "}");
}

/* ValidateImmutableField of a scalar (string, bool, number): "Invalid value: <new>: field
 * is immutable". */
static void immutable_scalar(struct api_admit *a, const char *path, const char *field)
{
	const struct jv *n = jv_path(a->obj, path);

	if (a->old && !jv_equal(n, jv_path(a->old, path)))
		api_cause_invalid(a, field ? field : path, n, "field is immutable");
}

/* ---- PersistentVolumes ---- */

/* The PersistentVolumeSpec fields that are not its PersistentVolumeSource. */
static bool pv_source_key(const char *k)
{
	static const char *const not_source[] = {"accessModes",
						 "capacity",
						 "claimRef",
						 "mountOptions",
						 "nodeAffinity",
						 "volumeMode",
						 "storageClassName",
						 "persistentVolumeReclaimPolicy",
						 "volumeAttributesClassName"};

	for (size_t i = 0; i < sizeof(not_source) / sizeof(not_source[0]); i++)
		if (strcmp(k, not_source[i]) == 0)
			return false;
	return true;
}

/* persistentvolumeStrategy.PrepareForCreate: status starts {phase: Pending,
 * lastPhaseTransitionTime: now} (PersistentVolumeLastPhaseTransitionTime, GA in 1.31). */
static void pv_prepare_create(struct api_admit *a)
{
	struct jv *st;
	char now[32];

	jv_del(a->obj, "status");
	st = jv_obj_at(a->d, a->obj, "status");
	jv_set(a->d, st, "phase", jv_new_strz(a->d, "Pending"));
	jv_set(a->d, st, "lastPhaseTransitionTime", jv_new_strz(a->d, api_now(now)));
}

/* SetDefaults_PersistentVolume (Retain, Filesystem, Pending) and of its hostPath source;
 * on a status write, persistentvolumeStatusStrategy.PrepareForUpdate's transition time. */
/* plugin/pkg/admission/storage/storageobjectinuseprotection (admitPV, admitPVC): on
 * create only, never for a subresource; the finalizer appended once */
void api_admit_storage_protection(struct api_admit *a, const char *finalizer)
{
	struct jv *md, *fins;

	if (a->old || a->sub || !a->reg || !a->reg->cfg.storage_protection)
		return;
	md = jv_obj_at(a->d, a->obj, "metadata");
	fins = jv_get(md, "finalizers");
	for (const struct jv *f = jv_first(fins); f; f = f->next)
		if (jv_is_str(f, finalizer))
			return;
	if (!fins || fins->type != JV_ARRAY) {
		jv_del(md, "finalizers");
		fins = jv_new(a->d, JV_ARRAY);
		jv_set(a->d, md, "finalizers", fins);
	}
	jv_push(fins, jv_new_strz(a->d, finalizer));
}

static void pv_defaults(struct api_admit *a)
{
	struct jv *spec = jv_obj_at(a->d, a->obj, "spec"), *hp = jv_get(spec, "hostPath");
	char now[32];

	set_if_absent(a, spec, "persistentVolumeReclaimPolicy", jv_new_strz(a->d, "Retain"));
	set_if_absent(a, spec, "volumeMode", jv_new_strz(a->d, "Filesystem"));
	set_if_absent(a, hp, "type", jv_new_strz(a->d, ""));
	if (a->old && a->sub && strcmp(a->sub, "status") == 0) {
		const struct jv *op = jv_path(a->old, "status.phase");
		const struct jv *ot = jv_path(a->old, "status.lastPhaseTransitionTime");
		struct jv *st = jv_obj_at(a->d, a->obj, "status");
		const struct jv *nt = jv_get(st, "lastPhaseTransitionTime");

		if (jv_equal(op, jv_get(st, "phase"))) {
			if (!nt && ot)
				jv_set(a->d, st, "lastPhaseTransitionTime", jv_copy(a->d, ot));
		} else if (!nt || jv_equal(nt, ot)) {
			jv_set(a->d, st, "lastPhaseTransitionTime",
			       jv_new_strz(a->d, api_now(now)));
		}
	}
	set_if_absent(a, jv_obj_at(a->d, a->obj, "status"), "phase", jv_new_strz(a->d, "Pending"));
	api_admit_storage_protection(a, "kubernetes.io/pv-protection");
}

/* ValidatePersistentVolumeSpec (the parts users meet) and ValidatePersistentVolumeUpdate. */
static void pv_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec"), *cap = jv_get(spec, "capacity");
	size_t sources = 0;

	if (a->sub)
		return;
	if (!jv_count(jv_get(spec, "accessModes")))
		api_cause_required(a, "spec.accessModes", "must specify at least 1 access mode");
	if (!jv_count(cap))
		api_cause_required(a, "spec.capacity", "");
	else if (!jv_get(cap, "storage") || jv_count(cap) > 1)
		/* Kubernetes prints the whole core.ResourceList with %#v */
		api_cause(a, "spec.capacity", K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: core.ResourceList{...}: supported values: "
			  "\"storage\"");
	for (const struct jv *k = jv_first(spec); k; k = k->next)
		sources += pv_source_key(k->key);
	if (!sources)
		api_cause_required(a, "spec", "must specify a volume type");
	else if (sources > 1)
		api_cause(a, "spec", "FieldValueForbidden",
			  "Forbidden: may not specify more than 1 volume type");
	if (!a->old)
		return;
	for (const struct jv *k = jv_first(spec); k; k = k->next) {
		if (!pv_source_key(k->key))
			continue;
		if (!jv_equal(k, jv_getn(jv_get(a->old, "spec"), k->key, k->klen)))
			goto source_changed;
	}
	for (const struct jv *k = jv_first(jv_get(a->old, "spec")); k; k = k->next)
		if (pv_source_key(k->key) && !jv_getn(spec, k->key, k->klen))
			goto source_changed;
	goto volume_mode;
source_changed:
	/* Kubernetes appends a cmp.Diff of the two sources to this message */
	api_cause(a, "spec.persistentvolumesource", "FieldValueForbidden",
		  "Forbidden: spec.persistentvolumesource is immutable after creation");
volume_mode:
	immutable_scalar(a, "spec.volumeMode", "volumeMode");
}

const struct api_strategy api_strategy_pvs = {
    .prepare_create = pv_prepare_create,
    .defaults = pv_defaults,
    .validate = pv_validate,
};

/* ---- StorageClasses ---- */

/* SetDefaults_StorageClass */
static void sc_defaults(struct api_admit *a)
{
	set_if_absent(a, a->obj, "reclaimPolicy", jv_new_strz(a->d, "Delete"));
	set_if_absent(a, a->obj, "volumeBindingMode", jv_new_strz(a->d, "Immediate"));
}

/* ValidateStorageClass and ValidateStorageClassUpdate */
static void sc_validate(struct api_admit *a)
{
	const struct jv *prov = jv_get(a->obj, "provisioner");
	const char *rp = jv_path_str(a->obj, "reclaimPolicy"), *why;

	if (!prov || prov->type != JV_STRING || !prov->len)
		api_cause_required(a, "provisioner", NULL);
	else if ((why = api_label_key_error(prov->s, prov->len)) != NULL)
		api_cause_invalid(a, "provisioner", prov, why);
	for (const struct jv *k = jv_first(jv_get(a->obj, "parameters")); k; k = k->next)
		if (!k->klen) {
			struct jv key = {.type = JV_STRING, .s = k->key, .len = 0};

			api_cause_invalid(a, "parameters", &key, "field can not be empty.");
		}
	/* the type's enum allows Recycle; a StorageClass does not */
	if (rp && strcmp(rp, "Delete") != 0 && strcmp(rp, "Retain") != 0)
		api_cause(a, "reclaimPolicy", K8S_REASON_NOT_SUPPORTED,
			  "Unsupported value: \"%s\": supported values: \"Delete\", \"Retain\"",
			  rp);
	if (!a->old)
		return;
	if (!jv_equal(jv_get(a->old, "parameters"), jv_get(a->obj, "parameters")))
		api_cause(a, "parameters", "FieldValueForbidden",
			  "Forbidden: updates to parameters are forbidden.");
	if (!jv_equal(jv_get(a->old, "provisioner"), prov))
		api_cause(a, "provisioner", "FieldValueForbidden",
			  "Forbidden: updates to provisioner are forbidden.");
	if (!jv_equal(jv_get(a->old, "reclaimPolicy"), jv_get(a->obj, "reclaimPolicy")))
		api_cause(a, "reclaimPolicy", "FieldValueForbidden",
			  "Forbidden: updates to reclaimPolicy are forbidden.");
	immutable_scalar(a, "volumeBindingMode", NULL);
}

const struct api_strategy api_strategy_storageclasses = {
    .defaults = sc_defaults,
    .validate = sc_validate,
};

/* ---- CSIDrivers ---- */

/* SetDefaults_CSIDriver (SELinuxMountReadWriteOncePod is on by default in 1.32) */
static void csidriver_defaults(struct api_admit *a)
{
	struct jv *spec = jv_obj_at(a->d, a->obj, "spec");

	set_if_absent(a, spec, "attachRequired", jv_new(a->d, JV_TRUE));
	set_if_absent(a, spec, "podInfoOnMount", jv_new(a->d, JV_FALSE));
	set_if_absent(a, spec, "storageCapacity", jv_new(a->d, JV_FALSE));
	set_if_absent(a, spec, "fsGroupPolicy", jv_new_strz(a->d, "ReadWriteOnceWithFSType"));
	if (!jv_count(jv_get(spec, "volumeLifecycleModes"))) {
		struct jv *modes = jv_new(a->d, JV_ARRAY);

		jv_push(modes, jv_new_strz(a->d, "Persistent"));
		jv_set(a->d, spec, "volumeLifecycleModes", modes);
	}
	set_if_absent(a, spec, "requiresRepublish", jv_new(a->d, JV_FALSE));
	set_if_absent(a, spec, "seLinuxMount", jv_new(a->d, JV_FALSE));
}

/* ValidateCSIDriverUpdate: attachRequired (its path spelled "attachedRequired" there) and
 * volumeLifecycleModes never change; podInfoOnMount, storageCapacity, fsGroupPolicy,
 * tokenRequests, requiresRepublish and seLinuxMount may (1.29+). */
static void csidriver_validate(struct api_admit *a)
{
	const struct jv *modes = jv_path(a->obj, "spec.volumeLifecycleModes");
	char val[512];

	for (const struct jv *m = jv_first(modes); m; m = m->next)
		if (!jv_is_str(m, "Persistent") && !jv_is_str(m, "Ephemeral"))
			api_cause(a, "spec.volumeLifecycleModes", K8S_REASON_NOT_SUPPORTED,
				  "Unsupported value: \"%s\": supported values: \"Ephemeral\", "
				  "\"Persistent\"",
				  m->type == JV_STRING ? m->s : "");
	if (!a->old)
		return;
	immutable_scalar(a, "spec.attachRequired", "spec.attachedRequired");
	if (!jv_equal(modes, jv_path(a->old, "spec.volumeLifecycleModes"))) {
		go_string_list(modes, "storage.VolumeLifecycleMode", val, sizeof(val));
		api_cause(a, "spec.volumeLifecycleModes", K8S_REASON_INVALID,
			  "Invalid value: %s: field is immutable", val);
	}
}

const struct api_strategy api_strategy_csidrivers = {
    .defaults = csidriver_defaults,
    .validate = csidriver_validate,
};

/* ---- CSINodes ---- */

/* ValidateCSINode[Update]: each driver names itself and its node; a driver's nodeID and
 * topologyKeys never change. */
static void csinode_validate(struct api_admit *a)
{
	const struct jv *drivers = jv_path(a->obj, "spec.drivers");
	char f[128], val[512];
	size_t i = 0;

	for (const struct jv *d = jv_first(drivers); d; d = d->next, i++) {
		const char *name = jv_path_str(d, "name");

		snprintf(f, sizeof(f), "spec.drivers[%zu].nodeID", i);
		if (!jv_path_str(d, "nodeID") || !jv_path_str(d, "nodeID")[0])
			api_cause_required(a, f, NULL);
		for (const struct jv *o = jv_first(jv_path(a->old, "spec.drivers")); o && name;
		     o = o->next) {
			if (!jv_is_str(jv_get(o, "name"), name))
				continue;
			if (!jv_equal(jv_get(o, "nodeID"), jv_get(d, "nodeID")))
				api_cause_invalid(a, f, jv_get(d, "nodeID"), "field is immutable");
			if (!jv_equal(jv_get(o, "topologyKeys"), jv_get(d, "topologyKeys"))) {
				snprintf(f, sizeof(f), "spec.drivers[%zu].topologyKeys", i);
				go_string_list(jv_get(d, "topologyKeys"), "string", val,
					       sizeof(val));
				api_cause(a, f, K8S_REASON_INVALID,
					  "Invalid value: %s: field is immutable", val);
			}
		}
	}
}

const struct api_strategy api_strategy_csinodes = {
    .validate = csinode_validate,
};

/* ---- CSIStorageCapacities ---- */

/* ValidateCSIStorageCapacity[Update]: storageClassName is a class name and never changes,
 * nor does nodeTopology. */
static void csicap_validate(struct api_admit *a)
{
	const struct jv *sc = jv_get(a->obj, "storageClassName");
	const char *why;

	if (sc && sc->type == JV_STRING && (why = api_dns1123_subdomain_error(sc->s)) != NULL)
		api_cause_invalid(a, "storageClassName", sc, why);
	if (!a->old)
		return;
	if (!jv_equal(jv_get(a->old, "nodeTopology"), jv_get(a->obj, "nodeTopology")))
		api_cause(a, "nodeTopology", K8S_REASON_INVALID,
			  "Invalid value: \"object\": field is immutable");
	immutable_scalar(a, "storageClassName", NULL);
}

const struct api_strategy api_strategy_csicapacities = {
    .validate = csicap_validate,
};

/* ---- VolumeAttachments ---- */

/* ValidateVolumeAttachment and ValidateVolumeAttachmentUpdate: an attacher, exactly one
 * source, a node; the spec never changes (status is written through its subresource). */
static void va_validate(struct api_admit *a)
{
	const struct jv *spec = jv_get(a->obj, "spec"), *src = jv_get(spec, "source");
	const struct jv *pv = jv_get(src, "persistentVolumeName");
	const char *node = jv_path_str(spec, "nodeName"), *why;

	if (a->sub)
		return;
	if (!jv_path_str(spec, "attacher") || !jv_path_str(spec, "attacher")[0])
		api_cause_required(a, "spec.attacher", NULL);
	if (!pv && !jv_get(src, "inlineVolumeSpec"))
		api_cause_required(a, "spec.source",
				   "must specify exactly one of inlineVolumeSpec and "
				   "persistentVolumeName");
	else if (pv && jv_get(src, "inlineVolumeSpec"))
		api_cause(a, "spec.source", "FieldValueForbidden",
			  "Forbidden: must specify exactly one of inlineVolumeSpec and "
			  "persistentVolumeName");
	else if (pv && (pv->type != JV_STRING || !pv->len))
		api_cause_required(a, "spec.source.persistentVolumeName",
				   "must specify non empty persistentVolumeName");
	if ((why = api_dns1123_subdomain_error(node ? node : "")) != NULL)
		api_cause_invalid(a, "spec.nodeName", jv_get(spec, "nodeName"), why);
	if (a->old && !jv_equal(spec, jv_get(a->old, "spec")))
		/* Kubernetes prints the internal spec with %#v: its pointers' addresses too */
		api_cause(a, "spec", K8S_REASON_INVALID,
			  "Invalid value: storage.VolumeAttachmentSpec{Attacher:\"%s\", "
			  "Source:storage.VolumeAttachmentSource{...}, NodeName:\"%s\"}: field is "
			  "immutable",
			  jv_path_str(spec, "attacher") ? jv_path_str(spec, "attacher") : "",
			  node ? node : "");
}

const struct api_strategy api_strategy_volumeattachments = {
    .validate = va_validate,
};
