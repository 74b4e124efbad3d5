/* SPDX-License-Identifier: MIT */
/*
 * The smallest Cortex-M startup that runs C: a vector table, a reset handler
 * that copies .data and clears .bss, fault handlers, and semihosting for the
 * console and the exit status (QEMU: -semihosting). Works on ARMv6-M
 * (Cortex-M0/M0+) and ARMv7-M/ARMv7E-M (Cortex-M3/M4/M7).
 */
#include "board.h"

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Fault_Handler")));

/* From the linker script. */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

/* The core's exception vectors: SP, reset, then NMI .. SysTick. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
	(void (*)(void))(uintptr_t)__stack_top,
	Reset_Handler,
	Fault_Handler, /* NMI */
	Fault_Handler, /* HardFault */
	Fault_Handler, /* MemManage */
	Fault_Handler, /* BusFault */
	Fault_Handler, /* UsageFault: an unaligned access lands here on v7-M */
	0,
	0,
	0,
	0,
	Fault_Handler, /* SVCall */
	Fault_Handler, /* DebugMonitor */
	0,
	Fault_Handler, /* PendSV */
	SysTick_Handler,
};

/* ARM semihosting: operation in r0, argument in r1, BKPT 0xAB. */
static uint32_t semihost(uint32_t op, const void *arg)
{
	register uint32_t r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;
	__asm__ __volatile__("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u /* QEMU exits with status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u    /* QEMU exits with status 1 */

void board_puts(const char *s)
{
	semihost(SYS_WRITE0, s);
}

void board_put_u32(uint32_t v)
{
	char buf[11];
	int i = 10;
	buf[i] = 0;
	do {
		/* Divide by 10 without __aeabi_uidiv (Cortex-M0+ has no divider). */
		uint32_t q = (uint32_t)(((uint64_t)v * 0xcccccccdu) >> 35);
		buf[--i] = (char)('0' + (v - q * 10u));
		v = q;
	} while (v);
	board_puts(&buf[i]);
}

_Noreturn void board_exit(int ok)
{
	for (;;)
		semihost(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT
		                                                : ADP_STOPPED_RUNTIME_ERROR));
}

void Fault_Handler(void)
{
	uint32_t ipsr;
	__asm__ __volatile__("mrs %0, ipsr" : "=r"(ipsr));
	board_puts("shmlink-baremetal: FAIL: exception ");
	board_put_u32(ipsr & 0x1ffu);
	board_puts("\n");
	board_exit(0);
}

void Reset_Handler(void)
{
	uint32_t *d = __data_start, *s = __data_load;
	while (d < __data_end)
		*d++ = *s++;
	for (d = __bss_start; d < __bss_end;)
		*d++ = 0;
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
	/* CCR: trap unaligned accesses and division by zero, as ARMv6-M always
	 * does for the former: the core must never make an unaligned access. */
	*(volatile uint32_t *)0xE000ED14u |= (1u << 3) | (1u << 4);
	__asm__ __volatile__("dsb\n\tisb" ::: "memory");
#endif
	board_exit(main() == 0);
}
