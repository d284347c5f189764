/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cron: CronJob schedules as Kubernetes reads them (robfig/cron v3's ParseStandard): five
 * fields (minute hour day-of-month month day-of-week) of lists, ranges, steps, "*" and "?",
 * month and weekday names (JAN, mon: any case), the descriptors @yearly @annually @monthly
 * @weekly @daily @midnight @hourly and @every <duration> — with robfig's error messages,
 * which the API server returns for an invalid spec.schedule. Activation times are computed
 * in an IANA time zone read from the system zoneinfo (TZif files, their POSIX rule beyond
 * the last transition), as Go's time.LoadLocation does; day-of-month and day-of-week are
 * ORed when both are restricted, as cron does.
 */
#ifndef DROVER_CRON_H
#define DROVER_CRON_H

#include <stddef.h>
#include <stdint.h>

struct cron_sched;
struct cron_tz;

/* Parse spec. 0 and *out, or -EINVAL with robfig's message in err ("expected exactly 5
 * fields, found 4: [* * * *]"), -ENOMEM. */
int cron_parse(const char *spec, struct cron_sched **out, char *err, size_t errlen);
void cron_free(struct cron_sched *s);

/* A time zone by IANA name ("Europe/Berlin", "UTC"); NULL: the process's local zone
 * ($TZ, else /etc/localtime, else UTC). NULL with err ("unknown time zone Mars/Base") for a
 * name the system zoneinfo lacks or a malformed file. */
struct cron_tz *cron_tz_load(const char *name, char *err, size_t errlen);
void cron_tz_free(struct cron_tz *z);
/* The zone's offset from UTC at t (seconds east). */
int32_t cron_tz_offset(const struct cron_tz *z, int64_t t);

/* The first activation strictly after t (seconds since the epoch) with the schedule's
 * fields read in zone z (NULL: UTC); -1 when none comes within five years (robfig's zero
 * time: "0 0 30 2 *"). */
int64_t cron_next(const struct cron_sched *s, const struct cron_tz *z, int64_t t);

#endif
