/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_admit: one object between decoding and storing it, as the strategy hooks see it
 * (api_strategy.h), and the helpers the hooks share to report causes with Kubernetes'
 * wording (field.Invalid, field.Required, ...).
 */
#ifndef DROVER_API_ADMIT_H
#define DROVER_API_ADMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "api_resources.h"
#include "k8s.h"
#include "k8s_jv.h"

struct registry;
struct reg_req;
struct api_result;

#define API_ADMIT_MAX_ALLOC 16

struct api_admit {
	struct registry *reg;
	struct jv_doc *d;
	const struct api_resource *res;
	/* the version the client wrote when res serves it by conversion (res is its storage),
	 * else NULL: a kind whose rules depend on the request's version reads it here */
	const struct api_resource *wire;
	struct jv *obj;	      /* the new object (modified in place) */
	const struct jv *old; /* the stored object for an update, else NULL */
	const char *sub;      /* subresource of the write, or NULL */
	bool dry_run;	      /* allocations are checked, not taken */
	/* the request (who asks: rq->user, NULL for the server's own writes) and its result,
	 * for a hook that answers with a Status of its own (authorize_write); NULL outside a
	 * registry call */
	const struct reg_req *rq;
	struct api_result *out;
	struct k8s_errors errs;
	/* an admission plugin's refusal: 403 `<resource> "<name>" is forbidden: <this>` */
	char forbidden[4096];
	/* the refusal is a mutating plugin's: it ran before a generated name existed, so it
	 * names the object by its generateName (admission.NewForbidden's extractResourceName) */
	bool forbidden_mutating;
	/* allocations made for this write (released if it fails) and the old object's to free
	 * once it succeeded */
	char new_ips[API_ADMIT_MAX_ALLOC][16];
	int new_ports[API_ADMIT_MAX_ALLOC];
	size_t nnew_ips, nnew_ports;
	char old_ips[API_ADMIT_MAX_ALLOC][16];
	int old_ports[API_ADMIT_MAX_ALLOC];
	size_t nold_ips, nold_ports;
};

/* Causes, worded as k8s.io/apimachinery/pkg/util/validation/field words them. */
void api_cause(struct api_admit *a, const char *field, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_cause_invalid(struct api_admit *a, const char *field, const struct jv *v, const char *why);
void api_cause_required(struct api_admit *a, const char *field, const char *detail);
/* Field.Forbidden: "Forbidden: <detail>" (FieldValueForbidden). */
void api_cause_forbidden(struct api_admit *a, const char *field, const char *detail);

/* What an admission plugin's lister reads: the stored objects of group/version/resource in ns
 * (NULL: cluster scope), parsed into a->d, as a JSON array (empty without a registry or when
 * the store fails; NULL only when out of memory). */
struct jv *api_admit_stored(struct api_admit *a, const char *group, const char *version,
			    const char *resource, const char *ns);
/* The same from the registry's admission cache (reg_cache_get), copied into a->d: for what
 * is read on every write (PriorityClasses, LimitRanges), with the same answer as a list. */
struct jv *api_admit_cached(struct api_admit *a, const char *group, const char *version,
			    const char *resource, const char *ns);
/* The stored object ns/name (ns NULL: cluster-scoped) of a resource, read into a->d, or NULL
 * when there is none (or it cannot be read). */
struct jv *api_admit_stored_one(struct api_admit *a, const char *group, const char *version,
				const char *resource, const char *ns, const char *name);

#endif
