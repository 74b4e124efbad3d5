/* SPDX-License-Identifier: MIT */
/*
 * A million messages between two processes over a region file, each with
 * a sequence number and checksum: message mode (copying and zero-copy) and
 * stream mode, in both start orders, with blocking (spin-then-sleep) calls.
 */
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define MESSAGES 1000000u
#define TIMEOUT_NS 20000000000ull

struct msg_hdr {
	uint64_t seq;
	uint32_t len;
	uint32_t sum;
};

enum variant { COPY, ZERO_COPY, STREAM };

static size_t payload_len(uint64_t seq)
{
	return (size_t)(seq * 2654435761u % 200u);
}

static size_t make_msg(uint8_t *buf, uint64_t seq)
{
	struct msg_hdr h = { .seq = seq, .len = (uint32_t)payload_len(seq) };
	tu_fill(buf + sizeof(h), h.len, seq);
	h.sum = tu_checksum(buf + sizeof(h), h.len);
	memcpy(buf, &h, sizeof(h));
	return sizeof(h) + h.len;
}

static void check_msg(const uint8_t *buf, size_t n, uint64_t seq)
{
	struct msg_hdr h;
	CHECK(n >= sizeof(h));
	memcpy(&h, buf, sizeof(h));
	CHECK_EQ(h.seq, seq);
	CHECK_EQ(h.len, payload_len(seq));
	CHECK_EQ(n, sizeof(h) + h.len);
	CHECK_EQ(h.sum, tu_checksum(buf + sizeof(h), h.len));
}

static void open_end(const char *path, const struct shml_config *cfg, uint32_t self,
                     struct shml_host_region *hr, struct shml_port *port, struct shml_region *r,
                     struct shml_chan *ch)
{
	CHECK_EQ(shml_host_map(hr, path, cfg->region_size, SHML_HOST_CREATE), 0);
	shml_host_port_init(port);
	CHECK_EQ(shml_region_attach(r, cfg, self, hr->mem, hr->size, port), 0);
	CHECK_EQ(shml_chan_open(r, ch, 0, NULL), 0);
}

/* Read exactly @n stream bytes. */
static void read_exact(struct shml_chan *ch, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		int32_t r = shml_read_wait(ch, buf + got, n - got, TIMEOUT_NS);
		CHECK(r > 0);
		got += (size_t)r;
	}
}

static void producer(struct shml_chan *ch, enum variant v)
{
	uint8_t buf[256];
	for (uint64_t seq = 0; seq < MESSAGES; seq++) {
		size_t n = make_msg(buf, seq);
		if (v == COPY) {
			CHECK_EQ(shml_send_wait(ch, buf, n, TIMEOUT_NS), 0);
		} else if (v == ZERO_COPY) {
			void *dst;
			int32_t r;
			while ((r = shml_reserve(ch, n, &dst)) == SHML_EAGAIN || r == SHML_ENOTCONN)
				CHECK(shml_wait(ch, SHML_EV_WRITABLE | SHML_EV_STATE, n,
				                TIMEOUT_NS) > 0);
			CHECK_EQ(r, (long long)n);
			memcpy(dst, buf, n);
			CHECK_EQ(shml_commit(ch, n), 0);
		} else {
			CHECK_EQ(shml_write_all(ch, buf, n, TIMEOUT_NS), (long long)n);
		}
	}
}

static void consumer(struct shml_chan *ch, enum variant v)
{
	uint8_t buf[256];
	for (uint64_t seq = 0; seq < MESSAGES; seq++) {
		if (v == COPY) {
			int32_t n = shml_recv_wait(ch, buf, sizeof(buf), TIMEOUT_NS);
			CHECK(n >= 0);
			check_msg(buf, (size_t)n, seq);
		} else if (v == ZERO_COPY) {
			const void *src;
			int32_t n;
			while ((n = shml_peek(ch, &src)) == SHML_EAGAIN || n == SHML_ENOTCONN)
				CHECK(shml_wait(ch, SHML_EV_READABLE | SHML_EV_STATE, 0,
				                TIMEOUT_NS) > 0);
			CHECK(n >= 0);
			check_msg(src, (size_t)n, seq);
			CHECK_EQ(shml_release(ch, (size_t)n), 0);
		} else {
			struct msg_hdr h;
			read_exact(ch, buf, sizeof(h));
			memcpy(&h, buf, sizeof(h));
			CHECK(h.len < sizeof(buf) - sizeof(h));
			read_exact(ch, buf + sizeof(h), h.len);
			check_msg(buf, sizeof(h) + h.len, seq);
		}
	}
	/* Tell the producer we are done, so it does not close under our feet. */
	if (v == STREAM)
		CHECK_EQ(shml_write_all(ch, "k", 1, TIMEOUT_NS), 1);
	else
		CHECK_EQ(shml_send_wait(ch, "k", 1, TIMEOUT_NS), 0);
}

static void run(enum variant v, int consumer_first)
{
	struct tu_config t;
	char path[128];
	pid_t pid;
	int status;
	struct timespec t0, t1;
	tu_config_init(&t, v == STREAM ? SHML_MODE_STREAM : SHML_MODE_MESSAGE, 1u << 16);
	tu_region_path(path, sizeof(path), "twoproc");
	unlink(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	CHECK(pid >= 0);
	if ((pid == 0) == consumer_first ? 0 : 1)
		usleep(0);
	if (pid == 0) {
		struct shml_host_region hr;
		struct shml_port port;
		struct shml_region r;
		struct shml_chan ch;
		if (!consumer_first)
			usleep(20000);
		open_end(path, &t.cfg, 1, &hr, &port, &r, &ch);
		consumer(&ch, v);
		shml_chan_close(&ch);
		_exit(0);
	} else {
		struct shml_host_region hr;
		struct shml_port port;
		struct shml_region r;
		struct shml_chan ch;
		struct shml_counters c;
		uint8_t ack[8];
		if (consumer_first)
			usleep(20000);
		open_end(path, &t.cfg, 0, &hr, &port, &r, &ch);
		producer(&ch, v);
		if (v == STREAM)
			read_exact(&ch, ack, 1);
		else
			CHECK_EQ(shml_recv_wait(&ch, ack, sizeof(ack), TIMEOUT_NS), 1);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		shml_get_counters(&ch, &c);
		printf("%-9s %-14s %u messages in %.3f s, notifications sent %llu, per message "
		       "%.5f\n",
		       v == COPY        ? "copy"
		       : v == ZERO_COPY ? "zero-copy"
		                        : "stream",
		       consumer_first ? "consumer-first" : "producer-first", MESSAGES,
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		       (unsigned long long)c.notify_sent, (double)c.notify_sent / MESSAGES);
		shml_chan_close(&ch);
		shml_host_unmap(&hr);
		unlink(path);
	}
}

int main(void)
{
	for (int v = COPY; v <= STREAM; v++)
		for (int first = 0; first < 2; first++)
			run((enum variant)v, first);
	return 0;
}
