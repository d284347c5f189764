/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podsecurity: what the PodSecurity admission plugin (podsecurity.c) and its checks
 * (podsecurity_checks.c) share: a policy level and version (k8s.io/pod-security-admission
 * api.LevelVersion) and the aggregate of the checks' results (policy.AggregateCheckResult).
 */
#ifndef DROVER_PODSECURITY_H
#define DROVER_PODSECURITY_H

#include <stddef.h>

#include "k8s_buf.h"
#include "k8s_jv.h"

/* The newest MinimumVersion of a check (sysctlsV1Dot32): later versions and latest evaluate
 * as this one (checkRegistry.EvaluatePod). */
#define PSA_MAX_MINOR 32

enum psa_level { PSA_PRIVILEGED, PSA_BASELINE, PSA_RESTRICTED };

struct psa_lv {
	enum psa_level level;
	int minor; /* -1: latest */
};

/* AggregateCheckResult */
struct psa_agg {
	struct k8s_buf reasons; /* ForbiddenReason(): "a, b" */
	struct k8s_buf detail;	/* ForbiddenDetail(): "a (detail), b" */
	size_t n;		/* the checks that failed */
};

/* A container's name, "" for none */
static inline const char *psa_cname(const struct jv *c)
{
	const char *n = jv_path_str(c, "name");

	return n ? n : "";
}

/* checkRegistry.EvaluatePod at lv, aggregated into g (g->n stays 0 when the pod passes; free
 * g with psa_agg_free) */
void psa_evaluate(struct psa_lv lv, const struct jv *meta, const struct jv *spec,
		  struct psa_agg *g);
void psa_agg_free(struct psa_agg *g);

#endif
