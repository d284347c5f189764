/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_sim: `drover sim --nodes N | --name NAME [options]`: simulated nodes (userspace/sim)
 * against the server of a kubeconfig, until SIGINT or SIGTERM; logs how the nodes come up
 * and how many pods they ran. Fills nodeInfo from this host (kernel, OS image, arch).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "kubelet_objects.h"
#include "sim.h"

#define COMP "sim"

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One progress line when something moved (at most every 2 s), and one when every node is
 * registered: a person watching 5,000 nodes come up sees them come. */
static void progress(struct sim *sim, struct sim_stats *last, double *last_t, bool *announced)
{
	struct sim_stats st;
	double now = mono_s(), dt = now - *last_t;

	sim_stats(sim, &st);
	if (!*announced && st.register_s > 0) {
		*announced = true;
		log_info(COMP, "%u node%s registered in %.2f s (%.0f nodes/s)", st.nodes,
			 st.nodes == 1 ? "" : "s", st.register_s, st.nodes / st.register_s);
	}
	if (dt < 2.0)
		return;
	if (st.registered != last->registered || st.leases != last->leases ||
	    st.watching != last->watching || st.pods_running != last->pods_running ||
	    st.pods_succeeded != last->pods_succeeded || st.pods_deleted != last->pods_deleted ||
	    st.watch_ends != last->watch_ends || st.relists != last->relists)
		log_info(COMP,
			 "nodes: %u/%u registered, %u with a Lease, %u watching pods; pods: %llu "
			 "running (%.0f/s), %llu succeeded, %llu finalized; %llu status errors, "
			 "%llu Lease errors; pods watches: %llu ended, %llu too old, %llu lists",
			 st.registered, st.nodes, st.leases, st.watching,
			 (unsigned long long)st.pods_running,
			 (double)(st.pods_running - last->pods_running) / dt,
			 (unsigned long long)st.pods_succeeded, (unsigned long long)st.pods_deleted,
			 (unsigned long long)st.status_errors, (unsigned long long)st.lease_errors,
			 (unsigned long long)st.watch_ends, (unsigned long long)st.watch_gone,
			 (unsigned long long)st.relists);
	*last = st;
	*last_t = now;
}

int cmd_sim(int argc, char **argv)
{
	struct sim_config cfg;
	struct kc_config kcfg = {0};
	struct kclient *kc = NULL;
	struct sim *sim = NULL;
	struct sim_stats last = {0}, st;
	struct utsname u;
	char err[512], osimg[256], runtime[64];
	double last_t;
	bool announced = false;
	int rc;

	rc = sim_config_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc == SIM_HELP) {
		sim_usage(stdout);
		sim_config_free(&cfg);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "drover sim: %s\n", err);
		sim_config_free(&cfg);
		return 2;
	}
	log_set_level(cfg.log_level);
	if (uname(&u) == 0) {
		cfg.kernel_version = u.release;
		cfg.architecture = kubelet_goarch(u.machine);
	}
	kubelet_os_image(osimg, sizeof(osimg));
	if (osimg[0])
		cfg.os_image = osimg;
	snprintf(runtime, sizeof(runtime), "drover-sim://%s", DROVER_VERSION);
	cfg.runtime_version = runtime;

	rc = 1;
	if (kc_config_load(cfg.kubeconfig, &kcfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "drover sim: kubeconfig: %s\n", err);
		goto out;
	}
	kc = kclient_http_new(&kcfg);
	if (!kc) {
		fprintf(stderr, "drover sim: client for %s: %s\n", kcfg.server, strerror(errno));
		goto out;
	}
	/* the kubelet's name in managedFields and the user agent */
	kclient_set_field_manager(kc, "kubelet");
	cli_catch_stop();
	if (sim_start(kc, &cfg, &sim, err, sizeof(err)) != 0) {
		fprintf(stderr, "drover sim: %s\n", err);
		goto out;
	}
	log_info(COMP, "simulating %u node%s against %s", cfg.nodes, cfg.nodes == 1 ? "" : "s",
		 kcfg.server);
	last_t = mono_s();
	while (!cli_stopping()) {
		struct timespec ts = {.tv_nsec = 250 * 1000 * 1000};

		nanosleep(&ts, NULL); /* a signal cuts it short */
		progress(sim, &last, &last_t, &announced);
		sim_stats(sim, &st);
		if (st.failed) {
			fprintf(stderr, "drover sim: %s\n", st.fail_msg);
			break;
		}
	}
	rc = st.failed ? 1 : 0;
	log_info(COMP, "stopping: the Leases are no longer renewed%s",
		 cfg.delete_on_exit ? "; deleting the nodes" : "");
	sim_stop(sim, cfg.delete_on_exit);
	sim = NULL;
out:
	sim_stop(sim, false);
	kclient_free(kc);
	kc_config_free(&kcfg);
	sim_config_free(&cfg);
	return rc;
}
