/* SPDX-License-Identifier: MIT */
/*
 * The only library functions the freestanding core may use. Deliberately
 * simple: this is a link check, not a fast libc. Nothing else may be added
 * here, or the check stops proving that the core needs only these two.
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
