/* SPDX-License-Identifier: MIT */
/*
 * What users would pick instead of shmlink, between the same two pinned
 * processes, with blocking system calls:
 *   pipe/stream/block            two pipes (one each way); write and read whole messages
 *   unix_stream/stream/block     socketpair(AF_UNIX, SOCK_STREAM)
 *   unix_seqpacket/message/block socketpair(AF_UNIX, SOCK_SEQPACKET): one send, one recv
 *   eventfd/pingpong/block       two eventfds: write 1, read (RTT only, no payload: size 0)
 *   futex/pingpong/block         two futex words: store, FUTEX_WAKE; FUTEX_WAIT until it
 *                                changes (RTT only, size 0): the raw cost of a wake-up
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_util.h"

enum kind { PIPE, USTREAM, USEQ, EVENTFD, FUTEX };

struct ipc_arg {
	enum kind kind;
	int fd[2][2];            /* [side][0]: read end for that side, [1]: write end */
	_Atomic uint32_t *words; /* futex: [0] side 0 -> 1, [16] side 1 -> 0 */
};

struct ipc_state {
	struct ipc_arg *a;
	int side, rfd, wfd;
	uint8_t *buf;
	uint64_t tx_seq, rx_seq;
	uint32_t fx_seen; /* futex: last value seen in the peer's word */
};

static void close_all(struct ipc_arg *a)
{
	for (int s = 0; s < 2; s++)
		for (int e = 0; e < 2; e++)
			if (a->fd[s][e] >= 0) {
				close(a->fd[s][e]);
				a->fd[s][e] = -1;
			}
}

static int ipc_setup(struct bench_pair *p, size_t size)
{
	struct ipc_arg *a = p->arg;
	int sv[2];
	memset(a->fd, -1, sizeof(a->fd));
	switch (a->kind) {
	case PIPE: {
		int ab[2], ba[2];
		if (pipe2(ab, O_CLOEXEC) || pipe2(ba, O_CLOEXEC))
			return -errno;
		a->fd[0][1] = ab[1];
		a->fd[1][0] = ab[0];
		a->fd[1][1] = ba[1];
		a->fd[0][0] = ba[0];
		p->capacity = size >= 65536 ? 1 : 65536 / size; /* the default pipe buffer */
		break;
	}
	case USTREAM:
	case USEQ: {
		int sndbuf = 0;
		socklen_t len = sizeof(sndbuf);
		if (socketpair(AF_UNIX,
		               (a->kind == USTREAM ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC,
		               0, sv))
			return -errno;
		if (a->kind == USEQ) {
			/* A datagram must fit the send buffer: grow it for big messages. */
			int want = (int)(4 * size);
			for (int i = 0; i < 2; i++) {
				getsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
				if (sndbuf < want)
					setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &want,
					           sizeof(want));
			}
		}
		getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
		a->fd[0][0] = a->fd[0][1] = sv[0];
		a->fd[1][0] = a->fd[1][1] = sv[1];
		p->capacity = (uint64_t)sndbuf / (size < 512 ? 512 : size) + 1;
		break;
	}
	case EVENTFD: {
		int ab = eventfd(0, EFD_CLOEXEC), ba = eventfd(0, EFD_CLOEXEC);
		if (ab < 0 || ba < 0)
			return -errno;
		a->fd[0][1] = a->fd[1][0] = ab;
		a->fd[1][1] = a->fd[0][0] = ba;
		break;
	}
	case FUTEX:
		a->words = bench_shared_alloc(4096);
		break;
	}
	return 0;
}

static void ipc_teardown(struct bench_pair *p)
{
	struct ipc_arg *a = p->arg;
	/* Socket pairs and eventfds appear twice in the table: close each once. */
	if (a->kind == USTREAM || a->kind == USEQ) {
		close(a->fd[0][0]);
		close(a->fd[1][0]);
	} else if (a->kind == EVENTFD) {
		close(a->fd[0][0]);
		close(a->fd[0][1]);
	} else if (a->kind == PIPE) {
		close_all(a);
	}
	memset(a->fd, -1, sizeof(a->fd));
	if (a->words)
		bench_shared_free((void *)a->words, 4096);
	a->words = NULL;
}

static int ipc_open(struct bench_pair *p, int side, size_t size, void **st)
{
	struct ipc_arg *a = p->arg;
	struct ipc_state *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->a = a;
	s->side = side;
	s->rfd = a->fd[side][0];
	s->wfd = a->fd[side][1];
	s->buf = bench_alloc(size ? size : 8);
	*st = s;
	return 0;
}

static void ipc_close(void *st, int side)
{
	struct ipc_state *s = st;
	(void)side;
	free(s->buf);
	free(s);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -EPIPE : -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_msg(struct ipc_state *s, size_t size)
{
	bench_stamp(s->buf, size, s->tx_seq++);
	if (s->a->kind == USEQ) {
		ssize_t w = send(s->wfd, s->buf, size, 0);
		return w == (ssize_t)size ? 0 : w < 0 ? -errno : -EIO;
	}
	return write_all(s->wfd, s->buf, size);
}

static int recv_msg(struct ipc_state *s, size_t size)
{
	int rc;
	if (s->a->kind == USEQ) {
		ssize_t r = recv(s->rfd, s->buf, size, 0);
		rc = r == (ssize_t)size ? 0 : r < 0 ? -errno : -EIO;
	} else {
		rc = read_all(s->rfd, s->buf, size);
	}
	if (rc == 0 && bench_check(s->buf, size, s->rx_seq++))
		rc = -EBADMSG;
	return rc;
}

static int ipc_tput(void *st, int side, size_t size, uint64_t count)
{
	struct ipc_state *s = st;
	for (uint64_t i = 0; i < count; i++) {
		int rc = side == 0 ? send_msg(s, size) : recv_msg(s, size);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- wake-up primitives (no payload) ------------------------------------------------- */

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

static int ping_signal(struct ipc_state *s)
{
	if (s->a->kind == EVENTFD) {
		uint64_t one = 1;
		return write(s->wfd, &one, 8) == 8 ? 0 : -errno;
	}
	_Atomic uint32_t *mine = s->a->words + (s->side ? 16 : 0);
	atomic_fetch_add(mine, 1);
	futex(mine, FUTEX_WAKE, INT_MAX);
	return 0;
}

static int ping_wait(struct ipc_state *s)
{
	if (s->a->kind == EVENTFD) {
		uint64_t v;
		return read(s->rfd, &v, 8) == 8 ? 0 : -errno;
	}
	_Atomic uint32_t *peer = s->a->words + (s->side ? 0 : 16);
	uint32_t v;
	while ((v = atomic_load(peer)) == s->fx_seen)
		futex(peer, FUTEX_WAIT, v);
	s->fx_seen = v;
	return 0;
}

static int ipc_rtt(void *st, int side, size_t size, uint64_t count, uint64_t *samples)
{
	struct ipc_state *s = st;
	int sig = s->a->kind == EVENTFD || s->a->kind == FUTEX;
	uint64_t prev = bench_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		int rc;
		if (side == 0) {
			rc = sig ? ping_signal(s) : send_msg(s, size);
			if (rc == 0)
				rc = sig ? ping_wait(s) : recv_msg(s, size);
			uint64_t t = bench_now_ns();
			samples[i] = t - prev;
			prev = t;
		} else {
			rc = sig ? ping_wait(s) : recv_msg(s, size);
			if (rc == 0)
				rc = sig ? ping_signal(s) : send_msg(s, size);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct ipc_arg args[5];
	struct bench_pair pairs[5] = {
		{ .transport = "pipe", .mode = "stream" },
		{ .transport = "unix_stream", .mode = "stream" },
		{ .transport = "unix_seqpacket", .mode = "message" },
		{ .transport = "eventfd", .mode = "pingpong" },
		{ .transport = "futex", .mode = "pingpong" },
	};
	bench_parse_opts(&o, argc, argv, NULL);
	for (int k = 0; k < 5; k++) {
		args[k] = (struct ipc_arg){ .kind = (enum kind)k };
		pairs[k].wait = "block";
		pairs[k].arg = &args[k];
		pairs[k].setup = ipc_setup;
		pairs[k].open = ipc_open;
		pairs[k].tput = k <= USEQ ? ipc_tput : NULL;
		pairs[k].rtt = ipc_rtt;
		pairs[k].close = ipc_close;
		pairs[k].teardown = ipc_teardown;
	}
	if (o.extras) {
		bench_rtt(&o, &pairs[EVENTFD], 0);
		bench_rtt(&o, &pairs[FUTEX], 0);
	}
	for (int i = 0; i < o.n_sizes; i++)
		for (int k = PIPE; k <= USEQ; k++) {
			bench_tput(&o, &pairs[k], o.sizes[i]);
			bench_rtt(&o, &pairs[k], o.sizes[i]);
		}
	return bench_failures() ? 1 : 0;
}
