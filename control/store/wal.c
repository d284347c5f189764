/* SPDX-License-Identifier: Apache-2.0 */
/* wal: record encoding/decoding and snapshot files (format in wal.h). */
#include "wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);

	/* zlib's crc32 takes uInt lengths: feed it in pieces. */
	while (n) {
		uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;

		c = crc32(c, p, chunk);
		p += chunk;
		n -= chunk;
	}
	return (uint32_t)c;
}

static void srec_free(struct store_ref *ref)
{
	free((struct srec *)ref);
}

static struct srec *srec_alloc(size_t enc_len)
{
	struct srec *r = malloc(sizeof(*r) + enc_len);

	if (!r)
		return NULL;
	sref_init(&r->ref, srec_free);
	r->enc_len = (uint32_t)enc_len;
	return r;
}

struct srec *srec_new(enum srec_type type, uint64_t rev, uint64_t create_rev, const void *key,
		      size_t key_len, const void *value, size_t value_len)
{
	size_t len = WAL_FIXED + key_len + value_len;
	struct srec *r = srec_alloc(WAL_HDR + len);
	uint8_t *p;

	if (!r)
		return NULL;
	r->rev = rev;
	r->create_rev = create_rev;
	r->key_len = (uint32_t)key_len;
	r->value_len = (uint32_t)value_len;
	r->type = (uint8_t)type;
	p = r->enc;
	put32(p, (uint32_t)len);
	put64(p + 8, rev);
	put64(p + 16, create_rev);
	put32(p + 24, (uint32_t)key_len);
	p[28] = (uint8_t)type;
	p[29] = p[30] = p[31] = 0;
	memcpy(p + WAL_OVERHEAD, key, key_len);
	if (value_len)
		memcpy(p + WAL_OVERHEAD + key_len, value, value_len);
	put32(p + 4, crc(p + WAL_HDR, len));
	return r;
}

void wal_encode_compact(uint8_t out[WAL_OVERHEAD], uint64_t rev, uint64_t compact_rev)
{
	memset(out, 0, WAL_OVERHEAD);
	put32(out, WAL_FIXED);
	put64(out + 8, rev);
	put64(out + 16, compact_rev);
	out[28] = SREC_COMPACT;
	put32(out + 4, crc(out + WAL_HDR, WAL_FIXED));
}

int64_t wal_decode(const uint8_t *buf, size_t avail, struct srec **out)
{
	uint32_t len, key_len;
	uint64_t rev, create_rev;
	struct srec *r;
	uint8_t type;

	if (out)
		*out = NULL;
	if (avail == 0)
		return 0;
	if (avail < WAL_HDR)
		return -EBADMSG;
	len = get32(buf);
	if (len < WAL_FIXED || len > WAL_MAX_REC - WAL_HDR || len > avail - WAL_HDR)
		return -EBADMSG;
	if (crc(buf + WAL_HDR, len) != get32(buf + 4))
		return -EBADMSG;
	rev = get64(buf + 8);
	create_rev = get64(buf + 16);
	key_len = get32(buf + 24);
	type = buf[28];
	if (buf[29] || buf[30] || buf[31])
		return -EBADMSG;
	if (type != SREC_PUT && type != SREC_DEL && type != SREC_COMPACT)
		return -EBADMSG;
	if (type == SREC_COMPACT
		? key_len != 0 || len != WAL_FIXED
		: key_len == 0 || key_len > STORE_MAX_KEY || key_len > len - WAL_FIXED)
		return -EBADMSG;
	if (len - WAL_FIXED - key_len > STORE_MAX_VALUE)
		return -EBADMSG;
	if (type == SREC_DEL && len - WAL_FIXED != key_len)
		return -EBADMSG;
	if (rev == 0 || create_rev == 0 || create_rev > rev)
		return -EBADMSG;
	if (out) {
		r = srec_alloc(WAL_HDR + len);
		if (!r)
			return -ENOMEM;
		memcpy(r->enc, buf, WAL_HDR + len);
		r->rev = rev;
		r->create_rev = create_rev;
		r->key_len = key_len;
		r->value_len = len - WAL_FIXED - key_len;
		r->type = type;
		*out = r;
	}
	return (int64_t)(WAL_HDR + len);
}

void srec_to_kv(struct srec *r, struct store_kv *kv)
{
	sref_get(&r->ref);
	kv->key = srec_key(r);
	kv->key_len = r->key_len;
	kv->value = srec_value(r);
	kv->value_len = r->type == SREC_PUT ? r->value_len : 0;
	kv->create_rev = r->create_rev;
	kv->mod_rev = r->rev;
	kv->_ref = &r->ref;
}

int io_read_all(struct store_io *io, const char *name, uint8_t **buf_out, size_t *len_out)
{
	uint64_t size;
	uint8_t *buf;
	int64_t n;
	int fd, err;

	fd = io->ops->open(io, name, STORE_IO_RDONLY);
	if (fd < 0)
		return fd;
	err = io->ops->size(io, fd, &size);
	if (err)
		goto out;
	if (size > SIZE_MAX / 2) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	n = io->ops->pread(io, fd, buf, size, 0);
	if (n < 0) {
		free(buf);
		err = (int)n;
		goto out;
	}
	*buf_out = buf;
	*len_out = (size_t)n;
out:
	io->ops->close(io, fd);
	return err;
}

/* ---- snapshots ---- */

struct snap_out {
	struct store_io *io;
	int fd;
	uint64_t off;
	z_stream z;
	uint8_t chunk[1 << 16];
};

static int snap_deflate(struct snap_out *o, const uint8_t *p, size_t n, int flush)
{
	int zret, err;

	o->z.next_in = (Bytef *)p;
	o->z.avail_in = (uInt)n;
	do {
		o->z.next_out = o->chunk;
		o->z.avail_out = sizeof(o->chunk);
		zret = deflate(&o->z, flush);
		if (zret == Z_STREAM_ERROR)
			return -EIO;
		size_t have = sizeof(o->chunk) - o->z.avail_out;
		if (have) {
			err = o->io->ops->pwrite(o->io, o->fd, o->chunk, have, o->off);
			if (err)
				return err;
			o->off += have;
		}
	} while (o->z.avail_out == 0 || (flush == Z_FINISH && zret != Z_STREAM_END));
	return 0;
}

int snap_write(struct store_io *io, const char *name, const struct snap_info *info,
	       struct srec *const *recs, size_t n, int level)
{
	char tmp[300];
	uint8_t hdr[SNAP_HDR_LEN];
	uint64_t raw_len = 0;
	uLong raw_crc = crc32(0L, Z_NULL, 0);
	struct snap_out *o;
	int err;

	if (strlen(name) + 5 > sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	for (size_t i = 0; i < n; i++) {
		raw_len += recs[i]->enc_len;
		raw_crc = crc32(raw_crc, recs[i]->enc, recs[i]->enc_len);
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->io = io;
	if (deflateInit(&o->z, level) != Z_OK) {
		free(o);
		return -ENOMEM;
	}
	o->fd = io->ops->open(io, tmp, STORE_IO_RDWR | STORE_IO_CREATE);
	if (o->fd < 0) {
		err = o->fd;
		goto out_z;
	}
	err = io->ops->truncate(io, o->fd, 0);
	if (err)
		goto out_fd;
	memcpy(hdr, "DRVSNAP1", 8);
	put64(hdr + 8, info->rev);
	put64(hdr + 16, info->compact_rev);
	put64(hdr + 24, n);
	put64(hdr + 32, raw_len);
	put32(hdr + 40, (uint32_t)raw_crc);
	put32(hdr + 44, crc(hdr, 44));
	err = io->ops->pwrite(io, o->fd, hdr, sizeof(hdr), 0);
	if (err)
		goto out_fd;
	o->off = sizeof(hdr);
	for (size_t i = 0; i < n && !err; i++)
		err = snap_deflate(o, recs[i]->enc, recs[i]->enc_len, Z_NO_FLUSH);
	if (!err)
		err = snap_deflate(o, NULL, 0, Z_FINISH);
	if (!err)
		err = io->ops->sync(io, o->fd);
out_fd:
	io->ops->close(io, o->fd);
	if (!err)
		err = io->ops->rename(io, tmp, name);
	if (!err)
		err = io->ops->sync_dir(io);
	else
		io->ops->unlink(io, tmp);
out_z:
	deflateEnd(&o->z);
	free(o);
	return err;
}

int snap_read(struct store_io *io, const char *name, struct snap_info *info,
	      int (*add)(void *ctx, struct srec *rec), void *ctx)
{
	uint8_t *file = NULL, *raw = NULL;
	uint64_t raw_len, count, off = 0, seen = 0;
	size_t len;
	z_stream z;
	int err, zret;

	err = io_read_all(io, name, &file, &len);
	if (err)
		return err;
	err = -EBADMSG;
	if (len < SNAP_HDR_LEN || memcmp(file, "DRVSNAP1", 8) || crc(file, 44) != get32(file + 44))
		goto out;
	info->rev = get64(file + 8);
	info->compact_rev = get64(file + 16);
	count = get64(file + 24);
	raw_len = get64(file + 32);
	/* zlib expands at most ~1032:1; anything claiming more is corrupt. */
	if (info->compact_rev > info->rev || raw_len > (uint64_t)(len - SNAP_HDR_LEN) * 1032 ||
	    raw_len > UINT32_MAX || len - SNAP_HDR_LEN > UINT32_MAX ||
	    count > raw_len / WAL_OVERHEAD)
		goto out;
	raw = malloc(raw_len ? raw_len : 1);
	if (!raw) {
		err = -ENOMEM;
		goto out;
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		err = -ENOMEM;
		goto out;
	}
	z.next_in = file + SNAP_HDR_LEN;
	z.avail_in = (uInt)(len - SNAP_HDR_LEN);
	z.next_out = raw;
	z.avail_out = (uInt)raw_len;
	zret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (zret != Z_STREAM_END || z.total_out != raw_len || z.avail_in != 0)
		goto out;
	if (crc(raw, raw_len) != get32(file + 40))
		goto out;
	while (off < raw_len) {
		struct srec *r;
		int64_t n = wal_decode(raw + off, raw_len - off, &r);

		if (n <= 0) {
			err = n == -ENOMEM ? -ENOMEM : -EBADMSG;
			goto out;
		}
		if (r->rev > info->rev || r->type == SREC_COMPACT) {
			sref_put(&r->ref);
			goto out;
		}
		err = add(ctx, r);
		if (err)
			goto out;
		err = -EBADMSG;
		off += (uint64_t)n;
		seen++;
	}
	if (seen == count)
		err = 0;
out:
	free(raw);
	free(file);
	return err;
}
