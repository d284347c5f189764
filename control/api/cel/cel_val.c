/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_val: CEL's values — the evaluation arena, values read in place off the JSON tree with
 * their structural schema (numbers by the schema's type, objects as maps, Kubernetes'
 * escaped property names), heterogeneous equality and ordering (cel-go's
 * CrossTypeNumericComparisons, which Kubernetes enables), and the printed forms: string(x)
 * as cel-go writes it and the literal-like form of cel_eval_print.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cel_int.h"
#include "k8s_buf.h"
#include "k8s_jv.h"

struct cel_chunk {
	struct cel_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *cel_alloc(struct cel_arena *a, size_t size)
{
	struct cel_chunk *c = a->head;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > 16384 ? size : 16384;

		if (a->limit && a->total + cap > a->limit)
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
		a->total += cap;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

void cel_arena_free(struct cel_arena *a)
{
	for (struct cel_chunk *c = a->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	a->head = NULL;
	a->total = 0;
}

/* ---- values ---- */

struct cel_val cel_err(struct cel_ctx *c, const char *fmt, ...)
{
	struct cel_val v = {.t = CT_ERROR};
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	v.s.s = cel_alloc(&c->ar, (size_t)n + 1);
	if (!v.s.s) {
		v.s.s = "out of memory";
		v.s.len = strlen(v.s.s);
		return v;
	}
	memcpy((char *)v.s.s, buf, (size_t)n);
	v.s.len = (size_t)n;
	return v;
}

struct cel_val cel_cancelled(struct cel_ctx *c)
{
	c->cancelled = true;
	return (struct cel_val){.t = CT_ERROR, .s = {CEL_COST_EXCEEDED, strlen(CEL_COST_EXCEEDED)}};
}

bool cel_charge(struct cel_ctx *c, int64_t n)
{
	if (c->cancelled)
		return false;
	c->cost += n;
	if (c->cost > c->limit) {
		c->cancelled = true;
		return false;
	}
	return true;
}

struct cel_val cel_str(struct cel_ctx *c, const char *s, size_t len, bool copy)
{
	struct cel_val v = {.t = CT_STRING};

	if (copy) {
		char *p = cel_alloc(&c->ar, len + 1);

		if (!p)
			return cel_err(c, "out of memory");
		memcpy(p, s, len);
		s = p;
	}
	v.s.s = s;
	v.s.len = len;
	return v;
}

struct cel_val cel_bool(bool b)
{
	return (struct cel_val){.t = CT_BOOL, .b = b};
}

struct cel_val cel_int(int64_t i)
{
	return (struct cel_val){.t = CT_INT, .i = i};
}

struct cel_val cel_type(const char *name)
{
	return (struct cel_val){.t = CT_TYPE, .s = {name, strlen(name)}};
}

const char *cel_type_name(const struct cel_val *v)
{
	static const char *const names[] = {
	    [CT_NULL] = "null_type",
	    [CT_BOOL] = "bool",
	    [CT_INT] = "int",
	    [CT_UINT] = "uint",
	    [CT_DOUBLE] = "double",
	    [CT_STRING] = "string",
	    [CT_BYTES] = "bytes",
	    [CT_LIST] = "list",
	    [CT_MAP] = "map",
	    [CT_TYPE] = "type",
	    [CT_DURATION] = "google.protobuf.Duration",
	    [CT_TIMESTAMP] = "google.protobuf.Timestamp",
	    [CT_OPTIONAL] = "optional_type",
	    [CT_ERROR] = "error",
	    [CT_LAZY] = "map",
	    [CT_QUANTITY] = "kubernetes.Quantity",
	};

	return v->t < sizeof(names) / sizeof(names[0]) ? names[v->t] : "dyn";
}

static const char *schema_type(const struct jv *sch)
{
	return jv_path_str(sch, "type");
}

struct cel_val cel_jv_val(struct cel_ctx *c, const struct jv *v, const struct jv *sch)
{
	struct cel_val r = {0};
	const char *t;
	int64_t i;

	(void)c;
	if (!v)
		return r;
	switch (v->type) {
	case JV_FALSE:
	case JV_TRUE:
		return cel_bool(v->type == JV_TRUE);
	case JV_NUMBER:
		t = schema_type(sch);
		if ((!t || strcmp(t, "number")) && !(v->flags & JV_F_FRAC) && jv_int(v, &i) == 0)
			return cel_int(i);
		r.t = CT_DOUBLE;
		r.d = strtod(v->s, NULL);
		return r;
	case JV_STRING:
		r.t = CT_STRING;
		r.s.s = v->s;
		r.s.len = v->len;
		return r;
	case JV_ARRAY:
	case JV_OBJECT:
		r.t = v->type == JV_ARRAY ? CT_LIST : CT_MAP;
		r.jv = 1;
		r.j.v = v;
		r.j.sch = sch;
		return r;
	default:
		return r;
	}
}

const struct jv *cel_member_schema(const struct jv *sch, const char *key, size_t klen)
{
	const struct jv *p = jv_getn(jv_get(sch, "properties"), key, klen);
	const struct jv *addl = jv_get(sch, "additionalProperties");

	if (p)
		return p;
	return addl && addl->type == JV_OBJECT ? addl : NULL;
}

size_t cel_size(const struct cel_val *v)
{
	if (v->t == CT_LIST)
		return v->jv ? jv_count(v->j.v) : v->l->n;
	if (v->t == CT_MAP)
		return v->jv ? jv_count(v->j.v) : v->m->n;
	return 0;
}

struct cel_val cel_list_at(struct cel_ctx *c, const struct cel_val *l, size_t i)
{
	if (!l->jv)
		return l->l->items[i];
	return cel_jv_val(c, jv_at(l->j.v, i), jv_get(l->j.sch, "items"));
}

struct cel_val cel_new_list(struct cel_ctx *c, size_t n)
{
	struct cel_val v = {.t = CT_LIST};

	v.l = cel_alloc(&c->ar, sizeof(*v.l));
	if (v.l && n)
		v.l->items = cel_alloc(&c->ar, n * sizeof(*v.l->items));
	if (!v.l || (n && !v.l->items))
		return cel_err(c, "out of memory");
	return v;
}

/* The members of a map, either form: key i and value i. */
struct cel_val cel_map_key(const struct cel_val *m, const struct jv *member, size_t i)
{
	if (!m->jv)
		return m->m->keys[i];
	return (struct cel_val){.t = CT_STRING, .s = {member->key, member->klen}};
}

/* Kubernetes' escaping of property names that are no CEL identifiers
 * (apiserver/pkg/cel/escaping.go: __dash__, __dot__, __slash__, __underscores__,
 * __{keyword}__). */
size_t cel_unescape_name(const char *s, size_t len, char *out, size_t olen)
{
	static const struct {
		const char *esc, *to;
	} e[] = {
	    {"__underscores__", "__"}, {"__dash__", "-"}, {"__dot__", "."}, {"__slash__", "/"}};
	size_t o = 0;

	if (len > 4 && !memcmp(s, "__", 2) && !memcmp(s + len - 2, "__", 2) && len - 4 < olen) {
		static const char *const kw[] = {
		    "true",	"false",   "null",	"in",	    "as",  "break",  "const",
		    "continue", "else",	   "for",	"function", "if",  "import", "let",
		    "loop",	"package", "namespace", "return",   "var", "void",   "while"};

		for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
			if (strlen(kw[k]) == len - 4 && !memcmp(kw[k], s + 2, len - 4)) {
				memcpy(out, s + 2, len - 4);
				return len - 4;
			}
	}
	for (size_t i = 0; i < len && o + 2 < olen;) {
		size_t k;

		for (k = 0; k < sizeof(e) / sizeof(e[0]); k++) {
			size_t el = strlen(e[k].esc);

			if (len - i >= el && !memcmp(s + i, e[k].esc, el)) {
				size_t tl = strlen(e[k].to);

				memcpy(out + o, e[k].to, tl);
				o += tl;
				i += el;
				break;
			}
		}
		if (k == sizeof(e) / sizeof(e[0]))
			out[o++] = s[i++];
	}
	return o;
}

/* m[key]: found (true, *out) or not */
bool cel_map_get(struct cel_ctx *c, const struct cel_val *m, const struct cel_val *key,
		 bool escaped, struct cel_val *out)
{
	if (m->jv) {
		const struct jv *v;

		if (key->t != CT_STRING)
			return false;
		v = jv_getn(m->j.v, key->s.s, key->s.len);
		if (!v && escaped && memmem(key->s.s, key->s.len, "__", 2)) {
			char buf[256];
			size_t n = cel_unescape_name(key->s.s, key->s.len, buf, sizeof(buf));

			v = jv_getn(m->j.v, buf, n);
			if (v) {
				*out = cel_jv_val(c, v, cel_member_schema(m->j.sch, buf, n));
				return true;
			}
		}
		if (!v)
			return false;
		*out = cel_jv_val(c, v, cel_member_schema(m->j.sch, key->s.s, key->s.len));
		return true;
	}
	for (size_t i = 0; i < m->m->n; i++)
		if (cel_equal(c, &m->m->keys[i], key)) {
			*out = m->m->vals[i];
			return true;
		}
	return false;
}

/* ---- equality and ordering ---- */

static bool numeric(const struct cel_val *v)
{
	return v->t == CT_INT || v->t == CT_UINT || v->t == CT_DOUBLE;
}

static int cmp_num(const struct cel_val *a, const struct cel_val *b)
{
	if (a->t == CT_DOUBLE || b->t == CT_DOUBLE) {
		double x = a->t == CT_DOUBLE ? a->d : a->t == CT_INT ? (double)a->i : (double)a->u;
		double y = b->t == CT_DOUBLE ? b->d : b->t == CT_INT ? (double)b->i : (double)b->u;

		if (isnan(x) || isnan(y))
			return 3; /* unordered */
		return x < y ? -1 : x > y;
	}
	if (a->t == CT_INT && b->t == CT_INT)
		return a->i < b->i ? -1 : a->i > b->i;
	if (a->t == CT_UINT && b->t == CT_UINT)
		return a->u < b->u ? -1 : a->u > b->u;
	if (a->t == CT_INT)
		return a->i < 0 ? -1 : (uint64_t)a->i < b->u ? -1 : (uint64_t)a->i > b->u;
	return b->i < 0 ? 1 : a->u < (uint64_t)b->i ? -1 : a->u > (uint64_t)b->i;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int r = memcmp(a, b, al < bl ? al : bl);

	if (r)
		return r < 0 ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

int cel_compare(const struct cel_val *a, const struct cel_val *b)
{
	if (numeric(a) && numeric(b))
		return cmp_num(a, b);
	if (a->t != b->t)
		return 2;
	switch (a->t) {
	case CT_BOOL:
		return (int)a->b - (int)b->b;
	case CT_STRING:
	case CT_BYTES:
		return cmp_bytes(a->s.s, a->s.len, b->s.s, b->s.len);
	case CT_QUANTITY:
		return a->i < b->i ? -1 : a->i > b->i;
	case CT_DURATION:
	case CT_TIMESTAMP:
		if (a->tm.sec != b->tm.sec)
			return a->tm.sec < b->tm.sec ? -1 : 1;
		return a->tm.nsec < b->tm.nsec ? -1 : a->tm.nsec > b->tm.nsec;
	default:
		return 2;
	}
}

/* x-kubernetes-list-type set or map: Kubernetes' list values compare these regardless of
 * order (apiserver/pkg/cel/common/values.go: unstructuredSetList, unstructuredMapList) */
static bool unordered_list(const struct cel_val *l)
{
	const char *t = jv_path_str(l->j.sch, "x-kubernetes-list-type");

	return t && (!strcmp(t, "set") || !strcmp(t, "map"));
}

/* the same items in any order (each of a found in b, as many as b has) */
static bool jv_same_items(struct cel_ctx *c, const struct cel_val *a, const struct cel_val *b)
{
	if (jv_count(a->j.v) != jv_count(b->j.v))
		return false;
	cel_charge(c, (int64_t)(jv_count(a->j.v) * jv_count(b->j.v)) / 10);
	for (const struct jv *x = a->j.v->head; x; x = x->next) {
		bool found = false;

		for (const struct jv *y = b->j.v->head; y && !found; y = y->next)
			found = jv_equal(x, y);
		if (!found)
			return false;
	}
	return true;
}

bool cel_equal(struct cel_ctx *c, const struct cel_val *a, const struct cel_val *b)
{
	size_t n;

	if (numeric(a) && numeric(b))
		return cmp_num(a, b) == 0;
	if (a->t != b->t)
		return false;
	switch (a->t) {
	case CT_NULL:
		return true;
	case CT_TYPE:
		return a->s.len == b->s.len && !memcmp(a->s.s, b->s.s, a->s.len);
	case CT_LIST:
		n = cel_size(a);
		if (n != cel_size(b))
			return false;
		if (a->jv && b->jv)
			return unordered_list(a) || unordered_list(b) ? jv_same_items(c, a, b)
								      : jv_equal(a->j.v, b->j.v);
		for (size_t i = 0; i < n; i++) {
			struct cel_val x = cel_list_at(c, a, i), y = cel_list_at(c, b, i);

			cel_charge(c, 1);
			if (!cel_equal(c, &x, &y))
				return false;
		}
		return true;
	case CT_MAP: {
		const struct jv *m = a->jv ? a->j.v->head : NULL;

		if (cel_size(a) != cel_size(b))
			return false;
		if (a->jv && b->jv)
			return jv_equal(a->j.v, b->j.v);
		for (size_t i = 0; i < cel_size(a); i++, m = m ? m->next : NULL) {
			struct cel_val k = cel_map_key(a, m, i), x, y;

			cel_charge(c, 1);
			x = a->jv ? cel_jv_val(c, m, cel_member_schema(a->j.sch, m->key, m->klen))
				  : a->m->vals[i];
			if (!cel_map_get(c, b, &k, false, &y) || !cel_equal(c, &x, &y))
				return false;
		}
		return true;
	}
	case CT_OPTIONAL:
		if (!a->opt || !b->opt)
			return !a->opt && !b->opt;
		return cel_equal(c, a->opt, b->opt);
	default:
		return cel_compare(a, b) == 0;
	}
}

/* ---- printing ---- */

/* Go's strconv.FormatFloat(d, 'g', -1, 64), as cel-go's string(double) writes it. */
void cel_format_double(double d, char *out, size_t len)
{
	char buf[64], digits[32];
	int prec, exp, nd = 0;
	char *e;

	if (isnan(d)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, len, "%s", d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == 0) {
		snprintf(out, len, "%s", signbit(d) ? "-0" : "0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf: [-]d.ddde[+-]xx */
	e = strchr(buf, 'e');
	exp = atoi(e + 1);
	for (char *p = buf; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = 0;
	if (exp < -4 || exp >= 21) {
		snprintf(out, len, "%s%c%s%s%se%c%02d", d < 0 ? "-" : "", digits[0],
			 nd > 1 ? "." : "", digits + 1, "", exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	{
		struct k8s_buf b = {0};

		if (d < 0)
			k8s_buf_putc(&b, '-');
		if (exp < 0) {
			k8s_buf_puts(&b, "0.");
			for (int i = 0; i < -exp - 1; i++)
				k8s_buf_putc(&b, '0');
			k8s_buf_puts(&b, digits);
		} else {
			for (int i = 0; i <= exp || i < nd; i++) {
				if (i == exp + 1)
					k8s_buf_putc(&b, '.');
				k8s_buf_putc(&b, i < nd ? digits[i] : '0');
			}
		}
		snprintf(out, len, "%s", b.p ? b.p : "");
		k8s_buf_free(&b);
	}
}

static void print_quoted(struct k8s_buf *b, const char *s, size_t len, bool bytes)
{
	if (bytes)
		k8s_buf_putc(b, 'b');
	k8s_buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			k8s_buf_putc(b, '\\');
			k8s_buf_putc(b, (char)ch);
		} else if (ch == '\n') {
			k8s_buf_puts(b, "\\n");
		} else if (ch < 0x20 || ch == 0x7f || (bytes && ch >= 0x80)) {
			k8s_buf_printf(b, "\\x%02x", ch);
		} else {
			k8s_buf_putc(b, (char)ch);
		}
	}
	k8s_buf_putc(b, '"');
}

static void format_duration(char *out, size_t len, int64_t sec, int32_t nsec);
static void format_timestamp(char *out, size_t len, int64_t sec, int32_t nsec);

void cel_print_val(struct cel_ctx *c, struct k8s_buf *b, const struct cel_val *v, int depth)
{
	char num[64];

	if (depth > 200 || b->len > (1u << 20)) {
		k8s_buf_puts(b, "...");
		return;
	}
	switch (v->t) {
	case CT_NULL:
		k8s_buf_puts(b, "null");
		break;
	case CT_BOOL:
		k8s_buf_puts(b, v->b ? "true" : "false");
		break;
	case CT_INT:
		k8s_buf_printf(b, "%lld", (long long)v->i);
		break;
	case CT_UINT:
		k8s_buf_printf(b, "%lluu", (unsigned long long)v->u);
		break;
	case CT_DOUBLE:
		cel_format_double(v->d, num, sizeof(num));
		k8s_buf_puts(b, num);
		if (!strpbrk(num, ".eIN"))
			k8s_buf_puts(b, ".0");
		break;
	case CT_STRING:
	case CT_BYTES:
		print_quoted(b, v->s.s, v->s.len, v->t == CT_BYTES);
		break;
	case CT_TYPE:
		k8s_buf_put(b, v->s.s, v->s.len);
		break;
	case CT_LAZY:
		k8s_buf_puts(b, "{...}");
		break;
	case CT_QUANTITY:
		if (v->i % 1000 == 0)
			k8s_buf_printf(b, "quantity(\"%lld\")", (long long)(v->i / 1000));
		else
			k8s_buf_printf(b, "quantity(\"%lldm\")", (long long)v->i);
		break;
	case CT_ERROR:
		k8s_buf_puts(b, "error: ");
		k8s_buf_put(b, v->s.s, v->s.len);
		break;
	case CT_DURATION:
		format_duration(num, sizeof(num), v->tm.sec, v->tm.nsec);
		k8s_buf_printf(b, "duration(\"%s\")", num);
		break;
	case CT_TIMESTAMP:
		format_timestamp(num, sizeof(num), v->tm.sec, v->tm.nsec);
		k8s_buf_printf(b, "timestamp(\"%s\")", num);
		break;
	case CT_OPTIONAL:
		if (!v->opt) {
			k8s_buf_puts(b, "optional.none()");
			break;
		}
		k8s_buf_puts(b, "optional.of(");
		cel_print_val(c, b, v->opt, depth + 1);
		k8s_buf_putc(b, ')');
		break;
	case CT_LIST:
		k8s_buf_putc(b, '[');
		for (size_t i = 0, n = cel_size(v); i < n; i++) {
			struct cel_val x = cel_list_at(c, v, i);

			if (i)
				k8s_buf_puts(b, ", ");
			cel_print_val(c, b, &x, depth + 1);
		}
		k8s_buf_putc(b, ']');
		break;
	case CT_MAP: {
		const struct jv *m = v->jv ? v->j.v->head : NULL;

		k8s_buf_putc(b, '{');
		for (size_t i = 0; i < cel_size(v); i++, m = m ? m->next : NULL) {
			struct cel_val k = cel_map_key(v, m, i), x;

			x = v->jv ? cel_jv_val(c, m, cel_member_schema(v->j.sch, m->key, m->klen))
				  : v->m->vals[i];
			if (i)
				k8s_buf_puts(b, ", ");
			cel_print_val(c, b, &k, depth + 1);
			k8s_buf_puts(b, ": ");
			cel_print_val(c, b, &x, depth + 1);
		}
		k8s_buf_putc(b, '}');
		break;
	}
	}
}

struct cel_val cel_to_string(struct cel_ctx *c, const struct cel_val *v)
{
	char num[64];

	switch (v->t) {
	case CT_STRING:
		return *v;
	case CT_BYTES:
		/* cel-go: bytes must be valid UTF-8 to convert */
		for (size_t i = 0; i < v->s.len; i++)
			if ((unsigned char)v->s.s[i] >= 0x80) {
				const unsigned char *p = (const unsigned char *)v->s.s + i;
				size_t n = (*p & 0xe0) == 0xc0	 ? 2
					   : (*p & 0xf0) == 0xe0 ? 3
					   : (*p & 0xf8) == 0xf0 ? 4
								 : 0;

				if (!n || i + n > v->s.len)
					return cel_err(
					    c, "invalid UTF-8 in bytes, cannot convert to string");
				for (size_t k = 1; k < n; k++)
					if ((p[k] & 0xc0) != 0x80)
						return cel_err(c, "invalid UTF-8 in bytes, cannot "
								  "convert to string");
				i += n - 1;
			}
		return cel_str(c, v->s.s, v->s.len, false);
	case CT_BOOL:
		return cel_str(c, v->b ? "true" : "false", v->b ? 4 : 5, false);
	case CT_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		break;
	case CT_UINT:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u);
		break;
	case CT_DOUBLE:
		cel_format_double(v->d, num, sizeof(num));
		break;
	case CT_DURATION:
		format_duration(num, sizeof(num), v->tm.sec, v->tm.nsec);
		break;
	case CT_TIMESTAMP:
		format_timestamp(num, sizeof(num), v->tm.sec, v->tm.nsec);
		break;
	case CT_TYPE:
		return cel_str(c, v->s.s, v->s.len, false);
	default:
		return cel_err(c, "type conversion error from '%s' to 'string'", cel_type_name(v));
	}
	return cel_str(c, num, strlen(num), true);
}

/* Go's time.Duration.String() of a protobuf duration, as cel-go prints one ("1h2m3.5s"). */
static void format_duration(char *out, size_t len, int64_t sec, int32_t nsec)
{
	char frac[16] = "";
	bool neg = sec < 0 || nsec < 0;
	uint64_t s = (uint64_t)(sec < 0 ? -sec : sec), ns = (uint64_t)(nsec < 0 ? -nsec : nsec);
	uint64_t h = s / 3600, m = s / 60 % 60;

	if (s == 0 && ns == 0) {
		snprintf(out, len, "0s");
		return;
	}
	if (s == 0) {
		if (ns % 1000000 == 0)
			snprintf(out, len, "%s%llums", neg ? "-" : "",
				 (unsigned long long)(ns / 1000000));
		else if (ns % 1000 == 0)
			snprintf(out, len, "%s%lluµs", neg ? "-" : "",
				 (unsigned long long)(ns / 1000));
		else
			snprintf(out, len, "%s%lluns", neg ? "-" : "", (unsigned long long)ns);
		return;
	}
	if (ns) {
		int n;

		snprintf(frac, sizeof(frac), ".%09llu", (unsigned long long)ns);
		for (n = (int)strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = 0;
	}
	if (h)
		snprintf(out, len, "%s%lluh%llum%llu%ss", neg ? "-" : "", (unsigned long long)h,
			 (unsigned long long)m, (unsigned long long)(s % 60), frac);
	else if (m)
		snprintf(out, len, "%s%llum%llu%ss", neg ? "-" : "", (unsigned long long)m,
			 (unsigned long long)(s % 60), frac);
	else
		snprintf(out, len, "%s%llu%ss", neg ? "-" : "", (unsigned long long)s, frac);
}

/* RFC 3339 in UTC as Go's time.Time.Format(time.RFC3339Nano) writes it. */
static void format_timestamp(char *out, size_t len, int64_t sec, int32_t nsec)
{
	struct tm tm;
	time_t t = (time_t)sec;
	char frac[16] = "";

	gmtime_r(&t, &tm);
	if (nsec) {
		int n;

		snprintf(frac, sizeof(frac), ".%09d", nsec);
		for (n = (int)strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = 0;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}
