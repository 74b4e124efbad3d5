/* SPDX-License-Identifier: MIT */
/*
 * shmlink baremetal port: a tick-based clock and a spin hint; everything else
 * NULL (polling, coherent normal memory). See include/shmlink_baremetal.h.
 */
#include "shmlink_baremetal.h"

#include "../cpu_relax.h"

uint64_t shml_baremetal_now_ns(void *ctx)
{
	struct shml_baremetal *bm = ctx;
	uint64_t t = bm->ticks ? bm->ticks(bm->arg) : ++bm->count;
	uint64_t q = bm->ns_per_tick_q16;
	/* t * q / 2^16 without a 128-bit product: exact while q < 2^48. */
	return (t >> 16) * q + (((t & 0xffffu) * q) >> 16);
}

/*
 * The spin hint. Define SHML_BAREMETAL_RELAX_WFE on Arm when the peer (or a
 * periodic interrupt) executes SEV or otherwise generates events: WFE then
 * sleeps the core between polls. Without events WFE could sleep for ever.
 */
void shml_baremetal_relax(void *ctx)
{
	(void)ctx;
#if (defined(__arm__) || defined(__aarch64__)) && defined(SHML_BAREMETAL_RELAX_WFE)
	__asm__ __volatile__("wfe" ::: "memory");
#else
	shml_cpu_relax();
#endif
}

void shml_baremetal_port_init(struct shml_baremetal *bm, uint64_t (*ticks)(void *arg), void *arg,
                              uint64_t ns_per_tick_q16)
{
	__builtin_memset(bm, 0, sizeof(*bm));
	bm->ticks = ticks;
	bm->arg = arg;
	bm->ns_per_tick_q16 = ns_per_tick_q16 ? ns_per_tick_q16 : 1u << 16;
	bm->port.ctx = bm;
	bm->port.now_ns = shml_baremetal_now_ns;
	bm->port.relax = shml_baremetal_relax;
}

/* One shared word seen as bytes in memory order (endian-neutral). */
union word {
	uint32_t w;
	uint8_t b[4];
};

void shml_baremetal_copy_to_shared_aligned(void *ctx, volatile void *dst, const void *src, size_t n)
{
	volatile uint32_t *w = (volatile uint32_t *)((uintptr_t)dst & ~(uintptr_t)3);
	size_t off = (uintptr_t)dst & 3u;
	const uint8_t *s = src;
	(void)ctx;
	while (n) {
		size_t k = 4u - off < n ? 4u - off : n;
		union word u;
		if (k < 4u)
			u.w = *w; /* a partial word: keep the bytes we do not write */
		for (size_t i = 0; i < k; i++)
			u.b[off + i] = s[i];
		*w++ = u.w;
		s += k;
		n -= k;
		off = 0;
	}
}

void shml_baremetal_copy_from_shared_aligned(void *ctx, void *dst, const volatile void *src,
                                             size_t n)
{
	const volatile uint32_t *w = (const volatile uint32_t *)((uintptr_t)src & ~(uintptr_t)3);
	size_t off = (uintptr_t)src & 3u;
	uint8_t *d = dst;
	(void)ctx;
	while (n) {
		size_t k = 4u - off < n ? 4u - off : n;
		union word u;
		u.w = *w++;
		for (size_t i = 0; i < k; i++)
			d[i] = u.b[off + i];
		d += k;
		n -= k;
		off = 0;
	}
}
