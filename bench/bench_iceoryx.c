/* SPDX-License-Identifier: MIT */
/*
 * iceoryx 2.0 (Debian's libiceoryx-binding-c-dev, the C binding) as the
 * zero-copy IPC peer, between the same two pinned processes:
 *   iceoryx/zerocopy/busy     loan + memcpy into the chunk + publish; take_chunk polled
 *                             in a loop, read in place (one word per cache line), release
 *   iceoryx/zerocopy/waitset  the same, the subscriber sleeping in a WaitSet
 * The publisher waits for a slow subscriber (ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER,
 * QueueFullPolicy_BLOCK_PRODUCER): no message is dropped.
 *
 * Needs the RouDi daemon (iox-roudi, package iceoryx) running with mempools for the
 * sizes measured: scripts/bench.sh starts one with build/bench/roudi.toml and stops
 * it afterwards. Without RouDi (or without the binding at build time) the program
 * says so and exits 77 (skipped).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#ifndef SHMLINK_BENCH_ICEORYX

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "# iceoryx: skipped: built without the iceoryx C binding "
	                "(apt-get install libiceoryx-binding-c-dev iceoryx, then rebuild)\n");
	return 77;
}

#else

#include <stdbool.h>

#include "iceoryx_binding_c/chunk.h"
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/wait_set.h"

#define TIMEOUT_NS 20000000000ull
#define QUEUE 256u /* the subscriber queue: iceoryx's largest by default */

struct iox_arg {
	int waitset;
	char instance[64];
};

struct iox_state {
	iox_pub_storage_t pub_storage;
	iox_sub_storage_t sub_storage;
	iox_ws_storage_t ws_storage;
	iox_pub_t pub; /* side 0: "ab", side 1: "ba" */
	iox_sub_t sub; /* side 0: "ba", side 1: "ab" */
	iox_ws_t ws;
	uint8_t *buf;
	uint64_t tx_seq, rx_seq, sink;
};

/* Is a RouDi answering on its socket? (iox_runtime_init would wait for one.) */
static int roudi_running(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0), ok;
	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/roudi");
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int iox_setup(struct bench_pair *p, size_t size)
{
	static unsigned serial;
	struct iox_arg *a = p->arg;
	(void)size;
	snprintf(a->instance, sizeof(a->instance), "bench-%d-%u", (int)getpid(), serial++);
	p->capacity = QUEUE;
	return 0;
}

static int iox_open(struct bench_pair *p, int side, size_t size, void **st)
{
	struct iox_arg *a = p->arg;
	struct iox_state *s = calloc(1, sizeof(*s));
	iox_pub_options_t po;
	iox_sub_options_t so;
	char name[64];
	uint64_t deadline = bench_now_ns() + TIMEOUT_NS;
	if (!s)
		return -1;
	snprintf(name, sizeof(name), "shmlink-bench-%d", (int)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
	iox_pub_options_init(&po);
	po.historyCapacity = 0;
	po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	iox_sub_options_init(&so);
	so.queueCapacity = QUEUE;
	so.historyRequest = 0;
	so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	s->pub = iox_pub_init(&s->pub_storage, "shmlink-bench", a->instance, side ? "ba" : "ab",
	                      &po);
	s->sub = iox_sub_init(&s->sub_storage, "shmlink-bench", a->instance, side ? "ab" : "ba",
	                      &so);
	if (a->waitset) {
		s->ws = iox_ws_init(&s->ws_storage);
		if (iox_ws_attach_subscriber_state(s->ws, s->sub, SubscriberState_HAS_DATA, 0,
		                                   NULL) != WaitSetResult_SUCCESS)
			return -2;
	}
	/* Both directions connected before any data moves. */
	while (iox_sub_get_subscription_state(s->sub) != SubscribeState_SUBSCRIBED ||
	       !iox_pub_has_subscribers(s->pub)) {
		if (bench_now_ns() > deadline)
			return -3;
		usleep(1000);
	}
	s->buf = bench_alloc(size);
	*st = s;
	return 0;
}

static int pub_one(struct iox_state *s, size_t size)
{
	void *chunk;
	uint64_t deadline = 0;
	enum iox_AllocationResult r;
	while ((r = iox_pub_loan_chunk(s->pub, &chunk, (uint32_t)size)) !=
	       AllocationResult_SUCCESS) {
		if (r != AllocationResult_RUNNING_OUT_OF_CHUNKS &&
		    r != AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL)
			return -10 - (int)r;
		if (!deadline)
			deadline = bench_now_ns() + TIMEOUT_NS;
		else if (bench_now_ns() > deadline)
			return -4;
		bench_relax();
	}
	memcpy(chunk, s->buf, size);
	bench_stamp(chunk, size, s->tx_seq++);
	iox_pub_publish_chunk(s->pub, chunk);
	return 0;
}

static int take_one(struct iox_state *s, size_t size)
{
	const void *chunk;
	uint64_t deadline = 0;
	enum iox_ChunkReceiveResult r;
	int rc;
	while ((r = iox_sub_take_chunk(s->sub, &chunk)) != ChunkReceiveResult_SUCCESS) {
		if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
			return -20 - (int)r;
		if (!deadline)
			deadline = bench_now_ns() + TIMEOUT_NS;
		else if (bench_now_ns() > deadline)
			return -5;
		if (s->ws) {
			/* Timed: a publisher RouDi dropped would otherwise leave us asleep forever.
			 */
			iox_notification_info_t info[1];
			uint64_t missed = 0;
			struct timespec ts = { .tv_sec = 1 };
			iox_ws_timed_wait(s->ws, ts, info, 1, &missed);
			continue;
		}
		bench_relax();
	}
	rc = bench_check(chunk, size, s->rx_seq++) ? -6 : 0;
	s->sink += bench_touch(chunk, size);
	iox_sub_release_chunk(s->sub, chunk);
	return rc;
}

static int iox_tput(void *st, int side, size_t size, uint64_t count)
{
	struct iox_state *s = st;
	for (uint64_t i = 0; i < count; i++) {
		int rc = side == 0 ? pub_one(s, size) : take_one(s, size);
		if (rc)
			return rc;
	}
	return 0;
}

static int iox_rtt(void *st, int side, size_t size, uint64_t count, uint64_t *samples)
{
	struct iox_state *s = st;
	uint64_t prev = bench_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		int rc;
		if (side == 0) {
			rc = pub_one(s, size);
			if (rc == 0)
				rc = take_one(s, size);
			uint64_t t = bench_now_ns();
			samples[i] = t - prev;
			prev = t;
		} else {
			rc = take_one(s, size);
			if (rc == 0)
				rc = pub_one(s, size);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void iox_close(void *st, int side)
{
	struct iox_state *s = st;
	(void)side;
	if (s->ws)
		iox_ws_deinit(s->ws);
	iox_sub_deinit(s->sub);
	iox_pub_deinit(s->pub);
	iox_runtime_shutdown();
	free(s->buf);
	free(s);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct iox_arg args[2] = { { .waitset = 0 }, { .waitset = 1 } };
	struct bench_pair pairs[2];
	bench_parse_opts(&o, argc, argv, NULL);
	if (!roudi_running()) {
		fprintf(stderr, "# iceoryx: skipped: no RouDi daemon answers on /tmp/roudi "
		                "(scripts/bench.sh starts one)\n");
		return 77;
	}
	for (int w = 0; w < 2; w++)
		pairs[w] = (struct bench_pair){
			.transport = "iceoryx",
			.mode = "zerocopy",
			.wait = w ? "waitset" : "busy",
			.arg = &args[w],
			.setup = iox_setup,
			.open = iox_open,
			.tput = iox_tput,
			.rtt = iox_rtt,
			.close = iox_close,
		};
	for (int i = 0; i < o.n_sizes; i++)
		for (int w = 0; w < 2; w++) {
			bench_tput(&o, &pairs[w], o.sizes[i]);
			bench_rtt(&o, &pairs[w], o.sizes[i]);
		}
	return bench_failures() ? 1 : 0;
}

#endif
