/* SPDX-License-Identifier: MIT */
/*
 * shmlink baremetal port: polling, no interrupts, no OS.
 *
 * Fills a struct shml_port whose clock is a tick counter you supply (a timer,
 * a cycle counter, a SysTick count) or, without one, a plain counter that
 * advances on every call. notify and wait stay NULL: blocking calls spin,
 * calling the relax hook (wfe/yield/pause/nop, chosen per architecture)
 * between polls. Cache and copy hooks stay NULL (coherent, normal memory);
 * set them in .port after init if your region is cacheable and not
 * coherent, or mapped as Device memory (docs/PORTING.md).
 *
 *     static struct shml_baremetal bm;
 *     shml_baremetal_port_init(&bm, my_ticks, NULL, SHML_BAREMETAL_NS_PER_TICK_Q16(1000));
 *     shml_region_attach(&region, &cfg, self, (void *)0x20300000, size, &bm.port);
 *
 * Like the core, this needs nothing from libc; on cores without a 64-bit
 * multiply (Cortex-M0/M0+) the clock conversion uses libgcc's __aeabi_lmul.
 */
#ifndef SHMLINK_BAREMETAL_H
#define SHMLINK_BAREMETAL_H

#include "shmlink.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Nanoseconds per tick in 1/65536 units, computed at compile time from the
 * tick rate in Hz (any rate from 1 Hz up): 1 kHz SysTick -> 1e6 ns.
 */
#define SHML_BAREMETAL_NS_PER_TICK_Q16(hz) ((uint64_t)((1000000000ull << 16) / (uint64_t)(hz)))

/** The port and its clock state. Lives as long as the regions that use it. */
struct shml_baremetal {
	struct shml_port port; /**< pass &bm.port to shml_region_attach() */
	/** Monotonic tick count; NULL: count calls of now_ns instead. */
	uint64_t (*ticks)(void *arg);
	void *arg;                /**< passed to ticks() */
	uint64_t ns_per_tick_q16; /**< see SHML_BAREMETAL_NS_PER_TICK_Q16() */
	uint64_t count;           /**< the call counter when ticks is NULL */
};

/**
 * Fill @bm->port: now_ns converts @ticks(@arg) with @ns_per_tick_q16; with
 * @ticks NULL every now_ns call advances the clock by one tick, so timeouts
 * become poll counts (fine for "wait as long as it takes", rough otherwise).
 * @ns_per_tick_q16 0 means 1 ns per tick. relax is the architecture's spin
 * hint; every other hook is NULL.
 */
void shml_baremetal_port_init(struct shml_baremetal *bm, uint64_t (*ticks)(void *arg), void *arg,
                              uint64_t ns_per_tick_q16);

/** The port's now_ns and relax hooks, for ports that build on this one. */
uint64_t shml_baremetal_now_ns(void *ctx);
void shml_baremetal_relax(void *ctx);

/**
 * Copy hooks for a region mapped as Device (or strongly-ordered) memory,
 * where unaligned and sub-word accesses may fault: every access to shared
 * memory is an aligned 32-bit load or store, whatever the alignment of the
 * application's buffer. Opt in after init:
 *     bm.port.copy_to_shared = shml_baremetal_copy_to_shared_aligned;
 *     bm.port.copy_from_shared = shml_baremetal_copy_from_shared_aligned;
 * A partial word at either end is read, patched and written back: safe,
 * because only this domain writes its ring and the bytes it rewrites keep
 * their value.
 */
void shml_baremetal_copy_to_shared_aligned(void *ctx, volatile void *dst, const void *src,
                                           size_t n);
void shml_baremetal_copy_from_shared_aligned(void *ctx, void *dst, const volatile void *src,
                                             size_t n);

/**
 * Widen a free-running 32-bit counter (DWT->CYCCNT, a timer register) to 64
 * bits: call it at least once per wrap period; @state starts at 0.
 */
static inline uint64_t shml_baremetal_widen32(uint64_t *state, uint32_t raw)
{
	*state += (uint32_t)(raw - (uint32_t)*state);
	return *state;
}

#ifdef __cplusplus
}
#endif
#endif
