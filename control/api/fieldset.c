/* SPDX-License-Identifier: Apache-2.0 */
/* fieldset (stub) */
#include "api_managed.h"
