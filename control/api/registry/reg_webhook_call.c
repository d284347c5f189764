/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reg_webhook_call: one admission webhook call as kube-apiserver 1.32 makes it: the
 * AdmissionReview (admission.k8s.io/v1, or v1beta1 when the webhook lists it first:
 * request/admissionreview.go CreateAdmissionObjects), the endpoint (clientConfig.url, or
 * clientConfig.service resolved to one of its endpoints, verified as
 * <name>.<namespace>.svc: util/webhook ClientManager with the endpoint resolver), the HTTPS
 * POST over libcurl (GnuTLS: the caBundle is handed over as a memfd, as GnuTLS-built libcurl
 * honours no CAINFO_BLOB) with timeoutSeconds, the answer's checks (VerifyAdmissionResponse),
 * and what the dispatchers make of it (mutating/dispatcher.go callAttrMutatingHook,
 * validating/dispatcher.go callHook, errors/statuserror.go ToStatusErr): a refusal as the
 * webhook's Status, a failed call as 500 `failed calling webhook "<name>": ...` unless its
 * failurePolicy is Ignore, a JSON patch applied, warnings kept.
 */
#include <curl/curl.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api_patch.h"
#include "api_strategy.h"
#include "log.h"
#include "reg_webhook.h"

#define COMP "webhook"

/* ---- caBundle ---- */

/* A []byte field's base64 decoded (gnutls_free out->data): 0, or -EINVAL. */
static int b64_decode(const char *s, gnutls_datum_t *out)
{
	gnutls_datum_t in = {.data = (unsigned char *)s, .size = (unsigned)strlen(s)};

	*out = (gnutls_datum_t){0};
	return gnutls_base64_decode2(&in, out) < 0 ? -EINVAL : 0;
}

int reg_wh_ca_fd(const struct jv *w)
{
	const char *b = jv_path_str(w, "clientConfig.caBundle");
	gnutls_datum_t pem;
	int fd;

	if (!b || !b[0] || b64_decode(b, &pem) != 0)
		return -1;
	fd = memfd_create("webhook-ca", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, pem.data, pem.size) != (ssize_t)pem.size) {
		close(fd);
		fd = -1;
	}
	gnutls_free(pem.data);
	return fd;
}

/* ---- the request ---- */

static struct jv *strs(struct jv_doc *d, const char *const *v, size_t n)
{
	struct jv *arr = jv_new(d, JV_ARRAY);

	for (size_t i = 0; arr && i < n; i++)
		jv_push(arr, jv_new_strz(d, v[i]));
	return arr;
}

static struct jv *gvk(struct jv_doc *d, const struct api_resource *res)
{
	struct jv *o = jv_new(d, JV_OBJECT);

	jv_set(d, o, "group", jv_new_strz(d, res->kind->group));
	jv_set(d, o, "version", jv_new_strz(d, res->kind->version));
	jv_set(d, o, "kind", jv_new_strz(d, res->kind->kind));
	return o;
}

static struct jv *gvr(struct jv_doc *d, const struct api_resource *res)
{
	struct jv *o = jv_new(d, JV_OBJECT);

	jv_set(d, o, "group", jv_new_strz(d, res->kind->group));
	jv_set(d, o, "version", jv_new_strz(d, res->kind->version));
	jv_set(d, o, "resource", jv_new_strz(d, res->kind->resource));
	return o;
}

/* The operation's options (admission.Attributes.GetOperationOptions): CreateOptions or
 * UpdateOptions (a patch's too: patchToUpdateOptions), or the DeleteOptions. */
static struct jv *options(struct wh_attr *a)
{
	struct jv_doc *d = a->c->d;
	struct jv *o = jv_new(d, JV_OBJECT);
	static const char *const all[] = {"All"};

	jv_set(d, o, "kind",
	       jv_new_strz(d, !strcmp(a->op, "CREATE")	 ? "CreateOptions"
			      : !strcmp(a->op, "UPDATE") ? "UpdateOptions"
							 : "DeleteOptions"));
	jv_set(d, o, "apiVersion", jv_new_strz(d, "meta.k8s.io/v1"));
	if (a->c->dry_run)
		jv_set(d, o, "dryRun", strs(d, all, 1));
	if (strcmp(a->op, "DELETE") != 0) {
		if (a->c->rq->manager && a->c->rq->manager[0])
			jv_set(d, o, "fieldManager", jv_new_strz(d, a->c->rq->manager));
		return o;
	}
	if (a->dopts && a->dopts->grace >= 0)
		jv_set(d, o, "gracePeriodSeconds", jv_new_int(d, a->dopts->grace));
	if (a->dopts && (a->dopts->uid || a->dopts->rv)) {
		struct jv *p = jv_obj_at(d, o, "preconditions");

		if (a->dopts->uid)
			jv_set(d, p, "uid", jv_new_strz(d, a->dopts->uid));
		if (a->dopts->rv)
			jv_set(d, p, "resourceVersion", jv_new_strz(d, a->dopts->rv));
	}
	if (a->dopts && a->dopts->propagation)
		jv_set(d, o, "propagationPolicy", jv_new_strz(d, a->dopts->propagation));
	return o;
}

/* userInfo: the requester; the server's own writes are its loopback client's. */
static struct jv *user_info(struct wh_attr *a)
{
	struct jv_doc *d = a->c->d;
	const struct reg_req *rq = a->c->rq;
	struct jv *u = jv_new(d, JV_OBJECT), *g = jv_new(d, JV_ARRAY);
	bool authed = false;

	if (!rq->user) {
		static const char *const loopback[] = {"system:masters", "system:authenticated"};

		jv_set(d, u, "username", jv_new_strz(d, "system:apiserver"));
		jv_set(d, u, "groups", strs(d, loopback, 2));
		return u;
	}
	jv_set(d, u, "username", jv_new_strz(d, rq->user));
	for (unsigned i = 0; i < rq->ngroups; i++) {
		jv_push(g, jv_new_strz(d, rq->groups[i]));
		authed |= !strcmp(rq->groups[i], "system:authenticated");
	}
	/* the authenticator adds system:authenticated to every user but the anonymous one */
	if (!authed && strcmp(rq->user, "system:anonymous") != 0)
		jv_push(g, jv_new_strz(d, "system:authenticated"));
	jv_set(d, u, "groups", g);
	return u;
}

/* An object in the version res serves (a copy when it is not the stored one). */
static struct jv *in_version(struct wh_attr *a, const struct api_resource *res,
			     const struct jv *obj)
{
	struct jv *o;

	if (!obj)
		return jv_new(a->c->d, JV_NULL);
	o = jv_copy(a->c->d, obj);
	if (o && res != a->c->res && res->from_storage)
		res->from_storage(res, a->c->d, o);
	return o;
}

static char *review(struct wh_attr *a, const struct api_resource *res, const char *ver,
		    const char *uid, struct jv **sent, size_t *len)
{
	struct jv_doc *d = a->c->d;
	struct jv *r = jv_new(d, JV_OBJECT), *q = jv_new(d, JV_OBJECT);
	char av[48];

	snprintf(av, sizeof(av), "admission.k8s.io/%s", ver);
	jv_set(d, r, "kind", jv_new_strz(d, "AdmissionReview"));
	jv_set(d, r, "apiVersion", jv_new_strz(d, av));
	jv_set(d, r, "request", q);
	jv_set(d, q, "uid", jv_new_strz(d, uid));
	jv_set(d, q, "kind", gvk(d, res));
	jv_set(d, q, "resource", gvr(d, res));
	if (a->sub)
		jv_set(d, q, "subResource", jv_new_strz(d, a->sub));
	jv_set(d, q, "requestKind", gvk(d, a->req));
	jv_set(d, q, "requestResource", gvr(d, a->req));
	if (a->sub)
		jv_set(d, q, "requestSubResource", jv_new_strz(d, a->sub));
	if (a->name && a->name[0])
		jv_set(d, q, "name", jv_new_strz(d, a->name));
	if (a->ns && a->ns[0])
		jv_set(d, q, "namespace", jv_new_strz(d, a->ns));
	jv_set(d, q, "operation", jv_new_strz(d, a->op));
	jv_set(d, q, "userInfo", user_info(a));
	*sent = in_version(a, res, a->obj);
	jv_set(d, q, "object", *sent);
	jv_set(d, q, "oldObject", in_version(a, res, a->old));
	jv_set(d, q, "dryRun", jv_new_bool(d, a->c->dry_run));
	jv_set(d, q, "options", options(a));
	return jv_to_json(r, len);
}

/* ---- the endpoint ---- */

struct wh_target {
	char url[2048];
	char connect_to[512]; /* curl's "host:port:addr:port" for a service, else empty */
	char dial[300];	      /* the address dialled, for messages */
};

static struct jv *load(struct wh_attr *a, const char *resource, const char *ns, const char *name)
{
	struct reg_req rq = {
	    .res = api_resource_find("", "v1", resource), .ns = ns, .name = name, .d = a->c->d};
	struct api_result scratch = {0};
	struct reg_call c;
	struct jv *o = NULL;
	uint64_t rev;

	if (rq.res && reg_call_init(&c, a->c->reg, &rq, &scratch) == 0 &&
	    reg_load(&c, c.key, &o, &rev) != 0)
		o = NULL;
	api_result_free(&scratch);
	return o;
}

/* A service's endpoint for port: an address of its Endpoints serving the port's target, as
 * the aggregator's endpoint service resolver picks one (ResolveEndpoint). 0, or -1 with why
 * worded as its errors are. */
static int resolve_service(struct wh_attr *a, const char *ns, const char *name, int64_t port,
			   char *addr, size_t asize, int64_t *eport, char *why, size_t wsize)
{
	const struct jv *svc = load(a, "services", ns, name), *sp = NULL, *ep;
	const char *pname;

	if (!svc) {
		snprintf(why, wsize, "service \"%s\" not found", name);
		return -1;
	}
	for (const struct jv *p = jv_first(jv_path(svc, "spec.ports")); p && !sp; p = p->next) {
		int64_t n = 0;

		if (jv_path_int(p, "port", &n) == 0 && n == port)
			sp = p;
	}
	if (!sp) {
		snprintf(why, wsize, "no service port %lld found for service \"%s\"",
			 (long long)port, name);
		return -1;
	}
	pname = jv_path_str(sp, "name");
	ep = load(a, "endpoints", ns, name);
	for (const struct jv *s = jv_first(jv_path(ep, "subsets")); s; s = s->next) {
		const char *ip = jv_path_str(jv_first(jv_get(s, "addresses")), "ip");

		if (!ip)
			continue;
		for (const struct jv *p = jv_first(jv_get(s, "ports")); p; p = p->next) {
			const char *n = jv_path_str(p, "name");

			if ((!pname || !pname[0] ? !n || !n[0] : n && !strcmp(n, pname)) &&
			    jv_path_int(p, "port", eport) == 0) {
				snprintf(addr, asize, "%s", ip);
				return 0;
			}
		}
	}
	snprintf(why, wsize, "no endpoints available for service \"%s\"", name);
	return -1;
}

static int target_of(struct wh_attr *a, const struct wh_hook *h, int64_t timeout,
		     struct wh_target *t, char *why, size_t wsize)
{
	const struct jv *cc = jv_get(h->w, "clientConfig"), *svc = jv_get(cc, "service");
	const char *url = jv_path_str(cc, "url");

	t->connect_to[0] = 0;
	if (url) {
		const char *host = url + strlen("https://");
		size_t hl = strcspn(host, "/");

		snprintf(t->url, sizeof(t->url), "%s?timeout=%llds", url, (long long)timeout);
		snprintf(t->dial, sizeof(t->dial), "%.*s%s", (int)hl, host,
			 memchr(host, ':', hl) || (hl && host[0] == '[') ? "" : ":443");
		/* validation took only https URLs; a configuration stored by an older server
		 * might hold another: never sent in the clear */
		if (strncmp(url, "https://", 8) != 0) {
			snprintf(why, wsize, "webhook URL %s is not https", url);
			return -1;
		}
		return 0;
	}
	{
		const char *ns = jv_path_str(svc, "namespace"), *name = jv_path_str(svc, "name");
		const char *path = jv_path_str(svc, "path");
		int64_t port = 443, eport = 0;
		char addr[64];

		jv_path_int(svc, "port", &port);
		if (!ns || !name) {
			snprintf(why, wsize, "neither service nor url set in clientConfig");
			return -1;
		}
		snprintf(t->url, sizeof(t->url), "https://%s.%s.svc:%lld%s?timeout=%llds", name, ns,
			 (long long)port, path ? path : "", (long long)timeout);
		if (resolve_service(a, ns, name, port, addr, sizeof(addr), &eport, why, wsize))
			return -2;
		snprintf(t->connect_to, sizeof(t->connect_to), "%s.%s.svc:%lld:%s%s%s:%lld", name,
			 ns, (long long)port, strchr(addr, ':') ? "[" : "", addr,
			 strchr(addr, ':') ? "]" : "", (long long)eport);
		snprintf(t->dial, sizeof(t->dial), "%s:%lld", addr, (long long)eport);
	}
	return 0;
}

/* ---- the call ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct k8s_buf *b = ud;

	if (b->len + size * n > (8u << 20)) /* far beyond any AdmissionReview */
		return 0;
	k8s_buf_put(b, p, size * n);
	return b->oom ? 0 : size * n;
}

/* POST body to t: 0 with the answer in resp (2xx), or -1 with why worded as Go's client
 * words it (`Post "<url>": ...`). */
static int post(const struct wh_hook *h, const struct wh_target *t, const char *body, size_t len,
		int64_t timeout, struct k8s_buf *resp, char *why, size_t wsize)
{
	CURL *e = curl_easy_init();
	struct curl_slist *hdr = NULL, *ct = NULL;
	char err[CURL_ERROR_SIZE] = "", ca[40];
	long code = 0;
	CURLcode rc;

	if (!e) {
		snprintf(why, wsize, "Post \"%.900s\": out of memory", t->url);
		return -1;
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json, */*");
	curl_easy_setopt(e, CURLOPT_URL, t->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kube-apiserver-admission");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout * 1000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	if (t->connect_to[0]) {
		ct = curl_slist_append(NULL, t->connect_to);
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, ct);
	}
	if (h->ca_fd >= 0) {
		snprintf(ca, sizeof(ca), "/proc/self/fd/%d", h->ca_fd);
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	curl_slist_free_all(ct);
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(why, wsize, "Post \"%.900s\": dial tcp %s: connect: connection refused",
			 t->url, t->dial);
		return -1;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(why, wsize, "Post \"%.900s\": context deadline exceeded", t->url);
		return -1;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(why, wsize, "Post \"%.900s\": tls: failed to verify certificate: %s",
			 t->url, err[0] ? err : curl_easy_strerror(rc));
		return -1;
	default:
		snprintf(why, wsize, "Post \"%.900s\": %s", t->url,
			 err[0] ? err : curl_easy_strerror(rc));
		return -1;
	}
	if (code < 200 || code > 299) {
		/* rest.Request.transformResponse for a body that is no Status */
		snprintf(why, wsize,
			 "the server responded with the status code %ld but did not return more "
			 "information",
			 code);
		return -1;
	}
	return 0;
}

/* ---- the answer ---- */

/* NewInternalError(err): 500 "Internal error occurred: <err>" with err as its cause. */
static void fail_internal(struct api_result *out, const char *msg)
{
	struct k8s_buf b = {0};
	size_t ml = strlen(msg);

	k8s_buf_puts(&b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			 "\"Failure\",\"message\":\"Internal error occurred: ");
	/* the message without its quotes, continued */
	{
		struct k8s_buf q = {0};

		k8s_buf_json_string(&q, msg, ml);
		if (q.p && q.len >= 2)
			k8s_buf_put(&b, q.p + 1, q.len - 2);
		k8s_buf_puts(&b, "\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{"
				 "\"message\":");
		if (q.p)
			k8s_buf_put(&b, q.p, q.len);
		k8s_buf_free(&q);
	}
	k8s_buf_puts(&b, "}]},\"code\":500}");
	api_fail_status(out, 500, "InternalError", &b);
}

/* webhookerrors.ToStatusErr: the webhook's Status, its code at least 400 and its message
 * `admission webhook "<name>" denied the request: <message, else reason>`. */
static void fail_denied(struct wh_attr *a, const char *name, const struct jv *result)
{
	struct jv_doc *d = a->c->d;
	struct jv *st =
	    result && result->type == JV_OBJECT ? jv_copy(d, result) : jv_new(d, JV_OBJECT);
	const char *msg = jv_path_str(st, "message"), *reason = jv_path_str(st, "reason");
	const char *status = jv_path_str(st, "status");
	int64_t code = 0;
	struct k8s_buf b = {0};
	char *json;
	size_t len;

	jv_path_int(st, "code", &code);
	if (code < 400)
		code = 400;
	if (msg && msg[0])
		jv_set(
		    d, st, "message",
		    jv_new_strf(d, "admission webhook \"%s\" denied the request: %s", name, msg));
	else if (reason && reason[0])
		jv_set(d, st, "message",
		       jv_new_strf(d, "admission webhook \"%s\" denied the request: %s", name,
				   reason));
	else
		jv_set(d, st, "message",
		       jv_new_strf(
			   d, "admission webhook \"%s\" denied the request without explanation",
			   name));
	if (!status || !status[0] || !strcmp(status, "Success"))
		jv_set(d, st, "status", jv_new_strz(d, "Failure"));
	jv_set(d, st, "code", jv_new_int(d, code));
	jv_del(st, "kind");
	jv_del(st, "apiVersion");
	json = jv_to_json(st, &len);
	if (!json) {
		api_fail_oom(a->c->out);
		return;
	}
	/* kind, apiVersion and metadata first, as a Status is written */
	k8s_buf_puts(&b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\"");
	if (!jv_get(st, "metadata"))
		k8s_buf_puts(&b, ",\"metadata\":{}");
	if (len > 2)
		k8s_buf_putc(&b, ',');
	k8s_buf_put(&b, json + 1, len - 1);
	free(json);
	api_fail_status(a->c->out, (unsigned)code, reason ? reason : "", &b);
}

static struct jv *b64_json(struct jv_doc *d, const char *s)
{
	gnutls_datum_t raw;
	struct jv *v;

	if (b64_decode(s, &raw) != 0)
		return NULL;
	v = jv_parse(d, (const char *)raw.data, raw.size, NULL);
	gnutls_free(raw.data);
	return v;
}

/* The patched object (in version res) back into a->obj: decoded as the kind (unknown
 * fields dropped as the decoder does), in the stored version, defaulted again
 * (o.GetObjectDefaulter().Default). */
static int take_patched(struct wh_attr *a, const struct api_resource *res, struct jv *n,
			bool *changed)
{
	struct k8s_validate_opts vo = {.checks = K8S_CHECK_NO_ENUMS | K8S_CHECK_NO_REQUIRED,
				       .validation = K8S_FV_IGNORE};
	struct k8s_errors e = {0};
	struct api_admit ad = {.reg = a->c->reg,
			       .d = a->c->d,
			       .res = a->c->res,
			       .wire = a->c->wire,
			       .obj = n,
			       .old = a->old,
			       .sub = a->c->sub,
			       .dry_run = a->c->dry_run};
	int err = res->kind->type ? k8s_jv_decode(n, res->kind->type, &vo, &e) : 0;

	k8s_errors_free(&e);
	if (err)
		return err;
	if (res != a->c->res && res->to_storage)
		res->to_storage(res, a->c->d, n);
	api_admit_defaults(&ad);
	api_admit_free(&ad);
	*changed = !jv_equal(n, a->obj);
	/* the object the registry goes on with is a->obj: its members become n's */
	jv_clear(a->obj);
	for (struct jv *m = n->head, *next; m; m = next) {
		next = m->next;
		jv_setn(a->c->d, a->obj, m->key, m->klen, m);
	}
	return 0;
}

/* The review's answer: 0 allowed, 1 refused (out set), -1 a failed call (why set), -2 an
 * error that fails the request whatever the failurePolicy (out set). */
static int answer(struct wh_attr *a, const struct wh_hook *h, const struct api_resource *res,
		  const char *ver, const char *uid, struct jv *sent, const struct k8s_buf *resp,
		  bool *changed, char *why, size_t wsize)
{
	struct jv_doc *d = a->c->d;
	const char *name = jv_path_str(h->w, "name");
	struct jv *r = jv_parse(d, resp->p ? resp->p : "", resp->len, NULL);
	struct jv *rs = jv_get(r, "response"), *patch = NULL, *n;
	const char *ruid = jv_path_str(rs, "uid"), *pt = jv_path_str(rs, "patchType");
	const char *pstr = jv_path_str(rs, "patch");
	bool v1 = !strcmp(ver, "v1");
	char msg[512];

	if (!r || r->type != JV_OBJECT) {
		snprintf(why, wsize,
			 "received invalid webhook response: the body is no JSON object");
		return -1;
	}
	if (!rs || rs->type != JV_OBJECT) {
		snprintf(why, wsize,
			 "received invalid webhook response: webhook response was absent");
		return -1;
	}
	if (v1 && (!ruid || strcmp(ruid, uid) != 0)) {
		snprintf(
		    why, wsize,
		    "received invalid webhook response: expected response.uid=\"%s\", got \"%s\"",
		    uid, ruid ? ruid : "");
		return -1;
	}
	if (v1 && (!jv_is_str(jv_get(r, "apiVersion"), "admission.k8s.io/v1") ||
		   !jv_is_str(jv_get(r, "kind"), "AdmissionReview"))) {
		const char *gv = jv_path_str(r, "apiVersion"), *k = jv_path_str(r, "kind");

		snprintf(why, wsize,
			 "received invalid webhook response: expected webhook response of "
			 "admission.k8s.io/v1, Kind=AdmissionReview, got %s, Kind=%s",
			 gv ? gv : "/", k ? k : "");
		return -1;
	}
	if (h->mutating && v1 && pstr && pstr[0] && !pt) {
		snprintf(why, wsize,
			 "received invalid webhook response: webhook returned "
			 "response.patch but not response.patchType");
		return -1;
	}
	if (h->mutating && v1 && (!pstr || !pstr[0]) && pt) {
		snprintf(why, wsize,
			 "received invalid webhook response: webhook returned "
			 "response.patchType but not response.patch");
		return -1;
	}
	if (!h->mutating && ((pstr && pstr[0]) || pt)) {
		snprintf(why, wsize,
			 "received invalid webhook response: validating webhook may "
			 "not return response.%s",
			 pstr && pstr[0] ? "patch" : "patchType");
		return -1;
	}
	for (const struct jv *w = jv_first(jv_get(rs, "warnings")); w; w = w->next)
		if (w->type == JV_STRING)
			api_result_warn(a->c->out, "%s", w->s);
	if (!jv_get(rs, "allowed") || jv_get(rs, "allowed")->type != JV_TRUE) {
		fail_denied(a, name, jv_get(rs, "status")); /* Result, json "status" */
		return 1;
	}
	if (!pstr || !pstr[0])
		return 0;
	patch = b64_json(d, pstr);
	if (!patch || patch->type != JV_ARRAY) {
		snprintf(why, wsize, "received undecodable patch in webhook response");
		return -1;
	}
	if (!jv_count(patch))
		return 0;
	if (!a->obj) {
		snprintf(msg, sizeof(msg),
			 "admission webhook \"%s\" attempted to modify the object, which is not "
			 "supported for this operation",
			 name);
		fail_internal(a->c->out, msg);
		return -2;
	}
	if (pt && strcmp(pt, "JSONPatch") != 0) {
		snprintf(why, wsize, "unsupported patch type \"%s\"", pt);
		return -1;
	}
	msg[0] = 0;
	n = api_json_patch(d, sent, patch, msg, sizeof(msg));
	if (!n || n->type != JV_OBJECT || take_patched(a, res, n, changed) != 0) {
		fail_internal(a->c->out, msg[0] ? msg : "the patched object cannot be decoded");
		return -2;
	}
	return 0;
}

/* The first AdmissionReview version of the webhook's list the server speaks. */
static const char *review_version(const struct wh_hook *h)
{
	for (const struct jv *v = jv_first(jv_get(h->w, "admissionReviewVersions")); v; v = v->next)
		if (jv_is_str(v, "v1") || jv_is_str(v, "v1beta1"))
			return v->s;
	return NULL;
}

int reg_wh_call(struct wh_attr *a, const struct wh_hook *h, const struct api_resource *res,
		int round, bool *changed)
{
	const char *name = jv_path_str(h->w, "name"), *se = jv_path_str(h->w, "sideEffects");
	const char *ver = review_version(h);
	bool ignore = jv_is_str(jv_get(h->w, "failurePolicy"), "Ignore");
	struct k8s_buf resp = {0};
	struct wh_target t;
	struct jv *sent = NULL;
	int64_t timeout = 10;
	char uid[40], why[2048] = "", *body = NULL;
	size_t len;
	int rc = -1;
	bool dummy;

	if (!changed)
		changed = &dummy;
	*changed = false;
	if (!name)
		name = "";
	if (jv_count(jv_get(h->w, "matchConditions"))) {
		/* matchConditions are CEL expressions, and drover has no CEL evaluator: the
		 * webhook is one whose conditions failed to evaluate (matching/matcher.go Match):
		 * not called under failurePolicy Ignore, else the request is forbidden
		 * (generic/webhook.go ShouldCallHook: apierrors.NewForbidden) */
		char q[128];

		if (ignore)
			return 0;
		api_fail_details(
		    a->c->out, 403, "Forbidden", a->c->res, a->name,
		    "%s \"%s\" is forbidden: matchConditions are not supported by this "
		    "server (no CEL evaluator)",
		    api_res_qualified(a->req, q, sizeof(q)), a->name ? a->name : "");
		return -EPERM;
	}
	if (a->c->dry_run && se && strcmp(se, "None") != 0 && strcmp(se, "NoneOnDryRun") != 0) {
		/* webhookerrors.NewDryRunUnsupportedErr, whatever the failurePolicy */
		api_fail(a->c->out, 400, "BadRequest",
			 "admission webhook \"%s\" does not support dry run", name);
		return -EPERM;
	}
	jv_path_int(h->w, "timeoutSeconds", &timeout);
	if (timeout < 1 || timeout > 30)
		timeout = timeout < 1 ? 1 : 30;
	if (a->c->dry_run && !se) {
		snprintf(why, sizeof(why), "Webhook SideEffects is nil");
	} else if (!ver) {
		snprintf(why, sizeof(why),
			 "could not create admission objects: webhook does not accept known "
			 "AdmissionReview versions (v1, v1beta1)");
	} else if ((rc = target_of(a, h, timeout, &t, why, sizeof(why))) != 0) {
		/* the endpoint resolver's error, inside the Post as the dialer reports it */
		if (rc == -2) {
			char r[1024];

			snprintf(r, sizeof(r), "%s", why);
			snprintf(why, sizeof(why), "failed to call webhook: Post \"%.900s\": %s",
				 t.url, r);
		}
		rc = -1;
	} else {
		api_uuid(uid);
		body = review(a, res, ver, uid, &sent, &len);
		if (!body) {
			api_fail_oom(a->c->out);
			return -EPERM;
		}
		log_debug(COMP, "calling %s (%s) round %d for %s %s", name, h->config, round, a->op,
			  res->kind->resource);
		rc = post(h, &t, body, len, timeout, &resp, why, sizeof(why));
		if (rc == 0) {
			rc = answer(a, h, res, ver, uid, sent, &resp, changed, why, sizeof(why));
		} else {
			char r[2048];

			snprintf(r, sizeof(r), "%s", why);
			snprintf(why, sizeof(why), "failed to call webhook: %.1500s", r);
		}
	}
	free(body);
	k8s_buf_free(&resp);
	if (rc == 0)
		return 0;
	if (rc > 0 || rc == -2)
		return -EPERM;
	/* a failed call (ErrCallingWebhook) */
	if (ignore) {
		log_warn(COMP,
			 "Failed calling webhook, failing open %s: failed calling webhook "
			 "\"%s\": %s",
			 name, name, why);
		return 0;
	}
	{
		char msg[2300];

		snprintf(msg, sizeof(msg), "failed calling webhook \"%.253s\": %.2000s", name, why);
		fail_internal(a->c->out, msg);
	}
	return -EPERM;
}
