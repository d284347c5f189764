/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tl_expo: the Prometheus text exposition format (version 0.0.4), as client_golang's expfmt
 * writes it: "# HELP name text" (backslash and newline escaped), "# TYPE name type", then one
 * line per sample, name{label="value",...} value, label values escaped (backslash, double
 * quote, newline). A histogram is its _bucket lines with cumulative counts and le bounds
 * ending at "+Inf", then _sum and _count (the +Inf count). The caller writes each family's
 * samples together, after its HELP/TYPE, and never the same label set twice.
 */
#ifndef DROVER_TL_EXPO_H
#define DROVER_TL_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "k8s_buf.h"

struct expo_label {
	const char *name, *value;
};

/* The header of a family: type is "counter", "gauge", "histogram". */
void expo_family(struct k8s_buf *b, const char *name, const char *type, const char *help);
/* One sample of an integer value (counters). */
void expo_u64(struct k8s_buf *b, const char *name, const struct expo_label *l, size_t n,
	      uint64_t v);
/* One sample of a float value. */
void expo_f64(struct k8s_buf *b, const char *name, const struct expo_label *l, size_t n, double v);
/* The samples of one histogram series: bounds[0..nb-1] ascending upper bounds, counts[0..nb]
 * the non-cumulative count of each bucket and last the share above the last bound; sum the
 * sum of the observations. */
void expo_histogram(struct k8s_buf *b, const char *name, const struct expo_label *l, size_t n,
		    const double *bounds, const uint64_t *counts, size_t nb, double sum);
/* A float as Go's strconv.FormatFloat(v, 'g', -1, 64) writes small values (the shortest text
 * that reads back the same), "+Inf", "-Inf", "NaN". */
void expo_float(char *buf, size_t size, double v);
/* A label value, escaped, into b. */
void expo_escape_value(struct k8s_buf *b, const char *v);

#endif
