/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_watch: watch streams. A watch is a chunked response whose content reader writes the
 * events of a registry watch (filtered by namespace and selectors by the registry's watch
 * hub; JSON lines shared by every watch that gets them, or one-row Tables) as many whole
 * events per chunk as fit; when nothing is pending the reader suspends its connection, and
 * the watch thread resumes it when the registry watch has events, a bookmark or the timeout
 * is due, the client hung up, or the server stops. Initial ADDED events come from a list
 * taken at the revision the watch then starts from.
 */
#ifndef DROVER_API_WATCH_H
#define DROVER_API_WATCH_H

#include <stdint.h>
#include <sys/types.h>

#include "api_http.h"

struct api_selector;

struct api_watch_opts {
	const struct api_resource *res; /* as requested (the registry converts) */
	const char *ns;			/* NULL: every namespace (or cluster scope) */
	struct api_selector *sel;	/* taken over by the watch (NULL: everything) */
	const char *rv;			/* resourceVersion argument ("" / NULL / "0" / "N") */
	bool table;			/* events carry one-row Tables */
	int include;			/* enum api_include_object */
	bool bookmarks;			/* allowWatchBookmarks */
	long timeout_s;			/* timeoutSeconds, 0 = the server's default */
};

int api_watchers_start(struct api_server *s);
/* End every watch and resume its connection (before the daemon stops). */
void api_watchers_stop(struct api_server *s);
void api_watchers_free(struct api_server *s);

/* Start a watch for r: on success r->state is REQ_STREAM with the watch as its stream; on
 * failure the response is set (an error). */
void api_watch_start(struct api_req *r, const struct api_watch_opts *o);
/* libmicrohttpd's content reader of a watch response. */
ssize_t api_watch_read(void *cls, uint64_t pos, char *buf, size_t max);
/* Called when the request completes (the connection is gone or the stream ended). */
void api_watch_free(struct api_watch *w);

#endif
