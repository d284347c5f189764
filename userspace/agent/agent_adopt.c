/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_adopt: what a restarted agent needs to take its running pods back instead of starting
 * them again (kubelet gets this from the container runtime; drover's runtime is in process, so
 * the agent keeps it itself). Per pod, root/pods/<ns>_<name>_<uid>/state.json holds the
 * sandbox (netns, IP) and per container (init containers too: one that succeeded stays done
 * and is not run again) its run (id, restart count, times, last state, back-off) and
 * the process record rt_adopt needs (container pid, shim pid and start time, exit path). It is
 * written (tmp + rename) once per sync pass in which the pod's sandbox came up or containers
 * started or ended (agent_pods.c; not while the pod is being deleted).
 *
 * On restart a pod with a state file whose uid matches and whose netns still exists keeps
 * its sandbox and IP; each container still running is adopted (its exit status comes later
 * from its shim), one that ended while the agent was away gets its real exit code, one whose
 * shim is gone too is reported as lost (137, ContainerStatusUnknown, as the kubelet does) and
 * restarted by its restartPolicy.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_pod.h"
#include "fsutil.h"
#include "k8s_jv.h"

#define STATE_VERSION 1

static void state_path(const struct agent *a, const struct apod *p, char *buf, size_t size)
{
	char dir[PATH_MAX];

	agent_pod_dir(a, p, dir, sizeof(dir));
	snprintf(buf, size, "%s/state.json", dir);
}

static int set_str(struct jv_doc *d, struct jv *o, const char *k, const char *v)
{
	return jv_set(d, o, k, jv_new_strz(d, v ? v : ""));
}

static int set_int(struct jv_doc *d, struct jv *o, const char *k, int64_t v)
{
	return jv_set(d, o, k, jv_new_int(d, v));
}

static struct jv *ctr_json(struct jv_doc *d, const struct actr *c)
{
	struct jv *o = jv_new(d, JV_OBJECT);
	bool live = c->proc_live && c->proc.shim > 0;
	/* the back-off's end as wall-clock time: the monotonic clock is this process' view */
	double left = c->next_start - agent_mono_s();

	if (!o || set_str(d, o, "name", c->name) || set_str(d, o, "cid", c->cid) ||
	    set_str(d, o, "imageID", c->image_id) || set_int(d, o, "restarts", c->restarts) ||
	    set_str(d, o, "started", c->started) || set_str(d, o, "finished", c->finished) ||
	    /* a postStart hook is not run again (at least once, as the kubelet's) */
	    set_int(d, o, "phase", c->phase == CTR_STARTING ? CTR_RUNNING : c->phase) ||
	    set_int(d, o, "initDone", c->init_done) || set_int(d, o, "exitCode", c->exit_code) ||
	    set_str(d, o, "reason", c->reason) || set_int(d, o, "hasLast", c->has_last) ||
	    set_int(d, o, "lastExit", c->last_exit) ||
	    set_str(d, o, "lastReason", c->last_reason) ||
	    set_str(d, o, "lastStarted", c->last_started) ||
	    set_str(d, o, "lastFinished", c->last_finished) ||
	    set_str(d, o, "lastCid", c->last_cid) || set_int(d, o, "pid", live ? c->proc.pid : 0) ||
	    set_int(d, o, "shim", live ? c->proc.shim : 0) ||
	    jv_set(d, o, "shimStart", jv_new_strf(d, "%llu", live ? c->proc.shim_start : 0ULL)) ||
	    set_str(d, o, "exitPath", live ? c->proc.exit_path : "") ||
	    set_int(d, o, "backoffMs", (int64_t)(c->backoff * 1000)) ||
	    set_int(d, o, "backoffAt",
		    c->backoff > 0 ? (int64_t)time(NULL) - (int64_t)(agent_mono_s() - c->backoff_at)
				   : 0) ||
	    set_int(d, o, "nextStart", left > 0 ? (int64_t)time(NULL) + (int64_t)left + 1 : 0))
		return NULL;
	return o;
}

int agent_pod_save(struct agent *a, const struct apod *p)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32], dir[PATH_MAX];
	struct jv_doc *d = jv_doc_new();
	struct jv *o = d ? jv_new(d, JV_OBJECT) : NULL, *cs = d ? jv_new(d, JV_ARRAY) : NULL;
	char *json = NULL;
	size_t len = 0;
	int fd, rc = -ENOMEM;

	if (!o || !cs || set_int(d, o, "version", STATE_VERSION) || set_str(d, o, "uid", p->uid) ||
	    set_int(d, o, "sandbox", p->sandbox) || set_str(d, o, "netns", p->netns) ||
	    set_str(d, o, "ip", p->ip))
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		struct jv *c = ctr_json(d, &p->c[i]);

		if (!c)
			goto out;
		jv_push(cs, c);
	}
	if (jv_set(d, o, "containers", cs) || !(json = jv_to_json(o, &len)))
		goto out;
	agent_pod_dir(a, p, dir, sizeof(dir));
	if ((rc = fs_mkdir_p(dir, 0755, NULL)))
		goto out;
	state_path(a, p, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write(fd, json, len) == (ssize_t)len ? 0 : -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
out:
	if (rc)
		log_warn(AGENT_COMP, "pod %s: cannot record its state: %s", p->key, strerror(-rc));
	free(json);
	jv_doc_free(d);
	return rc;
}

static void copy(char *dst, size_t size, const struct jv *o, const char *k)
{
	const char *s = jv_path_str(o, k);

	snprintf(dst, size, "%s", s ? s : "");
}

static int64_t num(const struct jv *o, const char *k)
{
	int64_t v = 0;

	jv_path_int(o, k, &v);
	return v;
}

/* The container's record back into c; its process adopted when it was running. */
static void adopt_ctr(struct agent *a, struct apod *p, struct actr *c, const struct jv *r)
{
	unsigned long long start = strtoull(jv_path_str(r, "shimStart") ?: "0", NULL, 10);
	const char *exit_path = jv_path_str(r, "exitPath");
	pid_t pid = (pid_t)num(r, "pid"), shim = (pid_t)num(r, "shim");
	int64_t phase = num(r, "phase");
	int rc;

	copy(c->cid, sizeof(c->cid), r, "cid");
	copy(c->image_id, sizeof(c->image_id), r, "imageID");
	copy(c->started, sizeof(c->started), r, "started");
	copy(c->finished, sizeof(c->finished), r, "finished");
	copy(c->reason, sizeof(c->reason), r, "reason");
	copy(c->last_reason, sizeof(c->last_reason), r, "lastReason");
	copy(c->last_started, sizeof(c->last_started), r, "lastStarted");
	copy(c->last_finished, sizeof(c->last_finished), r, "lastFinished");
	copy(c->last_cid, sizeof(c->last_cid), r, "lastCid");
	c->restarts = (int)num(r, "restarts");
	c->exit_code = (int)num(r, "exitCode");
	c->has_last = num(r, "hasLast") != 0;
	c->last_exit = (int)num(r, "lastExit");
	c->init_done = num(r, "initDone") != 0;
	c->phase = phase == CTR_EXITED ? CTR_EXITED : CTR_WAITING;
	/* a CrashLoopBackOff goes on where it was, not from the start */
	c->backoff = (double)num(r, "backoffMs") / 1000.0;
	/* the back-off's last restart, for its reset after 10 minutes without a crash */
	c->backoff_at = agent_mono_s() - (double)((int64_t)time(NULL) - num(r, "backoffAt"));
	if (num(r, "nextStart") > (int64_t)time(NULL))
		c->next_start =
		    agent_mono_s() + (double)(num(r, "nextStart") - (int64_t)time(NULL));
	if (phase != CTR_RUNNING || pid <= 0)
		return; /* waiting (back-off restarts from scratch) or ended for good */
	c->cg = agent_ctr_cgroup_open(a, p, c->name);
	if (c->cg)
		c->oom_base = cg_oom_kills(c->cg); /* one while the agent was away is not seen */
	rc = exit_path ? rt_adopt(&c->proc, pid, shim, start, exit_path) : -EINVAL;
	if (rc == 0) {
		/* running, or its status waits in the shim's file: reap() takes it */
		c->phase = CTR_RUNNING;
		c->proc_live = true;
		log_info(AGENT_COMP, "pod %s: container %s adopted (pid %d%s)", p->key, c->name,
			 (int)pid, c->proc.pid ? "" : ", ended while the agent was away");
		return;
	}
	/* its shim went with its status: the kubelet's "could not be located". What still runs of
	 * it (re-parented to init) is ended, or the new run would run beside it. */
	log_warn(AGENT_COMP, "pod %s: container %s (pid %d) is lost: restarted", p->key, c->name,
		 (int)pid);
	if (c->cg && cg_kill(c->cg, 5000) < 0)
		log_warn(AGENT_COMP,
			 "pod %s: container %s: what is left of its lost run did not end", p->key,
			 c->name);
	c->has_last = true;
	c->last_exit = 137;
	snprintf(c->last_reason, sizeof(c->last_reason), "ContainerStatusUnknown");
	snprintf(c->last_started, sizeof(c->last_started), "%s", c->started);
	snprintf(c->last_finished, sizeof(c->last_finished), "%s", c->started);
	snprintf(c->last_cid, sizeof(c->last_cid), "%s", c->cid);
	c->restarts++;
	c->reason[0] = 0;
}

int agent_pod_adopt(struct agent *a, struct apod *p)
{
	char path[PATH_MAX + 16], *buf = NULL;
	struct jv_doc *d = NULL;
	struct jv *o;
	struct stat st;
	size_t len = 0;
	int fd, rc = -ENOENT;

	state_path(a, p, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > (1 << 20) ||
	    !(buf = malloc((size_t)st.st_size)) ||
	    read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size)
		goto out;
	len = (size_t)st.st_size;
	d = jv_doc_new();
	o = d ? jv_parse(d, buf, len, NULL) : NULL;
	if (!o || num(o, "version") != STATE_VERSION || !jv_is_str(jv_get(o, "uid"), p->uid) ||
	    !num(o, "sandbox"))
		goto out;
	copy(p->netns, sizeof(p->netns), o, "netns");
	copy(p->ip, sizeof(p->ip), o, "ip");
	if (!p->netns[0] || !p->ip[0] || access(p->netns, F_OK) != 0) {
		p->netns[0] = p->ip[0] = 0;
		goto out; /* the sandbox is gone: start over */
	}
	p->sandbox = true;
	for (const struct jv *r = jv_first(jv_get(o, "containers")); r; r = r->next)
		for (size_t i = 0; i < p->n; i++)
			if (jv_is_str(jv_get(r, "name"), p->c[i].name))
				adopt_ctr(a, p, &p->c[i], r);
	rc = 0;
	log_info(AGENT_COMP, "pod %s: adopted its sandbox %s, IP %s", p->key, p->netns, p->ip);
out:
	if (rc)
		log_info(AGENT_COMP, "pod %s: nothing to adopt: started from scratch", p->key);
	close(fd);
	free(buf);
	jv_doc_free(d);
	return rc;
}
