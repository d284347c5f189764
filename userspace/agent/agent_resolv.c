/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_resolv: the pods' resolv.conf (agent_resolv.h), and the file written into the pod's
 * directory for its containers to mount at /etc/resolv.conf.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_int.h"
#include "agent_resolv.h"
#include "k8s_jv.h"

#define HOST_RESOLV_CONF "/etc/resolv.conf"
#define ITEM_MAX	 RESOLV_ITEM_MAX
#define ITEMS_MAX	 64

/* A list of words without duplicates (omitDuplicates keeps the first). */
struct words {
	char w[ITEMS_MAX][ITEM_MAX];
	size_t n;
};

static void words_add(struct words *l, const char *s, size_t len)
{
	if (!len || len >= ITEM_MAX || l->n >= ITEMS_MAX)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->w[i]) == len && !memcmp(l->w[i], s, len))
			return;
	memcpy(l->w[l->n], s, len);
	l->w[l->n++][len] = 0;
}

/* An option "name[:value]" set, replacing one of the same name in place (mergeDNSOptions). */
static void option_set(struct words *l, const char *s, size_t len)
{
	size_t nlen = len;
	const char *colon = memchr(s, ':', len);

	if (colon)
		nlen = (size_t)(colon - s);
	for (size_t i = 0; i < l->n; i++) {
		const char *c = strchr(l->w[i], ':');
		size_t il = c ? (size_t)(c - l->w[i]) : strlen(l->w[i]);

		if (il == nlen && !memcmp(l->w[i], s, nlen) && len < ITEM_MAX) {
			memcpy(l->w[i], s, len);
			l->w[i][len] = 0;
			return;
		}
	}
	words_add(l, s, len);
}

struct dns_conf {
	struct words servers, searches, options;
};

/* The node's resolv.conf: nameserver, search/domain and options lines (parseResolvConf). */
static void host_parse(const char *text, struct dns_conf *c)
{
	while (text && *text) {
		size_t len = strcspn(text, "\n");
		char line[1024], *save = NULL, *key, *w;

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : 0), text);
		text += len + (text[len] ? 1 : 0);
		line[strcspn(line, "#;")] = 0;
		key = strtok_r(line, " \t\r", &save);
		if (!key)
			continue;
		if (!strcmp(key, "search") || !strcmp(key, "domain"))
			c->searches.n = 0; /* the last one wins, as in glibc */
		while ((w = strtok_r(NULL, " \t\r", &save))) {
			if (!strcmp(key, "nameserver")) {
				words_add(&c->servers, w, strlen(w));
				break;
			}
			if (!strcmp(key, "search") || !strcmp(key, "domain")) {
				size_t wl = strlen(w);

				if (wl > 1 && w[wl - 1] == '.')
					wl--; /* the kubelet trims the trailing dot */
				words_add(&c->searches, w, wl);
			} else if (!strcmp(key, "options")) {
				option_set(&c->options, w, strlen(w));
			}
		}
	}
}

static int out_add(char *out, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int out_add(char *out, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *off)
		return -ENOSPC;
	*off += (size_t)n;
	return 0;
}

int resolv_build(const struct resolv_in *in, char *out, size_t size)
{
	const char *policy = jv_path_str(in->pod, "spec.dnsPolicy");
	const struct jv *hn = jv_path(in->pod, "spec.hostNetwork"), *dc, *v;
	bool host_net = hn && hn->type == JV_TRUE, cluster;
	struct dns_conf *c = calloc(1, sizeof(*c));
	size_t off = 0;
	int rc = 0;

	if (!c)
		return -ENOMEM;
	if (!policy || !policy[0])
		policy = "ClusterFirst"; /* the API's default */
	/* getPodDNSType: ClusterFirst on the host network is Default */
	cluster = !strcmp(policy, "ClusterFirstWithHostNet") ||
		  (!strcmp(policy, "ClusterFirst") && !host_net);
	if (strcmp(policy, "None")) {
		/* the node's, or (cluster) the cluster's in front of the node's search path;
		 * without a cluster DNS the kubelet falls back to the node's */
		host_parse(in->host_conf, c);
		if (cluster && in->cluster_dns && in->cluster_dns[0]) {
			struct words host_search = c->searches;
			char s[ITEM_MAX];

			memset(c, 0, sizeof(*c));
			words_add(&c->servers, in->cluster_dns, strlen(in->cluster_dns));
			snprintf(s, sizeof(s), "%s.svc.%s", in->ns, in->cluster_domain);
			words_add(&c->searches, s, strlen(s));
			snprintf(s, sizeof(s), "svc.%s", in->cluster_domain);
			words_add(&c->searches, s, strlen(s));
			words_add(&c->searches, in->cluster_domain, strlen(in->cluster_domain));
			for (size_t i = 0; i < host_search.n; i++)
				words_add(&c->searches, host_search.w[i], strlen(host_search.w[i]));
			option_set(&c->options, "ndots:5", 7);
		}
	}
	/* appendDNSConfig */
	dc = jv_path(in->pod, "spec.dnsConfig");
	for (v = jv_first(jv_get(dc, "nameservers")); v; v = v->next)
		if (v->type == JV_STRING)
			words_add(&c->servers, v->s, v->len);
	for (v = jv_first(jv_get(dc, "searches")); v; v = v->next)
		if (v->type == JV_STRING)
			words_add(&c->searches, v->s, v->len);
	for (v = jv_first(jv_get(dc, "options")); v; v = v->next) {
		const char *name = jv_path_str(v, "name"), *val = jv_path_str(v, "value");
		char o[ITEM_MAX];

		if (!name)
			continue;
		snprintf(o, sizeof(o), "%s%s%s", name, val && val[0] ? ":" : "", val ? val : "");
		option_set(&c->options, o, strlen(o));
	}

	/* the runtime's file: search, nameservers, options (containerd's order) */
	if (c->searches.n)
		rc = out_add(out, size, &off, "search");
	for (size_t i = 0; !rc && i < c->searches.n && i < RESOLV_MAX_SEARCHES; i++)
		rc = out_add(out, size, &off, " %s", c->searches.w[i]);
	if (!rc && c->searches.n)
		rc = out_add(out, size, &off, "\n");
	for (size_t i = 0; !rc && i < c->servers.n && i < RESOLV_MAX_NAMESERVERS; i++)
		rc = out_add(out, size, &off, "nameserver %s\n", c->servers.w[i]);
	if (!rc && c->options.n)
		rc = out_add(out, size, &off, "options");
	for (size_t i = 0; !rc && i < c->options.n; i++)
		rc = out_add(out, size, &off, " %s", c->options.w[i]);
	if (!rc && c->options.n)
		rc = out_add(out, size, &off, "\n");
	if (!rc && !off && size)
		out[0] = 0;
	free(c);
	return rc;
}

size_t resolv_nameservers(const char *text, char (*out)[RESOLV_ITEM_MAX], size_t max)
{
	struct dns_conf *c = calloc(1, sizeof(*c));
	size_t n = 0;

	if (!c)
		return 0;
	host_parse(text, c);
	for (; n < c->servers.n && n < max; n++)
		memcpy(out[n], c->servers.w[n], RESOLV_ITEM_MAX);
	free(c);
	return n;
}

char *resolv_host_read(void)
{
	FILE *f = fopen(HOST_RESOLV_CONF, "re");
	char *buf = f ? malloc(65536) : NULL;
	size_t n;

	if (!buf) {
		if (f)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Written beside and renamed over: a container never sees half a file. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int agent_resolv_write(const struct agent *a, const struct jv *pod, const char *path, char *err,
		       size_t errlen)
{
	char *host = resolv_host_read(), text[8192];
	struct resolv_in in = {
	    .pod = pod,
	    .ns = jv_path_str(pod, "metadata.namespace") ?: "default",
	    .cluster_domain = a->cfg->cluster_domain,
	    .cluster_dns = a->cfg->cluster_dns,
	};
	int rc;

	in.host_conf = host; /* none: an empty base */
	rc = resolv_build(&in, text, sizeof(text));
	free(host);
	if (!rc)
		rc = write_atomic(path, text);
	if (rc)
		snprintf(err, errlen, "resolv.conf %s: %s", path, strerror(-rc));
	return rc;
}
