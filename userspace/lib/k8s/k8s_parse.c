/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s_parse: streams of Kubernetes manifests (YAML documents or concatenated JSON values) into
 * validated objects. Bounds input size and nesting, refuses alias bombs, expands List
 * documents into their items, and reports a malformed input as one error with its line and
 * column. A struct k8s_obj owns its fy_document; the parse owns its parser and diagnostics
 * until it returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_internal.h"

struct k8s_obj {
	struct fy_document *doc;
	const struct k8s_kind *kind;
	const struct k8s_type *type;
};

struct pctx {
	const struct k8s_parse_opts *opts;
	struct k8s_errors *errs;
	int (*cb)(struct k8s_obj *obj, void *ud);
	void *ud;
	bool expand;	      /* expand List documents */
	bool json;	      /* the input is JSON */
	bool identified;      /* errs names the object of the current document's failure */
	bool syntax;	      /* the failure is the input's syntax */
	struct fy_diag *diag; /* of the parser at work */
	size_t delivered;     /* objects handed to cb */
	int line0;	      /* where the current JSON value starts, for messages */
	int column0;
	const char *input; /* the text the parser at work reads (marks are offsets into it),
			    * when it has scalars to requote; else NULL */
	size_t input_len;
};

/* Extra YAML aliases may expand a document by at most this many nodes (or its own size). */
#define ALIAS_EXPANSION_MIN 10000

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static void pos_of(const char *buf, size_t off, int *line, int *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*column = 1;
		} else {
			(*column)++;
		}
	}
}

static int fail(struct pctx *p, const char *field, const char *reason, int line, int column,
		const char *msg)
{
	if (k8s_errors_add(p->errs, field, reason, line, column, "%s", msg) != 0)
		return -ENOMEM;
	return -EINVAL;
}

/* ---- objects ---- */

void k8s_obj_free(struct k8s_obj *o)
{
	if (!o)
		return;
	fy_document_destroy(o->doc);
	free(o);
}

const struct k8s_kind *k8s_obj_kind(const struct k8s_obj *o)
{
	return o ? o->kind : NULL;
}

const struct k8s_type *k8s_obj_type(const struct k8s_obj *o)
{
	return o ? o->type : NULL;
}

struct fy_node *k8s_obj_root(const struct k8s_obj *o)
{
	return o ? fy_document_root(o->doc) : NULL;
}

struct fy_document *k8s_obj_doc(const struct k8s_obj *o)
{
	return o ? o->doc : NULL;
}

const char *k8s_obj_name(const struct k8s_obj *o)
{
	const char *s = NULL;

	return k8s_get_str(k8s_obj_root(o), "metadata.name", &s) == 0 ? s : NULL;
}

const char *k8s_obj_namespace(const struct k8s_obj *o)
{
	const char *s = NULL;

	return k8s_get_str(k8s_obj_root(o), "metadata.namespace", &s) == 0 ? s : NULL;
}

char *k8s_obj_to_json(const struct k8s_obj *o)
{
	return k8s_obj_to_json_ex(o, 0);
}

char *k8s_obj_to_json_ex(const struct k8s_obj *o, unsigned flags)
{
	if (!o) {
		errno = EINVAL;
		return NULL;
	}
	return k8s_node_to_json_ex(k8s_obj_root(o), o->type, flags);
}

/* The first error libfyaml collected, as a cause: "yaml: line 3, column 5: <what>". */
static int syntax_error(struct pctx *p, struct fy_diag *diag)
{
	struct fy_diag_error *e;
	void *it = NULL;
	int line = 0, col = 0;
	const char *msg = "malformed input";

	while (diag && (e = fy_diag_errors_iterate(diag, &it))) {
		if (e->type < FYET_ERROR)
			continue;
		line = e->line;
		col = e->column;
		msg = e->msg ? e->msg : msg;
		break;
	}
	p->syntax = true;
	if (line > 0) {
		col += line == 1 ? p->column0 - 1 : 0;
		line += p->line0 - 1;
	}
	if (k8s_errors_add(p->errs, "", K8S_REASON_INVALID, line, col, "%s: line %d, column %d: %s",
			   p->json ? "json" : "yaml", line, col, msg))
		return -ENOMEM;
	return -EINVAL;
}

/* ---- aliases ---- */

struct budget {
	size_t nodes, limit;
	bool aliases, over, dangling;
};

/* Count the nodes of the document as aliases would expand it, stopping past the limit or
 * past K8S_MAX_DEPTH (which also ends recursive aliases). */
static void count_nodes(struct fy_node *n, struct budget *b, int depth, bool follow)
{
	if (b->over || !n)
		return;
	if (depth > K8S_MAX_DEPTH || ++b->nodes > b->limit) {
		b->over = true;
		return;
	}
	if (fy_node_is_alias(n)) {
		b->aliases = true;
		if (follow) {
			struct fy_node *t = fy_node_resolve_alias(n);

			if (!t)
				b->dangling = true;
			count_nodes(t, b, depth + 1, follow);
		}
	} else if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		void *it = NULL;

		while ((item = fy_node_sequence_iterate(n, &it)))
			count_nodes(item, b, depth + 1, follow);
	} else if (fy_node_is_mapping(n)) {
		struct fy_node_pair *np;
		void *it = NULL;

		while ((np = fy_node_mapping_iterate(n, &it))) {
			struct fy_node *k = fy_node_pair_key(np);
			const char *text;
			size_t len = 0;

			/* a merge key needs resolving even without an alias: `<<: {a: 1}` */
			if (k && fy_node_is_scalar(k) && fy_node_get_style(k) == FYNS_PLAIN &&
			    (text = fy_node_get_scalar(k, &len)) && len == 2 && text[0] == '<' &&
			    text[1] == '<')
				b->aliases = true;
			count_nodes(k, b, depth + 1, follow);
			count_nodes(fy_node_pair_value(np), b, depth + 1, follow);
		}
	}
}

/* Resolve aliases and merge keys (`<<`), unless they would blow the document up. */
static int resolve_aliases(struct pctx *p, struct fy_document *doc)
{
	struct budget b = {.limit = SIZE_MAX};
	struct fy_node *root = fy_document_root(doc);
	int line, col;

	count_nodes(root, &b, 0, false);
	if (!b.aliases)
		return 0;
	b.limit = b.nodes + (b.nodes > ALIAS_EXPANSION_MIN ? b.nodes : ALIAS_EXPANSION_MIN);
	b.nodes = 0;
	count_nodes(root, &b, 0, true);
	k8s_node_pos(root, &line, &col);
	if (b.dangling)
		return fail(p, "", K8S_REASON_INVALID, line, col,
			    "yaml: unknown anchor referenced");
	if (b.over)
		return fail(p, "", K8S_REASON_INVALID, line, col,
			    "yaml: document contains excessive aliasing (or nests too deep)");
	/* libfyaml says why (e.g. a merge key whose value is no alias: go-yaml takes an inline
	 * mapping there, libfyaml 0.7.12 does not) */
	if (fy_document_resolve(doc) != 0)
		return syntax_error(p, p->diag);
	return 0;
}

/* ---- single-quoted scalars ---- */

/*
 * libfyaml 0.7.12 (Debian 12) formats a single-quoted scalar with two or more consecutive
 * quote escapes wrongly ('x''''y' reads as x''' where YAML says x''y) and, from five on,
 * leaks its chunk buffer at every read. Such scalars are read here from the input by YAML
 * 1.2's rules (7.3.2: two quotes are one; lines fold: the whitespace around a line break is
 * dropped, a single break becomes a space and each further empty line a line feed) and put
 * back as the equivalent double-quoted scalar, which libfyaml reads right.
 */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..n) is the text between the quotes; out has room for n bytes. */
static size_t sq_unescape(const char *s, size_t n, char *out)
{
	size_t o = 0, i = 0, empty = 0;

	for (bool first = true;; first = false) {
		size_t start = i, end;
		bool last;

		while (i < n && s[i] != '\n' && s[i] != '\r')
			i++;
		end = i;
		last = i >= n;
		if (!last)
			i += s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
		if (!first)
			while (start < end && is_ws(s[start]))
				start++;
		if (!last)
			while (end > start && is_ws(s[end - 1]))
				end--;
		if (!first) {
			if (start == end && !last) {
				empty++;
				continue;
			}
			if (!empty)
				out[o++] = ' ';
			for (; empty; empty--)
				out[o++] = '\n';
		}
		for (size_t k = start; k < end; k++) {
			out[o++] = s[k];
			if (s[k] == '\'' && k + 1 < end && s[k + 1] == '\'')
				k++;
		}
		if (last)
			return o;
	}
}

/* The double-quoted YAML form of t[0..n). */
static char *dq_quote(const char *t, size_t n, size_t *lenp)
{
	char *q = malloc(n * 4 + 3), *o = q;

	if (!q)
		return NULL;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			o += sprintf(o, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	*lenp = (size_t)(o - q);
	return q;
}

/* A replacement for scalar n if libfyaml would misread it, else NULL (or on no memory). */
static struct fy_node *requote(struct pctx *p, struct fy_document *doc, struct fy_node *n)
{
	struct fy_token *t;
	const struct fy_mark *a, *b;
	struct fy_node *r;
	char *text, *q;
	size_t len, qlen;

	if (!p->input || !fy_node_is_scalar(n) || fy_node_is_alias(n) ||
	    fy_node_get_style(n) != FYNS_SINGLE_QUOTED || !(t = fy_node_get_scalar_token(n)) ||
	    !(a = fy_token_start_mark(t)) || !(b = fy_token_end_mark(t)) ||
	    b->input_pos < a->input_pos || b->input_pos > p->input_len ||
	    !memmem(p->input + a->input_pos, b->input_pos - a->input_pos, "''''", 4))
		return NULL;
	text = malloc(b->input_pos - a->input_pos + 1);
	if (!text)
		return NULL;
	len = sq_unescape(p->input + a->input_pos, b->input_pos - a->input_pos, text);
	q = dq_quote(text, len, &qlen);
	free(text);
	if (!q)
		return NULL;
	r = fy_node_build_from_malloc_string(doc, q, qlen);
	if (!r)
		free(q);
	return r;
}

/* Replace every scalar under n that libfyaml would misread (keys and values). */
static void requote_tree(struct pctx *p, struct fy_document *doc, struct fy_node *n, int depth)
{
	void *it = NULL;

	if (!p->input || !n || depth > K8S_MAX_DEPTH)
		return;
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;

		while ((item = fy_node_sequence_iterate(n, &it))) {
			struct fy_node *r = requote(p, doc, item);

			if (r && fy_node_sequence_insert_after(n, item, r) == 0) {
				fy_node_free(fy_node_sequence_remove(n, item));
				item = r;
				it = r; /* the iterator goes on from the replacement */
			} else if (r) {
				fy_node_free(r);
			}
			requote_tree(p, doc, item, depth + 1);
		}
	} else if (fy_node_is_mapping(n)) {
		struct fy_node_pair *np;

		while ((np = fy_node_mapping_iterate(n, &it))) {
			struct fy_node *k = requote(p, doc, fy_node_pair_key(np));
			struct fy_node *v = requote(p, doc, fy_node_pair_value(np));

			if (k && fy_node_pair_set_key(np, k) != 0)
				fy_node_free(k);
			if (v && fy_node_pair_set_value(np, v) != 0)
				fy_node_free(v);
			requote_tree(p, doc, fy_node_pair_key(np), depth + 1);
			requote_tree(p, doc, fy_node_pair_value(np), depth + 1);
		}
	}
}

/* A document that is one scalar: read before anything else looks at the document. */
static void requote_root(struct pctx *p, struct fy_document *doc)
{
	struct fy_node *root = fy_document_root(doc), *r = root ? requote(p, doc, root) : NULL;

	if (r && fy_document_set_root(doc, r) != 0)
		fy_node_free(r);
}

/* ---- one object ---- */

/* Record which object a failure is about (the innermost one: a list's failing item). */
static int note_identity(struct pctx *p, struct fy_node *n, int err)
{
	const char *kind = NULL, *ns = NULL, *name = NULL;

	if (!err || !p->errs || p->identified)
		return err;
	p->identified = true;
	k8s_get_str(n, "kind", &kind);
	k8s_get_str(n, "metadata.namespace", &ns);
	k8s_get_str(n, "metadata.name", &name);
	free(p->errs->kind);
	free(p->errs->namespace);
	free(p->errs->name);
	p->errs->kind = kind ? strdup(kind) : NULL;
	p->errs->namespace = ns ? strdup(ns) : NULL;
	p->errs->name = name ? strdup(name) : NULL;
	return err;
}

static char *join_path(const char *prefix, const char *field)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s%s", prefix, prefix[0] && field[0] ? "." : "", field) < 0)
		return NULL;
	return s;
}

static int fail_at(struct pctx *p, struct fy_node *n, const char *prefix, const char *field,
		   const char *reason, const char *msg)
{
	char *path = join_path(prefix, field);
	int line, col, err;

	if (!path)
		return -ENOMEM;
	k8s_node_pos(n, &line, &col);
	err = fail(p, path, reason, line, col, msg);
	free(path);
	return err;
}

/* apiVersion or kind as a string: 0, -ENOENT (absent/null), -EINVAL (reported). */
static int type_meta(struct pctx *p, struct fy_node *n, const char *prefix, const char *field,
		     const char **out)
{
	int err = k8s_get_str(n, field, out);

	if (err == -EINVAL)
		return fail_at(p, k8s_get(n, field), prefix, field, K8S_REASON_TYPE_INVALID,
			       "Invalid value: must be of type string");
	return err;
}

/* Which kind n is: from its apiVersion/kind, else from what is expected of it. */
static int find_kind(struct pctx *p, struct fy_node *n, const char *prefix,
		     const struct k8s_type *want, const struct k8s_kind *want_kind,
		     const struct k8s_kind **kind)
{
	const char *av = NULL, *k = NULL;
	char msg[512];
	int e1 = type_meta(p, n, prefix, "apiVersion", &av);
	int e2 = type_meta(p, n, prefix, "kind", &k);

	*kind = NULL;
	if ((e1 && e1 != -ENOENT) || (e2 && e2 != -ENOENT))
		return -EINVAL;
	if (!av || !k) {
		/* an expected type stands in for absent apiVersion and kind; the one of them
		 * that is present must agree with it (else the object would say one kind and be
		 * checked as another) */
		const struct k8s_kind *exp = want_kind ? want_kind : k8s_kind_of_type(want);
		const struct k8s_kind *found =
		    exp && (k || av) ? k8s_kind_find(av ? av : exp->api_version, k ? k : exp->kind)
				     : exp;
		int err = 0;

		if (exp && (!found || (want_kind ? found != want_kind : found->type != want))) {
			snprintf(msg, sizeof(msg), "Invalid value: \"%s\": must be %s %s%s",
				 k ? k : av, exp->api_version, exp->kind,
				 want_kind ? " (the kind of the list's items)" : "");
			return fail_at(p, k8s_get(n, k ? "kind" : "apiVersion"), prefix,
				       k ? "kind" : "apiVersion", K8S_REASON_INVALID, msg);
		}
		if (want_kind || want) {
			*kind = found;
			return 0;
		}
		if (!av)
			err = fail_at(p, n, prefix, "apiVersion", K8S_REASON_REQUIRED,
				      "Required value");
		if (!k)
			err = fail_at(p, n, prefix, "kind", K8S_REASON_REQUIRED, "Required value");
		return err;
	}
	*kind = k8s_kind_find(av, k);
	if (!*kind) {
		snprintf(msg, sizeof(msg), "no matches for kind \"%s\" in version \"%s\"", k, av);
		return fail_at(p, k8s_get(n, "kind"), prefix, "kind", K8S_REASON_NOT_SUPPORTED,
			       msg);
	}
	if (want_kind && *kind != want_kind) {
		snprintf(msg, sizeof(msg),
			 "Invalid value: \"%s\": must be %s %s (the kind of the "
			 "list's items)",
			 k, want_kind->api_version, want_kind->kind);
		return fail_at(p, k8s_get(n, "kind"), prefix, "kind", K8S_REASON_INVALID, msg);
	}
	if (want && (*kind)->type != want) {
		snprintf(msg, sizeof(msg), "Invalid value: \"%s\": must be a kind of type %s", k,
			 want->name);
		return fail_at(p, k8s_get(n, "kind"), prefix, "kind", K8S_REASON_INVALID, msg);
	}
	return 0;
}

/* A double-quoted scalar node (the text is a kind or apiVersion: no quotes to escape). */
static struct fy_node *build_string(struct fy_document *doc, const char *text)
{
	struct fy_node *n;
	char *s = NULL;
	int len = asprintf(&s, "\"%s\"", text);

	if (len < 0)
		return NULL;
	/* libfyaml keeps the text it builds from: hand it a malloc'd copy to own */
	n = fy_node_build_from_malloc_string(doc, s, (size_t)len);
	if (!n)
		free(s);
	return n;
}

/* A new document holding a copy of n, with apiVersion and kind set if it lacks them. */
static struct fy_document *copy_object(struct pctx *p, struct fy_node *n,
				       const struct k8s_kind *kind)
{
	struct fy_parse_cfg cfg = {
	    .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS |
		     (p->json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE),
	};
	struct fy_document *doc = fy_document_create(&cfg);
	struct fy_node *root = doc ? fy_node_copy(doc, n) : NULL;
	static const char *const fields[] = {"kind", "apiVersion"};

	if (!root || fy_document_set_root(doc, root) != 0)
		goto fail;
	for (size_t i = 0; kind && i < 2; i++) {
		const char *v = i == 0 ? kind->kind : kind->api_version;
		struct fy_node *kn, *vn;

		if (k8s_get(root, fields[i]))
			continue;
		/* double-quoted, so that they are strings in JSON documents too */
		kn = build_string(doc, fields[i]);
		vn = build_string(doc, v);
		if (!kn || !vn || fy_node_mapping_prepend(root, kn, vn) != 0) {
			fy_node_free(kn);
			fy_node_free(vn);
			goto fail;
		}
	}
	return doc;
fail:
	fy_document_destroy(doc);
	return NULL;
}

static int deliver(struct pctx *p, struct fy_document **docp, struct fy_node *n,
		   const struct k8s_kind *kind, const struct k8s_type *type, bool add_type_meta)
{
	struct k8s_obj *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	if (*docp) {
		o->doc = *docp; /* the object takes the parsed document */
		*docp = NULL;
	} else {
		o->doc = copy_object(p, n, add_type_meta ? kind : NULL);
		if (!o->doc) {
			free(o);
			return -ENOMEM;
		}
	}
	o->kind = kind;
	o->type = type;
	p->delivered++;
	return p->cb(o, p->ud);
}

/* Validate n (the root of *docp, or an item of a list when *docp is NULL) and hand it, or the
 * items of a List, to the callback. */
static int handle_object(struct pctx *p, struct fy_document **docp, struct fy_node *n,
			 const char *prefix, const struct k8s_kind *want_kind, int depth)
{
	const struct k8s_type *want = depth == 0 ? p->opts->type : NULL;
	struct k8s_validate_opts vo = {
	    .validation = p->opts->validation, .checks = p->opts->checks, .path = prefix};
	const struct k8s_kind *kind = NULL;
	const struct k8s_type *type;
	struct fy_node *items, *item;
	void *it = NULL;
	bool is_list;
	int err;

	n = k8s_deref(n);
	if (!n || !fy_node_is_mapping(n))
		return fail_at(p, n, prefix, "", K8S_REASON_TYPE_INVALID,
			       "Invalid value: a Kubernetes object must be a mapping "
			       "(with apiVersion and kind)");
	if (depth == 0 && !want && p->opts->untyped)
		return deliver(p, docp, n, NULL, NULL, false);
	err = find_kind(p, n, prefix, want, want_kind, &kind);
	if (err)
		return note_identity(p, n, err);
	type = kind ? kind->type : want;
	is_list = kind && (kind->flags & K8S_KIND_LIST) && p->expand && depth < 4;
	/* a list's items are validated one by one below, as the objects they are */
	err = k8s_validate_node(n, type, &vo, is_list ? "items" : NULL, p->errs);
	if (err)
		return note_identity(p, n, err);
	if (!is_list)
		return deliver(p, docp, n, kind, type, want_kind != NULL);
	items = k8s_get(n, "items");
	if (!items || !fy_node_is_sequence(items))
		return 0; /* null items: an empty list */
	for (size_t i = 0; (item = fy_node_sequence_iterate(items, &it)); i++) {
		struct fy_document *none = NULL;
		char *ip = NULL;

		if (asprintf(&ip, "%s%sitems[%zu]", prefix, prefix[0] ? "." : "", i) < 0)
			return -ENOMEM;
		err = handle_object(p, &none, item, ip, kind->item_kind, depth + 1);
		free(ip);
		if (err)
			return err;
	}
	return 0;
}

/* One parsed document: skip it if empty, resolve its aliases, handle its object. */
static int handle_doc(struct pctx *p, struct fy_document *doc)
{
	struct fy_node *root;
	struct k8s_scalar s;
	int err;

	requote_root(p, doc);
	root = fy_document_root(doc);
	if (!root || (fy_node_is_scalar(root) && k8s_scalar_resolve(root, &s) == 0 &&
		      s.type == K8S_SCALAR_NULL)) {
		fy_document_destroy(doc);
		return 0;
	}
	p->identified = false;
	err = resolve_aliases(p, doc);
	if (!err) /* after aliases are expanded: no anchor points at a replaced node */
		requote_tree(p, doc, fy_document_root(doc), 0);
	if (!err)
		err = handle_object(p, &doc, fy_document_root(doc), "", NULL, 0);
	if (doc) /* NULL when an object took it */
		fy_document_destroy(doc);
	return err;
}

/* ---- streams ---- */

/* A parser and its diagnostics, made with these flags, kept between parses. */
struct k8s_parse_cache {
	struct fy_diag *diag;
	struct fy_parser *fyp;
	unsigned flags;
};

struct k8s_parse_cache *k8s_parse_cache_new(void)
{
	return calloc(1, sizeof(struct k8s_parse_cache));
}

static void cache_drop(struct k8s_parse_cache *pc)
{
	fy_parser_destroy(pc->fyp);
	fy_diag_destroy(pc->diag);
	pc->fyp = NULL;
	pc->diag = NULL;
}

void k8s_parse_cache_free(struct k8s_parse_cache *pc)
{
	if (!pc)
		return;
	cache_drop(pc);
	free(pc);
}

/* The cache's parser, reset, when it was made with these flags; NULL otherwise. */
static struct fy_parser *cache_take(struct k8s_parse_cache *pc, unsigned flags,
				    struct fy_diag **diag)
{
	if (!pc || !pc->fyp || pc->flags != flags)
		return NULL;
	if (fy_parser_reset(pc->fyp) != 0) {
		cache_drop(pc);
		return NULL;
	}
	*diag = pc->diag;
	return pc->fyp;
}

/* After a parse with fyp: keep it for the next one (when the parse went through and its
 * diagnostics hold nothing: they cannot be emptied) or let it go. */
static void cache_put(struct k8s_parse_cache *pc, struct fy_parser *fyp, struct fy_diag *diag,
		      unsigned flags, bool ok)
{
	void *it = NULL;
	bool cached = pc && pc->fyp && pc->fyp == fyp;

	ok = ok && fyp && !fy_diag_errors_iterate(diag, &it);
	if (cached) {
		if (!ok)
			cache_drop(pc);
		return;
	}
	if (ok && pc && !pc->fyp) {
		pc->fyp = fyp;
		pc->diag = diag;
		pc->flags = flags;
		return;
	}
	if (fyp)
		fy_parser_destroy(fyp);
	if (diag)
		fy_diag_destroy(diag);
}

/* Parse buf[0..len) (copied: documents outlive the caller's buffer) document by document. */
static int parse_docs(struct pctx *p, const char *buf, size_t len)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag = NULL;
	struct fy_parse_cfg cfg = {0};
	struct fy_parser *fyp;
	struct fy_document *doc;
	char *copy;
	int err = 0;

	cfg.flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_DEFAULT_VERSION_1_1 |
		    (p->json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE);
	fyp = cache_take(p->opts->cache, cfg.flags, &diag);
	if (!fyp) {
		fy_diag_cfg_default(&dcfg);
		dcfg.fp = NULL;
		dcfg.output_fn = NULL;
		diag = fy_diag_create(&dcfg);
		if (!diag)
			return -ENOMEM;
		fy_diag_set_collect_errors(diag, true);
		cfg.diag = diag;
		fyp = fy_parser_create(&cfg);
	}
	copy = fyp ? malloc(len + 1) : NULL;
	if (!copy) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = 0;
	if (fy_parser_set_malloc_string(fyp, copy, len) != 0) {
		free(copy);
		err = -ENOMEM;
		goto out;
	}
	p->diag = diag;
	/* only an input with two escaped quotes in a row needs the requoting walk */
	p->input = memmem(copy, len, "''''", 4) ? copy : NULL;
	p->input_len = len;
	while (!err && (doc = fy_parse_load_document(fyp)))
		err = handle_doc(p, doc);
	if (!err && fy_parser_get_stream_error(fyp))
		err = syntax_error(p, diag);
out:
	p->input = NULL;
	cache_put(p->opts->cache, fyp, diag, cfg.flags, !err);
	return err;
}

/* End of the JSON value starting at s[i] ('{' or '['): brackets outside strings balance. */
static size_t json_value_end(const char *s, size_t len, size_t i)
{
	size_t depth = 0;
	bool in_str = false;

	for (; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return len; /* unterminated: libfyaml reports where */
}

/* Concatenated JSON values, as Kubernetes' YAMLOrJSONDecoder reads a JSON stream. */
static int parse_json_stream(struct pctx *p, const char *buf, size_t len)
{
	const char *end = buf + len;
	const char *q = skip_space(buf, end);
	int err = 0;

	while (!err && q < end) {
		size_t start = (size_t)(q - buf), stop;

		if (*q != '{' && *q != '[') {
			static const char what[] = "invalid character after top-level value";
			int line, col;
			char msg[128];

			pos_of(buf, start, &line, &col);
			p->syntax = true;
			snprintf(msg, sizeof(msg), "json: line %d, column %d: %s", line, col, what);
			return fail(p, "", K8S_REASON_INVALID, line, col, msg);
		}
		stop = json_value_end(buf, len, start);
		pos_of(buf, start, &p->line0, &p->column0);
		err = parse_docs(p, q, stop - start);
		q = skip_space(buf + stop, end);
	}
	return err;
}

/* What go-yaml's reader refuses before parsing: control characters (all but tab, LF and CR,
 * also DEL and the C1 range but NEL) and, in YAML, malformed UTF-8. JSON allows no control
 * character either; its malformed UTF-8 Go replaces with U+FFFD, and so does k8s_json.c. */
static int check_chars(struct pctx *p, const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	const char *what = NULL;
	char msg[128];
	int line, col;
	size_t i;

	for (i = 0; i < len && !what; i++) {
		unsigned c = s[i], cp;
		size_t n;

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			what = "control characters are not allowed";
		else if (c == 0x7f && !p->json)
			what = "control characters are not allowed";
		else if (c >= 0x80 && !p->json) {
			n = k8s_utf8_decode(s + i, len - i, &cp);
			if (!n)
				what = "invalid UTF-8";
			else if ((cp >= 0x80 && cp < 0xa0 && cp != 0x85) || cp == 0xfffe ||
				 cp == 0xffff)
				what = "control characters are not allowed";
			else
				i += n - 1;
		}
	}
	if (!what)
		return 0;
	pos_of(buf, i - 1, &line, &col);
	snprintf(msg, sizeof(msg), "%s: line %d, column %d: %s", p->json ? "json" : "yaml", line,
		 col, what);
	return fail(p, "", K8S_REASON_INVALID, line, col, msg);
}

/* Input that starts like JSON but is not JSON may be YAML in flow style
 * (`{apiVersion: v1, kind: Pod}`): if it parses as YAML, that stands; else the JSON error. */
static int retry_as_yaml(struct pctx *p, const char *buf, size_t len, int json_err)
{
	struct k8s_errors yerrs = {0};
	struct pctx y = *p;
	int err;

	y.json = false;
	y.syntax = false;
	y.identified = false;
	y.errs = p->errs ? &yerrs : NULL;
	y.line0 = y.column0 = 1;
	/* YAML's character rules first: libfyaml 0.7.12 loops forever on malformed UTF-8 in a
	 * directive line */
	err = check_chars(&y, buf, len);
	if (!err)
		err = parse_docs(&y, buf, len);
	else
		y.syntax = true;
	if (err == -EINVAL && y.syntax) {
		k8s_errors_free(&yerrs);
		return json_err;
	}
	p->delivered = y.delivered;
	/* the JSON syntax error was the last cause added: YAML's outcome replaces it */
	if (p->errs && k8s_errors_splice(p->errs, p->errs->n ? p->errs->n - 1 : 0, p->errs->nwarn,
					 &yerrs) != 0)
		err = -ENOMEM;
	k8s_errors_free(&yerrs);
	return err;
}

static int parse_input(struct pctx *p, const char *buf, size_t len)
{
	size_t max = p->opts->max_bytes ? p->opts->max_bytes : K8S_DEFAULT_MAX_BYTES;
	const char *end, *q;
	char msg[128];
	int err;

	if (!buf)
		return len ? -EINVAL : 0;
	end = buf + len;
	if (len > max) {
		snprintf(msg, sizeof(msg), "input is %zu bytes, more than the limit of %zu", len,
			 max);
		return fail(p, "", K8S_REASON_INVALID, 0, 0, msg) == -ENOMEM ? -ENOMEM : -EFBIG;
	}
	q = buf;
	if (len >= 3 && memcmp(q, "\xef\xbb\xbf", 3) == 0)
		q += 3;
	q = skip_space(q, end);
	p->line0 = p->column0 = 1;
	p->json = q < end && (*q == '{' || *q == '[');
	err = check_chars(p, buf, len);
	if (err)
		return err;
	if (!p->json)
		return parse_docs(p, buf, len);
	err = parse_json_stream(p, buf, len);
	if (err == -EINVAL && p->syntax && p->delivered == 0)
		err = retry_as_yaml(p, buf, len, err);
	return err;
}

int k8s_parse_stream(const char *buf, size_t len, const struct k8s_parse_opts *opts,
		     int (*cb)(struct k8s_obj *obj, void *ud), void *ud, struct k8s_errors *errs)
{
	struct k8s_parse_opts dflt = {0};
	struct pctx p = {
	    .opts = opts ? opts : &dflt, .errs = errs, .cb = cb, .ud = ud, .expand = true};

	if (!cb)
		return -EINVAL;
	return parse_input(&p, buf, len);
}

struct single {
	struct k8s_obj *obj;
	bool more;
};

static int single_cb(struct k8s_obj *obj, void *ud)
{
	struct single *s = ud;

	if (s->obj) {
		k8s_obj_free(obj);
		s->more = true;
		return -E2BIG;
	}
	s->obj = obj;
	return 0;
}

struct k8s_obj *k8s_obj_parse(const char *buf, size_t len, const struct k8s_parse_opts *opts,
			      struct k8s_errors *errs)
{
	struct k8s_parse_opts dflt = {0};
	struct single s = {0};
	struct pctx p = {
	    .opts = opts ? opts : &dflt, .errs = errs, .cb = single_cb, .ud = &s, .expand = false};
	int err = parse_input(&p, buf, len);

	if (err == -E2BIG && s.more)
		err = fail(&p, "", K8S_REASON_INVALID, 0, 0,
			   "expected exactly one object, found more than one document");
	else if (!err && !s.obj)
		err = fail(&p, "", K8S_REASON_REQUIRED, 0, 0, "Required value: no object in input");
	if (err) {
		k8s_obj_free(s.obj);
		errno = -err;
		return NULL;
	}
	return s.obj;
}
