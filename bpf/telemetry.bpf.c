// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * telemetry.bpf.c: sidecar-free telemetry of the pods of this node (drover_abi.h's telemetry
 * section is the contract with the agent's exporter). Every program is attached to the
 * socket LB's cgroup (the pods' sockets) and keeps its per-socket state in drv_tlsk2, a hash
 * by socket cookie: added when sockops sees the connection established, removed at its close
 * (a connection that predates telemetry is not followed).
 *
 * HTTP/1.x, both sides: cgroup_skb egress and ingress read each TCP segment's payload, put in
 * order by sequence number (a retransmitted byte is passed over; a segment that arrives ahead
 * of a lost one is passed over until the lost one's retransmission has been read, then its
 * bytes count as missed: inside a body skipped by length they cost nothing, elsewhere the
 * parser loses step until a segment begins with a message), through one streaming parser per
 * direction: a message start ("METHOD /target" or "HTTP/1.x NNN"), its headers to the empty
 * line (Content-Length, Transfer-Encoding), then its body skipped by length, so that keep-alive and pipelined
 * messages (two in one segment) and messages split over several writes are counted once
 * each. Requests wait in a small FIFO (method, target, first-byte time) for their responses.
 * A body of unknown length (chunked, or a response read to the close) is passed over until a
 * segment begins with a message start. gRPC (HTTP/2) and TLS never parse as HTTP/1.x: they
 * are counted as TCP only.
 *
 * TCP: sockops (connect, established, then every state change of the socket): opened at
 * ESTABLISHED, refused when a SYN_SENT socket closes with ECONNREFUSED, reset when an
 * established connection is aborted (ESTABLISHED or CLOSE_WAIT straight to CLOSE: a reset
 * sent or received) or ends with ECONNRESET/EPIPE, closed otherwise, with the socket's own
 * counters at the end.
 *
 * The kernels drover runs on may lack kprobes and fentry (this machine's has neither):
 * bench/telemetry/hooks.md has the hooks tried and their measured costs.
 *
 * Only sockets whose local address is a pod of this node (drv_ep1) are counted. When both ends
 * of a connection are (a client pod calling a service whose backend runs on its node), the
 * same bytes leave one socket and arrive at the other: the server's socket parses them once
 * and counts the request once for both sides (reporter DRV_TL_BOTH; enum tl_mirror), and the
 * client's socket returns after its lookup. That halves the parsing of node-local traffic
 * (bench/telemetry/hooks.md, "Third round").
 */
#include "common.h"
#include "maps.h"

#define TL_WIN	 256 /* bytes of a segment looked at in one read */
#define TL_QLEN	 4   /* requests waiting for their response, per socket */
#define TL_STEPS 10  /* parser steps per segment (a step: a window, or a body skipped) */
#define TL_PATH	 64
#define TL_PEND	 16    /* bytes of a split start line kept for the next segment */
#define TL_SOCKS 65536 /* sockets followed at once (drv_tlsk2) */

#define EPIPE	   32
#define ECONNRESET 104

enum tl_pstate {
	TL_P_START = 0, /* at a message boundary: the next byte begins a message */
	TL_P_HDR = 1,	/* inside a message's start line or headers */
	TL_P_ANY = 2,	/* body of unknown length: a call that begins with a message start */
	TL_P_LOST = 3,	/* out of step (not HTTP/1.x, or more than we follow): as TL_P_ANY */
};

/* segments passed over waiting for one hole to fill (a safety: TCP fills every hole); then
 * the bytes count as missed */
#define TL_OOO_MAX	   32
#define TL_OOO_LEN_UNKNOWN 0xffff /* more bytes seen ahead than ooo_len holds */

/* The parser of one direction of a socket's byte stream. */
struct tl_dir {
	__u64 skip;	/* body bytes still to pass over */
	__u32 next_seq; /* sequence number of the next byte not seen yet */
	__u8 seq_valid;
	/* incoming segments that arrived ahead of a lost one (a sender's own leave in order):
	 * bytes [ooo_start, ooo_start + ooo_len) seen but not parsed; while next_seq is short
	 * of ooo_start the hole waits for its retransmission, then those bytes are missed */
	__u8 ooo;
	__u8 ooo_n; /* segments passed over while waiting for the hole */
	__u8 pad;
	__u64 cl;     /* Content-Length of the message whose headers are read */
	__u8 state;   /* enum tl_pstate */
	__u8 llen;    /* bytes on the current header line (saturates) */
	__u8 m_cl;    /* bytes of "content-length:" matched on this line; 0xff: no match */
	__u8 m_te;    /* the same for "transfer-encoding:" */
	__u8 has_cl;  /* the message has a Content-Length */
	__u8 has_te;  /* the message has a Transfer-Encoding (chunked: length unknown) */
	__u8 nobody;  /* the message has no body whatever its headers say (HEAD, 1xx, 204, 304) */
	__u8 is_resp; /* the message is a response */
	__u8 npend;   /* bytes in pend */
	__u8 pad2;
	__u16 ooo_len;
	__u32 ooo_start;
	/* the first bytes of a message start whose segment ended before it could be told (a
	 * start line split over writes), right-aligned: pend[TL_PEND - npend .. TL_PEND) */
	char pend[TL_PEND];
};

struct tl_req {
	__u64 t_ns;
	__u8 method;
	__u8 pad[7];
	char path[TL_PATH];
};

enum tl_flags {
	TL_F_EST = 1 << 0,     /* counted as opened: its end is counted too */
	TL_F_NOHTTP = 1 << 2,  /* upgraded (101) or both roles seen: no more parsing */
	TL_F_ACTIVE = 1 << 3,  /* connect()ed (client side of TCP) */
	TL_F_PASSIVE = 1 << 4, /* accept()ed */
};

/* Who parses a connection's HTTP when both its ends are pods of this node (the same bytes
 * leave one socket and arrive at the other: parsed once, at the server's socket, which counts
 * the client's series too). A client socket connected to a local pod starts PENDING and offers
 * itself in tl_pair; the server's socket, established next, claims it (PENDING -> BY_PEER) and
 * counts for both (FOR_PEER). A client socket whose first segment comes before the claim
 * takes it back (PENDING -> SELF), and both then parse for themselves: compare-and-exchange
 * on either side, so that each request is counted once per side whichever runs first. */
enum tl_mirror {
	TL_MIR_SELF = 0,     /* parses its own streams (every socket whose peer is not local) */
	TL_MIR_PENDING = 1,  /* client, peer local: waiting for the server's socket to claim it */
	TL_MIR_BY_PEER = 2,  /* client: its HTTP series are counted by the server's socket */
	TL_MIR_FOR_PEER = 3, /* server: counts the client socket's HTTP series as well */
};

/* Per-socket state (an entry of drv_tlsk2). Its layout is that of the pinned map: a field
 * added where padding was, so that a restarted proxy reads the entries in flight. */
struct tl_sock {
	__be32 laddr, raddr;
	__be16 lport, rport;
	__u16 rev_nat; /* the service the client asked for (client side, socket LB) */
	__u8 flags;    /* enum tl_flags */
	__u8 role;     /* HTTP: enum drv_tl_reporter of this side, 0 until a message is seen */
	__u8 qhead, qlen, qlost;
	__u8 pad;
	__u16 peer_rev_nat; /* FOR_PEER: the client socket's rev_nat */
	__u16 pad2;
	__u32 syn_retrans;
	__u32 mirror; /* enum tl_mirror (a word: compare-and-exchange) */
	__u64 cgroup_id;
	__u64 est_ns;
	struct tl_dir tx, rx;
	struct tl_req q[TL_QLEN];
};

/* Per-socket state, keyed by the socket cookie: added at ESTABLISHED (sockops), removed at
 * the socket's CLOSE. Not socket storage: creating a socket's storage (an allocation and its
 * memory-cgroup charge) cost 840-910 ns per socket, a third of sockops' cost per connection;
 * an insert into this hash (no preallocation: bpf_mem_alloc's per-CPU caches) costs a fraction
 * of it (bench/telemetry/hooks.md). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tl_sock);
	__uint(max_entries, TL_SOCKS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_tlsk2 SEC(".maps");

/* A client socket of a local pod connected to a local pod, waiting for the server's socket to
 * claim it (enum tl_mirror): its connection's 4-tuple (as the client sees it) to its cookie.
 * Taken out by the claim; an offer nobody claims (the server's socket is not in the cgroup,
 * or the connection was refused) ages out of the LRU, its client parsing for itself. */
struct tl_pair_key {
	__be32 caddr, saddr;
	__be16 cport, sport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct tl_pair_key);
	__type(value, __u64);
	__uint(max_entries, 16384);
} tl_pair SEC(".maps");

/* The state a socket's entry starts from (per CPU: filled, then copied in by the insert). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tl_sock);
	__uint(max_entries, 1);
} tl_sockinit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct drv_tl_key);
	__type(value, struct drv_tl_tcp);
	__uint(max_entries, DRV_TL_SERIES_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_tltcp1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct drv_tl_key);
	__type(value, struct drv_tl_http);
	__uint(max_entries, DRV_TL_SERIES_MAP_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_tlhttp1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, DRV_TL_CTR_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_tlctr1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DRV_TL_RINGBUF_SIZE_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drv_tlev1 SEC(".maps");

/* The window of a call being parsed (too big for the stack). */
/* The segment's window goes at buf + TL_PEND, after a split start line's first bytes; words
 * are read a word at a time, and the target's copy may read up to TL_WIN past its start. */
struct tl_scratch {
	char buf[TL_PEND + TL_WIN + TL_PEND] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tl_scratch);
	__uint(max_entries, 1);
} tl_scratch SEC(".maps");

static const __u64 tl_bounds_us[DRV_TL_HTTP_BUCKETS] = DRV_TL_HTTP_BUCKET_BOUNDS_US;
/* header names, lower case (volatile: clang 14 puts plain
 * constant strings in .rodata.str1.1 while their BTF says .rodata, which the kernel refuses) */
const volatile char cl[16] = "content-length:";
const volatile char te[19] = "transfer-encoding:";

/* x & (TL_WIN - 1), kept in the program (clang drops a mask it finds redundant after a bounds
 * check on another register, and the verifier then sees an unbounded index) */
static __always_inline __u32 tl_idx(__u32 x)
{
	asm volatile("%0 &= 0xff" : "+r"(x));
	return x;
}

static __always_inline void tl_ctr(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&drv_tlctr1, &which);

	if (c)
		*c += 1;
}

/* A series' value, inserted (zero) when missing; NULL when the map is full (counted). */
static __always_inline void *tl_series(void *map, const struct drv_tl_key *k, void *zero,
				       __u32 overflow_ctr)
{
	void *v = bpf_map_lookup_elem(map, k);
	long err;

	if (v)
		return v;
	err = bpf_map_update_elem(map, k, zero, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU added it */) {
		tl_ctr(overflow_ctr);
		return NULL;
	}
	return bpf_map_lookup_elem(map, k);
}

/* The series key of a socket as the ABI wants it: saddr the client, daddr:dport the server. */
static __always_inline void tl_key(const struct tl_sock *s, __u8 reporter, struct drv_tl_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->reporter = reporter;
	if (reporter == DRV_TL_CLIENT) {
		k->saddr = s->laddr;
		k->daddr = s->raddr;
		k->dport = s->rport;
		k->rev_nat = s->rev_nat;
	} else {
		k->saddr = s->raddr;
		k->daddr = s->laddr;
		k->dport = s->lport;
	}
}

/* The key of a request counted once for both ends (FOR_PEER: reporter DRV_TL_BOTH): the HTTP
 * client's, whichever end s is (the server's is the same with reporter SERVER, rev_nat 0). */
static __always_inline void tl_key_both(const struct tl_sock *s, struct drv_tl_key *k)
{
	/* a server's key names the client as saddr already: only the client's service is its
	 * peer's */
	tl_key(s, s->role, k);
	if (s->role == DRV_TL_SERVER)
		k->rev_nat = s->peer_rev_nat;
	k->reporter = DRV_TL_BOTH;
}

/* The client's port of the connection of s, for a key made by tl_key or tl_key_both */
static __always_inline __be16 tl_sport(const struct tl_sock *s, __u8 reporter)
{
	if (reporter == DRV_TL_BOTH)
		reporter = s->role;
	return reporter == DRV_TL_CLIENT ? s->lport : s->rport;
}

/* An event at time now (the caller's clock read: one per run is enough) */
static __always_inline struct drv_tl_event *tl_event(const struct drv_tl_key *k, __u8 type,
						     const struct tl_sock *s, __u64 now)
{
	struct drv_tl_event *e = bpf_ringbuf_reserve(&drv_tlev1, sizeof(*e), 0);

	if (!e) {
		tl_ctr(DRV_TL_CTR_EVENTS_LOST);
		return NULL;
	}
	/* the path is the HTTP event's to fill */
	__builtin_memset(e, 0,
			 type == DRV_TL_EV_HTTP ? offsetof(struct drv_tl_event, path) : sizeof(*e));
	e->ts_ns = now;
	e->key = *k;
	e->type = type;
	e->sport = tl_sport(s, k->reporter);
	/* pid stays 0: segments and state changes run outside the task's context */
	e->cgroup_id = s->cgroup_id;
	return e;
}

/* Events wake the reader only once the ring buffer is a quarter full: a wake-up per event
 * (irq_work, then the reader's scheduling) cost several times the rest of the programs
 * together (bench/telemetry/hooks.md). The reader polls on a timer as well. A quarter of the
 * ring's size is set by the loader (the map's size is a flag, or the pinned map's): one helper
 * call per event instead of two. */
const volatile __u64 tl_rb_quarter = DRV_TL_RINGBUF_SIZE_DEFAULT / 4;

static __always_inline void tl_submit(struct drv_tl_event *e)
{
	__u64 avail = bpf_ringbuf_query(&drv_tlev1, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, avail >= tl_rb_quarter ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* ---------- per-socket state ---------- */

static __always_inline bool tl_local(__be32 addr)
{
	return bpf_map_lookup_elem(&drv_ep1, &addr) != NULL;
}

/* The service a client socket asked for: the socket LB's entry for it (cookie, backend) */
static __always_inline __u16 tl_rev_nat(__u64 cookie, __be32 raddr, __be16 rport)
{
	struct drv_sock_rnat_key rk = {.cookie = cookie, .addr = raddr, .port = rport};
	struct drv_sock_rnat_val *rv = bpf_map_lookup_elem(&drv_sknat5, &rk);

	return rv ? rv->rev_nat : 0;
}

/* ---------- HTTP ---------- */

/* A request answered (code) or ended unanswered (0): counted for s's side, or once for both
 * ends when s counts for its peer (both ends pods of this node: one series update and one
 * event stand for the two sides', with the duration s saw; the two ends' clocks differ by the
 * time the bytes take between two local sockets). */
static __always_inline void tl_http_count(struct tl_sock *s, __u8 method, __u16 code, __u64 t_ns,
					  const char *path, __u64 now)
{
	struct drv_tl_http zero = {}, *v;
	struct drv_tl_key k;
	__u64 d = now > t_ns ? (now - t_ns) / 1000 : 0;
	int i;

	if (s->mirror == TL_MIR_FOR_PEER)
		tl_key_both(s, &k);
	else
		tl_key(s, s->role, &k);
	k.method = method;
	k.code = code;
	v = tl_series(&drv_tlhttp1, &k, &zero, DRV_TL_CTR_HTTP_OVERFLOW);
	if (v) {
		v->requests++;
		v->duration_us_sum += d;
		for (i = 0; i < DRV_TL_HTTP_BUCKETS; i++) {
			if (d <= tl_bounds_us[i])
				break;
		}
		if (i < DRV_TL_HTTP_BUCKETS)
			v->buckets[i]++;
		else
			v->over++;
	}
	{
		struct drv_tl_event *e = tl_event(&k, DRV_TL_EV_HTTP, s, now);

		if (e) {
			e->duration_us = d;
			__builtin_memcpy(e->path, path, TL_PATH);
			tl_submit(e);
		}
	}
}

/* The first n (<= 8) bytes of literal lit as a little-endian word (clang folds it), and the
 * mask of n bytes: a message start is told by one 8-byte load and a compare per candidate
 * (a byte loop cost ~20 loads and branches per message). */
#define TL_B(lit, n, i) ((n) > (i) ? (__u64)(__u8)(lit)[i] << (8 * (i)) : 0)
#define TL_W8(lit, n)                                                                              \
	(TL_B(lit, n, 0) | TL_B(lit, n, 1) | TL_B(lit, n, 2) | TL_B(lit, n, 3) | TL_B(lit, n, 4) | \
	 TL_B(lit, n, 5) | TL_B(lit, n, 6) | TL_B(lit, n, 7))
#define TL_MASK(n)    ((n) >= 8 ? ~0ULL : (1ULL << (8 * (n))) - 1)
#define TL_IS(w, lit) (((w)&TL_MASK(sizeof(lit) - 1)) == TL_W8(lit, sizeof(lit) - 1))

/* The 8 bytes at b (the scratch buffer: readable past the data, unaligned loads are fine) */
static __always_inline __u64 tl_word(const char *b)
{
	return *(const __u64 *)b;
}

static __always_inline int tl_method(__u64 w, __u8 *len)
{
#define M(str, id)                      \
	if (TL_IS(w, str)) {            \
		*len = sizeof(str) - 1; \
		return id;              \
	}
	M("GET ", DRV_TL_M_GET)
	M("POST ", DRV_TL_M_POST)
	M("PUT ", DRV_TL_M_PUT)
	M("HEAD ", DRV_TL_M_HEAD)
	M("DELETE ", DRV_TL_M_DELETE)
	M("PATCH ", DRV_TL_M_PATCH)
	M("OPTIONS ", DRV_TL_M_OPTIONS)
	M("CONNECT ", DRV_TL_M_CONNECT)
	M("TRACE ", DRV_TL_M_TRACE)
#undef M
	return -1;
}

static __always_inline bool tl_digit(char c)
{
	return c >= '0' && c <= '9';
}

struct tl_pathcopy {
	const char *b;
	struct tl_req *req;
	__u32 n, from;
};

/* One byte of the request target (bpf_loop's callback): up to a space or the line's end. */
static long tl_path_byte(__u32 i, void *arg)
{
	struct tl_pathcopy *pc = arg;
	__u32 j = pc->from + i;
	char c;

	if (j >= pc->n || j >= TL_WIN || i >= TL_PATH - 1)
		return 1;
	c = pc->b[tl_idx(j)];
	if (c == ' ' || c == '\r' || c == '\n')
		return 1;
	pc->req->path[tl_idx(i) & (TL_PATH - 1)] = c;
	return 0;
}

/* A message begins at b[0] (n bytes readable): a request (its method, target into req) or a
 * response (its status). 1: request, 2: response, 0: neither. */
static __always_inline int tl_msg_start(const char *b, __u32 n, struct tl_req *req, __u16 *code)
{
	__u64 w = tl_word(b);
	__u8 mlen = 0;
	int m;

	if (n >= 13 && TL_IS(w, "HTTP/1.") && (b[7] == '0' || b[7] == '1') && b[8] == ' ' &&
	    tl_digit(b[9]) && tl_digit(b[10]) && tl_digit(b[11]) &&
	    (b[12] == ' ' || b[12] == '\r')) {
		*code = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
		return 2;
	}
	if (n < 10)
		return 0;
	m = tl_method(w, &mlen);
	if (m < 0 || mlen > 8)
		return 0;
	/* origin-form, asterisk-form (OPTIONS *), absolute-form or an authority (CONNECT) */
	if (b[mlen] == ' ' || b[mlen] == '\r' || b[mlen] == '\n')
		return 0;
	req->method = (__u8)m;
	{
		struct tl_pathcopy pc = {.b = b, .n = n, .from = mlen, .req = req};

		bpf_loop(TL_PATH - 1, tl_path_byte, &pc, 0);
	}
	return 1;
}

struct tl_scan {
	const char *buf;
	struct tl_dir *d;
	__u32 n;
	__u32 end; /* index after the empty line, 0: not found */
};

/* One header byte: the empty line ends the headers; Content-Length's
 * digits and a Transfer-Encoding are noted on the way. */
static __always_inline long tl_scan_byte(struct tl_scan *sc, __u32 i)
{
	struct tl_dir *d = sc->d;
	char c;

	if (i >= sc->n || i >= TL_WIN)
		return 1;
	c = sc->buf[tl_idx(i)];
	if (c == '\n') {
		if (d->llen == 0) {
			sc->end = i + 1;
			return 1;
		}
		d->llen = 0;
		d->m_cl = 0;
		d->m_te = 0;
		return 0;
	}
	if (c == '\r')
		return 0;
	if (d->llen < 255)
		d->llen++;
	if (d->m_cl == sizeof(cl) - 1) {
		if (tl_digit(c))
			d->cl = d->cl * 10 + (c - '0');
		else if (c != ' ' && c != '\t')
			d->m_cl = 0xff;
		return 0;
	}
	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	if (d->m_cl < sizeof(cl) - 1) {
		if (c == cl[d->m_cl & 15]) {
			d->m_cl++;
			if (d->m_cl == sizeof(cl) - 1) {
				d->has_cl = 1;
				d->cl = 0;
			}
		} else {
			d->m_cl = 0xff;
		}
	}
	if (d->m_te < sizeof(te) - 1) {
		if (c == te[d->m_te & 31]) {
			d->m_te++;
			if (d->m_te == sizeof(te) - 1)
				d->has_te = 1;
		} else {
			d->m_te = 0xff;
		}
	}
	return 0;
}

/* In a line that is no header we look for (most bytes of most headers): its bytes other than
 * a line end can only lengthen it, and are passed over. */
static __always_inline bool tl_passing(const struct tl_dir *d)
{
	return d->llen && d->m_cl == 0xff && d->m_te == 0xff;
}

/* Eight header bytes (bpf_loop's callback): a word with no line feed inside a line passed over
 * is passed over whole; in the others, the bytes of such a line up to its line feed are. */
static long tl_scan_word(__u32 i, void *arg)
{
	struct tl_scan *sc = arg;
	struct tl_dir *d = sc->d;
	__u32 off = i * 8;
	__u64 w, x, z;
	bool pass;

	if (off >= sc->n || off >= TL_WIN)
		return 1;
	w = *(__u64 *)(sc->buf + (tl_idx(off) & ~7u));
	x = w ^ 0x0a0a0a0a0a0a0a0aULL; /* a zero byte where w has '\n' */
	/* 0x80 in each byte (little-endian) that is '\n': exact up to the first; above it a byte
	 * may be flagged that is none, and is then looked at, as it would be anyway */
	z = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
	pass = tl_passing(d);
	if (pass && !z && off + 8 <= sc->n)
		return 0;
#pragma unroll
	for (__u32 j = 0; j < 8; j++) {
		if (pass && !(z & (0x80ULL << (j * 8))))
			continue;
		if (tl_scan_byte(sc, off + j))
			return 1;
		pass = tl_passing(d);
	}
	return 0;
}

static __always_inline void tl_hdr_reset(struct tl_dir *d, bool is_resp, bool nobody)
{
	d->state = TL_P_HDR;
	d->llen = 1; /* the start line is not the empty line */
	d->m_cl = 0xff;
	d->m_te = 0xff;
	d->cl = 0;
	d->has_cl = 0;
	d->has_te = 0;
	d->is_resp = is_resp;
	d->nobody = nobody;
}

/* A message start seen at the beginning of a window of direction d (tx: sent). Returns
 * false when the socket stops being parsed. */
static __always_inline bool tl_on_start(struct tl_sock *s, struct tl_dir *d, bool tx, int kind,
					struct tl_req *req, __u16 code, __u64 now)
{
	/* requests are sent by the client and received by the server */
	__u8 role = (kind == 1) == tx ? DRV_TL_CLIENT : DRV_TL_SERVER;
	bool nobody = false;

	if (s->role && s->role != role) {
		s->flags |= TL_F_NOHTTP;
		return false;
	}
	s->role = role;
	if (kind == 1) {
		if (s->qlen >= TL_QLEN) {
			s->qlost++;
		} else {
			__u32 slot = (s->qhead + s->qlen) & (TL_QLEN - 1);

			req->t_ns = now;
			s->q[slot] = *req;
			s->qlen++;
		}
		tl_hdr_reset(d, false, false);
		return true;
	}
	/* a response */
	if (code >= 100 && code < 200 && code != 101) {
		/* informational: the final response follows */
		tl_hdr_reset(d, true, true);
		return true;
	}
	if (s->qlen) {
		__u32 slot = s->qhead & (TL_QLEN - 1);
		struct tl_req *r = &s->q[slot];

		nobody = r->method == DRV_TL_M_HEAD;
		tl_http_count(s, r->method, code, r->t_ns, r->path, now);
		s->qhead = (s->qhead + 1) & (TL_QLEN - 1);
		s->qlen--;
	} else {
		if (s->qlost)
			s->qlost--;
		tl_ctr(DRV_TL_CTR_HTTP_UNPARSED);
	}
	if (code == 101) {
		s->flags |= TL_F_NOHTTP; /* another protocol from here on */
		return false;
	}
	tl_hdr_reset(d, true, nobody || code == 204 || code == 304);
	return true;
}

/* The n (< TL_PEND) bytes at b may begin a start line: a capital letter ("GET", "HTTP/1.1"),
 * no line end. */
static __always_inline bool tl_maybe_start(const char *b, __u32 n)
{
	bool ok = b[0] >= 'A' && b[0] <= 'Z';

#pragma unroll
	for (__u32 i = 1; i < TL_PEND; i++) {
		if (i < n)
			ok &= b[i] != '\r' && b[i] != '\n';
	}
	return ok;
}

/* One step of the parser of direction tx of socket s over the segment's payload bytes from
 * offset pos to end: a body passed over, or a window of TL_WIN bytes read (a message start and
 * its headers). Returns the offset reached, or end + 1 when the rest of the segment is to be
 * passed over. A global function: the verifier checks it once, not once per step. */
__attribute__((noinline)) int tl_step(struct __sk_buff *skb, struct tl_sock *s, int tx, __u32 pos,
				      __u32 end)
{
	__u32 n = end;
	__u32 zero = 0;
	struct tl_scratch *w = bpf_map_lookup_elem(&tl_scratch, &zero);
	struct tl_scan sc = {};
	struct tl_dir *d;
	char *seg;
	__u32 win;

	if (!s || !w || pos >= n)
		return n + 1;
	d = tx ? &s->tx : &s->rx;
	if (d->skip) {
		__u32 adv = d->skip < n - pos ? (__u32)d->skip : n - pos;

		d->skip -= adv;
		return pos + adv;
	}
	win = n - pos;
	if (win > TL_WIN)
		win = TL_WIN;
	seg = w->buf + TL_PEND;
	/* 1 .. TL_WIN for the verifier, whatever clang kept of the bounds above */
	if (win < 1 || bpf_skb_load_bytes(skb, pos, seg, tl_idx(win - 1) + 1)) {
		d->state = TL_P_LOST;
		d->npend = 0;
		return n + 1;
	}
	if (d->state != TL_P_HDR) {
		__u32 np = d->npend & (TL_PEND - 1), at;
		struct tl_req req = {};
		__u16 code = 0;
		int kind;

		/* a start line begun in the last segment: its first bytes go before this one's */
		if (np)
			__builtin_memcpy(w->buf, d->pend, TL_PEND);
		d->npend = 0;
		at = TL_PEND - np;
		asm volatile("%0 &= 0x1f" : "+r"(at)); /* an offset the verifier can bound */
		kind = tl_msg_start(w->buf + at, win + np, &req, &code);
		if (!kind && !np && win == n - pos && win < TL_PEND && tl_maybe_start(seg, win)) {
			/* too short to tell: kept for the next segment, the state as it was */
			__u32 sz = win, dst;

			asm volatile("%0 &= 0xf" : "+r"(sz));
			dst = TL_PEND - sz;
			asm volatile("%0 &= 0x1f" : "+r"(dst));
			bpf_probe_read_kernel(d->pend + dst, sz, seg);
			d->npend = win;
			return n + 1;
		}
		if (!kind) {
			/* a body of unknown length or junk: wait for a segment that begins with a
			 * message; a boundary that sees no message is lost */
			if (d->state == TL_P_START)
				d->state = TL_P_LOST;
			return n + 1;
		}
		if (!tl_on_start(s, d, tx, kind, &req, code, bpf_ktime_get_ns()))
			return n + 1;
	}
	sc.buf = seg;
	sc.d = d;
	sc.n = win;
	bpf_loop(TL_WIN / 8, tl_scan_word, &sc, 0);
	if (!sc.end)
		return pos + win; /* the headers go on */
	if (d->nobody || (d->has_cl && !d->has_te)) {
		d->skip = d->nobody ? 0 : d->cl;
		d->state = TL_P_START;
	} else if (d->has_te || d->is_resp) {
		d->state = TL_P_ANY; /* chunked, or a response read to the close */
	} else {
		d->state = TL_P_START; /* a request without a body */
	}
	return pos + sc.end;
}

/* Parse the n payload bytes at offset off of the segment, of direction tx. */
static __always_inline void tl_parse(struct __sk_buff *skb, struct tl_sock *s, bool tx, __u32 off,
				     __u32 n)
{
	__u32 pos = off;

	n += off;
	struct tl_dir *d = tx ? &s->tx : &s->rx;

	for (int step = 0; step < TL_STEPS && pos < n; step++) {
		if (d->skip) { /* a body passed over: no call */
			__u32 adv = d->skip < n - pos ? (__u32)d->skip : n - pos;

			d->skip -= adv;
			pos += adv;
			continue;
		}
		pos = (__u32)tl_step(skb, s, tx, pos, n);
	}
	if (pos < n) /* more than TL_STEPS: resynchronise later */
		d->state = TL_P_LOST;
}

/* n bytes of direction d will never be read (seen out of order, or missed): nothing lost inside
 * a body skipped by length, otherwise the parser is out of step */
static __always_inline void tl_missed(struct tl_dir *d, __u32 n)
{
	if (!n)
		return;
	if (d->state == TL_P_START && d->skip >= n && !d->npend) {
		d->skip -= n;
		return;
	}
	if (d->state != TL_P_ANY)
		d->state = TL_P_LOST;
	d->skip = 0;
	d->npend = 0;
}

struct tl_tcphdr {
	__be16 source, dest;
	__be32 seq, ack_seq;
	__u8 res1 : 4, doff : 4;
	__u8 flags;
	__be16 window, check, urg_ptr;
};

/* One TCP segment of a pod's socket, leaving (tx) or arriving. Its headers are read first:
 * a segment with no payload (SYN, FIN, most of all pure ACKs) returns before any map or socket
 * storage work. */
static __always_inline void tl_segment(struct __sk_buff *skb, bool tx)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct bpf_sock *sk = skb->sk;
	struct tl_tcphdr th;
	struct tl_sock *s;
	struct tl_dir *d;
	__u32 off, len, seq;
	__u64 cookie;
	__u8 vihl;
	__s32 delta;

	if (!sk || skb->protocol != bpf_htons(ETH_P_IP))
		return;
	/* the headers are in the linear part (TCP pulls them in before the filter runs) */
	if (data + 1 <= data_end)
		vihl = *(__u8 *)data;
	else if (bpf_skb_load_bytes(skb, 0, &vihl, 1))
		return;
	off = (vihl & 0xf) * 4;
	if (off <= 60 && data + off + sizeof(th) <= data_end)
		__builtin_memcpy(&th, data + off, sizeof(th));
	else if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
		return;
	off += th.doff * 4;
	if (skb->len <= off)
		return; /* no payload */
	/* only sockets sockops saw established (IPv4 TCP of a local pod) have an entry */
	cookie = bpf_get_socket_cookie(skb);
	s = bpf_map_lookup_elem(&drv_tlsk2, &cookie);
	if (!s || (s->flags & TL_F_NOHTTP))
		return;
	if (s->mirror == TL_MIR_BY_PEER)
		return; /* the server's socket, on this node, counts it */
	if (s->mirror == TL_MIR_PENDING &&
	    __sync_val_compare_and_swap(&s->mirror, TL_MIR_PENDING, TL_MIR_SELF) == TL_MIR_BY_PEER)
		return; /* claimed meanwhile */
	len = skb->len - off;
	seq = bpf_ntohl(th.seq);
	d = tx ? &s->tx : &s->rx;
	if (!s->cgroup_id) {
		sk = bpf_sk_fullsock(sk);
		if (sk)
			s->cgroup_id = bpf_sk_cgroup_id(sk);
	}
	if (!d->seq_valid) {
		d->seq_valid = 1;
		d->next_seq = seq;
	}
	delta = (__s32)(seq - d->next_seq);
	if (delta > 0) {
		__u32 end = d->ooo_start + d->ooo_len;
		bool known = d->ooo_len != TL_OOO_LEN_UNKNOWN;

		if (!d->ooo || ((__s32)(d->next_seq - d->ooo_start) < 0 && d->ooo_n < TL_OOO_MAX)) {
			/* ahead of a lost segment: passed over until its retransmission is read */
			if (!d->ooo) {
				d->ooo = 1;
				d->ooo_n = 0;
				d->ooo_start = seq;
				end = seq;
			}
			if ((__s32)(seq - d->ooo_start) < 0)
				d->ooo_start = seq;
			if ((__s32)(seq + len - end) > 0)
				end = seq + len;
			d->ooo_len = end - d->ooo_start < TL_OOO_LEN_UNKNOWN ? end - d->ooo_start
									     : TL_OOO_LEN_UNKNOWN;
			d->ooo_n++;
			return;
		}
		if ((__s32)(d->next_seq - d->ooo_start) >= 0 && known && (__s32)(seq - end) > 0) {
			/* past the bytes seen ahead (missed) there is a new hole: it waits */
			tl_missed(d, end - d->next_seq);
			d->next_seq = end;
			d->ooo_start = seq;
			d->ooo_len = len < TL_OOO_LEN_UNKNOWN ? len : TL_OOO_LEN_UNKNOWN;
			d->ooo_n = 1;
			return;
		}
		/* bytes seen ahead, or waited for too long: missed */
		if (!known || (__s32)(seq + len - end) >= 0)
			d->ooo = 0;
		tl_missed(d, (__u32)delta);
		d->next_seq = seq;
		delta = 0;
	}
	if ((__u32)-delta >= len)
		return; /* all of it seen already (a retransmission) */
	off += (__u32)-delta;
	len -= (__u32)-delta;
	d->next_seq = seq + (__u32)-delta + len;
	if (d->ooo && d->ooo_len != TL_OOO_LEN_UNKNOWN &&
	    (__s32)(d->next_seq - (d->ooo_start + d->ooo_len)) >= 0)
		d->ooo = 0; /* the retransmission covered the bytes seen ahead too */
	tl_parse(skb, s, tx, off, len);
}

SEC("cgroup_skb/egress")
int drv_tl_egress(struct __sk_buff *skb)
{
	tl_segment(skb, true);
	return 1;
}

SEC("cgroup_skb/ingress")
int drv_tl_ingress(struct __sk_buff *skb)
{
	tl_segment(skb, false);
	return 1;
}

/* ---------- TCP ---------- */

static __always_inline struct drv_tl_tcp *tl_tcp_series(const struct tl_sock *s, __u8 reporter,
							struct drv_tl_key *k)
{
	struct drv_tl_tcp zero = {};

	tl_key(s, reporter, k);
	return tl_series(&drv_tltcp1, k, &zero, DRV_TL_CTR_TCP_OVERFLOW);
}

static __always_inline __u8 tl_tcp_reporter(const struct tl_sock *s)
{
	return (s->flags & TL_F_ACTIVE) ? DRV_TL_CLIENT : DRV_TL_SERVER;
}

/* The socket's pending error (sk_err), read through its BTF type. */
static __always_inline int tl_sk_err(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct tcp_sock *tp;

	if (!sk)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	return tp ? tp->inet_conn.icsk_inet.sk.sk_err : 0;
}

/* The per-CPU template of a socket's entry, its key fields filled from the sockops context
 * (an IPv4 socket, or a dual-stack IPv6 one's v4-mapped addresses). The template's other fields
 * are never written: they stay zero. */
static __always_inline struct tl_sock *tl_sock_init(struct bpf_sock_ops *ctx, __u64 cookie,
						    bool active)
{
	__u32 zero = 0;
	struct tl_sock *s = bpf_map_lookup_elem(&tl_sockinit, &zero);

	if (!s)
		return NULL;
	s->laddr = ctx->local_ip4;
	s->raddr = ctx->remote_ip4;
	s->lport = bpf_htons((__u16)ctx->local_port);
	s->rport = (__be16)(ctx->remote_port >> 16);
	/* an accept()ed socket has no socket LB entry */
	s->rev_nat = active ? tl_rev_nat(cookie, s->raddr, s->rport) : 0;
	s->flags = active ? TL_F_ACTIVE : TL_F_PASSIVE;
	s->mirror = TL_MIR_SELF;
	s->peer_rev_nat = 0;
	return s;
}

/* The connection's 4-tuple as its client socket (the active one) sees it */
static __always_inline void tl_pair_key(const struct tl_sock *s, bool active,
					struct tl_pair_key *pk)
{
	pk->caddr = active ? s->laddr : s->raddr;
	pk->saddr = active ? s->raddr : s->laddr;
	pk->cport = active ? s->lport : s->rport;
	pk->sport = active ? s->rport : s->lport;
}

/* An accept()ed socket (template s, not inserted yet) whose client socket, a pod of this node,
 * offered itself: claimed, s counts for both. Returns the client's entry when claimed. */
static __always_inline struct tl_sock *tl_pair_claim(struct tl_sock *s)
{
	struct tl_pair_key pk;
	struct tl_sock *c;
	__u64 *cookie;

	tl_pair_key(s, false, &pk);
	cookie = bpf_map_lookup_elem(&tl_pair, &pk);
	if (!cookie)
		return NULL;
	c = bpf_map_lookup_elem(&drv_tlsk2, cookie);
	bpf_map_delete_elem(&tl_pair, &pk);
	if (!c || c->raddr != s->laddr || c->rport != s->lport)
		return NULL;
	if (__sync_val_compare_and_swap(&c->mirror, TL_MIR_PENDING, TL_MIR_BY_PEER) !=
	    TL_MIR_PENDING)
		return NULL; /* its first segment came first: each parses for itself */
	s->mirror = TL_MIR_FOR_PEER;
	s->peer_rev_nat = c->rev_nat;
	return c;
}

/* A connection established: its entry added, counted as opened. */
static __always_inline void tl_tcp_open(struct bpf_sock_ops *ctx, bool active)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct tl_sock *s = tl_sock_init(ctx, cookie, active), *client = NULL;
	struct drv_tl_event *e;
	struct drv_tl_tcp *v;
	struct drv_tl_key k;
	long err;

	if (!s)
		return;
	s->flags |= TL_F_EST;
	s->est_ns = bpf_ktime_get_ns();
	s->syn_retrans = ctx->total_retrans;
	/* the streams' first bytes: the first segment seen may be ahead of a lost one */
	s->rx.seq_valid = 1;
	s->rx.next_seq = ctx->rcv_nxt;
	s->tx.seq_valid = 1;
	s->tx.next_seq = ctx->snd_nxt;
	/* both ends pods of this node: the server's socket parses for both (enum tl_mirror) */
	if (active && tl_local(s->raddr))
		s->mirror = TL_MIR_PENDING;
	else if (!active)
		client = tl_pair_claim(s);
	err = bpf_map_update_elem(&drv_tlsk2, &cookie, s, BPF_NOEXIST);
	if (err) {
		/* full: neither its opening nor its end is counted */
		if (err != -17 /* EEXIST: counted already */)
			tl_ctr(DRV_TL_CTR_SOCK_OVERFLOW);
		if (client) /* claimed for nothing: the client counts its own */
			client->mirror = TL_MIR_SELF;
		return;
	}
	if (s->mirror == TL_MIR_PENDING) {
		struct tl_pair_key pk;

		tl_pair_key(s, true, &pk);
		bpf_map_update_elem(&tl_pair, &pk, &cookie, BPF_ANY);
	} else if (s->mirror == TL_MIR_FOR_PEER) {
		tl_ctr(DRV_TL_CTR_PAIRED);
	}
	v = tl_tcp_series(s, tl_tcp_reporter(s), &k);
	if (v)
		v->opened++;
	e = tl_event(&k, DRV_TL_EV_TCP_OPEN, s, s->est_ns);
	if (e)
		tl_submit(e);
}

static __always_inline void tl_tcp_refused(struct bpf_sock_ops *ctx)
{
	struct tl_sock *s = tl_sock_init(ctx, bpf_get_socket_cookie(ctx), true);
	struct drv_tl_event *e;
	struct drv_tl_tcp *v;
	struct drv_tl_key k;

	if (!s)
		return;
	v = tl_tcp_series(s, DRV_TL_CLIENT, &k);
	if (v)
		v->refused++;
	e = tl_event(&k, DRV_TL_EV_TCP_REFUSED, s, bpf_ktime_get_ns());
	if (e)
		tl_submit(e);
}

static __always_inline void tl_tcp_end(struct bpf_sock_ops *ctx, struct tl_sock *s, int oldstate)
{
	__u64 now = bpf_ktime_get_ns(), sent = ctx->bytes_acked, rcvd = ctx->bytes_received;
	__u32 srtt = ctx->srtt_us >> 3;
	int err = tl_sk_err(ctx);
	struct drv_tl_event *e;
	struct drv_tl_tcp *v;
	struct drv_tl_key k;
	bool rst;

	s->flags &= ~TL_F_EST;
	/* a graceful end passes through FIN_WAIT/CLOSING/LAST_ACK; straight from ESTABLISHED or
	 * CLOSE_WAIT it is an abort: a reset sent (close with unread data, SO_LINGER 0) or
	 * received */
	rst = oldstate == BPF_TCP_ESTABLISHED || oldstate == BPF_TCP_CLOSE_WAIT ||
	      err == ECONNRESET || err == EPIPE;
	/* requests the connection ended before their response (code 0) */
	if (s->role && !(s->flags & TL_F_NOHTTP)) {
		for (int i = 0; i < TL_QLEN; i++) {
			struct tl_req *r;

			if (i >= s->qlen)
				break;
			r = &s->q[(s->qhead + i) & (TL_QLEN - 1)];
			tl_http_count(s, r->method, 0, r->t_ns, r->path, now);
		}
		s->qlen = 0;
	}
	v = tl_tcp_series(s, tl_tcp_reporter(s), &k);
	if (v) {
		if (rst)
			v->reset++;
		else
			v->closed++;
		v->bytes_sent += sent;
		v->bytes_received += rcvd;
		v->packets_sent += ctx->segs_out;
		v->packets_received += ctx->segs_in;
		v->retransmits += ctx->total_retrans;
		v->syn_retransmits += s->syn_retrans;
		if (srtt) {
			v->srtt_us_sum += srtt;
			v->srtt_samples++;
		}
	}
	e = tl_event(&k, rst ? DRV_TL_EV_TCP_RESET : DRV_TL_EV_TCP_CLOSE, s, now);
	if (e) {
		e->duration_us = (now - s->est_ns) / 1000;
		e->bytes_sent = sent;
		e->bytes_received = rcvd;
		tl_submit(e);
	}
}

/* An IPv6 socket's connection to or from an IPv4 address (::ffff:a.b.c.d): a dual-stack
 * server's, e.g. one listening on [::]; its local_ip4/remote_ip4 hold the IPv4 addresses. */
static __always_inline bool tl_v4mapped(const struct bpf_sock_ops *ctx)
{
	return ctx->remote_ip6[0] == 0 && ctx->remote_ip6[1] == 0 &&
	       ctx->remote_ip6[2] == bpf_htonl(0xffff);
}

SEC("sockops")
int drv_tl_sockops(struct bpf_sock_ops *ctx)
{
	__u32 op = ctx->op;
	struct tl_sock *s;
	__u64 cookie;

	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_STATE_CB)
		return 1; /* the other callbacks (RTO, RWND_INIT, ...): first, and cheap */
	/* of the state changes only the end counts */
	if (op == BPF_SOCK_OPS_STATE_CB && ctx->args[1] != BPF_TCP_CLOSE)
		return 1;
	if (!ctx->sk || !(ctx->family == AF_INET || (ctx->family == AF_INET6 && tl_v4mapped(ctx))))
		return 1;
	if (op != BPF_SOCK_OPS_STATE_CB) {
		/* connect: only the state changes from now on (a refusal is one), no entry yet, and
		 * no drv_ep1 lookup (the cgroup holds the pods' sockets; the refusal looks) */
		if (op != BPF_SOCK_OPS_TCP_CONNECT_CB) {
			if (!tl_local(ctx->local_ip4))
				return 1;
			tl_tcp_open(ctx, op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB);
		}
		bpf_sock_ops_cb_flags_set(ctx,
					  ctx->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		return 1;
	}
	/* the end */
	cookie = bpf_get_socket_cookie(ctx);
	s = bpf_map_lookup_elem(&drv_tlsk2, &cookie);
	if (s) {
		tl_tcp_end(ctx, s, (int)ctx->args[0]);
		bpf_map_delete_elem(&drv_tlsk2, &cookie);
	} else if (ctx->args[0] == BPF_TCP_SYN_SENT && tl_sk_err(ctx) == ECONNREFUSED &&
		   tl_local(ctx->local_ip4)) {
		tl_tcp_refused(ctx);
	}
	return 1;
}
