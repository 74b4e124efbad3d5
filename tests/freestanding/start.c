/* SPDX-License-Identifier: MIT */
/*
 * Entry point of the freestanding link check (x86-64 Linux only): the core is
 * linked with -nostdlib -static and nothing but memfuncs.c, so this file is
 * the whole "platform". It calls a few core functions so that the link pulls
 * them in, and exits 0 only if they give sane answers.
 *
 * It must not define memcpy or memset: memfuncs.c is the only provider.
 */
#include <stddef.h>
#include <stdint.h>

#include "shmlink.h"

void shml_freestanding_main(void);

static const struct shml_domain_cfg domains[] = {
	{ .name = "alpha", .id = 1 },
	{ .name = "beta", .id = 2 },
};

static const struct shml_channel_cfg channels[] = {
	{ .name = "data",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 4096,
	  .ring_ba = 4096,
	  .max_message = 0 },
};

static const struct shml_config cfg = {
	.region_size = 1u << 20,
	.cacheline = 64,
	.n_domains = 2,
	.domains = domains,
	.n_channels = 1,
	.channels = channels,
};

_Noreturn static void sys_exit(int code)
{
	/* exit_group(code) */
	__asm__ volatile("syscall" : : "a"(231), "D"(code) : "rcx", "r11", "memory");
	__builtin_unreachable();
}

void shml_freestanding_main(void)
{
	struct shml_config_error err;
	int bad = 0;

	if (shml_config_check(&cfg, &err) != 0)
		bad |= 1;
	if (shml_config_hash(&cfg) == 0)
		bad |= 2;
	if (shml_layout_bytes(&cfg) > cfg.region_size)
		bad |= 4;
	if (shml_strerror(SHML_EINVAL) == NULL)
		bad |= 8;
	sys_exit(bad);
}

/*
 * The kernel enters _start with %rsp 16-byte aligned and no return address;
 * a C function expects %rsp = 8 mod 16. Align and call, in assembly.
 */
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "	xor %ebp, %ebp\n"
        "	and $-16, %rsp\n"
        "	call shml_freestanding_main\n"
        "	hlt\n");
