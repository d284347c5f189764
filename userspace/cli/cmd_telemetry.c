/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_telemetry: `drover telemetry metrics --pin-root DIR` prints the node's telemetry as
 * Prometheus text once; `drover telemetry serve --pin-root DIR [--listen ADDR:PORT]` serves
 * /metrics and /flows over plain HTTP until SIGINT/SIGTERM: the exporter of a node that runs
 * `drover proxy` without an agent (the agent serves both on its kubelet port itself).
 */
#ifdef HAVE_DROVER_TELEMETRY
#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "tl_flows.h"

#define LISTEN_DEFAULT "127.0.0.1:9965"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: drover telemetry metrics|serve [options]\n"
		"  metrics               print the telemetry maps as Prometheus text\n"
		"  serve                 serve /metrics and /flows (?follow=true) over HTTP\n"
		"  --pin-root DIR        the dataplane's pins (default /sys/fs/bpf/drover)\n"
		"  --listen ADDR:PORT    serve's address (default " LISTEN_DEFAULT ")\n"
		"  --ring-events N       flow events kept for /flows (default %d)\n"
		"  --log-level LEVEL     error, warn, info (default) or debug\n",
		TL_RING_EVENTS_DEFAULT);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct tl_exporter *e = cls;
	const char *follow = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "follow");
	static const char nf[] = "404 page not found\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)version, (void)upload;
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	*upload_size = 0;
	if (strcmp(method, "GET") == 0 && strcmp(url, "/metrics") == 0)
		return tl_http_metrics(e, conn);
	if (strcmp(method, "GET") == 0 && strcmp(url, "/flows") == 0)
		return tl_http_flows(e, conn,
				     follow && (!strcmp(follow, "true") || !strcmp(follow, "1")));
	resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, 404, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int serve(struct tl_exporter *e, const char *listen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(listen, ':');
	struct MHD_Daemon *d;
	char host[64];
	unsigned port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host) ||
	    cli_uint("telemetry", "--listen", colon + 1, 1, 65535, &port))
		return 2;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "drover telemetry: --listen %s: not an IPv4 address:port\n",
			listen);
		return 2;
	}
	sa.sin_port = htons((uint16_t)port);
	d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, e, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_EXTERNAL_LOGGER, log_debug_cb, (void *)"telemetry-http", MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "drover telemetry: cannot listen on %s\n", listen);
		return 1;
	}
	log_info("telemetry", "serving /metrics and /flows on http://%s", listen);
	cli_wait_stop();
	tl_exporter_shutdown(e);
	MHD_stop_daemon(d);
	return 0;
}

int cmd_telemetry(int argc, char **argv)
{
	static const struct option opts[] = {{"pin-root", required_argument, NULL, 'p'},
					     {"listen", required_argument, NULL, 'l'},
					     {"ring-events", required_argument, NULL, 'r'},
					     {"log-level", required_argument, NULL, 'L'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *pin_root = "/sys/fs/bpf/drover", *listen = LISTEN_DEFAULT, *what;
	unsigned ring = TL_RING_EVENTS_DEFAULT;
	struct tl_exporter *e;
	int c, rc = 0;

	if (argc < 2 || (strcmp(argv[1], "metrics") && strcmp(argv[1], "serve"))) {
		usage(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	what = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_root = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'r':
			if (cli_uint("telemetry", "--ring-events", optarg, 1, 1u << 24, &ring))
				return 2;
			break;
		case 'L':
			if (cli_log_level("telemetry", optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "drover telemetry: unexpected argument '%s'\n", argv[optind + 1]);
		return 2;
	}
	e = tl_exporter_new(&(struct tl_exporter_config){
	    .pin_root = strcmp(what, "serve") == 0 ? pin_root : NULL, .ring_events = ring});
	if (!e) {
		perror("drover telemetry");
		return 1;
	}
	if (strcmp(what, "metrics") == 0) {
		struct tl_maps m;
		struct k8s_buf b = {0};

		tl_maps_init(&m);
		if (!tl_maps_open(&m, pin_root))
			fprintf(stderr, "drover telemetry: no map pinned under %s\n", pin_root);
		rc = tl_metrics_write(&m, NULL, NULL, &b);
		if (!rc)
			fwrite(b.p, 1, b.len, stdout);
		k8s_buf_free(&b);
		tl_maps_close(&m);
		rc = rc ? 1 : 0;
	} else {
		cli_catch_stop();
		rc = serve(e, listen);
	}
	tl_exporter_free(e);
	return rc;
}
#endif
