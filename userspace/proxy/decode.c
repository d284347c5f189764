/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode: Service / EndpointSlice objects as jv trees (the project's object model for
 * consumers, k8s_jv.h) -> the proxy's Service and EndpointSlice structs. One decoder for
 * every source: the API watch hands it the objects the client parsed, the manifests source
 * the trees of its schema-checked YAML/JSON documents.
 *
 * What is checked here is what a schema cannot say: IP syntax, port ranges, duplicate ports,
 * timeouts. Errors name the field the way the API server does: "spec.ports[1].port: Invalid
 * value: 70000: must be between 1 and 65535, inclusive". Any tree is safe to decode: a field
 * of the wrong type reads as absent (or fails as its check says), never as something else.
 */
#include "decode.h"
#include "drover_abi.h"
#include "k8s.h"
#include "k8s_jv.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "decode"

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* IPv4 dotted quad -> network order. 1: IPv4, 0: a valid IPv6 address (not served), -1: bad. */
static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a) == 1) {
		*out = a.s_addr;
		return 1;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return 0;
	return -1;
}

static int push_ip(uint32_t **v, size_t *n, uint32_t ip)
{
	uint32_t *p = realloc(*v, (*n + 1) * sizeof(**v));

	if (!p)
		return -ENOMEM;
	p[(*n)++] = ip;
	*v = p;
	return 0;
}

static int parse_proto(const char *s, uint8_t *out)
{
	if (!s || !strcmp(s, "TCP"))
		*out = DRV_PROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*out = DRV_PROTO_UDP;
	else
		return -1;
	return 0;
}

static const char *proto_name(uint8_t p)
{
	return p == DRV_PROTO_UDP ? "UDP" : "TCP";
}

/* The string v is, or NULL (absent, null, another type). */
static const char *as_str(const struct jv *v)
{
	return v && v->type == JV_STRING ? v->s : NULL;
}

/* The boolean at path: 0 with *out, -1 when absent, null or not a boolean. */
static int get_bool(const struct jv *v, const char *path, bool *out)
{
	const struct jv *b = jv_path(v, path);

	if (!b || (b->type != JV_TRUE && b->type != JV_FALSE))
		return -1;
	*out = b->type == JV_TRUE;
	return 0;
}

/* The array at path, or NULL (absent or another type). */
static const struct jv *get_array(const struct jv *v, const char *path)
{
	const struct jv *a = jv_path(v, path);

	return a && a->type == JV_ARRAY ? a : NULL;
}

/* A list of IP strings at path (externalIPs). */
static int decode_ip_list(const struct jv *spec, const char *path, uint32_t **v, size_t *n,
			  char *err, size_t errlen)
{
	const struct jv *list = get_array(spec, path);
	int idx = 0;

	for (const struct jv *it = jv_first(list); it; it = it->next) {
		const char *s = as_str(it);
		uint32_t ip;
		int r;

		if (!s)
			return fail(err, errlen, "spec.%s[%d]: Invalid value: must be a string",
				    path, idx);
		r = parse_ip(s, &ip);
		if (r < 0)
			return fail(
			    err, errlen,
			    "spec.%s[%d]: Invalid value: \"%s\": must be a valid IP address", path,
			    idx, s);
		if (r == 1 && push_ip(v, n, ip))
			return -ENOMEM;
		idx++;
	}
	return 0;
}

/* targetPort, an IntOrString: a number, or a string that is a number or a port name. */
static int decode_target_port(const struct jv *tp, struct svc_port *sp, int idx, char *err,
			      size_t errlen)
{
	int64_t v;

	if (tp && tp->type == JV_NUMBER && jv_int(tp, &v) == 0) {
		if (v < 1 || v > 65535)
			return fail(err, errlen,
				    "spec.ports[%d].targetPort: Invalid value: %lld: must be "
				    "between 1 and 65535, inclusive",
				    idx, (long long)v);
		sp->target_port = (uint16_t)v;
	} else if (tp && tp->type == JV_STRING) {
		/* "8080" as a string is still a number (IntOrString parses it). */
		char buf[64];
		char *end;
		long num;

		if (tp->len == 0 || tp->len >= sizeof(sp->target_name))
			return fail(err, errlen,
				    "spec.ports[%d].targetPort: Invalid value: \"%.*s\": must be a "
				    "port name of 1-15 characters",
				    idx, (int)tp->len, tp->s);
		memcpy(buf, tp->s, tp->len);
		buf[tp->len] = '\0';
		num = strtol(buf, &end, 10);
		if (*end == '\0' && num >= 1 && num <= 65535) {
			sp->target_port = (uint16_t)num;
		} else {
			sp->target_named = true;
			snprintf(sp->target_name, sizeof(sp->target_name), "%s", buf);
		}
	}
	return 0;
}

static int decode_ports(const struct jv *spec, struct k8s_service *svc, char *err, size_t errlen)
{
	const struct jv *ports = get_array(spec, "ports");
	size_t n = jv_count(ports);
	int idx = 0, rc;

	if (!ports)
		return 0;
	svc->ports = calloc(n ? n : 1, sizeof(*svc->ports));
	if (!svc->ports)
		return -ENOMEM;
	for (const struct jv *p = jv_first(ports); p; p = p->next) {
		struct svc_port *sp = &svc->ports[svc->nports];
		const char *s;
		int64_t v = 0;

		s = jv_path_str(p, "name");
		if (s)
			snprintf(sp->name, sizeof(sp->name), "%s", s);
		s = jv_path_str(p, "protocol");
		if (parse_proto(s, &sp->proto)) {
			if (s && !strcmp(s, "SCTP")) {
				log_warn(COMP,
					 "Service %s/%s: spec.ports[%d]: SCTP is not served by "
					 "drover; port skipped",
					 svc->ns, svc->name, idx);
				memset(sp, 0, sizeof(*sp));
				idx++;
				continue;
			}
			return fail(err, errlen,
				    "spec.ports[%d].protocol: Unsupported value: \"%s\": supported "
				    "values: \"TCP\", \"UDP\"",
				    idx, s);
		}
		if (jv_path_int(p, "port", &v))
			return fail(err, errlen, "spec.ports[%d].port: Required value", idx);
		if (v < 1 || v > 65535)
			return fail(err, errlen,
				    "spec.ports[%d].port: Invalid value: %lld: must be between 1 "
				    "and 65535, inclusive",
				    idx, (long long)v);
		sp->port = (uint16_t)v;
		v = 0;
		if (jv_path_int(p, "nodePort", &v) == 0 && (v < 0 || v > 65535))
			return fail(err, errlen,
				    "spec.ports[%d].nodePort: Invalid value: %lld: must be between "
				    "1 and 65535, inclusive",
				    idx, (long long)v);
		sp->node_port = (uint16_t)v;
		rc = decode_target_port(jv_get(p, "targetPort"), sp, idx, err, errlen);
		if (rc)
			return rc;
		for (size_t j = 0; j < svc->nports; j++) {
			if (svc->ports[j].port == sp->port && svc->ports[j].proto == sp->proto)
				return fail(err, errlen,
					    "spec.ports[%d]: Duplicate value: \"%u/%s\"", idx,
					    sp->port, proto_name(sp->proto));
			if (sp->name[0] && !strcmp(svc->ports[j].name, sp->name))
				return fail(err, errlen,
					    "spec.ports[%d].name: Duplicate value: \"%s\"", idx,
					    sp->name);
			if (sp->node_port && svc->ports[j].node_port == sp->node_port &&
			    svc->ports[j].proto == sp->proto)
				return fail(err, errlen,
					    "spec.ports[%d].nodePort: Duplicate value: \"%u/%s\"",
					    idx, sp->node_port, proto_name(sp->proto));
		}
		if (svc->nports > 0 && (!sp->name[0] || !svc->ports[0].name[0]))
			return fail(err, errlen,
				    "spec.ports[%d].name: Required value: when multiple ports are "
				    "specified, every port must have a name",
				    idx);
		svc->nports++;
		idx++;
	}
	return 0;
}

/* type, clusterIP and clusterIPs (the first of clusterIPs is clusterIP). */
static int decode_addresses(const struct jv *spec, struct k8s_service *svc, char *err,
			    size_t errlen)
{
	const char *s = jv_path_str(spec, "type");
	int idx = 0;

	if (s) {
		svc->load_balancer = !strcmp(s, "LoadBalancer");
		if (!strcmp(s, "NodePort") || !strcmp(s, "LoadBalancer"))
			svc->node_ports = true;
		else if (!strcmp(s, "ExternalName"))
			svc->external_name = true;
		else if (strcmp(s, "ClusterIP") != 0)
			return fail(
			    err, errlen,
			    "spec.type: Unsupported value: \"%s\": supported values: "
			    "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
			    s);
	}
	s = jv_path_str(spec, "clusterIP");
	if (s && *s) {
		if (!strcmp(s, "None")) {
			svc->headless = true;
		} else {
			uint32_t ip;
			int r = parse_ip(s, &ip);

			if (r < 0)
				return fail(
				    err, errlen,
				    "spec.clusterIP: Invalid value: \"%s\": must be a valid "
				    "IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
				    s);
			if (r == 1)
				svc->cluster_ips[svc->ncluster_ips++] = ip;
		}
	}
	for (const struct jv *it = jv_first(get_array(spec, "clusterIPs")); it; it = it->next) {
		uint32_t ip;
		int r;

		s = as_str(it);
		if (!s || !strcmp(s, "None")) {
			idx++;
			continue;
		}
		r = parse_ip(s, &ip);
		if (r < 0)
			return fail(
			    err, errlen,
			    "spec.clusterIPs[%d]: Invalid value: \"%s\": must be a valid IP "
			    "address",
			    idx, s);
		if (r == 1 && svc->ncluster_ips < 2 &&
		    !(svc->ncluster_ips && svc->cluster_ips[0] == ip))
			svc->cluster_ips[svc->ncluster_ips++] = ip;
		idx++;
	}
	return 0;
}

/* sessionAffinity (+ its timeout) and the two traffic policies. */
static int decode_policies(const struct jv *spec, struct k8s_service *svc, char *err, size_t errlen)
{
	const char *s = jv_path_str(spec, "sessionAffinity");
	int64_t v;

	if (s) {
		if (!strcmp(s, "ClientIP"))
			svc->affinity = true;
		else if (strcmp(s, "None") != 0)
			return fail(err, errlen,
				    "spec.sessionAffinity: Unsupported value: \"%s\": supported "
				    "values: \"ClientIP\", \"None\"",
				    s);
	}
	if (jv_path_int(spec, "sessionAffinityConfig.clientIP.timeoutSeconds", &v) == 0) {
		if (v < 1 || v > 86400)
			return fail(err, errlen,
				    "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid "
				    "value: %lld: must be greater than 0 and less than 86400",
				    (long long)v);
		svc->affinity_timeout = (uint32_t)v;
	}
	s = jv_path_str(spec, "externalTrafficPolicy");
	if (s) {
		if (!strcmp(s, "Local"))
			svc->etp_local = true;
		else if (strcmp(s, "Cluster") != 0)
			return fail(err, errlen,
				    "spec.externalTrafficPolicy: Unsupported value: \"%s\": "
				    "supported values: \"Cluster\", \"Local\"",
				    s);
	}
	v = 0;
	if (jv_path_int(spec, "healthCheckNodePort", &v) == 0 && (v < 0 || v > 65535))
		return fail(err, errlen,
			    "spec.healthCheckNodePort: Invalid value: %lld: must be between 1 and "
			    "65535, inclusive",
			    (long long)v);
	svc->hc_node_port = (uint16_t)v;
	s = jv_path_str(spec, "internalTrafficPolicy");
	if (s) {
		if (!strcmp(s, "Local"))
			svc->itp_local = true;
		else if (strcmp(s, "Cluster") != 0)
			return fail(err, errlen,
				    "spec.internalTrafficPolicy: Unsupported value: \"%s\": "
				    "supported values: \"Cluster\", \"Local\"",
				    s);
	}
	return 0;
}

/* spec.loadBalancerSourceRanges as the API validates them (the field path keeps the
 * capital L of its historical name; values may be space-padded; host bits may be set). */
static int decode_src_ranges(const struct jv *spec, struct k8s_service *svc, char *err,
			     size_t errlen)
{
	int idx = 0;

	for (const struct jv *it = jv_first(get_array(spec, "loadBalancerSourceRanges")); it;
	     it = it->next, idx++) {
		const char *raw = it->type == JV_STRING ? it->s : NULL;
		char buf[64], *slash, *end;
		size_t len;
		unsigned long plen;
		struct in6_addr a6;
		struct in_addr a4;
		void *q;

		if (!svc->load_balancer)
			return fail(err, errlen,
				    "spec.LoadBalancerSourceRanges: Forbidden: may only be used "
				    "when `type` is 'LoadBalancer'");
		while (raw && isspace((unsigned char)*raw))
			raw++;
		len = raw ? strlen(raw) : 0;
		while (len && isspace((unsigned char)raw[len - 1]))
			len--;
		if (!raw || len == 0 || len >= sizeof(buf))
			goto bad;
		memcpy(buf, raw, len);
		buf[len] = 0;
		slash = strchr(buf, '/');
		if (!slash || !isdigit((unsigned char)slash[1]))
			goto bad;
		*slash = 0;
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (*end || errno)
			goto bad;
		if (inet_pton(AF_INET6, buf, &a6) == 1 && !strchr(buf, '.')) {
			if (plen > 128)
				goto bad;
			svc->src_filtered = true; /* an IPv6 range: no IPv4 source matches it */
			continue;
		}
		if (inet_pton(AF_INET, buf, &a4) != 1 || plen > 32)
			goto bad;
		svc->src_filtered = true;
		q = realloc(svc->src_ranges, (svc->nsrc_ranges + 1) * sizeof(*svc->src_ranges));
		if (!q)
			return -ENOMEM;
		svc->src_ranges = q;
		svc->src_ranges[svc->nsrc_ranges].addr =
		    plen ? a4.s_addr & htonl(~0u << (32 - plen)) : 0;
		svc->src_ranges[svc->nsrc_ranges].len = (uint8_t)plen;
		svc->nsrc_ranges++;
		continue;
	bad:
		return fail(err, errlen,
			    "spec.LoadBalancerSourceRanges[%d]: Invalid value: \"%s\": must be a "
			    "valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
			    idx, raw ? raw : "");
	}
	return 0;
}

/* LoadBalancer ingress IPs, as a cloud controller writes them into status. */
static int decode_ingress(const struct jv *obj, struct k8s_service *svc, char *err, size_t errlen)
{
	int idx = 0;

	for (const struct jv *it = jv_first(get_array(obj, "status.loadBalancer.ingress")); it;
	     it = it->next, idx++) {
		const char *s = jv_path_str(it, "ip"), *mode = jv_path_str(it, "ipMode");
		uint32_t ip;
		int r;

		if (mode && strcmp(mode, "VIP") && strcmp(mode, "Proxy"))
			return fail(err, errlen,
				    "status.loadBalancer.ingress[%d].ipMode: Unsupported value: "
				    "\"%s\": supported values: \"Proxy\", \"VIP\"",
				    idx, mode);
		if (!s)
			continue;
		r = parse_ip(s, &ip);
		if (r < 0)
			return fail(err, errlen,
				    "status.loadBalancer.ingress[%d].ip: Invalid value: \"%s\": "
				    "must be a valid IP address",
				    idx, s);
		/* ipMode Proxy: the load balancer proxies to the nodes itself; kube-proxy does
		 * not take the address as its own (it would short-circuit traffic meant for the
		 * load balancer) */
		if (mode && !strcmp(mode, "Proxy"))
			continue;
		if (r == 1 && push_ip(&svc->lb_ips, &svc->nlb_ips, ip))
			return -ENOMEM;
	}
	return 0;
}

int decode_service(const struct jv *obj, struct k8s_service **out, char *err, size_t errlen)
{
	const char *name = jv_path_str(obj, "metadata.name");
	const char *ns = jv_path_str(obj, "metadata.namespace");
	const struct jv *spec;
	struct k8s_service *svc;
	int rc;

	*out = NULL;
	if (!name)
		return fail(err, errlen, "metadata.name: Required value");
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	snprintf(svc->ns, sizeof(svc->ns), "%s", ns ? ns : "default");
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	svc->affinity_timeout = 10800;
	/* kube-proxy watches Services with "!service.kubernetes.io/service-proxy-name": one that
	 * carries the label (whatever its value) belongs to another proxy; the API source asks
	 * the server for the same selector */
	svc->other_proxy =
	    jv_path(obj, "metadata.labels[service.kubernetes.io/service-proxy-name]") != NULL;
	spec = jv_get(obj, "spec");
	if (!spec || spec->type == JV_NULL) {
		*out = svc; /* a Service without spec has no frontend */
		return 0;
	}
	rc = decode_addresses(spec, svc, err, errlen);
	if (!rc)
		rc = decode_ports(spec, svc, err, errlen);
	if (!rc)
		rc = decode_ip_list(spec, "externalIPs", &svc->external_ips, &svc->nexternal_ips,
				    err, errlen);
	if (!rc)
		rc = decode_policies(spec, svc, err, errlen);
	if (!rc)
		rc = decode_src_ranges(spec, svc, err, errlen);
	if (!rc)
		rc = decode_ingress(obj, svc, err, errlen);
	if (rc) {
		k8s_service_free(svc);
		return rc;
	}
	*out = svc;
	return 0;
}

static int decode_slice_ports(const struct jv *obj, struct k8s_slice *sl, char *err, size_t errlen)
{
	const struct jv *list = get_array(obj, "ports");
	size_t n = jv_count(list);
	int idx = 0;

	if (!list)
		return 0;
	sl->ports = calloc(n ? n : 1, sizeof(*sl->ports));
	if (!sl->ports)
		return -ENOMEM;
	for (const struct jv *it = jv_first(list); it; it = it->next, idx++) {
		struct slice_port *p = &sl->ports[sl->nports];
		const char *s = jv_path_str(it, "name");
		int64_t v;

		if (s)
			snprintf(p->name, sizeof(p->name), "%s", s);
		if (parse_proto(jv_path_str(it, "protocol"), &p->proto)) {
			memset(p, 0, sizeof(*p));
			continue; /* SCTP endpoints: nothing drover serves */
		}
		if (jv_path_int(it, "port", &v) == 0) {
			if (v < 1 || v > 65535)
				return fail(
				    err, errlen,
				    "ports[%d].port: Invalid value: %lld: must be between 1 "
				    "and 65535, inclusive",
				    idx, (long long)v);
			p->port = (uint16_t)v;
		}
		sl->nports++;
	}
	return 0;
}

static int decode_endpoints(const struct jv *obj, struct k8s_slice *sl, char *err, size_t errlen)
{
	const struct jv *list = get_array(obj, "endpoints");
	size_t n = jv_count(list);
	int idx = 0;

	if (!list)
		return 0;
	sl->eps = calloc(n ? n : 1, sizeof(*sl->eps));
	if (!sl->eps)
		return -ENOMEM;
	for (const struct jv *it = jv_first(list); it; it = it->next, idx++) {
		struct slice_endpoint *ep = &sl->eps[sl->neps];
		const char *s = jv_path_str(it, "addresses[0]");
		bool b;
		int r;

		if (!s)
			return fail(err, errlen, "endpoints[%d].addresses: Required value", idx);
		r = parse_ip(s, &ep->addr);
		if (sl->ipv4 && r != 1)
			return fail(err, errlen,
				    "endpoints[%d].addresses[0]: Invalid value: \"%s\": must be a "
				    "valid IPv4 address",
				    idx, s);
		ep->ready = get_bool(it, "conditions.ready", &b) == 0 ? b : true;
		ep->serving = get_bool(it, "conditions.serving", &b) == 0 ? b : ep->ready;
		ep->terminating = get_bool(it, "conditions.terminating", &b) == 0 ? b : false;
		s = jv_path_str(it, "nodeName");
		if (s)
			snprintf(ep->node, sizeof(ep->node), "%s", s);
		sl->neps++;
	}
	return 0;
}

int decode_slice(const struct jv *obj, struct k8s_slice **out, char *err, size_t errlen)
{
	const char *name = jv_path_str(obj, "metadata.name");
	const char *ns = jv_path_str(obj, "metadata.namespace");
	struct k8s_slice *sl;
	const char *s;
	int rc;

	*out = NULL;
	if (!name)
		return fail(err, errlen, "metadata.name: Required value");
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	snprintf(sl->ns, sizeof(sl->ns), "%s", ns ? ns : "default");
	snprintf(sl->name, sizeof(sl->name), "%s", name);
	s = jv_path_str(obj, "metadata.labels[kubernetes.io/service-name]");
	if (s)
		snprintf(sl->service, sizeof(sl->service), "%s", s);
	s = jv_path_str(obj, "addressType");
	if (!s) {
		rc = fail(err, errlen, "addressType: Required value");
		goto bad;
	}
	sl->ipv4 = strcmp(s, "IPv4") == 0;
	if (strcmp(s, "IPv4") && strcmp(s, "IPv6") && strcmp(s, "FQDN")) {
		rc = fail(err, errlen,
			  "addressType: Unsupported value: \"%s\": supported values: \"FQDN\", "
			  "\"IPv4\", \"IPv6\"",
			  s);
		goto bad;
	}
	rc = decode_slice_ports(obj, sl, err, errlen);
	if (!rc)
		rc = decode_endpoints(obj, sl, err, errlen);
	if (rc)
		goto bad;
	*out = sl;
	return 0;
bad:
	k8s_slice_free(sl);
	return rc;
}

/* The manifests' front end: a schema-checked libfyaml object as Kubernetes' JSON, then the
 * one decoder. */
static int obj_tree(struct k8s_obj *o, struct jv_doc **d, struct jv **t, char *err, size_t errlen)
{
	char *json = k8s_obj_to_json(o);

	*d = NULL;
	*t = NULL;
	if (!json)
		return errno == ENOMEM ? -ENOMEM : fail(err, errlen, "cannot be written as JSON");
	*d = jv_doc_new();
	*t = *d ? jv_parse(*d, json, strlen(json), NULL) : NULL;
	free(json);
	return *t ? 0 : -ENOMEM; /* JSON the library wrote parses: only memory can fail */
}

int decode_service_obj(struct k8s_obj *o, struct k8s_service **out, char *err, size_t errlen)
{
	struct jv_doc *d;
	struct jv *t;
	int rc = obj_tree(o, &d, &t, err, errlen);

	*out = NULL;
	if (!rc)
		rc = decode_service(t, out, err, errlen);
	jv_doc_free(d);
	return rc;
}

int decode_slice_obj(struct k8s_obj *o, struct k8s_slice **out, char *err, size_t errlen)
{
	struct jv_doc *d;
	struct jv *t;
	int rc = obj_tree(o, &d, &t, err, errlen);

	*out = NULL;
	if (!rc)
		rc = decode_slice(t, out, err, errlen);
	jv_doc_free(d);
	return rc;
}
