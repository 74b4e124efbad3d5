/* SPDX-License-Identifier: MIT */
/*
 * Instructions per message, for callgrind: one process holds both ends of a
 * channel (private memory, host port) and runs N x (send one message, receive
 * it). Only the loop functions cg_* are meant to be measured:
 *
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='cg_*' \
 *            build/bench_callgrind shml_copy 64 100000
 *
 * and the Ir total divided by N is the cost of one send + one receive
 * (scripts/bench.sh does this and writes instr_per_msg rows). Variants:
 *   shml_copy      shml_send + shml_recv (message mode)
 *   shml_zerocopy  shml_reserve/memcpy/shml_commit + shml_peek/shml_release
 *   shml_stream    shml_write + shml_read (stream mode)
 *   ideal          the ideal ring of bench/lib/ideal_ring.h (push + pop)
 * Without valgrind it runs the same loops and prints ns per message (a quick
 * single-core check, not a benchmark).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ideal_ring.h"
#include "shml_bench.h"
#include "shmlink.h"
#include "shmlink_host.h"

struct pair {
	struct shml_bench_config cfg;
	void *mem;
	struct shml_port port;
	struct shml_region ra, rb;
	struct shml_chan a, b;
};

static int pair_open(struct pair *p, uint32_t mode, uint32_t ring)
{
	shml_bench_config_init(&p->cfg, mode, ring);
	if (posix_memalign(&p->mem, 4096, p->cfg.cfg.region_size))
		return -1;
	memset(p->mem, 0, p->cfg.cfg.region_size);
	shml_host_port_init(&p->port);
	if (shml_region_attach(&p->ra, &p->cfg.cfg, 0, p->mem, p->cfg.cfg.region_size, &p->port) ||
	    shml_region_attach(&p->rb, &p->cfg.cfg, 1, p->mem, p->cfg.cfg.region_size, &p->port) ||
	    shml_chan_open(&p->ra, &p->a, 0, NULL) || shml_chan_open(&p->rb, &p->b, 0, NULL))
		return -1;
	for (int i = 0; i < 100; i++)
		if (shml_poll(&p->a) == 1 && shml_poll(&p->b) == 1)
			return 0;
	return -1;
}

/* The measured loops: keep them out of line (callgrind toggles on their names). */
__attribute__((noinline)) static int cg_shml_copy(struct pair *p, uint8_t *src, uint8_t *dst,
                                                  size_t size, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		bench_stamp(src, size, i);
		if (shml_send(&p->a, src, size) != 0)
			return -1;
		if (shml_recv(&p->b, dst, size) != (int32_t)size || bench_check(dst, size, i))
			return -1;
	}
	return 0;
}

__attribute__((noinline)) static int cg_shml_zerocopy(struct pair *p, uint8_t *src, uint8_t *dst,
                                                      size_t size, uint64_t n)
{
	(void)dst;
	for (uint64_t i = 0; i < n; i++) {
		void *w;
		const void *r;
		if (shml_reserve(&p->a, size, &w) != (int32_t)size)
			return -1;
		memcpy(w, src, size);
		bench_stamp(w, size, i);
		if (shml_commit(&p->a, size) != 0)
			return -1;
		if (shml_peek(&p->b, &r) != (int32_t)size || bench_check(r, size, i))
			return -1;
		if (shml_release(&p->b, size) != 0)
			return -1;
	}
	return 0;
}

__attribute__((noinline)) static int cg_shml_stream(struct pair *p, uint8_t *src, uint8_t *dst,
                                                    size_t size, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		bench_stamp(src, size, i);
		if (shml_write(&p->a, src, size) != (int32_t)size)
			return -1;
		if (shml_read(&p->b, dst, size) != (int32_t)size || bench_check(dst, size, i))
			return -1;
	}
	return 0;
}

__attribute__((noinline)) static int cg_ideal(struct ideal_tx *t, struct ideal_rx *x, uint8_t *src,
                                              uint8_t *dst, size_t size, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		bench_stamp(src, size, i);
		if (ideal_push(t, src, size, 0) != 0)
			return -1;
		if (ideal_pop(x, dst, size, 0) != (int64_t)size || bench_check(dst, size, i))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *variant = argc > 1 ? argv[1] : "";
	size_t size = argc > 2 ? strtoull(argv[2], NULL, 0) : 64;
	uint64_t n = argc > 3 ? strtoull(argv[3], NULL, 0) : 100000;
	uint32_t ring = 256u << 10;
	uint8_t *src, *dst;
	uint64_t t0;
	int rc;
	while (ring < 16 * size)
		ring <<= 1;
	if (argc != 4 || size == 0 || n == 0) {
		fprintf(stderr,
		        "usage: %s shml_copy|shml_zerocopy|shml_stream|ideal SIZE N\n"
		        "  run under valgrind --tool=callgrind --collect-atstart=no "
		        "--toggle-collect='cg_*'\n",
		        argv[0]);
		return 2;
	}
	src = bench_alloc(size);
	dst = bench_alloc(size);
	t0 = bench_now_ns();
	if (!strcmp(variant, "ideal")) {
		struct ideal_tx t;
		struct ideal_rx x;
		void *mem;
		if (posix_memalign(&mem, 4096, IDEAL_HEADER + ring))
			return 1;
		memset(mem, 0, IDEAL_HEADER + ring);
		ideal_ring_init(mem);
		ideal_tx_init(&t, mem, ring);
		ideal_rx_init(&x, mem, ring);
		rc = cg_ideal(&t, &x, src, dst, size, n);
		free(mem);
	} else {
		struct pair p;
		int stream = !strcmp(variant, "shml_stream");
		if (!stream && strcmp(variant, "shml_copy") && strcmp(variant, "shml_zerocopy")) {
			fprintf(stderr, "unknown variant %s\n", variant);
			return 2;
		}
		if (pair_open(&p, stream ? SHML_MODE_STREAM : SHML_MODE_MESSAGE, ring)) {
			fprintf(stderr, "cannot open the channel\n");
			return 1;
		}
		rc = stream                              ? cg_shml_stream(&p, src, dst, size, n)
		     : !strcmp(variant, "shml_zerocopy") ? cg_shml_zerocopy(&p, src, dst, size, n)
		                                         : cg_shml_copy(&p, src, dst, size, n);
		shml_chan_close(&p.a);
		shml_chan_close(&p.b);
		free(p.mem);
	}
	if (rc) {
		fprintf(stderr, "%s: a message went wrong\n", variant);
		return 1;
	}
	printf("%s size %zu: %llu messages, %.1f ns per send+receive (one core)\n", variant, size,
	       (unsigned long long)n, (double)(bench_now_ns() - t0) / (double)n);
	free(src);
	free(dst);
	return 0;
}
