/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_token: `drover token create|list`: bootstrap tokens, as `kubeadm token`. A token
 * "<id>.<secret>" ([a-z0-9]{6}.[a-z0-9]{16}) is the Secret kube-system/bootstrap-token-<id> of
 * type bootstrap.kubernetes.io/token with Kubernetes' fields (token-id, token-secret,
 * expiration, description, usage-bootstrap-authentication, usage-bootstrap-signing,
 * auth-extra-groups); the API server authenticates it as system:bootstrap:<id>
 * (control/api/http/auth.c). Talks to the server through a kubeconfig (--kubeconfig F, or
 * DIR/kubeconfig of --data-dir DIR).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cli.h"
#include "kclient.h"

#define CMD	      "token"
#define DEFAULT_GROUP "system:bootstrappers:drover:default-node-token"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover token create [--ttl D] [--description S] [--groups G]\n"
	    "                           [--data-dir DIR | --kubeconfig F]\n"
	    "       drover token list [--data-dir DIR | --kubeconfig F]\n\n"
	    "Bootstrap tokens a node joins with (as kubeadm token): create prints a new token\n"
	    "<id>.<secret> and stores it as Secret kube-system/bootstrap-token-<id>.\n\n"
	    "  --ttl D            lifetime (Go durations: 24h, 90m, 1h30m; 0: never expires;\n"
	    "                     default 24h)\n"
	    "  --description S    a description stored with it\n"
	    "  --groups G         extra groups, comma-separated, each system:bootstrappers:...\n"
	    "                     (default " DEFAULT_GROUP ")\n"
	    "  --data-dir DIR     the server's data directory (uses DIR/kubeconfig)\n"
	    "  --kubeconfig F     the server and credentials (default $KUBECONFIG, then\n"
	    "                     ~/.kube/config)\n");
}

static int random_chars(char *out, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i = 0;

	while (i < n) {
		unsigned char b;

		if (getrandom(&b, 1, 0) != 1)
			return -EIO;
		if (b >= 252) /* 252 = 7 * 36: no bias */
			continue;
		out[i++] = set[b % 36];
	}
	out[n] = 0;
	return 0;
}

static int put_data(struct jv_doc *d, struct jv *data, const char *key, const char *val)
{
	gnutls_datum_t in = {(unsigned char *)val, (unsigned)strlen(val)}, out = {0};
	int err;

	if (gnutls_base64_encode2(&in, &out) < 0)
		return -ENOMEM;
	err = jv_set(d, data, key, jv_new_str(d, (const char *)out.data, out.size));
	gnutls_free(out.data);
	return err;
}

static bool groups_ok(const char *g)
{
	const char *p = "system:bootstrappers:";

	for (const char *s = g; *s;) {
		size_t n = strcspn(s, ",");

		if (n <= strlen(p) || strncmp(s, p, strlen(p)) != 0)
			return false;
		s += n + (s[n] == ',');
	}
	return *g != 0;
}

static int token_create(struct kclient *c, int64_t ttl, const char *desc, const char *groups)
{
	char id[7], secret[17], name[64], exp[32];
	struct jv_doc *d = jv_doc_new();
	struct jv *obj, *md, *data;
	struct kc_status st = {0};
	int err;

	if (!d)
		return 1;
	if (random_chars(id, 6) || random_chars(secret, 16)) {
		fprintf(stderr, "drover token: no randomness\n");
		jv_doc_free(d);
		return 1;
	}
	snprintf(name, sizeof(name), "bootstrap-token-%s", id);
	obj = jv_new(d, JV_OBJECT);
	jv_set(d, obj, "apiVersion", jv_new_strz(d, "v1"));
	jv_set(d, obj, "kind", jv_new_strz(d, "Secret"));
	md = jv_obj_at(d, obj, "metadata");
	jv_set(d, md, "name", jv_new_strz(d, name));
	jv_set(d, md, "namespace", jv_new_strz(d, "kube-system"));
	jv_set(d, obj, "type", jv_new_strz(d, "bootstrap.kubernetes.io/token"));
	data = jv_obj_at(d, obj, "data");
	put_data(d, data, "token-id", id);
	put_data(d, data, "token-secret", secret);
	if (ttl > 0) {
		time_t t = time(NULL) + ttl;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		put_data(d, data, "expiration", exp);
	}
	if (desc)
		put_data(d, data, "description", desc);
	put_data(d, data, "usage-bootstrap-authentication", "true");
	put_data(d, data, "usage-bootstrap-signing", "true");
	put_data(d, data, "auth-extra-groups", groups);
	err = kc_create(c, k8s_kind_find("v1", "Secret"), "kube-system", obj, NULL, NULL, &st);
	jv_doc_free(d);
	if (err) {
		fprintf(stderr, "drover token: create: %s\n",
			st.message[0] ? st.message : kc_strerror(err));
		return 1;
	}
	printf("%s.%s\n", id, secret);
	return 0;
}

/* data[key] decoded into buf ("" if absent). */
static const char *datum(const struct jv *secret, const char *key, char *buf, size_t size)
{
	const struct jv *v = jv_get(jv_get(secret, "data"), key);
	gnutls_datum_t in, out = {0};

	buf[0] = 0;
	if (!v || v->type != JV_STRING)
		return buf;
	in = (gnutls_datum_t){(unsigned char *)v->s, v->len};
	if (gnutls_base64_decode2(&in, &out) >= 0) {
		snprintf(buf, size, "%.*s", (int)out.size, (const char *)out.data);
		gnutls_free(out.data);
	}
	return buf;
}

static int token_list(struct kclient *c)
{
	struct kc_list l = {0};
	struct kc_status st = {0};
	struct kc_list_opts o = {.field_selector = "type=bootstrap.kubernetes.io/token"};
	int err = kc_list(c, k8s_kind_find("v1", "Secret"), "kube-system", &o, &l, &st);

	if (err) {
		fprintf(stderr, "drover token: list: %s\n",
			st.message[0] ? st.message : kc_strerror(err));
		return 1;
	}
	printf("%-23s  %-8s  %-20s  %-26s  %-20s  %s\n", "TOKEN", "TTL", "EXPIRES", "USAGES",
	       "DESCRIPTION", "EXTRA GROUPS");
	for (size_t i = 0; i < l.count; i++) {
		struct jv_doc *d = jv_doc_new();
		struct jv *s = d ? kc_obj_parse(l.items[i], d) : NULL;
		char id[64], sec[64], exp[64], desc[256], groups[512], ttl[32], usages[64];

		if (!s || !jv_is_str(jv_get(s, "type"), "bootstrap.kubernetes.io/token")) {
			jv_doc_free(d);
			continue;
		}
		datum(s, "token-id", id, sizeof(id));
		datum(s, "token-secret", sec, sizeof(sec));
		datum(s, "expiration", exp, sizeof(exp));
		datum(s, "description", desc, sizeof(desc));
		datum(s, "auth-extra-groups", groups, sizeof(groups));
		snprintf(ttl, sizeof(ttl), "<forever>");
		if (exp[0]) {
			struct tm tm = {0};
			char *end = strptime(exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
			int64_t left = end ? (int64_t)timegm(&tm) - (int64_t)time(NULL) : -1;

			if (left <= 0)
				snprintf(ttl, sizeof(ttl), "<invalid>");
			else if (left >= 3600)
				snprintf(ttl, sizeof(ttl), "%lldh", (long long)(left / 3600));
			else
				snprintf(ttl, sizeof(ttl), "%lldm", (long long)(left / 60));
		}
		{
			char a[64], b[64];
			bool au = strcmp(datum(s, "usage-bootstrap-authentication", a, sizeof(a)),
					 "true") == 0;
			bool si =
			    strcmp(datum(s, "usage-bootstrap-signing", b, sizeof(b)), "true") == 0;

			snprintf(usages, sizeof(usages), "%s%s%s", au ? "authentication" : "",
				 au && si ? "," : "", si ? "signing" : "");
		}
		printf("%s.%-16s  %-8s  %-20s  %-26s  %-20s  %s\n", id, sec, ttl,
		       exp[0] ? exp : "<never>", usages, desc[0] ? desc : "<none>", groups);
		jv_doc_free(d);
	}
	kc_list_free(&l);
	return 0;
}

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ttl", required_argument, NULL, 't'},
	    {"description", required_argument, NULL, 'd'},
	    {"groups", required_argument, NULL, 'g'},
	    {"data-dir", required_argument, NULL, 'D'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *desc = NULL, *data_dir = NULL, *kubeconfig = NULL, *groups = DEFAULT_GROUP;
	const char *verb;
	char path[4200];
	int64_t ttl = 24 * 3600;
	struct kclient *c;
	int opt, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0) {
		fprintf(stderr, "drover token: unknown verb \"%s\" (create, list)\n", verb);
		return 2;
	}
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			ttl = cli_duration(optarg);
			if (ttl < 0) {
				fprintf(stderr,
					"drover token: --ttl: \"%s\" is not a duration (24h, 90m, "
					"1h30m, 0)\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			desc = optarg;
			break;
		case 'g':
			groups = optarg;
			break;
		case 'D':
			data_dir = optarg;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "drover token: unexpected argument \"%s\"\n", argv[optind + 1]);
		return 2;
	}
	if (data_dir && kubeconfig) {
		fprintf(stderr, "drover token: --data-dir and --kubeconfig exclude each other\n");
		return 2;
	}
	if (!groups_ok(groups)) {
		fprintf(stderr,
			"drover token: --groups: \"%s\": each group must begin with "
			"system:bootstrappers:\n",
			groups);
		return 2;
	}
	if (data_dir) {
		snprintf(path, sizeof(path), "%s/kubeconfig", data_dir);
		kubeconfig = path;
	}
	c = cli_client(CMD, kubeconfig, "drover-token");
	if (!c)
		return 1;
	rc = strcmp(verb, "create") == 0 ? token_create(c, ttl, desc, groups) : token_list(c);
	kclient_free(c);
	return rc;
}
