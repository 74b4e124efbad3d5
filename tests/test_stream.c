/* SPDX-License-Identifier: MIT */
/*
 * Stream mode in one process: partial writes when nearly full, 1-byte
 * reads, data wrapping across the ring's end on write and on read, 0-byte
 * write/read, zero-copy reserve/commit/peek/release (contiguous spans,
 * partial release), and EINVAL for the message calls on a stream channel
 * and the stream calls on a message channel.
 */
#include <string.h>

#include "testutil.h"

#define RING 256u

/* Stream byte number i has this value: order and position are both checked. */
static uint8_t sbyte(uint64_t i)
{
	return (uint8_t)(i * 7u + (i >> 8) + 1u);
}

static uint64_t wpos, rpos; /* stream positions A->B as the test knows them */

static int32_t write_n(struct tu_pair *p, size_t n)
{
	uint8_t buf[4 * RING];
	CHECK(n <= sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = sbyte(wpos + i);
	int32_t r = shml_write(&p->a, buf, n);
	if (r > 0)
		wpos += (uint64_t)r;
	return r;
}

static int32_t read_n(struct tu_pair *p, size_t cap)
{
	uint8_t buf[4 * RING];
	CHECK(cap <= sizeof(buf));
	memset(buf, 0xcc, sizeof(buf));
	int32_t r = shml_read(&p->b, buf, cap);
	if (r > 0) {
		for (int32_t i = 0; i < r; i++)
			CHECK_EQ(buf[i], sbyte(rpos + (uint64_t)i));
		/* Nothing beyond what was returned was touched. */
		for (size_t i = (size_t)r; i < sizeof(buf); i++)
			CHECK_EQ(buf[i], 0xcc);
		rpos += (uint64_t)r;
	}
	return r;
}

static void basic(struct tu_pair *p)
{
	uint8_t one = 0;

	/* Zero bytes: always fine, nothing moves. */
	CHECK_EQ(shml_write(&p->a, &one, 0), 0);
	CHECK_EQ(shml_read(&p->b, &one, 0), 0);
	CHECK_EQ(shml_read(&p->b, &one, 1), SHML_EAGAIN); /* empty */

	/* Partial write when the ring cannot take all. */
	CHECK_EQ(write_n(p, 100), 100);
	CHECK_EQ(write_n(p, 200), RING - 100);   /* only 156 fit */
	CHECK_EQ(write_n(p, 1), SHML_EAGAIN);    /* full */
	CHECK_EQ(shml_write(&p->a, &one, 0), 0); /* 0 bytes into a full ring: still 0 */

	/* 1-byte reads, and a write of exactly the room made. */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(read_n(p, 1), 1);
	CHECK_EQ(write_n(p, 10), 5);
	CHECK_EQ(write_n(p, 10), SHML_EAGAIN);
	CHECK_EQ(read_n(p, 1), 1);
	CHECK_EQ(write_n(p, 1), 1);
	CHECK_EQ(shml_read(&p->b, &one, 0), 0); /* 0-byte read of a non-empty ring */

	/* Drain with a cap larger than what is there: returns exactly what is there. */
	CHECK_EQ(read_n(p, 3 * RING), RING);
	CHECK_EQ(wpos, rpos);
	CHECK_EQ(read_n(p, 1), SHML_EAGAIN);
}

static void wrapping(struct tu_pair *p)
{
	/* Bring the positions to 200 bytes before... a wrap point: offset 200. */
	uint32_t off = (uint32_t)(wpos % RING);
	size_t adv = (200 + RING - off) % RING;
	if (adv) {
		CHECK_EQ(write_n(p, adv), (int32_t)adv);
		CHECK_EQ(read_n(p, adv), (int32_t)adv);
	}
	CHECK_EQ(wpos % RING, 200);

	/* One write that wraps (56 bytes to the end, 44 from the start). */
	CHECK_EQ(write_n(p, 100), 100);
	/* One read that wraps, byte-exact. */
	CHECK_EQ(read_n(p, 100), 100);

	/* Many writes/reads of odd sizes: every offset, wrapping either way. */
	uint64_t rng = 99;
	for (int i = 0; i < 20000; i++) {
		size_t w = (size_t)(tu_rand(&rng) % (RING + 40));
		size_t r = (size_t)(tu_rand(&rng) % (RING + 40));
		uint64_t room = RING - (wpos - rpos);
		int32_t got = write_n(p, w);
		if (w == 0)
			CHECK_EQ(got, 0);
		else if (room == 0)
			CHECK_EQ(got, SHML_EAGAIN);
		else
			CHECK_EQ(got, (int32_t)(w < room ? w : room));
		uint64_t avail = wpos - rpos;
		got = read_n(p, r);
		if (r == 0)
			CHECK_EQ(got, 0);
		else if (avail == 0)
			CHECK_EQ(got, SHML_EAGAIN);
		else
			CHECK_EQ(got, (int32_t)(r < avail ? r : avail));
	}
	while (wpos != rpos)
		CHECK(read_n(p, RING) > 0);
}

static void zero_copy(struct tu_pair *p, const struct shml_config *cfg)
{
	struct shml_channel_layout lay;
	uint8_t *ring;
	void *w;
	const void *r;
	int32_t n;

	shml_channel_layout(cfg, 0, &lay);
	ring = (uint8_t *)p->mem + lay.ring_ab;

	/* Put the positions at offset 200 (as in wrapping()). */
	size_t adv = (200 + RING - (size_t)(wpos % RING)) % RING;
	if (adv) {
		CHECK_EQ(write_n(p, adv), (int32_t)adv);
		CHECK_EQ(read_n(p, adv), (int32_t)adv);
	}

	/* reserve: contiguous only, up to the ring's end (56 bytes), in place. */
	n = shml_reserve(&p->a, 100, &w);
	CHECK_EQ(n, 56);
	CHECK(w == ring + 200);
	for (int i = 0; i < 56; i++)
		((uint8_t *)w)[i] = sbyte(wpos + (uint64_t)i);
	/* commit more than reserved: EINVAL, the reservation stays. */
	CHECK_EQ(shml_commit(&p->a, 57), SHML_EINVAL);
	CHECK_EQ(shml_commit(&p->a, 56), 0);
	wpos += 56;
	CHECK_EQ(shml_commit(&p->a, 1), SHML_ESTATE); /* once only */

	/* The next reservation starts at the ring's start; commit fewer than reserved. */
	n = shml_reserve(&p->a, 100, &w);
	CHECK_EQ(n, 100);
	CHECK(w == ring);
	for (int i = 0; i < 100; i++)
		((uint8_t *)w)[i] = sbyte(wpos + (uint64_t)i);
	CHECK_EQ(shml_commit(&p->a, 30), 0);
	wpos += 30;
	/* Free room is now 256 - 86 = 170 bytes, all contiguous from offset 30. */
	n = shml_reserve(&p->a, 1000, &w);
	CHECK_EQ(n, 170);
	CHECK(w == ring + 30);
	CHECK_EQ(shml_commit(&p->a, 0), 0); /* committing nothing: nothing published */
	CHECK_EQ(shml_reserve(&p->a, 0, &w), 0);

	/* peek: the contiguous readable span up to the ring's end (56), in place. */
	n = shml_peek(&p->b, &r);
	CHECK_EQ(n, 56);
	CHECK(r == ring + 200);
	for (int i = 0; i < 56; i++)
		CHECK_EQ(((const uint8_t *)r)[i], sbyte(rpos + (uint64_t)i));
	CHECK_EQ(shml_release(&p->b, 57), SHML_EINVAL); /* more than peeked */
	/* Release fewer bytes than peeked: the rest is shown again. */
	CHECK_EQ(shml_release(&p->b, 20), 0);
	rpos += 20;
	CHECK_EQ(shml_release(&p->b, 1), SHML_ESTATE); /* a peek is released once */
	n = shml_peek(&p->b, &r);
	CHECK_EQ(n, 36);
	CHECK(r == ring + 220);
	CHECK_EQ(((const uint8_t *)r)[0], sbyte(rpos));
	/* Peek again without release: the same span. */
	n = shml_peek(&p->b, &r);
	CHECK_EQ(n, 36);
	CHECK(r == ring + 220);
	CHECK_EQ(shml_release(&p->b, 0), 0); /* release 0: nothing consumed */
	n = shml_peek(&p->b, &r);
	CHECK_EQ(n, 36);
	CHECK_EQ(shml_release(&p->b, 36), 0);
	rpos += 36;
	/* Then the part at the ring's start. */
	n = shml_peek(&p->b, &r);
	CHECK_EQ(n, 30);
	CHECK(r == ring);
	for (int i = 0; i < 30; i++)
		CHECK_EQ(((const uint8_t *)r)[i], sbyte(rpos + (uint64_t)i));
	/* Mixing: a copying read after a peek consumes from the same place. */
	CHECK_EQ(read_n(p, 10), 10);
	CHECK_EQ(shml_release(&p->b, 1), SHML_ESTATE); /* the read cancelled the peek */
	n = shml_peek(&p->b, &r);
	CHECK_EQ(n, 20);
	CHECK_EQ(shml_release(&p->b, 20), 0);
	rpos += 20;
	CHECK_EQ(shml_peek(&p->b, &r), SHML_EAGAIN);
	CHECK_EQ(shml_release(&p->b, 0), SHML_ESTATE); /* failed peek: nothing to release */
	CHECK_EQ(wpos, rpos);

	/* Fill completely with reserve/commit, then reserve says EAGAIN. */
	uint64_t filled = 0;
	while ((n = shml_reserve(&p->a, RING, &w)) > 0) {
		for (int32_t i = 0; i < n; i++)
			((uint8_t *)w)[i] = sbyte(wpos + (uint64_t)i);
		CHECK_EQ(shml_commit(&p->a, (size_t)n), 0);
		wpos += (uint64_t)n;
		filled += (uint64_t)n;
	}
	CHECK_EQ(n, SHML_EAGAIN);
	CHECK_EQ(filled, RING);
	CHECK_EQ(shml_commit(&p->a, 0), SHML_ESTATE); /* a failed reserve leaves none */
	CHECK_EQ(read_n(p, 2 * RING), RING);
}

static void wrong_mode(void)
{
	struct tu_config ts, tm;
	struct tu_pair s, m;
	uint8_t buf[16] = { 0 };

	tu_config_init(&ts, SHML_MODE_STREAM, RING);
	tu_pair_open(&s, &ts.cfg, 1);
	CHECK_EQ(shml_send(&s.a, buf, 4), SHML_EINVAL);
	CHECK_EQ(shml_send_wait(&s.a, buf, 4, 1000), SHML_EINVAL);
	CHECK_EQ(shml_recv(&s.b, buf, sizeof(buf)), SHML_EINVAL);
	CHECK_EQ(shml_recv_wait(&s.b, buf, sizeof(buf), 1000), SHML_EINVAL);
	/* Nothing was sent by the refused calls. */
	CHECK_EQ(shml_read(&s.b, buf, sizeof(buf)), SHML_EAGAIN);
	tu_pair_close(&s);

	tu_config_init(&tm, SHML_MODE_MESSAGE, RING);
	tu_pair_open(&m, &tm.cfg, 1);
	CHECK_EQ(shml_write(&m.a, buf, 4), SHML_EINVAL);
	CHECK_EQ(shml_write_all(&m.a, buf, 4, 1000), SHML_EINVAL);
	CHECK_EQ(shml_read(&m.b, buf, sizeof(buf)), SHML_EINVAL);
	CHECK_EQ(shml_read_wait(&m.b, buf, sizeof(buf), 1000), SHML_EINVAL);
	CHECK_EQ(shml_recv(&m.b, buf, sizeof(buf)), SHML_EAGAIN);
	tu_pair_close(&m);
}

int main(void)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_counters ca, cb;

	tu_config_init(&t, SHML_MODE_STREAM, RING);
	tu_pair_open(&p, &t.cfg, 1);
	basic(&p);
	wrapping(&p);
	zero_copy(&p, &t.cfg);

	/* The other direction is a stream too. */
	CHECK_EQ(shml_write(&p.b, "pong", 4), 4);
	char back[8] = { 0 };
	CHECK_EQ(shml_read(&p.a, back, sizeof(back)), 4);
	CHECK(memcmp(back, "pong", 4) == 0);

	shml_get_counters(&p.a, &ca);
	shml_get_counters(&p.b, &cb);
	CHECK_EQ(ca.tx_bytes, wpos);
	CHECK_EQ(cb.rx_bytes, rpos);
	CHECK_EQ(ca.protocol_errors + cb.protocol_errors, 0);
	tu_pair_close(&p);

	wrong_mode();
	printf("test_stream: ok (%llu bytes: partial writes, 1-byte reads, wrap on write and "
	       "read, 0-byte calls, zero-copy spans, EINVAL across modes)\n",
	       (unsigned long long)wpos);
	return 0;
}
