/* SPDX-License-Identifier: MIT */
/*
 * Three domains (a, b, c) in one region, three channels: a-b message, b-c
 * stream, a-c message; one shml_region view per domain, all in one process.
 * Traffic in all six directions interleaved at random, every byte checked,
 * rings filled to the brim (channels must not overlap); then resets of a-b
 * (close/re-open, and a crash-restart) must not disturb b-c or a-c, which
 * keep their in-flight data and never see a reset.
 */
#include <string.h>

#include "testutil.h"

enum { DA, DB, DC };
enum { CH_AB, CH_BC, CH_AC, N_CH };

static const struct shml_domain_cfg domains[] = {
	{ .name = "a", .id = 100 },
	{ .name = "b", .id = 200 },
	{ .name = "c", .id = 300 },
};
static const struct shml_channel_cfg channels[] = {
	{ .name = "ab",
	  .a = DA,
	  .b = DB,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 1024,
	  .ring_ba = 512 },
	{ .name = "bc",
	  .a = DB,
	  .b = DC,
	  .mode = SHML_MODE_STREAM,
	  .ring_ab = 512,
	  .ring_ba = 256 },
	{ .name = "ac",
	  .a = DA,
	  .b = DC,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 2048,
	  .ring_ba = 256,
	  .max_message = 100 },
};

/* One direction of one channel. */
struct link {
	const char *name;
	uint32_t id, mode, max;
	struct shml_chan **tx, **rx; /* through pointers: a restart swaps structs */
	uint64_t sent, recvd;        /* messages (message mode) or bytes (stream) */
	uint64_t resets;             /* SHML_ERESETs seen by its ends */
};

static struct shml_region reg[3];
/* ends[channel][side]; spare structs for crash-restarts. */
static struct shml_chan ends_store[N_CH][2], spare[N_CH][2];
static struct shml_chan *ends[N_CH][2];
static struct link links[2 * N_CH];
static int chan_resets[N_CH][2];

static uint8_t sbyte(uint32_t id, uint64_t pos)
{
	return (uint8_t)(pos * 131u + id * 17u + (pos >> 9));
}

static void make_msg(uint8_t *buf, uint32_t id, uint64_t seq, size_t len)
{
	uint32_t h[2] = { id, (uint32_t)seq };
	memcpy(buf, h, sizeof(h));
	tu_fill(buf + 8, len - 8, seq * 8 + id);
}

static void check_msg(const uint8_t *buf, int32_t len, uint32_t id, uint64_t seq)
{
	static uint8_t expect[2048];
	uint32_t h[2];
	CHECK(len >= 8);
	memcpy(h, buf, sizeof(h));
	CHECK_EQ(h[0], id);
	CHECK_EQ(h[1], (uint32_t)seq);
	tu_fill(expect, (size_t)len - 8, seq * 8 + id);
	CHECK(memcmp(buf + 8, expect, (size_t)len - 8) == 0);
}

/* The link whose sender is @ch. */
static struct link *out_link(struct shml_chan *ch)
{
	for (int i = 0; i < 2 * N_CH; i++)
		if (*links[i].tx == ch)
			return &links[i];
	CHECK(0);
	return NULL;
}

/* A call on @ch said SHML_ERESET: the discards must be exactly what was in flight. */
static void on_reset(struct shml_chan *ch)
{
	struct link *l = out_link(ch);
	struct shml_reset_info ri;
	const void *d;
	int32_t n;
	uint64_t k = l->recvd;
	l->resets++;
	for (int c = 0; c < N_CH; c++)
		for (int e = 0; e < 2; e++)
			chan_resets[c][e] += ends[c][e] == ch;
	CHECK_EQ(shml_reset_info(ch, &ri), 0);
	CHECK_EQ(ri.exact, 1);
	while ((n = shml_discarded_next(ch, &d)) >= 0) {
		if (l->mode == SHML_MODE_MESSAGE) {
			check_msg(d, n, l->id, k);
			k++;
		} else {
			for (int32_t i = 0; i < n; i++)
				CHECK_EQ(((const uint8_t *)d)[i], sbyte(l->id, k + (uint64_t)i));
			k += (uint64_t)n;
		}
	}
	CHECK_EQ(n, SHML_EAGAIN);
	CHECK_EQ(k, l->sent);
	if (l->mode == SHML_MODE_MESSAGE)
		CHECK_EQ(ri.messages, l->sent - l->recvd);
	else
		CHECK_EQ(ri.bytes, l->sent - l->recvd);
	l->recvd = l->sent; /* the receiver will next see what is sent from now on */
}

static int ok_rc(struct shml_chan *ch, int rc)
{
	if (rc == SHML_ERESET)
		on_reset(ch);
	else
		CHECK(rc >= 0 || rc == SHML_EAGAIN || rc == SHML_ENOTCONN);
	return rc;
}

/* One send (or write); returns 1 if something was sent. */
static int push(struct link *l, uint64_t *rng)
{
	uint8_t buf[2048];
	if (l->mode == SHML_MODE_MESSAGE) {
		size_t len = 8 + (size_t)(tu_rand(rng) % (l->max - 7));
		make_msg(buf, l->id, l->sent, len);
		if (ok_rc(*l->tx, shml_send(*l->tx, buf, len)) != 0)
			return 0;
		l->sent++;
		return 1;
	}
	size_t len = 1 + (size_t)(tu_rand(rng) % 600);
	for (size_t i = 0; i < len; i++)
		buf[i] = sbyte(l->id, l->sent + i);
	int32_t n = ok_rc(*l->tx, shml_write(*l->tx, buf, len));
	if (n <= 0)
		return 0;
	l->sent += (uint64_t)n;
	return 1;
}

/* One receive (or read); returns 1 if something arrived. */
static int pull(struct link *l, uint64_t *rng)
{
	uint8_t buf[2048];
	if (l->mode == SHML_MODE_MESSAGE) {
		int32_t n = ok_rc(*l->rx, shml_recv(*l->rx, buf, sizeof(buf)));
		if (n < 0)
			return 0;
		check_msg(buf, n, l->id, l->recvd);
		l->recvd++;
		return 1;
	}
	size_t cap = 1 + (size_t)(tu_rand(rng) % 700);
	int32_t n = ok_rc(*l->rx, shml_read(*l->rx, buf, cap));
	if (n <= 0)
		return 0;
	for (int32_t i = 0; i < n; i++)
		CHECK_EQ(buf[i], sbyte(l->id, l->recvd + (uint64_t)i));
	l->recvd += (uint64_t)n;
	return 1;
}

static void poll_all(void)
{
	for (int c = 0; c < N_CH; c++)
		for (int s = 0; s < 2; s++)
			ok_rc(ends[c][s], shml_poll(ends[c][s]));
}

static int all_connected(void)
{
	for (int c = 0; c < N_CH; c++)
		for (int s = 0; s < 2; s++)
			if (!shml_connected(ends[c][s]))
				return 0;
	return 1;
}

static void settle(void)
{
	for (int i = 0; i < 100 && !all_connected(); i++)
		poll_all();
	CHECK(all_connected());
}

static void traffic(uint64_t *rng, int ops)
{
	for (int i = 0; i < ops; i++) {
		struct link *l = &links[tu_rand(rng) % (2 * N_CH)];
		switch (tu_rand(rng) % 8) {
		case 0: /* fill the ring to the brim */
			while (push(l, rng))
				;
			break;
		case 1: /* drain it */
			while (pull(l, rng))
				;
			break;
		case 2:
		case 3:
		case 4:
			push(l, rng);
			break;
		default:
			pull(l, rng);
			break;
		}
	}
}

static void drain_all(uint64_t *rng)
{
	for (int i = 0; i < 2 * N_CH; i++) {
		while (pull(&links[i], rng))
			;
		CHECK_EQ(links[i].recvd, links[i].sent);
	}
}

int main(void)
{
	struct shml_config cfg = { .cacheline = 64,
		                   .n_domains = 3,
		                   .domains = domains,
		                   .n_channels = N_CH,
		                   .channels = channels };
	struct shml_port port;
	struct shml_chan dummy;
	struct shml_counters cnt;
	void *mem;
	uint64_t rng = 2024;
	static const uint32_t owner[N_CH][2] = { { DA, DB }, { DB, DC }, { DA, DC } };

	cfg.region_size = shml_layout_bytes(&cfg);
	CHECK_EQ(shml_config_check(&cfg, NULL), 0);
	CHECK(posix_memalign(&mem, 4096, cfg.region_size) == 0);
	tu_fill(mem, cfg.region_size, 3);
	shml_host_port_init(&port);
	for (uint32_t d = 0; d < 3; d++)
		CHECK_EQ(shml_region_attach(&reg[d], &cfg, d, mem, cfg.region_size, &port), 0);

	/* A domain may open only its own channels. */
	CHECK_EQ(shml_chan_open(&reg[DA], &dummy, CH_BC, NULL), SHML_EINVAL);
	CHECK_EQ(shml_chan_open(&reg[DB], &dummy, CH_AC, NULL), SHML_EINVAL);
	CHECK_EQ(shml_chan_open(&reg[DC], &dummy, CH_AB, NULL), SHML_EINVAL);

	/* Open in a scattered order: c's ends first, then b's, then a's. */
	static const int order[][2] = { { CH_AC, 1 }, { CH_BC, 1 }, { CH_BC, 0 },
		                        { CH_AB, 1 }, { CH_AB, 0 }, { CH_AC, 0 } };
	for (int i = 0; i < 6; i++) {
		int c = order[i][0], s = order[i][1];
		ends[c][s] = &ends_store[c][s];
		CHECK_EQ(shml_chan_open(&reg[owner[c][s]], ends[c][s], (uint32_t)c, NULL), 0);
	}
	for (int c = 0; c < N_CH; c++) {
		/* One "forward" link (side A -> side B) and one "backward" per channel. */
		for (int dir = 0; dir < 2; dir++) {
			struct link *l = &links[2 * c + dir];
			l->name = channels[c].name;
			l->id = (uint32_t)(2 * c + dir);
			l->mode = channels[c].mode;
			l->max = l->mode == SHML_MODE_MESSAGE
			                 ? shml_channel_max_message(&cfg, (uint32_t)c)
			                 : 0;
			l->tx = &ends[c][dir];
			l->rx = &ends[c][1 - dir];
		}
	}
	settle();
	for (uint32_t d = 0; d < 3; d++)
		for (uint32_t e = 0; e < 3; e++) {
			struct shml_slot_info si;
			shml_read_slot(&reg[d], e, &si);
			CHECK_EQ(si.valid, 1);
			CHECK_EQ(si.domain_id, domains[e].id);
		}

	/* Interleaved traffic on all six directions. */
	traffic(&rng, 20000);
	drain_all(&rng);
	for (int c = 0; c < N_CH; c++)
		CHECK_EQ(chan_resets[c][0] + chan_resets[c][1], 0);

	/* Reset a-b with data in flight everywhere: b closes and re-opens its end. */
	traffic(&rng, 300);
	for (int i = 0; i < 2 * N_CH; i++)
		push(&links[i], &rng);
	uint64_t bc_inflight = links[2 * CH_BC].sent - links[2 * CH_BC].recvd;
	uint64_t ac_inflight = links[2 * CH_AC].sent - links[2 * CH_AC].recvd;
	CHECK(bc_inflight > 0 && ac_inflight > 0);
	shml_chan_close(ends[CH_AB][1]);
	CHECK_EQ(shml_chan_open(&reg[DB], ends[CH_AB][1], CH_AB, NULL), 0);
	/* b-c and a-c: still established, nothing reset, in-flight data intact. */
	for (int s = 0; s < 2; s++) {
		CHECK_EQ(shml_poll(ends[CH_BC][s]), 1);
		CHECK_EQ(shml_poll(ends[CH_AC][s]), 1);
	}
	while (pull(&links[2 * CH_BC], &rng))
		;
	while (pull(&links[2 * CH_AC], &rng))
		;
	CHECK_EQ(links[2 * CH_BC].recvd, links[2 * CH_BC].sent);
	CHECK_EQ(links[2 * CH_AC].recvd, links[2 * CH_AC].sent);
	settle();
	CHECK(chan_resets[CH_AB][0] >= 1); /* a's end of a-b saw the reset */

	/* Then a "crashes" on a-b (a new struct, no close); a-c (same domain) is untouched. */
	traffic(&rng, 300);
	for (int i = 0; i < 2 * N_CH; i++)
		push(&links[i], &rng);
	ends[CH_AB][0] = &spare[CH_AB][0];
	memset(ends[CH_AB][0], 0xee, sizeof(struct shml_chan));
	CHECK_EQ(shml_chan_open(&reg[DA], ends[CH_AB][0], CH_AB, NULL), 0);
	traffic(&rng, 5000);
	settle();
	drain_all(&rng);

	/* Only the a-b ends ever saw resets. */
	for (int c = CH_BC; c <= CH_AC; c++)
		for (int s = 0; s < 2; s++) {
			CHECK_EQ(chan_resets[c][s], 0);
			shml_get_counters(ends[c][s], &cnt);
			CHECK_EQ(cnt.resets, 0);
			CHECK_EQ(cnt.protocol_errors, 0);
			CHECK_EQ(cnt.discarded_messages + cnt.discarded_bytes, 0);
		}
	CHECK(chan_resets[CH_AB][0] + chan_resets[CH_AB][1] >= 2);

	/* A final exchange on every link. */
	for (int i = 0; i < 2 * N_CH; i++) {
		CHECK_EQ(push(&links[i], &rng), 1);
		CHECK_EQ(pull(&links[i], &rng), 1);
	}
	uint64_t total = 0;
	for (int i = 0; i < 2 * N_CH; i++)
		total += links[i].sent;
	for (int c = 0; c < N_CH; c++)
		for (int s = 0; s < 2; s++)
			shml_chan_close(ends[c][s]);
	free(mem);
	printf("test_three_domains: ok (3 views, 6 directions, %llu messages/bytes checked; "
	       "a-b resets (%d, %d) left b-c and a-c untouched)\n",
	       (unsigned long long)total, chan_resets[CH_AB][0], chan_resets[CH_AB][1]);
	return 0;
}
