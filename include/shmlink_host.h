/* SPDX-License-Identifier: MIT */
/*
 * shmlink host port: processes on one Linux host share a region kept in a
 * file (typically under /dev/shm) and notify each other with futexes on the
 * doorbell words the core already writes.
 */
#ifndef SHMLINK_HOST_H
#define SHMLINK_HOST_H

#include "shmlink.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A mapped region file. Fields are read-only for the caller. */
struct shml_host_region {
	void *mem;     /**< the mapping, page aligned */
	uint64_t size; /**< bytes mapped */
	int fd;
};

/** Flags for shml_host_map(). */
enum {
	SHML_HOST_CREATE = 1, /**< create the file, or grow it to @size, if needed */
};

/**
 * Map the region file @path of at least @size bytes, shared.
 * Without SHML_HOST_CREATE the file must exist and be at least @size bytes.
 * The contents are never cleared: the protocol needs no zeroed memory.
 *
 * Returns 0, or a negative errno value (-ENOENT, -EACCES, ...); -ERANGE
 * when the existing file is smaller than @size.
 */
int shml_host_map(struct shml_host_region *h, const char *path, uint64_t size, int flags);

/** Unmap and close. Idempotent. */
void shml_host_unmap(struct shml_host_region *h);

/**
 * Fill @port with the host operations: CLOCK_MONOTONIC, futex wake on
 * notify, futex wait on the peer's doorbell, and the CPU's spin hint.
 * Caches are coherent and the memory is normal, so those hooks stay NULL.
 */
void shml_host_port_init(struct shml_port *port);

/** CLOCK_MONOTONIC in nanoseconds (the port's clock, handy for callers). */
uint64_t shml_host_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif
