/* SPDX-License-Identifier: Apache-2.0 */
/*
 * leaderelect: client-go's tools/leaderelection over a Lease (see leaderelect.h). One round
 * (tryAcquireOrRenew): read the Lease; create it when there is none; leave it when another
 * holder's record changed less than its leaseDurationSeconds ago by this process's monotonic
 * clock; otherwise write ourselves in with the resourceVersion read (acquireTime and
 * leaseTransitions kept when we already held it, else now and +1). A round runs every retry
 * period, leading or not; a leader whose rounds fail for the renew deadline stops leading.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "leaderelect.h"
#include "log.h"

#define COMP "leaderelection"

struct kc_leader {
	struct kclient *c;
	struct kc_leader_config cfg;
	const struct k8s_kind *kind;
	char id[160];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	atomic_bool leading;
	/* the record last seen and when it last changed (monotonic ms) */
	char seen[512];
	uint64_t seen_ms, renewed_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* metav1.MicroTime as the API writes it */
static void now_micro(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

/* The Lease as this candidate writes it (rv NULL: a create). */
static struct jv *lease(struct kc_leader *l, struct jv_doc *d, const char *rv, const char *holder,
			int64_t duration, const char *acquired, const char *renewed, int64_t trans)
{
	struct jv *o = jv_new(d, JV_OBJECT), *md = jv_obj_at(d, o, "metadata");
	struct jv *spec = jv_obj_at(d, o, "spec");

	jv_set(d, o, "apiVersion", jv_new_strz(d, "coordination.k8s.io/v1"));
	jv_set(d, o, "kind", jv_new_strz(d, "Lease"));
	jv_set(d, md, "name", jv_new_strz(d, l->cfg.name));
	jv_set(d, md, "namespace", jv_new_strz(d, l->cfg.ns));
	if (rv)
		jv_set(d, md, "resourceVersion", jv_new_strz(d, rv));
	jv_set(d, spec, "holderIdentity", jv_new_strz(d, holder));
	jv_set(d, spec, "leaseDurationSeconds", jv_new_int(d, duration));
	jv_set(d, spec, "acquireTime", jv_new_strz(d, acquired));
	jv_set(d, spec, "renewTime", jv_new_strz(d, renewed));
	jv_set(d, spec, "leaseTransitions", jv_new_int(d, trans));
	return o;
}

/* Note the record (holder, times, duration, transitions): when it changed, now. */
static void observe(struct kc_leader *l, const struct jv *spec)
{
	char rec[512];
	int64_t t = 0;

	jv_path_int(spec, "leaseTransitions", &t);
	snprintf(rec, sizeof(rec), "%s|%s|%s|%s|%lld", jv_path_str(spec, "holderIdentity") ?: "",
		 jv_path_str(spec, "acquireTime") ?: "", jv_path_str(spec, "renewTime") ?: "",
		 jv_path(spec, "leaseDurationSeconds") ? jv_path(spec, "leaseDurationSeconds")->s
						       : "",
		 (long long)t);
	if (strcmp(rec, l->seen) != 0) {
		snprintf(l->seen, sizeof(l->seen), "%s", rec);
		l->seen_ms = mono_ms();
	}
}

/* One round: 1 (we hold the Lease now), 0 (another does, or a conflict), -errno. */
static int round_once(struct kc_leader *l)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_status st = {0};
	struct kc_obj *o = NULL, *w = NULL;
	struct jv *t, *spec;
	char now[48], rv[32];
	const char *holder;
	int64_t dur = 0, trans = 0;
	bool ours;
	int err;

	if (!d)
		return -ENOMEM;
	now_micro(now, sizeof(now));
	err = kc_get(l->c, l->kind, l->cfg.ns, l->cfg.name, &o, &st);
	if (err == -ENOENT) {
		t = lease(l, d, NULL, l->id, l->cfg.lease_s, now, now, 0);
		err = kc_create(l->c, l->kind, l->cfg.ns, t, NULL, &w, &st);
		if (err == 0)
			observe(l, jv_get(t, "spec"));
		err = err == 0 ? 1 : err == -EEXIST ? 0 : err;
		goto out;
	}
	if (err)
		goto out;
	t = kc_obj_parse(o, d);
	spec = jv_get(t, "spec");
	if (!t) {
		err = -EIO;
		goto out;
	}
	observe(l, spec);
	holder = jv_path_str(spec, "holderIdentity");
	ours = holder && strcmp(holder, l->id) == 0;
	jv_path_int(spec, "leaseDurationSeconds", &dur);
	jv_path_int(spec, "leaseTransitions", &trans);
	if (holder && holder[0] && !ours && mono_ms() < l->seen_ms + (uint64_t)dur * 1000u) {
		err = 0; /* held, and renewed within its duration as far as we have seen */
		goto out;
	}
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)o->rv);
	t = lease(l, d, rv, l->id, l->cfg.lease_s,
		  ours && jv_path_str(spec, "acquireTime") ? jv_path_str(spec, "acquireTime") : now,
		  now, ours ? trans : trans + 1);
	err = kc_update(l->c, l->kind, l->cfg.ns, NULL, t, NULL, &w, &st);
	if (err == 0)
		observe(l, jv_get(t, "spec"));
	err = err == 0 ? 1 : err == -KC_ECONFLICT ? 0 : err;
out:
	if (err < 0)
		log_debug(COMP, "lease %s/%s: %s", l->cfg.ns, l->cfg.name,
			  st.message[0] ? st.message : kc_strerror(err));
	kc_obj_put(o);
	kc_obj_put(w);
	jv_doc_free(d);
	return err;
}

/* ReleaseOnCancel: the holder emptied, duration 1 s (the resourceVersion last read). */
static void release(struct kc_leader *l)
{
	struct jv_doc *d = jv_doc_new();
	struct kc_obj *o = NULL;
	struct kc_status st = {0};
	struct jv *t, *spec;
	char now[48], rv[32];
	int64_t trans = 0;

	now_micro(now, sizeof(now));
	if (d && kc_get(l->c, l->kind, l->cfg.ns, l->cfg.name, &o, &st) == 0 &&
	    (t = kc_obj_parse(o, d)) && (spec = jv_get(t, "spec")) &&
	    jv_is_str(jv_get(spec, "holderIdentity"), l->id)) {
		jv_path_int(spec, "leaseTransitions", &trans);
		snprintf(rv, sizeof(rv), "%llu", (unsigned long long)o->rv);
		if (kc_update(l->c, l->kind, l->cfg.ns, NULL,
			      lease(l, d, rv, "", 1, now, now, trans), NULL, NULL, &st) == 0)
			log_info(COMP, "released lease %s/%s", l->cfg.ns, l->cfg.name);
	}
	kc_obj_put(o);
	jv_doc_free(d);
}

static void *campaign(void *arg)
{
	struct kc_leader *l = arg;
	struct timespec ts;

	log_info(COMP, "attempting to acquire leader lease %s/%s as %s", l->cfg.ns, l->cfg.name,
		 l->id);
	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		int r;
		uint64_t now;

		pthread_mutex_unlock(&l->lock);
		r = round_once(l);
		now = mono_ms();
		if (r == 1)
			l->renewed_ms = now;
		if (!l->leading && r == 1) {
			l->leading = true;
			log_info(COMP, "successfully acquired lease %s/%s", l->cfg.ns, l->cfg.name);
			if (l->cfg.started)
				l->cfg.started(l->cfg.arg);
		} else if (l->leading && r != 1 &&
			   now >= l->renewed_ms + (uint64_t)l->cfg.renew_deadline_s * 1000u) {
			l->leading = false;
			log_error(COMP,
				  "failed to renew lease %s/%s: timed out; leaderelection lost",
				  l->cfg.ns, l->cfg.name);
			if (l->cfg.stopped)
				l->cfg.stopped(l->cfg.arg);
		}
		pthread_mutex_lock(&l->lock);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += l->cfg.retry_s;
		while (!l->stopping && pthread_cond_timedwait(&l->cond, &l->lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&l->lock);
	if (l->leading)
		release(l);
	return NULL;
}

int kc_leader_start(struct kclient *c, const struct kc_leader_config *cfg, struct kc_leader **out)
{
	struct kc_leader *l;
	pthread_condattr_t ca;
	unsigned char rnd[8];
	char host[64] = "localhost";
	int err;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->c = c;
	l->cfg = *cfg;
	if (!l->cfg.lease_s)
		l->cfg.lease_s = 15;
	if (!l->cfg.renew_deadline_s)
		l->cfg.renew_deadline_s = 10;
	if (!l->cfg.retry_s)
		l->cfg.retry_s = 2;
	l->kind = k8s_kind_find("coordination.k8s.io/v1", "Lease");
	/* NewLeaderElector's checks */
	if (!l->kind || !cfg->ns || !cfg->name || l->cfg.lease_s <= l->cfg.renew_deadline_s ||
	    l->cfg.renew_deadline_s <= l->cfg.retry_s) {
		free(l);
		return -EINVAL;
	}
	if (cfg->identity) {
		snprintf(l->id, sizeof(l->id), "%s", cfg->identity);
	} else {
		gethostname(host, sizeof(host) - 1);
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		snprintf(l->id, sizeof(l->id), "%s_%02x%02x%02x%02x-%02x%02x-%02x%02x", host,
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = -pthread_create(&l->thread, NULL, campaign, l);
	if (err) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return err;
	}
	*out = l;
	return 0;
}

void kc_leader_stop(struct kc_leader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

bool kc_leader_leading(const struct kc_leader *l)
{
	return l && l->leading;
}

const char *kc_leader_identity(const struct kc_leader *l)
{
	return l->id;
}
