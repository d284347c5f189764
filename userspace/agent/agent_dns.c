/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_dns: the pure core of the cluster DNS (agent_dns.h): a DNS message parser bounded
 * for network input (every length checked against the message, a name at most 255 bytes,
 * compression pointers only backwards, each before the last, so no loop), the names of the
 * Kubernetes DNS specification, and the answer writer (names of answers point at the
 * question; TC when the answer does not fit).
 *
 * Names served, relative to the cluster domain D (specification 2.3, 2.4):
 *   <svc>.<ns>.svc.D             A: the cluster IP, or each ready endpoint (headless);
 *                                CNAME: the external name (ExternalName); SRV: every port
 *                                (CoreDNS's; the specification has SRV only at the next)
 *   <host>.<svc>.<ns>.svc.D      A: the endpoint of a headless Service with that hostname
 *                                (or the dashed address: 10-0-0-1, as CoreDNS names them);
 *                                SRV: every port at that endpoint
 *   _<port>._<proto>.<svc>.<ns>.svc.D  SRV of a named port (targets in the additional section)
 *   <ns>.svc.D, svc.D, D         exist without records (NODATA); D also has SOA and NS
 *   dns-version.D                TXT: the specification's version
 *   <a>-<b>-<c>-<d>.<ns>.pod.D   A: a.b.c.d (CoreDNS's "pods insecure": not checked against
 *                                the pods); <ns>.pod.D, pod.D exist without records
 *   <d>.<c>.<b>.<a>.in-addr.arpa PTR of a Service's cluster IP, else of each ready endpoint
 *                                with that address (<host or dashed>.<svc>.<ns>.svc.D)
 * Other names in D: NXDOMAIN with D's SOA; existing names asked another type: NODATA (SOA
 * too). Names outside D and reverse names we have no record for: DNS_FORWARD when the zone
 * forwards (CoreDNS's "fallthrough in-addr.arpa ip6.arpa" then "forward ."), else REFUSED.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_dns.h"

#define HDR_LEN	    12
#define MAX_LABELS  128	   /* a 255-byte name holds at most 127 labels */
#define QNAME_PTR   0xc00c /* the question's name, right after the header */
#define CLASS_IN    1
#define CLASS_ANY   255
#define FLAG_QR	    0x8000
#define FLAG_AA	    0x0400
#define FLAG_TC	    0x0200
#define FLAG_RD	    0x0100
#define OPCODE(f)   (((f) >> 11) & 0xf)
#define SOA_REFRESH 7200
#define SOA_RETRY   1800
#define SOA_EXPIRE  86400
#define SOA_SERIAL  1
#define SRV_WEIGHT  100

/* A name read from a message: its labels in lower case, and whether one holds a byte no
 * Kubernetes name can (NUL or '.'), so that it can never be mistaken for one. */
struct dname {
	char lab[MAX_LABELS][DNS_LABEL_MAX + 1];
	uint8_t len[MAX_LABELS];
	size_t n;
	size_t wire_len; /* uncompressed, with the root label */
	bool odd;
};

/* Read the name at *off of m, following compression pointers; *off moves past it (past the
 * first pointer). 0, or -1 when it is malformed. */
static int name_read(const uint8_t *m, size_t mlen, size_t *off, struct dname *n)
{
	size_t pos = *off, lowest = *off;
	bool jumped = false;

	n->n = 0;
	n->wire_len = 1;
	n->odd = false;
	for (;;) {
		uint8_t len;

		if (pos >= mlen)
			return -1;
		len = m[pos];
		if ((len & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= mlen)
				return -1;
			ptr = (size_t)(len & 0x3f) << 8 | m[pos + 1];
			if (ptr >= lowest) /* only backwards, each before the last: no loop */
				return -1;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			lowest = pos = ptr;
			continue;
		}
		if (len & 0xc0) /* 0x40, 0x80: extended label types (RFC 6891 obsoletes them) */
			return -1;
		if (len == 0)
			break;
		if (pos + 1 + len > mlen || n->wire_len + 1 + len > DNS_NAME_MAX ||
		    n->n >= MAX_LABELS)
			return -1;
		for (size_t i = 0; i < len; i++) {
			char c = (char)m[pos + 1 + i];

			if (c == 0 || c == '.')
				n->odd = true;
			n->lab[n->n][i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		n->lab[n->n][len] = 0;
		n->len[n->n++] = len;
		n->wire_len += 1 + len;
		pos += 1 + len;
	}
	if (!jumped)
		*off = pos + 1;
	return 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- the answer writer ---- */

struct wbuf {
	uint8_t *p;
	size_t cap, len;
	bool full; /* a write did not fit: the answer is cut (TC) */
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(w, b, 2);
}

static void put32(struct wbuf *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

/* A dotted name ("web.default.svc.cluster.local"), uncompressed. Labels longer than 63
 * bytes or a name over 255 (an external name from the API) do not fit: the answer is cut. */
static void put_name(struct wbuf *w, const char *name)
{
	size_t total = 1;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		uint8_t l = (uint8_t)len;

		total += len + 1;
		if (len == 0 || len > DNS_LABEL_MAX || total > DNS_NAME_MAX) {
			w->full = true;
			return;
		}
		put(w, &l, 1);
		put(w, name, len);
		name += len + (dot ? 1 : 0);
	}
	put(w, "", 1);
}

/* The response being built: the writer and its section counts. */
struct resp {
	struct wbuf w;
	const struct dns_zone *z;
	uint16_t an, ns, ar;
};

/* Start a record: the owner (NULL: the question's name, by pointer), type, class IN, TTL
 * and a zero RDLENGTH whose offset is returned for rr_end. */
static size_t rr_begin(struct resp *r, const char *owner, uint16_t type, uint32_t ttl)
{
	size_t at;

	if (owner)
		put_name(&r->w, owner);
	else
		put16(&r->w, QNAME_PTR);
	put16(&r->w, type);
	put16(&r->w, CLASS_IN);
	put32(&r->w, ttl);
	at = r->w.len;
	put16(&r->w, 0);
	return at;
}

static void rr_end(struct resp *r, size_t at)
{
	size_t n = r->w.len - at - 2;

	if (r->w.full)
		return;
	r->w.p[at] = (uint8_t)(n >> 8);
	r->w.p[at + 1] = (uint8_t)n;
}

static void rr_a(struct resp *r, const char *owner, uint32_t ip)
{
	size_t at = rr_begin(r, owner, DNS_T_A, DNS_TTL);

	put(&r->w, &ip, 4); /* network order already */
	rr_end(r, at);
}

static void rr_name(struct resp *r, const char *owner, uint16_t type, const char *target)
{
	size_t at = rr_begin(r, owner, type, DNS_TTL);

	put_name(&r->w, target);
	rr_end(r, at);
}

static void rr_soa(struct resp *r, bool at_apex)
{
	char name[DNS_NAME_MAX + 16];
	size_t at = rr_begin(r, at_apex ? NULL : r->z->domain, DNS_T_SOA, DNS_TTL);

	snprintf(name, sizeof(name), "ns.dns.%s", r->z->domain);
	put_name(&r->w, name);
	snprintf(name, sizeof(name), "hostmaster.%s", r->z->domain);
	put_name(&r->w, name);
	put32(&r->w, SOA_SERIAL);
	put32(&r->w, SOA_REFRESH);
	put32(&r->w, SOA_RETRY);
	put32(&r->w, SOA_EXPIRE);
	put32(&r->w, DNS_TTL); /* the negative-caching TTL (RFC 2308) */
	rr_end(r, at);
}

static void rr_srv(struct resp *r, uint16_t weight, uint16_t port, const char *target)
{
	size_t at = rr_begin(r, NULL, DNS_T_SRV, DNS_TTL);

	put16(&r->w, 0); /* priority */
	put16(&r->w, weight);
	put16(&r->w, port);
	put_name(&r->w, target); /* never compressed (RFC 2782) */
	rr_end(r, at);
}

/* ---- the names of the specification ---- */

/* The answer to a name in the cluster domain: an rcode, the records already written. */
enum found { NAME_NONE, NAME_EMPTY, NAME_RECORDS };

static bool wants(uint16_t qtype, uint16_t type)
{
	return qtype == type || qtype == DNS_T_ANY;
}

/* The dashed form of an address (10-0-0-1), CoreDNS's name for an endpoint without a
 * hostname. */
static void dashed(uint32_t ip, char *buf, size_t size)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, size, "%u-%u-%u-%u", b[0], b[1], b[2], b[3]);
}

static const char *ep_label(const struct dns_ep *e, char *buf, size_t size)
{
	if (e->hostname[0])
		return e->hostname;
	dashed(e->ip, buf, size);
	return buf;
}

static bool port_match(const struct dns_port *p, const char *port, const char *proto)
{
	return !port || (p->name[0] && !strcmp(p->name, port) && !strcmp(p->proto, proto));
}

/* The SRV records of s's ports that match port and proto (NULL: every port, named or not)
 * at its endpoints named host (NULL: all; headless), or at its own name (cluster IP): one
 * per port and target, weights 100/n (CoreDNS's backend_lookup); each target's address in
 * the additional section once. */
static void srv_records(struct resp *r, const struct dns_svc *s, const char *port,
			const char *proto, const char *host, const char *svcname, const char *ns)
{
	char target[DNS_NAME_MAX + 1], buf[20];
	size_t np = 0, nt = 0, targets = s->headless ? s->n_eps : 1;
	uint16_t w;

	for (size_t i = 0; i < s->n_ports; i++)
		np += port_match(&s->ports[i], port, proto);
	for (size_t t = 0; t < targets; t++)
		nt +=
		    !s->headless || !host || !strcmp(ep_label(&s->eps[t], buf, sizeof(buf)), host);
	if (!np || !nt)
		return;
	w = (uint16_t)(SRV_WEIGHT / (np * nt) ? SRV_WEIGHT / (np * nt) : 1);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t t = 0; t < targets; t++) {
			const char *label =
			    s->headless ? ep_label(&s->eps[t], buf, sizeof(buf)) : NULL;

			if (label && host && strcmp(label, host))
				continue;
			if (label)
				snprintf(target, sizeof(target), "%s.%s.%s.svc.%s", label, svcname,
					 ns, r->z->domain);
			else
				snprintf(target, sizeof(target), "%s.%s.svc.%s", svcname, ns,
					 r->z->domain);
			if (pass == 1) {
				rr_a(r, target, s->headless ? s->eps[t].ip : s->cluster_ip);
				r->ar++;
				continue;
			}
			for (size_t i = 0; i < s->n_ports; i++) {
				if (!port_match(&s->ports[i], port, proto))
					continue;
				rr_srv(r, w, s->ports[i].port, target);
				r->an++;
			}
		}
	}
}

/* <svc>.<ns>.svc.D */
static enum found svc_name(struct resp *r, const struct dns_svc *s, const char *svcname,
			   const char *ns, uint16_t qtype)
{
	if (s->external_name[0]) {
		/* the CNAME answers every type; its target is outside our data */
		rr_name(r, NULL, DNS_T_CNAME, s->external_name);
		r->an++;
		return NAME_RECORDS;
	}
	if (qtype == DNS_T_SRV) {
		/* every port (CoreDNS: a port and protocol left out match any) */
		srv_records(r, s, NULL, NULL, NULL, svcname, ns);
		return r->an ? NAME_RECORDS : NAME_EMPTY;
	}
	if (!wants(qtype, DNS_T_A))
		return NAME_EMPTY;
	if (!s->headless) {
		rr_a(r, NULL, s->cluster_ip);
		r->an++;
		return NAME_RECORDS;
	}
	for (size_t i = 0; i < s->n_eps; i++, r->an++)
		rr_a(r, NULL, s->eps[i].ip);
	return s->n_eps ? NAME_RECORDS : NAME_EMPTY;
}

/* <host>.<svc>.<ns>.svc.D */
static enum found ep_name(struct resp *r, const struct dns_svc *s, const char *host,
			  const char *svcname, const char *ns, uint16_t qtype)
{
	char buf[20];
	bool any = false;

	if (!s->headless)
		return NAME_NONE;
	for (size_t i = 0; i < s->n_eps; i++) {
		if (strcmp(ep_label(&s->eps[i], buf, sizeof(buf)), host))
			continue;
		any = true;
		if (wants(qtype, DNS_T_A)) {
			rr_a(r, NULL, s->eps[i].ip);
			r->an++;
		}
	}
	if (any && qtype == DNS_T_SRV)
		srv_records(r, s, NULL, NULL, host, svcname, ns);
	return !any ? NAME_NONE : r->an ? NAME_RECORDS : NAME_EMPTY;
}

/* _<port>._<proto>.<svc>.<ns>.svc.D: one SRV per port (cluster IP) or per endpoint
 * (headless), the targets' addresses in the additional section. */
static enum found srv_name(struct resp *r, const struct dns_svc *s, const char *port,
			   const char *proto, const char *svcname, const char *ns, uint16_t qtype)
{
	bool any = false;

	for (size_t i = 0; i < s->n_ports && !any; i++)
		any = port_match(&s->ports[i], port, proto);
	if (!any || s->external_name[0])
		return NAME_NONE;
	if (!wants(qtype, DNS_T_SRV))
		return NAME_EMPTY;
	srv_records(r, s, port, proto, NULL, svcname, ns);
	return r->an ? NAME_RECORDS : NAME_EMPTY;
}

/* A dotted quad's dashed form (10-244-0-5) into *ip (network order): four decimal numbers
 * up to 255 without leading zeros (Go's net.ParseIP, which CoreDNS's findPods uses). */
static bool undash(const char *s, uint32_t *ip)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++) {
		unsigned v = 0;
		size_t n = 0;

		for (; s[n] >= '0' && s[n] <= '9' && n < 4; n++)
			v = v * 10 + (unsigned)(s[n] - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0') ||
		    s[n] != (i < 3 ? '-' : 0))
			return false;
		b[i] = (uint8_t)v;
		s += n + 1;
	}
	memcpy(ip, b, 4);
	return true;
}

/* <a>-<b>-<c>-<d>.<ns>.pod.D (rel[k - 1] is "pod"): the address the name spells. CoreDNS
 * checks the namespace exists; the agent watches no Namespaces, so any answers. */
static enum found pod_name(struct resp *r, char (*rel)[DNS_LABEL_MAX + 1], size_t k, uint16_t qtype)
{
	uint32_t ip;

	if (k < 3)
		return NAME_EMPTY; /* pod.D, <ns>.pod.D */
	if (k > 3 || !undash(rel[0], &ip))
		return NAME_NONE;
	if (!wants(qtype, DNS_T_A))
		return NAME_EMPTY;
	rr_a(r, NULL, ip);
	r->an++;
	return NAME_RECORDS;
}

/* A name relative to the cluster domain: rel[0..k-1], leftmost first. */
static enum found zone_name(struct resp *r, char (*rel)[DNS_LABEL_MAX + 1], size_t k,
			    uint16_t qtype)
{
	const struct dns_source *src = &r->z->src;
	struct dns_svc *s;
	enum found f = NAME_NONE;

	if (k == 0) {
		if (wants(qtype, DNS_T_SOA)) {
			rr_soa(r, true);
			r->an++;
		}
		if (wants(qtype, DNS_T_NS)) {
			char ns[DNS_NAME_MAX + 16];

			snprintf(ns, sizeof(ns), "ns.dns.%s", r->z->domain);
			rr_name(r, NULL, DNS_T_NS, ns);
			r->an++;
		}
		return r->an ? NAME_RECORDS : NAME_EMPTY;
	}
	if (k == 1 && !strcmp(rel[0], "dns-version")) {
		size_t at;

		if (!wants(qtype, DNS_T_TXT))
			return NAME_EMPTY;
		at = rr_begin(r, NULL, DNS_T_TXT, DNS_TTL);
		put(&r->w, (uint8_t[]){sizeof(DNS_SPEC_VERSION) - 1}, 1);
		put(&r->w, DNS_SPEC_VERSION, sizeof(DNS_SPEC_VERSION) - 1);
		rr_end(r, at);
		r->an++;
		return NAME_RECORDS;
	}
	if (!strcmp(rel[k - 1], "pod"))
		return pod_name(r, rel, k, qtype);
	if (strcmp(rel[k - 1], "svc") || k > 5)
		return NAME_NONE;
	if (k == 1)
		return NAME_EMPTY;
	if (k == 2)
		return src->service(src->arg, rel[0], NULL, NULL) == 0 ? NAME_EMPTY : NAME_NONE;
	s = malloc(sizeof(*s));
	if (!s)
		return NAME_NONE;
	memset(s, 0, sizeof(*s));
	/* the Service is the third label from the right of the relative name */
	if (src->service(src->arg, rel[k - 2], rel[k - 3], s) == 0) {
		if (k == 3)
			f = svc_name(r, s, rel[0], rel[1], qtype);
		else if (k == 4)
			f = ep_name(r, s, rel[0], rel[1], rel[2], qtype);
		else if (rel[0][0] == '_' && rel[1][0] == '_')
			f = srv_name(r, s, rel[0] + 1, rel[1] + 1, rel[2], rel[3], qtype);
	}
	free(s);
	return f;
}

/* <d>.<c>.<b>.<a>.in-addr.arpa: the Service of a cluster IP, else the endpoints with that
 * address (CoreDNS's serviceRecordForIP). -1: no record of ours (the name falls through). */
static int reverse_name(struct resp *r, const struct dname *q, uint16_t qtype)
{
	const struct dns_source *src = &r->z->src;
	char ns[DNS_LABEL_MAX + 1], name[DNS_LABEL_MAX + 1], target[DNS_NAME_MAX + 1];
	struct dns_ep_ref refs[DNS_MAX_EPS];
	size_t n = 0;
	uint8_t b[4];
	uint32_t ip;

	if (q->n != 6 || strcmp(q->lab[4], "in-addr") || strcmp(q->lab[5], "arpa"))
		return -1;
	for (int i = 0; i < 4; i++) {
		char *end;
		unsigned long v = strtoul(q->lab[3 - i], &end, 10);

		if (!q->lab[3 - i][0] || *end || v > 255 || strlen(q->lab[3 - i]) > 3)
			return -1;
		b[i] = (uint8_t)v;
	}
	memcpy(&ip, b, 4);
	if (src->service_by_ip && src->service_by_ip(src->arg, ip, ns, name) == 0) {
		if (wants(qtype, DNS_T_PTR)) {
			snprintf(target, sizeof(target), "%s.%s.svc.%s", name, ns, r->z->domain);
			rr_name(r, NULL, DNS_T_PTR, target);
			r->an++;
		}
		return 0;
	}
	if (src->endpoints_by_ip)
		n = src->endpoints_by_ip(src->arg, ip, refs, DNS_MAX_EPS);
	if (!n)
		return -1;
	for (size_t i = 0; i < n && i < DNS_MAX_EPS && wants(qtype, DNS_T_PTR); i++, r->an++) {
		char buf[20];

		snprintf(target, sizeof(target), "%s.%s.%s.svc.%s",
			 refs[i].label[0] ? refs[i].label : (dashed(ip, buf, sizeof(buf)), buf),
			 refs[i].svc, refs[i].ns, r->z->domain);
		rr_name(r, NULL, DNS_T_PTR, target);
	}
	return 0;
}

/* Whether q ends with the domain's labels; *k: how many come before them. */
static bool in_domain(const struct dname *q, const char *domain, size_t *k)
{
	char d[DNS_NAME_MAX + 1], *save = NULL, *tok;
	const char *labs[MAX_LABELS];
	size_t nd = 0;

	snprintf(d, sizeof(d), "%s", domain);
	for (tok = strtok_r(d, ".", &save); tok && nd < MAX_LABELS;
	     tok = strtok_r(NULL, ".", &save))
		labs[nd++] = tok;
	if (q->odd || q->n < nd)
		return false;
	for (size_t i = 0; i < nd; i++)
		if (strcmp(q->lab[q->n - nd + i], labs[i]))
			return false;
	*k = q->n - nd;
	return true;
}

/* ---- the message ---- */

/* The additional section of the query: the EDNS0 OPT record's payload size into *udp (0
 * without one). 0, or -1 when malformed (two OPTs, an OPT not at the root). */
static int read_additional(const uint8_t *m, size_t mlen, size_t off, uint16_t counts[3],
			   uint16_t *udp)
{
	struct dname *n = malloc(sizeof(*n));
	int rc = 0;

	*udp = 0;
	if (!n)
		return -1;
	for (unsigned sec = 0; sec < 3 && !rc; sec++) {
		for (unsigned i = 0; i < counts[sec] && !rc; i++) {
			uint16_t type, cls, rdlen;

			if (name_read(m, mlen, &off, n) || mlen - off < 10) {
				rc = -1;
				break;
			}
			type = rd16(m + off);
			cls = rd16(m + off + 2);
			rdlen = rd16(m + off + 8);
			off += 10;
			if (mlen - off < rdlen) {
				rc = -1;
				break;
			}
			off += rdlen;
			if (type == DNS_T_OPT) {
				if (sec != 2 || n->n || *udp)
					rc = -1;
				*udp = cls < DNS_UDP_MIN ? DNS_UDP_MIN : cls;
			}
		}
	}
	free(n);
	return rc;
}

/* A header-only answer with an rcode (FORMERR, NOTIMP). */
static size_t answer_rcode(const uint8_t *q, uint8_t *out, uint16_t rcode)
{
	uint16_t flags = rd16(q + 2);

	memset(out, 0, HDR_LEN);
	memcpy(out, q, 2);
	flags = (uint16_t)(FLAG_QR | (flags & (0xf << 11)) | (flags & FLAG_RD) | rcode);
	out[2] = (uint8_t)(flags >> 8);
	out[3] = (uint8_t)flags;
	return HDR_LEN;
}

static void put_opt(struct resp *r)
{
	put(&r->w, "", 1);
	put16(&r->w, DNS_T_OPT);
	put16(&r->w, DNS_UDP_MAX); /* our payload size */
	put32(&r->w, 0);
	put16(&r->w, 0);
	r->ar++;
}

/* A query's question, and the UDP answer size it takes. */
struct query {
	struct dname qn;
	uint16_t flags, qtype, qclass;
	uint16_t udp; /* the EDNS0 payload size offered, 0 without OPT */
	size_t end;   /* past the question */
};

/* Read the query q into *x: DNS_R_NOERROR, or the rcode to answer (FORMERR, NOTIMP) with
 * answer_rcode, or -1: not to be answered (shorter than a header, or a response). */
static int query_read(const uint8_t *q, size_t qlen, struct query *x)
{
	uint16_t counts[3];
	size_t off = HDR_LEN;

	if (qlen < HDR_LEN)
		return -1;
	x->flags = rd16(q + 2);
	if (x->flags & FLAG_QR)
		return -1; /* a response: answering it could loop between two servers */
	if (OPCODE(x->flags) != 0)
		return DNS_R_NOTIMP;
	if (rd16(q + 4) != 1)
		return DNS_R_FORMERR;
	if (name_read(q, qlen, &off, &x->qn) || qlen - off < 4)
		return DNS_R_FORMERR;
	x->qtype = rd16(q + off);
	x->qclass = rd16(q + off + 2);
	off += 4;
	x->end = off;
	counts[0] = rd16(q + 6);
	counts[1] = rd16(q + 8);
	counts[2] = rd16(q + 10);
	if (read_additional(q, qlen, off, counts, &x->udp))
		return DNS_R_FORMERR;
	return DNS_R_NOERROR;
}

/* The most a UDP answer to x may hold (cap: the buffer). */
static size_t udp_limit(const struct query *x, bool tcp, size_t cap)
{
	size_t limit = tcp		      ? cap
		       : x->udp > DNS_UDP_MAX ? DNS_UDP_MAX
		       : x->udp		      ? x->udp
					      : DNS_UDP_MIN;

	return limit > cap ? cap : limit;
}

/* The header (flags and counts filled by finish) and the question, uncompressed. */
static size_t put_question(struct resp *r, const uint8_t *q, const struct query *x)
{
	put(&r->w, q, 2);
	put(&r->w, (uint8_t[10]){0}, 10);
	for (size_t i = 0; i < x->qn.n; i++) {
		/* in lower case: resolvers match the question case-insensitively (glibc's
		 * res_queriesmatch, ns_samename) */
		put(&r->w, &x->qn.len[i], 1);
		put(&r->w, x->qn.lab[i], x->qn.len[i]);
	}
	put(&r->w, "", 1);
	put16(&r->w, x->qtype);
	put16(&r->w, x->qclass);
	return r->w.len;
}

/* The header's flags and counts. */
static void finish(struct resp *r, uint16_t flags)
{
	uint8_t *out = r->w.p;

	out[2] = (uint8_t)(flags >> 8);
	out[3] = (uint8_t)flags;
	out[4] = 0;
	out[5] = 1;
	out[6] = (uint8_t)(r->an >> 8);
	out[7] = (uint8_t)r->an;
	out[8] = (uint8_t)(r->ns >> 8);
	out[9] = (uint8_t)r->ns;
	out[10] = (uint8_t)(r->ar >> 8);
	out[11] = (uint8_t)r->ar;
}

size_t dns_respond(const struct dns_zone *z, const uint8_t *q, size_t qlen, bool tcp, uint8_t *out,
		   size_t cap)
{
	struct query *x;
	struct dname *qn;
	struct resp r = {.w = {.p = out, .cap = cap}, .z = z};
	uint16_t flags, qtype, qclass, udp, rcode = DNS_R_NOERROR;
	size_t q_end, limit, k;
	bool aa = false, tc = false, fwd = false;
	int rc;

	if (qlen < HDR_LEN || cap < DNS_UDP_MIN)
		return 0;
	x = malloc(sizeof(*x));
	if (!x)
		return answer_rcode(q, out, DNS_R_SERVFAIL);
	rc = query_read(q, qlen, x);
	if (rc) {
		free(x);
		return rc < 0 ? 0 : answer_rcode(q, out, (uint16_t)rc);
	}
	qn = &x->qn;
	flags = x->flags;
	qtype = x->qtype;
	qclass = x->qclass;
	udp = x->udp;
	limit = udp_limit(x, tcp, cap);
	q_end = put_question(&r, q, x);

	if (qclass != CLASS_IN && qclass != CLASS_ANY) {
		rcode = DNS_R_REFUSED;
	} else if (in_domain(qn, z->domain, &k)) {
		enum found f = zone_name(&r, qn->lab, k, qtype);

		aa = true;
		if (f == NAME_NONE)
			rcode = DNS_R_NXDOMAIN;
		if (f != NAME_RECORDS || !r.an) {
			rr_soa(&r, false);
			r.ns++;
		}
	} else if (reverse_name(&r, qn, qtype) == 0) {
		aa = true;
	} else if (z->forward) {
		fwd = true;
	} else {
		rcode = DNS_R_REFUSED;
	}
	free(x);
	if (fwd)
		return DNS_FORWARD;
	if (udp)
		put_opt(&r);
	if (r.w.full || r.w.len > limit) {
		/* cut to the question: the client asks again over TCP */
		r.w.full = false;
		r.w.len = q_end;
		r.an = r.ns = r.ar = 0;
		tc = true;
		if (udp)
			put_opt(&r);
	}
	finish(&r, (uint16_t)(FLAG_QR | (aa ? FLAG_AA : 0) | (tc ? FLAG_TC : 0) |
			      (flags & FLAG_RD) | rcode));
	return r.w.len;
}

/* ---- forwarded queries (agent_dns_fwd.c) ---- */

size_t dns_answer_rcode(const uint8_t *q, size_t qlen, uint16_t rcode, uint8_t *out, size_t cap)
{
	struct resp r = {.w = {.p = out, .cap = cap}};
	struct query *x = malloc(sizeof(*x));
	size_t len = 0;

	if (x && query_read(q, qlen, x) == DNS_R_NOERROR) {
		put_question(&r, q, x);
		if (!r.w.full) {
			finish(&r, (uint16_t)(FLAG_QR | (x->flags & FLAG_RD) | rcode));
			len = r.w.len;
		}
	}
	free(x);
	return len;
}

bool dns_reply_matches(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
	struct query *x = malloc(sizeof(*x));
	struct dname *rn = malloc(sizeof(*rn));
	size_t off = HDR_LEN;
	bool ok = false;

	if (x && rn && query_read(q, qlen, x) == DNS_R_NOERROR && rlen >= HDR_LEN &&
	    !memcmp(q, r, 2) && (rd16(r + 2) & FLAG_QR) && rd16(r + 4) == 1 &&
	    !name_read(r, rlen, &off, rn) && rlen - off >= 4 && rn->n == x->qn.n &&
	    rd16(r + off) == x->qtype && rd16(r + off + 2) == x->qclass) {
		ok = true;
		for (size_t i = 0; i < rn->n && ok; i++) /* both in lower case */
			ok = rn->len[i] == x->qn.len[i] &&
			     !memcmp(rn->lab[i], x->qn.lab[i], rn->len[i]);
	}
	free(x);
	free(rn);
	return ok;
}

size_t dns_reply_fit(const uint8_t *q, size_t qlen, bool tcp, const uint8_t *r, size_t rlen,
		     uint8_t *out, size_t cap)
{
	struct query *x = malloc(sizeof(*x));
	struct resp w = {.w = {.p = out, .cap = cap}};
	size_t len = 0;

	if (!x || query_read(q, qlen, x) != DNS_R_NOERROR || rlen < HDR_LEN) {
		free(x);
		return 0;
	}
	if (rlen <= udp_limit(x, tcp, cap)) {
		memcpy(out, r, rlen);
		memcpy(out, q, 2); /* the client's ID */
		len = rlen;
	} else {
		/* cut to the question, TC set: the client asks again over TCP */
		put_question(&w, q, x);
		if (!w.w.full) {
			finish(&w, (uint16_t)(rd16(r + 2) | FLAG_TC));
			len = w.w.len;
		}
	}
	free(x);
	return len;
}
