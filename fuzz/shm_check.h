/* SPDX-License-Identifier: MIT */
/*
 * Force-included (clang -include) into the core sources of the fuzz build
 * only: every shared-memory word access of the core goes through
 * __atomic_load_n / __atomic_store_n (src/core/internal.h), and these macros
 * let the harness check each one before it happens: inside the region, in a
 * part this side may touch in the call being made, naturally aligned
 * (docs/PROTOCOL.md §2, §4). The inner name is not expanded again, so it is
 * still the compiler builtin. The core itself is not changed.
 */
#ifndef SHMLINK_FUZZ_SHM_CHECK_H
#define SHMLINK_FUZZ_SHM_CHECK_H

#include <stddef.h>

void fuzz_shm_access(const volatile void *p, size_t n, int store);

#define __atomic_load_n(p, o) (fuzz_shm_access((p), sizeof(*(p)), 0), __atomic_load_n((p), (o)))
#define __atomic_store_n(p, v, o)                                                                  \
	(fuzz_shm_access((p), sizeof(*(p)), 1), __atomic_store_n((p), (v), (o)))

#endif
