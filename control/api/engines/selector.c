/* SPDX-License-Identifier: Apache-2.0 */
/*
 * selector: label selectors as k8s.io/apimachinery/pkg/labels parses them (=, ==, !=, in,
 * notin, exists, !key, gt, lt; keys and values checked as label syntax) and field selectors
 * (=, ==, !=, with backslash escapes) restricted to the fields the resource supports; their
 * matching against objects; and LabelSelector objects (matchLabels/matchExpressions).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_selector.h"

/* ---- DNS-1123 names (used by validation too) ---- */

static const char DNS1123_SUBDOMAIN_MSG[] = API_DNS1123_SUBDOMAIN_MSG;
static const char DNS1123_LABEL_MSG[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

const char *api_dns1123_label_error(const char *s)
{
	if (strlen(s) > 63)
		return "must be no more than 63 characters";
	return label_ok(s, strlen(s)) ? NULL : DNS1123_LABEL_MSG;
}

size_t api_port_name_errors(const char *s, const char *msgs[5])
{
	size_t n = 0, len = strlen(s);
	bool charset = len > 0, letter = false;

	for (size_t i = 0; i < len; i++) {
		charset &=
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
		letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (len > 15)
		msgs[n++] = "must be no more than 15 characters";
	if (!charset)
		msgs[n++] =
		    "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
	if (!letter)
		msgs[n++] = "must contain at least one letter (a-z)";
	if (strstr(s, "--"))
		msgs[n++] = "must not contain consecutive hyphens";
	if (len && (s[0] == '-' || s[len - 1] == '-'))
		msgs[n++] = "must not begin or end with a hyphen";
	return n;
}

const char *api_dns1123_subdomain_error(const char *s)
{
	return api_dns1123_subdomain_error_n(s, strlen(s));
}

const char *api_dns1123_subdomain_error_n(const char *s, size_t n)
{
	size_t start = 0;

	if (n > 253)
		return "must be no more than 253 characters";
	if (n == 0)
		return DNS1123_SUBDOMAIN_MSG;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start || !lower_alnum(s[start]) || !lower_alnum(s[i - 1]))
			return DNS1123_SUBDOMAIN_MSG;
		for (size_t j = start; j < i; j++)
			if (!lower_alnum(s[j]) && s[j] != '-')
				return DNS1123_SUBDOMAIN_MSG;
		start = i + 1;
	}
	return NULL;
}

enum sel_op {
	OP_EXISTS,
	OP_NOT_EXISTS,
	OP_EQ,
	OP_NE,
	OP_IN,
	OP_NOTIN,
	OP_GT,
	OP_LT,
};

struct sel_req {
	char *key;
	enum sel_op op;
	char **values;
	size_t nvalues;
	const char *absent; /* a field selector's value of an absent field: "" or its type's zero */
};

struct api_selector {
	struct sel_req *labels, *fields;
	size_t nlabels, nfields;
};

/* ---- syntax ---- */

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool name_part_ok(const char *s, size_t len)
{
	if (len == 0 || !alnum(s[0]) || !alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

const char *api_label_key_error(const char *key, size_t len)
{
	const char *slash = memchr(key, '/', len);
	const char *name = slash ? slash + 1 : key;
	size_t nlen = slash ? len - (size_t)(name - key) : len;

	if (slash && api_dns1123_subdomain_error_n(key, (size_t)(slash - key)))
		return "prefix part " API_DNS1123_SUBDOMAIN_MSG;
	if (nlen == 0)
		return "name part must be non-empty";
	if (nlen > 63)
		return "name part must be no more than 63 characters";
	if (!name_part_ok(name, nlen))
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and "
		       "must start and end with an alphanumeric character (e.g. 'MyName',  or "
		       "'my.name',  or '123-abc', regex used for validation is "
		       "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
	return NULL;
}

const char *api_label_value_error(const char *value, size_t len)
{
	if (len > 63)
		return "must be no more than 63 characters";
	if (len && !name_part_ok(value, len))
		return "a valid label must be an empty string or consist of alphanumeric "
		       "characters, '-', '_' or '.', and must start and end with an alphanumeric "
		       "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
		       "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
	return NULL;
}

/* ---- parsing ---- */

static void reqs_free(struct sel_req *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].key);
		for (size_t j = 0; j < r[i].nvalues; j++)
			free(r[i].values[j]);
		free(r[i].values);
	}
	free(r);
}

void api_selector_free(struct api_selector *s)
{
	if (!s)
		return;
	reqs_free(s->labels, s->nlabels);
	reqs_free(s->fields, s->nfields);
	free(s);
}

struct lexer {
	const char *p;
	char *msg;
	size_t msglen;
};

static void skip_ws(struct lexer *l)
{
	while (*l->p == ' ' || *l->p == '\t')
		l->p++;
}

/* An identifier of the label selector language: up to a space or a special character. */
static char *ident(struct lexer *l)
{
	const char *b;

	skip_ws(l);
	b = l->p;
	while (*l->p && !strchr(" \t,=!()<>", *l->p))
		l->p++;
	return strndup(b, (size_t)(l->p - b));
}

static int add_value(struct sel_req *q, char *v)
{
	char **nv;

	if (!v)
		return -ENOMEM;
	nv = realloc(q->values, (q->nvalues + 1) * sizeof(*nv));
	if (!nv) {
		free(v);
		return -ENOMEM;
	}
	q->values = nv;
	q->values[q->nvalues++] = v;
	return 0;
}

static int fail(struct lexer *l, const char *fmt, const char *a, const char *b)
{
	snprintf(l->msg, l->msglen, fmt, a ? a : "", b ? b : "");
	return -EINVAL;
}

static bool is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int parse_values(struct lexer *l, struct sel_req *q)
{
	skip_ws(l);
	if (*l->p != '(')
		return fail(l, "unable to parse requirement: found '%s', expected: '('", l->p,
			    NULL);
	l->p++;
	for (;;) {
		char *v = ident(l);
		int err;

		if (!v)
			return -ENOMEM;
		err = add_value(q, v);
		if (err)
			return err;
		skip_ws(l);
		if (*l->p == ',') {
			l->p++;
			continue;
		}
		if (*l->p == ')') {
			l->p++;
			return 0;
		}
		return fail(l, "unable to parse requirement: found '%s', expected: ',' or ')'",
			    l->p, NULL);
	}
}

static int parse_label_req(struct lexer *l, struct sel_req *q)
{
	const char *why;
	int err;

	skip_ws(l);
	if (*l->p == '!') {
		l->p++;
		q->op = OP_NOT_EXISTS;
		q->key = ident(l);
		if (!q->key)
			return -ENOMEM;
	} else {
		q->key = ident(l);
		if (!q->key)
			return -ENOMEM;
		skip_ws(l);
		if (*l->p == 0 || *l->p == ',') {
			q->op = OP_EXISTS;
		} else if (l->p[0] == '=' && l->p[1] == '=') {
			q->op = OP_EQ;
			l->p += 2;
		} else if (l->p[0] == '=') {
			q->op = OP_EQ;
			l->p++;
		} else if (l->p[0] == '!' && l->p[1] == '=') {
			q->op = OP_NE;
			l->p += 2;
		} else if (l->p[0] == '>' || l->p[0] == '<') {
			q->op = l->p[0] == '>' ? OP_GT : OP_LT;
			l->p++;
		} else if (strncmp(l->p, "in", 2) == 0 && strchr(" \t(", l->p[2])) {
			q->op = OP_IN;
			l->p += 2;
		} else if (strncmp(l->p, "notin", 5) == 0 && strchr(" \t(", l->p[5])) {
			q->op = OP_NOTIN;
			l->p += 5;
		} else {
			return fail(l,
				    "unable to parse requirement: found '%s', expected: in, notin, "
				    "=, ==, !=, gt, lt",
				    l->p, NULL);
		}
		if (q->op == OP_IN || q->op == OP_NOTIN) {
			err = parse_values(l, q);
		} else if (q->op != OP_EXISTS) {
			err = add_value(q, ident(l));
		} else {
			err = 0;
		}
		if (err)
			return err;
	}
	if ((why = api_label_key_error(q->key, strlen(q->key))))
		return fail(l, "unable to parse requirement: key: Invalid value: \"%s\": %s",
			    q->key, why);
	for (size_t i = 0; i < q->nvalues; i++) {
		if ((q->op == OP_GT || q->op == OP_LT) && !is_int(q->values[i]))
			return fail(l,
				    "unable to parse requirement: for 'Gt', 'Lt' operators, the "
				    "value must be an integer: \"%s\"%s",
				    q->values[i], NULL);
		why = api_label_value_error(q->values[i], strlen(q->values[i]));
		if (why && q->op != OP_GT && q->op != OP_LT)
			return fail(l,
				    "unable to parse requirement: values[0][%s]: Invalid value: %s",
				    q->key, why);
	}
	if ((q->op == OP_IN || q->op == OP_NOTIN) && q->nvalues == 0)
		return fail(l,
			    "unable to parse requirement: for 'in', 'notin' operators, values "
			    "set can't be empty%s%s",
			    NULL, NULL);
	return 0;
}

static int push_req(struct sel_req **arr, size_t *n, struct sel_req **out)
{
	struct sel_req *na = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!na)
		return -ENOMEM;
	*arr = na;
	memset(&na[*n], 0, sizeof(na[*n]));
	*out = &na[(*n)++];
	return 0;
}

static int parse_labels(struct api_selector *s, const char *text, char *msg, size_t msglen)
{
	struct lexer l = {.p = text, .msg = msg, .msglen = msglen};

	for (;;) {
		struct sel_req *q;
		int err = push_req(&s->labels, &s->nlabels, &q);

		if (!err)
			err = parse_label_req(&l, q);
		if (err)
			return err;
		skip_ws(&l);
		if (*l.p == 0)
			return 0;
		if (*l.p != ',')
			return fail(&l, "unable to parse requirement: found '%s', expected: ','",
				    l.p, NULL);
		l.p++;
	}
}

/* One field selector term: key, operator, value with \ escapes. */
static int parse_field_term(const char *b, const char *e, struct sel_req *q, char *msg,
			    size_t msglen)
{
	const char *op = NULL;
	char *v, *w;

	for (const char *p = b; p < e; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '=' || (*p == '!' && p + 1 < e && p[1] == '=')) {
			op = p;
			break;
		}
	}
	if (!op) {
		snprintf(msg, msglen, "invalid selector: '%.*s'; can't understand '%.*s'",
			 (int)(e - b), b, (int)(e - b), b);
		return -EINVAL;
	}
	q->key = strndup(b, (size_t)(op - b));
	if (*op == '!') {
		q->op = OP_NE;
		op += 2;
	} else {
		q->op = OP_EQ;
		op += op + 1 < e && op[1] == '=' ? 2 : 1;
	}
	v = w = malloc((size_t)(e - op) + 1);
	if (!q->key || !v) {
		free(v);
		return -ENOMEM;
	}
	for (const char *p = op; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		*w++ = *p;
	}
	*w = 0;
	return add_value(q, v);
}

static bool field_supported(const struct api_resource *res, const char *key)
{
	for (size_t i = 0; res->field_selectors && res->field_selectors[i]; i++)
		if (strcmp(res->field_selectors[i], key) == 0)
			return true;
	return strcmp(key, "metadata.name") == 0 || strcmp(key, "metadata.namespace") == 0;
}

/* What a field selector reads for an absent field: kube's GetAttrs format the Go value, so an
 * absent bool is "false" and an absent integer "0" (spec.unschedulable, spec.hostNetwork,
 * status.replicas); strings and the rest "". */
static const char *absent_value(const struct api_resource *res, const char *key)
{
	const struct k8s_type *t = res->kind ? res->kind->type : NULL;

	while (t && *key) {
		const char *dot = strchr(key, '.');
		size_t len = dot ? (size_t)(dot - key) : strlen(key);
		const struct k8s_field *f = k8s_field_findn(t, key, len);

		if (!f || !f->value)
			return "";
		if (!dot) {
			if (f->value->kind == K8S_V_BOOL)
				return "false";
			return f->value->kind == K8S_V_INT32 || f->value->kind == K8S_V_INT64 ? "0"
											      : "";
		}
		t = f->value->kind == K8S_V_STRUCT ? f->value->type : NULL;
		key = dot + 1;
	}
	return "";
}

static int parse_fields(struct api_selector *s, const char *text, const struct api_resource *res,
			char *msg, size_t msglen)
{
	const char *p = text;

	while (*p) {
		const char *e = p;
		struct sel_req *q;
		int err;

		while (*e && *e != ',') {
			if (*e == '\\' && e[1])
				e++;
			e++;
		}
		err = push_req(&s->fields, &s->nfields, &q);
		if (!err)
			err = parse_field_term(p, e, q, msg, msglen);
		if (err)
			return err;
		if (!field_supported(res, q->key)) {
			snprintf(msg, msglen, "field label not supported: %s", q->key);
			return -EINVAL;
		}
		q->absent = absent_value(res, q->key);
		p = *e ? e + 1 : e;
	}
	return 0;
}

int api_selector_parse(const char *labels, const char *fields, const struct api_resource *res,
		       struct api_selector **out, char *msg, size_t msglen)
{
	struct api_selector *s;
	int err = 0;

	*out = NULL;
	if ((!labels || !labels[0]) && (!fields || !fields[0]))
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (labels && labels[0])
		err = parse_labels(s, labels, msg, msglen);
	if (!err && fields && fields[0])
		err = parse_fields(s, fields, res, msg, msglen);
	if (err) {
		api_selector_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* ---- matching ---- */

static bool in_values(const struct sel_req *q, const char *v)
{
	for (size_t i = 0; i < q->nvalues; i++)
		if (strcmp(q->values[i], v) == 0)
			return true;
	return false;
}

static bool req_match(const struct sel_req *q, const char *v)
{
	switch (q->op) {
	case OP_EXISTS:
		return v != NULL;
	case OP_NOT_EXISTS:
		return v == NULL;
	case OP_EQ:
	case OP_IN:
		return v && in_values(q, v);
	case OP_NE:
	case OP_NOTIN:
		return !v || !in_values(q, v);
	case OP_GT:
	case OP_LT:
		if (!v || !is_int(v))
			return false;
		return q->op == OP_GT ? strtoll(v, NULL, 10) > strtoll(q->values[0], NULL, 10)
				      : strtoll(v, NULL, 10) < strtoll(q->values[0], NULL, 10);
	}
	return false;
}

/* A field's value as field selectors see it: strings as is, booleans and integers in text,
 * absent as its type's zero (q->absent). Events' "source" is source.component. */
static const char *field_value(const struct jv *obj, const struct sel_req *q, char *tmp,
			       size_t size)
{
	const char *key = q->key;
	struct jv *v = jv_path(obj, strcmp(key, "source") == 0 ? "source.component" : key);

	if (!v)
		return q->absent ? q->absent : "";
	switch (v->type) {
	case JV_STRING:
		return v->s;
	case JV_NUMBER:
		snprintf(tmp, size, "%s", v->s);
		return tmp;
	case JV_TRUE:
		return "true";
	case JV_FALSE:
		return "false";
	default:
		return "";
	}
}

bool api_selector_match(const struct api_selector *s, const struct jv *obj)
{
	const struct jv *labels;
	char tmp[64];

	if (!s)
		return true;
	labels = jv_path(obj, "metadata.labels");
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct jv *v = jv_get(labels, s->labels[i].key);

		if (!req_match(&s->labels[i], v && v->type == JV_STRING ? v->s : NULL))
			return false;
	}
	for (size_t i = 0; i < s->nfields; i++)
		if (!req_match(&s->fields[i], field_value(obj, &s->fields[i], tmp, sizeof(tmp))))
			return false;
	return true;
}

const char *api_selector_field_eq(const struct api_selector *s, const char *field)
{
	for (size_t i = 0; s && i < s->nfields; i++)
		if (s->fields[i].op == OP_EQ && strcmp(s->fields[i].key, field) == 0)
			return s->fields[i].values[0];
	return NULL;
}

const char *api_selector_name(const struct api_selector *s)
{
	return api_selector_field_eq(s, "metadata.name");
}

/* ---- LabelSelector objects ---- */

static void put(char *buf, size_t size, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (*n + l >= size)
		l = *n < size - 1 ? size - 1 - *n : 0;
	memcpy(buf + *n, s, l);
	*n += l;
	buf[*n] = 0;
}

void api_label_selector_string(const struct jv *sel, char *buf, size_t size)
{
	const struct jv *ml = jv_get(sel, "matchLabels"), *me = jv_get(sel, "matchExpressions");
	size_t n = 0;

	buf[0] = 0;
	for (const struct jv *m = ml && ml->type == JV_OBJECT ? ml->head : NULL; m; m = m->next) {
		if (n)
			put(buf, size, &n, ",");
		put(buf, size, &n, m->key);
		put(buf, size, &n, "=");
		put(buf, size, &n, m->type == JV_STRING ? m->s : "");
	}
	for (const struct jv *e = me && me->type == JV_ARRAY ? me->head : NULL; e; e = e->next) {
		const char *key = jv_path_str(e, "key"), *op = jv_path_str(e, "operator");
		const struct jv *vals = jv_get(e, "values");

		if (!key || !op)
			continue;
		if (n)
			put(buf, size, &n, ",");
		if (strcmp(op, "DoesNotExist") == 0)
			put(buf, size, &n, "!");
		put(buf, size, &n, key);
		if (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0) {
			put(buf, size, &n, strcmp(op, "In") == 0 ? " in (" : " notin (");
			for (const struct jv *v = jv_first(vals); v; v = v->next) {
				if (v != vals->head)
					put(buf, size, &n, ",");
				put(buf, size, &n, v->type == JV_STRING ? v->s : "");
			}
			put(buf, size, &n, ")");
		}
	}
	if (!n)
		snprintf(buf, size, "<none>");
}

bool api_label_selector_matches(const struct jv *sel, const struct jv *labels)
{
	const struct jv *ml = jv_get(sel, "matchLabels"), *me = jv_get(sel, "matchExpressions");

	for (const struct jv *m = ml && ml->type == JV_OBJECT ? ml->head : NULL; m; m = m->next) {
		const struct jv *v = jv_getn(labels, m->key, m->klen);

		if (!v || !jv_equal(v, m))
			return false;
	}
	for (const struct jv *e = me && me->type == JV_ARRAY ? me->head : NULL; e; e = e->next) {
		const char *key = jv_path_str(e, "key"), *op = jv_path_str(e, "operator");
		const struct jv *vals = jv_get(e, "values"), *v;
		bool found = false;

		if (!key || !op)
			return false;
		v = jv_get(labels, key);
		for (const struct jv *x = jv_first(vals); v && x; x = x->next)
			found |= jv_equal(x, v);
		if ((strcmp(op, "In") == 0 && !found) || (strcmp(op, "NotIn") == 0 && found) ||
		    (strcmp(op, "Exists") == 0 && !v) || (strcmp(op, "DoesNotExist") == 0 && v))
			return false;
	}
	return true;
}
