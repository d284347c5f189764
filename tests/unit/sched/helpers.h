/* SPDX-License-Identifier: Apache-2.0 */
/*
 * helpers: small hand-built clusters for the scheduler's unit tests. Objects are written as
 * JSON (compact builders for the usual node and pod, or whole literals), parsed into jv trees
 * and fed through the public handlers; a fake clock drives back-off and expiry; a few
 * functions reach into the internals to run one filter or one score plugin at a time.
 */
#ifndef DROVER_TEST_SCHED_HELPERS_H
#define DROVER_TEST_SCHED_HELPERS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sched_int.h"
#include "scheduler.h"

extern _Atomic uint64_t t_clock; /* ns, the scheduler's clock in tests */
#define T_SEC 1000000000ull

/* A scheduler on the fake clock with a fixed tie-break seed; opts may be NULL. */
struct sched *t_sched(const struct sched_opts *opts);

/* Feed objects (JSON text, printf-style): assert success. */
void t_node(struct sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void t_pod(struct sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void t_ns(struct sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void t_svc(struct sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void t_ctrl(struct sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void t_pod_delete(struct sched *s, const char *uid);
/* Parse a pod without feeding it. */
struct sched_pod *t_parse(struct sched *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A node: name, allocatable cpu/memory/pods, then labels ("" or `"k":"v",...`) and extra
 * top-level members for spec/status (e.g. `"spec":{"taints":[...]}`, "" for none). */
void t_add_node(struct sched *s, const char *name, const char *cpu, const char *mem, int pods,
		const char *labels, const char *spec);
/* A pod: name, namespace "default" unless name is "ns/name" (uid = "uid-" + that), labels,
 * cpu and memory requests ("" = unset), and extra spec members ("" = none); node "" =
 * unassigned. */
const char *t_pod_json(char *buf, size_t size, const char *name, const char *labels,
		       const char *cpu, const char *mem, const char *spec, const char *node);
void t_add_pod(struct sched *s, const char *name, const char *labels, const char *cpu,
	       const char *mem, const char *spec, const char *node);

/* Schedule a pod (JSON built as t_pod_json, unassigned) and return its result. */
void t_schedule(struct sched *s, struct sched_result *r, const char *name, const char *labels,
		const char *cpu, const char *mem, const char *spec);
/* Schedule and, on success, bind it for real (as the informer would then report it). */
void t_place(struct sched *s, const char *name, const char *labels, const char *cpu,
	     const char *mem, const char *spec, const char *want_node);

/* Run every filter of the profile for pod p on node `node` (after the PreFilters): true if
 * it fits; else *reason gets the first reason. */
bool t_fits(struct sched *s, struct sched_pod *p, const char *node, const char **reason);
/* Names of the nodes p fits, comma-separated, in node-name order. */
const char *t_feasible(struct sched *s, struct sched_pod *p, char *buf, size_t size);

enum t_plugin { T_TAINT, T_NODEAFF, T_FIT, T_SPREAD, T_INTERPOD, T_BALANCED };
/* One plugin's normalized score for each named node (nodes: NULL-terminated). */
void t_scores(struct sched *s, struct sched_pod *p, enum t_plugin pl, const char *const *nodes,
	      int64_t *out);

#endif
