/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_rbac_rules: comparing sets of RBAC PolicyRules (JSON arrays of rbac/v1 PolicyRule) as
 * Kubernetes 1.32 compares them (staging/src/k8s.io/component-helpers/auth/rbac/validation/
 * policy_comparator.go): whether the rules one set grants cover those of another. The
 * default policy's reconciliation at start (registry/bootstrap_rbac.c) adds what a default
 * role lacks by it; the escalation check of RBAC writes (ConfirmNoEscalation) is the other
 * use Kubernetes makes of it.
 */
#ifndef DROVER_API_RBAC_RULES_H
#define DROVER_API_RBAC_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s_jv.h"

/* validation.Covers(owner, servant): every rule of servant is broken down (BreakdownRule)
 * into rules of one apiGroup, resource, verb and resourceName, or one nonResourceURL and
 * verb; the number of those no rule of owner covers (ruleCovers) is returned, 0 when owner
 * covers servant. With out (an array of d) set, each uncovered one is appended to it as a
 * PolicyRule, in BreakdownRule's order (what reconciliation adds). owner and servant may be
 * NULL (no rules). -ENOMEM when out cannot grow. */
long api_rbac_uncovered(const struct jv *owner, const struct jv *servant, struct jv_doc *d,
			struct jv *out);

/* has(set, ele): a list of strings (a rule's verbs, apiGroups, ...) holds s. */
bool api_rbac_has(const struct jv *set, const char *s);

#endif
