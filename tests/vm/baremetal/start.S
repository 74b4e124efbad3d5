/* SPDX-License-Identifier: MIT */
/*
 * Multiboot (v1) entry of the baremetal ivshmem guest. QEMU's -kernel loads
 * this 32-bit ELF and enters bm_entry in protected mode, paging off, with
 * EAX = 0x2BADB002 and EBX = the multiboot information.
 */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002             /* magic */
	.long 0x00000003             /* flags: align modules, memory info */
	.long -(0x1badb002 + 0x00000003)

	.text
	.globl bm_entry
	.type bm_entry, @function
bm_entry:
	cli
	movl $bm_stack_top, %esp
	xorl %ebp, %ebp
	pushl %ebx                   /* multiboot information */
	pushl %eax                   /* multiboot magic */
	call bm_main
	/* bm_main returned its status: isa-debug-exit, then halt for good. */
	movw $0xf4, %dx
	outl %eax, %dx
1:	hlt
	jmp 1b

	.bss
	.align 16
	.space 65536
bm_stack_top:
	.section .note.GNU-stack, "", @progbits
