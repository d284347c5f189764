/* SPDX-License-Identifier: Apache-2.0 */
/*
 * helpers: an in-process API server on a free port of 127.0.0.1 (plain HTTP, a temporary
 * data directory removed at the end) and a libcurl client to talk to it.
 */
#ifndef DROVER_TEST_API_HELPERS_H
#define DROVER_TEST_API_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "k8s_jv.h"

struct tsrv {
	struct api_server *s;
	char dir[256];
	char base[64];
	/* a TLS server (tsrv_start_tls): its CA file, and the client certificate and key the
	 * requests present (empty: none) */
	char ca[300], crt[300], key[300];
};

struct tresp {
	long code;
	char *body;
	size_t len;
	char *ctype;
	char *headers; /* every response header line */
	struct jv_doc *d;
	struct jv *json; /* the body parsed, when it is JSON */
};

/* Start a server (insecure loopback); asserts on failure. */
void tsrv_start(struct tsrv *t);
void tsrv_start_cfg(struct tsrv *t, struct api_config *cfg);
void tsrv_stop(struct tsrv *t);
/* Stop t's server and start a new one (plain HTTP) over the same data directory, as a
 * restart of the server does; cfg's data_dir, listen and insecure_loopback are set here. */
void tsrv_restart(struct tsrv *t);
void tsrv_restart_cfg(struct tsrv *t, struct api_config *cfg);
/* Start a server over TLS with its own PKI (no insecure loopback); asserts on failure. */
void tsrv_start_tls(struct tsrv *t);
/* DIR/NAME.crt and .key: a client certificate CN=cn, O=org (may be NULL) signed by the
 * server's CA (of a TLS server); the paths are written to crt and key (300 bytes each). */
void tsrv_client_cert(struct tsrv *t, const char *name, const char *cn, const char *org, char *crt,
		      char *key);
/* cmocka group setup/teardown: one server for the whole group, in *state. */
int tsrv_group_setup(void **state);
int tsrv_group_teardown(void **state);

/* One request: method, path (with query), content type (NULL: JSON) and body (may be NULL).
 * accept may be NULL. The response is filled; free it with tresp_free. */
void treq(struct tsrv *t, const char *method, const char *path, const char *ctype, const char *body,
	  const char *accept, struct tresp *out);
/* treq with more request headers ("If-None-Match: \"X\"", NULL-terminated; may be NULL). */
void treq_headers(struct tsrv *t, const char *method, const char *path, const char *ctype,
		  const char *body, const char *accept, const char *const *headers,
		  struct tresp *out);
void tresp_free(struct tresp *r);

/* Shorthands that assert the code and return the parsed body. */
struct jv *tget(struct tsrv *t, const char *path, long code, struct tresp *out);
struct jv *tpost(struct tsrv *t, const char *path, const char *body, long code, struct tresp *out);

/* method path body, asserting the code and (want not NULL) the Status message; a PATCH is a
 * merge patch. The parsed response is left in r (free it). */
struct jv *tcall(struct tsrv *t, const char *method, const char *path, const char *body, long code,
		 const char *want, struct tresp *r);
/* tcall with the response freed; a 422's reason must be Invalid, a 403's Forbidden. */
void texpect(struct tsrv *t, const char *method, const char *path, const char *body, long code,
	     const char *want);

/* JSON written with ` for " (so that CEL's 'strings' and JSON nest without escapes), in a
 * static buffer (one at a time). */
const char *tq(const char *s);

/* The string at path in v, or "(null)" (for assert_string_equal). */
const char *tstr(const struct jv *v, const char *path);

/* A CSR object (JSON) named name for a kubelet client certificate of node n (CN
 * system:node:n, O system:nodes; made with GnuTLS), whose spec names another requester
 * (admin, system:masters: the server puts its own). malloc'd. */
char *tkubelet_csr(const char *name, const char *n);

/* One request to a TLS server (base "https://...", CA file ca) as bearer token, or (token
 * NULL) with the client certificate crt/key; ctype NULL: JSON. The code; the body in *out
 * (malloc'd) when out is not NULL. */
long ttls_call(const char *base, const char *ca, const char *token, const char *crt,
	       const char *key, const char *method, const char *path, const char *ctype,
	       const char *body, char **out);

#endif
