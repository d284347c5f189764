/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podsecurity_checks: the Pod Security Standards' checks of k8s.io/pod-security-admission
 * 1.32 (policy/check_*.go, each named beside its code by its function, with its messages),
 * their versions, and their evaluation at a level and version as policy/registry.go orders
 * it (baseline checks, then restricted ones, each sorted by ID; a restricted check overrides
 * the baseline check it covers), aggregated as policy/checks.go AggregateCheckResults does.
 */
#include <stdio.h>
#include <string.h>

#include "podsecurity.h"

#define PSA_SET_MAX 256 /* names a message lists (containers, volumes, values) */

/* ---- small sets of strings: sets.String (sorted, unique) and plain lists ---- */

struct psa_set {
	const char *v[PSA_SET_MAX];
	size_t n;
};

static void set_push(struct psa_set *s, const char *v)
{
	if (s->n < PSA_SET_MAX)
		s->v[s->n++] = v ? v : "";
}

static void set_insert(struct psa_set *s, const char *v)
{
	size_t i = 0;

	v = v ? v : "";
	while (i < s->n && strcmp(s->v[i], v) < 0)
		i++;
	if ((i < s->n && strcmp(s->v[i], v) == 0) || s->n == PSA_SET_MAX)
		return;
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(s->v[0]));
	s->v[i] = v;
	s->n++;
}

/* joinQuote (policy/helpers.go): "a", "b" */
static void join_quote(struct k8s_buf *b, const struct psa_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		k8s_buf_printf(b, "%s\"%s\"", i ? ", " : "", s->v[i]);
}

static void join(struct k8s_buf *b, const struct psa_set *s, const char *sep)
{
	for (size_t i = 0; i < s->n; i++)
		k8s_buf_printf(b, "%s%s", i ? sep : "", s->v[i]);
}

/* pluralize (policy/helpers.go) */
static const char *plural(const char *one, const char *many, size_t n)
{
	return n == 1 ? one : many;
}

/* a setter of a message ("pod and containers "a", "b""), after sep when not first */
static void put_setter(struct k8s_buf *b, bool *first, const char *s)
{
	k8s_buf_printf(b, "%s%s", *first ? "" : " and ", s);
	*first = false;
}

static void put_containers(struct k8s_buf *b, bool *first, const struct psa_set *c)
{
	if (!c->n)
		return;
	put_setter(b, first, plural("container", "containers", c->n));
	k8s_buf_putc(b, ' ');
	join_quote(b, c);
}

/* ---- the aggregate of the checks' results (policy/checks.go) ---- */

static void agg_fail(struct psa_agg *g, const char *reason, const struct k8s_buf *detail)
{
	const char *sep = g->n ? ", " : "";

	k8s_buf_printf(&g->reasons, "%s%s", sep, reason);
	k8s_buf_printf(&g->detail, "%s%s", sep, reason);
	if (detail && detail->len)
		k8s_buf_printf(&g->detail, " (%s)", detail->p);
	g->n++;
}

void psa_agg_free(struct psa_agg *g)
{
	k8s_buf_free(&g->reasons);
	k8s_buf_free(&g->detail);
}

/* ---- reading the pod ---- */

struct psa_pod {
	const struct jv *meta, *spec;
	int minor; /* the policy version evaluated */
};

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

static const struct jv *psc(const struct psa_pod *p)
{
	return jv_get(p->spec, "securityContext");
}

/* visitContainers: init containers, containers, then ephemeral containers */
#define FOR_CONTAINERS(p, c)                                                             \
	for (int _l = 0; _l < 3; _l++)                                                   \
		for (const struct jv *c =                                                \
			 jv_first(jv_get((p)->spec, _l == 0   ? "initContainers"         \
						    : _l == 1 ? "containers"             \
							      : "ephemeralContainers")); \
		     c; c = c->next)

static bool windows_pod(const struct psa_pod *p)
{
	return jv_is_str(jv_path(p->spec, "os.name"), "windows");
}

/* "pod and containers "a"": "pod" when pod_bad, then the containers */
static void setters_msg(struct k8s_buf *out, bool pod_bad, const struct psa_set *containers)
{
	bool first = true;

	if (pod_bad)
		put_setter(out, &first, "pod");
	put_containers(out, &first, containers);
}

/* `container(s) "a", "b"` then tail, after a prefix ("", "pod or ", "; ") */
static void containers_msg(struct k8s_buf *d, const char *prefix, const struct psa_set *c,
			   const char *tail)
{
	k8s_buf_printf(d, "%s%s ", prefix, plural("container", "containers", c->n));
	join_quote(d, c);
	k8s_buf_puts(d, tail);
}

/* The checks of one field set on the pod's securityContext (pod_field, NULL: containers only)
 * or a container's (securityContext.field), bad when bad() says so: reason, with the setters
 * ("pod and containers "a"") and tail as the detail. */
static void check_setters(const struct psa_pod *p, struct psa_agg *g, const char *pod_field,
			  const char *field, bool (*bad)(const struct jv *v), const char *tail,
			  const char *reason)
{
	struct psa_set containers = {0};
	struct k8s_buf d = {0};
	bool pod_bad = pod_field && bad(jv_path(psc(p), pod_field));
	char path[128];

	snprintf(path, sizeof(path), "securityContext.%s", field);
	FOR_CONTAINERS(p, c)
	if (bad(jv_path(c, path)))
		set_push(&containers, psa_cname(c));
	if (pod_bad || containers.n) {
		setters_msg(&d, pod_bad, &containers);
		k8s_buf_puts(&d, tail);
		agg_fail(g, reason, &d);
	}
	k8s_buf_free(&d);
}

/* ---- baseline checks ---- */

static bool apparmor_type_ok(const struct jv *prof)
{
	const char *t = jv_path_str(prof, "type");

	return t && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0);
}

/* check_appArmorProfile.go appArmorProfile_1_0 */
static void check_apparmor(const struct psa_pod *p, struct psa_agg *g)
{
	static const char prefix[] = "container.apparmor.security.beta.kubernetes.io/";
	struct psa_set values = {0}, containers = {0}, annotations = {0};
	struct k8s_buf ann = {0}, d = {0};
	const struct jv *prof = jv_get(psc(p), "appArmorProfile");
	size_t offs[PSA_SET_MAX], nann = 0;
	bool pod_bad = false, first = true;

	if (prof && !apparmor_type_ok(prof)) {
		pod_bad = true;
		set_insert(&values, jv_path_str(prof, "type"));
	}
	FOR_CONTAINERS(p, c)
	{
		const struct jv *cp = jv_path(c, "securityContext.appArmorProfile");

		if (cp && !apparmor_type_ok(cp)) {
			set_push(&containers, psa_cname(c));
			set_insert(&values, jv_path_str(cp, "type"));
		}
	}
	for (const struct jv *a = jv_first(jv_get(p->meta, "annotations")); a; a = a->next) {
		const char *v = a->type == JV_STRING ? a->s : "";

		if (strncmp(a->key, prefix, sizeof(prefix) - 1) != 0 || !v[0] ||
		    strcmp(v, "runtime/default") == 0 || strncmp(v, "localhost/", 10) == 0)
			continue;
		if (nann < PSA_SET_MAX) {
			offs[nann++] = ann.len;
			k8s_buf_printf(&ann, "%.*s=\"%s\"", (int)a->klen, a->key, v);
			k8s_buf_putc(&ann, 0);
		}
	}
	for (size_t i = 0; i < nann; i++)
		set_insert(&annotations, ann.p + offs[i]);
	if (pod_bad)
		put_setter(&d, &first, "pod");
	put_containers(&d, &first, &containers);
	for (size_t i = 0; i < annotations.n; i++)
		set_push(&values, annotations.v[i]); /* after the sorted types, sorted too */
	if (annotations.n)
		put_setter(&d, &first, plural("annotation", "annotations", annotations.n));
	if (!first) {
		k8s_buf_puts(&d, " must not set AppArmor profile type to ");
		join_quote(&d, &values);
		agg_fail(
		    g,
		    plural("forbidden AppArmor profile", "forbidden AppArmor profiles", values.n),
		    &d);
	}
	k8s_buf_free(&ann);
	k8s_buf_free(&d);
}

/* check_capabilities_baseline.go capabilitiesBaseline_1_0 */
static void check_capabilities_baseline(const struct psa_pod *p, struct psa_agg *g)
{
	static const char *const allowed[] = {
	    "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE",	 "FOWNER",  "FSETID",
	    "KILL",	   "MKNOD",  "NET_BIND_SERVICE", "SETFCAP", "SETGID",
	    "SETPCAP",	   "SETUID", "SYS_CHROOT"};
	struct psa_set containers = {0}, caps = {0};
	struct k8s_buf d = {0};

	FOR_CONTAINERS(p, c)
	{
		const struct jv *cap = jv_path(c, "securityContext.capabilities");
		bool valid = true;

		for (const struct jv *x = jv_first(jv_get(cap, "add")); x; x = x->next) {
			bool ok = false;

			for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
				ok = ok || jv_is_str(x, allowed[i]);
			if (!ok) {
				valid = false;
				set_insert(&caps, x->type == JV_STRING ? x->s : "");
			}
		}
		if (!valid)
			set_push(&containers, psa_cname(c));
	}
	if (!containers.n)
		return;
	containers_msg(&d, "", &containers, " must not include ");
	join_quote(&d, &caps);
	k8s_buf_puts(&d, " in securityContext.capabilities.add");
	agg_fail(g, "non-default capabilities", &d);
	k8s_buf_free(&d);
}

/* check_hostNamespaces.go hostNamespaces_1_0 */
static void check_host_namespaces(const struct psa_pod *p, struct psa_agg *g)
{
	static const char *const fields[] = {"hostNetwork", "hostPID", "hostIPC"};
	struct k8s_buf d = {0};

	for (size_t i = 0; i < 3; i++)
		if (is_true(jv_get(p->spec, fields[i])))
			k8s_buf_printf(&d, "%s%s=true", d.len ? ", " : "", fields[i]);
	if (d.len)
		agg_fail(g, "host namespaces", &d);
	k8s_buf_free(&d);
}

/* check_hostPathVolumes.go hostPathVolumes_1_0 */
static void check_host_path_volumes(const struct psa_pod *p, struct psa_agg *g)
{
	struct psa_set vols = {0};
	struct k8s_buf d = {0};

	for (const struct jv *v = jv_first(jv_get(p->spec, "volumes")); v; v = v->next)
		if (jv_get(v, "hostPath"))
			set_push(&vols, jv_path_str(v, "name"));
	if (!vols.n)
		return;
	k8s_buf_printf(&d, "%s ", plural("volume", "volumes", vols.n));
	join_quote(&d, &vols);
	agg_fail(g, "hostPath volumes", &d);
	k8s_buf_free(&d);
}

/* check_hostPorts.go hostPorts_1_0 */
static void check_host_ports(const struct psa_pod *p, struct psa_agg *g)
{
	struct psa_set containers = {0}, ports = {0};
	struct k8s_buf d = {0};

	FOR_CONTAINERS(p, c)
	{
		bool valid = true;

		for (const struct jv *port = jv_first(jv_get(c, "ports")); port;
		     port = port->next) {
			const struct jv *hp = jv_get(port, "hostPort");
			int64_t v = 0;

			if (hp && jv_int(hp, &v) == 0 && v != 0) {
				valid = false;
				set_insert(&ports, hp->s);
			}
		}
		if (!valid)
			set_push(&containers, psa_cname(c));
	}
	if (!containers.n)
		return;
	containers_msg(&d, "", &containers, "");
	k8s_buf_printf(&d, " %s %s ", plural("uses", "use", containers.n),
		       plural("hostPort", "hostPorts", ports.n));
	join(&d, &ports, ", ");
	agg_fail(g, "hostPort", &d);
	k8s_buf_free(&d);
}

/* check_privileged.go privileged_1_0 */
static void check_privileged(const struct psa_pod *p, struct psa_agg *g)
{
	check_setters(p, g, NULL, "privileged", is_true,
		      " must not set securityContext.privileged=true", "privileged");
}

/* check_procMount.go procMount_1_0 (the user-namespace relaxation is behind the alpha
 * UserNamespacesPodSecurityStandards gate, off in 1.32) */
static void check_proc_mount(const struct psa_pod *p, struct psa_agg *g)
{
	struct psa_set containers = {0}, types = {0};
	struct k8s_buf d = {0};

	FOR_CONTAINERS(p, c)
	{
		const struct jv *pm = jv_path(c, "securityContext.procMount");

		if (pm && !jv_is_str(pm, "Default")) {
			set_push(&containers, psa_cname(c));
			set_insert(&types, pm->type == JV_STRING ? pm->s : "");
		}
	}
	if (!containers.n)
		return;
	containers_msg(&d, "", &containers, " must not set securityContext.procMount to ");
	join_quote(&d, &types);
	agg_fail(g, "procMount", &d);
	k8s_buf_free(&d);
}

struct selinux_scan {
	struct psa_set types;
	bool user, role;
	int minor;
};

/* seLinuxOptions_1_0's allowed types; 1.31 adds container_engine_t (seLinuxOptions1_31) */
static bool selinux_ok(struct selinux_scan *s, const struct jv *o)
{
	const char *t = jv_path_str(o, "type"), *u = jv_path_str(o, "user");
	const char *r = jv_path_str(o, "role");
	bool valid = true;

	t = t ? t : "";
	if (t[0] && strcmp(t, "container_t") != 0 && strcmp(t, "container_init_t") != 0 &&
	    strcmp(t, "container_kvm_t") != 0 &&
	    (s->minor < 31 || strcmp(t, "container_engine_t") != 0)) {
		valid = false;
		set_insert(&s->types, t);
	}
	if (u && u[0]) {
		valid = false;
		s->user = true;
	}
	if (r && r[0]) {
		valid = false;
		s->role = true;
	}
	return valid;
}

/* check_seLinuxOptions.go seLinuxOptions_1_0 / seLinuxOptions1_31 */
static void check_selinux(const struct psa_pod *p, struct psa_agg *g)
{
	struct selinux_scan s = {.minor = p->minor};
	struct psa_set containers = {0};
	const struct jv *o = jv_get(psc(p), "seLinuxOptions");
	struct k8s_buf d = {0};
	bool pod_bad = o && !selinux_ok(&s, o);
	const char *sep = "";

	FOR_CONTAINERS(p, c)
	{
		const struct jv *co = jv_path(c, "securityContext.seLinuxOptions");

		if (co && !selinux_ok(&s, co))
			set_push(&containers, psa_cname(c));
	}
	if (!pod_bad && !containers.n)
		return;
	setters_msg(&d, pod_bad, &containers);
	k8s_buf_puts(&d, " set forbidden securityContext.seLinuxOptions: ");
	if (s.types.n) {
		k8s_buf_printf(&d, "%s ", plural("type", "types", s.types.n));
		join_quote(&d, &s.types);
		sep = "; ";
	}
	if (s.user) {
		k8s_buf_printf(&d, "%suser may not be set", sep);
		sep = "; ";
	}
	if (s.role)
		k8s_buf_printf(&d, "%srole may not be set", sep);
	agg_fail(g, "seLinuxOptions", &d);
	k8s_buf_free(&d);
}

static bool seccomp_ok(const struct jv *prof)
{
	const char *t = jv_path_str(prof, "type");

	return t && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0);
}

static bool seccomp_annotation_ok(const char *v)
{
	return strcmp(v, "runtime/default") == 0 || strcmp(v, "docker/default") == 0 ||
	       strncmp(v, "localhost/", 10) == 0;
}

/* check_seccompProfile_baseline.go seccompProfileBaseline_1_0: the alpha annotations */
static void check_seccomp_baseline_1_0(const struct psa_pod *p, struct psa_agg *g)
{
	static const char pod_key[] = "seccomp.security.alpha.kubernetes.io/pod";
	const struct jv *ann = jv_get(p->meta, "annotations");
	struct k8s_buf strs = {0}, d = {0};
	struct psa_set bad = {0};
	size_t offs[PSA_SET_MAX], n = 0;
	const struct jv *pv = jv_get(ann, pod_key);
	const char *v = pv && pv->type == JV_STRING ? pv->s : NULL;

	if (v && !seccomp_annotation_ok(v)) {
		offs[n++] = strs.len;
		k8s_buf_printf(&strs, "%s=\"%s\"", pod_key, v);
		k8s_buf_putc(&strs, 0);
	}
	FOR_CONTAINERS(p, c)
	{
		char key[320];

		snprintf(key, sizeof(key), "container.seccomp.security.alpha.kubernetes.io/%s",
			 psa_cname(c));
		v = jv_get(ann, key) && jv_get(ann, key)->type == JV_STRING ? jv_get(ann, key)->s
									    : NULL;
		if (v && !seccomp_annotation_ok(v) && n < PSA_SET_MAX) {
			offs[n++] = strs.len;
			k8s_buf_printf(&strs, "%s=\"%s\"", key, v);
			k8s_buf_putc(&strs, 0);
		}
	}
	for (size_t i = 0; i < n; i++)
		set_insert(&bad, strs.p + offs[i]);
	if (bad.n) {
		k8s_buf_printf(&d, "forbidden %s ", plural("annotation", "annotations", bad.n));
		join(&d, &bad, ", ");
		agg_fail(g, "seccompProfile", &d);
	}
	k8s_buf_free(&strs);
	k8s_buf_free(&d);
}

/* The explicit bad seccomp profiles of the pod and its containers (seccompProfile*_1_19):
 * true when there were; implicit collects the containers without one when the pod has no
 * valid one (restricted). */
static bool seccomp_scan(const struct psa_pod *p, struct k8s_buf *d, struct psa_set *implicit)
{
	const struct jv *prof = jv_get(psc(p), "seccompProfile");
	struct psa_set containers = {0}, values = {0};
	bool pod_bad = prof && !seccomp_ok(prof), pod_set = prof && !pod_bad;

	if (pod_bad)
		set_insert(&values, jv_path_str(prof, "type"));
	FOR_CONTAINERS(p, c)
	{
		const struct jv *cp = jv_path(c, "securityContext.seccompProfile");

		if (cp && !seccomp_ok(cp)) {
			set_push(&containers, psa_cname(c));
			set_insert(&values, jv_path_str(cp, "type"));
		} else if (!cp && !pod_set && implicit) {
			set_push(implicit, psa_cname(c));
		}
	}
	if (!pod_bad && !containers.n)
		return false;
	setters_msg(d, pod_bad, &containers);
	k8s_buf_puts(d, " must not set securityContext.seccompProfile.type to ");
	join_quote(d, &values);
	return true;
}

/* check_seccompProfile_baseline.go seccompProfileBaseline_1_19 (_1_0 before 1.19) */
static void check_seccomp_baseline(const struct psa_pod *p, struct psa_agg *g)
{
	struct k8s_buf d = {0};

	if (p->minor < 19) {
		check_seccomp_baseline_1_0(p, g);
		return;
	}
	if (seccomp_scan(p, &d, NULL))
		agg_fail(g, "seccompProfile", &d);
	k8s_buf_free(&d);
}

/* check_sysctls.go: the safe set of sysctls_1_0, grown in 1.27, 1.29 and 1.32 */
static bool sysctl_safe(const char *n, int minor)
{
	static const struct {
		const char *name;
		int since;
	} safe[] = {
	    {"kernel.shm_rmid_forced", 0},
	    {"net.ipv4.ip_local_port_range", 0},
	    {"net.ipv4.tcp_syncookies", 0},
	    {"net.ipv4.ping_group_range", 0},
	    {"net.ipv4.ip_unprivileged_port_start", 0},
	    {"net.ipv4.ip_local_reserved_ports", 27},
	    {"net.ipv4.tcp_keepalive_time", 29},
	    {"net.ipv4.tcp_fin_timeout", 29},
	    {"net.ipv4.tcp_keepalive_intvl", 29},
	    {"net.ipv4.tcp_keepalive_probes", 29},
	    {"net.ipv4.tcp_rmem", 32},
	    {"net.ipv4.tcp_wmem", 32},
	};

	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		if (minor >= safe[i].since && strcmp(n, safe[i].name) == 0)
			return true;
	return false;
}

/* check_sysctls.go sysctls_1_0, _1_27, _1_29, sysctlsV1Dot32 */
static void check_sysctls(const struct psa_pod *p, struct psa_agg *g)
{
	struct k8s_buf d = {0};

	for (const struct jv *s = jv_first(jv_get(psc(p), "sysctls")); s; s = s->next) {
		const char *n = jv_path_str(s, "name");

		if (!sysctl_safe(n ? n : "", p->minor))
			k8s_buf_printf(&d, "%s%s", d.len ? ", " : "", n ? n : "");
	}
	if (d.len)
		agg_fail(g, "forbidden sysctls", &d);
	k8s_buf_free(&d);
}

/* check_windowsHostProcess.go windowsHostProcess_1_0 */
static void check_host_process(const struct psa_pod *p, struct psa_agg *g)
{
	check_setters(p, g, "windowsOptions.hostProcess", "windowsOptions.hostProcess", is_true,
		      " must not set securityContext.windowsOptions.hostProcess=true",
		      "hostProcess");
}

/* ---- restricted checks ---- */

static bool not_false(const struct jv *v)
{
	return !v || v->type != JV_FALSE;
}

/* check_allowPrivilegeEscalation.go allowPrivilegeEscalation_1_8 (_1_25: Windows pods
 * pass) */
static void check_allow_privilege_escalation(const struct psa_pod *p, struct psa_agg *g)
{
	if (p->minor >= 25 && windows_pod(p))
		return;
	check_setters(p, g, NULL, "allowPrivilegeEscalation", not_false,
		      " must set securityContext.allowPrivilegeEscalation=false",
		      "allowPrivilegeEscalation != false");
}

/* check_capabilities_restricted.go capabilitiesRestricted_1_22 (_1_25: Windows pods pass) */
static void check_capabilities_restricted(const struct psa_pod *p, struct psa_agg *g)
{
	struct psa_set no_drop = {0}, adding = {0}, caps = {0};
	struct k8s_buf d = {0};

	if (p->minor >= 25 && windows_pod(p))
		return;
	FOR_CONTAINERS(p, c)
	{
		const struct jv *cap = jv_path(c, "securityContext.capabilities");
		bool dropped = false, added = false;

		if (!cap) {
			set_push(&no_drop, psa_cname(c));
			continue;
		}
		for (const struct jv *x = jv_first(jv_get(cap, "drop")); x; x = x->next)
			dropped = dropped || jv_is_str(x, "ALL");
		if (!dropped)
			set_push(&no_drop, psa_cname(c));
		for (const struct jv *x = jv_first(jv_get(cap, "add")); x; x = x->next) {
			if (!jv_is_str(x, "NET_BIND_SERVICE")) {
				added = true;
				set_insert(&caps, x->type == JV_STRING ? x->s : "");
			}
		}
		if (added)
			set_push(&adding, psa_cname(c));
	}
	if (no_drop.n)
		containers_msg(&d, "", &no_drop,
			       " must set securityContext.capabilities.drop=[\"ALL\"]");
	if (adding.n) {
		containers_msg(&d, d.len ? "; " : "", &adding, " must not include ");
		join_quote(&d, &caps);
		k8s_buf_puts(&d, " in securityContext.capabilities.add");
	}
	if (d.len)
		agg_fail(g, "unrestricted capabilities", &d);
	k8s_buf_free(&d);
}

/* check_restrictedVolumes.go restrictedVolumes_1_0: the volume sources restricted pods may
 * use, and the names the others are reported by (its switch's order) */
static void check_restricted_volumes(const struct psa_pod *p, struct psa_agg *g)
{
	static const char *const allowed[] = {"configMap", "csi",	"downwardAPI",
					      "emptyDir",  "ephemeral", "persistentVolumeClaim",
					      "projected", "secret"};
	static const char *const named[] = {"hostPath",
					    "gcePersistentDisk",
					    "awsElasticBlockStore",
					    "gitRepo",
					    "nfs",
					    "iscsi",
					    "glusterfs",
					    "rbd",
					    "flexVolume",
					    "cinder",
					    "cephfs",
					    "flocker",
					    "fc",
					    "azureFile",
					    "vsphereVolume",
					    "quobyte",
					    "azureDisk",
					    "photonPersistentDisk",
					    "portworxVolume",
					    "scaleIO",
					    "storageos"};
	struct psa_set vols = {0}, types = {0};
	struct k8s_buf d = {0};

	for (const struct jv *v = jv_first(jv_get(p->spec, "volumes")); v; v = v->next) {
		const char *type = "unknown";
		bool ok = false;

		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok = ok || jv_get(v, allowed[i]);
		if (ok)
			continue;
		set_push(&vols, jv_path_str(v, "name"));
		for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
			if (jv_get(v, named[i])) {
				type = named[i];
				break;
			}
		set_insert(&types, type);
	}
	if (!vols.n)
		return;
	k8s_buf_printf(&d, "%s ", plural("volume", "volumes", vols.n));
	join_quote(&d, &vols);
	k8s_buf_printf(&d, " %s %s ", plural("uses", "use", vols.n),
		       plural("restricted volume type", "restricted volume types", types.n));
	join_quote(&d, &types);
	agg_fail(g, "restricted volume types", &d);
	k8s_buf_free(&d);
}

/* check_runAsNonRoot.go runAsNonRoot_1_0 */
static void check_run_as_non_root(const struct psa_pod *p, struct psa_agg *g)
{
	const struct jv *v = jv_get(psc(p), "runAsNonRoot");
	struct psa_set bad = {0}, implicit = {0};
	bool pod_bad = v && v->type == JV_FALSE, pod_set = is_true(v);
	struct k8s_buf d = {0};

	FOR_CONTAINERS(p, c)
	{
		const struct jv *cv = jv_path(c, "securityContext.runAsNonRoot");

		if (cv && (cv->type == JV_TRUE || cv->type == JV_FALSE)) {
			if (cv->type == JV_FALSE)
				set_push(&bad, psa_cname(c));
		} else if (!pod_set) {
			set_push(&implicit, psa_cname(c));
		}
	}
	if (pod_bad || bad.n) {
		setters_msg(&d, pod_bad, &bad);
		k8s_buf_puts(&d, " must not set securityContext.runAsNonRoot=false");
	} else if (implicit.n) {
		containers_msg(&d, "pod or ", &implicit,
			       " must set securityContext.runAsNonRoot=true");
	}
	if (d.len)
		agg_fail(g, "runAsNonRoot != true", &d);
	k8s_buf_free(&d);
}

static bool uid_zero(const struct jv *v)
{
	int64_t u = -1;

	return v && jv_int(v, &u) == 0 && u == 0;
}

/* check_runAsUser.go runAsUser_1_23 */
static void check_run_as_user(const struct psa_pod *p, struct psa_agg *g)
{
	check_setters(p, g, "runAsUser", "runAsUser", uid_zero, " must not set runAsUser=0",
		      "runAsUser=0");
}

/* check_seccompProfile_restricted.go seccompProfileRestricted_1_19 (_1_25: Windows pods
 * pass) */
static void check_seccomp_restricted(const struct psa_pod *p, struct psa_agg *g)
{
	struct psa_set implicit = {0};
	struct k8s_buf d = {0};

	if (p->minor >= 25 && windows_pod(p))
		return;
	if (!seccomp_scan(p, &d, &implicit) && implicit.n) {
		containers_msg(&d, "pod or ", &implicit,
			       " must set securityContext.seccompProfile.type to "
			       "\"RuntimeDefault\" or \"Localhost\"");
	}
	if (d.len)
		agg_fail(g, "seccompProfile", &d);
	k8s_buf_free(&d);
}

/* ---- the registry of checks (policy/registry.go) ---- */

struct psa_check {
	const char *id;
	enum psa_level level;
	int since;	   /* the first policy version it applies to */
	int overridden_at; /* baseline: restricted levels from this version skip it (-1: never) */
	void (*fn)(const struct psa_pod *p, struct psa_agg *g);
};

/* Sorted by ID within each level, baseline first: the order of the messages. A restricted
 * check's OverrideCheckIDs drop the baseline check it covers from restricted evaluations
 * (restrictedVolumes over hostPathVolumes, capabilities_restricted over
 * capabilities_baseline from 1.22, seccompProfile_restricted over seccompProfile_baseline
 * from 1.19). */
static const struct psa_check psa_checks[] = {
    {"appArmorProfile", PSA_BASELINE, 0, -1, check_apparmor},
    {"capabilities_baseline", PSA_BASELINE, 0, 22, check_capabilities_baseline},
    {"hostNamespaces", PSA_BASELINE, 0, -1, check_host_namespaces},
    {"hostPathVolumes", PSA_BASELINE, 0, 0, check_host_path_volumes},
    {"hostPorts", PSA_BASELINE, 0, -1, check_host_ports},
    {"privileged", PSA_BASELINE, 0, -1, check_privileged},
    {"procMount", PSA_BASELINE, 0, -1, check_proc_mount},
    {"seLinuxOptions", PSA_BASELINE, 0, -1, check_selinux},
    {"seccompProfile_baseline", PSA_BASELINE, 0, 19, check_seccomp_baseline},
    {"sysctls", PSA_BASELINE, 0, -1, check_sysctls},
    {"windowsHostProcess", PSA_BASELINE, 0, -1, check_host_process},
    {"allowPrivilegeEscalation", PSA_RESTRICTED, 8, -1, check_allow_privilege_escalation},
    {"capabilities_restricted", PSA_RESTRICTED, 22, -1, check_capabilities_restricted},
    {"restrictedVolumes", PSA_RESTRICTED, 0, -1, check_restricted_volumes},
    {"runAsNonRoot", PSA_RESTRICTED, 0, -1, check_run_as_non_root},
    {"runAsUser", PSA_RESTRICTED, 23, -1, check_run_as_user},
    {"seccompProfile_restricted", PSA_RESTRICTED, 19, -1, check_seccomp_restricted},
};

/* checkRegistry.EvaluatePod, aggregated: 0 checks failed when g->n stays 0 */
void psa_evaluate(struct psa_lv lv, const struct jv *meta, const struct jv *spec, struct psa_agg *g)
{
	struct psa_pod p = {.meta = meta, .spec = spec, .minor = lv.minor};

	if (lv.level == PSA_PRIVILEGED)
		return;
	if (p.minor < 0 || p.minor > PSA_MAX_MINOR)
		p.minor = PSA_MAX_MINOR;
	for (size_t i = 0; i < sizeof(psa_checks) / sizeof(psa_checks[0]); i++) {
		const struct psa_check *c = &psa_checks[i];

		if (c->level > lv.level || p.minor < c->since)
			continue;
		if (lv.level == PSA_RESTRICTED && c->overridden_at >= 0 &&
		    p.minor >= c->overridden_at)
			continue;
		c->fn(&p, g);
	}
}
