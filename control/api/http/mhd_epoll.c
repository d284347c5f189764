/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mhd_epoll: a work-around for libmicrohttpd 0.9.75 (Debian 12's), whose epoll loop can hold
 * up to 128 ready connections unserved for a whole connection timeout.
 *
 * MHD_epoll() drains the kernel's ready list in batches of MAX_EVENTS (128): it calls
 * epoll_wait() again as long as the previous call filled the array, and only after the loop
 * serves the connections it found. The repeated call passes the same timeout as the first,
 * so when exactly 128 events were ready (or 128 and then nothing more), the thread blocks
 * in the second call with 128 connections marked ready and not yet served, until another
 * event comes for that thread or the timeout (the idle timeout, minutes) runs out. Seen as
 * 128 of 300 watch requests left unread in their sockets for 20-120 s (test_api_watch_hub
 * test_many_watchers, and CI).
 *
 * The fix, in the one place that can change it from outside the library: this process's
 * epoll_wait() (the executable's definition takes precedence over libc's for the library's
 * calls, as the linker exports a symbol a linked shared library refers to) does not block
 * in a call that directly follows a full batch on the same epoll fd in the same thread: it
 * polls (timeout 0). That is harmless for any caller (a caller that asked to block gets an
 * early empty answer once, right after a full batch, and blocks on its next call) and is
 * exactly what MHD's drain loop needs. api_mhd_epoll_check() says whether the library's
 * calls come here.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <sys/epoll.h>

#include "api_http.h"

/* The epoll fd whose last epoll_wait() in this thread filled the caller's array, or -1. */
static __thread int full_fd = -1;

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	int n;

	if (epfd == full_fd)
		timeout = 0;
	n = epoll_pwait(epfd, events, maxevents, timeout, NULL);
	full_fd = n > 0 && n == maxevents ? epfd : -1;
	return n;
}

bool api_mhd_epoll_check(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "epoll_wait");

	return sym == (void *)epoll_wait;
}
