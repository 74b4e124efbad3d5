/* SPDX-License-Identifier: MIT */
/*
 * Baremetal AArch64 Xen port: hypercalls, shared_info, event channel pending
 * bits, optionally the event PPI through the virtual GICv3 (WFI with
 * interrupts masked). See shmlink_xen_bm.h.
 */
#include "shmlink_xen_bm.h"
#include "shmlink_xen.h"

#include "../cpu_relax.h"

#if !defined(__aarch64__)
#error "the Xen baremetal port is AArch64 only"
#endif

/* Hypercall numbers and sub-operations (xen/include/public/xen.h, memory.h, event_channel.h). */
#define HYP_MEMORY_OP 12
#define HYP_EVENT_CHANNEL_OP 32
#define HYP_SCHED_OP 29
#define XENMEM_ADD_TO_PHYSMAP 7
#define XENMEM_REMOVE_FROM_PHYSMAP 15
#define XEN_EBUSY 16
#define XENMAPSPACE_SHARED_INFO 0
#define DOMID_SELF 0x7ff0u
#define EVTCHNOP_SEND 4
#define SCHEDOP_SHUTDOWN 2

/* shared_info on Arm (64-bit words): vcpu_info[0] is 48 bytes, then the 2-level bitmaps. */
#define SI_UPCALL_PENDING 0  /* byte */
#define SI_PENDING_SEL 8     /* 64-bit */
#define SI_EVTCHN_PENDING 48 /* 64 x 64-bit */
#define SI_EVTCHN_MASK 560   /* 64 x 64-bit */

struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};

struct xen_remove_from_physmap {
	uint16_t domid;
	uint64_t gpfn;
};

struct xen_evtchn_send {
	uint32_t port;
};

struct xen_sched_shutdown {
	uint32_t reason;
};

long shml_xen_bm_hypercall(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2,
                           unsigned long a3, unsigned long a4)
{
	register unsigned long x0 __asm__("x0") = a0;
	register unsigned long x1 __asm__("x1") = a1;
	register unsigned long x2 __asm__("x2") = a2;
	register unsigned long x3 __asm__("x3") = a3;
	register unsigned long x4 __asm__("x4") = a4;
	register unsigned long x16 __asm__("x16") = nr;
	/* Debug builds of Xen clobber the argument registers: say they change. */
	__asm__ __volatile__("hvc #0xea1"
	                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x16)
	                     :
	                     : "memory");
	return (long)x0;
}

int shml_xen_bm_send(uint32_t port)
{
	struct xen_evtchn_send s = { .port = port };
	return (int)shml_xen_bm_hypercall(HYP_EVENT_CHANNEL_OP, EVTCHNOP_SEND, (unsigned long)&s, 0,
	                                  0, 0);
}

long shml_xen_bm_shutdown(unsigned reason)
{
	struct xen_sched_shutdown s = { .reason = reason };
	return shml_xen_bm_hypercall(HYP_SCHED_OP, SCHEDOP_SHUTDOWN, (unsigned long)&s, 0, 0, 0);
}

#define SYSREG_READ(name, v) __asm__ __volatile__("mrs %0, " name : "=r"(v))
#define SYSREG_WRITE(name, v) __asm__ __volatile__("msr " name ", %0" ::"r"((uint64_t)(v)))
/* GICv3 CPU interface registers by encoding: no assembler extension needed. */
#define ICC_PMR_EL1 "S3_0_C4_C6_0"
#define ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define ICC_BPR1_EL1 "S3_0_C12_C12_3"
#define ICC_SRE_EL1 "S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"

uint64_t shml_xen_bm_now_ns(void *ctx)
{
	struct shml_xen_bm *bm = ctx;
	uint64_t t, f = bm->freq;
	__asm__ __volatile__("isb" ::: "memory");
	SYSREG_READ("cntvct_el0", t);
	return t / f * 1000000000ull + t % f * 1000000000ull / f;
}

static void bm_relax(void *ctx)
{
	(void)ctx;
	shml_cpu_relax();
}

static uint64_t *si_word(struct shml_xen_bm *bm, unsigned off)
{
	return (uint64_t *)(uintptr_t)((volatile uint8_t *)bm->shared_info + off);
}

int shml_xen_bm_take_event(struct shml_xen_bm *bm, uint32_t port)
{
	uint64_t *w = si_word(bm, SI_EVTCHN_PENDING + 8u * (port / 64u));
	uint64_t bit = 1ull << (port % 64u);
	if (!(__atomic_load_n(w, __ATOMIC_ACQUIRE) & bit))
		return 0;
	__atomic_fetch_and(w, ~bit, __ATOMIC_SEQ_CST);
	return 1;
}

static uint32_t port_of(struct shml_xen_bm *bm, const struct shml_chan *ch)
{
	return shml_chan_index(ch) < bm->n_channels ? bm->evtchn[shml_chan_index(ch)] : 0;
}

static void bm_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	uint32_t port = port_of(ctx, ch);
	(void)doorbell;
	if (port)
		shml_xen_bm_send(port);
}

/* Acknowledge (and so clear) every interrupt pending at the CPU interface. */
static void gic_ack_all(void)
{
	for (int i = 0; i < 8; i++) {
		uint64_t iar;
		SYSREG_READ(ICC_IAR1_EL1, iar);
		iar &= 0xffffffu;
		if (iar >= 1020u)
			break;
		SYSREG_WRITE(ICC_EOIR1_EL1, iar);
	}
	__asm__ __volatile__("isb" ::: "memory");
}

static int bm_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                   uint32_t expected, uint64_t timeout_ns)
{
	struct shml_xen_bm *bm = ctx;
	uint32_t port = port_of(bm, ch);
	uint64_t start = shml_xen_bm_now_ns(bm);
	uint64_t deadline = timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
	for (;;) {
		uint64_t t;
		if (bm->flags & SHML_XEN_BM_IRQ) {
			/* Re-arm the upcall before looking: an event from now on injects the PPI.
			 */
			*((volatile uint8_t *)bm->shared_info + SI_UPCALL_PENDING) = 0;
			__atomic_exchange_n(si_word(bm, SI_PENDING_SEL), 0, __ATOMIC_SEQ_CST);
		}
		if (port && shml_xen_bm_take_event(bm, port))
			return 0;
		if (*peer_doorbell != expected) /* little-endian: AArch64 here */
			return 0;
		t = shml_xen_bm_now_ns(bm);
		if (t >= deadline)
			return SHML_ETIMEDOUT;
		if (!(bm->flags & SHML_XEN_BM_IRQ) || !port) {
			bm_relax(bm);
			continue;
		}
		{
			/* The virtual timer ends the sleep at the deadline (at most ~1 s away). */
			uint64_t left = deadline - t, now_ticks;
			uint64_t ticks = left / 1000000000ull * bm->freq +
			                 left % 1000000000ull * bm->freq / 1000000000ull + 1;
			SYSREG_READ("cntvct_el0", now_ticks);
			SYSREG_WRITE("cntv_cval_el0", now_ticks + ticks);
			SYSREG_WRITE("cntv_ctl_el0", 1); /* enabled, not masked */
			__asm__ __volatile__("isb; dsb sy; wfi" ::: "memory");
			SYSREG_WRITE("cntv_ctl_el0", 2); /* masked: the level goes down */
			__asm__ __volatile__("isb" ::: "memory");
			gic_ack_all();
			bm->wakeups_irq++;
		}
	}
}

static void gic_init(void)
{
	volatile uint32_t *gicd = (volatile uint32_t *)SHML_XEN_GUEST_GICD;
	volatile uint8_t *rd = (volatile uint8_t *)SHML_XEN_GUEST_GICR0;
	volatile uint8_t *sgi = rd + 0x10000;
	const uint32_t ours = 1u << SHML_XEN_EVTCHN_PPI | 1u << SHML_XEN_VTIMER_PPI;
	uint64_t sre;
	SYSREG_READ(ICC_SRE_EL1, sre);
	SYSREG_WRITE(ICC_SRE_EL1, sre | 1u); /* the system-register interface */
	__asm__ __volatile__("isb" ::: "memory");
	gicd[0] |= 1u << 1 | 1u << 4;                      /* GICD_CTLR: EnableGrp1A, ARE */
	*(volatile uint32_t *)(rd + 0x14) = 0;             /* GICR_WAKER: awake */
	*(volatile uint32_t *)(sgi + 0x80) |= ours;        /* GICR_IGROUPR0: group 1 */
	*(volatile uint32_t *)(sgi + 0x418) = 0xa0a0a0a0u; /* priorities of PPIs 24..27 */
	*(volatile uint32_t *)(sgi + 0x41c) = 0xa0a0a0a0u; /* ... and 28..31 */
	*(volatile uint32_t *)(sgi + 0x100) = ours;        /* GICR_ISENABLER0 */
	SYSREG_WRITE("cntv_ctl_el0", 2);
	SYSREG_WRITE(ICC_PMR_EL1, 0xff);
	SYSREG_WRITE(ICC_BPR1_EL1, 0);
	SYSREG_WRITE(ICC_IGRPEN1_EL1, 1);
	__asm__ __volatile__("isb" ::: "memory");
	gic_ack_all();
}

int shml_xen_bm_init(struct shml_xen_bm *bm, void *shared_info_page, const uint32_t *evtchn,
                     uint32_t n_channels, unsigned flags)
{
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.size = 0,
		.space = XENMAPSPACE_SHARED_INFO,
		.idx = 0,
		.gpfn = (uint64_t)(uintptr_t)shared_info_page >> 12,
	};
	long rc;
	uint64_t f;
	__builtin_memset(bm, 0, sizeof(*bm));
	rc = shml_xen_bm_hypercall(HYP_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, (unsigned long)&xatp, 0, 0,
	                           0);
	if (rc == -XEN_EBUSY) {
		/* Still mapped from before a soft reboot: Xen maps the page at one place
		 * only. Take it away from our frame, then map it there again. */
		struct xen_remove_from_physmap xrfp = { .domid = DOMID_SELF, .gpfn = xatp.gpfn };
		rc = shml_xen_bm_hypercall(HYP_MEMORY_OP, XENMEM_REMOVE_FROM_PHYSMAP,
		                           (unsigned long)&xrfp, 0, 0, 0);
		if (rc == 0)
			rc = shml_xen_bm_hypercall(HYP_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP,
			                           (unsigned long)&xatp, 0, 0, 0);
	}
	if (rc)
		return (int)rc;
	SYSREG_READ("cntfrq_el0", f);
	bm->shared_info = shared_info_page;
	bm->evtchn = evtchn;
	bm->n_channels = n_channels;
	bm->freq = f ? f : 62500000u;
	bm->flags = flags;
	for (uint32_t c = 0; c < n_channels; c++) {
		uint32_t p = evtchn[c];
		if (!p)
			continue;
		(void)shml_xen_bm_take_event(bm, p); /* binding can leave one pending */
		__atomic_fetch_and(si_word(bm, SI_EVTCHN_MASK + 8u * (p / 64u)),
		                   ~(1ull << (p % 64u)), __ATOMIC_SEQ_CST);
	}
	if (flags & SHML_XEN_BM_IRQ)
		gic_init();
	bm->port.ctx = bm;
	bm->port.now_ns = shml_xen_bm_now_ns;
	bm->port.notify = bm_notify;
	bm->port.wait = bm_wait;
	bm->port.relax = bm_relax;
	bm->port.copy_to_shared = shml_xen_copy_to_shared;
	bm->port.copy_from_shared = shml_xen_copy_from_shared;
	return 0;
}
