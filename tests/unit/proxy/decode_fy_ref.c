/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decode_fy_ref: the proxy's decoder as it was over libfyaml nodes (userspace/proxy/decode.c
 * before the one decoder moved to jv trees), kept unchanged but for its names as the
 * reference of test_decode_equiv.c: the jv decoder must give the same structs, and the same
 * error messages, for every manifest the tests hold. Not linked into drover.
 */
#include "decode_fy_ref.h"
#include "drover_abi.h"
#include "k8s.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libfyaml.h>
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

/* A list of IP strings at path (externalIPs). */
static int decode_ip_list(struct fy_node *spec, const char *path, uint32_t **v, size_t *n,
			  char *err, size_t errlen)
{
	struct fy_node *list = k8s_get(spec, path), *it;
	void *iter = NULL;
	int idx = 0;

	if (!list || !fy_node_is_sequence(list))
		return 0;
	while ((it = fy_node_sequence_iterate(list, &iter))) {
		const char *s = NULL;
		uint32_t ip;
		int r;

		if (k8s_get_str(it, "", &s) || !s)
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

static int decode_ports(struct fy_node *spec, struct k8s_service *svc, char *err, size_t errlen)
{
	struct fy_node *ports = k8s_get(spec, "ports"), *p;
	void *iter = NULL;
	size_t n;
	int idx = 0;

	if (!ports || !fy_node_is_sequence(ports))
		return 0;
	n = (size_t)fy_node_sequence_item_count(ports);
	svc->ports = calloc(n ? n : 1, sizeof(*svc->ports));
	if (!svc->ports)
		return -ENOMEM;
	while ((p = fy_node_sequence_iterate(ports, &iter))) {
		struct svc_port *sp = &svc->ports[svc->nports];
		const char *s = NULL;
		struct k8s_scalar tp;
		int64_t v = 0;

		if (k8s_get_str(p, "name", &s) == 0 && s)
			snprintf(sp->name, sizeof(sp->name), "%s", s);
		s = NULL;
		k8s_get_str(p, "protocol", &s);
		if (parse_proto(s, &sp->proto)) {
			if (s && !strcmp(s, "SCTP")) {
				log_warn(COMP,
					 "Service %s/%s: spec.ports[%d]: SCTP is not served by "
					 "drover; port skipped",
					 svc->ns, svc->name, idx);
				idx++;
				continue;
			}
			return fail(err, errlen,
				    "spec.ports[%d].protocol: Unsupported value: \"%s\": supported "
				    "values: \"TCP\", \"UDP\"",
				    idx, s);
		}
		if (k8s_get_int(p, "port", &v))
			return fail(err, errlen, "spec.ports[%d].port: Required value", idx);
		if (v < 1 || v > 65535)
			return fail(err, errlen,
				    "spec.ports[%d].port: Invalid value: %lld: must be between 1 "
				    "and 65535, inclusive",
				    idx, (long long)v);
		sp->port = (uint16_t)v;
		v = 0;
		if (k8s_get_int(p, "nodePort", &v) == 0 && (v < 0 || v > 65535))
			return fail(err, errlen,
				    "spec.ports[%d].nodePort: Invalid value: %lld: must be between "
				    "1 and 65535, inclusive",
				    idx, (long long)v);
		sp->node_port = (uint16_t)v;
		if (k8s_get_scalar(p, "targetPort", &tp) == 0) {
			if (tp.type == K8S_SCALAR_INT) {
				if (tp.i < 1 || tp.i > 65535)
					return fail(err, errlen,
						    "spec.ports[%d].targetPort: Invalid value: "
						    "%lld: must be between 1 and 65535, inclusive",
						    idx, (long long)tp.i);
				sp->target_port = (uint16_t)tp.i;
			} else if (tp.type == K8S_SCALAR_STRING) {
				if (tp.len == 0 || tp.len >= sizeof(sp->target_name))
					return fail(
					    err, errlen,
					    "spec.ports[%d].targetPort: Invalid value: \"%.*s\": "
					    "must be a port name of 1-15 characters",
					    idx, (int)tp.len, tp.str);
				/* "8080" as a string is still a number (IntOrString parses it). */
				char buf[64];
				char *end;
				long num;

				memcpy(buf, tp.str, tp.len);
				buf[tp.len] = '\0';
				num = strtol(buf, &end, 10);
				if (*end == '\0' && num >= 1 && num <= 65535) {
					sp->target_port = (uint16_t)num;
				} else {
					sp->target_named = true;
					snprintf(sp->target_name, sizeof(sp->target_name), "%s",
						 buf);
				}
			}
		}
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

int ref_decode_service(struct k8s_obj *o, struct k8s_service **out, char *err, size_t errlen)
{
	struct fy_node *root = k8s_obj_root(o), *spec;
	struct k8s_service *svc;
	const char *s = NULL;
	int64_t v;
	int rc;

	*out = NULL;
	if (!k8s_obj_name(o))
		return fail(err, errlen, "metadata.name: Required value");
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	snprintf(svc->ns, sizeof(svc->ns), "%s",
		 k8s_obj_namespace(o) ? k8s_obj_namespace(o) : "default");
	snprintf(svc->name, sizeof(svc->name), "%s", k8s_obj_name(o));
	svc->affinity_timeout = 10800;
	svc->other_proxy =
	    k8s_get(root, "metadata.labels[service.kubernetes.io/service-proxy-name]") != NULL;
	spec = k8s_get(root, "spec");
	if (!spec) {
		*out = svc; /* a Service without spec has no frontend */
		return 0;
	}

	if (k8s_get_str(spec, "type", &s) == 0 && s) {
		svc->load_balancer = !strcmp(s, "LoadBalancer");
		if (!strcmp(s, "NodePort") || !strcmp(s, "LoadBalancer"))
			svc->node_ports = true;
		else if (!strcmp(s, "ExternalName"))
			svc->external_name = true;
		else if (strcmp(s, "ClusterIP") != 0) {
			rc = fail(err, errlen,
				  "spec.type: Unsupported value: \"%s\": supported values: "
				  "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
				  s);
			goto bad;
		}
	}

	/* clusterIP and clusterIPs (the first of clusterIPs is clusterIP). */
	s = NULL;
	if (k8s_get_str(spec, "clusterIP", &s) == 0 && s && *s) {
		if (!strcmp(s, "None")) {
			svc->headless = true;
		} else {
			uint32_t ip;
			int r = parse_ip(s, &ip);

			if (r < 0) {
				rc = fail(err, errlen,
					  "spec.clusterIP: Invalid value: \"%s\": must be a valid "
					  "IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
					  s);
				goto bad;
			}
			if (r == 1)
				svc->cluster_ips[svc->ncluster_ips++] = ip;
		}
	}
	{
		struct fy_node *ips = k8s_get(spec, "clusterIPs"), *it;
		void *iter = NULL;
		int idx = 0;

		while (ips && fy_node_is_sequence(ips) &&
		       (it = fy_node_sequence_iterate(ips, &iter))) {
			uint32_t ip;
			int r;

			s = NULL;
			k8s_get_str(it, "", &s);
			if (!s || !strcmp(s, "None")) {
				idx++;
				continue;
			}
			r = parse_ip(s, &ip);
			if (r < 0) {
				rc = fail(err, errlen,
					  "spec.clusterIPs[%d]: Invalid value: \"%s\": must be a "
					  "valid IP address",
					  idx, s);
				goto bad;
			}
			if (r == 1 && svc->ncluster_ips < 2 &&
			    !(svc->ncluster_ips && svc->cluster_ips[0] == ip))
				svc->cluster_ips[svc->ncluster_ips++] = ip;
			idx++;
		}
	}

	rc = decode_ports(spec, svc, err, errlen);
	if (rc)
		goto bad;
	rc = decode_ip_list(spec, "externalIPs", &svc->external_ips, &svc->nexternal_ips, err,
			    errlen);
	if (rc)
		goto bad;

	s = NULL;
	if (k8s_get_str(spec, "sessionAffinity", &s) == 0 && s) {
		if (!strcmp(s, "ClientIP"))
			svc->affinity = true;
		else if (strcmp(s, "None") != 0) {
			rc = fail(err, errlen,
				  "spec.sessionAffinity: Unsupported value: \"%s\": supported "
				  "values: \"ClientIP\", \"None\"",
				  s);
			goto bad;
		}
	}
	if (k8s_get_int(spec, "sessionAffinityConfig.clientIP.timeoutSeconds", &v) == 0) {
		if (v < 1 || v > 86400) {
			rc = fail(err, errlen,
				  "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid "
				  "value: %lld: must be greater than 0 and less than 86400",
				  (long long)v);
			goto bad;
		}
		svc->affinity_timeout = (uint32_t)v;
	}
	s = NULL;
	if (k8s_get_str(spec, "externalTrafficPolicy", &s) == 0 && s) {
		if (!strcmp(s, "Local"))
			svc->etp_local = true;
		else if (strcmp(s, "Cluster") != 0) {
			rc = fail(err, errlen,
				  "spec.externalTrafficPolicy: Unsupported value: \"%s\": "
				  "supported values: \"Cluster\", \"Local\"",
				  s);
			goto bad;
		}
	}
	s = NULL;
	if (k8s_get_str(spec, "internalTrafficPolicy", &s) == 0 && s) {
		if (!strcmp(s, "Local"))
			svc->itp_local = true;
		else if (strcmp(s, "Cluster") != 0) {
			rc = fail(err, errlen,
				  "spec.internalTrafficPolicy: Unsupported value: \"%s\": "
				  "supported values: \"Cluster\", \"Local\"",
				  s);
			goto bad;
		}
	}

	/* loadBalancerSourceRanges: CIDRs, space-padded allowed, LoadBalancer only */
	{
		struct fy_node *list = k8s_get(spec, "loadBalancerSourceRanges"), *it;
		void *iter = NULL;
		int idx = 0;

		while (list && fy_node_is_sequence(list) &&
		       (it = fy_node_sequence_iterate(list, &iter))) {
			char buf[80], addr[64];
			unsigned plen;
			int used = 0;
			uint32_t a4;
			unsigned char a6[16];
			bool ok;

			if (!svc->load_balancer) {
				rc = fail(err, errlen,
					  "spec.LoadBalancerSourceRanges: Forbidden: may only be "
					  "used when `type` is 'LoadBalancer'");
				goto bad;
			}
			s = NULL;
			k8s_get_str(it, "", &s);
			snprintf(buf, sizeof(buf), "%s", s ? s : "");
			ok = s && strlen(s) < sizeof(buf) &&
			     sscanf(buf, " %63[^/]/%u %n", addr, &plen, &used) == 2 &&
			     buf[used] == '\0' && strchr(buf, '/')[1] >= '0' &&
			     strchr(buf, '/')[1] <= '9';
			if (ok && inet_pton(AF_INET6, addr, a6) == 1 && !strchr(addr, '.')) {
				ok = plen <= 128;
				if (ok)
					svc->src_filtered = true;
			} else if (ok && inet_pton(AF_INET, addr, &a4) == 1 && plen <= 32) {
				void *q = realloc(svc->src_ranges, (svc->nsrc_ranges + 1) *
								       sizeof(*svc->src_ranges));

				if (!q) {
					rc = -ENOMEM;
					goto bad;
				}
				svc->src_ranges = q;
				svc->src_ranges[svc->nsrc_ranges].addr =
				    plen ? a4 & htonl(0xffffffffu << (32 - plen)) : 0;
				svc->src_ranges[svc->nsrc_ranges++].len = (uint8_t)plen;
				svc->src_filtered = true;
			} else {
				ok = false;
			}
			if (!ok) {
				const char *shown = s ? s : "";

				while (*shown == ' ' || *shown == '\t' || *shown == '\n')
					shown++;
				rc = fail(
				    err, errlen,
				    "spec.LoadBalancerSourceRanges[%d]: Invalid value: \"%s\": "
				    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
				    "2001:db8::/64)",
				    idx, shown);
				goto bad;
			}
			idx++;
		}
	}

	/* LoadBalancer ingress IPs, as a cloud controller writes them into status. */
	{
		struct fy_node *ing = k8s_get(root, "status.loadBalancer.ingress"), *it;
		void *iter = NULL;
		int idx = 0;

		while (ing && fy_node_is_sequence(ing) &&
		       (it = fy_node_sequence_iterate(ing, &iter))) {
			uint32_t ip;
			int r;

			const char *mode = NULL;

			s = NULL;
			if (k8s_get_str(it, "ipMode", &mode) == 0 && mode && strcmp(mode, "VIP") &&
			    strcmp(mode, "Proxy")) {
				rc = fail(err, errlen,
					  "status.loadBalancer.ingress[%d].ipMode: Unsupported "
					  "value: \"%s\": supported values: \"Proxy\", \"VIP\"",
					  idx, mode);
				goto bad;
			}
			if (k8s_get_str(it, "ip", &s) == 0 && s) {
				r = parse_ip(s, &ip);
				if (r < 0) {
					rc = fail(err, errlen,
						  "status.loadBalancer.ingress[%d].ip: Invalid "
						  "value: \"%s\": must be a valid IP address",
						  idx, s);
					goto bad;
				}
				if (r == 1 && !(mode && !strcmp(mode, "Proxy")) &&
				    push_ip(&svc->lb_ips, &svc->nlb_ips, ip)) {
					rc = -ENOMEM;
					goto bad;
				}
			}
			idx++;
		}
	}
	*out = svc;
	return 0;
bad:
	k8s_service_free(svc);
	return rc;
}

int ref_decode_slice(struct k8s_obj *o, struct k8s_slice **out, char *err, size_t errlen)
{
	struct fy_node *root = k8s_obj_root(o), *list, *it;
	struct k8s_slice *sl;
	const char *s = NULL;
	void *iter = NULL;
	int idx = 0, rc;

	*out = NULL;
	if (!k8s_obj_name(o))
		return fail(err, errlen, "metadata.name: Required value");
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	snprintf(sl->ns, sizeof(sl->ns), "%s",
		 k8s_obj_namespace(o) ? k8s_obj_namespace(o) : "default");
	snprintf(sl->name, sizeof(sl->name), "%s", k8s_obj_name(o));
	if (k8s_get_str(root, "metadata.labels[kubernetes.io/service-name]", &s) == 0 && s)
		snprintf(sl->service, sizeof(sl->service), "%s", s);
	s = NULL;
	if (k8s_get_str(root, "addressType", &s) || !s) {
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

	list = k8s_get(root, "ports");
	if (list && fy_node_is_sequence(list)) {
		size_t n = (size_t)fy_node_sequence_item_count(list);

		sl->ports = calloc(n ? n : 1, sizeof(*sl->ports));
		if (!sl->ports) {
			rc = -ENOMEM;
			goto bad;
		}
		while ((it = fy_node_sequence_iterate(list, &iter))) {
			struct slice_port *p = &sl->ports[sl->nports];
			int64_t v;

			s = NULL;
			if (k8s_get_str(it, "name", &s) == 0 && s)
				snprintf(p->name, sizeof(p->name), "%s", s);
			s = NULL;
			k8s_get_str(it, "protocol", &s);
			if (parse_proto(s, &p->proto)) {
				idx++;
				continue; /* SCTP endpoints: nothing drover serves */
			}
			if (k8s_get_int(it, "port", &v) == 0) {
				if (v < 1 || v > 65535) {
					rc = fail(err, errlen,
						  "ports[%d].port: Invalid value: %lld: must be "
						  "between 1 and 65535, inclusive",
						  idx, (long long)v);
					goto bad;
				}
				p->port = (uint16_t)v;
			}
			sl->nports++;
			idx++;
		}
	}

	list = k8s_get(root, "endpoints");
	iter = NULL;
	idx = 0;
	if (list && fy_node_is_sequence(list)) {
		size_t n = (size_t)fy_node_sequence_item_count(list);

		sl->eps = calloc(n ? n : 1, sizeof(*sl->eps));
		if (!sl->eps) {
			rc = -ENOMEM;
			goto bad;
		}
		while ((it = fy_node_sequence_iterate(list, &iter))) {
			struct slice_endpoint *ep = &sl->eps[sl->neps];
			bool b;
			int r;

			s = NULL;
			if (k8s_get_str(it, "addresses[0]", &s) || !s) {
				rc = fail(err, errlen, "endpoints[%d].addresses: Required value",
					  idx);
				goto bad;
			}
			r = parse_ip(s, &ep->addr);
			if (sl->ipv4 && r != 1) {
				rc = fail(err, errlen,
					  "endpoints[%d].addresses[0]: Invalid value: \"%s\": must "
					  "be a valid IPv4 address",
					  idx, s);
				goto bad;
			}
			ep->ready = k8s_get_bool(it, "conditions.ready", &b) == 0 ? b : true;
			ep->serving =
			    k8s_get_bool(it, "conditions.serving", &b) == 0 ? b : ep->ready;
			ep->terminating =
			    k8s_get_bool(it, "conditions.terminating", &b) == 0 ? b : false;
			s = NULL;
			if (k8s_get_str(it, "nodeName", &s) == 0 && s)
				snprintf(ep->node, sizeof(ep->node), "%s", s);
			sl->neps++;
			idx++;
		}
	}
	*out = sl;
	return 0;
bad:
	k8s_slice_free(sl);
	return rc;
}
