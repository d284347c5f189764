/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_runtime: `drover runtime run|exec|bench`, a hidden debug and test front end of the
 * node's runtime primitives (userspace/lib/node: cgroup.h, runtime.h). The agent uses the
 * library directly; this command exists so that tests and people can drive one container.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "k8s.h"
#include "log.h"
#include "runtime.h"

#define MAX_LIST 64

struct rt_opts {
	struct rt_spec spec;
	struct cg_limits lim;
	const char *cgroup_parent, *name, *cgroup_root, *mountinfo, *pid_file;
	const char *lowers[MAX_LIST];
	struct rt_mount mounts[MAX_LIST];
	char *env[MAX_LIST + 1];
	gid_t groups[MAX_LIST];
	size_t n_env;
	unsigned grace_s, runs;
	pid_t target;
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: drover runtime run [flags] -- ARGV...\n"
	    "       drover runtime exec --pid PID [--cgroup-parent P --name N] [flags] -- ARGV...\n"
	    "       drover runtime bench [-n RUNS] [flags] -- ARGV...\n"
	    "A debug and test front end of the node runtime (one container, in the foreground).\n"
	    "  --rootfs DIR          root directory (with --lower: where the overlay is mounted)\n"
	    "  --lower DIR           an image layer, bottom first (repeat); needs --upper, --work\n"
	    "  --upper DIR --work DIR  the container's overlay upper and work directories\n"
	    "  --netns PATH          join this network namespace (default: a new, empty one)\n"
	    "  --cgroup-parent P     cgroup parent, relative to the hierarchies (default drover)\n"
	    "  --name N              the container's cgroup under the parent (default ctr-PID)\n"
	    "  --cgroup-root DIR     where the cgroup mounts are (default /sys/fs/cgroup)\n"
	    "  --memory Q --cpu Q --cpu-request Q --pids N   limits (Kubernetes quantities)\n"
	    "  --log FILE            stdout/stderr in the CRI log format (default: inherited)\n"
	    "  --hostname H --cwd DIR --env K=V --user UID[:GID] --group GID\n"
	    "  --bind SRC:DST[:ro]   bind mount (repeat)\n"
	    "  --grace SECONDS       on SIGTERM/SIGINT: SIGTERM, then SIGKILL after this (10)\n"
	    "  --pid-file FILE       write the container's pid here once it runs\n");
}

static int bad(const char *sub, const char *flag, const char *arg, const char *what)
{
	fprintf(stderr, "drover runtime %s: %s: %s, not \"%s\"\n", sub, flag, what, arg);
	return -1;
}

static int parse_quantity(const char *sub, const char *flag, const char *arg, bool milli,
			  int64_t *out)
{
	int64_t v, m;

	if (k8s_quantity_parse(arg, strlen(arg), &v, &m) != 0 || v < 0)
		return bad(sub, flag, arg, "a non-negative Kubernetes quantity");
	*out = milli ? m : v;
	return 0;
}

static int parse_id(const char *sub, const char *flag, const char *arg, unsigned *out)
{
	if (cli_parse_uint(arg, 0, 0x7fffffff, out) != 0)
		return bad(sub, flag, arg, "a numeric id");
	return 0;
}

/* Point the spec at the command and the lists parse filled (run and bench alike: bench once
 * lacked the groups, and --group made it fail with EFAULT). */
static void spec_arrays(struct rt_opts *o, char **argv)
{
	o->spec.argv = argv;
	o->spec.env = o->env;
	o->spec.lowers = o->lowers;
	o->spec.mounts = o->mounts;
	o->spec.groups = o->groups;
}

/* Flags; *argi gets the index of the first word after "--". 0, or -1 after one line. */
static int parse(const char *sub, int argc, char **argv, struct rt_opts *o, int *argi)
{
	rt_spec_init(&o->spec);
	o->lim = (struct cg_limits)CG_LIMITS_NONE;
	o->cgroup_parent = "drover";
	o->grace_s = 10;
	o->runs = 20;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t q;
		unsigned u;

		if (strcmp(f, "--") == 0) {
			*argi = i + 1;
			if (*argi >= argc) {
				fprintf(stderr, "drover runtime %s: no command after --\n", sub);
				return -1;
			}
			return 0;
		}
		if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (!a) {
			fprintf(stderr, "drover runtime %s: %s: unknown flag or missing value\n",
				sub, f);
			return -1;
		}
		i++;
		if (strcmp(f, "--rootfs") == 0) {
			o->spec.rootfs = a;
		} else if (strcmp(f, "--lower") == 0) {
			if (o->spec.n_lowers == MAX_LIST)
				return bad(sub, f, a, "at most 64 layers");
			o->lowers[o->spec.n_lowers++] = a;
		} else if (strcmp(f, "--upper") == 0) {
			o->spec.upper = a;
		} else if (strcmp(f, "--work") == 0) {
			o->spec.work = a;
		} else if (strcmp(f, "--netns") == 0) {
			o->spec.netns = a;
		} else if (strcmp(f, "--cgroup-parent") == 0) {
			o->cgroup_parent = a;
		} else if (strcmp(f, "--name") == 0) {
			o->name = a;
		} else if (strcmp(f, "--cgroup-root") == 0) {
			o->cgroup_root = a;
		} else if (strcmp(f, "--mountinfo") == 0) {
			o->mountinfo = a;
		} else if (strcmp(f, "--memory") == 0) {
			if (parse_quantity(sub, f, a, false, &q))
				return -1;
			o->lim.memory_bytes = q;
		} else if (strcmp(f, "--cpu") == 0) {
			if (parse_quantity(sub, f, a, true, &q))
				return -1;
			o->lim.cpu_limit_milli = q;
		} else if (strcmp(f, "--cpu-request") == 0) {
			if (parse_quantity(sub, f, a, true, &q))
				return -1;
			o->lim.cpu_request_milli = q;
		} else if (strcmp(f, "--pids") == 0) {
			if (cli_uint("runtime", "pids", a, 1, 0x7fffffff, &u))
				return -1;
			o->lim.pids_max = u;
		} else if (strcmp(f, "--log") == 0) {
			o->spec.log_path = a;
		} else if (strcmp(f, "--hostname") == 0) {
			if (strlen(a) > 64)
				return bad(sub, f, a, "at most 64 characters");
			o->spec.hostname = a;
		} else if (strcmp(f, "--cwd") == 0) {
			if (a[0] != '/')
				return bad(sub, f, a, "an absolute path");
			o->spec.cwd = a;
		} else if (strcmp(f, "--env") == 0) {
			if (!strchr(a, '=') || a[0] == '=')
				return bad(sub, f, a, "NAME=VALUE");
			if (o->n_env == MAX_LIST)
				return bad(sub, f, a, "at most 64 variables");
			o->env[o->n_env++] = (char *)a;
		} else if (strcmp(f, "--user") == 0) {
			char *colon = strchr(a, ':');
			unsigned uid, gid;

			if (colon)
				*colon = '\0';
			if (parse_id(sub, f, a, &uid) ||
			    (colon && parse_id(sub, f, colon + 1, &gid)))
				return -1;
			o->spec.uid = uid;
			if (colon)
				o->spec.gid = gid;
		} else if (strcmp(f, "--group") == 0) {
			if (parse_id(sub, f, a, &u))
				return -1;
			if (o->spec.n_groups == MAX_LIST)
				return bad(sub, f, a, "at most 64 groups");
			o->groups[o->spec.n_groups++] = u;
		} else if (strcmp(f, "--bind") == 0) {
			struct rt_mount *m = &o->mounts[o->spec.n_mounts];
			char *s = strdup(a), *dst, *opt;

			if (!s || o->spec.n_mounts == MAX_LIST)
				return bad(sub, f, a, "at most 64 mounts");
			dst = strchr(s, ':');
			opt = dst ? strchr(dst + 1, ':') : NULL;
			if (dst)
				*dst++ = '\0';
			if (opt)
				*opt++ = '\0';
			if (!dst || !*s || dst[0] != '/' || (opt && strcmp(opt, "ro") != 0)) {
				free(s);
				return bad(sub, f, a, "SRC:/DST or SRC:/DST:ro");
			}
			*m = (struct rt_mount){s, dst, opt != NULL};
			o->spec.n_mounts++;
		} else if (strcmp(f, "--grace") == 0) {
			if (cli_uint("runtime", "grace", a, 0, 3600, &o->grace_s))
				return -1;
		} else if (strcmp(f, "--pid-file") == 0) {
			o->pid_file = a;
		} else if (strcmp(f, "--pid") == 0) {
			if (cli_uint("runtime", "pid", a, 1, 0x7fffffff, &u))
				return -1;
			o->target = (pid_t)u;
		} else if (strcmp(f, "-n") == 0) {
			if (cli_uint("runtime", "n", a, 1, 100000, &o->runs))
				return -1;
		} else {
			fprintf(stderr, "drover runtime %s: unknown flag %s\n", sub, f);
			return -1;
		}
	}
	fprintf(stderr, "drover runtime %s: missing -- ARGV...\n", sub);
	return -1;
}

static void free_opts(struct rt_opts *o)
{
	for (size_t i = 0; i < o->spec.n_mounts; i++)
		free((char *)o->mounts[i].src);
}

static struct cg *make_cgroup(const struct rt_opts *o, const struct cg_layout *l, const char *name,
			      bool create)
{
	char rel[4096];
	struct cg *cg;

	snprintf(rel, sizeof(rel), "%s/%s", o->cgroup_parent, name);
	cg = create ? cg_create(l, rel) : cg_open(l, rel);
	if (!cg)
		fprintf(stderr, "drover runtime: cgroup %s: %s\n", rel, strerror(errno));
	return cg;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static void say_status(int status)
{
	if (WIFSIGNALED(status))
		fprintf(stderr, "drover runtime: killed by signal %d\n", WTERMSIG(status));
	else
		fprintf(stderr, "drover runtime: exited with %d\n", exit_code(status));
}

static int run(struct rt_opts *o, char **argv)
{
	struct cg_layout *l = NULL;
	struct cg *cg = NULL;
	struct rt_proc p;
	char name[64];
	int status = 0, err, rc = 1;

	spec_arrays(o, argv);
	if (!o->spec.rootfs) {
		fprintf(stderr, "drover runtime run: --rootfs is required\n");
		return 2;
	}
	if (o->spec.n_lowers && (!o->spec.upper || !o->spec.work)) {
		fprintf(stderr, "drover runtime run: --lower needs --upper and --work\n");
		return 2;
	}
	l = cg_layout_detect(o->mountinfo, o->cgroup_root);
	if (!l) {
		fprintf(stderr, "drover runtime: cgroup layout: %s\n", strerror(errno));
		return 1;
	}
	snprintf(name, sizeof(name), "ctr-%d", (int)getpid());
	cg = make_cgroup(o, l, o->name ? o->name : name, true);
	if (!cg)
		goto out;
	err = cg_set_limits(cg, &o->lim);
	if (err) {
		fprintf(stderr, "drover runtime: limits: %s\n", strerror(-err));
		goto out;
	}
	cli_catch_stop();
	o->spec.cg = cg;
	err = rt_start(&o->spec, &p);
	if (err) {
		fprintf(stderr, "drover runtime: start: %s\n", strerror(-err));
		goto out;
	}
	if (o->pid_file) {
		FILE *f = fopen(o->pid_file, "we");

		if (f) {
			fprintf(f, "%d\n", (int)p.pid);
			fclose(f);
		}
	}
	for (;;) {
		err = rt_wait(&p, 200, &status);
		if (err != -ETIMEDOUT)
			break;
		if (cli_stopping()) {
			err = rt_stop(&p, cg, (int)o->grace_s * 1000, &status);
			break;
		}
	}
	rt_proc_release(&p);
	if (err) {
		fprintf(stderr, "drover runtime: wait: %s\n", strerror(-err));
		goto out;
	}
	say_status(status);
	rc = exit_code(status);
out:
	if (cg) {
		cg_kill(cg, 10000);
		cg_remove(cg, 10000);
	}
	cg_free(cg);
	cg_layout_free(l);
	return rc;
}

static int exec_in(struct rt_opts *o, char **argv)
{
	struct rt_exec_spec x = {0};
	struct cg_layout *l = NULL;
	struct cg *cg = NULL;
	pid_t pid;
	int status, err, rc = 1;

	if (!o->target) {
		fprintf(stderr, "drover runtime exec: --pid is required\n");
		return 2;
	}
	if (o->name) {
		l = cg_layout_detect(o->mountinfo, o->cgroup_root);
		if (!l || !(cg = make_cgroup(o, l, o->name, false)))
			goto out;
	}
	x.target = o->target;
	x.cg = cg;
	x.argv = argv;
	x.env = o->env;
	x.cwd = o->spec.cwd;
	x.uid = o->spec.uid;
	x.gid = o->spec.gid;
	x.stdin_fd = 0;
	x.stdout_fd = x.stderr_fd = -1;
	err = rt_exec(&x, &pid);
	if (err) {
		fprintf(stderr, "drover runtime exec: %s\n", strerror(-err));
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = exit_code(status);
out:
	cg_free(cg);
	cg_layout_free(l);
	return rc;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, unsigned n, double q)
{
	unsigned i = (unsigned)(q * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

/* Start-to-exec and start-to-exit-and-cleanup latency of n containers in a row, each in a
 * fresh cgroup with the given limits: printed, never judged. */
static int bench(struct rt_opts *o, char **argv)
{
	struct cg_layout *l = cg_layout_detect(o->mountinfo, o->cgroup_root);
	double *start = calloc(o->runs, sizeof(double)), *total = calloc(o->runs, sizeof(double));
	int rc = 1;

	spec_arrays(o, argv);
	if (!l || !start || !total || !o->spec.rootfs) {
		fprintf(stderr, "drover runtime bench: --rootfs and a cgroup layout are needed\n");
		goto out;
	}
	for (unsigned i = 0; i < o->runs; i++) {
		char name[64];
		struct timespec t0;
		struct rt_proc p;
		struct cg *cg;
		int status, err;

		snprintf(name, sizeof(name), "bench-%d-%u", (int)getpid(), i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		cg = make_cgroup(o, l, name, true);
		if (!cg)
			goto out;
		err = cg_set_limits(cg, &o->lim);
		o->spec.cg = cg;
		if (!err)
			err = rt_start(&o->spec, &p);
		if (err) {
			fprintf(stderr, "drover runtime bench: %s\n", strerror(-err));
			cg_remove(cg, 1000);
			cg_free(cg);
			goto out;
		}
		start[i] = ms_since(&t0);
		rt_wait(&p, -1, &status);
		rt_proc_release(&p);
		cg_remove(cg, 10000);
		cg_free(cg);
		total[i] = ms_since(&t0);
	}
	qsort(start, o->runs, sizeof(double), cmp_double);
	qsort(total, o->runs, sizeof(double), cmp_double);
	printf("runs %u  start-to-exec p50 %.2f ms p99 %.2f ms  start-to-exit+cleanup p50 %.2f ms "
	       "p99 %.2f ms  (cgroups %s)\n",
	       o->runs, pct(start, o->runs, 0.5), pct(start, o->runs, 0.99),
	       pct(total, o->runs, 0.5), pct(total, o->runs, 0.99), cg_mode_name(l->mode));
	rc = 0;
out:
	free(start);
	free(total);
	cg_layout_free(l);
	return rc;
}

int cmd_runtime(int argc, char **argv)
{
	struct rt_opts o;
	int argi = 0, rc;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "exec") != 0 &&
	    strcmp(argv[1], "bench") != 0) {
		fprintf(stderr, "drover runtime: unknown subcommand %s (run, exec, bench)\n",
			argv[1]);
		return 2;
	}
	if (parse(argv[1], argc - 1, argv + 1, &o, &argi) != 0) {
		free_opts(&o);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0)
		rc = run(&o, argv + 1 + argi);
	else if (strcmp(argv[1], "exec") == 0)
		rc = exec_in(&o, argv + 1 + argi);
	else
		rc = bench(&o, argv + 1 + argi);
	free_opts(&o);
	return rc;
}
