/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kubeconfig: kc_config_load on kubeconfigs written to a temporary directory: -data
 * fields decoded, files resolved against the kubeconfig's directory, token and tokenFile
 * (the file wins, trimmed), the context's namespace, insecure-skip-tls-verify, $KUBECONFIG
 * (first of a colon list) and ~/.kube/config, and each bad input with its message: no
 * current-context, a missing context, cluster or user, no server, bad base64, an unreadable
 * file, a certificate without its key, YAML that does not parse.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kclient.h"

static char dir[256];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/drover-kubeconfig-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* dir/name with text; returns the path (static buffer, one per call site is enough). */
static const char *put(const char *name, const char *text)
{
	static char path[8][512];
	static int next;
	char *p = path[next++ % 8];
	FILE *f;

	snprintf(p, 512, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* "LS0tLS1CRUdJTi..." is base64 of these two PEM-ish texts */
#define CA_PEM	"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
#define CA_B64	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n"
#define KEY_B64 "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCksKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo="

static void test_data_fields(void **state)
{
	struct kc_config c;
	char err[256];
	const char *p =
	    put("data.yaml", "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
			     "clusters:\n- name: other\n  cluster:\n    server: https://other:1\n"
			     "- name: main\n  cluster:\n    server: https://10.0.0.1:6443/\n"
			     "    certificate-authority-data: " CA_B64 "\n"
			     "users:\n- name: admin\n  user:\n    client-certificate-data: " CA_B64
			     "\n    client-key-data: " KEY_B64 "\n"
			     "contexts:\n- name: prod\n  context: {cluster: other, user: admin}\n"
			     "- name: dev\n  context:\n    cluster: main\n    user: admin\n"
			     "    namespace: team\n");

	(void)state;
	assert_int_equal(kc_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.server, "https://10.0.0.1:6443"); /* no trailing slash */
	assert_string_equal(c.ca_data, CA_PEM);
	assert_string_equal(c.cert_data, CA_PEM);
	assert_string_equal(c.key_data, KEY_PEM);
	assert_null(c.ca_file);
	assert_null(c.token);
	assert_string_equal(c.namespace, "team");
	assert_false(c.insecure);
	kc_config_free(&c);
	kc_config_free(&c); /* twice is harmless */
}

static void test_files_and_tokens(void **state)
{
	struct kc_config c;
	char err[256], want[512];
	const char *p;

	(void)state;
	mkdir(strcat(strcpy(want, dir), "/certs"), 0700);
	put("certs/ca.crt", CA_PEM);
	put("certs/u.crt", CA_PEM);
	put("certs/u.key", KEY_PEM);
	put("tok", "  secret-from-file \n\n");
	p = put("files.yaml",
		"current-context: c\nclusters:\n- name: k\n  cluster:\n"
		"    server: https://h:6443\n    certificate-authority: certs/ca.crt\n"
		"    insecure-skip-tls-verify: true\n"
		"users:\n- name: u\n  user:\n    client-certificate: certs/u.crt\n"
		"    client-key: ./certs/u.key\n    token: from-token\n    tokenFile: tok\n"
		"contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n");
	assert_int_equal(kc_config_load(p, &c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/certs/ca.crt", dir);
	assert_string_equal(c.ca_file, want);
	snprintf(want, sizeof(want), "%s/certs/u.crt", dir);
	assert_string_equal(c.cert_file, want);
	snprintf(want, sizeof(want), "%s/./certs/u.key", dir);
	assert_string_equal(c.key_file, want);
	assert_null(c.ca_data);
	/* the file wins over token, as client-go has it; trailing space trimmed */
	assert_string_equal(c.token, "  secret-from-file");
	assert_true(c.insecure);
	assert_null(c.namespace);
	kc_config_free(&c);

	/* token alone; JSON is YAML too; a context without a user has no credentials */
	p = put("tok.json",
		"{\"current-context\":\"c\",\"clusters\":[{\"name\":\"k\",\"cluster\":"
		"{\"server\":\"http://127.0.0.1:8080\"}}],\"users\":[{\"name\":\"u\","
		"\"user\":{\"token\":\"abc\"}}],\"contexts\":[{\"name\":\"c\",\"context\":"
		"{\"cluster\":\"k\",\"user\":\"u\"}},{\"name\":\"nouser\",\"context\":"
		"{\"cluster\":\"k\"}}]}");
	assert_int_equal(kc_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.token, "abc");
	assert_string_equal(c.server, "http://127.0.0.1:8080");
	kc_config_free(&c);
	/* an absolute path stays as it is; a missing tokenFile falls back to token */
	snprintf(want, sizeof(want),
		 "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://h\n"
		 "    certificate-authority: %s/certs/ca.crt\nusers:\n- name: u\n  user:\n"
		 "    token: fallback\n    tokenFile: nope\ncontexts:\n- name: c\n  context:\n"
		 "    cluster: k\n    user: u\n",
		 dir);
	p = put("abs.yaml", want);
	assert_int_equal(kc_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.token, "fallback");
	assert_int_equal(strncmp(c.ca_file, dir, strlen(dir)), 0);
	kc_config_free(&c);
}

static void test_default_paths(void **state)
{
	struct kc_config c;
	char err[256], env[1200], home[512];
	const char *p = put("env.yaml", "current-context: c\nclusters:\n- name: k\n  cluster:\n"
					"    server: https://from-env\ncontexts:\n- name: c\n"
					"  context:\n    cluster: k\n");
	char *old_kc = getenv("KUBECONFIG") ? strdup(getenv("KUBECONFIG")) : NULL;
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	(void)state;
	snprintf(env, sizeof(env), "%s:/nonexistent/second", p);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kc_config_load(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://from-env");
	kc_config_free(&c);
	/* no $KUBECONFIG: ~/.kube/config */
	unsetenv("KUBECONFIG");
	snprintf(home, sizeof(home), "%s/home", dir);
	mkdir(home, 0700);
	strcat(home, "/.kube");
	mkdir(home, 0700);
	put("home/.kube/config", "current-context: c\nclusters:\n- name: k\n  cluster:\n"
				 "    server: https://from-home\ncontexts:\n- name: c\n"
				 "  context:\n    cluster: k\n");
	snprintf(home, sizeof(home), "%s/home", dir);
	setenv("HOME", home, 1);
	assert_int_equal(kc_config_load(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://from-home");
	kc_config_free(&c);
	if (old_kc)
		setenv("KUBECONFIG", old_kc, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	free(old_kc);
	free(old_home);
}

/* Load text; expect the error code and a message ending in want. */
static void bad(const char *text, int code, const char *want)
{
	struct kc_config c;
	char err[512], full[768];
	const char *p = put("bad.yaml", text);

	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(kc_config_load(p, &c, err, sizeof(err)), code);
	snprintf(full, sizeof(full), "kubeconfig %s: %s", p, want);
	assert_string_equal(err, full);
	/* nothing half-loaded is left behind */
	assert_null(c.server);
	assert_null(c.token);
	kc_config_free(&c);
}

#define CL "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
#define US "users:\n- name: u\n  user:\n    token: t\n"
#define CX "contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n"

static void test_errors(void **state)
{
	struct kc_config c;
	char err[512], want[600];

	(void)state;
	bad(CL US CX, -EINVAL, "no current-context");
	bad("current-context: x\n" CL US CX, -ENOENT, "context \"x\" not found");
	bad("current-context: c\n" US CX, -ENOENT, "context \"c\": cluster \"k\" not found");
	bad("current-context: c\n" CL CX, -ENOENT, "context \"c\": user \"u\" not found");
	bad("current-context: c\ncontexts:\n- name: c\n  context:\n    user: u\n", -EINVAL,
	    "context \"c\": no cluster");
	bad("current-context: c\nclusters:\n- name: k\n  cluster: {}\n" US CX, -EINVAL,
	    "cluster \"k\": no server");
	bad("current-context: c\nclusters:\n- name: k\n  cluster:\n    server: h:6443\n" US CX,
	    -EINVAL, "cluster \"k\": server \"h:6443\" is not an http(s) URL");
	bad("current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://h\n"
	    "    certificate-authority-data: '%%%'\n" US CX,
	    -EINVAL, "cluster \"k\": certificate-authority-data is not valid base64");
	snprintf(want, sizeof(want),
		 "user \"u\": unable to read client-certificate %s/missing.crt: No such file or "
		 "directory",
		 dir);
	bad("current-context: c\n" CL "users:\n- name: u\n  user:\n    client-certificate: "
	    "missing.crt\n    client-key: missing.key\n" CX,
	    -ENOENT, want);
	bad("current-context: c\n" CL
	    "users:\n- name: u\n  user:\n    client-certificate-data: " CA_B64 "\n" CX,
	    -EINVAL, "user \"u\": client-certificate and client-key go together");
	snprintf(want, sizeof(want),
		 "user \"u\": unable to read tokenFile %s/no-token: No such file or directory",
		 dir);
	bad("current-context: c\n" CL "users:\n- name: u\n  user:\n    tokenFile: no-token\n" CX,
	    -ENOENT, want);
	bad("current-context: c\nclusters: [\n", -EINVAL,
	    "line 3, column 1: flow sequence without a closing bracket");
	bad("- a\n- b\n", -EINVAL, "not a kubeconfig (expected a mapping)");
	/* a file that is not there */
	snprintf(want, sizeof(want), "%s/none.yaml", dir);
	assert_int_equal(kc_config_load(want, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file or directory"));
	/* err may be NULL */
	assert_int_equal(kc_config_load(want, &c, NULL, 0), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_fields),
	    cmocka_unit_test(test_files_and_tokens),
	    cmocka_unit_test(test_default_paths),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
