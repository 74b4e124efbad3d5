/* SPDX-License-Identifier: MIT */
/* Bugs found and fixed, one function each, so they stay fixed. */
#include <string.h>

#include "testutil.h"

/* A peer that sent and closed while we were still in ACK: its data is delivered, then EOF. */
static void close_while_peer_in_ack(void)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_reset_info ri;
	char buf[64];
	tu_config_init(&t, SHML_MODE_MESSAGE, 1024);
	tu_pair_open(&p, &t.cfg, 0); /* a opened first (SYNC), b answered (ACK) */
	CHECK_EQ(shml_poll(&p.a), 1); /* a established; b has not stepped yet */
	CHECK_EQ(shml_send(&p.a, "hello", 5), 0);
	shml_chan_close(&p.a);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), SHML_ERESET);
	CHECK_EQ(shml_reset_info(&p.b, &ri), 0);
	CHECK_EQ(ri.peer_closed, 1);
	tu_pair_close(&p);
}

/* A successor whose predecessor's account settles inside shml_chan_open() still hears of it. */
static void reset_report_settled_during_open(void)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_chan a2, b2;
	struct shml_reset_info ri;
	int rc = 0;
	tu_config_init(&t, SHML_MODE_MESSAGE, 1024);
	tu_pair_open(&p, &t.cfg, 1);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(shml_send(&p.a, "m", 1), 0);
	/* a's process dies without closing; b's restarts first, then a's successor opens. */
	CHECK_EQ(shml_chan_open(&p.rb, &b2, 0, NULL), 0);
	CHECK_EQ(shml_chan_open(&p.ra, &a2, 0, NULL), 0);
	for (int i = 0; i < 10 && rc != SHML_ERESET; i++) {
		rc = shml_poll(&a2);
		shml_poll(&b2);
	}
	CHECK_EQ(rc, SHML_ERESET);
	CHECK_EQ(shml_reset_info(&a2, &ri), 0);
	CHECK_EQ(ri.previous_process, 1);
	CHECK_EQ(ri.messages, 3);
	CHECK_EQ(ri.exact, 1);
	free(p.mem);
}

int main(void)
{
	close_while_peer_in_ack();
	reset_report_settled_during_open();
	printf("test_regressions: ok\n");
	return 0;
}
