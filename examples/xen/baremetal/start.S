/* SPDX-License-Identifier: MIT */
/*
 * Entry of the baremetal Xen domU: the arm64 Linux Image header (Xen's
 * dom0less loader accepts a kernel module that carries it), the MMU (an
 * identity map: the first GiB, with the GIC, the console and the shared
 * region, as Device-nGnRE; the second GiB, our RAM, as normal write-back
 * memory), exception vectors, .bss, the stack, then main().
 *
 * A soft reboot (reboot() below) comes back to _start with the MMU on: the
 * tables stay, .bss is cleared again, .noinit keeps its content.
 */
	.section .text.head, "ax"
	.globl	_start
_start:
	b	entry			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset: Xen loads us at the start of RAM */
	.quad	_image_size		/* image_size: up to _end, with .bss, tables, stack */
	.quad	0xa			/* flags: little-endian, 4 KiB pages, placement anywhere */
	.quad	0			/* res2 */
	.quad	0			/* res3 */
	.quad	0			/* res4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5 */

	.text
entry:
	msr	daifset, #0xf
	mrs	x1, sctlr_el1
	tbnz	x1, #0, 1f		/* MMU already on: a soft reboot */
	bl	mmu_enable
1:	ldr	x1, =vectors
	msr	vbar_el1, x1
	ldr	x1, =__stack_top
	mov	sp, x1
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
2:	cmp	x1, x2
	b.hs	3f
	str	xzr, [x1], #8
	b	2b
3:	isb
	bl	main
4:	wfi
	b	4b

/* Block descriptors: valid block, AttrIndx, SH, AF; Device blocks never execute. */
#define DEVICE_BLOCK	(0x1 | (0 << 2) | (1 << 10) | (3 << 53))
#define NORMAL_BLOCK	(0x1 | (1 << 2) | (3 << 8) | (1 << 10))
/* MAIR: attribute 0 Device-nGnRE, attribute 1 Normal write-back read/write-allocate. */
#define MAIR_VALUE	0xff04
/* TCR: T0SZ 25 (39-bit VA, tables start at level 1), inner/outer WB, inner shareable,
 * 4 KiB granule, no TTBR1 walks (EPD1), 36-bit IPA. */
#define TCR_VALUE	(25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 32))

/* Uses no stack: called before there is one. */
mmu_enable:
	ldr	x0, =l1_table
	mov	x1, x0
	mov	x2, #512
5:	str	xzr, [x1], #8
	subs	x2, x2, #1
	b.ne	5b
	ldr	x1, =DEVICE_BLOCK		/* 0x00000000: GIC, vpl011, the shared region */
	str	x1, [x0]
	ldr	x1, =(0x40000000 | NORMAL_BLOCK)	/* 0x40000000: RAM */
	str	x1, [x0, #8]
	/* Lines of our image written with the MMU off must not be shadowed by stale
	 * cache lines once the cache is on: invalidate [_start, _end). */
	mrs	x3, ctr_el0
	ubfx	x3, x3, #16, #4
	mov	x4, #4
	lsl	x3, x4, x3		/* smallest D-cache line, bytes */
	ldr	x1, =_start
	ldr	x2, =_end
	sub	x4, x3, #1
	bic	x1, x1, x4
6:	dc	ivac, x1
	add	x1, x1, x3
	cmp	x1, x2
	b.lo	6b
	dsb	sy
	ldr	x1, =MAIR_VALUE
	msr	mair_el1, x1
	ldr	x1, =TCR_VALUE
	msr	tcr_el1, x1
	msr	ttbr0_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	mrs	x1, sctlr_el1
	orr	x1, x1, #(1 << 0)	/* M */
	orr	x1, x1, #(1 << 2)	/* C */
	orr	x1, x1, #(1 << 12)	/* I */
	bic	x1, x1, #(1 << 1)	/* A: no alignment checks on normal memory */
	msr	sctlr_el1, x1
	isb
	ret

	.globl	reboot
reboot:
	msr	daifset, #0xf
	b	_start

	/* Every exception is fatal here: say which and stop. */
	.balign	2048
vectors:
	.rept	16
	.balign	128
	b	exception_entry
	.endr
exception_entry:
	ldr	x1, =__stack_top
	mov	sp, x1
	bl	exception
7:	wfi
	b	7b

	.ltorg
