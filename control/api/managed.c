/* SPDX-License-Identifier: Apache-2.0 */
/* managed: managedFields (stub) */
#include "api_managed.h"
int api_managed_update(struct jv_doc *d, struct jv *obj, const struct jv *old, const char *manager,
		       const char *sub, const struct k8s_kind *kind)
{
	(void)d;
	(void)obj;
	(void)old;
	(void)manager;
	(void)sub;
	(void)kind;
	return 0;
}
