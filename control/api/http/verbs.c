/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verbs: a resource request to its registry call and back: the verb (get, list, watch,
 * create, update, patch, delete, deletecollection, or a subresource) checked against what the
 * resource serves; the request's arguments (dryRun, fieldManager, fieldValidation, force,
 * selectors, limit/continue, resourceVersion, DeleteOptions from the query and the body)
 * and body decoded (codec/); the result encoded as JSON or a Table. Long lists stream as
 * they are encoded. Pods' log, exec, attach and portforward go to the node's agent
 * (nodeproxy.c); serviceaccounts/token issues a TokenRequest (satoken.c); the other
 * agent-served subresource (proxy) answers 503.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_codec.h"
#include "api_http.h"
#include "rbac.h"
#include "api_patch.h"
#include "api_selector.h"
#include "api_table.h"
#include "api_watch.h"

bool api_req_writes(const struct api_req *r)
{
	return r->method == API_M_POST || r->method == API_M_PUT || r->method == API_M_PATCH ||
	       r->method == API_M_DELETE;
}

/* One resource request being served. */
struct vctx {
	struct api_req *r;
	struct api_server *srv;
	const struct api_resource *res;	   /* as requested */
	const struct api_resource *stored; /* the version that stores it */
	struct reg_req rq;
	struct api_result out;
	char manager[128];
};

static struct api_body body_of(const struct vctx *c)
{
	return (struct api_body){.p = c->r->body.p,
				 .len = c->r->body.len,
				 .ctype = c->r->content_type,
				 .max = c->srv->cfg.max_body};
}

static bool wants_table(const struct vctx *c)
{
	return api_accept_table(c->r->accept);
}

/* The result as the response: its Status, or its object as JSON or a one-row Table. */
static void reply(struct vctx *c)
{
	struct api_result *o = &c->out;
	struct k8s_buf b = {0};

	api_reply_warnings(c->r, o);
	if (api_reply_status(c->r, o))
		return;
	if (wants_table(c)) {
		int inc = api_include_object(api_arg(c->r, "includeObject"));
		struct jv *obj = o->obj;

		if (!obj && o->kv.value)
			obj = api_load_object(c->rq.d, o->kv.value, o->kv.value_len, o->rev);
		if (obj && c->res->storage) {
			/* the columns read the stored version's fields */
			obj = jv_copy(c->rq.d, obj);
			if (obj)
				c->res->to_storage(c->res, c->rq.d, obj);
		}
		if (!obj) {
			api_error(c->r, 500, "InternalError",
				  "Internal error occurred: corrupt object");
			return;
		}
		api_table_begin(&b, c->stored, o->rev, NULL, true);
		api_table_row(&b, c->stored, obj, inc < 0 ? API_INCLUDE_METADATA : inc, true);
		api_table_end(&b);
	} else if (o->json) {
		api_emit_object(&b, (const uint8_t *)o->json, o->json_len, o->rev);
	} else if (o->obj) {
		k8s_jv_write_schema(&b, o->obj, c->res->kind->type);
	} else if (o->kv.value) {
		api_emit_object(&b, o->kv.value, o->kv.value_len, o->kv.mod_rev);
	}
	api_reply_buf(c->r, o->code, &b);
}

/* dryRun: 0 (absent), 1 (All) or -EINVAL with the response set. */
static int dry_run_arg(struct vctx *c)
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

/* The arguments of a write: 0, or the response set. */
static int write_args(struct vctx *c)
{
	int dry = dry_run_arg(c);

	if (dry < 0)
		return -EINVAL;
	c->rq.dry_run = dry;
	if (api_field_validation_parse(api_arg(c->r, "fieldValidation"), &c->rq.fv, &c->out) != 0) {
		reply(c);
		return -EINVAL;
	}
	c->rq.force = api_arg_true(c->r, "force");
	return 0;
}

/* ---- get, list, watch ---- */

static void op_get(struct vctx *c)
{
	reg_get(c->srv->reg, &c->rq, wants_table(c), &c->out);
	reply(c);
}

struct listq {
	struct api_selector *sel;
	struct reg_list_opts lo;
	bool table;
	int include;
};

static int parse_list_args(struct vctx *c, struct listq *q)
{
	const char *limit = api_arg(c->r, "limit");
	char msg[512];
	int err;

	memset(q, 0, sizeof(*q));
	err = api_selector_parse(api_arg(c->r, "labelSelector"), api_arg(c->r, "fieldSelector"),
				 c->stored, &q->sel, msg, sizeof(msg));
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
		q->lo.limit = (size_t)l;
	}
	q->lo.cont = api_arg(c->r, "continue");
	q->lo.rv = api_arg(c->r, "resourceVersion");
	q->lo.match = api_arg(c->r, "resourceVersionMatch");
	q->lo.sel = q->sel;
	q->table = wants_table(c);
	q->include = api_include_object(api_arg(c->r, "includeObject"));
	if (q->include < 0) {
		api_error(c->r, 400, "BadRequest", "includeObject: Unsupported value: \"%s\"",
			  api_arg(c->r, "includeObject"));
		return -EINVAL;
	}
	return 0;
}

/* A list page being written: its items as stored (resourceVersion spliced in) or re-read
 * when a selector, a conversion or a Table needs the tree. */
struct list_out {
	const struct api_resource *res, *stored;
	struct listq q;
	struct reg_list l;
	bool first;
};

static void list_begin(struct k8s_buf *b, const struct list_out *o)
{
	const struct k8s_kind *k = o->res->kind;

	if (o->q.table) {
		api_table_begin(b, o->stored, o->l.l.rev, o->l.l.next, true);
		return;
	}
	k8s_buf_printf(
	    b,
	    "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%" PRIu64
	    "\"",
	    k->list_kind ? k->list_kind : "List", k->api_version, o->l.l.rev);
	if (o->l.l.next) {
		k8s_buf_puts(b, ",\"continue\":");
		k8s_buf_json_string(b, o->l.l.next, strlen(o->l.l.next));
	}
	k8s_buf_puts(b, "},\"items\":[");
}

struct sorted_row {
	struct jv_doc *d;
	struct jv *obj;
};

static int sorted_row_cmp(const void *a, const void *b, void *res)
{
	return api_table_compare(res, ((const struct sorted_row *)a)->obj,
				 ((const struct sorted_row *)b)->obj);
}

/* The Table rows of a resource whose printer sorts them (res->table_order): all of the page
 * read, sorted, then written. */
static void list_rows_sorted(struct list_out *o, struct k8s_buf *b)
{
	struct sorted_row *rows = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		const struct store_kv *kv;
		struct jv_doc *d;
		struct jv *obj;

		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct sorted_row *grown = realloc(rows, ncap * sizeof(*rows));

			if (!grown) {
				b->oom = true;
				break;
			}
			rows = grown;
			cap = ncap;
		}
		d = jv_doc_new();
		if (!d) {
			b->oom = true;
			break;
		}
		if (reg_list_next(&o->l, d, true, &kv, &obj) <= 0) {
			jv_doc_free(d);
			break;
		}
		if (o->res->storage)
			o->res->to_storage(o->res, d, obj);
		rows[n++] = (struct sorted_row){d, obj};
	}
	if (n)
		qsort_r(rows, n, sizeof(*rows), sorted_row_cmp, (void *)o->stored);
	for (size_t i = 0; i < n; i++) {
		if (!b->oom)
			api_table_row(b, o->stored, rows[i].obj,
				      (enum api_include_object)o->q.include, o->first);
		o->first = false;
		jv_doc_free(rows[i].d);
	}
	free(rows);
}

static void list_items(struct list_out *o, struct k8s_buf *b, size_t upto)
{
	if (o->q.table && o->stored->table_order) {
		list_rows_sorted(o, b);
		return;
	}
	while (b->len < upto && !b->oom) {
		struct jv_doc *d = jv_doc_new();
		const struct store_kv *kv;
		struct jv *obj;

		if (!d) {
			b->oom = true;
			return;
		}
		if (reg_list_next(&o->l, d, o->q.table, &kv, &obj) <= 0) {
			jv_doc_free(d);
			return;
		}
		if (o->q.table) {
			if (o->res->storage)
				o->res->to_storage(o->res, d, obj);
			api_table_row(b, o->stored, obj, (enum api_include_object)o->q.include,
				      o->first);
		} else {
			if (!o->first)
				k8s_buf_putc(b, ',');
			if (obj)
				k8s_jv_write_schema(b, obj, o->res->kind->type);
			else
				api_emit_object(b, kv->value, kv->value_len, kv->mod_rev);
		}
		o->first = false;
		jv_doc_free(d);
	}
}

static void list_out_free(struct list_out *o)
{
	if (!o)
		return;
	reg_list_free(&o->l);
	api_selector_free(o->q.sel);
	free(o);
}

/* A long list streams: items are written as the connection takes them, so a list of any
 * size costs one chunk of memory, not the whole response (store values are shared). An item
 * as stored is encoded straight into the connection's buffer; one that needs its tree (a
 * selector, a conversion, a Table) or does not fit goes through buf first. */
struct list_stream {
	struct list_out *o;
	struct k8s_buf buf;
	size_t off;
	bool done;
};

static bool list_plain(const struct list_out *o)
{
	return !o->q.table && !o->l.sel && !o->l.wire;
}

/* Plain items into out[0..room): the bytes written; the first one that does not fit goes
 * into buf (and ends this round). */
static size_t list_direct(struct list_out *o, struct k8s_buf *buf, char *out, size_t room)
{
	size_t n = 0;

	while (n < room) {
		const struct store_kv *kv;
		struct jv *obj;
		size_t sep = o->first ? 0 : 1, k = 0;

		if (reg_list_next(&o->l, NULL, false, &kv, &obj) <= 0)
			break;
		if (room - n > sep)
			k = api_emit_object_to(out + n + sep, room - n - sep, kv->value,
					       kv->value_len, kv->mod_rev);
		if (!k) {
			if (sep)
				k8s_buf_putc(buf, ',');
			api_emit_object(buf, kv->value, kv->value_len, kv->mod_rev);
			o->first = false;
			break;
		}
		if (sep)
			out[n] = ',';
		n += sep + k;
		o->first = false;
	}
	return n;
}

static ssize_t list_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct list_stream *ls = cls;
	size_t n = 0;

	(void)pos;
	for (;;) {
		if (ls->off < ls->buf.len) {
			/* what did not fit before goes first */
			size_t k =
			    ls->buf.len - ls->off < max - n ? ls->buf.len - ls->off : max - n;

			memcpy(out + n, ls->buf.p + ls->off, k);
			n += k;
			ls->off += k;
			if (ls->off < ls->buf.len)
				break;
			ls->buf.len = ls->off = 0;
		}
		if (n == max || ls->done)
			break;
		if (list_plain(ls->o))
			n += list_direct(ls->o, &ls->buf, out + n, max - n);
		else
			list_items(ls->o, &ls->buf, max - n);
		if (!reg_list_remaining(&ls->o->l)) {
			if (ls->o->q.table)
				api_table_end(&ls->buf);
			else
				k8s_buf_puts(&ls->buf, "]}");
			ls->done = true;
		}
		if (ls->buf.oom)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (!n && ls->done)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static void list_stream_free(void *cls)
{
	struct list_stream *ls = cls;

	if (!ls)
		return;
	list_out_free(ls->o);
	k8s_buf_free(&ls->buf);
	free(ls);
}

/* Lists longer than this stream. */
#define LIST_STREAM_ITEMS 256

static void op_list(struct vctx *c)
{
	struct list_out *o = calloc(1, sizeof(*o));
	struct k8s_buf b = {0};

	if (!o) {
		api_error(c->r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	o->res = c->res;
	o->stored = c->stored;
	o->first = true;
	if (parse_list_args(c, &o->q) != 0)
		goto out;
	if (reg_list(c->srv->reg, &c->rq, &o->q.lo, &o->l, &c->out) != 0) {
		reply(c);
		goto out;
	}
	api_reply_warnings(c->r, &c->out); /* a deprecated kind's */
	list_begin(&b, o);
	/* (a Table its printer sorts is written whole) */
	if (reg_list_remaining(&o->l) > LIST_STREAM_ITEMS && c->r->conn &&
	    !(o->q.table && o->stored->table_order)) {
		struct list_stream *ls = calloc(1, sizeof(*ls));

		if (ls) {
			ls->o = o;
			ls->buf = b;
			c->r->stream_read = list_stream_read;
			c->r->stream_free = list_stream_free;
			c->r->stream_cls = ls;
			c->r->ctype = "application/json";
			c->r->state = REQ_STREAM;
			return;
		}
	}
	list_items(o, &b, SIZE_MAX);
	if (o->q.table)
		api_table_end(&b);
	else
		k8s_buf_puts(&b, "]}");
	api_reply_buf(c->r, 200, &b);
out:
	list_out_free(o);
}

static void op_watch(struct vctx *c)
{
	struct api_watch_opts o = {.res = c->res, .ns = c->rq.ns};
	const char *timeout = api_arg(c->r, "timeoutSeconds");
	struct listq q;

	if (parse_list_args(c, &q) != 0) {
		api_selector_free(q.sel);
		return;
	}
	/* the deprecated /watch/.../<name> path watches one object: its name joins whatever
	 * selectors the request has */
	if (c->rq.name) {
		const char *fsel = api_arg(c->r, "fieldSelector");
		char fs[1024], msg[256];

		snprintf(fs, sizeof(fs), "metadata.name=%s%s%s", c->rq.name,
			 fsel && fsel[0] ? "," : "", fsel ? fsel : "");
		api_selector_free(q.sel);
		q.sel = NULL;
		if (api_selector_parse(api_arg(c->r, "labelSelector"), fs, c->stored, &q.sel, msg,
				       sizeof(msg)) != 0) {
			api_error(c->r, 400, "BadRequest", "%s", msg);
			return;
		}
	}
	o.sel = q.sel;
	o.rv = q.lo.rv;
	o.table = q.table;
	o.include = q.include;
	o.bookmarks = api_arg_true(c->r, "allowWatchBookmarks");
	o.timeout_s = timeout ? strtol(timeout, NULL, 10) : 0;
	api_watch_start(c->r, &o);
	if (c->r->state == REQ_STREAM)
		c->r->ctype = "application/json";
}

/* ---- writes ---- */

static void op_create(struct vctx *c)
{
	struct api_body b = body_of(c);
	struct jv *obj;

	if (write_args(c) != 0)
		return;
	obj = api_decode_object(&b, c->rq.d, c->res->kind, c->rq.fv, &c->out);
	if (obj && reg_crd_check_fields(c->res, obj, c->rq.fv, &c->out) == 0)
		reg_create(c->srv->reg, &c->rq, obj, &c->out);
	reply(c);
}

static void op_update(struct vctx *c)
{
	struct api_body b = body_of(c);
	struct jv *obj;

	if (write_args(c) != 0)
		return;
	obj = api_decode_object(&b, c->rq.d, c->res->kind, c->rq.fv, &c->out);
	if (obj && reg_crd_check_fields(c->res, obj, c->rq.fv, &c->out) == 0)
		reg_update(c->srv->reg, &c->rq, obj, &c->out);
	reply(c);
}

static int patch_type(struct vctx *c, enum api_patch_type *t, bool apply_ok)
{
	if (api_patch_type_of(c->r->content_type, t) == 0 && (apply_ok || *t != API_PATCH_APPLY))
		return 0;
	api_error(c->r, 415, "UnsupportedMediaType",
		  "the body of the request was in an unknown format - accepted media types "
		  "include: application/json-patch+json, application/merge-patch+json, %s"
		  "application/strategic-merge-patch+json",
		  apply_ok ? "application/apply-patch+yaml, " : "");
	return -EINVAL;
}

static void op_patch(struct vctx *c)
{
	enum api_patch_type t;

	if (write_args(c) != 0 || patch_type(c, &t, true) != 0)
		return;
	if (t == API_PATCH_APPLY) {
		struct api_body b = body_of(c);
		const char *fm = api_arg(c->r, "fieldManager");
		struct jv *cfg;

		c->rq.manager = fm && fm[0] ? fm : NULL; /* apply requires one, named */
		cfg = api_decode_apply(&b, c->rq.d, c->res->kind, c->rq.fv, &c->out);
		if (cfg && reg_crd_check_fields(c->res, cfg, c->rq.fv, &c->out) == 0)
			reg_apply(c->srv->reg, &c->rq, cfg, &c->out);
	} else {
		reg_patch(c->srv->reg, &c->rq, t, c->r->body.p, c->r->body.len, &c->out);
	}
	reply(c);
}

/* DeleteOptions from the query and the body (the body's win), and the body's dryRun. */
static int delete_opts(struct vctx *c, struct reg_delete_opts *o)
{
	const char *g = api_arg(c->r, "gracePeriodSeconds");
	const char *p = api_arg(c->r, "propagationPolicy");
	struct jv *body = NULL;
	const struct jv *orphan;
	int64_t v;

	*o = (struct reg_delete_opts)REG_DELETE_OPTS_INIT;
	if (write_args(c) != 0)
		return -EINVAL;
	if (c->r->body.len) {
		struct api_body b = body_of(c);

		body = api_decode_as(&b, c->rq.d, k8s_kind_find("v1", "DeleteOptions")->type,
				     K8S_FV_IGNORE, &c->out);
		if (!body) {
			reply(c);
			return -EINVAL;
		}
	}
	if (g && g[0])
		o->grace = strtoll(g, NULL, 10);
	if (jv_path_int(body, "gracePeriodSeconds", &v) == 0)
		o->grace = v;
	o->propagation = p && p[0] ? p : jv_path_str(body, "propagationPolicy");
	orphan = jv_get(body, "orphanDependents");
	if (!o->propagation && orphan)
		o->propagation = orphan->type == JV_TRUE ? "Orphan" : "Background";
	if (!o->propagation && api_arg(c->r, "orphanDependents"))
		o->propagation = api_arg_true(c->r, "orphanDependents") ? "Orphan" : "Background";
	o->uid = jv_path_str(body, "preconditions.uid");
	o->rv = jv_path_str(body, "preconditions.resourceVersion");
	if (jv_count(jv_path(body, "dryRun")))
		c->rq.dry_run = true;
	return 0;
}

static void op_delete(struct vctx *c)
{
	struct reg_delete_opts o;

	if (delete_opts(c, &o) != 0)
		return;
	reg_delete(c->srv->reg, &c->rq, &o, &c->out);
	reply(c);
}

static void op_deletecollection(struct vctx *c)
{
	struct api_selector *sel = NULL;
	struct reg_delete_opts o;
	char msg[512];
	int err;

	if (delete_opts(c, &o) != 0)
		return;
	err = api_selector_parse(api_arg(c->r, "labelSelector"), api_arg(c->r, "fieldSelector"),
				 c->stored, &sel, msg, sizeof(msg));
	if (err) {
		api_error(c->r, 400, "BadRequest", "%s", err == -EINVAL ? msg : "out of memory");
		return;
	}
	reg_deletecollection(c->srv->reg, &c->rq, sel, &o, &c->out);
	api_selector_free(sel);
	reply(c);
}

/* ---- subresources ---- */

static void op_scale(struct vctx *c)
{
	const struct k8s_kind *sk = k8s_kind_find("autoscaling/v1", "Scale");
	enum api_patch_type t = API_PATCH_MERGE;
	struct jv *scale = NULL;
	enum reg_scale_op op = REG_SCALE_GET;
	struct k8s_buf b = {0};

	if (c->r->method != API_M_GET && c->r->method != API_M_HEAD && write_args(c) != 0)
		return;
	if (c->r->method == API_M_PUT) {
		struct api_body body = body_of(c);

		scale = api_decode_as(&body, c->rq.d, sk->type, K8S_FV_STRICT, &c->out);
		if (!scale) {
			reply(c);
			return;
		}
		op = REG_SCALE_UPDATE;
	} else if (c->r->method == API_M_PATCH) {
		if (patch_type(c, &t, false) != 0)
			return;
		op = REG_SCALE_PATCH;
	}
	reg_scale(c->srv->reg, &c->rq, op, scale, t, c->r->body.p, c->r->body.len, &c->out);
	api_reply_warnings(c->r, &c->out);
	if (api_reply_status(c->r, &c->out))
		return;
	k8s_jv_write_schema(&b, c->out.obj, sk->type);
	api_reply_buf(c->r, 200, &b);
}

static void op_binding(struct vctx *c)
{
	struct api_body b = body_of(c);
	struct jv *binding;

	if (write_args(c) != 0)
		return;
	binding = api_decode_as(&b, c->rq.d, k8s_kind_find("v1", "Binding")->type, K8S_FV_STRICT,
				&c->out);
	if (binding)
		reg_bind(c->srv->reg, &c->rq, binding, &c->out);
	reply(c);
}

static void op_eviction(struct vctx *c)
{
	const struct k8s_kind *ek = k8s_kind_find("policy/v1", "Eviction");
	struct api_body b = body_of(c);
	struct jv *ev;

	if (write_args(c) != 0)
		return;
	ev = api_decode_as(&b, c->rq.d, ek->type, K8S_FV_IGNORE, &c->out);
	if (ev)
		reg_evict(c->srv->reg, &c->rq, ev, &c->out);
	reply(c);
}

/* serviceaccounts/token: a TokenRequest (satoken.c) */
static void op_token_request(struct vctx *c)
{
	const struct k8s_kind *tk = k8s_kind_find("authentication.k8s.io/v1", "TokenRequest");
	struct api_body b = body_of(c);
	struct jv *tr;
	bool ok = false;

	if (c->r->method != API_M_POST) {
		api_error(c->r, 405, "MethodNotAllowed",
			  "the server does not allow this method on the requested resource");
		return;
	}
	if (write_args(c) != 0)
		return;
	tr = api_decode_as(&b, c->rq.d, tk->type, K8S_FV_IGNORE, &c->out);
	if (tr)
		api_token_request(c->srv, c->rq.ns, c->rq.name, tr, c->rq.d, &c->out, &ok);
	if (ok) {
		struct k8s_buf out = {0};

		k8s_jv_write_schema(&out, tr, tk->type);
		api_reply_buf(c->r, 201, &out);
	} else {
		reply(c);
	}
}

/* log, exec, attach, portforward: through the pod's agent (nodeproxy.c); proxy and token:
 * served by agents and controllers drover does not run yet. */
static void op_unavailable(struct vctx *c)
{
	const char *res = c->stored->kind->resource;

	if (strcmp(res, "serviceaccounts") == 0) {
		op_token_request(c);
		return;
	}
	if (!api_req_proxies(c->r)) {
		api_error(c->r, 503, "ServiceUnavailable",
			  "%s/%s: no node agent serves this subresource yet", res, c->rq.sub);
		return;
	}
	if (reg_get(c->srv->reg,
		    &(struct reg_req){
			.res = c->stored, .ns = c->rq.ns, .name = c->rq.name, .d = c->rq.d},
		    true, &c->out) != 0 ||
	    api_result_failed(&c->out) || !c->out.obj) {
		reply(c);
		return;
	}
	api_serve_node_proxy(c->r, c->out.obj);
}

/* ---- dispatch ---- */

static unsigned verb_of(const struct vctx *c, bool *watch)
{
	struct api_req *r = c->r;

	*watch = r->rt.watch_path || api_arg_true(r, "watch");
	if (!c->rq.name) {
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

static void method_not_allowed(struct vctx *c)
{
	api_error(c->r, 405, "MethodNotAllowed",
		  "the server does not allow this method on the requested resource");
}

static void serve_subresource(struct vctx *c, unsigned verb)
{
	const struct api_subresource *sub = api_subresource_find(c->res, c->rq.sub);
	const char *s = c->rq.sub;

	if (!sub) {
		api_error(c->r, 404, "NotFound",
			  "the server could not find the requested resource");
		return;
	}
	if (!(sub->verbs & verb)) {
		method_not_allowed(c);
		return;
	}
	if (strcmp(s, "scale") == 0)
		op_scale(c);
	else if (strcmp(s, "binding") == 0)
		op_binding(c);
	else if (strcmp(s, "eviction") == 0)
		op_eviction(c);
	else if (strcmp(s, "status") == 0 || strcmp(s, "finalize") == 0 ||
		 strcmp(s, "approval") == 0 || strcmp(s, "ephemeralcontainers") == 0)
		verb == API_VERB_GET	  ? op_get(c)
		: verb == API_VERB_UPDATE ? op_update(c)
					  : op_patch(c);
	else
		op_unavailable(c);
}

void api_serve_resource(struct api_req *r)
{
	const char *ua = r->user_agent;
	const char *fm = api_arg(r, "fieldManager");
	struct vctx c = {.r = r, .srv = r->srv, .res = r->rt.res};
	unsigned verb;
	bool watch;

	if (api_review_resource(c.res)) {
		api_serve_review(r); /* created and answered, never stored (rbac.c) */
		return;
	}
	c.stored = c.res->storage ? c.res->storage : c.res;
	/* the field manager: the argument, else the user agent's program name */
	if (fm && fm[0])
		snprintf(c.manager, sizeof(c.manager), "%s", fm);
	else
		snprintf(c.manager, sizeof(c.manager), "%.*s",
			 (int)strcspn(ua ? ua : "unknown", "/"), ua ? ua : "unknown");
	c.rq = (struct reg_req){.res = c.res,
				.ns = r->rt.ns,
				.name = r->rt.name,
				.sub = r->rt.sub,
				.manager = c.manager,
				.d = jv_doc_new(),
				.user = r->user,
				.groups = (const char(*)[128])r->groups,
				.ngroups = r->ngroups};
	if (!c.rq.d) {
		api_error(r, 500, "InternalError", "Internal error occurred: out of memory");
		return;
	}
	verb = verb_of(&c, &watch);
	if (!verb) {
		method_not_allowed(&c);
	} else if (c.rq.sub) {
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
			if (c.stored->kind == k8s_kind_find("v1", "Binding"))
				op_binding(&c); /* POST .../bindings */
			else if (c.rq.name)
				method_not_allowed(&c);
			else
				op_create(&c);
			break;
		case API_VERB_UPDATE:
			op_update(&c);
			break;
		case API_VERB_PATCH:
			op_patch(&c);
			break;
		case API_VERB_DELETE:
			op_delete(&c);
			break;
		case API_VERB_DELETECOLLECTION:
			op_deletecollection(&c);
			break;
		}
	}
	api_result_free(&c.out);
	jv_doc_free(c.rq.d);
}
