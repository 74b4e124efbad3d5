/* SPDX-License-Identifier: MIT */
/*
 * The limits of this machine, against which every transport is judged:
 *   memcpy/hot    copies that stay in the cache, at each message size (GB/s)
 *   memcpy/cold   a 64 MiB buffer copied past the caches (GB/s)
 *   cacheline     one cache line bounced between the two cores (RTT)
 *   ideal/ring    the ideal SPSC ring (bench/lib/ideal_ring.h), busy polling,
 *                 two processes: throughput and RTT at every size
 *   ideal/ring_reload, ideal/ring_reload_fence
 *                 diagnostic variants of it (no cached index; plus a full fence
 *                 and a read of the peer's line per publish), 64 B only
 *                 unless --mode full
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ideal_ring.h"

/* ---- memcpy --------------------------------------------------------------------------- */

static void bench_memcpy(const struct bench_opts *o, const char *mode, size_t size)
{
	/* Hot: copy the same 2 x size bytes over and over. Cold: buffers far past the caches. */
	uint8_t *src, *dst;
	uint64_t bytes = 0, t0, t1, deadline;
	double cpu = o->seconds;
	cpu_set_t was;
	if (!bench_selected(o, "memcpy", mode, "none"))
		return;
	src = bench_alloc(size);
	dst = bench_alloc(size);
	sched_getaffinity(0, sizeof(was), &was);
	bench_pin(0);
	for (int i = 0; i < 3; i++) /* warm */
		memcpy(dst, src, size);
	t0 = bench_now_ns();
	deadline = t0 + (uint64_t)(cpu * 1e9);
	do {
		for (int i = 0; i < 64; i++) {
			memcpy(dst, src, size);
			__asm__ __volatile__("" : : "r"(dst), "r"(src) : "memory");
			bytes += size;
			if (size >= (1u << 20))
				break;
		}
		t1 = bench_now_ns();
	} while (t1 < deadline);
	bench_csv(o, "memcpy", mode, "none", size, "bandwidth", (double)bytes / (double)(t1 - t0),
	          "GB/s");
	sched_setaffinity(0, sizeof(was), &was);
	free(src);
	free(dst);
}

/* ---- cache-line ping-pong --------------------------------------------------------------- */

struct line_state {
	_Atomic uint64_t *word;
};

static _Atomic uint64_t *shared_line;

static int line_setup(struct bench_pair *p, size_t size)
{
	(void)p;
	(void)size;
	shared_line = bench_shared_alloc(4096);
	return 0;
}

static void line_teardown(struct bench_pair *p)
{
	(void)p;
	bench_shared_free((void *)shared_line, 4096);
}

static int line_open(struct bench_pair *p, int side, size_t size, void **st)
{
	(void)p;
	(void)side;
	(void)size;
	*st = (void *)shared_line;
	return 0;
}

/* The value the line had at the end of the last phase (each worker keeps its own). */
static uint64_t line_value;

static int line_rtt(void *st, int side, size_t size, uint64_t count, uint64_t *samples)
{
	_Atomic uint64_t *w = st;
	uint64_t v = line_value, prev = bench_now_ns();
	(void)size;
	for (uint64_t i = 0; i < count; i++) {
		if (side == 0) {
			atomic_store_explicit(w, v + 1, memory_order_release);
			while (atomic_load_explicit(w, memory_order_acquire) != v + 2)
				;
			v += 2;
			uint64_t t = bench_now_ns();
			samples[i] = t - prev;
			prev = t;
		} else {
			while (atomic_load_explicit(w, memory_order_acquire) != v + 1)
				;
			atomic_store_explicit(w, v + 2, memory_order_release);
			v += 2;
		}
	}
	line_value = v;
	return 0;
}

static void line_close(void *st, int side)
{
	(void)st;
	(void)side;
}

/* ---- the ideal ring -------------------------------------------------------------------- */

struct ideal_arg {
	const struct bench_opts *o;
	uint64_t ring;
	unsigned flags;
	uint8_t *mem; /* two rings: 0 -> 1 and 1 -> 0 */
};

struct ideal_state {
	struct ideal_arg *a;
	struct ideal_tx tx;
	struct ideal_rx rx;
	uint8_t *buf;
	uint64_t tx_seq, rx_seq;
};

static size_t ideal_bytes(const struct ideal_arg *a)
{
	return 2 * (IDEAL_HEADER + a->ring);
}

static int ideal_setup(struct bench_pair *p, size_t size)
{
	struct ideal_arg *a = p->arg;
	a->ring = bench_ring_bytes(a->o, size);
	p->capacity = a->ring / (8 + ((size + 7) & ~(size_t)7));
	a->mem = bench_shared_alloc(ideal_bytes(a));
	ideal_ring_init(a->mem);
	ideal_ring_init(a->mem + IDEAL_HEADER + a->ring);
	return 0;
}

static void ideal_teardown(struct bench_pair *p)
{
	struct ideal_arg *a = p->arg;
	bench_shared_free(a->mem, ideal_bytes(a));
	a->mem = NULL;
}

static int ideal_open(struct bench_pair *p, int side, size_t size, void **st)
{
	struct ideal_arg *a = p->arg;
	struct ideal_state *s = calloc(1, sizeof(*s));
	uint8_t *r0 = a->mem, *r1 = a->mem + IDEAL_HEADER + a->ring;
	if (!s)
		return -1;
	s->a = a;
	s->buf = bench_alloc(size);
	ideal_tx_init(&s->tx, side == 0 ? r0 : r1, a->ring);
	ideal_rx_init(&s->rx, side == 0 ? r1 : r0, a->ring);
	*st = s;
	return 0;
}

static void ideal_close(void *st, int side)
{
	struct ideal_state *s = st;
	(void)side;
	free(s->buf);
	free(s);
}

/* One loop per variant: the flags are constants inside each. */
#define IDEAL_LOOPS(NAME, FLAGS)                                                                   \
	static int NAME##_tput(void *st, int side, size_t size, uint64_t count)                    \
	{                                                                                          \
		struct ideal_state *s = st;                                                        \
		for (uint64_t i = 0; i < count; i++) {                                             \
			if (side == 0) {                                                           \
				bench_stamp(s->buf, size, s->tx_seq++);                            \
				while (ideal_push(&s->tx, s->buf, size, FLAGS))                    \
					bench_relax();                                             \
			} else {                                                                   \
				int64_t n;                                                         \
				while ((n = ideal_pop(&s->rx, s->buf, size, FLAGS)) < 0)           \
					bench_relax();                                             \
				if ((size_t)n != size || bench_check(s->buf, size, s->rx_seq++))   \
					return -2;                                                 \
			}                                                                          \
		}                                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	static int NAME##_rtt(void *st, int side, size_t size, uint64_t count, uint64_t *samples)  \
	{                                                                                          \
		struct ideal_state *s = st;                                                        \
		uint64_t prev = bench_now_ns();                                                    \
		for (uint64_t i = 0; i < count; i++) {                                             \
			int64_t n;                                                                 \
			if (side == 0) {                                                           \
				bench_stamp(s->buf, size, s->tx_seq++);                            \
				while (ideal_push(&s->tx, s->buf, size, FLAGS))                    \
					bench_relax();                                             \
			}                                                                          \
			while ((n = ideal_pop(&s->rx, s->buf, size, FLAGS)) < 0)                   \
				bench_relax();                                                     \
			if ((size_t)n != size || bench_check(s->buf, size, s->rx_seq++))           \
				return -2;                                                         \
			if (side == 1) {                                                           \
				bench_stamp(s->buf, size, s->tx_seq++);                            \
				while (ideal_push(&s->tx, s->buf, size, FLAGS))                    \
					bench_relax();                                             \
			} else {                                                                   \
				uint64_t t = bench_now_ns();                                       \
				samples[i] = t - prev;                                             \
				prev = t;                                                          \
			}                                                                          \
		}                                                                                  \
		return 0;                                                                          \
	}

IDEAL_LOOPS(ideal, 0)
IDEAL_LOOPS(ideal_reload, IDEAL_RELOAD)
IDEAL_LOOPS(ideal_reload_fence, IDEAL_RELOAD | IDEAL_FENCE)

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct ideal_arg arg;
	struct bench_pair line = {
		.transport = "cacheline",
		.mode = "pingpong",
		.wait = "busy",
		.setup = line_setup,
		.open = line_open,
		.rtt = line_rtt,
		.close = line_close,
		.teardown = line_teardown,
	};
	struct bench_pair ideal[] = {
		{ .mode = "ring", .tput = ideal_tput, .rtt = ideal_rtt },
		{ .mode = "ring_reload", .tput = ideal_reload_tput, .rtt = ideal_reload_rtt },
		{ .mode = "ring_reload_fence",
		  .tput = ideal_reload_fence_tput,
		  .rtt = ideal_reload_fence_rtt },
	};
	bench_parse_opts(&o, argc, argv, NULL);
	arg.o = &o;
	arg.flags = 0;
	for (size_t v = 0; v < sizeof(ideal) / sizeof(ideal[0]); v++) {
		ideal[v].transport = "ideal";
		ideal[v].wait = "busy";
		ideal[v].arg = &arg;
		ideal[v].setup = ideal_setup;
		ideal[v].open = ideal_open;
		ideal[v].close = ideal_close;
		ideal[v].teardown = ideal_teardown;
	}

	/* Size-independent: memcpy past the caches (64 MiB), the cache line. */
	if (o.extras) {
		bench_memcpy(&o, "cold", bench_is_smoke(&o) ? (8u << 20) : (64u << 20));
		bench_rtt(&o, &line, 64);
	}
	for (int i = 0; i < o.n_sizes; i++) {
		size_t size = o.sizes[i];
		/* memcpy in cache at each message size (1 KiB and 64 KiB among the default sizes):
		 * the ceiling of the throughput plot. */
		bench_memcpy(&o, "hot", size);
		bench_tput(&o, &ideal[0], size);
		bench_rtt(&o, &ideal[0], size);
		/* Diagnostic variants: at 64 B (the size where per-message costs show) unless full.
		 */
		if (size == 64 || bench_is_full(&o)) {
			for (size_t v = 1; v < sizeof(ideal) / sizeof(ideal[0]); v++) {
				bench_tput(&o, &ideal[v], size);
				bench_rtt(&o, &ideal[v], size);
			}
		}
	}
	return bench_failures() ? 1 : 0;
}
