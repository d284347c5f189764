/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_hook: a container's lifecycle hooks (postStart, preStop) as kubelet 1.32's handlerRunner
 * runs them (pkg/kubelet/lifecycle/handlers.go Run): exec in the container (no timeout of its
 * own: the caller bounds it), httpGet (User-Agent kube-lifecycle/1.32; only a transport error
 * fails it, any HTTP status is an answer), sleep (PodLifecycleSleepAction, on by default since
 * 1.30), and anything else (tcpSocket, deprecated and not supported as a handler) an "invalid
 * handler" error. Each hook runs in a thread of its own so the pod sync never waits for it;
 * the sync thread polls it and may cancel it. The messages are the kubelet's (they go into
 * the container's waiting message, never into events, as the kubelet keeps secrets out of
 * events).
 */
#ifndef DROVER_AGENT_HOOK_H
#define DROVER_AGENT_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "k8s_jv.h"

enum hook_kind {
	HOOK_POST_START = 0,
	HOOK_PRE_STOP,
};

struct cg;
struct ahook;

/* The container a hook runs against (strings copied by ahook_start). */
struct ahook_target {
	const char *ns, *pod, *uid, *ctr; /* for the messages: Pod "name_ns(uid)" */
	pid_t pid;			  /* the container's init (exec joins its namespaces) */
	const struct cg *cg;		  /* its cgroup (borrowed until ahook_free) */
	const char *pod_ip, *cwd;
};

/* Whether container ctr (a spec.containers[]/initContainers[] item) has hook k. */
bool ahook_defined(const struct jv *ctr, enum hook_kind k);

/* Start ctr's hook k against t in a thread of its own. NULL with errno set on failure (ENOENT:
 * ctr has no such hook). */
struct ahook *ahook_start(const struct jv *ctr, enum hook_kind k, const struct ahook_target *t);

/* Whether the hook has ended; if so *ok, and on failure the kubelet's message in msg. */
bool ahook_done(struct ahook *h, bool *ok, char *msg, size_t len);

/* Cancel a hook still running (its exec killed, its request dropped, its sleep cut short),
 * join its thread, free it. NULL-tolerant. */
void ahook_free(struct ahook *h);

/* Go's %q of s (quotes, backslash escapes for quotes, backslashes and control bytes) into buf. */
void ahook_go_quote(const char *s, size_t len, char *buf, size_t size);

#endif
