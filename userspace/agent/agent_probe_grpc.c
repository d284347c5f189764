/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_probe_grpc: the gRPC probe (kubelet 1.32 pkg/probe/grpc/grpc.go): one unary call of
 * grpc.health.v1.Health/Check with HealthCheckRequest{service} to the pod IP's port, over
 * HTTP/2 cleartext with prior knowledge through libcurl (the project's HTTP client; the node's
 * libcurl must have HTTP/2, checked at each run with curl_version_info: without it the probe
 * errors with a message saying so). Success when the call's grpc-status is 0 and the answer's
 * status is SERVING; the failure texts are grpc.go's ("service unhealthy (responded with
 * \"NOT_SERVING\")", "error: this server does not implement the grpc health protocol
 * (grpc.health.v1.Health): ...", "timeout: health rpc did not complete within 1s",
 * "error: health rpc probe failed: rpc error: code = ... desc = ...").
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_probe_int.h"

#define GRPC_UA	      "kube-probe/1.32"
#define GRPC_MAX_BODY 4096

size_t probe_grpc_request(const char *service, unsigned char *buf, size_t size)
{
	size_t sl = service ? strlen(service) : 0, n = 5, msg;

	/* field 1 (string): tag 0x0a, varint length, bytes; an empty string is not sent */
	msg = sl ? 1 + (sl < 128 ? 1 : sl < 16384 ? 2 : 3) + sl : 0;
	if (5 + msg > size || sl >= 2097152)
		return 0;
	buf[0] = 0; /* not compressed */
	buf[1] = (unsigned char)(msg >> 24);
	buf[2] = (unsigned char)(msg >> 16);
	buf[3] = (unsigned char)(msg >> 8);
	buf[4] = (unsigned char)msg;
	if (sl) {
		size_t v = sl;

		buf[n++] = 0x0a;
		do {
			buf[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			v >>= 7;
		} while (v);
		memcpy(buf + n, service, sl);
		n += sl;
	}
	return n;
}

/* a protobuf varint at *p (advanced); false when it runs past end */
static bool varint(const unsigned char **p, const unsigned char *end, unsigned long long *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char b = *(*p)++;

		*v |= (unsigned long long)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

int probe_grpc_status(const unsigned char *msg, size_t len)
{
	const unsigned char *p, *end;
	unsigned long long mlen, tag, v;
	int status = 0;

	if (len < 5 || msg[0] != 0)
		return -1; /* no message, or compressed (never asked for) */
	mlen = (unsigned long long)msg[1] << 24 | (unsigned long long)msg[2] << 16 |
	       (unsigned long long)msg[3] << 8 | msg[4];
	if (mlen > len - 5)
		return -1;
	p = msg + 5;
	end = p + mlen;
	while (p < end) {
		if (!varint(&p, end, &tag))
			return -1;
		switch (tag & 7) {
		case 0: /* varint */
			if (!varint(&p, end, &v))
				return -1;
			if (tag >> 3 == 1)
				status = (int)v;
			break;
		case 2: /* length-delimited: skipped */
			if (!varint(&p, end, &v) || v > (unsigned long long)(end - p))
				return -1;
			p += v;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		default:
			return -1;
		}
	}
	return status;
}

static const char *serving_name(int st)
{
	static const char *const names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

	return st >= 0 && st < 4 ? names[st] : NULL;
}

static const char *code_name(long code)
{
	static const char *const names[] = {"OK",
					    "Canceled",
					    "Unknown",
					    "InvalidArgument",
					    "DeadlineExceeded",
					    "NotFound",
					    "AlreadyExists",
					    "PermissionDenied",
					    "ResourceExhausted",
					    "FailedPrecondition",
					    "Aborted",
					    "OutOfRange",
					    "Unimplemented",
					    "Internal",
					    "Unavailable",
					    "DataLoss",
					    "Unauthenticated"};

	return code >= 0 && code < 17 ? names[code] : NULL;
}

struct grpc_resp {
	unsigned char body[GRPC_MAX_BODY];
	size_t len;
	long status; /* grpc-status, -1 until seen (headers of a trailers-only answer, trailers) */
	char message[512];
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct grpc_resp *g = arg;
	size_t len = sz * n;

	if (len > sizeof(g->body) - g->len)
		return 0; /* a health answer is a few bytes */
	memcpy(g->body + g->len, p, len);
	g->len += len;
	return len;
}

/* grpc-message is percent-encoded (gRPC's HTTP/2 protocol) */
static void pct_decode(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned int c;

		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &c) == 1) {
			out[o++] = (char)c;
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
}

/* the response headers and, after the body, the trailers (libcurl hands both over here) */
static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct grpc_resp *g = arg;
	size_t len = sz * n;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len > 12 && !strncasecmp(p, "grpc-status:", 12))
		g->status = strtol(p + 12, NULL, 10);
	else if (len > 13 && !strncasecmp(p, "grpc-message:", 13)) {
		size_t o = 13;

		while (o < len && p[o] == ' ')
			o++;
		pct_decode(p + o, len - o, g->message, sizeof(g->message));
	}
	return sz * n;
}

static bool have_http2(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v && (v->features & CURL_VERSION_HTTP2);
}

void probe_grpc(const struct probe_spec *s, const char *host, struct run *r)
{
	struct grpc_resp *g = calloc(1, sizeof(*g));
	unsigned char req[1100];
	size_t reqlen = probe_grpc_request(s->grpc_service, req, sizeof(req));
	struct curl_slist *h = NULL, *n;
	char url[512], addr[300];
	CURL *c = NULL;
	CURLcode rc;
	long oserr = 0, http = 0;
	int st;

	snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, s->port);
	if (!have_http2()) {
		snprintf(r->err, sizeof(r->err),
			 "grpc probe: this node's libcurl (%s) has no HTTP/2: grpc probes need it",
			 curl_version());
		goto out;
	}
	if (!g || !reqlen || !(c = curl_easy_init())) {
		snprintf(r->err, sizeof(r->err), "grpc probe: out of memory");
		goto out;
	}
	g->status = -1;
	snprintf(url, sizeof(url), "http://%s/grpc.health.v1.Health/Check", addr);
	/* grpc-go's request headers (te: trailers is required by gRPC servers) */
	if (!(n = curl_slist_append(h, "Content-Type: application/grpc")) || !(h = n) ||
	    !(n = curl_slist_append(h, "TE: trailers")) || !(h = n) ||
	    !(n = curl_slist_append(h, "User-Agent: " GRPC_UA)) || !(h = n) ||
	    !(n = curl_slist_append(h, "Expect:")) || !(h = n)) {
		snprintf(r->err, sizeof(r->err), "grpc probe: out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)reqlen);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout * 1000);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	/* grpc.go: every outcome is a result with its text, never an error */
	r->o = O_FAILURE;
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		r->outlen =
		    (size_t)snprintf(r->out, sizeof(r->out),
				     "timeout: health rpc did not complete within %ds", s->timeout);
		goto out;
	}
	if (rc == CURLE_COULDNT_CONNECT) {
		char e[128];

		snprintf(e, sizeof(e), "%s", oserr ? strerror((int)oserr) : "connection refused");
		if (e[0] >= 'A' && e[0] <= 'Z')
			e[0] = (char)(e[0] - 'A' + 'a');
		r->outlen = (size_t)snprintf(
		    r->out, sizeof(r->out),
		    "error: health rpc probe failed: rpc error: code = Unavailable desc = "
		    "connection error: desc = \"transport: Error while dialing: dial tcp %s: "
		    "connect: %s\"",
		    addr, e);
		goto out;
	}
	if (rc != CURLE_OK || http != 200 || g->status < 0) {
		r->outlen = (size_t)snprintf(
		    r->out, sizeof(r->out),
		    "error: health rpc probe failed: rpc error: code = Unavailable desc = %s",
		    rc != CURLE_OK ? curl_easy_strerror(rc)
		    : http != 200  ? "unexpected HTTP status code received from server"
				   : "server closed the stream without sending trailers");
		goto out;
	}
	if (g->status == 12) {
		r->outlen =
		    (size_t)snprintf(r->out, sizeof(r->out),
				     "error: this server does not implement the grpc health "
				     "protocol (grpc.health.v1.Health): %s",
				     g->message);
		goto out;
	}
	if (g->status == 4) {
		r->outlen =
		    (size_t)snprintf(r->out, sizeof(r->out),
				     "timeout: health rpc did not complete within %ds", s->timeout);
		goto out;
	}
	if (g->status != 0) {
		const char *name = code_name(g->status);
		char cn[32];

		if (!name) {
			snprintf(cn, sizeof(cn), "Code(%ld)", g->status);
			name = cn;
		}
		r->outlen = (size_t)snprintf(r->out, sizeof(r->out),
					     "error: health rpc probe failed: rpc error: code = %s "
					     "desc = %s",
					     name, g->message);
		goto out;
	}
	st = probe_grpc_status(g->body, g->len);
	if (st < 0) {
		r->outlen =
		    (size_t)snprintf(r->out, sizeof(r->out),
				     "error: health rpc probe failed: rpc error: code = "
				     "Internal desc = grpc: failed to unmarshal the received "
				     "message");
		goto out;
	}
	if (st != 1) {
		const char *name = serving_name(st);

		if (name)
			r->outlen =
			    (size_t)snprintf(r->out, sizeof(r->out),
					     "service unhealthy (responded with \"%s\")", name);
		else
			r->outlen =
			    (size_t)snprintf(r->out, sizeof(r->out),
					     "service unhealthy (responded with \"%d\")", st);
		goto out;
	}
	r->o = O_SUCCESS;
	r->outlen = (size_t)snprintf(r->out, sizeof(r->out), "service healthy");
out:
	if (r->outlen >= sizeof(r->out))
		r->outlen = sizeof(r->out) - 1;
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	free(g);
}
