/* SPDX-License-Identifier: MIT */
/*
 * A domain built from `shmlink gen header` alone (tests/cli/test_installed.sh):
 * no config parser, only the generated shml_cfg and its #defines. It checks
 * the header against the library, attaches to the region file as rtos,
 * receives messages on channel ctl until an empty one (end of file) into
 * OUT, then answers with one message "got N bytes" and an end of file.
 *
 * Usage: header_peer REGION_FILE OUT
 */
#include <stdio.h>
#include <string.h>

#include "shmlink.h"
#include "shmlink_host.h"
#include "shmlink_cfg.h" /* generated */

/* Fails the build if the header is not the config the test generated it from. */
SHML_CFG_ASSERT_HASH(EXPECTED_HASH);

#define TIMEOUT_NS 30000000000ull

static int fail(const char *what)
{
	fprintf(stderr, "header_peer: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	static char buf[SHML_CFG_CHANNEL_CTL_MAX_MESSAGE];
	struct shml_channel_layout lay;
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region region;
	struct shml_chan ch;
	unsigned long long total = 0;
	FILE *out;
	int32_t n;
	int rc;
	if (argc != 3)
		return fail("usage: header_peer REGION_FILE OUT");

	/* The header agrees with the library about the config and its layout. */
	if (shml_config_check(&shml_cfg, NULL) != 0)
		return fail("shml_config_check rejects the generated config");
	if (shml_config_hash(&shml_cfg) != SHML_CFG_HASH)
		return fail("SHML_CFG_HASH differs from shml_config_hash(&shml_cfg)");
	if (shml_layout_bytes(&shml_cfg) != SHML_CFG_LAYOUT_BYTES)
		return fail("SHML_CFG_LAYOUT_BYTES differs from shml_layout_bytes()");
	shml_channel_layout(&shml_cfg, SHML_CFG_CHANNEL_CTL, &lay);
	if (lay.side_a != SHML_CFG_CHANNEL_CTL_SIDE_A ||
	    lay.side_b != SHML_CFG_CHANNEL_CTL_SIDE_B ||
	    lay.ring_ab != SHML_CFG_CHANNEL_CTL_RING_AB ||
	    lay.ring_ba != SHML_CFG_CHANNEL_CTL_RING_BA || lay.end != SHML_CFG_CHANNEL_CTL_END)
		return fail("channel ctl's offsets differ from shml_channel_layout()");
	if (shml_channel_max_message(&shml_cfg, SHML_CFG_CHANNEL_CTL) !=
	    SHML_CFG_CHANNEL_CTL_MAX_MESSAGE)
		return fail("SHML_CFG_CHANNEL_CTL_MAX_MESSAGE is wrong");

	rc = shml_host_map(&hr, argv[1], SHML_CFG_REGION_SIZE, 0);
	if (rc != 0)
		return fail("cannot map the region file");
	shml_host_port_init(&port);
	/* As a baremetal domain would: the generated, prevalidated attach. */
	if (shml_cfg_attach(&region, SHML_CFG_DOMAIN_RTOS, hr.mem, hr.size, &port) ||
	    shml_chan_open(&region, &ch, SHML_CFG_CHANNEL_CTL, NULL))
		return fail("cannot attach or open ctl");
	out = fopen(argv[2], "wb");
	if (!out)
		return fail("cannot create OUT");
	while ((n = shml_recv_wait(&ch, buf, sizeof(buf), TIMEOUT_NS)) > 0) {
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			return fail("write");
		total += (unsigned long long)n;
	}
	if (n != 0) {
		fprintf(stderr, "header_peer: recv: %s\n", shml_strerror(n));
		return 1;
	}
	fclose(out);
	n = (int32_t)snprintf(buf, sizeof(buf), "got %llu bytes\n", total);
	if (shml_send_wait(&ch, buf, (size_t)n, TIMEOUT_NS) != 0 ||
	    shml_send_wait(&ch, "", 0, TIMEOUT_NS) != 0)
		return fail("cannot answer");
	shml_chan_close(&ch); /* what we sent is still delivered */
	shml_host_unmap(&hr);
	return 0;
}
