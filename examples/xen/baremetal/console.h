/* SPDX-License-Identifier: MIT */
/* The vpl011 console of a Xen domU: Xen prints each line as "(XEN) DOMn: ...". */
#ifndef XEN_BM_CONSOLE_H
#define XEN_BM_CONSOLE_H

#include <stdint.h>

void con_puts(const char *s);
void con_u64(uint64_t v);
void con_hex(uint64_t v, int digits); /* digits 0: as many as needed */
/* "key=value" with a leading space, the value decimal. */
void con_kv(const char *key, uint64_t v);

#endif
