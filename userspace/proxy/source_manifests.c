/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_manifests: Services and EndpointSlices from YAML/JSON manifests (one file or a
 * directory, not recursive, files in name order).
 *
 * Each file's objects are remembered (key, hash of canonical JSON, and a copy of each
 * Service for the conflict check), and so are its YAML documents (a hash of each one's bytes,
 * manifest_docs.h). A change notification re-reads only the files it names; SIGHUP and the
 * first load read them all. A document whose bytes are unchanged is not parsed or decoded
 * again (its objects are taken from the records, which they mark as claimed: no key lookup
 * per unchanged object), and objects whose JSON is unchanged are not handed to the model
 * again: editing one service inside a file of 10,000 costs reading and hashing the file, one
 * document's decode, the records' bookkeeping, the frontend conflict check over every
 * service, and one service's map updates. A reload with any invalid object, duplicate,
 * frontend conflict or file that cannot be read to its end applies nothing: the last good
 * state stays in the kernel.
 */
#define _GNU_SOURCE
#include "source_manifests_int.h"
#include "hmap.h"
#include "k8s.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMP "manifests"

static bool wanted_file(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static void mfile_free(struct mfile *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		k8s_service_free(f->objs[i].svc);
	free(f->objs);
	free(f->pieces);
	free(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of file names (malloc'd strings). */
struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int names_add(struct names *l, const char *name, size_t len)
{
	char *c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	c = strndup(name, len);
	if (!c)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

/* Every wanted file of the directory (or the one file), sorted. */
static int list_files(struct manifests *ms, struct names *out)
{
	struct dirent *e;
	int err = 0;
	DIR *d;

	memset(out, 0, sizeof(*out));
	if (!ms->is_dir)
		return names_add(out, ms->watch_name, strlen(ms->watch_name));
	d = opendir(ms->path);
	if (!d) {
		err = -errno;
		log_error(COMP, "%s: %s", ms->path, strerror(errno));
		return err;
	}
	while (!err && (e = readdir(d))) {
		if (wanted_file(e->d_name))
			err = names_add(out, e->d_name, strlen(e->d_name));
	}
	closedir(d);
	if (err) {
		names_free(out);
		return err;
	}
	qsort(out->v, out->n, sizeof(char *), cmp_str);
	return 0;
}

static bool in_list(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(names[i], name))
			return true;
	}
	return false;
}

static struct k8s_service *service_dup(const struct k8s_service *s)
{
	struct k8s_service *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *s;
	d->ports = d->nports ? malloc(s->nports * sizeof(*s->ports)) : NULL;
	d->external_ips = d->nexternal_ips ? malloc(s->nexternal_ips * sizeof(uint32_t)) : NULL;
	d->lb_ips = d->nlb_ips ? malloc(s->nlb_ips * sizeof(uint32_t)) : NULL;
	d->src_ranges = d->nsrc_ranges ? malloc(s->nsrc_ranges * sizeof(*s->src_ranges)) : NULL;
	if ((s->nports && !d->ports) || (s->nexternal_ips && !d->external_ips) ||
	    (s->nlb_ips && !d->lb_ips) || (s->nsrc_ranges && !d->src_ranges)) {
		k8s_service_free(d);
		return NULL;
	}
	if (s->nsrc_ranges)
		memcpy(d->src_ranges, s->src_ranges, s->nsrc_ranges * sizeof(*s->src_ranges));
	if (s->nports)
		memcpy(d->ports, s->ports, s->nports * sizeof(*s->ports));
	if (s->nexternal_ips)
		memcpy(d->external_ips, s->external_ips, s->nexternal_ips * sizeof(uint32_t));
	if (s->nlb_ips)
		memcpy(d->lb_ips, s->lb_ips, s->nlb_ips * sizeof(uint32_t));
	return d;
}

static int push_svc(struct k8s_service ***v, size_t *n, size_t *cap, struct k8s_service *s)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		void *p = realloc(*v, c * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/* The memory an apply needs, taken before the model is touched. */
struct plan {
	struct mfile **fresh;	   /* per re-read file: its records after this reload */
	struct k8s_service **copy; /* per pending object: a Service's copy for the record */
};

static void plan_free(struct plan *pl, size_t nfiles, size_t nobjs)
{
	for (size_t i = 0; pl->fresh && i < nfiles; i++)
		mfile_free(pl->fresh[i]);
	free(pl->fresh);
	for (size_t i = 0; pl->copy && i < nobjs; i++)
		k8s_service_free(pl->copy[i]);
	free(pl->copy);
}

/* The documents of the fresh files whose objects all have their records as read: the next
 * reload takes them from there when their bytes are the same. */
static void keep_pieces(const struct load_ctx *c, struct mfile **fresh, size_t nfiles)
{
	for (size_t i = 0; i < c->npieces; i++) {
		const struct cpiece *cp = &c->pieces[i];
		struct mfile *f = fresh[cp->fidx];
		size_t r0 = cp->n ? c->v[cp->first].rec : 0;
		bool ok = r0 != SIZE_MAX;

		for (size_t k = 1; k < cp->n && ok; k++)
			ok = c->v[cp->first + k].rec == r0 + k;
		if (ok)
			f->pieces[f->npieces++] = (struct mpiece){.hash = cp->hash,
								  .len = cp->len,
								  .first = r0,
								  .n = cp->n,
								  .ignored = cp->ignored};
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (fresh[i]->npieces) /* qsort's base must not be NULL, also for none */
			qsort(fresh[i]->pieces, fresh[i]->npieces, sizeof(struct mpiece),
			      mload_piece_cmp);
	}
}

/* The object is as the last reload of its file applied it (the same canonical JSON). */
static bool unchanged(const struct obj_rec *was, const struct pending *p)
{
	return was && was->hash == p->hash;
}

static int plan_make(struct manifests *ms, struct proxy_model *m, const struct load_ctx *c,
		     char **names, size_t n, struct plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->fresh = calloc(n ? n : 1, sizeof(*pl->fresh));
	pl->copy = calloc(c->n ? c->n : 1, sizeof(*pl->copy));
	if (!pl->fresh || !pl->copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		pl->fresh[i] = calloc(1, sizeof(*pl->fresh[i]));
		if (!pl->fresh[i])
			return -ENOMEM;
	}
	/* the objects' and the documents' counts per file, in n and npieces until allocated */
	for (size_t j = 0; j < c->n; j++)
		pl->fresh[c->v[j].fidx]->n++;
	for (size_t j = 0; j < c->npieces; j++)
		pl->fresh[c->pieces[j].fidx]->npieces++;
	for (size_t i = 0; i < n; i++) {
		struct mfile *nf = pl->fresh[i];
		size_t cnt = nf->n, pcnt = nf->npieces;

		nf->n = nf->npieces = 0;
		if ((cnt && !(nf->objs = calloc(cnt, sizeof(struct obj_rec)))) ||
		    (pcnt && !(nf->pieces = calloc(pcnt, sizeof(struct mpiece))))) {
			while (++i < n) /* counts, not records: nothing for plan_free */
				pl->fresh[i]->n = pl->fresh[i]->npieces = 0;
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		/* a file seen for the first time gets its slot now: the swap below allocates
		 * nothing */
		if (!hmap_sget(ms->files, names[i]) &&
		    hmap_sput(ms->files, names[i], NULL, NULL) < 0)
			return -ENOMEM;
	}
	for (size_t j = 0; j < c->n; j++) {
		const struct pending *p = &c->v[j];
		const struct obj_rec *was = p->was;
		int err;

		if (unchanged(was, p))
			continue; /* not set again: its record and copy carry over */
		if (p->cached) {
			/* cannot be: a document's records are its file's */
			log_error(COMP, "%s: %s: no record of the unchanged document's object",
				  p->file, p->key);
			return -EINVAL;
		}
		if (p->is_service && !(pl->copy[j] = service_dup(p->svc)))
			return -ENOMEM;
		err = p->is_service
			  ? model_reserve_service(m, p->svc->ns, p->svc->name)
			  : model_reserve_slice(m, p->sl->ns, p->sl->name, p->sl->service);
		if (err)
			return err;
	}
	return 0;
}

/* The records of the re-read files by key (they are distinct: every apply checks that). */
static int old_index(struct manifests *ms, char **names, size_t n, struct hmap **out)
{
	struct hmap *h = hmap_new();

	*out = h;
	for (size_t i = 0; h && i < n; i++) {
		struct mfile *f = hmap_sget(ms->files, names[i]);

		for (size_t j = 0; f && j < f->n; j++)
			if (hmap_sput(h, f->objs[j].key, &f->objs[j], NULL) < 0)
				return -ENOMEM;
	}
	return h ? 0 : -ENOMEM;
}

/* A reload that applies nothing leaves the records unmarked. */
static void marks_clear(struct hmap *old)
{
	for (struct hmap_entry *e = hmap_first(old); e; e = hmap_next(old, e))
		((struct obj_rec *)hmap_entry_val(e))->mark = REC_GONE;
}

/*
 * Re-read the files named in names[0..n) (every file when all) and apply the difference.
 * Files of this reload replace their previous contents; the others stay as they were.
 * A failure to read or check anything applies nothing, and so does running out of memory:
 * what the apply needs, the model's memory included (model_reserve_*), is taken before the
 * model is touched. Should a set fail all the same, the object keeps its old record (and its
 * old state in the model) so that the next reload applies it, and -ENOMEM says so.
 */
static int reload(struct manifests *ms, struct proxy_model *m, char **names, size_t n, bool all,
		  bool *changed, struct source_cost *cost)
{
	struct load_ctx c = {.ms = ms};
	struct k8s_service **svcs = NULL;
	size_t nsvcs = 0, upserts = 0, deletes = 0, capsvcs = 0, missed = 0;
	struct plan pl = {0};
	char msg[512];
	uint64_t t0 = 0;
	int rc = 0;

	*changed = false;
	c.keys = hmap_new();
	rc = old_index(ms, names, n, &c.old);
	if (!c.keys || rc) {
		hmap_free(c.keys);
		hmap_free(c.old);
		if (rc)
			log_error(COMP, "%s: out of memory", ms->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = mload_file(&c, ms->is_dir ? ms->path : ms->watch_dir, i, names[i]);
	t0 = mono_ns();

	/* The whole picture: objects of the other files, and the new ones. */
	for (struct hmap_entry *e = rc ? NULL : hmap_first(ms->files); e && !rc;
	     e = hmap_next(ms->files, e)) {
		size_t klen;
		const char *fname = hmap_entry_key(e, &klen);
		char name[256];
		struct mfile *f = hmap_entry_val(e);

		snprintf(name, sizeof(name), "%.*s", (int)klen, fname);
		if (!f || all || in_list(names, n, name))
			continue;
		for (size_t i = 0; i < f->n && !rc; i++) {
			const char *other = hmap_sget(c.keys, f->objs[i].key);

			if (other) {
				log_error(COMP, "%s: %s is also defined in %s", other,
					  f->objs[i].key, name);
				rc = -EINVAL;
			} else if (f->objs[i].svc) {
				rc = push_svc(&svcs, &nsvcs, &capsvcs, f->objs[i].svc);
			}
		}
	}
	for (size_t i = 0; i < c.n && !rc; i++) {
		if (c.v[i].is_service)
			rc = push_svc(&svcs, &nsvcs, &capsvcs,
				      c.v[i].cached ? c.v[i].was->svc : c.v[i].svc);
	}
	if (!rc) {
		msg[0] = '\0';
		rc = model_check_conflicts(svcs, nsvcs, msg, sizeof(msg));
		if (rc == -EINVAL)
			log_error(COMP, "%s: %s", ms->path, msg);
	}
	free(svcs);
	if (!rc)
		rc = plan_make(ms, m, &c, names, n, &pl);
	if (rc) {
		if (rc == -ENOMEM)
			log_error(COMP, "%s: out of memory", ms->path);
		log_error(COMP, "%s: not applied; the last good configuration stays in place",
			  ms->path);
		marks_clear(c.old);
		goto out;
	}

	/* Apply: new and changed objects, then those gone from the re-read files. */
	for (size_t i = 0; i < c.n; i++) {
		struct pending *p = &c.v[i];
		struct obj_rec *was = p->was;
		struct mfile *f = pl.fresh[p->fidx];
		struct obj_rec *r = &f->objs[f->n];
		int err = 0;

		if (!unchanged(was, p)) {
			if (p->is_service)
				err = model_set_service(m, p->svc);
			else
				err = model_set_slice(m, p->sl);
			p->svc = NULL; /* the model's now, also on error */
			p->sl = NULL;
		}
		if (err) {
			/* not taken: the model still has the old object, the record says so */
			missed++;
			rc = err;
			if (!was)
				continue;
			*r = *was;
			r->mark = REC_GONE;
			was->svc = NULL;
			f->n++;
			continue;
		}
		p->rec = f->n; /* the record is the object as read */
		if (unchanged(was, p)) {
			*r = *was; /* the record and its copy carry over */
			r->mark = REC_GONE;
			was->svc = NULL;
		} else {
			snprintf(r->key, sizeof(r->key), "%s", p->key);
			r->hash = p->hash;
			r->svc = pl.copy[i];
			pl.copy[i] = NULL;
			upserts++;
		}
		f->n++;
	}
	for (struct hmap_entry *e = hmap_first(c.old); e; e = hmap_next(c.old, e)) {
		struct obj_rec *was = hmap_entry_val(e);
		char key[KEY_MAX], *kind, *ns, *name;

		if (was->mark != REC_GONE)
			continue;
		snprintf(key, sizeof(key), "%s", was->key);
		kind = key;
		ns = strchr(kind, '/');
		*ns++ = '\0';
		name = strchr(ns, '/');
		*name++ = '\0';
		if (!strcmp(kind, "Service"))
			model_del_service(m, ns, name);
		else
			model_del_slice(m, ns, name);
		deletes++;
	}
	keep_pieces(&c, pl.fresh, n);
	for (size_t i = 0; i < n; i++) {
		void *prev = NULL;

		if (pl.fresh[i]->n || pl.fresh[i]->npieces) {
			hmap_sput(ms->files, names[i], pl.fresh[i], &prev); /* the slot exists */
			pl.fresh[i] = NULL;
		} else {
			prev = hmap_sdel(ms->files, names[i]);
		}
		mfile_free(prev);
	}
	*changed = upserts || deletes;
	c.cost.model_ns = mono_ns() - t0;
	if (missed)
		log_error(COMP,
			  "%s: out of memory: %zu object(s) not applied (they keep their last "
			  "state until the next reload)",
			  ms->path, missed);
	if (c.ignored)
		snprintf(msg, sizeof(msg), "; %zu of other kinds ignored", c.ignored);
	else
		msg[0] = '\0';
	log_info(COMP,
		 "%s: %zu file(s) read, %zu objects (%zu changed, %zu removed%s); %zu of %zu "
		 "document(s) decoded (%zu objects); read %.1f ms, decode %.1f ms, model %.1f ms",
		 ms->path, n, c.n, upserts, deletes, msg, c.cost.docs_decoded, c.cost.docs,
		 c.cost.objs_decoded, (double)c.cost.read_ns / 1e6, (double)c.cost.decode_ns / 1e6,
		 (double)c.cost.model_ns / 1e6);
	*cost = c.cost;
out:
	plan_free(&pl, n, c.n);
	for (size_t i = 0; i < c.n; i++)
		mload_pending_free(&c.v[i]);
	free(c.v);
	free(c.pieces);
	hmap_free(c.keys);
	hmap_free(c.old); /* its records are freed with their files, or kept */
	return rc;
}

/* Every file again (SIGHUP, the first load). */
static int manifests_reload(struct proxy_source *s, struct proxy_model *m, struct source_delta *d)
{
	struct manifests *ms = (struct manifests *)s;
	struct names names;
	int rc = list_files(ms, &names);

	size_t listed = names.n;

	d->changed = false;
	d->replaced = false;
	memset(&d->cost, 0, sizeof(d->cost));
	if (rc)
		return rc;
	/* Files that disappeared since the last full read count as read (and empty). The
	 * listing is sorted: a search, not a scan per file (10,000 files are 10^8 compares). */
	for (struct hmap_entry *e = hmap_first(ms->files); e && !rc; e = hmap_next(ms->files, e)) {
		size_t klen;
		const char *k = hmap_entry_key(e, &klen);
		char name[256], *np = name;

		snprintf(name, sizeof(name), "%.*s", (int)klen, k);
		if (!listed || !bsearch(&np, names.v, listed, sizeof(char *), cmp_str))
			rc = names_add(&names, k, klen);
	}
	if (!rc)
		rc = reload(ms, m, names.v, names.n, true, &d->changed, &d->cost);
	names_free(&names);
	return rc;
}

static int manifests_start(struct proxy_source *s, struct proxy_model *m, struct source_delta *d)
{
	struct manifests *ms = (struct manifests *)s;
	int rc = manifests_reload(s, m, d);

	ms->loaded = rc == 0;
	return rc;
}

/* Everything was read at start (or the proxy did not start). */
static bool manifests_synced(struct proxy_source *s)
{
	return ((struct manifests *)s)->loaded;
}

static int manifests_timeout(struct proxy_source *s)
{
	(void)s;
	return -1;
}

static int manifests_fd(struct proxy_source *s)
{
	return ((struct manifests *)s)->ifd;
}

static int manifests_dispatch(struct proxy_source *s, struct proxy_model *m, struct source_delta *d)
{
	struct manifests *ms = (struct manifests *)s;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct names names = {0};
	ssize_t r;
	int rc = 0;

	d->changed = false;
	d->replaced = false;
	memset(&d->cost, 0, sizeof(d->cost));
	while ((r = read(ms->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (!ev->len || !(ms->is_dir ? wanted_file(ev->name)
						     : !strcmp(ev->name, ms->watch_name)))
				continue;
			if (!rc && !in_list(names.v, names.n, ev->name))
				rc = names_add(&names, ev->name, strlen(ev->name));
		}
	}
	if (rc) {
		/* the events are consumed: only a full reload knows what changed now */
		log_error(COMP, "%s changed, out of memory: the next full reload will read it",
			  ms->path);
	} else if (names.n) {
		log_info(COMP, "%s changed (%zu file(s)): reloading them", ms->path, names.n);
		rc = reload(ms, m, names.v, names.n, false, &d->changed, &d->cost);
	}
	names_free(&names);
	return rc;
}

static void manifests_free(struct proxy_source *s)
{
	struct manifests *ms = (struct manifests *)s;

	if (!ms)
		return;
	if (ms->ifd >= 0)
		close(ms->ifd);
	if (ms->files) {
		for (struct hmap_entry *e = hmap_first(ms->files); e; e = hmap_next(ms->files, e))
			mfile_free(hmap_entry_val(e));
		hmap_free(ms->files);
	}
	k8s_parse_cache_free(ms->pcache);
	free(ms);
}

static const struct proxy_source_ops manifests_ops = {
    .name = "manifests",
    .start = manifests_start,
    .synced = manifests_synced,
    .fd = manifests_fd,
    .timeout_ms = manifests_timeout,
    .dispatch = manifests_dispatch,
    .reload = manifests_reload,
    .free = manifests_free,
};

struct proxy_source *source_manifests_new(const char *path, uint16_t nodeport_min,
					  uint16_t nodeport_max)
{
	struct manifests *ms = calloc(1, sizeof(*ms));
	struct stat st;
	char tmp[4096];

	if (!ms)
		return NULL;
	ms->base.ops = &manifests_ops;
	ms->ifd = -1;
	ms->nodeport_min = nodeport_min;
	ms->nodeport_max = nodeport_max;
	ms->doc_cache = !getenv("DROVER_MANIFESTS_DOC_CACHE") ||
			strcmp(getenv("DROVER_MANIFESTS_DOC_CACHE"), "0");
	snprintf(ms->path, sizeof(ms->path), "%s", path);
	if (stat(path, &st)) {
		log_error(COMP, "%s: %s", path, strerror(errno));
		goto fail;
	}
	ms->is_dir = S_ISDIR(st.st_mode);
	if (ms->is_dir) {
		snprintf(ms->watch_dir, sizeof(ms->watch_dir), "%s", path);
	} else {
		snprintf(tmp, sizeof(tmp), "%s", path);
		snprintf(ms->watch_dir, sizeof(ms->watch_dir), "%s", dirname(tmp));
		snprintf(tmp, sizeof(tmp), "%s", path);
		snprintf(ms->watch_name, sizeof(ms->watch_name), "%s", basename(tmp));
	}
	ms->files = hmap_new();
	ms->pcache = k8s_parse_cache_new();
	if (!ms->files || !ms->pcache)
		goto fail;
	ms->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ms->ifd < 0 || inotify_add_watch(ms->ifd, ms->watch_dir,
					     IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
						 IN_DELETE | IN_CREATE) < 0)
		log_warn(COMP, "%s: cannot watch for changes (%s); reload with SIGHUP",
			 ms->watch_dir, strerror(errno));
	return &ms->base;
fail:
	manifests_free(&ms->base);
	return NULL;
}
