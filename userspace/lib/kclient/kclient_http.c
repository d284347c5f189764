/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient_http: the HTTPS transport's calls over libcurl. Kubernetes paths (/api/v1/...,
 * /apis/<group>/<version>/..., namespaces/<ns>/ only for namespaced kinds, subresource last),
 * JSON bodies, the four patch content types, DeleteOptions as a body, Status errors mapped by
 * kc_error_of. Calls come from many threads: each takes an easy handle from a pool and gives
 * it back, so its keep-alive connection (and TLS session) serves the next call; DNS and TLS
 * sessions are shared across handles through a locked CURLSH. Debian's libcurl uses GnuTLS,
 * which honours neither CURLOPT_CAINFO_BLOB nor CURLOPT_SSLCERT_BLOB, so -data material is
 * written to a private 0700 directory the client owns and removes. Watches:
 * kclient_http_watch.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kclient_http.h"
#include "log.h"

#define COMP "kclient"

/* ---- process-wide setup ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	struct rlimit rl;

	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	/* A client holds one socket per watch (thousands for `drover sim`): raise the soft
	 * descriptor limit to the hard one, as Go's runtime does for every Kubernetes client. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- helpers shared with the watch file ---- */

void kc_http_path(struct kc_http *h, struct k8s_buf *b, const struct k8s_kind *k, const char *ns,
		  const char *name, const char *sub)
{
	char *e;

	k8s_buf_puts(b, h->server);
	if (!k->group[0])
		k8s_buf_printf(b, "/api/%s", k->version);
	else
		k8s_buf_printf(b, "/apis/%s/%s", k->group, k->version);
	if (ns && ns[0] && !k->cluster_scoped) {
		e = curl_easy_escape(NULL, ns, 0);
		k8s_buf_printf(b, "/namespaces/%s", e ? e : "");
		curl_free(e);
	}
	k8s_buf_printf(b, "/%s", k->resource);
	if (name && name[0]) {
		e = curl_easy_escape(NULL, name, 0);
		k8s_buf_printf(b, "/%s", e ? e : "");
		curl_free(e);
		if (!e)
			b->oom = true;
	}
	if (sub && sub[0])
		k8s_buf_printf(b, "/%s", sub);
}

void kc_http_arg(struct k8s_buf *b, const char *key, const char *value)
{
	char *e;

	if (!value || !value[0])
		return;
	e = curl_easy_escape(NULL, value, 0);
	if (!e) {
		b->oom = true;
		return;
	}
	k8s_buf_printf(b, "%c%s=%s", b->p && strchr(b->p, '?') ? '&' : '?', key, e);
	curl_free(e);
}

uint64_t kc_http_rv_of(const struct jv *obj)
{
	const char *s = jv_path_str(obj, "metadata.resourceVersion");
	char *end;
	uint64_t rv;

	if (!s || !s[0])
		return 0;
	errno = 0;
	rv = strtoull(s, &end, 10);
	return errno || *end || s[0] == '-' ? 0 : rv;
}

int kc_http_status_error(long code, const char *body, size_t len, struct kc_status *st)
{
	struct jv_doc *d = body && len ? jv_doc_new() : NULL;
	struct jv *v = d ? jv_parse(d, body, len, NULL) : NULL;
	const char *reason = NULL, *msg = NULL;
	int64_t c = code;
	int err;

	if (v && jv_is_str(jv_get(v, "kind"), "Status")) {
		reason = jv_path_str(v, "reason");
		msg = jv_path_str(v, "message");
		/* the HTTP code is authoritative; a Status without one says nothing else */
		if (jv_path_int(v, "code", &c) != 0 || c <= 0)
			c = code;
	}
	if (!msg && body && len)
		kc_status_set(st, (int)code, reason, "%.*s", (int)(len < 512 ? len : 512), body);
	else
		kc_status_set(st, (int)code, reason, "%s", msg ? msg : "");
	err = kc_error_of((int)code, reason);
	jv_doc_free(d);
	return err;
}

int kc_http_curl_error(CURLcode rc, const char *what, const char *detail, struct kc_status *st)
{
	int err;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		err = -ECONNREFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		err = -ETIMEDOUT;
		break;
	case CURLE_OUT_OF_MEMORY:
		err = -ENOMEM;
		break;
	default:
		err = -EIO;
		break;
	}
	kc_status_set(st, 0, "", "%s: %s", what,
		      detail && detail[0] ? detail : curl_easy_strerror(rc));
	return err;
}

/* ---- the client's handles ---- */

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct kc_http *h = ud;

	(void)e;
	(void)access;
	pthread_mutex_lock(&h->share_mu[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *ud)
{
	struct kc_http *h = ud;

	(void)e;
	pthread_mutex_unlock(&h->share_mu[data]);
}

void kc_http_setup(struct kc_http *h, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SHARE, h->share);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->base.field_manager);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	/* a peer that vanished (no FIN) is found by keep-alive probes, not a stuck read */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	if (h->ca) {
		/* the kubeconfig's CA is the only trust anchor, as client-go has it; and Debian's
		 * libcurl-gnutls would otherwise parse every file of its built-in CA path
		 * (/etc/ssl/certs) for each new connection: milliseconds and about a megabyte
		 * each, which a client of thousands of watches cannot afford */
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (h->cert) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, h->cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY, h->key);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (h->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static CURL *pool_get(struct kc_http *h)
{
	CURL *e = NULL;

	pthread_mutex_lock(&h->pool_mu);
	if (h->npool)
		e = h->pool[--h->npool];
	pthread_mutex_unlock(&h->pool_mu);
	if (e)
		curl_easy_reset(e); /* keeps its live connection and TLS session */
	else
		e = curl_easy_init();
	if (e)
		kc_http_setup(h, e);
	return e;
}

static void pool_put(struct kc_http *h, CURL *e)
{
	pthread_mutex_lock(&h->pool_mu);
	if (h->npool < KC_HTTP_POOL_MAX) {
		h->pool[h->npool++] = e;
		e = NULL;
	}
	pthread_mutex_unlock(&h->pool_mu);
	curl_easy_cleanup(e);
}

/* ---- one call ---- */

struct req {
	const char *method;
	const char *ctype; /* of the body */
	const char *body;
	size_t blen;
	struct k8s_buf url;
};

struct resp {
	long code;
	struct k8s_buf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;

	k8s_buf_put(&r->body, p, size * n);
	return r->body.oom ? 0 : size * n;
}

static bool add_hdr(struct curl_slist **l, const char *s)
{
	struct curl_slist *n = curl_slist_append(*l, s);

	if (n)
		*l = n;
	return n != NULL;
}

/* Perform q; 0 with r filled (any HTTP code), or the transport's error in st. */
static int perform(struct kc_http *h, struct req *q, struct resp *r, struct kc_status *st)
{
	struct curl_slist *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", ct[128], what[600];
	CURL *e;
	CURLcode rc;
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (q->url.oom) {
		kc_status_set(st, 0, "", "out of memory");
		return -ENOMEM;
	}
	e = pool_get(h);
	if (!e) {
		kc_status_set(st, 0, "", "out of memory");
		return -ENOMEM;
	}
	snprintf(ct, sizeof(ct), "Content-Type: %s", q->ctype ? q->ctype : "application/json");
	/* no 100-continue round trip before a body */
	if (!add_hdr(&hdr, "Accept: application/json") || !add_hdr(&hdr, "Expect:") ||
	    (h->auth && !add_hdr(&hdr, h->auth)) || (q->body && !add_hdr(&hdr, ct))) {
		curl_slist_free_all(hdr);
		pool_put(h, e);
		kc_status_set(st, 0, "", "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(e, CURLOPT_URL, q->url.p);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	/* a call stalled for a minute is dead; a slow but moving list is not */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	if (q->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->blen);
	} else if (strcmp(q->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(e);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->code);
	} else {
		snprintf(what, sizeof(what), "%s %s", q->method, q->url.p);
		err = r->body.oom ? -ENOMEM : kc_http_curl_error(rc, what, errbuf, st);
		k8s_buf_free(&r->body);
	}
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	pool_put(h, e);
	curl_slist_free_all(hdr);
	return err;
}

static void take_release(struct kc_obj *o)
{
	free((char *)o->json);
	free(o);
}

/* An object that takes over a malloc'd JSON text. */
static struct kc_obj *obj_take(char *json, size_t len, uint64_t rv)
{
	struct kc_obj *o = malloc(sizeof(*o));

	if (!o)
		return NULL;
	atomic_init(&o->refs, 1);
	o->json = json;
	o->len = len;
	o->rv = rv;
	o->release = take_release;
	return o;
}

/* Perform q and turn the answer into *out (may be NULL) or an error. */
static int call(struct kc_http *h, struct req *q, struct kc_obj **out, struct kc_status *st)
{
	struct resp r;
	int err = perform(h, q, &r, st);

	k8s_buf_free(&q->url);
	if (err)
		return err;
	if (r.code < 200 || r.code > 299) {
		err = kc_http_status_error(r.code, r.body.p, r.body.len, st);
		k8s_buf_free(&r.body);
		return err;
	}
	if (out) {
		struct jv_doc *d = jv_doc_new();
		struct jv *v = d && r.body.len ? jv_parse(d, r.body.p, r.body.len, NULL) : NULL;
		size_t len;
		char *json;

		if (!v || v->type != JV_OBJECT) {
			kc_status_set(st, (int)r.code, "", "%s %s: the answer is not a JSON object",
				      q->method, h->server);
			err = d ? -EIO : -ENOMEM;
		} else {
			uint64_t rv = kc_http_rv_of(v);

			json = k8s_buf_take(&r.body, &len);
			*out = json ? obj_take(json, len, rv) : NULL;
			if (!*out) {
				free(json);
				err = -ENOMEM;
			}
		}
		jv_doc_free(d);
	}
	k8s_buf_free(&r.body);
	return err;
}

static struct kc_http *http_of(struct kclient *c)
{
	return (struct kc_http *)c;
}

/* ---- the operations ---- */

static int http_get(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		    const char *sub, struct kc_obj **out, struct kc_status *st)
{
	struct req q = {.method = "GET"};

	kc_http_path(http_of(c), &q.url, k, ns, name, sub);
	return call(http_of(c), &q, out, st);
}

static int http_list(struct kclient *c, const struct k8s_kind *k, const char *ns,
		     const struct kc_list_opts *o, struct kc_list *out, struct kc_status *st)
{
	struct kc_http *h = http_of(c);
	struct req q = {.method = "GET"};
	struct resp r;
	struct jv_doc *d = NULL;
	struct jv *v, *items;
	const char *next;
	char lim[32];
	int err;

	kc_http_path(h, &q.url, k, ns, NULL, NULL);
	kc_http_arg(&q.url, "labelSelector", o->label_selector);
	kc_http_arg(&q.url, "fieldSelector", o->field_selector);
	if (o->limit) {
		snprintf(lim, sizeof(lim), "%zu", o->limit);
		kc_http_arg(&q.url, "limit", lim);
	}
	kc_http_arg(&q.url, "continue", o->continue_token);
	kc_http_arg(&q.url, "resourceVersion", o->resource_version);
	kc_http_arg(&q.url, "resourceVersionMatch", o->resource_version_match);
	err = perform(h, &q, &r, st);
	k8s_buf_free(&q.url);
	if (err)
		return err;
	if (r.code != 200) {
		err = kc_http_status_error(r.code, r.body.p, r.body.len, st);
		goto out;
	}
	err = -ENOMEM;
	d = jv_doc_new();
	if (!d)
		goto out;
	v = r.body.len ? jv_parse(d, r.body.p, r.body.len, NULL) : NULL;
	items = jv_get(v, "items");
	if (!v || v->type != JV_OBJECT ||
	    (items && items->type != JV_ARRAY && items->type != JV_NULL)) {
		kc_status_set(st, 200, "", "list %s: the answer is not a list", k->resource);
		err = -EIO;
		goto out;
	}
	out->rv = kc_http_rv_of(v);
	next = jv_path_str(v, "metadata.continue");
	if (next && next[0] && !(out->next = strdup(next)))
		goto out;
	out->items = calloc(jv_count(items) ? jv_count(items) : 1, sizeof(*out->items));
	if (!out->items)
		goto out;
	for (struct jv *it = jv_first(items); it; it = it->next) {
		size_t len;
		char *json = jv_to_json(it, &len);
		struct kc_obj *ob = json ? obj_take(json, len, kc_http_rv_of(it)) : NULL;

		if (!ob) {
			free(json);
			goto out;
		}
		out->items[out->count++] = ob;
	}
	err = 0;
out:
	if (err == -ENOMEM)
		kc_status_set(st, 0, "", "out of memory");
	jv_doc_free(d);
	k8s_buf_free(&r.body);
	return err;
}

static void write_args(struct kc_http *h, struct k8s_buf *url, const struct kc_write_opts *o)
{
	kc_http_arg(url, "fieldManager",
		    o->field_manager && o->field_manager[0] ? o->field_manager
							    : h->base.field_manager);
	if (o->dry_run)
		kc_http_arg(url, "dryRun", "All");
}

static int send_obj(struct kc_http *h, struct req *q, const struct jv *obj,
		    const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	char *body;
	int err;

	write_args(h, &q->url, o);
	body = jv_to_json(obj, &q->blen);
	if (!body) {
		k8s_buf_free(&q->url);
		kc_status_set(st, 0, "", "out of memory");
		return -ENOMEM;
	}
	q->body = body;
	err = call(h, q, out, st);
	free(body);
	return err;
}

static int http_create(struct kclient *c, const struct k8s_kind *k, const char *ns,
		       const char *name, const char *sub, const struct jv *obj,
		       const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	struct req q = {.method = "POST"};

	kc_http_path(http_of(c), &q.url, k, ns, name, sub);
	return send_obj(http_of(c), &q, obj, o, out, st);
}

static int http_update(struct kclient *c, const struct k8s_kind *k, const char *ns,
		       const char *name, const char *sub, const struct jv *obj,
		       const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	struct req q = {.method = "PUT"};

	kc_http_path(http_of(c), &q.url, k, ns, name, sub);
	return send_obj(http_of(c), &q, obj, o, out, st);
}

static const char *patch_ctype[] = {
    [KC_PATCH_MERGE] = "application/merge-patch+json",
    [KC_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
    [KC_PATCH_JSON] = "application/json-patch+json",
    [KC_PATCH_APPLY] = "application/apply-patch+yaml",
};

static int http_patch(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		      const char *sub, enum kc_patch_type t, const char *patch, size_t len,
		      const struct kc_write_opts *o, struct kc_obj **out, struct kc_status *st)
{
	struct kc_http *h = http_of(c);
	struct req q = {.method = "PATCH", .ctype = patch_ctype[t], .body = patch, .blen = len};

	kc_http_path(h, &q.url, k, ns, name, sub);
	write_args(h, &q.url, o);
	/* Kubernetes accepts force only with an apply patch */
	if (t == KC_PATCH_APPLY && o->force)
		kc_http_arg(&q.url, "force", "true");
	return call(h, &q, out, st);
}

/* DELETE of one object, or (name NULL) of the collection: deletecollection, with sel's
 * selectors (sel may be NULL) as arguments. DeleteOptions as Kubernetes clients send them: a
 * JSON body. */
static int http_delete(struct kc_http *h, const struct k8s_kind *k, const char *ns,
		       const char *name, const struct kc_list_opts *sel,
		       const struct kc_delete_opts *o, struct kc_obj **out, struct kc_status *st)
{
	struct req q = {.method = "DELETE"};
	struct k8s_buf b = {0};
	int err;

	k8s_buf_puts(&b, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\"");
	if (o->grace_seconds >= 0)
		k8s_buf_printf(&b, ",\"gracePeriodSeconds\":%" PRId64, o->grace_seconds);
	if (o->precondition_uid || o->precondition_rv) {
		k8s_buf_puts(&b, ",\"preconditions\":{");
		if (o->precondition_uid) {
			k8s_buf_puts(&b, "\"uid\":");
			k8s_buf_json_string(&b, o->precondition_uid, strlen(o->precondition_uid));
		}
		if (o->precondition_rv) {
			k8s_buf_puts(&b, o->precondition_uid ? ",\"resourceVersion\":"
							     : "\"resourceVersion\":");
			k8s_buf_json_string(&b, o->precondition_rv, strlen(o->precondition_rv));
		}
		k8s_buf_putc(&b, '}');
	}
	if (o->propagation) {
		k8s_buf_puts(&b, ",\"propagationPolicy\":");
		k8s_buf_json_string(&b, o->propagation, strlen(o->propagation));
	}
	if (o->dry_run)
		k8s_buf_puts(&b, ",\"dryRun\":[\"All\"]");
	k8s_buf_putc(&b, '}');
	if (b.oom) {
		k8s_buf_free(&b);
		kc_status_set(st, 0, "", "out of memory");
		return -ENOMEM;
	}
	q.body = b.p;
	q.blen = b.len;
	kc_http_path(h, &q.url, k, ns, name, NULL);
	if (sel) {
		kc_http_arg(&q.url, "labelSelector", sel->label_selector);
		kc_http_arg(&q.url, "fieldSelector", sel->field_selector);
	}
	err = call(h, &q, out, st);
	k8s_buf_free(&b);
	return err;
}

static int http_del(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *name,
		    const struct kc_delete_opts *o, struct kc_obj **out, struct kc_status *st)
{
	return http_delete(http_of(c), k, ns, name, NULL, o, out, st);
}

static int http_delcol(struct kclient *c, const struct k8s_kind *k, const char *ns,
		       const struct kc_list_opts *sel, const struct kc_delete_opts *o,
		       struct kc_status *st)
{
	return http_delete(http_of(c), k, ns, NULL, sel, o, NULL, st);
}

/* ---- the client ---- */

/* A client's private directory and the -data material in it. */
static void rm_material(const char *dir)
{
	static const char *const names[] = {"ca.crt", "client.crt", "client.key"};
	char path[PATH_MAX];

	for (size_t i = 0; i < 3; i++)
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < (int)sizeof(path))
			unlink(path);
	rmdir(dir);
}

static void http_free(struct kclient *c)
{
	struct kc_http *h = http_of(c);

	kc_http_loop_free(h);
	for (size_t i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	curl_share_cleanup(h->share);
	if (h->tmpdir[0])
		rm_material(h->tmpdir);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_mu[i]);
	pthread_mutex_destroy(&h->pool_mu);
	pthread_mutex_destroy(&h->loop_mu);
	if (h->auth)
		explicit_bzero(h->auth, strlen(h->auth));
	free(h->auth);
	free(h->server);
	free(h->ca);
	free(h->cert);
	free(h->key);
	free(h);
}

/* ---- kc_get_raw ---- */

struct raw {
	CURL *e;
	const struct kc_stream_cb *cb;
	long code;
	struct k8s_buf err; /* a failure's body (its Status) */
	bool ended;	    /* the callback ended it */
};

static size_t on_raw(char *p, size_t size, size_t n, void *ud)
{
	struct raw *r = ud;

	if (!r->code)
		curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &r->code);
	if (r->code < 200 || r->code > 299) {
		if (r->err.len < 65536)
			k8s_buf_put(&r->err, p, size * n);
		return size * n;
	}
	if (!r->cb->data(r->cb->arg, p, size * n)) {
		r->ended = true;
		return 0;
	}
	return size * n;
}

static int on_raw_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct raw *r = ud;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (r->cb->stop && r->cb->stop(r->cb->arg)) {
		r->ended = true;
		return 1;
	}
	return 0;
}

static int http_get_raw(struct kclient *c, const char *path, const struct kc_stream_cb *cb,
			struct kc_status *st)
{
	struct kc_http *h = http_of(c);
	struct raw r = {.cb = cb};
	struct curl_slist *hdr = NULL;
	struct k8s_buf url = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int err = 0;

	k8s_buf_printf(&url, "%s%s", h->server, path);
	r.e = url.oom ? NULL : pool_get(h);
	if (!r.e || (h->auth && !add_hdr(&hdr, h->auth))) {
		if (r.e)
			pool_put(h, r.e);
		k8s_buf_free(&url);
		kc_status_set(st, 0, "", "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(r.e, CURLOPT_URL, url.p);
	curl_easy_setopt(r.e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(r.e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(r.e, CURLOPT_WRITEFUNCTION, on_raw);
	curl_easy_setopt(r.e, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(r.e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(r.e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(r.e, CURLOPT_XFERINFOFUNCTION, on_raw_progress);
	curl_easy_setopt(r.e, CURLOPT_XFERINFODATA, &r);
	rc = curl_easy_perform(r.e);
	if (rc != CURLE_OK && !r.ended) {
		char what[600];

		snprintf(what, sizeof(what), "GET %s", url.p);
		err = kc_http_curl_error(rc, what, errbuf, st);
	} else if (!r.ended) {
		curl_easy_getinfo(r.e, CURLINFO_RESPONSE_CODE, &r.code);
		if (r.code < 200 || r.code > 299)
			err = kc_http_status_error(r.code, r.err.p ? r.err.p : "", r.err.len, st);
	}
	curl_easy_setopt(r.e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(r.e, CURLOPT_HTTPHEADER, NULL);
	/* a transfer ended mid-stream leaves its connection unusable: not pooled */
	if (r.ended)
		curl_easy_cleanup(r.e);
	else
		pool_put(h, r.e);
	curl_slist_free_all(hdr);
	k8s_buf_free(&r.err);
	k8s_buf_free(&url);
	return err;
}

static const struct kc_ops http_ops = {
    .name = "https",
    .get = http_get,
    .list = http_list,
    .create = http_create,
    .update = http_update,
    .patch = http_patch,
    .del = http_del,
    .delcol = http_delcol,
    .watch = kc_http_watch,
    .watch_stop = kc_http_watch_stop,
    .get_raw = http_get_raw,
    .free = http_free,
};

/* The directories of clients whose process is gone (killed before kclient_free): named
 * drover-kclient-PID-XXXXXX, removed when that PID no longer exists. */
static void sweep_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(e->d_name, "drover-kclient-", 15) != 0)
			continue;
		pid = strtol(e->d_name + 15, &end, 10);
		if (end == e->d_name + 15 || *end != '-' || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name) < (int)sizeof(path))
			rm_material(path);
	}
	closedir(d);
}

/* PEM data into a 0600 file of the client's private directory (made on first use). */
static int put_file(struct kc_http *h, const char *name, const char *data, char **path)
{
	const char *tmp = getenv("TMPDIR");
	size_t len = strlen(data);
	int fd, err = 0;

	if (!h->tmpdir[0]) {
		const char *base = tmp && tmp[0] ? tmp : "/tmp";

		sweep_stale(base);
		snprintf(h->tmpdir, sizeof(h->tmpdir), "%s/drover-kclient-%ld-XXXXXX", base,
			 (long)getpid());
		if (!mkdtemp(h->tmpdir)) { /* mode 0700 */
			err = -errno;
			h->tmpdir[0] = 0;
			return err;
		}
	}
	if (asprintf(path, "%s/%s", h->tmpdir, name) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) != 0 && !err)
		err = -errno;
	return err;
}

static int material(struct kc_http *h, const char *file, const char *data, const char *name,
		    char **out)
{
	if (data)
		return put_file(h, name, data, out);
	if (file && !(*out = strdup(file)))
		return -ENOMEM;
	return 0;
}

struct kclient *kclient_http_new(const struct kc_config *cfg)
{
	struct kc_http *h;
	int err;

	if (!cfg || !cfg->server || !cfg->server[0]) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&once, global_init);
	if (global_rc != CURLE_OK) {
		errno = EIO;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	kclient_init(&h->base, &http_ops);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_mu[i], NULL);
	pthread_mutex_init(&h->pool_mu, NULL);
	pthread_mutex_init(&h->loop_mu, NULL);
	h->insecure = cfg->insecure;
	h->server = strdup(cfg->server);
	h->share = curl_share_init();
	err = -ENOMEM;
	if (!h->server || !h->share)
		goto fail;
	while (strlen(h->server) > 8 && h->server[strlen(h->server) - 1] == '/')
		h->server[strlen(h->server) - 1] = 0;
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (cfg->token && cfg->token[0] &&
	    asprintf(&h->auth, "Authorization: Bearer %s", cfg->token) < 0) {
		h->auth = NULL;
		goto fail;
	}
	if ((err = material(h, cfg->ca_file, cfg->ca_data, "ca.crt", &h->ca)) ||
	    (err = material(h, cfg->cert_file, cfg->cert_data, "client.crt", &h->cert)) ||
	    (err = material(h, cfg->key_file, cfg->key_data, "client.key", &h->key)))
		goto fail;
	if (!!h->cert != !!h->key) {
		err = -EINVAL;
		goto fail;
	}
	return &h->base;
fail:
	log_error(COMP, "client for %s: %s", cfg->server, strerror(-err));
	http_free(&h->base);
	errno = -err;
	return NULL;
}
