/* SPDX-License-Identifier: MIT */
/*
 * The ideal ring: the best a single-producer/single-consumer ring can do on
 * this machine, written as simply and fast as possible, with roughly the
 * framing of a shmlink message channel: 8-byte length header, payload padded
 * to 8 bytes, a padding record where a record does not fit before the end.
 *
 * Positions are free-running byte counts on their own cache lines; each side
 * keeps a cached copy of the other's position and reloads it only when the
 * cached value says the ring is full (producer) or empty (consumer). No
 * validation, no session, no notification: it trusts its peer and polls.
 *
 * Two flags make diagnostic variants (they show where a gap to a real
 * channel comes from; constants, so each variant compiles to its own code):
 *   IDEAL_RELOAD  reload the peer's position on every call (no cached index)
 *   IDEAL_FENCE   after each publish, a full fence and a load of a word in the
 *                 peer's line (what a "does the peer sleep?" check costs)
 */
#ifndef SHMLINK_IDEAL_RING_H
#define SHMLINK_IDEAL_RING_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define IDEAL_RELOAD 1u
#define IDEAL_FENCE 2u
#define IDEAL_PAD UINT64_MAX
#define IDEAL_HEADER 128u /* bytes before the data: two cache lines */

struct ideal_ring {
	_Alignas(64) _Atomic uint64_t head; /* bytes produced; written by the producer only */
	_Atomic uint64_t head_aux;          /* a second word in the producer's line */
	_Alignas(64) _Atomic uint64_t tail; /* bytes consumed; written by the consumer only */
	_Atomic uint64_t tail_aux;          /* a second word in the consumer's line */
};

struct ideal_tx {
	struct ideal_ring *r;
	uint8_t *data;
	uint64_t size, mask, head, tail_cache;
	uint64_t sink;
};

struct ideal_rx {
	struct ideal_ring *r;
	uint8_t *data;
	uint64_t size, mask, tail, head_cache;
	uint64_t sink;
};

/* @mem: IDEAL_HEADER + @size bytes, 64-byte aligned, shared; @size a power of two. */
static inline void ideal_ring_init(void *mem)
{
	memset(mem, 0, IDEAL_HEADER);
}

static inline void ideal_tx_init(struct ideal_tx *t, void *mem, uint64_t size)
{
	t->r = mem;
	t->data = (uint8_t *)mem + IDEAL_HEADER;
	t->size = size;
	t->mask = size - 1;
	t->head = t->tail_cache = 0;
	t->sink = 0;
}

static inline void ideal_rx_init(struct ideal_rx *x, void *mem, uint64_t size)
{
	x->r = mem;
	x->data = (uint8_t *)mem + IDEAL_HEADER;
	x->size = size;
	x->mask = size - 1;
	x->tail = x->head_cache = 0;
	x->sink = 0;
}

/* Append one message of @len bytes; 0, or -1 if there is no room now. */
static inline __attribute__((always_inline)) int ideal_push(struct ideal_tx *t, const void *src,
                                                            uint64_t len, unsigned flags)
{
	uint64_t rec = 8 + ((len + 7) & ~(uint64_t)7);
	uint64_t off = t->head & t->mask, tail = t->size - off;
	uint64_t skip = tail < rec ? tail : 0;
	if ((flags & IDEAL_RELOAD) || t->head + skip + rec - t->tail_cache > t->size) {
		t->tail_cache = atomic_load_explicit(&t->r->tail, memory_order_acquire);
		if (t->head + skip + rec - t->tail_cache > t->size)
			return -1;
	}
	if (skip) {
		memcpy(t->data + off, &(uint64_t){ IDEAL_PAD }, 8);
		off = 0;
	}
	memcpy(t->data + off, &len, 8);
	memcpy(t->data + off + 8, src, len);
	t->head += skip + rec;
	atomic_store_explicit(&t->r->head, t->head, memory_order_release);
	if (flags & IDEAL_FENCE) {
		atomic_thread_fence(memory_order_seq_cst);
		t->sink += atomic_load_explicit(&t->r->tail_aux, memory_order_relaxed);
	}
	return 0;
}

/* Take the next message into @dst (capacity @cap); its length, or -1 if none. */
static inline __attribute__((always_inline)) int64_t ideal_pop(struct ideal_rx *x, void *dst,
                                                               uint64_t cap, unsigned flags)
{
	uint64_t off, len;
	if ((flags & IDEAL_RELOAD) || x->tail == x->head_cache) {
		x->head_cache = atomic_load_explicit(&x->r->head, memory_order_acquire);
		if (x->tail == x->head_cache)
			return -1;
	}
	off = x->tail & x->mask;
	memcpy(&len, x->data + off, 8);
	if (len == IDEAL_PAD) { /* the padding and the record after it came together */
		x->tail += x->size - off;
		off = 0;
		memcpy(&len, x->data, 8);
	}
	if (len > cap)
		return -1;
	memcpy(dst, x->data + off + 8, len);
	x->tail += 8 + ((len + 7) & ~(uint64_t)7);
	atomic_store_explicit(&x->r->tail, x->tail, memory_order_release);
	if (flags & IDEAL_FENCE) {
		atomic_thread_fence(memory_order_seq_cst);
		x->sink += atomic_load_explicit(&x->r->head_aux, memory_order_relaxed);
	}
	return (int64_t)len;
}

#endif
