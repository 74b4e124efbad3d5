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

/* The data path's helpers: inline even where -O2's size limits would not;
 * a build for size (-Os: microcontrollers) lets the compiler choose. */
#ifdef __OPTIMIZE_SIZE__
#define SHML_HOT static inline
#else
#define SHML_HOT static inline __attribute__((always_inline))
#endif

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

/* Which optional hooks the port has (shml_chan.port_hooks, set at open): the
 * data path then tests one word instead of chasing region->port per access. */
#define HOOK_CACHE 1u /* cache_clean or cache_invalidate */
#define HOOK_COPY 2u  /* copy_to_shared or copy_from_shared */

/* Port hooks, inline: on coherent machines they cost one test of a flag. */
static inline uint64_t shml__now(const struct shml_chan *ch)
{
	const struct shml_port *p = ch->region->port;
	return p->now_ns(p->ctx);
}

#ifndef SHML_CONFIG_COHERENT
static inline void shml__clean(const struct shml_chan *ch, const void *ptr, size_t n)
{
	const struct shml_port *p;
	if (!(ch->port_hooks & HOOK_CACHE))
		return;
	p = ch->region->port;
	if (p->cache_clean)
		p->cache_clean(p->ctx, ptr, n);
}

static inline void shml__invalidate(const struct shml_chan *ch, const void *ptr, size_t n)
{
	const struct shml_port *p;
	if (!(ch->port_hooks & HOOK_CACHE))
		return;
	p = ch->region->port;
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

/* config.c */
int shml__config_sane(const struct shml_config *cfg);

/* session.c */
int shml__valid_state(uint32_t s);
void shml__ring_doorbell(struct shml_chan *ch);
void shml__notify_waiting(struct shml_chan *ch, uint32_t events, uint32_t wait);
void shml__note_error(struct shml_chan *ch, int err);
int shml__step(struct shml_chan *ch);
int shml__protocol_error(struct shml_chan *ch);

/*
 * Is @ptx, a value of the peer's tx position, possible (docs/PROTOCOL.md
 * §9.1)? The over-full check, never behind what we validated before, and
 * whole records in message mode.
 */
SHML_HOT int shml__peer_tx_ok(const struct shml_chan *ch, uint32_t ptx)
{
	uint32_t n = ptx - ch->rx_pos;
	return n <= ch->rx_size && n >= ch->peer_tx_seen - ch->rx_pos &&
	       !(ch->mode == SHML_MODE_MESSAGE && (n & (SHML_RECORD_ALIGN - 1u)));
}

/*
 * After publishing a change the peer may sleep for: full fence, then read
 * the peer's wait word once (store-buffer pattern, docs/PROTOCOL.md §11.4).
 * @events: what our change provides. Inline: a peer that does not sleep
 * for it costs a fence, a load and a test.
 */
SHML_HOT void shml__notify_if_waiting(struct shml_chan *ch, uint32_t events)
{
	uint32_t w;
	full_fence();
	shml__invalidate(ch, ch->peer_line, CTL_USED);
	w = shml__peer_load(ch, CTL_WAIT);
	if (w & events)
		shml__notify_waiting(ch, events, w);
	else
		ch->counters.notify_suppressed++;
}

/*
 * One try at a consistent snapshot of the peer's state, generation and
 * acknowledged generation (docs/PROTOCOL.md §7.2): state, gen, peer_gen,
 * then state and gen again. 0: torn.
 */
SHML_HOT int shml__snapshot_try(const struct shml_chan *ch, uint32_t *ps, uint32_t *pg,
                                uint32_t *ppg)
{
	const uint8_t *line = ch->peer_line; /* a local: acquire loads would reload the field */
	shml__invalidate(ch, line, CTL_USED);
	*ps = shm_load(line + CTL_STATE);
	*pg = shm_load(line + CTL_GEN);
	*ppg = shm_load(line + CTL_PEER_GEN);
	return shm_load(line + CTL_STATE) == *ps && shm_load(line + CTL_GEN) == *pg;
}

/* Does the peer's snapshot show it in our established session? */
SHML_HOT int shml__peer_in_session(const struct shml_chan *ch, uint32_t ps, uint32_t pg,
                                   uint32_t ppg)
{
	return (ps == SHML_STATE_EST || ps == SHML_STATE_ACK) && pg == ch->peer_gen &&
	       ppg == ch->gen;
}

/*
 * shml__step() with its common case inline, for the data calls: we are
 * established with nothing to settle or report, and one untorn snapshot
 * shows the peer still in our session. Anything else (a torn snapshot
 * included) takes the full step, which snapshots afresh.
 */
SHML_HOT int shml__check(struct shml_chan *ch)
{
#ifdef __OPTIMIZE_SIZE__
	return shml__step(ch); /* one copy of the snapshot code: shml__step() has it too */
#else
	uint32_t ps, pg, ppg;
	if (ch->state == SHML_STATE_EST && !(ch->acct.active | ch->reset_pending) &&
	    shml__snapshot_try(ch, &ps, &pg, &ppg) && shml__peer_in_session(ch, ps, pg, ppg))
		return 1;
	return shml__step(ch);
#endif
}

/* ring.c */
int shml__tx_room(struct shml_chan *ch, uint32_t need, uint32_t *free_bytes);
int shml__rx_avail(struct shml_chan *ch, uint32_t need, uint32_t *avail);
uint32_t shml__record_need(const struct shml_chan *ch, uint32_t len);

#endif
