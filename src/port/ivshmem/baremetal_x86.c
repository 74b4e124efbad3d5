/* SPDX-License-Identifier: MIT */
/*
 * ivshmem from a baremetal x86 program: PCI configuration mechanism #1,
 * BAR0/BAR2 as the firmware assigned them, doorbell writes. Freestanding:
 * no libc, no 64-bit division (a 32-bit build needs no libgcc).
 */
#include "shmlink_ivshmem_baremetal.h"

#define VENDOR 0x1af4u
#define DEVICE 0x1110u

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static uint32_t cfg_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	return 0x80000000u | ((uint32_t)bus << 16) | ((uint32_t)(dev & 31u) << 11) |
	       ((uint32_t)(fn & 7u) << 8) | (off & 0xfcu);
}

uint32_t shml_ivshmem_bm_pci_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	outl(0xcf8, cfg_addr(bus, dev, fn, off));
	return inl(0xcfc);
}

void shml_ivshmem_bm_pci_write(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
	outl(0xcf8, cfg_addr(bus, dev, fn, off));
	outl(0xcfc, v);
}

/* Size of the memory BAR at @off (64-bit if @wide), by writing all ones; decoding is off. */
static uint64_t bar_size(const struct shml_ivshmem_bm *d, uint8_t off, int wide)
{
	uint32_t lo = shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, off);
	uint32_t hi = wide ? shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, off + 4) : 0;
	uint32_t mlo, mhi = 0xffffffffu;
	uint64_t mask;
	shml_ivshmem_bm_pci_write(d->bus, d->dev, d->fn, off, 0xffffffffu);
	mlo = shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, off) & ~0xfu;
	shml_ivshmem_bm_pci_write(d->bus, d->dev, d->fn, off, lo);
	if (wide) {
		shml_ivshmem_bm_pci_write(d->bus, d->dev, d->fn, off + 4, 0xffffffffu);
		mhi = shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, off + 4);
		shml_ivshmem_bm_pci_write(d->bus, d->dev, d->fn, off + 4, hi);
	}
	mask = ((uint64_t)mhi << 32) | mlo;
	return ~mask + 1u;
}

int shml_ivshmem_bm_find(struct shml_ivshmem_bm *d, unsigned nth)
{
	unsigned seen = 0;
	for (uint32_t bus = 0; bus < 256u; bus++) {
		for (uint32_t dev = 0; dev < 32u; dev++) {
			for (uint32_t fn = 0; fn < 8u; fn++) {
				uint32_t id = shml_ivshmem_bm_pci_read((uint8_t)bus, (uint8_t)dev,
				                                       (uint8_t)fn, 0);
				uint32_t hdr, cmd, b0, b2lo, b2hi;
				int wide;
				if ((id & 0xffffu) == 0xffffu) {
					if (fn == 0)
						break; /* no device here at all */
					continue;
				}
				if (fn == 0) {
					hdr = shml_ivshmem_bm_pci_read((uint8_t)bus, (uint8_t)dev,
					                               0, 0x0c);
					if (!(hdr & 0x00800000u))
						fn = 8; /* single-function: this one, then stop */
				}
				if (id != (DEVICE << 16 | VENDOR) || seen++ != nth)
					continue;
				for (uint32_t i = 0; i < SHML_MAX_DOMAINS; i++)
					d->ids[i] = -1;
				d->bus = (uint8_t)bus;
				d->dev = (uint8_t)dev;
				d->fn = (uint8_t)(fn == 8 ? 0 : fn);
				cmd = shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, 0x04);
				/* Decoding off while sizing, then on (memory space only). */
				shml_ivshmem_bm_pci_write(d->bus, d->dev, d->fn, 0x04, cmd & ~0x7u);
				b0 = shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, 0x10);
				b2lo = shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, 0x18);
				wide = (b2lo & 0x6u) == 0x4u;
				b2hi = wide ? shml_ivshmem_bm_pci_read(d->bus, d->dev, d->fn, 0x1c)
				            : 0;
				d->size = bar_size(d, 0x18, wide);
				shml_ivshmem_bm_pci_write(d->bus, d->dev, d->fn, 0x04,
				                          (cmd & ~0x7u) | 0x2u);
				if ((b0 & ~0xfu) == 0 || (b2lo & ~0xfu) == 0)
					return SHML_IVSHMEM_BM_EUNSET;
				if (b2hi != 0 && sizeof(void *) < 8)
					return SHML_IVSHMEM_BM_EHIGH;
				d->regs = (volatile uint32_t *)(uintptr_t)(b0 & ~0xfu);
				d->mem = (void *)(uintptr_t)(((uint64_t)b2hi << 32) |
				                             (b2lo & ~0xfu));
				d->id = (int32_t)d->regs[2];
				return 0;
			}
		}
	}
	return SHML_IVSHMEM_BM_ENODEV;
}

void shml_ivshmem_bm_doorbell(struct shml_ivshmem_bm *d, uint32_t id, uint32_t vector)
{
	d->regs[3] = (id << 16) | (vector & 0xffffu);
	d->notifies++;
}

static void bm_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	struct shml_ivshmem_bm *d = ctx;
	/* d->ids if set, else the peer's record in the region (range-checked). */
	int32_t id = shml_ivshmem_peer_id(ch, d->ids);
	(void)doorbell;
	if (id < 0) {
		d->notify_dropped++;
		return;
	}
	/* The doorbell word's store must be visible before the peer's interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	shml_ivshmem_bm_doorbell(d, (uint32_t)id,
	                         d->vectors ? shml_chan_index(ch) % d->vectors : 0);
}

void shml_ivshmem_bm_port_init(struct shml_ivshmem_bm *d, uint64_t (*ticks)(void *arg), void *arg,
                               uint64_t ns_per_tick_q16, uint32_t vectors)
{
	shml_baremetal_port_init(&d->bm, ticks, arg, ns_per_tick_q16);
	d->vectors = vectors ? vectors : 1;
	d->bm.port.ctx = d; /* == &d->bm: the baremetal hooks still find their state */
	d->bm.port.notify = bm_notify;
	d->notifies = 0;
	d->notify_dropped = 0;
}
