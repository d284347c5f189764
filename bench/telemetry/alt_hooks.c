/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alt_hooks OBJ [RINGBUF]: load and attach alt_hooks.bpf.o's programs (those the kernel takes;
 * the others are reported on stdout as "unavailable NAME: reason"), print "ready", hold them
 * until stdin closes. hooks.sh reads their run time with bpftool while its load runs. With
 * RINGBUF (a pinned ring buffer: telemetry's drv_tlev1), its events are consumed meanwhile,
 * as the agent would, so that the producers' figures include a successful reserve.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static int count_event(void *ctx, void *data, size_t len)
{
	(void)data;
	(void)len;
	(*(long *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[8] = {0};
	struct bpf_program *p, *q;
	int n = 0, nprogs = 0;
	char c;

	struct ring_buffer *rb = NULL;
	long events = 0;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: alt_hooks OBJ [RINGBUF]\n");
		return 2;
	}
	libbpf_set_print(quiet);
	/* one program at a time: a kernel that refuses one (fentry without trampolines) keeps
	 * the others */
	{
		struct bpf_object *probe = bpf_object__open_file(argv[1], NULL);

		if (!probe)
			return 1;
		bpf_object__for_each_program(p, probe) nprogs++;
		bpf_object__close(probe);
	}
	for (int i = 0; i < nprogs; i++) {
		struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
		int k = 0, err;

		if (!o)
			return 1;
		bpf_object__for_each_program(q, o)
		{
			bpf_program__set_autoload(q, k == i);
			if (k++ == i)
				p = q;
		}
		err = bpf_object__load(o);
		if (!err && !(links[n] = bpf_program__attach(p)))
			err = -errno;
		if (err) {
			printf("unavailable %s: %s\n", bpf_program__name(p), strerror(-err));
			bpf_object__close(o);
			continue;
		}
		n++; /* the object stays open: its program lives while attached */
	}
	if (argc == 3) {
		int fd = bpf_obj_get(argv[2]);

		rb = fd >= 0 ? ring_buffer__new(fd, count_event, &events, NULL) : NULL;
		if (!rb)
			printf("unavailable ring buffer %s: %s\n", argv[2], strerror(errno));
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd in = {.fd = 0, .events = POLLIN};

		if (rb)
			ring_buffer__poll(rb, 50);
		if (poll(&in, 1, rb ? 0 : -1) > 0 && read(0, &c, 1) <= 0)
			break;
	}
	ring_buffer__free(rb);
	printf("events %ld\n", events);
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	return 0;
}
