/* SPDX-License-Identifier: MIT */
/*
 * Peer id records (include/shmlink_ivshmem_record.h). Freestanding: no
 * libc, no 64-bit division (the 32-bit baremetal guest links no libgcc).
 */
#include "shmlink_ivshmem_record.h"

enum {
	REC_MAGIC = 0,
	REC_HASH_LO = 4,
	REC_HASH_HI = 8,
	REC_DOMAIN = 12,
	REC_ID = 16,
	REC_CHECK = 20
};

static volatile uint32_t *word(const struct shml_region *r, uint64_t off, uint32_t field)
{
	return (volatile uint32_t *)(void *)(r->base + off + field);
}

/* The records are little-endian whatever the CPU. */
static uint32_t le32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static uint32_t get(const struct shml_region *r, uint64_t off, uint32_t field)
{
	return le32(__atomic_load_n(word(r, off, field), __ATOMIC_ACQUIRE));
}

static void put(const struct shml_region *r, uint64_t off, uint32_t field, uint32_t v)
{
	__atomic_store_n(word(r, off, field), le32(v), __ATOMIC_RELEASE);
}

uint64_t shml_ivshmem_record_offset(const struct shml_config *cfg, uint32_t d)
{
	uint64_t l = cfg->cacheline;
	/* The cache line is a power of two: round up with a mask, no division. */
	uint64_t base = (shml_layout_bytes(cfg) + l - 1) & ~(l - 1);
	base += (uint64_t)cfg->n_channels * l; /* the Xen port's records' room */
	if (d >= cfg->n_domains || base + (uint64_t)cfg->n_domains * l > cfg->region_size)
		return 0;
	return base + (uint64_t)d * l;
}

/* Our record's offset in @r, or 0 if it does not fit the mapping. */
static uint64_t record_at(const struct shml_region *r, uint32_t d)
{
	uint64_t off = shml_ivshmem_record_offset(r->cfg, d);
	return off && off + r->cfg->cacheline <= r->size ? off : 0;
}

int shml_ivshmem_publish(const struct shml_region *r, int32_t id)
{
	uint64_t off = record_at(r, r->self);
	uint32_t lo = (uint32_t)r->cfg_hash, hi = (uint32_t)(r->cfg_hash >> 32);
	if (id < 0 || id > (int32_t)SHML_IVSHMEM_MAX_ID)
		return SHML_EINVAL;
	if (!off)
		return SHML_ERANGE;
	if (shml_ivshmem_lookup(r, r->self) == id)
		return 0;
	put(r, off, REC_MAGIC, 0); /* readers ignore the record while we rewrite it */
	put(r, off, REC_HASH_LO, lo);
	put(r, off, REC_HASH_HI, hi);
	put(r, off, REC_DOMAIN, r->self);
	put(r, off, REC_ID, (uint32_t)id);
	put(r, off, REC_CHECK, ~(uint32_t)id);
	put(r, off, REC_MAGIC, SHML_IVSHMEM_REC_MAGIC);
	return 0;
}

int32_t shml_ivshmem_lookup(const struct shml_region *r, uint32_t d)
{
	uint64_t off = record_at(r, d);
	uint32_t id;
	/* Each word is read once; the checks below decide on those copies only. */
	if (!off || get(r, off, REC_MAGIC) != SHML_IVSHMEM_REC_MAGIC)
		return -1;
	if (get(r, off, REC_HASH_LO) != (uint32_t)r->cfg_hash ||
	    get(r, off, REC_HASH_HI) != (uint32_t)(r->cfg_hash >> 32) ||
	    get(r, off, REC_DOMAIN) != d)
		return -1;
	id = get(r, off, REC_ID);
	if (id > SHML_IVSHMEM_MAX_ID || get(r, off, REC_CHECK) != ~id)
		return -1;
	return (int32_t)id;
}

int32_t shml_ivshmem_peer_id(const struct shml_chan *ch, const int32_t *override)
{
	uint32_t d = shml_chan_peer_domain(ch);
	if (d >= SHML_MAX_DOMAINS)
		return -1;
	if (override && override[d] >= 0)
		return override[d];
	return shml_ivshmem_lookup(ch->region, d);
}
