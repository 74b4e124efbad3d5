/* SPDX-License-Identifier: MIT */
/*
 * Message-mode zero copy in one process: reserve/commit (commit shorter than
 * reserved, commit without reserve, commit longer, abandoned reservations),
 * peek/release (release without peek, repeated peek, in-place pointers),
 * and the padding record written when a reservation does not fit before
 * the ring's end.
 */
#include <string.h>

#include "testutil.h"

#define RING 256u /* max message 120 */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4); /* the wire is little-endian; so is every host this runs on */
	return v;
}

static uint32_t rec(uint32_t len)
{
	return 8u + ((len + 7u) & ~7u);
}

int main(void)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_channel_layout lay;
	struct shml_side_view va;
	struct shml_counters ca, cb;
	uint8_t *ring, buf[256];
	void *w;
	const void *r, *r2;
	uint32_t pos = 0; /* A->B position as the test tracks it */
	uint32_t max;

	tu_config_init(&t, SHML_MODE_MESSAGE, RING);
	tu_pair_open(&p, &t.cfg, 1);
	shml_channel_layout(&t.cfg, 0, &lay);
	ring = (uint8_t *)p.mem + lay.ring_ab;
	max = shml_channel_max_message(&t.cfg, 0);
	CHECK_EQ(max, 120);

	/* ---- commit without / after reserve ---- */
	CHECK_EQ(shml_commit(&p.a, 0), SHML_ESTATE);
	CHECK_EQ(shml_commit(&p.a, 10), SHML_ESTATE);
	CHECK_EQ(shml_reserve(&p.a, max + 1, &w), SHML_EMSGSIZE);
	CHECK_EQ(shml_commit(&p.a, 0), SHML_ESTATE); /* a failed reserve leaves none */

	/* Reserve 100, write in place, commit 40: one 40-byte message. */
	CHECK_EQ(shml_reserve(&p.a, 100, &w), 100);
	CHECK(w == ring + pos + 8); /* in place, after the 8-byte record header */
	tu_fill(w, 100, 1);
	CHECK_EQ(shml_commit(&p.a, 101), SHML_EINVAL); /* longer than reserved */
	CHECK_EQ(shml_commit(&p.a, 40), 0);            /* the reservation survived EINVAL */
	CHECK_EQ(shml_commit(&p.a, 40), SHML_ESTATE);  /* only once */
	CHECK_EQ(rd32(ring + pos), 40);                /* record header: length */
	CHECK_EQ(rd32(ring + pos + 4), 0);             /* and message number 0 */
	pos += rec(40);
	shml_inspect_side(&p.ra, 0, 0, &va);
	CHECK_EQ(va.tx_pos, pos); /* the record takes only the committed length */

	/* peek shows it in place; peek twice shows the same message. */
	CHECK_EQ(shml_release(&p.b, 0), SHML_ESTATE); /* release without peek */
	CHECK_EQ(shml_peek(&p.b, &r), 40);
	CHECK(r == ring + 8);
	CHECK_EQ(shml_peek(&p.b, &r2), 40);
	CHECK(r2 == r);
	tu_fill(buf, 100, 1);
	CHECK(memcmp(r, buf, 40) == 0);
	CHECK_EQ(shml_release(&p.b, 12345), 0); /* message mode: the length is ignored */
	CHECK_EQ(shml_release(&p.b, 0), SHML_ESTATE);
	CHECK_EQ(shml_peek(&p.b, &r), SHML_EAGAIN);
	CHECK_EQ(shml_release(&p.b, 0), SHML_ESTATE);

	/* Commit 0 bytes: an empty message is still a message. */
	CHECK_EQ(shml_reserve(&p.a, 16, &w), 16);
	CHECK_EQ(shml_commit(&p.a, 0), 0);
	pos += rec(0);
	CHECK_EQ(shml_peek(&p.b, &r), 0);
	CHECK_EQ(shml_release(&p.b, 0), 0);

	/* An abandoned reservation sends nothing; the next one reuses the place. */
	CHECK_EQ(shml_reserve(&p.a, 50, &w), 50);
	void *w_first = w;
	CHECK_EQ(shml_reserve(&p.a, 20, &w), 20);
	CHECK(w == w_first);
	memcpy(w, "twenty bytes........", 20);
	CHECK_EQ(shml_commit(&p.a, 20), 0);
	pos += rec(20);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 20);
	CHECK(memcmp(buf, "twenty bytes........", 20) == 0);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), SHML_EAGAIN);

	/* A copying send between peeks: peek twice still shows the first unreleased one. */
	CHECK_EQ(shml_send(&p.a, "one", 3), 0);
	pos += rec(3);
	CHECK_EQ(shml_peek(&p.b, &r), 3);
	CHECK_EQ(shml_send(&p.a, "two!", 4), 0);
	pos += rec(4);
	CHECK_EQ(shml_peek(&p.b, &r2), 3);
	CHECK(r == r2 && memcmp(r2, "one", 3) == 0);
	CHECK_EQ(shml_release(&p.b, 0), 0);
	CHECK_EQ(shml_peek(&p.b, &r), 4);
	CHECK(memcmp(r, "two!", 4) == 0);
	CHECK_EQ(shml_release(&p.b, 0), 0);
	CHECK_EQ(pos, 48 + 8 + 32 + 16 + 16);

	/* ---- padding: a record that does not fit before the end ---- */
	/* Bring the position to offset 224 (32 bytes before the end): one 104-byte record. */
	CHECK_EQ(shml_send(&p.a, buf, 96), 0);
	pos += rec(96);
	CHECK_EQ(pos, 224);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 96);

	/* 40 bytes need a 48-byte record: 32 bytes of padding, then the record at 0. */
	CHECK_EQ(shml_reserve(&p.a, 40, &w), 40);
	CHECK(w == ring + 8);
	/* The padding record is in the ring already: flag | bytes after its header. */
	CHECK_EQ(rd32(ring + 224), 0x80000000u | (32 - 8));
	memset(w, 0x5a, 40);
	CHECK_EQ(shml_commit(&p.a, 40), 0);
	CHECK_EQ(rd32(ring + 0), 40);
	pos += 32 + rec(40);
	shml_inspect_side(&p.ra, 0, 0, &va);
	CHECK_EQ(va.tx_pos, pos);
	CHECK_EQ(shml_peek(&p.b, &r), 40);
	CHECK(r == ring + 8);
	for (int i = 0; i < 40; i++)
		CHECK_EQ(((const uint8_t *)r)[i], 0x5a);
	CHECK_EQ(shml_release(&p.b, 0), 0);
	shml_inspect_side(&p.rb, 0, 1, &va);
	CHECK_EQ(va.rx_pos, pos); /* the receiver consumed the padding too */

	/* A record that exactly fills the tail needs no padding. */
	uint32_t off = pos % RING; /* 48 */
	CHECK_EQ(off, 48);
	/* Bring to offset 136 (120 bytes before the end: a 112-byte record fits exactly). */
	CHECK_EQ(shml_send(&p.a, buf, 80), 0);
	pos += rec(80);
	CHECK_EQ(pos % RING, 136);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 80);
	CHECK_EQ(shml_reserve(&p.a, 112, &w), 112);
	CHECK(w == ring + 136 + 8);
	CHECK_EQ(shml_commit(&p.a, 112), 0);
	pos += rec(112);
	CHECK_EQ(pos % RING, 0);
	CHECK_EQ(shml_peek(&p.b, &r), 112);
	CHECK(r == ring + 144);
	CHECK_EQ(shml_release(&p.b, 0), 0);

	/*
	 * Padding needs room too: a record that does not fit in the tail must
	 * fit in front of the oldest unconsumed byte. Here the free room (128)
	 * equals the record (128) but not tail + record (64 + 128): EAGAIN, and
	 * no padding is written.
	 */
	CHECK_EQ(shml_send(&p.a, buf, 56), 0); /* offset 0..64 */
	pos += rec(56);
	memset(buf, 0x77, sizeof(buf));
	CHECK_EQ(shml_send(&p.a, buf, 120), 0); /* 64..192 */
	pos += rec(120);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 56);
	uint32_t before = rd32(ring + 192);
	CHECK_EQ(shml_reserve(&p.a, 120, &w), SHML_EAGAIN);
	CHECK_EQ(rd32(ring + 192), before);
	CHECK_EQ(shml_commit(&p.a, 0), SHML_ESTATE);
	shml_inspect_side(&p.ra, 0, 0, &va);
	CHECK_EQ(va.tx_pos, pos);

	/* Once the 120 is consumed it fits, behind a 64-byte padding record. */
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 120);
	for (int i = 0; i < 120; i++)
		CHECK_EQ(buf[i], 0x77);
	CHECK_EQ(shml_reserve(&p.a, 120, &w), 120);
	CHECK(w == ring + 8);
	CHECK_EQ(rd32(ring + 192), 0x80000000u | (64 - 8));
	/* Abandon it: a smaller reservation fits the tail and overwrites the padding. */
	CHECK_EQ(shml_reserve(&p.a, 56, &w), 56);
	CHECK(w == ring + 192 + 8);
	memset(w, 0x33, 56);
	CHECK_EQ(shml_commit(&p.a, 56), 0);
	CHECK_EQ(rd32(ring + 192), 56);
	pos += rec(56);
	CHECK_EQ(pos % RING, 0);
	CHECK_EQ(shml_peek(&p.b, &r), 56); /* the real message, not the abandoned padding */
	CHECK(r == ring + 200);
	CHECK_EQ(((const uint8_t *)r)[55], 0x33);
	CHECK_EQ(shml_release(&p.b, 0), 0);
	CHECK_EQ(shml_peek(&p.b, &r), SHML_EAGAIN);
	shml_inspect_side(&p.rb, 0, 1, &va);
	CHECK_EQ(va.rx_pos, pos);

	shml_get_counters(&p.a, &ca);
	shml_get_counters(&p.b, &cb);
	CHECK_EQ(ca.protocol_errors + cb.protocol_errors, 0);
	tu_pair_close(&p);

	/*
	 * Last (it fails on the current core, see the report): shml_chan_close()
	 * ends any reservation and any peek. A commit or release after it must
	 * say SHML_ESTATE and publish nothing into the closed session.
	 */
	tu_pair_open(&p, &t.cfg, 1);
	CHECK_EQ(shml_send(&p.a, "held", 4), 0);
	CHECK_EQ(shml_peek(&p.b, &r), 4);
	CHECK_EQ(shml_reserve(&p.a, 16, &w), 16);
	memcpy(w, "after-the-close!", 16);
	shml_chan_close(&p.a);
	shml_chan_close(&p.b);
	struct shml_side_view sa0, sb0, sa1, sb1;
	shml_inspect_side(&p.ra, 0, 0, &sa0);
	shml_inspect_side(&p.ra, 0, 1, &sb0);
	int commit_rc = shml_commit(&p.a, 16), release_rc = shml_release(&p.b, 0);
	shml_inspect_side(&p.ra, 0, 0, &sa1);
	shml_inspect_side(&p.ra, 0, 1, &sb1);
	if (commit_rc != SHML_ESTATE || release_rc != SHML_ESTATE)
		fprintf(stderr,
		        "after shml_chan_close(): commit -> %d (tx_pos %u -> %u), release -> %d "
		        "(rx_pos %u -> %u)\n",
		        commit_rc, sa0.tx_pos, sa1.tx_pos, release_rc, sb0.rx_pos, sb1.rx_pos);
	CHECK_EQ(sa1.tx_pos, sa0.tx_pos);
	CHECK_EQ(sb1.rx_pos, sb0.rx_pos);
	CHECK_EQ(commit_rc, SHML_ESTATE);
	CHECK_EQ(release_rc, SHML_ESTATE);
	tu_pair_close(&p);

	printf("test_zerocopy: ok (reserve/commit/peek/release states, in-place pointers, "
	       "padding record at the ring's end, nothing survives close)\n");
	return 0;
}
