/* SPDX-License-Identifier: MIT */
/*
 * The smallest useful shmlink program: one message channel, one send, one
 * receive. Both domains live in this one image here so that it can check
 * itself (a real domain attaches only its own end; the code it links is the
 * same). Polling port, no timer: the clock counts polls.
 *
 * The config is compiled in from minimal_cfg.h (`shmlink gen header
 * minimal.ini`), so the domain attaches without validating or hashing it
 * again. `make size` links it for each target with the full core and with
 * the tiny profile (SHML_CONFIG_TINY: docs/PORTING.md §9); on Cortex-M the
 * tiny build also runs under QEMU.
 */
#include "board.h"
#include "shmlink.h"
#include "shmlink_baremetal.h"
#include "minimal_cfg.h"

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
	if (shml_cfg_attach(&ra, SHML_CFG_DOMAIN_A, mem, size, &bm.port) ||
	    shml_cfg_attach(&rb, SHML_CFG_DOMAIN_B, mem, size, &bm.port) ||
	    shml_chan_open(&ra, &a, SHML_CFG_CHANNEL_CH, NULL) ||
	    shml_chan_open(&rb, &b, SHML_CFG_CHANNEL_CH, NULL))
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
