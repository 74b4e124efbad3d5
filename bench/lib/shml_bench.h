/* SPDX-License-Identifier: MIT */
/*
 * The shmlink benchmark loops, on an open channel end: reusable by any
 * program (bench/bench_shmlink.c, and later the `shmlink bench` CLI command).
 * They need only include/shmlink.h; timing uses the channel's port clock.
 *
 * A "message" is @size bytes: one record in message mode, @size bytes of the
 * byte stream in stream mode. Message number k carries k in its first 8 bytes
 * (fewer if @size < 8) and the receiver checks it, so a lost, repeated or
 * reordered message fails the loop with SHML_BENCH_EDATA.
 *
 *   copying calls   shml_send/shml_recv, shml_write/shml_read (+ the *_wait forms)
 *   zero-copy       shml_reserve + memcpy from the caller's buffer + shml_commit;
 *                   shml_peek + reading one word per cache line in place + shml_release
 *   busy            non-blocking calls in a loop with a CPU pause between tries
 *   wait            the blocking calls; how long they spin before sleeping is the
 *                   channel's spin time (struct shml_chan_opts at shml_chan_open())
 */
#ifndef SHMLINK_SHML_BENCH_H
#define SHMLINK_SHML_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "shmlink.h"

enum shml_bench_api { SHML_BENCH_COPY = 0, SHML_BENCH_ZEROCOPY = 1 };
enum shml_bench_wait { SHML_BENCH_BUSY = 0, SHML_BENCH_WAIT = 1 };

/* A received message did not carry the expected number. */
#define SHML_BENCH_EDATA (-100)

struct shml_bench_loop {
	struct shml_chan *ch;
	int api;                 /* enum shml_bench_api */
	int wait;                /* enum shml_bench_wait */
	size_t size;             /* bytes per message */
	uint64_t timeout_ns;     /* longest wait for the peer before SHML_ETIMEDOUT */
	uint8_t *buf;            /* the caller's message buffer: at least @size bytes */
	uint64_t tx_seq, rx_seq; /* next message numbers (start at 0) */
	uint64_t sink;           /* what zero-copy receivers read (keeps the reads) */
};

/* Drive the handshake until the session is established (or @timeout_ns passes). */
int shml_bench_connect(struct shml_chan *ch, uint64_t timeout_ns);

/* Send / receive @count messages. 0, or a negative SHML_E* / SHML_BENCH_EDATA. */
int shml_bench_send(struct shml_bench_loop *l, uint64_t count);
int shml_bench_recv(struct shml_bench_loop *l, uint64_t count);

/* @count round trips: ping sends and waits for the echo (samples[i]: ns of trip i,
 * may be NULL); pong echoes. */
int shml_bench_ping(struct shml_bench_loop *l, uint64_t count, uint64_t *samples);
int shml_bench_pong(struct shml_bench_loop *l, uint64_t count);

/* Wait @ns for a message that never comes (blocking call): 0 if none came. */
int shml_bench_idle(struct shml_bench_loop *l, uint64_t ns);

/* The benchmarks' region: two domains ("producer", "consumer"), one channel. */
struct shml_bench_config {
	struct shml_domain_cfg domains[2];
	struct shml_channel_cfg channel;
	struct shml_config cfg;
};
void shml_bench_config_init(struct shml_bench_config *b, uint32_t mode, uint32_t ring);

#endif
