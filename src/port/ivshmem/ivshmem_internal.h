/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Linux ivshmem pieces (server.c, client.c, guest.c, common.c). */
#ifndef SHMLINK_IVSHMEM_INTERNAL_H
#define SHMLINK_IVSHMEM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "shmlink_ivshmem.h"

/* printf into a fixed error buffer. */
void shml__ivs_seterr(char *err, size_t n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The vector a channel's notifications use. */
static inline uint32_t shml__ivs_vector(const struct shml_chan *ch, uint32_t vectors)
{
	return vectors ? ch->index % vectors : 0;
}

/* CLOCK_MONOTONIC ns, and the port hooks every Linux ivshmem port shares. */
uint64_t shml__ivs_now(void *ctx);
void shml__ivs_relax(void *ctx);

/* Read and discard everything an eventfd holds (non-blocking); returns the count read. */
uint64_t shml__ivs_drain(int efd);

/*
 * The wait hook's body: drain @efd, return at once if *@peer_doorbell moved
 * away from @expected, else poll @efd (and @extra_fd, if >= 0) for up to
 * @timeout_ns. *@extra_ready says whether @extra_fd became readable.
 * Returns 0 or SHML_ETIMEDOUT.
 */
int shml__ivs_wait_eventfd(int efd, int extra_fd, const volatile uint32_t *peer_doorbell,
                           uint32_t expected, uint64_t timeout_ns, struct shml_ivshmem_stats *st,
                           int *extra_ready);

/* Send / receive one protocol message: a little-endian int64, with at most one fd. */
int shml__ivs_send_msg(int sock, int64_t value, int fd);
/* Returns 1 with a message, 0 when none is waiting (@block 0), or a negative errno
 * (-ECONNRESET at EOF). *@fd is -1 when none came with it. */
int shml__ivs_recv_msg(int sock, int64_t *value, int *fd, int block);

#endif
