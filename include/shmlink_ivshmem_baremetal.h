/* SPDX-License-Identifier: MIT */
/*
 * shmlink over QEMU's ivshmem device from a baremetal x86 program (32- or
 * 64-bit, no OS): find the device by PCI configuration mechanism #1 (ports
 * 0xCF8/0xCFC), use BAR2 as the region where the firmware put it, and ring
 * peers through the Doorbell register in BAR0. Freestanding like the core.
 *
 * This side polls (the port has no wait hook: blocking calls spin), but its
 * notify rings the doorbell of a peer that announced it sleeps, so a Linux
 * guest or host peer on the other end can sleep on its interrupt.
 *
 *     static struct shml_ivshmem_bm dev;
 *     if (shml_ivshmem_bm_find(&dev, 0) == 0) {
 *             shml_ivshmem_bm_port_init(&dev, my_ticks, NULL, ns_per_tick_q16, 2);
 *             shml_region_attach(&region, &cfg, self, dev.mem, dev.size, &dev.bm.port);
 *             shml_ivshmem_publish(&region, dev.id);   // the peers find our id here
 *     }
 *
 * The peer's id comes from its record in the region (shmlink_ivshmem_record.h);
 * dev.ids[] is an optional static override.
 */
#ifndef SHMLINK_IVSHMEM_BAREMETAL_H
#define SHMLINK_IVSHMEM_BAREMETAL_H

#include "shmlink.h"
#include "shmlink_baremetal.h"
#include "shmlink_ivshmem_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Errors of shml_ivshmem_bm_find(). */
enum {
	SHML_IVSHMEM_BM_ENODEV = -1, /**< no (such) ivshmem device */
	SHML_IVSHMEM_BM_EHIGH = -2,  /**< BAR2 is above 4 GiB: out of a 32-bit program's reach */
	SHML_IVSHMEM_BM_EUNSET = -3, /**< the firmware assigned no address to BAR0 or BAR2 */
};

/** An ivshmem device and the port that uses it. */
struct shml_ivshmem_bm {
	struct shml_baremetal bm;      /**< first member: bm.port is the port, its ctx is this */
	uint8_t bus, dev, fn;          /**< PCI address */
	volatile uint32_t *regs;       /**< BAR0: IVPosition at [2], Doorbell at [3] */
	void *mem;                     /**< BAR2: the region */
	uint64_t size;                 /**< its bytes */
	int32_t id;                    /**< our peer id (IVPosition) */
	uint32_t vectors;              /**< channel c notifies vector c % vectors */
	int32_t ids[SHML_MAX_DOMAINS]; /**< static override domain -> peer id, -1: the record */
	uint32_t notifies;             /**< doorbells rung */
	uint32_t notify_dropped;       /**< notifications for a peer with no (valid) id */
};

/** PCI configuration space, mechanism #1. */
uint32_t shml_ivshmem_bm_pci_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
void shml_ivshmem_bm_pci_write(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v);

/**
 * Find the @nth (0: first) ivshmem device (1af4:1110), enable its memory
 * decoding, and fill regs, mem, size, id. Every ids[] entry becomes -1.
 * Returns 0 or SHML_IVSHMEM_BM_E*.
 */
int shml_ivshmem_bm_find(struct shml_ivshmem_bm *d, unsigned nth);

/**
 * Fill d->bm.port like shml_baremetal_port_init(), plus notify = ring the
 * doorbell of the channel peer's id (d->ids[peer] if set, else the peer's
 * record in the region) on vector (channel % @vectors).
 */
void shml_ivshmem_bm_port_init(struct shml_ivshmem_bm *d, uint64_t (*ticks)(void *arg), void *arg,
                               uint64_t ns_per_tick_q16, uint32_t vectors);

/** Ring peer @id's @vector. */
void shml_ivshmem_bm_doorbell(struct shml_ivshmem_bm *d, uint32_t id, uint32_t vector);

#ifdef __cplusplus
}
#endif
#endif
