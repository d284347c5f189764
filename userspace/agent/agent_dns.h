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

/* An endpoint address's name (PTR): <label>.<svc>.<ns>.svc.<domain>. */
struct dns_ep_ref {
	char ns[DNS_LABEL_MAX + 1];
	char svc[DNS_LABEL_MAX + 1];
	char label[DNS_LABEL_MAX + 1]; /* its hostname; "": the dashed address (10-244-0-5) */
};

/* Where the records come from. Names are lower case. */
struct dns_source {
	/* The Service ns/name into *out: 0, or -ENOENT. name NULL: whether the namespace has
	 * any Service (out untouched), so "<ns>.svc.<domain>" exists. */
	int (*service)(void *arg, const char *ns, const char *name, struct dns_svc *out);
	/* The Service whose cluster IP is ip (network order): 0 with ns and name filled (each
	 * DNS_LABEL_MAX + 1 bytes), or -ENOENT. NULL: no PTR records. */
	int (*service_by_ip)(void *arg, uint32_t ip, char *ns, char *name);
	/* The ready endpoints whose address is ip (network order), of any Service (CoreDNS's
	 * serviceRecordForIP): how many were written into out (at most max). NULL: none. */
	size_t (*endpoints_by_ip)(void *arg, uint32_t ip, struct dns_ep_ref *out, size_t max);
	void *arg;
};

struct dns_zone {
	const char *domain; /* the cluster domain, lower case, no trailing dot: "cluster.local" */
	struct dns_source src;
	/* Names that are not ours (outside the domain; reverse names of no Service or endpoint,
	 * CoreDNS's "fallthrough in-addr.arpa ip6.arpa") are for the upstream resolvers:
	 * dns_respond returns DNS_FORWARD for them. false: answered REFUSED. */
	bool forward;
};

/* dns_respond's "ask upstream" (nothing written): see dns_zone.forward. */
#define DNS_FORWARD ((size_t)-1)

/* Answer the query q (qlen bytes) into out (cap bytes, at least DNS_UDP_MIN). tcp: no size
 * limit but cap (the caller adds the length prefix); UDP: 512 bytes, or the EDNS0 payload
 * size the query offers (up to DNS_UDP_MAX), beyond which the answer is cut to its question
 * with TC set. The length of the answer, or 0: nothing to send (shorter than a header, or a
 * response rather than a query). A malformed query is answered FORMERR. */
size_t dns_respond(const struct dns_zone *z, const uint8_t *q, size_t qlen, bool tcp, uint8_t *out,
		   size_t cap);

/* For a query dns_respond returned DNS_FORWARD for (well-formed, one question):
 * dns_reply_matches: whether r (rlen bytes) is a response to q (q's ID, QR set, the same
 * question, names compared case-insensitively), so a stray or forged datagram is ignored. */
bool dns_reply_matches(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen);
/* The upstream's reply r (it matches q but for its ID) made the client's answer into out
 * (cap bytes): the client's ID; over UDP cut to the question with TC when longer than the
 * client takes (512, or its EDNS0 payload size). Its length, 0 when r or q is malformed. */
size_t dns_reply_fit(const uint8_t *q, size_t qlen, bool tcp, const uint8_t *r, size_t rlen,
		     uint8_t *out, size_t cap);
/* The answer with rcode (SERVFAIL: no upstream answered; REFUSED) and q's question. */
size_t dns_answer_rcode(const uint8_t *q, size_t qlen, uint16_t rcode, uint8_t *out, size_t cap);

#endif
