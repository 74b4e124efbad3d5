/* SPDX-License-Identifier: MIT */
/*
 * memcpy and memset: all the core needs from a C library. Byte loops: small,
 * and never an unaligned word access (Cortex-M0+ faults on those). Link your
 * libc's versions instead if you have one.
 */
#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
