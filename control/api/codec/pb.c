/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pb: protobuf bodies decoded by the schema tables. Kubernetes' protobuf (gogo-protobuf over
 * proto2) writes every non-pointer field, zero values included; they become what the JSON
 * decoder would have seen: zero strings and false booleans of omitempty fields are left out,
 * a zero Time is absent. Maps are repeated {1: key, 2: value} entries; inline (embedded)
 * structs with a field number are nested messages whose fields land in the parent object.
 * The special types' messages are their schema types' (protobuf-only) fields: apiextensions'
 * JSON is its JSON text, a JSONSchemaPropsOr... union becomes the one shape its Go
 * MarshalJSON writes, and ExtraValue and meta/v1 Verbs lists come wrapped in a message of
 * repeated items.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_pb.h"
#include "k8s_buf.h"

struct pbr {
	const uint8_t *p, *end;
};

struct pctx {
	struct jv_doc *d;
	char *msg;
	size_t msglen;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void fail(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(c->msg, c->msglen, fmt, ap);
	va_end(ap);
}

static int varint(struct pbr *r, uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -EINVAL;
		uint8_t b = *r->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* One field's tag and payload: a varint, or bytes (LEN), or a fixed value. */
struct pbfield {
	uint32_t num;
	unsigned wire;
	uint64_t v;
	const uint8_t *data;
	size_t len;
};

static int next_field(struct pbr *r, struct pbfield *f)
{
	uint64_t tag, len;

	if (varint(r, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
		return -EINVAL;
	f->num = (uint32_t)(tag >> 3);
	f->wire = (unsigned)(tag & 7);
	f->data = NULL;
	f->len = 0;
	switch (f->wire) {
	case 0:
		return varint(r, &f->v);
	case 1:
		if (r->end - r->p < 8)
			return -EINVAL;
		memcpy(&f->v, r->p, 8);
		r->p += 8;
		return 0;
	case 5: {
		uint32_t v32;

		if (r->end - r->p < 4)
			return -EINVAL;
		memcpy(&v32, r->p, 4);
		f->v = v32;
		r->p += 4;
		return 0;
	}
	case 2:
		if (varint(r, &len) != 0 || len > (uint64_t)(r->end - r->p))
			return -EINVAL;
		f->data = r->p;
		f->len = (size_t)len;
		r->p += len;
		return 0;
	default:
		return -EINVAL; /* groups (3, 4) and reserved types */
	}
}

/* ---- special types ---- */

static void frac(char *out, size_t size, uint64_t v, int prec, uint64_t *whole)
{
	char digits[16];
	int n = 0;
	bool print = false;

	for (int i = 0; i < prec; i++) {
		int dgt = (int)(v % 10);

		print = print || dgt != 0;
		if (print)
			digits[n++] = (char)('0' + dgt);
		v /= 10;
	}
	*whole = v;
	if (!n) {
		out[0] = 0;
		return;
	}
	out[0] = '.';
	for (int i = 0; i < n && i + 1 < (int)size - 1; i++)
		out[1 + i] = digits[n - 1 - i];
	out[1 + (n < (int)size - 2 ? n : (int)size - 2)] = 0;
}

/* Go's time.Duration.String(). */
static void go_duration(int64_t d, char *out, size_t size)
{
	uint64_t u = d < 0 ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d, whole;
	const char *neg = d < 0 ? "-" : "";
	char f[16];

	if (d == 0) {
		snprintf(out, size, "0s");
	} else if (u < 1000) {
		snprintf(out, size, "%s%" PRIu64 "ns", neg, u);
	} else if (u < 1000000) {
		frac(f, sizeof(f), u, 3, &whole);
		snprintf(out, size, "%s%" PRIu64 "%s\xc2\xb5s", neg, whole, f);
	} else if (u < 1000000000) {
		frac(f, sizeof(f), u, 6, &whole);
		snprintf(out, size, "%s%" PRIu64 "%sms", neg, whole, f);
	} else {
		uint64_t s, m, h;

		frac(f, sizeof(f), u, 9, &whole);
		s = whole % 60;
		m = (whole / 60) % 60;
		h = whole / 3600;
		if (h)
			snprintf(out, size, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", neg, h, m,
				 s, f);
		else if (m)
			snprintf(out, size, "%s%" PRIu64 "m%" PRIu64 "%ss", neg, m, s, f);
		else
			snprintf(out, size, "%s%" PRIu64 "%ss", neg, s, f);
	}
}

static struct jv *special(struct pctx *c, const struct k8s_value *v, const uint8_t *data,
			  size_t len)
{
	struct pbr r = {data, data + len};
	struct pbfield f;
	int64_t secs = 0, nanos = 0, itype = 0, ival = 0;
	const uint8_t *str = NULL;
	size_t slen = 0;
	bool any = false;
	char buf[64];

	while (r.p < r.end) {
		if (next_field(&r, &f) != 0) {
			fail(c, "malformed %s", k8s_vkind_name(v->kind));
			return NULL;
		}
		any = true;
		if (f.wire == 2) {
			str = f.data;
			slen = f.len;
		} else if (f.num == 1) {
			secs = itype = (int64_t)f.v;
		} else if (f.num == 2) {
			nanos = ival = (int64_t)(int32_t)f.v;
		}
	}
	switch (v->kind) {
	case K8S_V_QUANTITY:
		return str ? jv_new_str(c->d, (const char *)str, slen) : jv_new_strz(c->d, "0");
	case K8S_V_INT_OR_STRING:
		if (itype == 1)
			return jv_new_str(c->d, str ? (const char *)str : "", str ? slen : 0);
		return jv_new_int(c->d, ival);
	case K8S_V_TIME:
	case K8S_V_MICROTIME: {
		time_t t = (time_t)secs;
		struct tm tm;

		if (!any || (secs == 0 && nanos == 0))
			return NULL; /* the zero time: absent */
		gmtime_r(&t, &tm);
		if (v->kind == K8S_V_TIME)
			strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		else {
			char base[40];

			strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(buf, sizeof(buf), "%s.%06dZ", base, (int)(nanos / 1000));
		}
		return jv_new_strz(c->d, buf);
	}
	case K8S_V_DURATION:
		go_duration(secs, buf, sizeof(buf));
		return jv_new_strz(c->d, buf);
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
	case K8S_V_JSON: {
		struct jv_perr pe;
		struct jv *j;

		/* an empty JSON is written as null (apiextensions/v1 marshal.go), which a
		 * struct field drops and an array keeps */
		if (!str || !slen)
			return v->kind == K8S_V_JSON ? jv_new(c->d, JV_NULL) : NULL;
		j = jv_parse(c->d, (const char *)str, slen, &pe);
		if (!j)
			fail(c, "embedded object is not JSON: %s", pe.msg);
		return j;
	}
	default:
		return NULL;
	}
}

/* ---- messages ---- */

static void message(struct pctx *c, struct jv *obj, const struct k8s_type *t, const uint8_t *data,
		    size_t len, int depth);

static struct jv *value(struct pctx *c, const struct k8s_value *v, const struct pbfield *f,
			int depth);

/* The items of a wrapped list (ExtraValue, Verbs: a message { repeated string items = 1; },
 * the message type being v->type) appended to the array a. */
static void wrapped_items(struct pctx *c, struct jv *a, const struct k8s_value *v,
			  const uint8_t *data, size_t len, int depth)
{
	struct pbr r = {data, data + len};
	struct pbfield f;

	while (r.p < r.end && !c->failed) {
		const struct k8s_field *fd;
		struct jv *x;

		if (next_field(&r, &f) != 0) {
			fail(c, "malformed %s", v->type->go);
			return;
		}
		fd = k8s_field_find_pb(v->type, f.num);
		if (!fd || fd->value->kind != K8S_V_ARRAY)
			continue;
		x = value(c, fd->value->elem, &f, depth + 1);
		if (x)
			jv_push(a, x);
	}
}

/* A JSONSchemaPropsOr... union from its message (the fields of v->type: a schema, a
 * repeated field, a bool), as its Go MarshalJSON writes it: a non-empty array, else the
 * schema, else (JSONSchemaPropsOrBool) the boolean, else null. */
static struct jv *union_value(struct pctx *c, const struct k8s_value *v, const uint8_t *data,
			      size_t len, int depth)
{
	struct pbr r = {data, data + len};
	struct jv *schema = NULL, *arr = NULL, *allows = NULL, *x;
	struct pbfield f;

	while (r.p < r.end && !c->failed) {
		const struct k8s_field *fd;

		if (next_field(&r, &f) != 0) {
			fail(c, "malformed %s", v->type->go);
			return NULL;
		}
		fd = k8s_field_find_pb(v->type, f.num);
		if (!fd)
			continue;
		switch (fd->value->kind) {
		case K8S_V_STRUCT:
			schema = value(c, fd->value, &f, depth + 1);
			break;
		case K8S_V_ARRAY:
			if (!arr)
				arr = jv_new(c->d, JV_ARRAY);
			x = value(c, fd->value->elem, &f, depth + 1);
			if (arr && x)
				jv_push(arr, x);
			break;
		case K8S_V_BOOL:
			allows = value(c, fd->value, &f, depth + 1);
			break;
		default:
			break;
		}
	}
	if (arr && arr->len)
		return arr;
	if (schema)
		return schema;
	if (v->kind == K8S_V_SCHEMA_OR_BOOL)
		return allows ? allows : jv_new_bool(c->d, false);
	return jv_new(c->d, JV_NULL);
}

/* One value of kind v from a field payload; NULL when it stands for nothing (a zero Time). */
static struct jv *value(struct pctx *c, const struct k8s_value *v, const struct pbfield *f,
			int depth)
{
	char num[32];

	switch (v->kind) {
	case K8S_V_STRING:
	case K8S_V_ENUM:
		if (f->wire != 2)
			break;
		return jv_new_str(c->d, (const char *)f->data, f->len);
	case K8S_V_BYTES:
		if (f->wire != 2)
			break;
		return jv_new_base64(c->d, f->data, f->len);
	case K8S_V_INT32:
		if (f->wire != 0)
			break;
		snprintf(num, sizeof(num), "%" PRId32, (int32_t)f->v);
		return jv_new_num(c->d, num, strlen(num));
	case K8S_V_INT64:
		if (f->wire != 0)
			break;
		snprintf(num, sizeof(num), "%" PRId64, (int64_t)f->v);
		return jv_new_num(c->d, num, strlen(num));
	case K8S_V_BOOL:
		if (f->wire != 0)
			break;
		return jv_new_bool(c->d, f->v != 0);
	case K8S_V_FLOAT64: {
		double d;

		if (f->wire != 1)
			break;
		memcpy(&d, &f->v, sizeof(d));
		return jv_new_double(c->d, d);
	}
	case K8S_V_STRUCT: {
		struct jv *o;

		if (f->wire != 2)
			break;
		o = jv_new(c->d, JV_OBJECT);
		if (o)
			message(c, o, v->type, f->data, f->len, depth + 1);
		return o;
	}
	case K8S_V_QUANTITY:
	case K8S_V_INT_OR_STRING:
	case K8S_V_TIME:
	case K8S_V_MICROTIME:
	case K8S_V_DURATION:
	case K8S_V_RAW_EXTENSION:
	case K8S_V_FIELDS_V1:
	case K8S_V_JSON:
		if (f->wire != 2)
			break;
		return special(c, v, f->data, f->len);
	case K8S_V_SCHEMA_OR_ARRAY:
	case K8S_V_SCHEMA_OR_BOOL:
	case K8S_V_SCHEMA_OR_STRINGS:
		if (f->wire != 2)
			break;
		return union_value(c, v, f->data, f->len, depth);
	case K8S_V_ARRAY: {
		struct jv *a;

		/* a wrapped list as a map value (ExtraValue); plain lists are repeated fields */
		if (f->wire != 2 || !v->type)
			break;
		a = jv_new(c->d, JV_ARRAY);
		if (a)
			wrapped_items(c, a, v, f->data, f->len, depth);
		return a;
	}
	default:
		break;
	}
	fail(c, "field %u: wire type %u does not carry a %s", f->num, f->wire,
	     k8s_vkind_name(v->kind));
	return NULL;
}

/* A map entry {1: key, 2: value} into the object m. */
static void map_entry(struct pctx *c, struct jv *m, const struct k8s_value *v,
		      const struct pbfield *f, int depth)
{
	struct pbfield e, key = {0}, val = {0};
	bool has_key = false, has_val = false;
	struct jv *jv = NULL;
	struct pbr r;

	if (f->wire != 2) {
		fail(c, "field %u: a map entry must be length-delimited", f->num);
		return;
	}
	r.p = f->data;
	r.end = f->data + f->len;
	while (r.p < r.end && !c->failed) {
		if (next_field(&r, &e) != 0) {
			fail(c, "malformed map entry of field %u", f->num);
			return;
		}
		if (e.num == 1) {
			key = e;
			has_key = true;
		} else if (e.num == 2) {
			val = e;
			has_val = true;
		}
	}
	if (!has_key || key.wire != 2) {
		fail(c, "field %u: map entry without a string key", f->num);
		return;
	}
	if (has_val)
		jv = value(c, v->elem, &val, depth + 1);
	else if (v->elem->kind == K8S_V_STRING || v->elem->kind == K8S_V_ENUM)
		jv = jv_new_strz(c->d, "");
	else if (v->elem->kind == K8S_V_STRUCT)
		jv = jv_new(c->d, JV_OBJECT);
	else if (v->elem->kind == K8S_V_ARRAY)
		jv = jv_new(c->d, JV_ARRAY);
	if (!jv)
		jv = jv_new(c->d, JV_NULL);
	if (jv && !c->failed)
		jv_setn(c->d, m, (const char *)key.data, key.len, jv);
}

/* Integer fields that are pointers in Go, where an explicit 0 differs from "unset" (their
 * default is not 0): protobuf writes them only when set, so a 0 read for them is meant. */
static const char *const pointer_ints[] = {"replicas",
					   "revisionHistoryLimit",
					   "progressDeadlineSeconds",
					   "terminationGracePeriodSeconds",
					   "activeDeadlineSeconds",
					   "backoffLimit",
					   "backoffLimitPerIndex",
					   "maxFailedIndexes",
					   "completions",
					   "parallelism",
					   "successfulJobsHistoryLimit",
					   "failedJobsHistoryLimit",
					   "startingDeadlineSeconds",
					   "ttlSecondsAfterFinished",
					   "minReplicas",
					   "tolerationSeconds",
					   "defaultMode",
					   "mode",
					   "priority",
					   "deletionGracePeriodSeconds",
					   "partition",
					   "expirationSeconds",
					   "stabilizationWindowSeconds",
					   "selectPolicy",
					   "fsGroup",
					   "runAsUser",
					   "runAsGroup",
					   NULL};

static bool pointer_int(const char *name)
{
	for (size_t i = 0; pointer_ints[i]; i++)
		if (strcmp(pointer_ints[i], name) == 0)
			return true;
	return false;
}

/* What Go's JSON encoding of the same Go value leaves out (omitempty zero values). */
static bool zero_scalar(const struct jv *v, const char *name)
{
	if (v->type == JV_FALSE || (v->type == JV_STRING && v->len == 0))
		return true;
	return v->type == JV_NUMBER && v->len == 1 && v->s[0] == '0' && !pointer_int(name);
}

static void message(struct pctx *c, struct jv *obj, const struct k8s_type *t, const uint8_t *data,
		    size_t len, int depth)
{
	struct pbr r = {data, data + len};
	struct pbfield f;

	if (depth > K8S_MAX_DEPTH) {
		fail(c, "message nested deeper than %d levels", K8S_MAX_DEPTH);
		return;
	}
	while (r.p < r.end && !c->failed) {
		const struct k8s_field *fd;
		struct jv *v;

		if (next_field(&r, &f) != 0) {
			fail(c, "malformed message of type %s", t->go);
			return;
		}
		fd = k8s_field_find_pb(t, f.num);
		if (!fd)
			continue; /* unknown fields are skipped, as proto2 does */
		if ((fd->flags & K8S_F_INLINE) && fd->value->kind == K8S_V_STRUCT) {
			if (f.wire != 2) {
				fail(c, "field %u: an embedded struct must be length-delimited",
				     f.num);
				return;
			}
			message(c, obj, fd->value->type, f.data, f.len, depth + 1);
			continue;
		}
		/* no JSON name, or a type the schema does not describe (alpha APIs): skipped */
		if (!fd->json || !fd->json[0] || fd->value->kind == K8S_V_ANY ||
		    (fd->value->kind == K8S_V_ARRAY && fd->value->elem->kind == K8S_V_ANY))
			continue;
		if (fd->value->kind == K8S_V_MAP) {
			struct jv *m = jv_get(obj, fd->json);

			if (!m || m->type != JV_OBJECT) {
				m = jv_new(c->d, JV_OBJECT);
				jv_set(c->d, obj, fd->json, m);
			}
			map_entry(c, m, fd->value, &f, depth);
			continue;
		}
		if (fd->value->kind == K8S_V_ARRAY) {
			const struct k8s_value *ev = fd->value->elem;
			struct jv *a = jv_get(obj, fd->json);

			if (!a || a->type != JV_ARRAY) {
				a = jv_new(c->d, JV_ARRAY);
				jv_set(c->d, obj, fd->json, a);
			}
			if (fd->value->type) {
				/* a wrapped list (Verbs): one message of items */
				if (f.wire != 2) {
					fail(c, "field %u: a %s must be length-delimited", f.num,
					     fd->value->type->go);
					return;
				}
				if (a)
					wrapped_items(c, a, fd->value, f.data, f.len, depth);
				continue;
			}
			if (f.wire == 2 && (ev->kind == K8S_V_INT32 || ev->kind == K8S_V_INT64 ||
					    ev->kind == K8S_V_BOOL)) {
				/* packed varints */
				struct pbr pr = {f.data, f.data + f.len};
				struct pbfield pf = {.num = f.num, .wire = 0};

				while (pr.p < pr.end && !c->failed) {
					if (varint(&pr, &pf.v) != 0) {
						fail(c, "malformed packed field %u", f.num);
						return;
					}
					v = value(c, ev, &pf, depth);
					if (v)
						jv_push(a, v);
				}
				continue;
			}
			v = value(c, ev, &f, depth);
			if (v)
				jv_push(a, v);
			continue;
		}
		v = value(c, fd->value, &f, depth);
		if (!v || v->type == JV_NULL)
			continue;
		/* JSON and the unions are pointers in Go: a zero value of them is meant */
		if ((fd->flags & K8S_F_OMITEMPTY) && fd->value->kind != K8S_V_JSON &&
		    !k8s_vkind_is_union(fd->value->kind) && zero_scalar(v, fd->json)) {
			jv_del(obj, fd->json);
			continue;
		}
		jv_set(c->d, obj, fd->json, v);
	}
}

struct jv *api_pb_decode_message(struct jv_doc *d, const uint8_t *buf, size_t len,
				 const struct k8s_type *t, char *msg, size_t msglen)
{
	struct pctx c = {.d = d, .msg = msg, .msglen = msglen};
	struct jv *o = jv_new(d, JV_OBJECT);

	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	message(&c, o, t, buf, len, 0);
	return c.failed ? NULL : o;
}

struct jv *api_pb_decode(struct jv_doc *d, const uint8_t *buf, size_t len,
			 const struct k8s_type *type, char *msg, size_t msglen)
{
	struct pbr r = {buf, buf + len};
	struct pbfield f;
	const uint8_t *raw = NULL;
	size_t rawlen = 0;
	char av[128] = "", kind[128] = "";
	const struct k8s_kind *k;
	struct jv *o;

	if (!buf || len < 4 || memcmp(buf, "k8s\0", 4) != 0) {
		snprintf(msg, msglen, "the protobuf body does not start with the magic k8s\\0");
		return NULL;
	}
	r.p += 4;
	while (r.p < r.end) {
		if (next_field(&r, &f) != 0) {
			snprintf(msg, msglen, "malformed protobuf envelope (runtime.Unknown)");
			return NULL;
		}
		if (f.num == 1 && f.wire == 2) {
			struct pbr tr = {f.data, f.data + f.len};
			struct pbfield tf;

			while (tr.p < tr.end) {
				if (next_field(&tr, &tf) != 0 || tf.wire != 2) {
					snprintf(msg, msglen, "malformed typeMeta in the envelope");
					return NULL;
				}
				snprintf(tf.num == 1 ? av : kind, 128, "%.*s",
					 (int)(tf.len < 127 ? tf.len : 127), (const char *)tf.data);
			}
		} else if (f.num == 2 && f.wire == 2) {
			raw = f.data;
			rawlen = f.len;
		} else if (f.num == 3 && f.wire == 2 && f.len) {
			snprintf(msg, msglen, "unsupported contentEncoding %.*s",
				 (int)(f.len < 32 ? f.len : 32), (const char *)f.data);
			return NULL;
		}
	}
	k = k8s_kind_find(av, kind);
	if (!k) {
		snprintf(msg, msglen, "no kind \"%s\" is registered for version \"%s\"", kind, av);
		return NULL;
	}
	if (type && k->type != type) {
		snprintf(msg, msglen, "the body is a %s, not a %s", kind, type->go);
		return NULL;
	}
	o = api_pb_decode_message(d, raw ? raw : (const uint8_t *)"", rawlen, k->type, msg, msglen);
	if (o) {
		jv_set(d, o, "kind", jv_new_strz(d, k->kind));
		jv_set(d, o, "apiVersion", jv_new_strz(d, k->api_version));
	}
	return o;
}
