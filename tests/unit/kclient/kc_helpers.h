/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kc_helpers: what the kclient tests share: an in-process API server (tests/unit/api's
 * helpers) with an HTTPS-transport client pointed at it, objects from JSON text, and a
 * polling wait for a condition with a generous deadline (never a fixed sleep).
 */
#ifndef DROVER_TEST_KC_HELPERS_H
#define DROVER_TEST_KC_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "informer.h"
#include "kclient.h"
#include "workqueue.h"

/* Generous: the machine is shared; a wait ends as soon as its condition holds. */
#define KC_WAIT_MS 30000

struct ksrv {
	struct tsrv t;
	struct kclient *c;	    /* the group's client */
	struct kclient *tc;	    /* the running test's own (ksrv_test_setup) */
	struct kc_informer *inf[8]; /* freed by ksrv_test_teardown, also after a failure */
};

/* KCLIENT_TRANSPORT=local in the environment: ksrv's client is the in-process transport
 * (kclient_local.h) over the server's registry instead of HTTP. */
bool kc_local_transport(void);
/* Start a plain-HTTP server with cfg (may be NULL) and a client for it; asserts. */
void ksrv_start(struct ksrv *k, struct api_config *cfg);
void ksrv_stop(struct ksrv *k);
int ksrv_group_setup(void **state);
int ksrv_group_teardown(void **state);
/* Per test: a client of its own, freed (with its watches and the informers tracked) by the
 * teardown, which cmocka runs also when the test failed. */
int ksrv_test_setup(void **state);
int ksrv_test_teardown(void **state);
void ksrv_track(struct ksrv *k, struct kc_informer *inf);

/* A client for base URL (no credentials). */
struct kclient *kc_plain_client(const char *base);

/* A tree from JSON text (asserts it parses). */
struct jv *J(struct jv_doc *d, const char *json);
/* printf, then J. */
struct jv *Jf(struct jv_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Create namespace name (asserts). */
void kc_make_ns(struct kclient *c, const char *name);
/* Create obj of kind k in ns (asserts success) and return its resourceVersion. */
uint64_t kc_make(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *json);

const struct k8s_kind *kind_cm(void);
const struct k8s_kind *kind_pod(void);
const struct k8s_kind *kind_ns(void);

/* Poll cond(arg) every few ms until true or timeout_ms: true if it became true. */
bool wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms);
/* Poll an expression (evaluated in the caller's scope). */
#define WAIT_UNTIL(expr, ms)                                          \
	({                                                            \
		bool ok__ = false;                                    \
		for (uint64_t end__ = mono_ms() + (uint64_t)(ms);;) { \
			if ((expr)) {                                 \
				ok__ = true;                          \
				break;                                \
			}                                             \
			if (mono_ms() >= end__)                       \
				break;                                \
			usleep(5000);                                 \
		}                                                     \
		ok__;                                                 \
	})
uint64_t mono_ms(void);

/* The string at path of an object (parsed into d), or "(null)". */
const char *ostr(struct jv_doc *d, const struct kc_obj *o, const char *path);

/* Threads of this process (entries of /proc/self/task). */
int count_threads(void);

#endif
