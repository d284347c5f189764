/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_mhd_epoll: the work-around of libmicrohttpd 0.9.75's epoll drain loop
 * (control/api/http/mhd_epoll.c). The library calls epoll_wait() again after a full batch of
 * 128 events with the same timeout, and serves the 128 only after that call returns: with
 * nothing more to come it blocked for the idle timeout. Here: 128 edge-triggered ready fds
 * fill one call; the next call, asked to block forever, must come back at once with nothing
 * (a watchdog thread makes a blocked call return an event of its own after 30 s, so a
 * regression fails instead of hanging); the call after that is an ordinary one again (it
 * waits for and returns the watchdog's event, released now). And the library's calls do
 * come to the work-around in a test binary. And a stopped server leaves no descriptor open:
 * it once quiesced the daemon first, which races the pool's threads in 0.9.75 (an abort,
 * "Failed to remove listen FD from epoll set") and leaves the listen socket open.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api_http.h"
#include "helpers.h"

#define MHD_MAX_EVENTS 128

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool released;

/* Signal the fd after 30 s, or as soon as released. */
static void *watchdog(void *arg)
{
	struct timespec until;
	uint64_t one = 1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&mu);
	while (!released && pthread_cond_timedwait(&cond, &mu, &until) == 0)
		;
	pthread_mutex_unlock(&mu);
	if (write(*(int *)arg, &one, sizeof(one)) < 0)
		return NULL;
	return NULL;
}

static void release(void)
{
	pthread_mutex_lock(&mu);
	released = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
}

static void test_no_block_after_full_batch(void **state)
{
	struct epoll_event evs[MHD_MAX_EVENTS];
	int ep = epoll_create1(EPOLL_CLOEXEC), fds[MHD_MAX_EVENTS], dog;
	pthread_t th;

	(void)state;
	assert_true(ep >= 0);
	for (int i = 0; i < MHD_MAX_EVENTS; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = (uint32_t)i};
		uint64_t one = 1;

		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(fds[i] >= 0);
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev), 0);
		assert_int_equal(write(fds[i], &one, sizeof(one)), sizeof(one));
	}
	dog = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(
	    epoll_ctl(ep, EPOLL_CTL_ADD, dog,
		      &(struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u32 = 999}),
	    0);
	/* MHD_epoll's loop: a full batch, then the same call again */
	assert_int_equal(epoll_wait(ep, evs, MHD_MAX_EVENTS, -1), MHD_MAX_EVENTS);
	assert_int_equal(pthread_create(&th, NULL, watchdog, &dog), 0);
	assert_int_equal(epoll_wait(ep, evs, MHD_MAX_EVENTS, -1), 0);
	/* not after a full batch any more: an ordinary call again */
	release();
	assert_int_equal(epoll_wait(ep, evs, MHD_MAX_EVENTS, -1), 1);
	assert_int_equal(evs[0].data.u32, 999);
	pthread_join(th, NULL);
	for (int i = 0; i < MHD_MAX_EVENTS; i++)
		close(fds[i]);
	close(dog);
	close(ep);
}

static void test_library_calls_come_here(void **state)
{
	(void)state;
	assert_true(api_mhd_epoll_check());
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

static void test_stop_closes_everything(void **state)
{
	struct api_config cfg = {0};
	struct tsrv t;
	int before;

	(void)state;
	/* one start first: what the process keeps for good (curl, the log) is open by then */
	tsrv_start_cfg(&t, &cfg);
	tsrv_stop(&t);
	before = open_fds();
	for (int i = 0; i < 5; i++) {
		tsrv_start_cfg(&t, &cfg);
		tsrv_stop(&t);
	}
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_library_calls_come_here),
	    cmocka_unit_test(test_no_block_after_full_batch),
	    cmocka_unit_test(test_stop_closes_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
