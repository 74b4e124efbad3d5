/* SPDX-License-Identifier: MIT */
/*
 * The smallest useful shmlink program: one message channel, one send, one
 * receive. Both domains live in this one image here so that it can check
 * itself (a real domain attaches only its own end; the code it links is the
 * same). Polling port, no timer: the clock counts polls.
 *
 * `make size` links it for each target; on Cortex-M it also runs under QEMU.
 */
#include "board.h"
#include "shmlink.h"
#include "shmlink_baremetal.h"

static const struct shml_domain_cfg domains[] = {
	{ .name = "a", .id = 1 },
	{ .name = "b", .id = 2 },
};

static const struct shml_channel_cfg channels[] = {
	{ .name = "ch", .a = 0, .b = 1, .mode = SHML_MODE_MESSAGE, .ring_ab = 128, .ring_ba = 128 },
};

/* 2 slots of 64 + 2 side blocks of 256 (control, positions, statistics) + 2 rings of 128. */
static const struct shml_config cfg = {
	.region_size = 1024,
	.cacheline = 64,
	.n_domains = 2,
	.domains = domains,
	.n_channels = 1,
	.channels = channels,
};

static struct shml_baremetal bm;
static struct shml_region ra, rb;
static struct shml_chan a, b;

int main(void)
{
	uint8_t *mem = __shmlink_region_start;
	uint64_t size = (uint64_t)(__shmlink_region_end - __shmlink_region_start);
	char buf[8];
	int i;

	shml_baremetal_port_init(&bm, NULL, NULL, 0);
	if (shml_region_attach(&ra, &cfg, 0, mem, size, &bm.port) ||
	    shml_region_attach(&rb, &cfg, 1, mem, size, &bm.port) ||
	    shml_chan_open(&ra, &a, 0, NULL) || shml_chan_open(&rb, &b, 0, NULL))
		return 1;
	for (i = 0; i < 100 && !(shml_poll(&a) == 1 && shml_poll(&b) == 1); i++)
		;
	if (shml_send(&a, "ping", 4) || shml_recv(&b, buf, sizeof(buf)) != 4 || buf[1] != 'i')
		return 1;
	if (shml_send(&b, "pong", 4) || shml_recv(&a, buf, sizeof(buf)) != 4 || buf[1] != 'o')
		return 1;
	board_puts("shmlink-baremetal minimal: PASS\n");
	return 0;
}
