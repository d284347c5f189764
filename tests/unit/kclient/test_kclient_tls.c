/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kclient_tls: the HTTPS transport against an in-process API server serving TLS, with
 * the kubeconfig the server writes (CA, client certificate and key as -data) and with one
 * naming the server's PKI files by relative paths: calls, a watch, connection reuse over
 * TLS, the private 0700 directory the -data material is written to (and removed by
 * kclient_free; a killed client's, by the next client), bearer-token auth, and the refusals:
 * no credentials (401), an unknown CA (verification fails), a CA-less client with
 * insecure-skip-tls-verify (accepted).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_helpers.h"

struct tls {
	struct api_server *s;
	char dir[256]; /* the server's data dir */
	char tmp[300]; /* TMPDIR of the clients */
	char url[128];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct tls *t = calloc(1, sizeof(*t));
	struct api_config cfg = {.listen = "127.0.0.1:0", .threads = 2, .workers = 4};

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/drover-kctls-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->tmp, sizeof(t->tmp), "%s/tmp", t->dir);
	assert_int_equal(mkdir(t->tmp, 0700), 0);
	setenv("TMPDIR", t->tmp, 1);
	cfg.data_dir = t->dir;
	assert_int_equal(api_server_start(&cfg, &t->s), 0);
	snprintf(t->url, sizeof(t->url), "https://127.0.0.1:%u", api_server_port(t->s));
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tls *t = *state;

	api_server_stop(t->s);
	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("TMPDIR");
	free(t);
	return 0;
}

/* Entries of dir (not . and ..); the first one's name into first. */
static int entries(const char *dir, char *first, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!n && first)
			snprintf(first, size, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int connections_to(unsigned port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned lp, rp, a, b;

		if (sscanf(line, " %*d: %x:%x %x:%x", &a, &lp, &b, &rp) == 4 && rp == port)
			n++;
	}
	fclose(f);
	return n;
}

static void on_ev(void *arg, enum kc_event_type t, struct kc_obj *o)
{
	(void)o;
	if (t == KC_ADDED)
		__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void on_end(void *arg, int err)
{
	(void)arg;
	(void)err;
}

static void test_server_kubeconfig(void **state)
{
	struct tls *t = *state;
	struct kc_config cfg;
	struct kclient *c;
	struct kc_status st;
	struct kc_obj *o = NULL;
	struct kc_watch *w = NULL;
	struct kc_watch_opts wo = {.resource_version = "0"};
	static const struct kc_watch_cb cb = {.event = on_ev, .end = on_end};
	struct jv_doc *d = jv_doc_new();
	char err[512], priv[256], path[1024];
	struct stat sb;
	int added = 0, before;

	assert_non_null(api_server_kubeconfig(t->s));
	assert_int_equal(kc_config_load(api_server_kubeconfig(t->s), &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.server, t->url);
	assert_non_null(cfg.ca_data);
	assert_non_null(strstr(cfg.ca_data, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(cfg.cert_data);
	assert_non_null(cfg.key_data);
	assert_non_null(strstr(cfg.key_data, "PRIVATE KEY-----"));
	assert_false(cfg.insecure);

	assert_int_equal(entries(t->tmp, NULL, 0), 0);
	c = kclient_http_new(&cfg);
	assert_non_null(c);
	/* the -data material in a private directory: 0700, files 0600 */
	assert_int_equal(entries(t->tmp, priv, sizeof(priv)), 1);
	snprintf(path, sizeof(path), "%s/%s", t->tmp, priv);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(entries(path, NULL, 0), 3);
	snprintf(path, sizeof(path), "%s/%s/client.key", t->tmp, priv);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	kc_make_ns(c, "tls");
	kc_make(c, kind_cm(), "tls", "{\"metadata\":{\"name\":\"a\"}}");
	assert_int_equal(kc_get(c, kind_cm(), "tls", "a", &o, &st), 0);
	assert_string_equal(ostr(d, o, "metadata.name"), "a");
	kc_obj_put(o);

	/* 50 calls, no new connection (so no new handshake) each */
	before = connections_to(api_server_port(t->s));
	for (int i = 0; i < 50; i++) {
		assert_int_equal(kc_get(c, kind_cm(), "tls", "a", &o, &st), 0);
		kc_obj_put(o);
	}
	assert_true(connections_to(api_server_port(t->s)) - before <= 1);

	/* a watch over TLS */
	assert_int_equal(kc_watch(c, kind_cm(), "tls", &wo, &cb, &added, &w, &st), 0);
	kc_make(c, kind_cm(), "tls", "{\"metadata\":{\"name\":\"b\"}}");
	assert_true(WAIT_UNTIL(__atomic_load_n(&added, __ATOMIC_SEQ_CST) >= 2, KC_WAIT_MS));
	kc_watch_stop(w);

	kclient_free(c);
	/* the private directory went with it */
	assert_int_equal(entries(t->tmp, NULL, 0), 0);
	kc_config_free(&cfg);
	jv_doc_free(d);
}

/* A killed client's directory (drover-kclient-PID-XXXXXX of a PID that is gone) is removed by
 * the next client that writes its own; a live process's, and anything else, stays. */
static void test_stale_dirs_swept(void **state)
{
	struct tls *t = *state;
	struct kc_config cfg;
	struct kclient *c;
	char err[512], dead[512], live[512], other[512], path[600];
	FILE *f;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid); /* reaped: the PID is gone */
	snprintf(dead, sizeof(dead), "%s/drover-kclient-%ld-AbC123", t->tmp, (long)pid);
	snprintf(live, sizeof(live), "%s/drover-kclient-%ld-DeF456", t->tmp, (long)getpid());
	snprintf(other, sizeof(other), "%s/drover-kclient-XyZ789", t->tmp);
	assert_int_equal(mkdir(dead, 0700), 0);
	snprintf(path, sizeof(path), "%s/ca.crt", dead);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mkdir(live, 0700), 0);
	assert_int_equal(mkdir(other, 0700), 0);

	assert_int_equal(kc_config_load(api_server_kubeconfig(t->s), &cfg, err, sizeof(err)), 0);
	c = kclient_http_new(&cfg);
	assert_non_null(c);
	assert_int_equal(access(dead, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(entries(t->tmp, NULL, 0), 3); /* live, other and the client's own */
	kclient_free(c);
	kc_config_free(&cfg);
	assert_int_equal(rmdir(live), 0);
	assert_int_equal(rmdir(other), 0);
}

static void test_files_relative(void **state)
{
	struct tls *t = *state;
	struct kc_config cfg;
	struct kclient *c;
	struct kc_status st;
	struct kc_obj *o = NULL;
	char kc[512], err[512];
	FILE *f;

	/* the server's PKI files, named relative to the kubeconfig's directory */
	snprintf(kc, sizeof(kc), "%s/files.kubeconfig", t->dir);
	f = fopen(kc, "w");
	assert_non_null(f);
	fprintf(f,
		"apiVersion: v1\nkind: Config\ncurrent-context: f\n"
		"clusters:\n- name: c\n  cluster:\n    server: %s\n"
		"    certificate-authority: pki/ca.crt\n"
		"users:\n- name: u\n  user:\n    client-certificate: pki/admin.crt\n"
		"    client-key: ./pki/admin.key\n"
		"contexts:\n- name: f\n  context:\n    cluster: c\n    user: u\n"
		"    namespace: tls\n",
		t->url);
	fclose(f);
	assert_int_equal(kc_config_load(kc, &cfg, err, sizeof(err)), 0);
	assert_null(cfg.cert_data);
	assert_non_null(cfg.cert_file);
	assert_int_equal(cfg.cert_file[0], '/');
	assert_string_equal(cfg.namespace, "tls");
	c = kclient_http_new(&cfg);
	assert_non_null(c);
	/* nothing to write: no private directory */
	assert_int_equal(entries(t->tmp, NULL, 0), 0);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), 0);
	kc_obj_put(o);
	kclient_free(c);
	kc_config_free(&cfg);
}

static void test_refusals(void **state)
{
	struct tls *t = *state;
	struct kc_config full, cfg = {0};
	struct kclient *c;
	struct kc_status st;
	struct kc_obj *o = NULL;
	char err[512];

	assert_int_equal(kc_config_load(api_server_kubeconfig(t->s), &full, err, sizeof(err)), 0);
	/* the CA but no credentials: the server's 401 */
	cfg.server = full.server;
	cfg.ca_data = full.ca_data;
	c = kclient_http_new(&cfg);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), -EACCES);
	assert_int_equal(st.code, 401);
	kclient_free(c);

	/* a bearer token instead */
	cfg.token = (char *)api_server_token(t->s);
	c = kclient_http_new(&cfg);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), 0);
	kc_obj_put(o);
	kclient_free(c);
	cfg.token = "0123456789abcdef0123456789abcdef";
	c = kclient_http_new(&cfg);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), -EACCES);
	kclient_free(c);

	/* a CA that did not sign the server's certificate: verification fails, no answer */
	cfg.token = NULL;
	cfg.ca_data = full.cert_data;
	cfg.cert_data = full.cert_data;
	cfg.key_data = full.key_data;
	c = kclient_http_new(&cfg);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), -EIO);
	assert_int_equal(st.code, 0);
	assert_true(st.message[0] != 0);
	kclient_free(c);

	/* no CA at all, verification skipped as asked */
	cfg.ca_data = NULL;
	cfg.insecure = true;
	c = kclient_http_new(&cfg);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), 0);
	kc_obj_put(o);
	kclient_free(c);
	/* ... and without the flag the system CAs do not know it */
	cfg.insecure = false;
	c = kclient_http_new(&cfg);
	assert_int_equal(kc_get(c, kind_ns(), NULL, "default", &o, &st), -EIO);
	kclient_free(c);
	kc_config_free(&full);
	assert_int_equal(entries(t->tmp, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_kubeconfig),
	    cmocka_unit_test(test_stale_dirs_swept),
	    cmocka_unit_test(test_files_relative),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
