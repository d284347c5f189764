/* SPDX-License-Identifier: Apache-2.0 */
/*
 * all: every controller drover has, in the order the manager starts them (each is its own
 * file; a new controller is a file and a line here).
 */
#include "ctrl.h"

/* one controller a line (clang-format off/on keep it so) */
// clang-format off
extern const struct ctrl_desc ctrl_serviceaccount;
extern const struct ctrl_desc ctrl_job;
extern const struct ctrl_desc ctrl_ttl_after_finished;
extern const struct ctrl_desc ctrl_daemonset;
extern const struct ctrl_desc ctrl_statefulset;
extern const struct ctrl_desc ctrl_cronjob;

const struct ctrl_desc *const ctrl_all[] = {
    &ctrl_serviceaccount,
    &ctrl_job,
    &ctrl_ttl_after_finished,
    &ctrl_daemonset,
    &ctrl_statefulset,
    &ctrl_cronjob,
};
// clang-format on
const size_t ctrl_nall = sizeof(ctrl_all) / sizeof(ctrl_all[0]);
