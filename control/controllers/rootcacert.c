/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootcacert: kube-controller-manager's root CA certificate publisher
 * (pkg/controller/certificates/rootcacertpublisher, Publisher): every active namespace has a
 * ConfigMap kube-root-ca.crt whose data is exactly {ca.crt: the cluster CA (--root-ca-file)}
 * with the kubernetes.io/description annotation; one deleted is made again, one changed is
 * put back (syncNamespace). Keys are namespace names: a namespace added or updated, or that
 * ConfigMap updated or deleted, queues its namespace. Without a CA file it does not start.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"

#define COMP	 "root-ca-cert-publisher"
#define CM_NAME	 "kube-root-ca.crt"
#define DESC_KEY "kubernetes.io/description"
#define DESCRIPTION                                                                               \
	"Contains a CA bundle that can be used to verify the kube-apiserver when using internal " \
	"endpoints such as the internal service IP or kubernetes.default.svc. No other usage is " \
	"guaranteed across distributions of Kubernetes clusters."

struct rca_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *ns, *cm;
	struct kc_queue *q;
	struct kc_workers *w;
	char *ca; /* the root CA, PEM */
};

static const struct k8s_kind *cm_kind(void)
{
	return k8s_kind_find("v1", "ConfigMap");
}

static void cm_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct rca_ctrl *s = arg;
	const char *ns = jv_path_str(t, "metadata.namespace");

	(void)o;
	if (ns && jv_is_str(jv_path(t, "metadata.name"), CM_NAME))
		kc_queue_add(s->q, ns);
}

static void cm_update(void *arg, const struct kc_obj *old, const struct jv *old_t,
		      const struct kc_obj *cur, const struct jv *cur_t)
{
	(void)old;
	(void)old_t;
	cm_del(arg, cur, cur_t);
}

/* data is exactly {ca.crt: ca} and the description is there */
static bool up_to_date(const struct rca_ctrl *s, const struct jv *cm)
{
	const struct jv *data = jv_get(cm, "data");

	return data && jv_count(data) == 1 && jv_is_str(jv_get(data, "ca.crt"), s->ca) &&
	       jv_get(jv_path(cm, "metadata.annotations"), DESC_KEY) &&
	       !jv_count(jv_get(cm, "binaryData"));
}

static int sync_ns(void *arg, const char *ns)
{
	struct rca_ctrl *s = arg;
	struct kc_obj *cmo;
	struct jv_doc *d = jv_doc_new();
	struct jv *obj, *data, *ann;
	struct kc_status st = {0};
	int err = ctrl_ns_active(s->ns, ns, d);

	if (err <= 0) {
		jv_doc_free(d);
		return err; /* gone or going (0), or out of memory */
	}
	err = 0;
	cmo = kc_informer_get(s->cm, ns, CM_NAME);
	obj = cmo ? kc_obj_parse(cmo, d) : NULL;
	if (cmo)
		kc_obj_put(cmo);
	if (obj && up_to_date(s, obj)) {
		jv_doc_free(d);
		return 0;
	}
	if (!obj) {
		obj = jv_new(d, JV_OBJECT);
		jv_set(d, obj, "apiVersion", jv_new_strz(d, "v1"));
		jv_set(d, obj, "kind", jv_new_strz(d, "ConfigMap"));
		jv_set(d, jv_obj_at(d, obj, "metadata"), "name", jv_new_strz(d, CM_NAME));
	}
	/* the update keeps the rest of the object (its resourceVersion a precondition) */
	data = jv_new(d, JV_OBJECT);
	jv_set(d, data, "ca.crt", jv_new_strz(d, s->ca));
	jv_set(d, obj, "data", data);
	jv_del(obj, "binaryData");
	ann = jv_obj_at(d, jv_obj_at(d, obj, "metadata"), "annotations");
	if (ann)
		jv_set(d, ann, DESC_KEY, jv_new_strz(d, DESCRIPTION));
	if (cmo)
		err = kc_update(s->c->kc, cm_kind(), ns, NULL, obj, NULL, NULL, &st);
	else
		err = kc_create(s->c->kc, cm_kind(), ns, obj, NULL, NULL, &st);
	/* the namespace is going: nothing to do (the others retry) */
	if (err == -EACCES || (err == -ENOENT && !cmo))
		err = 0;
	if (err)
		log_warn(COMP, "namespace %s: %s: %s", ns, CM_NAME,
			 st.message[0] ? st.message : strerror(-err));
	jv_doc_free(d);
	return err;
}

static int rca_init(struct ctrl_ctx *c, void **state)
{
	struct rca_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers nsh = {.add = ctrl_queue_ns_add, .update = ctrl_queue_ns_update};
	struct kc_handlers cmh = {.update = cm_update, .del = cm_del};
	gnutls_datum_t pem = {0};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	if (!c->cfg->root_ca_file)
		return 0; /* kube-controller-manager without --root-ca-file: no publisher */
	if (gnutls_load_file(c->cfg->root_ca_file, &pem) < 0) {
		log_error(COMP, "cannot read the root CA %s", c->cfg->root_ca_file);
		return -EIO;
	}
	s->ca = strndup((const char *)pem.data, pem.size);
	gnutls_free(pem.data);
	s->q = kc_queue_new("root_ca_cert_publisher");
	s->ns = ctrl_informer(c, ctrl_k_namespace);
	s->cm = ctrl_informer(c, cm_kind());
	if (!s->ca || !s->q || !s->ns || !s->cm)
		return -ENOMEM;
	nsh.arg = s->q;
	cmh.arg = s;
	if (kc_informer_add_handlers(s->ns, &nsh) != 0 ||
	    kc_informer_add_handlers(s->cm, &cmh) != 0)
		return -ENOMEM;
	return 0;
}

static int rca_run(void *state)
{
	struct rca_ctrl *s = state;

	if (!s->q)
		return 0;
	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_ns, s, "root_ca_cert_publisher");
	return s->w ? 0 : -ENOMEM;
}

static void rca_stop(void *state)
{
	struct rca_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s->ca);
	free(s);
}

const struct ctrl_desc ctrl_root_ca_cert_publisher = {
    .name = "root-ca-certificate-publisher-controller",
    .component = "root-ca-cert-publisher",
    .init = rca_init,
    .run = rca_run,
    .stop = rca_stop,
};
