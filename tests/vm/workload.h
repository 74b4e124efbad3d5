/* SPDX-License-Identifier: MIT */
/*
 * The VM tests' traffic, shared by the Linux peer (tests/vm/vmpeer.c: host
 * and guest) and the baremetal guest (tests/vm/baremetal/): the one static
 * configuration every domain uses, sequence-numbered checksummed frames,
 * full-duplex bulk transfer and ping-pong. Freestanding: no libc, no 64-bit
 * division (the baremetal guest is a 32-bit program without libgcc).
 */
#ifndef SHMLINK_VM_WORKLOAD_H
#define SHMLINK_VM_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "shmlink.h"

/* The configuration: two domains, four channels; the rest of the 8 MiB region is a ledger. */
enum { WL_CH_MSG = 0, WL_CH_STREAM = 1, WL_CH_PING = 2, WL_CH_LEDGER = 3, WL_N_CHANNELS = 4 };
#define WL_REGION_BYTES (8u << 20) /* the ivshmem region (server -l) */
#define WL_CONFIG_BYTES (6u << 20) /* what shmlink uses of it */
#define WL_LEDGER_SRC (6u << 20)   /* kill test: the source's ledger, one byte per seq */
#define WL_LEDGER_SINK (7u << 20)  /* kill test: the sink's ledger */
#define WL_LEDGER_MAX (1u << 20)   /* sequence numbers a ledger holds */
extern const struct shml_config wl_config;

/* Frames: a 16-byte header, then a payload of 32-bit words. */
#define WL_MAGIC 0x4d56484cu /* "LHVM" */
#define WL_HDR 16u
#define WL_BULK_MAX_PAYLOAD 16384u
#define WL_BULK_MAX_FRAME (WL_HDR + WL_BULK_MAX_PAYLOAD)
#define WL_END_SEQ 0xffffffffu  /* kill test: "no more" */
#define WL_DONE_SEQ 0xfffffffeu /* kill test: "all received" */

struct wl_hdr {
	uint32_t magic, seq, len, sum;
};

/* Payload bytes of frame @seq: a multiple of 4 in [min, max] (both multiples of 4). */
uint32_t wl_payload_len(uint32_t seq, uint32_t min, uint32_t max);
/* Write frame @seq from sender @salt with @len payload bytes into @buf; returns its size. */
uint32_t wl_make(void *buf, uint32_t salt, uint32_t seq, uint32_t len);
/* Check a frame: 0, or a negative WL_E* code. @seq is the one expected. */
int wl_check(const void *buf, uint32_t n, uint32_t salt, uint32_t seq, uint32_t min, uint32_t max);
enum { WL_EMAGIC = -101, WL_ESEQ = -102, WL_ELEN = -103, WL_ESUM = -104, WL_ETIME = -105 };
const char *wl_strerror(int err);

/* The clock every call below uses. */
struct wl_clock {
	uint64_t (*now_ns)(void *ctx);
	void *ctx;
};

struct wl_result {
	uint64_t tx_frames, rx_frames, tx_bytes, rx_bytes;
	uint64_t ns;      /* from the first data moved to the end */
	uint64_t waits;   /* shml_wait() calls */
	uint32_t bad_seq; /* the expected seq when a check failed */
};

/*
 * Full duplex: send frames of @bytes in total (payloads up to @max_payload)
 * and receive as much from the peer, at once, on one channel, message or
 * stream mode by the channel. @salt_tx / @salt_rx tell the directions apart.
 * @txbuf must hold a frame; @rxbuf @rxcap >= 2 frames. Non-blocking calls,
 * shml_wait() on both events when neither side can move. 0 or an error.
 */
int wl_duplex(struct shml_chan *ch, uint64_t bytes, uint32_t max_payload, uint32_t salt_tx,
              uint32_t salt_rx, const struct wl_clock *clk, uint64_t timeout_ns, uint8_t *txbuf,
              uint8_t *rxbuf, uint32_t rxcap, struct wl_result *r);

/* Ping-pong of @warmup + @rounds frames with @size payload bytes; ping stores each
 * timed round trip (ns, saturated at 2^32-1) in @rtt_ns[0..rounds). */
int wl_ping(struct shml_chan *ch, uint32_t warmup, uint32_t rounds, uint32_t size,
            const struct wl_clock *clk, uint64_t timeout_ns, uint8_t *buf, uint32_t *rtt_ns);
int wl_pong(struct shml_chan *ch, uint32_t warmup, uint32_t rounds, uint64_t timeout_ns,
            uint8_t *buf, uint32_t cap);

/* Decimal without division: @buf gets at least 21 bytes. Returns @buf. */
char *wl_u64(char *buf, uint64_t v);

#endif
