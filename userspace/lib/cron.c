/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cron: schedule parsing (robfig/cron v3's standard parser), TZif time zones and the search
 * for the next activation (robfig's SpecSchedule.Next, field by field in local time). See
 * cron.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

#define STAR (1ull << 63) /* the field was "*" or "?" */

struct cron_sched {
	uint64_t minute, hour, dom, month, dow;
	int64_t every; /* @every: the delay in seconds (the fields unused) */
};

struct range {
	unsigned min, max;
	const char *const *names; /* index = value */
	size_t nnames;
};

static const char *const month_names[] = {"",	 "jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct range r_minute = {0, 59, NULL, 0}, r_hour = {0, 23, NULL, 0},
			  r_dom = {1, 31, NULL, 0}, r_month = {1, 12, month_names, 13},
			  r_dow = {0, 6, dow_names, 7};

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* mustParseInt: strconv.Atoi, then no negatives. */
static int parse_int(const char *s, unsigned *out, char *err, size_t len)
{
	const char *p = s;
	long long v = 0;
	bool neg = false;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		v = v * 10 + (*p - '0');
		if (v > 1000000000)
			return fail(
			    err, len,
			    "failed to parse int from %s: strconv.Atoi: parsing \"%s\": value "
			    "out of range",
			    s, s);
	}
	if (neg && v)
		return fail(err, len, "negative number (-%lld) not allowed: %s", v, s);
	*out = (unsigned)v;
	return 0;
bad:
	return fail(err, len,
		    "failed to parse int from %s: strconv.Atoi: parsing \"%s\": invalid syntax", s,
		    s);
}

static int int_or_name(const char *s, const struct range *r, unsigned *out, char *err, size_t len)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (r->names[i][0] && strcasecmp(s, r->names[i]) == 0) {
			*out = (unsigned)i;
			return 0;
		}
	return parse_int(s, out, err, len);
}

/* getRange: one comma-separated part of a field. */
static int parse_range(char *expr, const struct range *r, uint64_t *bits, char *err, size_t len)
{
	char orig[128], *slash, *dash;
	unsigned start, end, step = 1;
	uint64_t extra = 0;
	bool single;
	int rc;

	snprintf(orig, sizeof(orig), "%s", expr);
	slash = strchr(expr, '/');
	if (slash) {
		*slash++ = 0;
		if (strchr(slash, '/'))
			return fail(err, len, "too many slashes: %s", orig);
	}
	dash = strchr(expr, '-');
	if (dash) {
		*dash++ = 0;
		if (strchr(dash, '-'))
			return fail(err, len, "too many hyphens: %s", orig);
	}
	single = !dash;
	if (!strcmp(expr, "*") || !strcmp(expr, "?")) {
		if (dash)
			return fail(err, len,
				    "failed to parse int from %s: strconv.Atoi: parsing \"%s\": "
				    "invalid syntax",
				    dash, dash);
		start = r->min;
		end = r->max;
		extra = STAR;
	} else {
		rc = int_or_name(expr, r, &start, err, len);
		if (rc)
			return rc;
		end = start;
		if (dash && (rc = int_or_name(dash, r, &end, err, len)))
			return rc;
	}
	if (slash) {
		rc = parse_int(slash, &step, err, len);
		if (rc)
			return rc;
		if (single)
			end = r->max; /* "N/step" is "N-max/step" */
		if (step > 1)
			extra = 0;
	}
	if (start < r->min)
		return fail(err, len, "beginning of range (%u) below minimum (%u): %s", start,
			    r->min, orig);
	if (end > r->max)
		return fail(err, len, "end of range (%u) above maximum (%u): %s", end, r->max,
			    orig);
	if (start > end)
		return fail(err, len, "beginning of range (%u) beyond end of range (%u): %s", start,
			    end, orig);
	if (step == 0)
		return fail(err, len, "step of range should be a positive number: %s", orig);
	for (unsigned i = start; i <= end; i += step)
		*bits |= 1ull << i;
	*bits |= extra;
	return 0;
}

static int parse_field(const char *field, const struct range *r, uint64_t *bits, char *err,
		       size_t len)
{
	char buf[256], *save = NULL;

	*bits = 0;
	snprintf(buf, sizeof(buf), "%s", field);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int rc = parse_range(t, r, bits, err, len);

		if (rc)
			return rc;
	}
	return 0;
}

/* time.ParseDuration, seconds resolution (robfig keeps whole seconds, at least one). */
static int parse_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *u;
		double mul;
	} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
		     {"ms", 1e-3}, {"s", 1},	 {"m", 60},	      {"h", 3600}};
	double total = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		double v;
		size_t best = 0;
		double mul = 0;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return -EINVAL;
		v = strtod(s, &end);
		if (end == s)
			return -EINVAL;
		s = end;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (!strncmp(s, units[i].u, l) && l > best) {
				best = l;
				mul = units[i].mul;
			}
		}
		if (!best)
			return -EINVAL;
		s += best;
		total += v * mul;
	}
	*out = (int64_t)(neg ? -total : total);
	return 0;
}

static int descriptor(const char *spec, struct cron_sched *s, char *err, size_t len)
{
	static const struct {
		const char *name;
		const char *fields;
	} d[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
		 {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
		 {"@hourly", "0 * * * *"}};

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (!strcmp(spec, d[i].name)) {
			char f[5][8];

			sscanf(d[i].fields, "%7s %7s %7s %7s %7s", f[0], f[1], f[2], f[3], f[4]);
			parse_field(f[0], &r_minute, &s->minute, NULL, 0);
			parse_field(f[1], &r_hour, &s->hour, NULL, 0);
			parse_field(f[2], &r_dom, &s->dom, NULL, 0);
			parse_field(f[3], &r_month, &s->month, NULL, 0);
			parse_field(f[4], &r_dow, &s->dow, NULL, 0);
			return 0;
		}
	if (!strncmp(spec, "@every ", 7)) {
		int64_t sec;

		if (parse_duration(spec + 7, &sec) != 0)
			return fail(err, len,
				    "failed to parse duration %s: time: invalid duration \"%s\"",
				    spec, spec + 7);
		s->every = sec < 1 ? 1 : sec;
		return 0;
	}
	return fail(err, len, "unrecognized descriptor: %s", spec);
}

int cron_parse(const char *spec, struct cron_sched **out, char *err, size_t errlen)
{
	struct cron_sched *s;
	char buf[512], *f[16], *save = NULL, list[600];
	size_t n = 0, off = 0;
	int rc;

	*out = NULL;
	while (isspace((unsigned char)*spec))
		spec++;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (size_t l = strlen(buf); l && isspace((unsigned char)buf[l - 1]); l--)
		buf[l - 1] = 0;
	if (!buf[0])
		return fail(err, errlen, "empty spec string");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (buf[0] == '@') {
		rc = descriptor(buf, s, err, errlen);
		goto done;
	}
	for (char *t = strtok_r(buf, " \t\n\r\v\f", &save); t;
	     t = strtok_r(NULL, " \t\n\r\v\f", &save))
		if (n < 16)
			f[n++] = t;
		else
			n++;
	if (n != 5) {
		off = (size_t)snprintf(list, sizeof(list), "[");
		for (size_t i = 0; i < n && i < 16 && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						i ? " " : "", f[i]);
		if (off < sizeof(list))
			snprintf(list + off, sizeof(list) - off, "]");
		rc = fail(err, errlen, "expected exactly 5 fields, found %zu: %s", n, list);
		goto done;
	}
	if ((rc = parse_field(f[0], &r_minute, &s->minute, err, errlen)) ||
	    (rc = parse_field(f[1], &r_hour, &s->hour, err, errlen)) ||
	    (rc = parse_field(f[2], &r_dom, &s->dom, err, errlen)) ||
	    (rc = parse_field(f[3], &r_month, &s->month, err, errlen)) ||
	    (rc = parse_field(f[4], &r_dow, &s->dow, err, errlen)))
		goto done;
done:
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cron_free(struct cron_sched *s)
{
	free(s);
}

/* ---- civil time ---- */

struct civil {
	int64_t y;
	int mon, d, h, m, s, wday;
};

/* days_from_civil / civil_from_days (Howard Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static struct civil civil_of(int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), sec = t - days * 86400;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	struct civil c;

	c.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.y = yoe + era * 400 + (c.mon <= 2);
	c.h = (int)(sec / 3600);
	c.m = (int)(sec / 60 % 60);
	c.s = (int)(sec % 60);
	c.wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	return c;
}

/* A local wall time, normalized as Go's time.Date normalizes (month 13 is next January). */
static int64_t naive_of(int64_t y, int64_t mon, int64_t d, int64_t h, int64_t m, int64_t s)
{
	int64_t m0 = mon - 1;

	y += m0 >= 0 ? m0 / 12 : -((-m0 + 11) / 12);
	m0 -= (m0 >= 0 ? m0 / 12 : -((-m0 + 11) / 12)) * 12;
	return (days_from_civil(y, m0 + 1, 1) + d - 1) * 86400 + h * 3600 + m * 60 + s;
}

/* ---- time zones ---- */

struct rule {
	int kind; /* 'M' month.week.day, 'J' julian 1-365, 'D' zero-based day */
	int m, w, d;
	int64_t time;
};

struct cron_tz {
	int64_t *trans; /* transition times */
	uint8_t *idx;	/* type of each transition */
	size_t ntrans;
	int32_t *utoff; /* offset of each type */
	uint8_t *isdst;
	size_t ntypes;
	/* the footer's POSIX TZ rule, for times after the last transition */
	bool have_rule, rule_dst;
	int32_t std_off, dst_off;
	struct rule start, end;
};

static int64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return n == 4 ? (int64_t)(int32_t)v : (int64_t)v;
}

/* [+-]hh[:mm[:ss]] */
static const char *tz_time(const char *p, int64_t *out)
{
	int64_t sign = 1, h = 0, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	h = strtol(p, (char **)&p, 10);
	if (*p == ':') {
		m = strtol(p + 1, (char **)&p, 10);
		if (*p == ':')
			s = strtol(p + 1, (char **)&p, 10);
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *tz_name(const char *p)
{
	if (*p == '<') {
		p = strchr(p, '>');
		return p ? p + 1 : NULL;
	}
	while (isalpha((unsigned char)*p))
		p++;
	return p;
}

static const char *tz_rule(const char *p, struct rule *r)
{
	r->time = 7200;
	if (*p == 'M') {
		r->kind = 'M';
		if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3)
			return NULL;
		p++;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
	} else {
		r->kind = *p == 'J' ? 'J' : 'D';
		if (*p == 'J')
			p++;
		r->d = (int)strtol(p, (char **)&p, 10);
	}
	if (*p == '/')
		p = tz_time(p + 1, &r->time);
	return p;
}

static void parse_footer(struct cron_tz *z, const char *s)
{
	int64_t off, doff;
	const char *p = tz_name(s);

	if (!p || p == s || !(p = tz_time(p, &off)))
		return;
	z->std_off = (int32_t)-off; /* POSIX offsets are west of UTC */
	z->have_rule = true;
	if (!*p)
		return;
	p = tz_name(p);
	if (!p)
		return;
	doff = -off + 3600;
	if (*p && *p != ',') {
		int64_t o;

		if (!(p = tz_time(p, &o)))
			return;
		doff = -o;
	}
	if (*p != ',' || !(p = tz_rule(p + 1, &z->start)) || *p != ',' || !tz_rule(p + 1, &z->end))
		return;
	z->dst_off = (int32_t)doff;
	z->rule_dst = true;
}

/* Seconds of the local day (in that year) a rule names, as local seconds since the epoch. */
static int64_t rule_time(const struct rule *r, int64_t year)
{
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	int64_t day;

	if (r->kind == 'J')
		day = days_from_civil(year, 1, 1) + r->d - 1 + (leap && r->d >= 60);
	else if (r->kind == 'D')
		day = days_from_civil(year, 1, 1) + r->d;
	else {
		int64_t first = days_from_civil(year, r->m, 1);
		int64_t wd = ((first % 7) + 11) % 7;
		int64_t mdays =
		    days_from_civil(r->m == 12 ? year + 1 : year, r->m % 12 + 1, 1) - first;

		day = first + (r->d - wd + 7) % 7 + (int64_t)(r->w - 1) * 7;
		while (day >= first + mdays)
			day -= 7;
	}
	return day * 86400 + r->time;
}

static int32_t rule_offset(const struct cron_tz *z, int64_t t)
{
	int64_t y = civil_of(t + z->std_off).y, start, end;

	if (!z->rule_dst)
		return z->std_off;
	start = rule_time(&z->start, y) - z->std_off; /* given in standard time */
	end = rule_time(&z->end, y) - z->dst_off;     /* given in daylight time */
	if (start < end)
		return t >= start && t < end ? z->dst_off : z->std_off;
	return t >= end && t < start ? z->std_off : z->dst_off; /* southern hemisphere */
}

int32_t cron_tz_offset(const struct cron_tz *z, int64_t t)
{
	size_t lo = 0, hi;

	if (!z)
		return 0;
	if (!z->ntrans || t < z->trans[0]) {
		for (size_t i = 0; i < z->ntypes; i++)
			if (!z->isdst[i])
				return z->utoff[i];
		return z->ntypes ? z->utoff[0] : (z->have_rule ? rule_offset(z, t) : 0);
	}
	if (t >= z->trans[z->ntrans - 1] && z->have_rule)
		return rule_offset(z, t);
	hi = z->ntrans;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->utoff[z->idx[lo] < z->ntypes ? z->idx[lo] : 0];
}

static bool valid_name(const char *name)
{
	char buf[256], *save = NULL;

	if (!name[0] || strlen(name) >= sizeof(buf) || name[0] == '/')
		return false;
	snprintf(buf, sizeof(buf), "%s", name);
	for (char *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		/* the API's rule: [A-Za-z.-_0-9+]{1,14} per part, no "." "..", no leading "-" */
		if (!strcmp(p, ".") || !strcmp(p, "..") || p[0] == '-' || strlen(p) > 14)
			return false;
		for (char *c = p; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("-_+.", *c))
				return false;
	}
	return true;
}

/* A TZif file (version 2+ data when present) into z. */
static int tz_read(struct cron_tz *z, const uint8_t *b, size_t len)
{
	size_t off = 0, tsz = 4;
	int64_t cnt[6];

	for (int pass = 0; pass < 2; pass++) {
		size_t need;

		if (len - off < 44 || memcmp(b + off, "TZif", 4))
			return -EINVAL;
		for (int i = 0; i < 6; i++)
			cnt[i] = be(b + off + 20 + 4 * i, 4);
		/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
		need = (size_t)(cnt[3] * (int64_t)tsz + cnt[3] + cnt[4] * 6 + cnt[5] +
				cnt[2] * (int64_t)(tsz + 4) + cnt[1] + cnt[0]);
		if (cnt[4] < 1 || len - off - 44 < need)
			return -EINVAL;
		if (pass == 0 && b[off + 4] >= '2') {
			off += 44 + need; /* skip the 32-bit data */
			tsz = 8;
			continue;
		}
		off += 44;
		z->ntrans = (size_t)cnt[3];
		z->ntypes = (size_t)cnt[4];
		z->trans = calloc(z->ntrans + 1, sizeof(*z->trans));
		z->idx = calloc(z->ntrans + 1, 1);
		z->utoff = calloc(z->ntypes, sizeof(*z->utoff));
		z->isdst = calloc(z->ntypes, 1);
		if (!z->trans || !z->idx || !z->utoff || !z->isdst)
			return -ENOMEM;
		for (size_t i = 0; i < z->ntrans; i++)
			z->trans[i] = be(b + off + i * tsz, (int)tsz);
		off += z->ntrans * tsz;
		memcpy(z->idx, b + off, z->ntrans);
		off += z->ntrans;
		for (size_t i = 0; i < z->ntypes; i++) {
			z->utoff[i] = (int32_t)be(b + off + i * 6, 4);
			z->isdst[i] = b[off + i * 6 + 4];
		}
		off += need - (size_t)(cnt[3] * (int64_t)tsz + cnt[3]);
		if (tsz == 8 && off < len && b[off] == '\n') {
			char footer[128];
			size_t l = 0;

			for (off++; off < len && b[off] != '\n' && l + 1 < sizeof(footer); off++)
				footer[l++] = (char)b[off];
			footer[l] = 0;
			parse_footer(z, footer);
		}
		return 0;
	}
	return 0;
}

struct cron_tz *cron_tz_load(const char *name, char *err, size_t errlen)
{
	struct cron_tz *z = calloc(1, sizeof(*z));
	char path[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!z)
		return NULL;
	if (!name) {
		const char *tz = getenv("TZ");

		if (tz && *tz == ':')
			tz++;
		if (tz && *tz && valid_name(tz))
			snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
		else
			snprintf(path, sizeof(path), "/etc/localtime");
		f = fopen(path, "rb");
		if (!f)
			return z; /* no zone configured: UTC */
	} else {
		if (!strcmp(name, "UTC") || !name[0])
			return z; /* time.LoadLocation: "" and "UTC" are UTC */
		if (!valid_name(name) || !strcasecmp(name, "Local")) {
			fail(err, errlen, "unknown time zone %s", name);
			free(z);
			return NULL;
		}
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
		f = fopen(path, "rb");
		if (!f) {
			fail(err, errlen, "unknown time zone %s", name);
			free(z);
			return NULL;
		}
	}
	buf = malloc(1 << 20);
	if (buf)
		len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	rc = buf ? tz_read(z, buf, len) : -ENOMEM;
	free(buf);
	if (rc) {
		fail(err, errlen, "unknown time zone %s", name ? name : path);
		cron_tz_free(z);
		return NULL;
	}
	return z;
}

void cron_tz_free(struct cron_tz *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z->utoff);
	free(z->isdst);
	free(z);
}

/* ---- next ---- */

static struct civil local(const struct cron_tz *z, int64_t t)
{
	return civil_of(t + cron_tz_offset(z, t));
}

/* time.Date in zone z: the offset in force at the wall time (the later one in a gap). */
static int64_t date_in(const struct cron_tz *z, int64_t y, int64_t mon, int64_t d, int64_t h,
		       int64_t m, int64_t s)
{
	int64_t naive = naive_of(y, mon, d, h, m, s);
	int32_t off = cron_tz_offset(z, naive), off2;

	off2 = cron_tz_offset(z, naive - off);
	return naive - (off2 != off ? off2 : off);
}

static bool day_matches(const struct cron_sched *s, const struct civil *c)
{
	bool dom = (s->dom >> c->d) & 1, dow = (s->dow >> c->wday) & 1;

	if ((s->dom & STAR) || (s->dow & STAR))
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const struct cron_sched *s, const struct cron_tz *z, int64_t t)
{
	bool added = false;
	struct civil c;
	int64_t year_limit;

	if (s->every)
		return t + s->every;
	t++; /* the earliest: the next second */
	year_limit = local(z, t).y + 5;
wrap:
	c = local(z, t);
	if (c.y > year_limit)
		return -1;
	while (!((s->month >> c.mon) & 1)) {
		if (!added) {
			added = true;
			t = date_in(z, c.y, c.mon, 1, 0, 0, 0);
		}
		c = local(z, t);
		t = date_in(z, c.y, c.mon + 1, c.d, c.h, c.m, c.s);
		c = local(z, t);
		if (c.mon == 1)
			goto wrap;
	}
	while (!day_matches(s, &c)) {
		if (!added) {
			added = true;
			t = date_in(z, c.y, c.mon, c.d, 0, 0, 0);
		}
		c = local(z, t);
		t = date_in(z, c.y, c.mon, c.d + 1, c.h, c.m, c.s);
		c = local(z, t);
		/* midnight moved by a DST change: back to it */
		if (c.h) {
			t += c.h > 12 ? (int64_t)(24 - c.h) * 3600 : -(int64_t)c.h * 3600;
			c = local(z, t);
		}
		if (c.d == 1)
			goto wrap;
	}
	while (!((s->hour >> c.h) & 1)) {
		if (!added) {
			added = true;
			t = date_in(z, c.y, c.mon, c.d, c.h, 0, 0);
		}
		t += 3600;
		c = local(z, t);
		if (c.h == 0)
			goto wrap;
	}
	while (!((s->minute >> c.m) & 1)) {
		if (!added) {
			added = true;
			t -= ((t % 60) + 60) % 60;
		}
		t += 60;
		c = local(z, t);
		if (c.m == 0)
			goto wrap;
	}
	while (c.s != 0) {
		if (!added)
			added = true;
		t++;
		c = local(z, t);
		if (c.s == 0)
			goto wrap;
	}
	return t;
}
