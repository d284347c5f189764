/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cel_eval: CEL's evaluation (cel-spec langdef.md "Evaluation"): errors as values that && and
 * || absorb when the other side decides (commutatively), the ternary's lazy branches, int and
 * uint arithmetic that errors on overflow, timestamps and durations, the comprehension
 * macros, and the cost that stops an evaluation. Lists and maps of the input
 * are read in place off the JSON tree with their schema; only what an expression builds is
 * allocated, in the evaluation's arena.
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

/* The arena may hold this much per evaluation; cost bounds what an expression builds long
 * before (about ten bytes per cost unit), this only keeps a bug from taking the process. */
#define CEL_ARENA_LIMIT (256u << 20)

/* ---- evaluation ---- */

static struct cel_val eval(struct cel_ctx *c, const struct cel_node *n);

static bool is_err(const struct cel_val *v)
{
	return v->t == CT_ERROR;
}

static struct cel_val no_overload(struct cel_ctx *c)
{
	return cel_err(c, "no such overload");
}

static struct cel_val ident(struct cel_ctx *c, const struct cel_node *n)
{
	static const char *const types[] = {"int",   "uint", "double", "bool", "string",
					    "bytes", "list", "map",    "type", "null_type"};

	for (struct cel_scope *s = c->scope; s; s = s->up)
		if (s->nlen == n->nlen && !memcmp(s->name, n->name, n->nlen))
			return s->v;
	for (size_t i = 0; i < c->nvars; i++) {
		const struct cel_binding *b = &c->vars[i];

		if (!b->name || strlen(b->name) != n->nlen || memcmp(b->name, n->name, n->nlen))
			continue;
		if (b->lazy_names)
			return (struct cel_val){.t = CT_LAZY, .lazy = b};
		if (b->optional) {
			struct cel_val o = {.t = CT_OPTIONAL};

			if (b->value) {
				struct cel_val v = cel_jv_val(c, b->value, b->schema);

				return cel_optional(c, &v);
			}
			return o;
		}
		if (!b->value)
			break;
		return cel_jv_val(c, b->value, b->schema);
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == n->nlen && !memcmp(types[i], n->name, n->nlen))
			return cel_type(types[i]);
	if (n->nlen == 3 && !memcmp(n->name, "dyn", 3))
		return cel_type("dyn");
	return cel_err(c, "no such attribute: %.*s", (int)n->nlen, n->name);
}

static struct cel_val index_val(struct cel_ctx *c, struct cel_val *a, struct cel_val *k)
{
	struct cel_val out;

	if (a->t == CT_LIST) {
		int64_t i;

		if (k->t == CT_INT)
			i = k->i;
		else if (k->t == CT_UINT && k->u <= INT64_MAX)
			i = (int64_t)k->u;
		else if (k->t == CT_DOUBLE && k->d == trunc(k->d) && fabs(k->d) < 9e18)
			i = (int64_t)k->d;
		else
			return no_overload(c);
		if (i < 0 || (uint64_t)i >= cel_size(a))
			return cel_err(c, "index out of bounds: %lld", (long long)i);
		return cel_list_at(c, a, (size_t)i);
	}
	if (a->t == CT_MAP) {
		char buf[64];
		struct cel_val ks;

		if (k->t != CT_STRING && k->t != CT_INT && k->t != CT_UINT && k->t != CT_BOOL &&
		    k->t != CT_DOUBLE)
			return no_overload(c);
		if (cel_map_get(c, a, k, false, &out))
			return out;
		if (k->t == CT_STRING)
			return cel_err(c, "no such key: %.*s",
				       (int)(k->s.len > 200 ? 200 : k->s.len), k->s.s);
		ks = cel_to_string(c, k);
		snprintf(buf, sizeof(buf), "%.*s", (int)(ks.s.len > 60 ? 60 : ks.s.len), ks.s.s);
		return cel_err(c, "no such key: %s", buf);
	}
	return no_overload(c);
}

struct cel_val cel_optional(struct cel_ctx *c, const struct cel_val *v)
{
	struct cel_val o = {.t = CT_OPTIONAL};

	if (!v)
		return o;
	o.opt = cel_alloc(&c->ar, sizeof(*o.opt));
	if (!o.opt)
		return cel_err(c, "out of memory");
	*o.opt = *v;
	return o;
}

/* variables.<name>: its expression computed in this evaluation (a variable may read
 * earlier ones; a cycle ends at the nesting bound) */
static struct cel_val lazy_member(struct cel_ctx *c, const struct cel_binding *b,
				  const struct cel_node *n, bool test)
{
	struct cel_scope *scope = c->scope;
	struct cel_val v;

	for (size_t i = 0; i < b->nlazy; i++) {
		if (strlen(b->lazy_names[i]) != n->nlen ||
		    memcmp(b->lazy_names[i], n->name, n->nlen))
			continue;
		if (test)
			return cel_bool(true);
		if (c->lazy_depth >= 16)
			return cel_err(c, "variables nested too deep: %s", b->lazy_names[i]);
		c->lazy_depth++;
		c->scope = NULL; /* the expression sees the bindings, not the loop's variables */
		v = eval(c, b->lazy_progs[i]->root);
		c->scope = scope;
		c->lazy_depth--;
		return v;
	}
	return test ? cel_bool(false) : cel_err(c, "no such key: %.*s", (int)n->nlen, n->name);
}

static struct cel_val select_val(struct cel_ctx *c, const struct cel_node *n, bool test)
{
	struct cel_val a = eval(c, n->a), out, k;

	if (is_err(&a))
		return a;
	if (a.t == CT_LAZY)
		return lazy_member(c, a.lazy, n, test);
	/* a.?b, and a selection on an optional (optional chaining): an optional */
	if ((n->op || a.t == CT_OPTIONAL) && !test) {
		if (a.t == CT_OPTIONAL && !a.opt)
			return a;
		if (a.t == CT_OPTIONAL)
			a = *a.opt;
		if (a.t != CT_MAP)
			return no_overload(c);
		k = cel_str(c, n->name, n->nlen, false);
		return cel_optional(c, cel_map_get(c, &a, &k, true, &out) ? &out : NULL);
	}
	if (a.t != CT_MAP)
		return test ? cel_err(c, "invalid type for field selection.") : no_overload(c);
	k = cel_str(c, n->name, n->nlen, false);
	if (cel_map_get(c, &a, &k, true, &out))
		return test ? cel_bool(true) : out;
	if (test)
		return cel_bool(false);
	return cel_err(c, "no such key: %.*s", (int)n->nlen, n->name);
}

static struct cel_val arith_int(struct cel_ctx *c, int op, int64_t x, int64_t y)
{
	int64_t r;

	switch (op) {
	case OP_ADD:
		if (__builtin_add_overflow(x, y, &r))
			return cel_err(c, "integer overflow");
		return cel_int(r);
	case OP_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			return cel_err(c, "integer overflow");
		return cel_int(r);
	case OP_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			return cel_err(c, "integer overflow");
		return cel_int(r);
	case OP_DIV:
		if (y == 0)
			return cel_err(c, "division by zero");
		if (x == INT64_MIN && y == -1)
			return cel_err(c, "integer overflow");
		return cel_int(x / y);
	default:
		if (y == 0)
			return cel_err(c, "modulus by zero");
		if (x == INT64_MIN && y == -1)
			return cel_err(c, "integer overflow");
		return cel_int(x % y);
	}
}

static struct cel_val arith_uint(struct cel_ctx *c, int op, uint64_t x, uint64_t y)
{
	struct cel_val v = {.t = CT_UINT};

	switch (op) {
	case OP_ADD:
		if (__builtin_add_overflow(x, y, &v.u))
			return cel_err(c, "unsigned integer overflow");
		return v;
	case OP_SUB:
		if (__builtin_sub_overflow(x, y, &v.u))
			return cel_err(c, "unsigned integer overflow");
		return v;
	case OP_MUL:
		if (__builtin_mul_overflow(x, y, &v.u))
			return cel_err(c, "unsigned integer overflow");
		return v;
	case OP_DIV:
		if (y == 0)
			return cel_err(c, "division by zero");
		v.u = x / y;
		return v;
	default:
		if (y == 0)
			return cel_err(c, "modulus by zero");
		v.u = x % y;
		return v;
	}
}

static struct cel_val concat(struct cel_ctx *c, const struct cel_val *a, const struct cel_val *b)
{
	if (a->t == CT_LIST) {
		size_t na = cel_size(a), nb = cel_size(b);
		struct cel_val l;

		if (!cel_charge(c, (int64_t)(na + nb) / 10 + 1))
			return cel_cancelled(c);
		l = cel_new_list(c, na + nb);
		if (is_err(&l))
			return l;
		for (size_t i = 0; i < na; i++)
			l.l->items[l.l->n++] = cel_list_at(c, a, i);
		for (size_t i = 0; i < nb; i++)
			l.l->items[l.l->n++] = cel_list_at(c, b, i);
		return l;
	}
	{
		struct cel_val s = {.t = a->t};
		char *p;

		if (!cel_charge(c, (int64_t)(a->s.len + b->s.len) / 10 + 1))
			return cel_cancelled(c);
		p = cel_alloc(&c->ar, a->s.len + b->s.len + 1);
		if (!p)
			return cel_err(c, "out of memory");
		memcpy(p, a->s.s, a->s.len);
		memcpy(p + a->s.len, b->s.s, b->s.len);
		s.s.s = p;
		s.s.len = a->s.len + b->s.len;
		return s;
	}
}

static struct cel_val time_arith(struct cel_ctx *c, int op, const struct cel_val *a,
				 const struct cel_val *b)
{
	struct cel_val r = {0};
	int64_t sign = op == OP_SUB ? -1 : 1, ns;

	if (op != OP_ADD && op != OP_SUB)
		return no_overload(c);
	if (b->t != CT_DURATION && !(op == OP_SUB && a->t == CT_TIMESTAMP && b->t == CT_TIMESTAMP))
		return no_overload(c);
	if (a->t == CT_DURATION && b->t == CT_DURATION)
		r.t = CT_DURATION;
	else if (a->t == CT_TIMESTAMP && b->t == CT_DURATION)
		r.t = CT_TIMESTAMP;
	else if (a->t == CT_TIMESTAMP && b->t == CT_TIMESTAMP)
		r.t = CT_DURATION;
	else
		return no_overload(c);
	if (__builtin_mul_overflow(b->tm.sec, sign, &r.tm.sec) ||
	    __builtin_add_overflow(a->tm.sec, r.tm.sec, &r.tm.sec))
		return cel_err(c, "integer overflow");
	ns = (int64_t)a->tm.nsec + sign * b->tm.nsec;
	while (ns >= 1000000000) {
		ns -= 1000000000;
		r.tm.sec++;
	}
	while (ns < 0 && (r.t == CT_TIMESTAMP || r.tm.sec > 0)) {
		ns += 1000000000;
		r.tm.sec--;
	}
	r.tm.nsec = (int32_t)ns;
	return r;
}

static struct cel_val binop(struct cel_ctx *c, int op, struct cel_val *a, struct cel_val *b)
{
	int r;

	switch (op) {
	case OP_EQ:
	case OP_NE:
		if ((a->t == CT_MAP || a->t == CT_LIST) && a->t == b->t)
			if (!cel_charge(c, (int64_t)cel_size(a) / 10))
				return cel_cancelled(c);
		return cel_bool(cel_equal(c, a, b) == (op == OP_EQ));
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		r = cel_compare(a, b);
		if (r == 2)
			return no_overload(c);
		if (r == 3)
			return cel_bool(false);
		return cel_bool(op == OP_LT   ? r < 0
				: op == OP_LE ? r <= 0
				: op == OP_GT ? r > 0
					      : r >= 0);
	case OP_IN:
		if (b->t == CT_LIST) {
			size_t n = cel_size(b);

			if (!cel_charge(c, (int64_t)n))
				return cel_cancelled(c);
			for (size_t i = 0; i < n; i++) {
				struct cel_val x = cel_list_at(c, b, i);

				if (cel_equal(c, a, &x))
					return cel_bool(true);
			}
			return cel_bool(false);
		}
		if (b->t == CT_MAP) {
			struct cel_val x;

			return cel_bool(cel_map_get(c, b, a, false, &x));
		}
		return no_overload(c);
	default:
		break;
	}
	if (a->t == CT_DURATION || a->t == CT_TIMESTAMP)
		return time_arith(c, op, a, b);
	if (a->t != b->t)
		return no_overload(c);
	switch (a->t) {
	case CT_INT:
		return arith_int(c, op, a->i, b->i);
	case CT_UINT:
		return arith_uint(c, op, a->u, b->u);
	case CT_DOUBLE: {
		struct cel_val v = {.t = CT_DOUBLE};

		if (op == OP_MOD)
			return no_overload(c);
		v.d = op == OP_ADD   ? a->d + b->d
		      : op == OP_SUB ? a->d - b->d
		      : op == OP_MUL ? a->d * b->d
				     : a->d / b->d;
		return v;
	}
	case CT_STRING:
	case CT_BYTES:
	case CT_LIST:
		if (op == OP_ADD)
			return concat(c, a, b);
		return no_overload(c);
	default:
		return no_overload(c);
	}
}

/* && and ||: either side may decide; an error or a non-bool stands only when the other
 * side does not (cel-spec "Logical Operators": commutative) */
static struct cel_val logic(struct cel_ctx *c, const struct cel_node *n, bool is_and)
{
	struct cel_val a = eval(c, n->a), b;

	if (c->cancelled)
		return cel_cancelled(c);
	if (a.t == CT_BOOL && a.b != is_and)
		return a;
	b = eval(c, n->b);
	if (c->cancelled)
		return cel_cancelled(c);
	if (b.t == CT_BOOL && b.b != is_and)
		return b;
	if (a.t == CT_BOOL && b.t == CT_BOOL)
		return a;
	if (is_err(&a))
		return a;
	if (is_err(&b))
		return b;
	return no_overload(c);
}

/* one turn of a comprehension: the body with the variable bound */
static struct cel_val bind_eval(struct cel_ctx *c, const struct cel_node *var,
				const struct cel_val *v, const struct cel_node *body)
{
	struct cel_scope s = {.name = var->name, .nlen = var->nlen, .v = *v, .up = c->scope};
	struct cel_val r;

	c->scope = &s;
	r = eval(c, body);
	c->scope = s.up;
	return r;
}

static struct cel_val macro(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_val range = eval(c, n->a), acc = {0}, err = {0}, out = {0};
	const struct cel_node *var = n->args[0], *pred = n->args[1];
	const struct jv *m = NULL;
	size_t count = 0, len;
	bool have_err = false;

	if (is_err(&range))
		return range;
	if (range.t != CT_LIST && range.t != CT_MAP)
		return no_overload(c);
	len = cel_size(&range);
	if (range.t == CT_MAP && range.jv)
		m = range.j.v->head;
	if (n->op == M_MAP || n->op == M_FILTER) {
		out = cel_new_list(c, len);
		if (is_err(&out))
			return out;
	}
	for (size_t i = 0; i < len; i++, m = m ? m->next : NULL) {
		struct cel_val x, r;

		if (!cel_charge(c, 1))
			return cel_cancelled(c);
		if (range.t == CT_LIST)
			x = cel_list_at(c, &range, i);
		else
			x = cel_map_key(&range, m, i);
		r = bind_eval(c, var, &x, pred);
		if (c->cancelled)
			return cel_cancelled(c);
		switch (n->op) {
		case M_ALL:
		case M_EXISTS:
			if (r.t == CT_BOOL) {
				if (r.b == (n->op == M_EXISTS))
					return r;
			} else if (!have_err) {
				have_err = true;
				err = is_err(&r) ? r : no_overload(c);
			}
			break;
		case M_EXISTS_ONE:
			if (r.t != CT_BOOL)
				return is_err(&r) ? r : no_overload(c);
			count += r.b;
			break;
		case M_MAP:
			if (n->nargs == 3) {
				if (r.t != CT_BOOL)
					return is_err(&r) ? r : no_overload(c);
				if (!r.b)
					break;
				r = bind_eval(c, var, &x, n->args[2]);
			}
			if (is_err(&r))
				return r;
			out.l->items[out.l->n++] = r;
			break;
		case M_FILTER:
			if (r.t != CT_BOOL)
				return is_err(&r) ? r : no_overload(c);
			if (r.b)
				out.l->items[out.l->n++] = x;
			break;
		}
	}
	switch (n->op) {
	case M_ALL:
	case M_EXISTS:
		return have_err ? err : cel_bool(n->op == M_ALL);
	case M_EXISTS_ONE:
		return cel_bool(count == 1);
	default:
		(void)acc;
		return out;
	}
}

static struct cel_val build_map(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_val v = {.t = CT_MAP};
	size_t np = n->nargs / 2;

	v.m = cel_alloc(&c->ar, sizeof(*v.m));
	if (!v.m)
		return cel_err(c, "out of memory");
	v.m->keys = cel_alloc(&c->ar, (np + 1) * sizeof(struct cel_val));
	v.m->vals = cel_alloc(&c->ar, (np + 1) * sizeof(struct cel_val));
	if (!v.m->keys || !v.m->vals)
		return cel_err(c, "out of memory");
	for (size_t i = 0; i < np; i++) {
		struct cel_val k = eval(c, n->args[2 * i]), x = eval(c, n->args[2 * i + 1]), old;

		if (is_err(&k))
			return k;
		if (is_err(&x))
			return x;
		if (k.t != CT_STRING && k.t != CT_INT && k.t != CT_UINT && k.t != CT_BOOL)
			return cel_err(c, "unsupported key type");
		if (cel_map_get(c, &v, &k, false, &old))
			return cel_err(c, "Failed with repeated key");
		v.m->keys[v.m->n] = k;
		v.m->vals[v.m->n++] = x;
	}
	return v;
}

/* both operands, strictly: false when one is an error (a first) */
static bool eval2(struct cel_ctx *c, const struct cel_node *n, struct cel_val *a, struct cel_val *b)
{
	*a = eval(c, n->a);
	if (is_err(a))
		return false;
	*b = eval(c, n->b);
	return !is_err(b);
}

static struct cel_val eval(struct cel_ctx *c, const struct cel_node *n)
{
	struct cel_val a, b;

	if (n->kind == N_LIT)
		return n->lit;
	if (!cel_charge(c, 1))
		return cel_cancelled(c);
	switch (n->kind) {
	case N_IDENT:
		return ident(c, n);
	case N_SELECT:
		return select_val(c, n, false);
	case N_HAS:
		return select_val(c, n, true);
	case N_INDEX:
		if (!eval2(c, n, &a, &b))
			return is_err(&a) ? a : b;
		if (n->op || a.t == CT_OPTIONAL) {
			/* a[?k], and an index of an optional: an optional, none when absent */
			if (a.t == CT_OPTIONAL && !a.opt)
				return a;
			if (a.t == CT_OPTIONAL)
				a = *a.opt;
			b = index_val(c, &a, &b);
			if (is_err(&b) && strncmp(b.s.s, "no such overload", 16))
				return cel_optional(c, NULL);
			return is_err(&b) ? b : cel_optional(c, &b);
		}
		return index_val(c, &a, &b);
	case N_CALL: {
		struct cel_val recv, *args;

		if (n->a) {
			recv = eval(c, n->a);
			if (is_err(&recv))
				return recv;
		}
		args = cel_alloc(&c->ar, (n->nargs + 1) * sizeof(*args));
		if (!args)
			return cel_err(c, "out of memory");
		for (size_t i = 0; i < n->nargs; i++) {
			args[i] = eval(c, n->args[i]);
			if (is_err(&args[i]))
				return args[i];
		}
		return cel_call(c, n, n->a ? &recv : NULL, args, n->nargs);
	}
	case N_LIST: {
		struct cel_val l = cel_new_list(c, n->nargs);

		if (is_err(&l))
			return l;
		for (size_t i = 0; i < n->nargs; i++) {
			a = eval(c, n->args[i]);
			if (is_err(&a))
				return a;
			l.l->items[l.l->n++] = a;
		}
		return l;
	}
	case N_MAP:
		return build_map(c, n);
	case N_COND:
		a = eval(c, n->a);
		if (is_err(&a))
			return a;
		if (a.t != CT_BOOL)
			return no_overload(c);
		return eval(c, a.b ? n->b : n->c);
	case N_AND:
	case N_OR:
		return logic(c, n, n->kind == N_AND);
	case N_NOT:
		a = eval(c, n->a);
		if (is_err(&a))
			return a;
		if (a.t != CT_BOOL)
			return no_overload(c);
		return cel_bool(!a.b);
	case N_NEG:
		a = eval(c, n->a);
		if (is_err(&a))
			return a;
		if (a.t == CT_INT) {
			if (a.i == INT64_MIN)
				return cel_err(c, "integer overflow");
			return cel_int(-a.i);
		}
		if (a.t == CT_DOUBLE) {
			a.d = -a.d;
			return a;
		}
		if (a.t == CT_DURATION) {
			a.tm.sec = -a.tm.sec;
			a.tm.nsec = -a.tm.nsec;
			return a;
		}
		return no_overload(c);
	case N_BIN:
		if (!eval2(c, n, &a, &b))
			return is_err(&a) ? a : b;
		return binop(c, n->op, &a, &b);
	case N_MACRO:
		return macro(c, n);
	default:
		return cel_err(c, "unknown expression");
	}
}

static int run(const struct cel_program *p, const struct cel_binding *vars, size_t nvars,
	       int64_t cost_limit, struct cel_result *r, bool print)
{
	struct cel_ctx c = {.vars = vars,
			    .nvars = nvars,
			    .limit = cost_limit > 0 ? cost_limit : CEL_PER_CALL_LIMIT};
	struct cel_val v;
	struct k8s_buf b = {0};

	memset(r, 0, sizeof(*r));
	c.ar.limit = CEL_ARENA_LIMIT;
	v = eval(&c, p->root);
	if (c.cancelled)
		v = cel_cancelled(&c);
	r->cost = c.cost;
	r->cost_exceeded = c.cancelled;
	if (v.t == CT_BOOL && !print) {
		r->type = CEL_R_BOOL;
		r->b = v.b;
	} else if ((v.t == CT_STRING && !print) || v.t == CT_ERROR) {
		r->type = v.t == CT_STRING ? CEL_R_STRING : CEL_R_ERROR;
		if (print && v.t == CT_ERROR)
			k8s_buf_puts(&b, "error: ");
		k8s_buf_put(&b, v.s.s, v.s.len);
	} else {
		r->type = v.t == CT_BOOL     ? CEL_R_BOOL
			  : v.t == CT_STRING ? CEL_R_STRING
					     : CEL_R_OTHER;
		r->b = v.t == CT_BOOL && v.b;
		cel_print_val(&c, &b, &v, 0);
	}
	if (r->type != CEL_R_BOOL || print) {
		r->text = k8s_buf_take(&b, &r->len);
		if (!r->text) {
			cel_arena_free(&c.ar);
			return -ENOMEM;
		}
	}
	k8s_buf_free(&b);
	cel_arena_free(&c.ar);
	return 0;
}

int cel_eval(const struct cel_program *p, const struct cel_binding *vars, size_t nvars,
	     int64_t cost_limit, struct cel_result *r)
{
	return run(p, vars, nvars, cost_limit, r, false);
}

int cel_eval_print(const struct cel_program *p, const struct cel_binding *vars, size_t nvars,
		   int64_t cost_limit, struct cel_result *r)
{
	return run(p, vars, nvars, cost_limit, r, true);
}

void cel_result_free(struct cel_result *r)
{
	if (!r)
		return;
	free(r->text);
	r->text = NULL;
}
