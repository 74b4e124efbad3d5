/* SPDX-License-Identifier: MIT */
/*
 * The spin-wait hint the ports (and the benchmarks) give the CPU between two
 * polls of shared memory: it lets an SMT sibling run and saves power, and it
 * never sleeps. Freestanding: a header only, no OS calls.
 */
#ifndef SHMLINK_PORT_CPU_RELAX_H
#define SHMLINK_PORT_CPU_RELAX_H

static inline void shml_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory"); /* a NOP on cores without SMT */
#elif defined(__riscv)
	/* Zihintpause PAUSE (FENCE W,0): a plain fence hint on older cores. */
	__asm__ __volatile__(".4byte 0x0100000f" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif
