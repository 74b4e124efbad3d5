/* SPDX-License-Identifier: MIT */
/*
 * shmlink between two processes over a region file in /dev/shm, with the host
 * port (futex notification), through the loops of bench/lib/shml_bench.c:
 *
 *   mode      message (copying calls), zerocopy (message mode, reserve/commit and
 *             peek/release), stream (shml_write/shml_read of whole messages)
 *   wait      busy   non-blocking calls in a loop
 *             block  blocking calls with spin_ns = 0: every wait sleeps at once
 *             spin   blocking calls with the default spin-then-sleep (50 us)
 *
 * Throughput and RTT at every size, with notifications and wake-ups per message
 * from the channel counters; an idle receiver's CPU (block and spin).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "shml_bench.h"
#include "shmlink.h"
#include "shmlink_host.h"

#define TIMEOUT_NS 20000000000ull /* 20 s: a peer that stops answering fails the run */

struct shml_arg {
	const struct bench_opts *o;
	uint32_t mode; /* SHML_MODE_* */
	int api;       /* SHML_BENCH_COPY / SHML_BENCH_ZEROCOPY */
	int wait;      /* 0 busy, 1 block, 2 spin */
	struct shml_bench_config cfg;
	char path[128];
};

struct shmb_state {
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region region;
	struct shml_chan ch;
	struct shml_bench_loop loop;
};

enum { W_BUSY, W_BLOCK, W_SPIN };

static int shml_setup(struct bench_pair *p, size_t size)
{
	static unsigned serial;
	struct shml_arg *a = p->arg;
	struct shml_host_region hr;
	uint32_t ring = (uint32_t)bench_ring_bytes(a->o, size);
	int rc;
	shml_bench_config_init(&a->cfg, a->mode, ring);
	p->capacity =
	        a->mode == SHML_MODE_MESSAGE ? ring / (8 + ((size + 7) & ~(size_t)7)) : ring / size;
	snprintf(a->path, sizeof(a->path), "/dev/shm/shmlink-bench-%d-%u", (int)getpid(), serial++);
	unlink(a->path);
	rc = shml_host_map(&hr, a->path, a->cfg.cfg.region_size, SHML_HOST_CREATE);
	if (rc)
		return rc;
	shml_host_unmap(&hr);
	return 0;
}

static void shml_teardown(struct bench_pair *p)
{
	struct shml_arg *a = p->arg;
	unlink(a->path);
}

static int shml_open_side(struct bench_pair *p, int side, size_t size, void **st)
{
	struct shml_arg *a = p->arg;
	struct shmb_state *s = calloc(1, sizeof(*s));
	struct shml_chan_opts opts = { .spin_ns = 0 };
	int rc;
	if (!s)
		return -1;
	rc = shml_host_map(&s->hr, a->path, a->cfg.cfg.region_size, 0);
	if (rc)
		return rc;
	shml_host_port_init(&s->port);
	rc = shml_region_attach(&s->region, &a->cfg.cfg, (uint32_t)side, s->hr.mem, s->hr.size,
	                        &s->port);
	if (rc == 0)
		rc = shml_chan_open(&s->region, &s->ch, 0, a->wait == W_BLOCK ? &opts : NULL);
	if (rc == 0)
		rc = shml_bench_connect(&s->ch, TIMEOUT_NS);
	if (rc)
		return rc;
	s->loop = (struct shml_bench_loop){
		.ch = &s->ch,
		.api = a->api,
		.wait = a->wait == W_BUSY ? SHML_BENCH_BUSY : SHML_BENCH_WAIT,
		.size = size,
		.timeout_ns = TIMEOUT_NS,
		.buf = bench_alloc(size),
	};
	*st = s;
	return 0;
}

static int shml_tput(void *st, int side, size_t size, uint64_t count)
{
	struct shmb_state *s = st;
	(void)size;
	return side == 0 ? shml_bench_send(&s->loop, count) : shml_bench_recv(&s->loop, count);
}

static int shml_rtt(void *st, int side, size_t size, uint64_t count, uint64_t *samples)
{
	struct shmb_state *s = st;
	(void)size;
	return side == 0 ? shml_bench_ping(&s->loop, count, samples)
	                 : shml_bench_pong(&s->loop, count);
}

static int shml_idle(void *st, int side, uint64_t ns)
{
	struct shmb_state *s = st;
	return side == 1 ? shml_bench_idle(&s->loop, ns) : 0;
}

static void shml_stats(void *st, int side, struct bench_side_stats *out)
{
	struct shmb_state *s = st;
	struct shml_counters c;
	(void)side;
	shml_get_counters(&s->ch, &c);
	out->valid = 1;
	out->notify_sent = c.notify_sent;
	out->wakeups = c.wakeups;
}

static void shml_close_side(void *st, int side)
{
	struct shmb_state *s = st;
	(void)side;
	shml_chan_close(&s->ch);
	shml_host_unmap(&s->hr);
	free(s->loop.buf);
	free(s);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		uint32_t mode;
		int api;
	} modes[] = {
		{ "message", SHML_MODE_MESSAGE, SHML_BENCH_COPY },
		{ "zerocopy", SHML_MODE_MESSAGE, SHML_BENCH_ZEROCOPY },
		{ "stream", SHML_MODE_STREAM, SHML_BENCH_COPY },
	};
	static const char *const waits[] = { "busy", "block", "spin" };
	struct bench_opts o;
	struct shml_arg args[3][3];
	struct bench_pair pairs[3][3];
	bench_parse_opts(&o, argc, argv, NULL);
	for (int m = 0; m < 3; m++)
		for (int w = 0; w < 3; w++) {
			args[m][w] = (struct shml_arg){
				.o = &o, .mode = modes[m].mode, .api = modes[m].api, .wait = w
			};
			pairs[m][w] = (struct bench_pair){
				.transport = "shmlink",
				.mode = modes[m].name,
				.wait = waits[w],
				.arg = &args[m][w],
				.setup = shml_setup,
				.open = shml_open_side,
				.tput = shml_tput,
				.rtt = shml_rtt,
				.idle = w == W_BUSY ? NULL : shml_idle,
				.stats = shml_stats,
				.close = shml_close_side,
				.teardown = shml_teardown,
			};
		}
	for (int i = 0; i < o.n_sizes; i++)
		for (int m = 0; m < 3; m++)
			for (int w = 0; w < 3; w++) {
				bench_tput(&o, &pairs[m][w], o.sizes[i]);
				bench_rtt(&o, &pairs[m][w], o.sizes[i]);
			}
	/* Idle receivers: message mode always, the other modes in full mode. */
	if (o.extras && o.idle > 0)
		for (int m = 0; m < 3; m++)
			for (int w = W_BLOCK; w <= W_SPIN; w++)
				if (m == 0 || bench_is_full(&o))
					bench_idle(&o, &pairs[m][w], 64);
	return bench_failures() ? 1 : 0;
}
