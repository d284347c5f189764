/* SPDX-License-Identifier: Apache-2.0 */
/*
 * saadmit: the ServiceAccount admission plugin of kube-apiserver 1.32
 * (plugin/pkg/admission/serviceaccount/admission.go, Admit) on a pod's create, when the
 * server enables it (registry_config.sa_admission; `drover server` does unless
 * --disable-admission-plugins ServiceAccount): the pod's service account (defaulted to
 * "default" before) must exist (the default one is waited for up to 2 s), else 403 "error
 * looking up service account NS/NAME: serviceaccount \"NAME\" not found"; unless the pod
 * (first) or its service account says automountServiceAccountToken false (shouldAutomount),
 * the projected volume kube-api-access-XXXXX (TokenVolumeSource: a serviceAccountToken of
 * 3607 s, the kube-root-ca.crt ConfigMap's ca.crt, the downwardAPI namespace; defaultMode
 * 420) is added with a read-only mount at /var/run/secrets/kubernetes.io/serviceaccount in
 * every init container and container without a mount at that path
 * (mountServiceAccountToken); a pod
 * without imagePullSecrets gets its service account's. Mirror pods are left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api_strategy.h"
#include "kinds.h"
#include "registry.h"

#define SA_VOLUME     "kube-api-access"
#define SA_MOUNT_PATH "/var/run/secrets/kubernetes.io/serviceaccount"

/* names.SimpleNameGenerator: base + 5 of utilrand's alphanumerics */
static void gen_name(char *buf, size_t size)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char r[5];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	snprintf(buf, size, SA_VOLUME "-%c%c%c%c%c", alnum[r[0] % 27], alnum[r[1] % 27],
		 alnum[r[2] % 27], alnum[r[3] % 27], alnum[r[4] % 27]);
}

static struct jv *str(struct api_admit *a, const char *s)
{
	return jv_new_strz(a->d, s);
}

/* TokenVolumeSource() */
static struct jv *token_volume(struct api_admit *a, const char *name)
{
	static const char src[] =
	    "{\"name\":\"\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{"
	    "\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{\"name\":"
	    "\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},"
	    "{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{\"apiVersion\":"
	    "\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],\"defaultMode\":420}}";
	struct jv *v = jv_parse(a->d, src, sizeof(src) - 1, NULL);

	if (v)
		jv_set(a->d, v, "name", str(a, name));
	return v;
}

/* Mount the volume in every container of list that has nothing at the path: any added */
static bool add_mounts(struct api_admit *a, struct jv *list, const char *name)
{
	bool added = false;

	for (size_t i = 0; list && list->type == JV_ARRAY && i < jv_count(list); i++) {
		struct jv *ct = jv_at(list, i), *mounts = jv_get(ct, "volumeMounts"), *m;
		bool there = false;

		for (size_t j = 0; mounts && mounts->type == JV_ARRAY && j < jv_count(mounts); j++)
			if (jv_is_str(jv_get(jv_at(mounts, j), "mountPath"), SA_MOUNT_PATH))
				there = true;
		if (there || ct->type != JV_OBJECT)
			continue;
		if (!mounts || mounts->type != JV_ARRAY) {
			mounts = jv_new(a->d, JV_ARRAY);
			jv_set(a->d, ct, "volumeMounts", mounts);
		}
		m = jv_new(a->d, JV_OBJECT);
		jv_set(a->d, m, "name", str(a, name));
		jv_set(a->d, m, "readOnly", jv_new_bool(a->d, true));
		jv_set(a->d, m, "mountPath", str(a, SA_MOUNT_PATH));
		jv_push(mounts, m);
		added = true;
	}
	return added;
}

/* mountServiceAccountToken */
static void mount_token(struct api_admit *a, struct jv *spec)
{
	struct jv *vols = jv_get(spec, "volumes");
	char name[64] = "";
	bool has = false, needs;

	for (size_t i = 0; vols && vols->type == JV_ARRAY && i < jv_count(vols); i++) {
		const char *n = jv_path_str(jv_at(vols, i), "name");

		if (n && strncmp(n, SA_VOLUME "-", strlen(SA_VOLUME "-")) == 0) {
			snprintf(name, sizeof(name), "%s", n);
			has = true;
			break;
		}
	}
	if (!name[0])
		gen_name(name, sizeof(name));
	needs = add_mounts(a, jv_get(spec, "initContainers"), name);
	needs = add_mounts(a, jv_get(spec, "containers"), name) || needs;
	if (has || !needs)
		return;
	if (!vols || vols->type != JV_ARRAY) {
		vols = jv_new(a->d, JV_ARRAY);
		jv_set(a->d, spec, "volumes", vols);
	}
	jv_push(vols, token_volume(a, name));
}

/* getServiceAccount: the stored account; "default", which the serviceaccount controller is
 * about to make in a new namespace, is looked up 10 times, 100-200 ms apart. */
static const struct jv *lookup_sa(struct api_admit *a, const char *ns, const char *name)
{
	int attempts = strcmp(name, "default") == 0 ? 10 : 1;
	unsigned char r = 0;
	struct timespec ts;

	if (getrandom(&r, 1, 0) != 1)
		r = 0;
	ts = (struct timespec){0, (100 + r % 100) * 1000000L};
	for (int i = 0; i < attempts; i++) {
		const struct jv *sa;

		if (i)
			nanosleep(&ts, NULL);
		sa = api_admit_stored_one(a, "", "v1", "serviceaccounts", ns, name);
		if (sa)
			return sa;
	}
	return NULL;
}

void api_admit_pod_service_account(struct api_admit *a, struct jv *spec)
{
	const char *ns = jv_path_str(a->obj, "metadata.namespace");
	const char *name = jv_path_str(spec, "serviceAccountName");
	const struct jv *sa = NULL, *auto_pod, *auto_sa;
	bool automount = true;

	if (!a->reg || !a->reg->cfg.sa_admission || !spec || !ns || !name)
		return;
	if (jv_get(jv_path(a->obj, "metadata.annotations"), "kubernetes.io/config.mirror"))
		return;
	sa = lookup_sa(a, ns, name);
	if (!sa) {
		snprintf(a->forbidden, sizeof(a->forbidden),
			 "error looking up service account %s/%s: serviceaccount \"%s\" not found",
			 ns, name, name);
		return;
	}
	/* shouldAutomount: the pod's word, then the service account's, then true */
	auto_pod = jv_get(spec, "automountServiceAccountToken");
	auto_sa = jv_get(sa, "automountServiceAccountToken");
	if (auto_pod && (auto_pod->type == JV_TRUE || auto_pod->type == JV_FALSE))
		automount = auto_pod->type == JV_TRUE;
	else if (auto_sa && (auto_sa->type == JV_TRUE || auto_sa->type == JV_FALSE))
		automount = auto_sa->type == JV_TRUE;
	if (automount)
		mount_token(a, spec);
	if (!jv_count(jv_get(spec, "imagePullSecrets")) &&
	    jv_count(jv_get(sa, "imagePullSecrets"))) {
		struct jv *ips = jv_new(a->d, JV_ARRAY);
		const struct jv *s = jv_get(sa, "imagePullSecrets");

		for (size_t i = 0; i < jv_count(s); i++) {
			struct jv *ref = jv_new(a->d, JV_OBJECT);

			jv_set(a->d, ref, "name", str(a, jv_path_str(jv_at(s, i), "name") ?: ""));
			jv_push(ips, ref);
		}
		jv_set(a->d, spec, "imagePullSecrets", ips);
	}
}
