/* SPDX-License-Identifier: Apache-2.0 */
/* kubelet_lease: the node Lease's renewal, as the kubelet's ensureLease + renew (kubelet_objects.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "kclient.h"
#include "kubelet_objects.h"

int kubelet_lease_renew(struct kclient *kc, const struct k8s_kind *k_lease, const char *node,
			const char *node_uid, char *rv, size_t rvlen, struct kc_status *st)
{
	struct jv_doc *d = jv_doc_new();
	struct timespec ts;
	char now[32];
	int err = -ENOMEM;

	*st = (struct kc_status){0};
	if (!d)
		return err;
	for (int attempt = 0; attempt < 3; attempt++) {
		struct kc_obj *o = NULL;
		struct jv *lease;

		clock_gettime(CLOCK_REALTIME, &ts);
		lease = kubelet_lease_obj(d, node, node_uid, rv, kubelet_microtime_str(&ts, now));
		if (!lease) {
			err = -ENOMEM;
			break;
		}
		if (!rv[0])
			err = kc_create(kc, k_lease, KUBELET_LEASE_NAMESPACE, lease,
					&(struct kc_write_opts){0}, &o, st);
		else
			err = kc_update(kc, k_lease, KUBELET_LEASE_NAMESPACE, NULL, lease,
					&(struct kc_write_opts){0}, &o, st);
		if (!err) {
			snprintf(rv, rvlen, "%" PRIu64, o->rv);
			kc_obj_put(o);
			break;
		}
		rv[0] = 0;
		if (err == -EEXIST || err == -KC_ECONFLICT) {
			/* someone else wrote it: read it, then update on its version */
			err = kc_get(kc, k_lease, KUBELET_LEASE_NAMESPACE, node, &o, st);
			if (!err)
				snprintf(rv, rvlen, "%" PRIu64, o->rv);
			kc_obj_put(o);
			if (err && err != -ENOENT)
				break;
			continue;
		}
		if (err == -ENOENT) /* deleted under us: create it again */
			continue;
		break;
	}
	jv_doc_free(d);
	return err;
}
