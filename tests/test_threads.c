/* SPDX-License-Identifier: MIT */
/*
 * Two threads in one process, each with its own struct shml_region view and
 * struct shml_chan end over the same memory, stream 200k messages both ways
 * (sequence number and checksum in each) with blocking calls, copying and
 * zero-copy. Halfway through, one thread re-opens its end (as a restarted
 * process would): both sides get SHML_ERESET, walk what the reset discarded
 * with shml_discarded_next() and send it again, so every message still
 * arrives exactly once, in order.
 *
 * Meant for ThreadSanitizer too (-DSHMLINK_SANITIZE=thread): the only
 * sharing between the threads is the region, so any report is about the core.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define N 200000u
#define RING 65536u
#define MAXPAY 200u
#define WINDOW 128u /* 2 * WINDOW records of the largest size fit in the ring */
#define TIMEOUT_NS 20000000000ull

struct msg_hdr {
	uint32_t magic, from, seq, sum;
};
#define MAGIC 0x54485244u /* "THRD" */
#define HDR ((uint32_t)sizeof(struct msg_hdr))

static uint32_t msg_len(uint32_t from, uint32_t seq)
{
	return (seq * 2654435761u + from * 7u) % (MAXPAY + 1u);
}

static uint32_t make_msg(uint8_t *buf, uint32_t from, uint32_t seq)
{
	struct msg_hdr h = { .magic = MAGIC, .from = from, .seq = seq };
	uint32_t len = msg_len(from, seq);
	tu_fill(buf + HDR, len, ((uint64_t)from << 32) ^ seq);
	h.sum = tu_checksum(buf + HDR, len) ^ seq;
	memcpy(buf, &h, HDR);
	return HDR + len;
}

static void check_msg(const uint8_t *buf, uint32_t n, uint32_t from, uint32_t seq)
{
	struct msg_hdr h;
	CHECK(n >= HDR);
	memcpy(&h, buf, HDR);
	CHECK_EQ(h.magic, MAGIC);
	CHECK_EQ(h.from, from);
	CHECK_EQ(h.seq, seq);
	CHECK_EQ(n, HDR + msg_len(from, seq));
	CHECK_EQ(h.sum, tu_checksum(buf + HDR, n - HDR) ^ seq);
}

struct worker {
	pthread_t thread;
	uint32_t self; /* 0: side A, 1: side B (re-opens its end halfway) */
	void *mem;
	const struct shml_config *cfg;
	struct shml_port port;
	struct shml_region r;
	struct shml_chan ch;
	uint64_t rng;
	uint32_t sent, received;
	/* results */
	uint32_t resets, resent, zero_copy;
	struct shml_reset_info ri;
	struct shml_counters counters;
};

/*
 * After SHML_ERESET: the reset's account must be exact, and the discarded
 * messages, still in our ring, must be our last ones, in order: send them again.
 */
static void on_reset(struct worker *w)
{
	struct shml_reset_info ri;
	const void *p;
	int32_t n;
	uint32_t first = UINT32_MAX, count = 0;
	CHECK_EQ(shml_reset_info(&w->ch, &ri), 0);
	CHECK_EQ(ri.exact, 1);
	while ((n = shml_discarded_next(&w->ch, &p)) >= 0) {
		struct msg_hdr h;
		CHECK((uint32_t)n >= HDR);
		memcpy(&h, p, HDR);
		if (first == UINT32_MAX)
			first = h.seq;
		CHECK_EQ(h.seq, first + count);
		check_msg(p, (uint32_t)n, w->self, h.seq);
		count++;
	}
	CHECK_EQ(n, SHML_EAGAIN);
	CHECK_EQ(count, ri.messages);
	if (count) {
		CHECK_EQ(first + count, w->sent);
		w->sent = first;
	}
	w->resets++;
	w->resent += count;
	w->ri = ri;
}

static int send_one(struct worker *w)
{
	uint8_t buf[HDR + MAXPAY];
	uint32_t n = make_msg(buf, w->self, w->sent);
	int rc;
	if (tu_rand(&w->rng) % 4u == 0) {
		void *dst;
		int32_t r;
		while ((r = shml_reserve(&w->ch, n, &dst)) == SHML_EAGAIN || r == SHML_ENOTCONN)
			CHECK(shml_wait(&w->ch, SHML_EV_WRITABLE | SHML_EV_STATE, n, TIMEOUT_NS) >
			      0);
		if (r < 0)
			return r;
		CHECK_EQ(r, n);
		memcpy(dst, buf, n);
		CHECK_EQ(shml_commit(&w->ch, n), 0);
		w->zero_copy++;
		return 0;
	}
	rc = shml_send_wait(&w->ch, buf, n, TIMEOUT_NS);
	return rc;
}

static int recv_one(struct worker *w)
{
	uint8_t buf[HDR + MAXPAY];
	int32_t n;
	if (tu_rand(&w->rng) % 4u == 0) {
		const void *p;
		while ((n = shml_peek(&w->ch, &p)) == SHML_EAGAIN || n == SHML_ENOTCONN)
			CHECK(shml_wait(&w->ch, SHML_EV_READABLE | SHML_EV_STATE, 0, TIMEOUT_NS) >
			      0);
		if (n < 0)
			return n;
		check_msg(p, (uint32_t)n, 1u - w->self, w->received);
		CHECK_EQ(shml_release(&w->ch, (size_t)n), 0);
		w->zero_copy++;
		return 0;
	}
	n = shml_recv_wait(&w->ch, buf, sizeof(buf), TIMEOUT_NS);
	if (n < 0)
		return n;
	check_msg(buf, (uint32_t)n, 1u - w->self, w->received);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int reopened = 0;
	CHECK_EQ(shml_region_attach(&w->r, w->cfg, w->self, w->mem, w->cfg->region_size, &w->port),
	         0);
	CHECK_EQ(shml_chan_open(&w->r, &w->ch, 0, NULL), 0);
	while (w->sent < N || w->received < N) {
		int rc;
		/*
		 * Send while less than WINDOW ahead of what we received: the rings
		 * never fill, so the two threads never both block on sending.
		 */
		if (w->sent < N && w->sent < w->received + WINDOW) {
			rc = send_one(w);
			if (rc == 0)
				w->sent++;
			if (rc == 0 && w->self == 1 && !reopened && w->sent >= N / 2) {
				/*
				 * A restart of this end, mid-stream, right after a send (so
				 * that usually something is in flight): all of it discarded.
				 */
				CHECK_EQ(shml_chan_open(&w->r, &w->ch, 0, NULL), 0);
				reopened = 1;
			}
		} else {
			rc = recv_one(w);
			if (rc == 0)
				w->received++;
		}
		if (rc == SHML_ERESET)
			on_reset(w);
		else if (rc != 0) {
			fprintf(stderr, "thread %u: sent %u, received %u: %s\n", w->self, w->sent,
			        w->received, shml_strerror(rc));
			exit(1);
		}
	}
	shml_get_counters(&w->ch, &w->counters);
	return NULL;
}

int main(void)
{
	struct tu_config t;
	struct worker w[2];
	void *mem;
	struct timespec t0, t1;
	tu_config_init(&t, SHML_MODE_MESSAGE, RING);
	CHECK(2u * WINDOW * (HDR + MAXPAY + 2u * SHML_RECORD_HEADER) <= RING);
	CHECK(posix_memalign(&mem, 4096, t.cfg.region_size) == 0);
	tu_fill(mem, t.cfg.region_size, 0x7ead5); /* garbage, not zeros */
	memset(w, 0, sizeof(w));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < 2; i++) {
		w[i].self = i;
		w[i].mem = mem;
		w[i].cfg = &t.cfg;
		w[i].rng = 0x1111u + i;
		shml_host_port_init(&w[i].port);
		CHECK(pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 2; i++)
		CHECK(pthread_join(w[i].thread, NULL) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(w[i].sent, N);
		CHECK_EQ(w[i].received, N);
		CHECK_EQ(w[i].counters.protocol_errors, 0);
		if (i == 0) {
			CHECK_EQ(w[i].resets, 1);
			CHECK_EQ(w[i].ri.previous_process, 0);
		} else {
			/*
			 * The re-opened end settles its previous open's account; one
			 * that lost nothing is not reported (docs/PROTOCOL.md, §8).
			 */
			CHECK(w[i].resets == 1 || w[i].counters.discarded_messages == 0);
			CHECK(w[i].resets == 0 || w[i].ri.previous_process == 1);
		}
		printf("thread %c: %u messages each way, %u zero-copy calls, %u reset(s) reported "
		       "(%u of "
		       "its messages discarded and sent again, %s), %llu notifications sent, %llu "
		       "wake-ups\n",
		       'A' + i, N, w[i].zero_copy, w[i].resets, w[i].resent,
		       i == 1 ? "account of its previous open" : "account from the peer",
		       (unsigned long long)w[i].counters.notify_sent,
		       (unsigned long long)w[i].counters.wakeups);
	}
	printf("test_threads: ok, %.3f s\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(mem);
	return 0;
}
