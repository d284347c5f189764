/* SPDX-License-Identifier: Apache-2.0 */
/* bench: shared by the store benchmark's driver (store_bench.c) and its etcd client. */
#ifndef DROVER_BENCH_STORE_H
#define DROVER_BENCH_STORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

size_t b64_encode(const uint8_t *in, size_t n, char *out);
size_t b64_decode(const char *in, size_t n, uint8_t *out, size_t max);

struct etcd_conn;
struct etcd_conn *etcd_conn_new(const char *endpoint);
void etcd_conn_free(struct etcd_conn *c);
int etcd_create(struct etcd_conn *c, const void *key, size_t klen, const void *val, size_t vlen);
int etcd_put(struct etcd_conn *c, const void *key, size_t klen, const void *val, size_t vlen);
int etcd_get(struct etcd_conn *c, const void *key, size_t klen);
int etcd_list(struct etcd_conn *c, const void *prefix, size_t plen, size_t limit, size_t *count);

#endif
