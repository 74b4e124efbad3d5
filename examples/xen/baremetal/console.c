/* SPDX-License-Identifier: MIT */
/*
 * The vpl011 console (Xen's emulated PL011 at 0x22000000): polled output.
 * Xen cuts a guest's console line at 128 characters, so callers keep lines
 * short.
 */
#include "console.h"
#include "shmlink_xen_bm.h"

#define UARTDR 0x00
#define UARTFR 0x18
#define UARTFR_TXFF (1u << 5)

static void con_putc(char c)
{
	volatile uint32_t *u = (volatile uint32_t *)SHML_XEN_GUEST_PL011;
	while (u[UARTFR / 4] & UARTFR_TXFF)
		;
	u[UARTDR / 4] = (uint32_t)(unsigned char)c;
}

void con_puts(const char *s)
{
	while (*s)
		con_putc(*s++);
}

void con_u64(uint64_t v)
{
	char b[21];
	int i = 20;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	con_puts(b + i);
}

void con_hex(uint64_t v, int digits)
{
	char b[17];
	int i = 16;
	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while ((v || 16 - i < digits) && i > 0);
	con_puts(b + i);
}

void con_kv(const char *key, uint64_t v)
{
	con_puts(" ");
	con_puts(key);
	con_puts("=");
	con_u64(v);
}
