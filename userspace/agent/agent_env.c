/* SPDX-License-Identifier: Apache-2.0 */
/* agent_env: the kubelet's container environment and $(VAR) expansion (agent_env.h). */
#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_env.h"
#include "k8s_buf.h"

int env_set(struct env_list *l, const char *name, const char *value)
{
	char *v = strdup(value ? value : ""), *n;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name)) {
			free(l->v[i].value);
			l->v[i].value = v;
			return 0;
		}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct env_kv *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		l->v = nv;
		l->cap = cap;
	}
	if (!(n = strdup(name))) {
		free(v);
		return -ENOMEM;
	}
	l->v[l->n++] = (struct env_kv){n, v};
	return 0;
}

const char *env_get(const struct env_list *l, const char *name)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return l->v[i].value;
	return NULL;
}

void env_list_free(struct env_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

char *env_expand(const char *in, const struct env_list *ctx)
{
	return env_expand2(in, ctx, NULL);
}

char *env_expand2(const char *in, const struct env_list *ctx, const struct env_list *more)
{
	struct k8s_buf b = {0};
	size_t len = strlen(in), checkpoint = 0;

	for (size_t cur = 0; cur < len; cur++) {
		const char *rest, *close;

		if (in[cur] != '$' || cur + 1 >= len)
			continue;
		k8s_buf_put(&b, in + checkpoint, cur - checkpoint);
		rest = in + cur + 1;
		if (*rest == '$') {
			k8s_buf_putc(&b, '$'); /* escaped operator */
		} else if (*rest == '(' && (close = strchr(rest + 1, ')'))) {
			size_t nl = (size_t)(close - rest - 1);
			char *name = strndup(rest + 1, nl);
			const char *v = name ? env_get(ctx, name) : NULL;

			if (name && !v)
				v = env_get(more, name);

			if (!name) {
				k8s_buf_free(&b);
				return NULL;
			}
			if (v)
				k8s_buf_puts(&b, v);
			else /* unknown: kept as written */
				k8s_buf_printf(&b, "$(%s)", name);
			free(name);
			cur += nl + 1;
		} else if (*rest == '(') {
			k8s_buf_puts(&b, "$("); /* incomplete reference */
		} else {
			k8s_buf_putc(&b, '$'); /* not an expression: the operator and the byte */
			k8s_buf_putc(&b, *rest);
		}
		cur += 1;
		checkpoint = cur + 1;
	}
	k8s_buf_put(&b, in + checkpoint, len - checkpoint);
	k8s_buf_putc(&b, 0);
	if (b.oom) {
		k8s_buf_free(&b);
		return NULL;
	}
	return b.p;
}

/* A Secret's data value (base64) decoded into a NUL-terminated string. */
static char *secret_value(const char *b64)
{
	gnutls_datum_t in = {(unsigned char *)b64, (unsigned)strlen(b64)}, out = {NULL, 0};
	char *s;

	if (!in.size)
		return strdup("");
	if (gnutls_base64_decode2(&in, &out) < 0)
		return NULL;
	s = malloc(out.size + 1);
	if (s) {
		memcpy(s, out.data, out.size);
		s[out.size] = 0;
	}
	gnutls_free(out.data);
	return s;
}

/* The objects read so far (the kubelet's per-call configMaps/secrets maps). */
struct cache {
	struct jv_doc *d;
	struct {
		bool secret;
		const char *name;
		struct jv *obj; /* NULL: not found */
	} e[64];
	size_t n;
};

/* The object, read once; 0 (*obj NULL when missing), or -errno with err set. */
static int lookup(struct cache *c, bool secret, const char *ns, const char *name,
		  env_get_obj_fn get, void *arg, struct jv **obj, char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].secret == secret && !strcmp(c->e[i].name, name)) {
			*obj = c->e[i].obj;
			return 0;
		}
	*obj = NULL;
	rc = get(arg, secret ? "Secret" : "ConfigMap", ns, name, c->d, obj, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT)
		*obj = NULL;
	if (c->n < sizeof(c->e) / sizeof(c->e[0])) {
		c->e[c->n].secret = secret;
		c->e[c->n].name = name;
		c->e[c->n].obj = *obj;
		c->n++;
	}
	return 0;
}

static int not_found(bool secret, const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
	return -EINVAL;
}

static int from_sources(const struct jv *ctr, const char *ns, struct cache *c, env_get_obj_fn get,
			void *arg, struct env_list *tmp, char *err, size_t errlen)
{
	for (const struct jv *f = jv_first(jv_get(ctr, "envFrom")); f; f = f->next) {
		const struct jv *ref = jv_get(f, "configMapRef");
		bool secret = !ref;
		const char *prefix = jv_path_str(f, "prefix"), *name;
		struct jv *obj;
		int rc;

		if (!ref && !(ref = jv_get(f, "secretRef")))
			continue;
		name = jv_path_str(ref, "name");
		if (!name)
			name = "";
		rc = lookup(c, secret, ns, name, get, arg, &obj, err, errlen);
		if (rc)
			return rc;
		if (!obj) {
			if (jv_get(ref, "optional") && jv_get(ref, "optional")->type == JV_TRUE)
				continue; /* optional: ignored when missing */
			return not_found(secret, name, err, errlen);
		}
		for (const struct jv *kv = jv_first(jv_get(obj, "data")); kv; kv = kv->next) {
			char key[512], *v;

			if (kv->type != JV_STRING)
				continue;
			snprintf(key, sizeof(key), "%s%.*s", prefix ? prefix : "", (int)kv->klen,
				 kv->key);
			v = secret ? secret_value(kv->s) : strdup(kv->s);
			if (!v || env_set(tmp, key, v)) {
				free(v);
				return -ENOMEM;
			}
			free(v);
		}
	}
	return 0;
}

/* One env item's valueFrom key reference. 0 and *val (malloc'd; NULL: optional, skip it). */
static int key_ref(const struct jv *ref, bool secret, const char *ns, struct cache *c,
		   env_get_obj_fn get, void *arg, char **val, char *err, size_t errlen)
{
	const char *name = jv_path_str(ref, "name"), *key = jv_path_str(ref, "key");
	bool optional = jv_get(ref, "optional") && jv_get(ref, "optional")->type == JV_TRUE;
	const struct jv *v;
	struct jv *obj;
	int rc;

	*val = NULL;
	name = name ? name : "";
	key = key ? key : "";
	rc = lookup(c, secret, ns, name, get, arg, &obj, err, errlen);
	if (rc)
		return rc;
	if (!obj)
		return optional ? 0 : not_found(secret, name, err, errlen);
	v = jv_get(jv_get(obj, "data"), key);
	if (!v || v->type != JV_STRING) {
		if (optional)
			return 0;
		snprintf(err, errlen, "couldn't find key %s in %s %s/%s", key,
			 secret ? "Secret" : "ConfigMap", ns, name);
		return -EINVAL;
	}
	*val = secret ? secret_value(v->s) : strdup(v->s);
	return *val ? 0 : -ENOMEM;
}

int env_build(const struct jv *ctr, const char *ns, env_get_obj_fn get, env_field_fn field,
	      void *arg, const struct env_list *svc, struct env_list *out, char *err, size_t errlen)
{
	struct cache c = {.d = jv_doc_new()};
	int rc;

	if (!c.d)
		return -ENOMEM;
	/* envFrom first, env then replaces what it names */
	rc = from_sources(ctr, ns, &c, get, arg, out, err, errlen);
	for (const struct jv *e = jv_first(jv_get(ctr, "env")); !rc && e; e = e->next) {
		const char *name = jv_path_str(e, "name"), *value = jv_path_str(e, "value");
		const struct jv *vf = jv_get(e, "valueFrom"), *ref;
		char *v = NULL;

		if (!name)
			continue;
		if (value && value[0]) {
			/* expanded against what was declared before */
			if (!(v = env_expand2(value, out, svc)))
				rc = -ENOMEM;
		} else if (vf && (ref = jv_get(vf, "fieldRef"))) {
			const char *path = jv_path_str(ref, "fieldPath"),
				   *fv = path && field ? field(arg, path) : NULL;

			if (!fv) {
				snprintf(err, errlen, "unsupported fieldPath: %s",
					 path ? path : "");
				rc = -EINVAL;
			} else if (!(v = strdup(fv))) {
				rc = -ENOMEM;
			}
		} else if (vf && (ref = jv_get(vf, "configMapKeyRef"))) {
			rc = key_ref(ref, false, ns, &c, get, arg, &v, err, errlen);
			if (!rc && !v)
				continue;
		} else if (vf && (ref = jv_get(vf, "secretKeyRef"))) {
			rc = key_ref(ref, true, ns, &c, get, arg, &v, err, errlen);
			if (!rc && !v)
				continue;
		} else if (!(v = strdup(""))) {
			rc = -ENOMEM;
		}
		if (!rc)
			rc = env_set(out, name, v);
		free(v);
	}
	/* then the services' variables the container did not declare itself */
	for (size_t i = 0; !rc && svc && i < svc->n; i++)
		if (!env_get(out, svc->v[i].name))
			rc = env_set(out, svc->v[i].name, svc->v[i].value);
	jv_doc_free(c.d);
	return rc;
}

/* makeEnvVariableName: upper case, '-' as '_'. */
static void env_var_name(char *dst, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < cap; i++)
		dst[i] = s[i] == '-' ? '_' : (char)toupper((unsigned char)s[i]);
	dst[i] = 0;
}

static int envf(struct env_list *out, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int envf(struct env_list *out, const char *value, const char *fmt, ...)
{
	char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return env_set(out, name, value);
}

static void port_str(const struct jv *p, char *num, size_t cap)
{
	int64_t v = 0;

	jv_path_int(p, "port", &v);
	snprintf(num, cap, "%lld", (long long)v);
}

/* envvars.FromServices for one service with a cluster IP. */
static int service_vars(const struct jv *svc, struct env_list *out)
{
	const char *ip = jv_path_str(svc, "spec.clusterIP");
	const struct jv *port = jv_first(jv_path(svc, "spec.ports"));
	char pre[300], pname[300], proto[16], lproto[16], hp[128], url[160], num[16];
	int rc = 0, i = 0;

	env_var_name(pre, sizeof(pre), jv_path_str(svc, "metadata.name"));
	rc = envf(out, ip, "%s_SERVICE_HOST", pre);
	if (!port)
		return rc;
	port_str(port, num, sizeof(num));
	rc = rc ?: envf(out, num, "%s_SERVICE_PORT", pre);
	for (const struct jv *p = port; !rc && p; p = p->next) {
		const char *n = jv_path_str(p, "name");

		if (!n || !n[0])
			continue;
		env_var_name(pname, sizeof(pname), n);
		port_str(p, num, sizeof(num));
		rc = envf(out, num, "%s_SERVICE_PORT_%s", pre, pname);
	}
	/* makeLinkVariables: Docker's link variables, the first port also as PREFIX_PORT */
	for (const struct jv *p = port; !rc && p; p = p->next, i++) {
		const char *pr = jv_path_str(p, "protocol");

		snprintf(proto, sizeof(proto), "%s", pr && pr[0] ? pr : "TCP");
		env_var_name(proto, sizeof(proto), proto);
		for (size_t k = 0; k <= strlen(proto); k++)
			lproto[k] = (char)tolower((unsigned char)proto[k]);
		port_str(p, num, sizeof(num));
		/* net.JoinHostPort: an IPv6 address in brackets */
		snprintf(hp, sizeof(hp), strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, num);
		snprintf(url, sizeof(url), "%s://%s", lproto, hp);
		if (i == 0)
			rc = envf(out, url, "%s_PORT", pre);
		rc = rc ?: envf(out, url, "%s_PORT_%s_%s", pre, num, proto);
		rc = rc ?: envf(out, lproto, "%s_PORT_%s_%s_PROTO", pre, num, proto);
		rc = rc ?: envf(out, num, "%s_PORT_%s_%s_PORT", pre, num, proto);
		rc = rc ?: envf(out, ip, "%s_PORT_%s_%s_ADDR", pre, num, proto);
	}
	return rc;
}

int env_services(const struct jv *const *services, size_t n, const char *ns, bool links,
		 struct env_list *out)
{
	/* kubelet_pods.go getServiceEnvVarMap: by name; default/kubernetes when no service of
	 * that name was taken, the pod's namespace's (with links) over it */
	const struct jv **pick = calloc(n ? n : 1, sizeof(*pick));
	size_t m = 0;
	int rc = 0;

	if (!pick)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct jv *s = services[i];
		const char *ip = jv_path_str(s, "spec.clusterIP"),
			   *sns = jv_path_str(s, "metadata.namespace"),
			   *name = jv_path_str(s, "metadata.name");
		bool master = sns && name && !strcmp(sns, "default") && !strcmp(name, "kubernetes");
		bool own = links && sns && ns && !strcmp(sns, ns);
		size_t k;

		if (!ip || !ip[0] || !strcmp(ip, "None") || !name || (!master && !own))
			continue;
		for (k = 0; k < m; k++)
			if (!strcmp(jv_path_str(pick[k], "metadata.name"), name))
				break;
		if (k == m)
			pick[m++] = s;
		else if (own)
			pick[k] = s; /* the pod's namespace's over the master service */
	}
	for (size_t k = 0; !rc && k < m; k++)
		rc = service_vars(pick[k], out);
	free(pick);
	return rc;
}
