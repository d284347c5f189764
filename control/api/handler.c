/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handler: a resource request to its verb (get, list, watch, create, update, patch, delete,
 * deletecollection, or a subresource), checked against what the resource serves; the reads
 * themselves: get and list (label and field selectors, limit/continue, resourceVersion
 * semantics) as JSON or as a Table, and the start of watches.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_handler.h"
#include "api_selector.h"
#include "api_table.h"
#include "api_watch.h"

bool api_req_writes(const struct api_req *r)
{
	return r->method == API_M_POST || r->method == API_M_PUT || r->method == API_M_PATCH ||
	       r->method == API_M_DELETE;
}

int api_h_load(struct hctx *c, const char *key, struct jv **out, uint64_t *rev)
{
	struct store_kv kv = {0};
	int err = store_get(c->srv->store, key, strlen(key), 0, &kv);

	if (err)
		return err;
	*out = api_load_object(c->d, kv.value, kv.value_len, kv.mod_rev);
	*rev = kv.mod_rev;
	store_kv_release(&kv);
	return *out ? 0 : -EIO;
}

const struct k8s_kind *api_h_wire_kind(const struct hctx *c)
{
	return (c->wire ? c->wire : c->res)->kind;
}

void api_h_from_wire(struct hctx *c, struct jv *obj)
{
	if (c->wire && obj)
		c->wire->to_storage(c->d, obj);
}

void api_h_reply_object(struct hctx *c, unsigned code, const struct jv *obj)
{
	struct k8s_buf b = {0};

	if (api_accept_table(c->r->accept)) {
		int inc = api_include_object(api_arg(c->r, "includeObject"));

		api_table_begin(&b, c->res, (uint64_t)api_obj_rv(obj), NULL, true);
		api_table_row(&b, c->res, obj, inc < 0 ? API_INCLUDE_METADATA : inc, true);
		api_table_end(&b);
	} else if (c->wire) {
		struct jv *w = jv_copy(c->d, obj);

		if (w)
			c->wire->from_storage(c->d, w);
		k8s_jv_write_schema(&b, w, c->wire->kind->type);
	} else {
		k8s_jv_write_schema(&b, obj, c->res->kind->type);
	}
	api_reply_buf(c->r, code, &b);
}

int api_h_dry_run(struct hctx *c)
{
	const char *v = api_arg(c->r, "dryRun");

	if (!v || !v[0])
		return 0;
	if (strcmp(v, "All") == 0)
		return 1;
	api_error(c->r, 400, "BadRequest",
		  "Invalid dry run value: \"%s\": supported values: \"All\"", v);
	return -EINVAL;
}

int api_h_check_namespace(struct hctx *c, bool creating)
{
	const struct api_resource *nsres = api_resource_find("", "v1", "namespaces");
	char key[512];
	struct jv *ns;
	uint64_t rev;
	int err;

	if (!c->ns)
		return 0;
	api_key(nsres, NULL, c->ns, key, sizeof(key));
	err = api_h_load(c, key, &ns, &rev);
	if (err == -ENOENT) {
		api_error_details(c->r, 404, "NotFound", nsres, c->ns,
				  "namespaces \"%s\" not found", c->ns);
		return err;
	}
	if (err) {
		api_error_store(c->r, nsres, c->ns, err);
		return err;
	}
	if (creating && jv_path(ns, "metadata.deletionTimestamp")) {
		char q[128];

		api_error_details(
		    c->r, 403, "Forbidden", c->res, c->name,
		    "%s \"%s\" is forbidden: unable to create new content in namespace "
		    "%s because it is being terminated",
		    api_res_qualified(c->res, q, sizeof(q)), c->name ? c->name : "", c->ns);
		return -EPERM;
	}
	return 0;
}

/* ---- get ---- */

static void op_get(struct hctx *c)
{
	struct store_kv kv = {0};
	int err = store_get(c->srv->store, c->key, strlen(c->key), 0, &kv);
	struct k8s_buf b = {0};

	if (err) {
		api_error_store(c->r, c->res, c->name, err);
		return;
	}
	if (api_accept_table(c->r->accept) || c->wire) {
		struct jv *o = api_load_object(c->d, kv.value, kv.value_len, kv.mod_rev);

		store_kv_release(&kv);
		if (!o) {
			api_error(c->r, 500, "InternalError",
				  "Internal error occurred: corrupt object");
			return;
		}
		api_h_reply_object(c, 200, o);
		return;
	}
	api_emit_object(&b, kv.value, kv.value_len, kv.mod_rev);
	store_kv_release(&kv);
	api_reply_buf(c->r, 200, &b);
}

/* ---- list ---- */

struct listq {
	struct api_selector *sel;
	const char *cont, *rv, *match;
	size_t limit;
	bool table;
	int include;
};

static int parse_list_args(struct hctx *c, struct listq *q)
{
	const char *limit = api_arg(c->r, "limit");
	char msg[512];
	int err;

	memset(q, 0, sizeof(*q));
	err = api_selector_parse(api_arg(c->r, "labelSelector"), api_arg(c->r, "fieldSelector"),
				 c->res, &q->sel, msg, sizeof(msg));
	if (err == -EINVAL) {
		api_error(c->r, 400, "BadRequest", "%s", msg);
		return err;
	}
	if (err) {
		api_error(c->r, 500, "InternalError", "Internal error occurred: out of memory");
		return err;
	}
	if (limit && limit[0]) {
		char *end;
		long long l = strtoll(limit, &end, 10);

		if (*end || l < 0) {
			api_error(c->r, 400, "BadRequest", "limit: Invalid value: \"%s\"", limit);
			return -EINVAL;
		}
		q->limit = (size_t)l;
	}
	q->cont = api_arg(c->r, "continue");
	q->rv = api_arg(c->r, "resourceVersion");
	q->match = api_arg(c->r, "resourceVersionMatch");
	q->table = api_accept_table(c->r->accept);
	q->include = api_include_object(api_arg(c->r, "includeObject"));
	if (q->include < 0) {
		api_error(c->r, 400, "BadRequest", "includeObject: Unsupported value: \"%s\"",
			  api_arg(c->r, "includeObject"));
		return -EINVAL;
	}
	if (q->cont && q->cont[0] && q->rv && q->rv[0] && strcmp(q->rv, "0") != 0) {
		api_error(c->r, 400, "BadRequest",
			  "specifying resource version is not allowed when using continue");
		return -EINVAL;
	}
	if (q->match && q->match[0] && strcmp(q->match, "Exact") != 0 &&
	    strcmp(q->match, "NotOlderThan") != 0) {
		api_error(c->r, 400, "BadRequest",
			  "resourceVersionMatch: Unsupported value: \"%s\": supported values: "
			  "\"Exact\", \"NotOlderThan\"",
			  q->match);
		return -EINVAL;
	}
	return 0;
}

/* The revision a list reads at: 0 (current) or an exact one. */
static int list_revision(struct hctx *c, const struct listq *q, uint64_t *rev)
{
	uint64_t cur = store_revision(c->srv->store), want;
	char *end;

	*rev = 0;
	if (!q->rv || !q->rv[0] || strcmp(q->rv, "0") == 0 || (q->cont && q->cont[0]))
		return 0;
	errno = 0;
	want = strtoull(q->rv, &end, 10);
	if (errno || *end || q->rv[0] == '-') {
		api_error(c->r, 400, "BadRequest", "invalid resource version: %s", q->rv);
		return -EINVAL;
	}
	if (want > cur) {
		api_error(c->r, 504, "Timeout",
			  "Too large resource version: %" PRIu64 ", current: %" PRIu64, want, cur);
		return -EINVAL;
	}
	/* Exact (explicitly, or implied by a limit as Kubernetes does); else any newer state */
	if ((q->match && strcmp(q->match, "Exact") == 0) ||
	    ((!q->match || !q->match[0]) && q->limit))
		*rev = want;
	return 0;
}

static void list_begin(struct k8s_buf *b, const struct hctx *c, const struct listq *q, uint64_t rev,
		       const char *next)
{
	const struct k8s_kind *k = api_h_wire_kind(c);

	if (q->table) {
		api_table_begin(b, c->res, rev, next, true);
		return;
	}
	k8s_buf_printf(
	    b,
	    "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%" PRIu64
	    "\"",
	    k->list_kind ? k->list_kind : "List", k->api_version, rev);
	if (next) {
		k8s_buf_puts(b, ",\"continue\":");
		k8s_buf_json_string(b, next, strlen(next));
	}
	k8s_buf_puts(b, "},\"items\":[");
}

/* The items of a list page, into b: JSON values as stored (resourceVersion spliced in) or
 * re-read when a selector or a Table needs the tree. */
struct list_out {
	const struct api_resource *res;
	const struct api_resource *wire; /* as hctx.wire */
	struct listq q;
	struct store_list l;
	size_t pin_len; /* a pinned name's key length, or 0 */
	size_t next;
	bool first;
};

static void list_items(struct list_out *o, struct k8s_buf *b, size_t upto)
{
	for (; o->next < o->l.count && b->len < upto && !b->oom; o->next++) {
		struct store_kv *kv = &o->l.items[o->next];
		struct jv_doc *d;
		struct jv *obj;

		/* the key of a pinned name also prefixes longer names */
		if (o->pin_len && kv->key_len != o->pin_len)
			continue;
		if (!o->q.table && !o->q.sel && !o->wire) {
			if (!o->first)
				k8s_buf_putc(b, ',');
			o->first = false;
			api_emit_object(b, kv->value, kv->value_len, kv->mod_rev);
			continue;
		}
		d = jv_doc_new();
		obj = d ? api_load_object(d, kv->value, kv->value_len, kv->mod_rev) : NULL;
		if (obj && api_selector_match(o->q.sel, obj)) {
			if (o->q.table) {
				api_table_row(b, o->res, obj, (enum api_include_object)o->q.include,
					      o->first);
			} else {
				if (!o->first)
					k8s_buf_putc(b, ',');
				if (o->wire)
					o->wire->from_storage(d, obj);
				k8s_jv_write_schema(b, obj,
						    (o->wire ? o->wire : o->res)->kind->type);
			}
			o->first = false;
		}
		jv_doc_free(d);
	}
}

static void list_out_free(void *cls)
{
	struct list_out *o = cls;

	if (!o)
		return;
	store_list_free(&o->l);
	api_selector_free(o->q.sel);
	free(o);
}

/* A long list streams: items are written as the connection takes them, so a list of any
 * size costs one chunk of memory, not the whole response (store values are shared). */
struct list_stream {
	struct list_out o;
	struct k8s_buf buf;
	size_t off;
	bool done;
};

static ssize_t list_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct list_stream *ls = cls;
	size_t n;

	(void)pos;
	if (ls->off == ls->buf.len) {
		ls->buf.len = ls->off = 0;
		if (ls->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		list_items(&ls->o, &ls->buf, max);
		if (ls->o.next >= ls->o.l.count) {
			k8s_buf_puts(&ls->buf, "]}");
			ls->done = true;
		}
		if (ls->buf.oom)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = ls->buf.len - ls->off < max ? ls->buf.len - ls->off : max;
	memcpy(out, ls->buf.p + ls->off, n);
	ls->off += n;
	return (ssize_t)n;
}

static void list_stream_free(void *cls)
{
	struct list_stream *ls = cls;

	if (!ls)
		return;
	store_list_free(&ls->o.l);
	api_selector_free(ls->o.q.sel);
	k8s_buf_free(&ls->buf);
	free(ls);
}

/* Lists longer than this stream. */
#define LIST_STREAM_ITEMS 256

static void op_list(struct hctx *c)
{
	struct list_out *o = calloc(1, sizeof(*o));
	struct store_list_opts lo = {0};
	struct k8s_buf b = {0};
	char prefix[1024];
	const char *pin;
	int n, err;

	if (!o) {
		api_error(c->r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	o->res = c->res;
	o->wire = c->wire;
	o->first = true;
	if (parse_list_args(c, &o->q) != 0 || list_revision(c, &o->q, &lo.rev) != 0)
		goto out;
	/* metadata.name=x pins one key: read that prefix only */
	pin = api_selector_name(o->q.sel);
	n = api_key(c->res, c->ns, pin, prefix, sizeof(prefix));
	if (n < 0) {
		api_error(c->r, 400, "BadRequest", "name too long");
		goto out;
	}
	o->pin_len = pin ? (size_t)n : 0;
	lo.prefix = prefix;
	lo.prefix_len = (size_t)n;
	lo.limit = o->q.limit;
	lo.continue_token = o->q.cont && o->q.cont[0] ? o->q.cont : NULL;
	err = store_list(c->srv->store, &lo, &o->l);
	if (err == -STORE_ECOMPACTED) {
		api_error(
		    c->r, 410, "Expired",
		    lo.continue_token
			? "The provided continue parameter is too old to display a consistent "
			  "list result. You can start a new list without the continue "
			  "parameter, or use the continue token in this response to retrieve "
			  "the remainder of the results."
			: "too old resource version");
		goto out;
	}
	if (err == -EINVAL && lo.continue_token) {
		api_error(c->r, 400, "BadRequest", "continue key is not valid");
		goto out;
	}
	if (err) {
		api_error_store(c->r, c->res, NULL, err);
		goto out;
	}
	list_begin(&b, c, &o->q, o->l.rev, o->l.next);
	if (o->l.count > LIST_STREAM_ITEMS && c->r->conn) {
		struct list_stream *ls = calloc(1, sizeof(*ls));

		if (ls) {
			ls->o = *o;
			ls->buf = b;
			free(o);
			c->r->stream_read = list_stream_read;
			c->r->stream_free = list_stream_free;
			c->r->stream_cls = ls;
			c->r->ctype = "application/json";
			c->r->state = REQ_STREAM;
			return;
		}
	}
	k8s_buf_reserve(&b, o->l.count * 256);
	list_items(o, &b, SIZE_MAX);
	k8s_buf_puts(&b, "]}");
	api_reply_buf(c->r, 200, &b);
out:
	list_out_free(o);
}

static void op_watch(struct hctx *c)
{
	struct api_watch_opts o = {.res = c->res, .wire = c->wire, .ns = c->ns};
	const char *timeout = api_arg(c->r, "timeoutSeconds");
	struct listq q;

	if (parse_list_args(c, &q) != 0) {
		api_selector_free(q.sel);
		return;
	}
	/* the deprecated /watch/.../<name> path watches one object: its name joins whatever
	 * selectors the request has */
	if (c->name) {
		const char *fsel = api_arg(c->r, "fieldSelector");
		char fs[1024], msg[256];

		snprintf(fs, sizeof(fs), "metadata.name=%s%s%s", c->name,
			 fsel && fsel[0] ? "," : "", fsel ? fsel : "");
		api_selector_free(q.sel);
		q.sel = NULL;
		if (api_selector_parse(api_arg(c->r, "labelSelector"), fs, c->res, &q.sel, msg,
				       sizeof(msg)) != 0) {
			api_error(c->r, 400, "BadRequest", "%s", msg);
			return;
		}
	}
	o.sel = q.sel;
	o.rv = q.rv;
	o.table = q.table;
	o.include = q.include;
	o.bookmarks = api_arg_true(c->r, "allowWatchBookmarks");
	o.timeout_s = timeout ? strtol(timeout, NULL, 10) : 0;
	api_watch_start(c->r, &o);
	if (c->r->state == REQ_STREAM)
		c->r->ctype = "application/json";
}

/* ---- dispatch ---- */

static unsigned verb_of(const struct hctx *c, bool *watch)
{
	struct api_req *r = c->r;

	*watch = r->rt.watch_path || api_arg_true(r, "watch");
	if (!c->name) {
		switch (r->method) {
		case API_M_GET:
		case API_M_HEAD:
			return *watch ? API_VERB_WATCH : API_VERB_LIST;
		case API_M_POST:
			return API_VERB_CREATE;
		case API_M_DELETE:
			return API_VERB_DELETECOLLECTION;
		default:
			return 0;
		}
	}
	switch (r->method) {
	case API_M_GET:
	case API_M_HEAD:
		return *watch ? API_VERB_WATCH : API_VERB_GET;
	case API_M_PUT:
		return API_VERB_UPDATE;
	case API_M_PATCH:
		return API_VERB_PATCH;
	case API_M_DELETE:
		return API_VERB_DELETE;
	case API_M_POST:
		return API_VERB_CREATE;
	default:
		return 0;
	}
}

static void method_not_allowed(struct hctx *c)
{
	api_error(c->r, 405, "MethodNotAllowed",
		  "the server does not allow this method on the requested resource");
}

static void serve_subresource(struct hctx *c, unsigned verb)
{
	const struct api_subresource *sub = api_subresource_find(c->res, c->sub);

	if (!sub) {
		api_error(c->r, 404, "NotFound",
			  "the server could not find the requested resource");
		return;
	}
	if (!(sub->verbs & verb)) {
		method_not_allowed(c);
		return;
	}
	if (strcmp(c->sub, "scale") == 0) {
		api_sub_scale(c);
	} else if (strcmp(c->sub, "binding") == 0) {
		api_sub_binding(c);
	} else if (strcmp(c->sub, "eviction") == 0) {
		api_sub_eviction(c);
	} else if (strcmp(c->sub, "status") == 0 || strcmp(c->sub, "finalize") == 0) {
		if (verb == API_VERB_GET)
			op_get(c);
		else if (verb == API_VERB_UPDATE)
			api_op_update(c);
		else
			api_op_patch(c);
	} else {
		api_sub_unavailable(c);
	}
}

void api_serve_resource(struct api_req *r)
{
	/* a version served by conversion: the stored version does the work */
	struct hctx c = {.r = r,
			 .srv = r->srv,
			 .res = r->rt.res->storage ? r->rt.res->storage : r->rt.res,
			 .wire = r->rt.res->storage ? r->rt.res : NULL};
	const char *ua = r->user_agent;
	const char *fm = api_arg(r, "fieldManager");
	unsigned verb;
	bool watch;
	int n;

	c.ns = r->rt.ns;
	c.name = r->rt.name;
	c.sub = r->rt.sub;
	/* the field manager: the argument, else the user agent's program name */
	if (fm && fm[0])
		snprintf(c.manager, sizeof(c.manager), "%s", fm);
	else
		snprintf(c.manager, sizeof(c.manager), "%.*s",
			 (int)strcspn(ua ? ua : "unknown", "/"), ua ? ua : "unknown");
	c.d = jv_doc_new();
	if (!c.d) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	n = api_key(c.res, c.ns, c.name, c.key, sizeof(c.key));
	verb = verb_of(&c, &watch);
	if (n < 0) {
		api_error(r, 400, "BadRequest", "name or namespace too long");
	} else if (!verb) {
		method_not_allowed(&c);
	} else if (c.sub) {
		serve_subresource(&c, verb);
	} else if (!(c.res->verbs & verb)) {
		method_not_allowed(&c);
	} else {
		switch (verb) {
		case API_VERB_GET:
			op_get(&c);
			break;
		case API_VERB_LIST:
			op_list(&c);
			break;
		case API_VERB_WATCH:
			op_watch(&c);
			break;
		case API_VERB_CREATE:
			if (c.name && strcmp(c.res->kind->resource, "bindings") != 0)
				method_not_allowed(&c);
			else if (strcmp(c.res->kind->resource, "bindings") == 0)
				api_sub_binding(&c);
			else
				api_op_create(&c);
			break;
		case API_VERB_UPDATE:
			api_op_update(&c);
			break;
		case API_VERB_PATCH:
			api_op_patch(&c);
			break;
		case API_VERB_DELETE:
			api_op_delete(&c);
			break;
		case API_VERB_DELETECOLLECTION:
			api_op_deletecollection(&c);
			break;
		}
	}
	jv_doc_free(c.d);
}
