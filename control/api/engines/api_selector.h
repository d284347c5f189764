/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_selector: label selectors (equality and set-based, as k8s.io/apimachinery/pkg/labels
 * parses them) and field selectors (the fields each resource lets a list select by), parsed
 * from a request and matched against objects. A parsed selector owns its strings.
 */
#ifndef DROVER_API_SELECTOR_H
#define DROVER_API_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "api_resources.h"
#include "k8s_jv.h"

struct api_selector;

/* Parse labelSelector and fieldSelector (either may be NULL or ""). Returns 0, or -EINVAL
 * with msg set (the request's 400 message), or -ENOMEM. *out is NULL when both are empty. */
int api_selector_parse(const char *labels, const char *fields, const struct api_resource *res,
		       struct api_selector **out, char *msg, size_t msglen);
bool api_selector_match(const struct api_selector *s, const struct jv *obj);
/* The value an equality field selector requires of field (field=x), or NULL: what a watch
 * index files the watch under (the kubelet's spec.nodeName=<node>). */
const char *api_selector_field_eq(const struct api_selector *s, const char *field);
/* The object name an equality field selector pins (metadata.name=x), or NULL. */
const char *api_selector_name(const struct api_selector *s);
void api_selector_free(struct api_selector *s);

/* A label selector object (matchLabels + matchExpressions) as a string, as
 * metav1.FormatLabelSelector writes it ("app=x,tier in (a,b)"); "<none>" for an empty one.
 * Writes into buf (always NUL-terminated). */
void api_label_selector_string(const struct jv *sel, char *buf, size_t size);
/* A label selector object matches a set of labels (an object of string values). */
bool api_label_selector_matches(const struct jv *sel, const struct jv *labels);

/* Syntax of label keys and values (used by validation too). NULL if valid, else why. */
const char *api_label_key_error(const char *key, size_t len);
const char *api_label_value_error(const char *value, size_t len);

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
/* IsValidPortName (an IANA_SVC_NAME): its messages in its order, into msgs; how many (0:
 * valid). */
size_t api_port_name_errors(const char *s, const char *msgs[5]);

#endif
