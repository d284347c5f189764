/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_image: `drover image import|ls|rm|inspect`: the node's local image store (image.h).
 * No registry is reachable: images come in by import, as k3s's air-gapped images do.
 */
#include "cli.h"

#ifdef HAVE_DROVER_NODE
#include "image.h"
#include "k8s_jv.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAGS 64

static void image_usage(FILE *out)
{
	fprintf(out, "usage: drover image import FILE|DIR [--tag NAME]... [--root DIR]\n"
		     "       drover image ls [--root DIR]\n"
		     "       drover image rm NAME... [--root DIR]\n"
		     "       drover image inspect NAME [--root DIR]\n"
		     "\n"
		     "The node's local image store (default root " IMAGE_STORE_ROOT ").\n"
		     "import takes an OCI image layout directory, an OCI archive or a\n"
		     "docker save / podman save archive; NAME is normalised as Kubernetes does\n"
		     "(busybox = docker.io/library/busybox:latest), or an image digest.\n");
}

static struct image_store *open_store(const char *root)
{
	struct image_store *s = image_store_open(root);
	if (!s)
		fprintf(stderr, "drover image: store %s: %s\n", root ? root : IMAGE_STORE_ROOT,
			strerror(errno));
	return s;
}

static int fail(struct image_store *s, const char *what, int r)
{
	const char *msg = image_store_error(s);
	fprintf(stderr, "drover image %s: %s\n", what, *msg ? msg : strerror(-r));
	return 1;
}

static int do_import(struct image_store *s, const char *path, const char **tags, size_t n)
{
	char **digests = NULL;
	int r = image_store_import(s, path, tags, n, &digests);
	if (r < 0)
		return fail(s, "import", r);
	for (size_t i = 0; digests && digests[i]; i++) {
		struct image_info *info = NULL;
		if (image_store_resolve(s, digests[i], &info) == 0 && info->names[0]) {
			for (size_t k = 0; info->names[k]; k++)
				printf("imported %s (%s)\n", info->names[k], info->digest);
		} else {
			printf("imported %s\n", digests[i]);
		}
		image_info_free(info);
	}
	image_strv_free(digests);
	return 0;
}

static void human_size(uint64_t b, char *buf, size_t len)
{
	if (b >= 1000 * 1000)
		snprintf(buf, len, "%.1fMB", (double)b / 1e6);
	else if (b >= 1000)
		snprintf(buf, len, "%.1fkB", (double)b / 1e3);
	else
		snprintf(buf, len, "%lluB", (unsigned long long)b);
}

/* As `crictl images`: IMAGE TAG IMAGE ID SIZE, one line per name. */
static int do_ls(struct image_store *s)
{
	struct image_info **v;
	size_t n;
	int r = image_store_list(s, &v, &n);
	if (r < 0)
		return fail(s, "ls", r);
	printf("%-40s %-16s %-13s %s\n", "IMAGE", "TAG", "IMAGE ID", "SIZE");
	for (size_t i = 0; i < n; i++) {
		char size[32], repo[IMAGE_REF_MAX];
		human_size(v[i]->size, size, sizeof(size));
		const char *id = v[i]->config_digest + 7;
		if (!v[i]->names[0])
			printf("%-40s %-16s %-13.13s %s\n", "<none>", "<none>", id, size);
		for (size_t k = 0; v[i]->names[k]; k++) {
			const char *name = v[i]->names[k];
			const char *colon = strrchr(name, ':'), *slash = strrchr(name, '/');
			size_t rn = colon && (!slash || colon > slash) ? (size_t)(colon - name)
								       : strlen(name);
			snprintf(repo, sizeof(repo), "%.*s", (int)rn, name);
			printf("%-40s %-16s %-13.13s %s\n", repo,
			       name[rn] ? name + rn + 1 : "<none>", id, size);
		}
	}
	image_info_list_free(v, n);
	return 0;
}

static struct jv *strv_jv(struct jv_doc *d, char **v)
{
	if (!v)
		return jv_new(d, JV_NULL);
	struct jv *a = jv_new(d, JV_ARRAY);
	for (size_t i = 0; a && v[i]; i++)
		jv_push(a, jv_new_strz(d, v[i]));
	return a;
}

static int do_inspect(struct image_store *s, const char *ref)
{
	struct image_info *info;
	int r = image_store_resolve(s, ref, &info);
	if (r < 0)
		return fail(s, "inspect", r);
	struct jv_doc *d = jv_doc_new();
	struct jv *o = d ? jv_new(d, JV_OBJECT) : NULL, *c = d ? jv_new(d, JV_OBJECT) : NULL;
	struct jv *ports = d ? jv_new(d, JV_OBJECT) : NULL;
	char *json = NULL;
	if (o && c && ports) {
		for (size_t i = 0; info->exposed_ports[i]; i++)
			jv_set(d, ports, info->exposed_ports[i], jv_new(d, JV_OBJECT));
		jv_set(d, o, "id", jv_new_strz(d, info->config_digest));
		jv_set(d, o, "digest", jv_new_strz(d, info->digest));
		jv_set(d, o, "names", strv_jv(d, info->names));
		jv_set(d, o, "size", jv_new_int(d, (int64_t)info->size));
		jv_set(d, c, "Entrypoint", strv_jv(d, info->entrypoint));
		jv_set(d, c, "Cmd", strv_jv(d, info->cmd));
		jv_set(d, c, "Env", strv_jv(d, info->env));
		jv_set(d, c, "WorkingDir",
		       jv_new_strz(d, info->working_dir ? info->working_dir : ""));
		jv_set(d, c, "User", jv_new_strz(d, info->user ? info->user : ""));
		jv_set(d, c, "ExposedPorts", ports);
		jv_set(d, o, "config", c);
		jv_set(d, o, "layers", strv_jv(d, info->layers));
		json = jv_to_json(o, NULL);
	}
	jv_doc_free(d);
	image_info_free(info);
	if (!json) {
		fprintf(stderr, "drover image inspect: out of memory\n");
		return 1;
	}
	printf("%s\n", json);
	free(json);
	return 0;
}

int cmd_image(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, 0, 'r'},
	    {"tag", required_argument, 0, 't'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *tags[MAX_TAGS], *root = NULL;
	size_t n_tags = 0;
	int o;

	if (argc < 2) {
		fprintf(stderr, "drover image: missing subcommand (import, ls, rm, inspect)\n");
		return 2;
	}
	const char *what = argv[1];
	if (!strcmp(what, "--help") || !strcmp(what, "-h")) {
		image_usage(stdout);
		return 0;
	}
	bool is_import = !strcmp(what, "import");
	if (!is_import && strcmp(what, "ls") && strcmp(what, "rm") && strcmp(what, "inspect")) {
		fprintf(stderr, "drover image: unknown subcommand '%s' (import, ls, rm, inspect)\n",
			what);
		return 2;
	}
	optind = 2;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'r') {
			root = optarg;
		} else if (o == 't' && is_import) {
			if (n_tags == MAX_TAGS) {
				fprintf(stderr, "drover image import: at most %d --tag\n",
					MAX_TAGS);
				return 2;
			}
			tags[n_tags++] = optarg;
		} else if (o == 'h') {
			image_usage(stdout);
			return 0;
		} else {
			/* --tag X outside import: optind is past X, name the flag itself */
			const char *bad = o == 't' ? "--tag" : argv[optind - 1];
			fprintf(stderr, "drover image %s: %s %s (see drover image --help)\n", what,
				o == ':' ? "flag needs a value:" : "unknown flag", bad);
			return 2;
		}
	}
	int nargs = argc - optind;
	bool ls = !strcmp(what, "ls"), rm = !strcmp(what, "rm");
	if (ls ? nargs != 0 : rm ? nargs < 1 : nargs != 1) {
		fprintf(stderr, "drover image %s: %s (see drover image --help)\n", what,
			ls   ? "takes no arguments"
			: rm ? "needs a NAME"
			     : "needs exactly one argument");
		return 2;
	}
	struct image_store *s = open_store(root);
	if (!s)
		return 1;
	int ret = 0;
	if (is_import) {
		ret = do_import(s, argv[optind], tags, n_tags);
	} else if (ls) {
		ret = do_ls(s);
	} else if (rm) {
		for (int i = optind; i < argc; i++) {
			int r = image_store_remove(s, argv[i]);
			if (r < 0)
				ret = fail(s, "rm", r);
			else
				printf("deleted %s\n", argv[i]);
		}
	} else {
		ret = do_inspect(s, argv[optind]);
	}
	image_store_close(s);
	return ret;
}
#endif
