/* SPDX-License-Identifier: MIT */
/*
 * The tiny profile (SHML_CONFIG_TINY) on the host, against a core built with
 * it (cmake/tiny.cmake): what the size budget measures must also work.
 * Both ends in one process over private memory, a polling port like the
 * baremetal one. Checks the handshake, messages across many wraps, that a
 * reopened peer is reported as SHML_ERESET once, the refusals the profile
 * adds (stream channels, ports with cache hooks) and short error codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmlink.h"
#include "testutil.h" /* CHECK() only: testutil.c needs the full core */

#ifndef SHML_CONFIG_TINY
#error "build with -DSHML_CONFIG_TINY"
#endif

/* Any hash will do here: both ends use the same one (a generated header's PREFIX_HASH). */
#define HASH 0x5eed5eed5eed5eedull

static const struct shml_domain_cfg domains[] = { { .name = "a", .id = 1 },
	                                          { .name = "b", .id = 2 } };
static const struct shml_channel_cfg channels[] = {
	{ .name = "msg",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 256,
	  .ring_ba = 128 },
	{ .name = "str", .a = 0, .b = 1, .mode = SHML_MODE_STREAM, .ring_ab = 128, .ring_ba = 128 },
};
/* 2 slots of 64, 2 channels of 2 side blocks of 256 and their rings. */
static const struct shml_config cfg = { .region_size = 2688,
	                                .cacheline = 64,
	                                .n_domains = 2,
	                                .domains = domains,
	                                .n_channels = 2,
	                                .channels = channels };

static uint64_t clock_ns;

static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	return clock_ns += 1000;
}

static void clean(void *ctx, const volatile void *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
}

static _Alignas(64) unsigned char mem[4096];

static void connect(struct shml_chan *a, struct shml_chan *b)
{
	for (int i = 0; i < 100; i++)
		if (shml_poll(a) == 1 && shml_poll(b) == 1)
			return;
	CHECK(!"handshake did not complete");
}

int main(void)
{
	struct shml_port port = { .now_ns = now_ns }, cached = port;
	struct shml_region ra, rb;
	struct shml_chan a, b, s;
	char buf[64];
	int rc;
	memset(mem, 0x5a, sizeof(mem)); /* garbage, not zeros */
	cached.cache_clean = clean;
	CHECK(shml_region_attach_prevalidated(&ra, &cfg, HASH, 0, mem, sizeof(mem), &cached) ==
	      SHML_EINVAL);
	CHECK(shml_region_attach_prevalidated(&ra, &cfg, HASH, 0, mem, 2000, &port) == SHML_ERANGE);
	CHECK(shml_region_attach_prevalidated(&ra, &cfg, HASH, 0, mem, sizeof(mem), &port) == 0);
	CHECK(shml_region_attach_prevalidated(&rb, &cfg, HASH, 1, mem, sizeof(mem), &port) == 0);
	CHECK(shml_chan_open(&ra, &s, 1, NULL) == SHML_EINVAL); /* no stream code here */
	CHECK(shml_chan_open(&ra, &a, 0, NULL) == 0);
	CHECK(shml_chan_open(&rb, &b, 0, NULL) == 0);
	connect(&a, &b);

	/* Many wraps of both rings, lengths 0 .. 56. */
	for (int i = 0; i < 5000; i++) {
		int len = i % 57;
		memset(buf, i & 0xff, (size_t)len);
		CHECK(shml_send(&a, buf, (size_t)len) == 0);
		memset(buf, 0, sizeof(buf));
		CHECK(shml_recv(&b, buf, sizeof(buf)) == len);
		CHECK(len == 0 || ((unsigned char)buf[0] == (i & 0xff) &&
		                   (unsigned char)buf[len - 1] == (i & 0xff)));
		CHECK(shml_send(&b, "ok", 2) == 0 && shml_recv(&a, buf, sizeof(buf)) == 2);
	}
	CHECK(shml_recv(&b, buf, sizeof(buf)) == SHML_EAGAIN);
	CHECK(shml_send(&a, buf, 200) == SHML_EMSGSIZE);

	/* b restarts with a message of ours unread: a hears of it once, then goes on. */
	CHECK(shml_send(&a, "lost", 4) == 0);
	CHECK(shml_chan_open(&rb, &b, 0, NULL) == 0);
	rc = 0;
	for (int i = 0; i < 100 && rc != SHML_ERESET; i++)
		rc = shml_poll(&a), (void)shml_poll(&b);
	CHECK(rc == SHML_ERESET);
	connect(&a, &b);
	CHECK(shml_recv(&b, buf, sizeof(buf)) == SHML_EAGAIN);
	CHECK(shml_send(&a, "again", 5) == 0 && shml_recv(&b, buf, sizeof(buf)) == 5);

	CHECK(strcmp(shml_strerror(SHML_EAGAIN), "EAGAIN") == 0);
	CHECK(strcmp(shml_strerror(SHML_ESTATE), "ESTATE") == 0);
	CHECK(strcmp(shml_strerror(-99), "E?") == 0);
	shml_chan_close(&a);
	shml_chan_close(&b);
	printf("ok: tiny profile: handshake, 10000 messages, reset, refusals, codes\n");
	return 0;
}
