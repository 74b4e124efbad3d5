/* SPDX-License-Identifier: MIT */
/*
 * Host port: a region file mapped MAP_SHARED by several processes, and
 * futexes for notification. The futex word is the doorbell in the
 * notifier's own control line: the sleeper waits on the peer's doorbell
 * with the value it read before its final re-check, so a ring between that
 * read and the sleep makes FUTEX_WAIT return at once (no lost wake-up).
 * The mapping is shared, so the futexes are the non-private kind.
 */
#include "shmlink_host.h"
#include "../cpu_relax.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t shml_host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t host_now(void *ctx)
{
	(void)ctx;
	return shml_host_now_ns();
}

static void host_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	(void)ctx;
	(void)ch;
	syscall(SYS_futex, doorbell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int host_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                     uint32_t expected, uint64_t timeout_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000ull),
		               .tv_nsec = (long)(timeout_ns % 1000000000ull) };
	uint32_t raw = expected;
	(void)ctx;
	(void)ch;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	raw = __builtin_bswap32(expected); /* the word is little-endian in memory */
#endif
	if (syscall(SYS_futex, peer_doorbell, FUTEX_WAIT, raw, &ts, NULL, 0) == -1 &&
	    errno == ETIMEDOUT)
		return SHML_ETIMEDOUT;
	return 0; /* woken, value changed (EAGAIN) or interrupted: the caller re-checks */
}

static void host_relax(void *ctx)
{
	(void)ctx;
	shml_cpu_relax();
}

void shml_host_port_init(struct shml_port *port)
{
	*port = (struct shml_port){
		.ctx = NULL,
		.now_ns = host_now,
		.notify = host_notify,
		.wait = host_wait,
		.relax = host_relax,
	};
}

int shml_host_map(struct shml_host_region *h, const char *path, uint64_t size, int flags)
{
	struct stat st;
	void *mem;
	int fd, err;
	h->mem = NULL;
	h->size = 0;
	h->fd = -1;
	if (size == 0 || size > (uint64_t)SIZE_MAX)
		return -EINVAL;
	fd = open(path, O_RDWR | O_CLOEXEC | ((flags & SHML_HOST_CREATE) ? O_CREAT : 0), 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		goto fail_errno;
	if ((uint64_t)st.st_size < size) {
		if (!(flags & SHML_HOST_CREATE)) {
			close(fd);
			return -ERANGE;
		}
		if (ftruncate(fd, (off_t)size) != 0)
			goto fail_errno;
	}
	mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		goto fail_errno;
	h->mem = mem;
	h->size = size;
	h->fd = fd;
	return 0;
fail_errno:
	err = errno;
	close(fd);
	return -err;
}

void shml_host_unmap(struct shml_host_region *h)
{
	if (h->mem)
		munmap(h->mem, (size_t)h->size);
	if (h->fd >= 0)
		close(h->fd);
	h->mem = NULL;
	h->fd = -1;
	h->size = 0;
}
