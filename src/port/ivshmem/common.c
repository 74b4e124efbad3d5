/* SPDX-License-Identifier: MIT */
/*
 * What the Linux ivshmem pieces share: the domain -> peer id table, the
 * eventfd wait, and the server protocol's messages (one little-endian int64,
 * optionally with one file descriptor by SCM_RIGHTS).
 */
#include "ivshmem_internal.h"
#include "../cpu_relax.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void shml__ivs_seterr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

void shml_ivshmem_ids_clear(struct shml_ivshmem_ids *ids)
{
	for (uint32_t i = 0; i < SHML_MAX_DOMAINS; i++)
		ids->id[i] = SHML_IVSHMEM_NO_ID;
}

int shml_ivshmem_ids_parse(struct shml_ivshmem_ids *ids, const char *s)
{
	int n = 0;
	shml_ivshmem_ids_clear(ids);
	if (!s || !*s)
		return -1;
	for (;;) {
		if ((uint32_t)n >= SHML_MAX_DOMAINS)
			return -1;
		if (*s == '-') {
			s++;
		} else {
			char *end;
			unsigned long v;
			if (*s < '0' || *s > '9')
				return -1;
			errno = 0;
			v = strtoul(s, &end, 0);
			if (errno || v > SHML_IVSHMEM_MAX_ID)
				return -1;
			ids->id[n] = (int32_t)v;
			s = end;
		}
		n++;
		if (*s == 0)
			return n;
		if (*s != ',')
			return -1;
		s++;
	}
}

uint64_t shml__ivs_now(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void shml__ivs_relax(void *ctx)
{
	(void)ctx;
	shml_cpu_relax();
}

uint64_t shml__ivs_drain(int efd)
{
	uint64_t v, total = 0;
	while (read(efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		total += v;
	return total;
}

static uint32_t le32_load(const volatile uint32_t *p)
{
	uint32_t v = __atomic_load_n((const uint32_t *)(uintptr_t)p, __ATOMIC_ACQUIRE);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

int shml__ivs_wait_eventfd(int efd, int extra_fd, const volatile uint32_t *peer_doorbell,
                           uint32_t expected, uint64_t timeout_ns, struct shml_ivshmem_stats *st,
                           int *extra_ready)
{
	struct pollfd p[2] = { { .fd = efd, .events = POLLIN },
		               { .fd = extra_fd, .events = POLLIN } };
	struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000ull),
		               .tv_nsec = (long)(timeout_ns % 1000000000ull) };
	int n;
	*extra_ready = 0;
	/*
	 * Drain first, then look at the doorbell: a notification that came
	 * before the drain moved the doorbell word first (the notifier
	 * increments it before it rings), so the check below sees it; one that
	 * comes after the drain leaves the eventfd readable for ppoll().
	 */
	st->interrupts += shml__ivs_drain(efd);
	if (le32_load(peer_doorbell) != expected)
		return 0;
	st->waits++;
	n = ppoll(p, extra_fd >= 0 ? 2 : 1, &ts, NULL);
	if (n == 0) {
		st->wait_timeouts++;
		return SHML_ETIMEDOUT;
	}
	if (n > 0) {
		if (p[0].revents)
			st->interrupts += shml__ivs_drain(efd);
		if (extra_fd >= 0 && p[1].revents)
			*extra_ready = 1;
	}
	return 0;
}

int shml__ivs_send_msg(int sock, int64_t value, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	uint64_t le = (uint64_t)value;
	struct iovec iov;
	struct msghdr m;
	ssize_t r;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	le = __builtin_bswap64(le);
#endif
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	iov.iov_base = &le;
	iov.iov_len = sizeof(le);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		r = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == (ssize_t)sizeof(le) ? 0 : -EIO;
}

int shml__ivs_recv_msg(int sock, int64_t *value, int *fd, int block)
{
	uint8_t b[8];
	size_t got = 0;
	*fd = -1;
	while (got < sizeof(b)) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} u;
		struct iovec iov = { .iov_base = b + got, .iov_len = sizeof(b) - got };
		struct msghdr m;
		struct cmsghdr *c;
		ssize_t r;
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		/* The server writes each message at once: only its first byte may be missing. */
		r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | (block || got ? 0 : MSG_DONTWAIT));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && got == 0)
			return 0;
		if (r < 0) {
			int e = errno;
			if (*fd >= 0)
				close(*fd);
			*fd = -1;
			return -e;
		}
		if (r == 0) {
			if (*fd >= 0)
				close(*fd);
			*fd = -1;
			return -ECONNRESET;
		}
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*fd < 0)
					*fd = f;
				else
					close(f); /* more than one fd: not this protocol */
			}
		}
		got += (size_t)r;
	}
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	*value = (int64_t)v;
	return 1;
}
