/* SPDX-License-Identifier: MIT */
/* The VM tests' traffic (workload.h). Freestanding: memcpy/memset only. */
#include "workload.h"

/* No <string.h>: the 32-bit baremetal build has no libc headers. */
#define memcpy __builtin_memcpy
#define memmove __builtin_memmove
#define memset __builtin_memset

static const struct shml_domain_cfg wl_domains[] = {
	{ .name = "vm0", .id = 100 },
	{ .name = "vm1", .id = 101 },
};

static const struct shml_channel_cfg wl_channels[WL_N_CHANNELS] = {
	{ .name = "bulk-msg",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 1u << 20,
	  .ring_ba = 1u << 20 },
	{ .name = "bulk-stream",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_STREAM,
	  .ring_ab = 1u << 20,
	  .ring_ba = 1u << 20 },
	{ .name = "ping",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 1u << 16,
	  .ring_ba = 1u << 16 },
	{ .name = "ledger",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 1u << 18,
	  .ring_ba = 1u << 18 },
};

const struct shml_config wl_config = {
	.region_size = WL_CONFIG_BYTES,
	.cacheline = 64,
	.n_domains = 2,
	.domains = wl_domains,
	.n_channels = WL_N_CHANNELS,
	.channels = wl_channels,
};

uint32_t wl_payload_len(uint32_t seq, uint32_t min, uint32_t max)
{
	uint32_t span = (max - min) / 4u + 1u; /* 32-bit division: fine everywhere */
	uint32_t h = seq * 2654435761u;
	h ^= h >> 15;
	return min + (h % span) * 4u;
}

static uint32_t seed_of(uint32_t salt, uint32_t seq)
{
	uint32_t x = (seq + 1u) * 0x9e3779b9u ^ (salt * 0x85ebca6bu);
	return x ? x : 1u;
}

static uint32_t sum_words(const uint8_t *p, uint32_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (uint32_t i = 0; i < n; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		h = (h ^ w) * 0x01000193u;
	}
	return h;
}

uint32_t wl_make(void *buf, uint32_t salt, uint32_t seq, uint32_t len)
{
	uint8_t *b = buf;
	struct wl_hdr h = { .magic = WL_MAGIC, .seq = seq, .len = len };
	uint32_t x = seed_of(salt, seq), s = 0x811c9dc5u;
	for (uint32_t i = 0; i < len; i += 4) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		memcpy(b + WL_HDR + i, &x, 4);
		s = (s ^ x) * 0x01000193u;
	}
	h.sum = s;
	memcpy(b, &h, sizeof(h));
	return WL_HDR + len;
}

int wl_check(const void *buf, uint32_t n, uint32_t salt, uint32_t seq, uint32_t min, uint32_t max)
{
	struct wl_hdr h;
	(void)salt;
	if (n < WL_HDR)
		return WL_ELEN;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != WL_MAGIC)
		return WL_EMAGIC;
	if (h.seq != seq)
		return WL_ESEQ;
	if (h.len != wl_payload_len(seq, min, max) || n != WL_HDR + h.len)
		return WL_ELEN;
	if (h.sum != sum_words((const uint8_t *)buf + WL_HDR, h.len))
		return WL_ESUM;
	return 0;
}

const char *wl_strerror(int err)
{
	switch (err) {
	case WL_EMAGIC:
		return "frame without magic";
	case WL_ESEQ:
		return "frame out of sequence";
	case WL_ELEN:
		return "frame length wrong";
	case WL_ESUM:
		return "frame checksum wrong";
	case WL_ETIME:
		return "timed out";
	default:
		return shml_strerror(err);
	}
}

#define MIN_PAYLOAD 4u

int wl_duplex(struct shml_chan *ch, uint64_t bytes, uint32_t max_payload, uint32_t salt_tx,
              uint32_t salt_rx, const struct wl_clock *clk, uint64_t timeout_ns, uint8_t *txbuf,
              uint8_t *rxbuf, uint32_t rxcap, struct wl_result *r)
{
	uint64_t start = 0, deadline = clk->now_ns(clk->ctx) + timeout_ns;
	int stream = ch->mode == SHML_MODE_STREAM;
	uint32_t flen = 0, off = 0, have = 0;
	int pending = 0;
	memset(r, 0, sizeof(*r));
	while (r->tx_bytes < bytes || r->rx_bytes < bytes) {
		int progress = 0;
		/* Send while there is room. */
		while (r->tx_bytes < bytes) {
			int32_t rc;
			if (!pending) {
				uint32_t len = wl_payload_len((uint32_t)r->tx_frames, MIN_PAYLOAD,
				                              max_payload);
				flen = wl_make(txbuf, salt_tx, (uint32_t)r->tx_frames, len);
				off = 0;
				pending = 1;
			}
			rc = stream ? shml_write(ch, txbuf + off, flen - off)
			            : shml_send(ch, txbuf, flen);
			if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN)
				break;
			if (rc < 0)
				return rc;
			progress = 1;
			/* The clock starts with the first data moved, not with the handshake. */
			if (!start)
				start = clk->now_ns(clk->ctx);
			off = stream ? off + (uint32_t)rc : flen;
			if (off == flen) {
				pending = 0;
				r->tx_frames++;
				r->tx_bytes += flen;
			}
		}
		/* Receive what is there. */
		while (r->rx_bytes < bytes) {
			int32_t n = stream ? shml_read(ch, rxbuf + have, rxcap - have)
			                   : shml_recv(ch, rxbuf, rxcap);
			if (n == SHML_EAGAIN || n == SHML_ENOTCONN)
				break;
			if (n < 0)
				return n;
			progress = 1;
			if (!start)
				start = clk->now_ns(clk->ctx);
			if (!stream) {
				int e = wl_check(rxbuf, (uint32_t)n, salt_rx,
				                 (uint32_t)r->rx_frames, MIN_PAYLOAD, max_payload);
				if (e) {
					r->bad_seq = (uint32_t)r->rx_frames;
					return e;
				}
				r->rx_frames++;
				r->rx_bytes += (uint32_t)n;
				continue;
			}
			have += (uint32_t)n;
			uint32_t pos = 0;
			while (have - pos >= WL_HDR) {
				struct wl_hdr h;
				int e;
				memcpy(&h, rxbuf + pos, sizeof(h));
				if (h.magic != WL_MAGIC || h.len > max_payload) {
					r->bad_seq = (uint32_t)r->rx_frames;
					return h.magic != WL_MAGIC ? WL_EMAGIC : WL_ELEN;
				}
				if (have - pos < WL_HDR + h.len)
					break;
				e = wl_check(rxbuf + pos, WL_HDR + h.len, salt_rx,
				             (uint32_t)r->rx_frames, MIN_PAYLOAD, max_payload);
				if (e) {
					r->bad_seq = (uint32_t)r->rx_frames;
					return e;
				}
				pos += WL_HDR + h.len;
				r->rx_frames++;
				r->rx_bytes += WL_HDR + h.len;
			}
			if (pos) {
				memmove(rxbuf, rxbuf + pos, have - pos);
				have -= pos;
			}
		}
		if (!progress) {
			uint64_t now = clk->now_ns(clk->ctx);
			unsigned ev = SHML_EV_STATE;
			size_t need = 0;
			int w;
			if (now >= deadline)
				return WL_ETIME;
			if (r->tx_bytes < bytes) {
				ev |= SHML_EV_WRITABLE;
				/* Stream: wait for a useful amount of room, not one byte. */
				need = stream ? (flen - off < 4096u ? flen - off : 4096u) : flen;
			}
			if (r->rx_bytes < bytes)
				ev |= SHML_EV_READABLE;
			r->waits++;
			w = shml_wait(ch, ev, need, deadline - now);
			if (w < 0)
				return w;
		}
	}
	r->ns = start ? clk->now_ns(clk->ctx) - start : 0;
	return 0;
}

int wl_ping(struct shml_chan *ch, uint32_t warmup, uint32_t rounds, uint32_t size,
            const struct wl_clock *clk, uint64_t timeout_ns, uint8_t *buf, uint32_t *rtt_ns)
{
	for (uint32_t i = 0; i < warmup + rounds; i++) {
		uint32_t n = wl_make(buf, 7u, i, size);
		uint64_t t0 = clk->now_ns(clk->ctx), dt;
		int32_t rc = shml_send_wait(ch, buf, n, timeout_ns);
		if (rc < 0)
			return rc;
		rc = shml_recv_wait(ch, buf, WL_HDR + size, timeout_ns);
		if (rc < 0)
			return rc;
		dt = clk->now_ns(clk->ctx) - t0;
		rc = wl_check(buf, (uint32_t)rc, 7u, i, size, size);
		if (rc)
			return rc;
		if (i >= warmup)
			rtt_ns[i - warmup] = dt > 0xffffffffu ? 0xffffffffu : (uint32_t)dt;
	}
	return 0;
}

int wl_pong(struct shml_chan *ch, uint32_t warmup, uint32_t rounds, uint64_t timeout_ns,
            uint8_t *buf, uint32_t cap)
{
	for (uint32_t i = 0; i < warmup + rounds; i++) {
		int32_t n = shml_recv_wait(ch, buf, cap, timeout_ns);
		struct wl_hdr h;
		if (n < 0)
			return n;
		if ((uint32_t)n < WL_HDR)
			return WL_ELEN;
		memcpy(&h, buf, sizeof(h));
		if (h.magic != WL_MAGIC)
			return WL_EMAGIC;
		if (h.seq != i)
			return WL_ESEQ;
		n = shml_send_wait(ch, buf, (size_t)n, timeout_ns);
		if (n < 0)
			return n;
	}
	return 0;
}

char *wl_u64(char *buf, uint64_t v)
{
	static const uint64_t pow10[] = { 10000000000000000000ull,
		                          1000000000000000000ull,
		                          100000000000000000ull,
		                          10000000000000000ull,
		                          1000000000000000ull,
		                          100000000000000ull,
		                          10000000000000ull,
		                          1000000000000ull,
		                          100000000000ull,
		                          10000000000ull,
		                          1000000000ull,
		                          100000000ull,
		                          10000000ull,
		                          1000000ull,
		                          100000ull,
		                          10000ull,
		                          1000ull,
		                          100ull,
		                          10ull,
		                          1ull };
	char *p = buf;
	int started = 0;
	for (unsigned i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
		char d = '0';
		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		if (d != '0' || started || i + 1 == sizeof(pow10) / sizeof(pow10[0])) {
			*p++ = d;
			started = 1;
		}
	}
	*p = 0;
	return buf;
}
