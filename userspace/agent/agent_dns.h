/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_dns: the cluster DNS of the Kubernetes DNS-Based Service Discovery specification
 * (kubernetes/dns docs/specification.md, version 1.1.0), authoritative for the cluster
 * domain. The core (dns_respond) is pure: query bytes in, answer bytes out, the Services
 * asked through a callback, so it is tested and fuzzed without sockets. agent_dns_srv.c
 * serves it over UDP and TCP on the node's address, from the agent's informers.
 */
#ifndef DROVER_AGENT_DNS_H
#define DROVER_AGENT_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_TTL		 5   /* CoreDNS's kubernetes plugin default */
#define DNS_UDP_MIN	 512 /* RFC 1035: the UDP answer without EDNS0 */
#define DNS_UDP_MAX	 4096
#define DNS_MAX_PORTS	 16
#define DNS_MAX_EPS	 128
#define DNS_LABEL_MAX	 63
#define DNS_NAME_MAX	 255
#define DNS_SPEC_VERSION "1.1.0"

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_OPT = 41,
	DNS_T_ANY = 255,
};

enum dns_rcode {
	DNS_R_NOERROR = 0,
	DNS_R_FORMERR = 1,
	DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4,
	DNS_R_REFUSED = 5,
};

/* A port of a Service (spec.ports) or, for a headless one, of its EndpointSlices. */
struct dns_port {
	char name[DNS_LABEL_MAX + 1]; /* "" for an unnamed port: no SRV record */
	char proto[8];		      /* "tcp", "udp", "sctp" (lower case) */
	uint16_t port;
};

/* A ready endpoint of a headless Service. */
struct dns_ep {
	uint32_t ip;			  /* IPv4, network order */
	char hostname[DNS_LABEL_MAX + 1]; /* "" when it has none: the dashed IP names it */
};

/* What the callback tells of one Service. */
struct dns_svc {
	uint32_t cluster_ip;		      /* network order; 0 with headless or external_name */
	bool headless;			      /* clusterIP None: the endpoints are the answer */
	char external_name[DNS_NAME_MAX + 1]; /* type ExternalName: a CNAME to it */
	struct dns_port ports[DNS_MAX_PORTS];
	size_t n_ports;
	struct dns_ep eps[DNS_MAX_EPS];
	size_t n_eps;
};

/* Where the records come from. Names are lower case. */
struct dns_source {
	/* The Service ns/name into *out: 0, or -ENOENT. name NULL: whether the namespace has
	 * any Service (out untouched), so "<ns>.svc.<domain>" exists. */
	int (*service)(void *arg, const char *ns, const char *name, struct dns_svc *out);
	/* The Service whose cluster IP is ip (network order): 0 with ns and name filled (each
	 * DNS_LABEL_MAX + 1 bytes), or -ENOENT. NULL: no PTR records. */
	int (*service_by_ip)(void *arg, uint32_t ip, char *ns, char *name);
	void *arg;
};

struct dns_zone {
	const char *domain; /* the cluster domain, lower case, no trailing dot: "cluster.local" */
	struct dns_source src;
};

/* Answer the query q (qlen bytes) into out (cap bytes, at least DNS_UDP_MIN). tcp: no size
 * limit but cap (the caller adds the length prefix); UDP: 512 bytes, or the EDNS0 payload
 * size the query offers (up to DNS_UDP_MAX), beyond which the answer is cut to its question
 * with TC set. The length of the answer, or 0: nothing to send (shorter than a header, or a
 * response rather than a query). A malformed query is answered FORMERR. */
size_t dns_respond(const struct dns_zone *z, const uint8_t *q, size_t qlen, bool tcp, uint8_t *out,
		   size_t cap);

#endif
