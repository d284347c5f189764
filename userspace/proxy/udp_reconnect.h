/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udp_reconnect: moves connected UDP sockets off a removed backend by connecting them to their
 * service again, from the proxy (dataplane.c calls it before it destroys what is left).
 */
#ifndef DROVER_PROXY_UDP_RECONNECT_H
#define DROVER_PROXY_UDP_RECONNECT_H

struct sockdestroy_bpf;

struct udp_reconnect_stats {
	long reconnected; /* sockets now connected to a live backend of their service */
	long failed;	  /* sockets found in a process but not re-connected (left to destroy) */
	int last_err;	  /* the last failure's -errno, for the log */
};

/* Walk every process's open files with sd's drv_udp_holders iterator (drv_destroy_tgt filled
 * with the removed backends) and connect each UDP socket it lists, once, to the frontend it
 * asked for: the socket's own cgroup/connect4 picks a live backend, the source port stays.
 * Returns 0 or -errno when the walk itself failed (then nothing was re-connected). */
int udp_reconnect_sockets(struct sockdestroy_bpf *sd, struct udp_reconnect_stats *st);

#endif
