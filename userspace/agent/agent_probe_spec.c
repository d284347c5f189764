/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_probe_spec: the pure part of the prober (agent_probe.h): a probe spec from the
 * container's jv, port resolution with the kubelet's error texts, Go's canonical header names,
 * and the worker's threshold state machine.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_env.h"
#include "agent_probe.h"

static const char *const kind_key[PROBE_KINDS] = {"livenessProbe", "readinessProbe",
						  "startupProbe"};

const char *probe_kind_name(enum probe_kind k)
{
	static const char *const names[PROBE_KINDS] = {"Liveness", "Readiness", "Startup"};

	return k < PROBE_KINDS ? names[k] : "Unknown";
}

enum probe_result probe_initial(enum probe_kind k)
{
	switch (k) {
	case PROBE_LIVENESS:
		return PROBE_SUCCESS;
	case PROBE_READINESS:
		return PROBE_FAILURE;
	default:
		return PROBE_UNKNOWN;
	}
}

void probe_sm_new_container(struct probe_sm *sm, enum probe_kind k)
{
	sm->result = probe_initial(k);
	sm->on_hold = false;
}

bool probe_sm_record(struct probe_sm *sm, const struct probe_spec *s, enum probe_result r)
{
	if (sm->last == r) {
		sm->run++;
	} else {
		sm->last = r;
		sm->run = 1;
	}
	/* below the threshold: the published state stays */
	if ((r == PROBE_FAILURE && sm->run < s->failure_threshold) ||
	    (r == PROBE_SUCCESS && sm->run < s->success_threshold))
		return false;
	sm->result = r;
	if ((s->kind == PROBE_LIVENESS || s->kind == PROBE_STARTUP) && r == PROBE_FAILURE) {
		/* the container is restarted: stop until a new one */
		sm->on_hold = true;
		sm->run = 0;
	}
	return true;
}

void probe_header_canonical(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	bool upper = true;

	if (!size)
		return;
	snprintf(buf, size, "%s", name);
	/* Go keeps a key holding a space or a non-token byte as it is */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= ' ' || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch))
			return;
	}
	for (size_t i = 0; i < n && i + 1 < size; i++) {
		char ch = buf[i];

		if (upper && ch >= 'a' && ch <= 'z')
			buf[i] = (char)(ch - 'a' + 'A');
		else if (!upper && ch >= 'A' && ch <= 'Z')
			buf[i] = (char)(ch - 'A' + 'a');
		upper = ch == '-';
	}
}

/* Go's strconv.Atoi on s: 0, or -EINVAL with its error text. */
static int go_atoi(const char *s, long long *out, char *err, size_t errlen)
{
	const char *p = s;
	unsigned long long v = 0;
	bool neg = false, range = false;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		goto syntax;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		if (v > ((unsigned long long)INT64_MAX + 1 - (unsigned)(*p - '0')) / 10)
			range = true;
		else
			v = v * 10 + (unsigned)(*p - '0');
	}
	if (range || v > (unsigned long long)INT64_MAX + (neg ? 1 : 0)) {
		snprintf(err, errlen, "strconv.Atoi: parsing \"%s\": value out of range", s);
		return -EINVAL;
	}
	*out = neg ? -(long long)(v - 1) - 1 : (long long)v;
	return 0;
syntax:
	snprintf(err, errlen, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
	return -EINVAL;
}

int probe_resolve_port(const struct jv *port, const struct jv *ctr, int *out, char *err,
		       size_t errlen)
{
	long long v = -1;
	int64_t iv;

	*out = 0;
	if (port && port->type == JV_NUMBER) {
		if (jv_int(port, &iv) || iv < INT32_MIN || iv > INT32_MAX) {
			snprintf(err, errlen, "invalid port number: %.*s", (int)port->len, port->s);
			return -EINVAL;
		}
		v = iv;
	} else if (port && port->type == JV_STRING) {
		bool found = false;

		for (const struct jv *p = jv_first(jv_get(ctr, "ports")); p; p = p->next)
			if (jv_is_str(jv_get(p, "name"), port->s) &&
			    !jv_path_int(p, "containerPort", &iv)) {
				v = iv;
				found = true;
				break;
			}
		/* last ditch: maybe it was an int stored as a string */
		if (!found && go_atoi(port->s, &v, err, errlen))
			return -EINVAL;
	} else {
		snprintf(err, errlen, "intOrString had no kind: %s", port ? "not a port" : "{}");
		return -EINVAL;
	}
	if (v > 0 && v < 65536) {
		*out = (int)v;
		return 0;
	}
	snprintf(err, errlen, "invalid port number: %lld", v);
	return -EINVAL;
}

/* An integer field, or def when absent, null or below min (min 1: the API's defaulting turns
 * 0 into the default; a negative value validation would refuse is treated the same). */
static int field(const struct jv *p, const char *key, int def, int min)
{
	int64_t v;

	if (jv_path_int(p, key, &v) || v < min || v > INT32_MAX)
		return def;
	return (int)v;
}

static int parse_http(const struct jv *h, const struct jv *ctr, struct probe_spec *s)
{
	const char *scheme = jv_path_str(h, "scheme"), *host = jv_path_str(h, "host"),
		   *path = jv_path_str(h, "path");
	size_t n = jv_count(jv_get(h, "httpHeaders"));
	char *low;

	s->scheme = strdup(scheme && scheme[0] ? scheme : "http");
	if (!s->scheme)
		return -ENOMEM;
	for (low = s->scheme; *low; low++)
		if (*low >= 'A' && *low <= 'Z')
			*low = (char)(*low - 'A' + 'a');
	if ((host && host[0] && !(s->host = strdup(host))) || !(s->path = strdup(path ? path : "")))
		return -ENOMEM;
	if (n && !(s->headers = calloc(n, sizeof(*s->headers))))
		return -ENOMEM;
	for (const struct jv *x = jv_first(jv_get(h, "httpHeaders")); x; x = x->next) {
		const char *name = jv_path_str(x, "name"), *value = jv_path_str(x, "value");
		char canon[256];
		struct probe_header *ph = &s->headers[s->nheaders];

		if (!name || !name[0])
			continue;
		probe_header_canonical(name, canon, sizeof(canon));
		ph->name = strdup(canon);
		ph->value = strdup(value ? value : "");
		s->nheaders++;
		if (!ph->name || !ph->value)
			return -ENOMEM;
	}
	if (probe_resolve_port(jv_get(h, "port"), ctr, &s->port, s->port_err, sizeof(s->port_err)))
		s->port = 0;
	return 0;
}

int probe_spec_parse(const struct jv *ctr, enum probe_kind kind, struct probe_spec *s)
{
	const struct jv *p = kind < PROBE_KINDS ? jv_get(ctr, kind_key[kind]) : NULL;
	int64_t g;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if (!p || p->type != JV_OBJECT)
		return -ENOENT;
	s->initial_delay = field(p, "initialDelaySeconds", 0, 0);
	s->timeout = field(p, "timeoutSeconds", PROBE_DEF_TIMEOUT_S, 1);
	s->period = field(p, "periodSeconds", PROBE_DEF_PERIOD_S, 1);
	s->success_threshold = field(p, "successThreshold", PROBE_DEF_SUCCESS, 1);
	s->failure_threshold = field(p, "failureThreshold", PROBE_DEF_FAILURE, 1);
	if (!jv_path_int(p, "terminationGracePeriodSeconds", &g) && g >= 0) {
		s->has_grace = true;
		s->grace = g;
	}
	return probe_handler_parse(p, ctr, s);
}

int probe_handler_parse(const struct jv *p, const struct jv *ctr, struct probe_spec *s)
{
	const struct jv *h;
	int rc = 0;

	/* prober.go runProbe: the first handler set wins, in this order */
	if ((h = jv_get(p, "exec")) && h->type == JV_OBJECT) {
		size_t n = jv_count(jv_get(h, "command")), i = 0;
		struct env_list statics = {0};

		s->handler = PROBE_H_EXEC;
		if (!(s->command = calloc(n + 1, sizeof(char *))))
			return -ENOMEM;
		/* ExpandContainerCommandOnlyStatic: $(VAR) from env values as written (a
		 * valueFrom one is "") */
		for (const struct jv *e = jv_first(jv_get(ctr, "env")); e; e = e->next)
			if (jv_path_str(e, "name") &&
			    env_set(&statics, jv_path_str(e, "name"),
				    jv_path_str(e, "value") ? jv_path_str(e, "value") : "")) {
				env_list_free(&statics);
				return -ENOMEM;
			}
		for (const struct jv *a = jv_first(jv_get(h, "command")); a; a = a->next) {
			if (a->type != JV_STRING)
				continue;
			if (!(s->command[i++] = env_expand(a->s, &statics))) {
				env_list_free(&statics);
				return -ENOMEM;
			}
		}
		env_list_free(&statics);
		s->ncommand = i;
	} else if ((h = jv_get(p, "httpGet")) && h->type == JV_OBJECT) {
		s->handler = PROBE_H_HTTP;
		rc = parse_http(h, ctr, s);
	} else if ((h = jv_get(p, "tcpSocket")) && h->type == JV_OBJECT) {
		const char *host = jv_path_str(h, "host");

		s->handler = PROBE_H_TCP;
		if (host && host[0] && !(s->host = strdup(host)))
			return -ENOMEM;
		if (probe_resolve_port(jv_get(h, "port"), ctr, &s->port, s->port_err,
				       sizeof(s->port_err)))
			s->port = 0;
	} else if ((h = jv_get(p, "grpc")) && h->type == JV_OBJECT) {
		const char *service = jv_path_str(h, "service");
		int64_t port = 0;

		s->handler = PROBE_H_GRPC;
		/* grpc.port is a plain int32: no names */
		jv_path_int(h, "port", &port);
		s->port = port > 0 && port < 65536 ? (int)port : 0;
		if (!s->port)
			snprintf(s->port_err, sizeof(s->port_err), "invalid port number: %lld",
				 (long long)port);
		if (service && !(s->grpc_service = strdup(service)))
			return -ENOMEM;
	}
	return rc;
}

void probe_spec_free(struct probe_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->command && s->command[i]; i++)
		free(s->command[i]);
	free(s->command);
	for (size_t i = 0; i < s->nheaders; i++) {
		free(s->headers[i].name);
		free(s->headers[i].value);
	}
	free(s->headers);
	free(s->scheme);
	free(s->host);
	free(s->path);
	free(s->grpc_service);
	memset(s, 0, sizeof(*s));
}
