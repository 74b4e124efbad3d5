/* SPDX-License-Identifier: MIT */
/*
 * Payload copies for a region mapped as Device memory (Xen on Arm maps a
 * passthrough region Device-nGnRE): every access to the shared side is a
 * naturally aligned load or store of 8 bytes (4 at the edges). No libc, no
 * memcpy (glibc's uses unaligned accesses and DC ZVA), so the Linux port and
 * the baremetal port share this file. The private side may have any
 * alignment: it is normal memory.
 */
#include "shmlink_xen.h"

#if UINTPTR_MAX > 0xffffffffu
typedef uint64_t word_t; /* 64-bit processors: 8-byte accesses are single instructions */
#else
typedef uint32_t word_t;
#endif

union w32 {
	uint32_t w;
	uint8_t b[4];
};

/*
 * The private side, a word at a time, in memory order: the compiler merges
 * these into one (unaligned) access where that is allowed, and keeps byte
 * accesses under -mstrict-align. (__builtin_memcpy would become a call to
 * memcpy under -mstrict-align.)
 */
static inline uint32_t ld32(const uint8_t *s)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
#else
	return (uint32_t)s[3] << 24 | (uint32_t)s[2] << 16 | (uint32_t)s[1] << 8 | s[0];
#endif
}

static inline void st32(uint8_t *d, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	d[0] = (uint8_t)(v >> 24), d[1] = (uint8_t)(v >> 16), d[2] = (uint8_t)(v >> 8),
	d[3] = (uint8_t)v;
#else
	d[3] = (uint8_t)(v >> 24), d[2] = (uint8_t)(v >> 16), d[1] = (uint8_t)(v >> 8),
	d[0] = (uint8_t)v;
#endif
}

static inline word_t ldw(const uint8_t *s)
{
	if (sizeof(word_t) == 4)
		return ld32(s);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (word_t)((uint64_t)ld32(s) << 32 | ld32(s + 4));
#else
	return (word_t)((uint64_t)ld32(s + 4) << 32 | ld32(s));
#endif
}

static inline void stw(uint8_t *d, word_t v)
{
	if (sizeof(word_t) == 4) {
		st32(d, (uint32_t)v);
		return;
	}
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	st32(d, (uint32_t)((uint64_t)v >> 32)), st32(d + 4, (uint32_t)v);
#else
	st32(d, (uint32_t)v), st32(d + 4, (uint32_t)((uint64_t)v >> 32));
#endif
}

/* Byte copies for the partial words at the edges; volatile, so never a memcpy call. */
static void bytes_in(uint8_t *d, const uint8_t *s, size_t n)
{
	volatile uint8_t *vd = d;
	for (size_t i = 0; i < n; i++)
		vd[i] = s[i];
}

void shml_xen_copy_to_shared(void *ctx, volatile void *dst, const void *src, size_t n)
{
	uintptr_t a = (uintptr_t)dst;
	const uint8_t *s = src;
	(void)ctx;
	/* Head: up to the next 4-byte boundary, one read-patch-write of a word. */
	if ((a & 3u) && n) {
		volatile uint32_t *w = (volatile uint32_t *)(a & ~(uintptr_t)3);
		size_t off = a & 3u, k = 4u - off < n ? 4u - off : n;
		union w32 u;
		u.w = *w;
		bytes_in(u.b + off, s, k);
		*w = u.w;
		a += k, s += k, n -= k;
	}
	/* Up to the word boundary in 4-byte steps. */
	while ((a & (sizeof(word_t) - 1u)) && n >= 4u) {
		*(volatile uint32_t *)a = ld32(s);
		a += 4, s += 4, n -= 4;
	}
	while (n >= sizeof(word_t)) {
		*(volatile word_t *)a = ldw(s);
		a += sizeof(word_t), s += sizeof(word_t), n -= sizeof(word_t);
	}
	while (n >= 4u) {
		*(volatile uint32_t *)a = ld32(s);
		a += 4, s += 4, n -= 4;
	}
	/* Tail: the first bytes of one word; keep the others. */
	if (n) {
		volatile uint32_t *w = (volatile uint32_t *)a;
		union w32 u;
		u.w = *w;
		bytes_in(u.b, s, n);
		*w = u.w;
	}
}

void shml_xen_copy_from_shared(void *ctx, void *dst, const volatile void *src, size_t n)
{
	uintptr_t a = (uintptr_t)src;
	uint8_t *d = dst;
	(void)ctx;
	if ((a & 3u) && n) {
		size_t off = a & 3u, k = 4u - off < n ? 4u - off : n;
		union w32 u;
		u.w = *(const volatile uint32_t *)(a & ~(uintptr_t)3);
		bytes_in(d, u.b + off, k);
		a += k, d += k, n -= k;
	}
	while ((a & (sizeof(word_t) - 1u)) && n >= 4u) {
		st32(d, *(const volatile uint32_t *)a);
		a += 4, d += 4, n -= 4;
	}
	while (n >= sizeof(word_t)) {
		stw(d, *(const volatile word_t *)a);
		a += sizeof(word_t), d += sizeof(word_t), n -= sizeof(word_t);
	}
	while (n >= 4u) {
		st32(d, *(const volatile uint32_t *)a);
		a += 4, d += 4, n -= 4;
	}
	if (n) {
		union w32 u;
		u.w = *(const volatile uint32_t *)a;
		bytes_in(d, u.b, n);
	}
}
