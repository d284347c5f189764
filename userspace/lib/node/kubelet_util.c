/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubelet_util: what kubelet_objects.h declares besides the documents: the syntax of node
 * names and labels (k8s.io/apimachinery validation, for --node and --labels) and the host's
 * nodeInfo (os-release's PRETTY_NAME, Go's GOARCH).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_objects.h"

/* ---- syntax of names and labels (k8s.io/apimachinery validation) ---- */

static int label_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int label_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS-1123 subdomain: lowercase labels of [a-z0-9-] joined by '.', at most 253. */
bool kubelet_dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		/* '.' and '-' never start or end a label */
		bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if (c == '.' || c == '-') {
			if (edge)
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return false;
		}
	}
	return true;
}

/* A label value / the name part of a qualified name: at most 63 of [A-Za-z0-9-_.], alnum at
 * both ends (empty allowed for values only). */
bool kubelet_label_value(const char *s, size_t n, bool empty_ok)
{
	if (!n)
		return empty_ok;
	if (n > 63 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A qualified name: [prefix/]name, the prefix a DNS-1123 subdomain. */
bool kubelet_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	char prefix[254];

	if (!slash)
		return kubelet_label_value(s, strlen(s), false);
	if ((size_t)(slash - s) >= sizeof(prefix))
		return false;
	memcpy(prefix, s, (size_t)(slash - s));
	prefix[slash - s] = 0;
	return kubelet_dns_subdomain(prefix) &&
	       kubelet_label_value(slash + 1, strlen(slash + 1), false);
}

int kubelet_parse_labels(const char *arg, struct kubelet_kv **labels, size_t *nlabels, char *err,
			 size_t errlen)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		struct kubelet_kv *n;

		if (!eq) {
			rc = label_fail(err, errlen, "--labels: \"%s\" is not key=value", tok);
			break;
		}
		*eq = 0;
		if (!kubelet_label_key(tok)) {
			rc = label_fail(err, errlen, "--labels: \"%s\" is not a valid label key",
					tok);
			break;
		}
		if (!kubelet_label_value(eq + 1, strlen(eq + 1), true)) {
			rc = label_fail(err, errlen, "--labels: \"%s\" is not a valid label value",
					eq + 1);
			break;
		}
		n = realloc(*labels, (*nlabels + 1) * sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			break;
		}
		*labels = n;
		n[*nlabels].key = strdup(tok);
		n[*nlabels].value = strdup(eq + 1);
		(*nlabels)++;
		if (!n[*nlabels - 1].key || !n[*nlabels - 1].value) {
			rc = -ENOMEM;
			break;
		}
	}
	free(copy);
	if (rc == -ENOMEM)
		label_fail(err, errlen, "out of memory");
	return rc;
}

/* ---- the host ---- */

/* PRETTY_NAME of /etc/os-release into buf, or "" */
void kubelet_os_image(char *buf, size_t size)
{
	FILE *f = fopen("/etc/os-release", "re");
	char line[512];

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + 12, *end;

		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		if (*v == '"')
			v++;
		end = v + strcspn(v, "\"\n");
		*end = 0;
		snprintf(buf, size, "%.*s", (int)(size - 1), v);
		break;
	}
	fclose(f);
}

/* Go's GOARCH for uname's machine */
const char *kubelet_goarch(const char *m)
{
	if (!strcmp(m, "x86_64"))
		return "amd64";
	if (!strcmp(m, "aarch64"))
		return "arm64";
	if (!strncmp(m, "arm", 3))
		return "arm";
	if (!strcmp(m, "ppc64le") || !strcmp(m, "s390x") || !strcmp(m, "riscv64"))
		return m;
	return "amd64";
}
