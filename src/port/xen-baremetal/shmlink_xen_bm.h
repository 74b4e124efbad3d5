/* SPDX-License-Identifier: MIT */
/*
 * shmlink port for a baremetal AArch64 program running as a Xen dom0less domU
 * (docs/XEN.md, examples/xen/baremetal/).
 *
 * - Hypercalls: hvc #0xEA1, number in x16, arguments in x0..x4.
 * - Notification: EVTCHNOP_send on the channel's static event channel port.
 * - Waiting: the port's pending bit in shared_info (mapped with
 *   XENMEM_add_to_physmap at a page of ours). Either polled, or with
 *   SHML_XEN_BM_IRQ the domain sleeps in WFI until Xen's event-channel PPI
 *   (31) or the virtual timer (PPI 27, armed for the timeout) is pending at
 *   the GICv3 CPU interface. Interrupts stay masked in PSTATE: WFI wakes on a
 *   pending interrupt anyway, so no vector table or handler is involved.
 * - Clock: the virtual counter (CNTVCT_EL0 / CNTFRQ_EL0).
 * - Copies: aligned accesses only (the region is Device memory).
 *
 * Needs the MMU on with normal cacheable memory for our RAM (the pending
 * bits are cleared with atomic read-modify-writes, which Device memory does
 * not support), the region mapped as Device memory; examples/xen/baremetal/
 * start.S does that. Build with -mstrict-align -mgeneral-regs-only
 * -mno-outline-atomics. Nothing from libc.
 */
#ifndef SHMLINK_XEN_BM_H
#define SHMLINK_XEN_BM_H

#include "shmlink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Xen's guest memory map for dom0less domUs (xen/include/public/arch-arm.h). */
#define SHML_XEN_GUEST_GICD 0x03001000ul  /* GICv3 distributor */
#define SHML_XEN_GUEST_GICR0 0x03020000ul /* redistributor of vCPU 0 (RD, then SGI frame) */
#define SHML_XEN_GUEST_PL011 0x22000000ul /* the vpl011 console */
#define SHML_XEN_EVTCHN_PPI 31u           /* event channel upcall */
#define SHML_XEN_VTIMER_PPI 27u           /* EL1 virtual timer */

enum {
	SHML_XEN_BM_IRQ =
	        1u, /**< sleep in WFI on the event PPI (sets up the GICv3 CPU interface) */
};

/** The port and its state. Lives as long as the regions that use it. */
struct shml_xen_bm {
	struct shml_port port;          /**< pass &bm.port to shml_region_attach() */
	volatile uint64_t *shared_info; /**< the page Xen's shared_info is mapped at */
	const uint32_t *evtchn;         /**< per channel: our event channel port, 0 = none */
	uint32_t n_channels;
	uint64_t freq; /**< CNTFRQ_EL0 */
	unsigned flags;
	uint64_t wakeups_irq; /**< WFI wake-ups (statistics) */
};

/**
 * Map shared_info at @shared_info_page (4 KiB aligned, in our RAM; its old
 * content is gone), clear our ports' pending bits (binding can leave one
 * set), unmask them, and fill @bm->port. @evtchn has one entry per channel of
 * the config (`shmlink gen header` writes the ports as _EVTCHN_A/_EVTCHN_B).
 * With SHML_XEN_BM_IRQ, also enable PPIs 31 and 27 at the virtual GICv3.
 * Returns 0, or the negative Xen error of XENMEM_add_to_physmap.
 */
int shml_xen_bm_init(struct shml_xen_bm *bm, void *shared_info_page, const uint32_t *evtchn,
                     uint32_t n_channels, unsigned flags);

/** A Xen hypercall: hvc #0xEA1 with the number in x16. Returns x0. */
long shml_xen_bm_hypercall(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2,
                           unsigned long a3, unsigned long a4);

/** EVTCHNOP_send. */
int shml_xen_bm_send(uint32_t port);

/** Test and clear @port's pending bit in shared_info: 1 if it was set. */
int shml_xen_bm_take_event(struct shml_xen_bm *bm, uint32_t port);

/** SCHEDOP_shutdown: 0 poweroff, 1 reboot, 2 suspend, 3 crash. Returns only on failure. */
long shml_xen_bm_shutdown(unsigned reason);

/** The virtual counter in nanoseconds. */
uint64_t shml_xen_bm_now_ns(void *ctx);

#ifdef __cplusplus
}
#endif
#endif
