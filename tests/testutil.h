/* SPDX-License-Identifier: MIT */
/* Shared helpers for the tests: configs, region files, checks, checksums. */
#ifndef SHMLINK_TESTUTIL_H
#define SHMLINK_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmlink.h"
#include "shmlink_host.h"

/* Fail the test with file:line and a message; a test is a program that exits 0. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",        \
			        __FILE__, __LINE__, #a, a_, #b, b_);                               \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* A two-domain, one-channel config ("a", "b", channel "ch0"); fields may be edited. */
struct tu_config {
	struct shml_domain_cfg domains[3];
	struct shml_channel_cfg channels[3];
	struct shml_config cfg;
};
void tu_config_init(struct tu_config *t, uint32_t mode, uint32_t ring_size);

/* Both ends of one channel in one process, over private memory (for unit tests). */
struct tu_pair {
	void *mem;
	struct shml_port port;
	struct shml_region ra, rb;
	struct shml_chan a, b;
};
/* Attach and open both ends; if @connect, drive the handshake to established. */
void tu_pair_open(struct tu_pair *p, const struct shml_config *cfg, int connect);
void tu_pair_close(struct tu_pair *p);
/* Poll both ends until both are established (bounded). */
void tu_pair_reopen(struct tu_pair *p, int connect);
void tu_pair_connect(struct tu_pair *p);

/* A unique region file path under /dev/shm for this test process. */
void tu_region_path(char *buf, size_t n, const char *tag);

/* FNV-1a 32 of a buffer: the tests' payload checksum. */
uint32_t tu_checksum(const void *p, size_t n);

/* Deterministic pseudo-random numbers (xorshift64*). */
uint64_t tu_rand(uint64_t *state);
void tu_fill(void *buf, size_t n, uint64_t seed);

/* Path of a program built beside the tests (SHMLINK_TEST_BIN_DIR). */
void tu_bin_path(char *buf, size_t n, const char *name);

#endif
