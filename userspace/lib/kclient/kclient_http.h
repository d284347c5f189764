/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kclient_http: what the HTTPS transport's two files share. kclient_http.c owns the client
 * (TLS material, the pool of easy handles for calls, URLs, Status errors);
 * kclient_http_watch.c owns the one thread that runs every watch of a client on a curl multi
 * handle driven by epoll.
 */
#ifndef DROVER_KCLIENT_HTTP_H
#define DROVER_KCLIENT_HTTP_H

#include <curl/curl.h>
#include <pthread.h>

#include "k8s_buf.h"
#include "kclient_int.h"

#define KC_HTTP_POOL_MAX 64

struct kc_loop;

struct kc_http {
	struct kclient base;
	char *server;	       /* "https://host:port", no trailing slash */
	char *auth;	       /* "Authorization: Bearer ..." or NULL */
	char *ca, *cert, *key; /* PEM files (from the kubeconfig, or written to tmpdir) */
	char tmpdir[256];      /* private 0700 directory for -data material, or "" */
	bool insecure;
	CURLSH *share; /* DNS and TLS sessions shared by every handle */
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_mu;
	CURL *pool[KC_HTTP_POOL_MAX];
	size_t npool;
	pthread_mutex_t loop_mu;
	struct kc_loop *loop; /* started by the first watch */
};

/* Options every handle of the client carries (TLS, share, keep-alive, user agent). */
void kc_http_setup(struct kc_http *h, CURL *e);
/* "<server>/api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]]" into b. */
void kc_http_path(struct kc_http *h, struct k8s_buf *b, const struct k8s_kind *k, const char *ns,
		  const char *name, const char *sub);
/* Append "?key=value" or "&key=value" (value URL-escaped); NULL or "" values are skipped. */
void kc_http_arg(struct k8s_buf *b, const char *key, const char *value);
/* The error of a non-2xx answer: its Status (when the body is one) into st. */
int kc_http_status_error(long code, const char *body, size_t len, struct kc_status *st);
/* The error of a failed transfer (no answer): st->code 0 and curl's words. */
int kc_http_curl_error(CURLcode rc, const char *what, const char *detail, struct kc_status *st);
/* The resourceVersion of an object tree (0 when absent or not a number). */
uint64_t kc_http_rv_of(const struct jv *obj);

int kc_http_watch(struct kclient *c, const struct k8s_kind *k, const char *ns,
		  const struct kc_watch_opts *o, const struct kc_watch_cb *cb, void *arg,
		  struct kc_watch **out, struct kc_status *st);
void kc_http_watch_stop(struct kc_watch *w);
/* Stop the watch thread and free every watch still there (kclient_free). */
void kc_http_loop_free(struct kc_http *h);

#endif
