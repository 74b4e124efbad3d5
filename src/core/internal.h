/* SPDX-License-Identifier: MIT */
/*
 * Private to the core: wire offsets (docs/PROTOCOL.md is the authority) and
 * the one place where shared memory is touched. Every shared access goes
 * through shm_load()/shm_store(): 32-bit, naturally aligned, little-endian,
 * single-copy atomic, so the same code is right on device memory and on
 * 32-bit cores.
 */
#ifndef SHMLINK_CORE_INTERNAL_H
#define SHMLINK_CORE_INTERNAL_H

#include "shmlink.h"

/* Domain slot (one cache line per domain, written only by that domain). */
enum {
	SLOT_MAGIC = 0,
	SLOT_VERSION = 4,
	SLOT_HASH_LO = 8,
	SLOT_HASH_HI = 12,
	SLOT_DOMAIN_ID = 16,
	SLOT_CACHELINE = 20,
	SLOT_N_CHANNELS = 24,
};

/* Control line of one channel side (written only by that side; cold: it
 * changes with the session and when the side sleeps, not per message). */
enum {
	CTL_STATE = 0,      /* enum shml_state */
	CTL_GEN = 4,        /* our session generation */
	CTL_PEER_GEN = 8,   /* the peer generation we acknowledge */
	CTL_WAIT = 12,      /* (sleep sequence << 3) | SHML_EV_* we sleep for */
	CTL_WAIT_NEED = 16, /* room we need when sleeping for SHML_EV_WRITABLE */
	CTL_DOORBELL = 20,  /* incremented before each notification */
	CTL_FINAL_GEN = 24, /* tx-finals: our generation of the last session we sent in */
	CTL_FINAL_TX = 28,  /*            and our tx position when it ended */
	CTL_FINAL_OF = 32,  /* rx-finals: peer generation of the last session we consumed in */
	CTL_FINAL_RX = 36,  /*            and our rx position when it ended */
	CTL_USED = 40,
};

/* Position line, the next cache line of the side block (hot: written per message). */
enum {
	POS_TX = 0, /* bytes we produced into our outgoing ring (free-running) */
	POS_RX = 4, /* bytes we consumed from our incoming ring (free-running) */
	POS_USED = 8,
};

/* Statistics block of one channel side, after its position line (written only by that side). */
enum {
	STAT_MAGIC = 0, /* SHML_STATS_MAGIC once the block holds counters */
	STAT_LAST_ERROR = 4,
	STAT_COUNTERS = 8, /* 11 counters, each lo/hi u32, in struct shml_counters order */
	STAT_N_COUNTERS = 11,
	STAT_BYTES = 128,
};
#define SHML_STATS_MAGIC 0x54534853u /* "SHST" */

/* Message record header. */
enum {
	REC_LEN = 0, /* payload length; bit 31 set: padding to the end of the ring */
	REC_SEQ = 4, /* message number in this session, from 0 */
};
#define REC_PAD_FLAG 0x80000000u

/* Wait word layout. */
#define WAIT_EVENTS_MASK 7u
#define WAIT_SEQ_SHIFT 3

static inline uint32_t le32(uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

/* Acquire load of a shared LE word: later reads cannot move before it. */
static inline uint32_t shm_load(const uint8_t *p)
{
	return le32(__atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_ACQUIRE));
}

/* Release store of a shared LE word: earlier accesses cannot move after it. */
static inline void shm_store(uint8_t *p, uint32_t v)
{
#if defined(__riscv) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
	/* GCC < 13 emits amoswap for atomic stores when the A extension is on: a
	 * read-modify-write the protocol excludes (PROTOCOL.md §13). fence rw,w; sw. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*(volatile uint32_t *)(void *)p = le32(v);
#else
	__atomic_store_n((uint32_t *)(void *)p, le32(v), __ATOMIC_RELEASE);
#endif
}

/* The full barrier of the store-then-load handshakes (docs/PROTOCOL.md, "No lost wake-up"). */
static inline void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline uint32_t align_up32(uint32_t v, uint32_t a)
{
	return (v + a - 1u) & ~(a - 1u);
}

static inline uint64_t align_up64(uint64_t v, uint64_t a)
{
	return (v + a - 1u) & ~(a - 1u);
}

/* Port hooks, inline: on coherent machines they cost one test of a NULL pointer. */
static inline uint64_t shml__now(const struct shml_chan *ch)
{
	const struct shml_port *p = ch->region->port;
	return p->now_ns(p->ctx);
}

#ifndef SHML_CONFIG_COHERENT
static inline void shml__clean(const struct shml_chan *ch, const void *ptr, size_t n)
{
	const struct shml_port *p = ch->region->port;
	if (p->cache_clean)
		p->cache_clean(p->ctx, ptr, n);
}

static inline void shml__invalidate(const struct shml_chan *ch, const void *ptr, size_t n)
{
	const struct shml_port *p = ch->region->port;
	if (p->cache_invalidate)
		p->cache_invalidate(p->ctx, ptr, n);
}
#else
/* No data cache between us and the region: attach refuses ports with cache hooks. */
#define shml__clean(ch, ptr, n) ((void)(ch), (void)(ptr), (void)(n))
#define shml__invalidate(ch, ptr, n) ((void)(ch), (void)(ptr), (void)(n))
#endif

static inline uint32_t shml__peer_load(const struct shml_chan *ch, uint32_t off)
{
	return shm_load(ch->peer_line + off);
}

/* Write back our control line after changing it (non-coherent caches). */
static inline void shml__publish_line(struct shml_chan *ch)
{
	shml__clean(ch, ch->self_line, CTL_USED);
}

/* SHML_CONFIG_NO_ZEROCOPY_API: the zero-copy calls remain, as internals of send/recv. */
#ifdef SHML_CONFIG_NO_ZEROCOPY_API
#define SHML__ZEROCOPY_API static
#else
#define SHML__ZEROCOPY_API
#endif

/* config.c */
int shml__config_sane(const struct shml_config *cfg);

/* session.c */
int shml__valid_state(uint32_t s);
void shml__ring_doorbell(struct shml_chan *ch);
void shml__notify_if_waiting(struct shml_chan *ch, uint32_t events, uint32_t room);
void shml__note_error(struct shml_chan *ch, int err);
int shml__step(struct shml_chan *ch);
int shml__protocol_error(struct shml_chan *ch);

/* ring.c */
int shml__tx_room(struct shml_chan *ch, uint32_t need, uint32_t *free_bytes);
int shml__rx_avail(struct shml_chan *ch, uint32_t need, uint32_t *avail);
uint32_t shml__record_need(const struct shml_chan *ch, uint32_t len);

#endif
