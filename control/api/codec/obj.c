/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj: objects as the store holds them and as responses carry them. A stored value is the
 * object's JSON in Kubernetes' field order without metadata.resourceVersion (that is the
 * store's revision of the key, spliced in when the object is served, as kube-apiserver does
 * over etcd); plus keys, times, UIDs and generated names.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api_obj.h"

int api_key(const struct api_resource *res, const char *ns, const char *name, char *buf,
	    size_t size)
{
	int n;

	if (ns && name)
		n = snprintf(buf, size, "/registry/%s/%s/%s", res->key, ns, name);
	else if (ns)
		n = snprintf(buf, size, "/registry/%s/%s/", res->key, ns);
	else if (name)
		n = snprintf(buf, size, "/registry/%s/%s", res->key, name);
	else
		n = snprintf(buf, size, "/registry/%s/", res->key);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

int api_list_all(struct store *st, const struct api_resource *res, const char *ns, size_t limit,
		 struct store_list *out)
{
	struct store_list_opts lo = {.limit = limit};
	char prefix[512];
	int n = api_key(res, ns, NULL, prefix, sizeof(prefix));

	memset(out, 0, sizeof(*out));
	if (n < 0)
		return n;
	lo.prefix = prefix;
	lo.prefix_len = (size_t)n;
	return store_list(st, &lo, out);
}

/* Offset just after the top-level `"metadata":{`, or 0. Stored objects start with kind and
 * apiVersion, so the first occurrence is the top-level one. */
static size_t metadata_open(const uint8_t *v, size_t len)
{
	static const char pat[] = "\"metadata\":{";
	const uint8_t *at = memmem(v, len < 512 ? len : 512, pat, sizeof(pat) - 1);

	return at ? (size_t)(at - v) + sizeof(pat) - 1 : 0;
}

/* `"resourceVersion":"<rev>"` (and a comma when more members follow) into out (48 bytes). */
static size_t rv_member(char *out, uint64_t rev, bool comma)
{
	static const char head[] = "\"resourceVersion\":\"";
	char digits[24];
	size_t n = 0, k = 0;

	do
		digits[n++] = (char)('0' + rev % 10);
	while ((rev /= 10) != 0);
	memcpy(out, head, sizeof(head) - 1);
	k = sizeof(head) - 1;
	while (n)
		out[k++] = digits[--n];
	out[k++] = '"';
	if (comma)
		out[k++] = ',';
	return k;
}

size_t api_emit_object_to(char *dst, size_t room, const uint8_t *value, size_t len, uint64_t rev)
{
	size_t at = metadata_open(value, len), k;
	char rv[48];

	if (!at) {
		if (len > room)
			return 0;
		memcpy(dst, value, len);
		return len;
	}
	k = rv_member(rv, rev, at < len && value[at] != '}');
	if (len + k > room)
		return 0;
	memcpy(dst, value, at);
	memcpy(dst + at, rv, k);
	memcpy(dst + at + k, value + at, len - at);
	return len + k;
}

void api_emit_object(struct k8s_buf *b, const uint8_t *value, size_t len, uint64_t rev)
{
	size_t n;

	if (!k8s_buf_reserve(b, len + 48))
		return;
	n = api_emit_object_to(b->p + b->len, b->cap - b->len - 1, value, len, rev);
	b->len += n;
	b->p[b->len] = 0;
}

struct jv *api_rv_node(struct jv_doc *d, uint64_t rev)
{
	return jv_new_strf(d, "%" PRIu64, rev);
}

struct jv *api_load_object(struct jv_doc *d, const uint8_t *value, size_t len, uint64_t rev)
{
	struct jv *o = jv_parse(d, (const char *)value, len, NULL);
	struct jv *md = jv_get(o, "metadata");

	if (!o || o->type != JV_OBJECT || !md || md->type != JV_OBJECT)
		return NULL;
	if (rev && jv_set(d, md, "resourceVersion", api_rv_node(d, rev)) != 0)
		return NULL;
	return o;
}

char *api_store_json(const struct jv *obj, const struct k8s_kind *kind, size_t *len)
{
	struct jv *md = jv_get(obj, "metadata");
	struct k8s_buf b = {0};

	jv_del(md, "resourceVersion");
	k8s_jv_write_schema(&b, obj, kind ? kind->type : NULL);
	return k8s_buf_take(&b, len);
}

int64_t api_obj_rv(const struct jv *obj)
{
	const char *s = jv_path_str(obj, "metadata.resourceVersion");
	char *end;
	unsigned long long v;

	if (!s || !s[0])
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || s[0] == '-' || v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

/* ---- time ---- */

const char *api_time_rfc3339(int64_t unix_s, char *buf)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *api_now(char *buf)
{
	return api_time_rfc3339((int64_t)time(NULL), buf);
}

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t api_parse_time(const char *s)
{
	struct tm tm = {0};
	const char *p;
	int64_t t;
	int off = 0;

	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
	    tm.tm_sec < 0)
		return -1;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == '+' || *p == '-') {
		int h = digits(p + 1, 2), m = digits(p + 4, 2);

		if (h < 0 || m < 0 || p[3] != ':')
			return -1;
		off = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
	} else if (*p != 'Z') {
		return -1;
	}
	t = (int64_t)timegm(&tm);
	return t - off;
}

/* ---- identifiers ---- */

static void random_bytes(void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t got = getrandom(b, n, 0);

		if (got <= 0) {
			/* no entropy source: still unique enough for names, never for keys */
			for (size_t i = 0; i < n; i++)
				b[i] = (uint8_t)rand();
			return;
		}
		b += got;
		n -= (size_t)got;
	}
}

void api_uuid(char *buf)
{
	uint8_t u[16];

	random_bytes(u, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

void api_random_suffix(char *buf, size_t n)
{
	/* k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits */
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	uint8_t r[32];

	if (n > sizeof(r))
		n = sizeof(r);
	random_bytes(r, n);
	for (size_t i = 0; i < n; i++)
		buf[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
	buf[n] = 0;
}
