/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvmatch: a claim's best volume (pvmatch.h), after FindMatchingVolume
 * (k8s.io/component-helpers/storage/volume/pv_helpers.go) and the access-mode index of
 * pkg/controller/volume/persistentvolume/index.go (findByClaim walks the sets of access modes
 * that hold the claim's, fewest first, and takes the first set's match).
 */
#include <string.h>

#include "ctrl.h"
#include "k8s.h"
#include "pvmatch.h"

/* GetPersistentVolumeClass / GetPersistentVolumeClaimClass: the beta annotation first */
const char *pv_class_of(const struct jv *obj)
{
	const struct jv *b = jv_path(obj, "metadata.annotations");
	const char *c;

	b = jv_get(b, "volume.beta.kubernetes.io/storage-class");
	if (b && b->type == JV_STRING)
		return b->s;
	c = jv_path_str(obj, "spec.storageClassName");
	return c ? c : "";
}

static long long quantity(const char *s)
{
	int64_t v;

	if (!s || k8s_quantity_parse(s, strlen(s), &v, NULL))
		return -1;
	return v;
}

long long pv_claim_request(const struct jv *claim)
{
	return quantity(jv_path_str(claim, "spec.resources.requests.storage"));
}

long long pv_capacity(const struct jv *pv)
{
	return quantity(jv_path_str(pv, "spec.capacity.storage"));
}

bool pv_bound_to_claim(const struct jv *pv, const struct jv *claim)
{
	const struct jv *ref = jv_path(pv, "spec.claimRef");
	const char *uid = jv_path_str(ref, "uid");

	if (!ref)
		return false;
	if (!jv_is_str(jv_get(ref, "name"), jv_path_str(claim, "metadata.name") ?: "") ||
	    !jv_is_str(jv_get(ref, "namespace"), jv_path_str(claim, "metadata.namespace") ?: ""))
		return false;
	return !uid || !uid[0] ||
	       jv_is_str(jv_get(ref, "uid"), jv_path_str(claim, "metadata.uid") ?: "");
}

static bool has_mode(const struct jv *modes, const char *m)
{
	for (const struct jv *v = jv_first(modes); v; v = v->next)
		if (jv_is_str(v, m))
			return true;
	return false;
}

bool pv_access_modes_contain(const struct jv *pv, const struct jv *claim)
{
	const struct jv *have = jv_path(pv, "spec.accessModes");

	for (const struct jv *m = jv_first(jv_path(claim, "spec.accessModes")); m; m = m->next)
		if (m->type != JV_STRING || !has_mode(have, m->s))
			return false;
	return true;
}

/* CheckVolumeModeMismatches: an unset volumeMode is Filesystem on both sides. */
static bool mode_mismatch(const struct jv *pv, const struct jv *claim)
{
	const char *a = jv_path_str(pv, "spec.volumeMode"),
		   *b = jv_path_str(claim, "spec.volumeMode");

	return strcmp(a ? a : "Filesystem", b ? b : "Filesystem") != 0;
}

const char *pv_check_satisfies(const struct jv *pv, const struct jv *claim)
{
	long long want = pv_claim_request(claim);

	if (jv_path(pv, "metadata.deletionTimestamp"))
		return "the volume is marked for deletion";
	if (pv_capacity(pv) < (want < 0 ? 0 : want))
		return "requested PV is too small";
	if (strcmp(pv_class_of(pv), pv_class_of(claim)) != 0)
		return "storageClassName does not match";
	if (mode_mismatch(pv, claim))
		return "incompatible volumeMode";
	if (!pv_access_modes_contain(pv, claim))
		return "incompatible accessMode";
	return NULL;
}

int pv_find_best(const struct jv *claim, const struct jv *const *pvs, size_t n, bool delay_binding)
{
	const struct jv *sel = jv_path(claim, "spec.selector");
	const char *class = pv_class_of(claim);
	long long want = pv_claim_request(claim), best_q = 0;
	size_t best_modes = 0;
	int best = -1;

	if (want < 0)
		want = 0;
	for (size_t i = 0; i < n; i++) {
		const struct jv *pv = pvs[i];
		long long q = pv_capacity(pv);
		size_t modes = jv_count(jv_path(pv, "spec.accessModes"));

		/* the index holds only volumes whose access modes hold the claim's */
		if (!pv_access_modes_contain(pv, claim))
			continue;
		if (mode_mismatch(pv, claim) || jv_path(pv, "metadata.deletionTimestamp"))
			continue;
		if (pv_bound_to_claim(pv, claim)) {
			/* pre-bound: the volume, if the size request is satisfied */
			if (q < want)
				continue;
			return (int)i;
		}
		if (delay_binding)
			continue; /* the scheduler's to choose (with a node) */
		if (!jv_is_str(jv_path(pv, "status.phase"), "Available") ||
		    jv_path(pv, "spec.claimRef"))
			continue;
		if (sel && !ctrl_selector_matches(sel, jv_path(pv, "metadata.labels")))
			continue;
		if (strcmp(pv_class_of(pv), class) != 0)
			continue;
		if (q < want)
			continue;
		/* fewest access modes first (index.go allPossibleMatchingAccessModes), then the
		 * smallest */
		if (best < 0 || modes < best_modes || (modes == best_modes && q < best_q)) {
			best = (int)i;
			best_q = q;
			best_modes = modes;
		}
	}
	return best;
}
