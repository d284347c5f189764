/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_cidr: IPv4 parsing and the block allocator of sim_cidr.h: a bitmap of blocks with a
 * next-fit cursor (kube-controller-manager's CIDR set and host-local IPAM both resume after
 * the last address they gave, so a released range is the last to be reused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_cidr.h"

#define MAX_BLOCK_BITS 24

int sim_ip_parse(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned oct = 0, digits = 0;

		while (*s >= '0' && *s <= '9') {
			/* Go's net.ParseIP refuses leading zeros ("010") */
			if (digits == 1 && oct == 0)
				return -EINVAL;
			oct = oct * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || oct > 255)
				return -EINVAL;
		}
		if (!digits)
			return -EINVAL;
		v = v << 8 | oct;
		if (i < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*ip = v;
	return 0;
}

static uint32_t mask_of(unsigned prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

int sim_net_parse(const char *s, struct sim_net *n)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char addr[16], *end;
	unsigned long p;
	uint32_t ip;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	if (sim_ip_parse(addr, &ip) != 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2]))
		return -EINVAL;
	p = strtoul(slash + 1, &end, 10);
	if (*end || p > 32)
		return -EINVAL;
	n->prefix = (unsigned)p;
	n->addr = ip & mask_of(n->prefix);
	return 0;
}

const char *sim_ip_str(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
	return buf;
}

const char *sim_net_str(const struct sim_net *n, char *buf)
{
	char ip[16];

	snprintf(buf, 19, "%s/%u", sim_ip_str(n->addr, ip), n->prefix);
	return buf;
}

bool sim_net_contains(const struct sim_net *n, uint32_t ip)
{
	return (ip & mask_of(n->prefix)) == n->addr;
}

int sim_ranges_init(struct sim_ranges *r, const struct sim_net *net, unsigned block, unsigned first,
		    unsigned last)
{
	uint64_t count;

	memset(r, 0, sizeof(*r));
	if (block < 1 || block < net->prefix || block > 32 || block - net->prefix > MAX_BLOCK_BITS)
		return -EINVAL;
	count = 1ull << (block - net->prefix);
	if ((uint64_t)first + last >= count)
		return -EINVAL;
	r->bits = calloc((count + 63) / 64, sizeof(*r->bits));
	if (!r->bits)
		return -ENOMEM;
	r->net = *net;
	r->block = block;
	r->lo = first;
	r->hi = count - 1 - last;
	r->cursor = r->lo;
	return 0;
}

void sim_ranges_free(struct sim_ranges *r)
{
	free(r->bits);
	r->bits = NULL;
}

uint64_t sim_ranges_size(const struct sim_ranges *r)
{
	return r->bits ? r->hi - r->lo + 1 : 0;
}

uint64_t sim_ranges_free_count(const struct sim_ranges *r)
{
	return sim_ranges_size(r) - r->used;
}

/* The block index of addr, or -1 when addr is outside [lo, hi]. */
static int64_t index_of(const struct sim_ranges *r, uint32_t addr)
{
	uint64_t i;

	if (!r->bits || !sim_net_contains(&r->net, addr))
		return -1;
	i = (uint64_t)(addr - r->net.addr) >> (32 - r->block);
	return i < r->lo || i > r->hi ? -1 : (int64_t)i;
}

static bool bit(const struct sim_ranges *r, uint64_t i)
{
	return r->bits[i / 64] >> (i % 64) & 1;
}

bool sim_ranges_taken(const struct sim_ranges *r, uint32_t addr)
{
	int64_t i = index_of(r, addr);

	return i >= 0 && bit(r, (uint64_t)i);
}

int sim_ranges_take(struct sim_ranges *r, uint32_t addr)
{
	int64_t i = index_of(r, addr);

	if (i < 0)
		return -ERANGE;
	if (bit(r, (uint64_t)i))
		return -EEXIST;
	r->bits[i / 64] |= 1ull << (i % 64);
	r->used++;
	return 0;
}

int sim_ranges_alloc(struct sim_ranges *r, uint32_t *addr)
{
	uint64_t n = sim_ranges_size(r), i = r->cursor;

	if (r->used >= n)
		return -ENOSPC;
	for (uint64_t k = 0; k < n; k++, i++) {
		if (i > r->hi)
			i = r->lo;
		/* a full word is skipped at once */
		if (i % 64 == 0 && r->bits[i / 64] == ~0ull && i + 63 <= r->hi) {
			i += 63;
			k += 63;
			continue;
		}
		if (!bit(r, i)) {
			r->bits[i / 64] |= 1ull << (i % 64);
			r->used++;
			r->cursor = i + 1 > r->hi ? r->lo : i + 1;
			*addr = r->net.addr + (uint32_t)(i << (32 - r->block));
			return 0;
		}
	}
	return -ENOSPC;
}

void sim_ranges_release(struct sim_ranges *r, uint32_t addr)
{
	int64_t i = index_of(r, addr);

	if (i < 0 || !bit(r, (uint64_t)i))
		return;
	r->bits[i / 64] &= ~(1ull << (i % 64));
	r->used--;
}
