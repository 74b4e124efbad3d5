/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem peer id records (include/shmlink_ivshmem_record.h): published
 * ids are found, every kind of bad record is refused without reading outside
 * the region, rewriting works, and the records never overlap the Xen port's
 * fallback records nor the layout.
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmlink.h"
#include "shmlink_ivshmem_record.h"
#include "shmlink_xen.h"
#include "testutil.h"

static const struct shml_domain_cfg domains[3] = { { .name = "a", .id = 1 },
	                                           { .name = "b", .id = 2 },
	                                           { .name = "c", .id = 3 } };
static const struct shml_channel_cfg channels[2] = {
	{ .name = "x",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 4096,
	  .ring_ba = 4096 },
	{ .name = "y", .a = 2, .b = 1, .mode = SHML_MODE_STREAM, .ring_ab = 4096, .ring_ba = 4096 },
};

/* Overwrite word @field of domain @d's record with @v (as a hostile peer would). */
static void poke(uint8_t *mem, const struct shml_config *cfg, uint32_t d, uint32_t field,
                 uint32_t v)
{
	memcpy(mem + shml_ivshmem_record_offset(cfg, d) + field, &v, 4);
}

static uint64_t now(void *ctx)
{
	(void)ctx;
	return 0;
}

int main(void)
{
	static const struct shml_port port = { .now_ns = now };
	struct shml_config cfg = { .cacheline = 64,
		                   .n_domains = 3,
		                   .domains = domains,
		                   .n_channels = 2,
		                   .channels = channels };
	struct shml_region ra, rb, rc;
	uint64_t layout = shml_layout_bytes(&cfg);
	uint8_t *mem;

	/* Too small for the records: no offset, publish says ERANGE. */
	cfg.region_size = layout;
	CHECK(shml_ivshmem_record_offset(&cfg, 0) == 0);
	cfg.region_size = (layout + 63) / 64 * 64 + (2 + 3) * 64;
	CHECK(shml_ivshmem_record_offset(&cfg, 2) != 0);
	CHECK(shml_ivshmem_record_offset(&cfg, 3) == 0); /* no domain 3 */
	cfg.region_size = 1u << 20;
	CHECK(posix_memalign((void **)&mem, 4096, cfg.region_size) ==
	      0);                           /* attach wants alignment */
	memset(mem, 0xa5, cfg.region_size); /* garbage, not zeros */

	/* Past the layout and past every Xen fallback record, one line each, in order. */
	for (uint32_t d = 0; d < cfg.n_domains; d++) {
		uint64_t off = shml_ivshmem_record_offset(&cfg, d);
		CHECK(off >= layout && off % cfg.cacheline == 0);
		for (uint32_t c = 0; c < cfg.n_channels; c++)
			CHECK(shml_xen_publish_offset(&cfg, c) + cfg.cacheline <= off);
		CHECK(d == 0 || off == shml_ivshmem_record_offset(&cfg, d - 1) + cfg.cacheline);
	}

	CHECK(shml_region_attach(&ra, &cfg, 0, mem, cfg.region_size, &port) == 0);
	CHECK(shml_region_attach(&rb, &cfg, 1, mem, cfg.region_size, &port) == 0);
	CHECK(shml_region_attach(&rc, &cfg, 2, mem, cfg.region_size, &port) == 0);
	CHECK(shml_ivshmem_lookup(&rb, 0) == -1); /* garbage is no record */
	CHECK(shml_ivshmem_publish(&ra, -1) == SHML_EINVAL);
	CHECK(shml_ivshmem_publish(&ra, 0x10000) == SHML_EINVAL);
	CHECK(shml_ivshmem_publish(&ra, 7) == 0);
	CHECK(shml_ivshmem_publish(&rc, 0xffff) == 0);
	CHECK(shml_ivshmem_lookup(&rb, 0) == 7);
	CHECK(shml_ivshmem_lookup(&rb, 2) == 0xffff);
	CHECK(shml_ivshmem_lookup(&rb, 1) == -1);  /* b published nothing */
	CHECK(shml_ivshmem_lookup(&rb, 99) == -1); /* no such domain: nothing read */
	CHECK(shml_ivshmem_publish(&ra, 9) == 0);  /* a restarted peer: a new id */
	CHECK(shml_ivshmem_lookup(&rb, 0) == 9);

	/* Each field damaged in turn: refused, then restored by publishing again. */
	const uint32_t bad[][2] = { { 0, 0 },        { 4, 0x12345678 }, { 8, 1 }, { 12, 2 },
		                    { 16, 0x10000 }, { 16, 10 },        { 20, 0 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		poke(mem, &cfg, 0, bad[i][0], bad[i][1]);
		CHECK(shml_ivshmem_lookup(&rb, 0) == -1);
		CHECK(shml_ivshmem_publish(&ra, 9) == 0);
		CHECK(shml_ivshmem_lookup(&rb, 0) == 9);
	}
	/* A consistent but foreign id (a hostile peer): it is only a hint, in range. */
	poke(mem, &cfg, 0, 16, 0xffff);
	poke(mem, &cfg, 0, 20, ~0xffffu);
	CHECK(shml_ivshmem_lookup(&rb, 0) == 0xffff);

	/* A mapping smaller than the config says: no record is read beyond it. */
	rb.size = shml_ivshmem_record_offset(&cfg, 2);
	CHECK(shml_ivshmem_lookup(&rb, 2) == -1);
	free(mem);
	puts("PASS");
	return 0;
}
