/* SPDX-License-Identifier: MIT */
/*
 * ivshmem peer id records (docs/IVSHMEM.md, "Peer id records"): each domain
 * publishes its current ivshmem peer id in the region, so a notifier finds
 * the id its peer has now (ids change whenever a peer reconnects: the server
 * never gives one out twice). Freestanding, like the core: every ivshmem
 * port uses it, the baremetal one included.
 *
 * Record of domain d: one cache line (L = cfg->cacheline) at
 *     align(shml_layout_bytes(cfg), L) + (cfg->n_channels + d) * L
 * i.e. after the lines the Xen port's fallback records may use (one per
 * channel, docs/XEN.md), so the two never overlap. Written only by domain d.
 * 32-bit little-endian words, aligned stores:
 *     0   magic SHML_IVSHMEM_REC_MAGIC, stored last (release); 0 while rewritten
 *     4   config hash, low word      8   config hash, high word
 *     12  the writer's domain index  16  its ivshmem peer id (0..0xffff)
 *     20  the id's complement (~id)  24.. zero
 */
#ifndef SHMLINK_IVSHMEM_RECORD_H
#define SHMLINK_IVSHMEM_RECORD_H

#include "shmlink.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest ivshmem peer id (the doorbell register has 16 bits for it). */
#define SHML_IVSHMEM_MAX_ID 0xffffu
/** "IVP1": a valid peer id record. */
#define SHML_IVSHMEM_REC_MAGIC 0x31505649u

/**
 * Offset of domain @d's record in a region of @cfg, or 0 if @d is out of
 * range or cfg->region_size has no room for every domain's record.
 */
uint64_t shml_ivshmem_record_offset(const struct shml_config *cfg, uint32_t d);

/**
 * Publish @id as our (r->self's) peer id. Writes only if the record does
 * not hold it already, so it is cheap to call before every sleep.
 * Returns 0, SHML_EINVAL (@id out of range) or SHML_ERANGE (no room).
 */
int shml_ivshmem_publish(const struct shml_region *r, int32_t id);

/**
 * The peer id domain @d published in @r, or -1 if its record is missing,
 * of another config, of another domain or not consistent. The record is
 * read once; what it says is only a hint (a stale id misdirects a doorbell).
 */
int32_t shml_ivshmem_lookup(const struct shml_region *r, uint32_t d);

/**
 * The id to ring for @ch's peer: @override[peer domain] if @override is
 * not NULL and holds an id there (>= 0), else the peer's record. -1: none.
 */
int32_t shml_ivshmem_peer_id(const struct shml_chan *ch, const int32_t *override);

#ifdef __cplusplus
}
#endif
#endif
