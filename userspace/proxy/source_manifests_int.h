/* SPDX-License-Identifier: Apache-2.0 */
/* source_manifests_int.h: the manifests source's state, shared by source_manifests.c (files,
 * reloads, the apply) and manifest_load.c (reading a file into a reload's objects). */
#ifndef DROVER_SOURCE_MANIFESTS_INT_H
#define DROVER_SOURCE_MANIFESTS_INT_H

#include "hmap.h"
#include "manifest_docs.h"
#include "model.h"
#include "source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MAX_MANIFEST MDOC_MAX_FILE /* bytes per file */
#define KEY_MAX	     384

/* One object as applied: what the model holds, by key. */
struct obj_rec {
	char key[KEY_MAX]; /* "Kind/namespace/name" */
	uint64_t hash;
	struct k8s_service *svc; /* Services: a copy, for the next conflict check */
	uint8_t mark;		 /* during a reload of its file: enum rec_mark */
};

/* What a reload read for a record of a re-read file (REC_GONE outside reloads). */
enum rec_mark {
	REC_GONE,    /* nothing: the object is deleted */
	REC_CLAIMED, /* an unchanged document holds it, as it is */
	REC_TAKEN,   /* a decoded object has its key (changed, or not) */
};

/* A document of a file as the last reload applied it: its objects are objs[first, first+n). */
struct mpiece {
	uint64_t hash; /* of its bytes */
	size_t len;
	size_t first, n;
	size_t ignored; /* objects of other kinds in it */
};

struct mfile {
	struct obj_rec *objs;
	size_t n;
	struct mpiece *pieces; /* sorted by hash and length */
	size_t npieces;
};

struct manifests {
	struct proxy_source base;
	char path[4096];
	char watch_dir[4096];
	char watch_name[256]; /* file mode: the file's name in watch_dir */
	bool is_dir;
	bool loaded;			     /* start() read everything */
	uint16_t nodeport_min, nodeport_max; /* as the API server's --nodeport-range */
	bool doc_cache; /* reuse unchanged documents (off: DROVER_MANIFESTS_DOC_CACHE=0) */
	int ifd;
	struct hmap *files;		/* file name -> mfile */
	struct k8s_parse_cache *pcache; /* one libfyaml parser for all the documents */
};

/* An object read in this reload, not applied yet. */
struct pending {
	char key[KEY_MAX];
	uint64_t hash;
	bool is_service;
	struct k8s_service *svc;
	struct k8s_slice *sl;
	const char *file;
	size_t fidx;	     /* file's index in the reload's names */
	bool cached;	     /* from an unchanged document: svc and sl are NULL */
	struct obj_rec *was; /* the record of its key before this reload, if any */
	size_t rec;	     /* its record in the file after the apply, or SIZE_MAX */
};

/* A document read in this reload: its objects are the pendings [first, first+n). */
struct cpiece {
	size_t fidx;
	uint64_t hash;
	size_t len, first, n, ignored;
};

struct load_ctx {
	const struct manifests *ms;
	const char *file;
	size_t fidx;
	bool quiet; /* a trial parse: errors are not logged (the whole file's parse says them) */
	struct pending *v;
	size_t n, cap;
	struct cpiece *pieces;
	size_t npieces, cappieces;
	struct hmap *keys; /* keys of the objects decoded in this reload -> their file */
	struct hmap *old;  /* key -> struct obj_rec *, of the re-read files before the reload */
	int err;
	size_t ignored;
	struct source_cost cost;
};

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* manifest_load.c */

/* Free what p owns (its decoded object, if any). */
void mload_pending_free(struct pending *p);
/* Order of struct mpiece: by hash, then length (mfile.pieces is sorted so). */
int mload_piece_cmp(const void *a, const void *b);
/* Read file name (of dir, or a path when dir is NULL) into c as the reload's file fidx: its
 * unchanged documents from the records of its last applied version, the others parsed and
 * decoded. 0; an error is logged (a file gone or a directory contributes nothing). */
int mload_file(struct load_ctx *c, const char *dir, size_t fidx, const char *name);

#endif
