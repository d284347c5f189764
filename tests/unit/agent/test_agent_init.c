/* SPDX-License-Identifier: Apache-2.0 */
/* test_agent_init: the kubelet's decisions from container states (agent_init.c): the init
 * container to run next, the pod phase with init containers (getPhase), the crash back-off
 * (at once, 10 s, 20 s .. 300 s, reset after 600 s without a crash); and the user a container
 * runs as (agent_sec.c): runAsUser/runAsGroup with the container's over the pod's, fsGroup and
 * supplementalGroups, the image's User (numeric, uid:gid, a name from its etc/passwd, its
 * etc/group memberships) and runAsNonRoot's refusals with the kubelet's messages; the ids an
 * exec into a running container takes from its init. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_pod.h"
#include "fsutil.h"

/* a pod of n_init init containers and n containers, all waiting */
static struct apod *pod(size_t n_init, size_t n, const char *policy)
{
	struct apod *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->c = calloc(n_init + n, sizeof(*p->c));
	assert_non_null(p->c);
	p->n = n_init + n;
	p->n_init = n_init;
	snprintf(p->restart_policy, sizeof(p->restart_policy), "%s", policy);
	for (size_t i = 0; i < n_init; i++)
		p->c[i].init = true;
	return p;
}

static void pod_free(struct apod *p)
{
	free(p->c);
	free(p);
}

static void set(struct actr *c, enum ctr_phase ph, int code)
{
	c->phase = ph;
	c->exit_code = code;
}

static void test_init_next(void **state)
{
	struct apod *p = pod(2, 1, "Always");

	(void)state;
	assert_int_equal(agent_init_next(p), 0);
	set(&p->c[0], CTR_RUNNING, 0);
	assert_int_equal(agent_init_next(p), AGENT_INIT_WAIT);
	set(&p->c[0], CTR_EXITED, 0);
	assert_int_equal(agent_init_next(p), 1);
	assert_string_equal(agent_pod_phase(p), "Pending");
	set(&p->c[1], CTR_WAITING, 0); /* failed, backing off (OnFailure/Always) */
	p->c[1].has_last = true;
	assert_int_equal(agent_init_next(p), 1);
	assert_string_equal(agent_pod_phase(p), "Pending");
	set(&p->c[1], CTR_EXITED, 0);
	assert_int_equal(agent_init_next(p), AGENT_INIT_DONE);
	set(&p->c[2], CTR_RUNNING, 0);
	assert_string_equal(agent_pod_phase(p), "Running");
	pod_free(p);

	/* Never: a failed init container fails the pod and nothing runs after it */
	p = pod(2, 1, "Never");
	set(&p->c[0], CTR_EXITED, 1);
	assert_int_equal(agent_init_next(p), AGENT_INIT_FAILED);
	assert_string_equal(agent_pod_phase(p), "Failed");
	pod_free(p);

	/* no init containers: done at once; the phase as before */
	p = pod(0, 2, "OnFailure");
	assert_int_equal(agent_init_next(p), AGENT_INIT_DONE);
	assert_string_equal(agent_pod_phase(p), "Pending");
	set(&p->c[0], CTR_EXITED, 0);
	set(&p->c[1], CTR_EXITED, 0);
	assert_string_equal(agent_pod_phase(p), "Succeeded");
	set(&p->c[1], CTR_EXITED, 2);
	assert_string_equal(agent_pod_phase(p), "Running"); /* OnFailure restarts it */
	pod_free(p);
}

/* sidecars (restartable init containers): the next init container once the sidecar started;
 * getPhase counts a running sidecar, leaves a terminated one out */
static void test_sidecar(void **state)
{
	struct apod *p = pod(2, 1, "Never");

	(void)state;
	p->c[0].sidecar = true;
	assert_int_equal(agent_init_next(p), 0);
	set(&p->c[0], CTR_STARTING, 0); /* its postStart runs */
	assert_int_equal(agent_init_next(p), AGENT_INIT_WAIT);
	assert_string_equal(agent_pod_phase(p), "Pending");
	set(&p->c[0], CTR_RUNNING, 0); /* running, not yet started (startup probe) */
	assert_int_equal(agent_init_next(p), AGENT_INIT_WAIT);
	p->c[0].init_done = true;
	assert_int_equal(agent_init_next(p), 1);
	assert_string_equal(agent_pod_phase(p), "Pending");
	set(&p->c[1], CTR_EXITED, 0);
	assert_int_equal(agent_init_next(p), AGENT_INIT_DONE);
	set(&p->c[2], CTR_RUNNING, 0);
	assert_string_equal(agent_pod_phase(p), "Running");
	/* the sidecar restarting (back-off) does not hold anything up once initialized */
	set(&p->c[0], CTR_WAITING, 0);
	p->c[0].has_last = true;
	assert_int_equal(agent_init_next(p), AGENT_INIT_DONE);
	assert_string_equal(agent_pod_phase(p), "Running");
	/* the container done, the sidecar still running: Running; once stopped: Succeeded */
	set(&p->c[0], CTR_RUNNING, 0);
	set(&p->c[2], CTR_EXITED, 0);
	assert_string_equal(agent_pod_phase(p), "Running");
	set(&p->c[0], CTR_EXITED, 143);
	assert_string_equal(agent_pod_phase(p), "Succeeded");
	set(&p->c[2], CTR_EXITED, 1);
	assert_string_equal(agent_pod_phase(p), "Failed");
	pod_free(p);
}

static void test_backoff(void **state)
{
	struct actr c = {0};
	double t = 1000;

	(void)state;
	/* the first crash restarts at once, then 10, 20, 40 .. 300 */
	assert_true(agent_crash_backoff(&c, t) == 0);
	t += 5;
	assert_true(agent_crash_backoff(&c, t) == 10);
	t += 10 + 5;
	assert_true(agent_crash_backoff(&c, t) == 20);
	t += 20 + 5;
	assert_true(agent_crash_backoff(&c, t) == 40);
	for (int k = 0; k < 6; k++) {
		t += 1;
		agent_crash_backoff(&c, t);
		t += c.backoff;
	}
	assert_true(agent_crash_backoff(&c, t + 1) == 300);
	/* 600 s after the last restart without a crash: at once again, then 10 */
	t = c.backoff_at + 601;
	assert_true(agent_crash_backoff(&c, t) == 0);
	assert_true(agent_crash_backoff(&c, t + 1) == 10);
	/* 600 s is not more than 600 s: still backing off */
	t = c.backoff_at + 600;
	assert_true(agent_crash_backoff(&c, t) == 20);
}

/* An OOM kill counted in the container's cgroup during its run makes it OOMKilled (exit 137
 * as the kernel's SIGKILL gives, or whatever its shell made of a killed child); one counted
 * before the run does not. */
static void test_exit_reason(void **state)
{
	(void)state;
	assert_string_equal(agent_exit_reason(137, 0, 1), "OOMKilled");
	assert_string_equal(agent_exit_reason(1, 2, 3), "OOMKilled");
	assert_string_equal(agent_exit_reason(137, 3, 3), "Error");
	assert_string_equal(agent_exit_reason(2, 0, 0), "Error");
	assert_string_equal(agent_exit_reason(0, 1, 1), "Completed");
}

/* ---- securityContext ---- */

static char layer[2][64];

static int sec_setup(void **state)
{
	char path[256];
	FILE *f;

	(void)state;
	for (int i = 0; i < 2; i++) {
		snprintf(layer[i], sizeof(layer[i]), "/tmp/test_agent_init.%d.%d", (int)getpid(),
			 i);
		snprintf(path, sizeof(path), "%s/etc", layer[i]);
		assert_int_equal(fs_mkdir_p(path, 0755, NULL), 0);
	}
	/* the bottom layer's passwd is replaced by the top one's; group only below */
	snprintf(path, sizeof(path), "%s/etc/passwd", layer[0]);
	f = fopen(path, "w");
	fputs("root:x:0:0:root:/root:/bin/sh\nold:x:7:7::/:/bin/sh\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/etc/passwd", layer[1]);
	f = fopen(path, "w");
	fputs("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"
	      "bad:x:zz:1::/:/bin/sh\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/etc/group", layer[0]);
	f = fopen(path, "w");
	fputs("root:x:0:\napp:x:1001:\nwheel:x:10:root,app\naudio:x:29:other\n", f);
	fclose(f);
	return 0;
}

static int sec_teardown(void **state)
{
	char cmd[256];

	(void)state;
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", layer[i]);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

struct sec_case {
	const char *pod_sc, *ctr_sc, *image_user;
	int rc;
	uid_t uid;
	gid_t gid;
	const char *groups; /* "1,2,3" */
	const char *msg;    /* with rc != 0 */
};

static void sec_run(const struct sec_case *t)
{
	char json[1024], msg[1200] = "", groups[256] = "";
	const char *layers[2] = {layer[0], layer[1]};
	struct jv_doc *d = jv_doc_new();
	struct jv *pod, *ctr;
	struct agent_ids ids;
	int rc;

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u1\"},"
		 "\"spec\":{\"securityContext\":%s,\"containers\":[{\"name\":\"c\","
		 "\"securityContext\":%s}]}}",
		 t->pod_sc ? t->pod_sc : "null", t->ctr_sc ? t->ctr_sc : "null");
	pod = jv_parse(d, json, strlen(json), NULL);
	assert_non_null(pod);
	ctr = jv_first(jv_path(pod, "spec.containers"));
	rc = agent_sec_ids(pod, ctr, "c", t->image_user, layers, 2, &ids, msg, sizeof(msg));
	if (rc != t->rc)
		fail_msg("%s / %s / %s: rc %d, want %d (%s)", t->pod_sc, t->ctr_sc, t->image_user,
			 rc, t->rc, msg);
	if (rc) {
		if (strcmp(msg, t->msg))
			fail_msg("message \"%s\", want \"%s\"", msg, t->msg);
		jv_doc_free(d);
		return;
	}
	for (size_t i = 0; i < ids.n_groups; i++)
		snprintf(groups + strlen(groups), sizeof(groups) - strlen(groups), "%s%u",
			 i ? "," : "", (unsigned)ids.groups[i]);
	if (ids.uid != t->uid || ids.gid != t->gid || strcmp(groups, t->groups))
		fail_msg("%s / %s / %s: uid %u gid %u groups %s, want %u %u %s", t->pod_sc,
			 t->ctr_sc, t->image_user, (unsigned)ids.uid, (unsigned)ids.gid, groups,
			 (unsigned)t->uid, (unsigned)t->gid, t->groups);
	jv_doc_free(d);
}

static void test_sec(void **state)
{
	static const struct sec_case cases[] = {
	    /* nothing set, image without User: root, its groups from etc/group */
	    {NULL, NULL, NULL, 0, 0, 0, "0,10", NULL},
	    /* pod runAsUser/runAsGroup, fsGroup, supplementalGroups */
	    {"{\"runAsUser\":1000,\"runAsGroup\":3000,\"fsGroup\":2000,"
	     "\"supplementalGroups\":[4000,3000]}",
	     NULL, NULL, 0, 1000, 3000, "3000,10,2000,4000", NULL},
	    /* the container's over the pod's; a uid the image does not know: gid 0 */
	    {"{\"runAsUser\":1000,\"runAsGroup\":3000}", "{\"runAsUser\":5}", NULL, 0, 5, 3000,
	     "3000", NULL},
	    {"{\"runAsUser\":1000}", "{\"runAsUser\":4242}", NULL, 0, 4242, 0, "0", NULL},
	    /* a uid of the image's passwd: its gid (top layer's file) */
	    {"{\"runAsUser\":1000}", NULL, NULL, 0, 1000, 1001, "1001,10", NULL},
	    {NULL, NULL, "7", 0, 7, 0, "0", NULL}, /* the bottom passwd is shadowed */
	    /* the image's User: a name, a uid:gid */
	    {NULL, NULL, "app", 0, 1000, 1001, "1001,10", NULL},
	    {NULL, NULL, "1000:55", 0, 1000, 55, "55,10", NULL},
	    {NULL, NULL, "nosuch", -ENOENT, 0, 0, NULL,
	     "unable to find user nosuch: no matching entries in passwd file"},
	    /* runAsNonRoot */
	    {"{\"runAsNonRoot\":true}", NULL, NULL, -EINVAL, 0, 0, NULL,
	     "container has runAsNonRoot and image will run as root (pod: \"p_ns(u1)\", "
	     "container: c)"},
	    {"{\"runAsNonRoot\":true}", NULL, "0:0", -EINVAL, 0, 0, NULL,
	     "container has runAsNonRoot and image will run as root (pod: \"p_ns(u1)\", "
	     "container: c)"},
	    {NULL, "{\"runAsNonRoot\":true}", "app", -EINVAL, 0, 0, NULL,
	     "container has runAsNonRoot and image has non-numeric user (app), cannot verify "
	     "user is non-root (pod: \"p_ns(u1)\", container: c)"},
	    {"{\"runAsNonRoot\":true,\"runAsUser\":0}", NULL, NULL, -EINVAL, 0, 0, NULL,
	     "container's runAsUser breaks non-root policy (pod: \"p_ns(u1)\", container: c)"},
	    {"{\"runAsNonRoot\":true}", NULL, "1000", 0, 1000, 1001, "1001,10", NULL},
	    {"{\"runAsNonRoot\":true}", "{\"runAsUser\":1000}", "app", 0, 1000, 1001, "1001,10",
	     NULL},
	    /* the container turns it off */
	    {"{\"runAsNonRoot\":true}", "{\"runAsNonRoot\":false}", NULL, 0, 0, 0, "0,10", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		sec_run(&cases[i]);
}

/* the ids an exec into a container runs as: its init's (here: ours) */
static void test_proc_ids(void **state)
{
	gid_t g[64];
	int n = getgroups(64, g);
	struct agent_ids ids;

	(void)state;
	agent_proc_ids(getpid(), &ids);
	assert_int_equal(ids.uid, getuid());
	assert_int_equal(ids.gid, getgid());
	assert_true(n >= 0);
	assert_int_equal(ids.n_groups, (size_t)n);
	for (int i = 0; i < n; i++)
		assert_int_equal(ids.groups[i], g[i]);
	agent_proc_ids(-1, &ids); /* unreadable: root, no groups */
	assert_int_equal(ids.uid, 0);
	assert_int_equal(ids.n_groups, 0);
	if (geteuid() == 0) {
		/* a process that dropped to 4:3 with groups 7 and 5 */
		int p[2];
		char c;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			gid_t gs[2] = {7, 5};

			if (setgroups(2, gs) || setgid(3) || setuid(4) || write(p[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(p[1]);
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		agent_proc_ids(pid, &ids);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		assert_int_equal(ids.uid, 4);
		assert_int_equal(ids.gid, 3);
		assert_int_equal(ids.n_groups, 2);
		assert_int_equal(ids.groups[0], 5); /* the kernel keeps them sorted */
		assert_int_equal(ids.groups[1], 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_next),
	    cmocka_unit_test(test_sidecar),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_exit_reason),
	    cmocka_unit_test(test_proc_ids),
	    cmocka_unit_test_setup_teardown(test_sec, sec_setup, sec_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
