/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest_load: one manifest file into a reload's objects (source_manifests_int.h). The file
 * is read whole and cut into documents (manifest_docs.h); a document with the bytes it had in
 * the file's last applied version takes its objects from their records, the others are
 * parsed (k8s_parse_stream, strict, as kubectl would send them to the API server) and
 * decoded. Should anything of the file fail, it is parsed whole again, so that its errors are
 * said as they always were.
 */
#define _GNU_SOURCE
#include "decode.h"
#include "k8s.h"
#include "k8s_jv.h"
#include "log.h"
#include "source_manifests_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "manifests"

void mload_pending_free(struct pending *p)
{
	k8s_service_free(p->svc);
	k8s_slice_free(p->sl);
}

/* A manifest stands where the API server would have checked a nodePort against its range
 * (kube-apiserver's message); outside it a Service could take the node's SSH port. */
static int nodeports_in_range(const struct manifests *ms, const struct k8s_service *svc, char *err,
			      size_t errlen)
{
	for (size_t i = 0; i < svc->nports; i++) {
		uint16_t np = svc->ports[i].node_port;

		if (np && (np < ms->nodeport_min || np > ms->nodeport_max)) {
			snprintf(
			    err, errlen,
			    "spec.ports[%zu].nodePort: Invalid value: %u: provided port is not "
			    "in the valid range. The range of valid ports is %u-%u",
			    i, np, ms->nodeport_min, ms->nodeport_max);
			return -EINVAL;
		}
	}
	return 0;
}

static int defined_twice(struct load_ctx *c, struct pending *p)
{
	const char *slash = strchr(p->key, '/');

	if (!c->quiet)
		log_error(COMP, "%s: %.*s %s: defined more than once", c->file,
			  (int)(slash - p->key), p->key, slash + 1);
	mload_pending_free(p);
	return c->err = -EINVAL;
}

/* Room for one more object; -ENOMEM (logged unless quiet). */
static int reserve_pending(struct load_ctx *c)
{
	size_t cap = c->cap ? c->cap * 2 : 256;
	void *q;

	if (c->n < c->cap)
		return 0;
	q = realloc(c->v, cap * sizeof(*c->v));
	if (!q) {
		if (!c->quiet)
			log_error(COMP, "%s: out of memory", c->file);
		return c->err = -ENOMEM;
	}
	c->v = q;
	c->cap = cap;
	return 0;
}

/* Append p (room reserved) to the reload's objects. */
static void push_pending(struct load_ctx *c, struct pending *p)
{
	p->file = c->file;
	p->fidx = c->fidx;
	p->rec = SIZE_MAX;
	c->v[c->n++] = *p;
}

/*
 * Take p, a decoded object of c->file, into the reload, unless its key is taken: by another
 * decoded object (c->keys) or by an unchanged document's (its old record is claimed; the
 * records of all files have distinct keys, so no file not re-read can hold it). Its old
 * record, if any, is marked taken: not deleted, and no unchanged document may claim it.
 */
static int add_pending(struct load_ctx *c, struct pending *p)
{
	struct obj_rec *was = hmap_sget(c->old, p->key);

	if (hmap_sget(c->keys, p->key) || (was && was->mark == REC_CLAIMED))
		return defined_twice(c, p);
	if (reserve_pending(c)) {
		mload_pending_free(p);
		return c->err;
	}
	/* the key first: an object read must never count as gone */
	if (hmap_sput(c->keys, p->key, (void *)c->file, NULL) < 0) {
		mload_pending_free(p);
		if (!c->quiet)
			log_error(COMP, "%s: out of memory", c->file);
		return c->err = -ENOMEM;
	}
	p->was = was;
	if (was)
		was->mark = REC_TAKEN;
	push_pending(c, p);
	return 0;
}

static int on_object(struct k8s_obj *o, void *ud)
{
	struct load_ctx *c = ud;
	const struct k8s_kind *k = k8s_obj_kind(o);
	const char *ns = k8s_obj_namespace(o), *name = k8s_obj_name(o);
	struct jv_doc *d = NULL;
	struct jv *tree = NULL;
	struct pending p;
	char err[512];
	char *json;
	int rc;

	memset(&p, 0, sizeof(p));
	c->cost.objs_decoded++;
	if (!k || (strcmp(k->kind, "Service") && strcmp(k->kind, "EndpointSlice"))) {
		c->ignored++; /* other kinds may share the manifests; the proxy has no use for them */
		k8s_obj_free(o);
		return 0;
	}
	p.is_service = !strcmp(k->kind, "Service");
	/* The object as Kubernetes' JSON: what the decoder reads, and what says whether it
	 * changed since the last reload. */
	json = k8s_obj_to_json(o);
	rc = json ? 0 : errno == ENOMEM ? -ENOMEM : -EINVAL;
	if (!rc && !(d = jv_doc_new()))
		rc = -ENOMEM;
	if (!rc && !(tree = jv_parse(d, json, strlen(json), NULL)))
		rc = errno == ENOMEM ? -ENOMEM : -EINVAL;
	if (rc)
		snprintf(err, sizeof(err), "cannot be written as JSON");
	else
		rc = p.is_service ? decode_service(tree, &p.svc, err, sizeof(err))
				  : decode_slice(tree, &p.sl, err, sizeof(err));
	if (!rc && p.is_service)
		rc = nodeports_in_range(c->ms, p.svc, err, sizeof(err));
	p.hash = json ? hmap_hash(json, strlen(json)) : 0;
	free(json);
	jv_doc_free(d);
	if (rc) {
		if (!c->quiet)
			log_error(COMP, "%s: %s %s/%s: %s", c->file, k->kind, ns ? ns : "default",
				  name ? name : "?", rc == -ENOMEM ? "out of memory" : err);
		mload_pending_free(&p); /* decoded, then refused (a nodePort out of range) */
		k8s_obj_free(o);
		c->err = rc;
		return rc;
	}
	k8s_obj_free(o);
	snprintf(p.key, sizeof(p.key), "%s/%s/%s", k->kind, p.is_service ? p.svc->ns : p.sl->ns,
		 p.is_service ? p.svc->name : p.sl->name);
	return add_pending(c, &p);
}

/* Parse text (all of path, or a document of it) into c. */
static int parse_text(struct load_ctx *c, const char *path, const char *text, size_t len)
{
	struct k8s_parse_opts po = {.validation = K8S_FV_STRICT,
				    .max_bytes = MAX_MANIFEST,
				    .origin = path,
				    .cache = c->ms->pcache};
	struct k8s_errors errs = {0};
	int rc = k8s_parse_stream(text, len, &po, on_object, c, &errs);

	if (rc && !c->err && !c->quiet) {
		char line[1024];

		k8s_errors_format(&errs, path, NULL, line, sizeof(line));
		log_error(COMP, "%s", line);
	}
	for (size_t i = 0; !c->quiet && i < errs.nwarn; i++)
		log_warn(COMP, "%s: %s", path, errs.warnings[i]);
	k8s_errors_free(&errs);
	return rc ? rc : c->err;
}

int mload_piece_cmp(const void *a, const void *b)
{
	const struct mpiece *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The document of f with these bytes (by hash and length), as last applied; or NULL. */
static const struct mpiece *piece_find(const struct mfile *f, uint64_t hash, size_t len)
{
	struct mpiece key = {.hash = hash, .len = len};

	if (!f || !f->npieces)
		return NULL;
	return bsearch(&key, f->pieces, f->npieces, sizeof(key), mload_piece_cmp);
}

/* An unchanged document's objects, from their records, which they claim: a second claim,
 * or a decoded object with the key, is the object defined twice. */
static int add_cached(struct load_ctx *c, struct mfile *f, const struct mpiece *pc)
{
	int rc = 0;

	for (size_t i = 0; i < pc->n && !rc; i++) {
		struct obj_rec *r = &f->objs[pc->first + i];
		struct pending p = {.hash = r->hash, .cached = true, .was = r};

		memcpy(p.key, r->key, strlen(r->key) + 1);
		p.is_service = !strncmp(r->key, "Service/", 8);
		if (r->mark != REC_GONE) {
			rc = defined_twice(c, &p);
		} else if (!(rc = reserve_pending(c))) {
			push_pending(c, &p);
			r->mark = REC_CLAIMED;
		}
	}
	c->ignored += pc->ignored;
	return rc;
}

static int push_piece(struct load_ctx *c, const struct mdoc *doc, size_t first, size_t ignored)
{
	if (c->npieces == c->cappieces) {
		size_t cap = c->cappieces ? c->cappieces * 2 : 64;
		void *q = realloc(c->pieces, cap * sizeof(*c->pieces));

		if (!q)
			return -ENOMEM;
		c->pieces = q;
		c->cappieces = cap;
	}
	c->pieces[c->npieces++] = (struct cpiece){.fidx = c->fidx,
						  .hash = doc->hash,
						  .len = doc->len,
						  .first = first,
						  .n = c->n - first,
						  .ignored = ignored};
	return 0;
}

/*
 * The file document by document: those whose bytes the last applied version of the file had
 * (was) come from their records, the others are parsed. Nothing is logged: on any failure
 * what this file added is taken back and the caller parses the file whole, whose errors are
 * the file's as they always were (and which does not depend on the documents' cut).
 */
static int load_pieces(struct load_ctx *c, struct mfile *was, const char *path, const char *buf,
		       size_t len)
{
	size_t mark = c->n, pmark = c->npieces, ign = c->ignored, ndocs;
	struct mdoc *docs;
	int rc = mdoc_split(buf, len, &docs, &ndocs);

	if (rc)
		return rc;
	c->quiet = true;
	for (size_t i = 0; i < ndocs && !rc; i++) {
		const struct mpiece *pc = piece_find(was, docs[i].hash, docs[i].len);
		size_t first = c->n, ign0 = c->ignored;

		c->cost.docs++;
		if (pc) {
			rc = add_cached(c, was, pc);
		} else {
			c->cost.docs_decoded++;
			rc = parse_text(c, path, buf + docs[i].off, docs[i].len);
		}
		if (!rc)
			rc = push_piece(c, &docs[i], first, c->ignored - ign0);
	}
	c->quiet = false;
	free(docs);
	if (rc) {
		for (size_t j = mark; j < c->n; j++) {
			if (c->v[j].was)
				c->v[j].was->mark = REC_GONE;
			if (!c->v[j].cached)
				hmap_sdel(c->keys, c->v[j].key);
			mload_pending_free(&c->v[j]);
		}
		c->n = mark;
		c->npieces = pmark;
		c->ignored = ign;
		c->err = 0;
	}
	return rc;
}

/* Read one file into c. A file that no longer exists contributes nothing; nor does a
 * directory (a directory of manifests is not read recursively, as kubectl's -f). */
int mload_file(struct load_ctx *c, const char *dir, size_t fidx, const char *name)
{
	struct mfile *was = c->ms->doc_cache ? hmap_sget(c->ms->files, name) : NULL;
	char path[8192];
	const char *why;
	char *buf = NULL;
	size_t len = 0;
	uint64_t t0 = mono_ns(), t1;
	int rc;

	if (dir)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	rc = mdoc_read_file(path, &buf, &len, &why);
	t1 = mono_ns();
	c->cost.read_ns += t1 - t0;
	if (rc == -ENOENT || rc == -EISDIR)
		return 0;
	if (rc) {
		if (why && rc != -EINVAL && rc != -EFBIG)
			log_error(COMP, "%s: %s: %s", path, why, strerror(-rc));
		else
			log_error(COMP, "%s: %s", path, why ? why : strerror(-rc));
		return rc;
	}
	c->file = name;
	c->fidx = fidx;
	rc = c->ms->doc_cache ? load_pieces(c, was, path, buf, len) : -EAGAIN;
	if (rc == -ENOMEM) {
		/* said, not absorbed by a second try: the caller reloads later */
		log_error(COMP, "%s: out of memory", path);
	} else if (rc) {
		/* the whole file in one parse: no documents to reuse next time */
		if (!c->ms->doc_cache) {
			c->cost.docs++;
			c->cost.docs_decoded++;
		}
		rc = parse_text(c, path, buf, len);
	}
	c->cost.decode_ns += mono_ns() - t1;
	free(buf);
	return rc;
}
