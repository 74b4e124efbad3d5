/* SPDX-License-Identifier: MIT */
/*
 * One program, built for the 64-bit host and for 32-bit targets (i686,
 * armhf under qemu-user), to show that a region means the same to both:
 *
 *   layout_peer dump
 *       print the layout and config hash of several configurations (one
 *       larger than 4 GiB); the 32-bit and 64-bit outputs must be identical.
 *   layout_peer run FILE SIDE N
 *       map the region file FILE and be domain SIDE (0 = "a", 1 = "b") while
 *       another process, of the other word size, is the other: N checked
 *       messages each way on a message channel, then N*64 stream bytes each
 *       way, then a goodbye; side a closes first, side b after the reset.
 *   layout_peer inspect FILE N
 *       read what the two runs left in FILE without writing to it (a private
 *       copy is attached) and print every slot and side field; check the
 *       counters add up. Both word sizes must print the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmlink.h"
#include "shmlink_host.h"

#define TIMEOUT_NS 30000000000ull

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "layout_peer (%u-bit): ", (unsigned)(8 * sizeof(void *)));         \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		exit(1);                                                                           \
	} while (0)

/* ---- configurations ---------------------------------------------------------- */

static const struct shml_domain_cfg run_domains[] = { { "a", 32 }, { "b", 64 } };
static const struct shml_channel_cfg run_channels[] = {
	{ "msg", 0, 1, SHML_MODE_MESSAGE, 4096, 2048, 0 },
	{ "str", 0, 1, SHML_MODE_STREAM, 1024, 512, 0 },
};
static struct shml_config run_cfg = { 0, 64, 2, run_domains, 2, run_channels };

static const struct shml_domain_cfg big_domains[] = {
	{ "linux", 0 }, { "rtos", 7 }, { "dsp", 0xfffffffeu }, { "fw", 3 }, { "x", 99 },
};
static const struct shml_channel_cfg big_channels[] = {
	{ "ctl", 0, 1, SHML_MODE_MESSAGE, 128, 256, 40 },
	{ "bulk", 1, 2, SHML_MODE_STREAM, 1u << 20, 1u << 12, 0 },
	{ "huge", 3, 0, SHML_MODE_MESSAGE, 1u << 30, 1u << 30, 0 },
	{ "huge2", 4, 3, SHML_MODE_STREAM, 1u << 30, 1u << 30, 0 },
	{ "after4g", 2, 4, SHML_MODE_MESSAGE, 4096, 128, 0 },
};
static struct shml_config big_cfg = { 0, 128, 5, big_domains, 5, big_channels };

static void dump(const char *name, struct shml_config *cfg)
{
	struct shml_config_error err;
	cfg->region_size = shml_layout_bytes(cfg);
	if (shml_config_check(cfg, &err))
		FAIL("config %s: %s", name, err.what);
	printf("config %s: hash %016llx layout %llu slot %u side %u\n", name,
	       (unsigned long long)shml_config_hash(cfg), (unsigned long long)cfg->region_size,
	       shml_domain_slot_size(cfg), shml_side_block_size(cfg));
	for (uint32_t c = 0; c < cfg->n_channels; c++) {
		struct shml_channel_layout l;
		shml_channel_layout(cfg, c, &l);
		printf("  channel %u: max_message %u offset %llu side_a %llu side_b %llu "
		       "ring_ab %llu ring_ba %llu end %llu side_size %u\n",
		       c, shml_channel_max_message(cfg, c), (unsigned long long)l.offset,
		       (unsigned long long)l.side_a, (unsigned long long)l.side_b,
		       (unsigned long long)l.ring_ab, (unsigned long long)l.ring_ba,
		       (unsigned long long)l.end, l.side_size);
	}
}

/* ---- run: one end of the exchange ---------------------------------------------- */

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

/* Message @seq from @side: seq (4 bytes LE), then a pattern, then the checksum. */
static size_t make_msg(uint8_t *buf, uint32_t side, uint32_t seq, uint32_t max)
{
	size_t n = 8 + (seq * 53u + side * 11u) % (max - 7u);
	uint32_t sum;
	for (int i = 0; i < 4; i++)
		buf[i] = (uint8_t)(seq >> (8 * i));
	for (size_t i = 4; i + 4 < n; i++)
		buf[i] = (uint8_t)(seq * 31u + i * 7u + side);
	sum = fnv1a(buf, n - 4);
	for (int i = 0; i < 4; i++)
		buf[n - 4 + (size_t)i] = (uint8_t)(sum >> (8 * i));
	return n;
}

static uint8_t stream_byte(uint32_t side, uint32_t pos)
{
	return (uint8_t)(pos * 13u + (pos >> 8) + side * 101u);
}

static void run(const char *path, uint32_t side, uint32_t n)
{
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region r;
	struct shml_chan msg, str;
	uint32_t peer = 1u - side, max;
	static uint8_t buf[4096], want[4096];
	int rc;

	run_cfg.region_size = shml_layout_bytes(&run_cfg);
	if ((rc = shml_host_map(&hr, path, run_cfg.region_size, SHML_HOST_CREATE)) != 0)
		FAIL("map %s: %d", path, rc);
	shml_host_port_init(&port);
	if ((rc = shml_region_attach(&r, &run_cfg, side, hr.mem, hr.size, &port)) != 0 ||
	    (rc = shml_chan_open(&r, &msg, 0, NULL)) != 0 ||
	    (rc = shml_chan_open(&r, &str, 1, NULL)) != 0)
		FAIL("attach/open: %s", shml_strerror(rc));
	max = shml_channel_max_message(&run_cfg, 0);

	/* Messages: a sends first, then b; each checks everything it receives. */
	for (uint32_t turn = 0; turn < 2; turn++) {
		for (uint32_t seq = 0; seq < n; seq++) {
			if (turn == side) {
				size_t len = make_msg(buf, side, seq, max);
				if ((rc = shml_send_wait(&msg, buf, len, TIMEOUT_NS)) != 0)
					FAIL("send %u: %s", seq, shml_strerror(rc));
			} else {
				size_t len = make_msg(want, peer, seq, max);
				int32_t got = shml_recv_wait(&msg, buf, sizeof(buf), TIMEOUT_NS);
				if (got < 0)
					FAIL("receive %u: %s", seq, shml_strerror(got));
				if ((size_t)got != len || memcmp(buf, want, len) != 0)
					FAIL("message %u differs (%d bytes, want %zu)", seq, got,
					     len);
			}
		}
	}

	/* Stream: n*64 bytes each way, in odd-sized pieces. */
	for (uint32_t turn = 0; turn < 2; turn++) {
		uint32_t total = n * 64u, pos = 0;
		while (pos < total) {
			uint32_t k = 1u + (pos * 7u) % 700u;
			int32_t got;
			if (k > total - pos)
				k = total - pos;
			if (turn == side) {
				for (uint32_t i = 0; i < k; i++)
					buf[i] = stream_byte(side, pos + i);
				got = shml_write_all(&str, buf, k, TIMEOUT_NS);
				if (got != (int32_t)k)
					FAIL("stream write at %u: %d", pos, got);
			} else {
				got = shml_read_wait(&str, buf, k, TIMEOUT_NS);
				if (got <= 0)
					FAIL("stream read at %u: %s", pos, shml_strerror(got));
				for (int32_t i = 0; i < got; i++)
					if (buf[i] != stream_byte(peer, pos + (uint32_t)i))
						FAIL("stream byte %u differs", pos + (uint32_t)i);
			}
			pos += (uint32_t)got;
		}
	}

	/* Goodbye: a says bye, b answers; a closes, b waits for that reset. */
	if (side == 0) {
		if ((rc = shml_send_wait(&msg, "bye", 3, TIMEOUT_NS)) != 0)
			FAIL("send bye: %s", shml_strerror(rc));
		if ((rc = shml_recv_wait(&msg, buf, sizeof(buf), TIMEOUT_NS)) != 3)
			FAIL("receive bye: %s", shml_strerror(rc));
	} else {
		if ((rc = shml_recv_wait(&msg, buf, sizeof(buf), TIMEOUT_NS)) != 3)
			FAIL("receive bye: %s", shml_strerror(rc));
		if ((rc = shml_send_wait(&msg, "bye", 3, TIMEOUT_NS)) != 0)
			FAIL("send bye: %s", shml_strerror(rc));
		rc = shml_recv_wait(&msg, buf, sizeof(buf), TIMEOUT_NS);
		if (rc != SHML_ERESET)
			FAIL("waiting for the peer to close: %s", shml_strerror(rc));
	}
	shml_chan_close(&msg);
	shml_chan_close(&str);
	shml_host_unmap(&hr);
	printf("layout_peer (%u-bit) side %c: %u messages and %u stream bytes each way: ok\n",
	       (unsigned)(8 * sizeof(void *)), side ? 'b' : 'a', n, n * 64u);
}

/* ---- inspect: read another run's region ------------------------------------------ */

static void inspect(const char *path, uint32_t n)
{
	struct shml_region r;
	struct shml_port port;
	struct shml_side_view v[2][2];
	void *mem;
	FILE *f;
	int rc, bad = 0;

	run_cfg.region_size = shml_layout_bytes(&run_cfg);
	if (posix_memalign(&mem, 4096, (size_t)run_cfg.region_size) != 0)
		FAIL("out of memory");
	f = fopen(path, "rb");
	if (!f || fread(mem, 1, (size_t)run_cfg.region_size, f) != run_cfg.region_size)
		FAIL("cannot read %llu bytes of %s", (unsigned long long)run_cfg.region_size, path);
	fclose(f);
	/* Attaching writes our slot: do it on the private copy, not the file. */
	shml_host_port_init(&port);
	if ((rc = shml_region_attach(&r, &run_cfg, 0, mem, run_cfg.region_size, &port)) != 0)
		FAIL("attach: %s", shml_strerror(rc));
	for (uint32_t d = 0; d < 2; d++) {
		struct shml_slot_info s;
		shml_read_slot(&r, d, &s);
		printf("slot %u: magic %08x version %u hash %016llx id %u valid %d\n", d, s.magic,
		       s.version, (unsigned long long)s.config_hash, s.domain_id, s.valid);
		bad |= !s.valid;
	}
	for (uint32_t c = 0; c < 2; c++) {
		for (uint32_t side = 0; side < 2; side++) {
			struct shml_side_view *x = &v[c][side];
			const struct shml_counters *k = &x->counters;
			shml_inspect_side(&r, c, side, x);
			printf("channel %u side %c: state %s gen %u peer_gen %u tx %u rx %u wait "
			       "%08x "
			       "need %u doorbell %u finals %u/%u %u/%u stats %d\n",
			       c, side ? 'b' : 'a', shml_state_name(x->state), x->gen, x->peer_gen,
			       x->tx_pos, x->rx_pos, x->wait, x->wait_need, x->doorbell,
			       x->final_gen, x->final_tx, x->final_of, x->final_rx, x->stats_valid);
			printf("  counters: tx %llu/%llu rx %llu/%llu notify %llu/%llu wakeups "
			       "%llu "
			       "resets %llu proto %llu discarded %llu/%llu last_error %u\n",
			       (unsigned long long)k->tx_messages, (unsigned long long)k->tx_bytes,
			       (unsigned long long)k->rx_messages, (unsigned long long)k->rx_bytes,
			       (unsigned long long)k->notify_sent,
			       (unsigned long long)k->notify_suppressed,
			       (unsigned long long)k->wakeups, (unsigned long long)k->resets,
			       (unsigned long long)k->protocol_errors,
			       (unsigned long long)k->discarded_messages,
			       (unsigned long long)k->discarded_bytes, k->last_error);
			bad |= x->state != SHML_STATE_CLOSED || !x->stats_valid ||
			       k->protocol_errors != 0;
		}
	}
	/* What one side sent, the other received, and both agree with N. */
	for (uint32_t side = 0; side < 2; side++) {
		const struct shml_counters *m = &v[0][side].counters,
		                           *pm = &v[0][1 - side].counters;
		const struct shml_counters *s = &v[1][side].counters,
		                           *ps = &v[1][1 - side].counters;
		bad |= m->tx_messages != n + 1u || pm->rx_messages != m->tx_messages;
		bad |= s->tx_bytes != n * 64ull || ps->rx_bytes != s->tx_bytes;
	}
	free(mem);
	if (bad)
		FAIL("the region does not hold what the two runs should have left");
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "dump") == 0) {
		dump("run", &run_cfg);
		dump("big", &big_cfg);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "run") == 0) {
		run(argv[2], (uint32_t)strtoul(argv[3], NULL, 0) != 0,
		    (uint32_t)strtoul(argv[4], NULL, 0));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "inspect") == 0) {
		inspect(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
		return 0;
	}
	fprintf(stderr, "usage: layout_peer dump | run FILE SIDE N | inspect FILE N\n");
	return 2;
}
