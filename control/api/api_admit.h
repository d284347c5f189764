/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_admit: what happens to an object between decoding and storing it: Kubernetes'
 * defaulting (the schema's +default values and each kind's SetDefaults functions), the
 * admission plugins drover has (ServiceAccount, DefaultTolerationSeconds, Priority, Service
 * IP and NodePort allocation), and validation with field-level causes (422 Invalid).
 */
#ifndef DROVER_API_ADMIT_H
#define DROVER_API_ADMIT_H

#include "api_int.h"

#define API_ADMIT_MAX_ALLOC 16

struct api_admit {
	struct api_server *srv;
	struct jv_doc *d;
	const struct api_resource *res;
	struct jv *obj;	      /* the new object (modified in place) */
	const struct jv *old; /* the stored object for an update, else NULL */
	const char *sub;      /* subresource of the write, or NULL */
	struct k8s_errors errs;
	/* allocations made for this write (released if it fails) and the old object's to free
	 * once it succeeded */
	char new_ips[API_ADMIT_MAX_ALLOC][16];
	int new_ports[API_ADMIT_MAX_ALLOC];
	size_t nnew_ips, nnew_ports;
	char old_ips[API_ADMIT_MAX_ALLOC][16];
	int old_ports[API_ADMIT_MAX_ALLOC];
	size_t nold_ips, nold_ports;
};

/* Defaults of the object (create and update), pod-level admission on create. */
void api_admit_defaults(struct api_admit *a);
/* Validation: causes in a->errs; 0 or -EINVAL. */
int api_admit_validate(struct api_admit *a);
/* Allocations (Service ClusterIPs and NodePorts): causes in a->errs on failure. */
int api_admit_allocate(struct api_admit *a);
/* The write succeeded: free what the old object held and the new one no longer does. */
void api_admit_commit(struct api_admit *a);
/* The write failed: release what this write took. */
void api_admit_abort(struct api_admit *a);
/* A deleted object's allocations. */
void api_admit_release_deleted(struct api_server *s, const struct api_resource *res,
			       const struct jv *obj);
void api_admit_free(struct api_admit *a);

/* DNS-1123 names, for validation elsewhere. NULL if valid, else the message. */
#define API_DNS1123_SUBDOMAIN_MSG                                                                 \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' " \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "     \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"      \
	"[a-z0-9])?)*')"
const char *api_dns1123_subdomain_error(const char *s);
/* The same for s[0..n), which need not be NUL-terminated. */
const char *api_dns1123_subdomain_error_n(const char *s, size_t n);
const char *api_dns1123_label_error(const char *s);

#endif
