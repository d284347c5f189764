/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drover-cni main: the CNI calling convention. The runtime sets CNI_COMMAND, CNI_CONTAINERID,
 * CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH and writes the network configuration to
 * stdin; the plugin writes its result (ADD, VERSION) or an error object {cniVersion, code,
 * msg, details} to stdout and exits non-zero on error. Logs go to stderr only.
 */
#include "cni.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STDIN_MAX (1u << 20)

static const char *const supported[] = {"0.4.0", "1.0.0", "1.1.0"};
#define NEWEST "1.1.0"

int cni_fail(struct cni *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->code = code;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int cni_detail(struct cni *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->details, sizeof(c->details), fmt, ap);
	va_end(ap);
	return -1;
}

int cni_version_cmp(const char *a, const char *b)
{
	for (int i = 0; i < 3; i++) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

static bool is_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		if (!strcmp(v, supported[i]))
			return true;
	return false;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void print_json(const struct jv *v)
{
	size_t len;
	char *s = jv_to_json(v, &len);

	if (s) {
		fwrite(s, 1, len, stdout);
		fputc('\n', stdout);
	}
	free(s);
	fflush(stdout);
}

static int print_error(struct cni *c)
{
	struct jv_doc *d = jv_doc_new();
	struct jv *o;

	if (!d)
		return 1;
	if (c->delegate_err) {
		print_json(c->delegate_err);
	} else {
		o = jv_new(d, JV_OBJECT);
		jv_set(
		    d, o, "cniVersion",
		    jv_new_strz(d, c->version && is_supported(c->version) ? c->version : NEWEST));
		jv_set(d, o, "code", jv_new_int(d, c->code));
		jv_set(d, o, "msg", jv_new_strz(d, c->msg));
		if (c->details[0])
			jv_set(d, o, "details", jv_new_strz(d, c->details));
		print_json(o);
	}
	fprintf(stderr, "drover-cni %s: error %d: %s%s%s\n", c->command ? c->command : "", c->code,
		c->msg, c->details[0] ? ": " : "", c->details);
	jv_doc_free(d);
	return 1;
}

static int read_stdin(struct cni *c)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return cni_fail(c, CNI_ERR_IO, "out of memory");
	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb;

			if (cap >= STDIN_MAX) {
				free(buf);
				return cni_fail(c, CNI_ERR_DECODE,
						"network configuration on stdin exceeds %u bytes",
						STDIN_MAX);
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return cni_fail(c, CNI_ERR_IO, "out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		n = fread(buf + len, 1, cap - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				free(buf);
				return cni_fail(c, CNI_ERR_IO, "reading stdin: %s",
						strerror(errno));
			}
			break;
		}
	}
	c->stdin_buf = buf;
	c->stdin_len = len;
	return 0;
}

/* VERSION: the versions this plugin speaks; stdin holds {"cniVersion": V} (may be empty). */
static int do_version(struct cni *c)
{
	struct jv *o = jv_new(c->doc, JV_OBJECT), *list = jv_new(c->doc, JV_ARRAY);
	struct jv_perr perr;
	struct jv *in = NULL;
	const char *v = NEWEST;

	if (read_stdin(c))
		return -1;
	if (c->stdin_len) {
		in = jv_parse(c->doc, c->stdin_buf, c->stdin_len, &perr);
		if (!in)
			return cni_fail(c, CNI_ERR_DECODE, "decoding version request: %s",
					perr.msg);
		v = jv_path_str(in, "cniVersion");
		if (!v || !is_supported(v))
			v = NEWEST;
	}
	jv_set(c->doc, o, "cniVersion", jv_new_strz(c->doc, v));
	for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		jv_push(list, jv_new_strz(c->doc, supported[i]));
	jv_set(c->doc, o, "supportedVersions", list);
	print_json(o);
	return 0;
}

/* The spec's container ID: alphanumeric first, then alphanumerics, '_', '.', '-'. */
static bool valid_container_id(const char *s)
{
	if (strlen(s) >= 256 || !isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

/* A Linux interface name: 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

/* A network name: alphanumeric first, then alphanumerics, '_', '.', '-' (the spec's). */
static bool valid_network_name(const char *s)
{
	return valid_container_id(s);
}

/* CNI_ARGS: "K=V;K=V". */
static bool valid_args(const char *s)
{
	while (*s) {
		const char *end = strchr(s, ';'), *eq = strchr(s, '=');

		if (!end)
			end = s + strlen(s);
		if (!eq || eq >= end || eq == s)
			return false;
		s = *end ? end + 1 : end;
	}
	return true;
}

static int check_env(struct cni *c, bool need_cid, bool need_netns, bool need_ifname)
{
	char missing[128] = "";

	if (need_cid && !c->container_id)
		strcat(missing, " CNI_CONTAINERID");
	if (need_netns && !c->netns)
		strcat(missing, " CNI_NETNS");
	if (need_ifname && !c->ifname)
		strcat(missing, " CNI_IFNAME");
	if (!c->path)
		strcat(missing, " CNI_PATH");
	if (missing[0])
		return cni_fail(c, CNI_ERR_INVALID_ENV, "required env variables [%s] missing",
				missing + 1);
	if (c->container_id && !valid_container_id(c->container_id))
		return cni_fail(c, CNI_ERR_INVALID_ENV,
				"invalid CNI_CONTAINERID %.200s: must start with an alphanumeric "
				"and hold only alphanumerics, '_', '.' and '-'",
				c->container_id);
	if (c->ifname && !valid_ifname(c->ifname))
		return cni_fail(c, CNI_ERR_INVALID_ENV,
				"invalid CNI_IFNAME %.64s: an interface name of 1 to 15 bytes "
				"without '/', ':' or spaces",
				c->ifname);
	if (c->args && !valid_args(c->args))
		return cni_fail(c, CNI_ERR_INVALID_ENV,
				"invalid CNI_ARGS %.200s: want KEY=VALUE pairs separated by ';'",
				c->args);
	return 0;
}

static int load_config(struct cni *c)
{
	struct jv_perr perr;
	struct jv *v;

	if (read_stdin(c))
		return -1;
	c->conf = jv_parse(c->doc, c->stdin_buf, c->stdin_len, &perr);
	if (!c->conf)
		return cni_fail(c, CNI_ERR_DECODE, "decoding network configuration: %s at byte %zu",
				perr.msg, perr.offset);
	if (c->conf->type != JV_OBJECT)
		return cni_fail(c, CNI_ERR_DECODE,
				"decoding network configuration: not a JSON object");
	v = jv_get(c->conf, "cniVersion");
	if (!v || v->type != JV_STRING)
		return cni_fail(c, CNI_ERR_INVALID_CONFIG,
				"network configuration has no cniVersion string");
	c->version = v->s;
	if (!is_supported(c->version))
		return cni_fail(c, CNI_ERR_VERSION,
				"incompatible CNI versions: config is \"%.32s\", plugin supports "
				"[\"0.4.0\" \"1.0.0\" \"1.1.0\"]",
				c->version);
	c->name = jv_path_str(c->conf, "name");
	if (!c->name || !valid_network_name(c->name))
		return cni_fail(c, CNI_ERR_INVALID_CONFIG,
				"network configuration needs a name (alphanumeric first, then "
				"alphanumerics, '_', '.' or '-')");
	return 0;
}

static int run(struct cni *c)
{
	const char *cmd = c->command;

	if (!cmd)
		return cni_fail(c, CNI_ERR_INVALID_ENV,
				"required env variables [CNI_COMMAND] missing");
	if (!strcmp(cmd, "VERSION"))
		return do_version(c);
	if (!strcmp(cmd, "ADD") || !strcmp(cmd, "CHECK")) {
		if (check_env(c, true, true, true) || load_config(c))
			return -1;
		return cmd[0] == 'A' ? cni_add(c) : cni_check(c);
	}
	if (!strcmp(cmd, "DEL")) {
		if (check_env(c, true, false, true) || load_config(c))
			return -1;
		return cni_del(c);
	}
	if (!strcmp(cmd, "GC") || !strcmp(cmd, "STATUS")) {
		/* GC and STATUS need neither a container nor an interface */
		c->container_id = c->netns = c->ifname = NULL;
		if (check_env(c, false, false, false) || load_config(c))
			return -1;
		if (cni_version_cmp(c->version, "1.1.0") < 0)
			return cni_fail(c, CNI_ERR_VERSION,
					"config version %s does not allow %s (needs 1.1.0)",
					c->version, cmd);
		return cmd[0] == 'G' ? cni_gc(c) : cni_status(c);
	}
	return cni_fail(c, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND %.32s", cmd);
}

int main(int argc, char **argv)
{
	struct cni c = {
	    .command = env("CNI_COMMAND"),
	    .container_id = env("CNI_CONTAINERID"),
	    .netns = env("CNI_NETNS"),
	    .ifname = env("CNI_IFNAME"),
	    .args = env("CNI_ARGS"),
	    .path = env("CNI_PATH"),
	};
	int rc = 0;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("drover-cni: a CNI plugin (spec 0.4.0, 1.0.0, 1.1.0); the runtime runs it\n"
		       "with CNI_COMMAND and the network configuration on stdin.\n");
		return 0;
	}
	c.doc = jv_doc_new();
	if (!c.doc) {
		fprintf(stderr, "drover-cni: out of memory\n");
		return 1;
	}
	if (run(&c)) {
		rc = print_error(&c);
	} else if (c.result) {
		print_json(c.result);
	}
	free((char *)c.stdin_buf);
	jv_doc_free(c.doc);
	return rc;
}
