/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serviceaccount: kube-controller-manager's ServiceAccount controller: every active
 * namespace has a ServiceAccount named "default"; one deleted is made again. Keys are
 * namespace names; a namespace added, or a "default" ServiceAccount deleted, queues its
 * namespace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"
#include "log.h"

#define COMP "serviceaccount-controller"

struct sa_ctrl {
	struct ctrl_ctx *c;
	struct kc_informer *ns, *sa;
	struct kc_queue *q;
	struct kc_workers *w;
};

static void sa_del(void *arg, const struct kc_obj *o, const struct jv *t)
{
	struct sa_ctrl *s = arg;
	const char *ns = jv_path_str(t, "metadata.namespace");

	(void)o;
	if (ns && jv_is_str(jv_path(t, "metadata.name"), "default"))
		kc_queue_add(s->q, ns);
}

static int sync_ns(void *arg, const char *ns)
{
	struct sa_ctrl *s = arg;
	struct kc_obj *sa;
	struct jv_doc *d = jv_doc_new();
	struct jv *obj;
	struct kc_status st;
	char body[512];
	int err = ctrl_ns_active(s->ns, ns, d);

	if (err <= 0) {
		jv_doc_free(d);
		return err; /* gone or going (0), or out of memory */
	}
	err = 0;
	sa = kc_informer_get(s->sa, ns, "default");
	if (sa) {
		kc_obj_put(sa);
		jv_doc_free(d);
		return 0;
	}
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":"
		 "\"default\",\"namespace\":\"%s\"}}",
		 ns);
	obj = jv_parse(d, body, strlen(body), NULL);
	if (obj)
		err = kc_create(s->c->kc, ctrl_k_serviceaccount, ns, obj, NULL, NULL, &st);
	else
		err = -ENOMEM;
	/* there already (the cache lags), or the namespace is going: nothing to do */
	if (err == -EEXIST || err == -EACCES || err == -ENOENT)
		err = 0;
	if (err)
		log_warn(COMP, "namespace %s: default ServiceAccount: %s", ns,
			 err == -ENOMEM ? "out of memory" : st.message);
	jv_doc_free(d);
	return err;
}

static int sa_init(struct ctrl_ctx *c, void **state)
{
	struct sa_ctrl *s = calloc(1, sizeof(*s));
	struct kc_handlers nsh = {.add = ctrl_queue_ns_add, .update = ctrl_queue_ns_update};
	struct kc_handlers sah = {.del = sa_del};

	*state = s;
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->q = kc_queue_new("serviceaccount");
	s->ns = ctrl_informer(c, ctrl_k_namespace);
	s->sa = ctrl_informer(c, ctrl_k_serviceaccount);
	if (!s->q || !s->ns || !s->sa)
		return -ENOMEM;
	nsh.arg = s->q;
	sah.arg = s;
	if (kc_informer_add_handlers(s->ns, &nsh) != 0 ||
	    kc_informer_add_handlers(s->sa, &sah) != 0)
		return -ENOMEM;
	return 0;
}

static int sa_run(void *state)
{
	struct sa_ctrl *s = state;

	s->w = kc_workers_start(s->q, s->c->cfg->workers, sync_ns, s, "serviceaccount");
	return s->w ? 0 : -ENOMEM;
}

static void sa_stop(void *state)
{
	struct sa_ctrl *s = state;

	if (!s)
		return;
	ctrl_queue_close(s->w, s->q);
	free(s);
}

const struct ctrl_desc ctrl_serviceaccount = {
    .name = "serviceaccount",
    .component = "service-account-controller",
    .init = sa_init,
    .run = sa_run,
    .stop = sa_stop,
};
