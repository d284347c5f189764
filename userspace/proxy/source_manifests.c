/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_manifests: Services and EndpointSlices from YAML/JSON manifests (one file or a
 * directory, not recursive, files in name order). Every reload parses everything; objects
 * whose canonical JSON is unchanged are not handed to the model again, so a reload that
 * edits one service costs one service's map updates. A reload with any invalid object
 * applies nothing: the last good state stays in the kernel.
 */
#define _GNU_SOURCE
#include "source.h"
#include "decode.h"
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
#include <unistd.h>

#define COMP	     "manifests"
#define MAX_MANIFEST (256u << 20) /* bytes per file */

struct manifests {
	struct proxy_source base;
	char path[4096];
	char watch_dir[4096];
	char watch_name[256]; /* file mode: the file's name in watch_dir */
	bool is_dir;
	int ifd;
	struct hmap *seen; /* "Kind/ns/name" -> malloc'd uint64_t hash of canonical JSON */
};

struct pending {
	char key[384];
	uint64_t hash;
	bool is_service;
	struct k8s_service *svc;
	struct k8s_slice *sl;
};

struct load_ctx {
	const char *file;
	struct pending *v;
	size_t n, cap;
	struct hmap *keys;
	int err;
	size_t ignored;
};

static bool wanted_file(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	ssize_t r;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	if ((size_t)st.st_size > MAX_MANIFEST) {
		close(fd);
		return -EFBIG;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size && (r = read(fd, *buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)r;
	close(fd);
	(*buf)[off] = '\0';
	*len = off;
	return 0;
}

static void pending_free(struct pending *p)
{
	k8s_service_free(p->svc);
	k8s_slice_free(p->sl);
}

static int on_object(struct k8s_obj *o, void *ud)
{
	struct load_ctx *c = ud;
	const struct k8s_kind *k = k8s_obj_kind(o);
	struct pending p;
	char err[512];
	char *json;
	int rc;

	memset(&p, 0, sizeof(p));
	if (!k || (strcmp(k->kind, "Service") && strcmp(k->kind, "EndpointSlice"))) {
		c->ignored++; /* other kinds may share the manifests; the proxy has no use for them */
		k8s_obj_free(o);
		return 0;
	}
	p.is_service = !strcmp(k->kind, "Service");
	rc = p.is_service ? decode_service(o, &p.svc, err, sizeof(err))
			  : decode_slice(o, &p.sl, err, sizeof(err));
	if (rc) {
		log_error(COMP, "%s: %s %s/%s: %s", c->file, k->kind,
			  k8s_obj_namespace(o) ? k8s_obj_namespace(o) : "default",
			  k8s_obj_name(o) ? k8s_obj_name(o) : "?",
			  rc == -ENOMEM ? "out of memory" : err);
		k8s_obj_free(o);
		c->err = rc;
		return rc;
	}
	snprintf(p.key, sizeof(p.key), "%s/%s/%s", k->kind, p.is_service ? p.svc->ns : p.sl->ns,
		 p.is_service ? p.svc->name : p.sl->name);
	if (hmap_sget(c->keys, p.key)) {
		log_error(COMP, "%s: %s %s: defined more than once", c->file, k->kind,
			  p.key + strlen(k->kind) + 1);
		pending_free(&p);
		k8s_obj_free(o);
		c->err = -EINVAL;
		return -EINVAL;
	}
	json = k8s_obj_to_json(o);
	p.hash = json ? hmap_hash(json, strlen(json)) : 0;
	free(json);
	k8s_obj_free(o);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		void *q = realloc(c->v, cap * sizeof(*c->v));

		if (!q) {
			pending_free(&p);
			return -ENOMEM;
		}
		c->v = q;
		c->cap = cap;
	}
	c->v[c->n++] = p;
	hmap_sput(c->keys, p.key, (void *)1, NULL);
	return 0;
}

static int load_file(struct load_ctx *c, const char *path)
{
	struct k8s_parse_opts po = {
	    .validation = K8S_FV_STRICT, .origin = path, .max_bytes = MAX_MANIFEST};
	struct k8s_errors errs = {0};
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = read_file(path, &buf, &len);
	if (rc) {
		log_error(COMP, "%s: %s", path, rc == -EFBIG ? "file too large" : strerror(-rc));
		return rc;
	}
	c->file = path;
	rc = k8s_parse_stream(buf, len, &po, on_object, c, &errs);
	if (rc && !c->err) {
		char line[1024];

		k8s_errors_format(&errs, path, NULL, line, sizeof(line));
		log_error(COMP, "%s", line);
	}
	for (size_t i = 0; i < errs.nwarn; i++)
		log_warn(COMP, "%s: %s", path, errs.warnings[i]);
	k8s_errors_free(&errs);
	free(buf);
	return rc ? rc : c->err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_all(struct manifests *ms, struct load_ctx *c)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (!ms->is_dir)
		return load_file(c, ms->path);
	d = opendir(ms->path);
	if (!d) {
		log_error(COMP, "%s: %s", ms->path, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d))) {
		if (!wanted_file(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				closedir(d);
				return -ENOMEM;
			}
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[8192];

		snprintf(path, sizeof(path), "%s/%s", ms->path, names[i]);
		if (!rc)
			rc = load_file(c, path);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int manifests_sync(struct proxy_source *s, struct proxy_model *m, bool *changed)
{
	struct manifests *ms = (struct manifests *)s;
	struct load_ctx c = {0};
	struct k8s_service **svcs = NULL;
	size_t nsvcs = 0, upserts = 0, deletes = 0;
	char msg[512];
	int rc;

	*changed = false;
	c.keys = hmap_new();
	if (!c.keys)
		return -ENOMEM;
	rc = load_all(ms, &c);
	if (!rc) {
		svcs = malloc((c.n ? c.n : 1) * sizeof(*svcs));
		if (!svcs)
			rc = -ENOMEM;
		for (size_t i = 0; i < c.n && svcs; i++) {
			if (c.v[i].is_service)
				svcs[nsvcs++] = c.v[i].svc;
		}
		if (!rc && model_check_conflicts(svcs, nsvcs, msg, sizeof(msg))) {
			log_error(COMP, "%s: %s", ms->path, msg);
			rc = -EINVAL;
		}
		free(svcs);
	}
	if (rc) {
		log_error(COMP, "%s: not applied; the last good configuration stays in place",
			  ms->path);
		goto out;
	}

	/* Apply the difference. */
	for (size_t i = 0; i < c.n; i++) {
		struct pending *p = &c.v[i];
		uint64_t *old = hmap_sget(ms->seen, p->key);

		if (old && *old == p->hash && p->hash)
			continue;
		if (!old) {
			old = malloc(sizeof(*old));
			if (!old || hmap_sput(ms->seen, p->key, old, NULL) < 0) {
				free(old);
				rc = -ENOMEM;
				goto out;
			}
		}
		*old = p->hash;
		if (p->is_service)
			model_set_service(m, p->svc);
		else
			model_set_slice(m, p->sl);
		p->svc = NULL;
		p->sl = NULL;
		upserts++;
	}
	{
		char **gone = NULL;
		size_t ngone = 0;

		for (struct hmap_entry *e = hmap_first(ms->seen); e; e = hmap_next(ms->seen, e)) {
			size_t klen;
			const char *k = hmap_entry_key(e, &klen);
			char key[384];

			snprintf(key, sizeof(key), "%.*s", (int)klen, k);
			if (hmap_sget(c.keys, key))
				continue;
			gone = realloc(gone, (ngone + 1) * sizeof(*gone));
			if (!gone)
				break;
			gone[ngone++] = strdup(key);
		}
		for (size_t i = 0; i < ngone; i++) {
			char *kind = gone[i], *ns = strchr(kind, '/'), *name;

			free(hmap_sdel(ms->seen, gone[i]));
			*ns++ = '\0';
			name = strchr(ns, '/');
			*name++ = '\0';
			if (!strcmp(kind, "Service"))
				model_del_service(m, ns, name);
			else
				model_del_slice(m, ns, name);
			deletes++;
			free(gone[i]);
		}
		free(gone);
	}
	*changed = upserts || deletes;
	if (c.ignored)
		log_info(COMP,
			 "%s: %zu objects (%zu changed, %zu removed; %zu of other kinds ignored)",
			 ms->path, c.n, upserts, deletes, c.ignored);
	else
		log_info(COMP, "%s: %zu objects (%zu changed, %zu removed)", ms->path, c.n, upserts,
			 deletes);
out:
	for (size_t i = 0; i < c.n; i++)
		pending_free(&c.v[i]);
	free(c.v);
	hmap_free(c.keys);
	return rc;
}

static int manifests_fd(struct proxy_source *s)
{
	return ((struct manifests *)s)->ifd;
}

static int manifests_dispatch(struct proxy_source *s, struct proxy_model *m, bool *changed)
{
	struct manifests *ms = (struct manifests *)s;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	ssize_t n;

	*changed = false;
	while ((n = read(ms->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && (ms->is_dir ? wanted_file(ev->name)
						   : !strcmp(ev->name, ms->watch_name)))
				relevant = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (!relevant)
		return 0;
	log_info(COMP, "%s changed: reloading", ms->path);
	return manifests_sync(s, m, changed);
}

static void manifests_free(struct proxy_source *s)
{
	struct manifests *ms = (struct manifests *)s;

	if (!ms)
		return;
	if (ms->ifd >= 0)
		close(ms->ifd);
	if (ms->seen) {
		for (struct hmap_entry *e = hmap_first(ms->seen); e; e = hmap_next(ms->seen, e))
			free(hmap_entry_val(e));
		hmap_free(ms->seen);
	}
	free(ms);
}

static const struct proxy_source_ops manifests_ops = {
    .name = "manifests",
    .sync = manifests_sync,
    .fd = manifests_fd,
    .dispatch = manifests_dispatch,
    .free = manifests_free,
};

struct proxy_source *source_manifests_new(const char *path)
{
	struct manifests *ms = calloc(1, sizeof(*ms));
	struct stat st;
	char tmp[4096];

	if (!ms)
		return NULL;
	ms->base.ops = &manifests_ops;
	ms->ifd = -1;
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
	ms->seen = hmap_new();
	if (!ms->seen)
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
