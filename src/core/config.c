/* SPDX-License-Identifier: MIT */
/*
 * Static configuration: validation, canonical hash and layout.
 * Layout is a pure function of the configuration; nothing here reads
 * shared memory.
 */
#include "internal.h"

/* SHML_CONFIG_NO_STRINGS: the field, value and limit still say what is wrong. */
#ifdef SHML_CONFIG_NO_STRINGS
#define WHAT(sentence) ""
#else
#define WHAT(sentence) sentence
#endif

#ifndef SHML_CONFIG_PREVALIDATED
static uint32_t name_len(const char *s)
{
	uint32_t n = 0;
	if (!s)
		return 0;
	while (s[n] && n <= SHML_MAX_NAME)
		n++;
	return n;
}

static int names_equal(const char *a, const char *b)
{
	uint32_t i = 0;
	for (; a[i] && b[i]; i++)
		if (a[i] != b[i])
			return 0;
	return a[i] == b[i];
}
#endif

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1u));
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Largest payload a message ring of @size can carry: a record fills at most half the ring. */
static uint32_t max_payload_for_ring(uint32_t size)
{
	return size / 2u - SHML_RECORD_HEADER;
}

uint32_t shml_channel_max_message(const struct shml_config *cfg, uint32_t c)
{
	const struct shml_channel_cfg *ch = &cfg->channels[c];
	uint32_t cap = max_payload_for_ring(min32(ch->ring_ab, ch->ring_ba));
	if (ch->mode != SHML_MODE_MESSAGE)
		return 0;
	return ch->max_message ? ch->max_message : cap;
}

uint32_t shml_domain_slot_size(const struct shml_config *cfg)
{
	return cfg->cacheline;
}

uint32_t shml_side_block_size(const struct shml_config *cfg)
{
	return 2u * cfg->cacheline + align_up32(STAT_BYTES, cfg->cacheline);
}

static uint64_t channels_offset(const struct shml_config *cfg)
{
	return cfg->n_domains * shml_domain_slot_size(cfg); /* <= 64 * 128: no 64-bit multiply */
}

static uint64_t channel_bytes(const struct shml_config *cfg, const struct shml_channel_cfg *ch)
{
	return 2u * (uint64_t)shml_side_block_size(cfg) + ch->ring_ab + ch->ring_ba;
}

/* Offset of channel @c: the domain slots, then channels 0 .. @c - 1. */
static uint64_t channel_offset(const struct shml_config *cfg, uint32_t c)
{
	uint64_t off = channels_offset(cfg);
	for (uint32_t i = 0; i < c; i++)
		off += channel_bytes(cfg, &cfg->channels[i]);
	return off;
}

void shml_channel_layout(const struct shml_config *cfg, uint32_t c, struct shml_channel_layout *out)
{
	uint64_t off = channel_offset(cfg, c);
	uint32_t side = shml_side_block_size(cfg);
	out->offset = off;
	out->side_size = side;
	out->side_a = off;
	out->side_b = off + side;
	out->ring_ab = off + 2u * (uint64_t)side;
	out->ring_ba = out->ring_ab + cfg->channels[c].ring_ab;
	out->end = out->ring_ba + cfg->channels[c].ring_ba;
}

uint64_t shml_layout_bytes(const struct shml_config *cfg)
{
	return channel_offset(cfg, cfg->n_channels);
}

/* What is wrong with a ring size: 0 nothing, 1 not a power of two, 2 too small, 3 too large. */
static uint32_t ring_fault(uint32_t size, uint32_t cacheline)
{
	if (!is_pow2(size))
		return 1;
	if (size < cacheline || size < SHML_MIN_RING)
		return 2;
	return size > SHML_MAX_RING ? 3 : 0;
}

/*
 * The checks the core's memory safety rests on, for a config validated
 * before the build: every index, mask and offset the core derives from @cfg
 * stays inside the layout. Names and ids only matter to peers and tools.
 */
int shml__config_sane(const struct shml_config *cfg)
{
	if ((cfg->cacheline != 64 && cfg->cacheline != 128) || !cfg->domains || !cfg->channels ||
	    cfg->n_domains - 2u > SHML_MAX_DOMAINS - 2u ||
	    cfg->n_channels - 1u > SHML_MAX_CHANNELS - 1u)
		return SHML_ECONFIG;
	for (uint32_t c = 0; c < cfg->n_channels; c++) {
		const struct shml_channel_cfg *ch = &cfg->channels[c];
		uint32_t cap = max_payload_for_ring(min32(ch->ring_ab, ch->ring_ba));
		if (ch->a >= cfg->n_domains || ch->b >= cfg->n_domains || ch->a == ch->b ||
		    ring_fault(ch->ring_ab, cfg->cacheline) ||
		    ring_fault(ch->ring_ba, cfg->cacheline) ||
		    ch->max_message > (ch->mode == SHML_MODE_MESSAGE ? cap : 0) ||
		    (ch->mode != SHML_MODE_MESSAGE && ch->mode != SHML_MODE_STREAM))
			return SHML_ECONFIG;
	}
	return shml_layout_bytes(cfg) > cfg->region_size ? SHML_ECONFIG : 0;
}

#ifndef SHML_CONFIG_PREVALIDATED

static int fail(struct shml_config_error *err, int domain, int channel, const char *field,
                const char *what, uint64_t value, uint64_t limit)
{
	if (err) {
		err->code = SHML_ECONFIG;
		err->domain = domain;
		err->channel = channel;
		err->field = field;
		err->what = what;
		err->value = value;
		err->limit = limit;
	}
	return SHML_ECONFIG;
}

static int check_domains(const struct shml_config *cfg, struct shml_config_error *err)
{
	if (cfg->n_domains < 2 || cfg->n_domains > SHML_MAX_DOMAINS || !cfg->domains)
		return fail(err, -1, -1, "domains", WHAT("a region needs 2 to 64 domains"),
		            cfg->n_domains, SHML_MAX_DOMAINS);
	for (uint32_t i = 0; i < cfg->n_domains; i++) {
		const struct shml_domain_cfg *d = &cfg->domains[i];
		uint32_t n = name_len(d->name);
		if (n == 0 || n > SHML_MAX_NAME)
			return fail(err, (int)i, -1, "name",
			            WHAT("a domain name must be 1 to 31 bytes long"), n,
			            SHML_MAX_NAME);
		for (uint32_t j = 0; j < i; j++) {
			if (names_equal(cfg->domains[j].name, d->name))
				return fail(err, (int)i, -1, "name",
				            WHAT("two domains have the same name"), j, 0);
			if (cfg->domains[j].id == d->id)
				return fail(err, (int)i, -1, "id",
				            WHAT("two domains have the same id"), d->id, 0);
		}
	}
	return 0;
}

static int check_ring(struct shml_config_error *err, int c, const char *field, uint32_t size,
                      uint32_t cacheline)
{
	static const char *const what[] = {
		"", WHAT("a ring size must be a power of two"),
		WHAT("a ring must be at least 64 bytes and one cache line"),
		WHAT("a ring must be at most 1 GiB")
	};
	const uint32_t limit[] = { 0, 0, cacheline > SHML_MIN_RING ? cacheline : SHML_MIN_RING,
		                   SHML_MAX_RING };
	uint32_t f = ring_fault(size, cacheline);
	return f ? fail(err, -1, c, field, what[f], size, limit[f]) : 0;
}

static int check_channel(const struct shml_config *cfg, uint32_t c, struct shml_config_error *err)
{
	const struct shml_channel_cfg *ch = &cfg->channels[c];
	uint32_t n = name_len(ch->name);
	int rc;
	if (n == 0 || n > SHML_MAX_NAME)
		return fail(err, -1, (int)c, "name",
		            WHAT("a channel name must be 1 to 31 bytes long"), n, SHML_MAX_NAME);
	for (uint32_t j = 0; j < c; j++)
		if (names_equal(cfg->channels[j].name, ch->name))
			return fail(err, -1, (int)c, "name",
			            WHAT("two channels have the same name"), j, 0);
	if (ch->a >= cfg->n_domains)
		return fail(err, -1, (int)c, "a", WHAT("side a names no configured domain"), ch->a,
		            cfg->n_domains);
	if (ch->b >= cfg->n_domains)
		return fail(err, -1, (int)c, "b", WHAT("side b names no configured domain"), ch->b,
		            cfg->n_domains);
	if (ch->a == ch->b)
		return fail(err, -1, (int)c, "b", WHAT("a channel must join two different domains"),
		            ch->b, 0);
	if (ch->mode != SHML_MODE_MESSAGE && ch->mode != SHML_MODE_STREAM)
		return fail(err, -1, (int)c, "mode", WHAT("mode must be message or stream"),
		            ch->mode, 0);
	rc = check_ring(err, (int)c, "ring_ab", ch->ring_ab, cfg->cacheline);
	if (rc)
		return rc;
	rc = check_ring(err, (int)c, "ring_ba", ch->ring_ba, cfg->cacheline);
	if (rc)
		return rc;
	if (ch->mode == SHML_MODE_STREAM && ch->max_message)
		return fail(err, -1, (int)c, "max_message",
		            WHAT("max_message applies to message channels only"), ch->max_message,
		            0);
	if (ch->mode == SHML_MODE_MESSAGE) {
		uint32_t cap = max_payload_for_ring(min32(ch->ring_ab, ch->ring_ba));
		if (ch->max_message > cap)
			return fail(
			        err, -1, (int)c, "max_message",
			        WHAT("max_message must be at most half the smaller ring minus 8"),
			        ch->max_message, cap);
	}
	return 0;
}

int shml_config_check(const struct shml_config *cfg, struct shml_config_error *err)
{
	int rc;
	uint64_t need;
	if (err) {
		err->code = 0;
		err->domain = err->channel = -1;
		err->field = "";
		err->what = "";
		err->value = err->limit = 0;
	}
	if (!cfg)
		return fail(err, -1, -1, "", WHAT("no configuration"), 0, 0);
	if (cfg->cacheline != 64 && cfg->cacheline != 128)
		return fail(err, -1, -1, "cacheline", WHAT("cacheline must be 64 or 128"),
		            cfg->cacheline, 0);
	rc = check_domains(cfg, err);
	if (rc)
		return rc;
	if (cfg->n_channels < 1 || cfg->n_channels > SHML_MAX_CHANNELS || !cfg->channels)
		return fail(err, -1, -1, "channels", WHAT("a region needs 1 to 1024 channels"),
		            cfg->n_channels, SHML_MAX_CHANNELS);
	for (uint32_t c = 0; c < cfg->n_channels; c++) {
		rc = check_channel(cfg, c, err);
		if (rc)
			return rc;
	}
	need = shml_layout_bytes(cfg);
	if (need > cfg->region_size)
		return fail(err, -1, -1, "region_size",
		            WHAT("the region is too small for its channels"), cfg->region_size,
		            need);
	return 0;
}

/* ---- canonical hash: FNV-1a 64 over the encoding in docs/PROTOCOL.md ---- */

#define FNV64_OFFSET 0xcbf29ce484222325ull

/*
 * h * the FNV-1a 64 prime (2^40 + 0x1b3) mod 2^64 with 32x32->32 multiplies only:
 * Cortex-M0+ has no 64-bit multiply and the core must not call libgcc.
 */
static uint64_t fnv_mul(uint64_t h)
{
	uint32_t lo = (uint32_t)h, hi = (uint32_t)(h >> 32);
	uint64_t lo_prod = ((uint64_t)((lo >> 16) * 0x1b3u) << 16) + (lo & 0xffffu) * 0x1b3u;
	return lo_prod + ((uint64_t)(hi * 0x1b3u) << 32) + ((uint64_t)lo << 40);
}

static uint64_t fnv_bytes(uint64_t h, const void *p, uint32_t n)
{
	const uint8_t *b = p;
	for (uint32_t i = 0; i < n; i++)
		h = fnv_mul(h ^ b[i]);
	return h;
}

static uint64_t fnv_u32(uint64_t h, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return fnv_bytes(h, b, 4);
}

static uint64_t fnv_name(uint64_t h, const char *s)
{
	uint32_t n = name_len(s);
	return fnv_bytes(fnv_u32(h, n), s, n);
}

uint64_t shml_config_hash(const struct shml_config *cfg)
{
	uint64_t h = fnv_bytes(FNV64_OFFSET, "shmlink-config-v1", 17);
	h = fnv_u32(h, (uint32_t)cfg->region_size);
	h = fnv_u32(h, (uint32_t)(cfg->region_size >> 32));
	h = fnv_u32(h, cfg->cacheline);
	h = fnv_u32(h, cfg->n_domains);
	for (uint32_t i = 0; i < cfg->n_domains; i++) {
		h = fnv_name(h, cfg->domains[i].name);
		h = fnv_u32(h, cfg->domains[i].id);
	}
	h = fnv_u32(h, cfg->n_channels);
	for (uint32_t c = 0; c < cfg->n_channels; c++) {
		const struct shml_channel_cfg *ch = &cfg->channels[c];
		h = fnv_name(h, ch->name);
		h = fnv_u32(h, ch->a);
		h = fnv_u32(h, ch->b);
		h = fnv_u32(h, ch->mode);
		h = fnv_u32(h, ch->ring_ab);
		h = fnv_u32(h, ch->ring_ba);
		h = fnv_u32(h, shml_channel_max_message(cfg, c));
	}
	return h;
}

int shml_find_domain(const struct shml_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->n_domains; i++)
		if (names_equal(cfg->domains[i].name, name))
			return (int)i;
	return -1;
}

int shml_find_channel(const struct shml_config *cfg, const char *name)
{
	for (uint32_t i = 0; i < cfg->n_channels; i++)
		if (names_equal(cfg->channels[i].name, name))
			return (int)i;
	return -1;
}
#endif /* SHML_CONFIG_PREVALIDATED */
