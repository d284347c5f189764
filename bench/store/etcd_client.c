/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd_client: the benchmark's baseline client: etcd v3 through its JSON gateway with libcurl,
 * one keep-alive connection per thread (as the later etcd backend will do). Keys and values
 * are base64, int64 fields strings. Operations mirror the store's:
 *   create  = txn: compare create_revision == 0, then put   (what kube-apiserver sends)
 *   update  = put
 *   get     = range of one key (linearizable, etcd's default)
 *   list    = range over the prefix in pages of `limit`, pinned to the first page's revision
 */
#include "bench.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct etcd_conn {
	CURL *curl;
	struct curl_slist *hdrs;
	char url[256];
	size_t url_base;
	char *body;
	size_t body_cap;
	char *resp;
	size_t resp_len, resp_cap;
};

static const char b64c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64c[v >> 18];
		out[o++] = b64c[(v >> 12) & 63];
		out[o++] = b64c[(v >> 6) & 63];
		out[o++] = b64c[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = b64c[v >> 18];
		out[o++] = b64c[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64c[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64v(char c)
{
	const char *p = strchr(b64c, c);

	return c && p ? (int)(p - b64c) : -1;
}

size_t b64_decode(const char *in, size_t n, uint8_t *out, size_t max)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n && in[i] != '='; i++) {
		int v = b64v(in[i]);

		if (v < 0)
			break;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < max)
				out[o] = (uint8_t)(acc >> bits);
			o++;
		}
	}
	return o;
}

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct etcd_conn *c = arg;
	size_t n = sz * nm;

	if (c->resp_len + n + 1 > c->resp_cap) {
		size_t cap = c->resp_cap ? c->resp_cap : 4096;

		while (cap < c->resp_len + n + 1)
			cap *= 2;
		c->resp = realloc(c->resp, cap);
		c->resp_cap = cap;
	}
	memcpy(c->resp + c->resp_len, p, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
	return n;
}

struct etcd_conn *etcd_conn_new(const char *endpoint)
{
	struct etcd_conn *c = calloc(1, sizeof(*c));

	c->curl = curl_easy_init();
	c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	c->hdrs = curl_slist_append(c->hdrs, "Expect:");
	snprintf(c->url, sizeof(c->url), "%s", endpoint);
	c->url_base = strlen(c->url);
	c->body_cap = 4 << 20;
	c->body = malloc(c->body_cap);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	return c;
}

void etcd_conn_free(struct etcd_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->hdrs);
	free(c->body);
	free(c->resp);
	free(c);
}

static int post(struct etcd_conn *c, const char *path)
{
	long code = 0;
	CURLcode rc;

	snprintf(c->url + c->url_base, sizeof(c->url) - c->url_base, "%s", path);
	c->resp_len = 0;
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->body);
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK)
		return -EIO;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	return code == 200 ? 0 : -EIO;
}

static char *put_b64(char *p, const void *data, size_t n)
{
	return p + b64_encode(data, n, p);
}

int etcd_create(struct etcd_conn *c, const void *key, size_t klen, const void *val, size_t vlen)
{
	char *p = c->body;
	int err;

	p += sprintf(p, "{\"compare\":[{\"key\":\"");
	p = put_b64(p, key, klen);
	p += sprintf(p, "\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
			"\"success\":[{\"request_put\":{\"key\":\"");
	p = put_b64(p, key, klen);
	p += sprintf(p, "\",\"value\":\"");
	p = put_b64(p, val, vlen);
	sprintf(p, "\"}}]}");
	err = post(c, "/v3/kv/txn");
	if (!err && !strstr(c->resp, "\"succeeded\":true"))
		err = -EEXIST;
	return err;
}

int etcd_put(struct etcd_conn *c, const void *key, size_t klen, const void *val, size_t vlen)
{
	char *p = c->body;

	p += sprintf(p, "{\"key\":\"");
	p = put_b64(p, key, klen);
	p += sprintf(p, "\",\"value\":\"");
	p = put_b64(p, val, vlen);
	sprintf(p, "\"}");
	return post(c, "/v3/kv/put");
}

int etcd_get(struct etcd_conn *c, const void *key, size_t klen)
{
	char *p = c->body;
	int err;

	p += sprintf(p, "{\"key\":\"");
	p = put_b64(p, key, klen);
	sprintf(p, "\"}");
	err = post(c, "/v3/kv/range");
	if (!err && !strstr(c->resp, "\"kvs\""))
		err = -ENOENT;
	return err;
}

/* Counts occurrences of "\"key\":\"" and remembers the last key's base64. */
static size_t scan_keys(const char *r, const char **last, size_t *last_len)
{
	size_t n = 0;

	for (const char *q = strstr(r, "\"key\":\""); q; q = strstr(q + 1, "\"key\":\"")) {
		const char *s = q + 7, *e = strchr(s, '"');

		if (!e)
			break;
		*last = s;
		*last_len = (size_t)(e - s);
		n++;
	}
	return n;
}

int etcd_list(struct etcd_conn *c, const void *prefix, size_t plen, size_t limit, size_t *count)
{
	uint8_t end[512], next[512];
	size_t next_len = plen, total = 0;
	char rev[32] = "0";

	memcpy(end, prefix, plen);
	end[plen - 1]++;
	memcpy(next, prefix, plen);
	for (;;) {
		const char *last = NULL, *rv;
		size_t last_len = 0, n;
		char *p = c->body;
		int err;

		p += sprintf(p, "{\"key\":\"");
		p = put_b64(p, next, next_len);
		p += sprintf(p, "\",\"range_end\":\"");
		p = put_b64(p, end, plen);
		sprintf(p, "\",\"limit\":\"%zu\",\"revision\":\"%s\"}", limit, rev);
		err = post(c, "/v3/kv/range");
		if (err)
			return err;
		if (!strcmp(rev, "0") && (rv = strstr(c->resp, "\"revision\":\""))) {
			const char *s = rv + 12, *e = strchr(s, '"');

			if (e && e - s < (long)sizeof(rev)) {
				memcpy(rev, s, (size_t)(e - s));
				rev[e - s] = '\0';
			}
		}
		n = scan_keys(c->resp, &last, &last_len);
		total += n;
		if (!strstr(c->resp, "\"more\":true") || !last)
			break;
		/* Next page starts right after the last key. */
		next_len = b64_decode(last, last_len, next, sizeof(next) - 1);
		next[next_len++] = 0;
	}
	*count = total;
	return 0;
}
