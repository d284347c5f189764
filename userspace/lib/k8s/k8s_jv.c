/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_jv: the JSON tree of k8s_jv.h: its arena, parser (in place over one copy of the input),
 * constructors, object/array operations, path getters, equality and compact writer.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"
#include "k8s_jv.h"

/* ---- arena ---- */

struct jv_chunk {
	struct jv_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct jv_doc {
	struct jv_chunk *chunks;
	size_t total;
	/* the first chunk lives in the doc's own allocation: a small object (a 2 KiB pod and
	 * its tree) costs one malloc */
	struct jv_chunk first;
};

#define JV_CHUNK_MIN  4096u
#define JV_FIRST_SIZE (16u * 1024u)

struct jv_doc *jv_doc_new(void)
{
	struct jv_doc *d = malloc(sizeof(struct jv_doc) + JV_FIRST_SIZE);

	if (!d)
		return NULL;
	d->first.next = NULL;
	d->first.used = 0;
	d->first.size = JV_FIRST_SIZE;
	d->chunks = &d->first;
	d->total = JV_FIRST_SIZE;
	return d;
}

void jv_doc_free(struct jv_doc *d)
{
	struct jv_chunk *c, *n;

	if (!d)
		return;
	for (c = d->chunks; c; c = n) {
		n = c->next;
		if (c != &d->first)
			free(c);
	}
	free(d);
}

size_t jv_doc_size(const struct jv_doc *d)
{
	return d ? d->total : 0;
}

void *jv_alloc(struct jv_doc *d, size_t size)
{
	struct jv_chunk *c = d->chunks;
	size_t need = (size + 7) & ~(size_t)7;
	void *p;

	if (need < size)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t sz = JV_CHUNK_MIN;

		if (c && c->size * 2 > sz)
			sz = c->size * 2 > (1u << 20) ? (1u << 20) : c->size * 2;
		if (sz < need)
			sz = need;
		c = malloc(sizeof(*c) + sz);
		if (!c)
			return NULL;
		c->size = sz;
		c->used = 0;
		/* a big one-off block goes behind the current chunk, which keeps filling */
		if (d->chunks && sz == need && need > JV_CHUNK_MIN) {
			c->next = d->chunks->next;
			d->chunks->next = c;
		} else {
			c->next = d->chunks;
			d->chunks = c;
		}
		d->total += sz;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, need);
	return p;
}

char *jv_strndup(struct jv_doc *d, const char *s, size_t len)
{
	char *p = jv_alloc(d, len + 1);

	if (p && len)
		memcpy(p, s, len);
	return p;
}

/* ---- constructors ---- */

struct jv *jv_new(struct jv_doc *d, enum jv_type type)
{
	struct jv *v = jv_alloc(d, sizeof(*v));

	if (v)
		v->type = (uint8_t)type;
	return v;
}

struct jv *jv_new_bool(struct jv_doc *d, bool b)
{
	return jv_new(d, b ? JV_TRUE : JV_FALSE);
}

struct jv *jv_new_num(struct jv_doc *d, const char *text, size_t len)
{
	struct jv *v = jv_new(d, JV_NUMBER);

	if (!v || !(v->s = jv_strndup(d, text, len)))
		return NULL;
	v->len = (uint32_t)len;
	if (memchr(text, '.', len) || memchr(text, 'e', len) || memchr(text, 'E', len))
		v->flags |= JV_F_FRAC;
	return v;
}

struct jv *jv_new_double(struct jv_doc *d, double f)
{
	char num[40];

	if (!isfinite(f))
		return NULL;
	return jv_new_num(d, num, k8s_fmt_float_json(f, num, sizeof(num)));
}

struct jv *jv_new_int(struct jv_doc *d, int64_t i)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, i);

	return jv_new_num(d, tmp, (size_t)n);
}

struct jv *jv_new_str(struct jv_doc *d, const char *s, size_t len)
{
	struct jv *v = jv_new(d, JV_STRING);

	if (!v || len > UINT32_MAX || !(v->s = jv_strndup(d, s, len)))
		return NULL;
	v->len = (uint32_t)len;
	return v;
}

struct jv *jv_new_strz(struct jv_doc *d, const char *s)
{
	return jv_new_str(d, s, strlen(s));
}

struct jv *jv_new_base64(struct jv_doc *d, const void *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *in = p;
	char *out, *w;
	struct jv *v;

	if (n > (UINT32_MAX - 1) / 4 * 3)
		return NULL;
	out = jv_alloc(d, (n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	w = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		*w++ = b64[(x >> 18) & 63];
		*w++ = b64[(x >> 12) & 63];
		*w++ = i + 1 < n ? b64[(x >> 6) & 63] : '=';
		*w++ = i + 2 < n ? b64[x & 63] : '=';
	}
	v = jv_new(d, JV_STRING);
	if (v) {
		v->s = out;
		v->len = (uint32_t)(w - out);
	}
	return v;
}

struct jv *jv_new_strf(struct jv_doc *d, const char *fmt, ...)
{
	char small[256], *big = NULL;
	struct jv *v;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(small))
		return jv_new_str(d, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (!big)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	v = jv_new_str(d, big, (size_t)n);
	free(big);
	return v;
}

struct jv *jv_copy(struct jv_doc *d, const struct jv *v)
{
	struct jv *c;

	if (!v)
		return NULL;
	c = jv_new(d, (enum jv_type)v->type);
	if (!c)
		return NULL;
	c->flags = v->flags;
	if (v->type == JV_STRING || v->type == JV_NUMBER) {
		c->s = jv_strndup(d, v->s, v->len);
		c->len = v->len;
		return c->s ? c : NULL;
	}
	if (v->type != JV_ARRAY && v->type != JV_OBJECT)
		return c;
	for (const struct jv *i = v->head; i; i = i->next) {
		struct jv *ci = jv_copy(d, i);

		if (!ci)
			return NULL;
		if (v->type == JV_OBJECT) {
			ci->key = jv_strndup(d, i->key, i->klen);
			ci->klen = i->klen;
			if (!ci->key)
				return NULL;
		}
		jv_push(c, ci);
	}
	return c;
}

/* ---- containers ---- */

void jv_push(struct jv *a, struct jv *val)
{
	val->next = NULL;
	if (a->tail)
		a->tail->next = val;
	else
		a->head = val;
	a->tail = val;
	a->len++;
}

void jv_unlink(struct jv *p, struct jv *prev, struct jv *c)
{
	if (prev)
		prev->next = c->next;
	else
		p->head = c->next;
	if (p->tail == c)
		p->tail = prev;
	c->next = NULL;
	p->len--;
}

void jv_clear(struct jv *p)
{
	p->head = p->tail = NULL;
	p->len = 0;
}

struct jv *jv_at(const struct jv *a, size_t i)
{
	struct jv *c;

	if (!a || a->type != JV_ARRAY)
		return NULL;
	for (c = a->head; c && i; c = c->next)
		i--;
	return c;
}

static bool key_is(const struct jv *m, const char *key, size_t klen)
{
	return m->klen == klen && memcmp(m->key, key, klen) == 0;
}

struct jv *jv_getn(const struct jv *o, const char *key, size_t klen)
{
	struct jv *found = NULL;

	if (!o || o->type != JV_OBJECT)
		return NULL;
	for (struct jv *m = o->head; m; m = m->next)
		if (key_is(m, key, klen))
			found = m;
	return found;
}

struct jv *jv_get(const struct jv *o, const char *key)
{
	return jv_getn(o, key, strlen(key));
}

struct jv *jv_deln(struct jv *o, const char *key, size_t klen)
{
	struct jv *prev = NULL, *m, *next, *last = NULL;

	if (!o || o->type != JV_OBJECT)
		return NULL;
	for (m = o->head; m; m = next) {
		next = m->next;
		if (key_is(m, key, klen)) {
			jv_unlink(o, prev, m);
			last = m;
		} else {
			prev = m;
		}
	}
	return last;
}

struct jv *jv_del(struct jv *o, const char *key)
{
	return jv_deln(o, key, strlen(key));
}

int jv_setn(struct jv_doc *d, struct jv *o, const char *key, size_t klen, struct jv *val)
{
	struct jv *prev = NULL, *m;

	if (!o || o->type != JV_OBJECT || !val)
		return -EINVAL;
	for (m = o->head; m; prev = m, m = m->next) {
		if (!key_is(m, key, klen))
			continue;
		/* take m's place, then drop any later duplicate */
		val->key = m->key;
		val->klen = m->klen;
		val->next = m->next;
		if (prev)
			prev->next = val;
		else
			o->head = val;
		if (o->tail == m)
			o->tail = val;
		for (prev = val, m = val->next; m; m = prev->next) {
			if (key_is(m, key, klen))
				jv_unlink(o, prev, m);
			else
				prev = m;
		}
		return 0;
	}
	val->key = jv_strndup(d, key, klen);
	if (!val->key)
		return -ENOMEM;
	val->klen = (uint32_t)klen;
	jv_push(o, val);
	return 0;
}

int jv_set(struct jv_doc *d, struct jv *o, const char *key, struct jv *val)
{
	return jv_setn(d, o, key, strlen(key), val);
}

struct jv *jv_obj_at(struct jv_doc *d, struct jv *o, const char *key)
{
	struct jv *v = jv_get(o, key);

	if (v && v->type == JV_OBJECT)
		return v;
	v = jv_new(d, JV_OBJECT);
	if (!v || jv_set(d, o, key, v) != 0)
		return NULL;
	return v;
}

/* ---- reading ---- */

static struct jv *step(const struct jv *v, const char *seg, size_t len)
{
	if (!v)
		return NULL;
	if (v->type == JV_OBJECT)
		return jv_getn(v, seg, len);
	if (v->type == JV_ARRAY && len > 0 && len < 10) {
		size_t i = 0;

		for (size_t k = 0; k < len; k++) {
			if (seg[k] < '0' || seg[k] > '9')
				return NULL;
			i = i * 10 + (size_t)(seg[k] - '0');
		}
		return jv_at(v, i);
	}
	return NULL;
}

static struct jv *path_slash(const struct jv *v, const char *p)
{
	char seg[256];

	while (*p == '/' && v) {
		size_t n = 0;

		for (p++; *p && *p != '/'; p++) {
			char c = *p;

			if (c == '~' && (p[1] == '0' || p[1] == '1'))
				c = *++p == '0' ? '~' : '/';
			if (n + 1 >= sizeof(seg))
				return NULL;
			seg[n++] = c;
		}
		v = step(v, seg, n);
	}
	return (struct jv *)v;
}

struct jv *jv_path(const struct jv *v, const char *path)
{
	const char *p = path;

	if (!v || !path)
		return NULL;
	if (*p == '/')
		return path_slash(v, p);
	while (*p && v) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			const char *e = strchr(p, ']');

			if (!e)
				return NULL;
			v = step(v, p + 1, (size_t)(e - p - 1));
			p = e + 1;
			continue;
		}
		size_t n = strcspn(p, ".[");

		v = step(v, p, n);
		p += n;
	}
	return (struct jv *)v;
}

const char *jv_path_str(const struct jv *v, const char *path)
{
	struct jv *s = jv_path(v, path);

	return s && s->type == JV_STRING ? s->s : NULL;
}

int jv_int(const struct jv *v, int64_t *out)
{
	char *end;
	long long x;

	if (!v || v->type != JV_NUMBER)
		return -EINVAL;
	if (v->flags & JV_F_FRAC) {
		/* 1.0 or 1e3 as Go's int decoding refuses; an integral value is still usable */
		double f = strtod(v->s, &end);

		if (f != trunc(f) || fabs(f) > 9.2e18)
			return -EINVAL;
		*out = (int64_t)f;
		return 0;
	}
	errno = 0;
	x = strtoll(v->s, &end, 10);
	if (errno || end != v->s + v->len)
		return -EINVAL;
	*out = x;
	return 0;
}

int jv_path_int(const struct jv *v, const char *path, int64_t *out)
{
	struct jv *n = jv_path(v, path);

	if (!n || n->type == JV_NULL)
		return -ENOENT;
	return jv_int(n, out);
}

bool jv_is_str(const struct jv *v, const char *s)
{
	return v && v->type == JV_STRING && strlen(s) == v->len && memcmp(v->s, s, v->len) == 0;
}

static bool num_equal(const struct jv *a, const struct jv *b)
{
	if (a->len == b->len && memcmp(a->s, b->s, a->len) == 0)
		return true;
	return strtod(a->s, NULL) == strtod(b->s, NULL);
}

bool jv_equal(const struct jv *a, const struct jv *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JV_NUMBER:
		return num_equal(a, b);
	case JV_STRING:
		return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
	case JV_ARRAY:
		if (a->len != b->len)
			return false;
		for (const struct jv *x = a->head, *y = b->head; x && y; x = x->next, y = y->next)
			if (!jv_equal(x, y))
				return false;
		return true;
	case JV_OBJECT: {
		size_t na = 0, nb = 0;

		/* every distinct key of a has b's (last) value; and b has as many keys */
		for (const struct jv *x = a->head; x; x = x->next) {
			if (jv_getn(a, x->key, x->klen) != x)
				continue; /* an earlier duplicate */
			na++;
			if (!jv_equal(x, jv_getn(b, x->key, x->klen)))
				return false;
		}
		for (const struct jv *y = b->head; y; y = y->next)
			if (jv_getn(b, y->key, y->klen) == y)
				nb++;
		return na == nb;
	}
	default:
		return true;
	}
}

/* ---- writing ---- */

void jv_write(struct k8s_buf *b, const struct jv *v)
{
	switch (v->type) {
	case JV_NULL:
		k8s_buf_put(b, "null", 4);
		return;
	case JV_FALSE:
		k8s_buf_put(b, "false", 5);
		return;
	case JV_TRUE:
		k8s_buf_put(b, "true", 4);
		return;
	case JV_NUMBER:
		k8s_buf_put(b, v->s, v->len);
		return;
	case JV_STRING:
		k8s_buf_json_string(b, v->s, v->len);
		return;
	case JV_ARRAY:
		k8s_buf_putc(b, '[');
		for (const struct jv *c = v->head; c; c = c->next) {
			if (c != v->head)
				k8s_buf_putc(b, ',');
			jv_write(b, c);
		}
		k8s_buf_putc(b, ']');
		return;
	case JV_OBJECT:
		k8s_buf_putc(b, '{');
		for (const struct jv *c = v->head; c; c = c->next) {
			if (c != v->head)
				k8s_buf_putc(b, ',');
			k8s_buf_json_string(b, c->key, c->klen);
			k8s_buf_putc(b, ':');
			jv_write(b, c);
		}
		k8s_buf_putc(b, '}');
		return;
	}
}

char *jv_to_json(const struct jv *v, size_t *len)
{
	struct k8s_buf b = {0};
	char *s;

	if (!v) {
		errno = EINVAL;
		return NULL;
	}
	jv_write(&b, v);
	s = k8s_buf_take(&b, len);
	if (!s)
		errno = ENOMEM;
	return s;
}

/* ---- parser ---- */

struct pstate {
	struct jv_doc *d;
	char *p, *start, *end;
	struct jv_perr *err;
	bool failed, oom;
};

/* Go's quoteChar: 'x', '\'', '"', '\n', '\x01', '\u00e9'... */
static void quote_char(unsigned char c, char *out, size_t size)
{
	if (c == '\'')
		snprintf(out, size, "'\\''");
	else if (c == '"')
		snprintf(out, size, "'\"'");
	else if (c == '\n')
		snprintf(out, size, "'\\n'");
	else if (c == '\r')
		snprintf(out, size, "'\\r'");
	else if (c == '\t')
		snprintf(out, size, "'\\t'");
	else if (c < 0x20 || c == 0x7f)
		snprintf(out, size, "'\\x%02x'", c);
	else if (c >= 0x80)
		snprintf(out, size, "'\\u%04x'", c);
	else
		snprintf(out, size, "'%c'", c);
}

static void perr(struct pstate *s, const char *where)
{
	char q[16];

	if (s->failed)
		return;
	s->failed = true;
	if (!s->err)
		return;
	s->err->offset = (size_t)(s->p - s->start);
	if (s->p >= s->end) {
		snprintf(s->err->msg, sizeof(s->err->msg), "unexpected end of JSON input");
		return;
	}
	quote_char((unsigned char)*s->p, q, sizeof(q));
	snprintf(s->err->msg, sizeof(s->err->msg), "invalid character %s %s", q, where);
}

static void skip_ws(struct pstate *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r'))
		s->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(struct pstate *s, const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int h = p + i < s->end ? hexval(p[i]) : -1;

		if (h < 0) {
			s->p = (char *)p + i;
			perr(s, "in \\u hexadecimal character escape");
			return -1;
		}
		v = v * 16 + h;
	}
	return v;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* The end of the string whose content starts at r: its closing quote, or s->end. */
static const char *string_end(const struct pstate *s, const char *r)
{
	while (r < s->end && *r != '"')
		r += *r == '\\' && r + 1 < s->end ? 2 : 1;
	return r;
}

/*
 * A string at s->p (the opening quote), decoded and NUL-terminated: in place, since what is
 * decoded is never longer than its escaped form, except for invalid UTF-8, which Go's decoder
 * replaces by U+FFFD one byte at a time (three bytes for one). Then the rest of the string is
 * decoded into a copy in the arena.
 */
static int parse_string(struct pstate *s, const char **out, uint32_t *len)
{
	char *r = ++s->p, *w, *begin = r;
	bool copied = false;

	/* fast path: printable ASCII without escapes */
	while (r < s->end && *r != '"' && *r != '\\' && (unsigned char)*r >= 0x20 &&
	       (unsigned char)*r < 0x80)
		r++;
	w = r;
	while (r < s->end && *r != '"') {
		unsigned char c = (unsigned char)*r;

		if (c < 0x20) {
			s->p = r;
			perr(s, "in string literal");
			return -1;
		}
		if (c >= 0x80) {
			unsigned cp;
			size_t n =
			    k8s_utf8_decode((const unsigned char *)r, (size_t)(s->end - r), &cp);

			if (n) {
				memmove(w, r, n);
				w += n;
				r += n;
				continue;
			}
			if (!copied && r - w < 2) {
				/* U+FFFD would overtake the input: decode the rest into a copy */
				size_t done = (size_t)(w - begin);
				char *nb =
				    jv_alloc(s->d, done + 3 * (size_t)(string_end(s, r) - r) + 1);

				if (!nb) {
					s->oom = true;
					return -1;
				}
				memcpy(nb, begin, done);
				begin = nb;
				w = nb + done;
				copied = true;
			}
			*w++ = (char)0xef;
			*w++ = (char)0xbf;
			*w++ = (char)0xbd;
			r++;
			continue;
		}
		if (c != '\\') {
			*w++ = *r++;
			continue;
		}
		if (++r >= s->end)
			break;
		switch (*r) {
		case '"':
		case '\\':
		case '/':
			*w++ = *r++;
			break;
		case 'b':
			*w++ = '\b', r++;
			break;
		case 'f':
			*w++ = '\f', r++;
			break;
		case 'n':
			*w++ = '\n', r++;
			break;
		case 'r':
			*w++ = '\r', r++;
			break;
		case 't':
			*w++ = '\t', r++;
			break;
		case 'u': {
			int cp = read_hex4(s, r + 1), lo;

			if (cp < 0)
				return -1;
			r += 5;
			if (cp >= 0xd800 && cp < 0xdc00) {
				/* a high surrogate: paired with a following \uDC00-\uDFFF, else U+FFFD */
				if (r + 6 <= s->end && r[0] == '\\' && r[1] == 'u' &&
				    (lo = read_hex4(s, r + 2)) >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					r += 6;
				} else {
					if (s->failed)
						return -1;
					cp = 0xfffd;
				}
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				cp = 0xfffd;
			}
			w = put_utf8(w, (unsigned)cp);
			break;
		}
		default:
			s->p = r;
			perr(s, "in string escape code");
			return -1;
		}
	}
	if (r >= s->end) {
		s->p = s->end;
		perr(s, "");
		return -1;
	}
	*w = 0;
	*out = begin;
	*len = (uint32_t)(w - begin);
	s->p = r + 1;
	return 0;
}

static bool digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static struct jv *parse_number(struct pstate *s)
{
	char *p = s->p, *b = p;
	bool frac = false;
	struct jv *v;

	if (*p == '-')
		p++;
	if (!digit(p, s->end)) {
		s->p = p;
		perr(s, "in numeric literal");
		return NULL;
	}
	if (*p == '0')
		p++;
	else
		while (digit(p, s->end))
			p++;
	if (p < s->end && *p == '.') {
		frac = true;
		if (!digit(++p, s->end)) {
			s->p = p;
			perr(s, "after decimal point in numeric literal");
			return NULL;
		}
		while (digit(p, s->end))
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		frac = true;
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (!digit(p, s->end)) {
			s->p = p;
			perr(s, "in exponent of numeric literal");
			return NULL;
		}
		while (digit(p, s->end))
			p++;
	}
	v = jv_new(s->d, JV_NUMBER);
	if (!v || !(v->s = jv_strndup(s->d, b, (size_t)(p - b)))) {
		s->oom = true;
		return NULL;
	}
	v->len = (uint32_t)(p - b);
	v->flags = frac ? JV_F_FRAC : 0;
	s->p = p;
	return v;
}

static bool literal(struct pstate *s, const char *word)
{
	size_t n = strlen(word);
	char q[16];

	for (size_t i = 1; i < n; i++) {
		if (s->p + i < s->end && s->p[i] == word[i])
			continue;
		s->p += i;
		if (s->p >= s->end) {
			perr(s, "");
		} else {
			/* Go: invalid character 'x' in literal true (expecting 'r') */
			s->failed = true;
			if (s->err) {
				quote_char((unsigned char)*s->p, q, sizeof(q));
				s->err->offset = (size_t)(s->p - s->start);
				snprintf(s->err->msg, sizeof(s->err->msg),
					 "invalid character %s in literal %s (expecting '%c')", q,
					 word, word[i]);
			}
		}
		return false;
	}
	s->p += n;
	return true;
}

static struct jv *new_literal(struct pstate *s, const char *word, enum jv_type type)
{
	struct jv *v;

	if (!literal(s, word))
		return NULL;
	v = jv_new(s->d, type);
	if (!v)
		s->oom = true;
	return v;
}

static struct jv *parse_value(struct pstate *s, int depth);

static struct jv *parse_container(struct pstate *s, int depth, bool obj)
{
	struct jv *v = jv_new(s->d, obj ? JV_OBJECT : JV_ARRAY);

	if (!v) {
		s->oom = true;
		return NULL;
	}
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == (obj ? '}' : ']')) {
		s->p++;
		return v;
	}
	for (;;) {
		const char *key = NULL;
		uint32_t klen = 0;
		struct jv *c;

		skip_ws(s);
		if (obj) {
			if (s->p >= s->end || *s->p != '"') {
				perr(s, "looking for beginning of object key string");
				return NULL;
			}
			if (parse_string(s, &key, &klen) != 0)
				return NULL;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':') {
				perr(s, "after object key");
				return NULL;
			}
			s->p++;
		}
		c = parse_value(s, depth + 1);
		if (!c)
			return NULL;
		c->key = key;
		c->klen = klen;
		jv_push(v, c);
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == (obj ? '}' : ']')) {
			s->p++;
			return v;
		}
		perr(s, obj ? "after object key:value pair" : "after array element");
		return NULL;
	}
}

static struct jv *parse_value(struct pstate *s, int depth)
{
	struct jv *v;

	skip_ws(s);
	if (s->p >= s->end) {
		perr(s, "");
		return NULL;
	}
	if (depth > K8S_MAX_DEPTH) {
		s->failed = true;
		if (s->err) {
			s->err->offset = (size_t)(s->p - s->start);
			snprintf(s->err->msg, sizeof(s->err->msg),
				 "exceeded max depth of %d nested values", K8S_MAX_DEPTH);
		}
		return NULL;
	}
	switch (*s->p) {
	case '{':
		return parse_container(s, depth, true);
	case '[':
		return parse_container(s, depth, false);
	case '"':
		v = jv_new(s->d, JV_STRING);
		if (!v) {
			s->oom = true;
			return NULL;
		}
		return parse_string(s, &v->s, &v->len) == 0 ? v : NULL;
	case 't':
		return new_literal(s, "true", JV_TRUE);
	case 'f':
		return new_literal(s, "false", JV_FALSE);
	case 'n':
		return new_literal(s, "null", JV_NULL);
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return parse_number(s);
		perr(s, "looking for beginning of value");
		return NULL;
	}
}

struct jv *jv_parse(struct jv_doc *d, const char *buf, size_t len, struct jv_perr *err)
{
	struct pstate s = {.d = d, .err = err};
	struct jv *v;
	char *copy;

	if (err) {
		err->offset = 0;
		err->msg[0] = 0;
	}
	if (!d || (!buf && len) || len >= UINT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	copy = jv_alloc(d, len + 1);
	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		memcpy(copy, buf, len);
	s.p = s.start = copy;
	s.end = copy + len;
	v = parse_value(&s, 0);
	if (v) {
		skip_ws(&s);
		if (s.p < s.end) {
			perr(&s, "after top-level value");
			v = NULL;
		}
	}
	if (!v)
		errno = s.oom ? ENOMEM : EINVAL;
	return v;
}
