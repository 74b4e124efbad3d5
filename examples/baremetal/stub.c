/* SPDX-License-Identifier: MIT */
/*
 * Link-only board for sizing the examples on architectures this project does
 * not boot (aarch64, riscv64, x86): an entry point and no-op console. The
 * image is never run: a real board sets up a stack, .data and .bss first.
 */
#include "board.h"

int main(void);
void _start(void);

void board_puts(const char *s)
{
	(void)s;
}

void board_put_u32(uint32_t v)
{
	(void)v;
}

_Noreturn void board_exit(int ok)
{
	(void)ok;
	for (;;)
		__asm__ __volatile__("" ::: "memory");
}

void _start(void)
{
	board_exit(main() == 0);
}
