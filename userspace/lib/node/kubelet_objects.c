/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubelet_objects: the Node, Lease and pod status documents of kubelet_objects.h, built as jv trees
 * and written as JSON. What the kubelet writes is followed field by field: the node
 * conditions' reasons and messages (pkg/kubelet/nodestatus/setters.go), the pod conditions
 * in generateAPIPodStatus's order with pkg/kubelet/status/generate.go's reasons, and the
 * status manager's rule that a condition keeps its lastTransitionTime while its status does
 * not change. Identifiers a runtime would make (machine and boot IDs, container IDs, image
 * digests) are SHA-256 digests of stable inputs, so a restarted sim reports the same ones.
 */
#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubelet_objects.h"

/* ---- time ---- */

const char *kubelet_time_str(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *kubelet_microtime_str(const struct timespec *ts, char *buf)
{
	struct tm tm;
	char s[24];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 32, "%.19s.%06uZ", s, (unsigned)(ts->tv_nsec / 1000) % 1000000u);
	return buf;
}

time_t kubelet_time_parse(const char *s)
{
	struct tm tm = {0};
	char *end;

	if (!s)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.') /* a fraction (MicroTime) */
		while (*++end >= '0' && *end <= '9')
			;
	if (*end != 'Z' || end[1])
		return -1;
	return timegm(&tm);
}

/* ---- identifiers ---- */

/* Hex SHA-256 of the parts joined by '/' into out (65 bytes). */
static void digest_hex(char *out, const char *a, const char *b)
{
	unsigned char md[32];
	char in[1024];
	int n = snprintf(in, sizeof(in), "%s/%s", a ? a : "", b ? b : "");

	if (n < 0 || (size_t)n >= sizeof(in))
		n = (int)sizeof(in) - 1;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, in, (size_t)n, md) != 0)
		memset(md, 0, sizeof(md));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A UUID-shaped string (8-4-4-4-12) of a digest. */
static void uuid_of(char *out, const char *what, const char *name)
{
	char h[65];

	digest_hex(h, what, name);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

void kubelet_image_normalize(const char *image, char *buf, size_t size)
{
	const char *slash = strchr(image, '/'), *last, *name;
	bool domain = slash && (memchr(image, '.', (size_t)(slash - image)) ||
				memchr(image, ':', (size_t)(slash - image)) ||
				((size_t)(slash - image) == 9 && !strncmp(image, "localhost", 9)));
	bool tagged;

	last = strrchr(image, '/');
	name = last ? last + 1 : image;
	tagged = strchr(name, ':') || strchr(image, '@');
	if (domain)
		snprintf(buf, size, "%s%s", image, tagged ? "" : ":latest");
	else
		snprintf(buf, size, "docker.io/%s%s%s", slash ? "" : "library/", image,
			 tagged ? "" : ":latest");
}

/* "repo@sha256:<digest>" of a normalized image (the digest of its name: no registry). */
static void image_id(const char *norm, char *buf, size_t size)
{
	const char *at = strchr(norm, '@'), *last = strrchr(norm, '/'), *colon;
	char h[65];
	size_t repo;

	if (at) { /* already by digest */
		snprintf(buf, size, "%s", norm);
		return;
	}
	colon = strrchr(last ? last : norm, ':');
	repo = colon ? (size_t)(colon - norm) : strlen(norm);
	digest_hex(h, "image", norm);
	snprintf(buf, size, "%.*s@sha256:%s", (int)repo, norm, h);
}

/* ---- tree helpers ---- */

/* A document being built: any allocation that fails marks it, and finish() refuses it. */
struct bld {
	struct jv_doc *d;
	bool oom;
};

static struct jv *mark(struct bld *b, struct jv *v)
{
	if (!v)
		b->oom = true;
	return v;
}

static struct jv *obj(struct bld *b)
{
	return mark(b, jv_new(b->d, JV_OBJECT));
}

static struct jv *arr(struct bld *b)
{
	return mark(b, jv_new(b->d, JV_ARRAY));
}

static struct jv *str(struct bld *b, const char *s)
{
	return mark(b, jv_new_strz(b->d, s ? s : ""));
}

static void put(struct bld *b, struct jv *o, const char *k, struct jv *v)
{
	if (!o || !v || jv_set(b->d, o, k, v) != 0)
		b->oom = true;
}

static void put_str(struct bld *b, struct jv *o, const char *k, const char *v)
{
	put(b, o, k, str(b, v));
}

static struct jv *at(struct bld *b, struct jv *o, const char *k)
{
	return o ? mark(b, jv_obj_at(b->d, o, k)) : mark(b, NULL);
}

/* Append a new object to array a; the object. */
static struct jv *push_obj(struct bld *b, struct jv *a)
{
	struct jv *o = obj(b);

	if (a && o)
		jv_push(a, o);
	return o;
}

static bool bld_init(struct bld *b)
{
	b->oom = false;
	b->d = jv_doc_new();
	if (!b->d)
		errno = ENOMEM;
	return b->d != NULL;
}

/* JSON of v (NULL with errno ENOMEM if anything failed); frees the doc. */
static char *finish(struct bld *b, struct jv *v, size_t *len)
{
	char *json = !b->oom && v ? jv_to_json(v, len) : NULL;

	jv_doc_free(b->d);
	if (!json)
		errno = ENOMEM;
	return json;
}

/* The condition of type in a status's conditions, or NULL. */
static const struct jv *cond_of(const struct jv *conds, const char *type)
{
	for (const struct jv *c = jv_first(conds); c; c = c->next)
		if (jv_is_str(jv_get(c, "type"), type))
			return c;
	return NULL;
}

/* lastTransitionTime: the old one while the status holds, else now. */
static const char *transition(const struct jv *old_conds, const char *type, const char *status,
			      const char *now)
{
	const struct jv *c = cond_of(old_conds, type);
	const char *t = jv_path_str(c, "lastTransitionTime");

	return c && jv_is_str(jv_get(c, "status"), status) && t ? t : now;
}

/* ---- nodes ---- */

static void put_labels(struct bld *b, struct jv *labels, const struct kubelet_node_config *c,
		       const struct kubelet_node_info *n)
{
	const char *arch = c->architecture ? c->architecture : "amd64";

	put_str(b, labels, "beta.kubernetes.io/arch", arch);
	put_str(b, labels, "beta.kubernetes.io/os", "linux");
	put_str(b, labels, "kubernetes.io/arch", arch);
	put_str(b, labels, "kubernetes.io/hostname", n->name);
	put_str(b, labels, "kubernetes.io/os", "linux");
	if (n->region)
		put_str(b, labels, "topology.kubernetes.io/region", n->region);
	if (n->zone)
		put_str(b, labels, "topology.kubernetes.io/zone", n->zone);
	if (c->marker_label)
		put_str(b, labels, c->marker_label, "true");
	for (size_t i = 0; i < c->nlabels; i++)
		put_str(b, labels, c->labels[i].key, c->labels[i].value);
}

static struct jv *resources(struct bld *b, const struct kubelet_node_config *c)
{
	struct jv *r = obj(b);

	put_str(b, r, "cpu", c->cpu);
	put_str(b, r, "ephemeral-storage", c->ephemeral_storage);
	put_str(b, r, "hugepages-1Gi", "0");
	put_str(b, r, "hugepages-2Mi", "0");
	put_str(b, r, "memory", c->memory);
	put_str(b, r, "pods", c->pods);
	return r;
}

static void put_condition(struct bld *b, struct jv *conds, const struct jv *old_conds,
			  const char *type, const char *status, const char *reason,
			  const char *message, const char *now)
{
	struct jv *c = push_obj(b, conds);

	put_str(b, c, "type", type);
	put_str(b, c, "status", status);
	put_str(b, c, "lastHeartbeatTime", now);
	put_str(b, c, "lastTransitionTime", transition(old_conds, type, status, now));
	put_str(b, c, "reason", reason);
	put_str(b, c, "message", message);
}

/* The kubelet's four conditions, in its setters' order (Ready last). */
static struct jv *node_conditions(struct bld *b, const struct jv *old_conds, const char *now)
{
	struct jv *conds = arr(b);

	put_condition(b, conds, old_conds, "MemoryPressure", "False", "KubeletHasSufficientMemory",
		      "kubelet has sufficient memory available", now);
	put_condition(b, conds, old_conds, "DiskPressure", "False", "KubeletHasNoDiskPressure",
		      "kubelet has no disk pressure", now);
	put_condition(b, conds, old_conds, "PIDPressure", "False", "KubeletHasSufficientPID",
		      "kubelet has sufficient PID available", now);
	put_condition(b, conds, old_conds, "Ready", "True", "KubeletReady",
		      "kubelet is posting ready status", now);
	return conds;
}

static struct jv *set_order(struct bld *b, const char *const *types, size_t n)
{
	struct jv *a = arr(b);

	for (size_t i = 0; i < n; i++)
		put_str(b, push_obj(b, a), "type", types[i]);
	return a;
}

static void node_status(struct bld *b, struct jv *st, const struct kubelet_node_config *c,
			const struct kubelet_node_info *n, const struct jv *old_conds,
			const char *now, bool full)
{
	static const char *const order[] = {"MemoryPressure", "DiskPressure", "PIDPressure",
					    "Ready"};
	struct jv *a, *info;
	char id[65], uuid[37];

	if (!full) {
		put(b, st, "$setElementOrder/conditions", set_order(b, order, 4));
		put(b, st, "conditions", node_conditions(b, old_conds, now));
		return;
	}
	put(b, st, "capacity", resources(b, c));
	put(b, st, "allocatable", resources(b, c));
	put(b, st, "conditions", node_conditions(b, old_conds, now));
	a = arr(b);
	put(b, st, "addresses", a);
	{
		struct jv *ip = push_obj(b, a), *host = push_obj(b, a);

		put_str(b, ip, "type", "InternalIP");
		put_str(b, ip, "address", n->internal_ip);
		put_str(b, host, "type", "Hostname");
		put_str(b, host, "address", n->name);
	}
	{
		struct jv *de = obj(b), *ke = obj(b);

		put(b, ke, "Port",
		    mark(b, jv_new_int(b->d, n->kubelet_port ? n->kubelet_port : KUBELET_PORT)));
		put(b, de, "kubeletEndpoint", ke);
		put(b, st, "daemonEndpoints", de);
	}
	info = obj(b);
	put(b, st, "nodeInfo", info);
	digest_hex(id, "machine", n->name);
	id[32] = 0;
	put_str(b, info, "machineID", id);
	uuid_of(uuid, "system", n->name);
	put_str(b, info, "systemUUID", uuid);
	uuid_of(uuid, "boot", n->name);
	put_str(b, info, "bootID", uuid);
	put_str(b, info, "kernelVersion", c->kernel_version ? c->kernel_version : "6.1.0");
	put_str(b, info, "osImage", c->os_image ? c->os_image : "Debian GNU/Linux 12 (bookworm)");
	put_str(b, info, "containerRuntimeVersion",
		c->runtime_version ? c->runtime_version : "drover-sim://0.1.0");
	put_str(b, info, "kubeletVersion", KUBELET_VERSION);
	put_str(b, info, "kubeProxyVersion", KUBELET_VERSION);
	put_str(b, info, "operatingSystem", "linux");
	put_str(b, info, "architecture", c->architecture ? c->architecture : "amd64");
}

static struct jv *pod_cidrs(struct bld *b, const char *cidr)
{
	struct jv *a = arr(b);

	if (a)
		jv_push(a, str(b, cidr));
	return a;
}

struct jv *kubelet_node_obj(struct jv_doc *d, const struct kubelet_node_config *c,
			    const struct kubelet_node_info *n, const char *now)
{
	struct bld b0 = {.d = d}, *b = &b0;
	struct jv *o, *md, *labels, *ann, *spec, *st;

	o = obj(b);
	put_str(b, o, "apiVersion", "v1");
	put_str(b, o, "kind", "Node");
	md = at(b, o, "metadata");
	put_str(b, md, "name", n->name);
	labels = at(b, md, "labels");
	put_labels(b, labels, c, n);
	ann = at(b, md, "annotations");
	/* the kubelet's default (--enable-controller-attach-detach) */
	put_str(b, ann, "volumes.kubernetes.io/controller-managed-attach-detach", "true");
	spec = at(b, o, "spec");
	if (n->pod_cidr) { /* else the server's nodeipam allocates one */
		put_str(b, spec, "podCIDR", n->pod_cidr);
		put(b, spec, "podCIDRs", pod_cidrs(b, n->pod_cidr));
	}
	if (c->ntaints) {
		struct jv *taints = arr(b);

		put(b, spec, "taints", taints);
		for (size_t i = 0; i < c->ntaints; i++) {
			struct jv *t = push_obj(b, taints);

			put_str(b, t, "key", c->taints[i].key);
			if (c->taints[i].value && c->taints[i].value[0])
				put_str(b, t, "value", c->taints[i].value);
			put_str(b, t, "effect", c->taints[i].effect);
		}
	}
	st = at(b, o, "status");
	node_status(b, st, c, n, NULL, now, true);
	return b->oom ? NULL : o;
}

char *kubelet_node_reconcile_patch(const struct kubelet_node_config *c,
				   const struct kubelet_node_info *n, const struct jv *cur,
				   size_t *len)
{
	const char *have = jv_path_str(cur, "spec.podCIDR");
	struct bld b0, *b = &b0;
	struct jv *o, *md, *labels;

	if (!bld_init(b))
		return NULL;
	o = obj(b);
	md = at(b, o, "metadata");
	labels = at(b, md, "labels");
	put_labels(b, labels, c, n);
	if ((!have || !have[0]) && n->pod_cidr) {
		struct jv *spec = at(b, o, "spec");

		put_str(b, spec, "podCIDR", n->pod_cidr);
		put(b, spec, "podCIDRs", pod_cidrs(b, n->pod_cidr));
	}
	return finish(b, o, len);
}

char *kubelet_node_status_patch(const struct kubelet_node_config *c,
				const struct kubelet_node_info *n, const struct jv *cur,
				const char *now, bool full, size_t *len)
{
	struct bld b0, *b = &b0;
	struct jv *o, *st;

	if (!bld_init(b))
		return NULL;
	o = obj(b);
	st = at(b, o, "status");
	node_status(b, st, c, n, jv_path(cur, "status.conditions"), now, full);
	return finish(b, o, len);
}

const char *kubelet_node_ready(const struct jv *node)
{
	return jv_path_str(cond_of(jv_path(node, "status.conditions"), "Ready"), "status");
}

/* ---- leases ---- */

struct jv *kubelet_lease_obj(struct jv_doc *d, const char *node, const char *node_uid,
			     const char *rv, const char *now_micro)
{
	struct bld b0 = {.d = d}, *b = &b0;
	struct jv *o, *md, *spec;

	o = obj(b);
	put_str(b, o, "apiVersion", "coordination.k8s.io/v1");
	put_str(b, o, "kind", "Lease");
	md = at(b, o, "metadata");
	put_str(b, md, "name", node);
	put_str(b, md, "namespace", KUBELET_LEASE_NAMESPACE);
	if (rv && rv[0])
		put_str(b, md, "resourceVersion", rv);
	if (node_uid && node_uid[0]) {
		/* as the kubelet's lease controller sets it: no controller, no blockOwnerDeletion */
		struct jv *refs = arr(b), *r = push_obj(b, refs);

		put(b, md, "ownerReferences", refs);
		put_str(b, r, "apiVersion", "v1");
		put_str(b, r, "kind", "Node");
		put_str(b, r, "name", node);
		put_str(b, r, "uid", node_uid);
	}
	spec = at(b, o, "spec");
	put_str(b, spec, "holderIdentity", node);
	put(b, spec, "leaseDurationSeconds", mark(b, jv_new_int(b->d, KUBELET_LEASE_SECONDS)));
	put_str(b, spec, "renewTime", now_micro);
	return b->oom ? NULL : o;
}

/* ---- pods ---- */

bool kubelet_pod_is_job(const struct jv *pod)
{
	for (const struct jv *r = jv_first(jv_path(pod, "metadata.ownerReferences")); r;
	     r = r->next)
		if (jv_is_str(jv_get(r, "kind"), "Job"))
			return true;
	return false;
}

static bool is_sidecar(const struct jv *ctr)
{
	return jv_is_str(jv_get(ctr, "restartPolicy"), "Always");
}

enum ctr_state { CTR_RUNNING, CTR_COMPLETED };

static void container_status(struct bld *b, struct jv *list, const struct jv *pod,
			     const struct jv *ctr, enum ctr_state state, bool ready,
			     const char *started, const char *now)
{
	struct jv *s = push_obj(b, list), *state_o = obj(b), *inner = obj(b);
	const char *name = jv_path_str(ctr, "name"), *img = jv_path_str(ctr, "image");
	char norm[512], iid[600], hex[65], cid[96];

	kubelet_image_normalize(img ? img : "", norm, sizeof(norm));
	image_id(norm, iid, sizeof(iid));
	digest_hex(hex, jv_path_str(pod, "metadata.uid"), name);
	snprintf(cid, sizeof(cid), "drover-sim://%s", hex);
	put_str(b, s, "name", name);
	put(b, s, "state", state_o);
	if (state == CTR_RUNNING) {
		put(b, state_o, "running", inner);
		put_str(b, inner, "startedAt", started);
	} else {
		put(b, state_o, "terminated", inner);
		put(b, inner, "exitCode", mark(b, jv_new_int(b->d, 0)));
		put_str(b, inner, "reason", "Completed");
		put_str(b, inner, "startedAt", started);
		put_str(b, inner, "finishedAt", now);
		put_str(b, inner, "containerID", cid);
	}
	put(b, s, "lastState", obj(b));
	put(b, s, "ready", mark(b, jv_new_bool(b->d, ready)));
	put(b, s, "restartCount", mark(b, jv_new_int(b->d, 0)));
	put_str(b, s, "image", norm);
	put_str(b, s, "imageID", iid);
	put_str(b, s, "containerID", cid);
	put(b, s, "started", mark(b, jv_new_bool(b->d, state == CTR_RUNNING)));
}

/* One pod condition: lastProbeTime null, lastTransitionTime kept while the status holds. */
static void pod_condition(struct bld *b, struct jv *conds, const struct jv *old, const char *type,
			  const char *status, const char *reason, const char *message,
			  const char *now)
{
	struct jv *c = push_obj(b, conds);

	put_str(b, c, "type", type);
	put_str(b, c, "status", status);
	put(b, c, "lastProbeTime", mark(b, jv_new(b->d, JV_NULL)));
	put_str(b, c, "lastTransitionTime", transition(old, type, status, now));
	if (reason)
		put_str(b, c, "reason", reason);
	if (message)
		put_str(b, c, "message", message);
}

/* The message of GeneratePodReadyCondition for readiness gates that are not True, into b;
 * false when every gate is True. */
static bool gates_unready(const struct jv *pod, const struct jv *old, struct k8s_buf *b)
{
	bool any = false;

	for (const struct jv *g = jv_first(jv_path(pod, "spec.readinessGates")); g; g = g->next) {
		const char *type = jv_path_str(g, "conditionType");
		const struct jv *c = cond_of(old, type ? type : "");
		const char *st = jv_path_str(c, "status");

		if (c && st && !strcmp(st, "True"))
			continue;
		if (any)
			k8s_buf_puts(b, ", ");
		any = true;
		if (!c)
			k8s_buf_printf(b,
				       "corresponding condition of pod readiness gate \"%s\" does "
				       "not exist.",
				       type ? type : "");
		else
			k8s_buf_printf(b,
				       "the status of pod readiness gate \"%s\" is not \"True\", "
				       "but %s",
				       type ? type : "", st ? st : "");
	}
	return any;
}

static void put_ips(struct bld *b, struct jv *st, const char *key, const char *keys, const char *ip)
{
	struct jv *a = arr(b);

	put_str(b, st, key, ip);
	put_str(b, push_obj(b, a), "ip", ip);
	put(b, st, keys, a);
}

static char *pod_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
		       const char *started, const char *now, bool done, size_t *len)
{
	static const char *const order[] = {"PodReadyToStartContainers", "Initialized", "Ready",
					    "ContainersReady", "PodScheduled"};
	const struct jv *old = jv_path(pod, "status.conditions");
	struct bld b0, *b = &b0;
	struct jv *o, *md, *st, *conds, *list;
	struct k8s_buf gates = {0};
	bool unready_gates;

	if (!bld_init(b))
		return NULL;
	o = obj(b);
	md = at(b, o, "metadata");
	/* the status manager's patch carries the uid: a pod recreated under the same name
	 * refuses it */
	put_str(b, md, "uid", jv_path_str(pod, "metadata.uid"));
	st = at(b, o, "status");
	put(b, st, "$setElementOrder/conditions", set_order(b, order, 5));
	conds = arr(b);
	put(b, st, "conditions", conds);
	unready_gates = gates_unready(pod, old, &gates);
	if (!done) {
		pod_condition(b, conds, old, "PodReadyToStartContainers", "True", NULL, NULL, now);
		pod_condition(b, conds, old, "Initialized", "True", NULL, NULL, now);
		if (unready_gates)
			pod_condition(b, conds, old, "Ready", "False", "ReadinessGatesNotReady",
				      gates.p, now);
		else
			pod_condition(b, conds, old, "Ready", "True", NULL, NULL, now);
		pod_condition(b, conds, old, "ContainersReady", "True", NULL, NULL, now);
	} else {
		/* the sandbox is gone once every container has exited */
		pod_condition(b, conds, old, "PodReadyToStartContainers", "False", NULL, NULL, now);
		pod_condition(b, conds, old, "Initialized", "True", "PodCompleted", NULL, now);
		pod_condition(b, conds, old, "Ready", "False", "PodCompleted", NULL, now);
		pod_condition(b, conds, old, "ContainersReady", "False", "PodCompleted", NULL, now);
	}
	pod_condition(b, conds, old, "PodScheduled", "True", NULL, NULL, now);
	if (gates.oom)
		b->oom = true;
	k8s_buf_free(&gates);
	put_str(b, st, "phase", done ? "Succeeded" : "Running");
	put_str(b, st, "hostIP", host_ip);
	{
		struct jv *a = arr(b);

		put_str(b, push_obj(b, a), "ip", host_ip);
		put(b, st, "hostIPs", a);
	}
	put_ips(b, st, "podIP", "podIPs", pod_ip);
	put_str(b, st, "startTime", started);
	if (jv_count(jv_path(pod, "spec.initContainers"))) {
		list = arr(b);
		put(b, st, "initContainerStatuses", list);
		for (const struct jv *c = jv_first(jv_path(pod, "spec.initContainers")); c;
		     c = c->next) {
			bool side = is_sidecar(c) && !done;

			container_status(b, list, pod, c, side ? CTR_RUNNING : CTR_COMPLETED,
					 !done || !is_sidecar(c), started, now);
		}
	}
	list = arr(b);
	put(b, st, "containerStatuses", list);
	for (const struct jv *c = jv_first(jv_path(pod, "spec.containers")); c; c = c->next)
		container_status(b, list, pod, c, done ? CTR_COMPLETED : CTR_RUNNING, !done,
				 started, now);
	return finish(b, o, len);
}

char *kubelet_pod_running_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
				const char *now, size_t *len)
{
	return pod_patch(pod, host_ip, pod_ip, now, now, false, len);
}

char *kubelet_pod_succeeded_patch(const struct jv *pod, const char *host_ip, const char *pod_ip,
				  const char *started, const char *now, size_t *len)
{
	return pod_patch(pod, host_ip, pod_ip, started, now, true, len);
}

/* ---- a real pod's status ---- */

static struct jv *ctr_state(struct bld *b, const struct kubelet_ctr_state_info *i)
{
	struct jv *o = obj(b), *in = obj(b);

	switch (i->state) {
	case KUBELET_CTR_WAITING:
		put(b, o, "waiting", in);
		if (i->reason)
			put_str(b, in, "reason", i->reason);
		if (i->message)
			put_str(b, in, "message", i->message);
		break;
	case KUBELET_CTR_RUNNING:
		put(b, o, "running", in);
		put_str(b, in, "startedAt", i->started_at);
		break;
	case KUBELET_CTR_TERMINATED:
		put(b, o, "terminated", in);
		put(b, in, "exitCode", mark(b, jv_new_int(b->d, i->exit_code)));
		if (i->reason)
			put_str(b, in, "reason", i->reason);
		if (i->message)
			put_str(b, in, "message", i->message);
		if (i->started_at)
			put_str(b, in, "startedAt", i->started_at);
		if (i->finished_at)
			put_str(b, in, "finishedAt", i->finished_at);
		if (i->container_id)
			put_str(b, in, "containerID", i->container_id);
		break;
	}
	return o;
}

/* initContainerStatuses / containerStatuses entries */
static void put_ctr_statuses(struct bld *b, struct jv *st, const char *key,
			     const struct kubelet_ctr_status *cs, size_t n)
{
	struct jv *list = arr(b);

	put(b, st, key, list);
	for (size_t i = 0; i < n; i++) {
		const struct kubelet_ctr_status *c = &cs[i];
		struct jv *o = push_obj(b, list);

		put_str(b, o, "name", c->name);
		put(b, o, "state", ctr_state(b, &c->cur));
		put(b, o, "lastState", c->has_last ? ctr_state(b, &c->last) : obj(b));
		put(b, o, "ready", mark(b, jv_new_bool(b->d, c->ready)));
		put(b, o, "restartCount", mark(b, jv_new_int(b->d, c->restart_count)));
		put_str(b, o, "image", c->image);
		put_str(b, o, "imageID", c->image_id ? c->image_id : "");
		if (c->container_id)
			put_str(b, o, "containerID", c->container_id);
		put(b, o, "started", mark(b, jv_new_bool(b->d, c->started)));
	}
}

/* GeneratePodInitializedCondition: PodCompleted once Succeeded; True once a container started
 * (the pod was initialized before); else False while an init container is not terminated
 * with 0 (ready), or a sidecar not started. */
static void initialized(struct bld *b, struct jv *conds, const struct jv *old,
			const struct kubelet_pod_status *s, const char *now)
{
	struct k8s_buf inc = {0};
	size_t n_inc = 0;
	bool started = false;

	if (!strcmp(s->phase, "Succeeded")) {
		pod_condition(b, conds, old, "Initialized", "True", "PodCompleted", NULL, now);
		return;
	}
	for (size_t i = 0; i < s->n_ctrs; i++)
		started |= s->ctrs[i].cur.state != KUBELET_CTR_WAITING;
	/* isInitContainerInitialized: a sidecar once started, another once it succeeded */
	for (size_t i = 0; !started && i < s->n_init; i++)
		if (s->init_ctrs[i].sidecar ? !s->init_ctrs[i].started : !s->init_ctrs[i].ready)
			k8s_buf_printf(&inc, "%s%s", n_inc++ ? " " : "", s->init_ctrs[i].name);
	if (n_inc) {
		char msg[1200];

		snprintf(msg, sizeof(msg), "containers with incomplete status: [%s]",
			 inc.p ? inc.p : "");
		pod_condition(b, conds, old, "Initialized", "False", "ContainersNotInitialized",
			      msg, now);
	} else {
		pod_condition(b, conds, old, "Initialized", "True", NULL, NULL, now);
	}
	if (inc.oom)
		b->oom = true;
	k8s_buf_free(&inc);
}

char *kubelet_pod_status_patch(const struct jv *pod, const struct kubelet_pod_status *s,
			       const char *now, size_t *len)
{
	static const char *const order[] = {"PodReadyToStartContainers", "Initialized", "Ready",
					    "ContainersReady", "PodScheduled"};
	const struct jv *old = jv_path(pod, "status.conditions");
	bool done = !strcmp(s->phase, "Succeeded") || !strcmp(s->phase, "Failed");
	struct k8s_buf unready = {0};
	struct bld b0, *b = &b0;
	struct jv *o, *md, *st, *conds;
	size_t n_unready = 0;

	if (!bld_init(b))
		return NULL;
	/* GenerateContainersReadyCondition: the sidecars, then the containers */
	for (size_t i = 0; i < s->n_init; i++)
		if (s->init_ctrs[i].sidecar && !s->init_ctrs[i].ready)
			k8s_buf_printf(&unready, "%s%s", n_unready++ ? " " : "",
				       s->init_ctrs[i].name);
	for (size_t i = 0; i < s->n_ctrs; i++)
		if (!s->ctrs[i].ready)
			k8s_buf_printf(&unready, "%s%s", n_unready++ ? " " : "", s->ctrs[i].name);
	o = obj(b);
	md = at(b, o, "metadata");
	put_str(b, md, "uid", jv_path_str(pod, "metadata.uid"));
	st = at(b, o, "status");
	put(b, st, "$setElementOrder/conditions", set_order(b, order, 5));
	conds = arr(b);
	put(b, st, "conditions", conds);
	pod_condition(b, conds, old, "PodReadyToStartContainers",
		      s->sandbox_ready ? "True" : "False", NULL, NULL, now);
	initialized(b, conds, old, s, now);
	if (done) {
		/* generatePodReadyConditionForTerminalPhase */
		const char *why = !strcmp(s->phase, "Failed") ? "PodFailed" : "PodCompleted";

		pod_condition(b, conds, old, "Ready", "False", why, NULL, now);
		pod_condition(b, conds, old, "ContainersReady", "False", why, NULL, now);
	} else if (n_unready) {
		char msg[1200];

		snprintf(msg, sizeof(msg), "containers with unready status: [%s]",
			 unready.p ? unready.p : "");
		pod_condition(b, conds, old, "Ready", "False", "ContainersNotReady", msg, now);
		pod_condition(b, conds, old, "ContainersReady", "False", "ContainersNotReady", msg,
			      now);
	} else {
		pod_condition(b, conds, old, "Ready", "True", NULL, NULL, now);
		pod_condition(b, conds, old, "ContainersReady", "True", NULL, NULL, now);
	}
	pod_condition(b, conds, old, "PodScheduled", "True", NULL, NULL, now);
	if (unready.oom)
		b->oom = true;
	k8s_buf_free(&unready);
	put_str(b, st, "phase", s->phase);
	put_str(b, st, "hostIP", s->host_ip);
	{
		struct jv *a = arr(b);

		put_str(b, push_obj(b, a), "ip", s->host_ip);
		put(b, st, "hostIPs", a);
	}
	if (s->pod_ip && s->pod_ip[0]) {
		/* the list replaces the server's: a sandbox made again has a new address */
		struct jv *a = arr(b);

		put_str(b, st, "podIP", s->pod_ip);
		put_str(b, push_obj(b, a), "$patch", "replace");
		put_str(b, push_obj(b, a), "ip", s->pod_ip);
		put(b, st, "podIPs", a);
	}
	if (s->start_time)
		put_str(b, st, "startTime", s->start_time);
	if (s->n_init)
		put_ctr_statuses(b, st, "initContainerStatuses", s->init_ctrs, s->n_init);
	put_ctr_statuses(b, st, "containerStatuses", s->ctrs, s->n_ctrs);
	if (s->n_eph)
		put_ctr_statuses(b, st, "ephemeralContainerStatuses", s->eph_ctrs, s->n_eph);
	return finish(b, o, len);
}
