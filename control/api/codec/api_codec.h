/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_codec: bodies to object trees and back, with no transport in them. Decoding is
 * kube-apiserver's: JSON (k8s_jv), YAML (libfyaml in a child process, yaml.c) or protobuf
 * (pb.c), checked against the kind's schema with a fieldValidation level (Strict: unknown and
 * duplicate fields fail with 400, Warn: warnings, Ignore: dropped), apiVersion and kind
 * defaulted from the endpoint and checked against it. Failures and warnings go to an
 * api_result.
 */
#ifndef DROVER_API_CODEC_H
#define DROVER_API_CODEC_H

#include <stddef.h>

#include "api_result.h"
#include "k8s.h"
#include "k8s_jv.h"

/* A body as it arrived. */
struct api_body {
	const char *p;
	size_t len;
	const char *ctype; /* Content-Type (NULL: JSON) */
	size_t max;	   /* the server's body limit (YAML parsing is bounded by it) */
};

enum api_body_format {
	API_BODY_JSON,
	API_BODY_YAML,
	API_BODY_PROTOBUF,
};

/* The fieldValidation argument (NULL or "": Warn, kube-apiserver's default since 1.27):
 * 0, or -EINVAL with r set. */
int api_field_validation_parse(const char *arg, enum k8s_field_validation *out,
			       struct api_result *r);
/* A body of any format as type; NULL with r set. */
struct jv *api_decode_as(const struct api_body *body, struct jv_doc *d, const struct k8s_type *type,
			 enum k8s_field_validation fv, struct api_result *r);
/* A body as an object of kind (apiVersion/kind checked and defaulted). */
struct jv *api_decode_object(const struct api_body *body, struct jv_doc *d,
			     const struct k8s_kind *kind, enum k8s_field_validation fv,
			     struct api_result *r);
/* Fields of a decoded object of kind its schema does not name (a custom resource's, which its
 * structural schema prunes), reported as a built-in kind's unknown fields are: fv Strict
 * fails r (400 "strict decoding error: unknown field ..."), Warn adds warnings, Ignore
 * nothing. */
void api_decode_unknown_fields(struct api_result *r, const struct k8s_kind *kind,
			       const char *const *paths, size_t n, enum k8s_field_validation fv);
/* The body of a server-side apply (YAML or JSON; apiVersion and kind required). */
struct jv *api_decode_apply(const struct api_body *body, struct jv_doc *d,
			    const struct k8s_kind *kind, enum k8s_field_validation fv,
			    struct api_result *r);
/* An object tree an in-process client built, checked and normalized as a JSON body of the
 * kind would be (in place). 0 or -EINVAL/-ENOMEM with r set. */
int api_decode_tree(struct jv_doc *d, struct jv *o, const struct k8s_kind *kind,
		    enum k8s_field_validation fv, struct api_result *r);

/* Parse one YAML object as k8s_obj_parse does, in a child process (libfyaml must not take
 * the server down): 0 and *json (malloc'd canonical JSON), -EINVAL with errs filled (also
 * when the parser hangs or dies), or -errno. Warnings are added to errs either way. */
int api_yaml_parse(const char *buf, size_t len, const struct k8s_parse_opts *po,
		   struct k8s_errors *errs, char **json, size_t *jlen);

#endif
