/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest_docs: a manifest file's bytes, read whole, and cut into pieces that parse one by
 * one exactly as the whole file parses (the manifests source decodes again only the pieces
 * whose bytes changed since the last reload).
 */
#ifndef DROVER_MANIFEST_DOCS_H
#define DROVER_MANIFEST_DOCS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes per manifest file. */
#define MDOC_MAX_FILE (256u << 20)

/*
 * The whole file at path, read up to its end, '\0'-terminated (*buf is malloc'd). A read()
 * that fails fails the file (a manifest cut short must never be applied without the objects
 * after the cut); so does a file that is not a regular one (a FIFO would block the proxy).
 * A directory is -EISDIR. *why: what went wrong, for the caller's one error line (or NULL:
 * strerror says it).
 */
int mdoc_read_file(const char *path, char **buf, size_t *len, const char **why);

/* A 64-bit hash of p[0, n). */
uint64_t mdoc_hash(const char *p, size_t n);

/* One piece: buf[off, off + len). */
struct mdoc {
	size_t off, len;
	uint64_t hash; /* of the piece's bytes */
};

/*
 * Cut a YAML stream before each line that starts a document ("---" at the line's start,
 * followed by a blank or the line's end: YAML forbids such a line inside any scalar or
 * collection, so the parser's state is reset there). The pieces parse alone as they parse in
 * the stream as long as no directive (a line starting with '%', which applies to the document
 * after it) is present; with one, and for JSON input (its first character '{' or '['), the
 * whole input is one piece. *out is malloc'd (*n >= 1, also for empty input). 0 or -ENOMEM.
 */
int mdoc_split(const char *buf, size_t len, struct mdoc **out, size_t *n);

#endif
