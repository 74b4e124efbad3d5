/* SPDX-License-Identifier: MIT */
/*
 * What the baremetal examples need from their board: a console line and an
 * exit. cortexm.c implements them with semihosting (QEMU's -semihosting);
 * stub_start.c is a link-only stand-in used to size the examples on other
 * architectures.
 */
#ifndef SHMLINK_EXAMPLE_BOARD_H
#define SHMLINK_EXAMPLE_BOARD_H

#include <stdint.h>

/** Write a NUL-terminated string to the host console. */
void board_puts(const char *s);
/** Write @v in decimal. */
void board_put_u32(uint32_t v);
/** Stop: @ok != 0 exits the emulator with status 0, else with status 1. */
_Noreturn void board_exit(int ok);

/** Cortex-M: the SysTick exception handler an example may define (weak default: a fault). */
void SysTick_Handler(void);

/* The shared region, placed at a fixed address by the linker script. */
extern uint8_t __shmlink_region_start[];
extern uint8_t __shmlink_region_end[];

#endif
