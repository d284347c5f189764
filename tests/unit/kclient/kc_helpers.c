/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kc_helpers.h"
#include "kclient_local.h"

uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct kclient *kc_plain_client(const char *base)
{
	struct kc_config cfg = {.server = (char *)base};
	struct kclient *c = kclient_http_new(&cfg);

	assert_non_null(c);
	return c;
}

bool kc_local_transport(void)
{
	const char *t = getenv("KCLIENT_TRANSPORT");

	return t && strcmp(t, "local") == 0;
}

void ksrv_start(struct ksrv *k, struct api_config *cfg)
{
	struct api_config none = {0};

	tsrv_start_cfg(&k->t, cfg ? cfg : &none);
	if (kc_local_transport()) {
		/* the same tests over the in-process transport: the server's registry */
		struct kclient_local_opts lo = {.bookmark_interval_s =
						    cfg ? cfg->bookmark_interval_s : 0};

		k->c = kclient_local_new(api_server_registry(k->t.s), &lo);
		assert_non_null(k->c);
	} else {
		k->c = kc_plain_client(k->t.base);
	}
	kclient_set_field_manager(k->c, "kclient-test");
}

void ksrv_stop(struct ksrv *k)
{
	kclient_free(k->c);
	k->c = NULL;
	tsrv_stop(&k->t);
}

int ksrv_group_setup(void **state)
{
	struct ksrv *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	ksrv_start(k, NULL);
	*state = k;
	return 0;
}

int ksrv_group_teardown(void **state)
{
	ksrv_stop(*state);
	free(*state);
	return 0;
}

int ksrv_test_setup(void **state)
{
	struct ksrv *k = *state;

	k->tc = kc_plain_client(k->t.base);
	kclient_set_field_manager(k->tc, "kclient-test");
	return 0;
}

int ksrv_test_teardown(void **state)
{
	struct ksrv *k = *state;

	for (size_t i = 0; i < sizeof(k->inf) / sizeof(k->inf[0]); i++) {
		kc_informer_free(k->inf[i]);
		k->inf[i] = NULL;
	}
	kclient_free(k->tc);
	k->tc = NULL;
	return 0;
}

void ksrv_track(struct ksrv *k, struct kc_informer *inf)
{
	for (size_t i = 0; i < sizeof(k->inf) / sizeof(k->inf[0]); i++)
		if (!k->inf[i]) {
			k->inf[i] = inf;
			return;
		}
	fail_msg("too many informers tracked");
}

struct jv *J(struct jv_doc *d, const char *json)
{
	struct jv_perr e;
	struct jv *v = jv_parse(d, json, strlen(json), &e);

	if (!v)
		fail_msg("bad test JSON at %zu: %s: %s", e.offset, e.msg, json);
	return v;
}

struct jv *Jf(struct jv_doc *d, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return J(d, buf);
}

const struct k8s_kind *kind_cm(void)
{
	return k8s_kind_find("v1", "ConfigMap");
}

const struct k8s_kind *kind_pod(void)
{
	return k8s_kind_find("v1", "Pod");
}

const struct k8s_kind *kind_ns(void)
{
	return k8s_kind_find("v1", "Namespace");
}

void kc_make_ns(struct kclient *c, const char *name)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	int err = kc_create(c, kind_ns(), NULL, Jf(d, "{\"metadata\":{\"name\":\"%s\"}}", name),
			    NULL, NULL, &st);

	if (err)
		fail_msg("namespace %s: %s: %s", name, kc_strerror(err), st.message);
	jv_doc_free(d);
}

uint64_t kc_make(struct kclient *c, const struct k8s_kind *k, const char *ns, const char *json)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st;
	struct kc_obj *o = NULL;
	int err = kc_create(c, k, ns, J(d, json), NULL, &o, &st);
	uint64_t rv;

	if (err)
		fail_msg("create %s: %s: %s", json, kc_strerror(err), st.message);
	rv = o->rv;
	kc_obj_put(o);
	jv_doc_free(d);
	return rv;
}

bool wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	return WAIT_UNTIL(cond(arg), timeout_ms);
}

const char *ostr(struct jv_doc *d, const struct kc_obj *o, const char *path)
{
	struct jv *t = o ? kc_obj_parse(o, d) : NULL;
	const char *s = t ? jv_path_str(t, path) : NULL;

	return s ? s : "(null)";
}

int count_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}
