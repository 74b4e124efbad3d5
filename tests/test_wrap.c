/* SPDX-License-Identifier: MIT */
/*
 * Ring arithmetic across the u32 position wrap: more than 4 GiB through a
 * 64 KiB message ring (zero-copy, large and odd sizes, padding records) and
 * through a 64 KiB stream ring (write/read, odd chunk sizes). Every message
 * carries its sequence number and checked bytes; the stream is compared in
 * full. Counters and the published positions must agree at the end.
 */
#include <string.h>

#include "testutil.h"

#define RING (64u * 1024u)

/* 4.5 GiB: well past 2^32 (takes well under a second, also under ASan). */
#define TOTAL ((1ull << 32) + (512ull << 20))

/* Large messages, and odd sizes that put record ends at every alignment. */
static const uint32_t sizes[] = { 16384 - 8, 16383, 32760, 12345, 1, 0, 20001, 16385, 7, 32759 };

static uint64_t msg_count, msg_pads, stream_writes, stream_partial;
static uint32_t msg_final;

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* The bytes a message carries: its seq first, then a tag in the middle and at the end. */
static void stamp(uint8_t *p, uint32_t len, uint32_t seq)
{
	if (len >= 4)
		wr32(p, seq);
	if (len >= 12)
		wr32(p + len / 2, seq * 2654435761u);
	if (len >= 8)
		wr32(p + len - 4, ~seq);
	if (len > 0 && len < 4)
		p[0] = (uint8_t)seq;
}

static void verify(const uint8_t *p, uint32_t len, uint32_t seq)
{
	if (len >= 4)
		CHECK_EQ(rd32(p), seq);
	if (len >= 12)
		CHECK_EQ(rd32(p + len / 2), seq * 2654435761u);
	if (len >= 8)
		CHECK_EQ(rd32(p + len - 4), ~seq);
	if (len > 0 && len < 4)
		CHECK_EQ(p[0], (uint8_t)seq);
}

static void message_wrap(void)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_counters ca, cb;
	struct shml_side_view va, vb;
	uint64_t sent_bytes = 0, recv_bytes = 0, sent = 0, recvd = 0, pads = 0;
	uint64_t rng = 12345;
	uint32_t max;

	tu_config_init(&t, SHML_MODE_MESSAGE, RING);
	tu_pair_open(&p, &t.cfg, 1);
	max = shml_channel_max_message(&t.cfg, 0);
	CHECK_EQ(max, RING / 2 - 8);

	while (sent_bytes < TOTAL || recvd < sent) {
		/* Send a random burst of 1..4 while there is room and volume left. */
		int burst = 1 + (int)(tu_rand(&rng) % 4);
		for (int i = 0; i < burst && sent_bytes < TOTAL; i++) {
			uint32_t len = sizes[sent % (sizeof(sizes) / sizeof(sizes[0]))];
			void *dst;
			int32_t r = shml_reserve(&p.a, len, &dst);
			if (r == SHML_EAGAIN)
				break;
			CHECK_EQ(r, len);
			stamp(dst, len, (uint32_t)sent);
			CHECK_EQ(shml_commit(&p.a, len), 0);
			sent++;
			sent_bytes += len;
		}
		/* Receive a random number (at least one if any is there). */
		int take = 1 + (int)(tu_rand(&rng) % 4);
		for (int i = 0; i < take; i++) {
			const void *src;
			int32_t r = shml_peek(&p.b, &src);
			if (r == SHML_EAGAIN)
				break;
			CHECK(r >= 0);
			CHECK_EQ(r, sizes[recvd % (sizeof(sizes) / sizeof(sizes[0]))]);
			verify(src, (uint32_t)r, (uint32_t)recvd);
			CHECK_EQ(shml_release(&p.b, 0), 0);
			recvd++;
			recv_bytes += (uint32_t)r;
		}
	}
	CHECK_EQ(sent, recvd);
	CHECK_EQ(sent_bytes, recv_bytes);
	const void *dummy;
	CHECK_EQ(shml_peek(&p.b, &dummy), SHML_EAGAIN);

	shml_get_counters(&p.a, &ca);
	shml_get_counters(&p.b, &cb);
	CHECK_EQ(ca.tx_messages, sent);
	CHECK_EQ(ca.tx_bytes, sent_bytes);
	CHECK_EQ(cb.rx_messages, recvd);
	CHECK_EQ(cb.rx_bytes, recv_bytes);
	CHECK_EQ(ca.resets, 0);
	CHECK_EQ(cb.resets, 0);
	CHECK_EQ(ca.protocol_errors, 0);
	CHECK_EQ(cb.protocol_errors, 0);

	/* The ring positions (payload + headers + padding) went past 2^32 and wrapped. */
	shml_publish_counters(&p.a);
	shml_inspect_side(&p.ra, 0, 0, &va);
	shml_inspect_side(&p.rb, 0, 1, &vb);
	CHECK_EQ(va.tx_pos, vb.rx_pos);
	CHECK_EQ(va.state, SHML_STATE_EST);
	CHECK_EQ(vb.state, SHML_STATE_EST);
	CHECK(va.stats_valid);
	CHECK_EQ(va.counters.tx_bytes, sent_bytes);
	/*
	 * Replay the placement rule independently (8-byte header + payload
	 * rounded to 8; a record that does not fit before the ring's end is
	 * preceded by a padding record filling the tail): the 64-bit position
	 * must be past 2^32 and equal the published u32 position modulo 2^32.
	 */
	uint64_t pos = 0;
	for (uint64_t i = 0; i < sent; i++) {
		uint32_t len = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		uint64_t rec = 8 + ((len + 7u) & ~7u), tail = RING - (pos & (RING - 1));
		if (tail < rec) {
			pos += tail;
			pads++;
		}
		pos += rec;
	}
	CHECK(pos > (1ull << 32));
	CHECK(pads > 0);
	CHECK_EQ(va.tx_pos, (uint32_t)pos);
	tu_pair_close(&p);
	msg_count = sent;
	msg_pads = pads;
	msg_final = va.tx_pos;
}

#define PERIOD 65521u /* prime: the pattern never lines up with the ring */

static void stream_wrap(void)
{
	static uint8_t pattern[PERIOD + RING + 64];
	static uint8_t in[RING + 64];
	struct tu_config t;
	struct tu_pair p;
	struct shml_counters ca, cb;
	struct shml_side_view va, vb;
	uint64_t wpos = 0, rpos = 0, rng = 777, writes = 0, partial = 0;

	for (uint32_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)((i % PERIOD) * 131u + ((i % PERIOD) >> 9));
	tu_config_init(&t, SHML_MODE_STREAM, RING);
	tu_pair_open(&p, &t.cfg, 1);

	while (rpos < TOTAL) {
		if (wpos < TOTAL) {
			uint64_t want = 1 + tu_rand(&rng) % (RING - 1);
			if (want > TOTAL - wpos)
				want = TOTAL - wpos;
			int32_t n = shml_write(&p.a, pattern + wpos % PERIOD, (size_t)want);
			if (n != SHML_EAGAIN) {
				CHECK(n > 0);
				CHECK((uint64_t)n <= want);
				partial += (uint64_t)n < want;
				wpos += (uint64_t)n;
				writes++;
			}
		}
		uint64_t cap = 1 + tu_rand(&rng) % RING;
		int32_t n = shml_read(&p.b, in, (size_t)cap);
		if (n == SHML_EAGAIN)
			continue;
		CHECK(n > 0);
		CHECK((uint64_t)n <= cap);
		CHECK(memcmp(in, pattern + rpos % PERIOD, (size_t)n) == 0);
		rpos += (uint64_t)n;
	}
	CHECK_EQ(wpos, TOTAL);
	CHECK_EQ(rpos, TOTAL);
	CHECK_EQ(shml_read(&p.b, in, 1), SHML_EAGAIN);
	CHECK(partial > 0);

	shml_get_counters(&p.a, &ca);
	shml_get_counters(&p.b, &cb);
	CHECK_EQ(ca.tx_bytes, TOTAL);
	CHECK_EQ(cb.rx_bytes, TOTAL);
	CHECK_EQ(ca.tx_messages, writes);
	CHECK_EQ(ca.protocol_errors, 0);
	CHECK_EQ(cb.protocol_errors, 0);
	CHECK_EQ(ca.resets + cb.resets, 0);
	shml_inspect_side(&p.ra, 0, 0, &va);
	shml_inspect_side(&p.rb, 0, 1, &vb);
	CHECK_EQ(va.tx_pos, (uint32_t)TOTAL); /* wrapped: TOTAL mod 2^32 */
	CHECK_EQ(vb.rx_pos, (uint32_t)TOTAL);
	tu_pair_close(&p);
	stream_writes = writes;
	stream_partial = partial;
}

int main(void)
{
	message_wrap();
	stream_wrap();
	printf("test_wrap: ok (%.2f GiB each way past the u32 wrap: %llu zero-copy messages "
	       "with %llu padding records, tx_pos 0x%08x = replayed placement; %llu stream writes "
	       "(%llu partial), every byte compared; counters exact)\n",
	       (double)TOTAL / (1u << 30), (unsigned long long)msg_count,
	       (unsigned long long)msg_pads, msg_final, (unsigned long long)stream_writes,
	       (unsigned long long)stream_partial);
	return 0;
}
