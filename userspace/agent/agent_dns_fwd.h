/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_dns_fwd: the cluster DNS's upstream (CoreDNS's "forward . /etc/resolv.conf"): a
 * query that is not the cluster's (dns_respond said DNS_FORWARD) is sent to the node's
 * resolvers in order, over UDP under an ID of its own, again over TCP when the reply is
 * truncated; a resolver that does not answer in time (or refuses the datagram) is passed
 * over for the next; the first reply that matches the question goes back under the client's
 * ID; SERVFAIL when none answers. Blocking: the caller runs it on a thread of its own.
 */
#ifndef DROVER_AGENT_DNS_FWD_H
#define DROVER_AGENT_DNS_FWD_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_FWD_MAX	    8	 /* upstreams */
#define DNS_FWD_TRY_MS	    2000 /* one upstream's time to answer (CoreDNS forward: 2 s) */
#define DNS_FWD_DEADLINE_MS 5000 /* all of them (CoreDNS forward's defaultTimeout) */

struct dns_fwd {
	struct sockaddr_in up[DNS_FWD_MAX];
	size_t n;
	size_t skipped;		 /* upstreams that were the agent itself (dns_fwd_config) */
	int try_ms, deadline_ms; /* 0: the defaults above */
	const atomic_bool *stop; /* NULL, or set when the server stops: give up at once */
};

/* "ADDR[:PORT]" (IPv4, port 53 by default) into *out: 0, or -EINVAL. */
int dns_fwd_parse(const char *s, struct sockaddr_in *out);

/* The upstreams: the --dns-upstream flags (n_flags of them; ["none"]: no forwarding), or
 * without flags the nameserver lines of the node's resolv.conf text (IPv4 ones; port 53);
 * addresses in self (the agent's own DNS addresses, port 53: its node IP, the kube-dns
 * Service) are skipped, so the agent never forwards to itself. 0, or -EINVAL with the bad
 * flag in err. */
int dns_fwd_config(struct dns_fwd *f, const char *const *flags, size_t n_flags,
		   const char *resolv_conf, const uint32_t *self, size_t n_self, char *err,
		   size_t errlen);

/* Forward the query q (qlen bytes; dns_respond returned DNS_FORWARD for it) asked over tcp
 * or UDP: the answer for the client into out (cap bytes, at least DNS_UDP_MIN), its length. */
size_t dns_forward(const struct dns_fwd *f, const uint8_t *q, size_t qlen, bool tcp, uint8_t *out,
		   size_t cap);

#endif
