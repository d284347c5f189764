/* SPDX-License-Identifier: Apache-2.0 */
/* healthcheck: kube-proxy's service health server (healthCheckNodePort), healthcheck.c. */
#ifndef DROVER_HEALTHCHECK_H
#define DROVER_HEALTHCHECK_H

#include "model.h"

#include <stddef.h>

struct hc_server;

struct hc_server *hc_server_new(void);
/* Closes every listener. NULL is fine. */
void hc_server_free(struct hc_server *s);
/* Listen for exactly the services in want (model_health_checks), with their counts: new
 * ones opened, gone ones closed, counts updated in place. 0 or -ENOMEM. */
int hc_server_sync(struct hc_server *s, const struct model_hc *want, size_t n);

#endif
