/* SPDX-License-Identifier: MIT */
/* Message mode in one process: sizes 0, 1, max, max+1; padding; order; full ring. */
#include <string.h>

#include "testutil.h"

static void roundtrip(struct tu_pair *p, size_t len, uint64_t seed)
{
	static uint8_t out[1 << 16], in[1 << 16];
	tu_fill(out, len, seed);
	CHECK_EQ(shml_send(&p->a, out, len), 0);
	CHECK_EQ(shml_recv(&p->b, in, sizeof(in)), (long long)len);
	CHECK(memcmp(out, in, len) == 0);
}

int main(void)
{
	struct tu_config t;
	struct tu_pair p;
	uint8_t buf[4096];
	uint32_t max;
	int n = 0;

	tu_config_init(&t, SHML_MODE_MESSAGE, 4096);
	tu_pair_open(&p, &t.cfg, 1);
	max = shml_channel_max_message(&t.cfg, 0);
	CHECK_EQ(max, 4096 / 2 - 8);

	roundtrip(&p, 0, 1);
	roundtrip(&p, 1, 2);
	roundtrip(&p, max, 3);
	CHECK_EQ(shml_send(&p.a, buf, max + 1), SHML_EMSGSIZE);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), SHML_EAGAIN);

	/* Many odd sizes: every offset of the ring, padding records at the end. */
	for (int i = 0; i < 20000; i++)
		roundtrip(&p, (size_t)(i * 37) % (max + 1), (uint64_t)i);

	/* Fill the ring, then drain it in order. */
	while (shml_send(&p.a, &n, sizeof(n)) == 0)
		n++;
	CHECK(n > 100);
	for (int i = 0; i < n; i++) {
		int v = -1;
		CHECK_EQ(shml_recv(&p.b, &v, sizeof(v)), sizeof(v));
		CHECK_EQ(v, i);
	}
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), SHML_EAGAIN);

	/* A receive buffer too small leaves the message in place. */
	CHECK_EQ(shml_send(&p.a, buf, 100), 0);
	CHECK_EQ(shml_recv(&p.b, buf, 99), SHML_ENOBUFS);
	CHECK_EQ(shml_recv(&p.b, buf, 100), 100);

	/* The other direction works too. */
	CHECK_EQ(shml_send(&p.b, "pong", 4), 0);
	CHECK_EQ(shml_recv(&p.a, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);

	tu_pair_close(&p);
	printf("test_message: ok\n");
	return 0;
}
