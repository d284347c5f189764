/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crs_cel: a custom resource's x-kubernetes-validations rules (CEL, control/api/cel), as
 * apiextensions-apiserver 1.32 evaluates them (pkg/apiserver/schema/cel/validation.go:
 * Validator.validate, validateExpressions, validateMap, validateArray): each rule of a
 * schema node with self bound to the node's non-null value; a transition rule (one that
 * references oldSelf) only on update and only where the old object has a correlated value
 * (object members by key, items of x-kubernetes-list-type map lists by their keys), unless
 * optionalOldSelf makes oldSelf an optional; message, messageExpression, reason and
 * fieldPath; the per-call cost limit and the request's budget (celconfig PerCallLimit,
 * RuntimeCELCostBudget) with their messages; and ratcheting (CRDValidationRatcheting, on by
 * default in 1.32): a failing rule that does not use oldSelf is a warning, not an error,
 * where the value (or its nearest correlatable ancestor) is unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_strategy.h"
#include "cel.h"
#include "k8s_buf.h"

/* celconfig.MaxEvaluatedMessageExpressionSizeBytes */
#define MAX_MESSAGE_EXPRESSION 5120

static const char *const cel_vars[] = {"self", "oldSelf"};

#define PROGRAM_CACHE 64

struct celv {
	struct api_admit *a;
	int64_t budget; /* what is left of RuntimeCELCostBudget */
	bool stop;	/* no further validation rules will be run */
	/* the rules compiled in this validation: the items of a list share their schema's */
	const struct jv *rule[PROGRAM_CACHE];
	struct cel_program *prog[PROGRAM_CACHE];
	size_t nprog;
};

/* rule r compiled (cached; NULL with err filled when it does not compile) */
static struct cel_program *compiled(struct celv *cv, const struct jv *r, const char *src, char *err,
				    size_t errlen)
{
	struct cel_program *p;

	for (size_t i = 0; i < cv->nprog; i++)
		if (cv->rule[i] == r)
			return cv->prog[i];
	p = cel_compile(src, cel_vars, 2, err, errlen);
	if (p && cv->nprog < PROGRAM_CACHE) {
		cv->rule[cv->nprog] = r;
		cv->prog[cv->nprog++] = p;
	}
	return p;
}

/* a program compiled() returned, done with: freed unless the cache holds it */
static void release(struct celv *cv, struct cel_program *p)
{
	for (size_t i = 0; i < cv->nprog; i++)
		if (cv->prog[i] == p)
			return;
	cel_program_free(p);
}

static bool is_true(const struct jv *v)
{
	return v && v->type == JV_TRUE;
}

/* strings.TrimSpace of a string member (into buf) */
static const char *trimmed(const struct jv *r, const char *key, char *buf, size_t len)
{
	const char *s = jv_path_str(r, key), *e;

	if (!s)
		return NULL;
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
		e--;
	snprintf(buf, len, "%.*s", (int)(e - s), s);
	return buf;
}

/* ruleErrorString: the message if any, else the rule */
static const char *rule_error_string(const struct jv *r, char *buf, size_t len)
{
	const char *m = trimmed(r, "message", buf, len);

	return m && m[0] ? m : trimmed(r, "rule", buf, len);
}

/* fieldPath relative to the rule's node: ".a.b" → "a.b", "['x.y']" → "[x.y]" appended to
 * path as field.Path.Child would print it */
static void rule_path(const char *path, const char *fp, char *out, size_t len)
{
	struct k8s_buf b = {0};

	k8s_buf_puts(&b, path);
	for (const char *s = fp; s && *s;) {
		if (*s == '.') {
			const char *e = s + 1;

			while (*e && *e != '.' && *e != '[')
				e++;
			if (b.len)
				k8s_buf_putc(&b, '.');
			k8s_buf_put(&b, s + 1, (size_t)(e - s - 1));
			s = e;
		} else if (s[0] == '[' && s[1] == '\'') {
			const char *e = strstr(s + 2, "']");

			if (!e)
				break;
			k8s_buf_putc(&b, '[');
			k8s_buf_put(&b, s + 2, (size_t)(e - s - 2));
			k8s_buf_putc(&b, ']');
			s = e + 2;
		} else {
			k8s_buf_puts(&b, s);
			break;
		}
	}
	snprintf(out, len, "%s", b.p ? b.p : "");
	k8s_buf_free(&b);
}

/* a field error (or, ratcheted, its text as a warning) */
static void report(struct celv *cv, bool warn, const char *field, const char *reason,
		   const char *fmt, const char *type, const char *detail)
{
	char msg[2048];

	if (!strcmp(reason, K8S_REASON_DUPLICATE))
		snprintf(msg, sizeof(msg), fmt, type);
	else if (!strcmp(reason, K8S_REASON_INVALID))
		snprintf(msg, sizeof(msg), fmt, type, detail);
	else
		snprintf(msg, sizeof(msg), fmt, detail);
	if (warn)
		k8s_errors_warn(&cv->a->errs, "%s: %s", field, msg);
	else
		api_cause(cv->a, field, reason, "%s", msg);
}

static void invalid(struct celv *cv, const char *field, const char *type, const char *detail)
{
	report(cv, false, field, K8S_REASON_INVALID, "Invalid value: \"%s\": %s", type, detail);
}

/* fieldErrorForReason */
static void rule_failed(struct celv *cv, bool warn, const char *field, const struct jv *r,
			const char *type, const char *detail)
{
	const char *reason = jv_path_str(r, "reason");

	if (reason && !strcmp(reason, "FieldValueForbidden"))
		report(cv, warn, field, "FieldValueForbidden", "Forbidden: %s", type, detail);
	else if (reason && !strcmp(reason, K8S_REASON_REQUIRED))
		report(cv, warn, field, K8S_REASON_REQUIRED, "Required value: %s", type, detail);
	else if (reason && !strcmp(reason, K8S_REASON_DUPLICATE))
		report(cv, warn, field, K8S_REASON_DUPLICATE, "Duplicate value: \"%s\"", type,
		       detail);
	else
		report(cv, warn, field, K8S_REASON_INVALID, "Invalid value: \"%s\": %s", type,
		       detail);
}

/* evalMessageExpression: the message, or false (the rule's message is used instead) */
static bool message_expression(struct celv *cv, const struct jv *r, const struct cel_binding *b,
			       char *out, size_t len)
{
	const char *src = jv_path_str(r, "messageExpression");
	struct cel_program *p;
	struct cel_result res;
	char err[512], *s, *e;
	bool ok = false;

	if (!src)
		return false;
	p = cel_compile(src, cel_vars, 2, err, sizeof(err));
	if (!p || cel_eval(p, b, 2, cv->budget < CEL_PER_CALL_LIMIT ? cv->budget : 0, &res)) {
		cel_program_free(p);
		return false;
	}
	cv->budget -= res.cost;
	if (res.type == CEL_R_STRING) {
		for (s = res.text; *s == ' ' || (*s >= '\t' && *s <= '\r'); s++)
			;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
			e--;
		*e = 0;
		ok = s[0] && !strchr(s, '\n') && (size_t)(e - s) <= MAX_MESSAGE_EXPRESSION;
		if (ok)
			snprintf(out, len, "%s", s);
	}
	cel_result_free(&res);
	cel_program_free(p);
	return ok;
}

static void run_rules(struct celv *cv, const struct jv *v, const struct jv *old, const struct jv *s,
		      const char *path, bool unchanged)
{
	const char *type = jv_path_str(s, "type"), *field = path[0] ? path : "<nil>";
	char err[1024], detail[2048], msg[1024], where[1024];

	if (!type)
		type = "";
	if (!jv_first(jv_get(s, "x-kubernetes-validations")))
		return;
	if (cv->budget <= 0) {
		invalid(cv, field, type,
			"validation failed due to running out of cost budget, no further "
			"validation rules will be run");
		cv->stop = true;
		return;
	}
	for (const struct jv *r = jv_first(jv_get(s, "x-kubernetes-validations")); r && !cv->stop;
	     r = r->next) {
		const char *src = jv_path_str(r, "rule");
		bool optional = is_true(jv_get(r, "optionalOldSelf")), uses_old;
		struct cel_binding b[2] = {
		    {.name = "self", .value = v, .schema = s},
		    {.name = "oldSelf", .value = old, .schema = s, .optional = optional}};
		struct cel_program *p;
		struct cel_result res;

		if (!src || !src[0])
			continue;
		p = compiled(cv, r, src, err, sizeof(err));
		if (!p) {
			snprintf(detail, sizeof(detail), "rule compile error: %s", err);
			invalid(cv, field, type, detail);
			continue;
		}
		uses_old = cel_program_uses(p, "oldSelf");
		if (uses_old && !old && !optional) {
			release(cv, p); /* a transition rule needs an old value */
			continue;
		}
		if (cel_eval(p, b, 2, cv->budget < CEL_PER_CALL_LIMIT ? cv->budget : 0, &res)) {
			release(cv, p);
			api_cause(cv->a, field, K8S_REASON_INVALID,
				  "Internal error: out of memory");
			cv->stop = true;
			return;
		}
		release(cv, p);
		rule_error_string(r, msg, sizeof(msg));
		if (res.cost_exceeded || res.cost > cv->budget) {
			if (res.cost > cv->budget)
				invalid(cv, field, type,
					"validation failed due to running out of cost budget, no "
					"further validation rules will be run");
			else {
				snprintf(detail, sizeof(detail),
					 "'%s': no further validation rules will be run due to "
					 "call cost exceeds limit for rule: %s",
					 CEL_COST_EXCEEDED, msg);
				invalid(cv, field, type, detail);
			}
			cel_result_free(&res);
			cv->stop = true;
			return;
		}
		cv->budget -= res.cost;
		if (res.type == CEL_R_ERROR) {
			if (!strncmp(res.text, "no such overload", 16))
				snprintf(detail, sizeof(detail),
					 "'%s': call arguments did not match a supported operator, "
					 "function or macro signature for rule: %s",
					 res.text, msg);
			else
				snprintf(detail, sizeof(detail), "%s evaluating rule: %s", res.text,
					 msg);
			invalid(cv, field, type, detail);
			cel_result_free(&res);
			continue;
		}
		if (res.type == CEL_R_BOOL && res.b) {
			cel_result_free(&res);
			continue;
		}
		cel_result_free(&res);
		rule_path(path, jv_path_str(r, "fieldPath"), where, sizeof(where));
		if (!message_expression(cv, r, b, detail, sizeof(detail))) {
			const char *m = trimmed(r, "message", detail, sizeof(detail));

			if (!m || !m[0])
				snprintf(detail, sizeof(detail), "failed rule: %s", msg);
		}
		rule_failed(cv, unchanged && !uses_old, where[0] ? where : "<nil>", r, type,
			    detail);
	}
}

/* the old item of an x-kubernetes-list-type map list with the same keys as item */
static const struct jv *map_list_old(const struct jv *s, const struct jv *item,
				     const struct jv *old_list)
{
	const struct jv *keys = jv_get(s, "x-kubernetes-list-map-keys");

	if (!jv_is_str(jv_get(s, "x-kubernetes-list-type"), "map") || !old_list ||
	    item->type != JV_OBJECT)
		return NULL;
	for (const struct jv *o = jv_first(old_list); o; o = o->next) {
		bool same = true;

		for (const struct jv *k = jv_first(keys); k && same; k = k->next) {
			const struct jv *a = jv_getn(item, k->s, k->len),
					*b = jv_getn(o, k->s, k->len);

			same = k->type == JV_STRING && ((!a && !b) || (a && b && jv_equal(a, b)));
		}
		if (same)
			return o;
	}
	return NULL;
}

static void walk(struct celv *cv, const struct jv *v, const struct jv *old, const struct jv *s,
		 struct k8s_buf *path, bool unchanged, int depth)
{
	const struct jv *props, *addl;

	if (!v || v->type == JV_NULL || !s || cv->stop || depth > 64)
		return;
	run_rules(cv, v, old, s, k8s_path_str(path), unchanged);
	if (v->type == JV_ARRAY) {
		const struct jv *items = jv_get(s, "items");
		size_t i = 0;

		for (const struct jv *it = v->head; it && items && !cv->stop; it = it->next, i++) {
			const struct jv *o = map_list_old(s, it, old);
			size_t mark = k8s_path_index(path, i);

			/* an item of another list has no old value: it ratchets with the list */
			walk(cv, it, o, items, path, o ? jv_equal(it, o) : unchanged, depth + 1);
			k8s_path_pop(path, mark);
		}
		return;
	}
	if (v->type != JV_OBJECT)
		return;
	props = jv_get(s, "properties");
	addl = jv_get(s, "additionalProperties");
	for (const struct jv *m = v->head; m && !cv->stop; m = m->next) {
		const struct jv *ms = jv_getn(props, m->key, m->klen);
		const struct jv *o = jv_getn(old, m->key, m->klen);
		size_t mark;

		if (!ms && addl && addl->type == JV_OBJECT) {
			mark = k8s_path_key(path, m->key, m->klen);
			walk(cv, m, o, addl, path, o && jv_equal(m, o), depth + 1);
		} else if (ms) {
			mark = k8s_path_field(path, m->key, m->klen);
			walk(cv, m, o, ms, path, o && jv_equal(m, o), depth + 1);
		} else {
			continue;
		}
		k8s_path_pop(path, mark);
	}
}

/* strategy.go hasBlockingErr: what schema validation found that keeps the rules from running */
static bool blocking(const struct k8s_errors *e)
{
	static const char *const reasons[] = {K8S_REASON_NOT_SUPPORTED, K8S_REASON_REQUIRED,
					      "FieldValueTooLong", "FieldValueTooMany",
					      K8S_REASON_TYPE_INVALID};

	for (size_t i = 0; i < e->n; i++)
		for (size_t k = 0; k < sizeof(reasons) / sizeof(reasons[0]); k++)
			if (e->causes[i].reason && !strcmp(e->causes[i].reason, reasons[k]))
				return true;
	return false;
}

/* hasXValidations: no validator (and no blocking message) for a schema without rules */
static bool has_rules(const struct jv *s, int depth)
{
	if (!s || s->type != JV_OBJECT || depth > 64)
		return false;
	if (jv_first(jv_get(s, "x-kubernetes-validations")))
		return true;
	if (has_rules(jv_get(s, "items"), depth + 1) ||
	    has_rules(jv_get(s, "additionalProperties"), depth + 1))
		return true;
	for (const struct jv *m = jv_first(jv_get(s, "properties")); m; m = m->next)
		if (has_rules(m, depth + 1))
			return true;
	return false;
}

void api_crs_cel_validate(struct api_admit *a, const struct jv *schema)
{
	struct celv cv = {.a = a, .budget = CEL_RUNTIME_BUDGET};
	struct k8s_buf path = {0};

	if (!has_rules(schema, 0))
		return;
	if (blocking(&a->errs)) {
		api_cause(a, "<nil>", K8S_REASON_INVALID,
			  "Invalid value: \"null\": some validation rules were not checked because "
			  "the object was invalid; correct the existing errors to complete "
			  "validation");
		return;
	}
	walk(&cv, a->obj, a->old, schema, &path, a->old && jv_equal(a->obj, a->old), 0);
	k8s_buf_free(&path);
	for (size_t i = 0; i < cv.nprog; i++)
		cel_program_free(cv.prog[i]);
}

/* Go's %q of s (what %#v prints for a string field) */
static void go_quote(struct k8s_buf *b, const char *s)
{
	k8s_buf_putc(b, '"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			k8s_buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			k8s_buf_puts(b, "\\n");
		else if (*s == '\t')
			k8s_buf_puts(b, "\\t");
		else if ((unsigned char)*s < 0x20)
			k8s_buf_printf(b, "\\x%02x", (unsigned char)*s);
		else
			k8s_buf_putc(b, *s);
	}
	k8s_buf_putc(b, '"');
}

/* The rule as field.Invalid prints it (%#v of apiextensions.ValidationRule); a set pointer
 * prints as Go's address, which no client can rely on: drover prints 0xc000000000. */
static void rule_value(struct k8s_buf *b, const struct jv *r)
{
	k8s_buf_puts(b, "apiextensions.ValidationRule{Rule:");
	go_quote(b, jv_path_str(r, "rule"));
	k8s_buf_puts(b, ", Message:");
	go_quote(b, jv_path_str(r, "message"));
	k8s_buf_puts(b, ", MessageExpression:");
	go_quote(b, jv_path_str(r, "messageExpression"));
	k8s_buf_printf(b, ", Reason:(*apiextensions.FieldValueErrorReason)(%s), FieldPath:",
		       jv_get(r, "reason") ? "0xc000000000" : "nil");
	go_quote(b, jv_path_str(r, "fieldPath"));
	k8s_buf_printf(b, ", OptionalOldSelf:(*bool)(%s)}",
		       jv_get(r, "optionalOldSelf") ? "0xc000000000" : "nil");
}

static void check_rules(struct api_admit *a, const struct jv *s, struct k8s_buf *path, int depth)
{
	const struct jv *addl = jv_get(s, "additionalProperties");
	size_t i = 0, mark;
	char err[1024], f[1024];

	if (!s || s->type != JV_OBJECT || depth > 64)
		return;
	for (const struct jv *r = jv_first(jv_get(s, "x-kubernetes-validations")); r;
	     r = r->next, i++) {
		const char *src = jv_path_str(r, "rule"), *mx = jv_path_str(r, "messageExpression");
		struct cel_program *p;
		char trim[16];

		snprintf(f, sizeof(f), "%s%sx-kubernetes-validations[%zu].rule", k8s_path_str(path),
			 path->len ? "." : "", i);
		if (!trimmed(r, "rule", trim, sizeof(trim)) || !trim[0]) {
			api_cause_required(a, f, "rule is not specified");
			continue;
		}
		p = cel_compile(src, cel_vars, 2, err, sizeof(err));
		if (p && cel_check_schema(p, s, depth == 0, err, sizeof(err)) != 0) {
			cel_program_free(p);
			p = NULL;
		}
		if (!p) {
			struct k8s_buf v = {0};

			rule_value(&v, r);
			api_cause(a, f, K8S_REASON_INVALID,
				  "Invalid value: %s: compilation failed: %s", v.p ? v.p : "", err);
			k8s_buf_free(&v);
		}
		cel_program_free(p);
		if (!mx)
			continue;
		p = cel_compile(mx, cel_vars, 2, err, sizeof(err));
		if (!p) {
			struct k8s_buf v = {0};

			rule_value(&v, r);
			snprintf(f, sizeof(f),
				 "%s%sx-kubernetes-validations[%zu].messageExpression",
				 k8s_path_str(path), path->len ? "." : "", i);
			api_cause(a, f, K8S_REASON_INVALID,
				  "Invalid value: %s: messageExpression compilation failed: %s",
				  v.p ? v.p : "", err);
			k8s_buf_free(&v);
		}
		cel_program_free(p);
	}
	for (const struct jv *m = jv_first(jv_get(s, "properties")); m; m = m->next) {
		mark = k8s_path_field(path, "properties", 10);
		k8s_path_key(path, m->key, m->klen);
		check_rules(a, m, path, depth + 1);
		k8s_path_pop(path, mark);
	}
	mark = k8s_path_field(path, "items", 5);
	check_rules(a, jv_get(s, "items"), path, depth + 1);
	k8s_path_pop(path, mark);
	mark = k8s_path_field(path, "additionalProperties", 20);
	check_rules(a, addl, path, depth + 1);
	k8s_path_pop(path, mark);
}

void api_crd_cel_check(struct api_admit *a, const struct jv *schema, const char *path)
{
	struct k8s_buf p = {0};

	k8s_buf_puts(&p, path);
	check_rules(a, schema, &p, 0);
	k8s_buf_free(&p);
}
