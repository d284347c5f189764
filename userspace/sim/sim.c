/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim: the runtime of `drover sim` (sim.h): assigning each node its podCIDR and InternalIP
 * around the nodes that exist, registering the nodes as kubelets do (create, or reconcile a
 * node that is there: its podCIDR kept, labels and status re-posted), renewing their Leases
 * as the kubelet's lease controller does (an update conditional on the last
 * resourceVersion; on conflict a fresh read; on NotFound a create), and watching the sim's
 * own Nodes so that a node the node lifecycle controller marked Unknown gets Ready=True
 * again from its "kubelet" (and every 5 minutes, the kubelet's nodeStatusReportFrequency).
 * The queues and their keys are described in sim_int.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_int.h"
#include "kubelet_objects.h"

/* the kubelet's nodeStatusReportFrequency */
#define STATUS_REPORT_MS (300u * 1000u)
/* the kubelet's lease controller: wait.JitterUntil(renew, 0.04) */
#define LEASE_JITTER	 0.04
#define LIST_PAGE	 500
#define WATCH_WORKERS	 8

/* ---- small helpers ---- */

uint64_t sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *sim_now_str(char *buf)
{
	return kubelet_time_str(time(NULL), buf);
}

double sim_rand(void)
{
	static _Thread_local uint64_t x;

	if (!x) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&x ^ 0x9e3779b97f4a7c15ull;
	}
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->mu);
	if (!s->failed) {
		s->failed = true;
		va_start(ap, fmt);
		vsnprintf(s->fail_msg, sizeof(s->fail_msg), fmt, ap);
		va_end(ap);
		log_error(SIM_COMP, "%s", s->fail_msg);
	}
	pthread_mutex_unlock(&s->mu);
}

void sim_queue_node(struct sim *s, char c, const struct sim_node *n)
{
	char key[260];

	snprintf(key, sizeof(key), "%c/%s", c, n->name);
	kc_queue_add(c == 'w' ? s->wq : s->nq, key);
}

void sim_queue_node_after(struct sim *s, char c, const struct sim_node *n, uint64_t ms)
{
	char key[260];

	snprintf(key, sizeof(key), "%c/%s", c, n->name);
	kc_queue_add_after(c == 'w' ? s->wq : s->nq, key, ms);
}

static void node_info(const struct sim_node *n, struct kubelet_node_info *i)
{
	*i = (struct kubelet_node_info){
	    .name = n->name,
	    .pod_cidr = n->cidr,
	    .internal_ip = n->ip,
	    .zone = n->zone[0] ? n->zone : NULL,
	    .region = n->zone[0] ? "region" : NULL,
	};
}

/* An error no retry mends (the server refuses what we send, or who we are). */
static bool permanent(int err)
{
	return err == -KC_EINVALID || err == -EACCES;
}

/* ---- registration ---- */

static void registered(struct sim *s, struct sim_node *n, const struct jv *node)
{
	const char *uid = jv_path_str(node, "metadata.uid");

	snprintf(n->uid, sizeof(n->uid), "%s", uid ? uid : "");
	atomic_store(&n->registered, true);
	if (atomic_fetch_add(&s->registered, 1) + 1 == s->nnodes)
		atomic_store(&s->registered_ms, sim_now_ms());
	/* the Lease first: it is what keeps the node alive */
	sim_queue_node(s, 'l', n);
	sim_queue_node_after(s, 's', n, STATUS_REPORT_MS + (uint64_t)(sim_rand() * 30000));
}

/* The node is there already (a sim restarted, or a node made by hand): reconcile labels and
 * the podCIDR, then post the whole status as a kubelet's first update after a restart. */
static int reconcile(struct sim *s, struct sim_node *n, struct kubelet_node_info *info)
{
	struct kc_status st;
	struct kc_obj *o = NULL, *o2 = NULL;
	struct jv_doc *d = jv_doc_new();
	struct jv *node;
	const char *have;
	char now[32], *patch = NULL;
	size_t len;
	int err;

	if (!d)
		return -ENOMEM;
	err = kc_get(s->kc, s->k_node, NULL, n->name, &o, &st);
	if (err) {
		log_warn(SIM_COMP, "node %s: get: %s", n->name, st.message);
		goto out;
	}
	node = kc_obj_parse(o, d);
	have = jv_path_str(node, "spec.podCIDR");
	if (have && have[0] && strcmp(have, n->cidr)) {
		/* its range is the server's; our pod addresses follow it */
		struct sim_net net;

		if (sim_net_parse(have, &net) == 0 && net.prefix >= 16 && net.prefix <= 30) {
			pthread_mutex_lock(&s->mu);
			sim_ranges_free(&n->ipam);
			n->pod_net = net;
			err = sim_ranges_init(&n->ipam, &net, 32, 2, 1);
			pthread_mutex_unlock(&s->mu);
			if (err)
				goto out;
			snprintf(n->cidr, sizeof(n->cidr), "%s", have);
		} else {
			log_warn(SIM_COMP, "node %s: podCIDR %s is not one the sim can use",
				 n->name, have);
		}
	}
	err = -ENOMEM;
	patch = kubelet_node_reconcile_patch(&s->kcfg, info, node, &len);
	if (!patch)
		goto out;
	err = kc_patch(s->kc, s->k_node, NULL, n->name, NULL, KC_PATCH_STRATEGIC, patch, len,
		       &(struct kc_write_opts){0}, NULL, &st);
	free(patch);
	patch = NULL;
	if (err) {
		log_warn(SIM_COMP, "node %s: reconcile: %s", n->name, st.message);
		goto out;
	}
	err = -ENOMEM;
	patch = kubelet_node_status_patch(&s->kcfg, info, node, sim_now_str(now), true, &len);
	if (!patch)
		goto out;
	err = kc_patch(s->kc, s->k_node, NULL, n->name, "status", KC_PATCH_STRATEGIC, patch, len,
		       &(struct kc_write_opts){0}, &o2, &st);
	if (err) {
		log_warn(SIM_COMP, "node %s: status: %s", n->name, st.message);
		goto out;
	}
	registered(s, n, node);
out:
	if (permanent(err))
		sim_fail(s, "node %s: %s", n->name, st.message);
	free(patch);
	kc_obj_put(o);
	kc_obj_put(o2);
	jv_doc_free(d);
	return err;
}

static int node_register(struct sim *s, struct sim_node *n)
{
	struct kubelet_node_info info;
	struct kc_status st;
	struct kc_obj *o = NULL;
	struct jv_doc *d;
	struct jv *obj;
	char now[32];
	int err;

	if (atomic_load(&n->registered))
		return 0;
	node_info(n, &info);
	if (n->existed)
		return reconcile(s, n, &info);
	d = jv_doc_new();
	obj = d ? kubelet_node_obj(d, &s->kcfg, &info, sim_now_str(now)) : NULL;
	if (!obj) {
		jv_doc_free(d);
		return -ENOMEM;
	}
	err = kc_create(s->kc, s->k_node, NULL, obj, &(struct kc_write_opts){0}, &o, &st);
	if (!err) {
		struct jv *got = kc_obj_parse(o, d);

		registered(s, n, got);
	} else if (err == -EEXIST) {
		/* made since we listed: take it as it is */
		n->existed = true;
		err = reconcile(s, n, &info);
	} else if (permanent(err)) {
		sim_fail(s, "node %s: %s", n->name, st.message);
	} else {
		log_warn(SIM_COMP, "node %s: register: %s", n->name, st.message);
	}
	kc_obj_put(o);
	jv_doc_free(d);
	return err;
}

/* ---- the Lease ---- */

static uint64_t renew_ms(const struct sim *s)
{
	return (uint64_t)(s->cfg->lease_renew_s * 1000.0 * (1.0 + LEASE_JITTER * sim_rand()));
}

/* One renewal: update on the last resourceVersion; conflict -> read it again; NotFound ->
 * create (the kubelet's ensureLease). */
static int lease_renew(struct sim *s, struct sim_node *n)
{
	struct kc_status st;
	int err = kubelet_lease_renew(s->kc, s->k_lease, n->name, n->uid, n->lease_rv,
				      sizeof(n->lease_rv), &st);

	if (err) {
		atomic_fetch_add(&s->lease_errors, 1);
		if (n->lease_failures++ % 10 == 0)
			log_warn(SIM_COMP, "node %s: Lease: %s", n->name,
				 st.message[0] ? st.message : strerror(-err));
		if (permanent(err))
			sim_fail(s, "node %s: Lease: %s", n->name, st.message);
	} else {
		if (n->lease_failures)
			log_info(SIM_COMP, "node %s: Lease renewed again", n->name);
		n->lease_failures = 0;
		atomic_fetch_add(&s->lease_renewals, 1);
	}
	return err;
}

static int node_lease(struct sim *s, struct sim_node *n)
{
	int err;

	if (atomic_load(&s->stopping) || !atomic_load(&n->registered))
		return 0;
	err = lease_renew(s, n);
	if (!err && !n->lease_held) {
		n->lease_held = true;
		atomic_fetch_add(&s->leases, 1);
	}
	/* the next renewal, also after an error: a kubelet keeps trying at its pace, and the
	 * grace the node controller gives is four renewals */
	sim_queue_node_after(s, 'l', n, err ? renew_ms(s) / 4 : renew_ms(s));
	return 0;
}

/* ---- node status ---- */

/* Post the conditions again (the kubelet's periodic report, and its answer when the node
 * controller set Ready to Unknown while we were away or slow). */
static int node_status(struct sim *s, struct sim_node *n)
{
	struct kubelet_node_info info;
	struct kc_status st;
	struct kc_obj *o = NULL;
	struct jv_doc *d;
	struct jv *node;
	const char *ready;
	char now[32], *patch;
	size_t len;
	int err;

	if (atomic_load(&s->stopping) || !atomic_load(&n->registered))
		return 0;
	sim_queue_node_after(s, 's', n, STATUS_REPORT_MS);
	err = kc_get(s->kc, s->k_node, NULL, n->name, &o, &st);
	if (err == -ENOENT) {
		log_warn(SIM_COMP, "node %s: deleted; its status is no longer posted", n->name);
		return 0;
	}
	if (err)
		return err;
	d = jv_doc_new();
	node = d ? kc_obj_parse(o, d) : NULL;
	ready = kubelet_node_ready(node);
	node_info(n, &info);
	patch =
	    node ? kubelet_node_status_patch(&s->kcfg, &info, node, sim_now_str(now), false, &len)
		 : NULL;
	if (!patch) {
		err = -ENOMEM;
	} else {
		err = kc_patch(s->kc, s->k_node, NULL, n->name, "status", KC_PATCH_STRATEGIC, patch,
			       len, &(struct kc_write_opts){0}, NULL, &st);
		if (err)
			log_warn(SIM_COMP, "node %s: status: %s", n->name, st.message);
		else if (!ready || strcmp(ready, "True")) {
			atomic_fetch_add(&s->node_reposts, 1);
			log_info(SIM_COMP, "node %s: Ready was %s, posted True", n->name,
				 ready ? ready : "absent");
		}
	}
	free(patch);
	jv_doc_free(d);
	kc_obj_put(o);
	return err;
}

/* ---- the watch of the sim's Nodes ---- */

static void node_seen(struct sim *s, const struct jv *node, enum kc_event_type t)
{
	const char *name = jv_path_str(node, "metadata.name"), *ready;
	struct sim_node *n = name ? hmap_sget(s->by_name, name) : NULL;

	if (!n || !atomic_load(&n->registered) || atomic_load(&s->stopping))
		return;
	if (t == KC_DELETED) {
		log_warn(SIM_COMP, "node %s was deleted", n->name);
		return;
	}
	ready = kubelet_node_ready(node);
	if (!ready || strcmp(ready, "True"))
		sim_queue_node(s, 's', n);
}

static void on_node_event(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	struct sim *s = arg;
	struct jv_doc *d;

	if (o->rv)
		atomic_store(&s->node_watch_rv, o->rv);
	if (t == KC_BOOKMARK)
		return;
	d = jv_doc_new();
	if (d)
		node_seen(s, kc_obj_parse(o, d), t);
	jv_doc_free(d);
}

static void on_node_end(void *arg, int err)
{
	struct sim *s = arg;

	if (err == -KC_EGONE)
		atomic_store(&s->node_watch_list, true);
	/* a stream that broke: again in a second or so, not in a hot loop */
	if (err)
		kc_queue_add_after(s->wq, "W", 500 + (uint64_t)(sim_rand() * 1000));
	else
		kc_queue_add(s->wq, "P");
	kc_queue_add(s->wq, "W");
}

static const char *sim_selector(void)
{
	return SIM_LABEL "=true";
}

static int nodes_watch(struct sim *s)
{
	static const struct kc_watch_cb cb = {.event = on_node_event, .end = on_node_end};
	struct kc_watch_opts wo = {.label_selector = sim_selector(), .bookmarks = true};
	struct kc_status st;
	char rv[32];
	int err;

	if (atomic_load(&s->stopping))
		return 0;
	kc_watch_stop(s->node_watch);
	s->node_watch = NULL;
	if (atomic_load(&s->node_watch_list)) {
		struct kc_list_opts lo = {.label_selector = sim_selector(), .limit = LIST_PAGE};
		struct kc_list l = {0};
		uint64_t list_rv = 0;
		char *next = NULL;

		do {
			struct jv_doc *d = jv_doc_new();

			lo.continue_token = next;
			err = d ? kc_list(s->kc, s->k_node, NULL, &lo, &l, &st) : -ENOMEM;
			for (size_t i = 0; !err && i < l.count; i++)
				node_seen(s, kc_obj_parse(l.items[i], d), KC_ADDED);
			if (!err && !list_rv)
				list_rv = l.rv;
			free(next);
			next = !err && l.next ? strdup(l.next) : NULL;
			kc_list_free(&l);
			memset(&l, 0, sizeof(l));
			jv_doc_free(d);
		} while (!err && next);
		free(next);
		if (err)
			return err;
		atomic_store(&s->node_watch_rv, list_rv);
		atomic_store(&s->node_watch_list, false);
	}
	snprintf(rv, sizeof(rv), "%" PRIu64, atomic_load(&s->node_watch_rv));
	wo.resource_version = rv;
	wo.timeout_s = 300 + (long)(sim_rand() * 300);
	err = kc_watch(s->kc, s->k_node, NULL, &wo, &cb, s, &s->node_watch, &st);
	if (err == -KC_EGONE)
		atomic_store(&s->node_watch_list, true);
	return err;
}

/* ---- deletion (--delete-on-exit) ---- */

static int node_delete(struct sim *s, struct sim_node *n)
{
	struct kc_delete_opts o = KC_DELETE_OPTS_INIT;
	struct kc_status st;
	int err;

	err = kc_delete(s->kc, s->k_lease, KUBELET_LEASE_NAMESPACE, n->name, &o, NULL, &st);
	if (err && err != -ENOENT)
		log_warn(SIM_COMP, "Lease %s: delete: %s", n->name, st.message);
	err = kc_delete(s->kc, s->k_node, NULL, n->name, &o, NULL, &st);
	if (err && err != -ENOENT)
		log_warn(SIM_COMP, "node %s: delete: %s", n->name, st.message);
	return 0;
}

/* ---- the node queue ---- */

static int node_sync(void *arg, const char *key)
{
	struct sim *s = arg;
	struct sim_node *n;
	int err;

	if (key[0] == 'W')
		return nodes_watch(s);
	if (key[0] == 'P')
		return atomic_load(&s->stopping) ? 0 : sim_pods_list_all(s);
	if (key[1] != '/' || !(n = hmap_sget(s->by_name, key + 2)))
		return 0;
	if (key[0] == 'd')
		return node_delete(s, n);
	if (atomic_load(&s->stopping))
		return 0;
	switch (key[0]) {
	case 'n':
		err = node_register(s, n);
		return permanent(err) ? 0 : err;
	case 'l':
		return node_lease(s, n);
	case 'w':
		return sim_pods_watch(s, n);
	case 's':
		return node_status(s, n);
	}
	return 0;
}

/* ---- start: ranges around what exists ---- */

struct ranges {
	struct sim_ranges cidrs, ips;
};

/* Take the podCIDR and InternalIP of an existing node; remember them if it is ours. */
static void existing_node(struct sim *s, struct ranges *r, const struct jv *node)
{
	const char *name = jv_path_str(node, "metadata.name");
	const char *cidr = jv_path_str(node, "spec.podCIDR");
	struct sim_node *n = name ? hmap_sget(s->by_name, name) : NULL;
	struct sim_net net;
	uint32_t ip;

	if (cidr && sim_net_parse(cidr, &net) == 0) {
		if (net.prefix == s->cfg->node_mask)
			sim_ranges_take(&r->cidrs, net.addr);
		if (n)
			snprintf(n->cidr, sizeof(n->cidr), "%s", cidr);
	}
	for (const struct jv *a = jv_first(jv_path(node, "status.addresses")); a; a = a->next) {
		const char *addr = jv_path_str(a, "address");

		if (!jv_is_str(jv_get(a, "type"), "InternalIP") || !addr ||
		    sim_ip_parse(addr, &ip) != 0)
			continue;
		sim_ranges_take(&r->ips, ip);
		if (n && !n->ip[0])
			snprintf(n->ip, sizeof(n->ip), "%s", addr);
	}
	if (n)
		n->existed = true;
}

static int list_existing(struct sim *s, struct ranges *r, char *err, size_t errlen)
{
	struct kc_list_opts lo = {.limit = LIST_PAGE};
	struct kc_status st = {0};
	struct kc_list l = {0};
	char *next = NULL;
	int rc;

	do {
		struct jv_doc *d = jv_doc_new();

		lo.continue_token = next;
		rc = d ? kc_list(s->kc, s->k_node, NULL, &lo, &l, &st) : -ENOMEM;
		for (size_t i = 0; !rc && i < l.count; i++)
			existing_node(s, r, kc_obj_parse(l.items[i], d));
		free(next);
		next = !rc && l.next ? strdup(l.next) : NULL;
		kc_list_free(&l);
		memset(&l, 0, sizeof(l));
		jv_doc_free(d);
	} while (!rc && next);
	free(next);
	if (rc)
		snprintf(err, errlen, "listing nodes: %s",
			 st.message[0] ? st.message : strerror(-rc));
	return rc;
}

static int assign(struct sim *s, struct ranges *r, char *err, size_t errlen)
{
	uint64_t need_cidr = 0, need_ip = 0;
	char buf[20];

	for (unsigned i = 0; i < s->nnodes; i++) {
		need_cidr += !s->nodes[i].cidr[0];
		need_ip += !s->nodes[i].ip[0];
	}
	if (need_cidr > sim_ranges_free_count(&r->cidrs)) {
		snprintf(err, errlen,
			 "%" PRIu64 " nodes need a podCIDR but --cluster-cidr %s has %" PRIu64
			 " of its %" PRIu64 " /%u ranges free: widen it or lengthen "
			 "--node-cidr-mask-size",
			 need_cidr, sim_net_str(&s->cfg->cluster_cidr, buf),
			 sim_ranges_free_count(&r->cidrs), sim_ranges_size(&r->cidrs),
			 s->cfg->node_mask);
		return -ENOSPC;
	}
	if (need_ip > sim_ranges_free_count(&r->ips)) {
		snprintf(err, errlen,
			 "%" PRIu64 " nodes need an InternalIP but --node-ip-base %s has %" PRIu64
			 " free",
			 need_ip, sim_net_str(&s->cfg->node_ips, buf),
			 sim_ranges_free_count(&r->ips));
		return -ENOSPC;
	}
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct sim_node *n = &s->nodes[i];
		uint32_t a;

		if (!n->cidr[0] && sim_ranges_alloc(&r->cidrs, &a) == 0) {
			struct sim_net net = {.addr = a, .prefix = s->cfg->node_mask};

			sim_net_str(&net, n->cidr);
		}
		if (!n->ip[0] && sim_ranges_alloc(&r->ips, &a) == 0)
			sim_ip_str(a, n->ip);
		if (sim_net_parse(n->cidr, &n->pod_net) != 0 || n->pod_net.prefix < 16 ||
		    n->pod_net.prefix > 30) {
			snprintf(err, errlen, "node %s has podCIDR %s: the sim needs /16 to /30",
				 n->name, n->cidr);
			return -EINVAL;
		}
		/* pods get .2 on: .0 is the network, .1 the node's bridge */
		if (sim_ranges_init(&n->ipam, &n->pod_net, 32, 2, 1) != 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int sim_start(struct kclient *kc, const struct sim_config *cfg, struct sim **out, char *err,
	      size_t errlen)
{
	struct ranges r = {0};
	struct sim *s;
	int rc = -ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kc = kc;
	s->cfg = cfg;
	sim_kubelet_config(cfg, &s->kcfg);
	s->start_ms = sim_now_ms();
	pthread_mutex_init(&s->mu, NULL);
	s->k_node = k8s_kind_find("v1", "Node");
	s->k_pod = k8s_kind_find("v1", "Pod");
	s->k_lease = k8s_kind_find("coordination.k8s.io/v1", "Lease");
	s->nnodes = cfg->nodes;
	s->nodes = calloc(s->nnodes, sizeof(*s->nodes));
	s->by_name = hmap_new();
	s->pods = hmap_new();
	s->nq = kc_queue_new("sim-nodes");
	s->wq = kc_queue_new("sim-watches");
	s->pq = kc_queue_new("sim-pods");
	if (!s->k_node || !s->k_pod || !s->k_lease) {
		snprintf(err, errlen, "the schema lacks Node, Pod or Lease");
		rc = -EINVAL;
		goto fail;
	}
	if (!s->nodes || !s->by_name || !s->pods || !s->nq || !s->wq || !s->pq)
		goto fail;
	atomic_store(&s->node_watch_list, true);
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct sim_node *n = &s->nodes[i];

		n->s = s;
		n->index = i;
		sim_node_name(cfg, i, n->name, sizeof(n->name));
		if (!sim_zone_of(cfg, i, n->zone, sizeof(n->zone)))
			n->zone[0] = 0;
		atomic_store(&n->need_list, true);
		if (hmap_sput(s->by_name, n->name, n, NULL) < 0)
			goto fail;
	}
	if (sim_ranges_init(&r.cidrs, &cfg->cluster_cidr, cfg->node_mask, 0, 0) ||
	    sim_ranges_init(&r.ips, &cfg->node_ips, 32, 1, 1))
		goto fail;
	rc = list_existing(s, &r, err, errlen);
	if (!rc)
		rc = assign(s, &r, err, errlen);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	snprintf(err, errlen, "out of memory");
	s->nw = kc_workers_start(s->nq, cfg->workers, node_sync, s, "sim-nodes");
	/* a watch start holds its worker until the watch thread has the answer's status: a
	 * few workers keep that thread busy, and Lease renewals never wait behind them */
	s->ww = kc_workers_start(s->wq, WATCH_WORKERS, node_sync, s, "sim-watches");
	s->pw = kc_workers_start(s->pq, cfg->workers, sim_pod_sync, s, "sim-pods");
	if (!s->nw || !s->ww || !s->pw)
		goto fail;
	kc_queue_add(s->wq, "P");
	kc_queue_add(s->wq, "W");
	for (unsigned i = 0; i < s->nnodes; i++)
		sim_queue_node(s, 'n', &s->nodes[i]);
	sim_ranges_free(&r.cidrs);
	sim_ranges_free(&r.ips);
	err[0] = 0;
	*out = s;
	return 0;
fail:
	sim_ranges_free(&r.cidrs);
	sim_ranges_free(&r.ips);
	sim_stop(s, false);
	return rc;
}

void sim_stop(struct sim *s, bool delete_nodes)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	/* the workers drain what is queued (every sync returns at once now) and end: no Lease
	 * is renewed after this */
	kc_workers_stop(s->nw);
	kc_workers_stop(s->ww);
	kc_workers_stop(s->pw);
	s->nw = s->ww = s->pw = NULL;
	kc_watch_stop(s->node_watch);
	for (unsigned i = 0; s->nodes && i < s->nnodes; i++) {
		kc_watch_stop(s->nodes[i].watch);
		s->nodes[i].watch = NULL;
	}
	if (delete_nodes && s->nnodes) {
		struct kc_queue *q = kc_queue_new("sim-delete");
		struct kc_workers *w;

		kc_queue_free(s->nq);
		s->nq = q;
		w = q ? kc_workers_start(q, s->cfg->workers, node_sync, s, "sim-delete") : NULL;
		if (w) {
			log_info(SIM_COMP, "deleting %u nodes", s->nnodes);
			for (unsigned i = 0; i < s->nnodes; i++)
				sim_queue_node(s, 'd', &s->nodes[i]);
		}
		kc_workers_stop(w);
	}
	sim_pods_free(s);
	for (unsigned i = 0; s->nodes && i < s->nnodes; i++)
		sim_ranges_free(&s->nodes[i].ipam);
	kc_queue_free(s->nq);
	kc_queue_free(s->wq);
	kc_queue_free(s->pq);
	hmap_free(s->by_name);
	hmap_free(s->pods);
	free(s->nodes);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void sim_stats(struct sim *s, struct sim_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->nodes = s->nnodes;
	out->registered = atomic_load(&s->registered);
	out->leases = atomic_load(&s->leases);
	out->watching = atomic_load(&s->watching);
	out->lease_renewals = atomic_load(&s->lease_renewals);
	out->lease_errors = atomic_load(&s->lease_errors);
	out->pods_running = atomic_load(&s->pods_running);
	out->pods_succeeded = atomic_load(&s->pods_succeeded);
	out->pods_deleted = atomic_load(&s->pods_deleted);
	out->status_errors = atomic_load(&s->status_errors);
	out->node_reposts = atomic_load(&s->node_reposts);
	out->watch_ends = atomic_load(&s->watch_ends);
	out->watch_gone = atomic_load(&s->watch_gone);
	out->relists = atomic_load(&s->relists);
	if (atomic_load(&s->registered_ms))
		out->register_s = (double)(atomic_load(&s->registered_ms) - s->start_ms) / 1000.0;
	pthread_mutex_lock(&s->mu);
	out->failed = s->failed;
	snprintf(out->fail_msg, sizeof(out->fail_msg), "%s", s->fail_msg);
	pthread_mutex_unlock(&s->mu);
}
