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
	tu_pair_open(&p, &t.cfg, 0);  /* a opened first (SYNC), b answered (ACK) */
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

/*
 * The peer restarts between our snapshot of its state (still EST) and our
 * read of its rx position (zeroed): shml_wait() must report a state event
 * and keep the reset for the next data call, not swallow it.
 */
static struct tu_pair restart_pair;
static volatile uint32_t *restart_rx_pos;
static int restart_armed, restart_calls, restart_inside;

static void restart_peer_hook(void *ctx, const volatile void *ptr, size_t n)
{
	static uint32_t saved;
	(void)ctx;
	(void)ptr;
	(void)n;
	if (!restart_armed || restart_inside)
		return;
	restart_inside = 1;
	if (++restart_calls == 1) { /* our snapshot comes next and still sees EST */
		saved = *restart_rx_pos;
		*restart_rx_pos = 0;
	} else { /* the killed peer had published `saved`; its successor attaches */
		*restart_rx_pos = saved;
		shml_chan_open(&restart_pair.rb, &restart_pair.b, 0, NULL);
		restart_armed = 0;
	}
	restart_inside = 0;
}

static void wait_keeps_reset(void)
{
	struct tu_config t;
	struct tu_pair *p = &restart_pair;
	struct shml_channel_layout lay;
	struct shml_reset_info ri;
	char buf[128] = { 0 };
	int sent = 0, rc = 0;
	tu_config_init(&t, SHML_MODE_MESSAGE, 4096);
	tu_pair_open(p, &t.cfg, 0);
	p->port.cache_invalidate = restart_peer_hook;
	p->port.wait = NULL;
	tu_pair_reopen(p, 1);
	shml_channel_layout(&t.cfg, 0, &lay);
	/* b's rx position: the word after tx in its position line, one line into its block. */
	restart_rx_pos =
	        (volatile uint32_t *)((uint8_t *)p->mem + lay.side_b + t.cfg.cacheline + 4);
	CHECK_EQ(shml_send(&p->a, buf, 100), 0);
	CHECK_EQ(shml_recv(&p->b, buf, sizeof(buf)), 100);
	while (shml_send(&p->a, buf, 100) == 0)
		sent++;
	restart_armed = 1;
	CHECK_EQ(shml_wait(&p->a, SHML_EV_WRITABLE | SHML_EV_STATE, 100, 1000000), SHML_EV_STATE);
	for (int i = 0; i < 10 && rc != SHML_ERESET; i++) {
		rc = shml_send(&p->a, buf, 100);
		shml_poll(&p->b);
	}
	CHECK_EQ(rc, SHML_ERESET);
	CHECK_EQ(shml_reset_info(&p->a, &ri), 0);
	CHECK_EQ(ri.messages, sent);
	CHECK_EQ(ri.exact, 1);
	free(p->mem);
}

/* A reset in the middle of shml_write_all(): it returns the partial count and
 * the next call reports the reset (it used to be swallowed). */
static struct tu_pair write_all_pair;
static int write_all_armed;

static void reopen_when_full(void *ctx, const volatile void *ptr, size_t n)
{
	struct tu_pair *p = &write_all_pair;
	(void)ctx;
	(void)ptr;
	(void)n;
	if (write_all_armed && p->a.tx_pos == p->a.tx_size) {
		write_all_armed = 0;
		shml_chan_open(&p->rb, &p->b, 0, NULL); /* the reader restarts */
	}
}

static void write_all_keeps_reset(void)
{
	struct tu_config t;
	struct tu_pair *p = &write_all_pair;
	static uint8_t buf[8192];
	struct shml_reset_info ri;
	tu_config_init(&t, SHML_MODE_STREAM, 4096);
	tu_pair_open(p, &t.cfg, 0);
	p->port.cache_invalidate = reopen_when_full;
	p->port.wait = NULL;
	tu_pair_reopen(p, 1);
	write_all_armed = 1;
	CHECK_EQ(shml_write_all(&p->a, buf, sizeof(buf), 50000000), 4096);
	CHECK_EQ(shml_write(&p->a, buf, 1), SHML_ERESET);
	CHECK_EQ(shml_reset_info(&p->a, &ri), 0);
	CHECK_EQ(ri.bytes, 4096);
	free(p->mem);
}

/*
 * A process killed in the middle of ending a session (docs/PROTOCOL.md §7.4:
 * finals written, the next generation stored, the state still EST). Its
 * successor must keep those finals: rewriting them with the line's
 * generation, which no data was ever sent or consumed in, made data the
 * receiver had consumed count as discarded (found by the SPIN model).
 */
enum {
	CTL_GEN_OFF = 4,
	CTL_FINAL_GEN_OFF = 24,
	CTL_FINAL_TX_OFF = 28,
	CTL_FINAL_OF_OFF = 32,
	CTL_FINAL_RX_OFF = 36
}; /* the control line, §4 */

static void poke(uint8_t *line, uint32_t off, uint32_t v)
{
	memcpy(line + off, &v, 4); /* little-endian hosts only run these tests */
}

static void killed_while_ending_session(int sender_dies)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_channel_layout lay;
	struct shml_chan successor;
	struct shml_counters cnt;
	struct shml_reset_info ri;
	char buf[64];
	int rc, resets = 0;
	tu_config_init(&t, SHML_MODE_MESSAGE, 1024);
	tu_pair_open(&p, &t.cfg, 1);
	shml_channel_layout(&t.cfg, 0, &lay);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(shml_send(&p.a, "msg", 3), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 3);
	struct shml_chan *dying = sender_dies ? &p.a : &p.b;
	uint8_t *line = (uint8_t *)p.mem + (sender_dies ? lay.side_a : lay.side_b);
	if (sender_dies) {
		poke(line, CTL_FINAL_GEN_OFF, dying->gen);
		poke(line, CTL_FINAL_TX_OFF, dying->tx_pos);
	} else {
		poke(line, CTL_FINAL_OF_OFF, dying->peer_gen);
		poke(line, CTL_FINAL_RX_OFF, dying->rx_pos);
	}
	poke(line, CTL_GEN_OFF, dying->gen ^ 0x5a5a5a5au); /* the kill comes here */
	CHECK_EQ(shml_chan_open(sender_dies ? &p.ra : &p.rb, &successor, 0, NULL), 0);
	struct shml_chan *sender = sender_dies ? &successor : &p.a;
	struct shml_chan *receiver = sender_dies ? &p.b : &successor;
	for (int i = 0; i < 20; i++) {
		rc = shml_poll(sender);
		if (rc == SHML_ERESET) {
			resets++;
			CHECK_EQ(shml_reset_info(sender, &ri), 0);
			CHECK_EQ(ri.messages, 0); /* all three were consumed */
			CHECK_EQ(ri.exact, 1);
		}
		shml_poll(receiver);
	}
	CHECK_EQ(shml_poll(sender), 1);
	shml_get_counters(sender, &cnt);
	CHECK_EQ(cnt.discarded_messages, 0);
	/* The live sender hears of the reset (nothing lost); a successor only of losses. */
	CHECK_EQ(resets, sender_dies ? 0 : 1);
	free(p.mem);
}

int main(void)
{
	write_all_keeps_reset();
	wait_keeps_reset();
	close_while_peer_in_ack();
	reset_report_settled_during_open();
	killed_while_ending_session(0);
	killed_while_ending_session(1);
	printf("test_regressions: ok\n");
	return 0;
}
