/* SPDX-License-Identifier: MIT */
/*
 * shmlink: data streams between domains over a static shared-memory region.
 *
 * The wire format is specified in docs/PROTOCOL.md (version SHML_PROTOCOL_VERSION).
 * This header is the whole public API of the portable core. The core is
 * freestanding C11: no heap, no OS calls, nothing from libc but memcpy/memset.
 * Everything OS- or hypervisor-specific is reached through a struct shml_port.
 *
 * Typical use:
 *
 *     struct shml_region region;
 *     struct shml_chan ch;
 *     shml_region_attach(&region, &cfg, self_domain, mem, mem_size, &port);
 *     shml_chan_open(&region, &ch, channel_index, NULL);
 *     shml_send_wait(&ch, buf, len, SHML_FOREVER);
 *
 * Threading: a struct shml_chan is used by one thread at a time. Different
 * channels may be used from different threads concurrently.
 *
 * Return values: calls that can fail return a negative SHML_E* code on
 * failure; shml_strerror() turns it into a sentence.
 */
#ifndef SHMLINK_H
#define SHMLINK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Build profiles (docs/PORTING.md §9). Define these for the core and for the
 * code that includes this header alike; the calls they remove are then not
 * declared, so a mismatch fails at compile or link time. None changes a
 * struct or the wire format: a tiny domain talks to a full one.
 *
 *   SHML_CONFIG_TINY             all of the switches below
 *   SHML_CONFIG_PREVALIDATED     no run-time validation or hashing of the config:
 *                                no shml_config_check(), shml_config_hash(),
 *                                shml_find_*(), shml_region_attach() or
 *                                shml_region_view(); attach with
 *                                shml_region_attach_prevalidated() and the hash
 *                                from `shmlink gen header`
 *   SHML_CONFIG_NO_STREAM        message channels only: no shml_write/read*(),
 *                                shml_chan_open() refuses stream channels
 *   SHML_CONFIG_NO_ZEROCOPY_API  no shml_reserve/commit/peek/release()
 *   SHML_CONFIG_NO_BLOCKING      polling only: no shml_wait() and no *_wait(),
 *                                shml_write_all()
 *   SHML_CONFIG_NO_INSPECT       no shml_region_view(), shml_inspect_side(),
 *                                shml_state_name(); no counters in shared
 *                                memory (shml_get_counters() still has them)
 *   SHML_CONFIG_NO_STRINGS       shml_strerror() gives a short code ("EAGAIN"),
 *                                shml_config_error.what is ""
 *   SHML_CONFIG_COHERENT         no data cache between the core and the region
 *                                (Cortex-M0/M3/M4, or a non-cacheable MPU region):
 *                                the cache hooks are never called, and attach
 *                                refuses a port that sets them (SHML_EINVAL)
 *   SHML_CONFIG_NO_RESET_INFO    SHML_ERESET says that a session ended, not what
 *                                it discarded: no shml_reset_info(),
 *                                shml_discarded_next(); the discarded_* counters
 *                                stay 0
 */
#ifdef SHML_CONFIG_TINY
#define SHML_CONFIG_PREVALIDATED 1
#define SHML_CONFIG_NO_STREAM 1
#define SHML_CONFIG_NO_ZEROCOPY_API 1
#define SHML_CONFIG_NO_BLOCKING 1
#define SHML_CONFIG_NO_INSPECT 1
#define SHML_CONFIG_NO_STRINGS 1
#define SHML_CONFIG_NO_RESET_INFO 1
#define SHML_CONFIG_COHERENT 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Wire protocol version carried in every domain slot (docs/PROTOCOL.md). */
#define SHML_PROTOCOL_VERSION 3u
/** Magic carried in every domain slot: the bytes "SHML" in memory order. */
#define SHML_MAGIC 0x4c4d4853u

/** Limits of a configuration. */
#define SHML_MAX_NAME 31u         /**< longest domain or channel name, bytes */
#define SHML_MAX_DOMAINS 64u      /**< most domains in one region */
#define SHML_MAX_CHANNELS 1024u   /**< most channels in one region */
#define SHML_MIN_RING 64u         /**< smallest ring, bytes */
#define SHML_MAX_RING 0x40000000u /**< largest ring, bytes (1 GiB) */
#define SHML_RECORD_ALIGN 8u      /**< message records are aligned to this */
#define SHML_RECORD_HEADER 8u     /**< bytes of a message record header */

/** Timeout meaning "wait as long as it takes". */
#define SHML_FOREVER UINT64_MAX

/** Error codes (all negative). */
enum shml_error {
	SHML_OK = 0,
	SHML_EAGAIN = -1,    /**< nothing to do now: ring empty/full */
	SHML_ETIMEDOUT = -2, /**< a blocking call reached its timeout */
	SHML_ENOTCONN = -3,  /**< the session with the peer is not established yet */
	SHML_ERESET = -4,    /**< the session was reset; see shml_reset_info() */
	SHML_EMSGSIZE = -5,  /**< message larger than the channel's maximum */
	SHML_EINVAL = -6,    /**< invalid argument */
	SHML_EPROTO = -7,    /**< the peer broke the protocol; channel resynchronises */
	SHML_EMISMATCH = -8, /**< peer uses another protocol version or config */
	SHML_ERANGE = -9,    /**< region too small, or a size out of range */
	SHML_ENOBUFS = -10,  /**< caller's buffer smaller than the message */
	SHML_ECONFIG = -11,  /**< invalid configuration; see shml_config_check() */
	SHML_ESTATE = -12,   /**< call not valid now (e.g. commit without reserve) */
};

/** Channel modes. */
enum shml_mode {
	SHML_MODE_MESSAGE = 1, /**< length-prefixed records, never split */
	SHML_MODE_STREAM = 2,  /**< a byte stream; writes may be partial */
};

/* ------------------------------------------------------------------------ */
/* Static configuration                                                     */
/* ------------------------------------------------------------------------ */

/** One domain (an OS instance, VM or baremetal program) using the region. */
struct shml_domain_cfg {
	const char *name; /**< unique, 1..SHML_MAX_NAME bytes, no NUL inside */
	uint32_t id;      /**< user-chosen number, unique (e.g. the Xen domid) */
};

/**
 * One channel: two one-way rings between domains a and b.
 * Side A is domain a, side B is domain b.
 */
struct shml_channel_cfg {
	const char *name;     /**< unique, 1..SHML_MAX_NAME bytes */
	uint32_t a;           /**< index into shml_config.domains of side A */
	uint32_t b;           /**< index into shml_config.domains of side B (!= a) */
	uint32_t mode;        /**< enum shml_mode */
	uint32_t ring_ab;     /**< bytes of the A->B ring: power of two */
	uint32_t ring_ba;     /**< bytes of the B->A ring: power of two */
	uint32_t max_message; /**< message mode: largest payload; 0 = largest allowed */
};

/** A region's static configuration: every domain uses the same one. */
struct shml_config {
	uint64_t region_size; /**< bytes of shared memory available */
	uint32_t cacheline;   /**< 64 or 128: the granule of single-writer lines */
	uint32_t n_domains;
	const struct shml_domain_cfg *domains;
	uint32_t n_channels;
	const struct shml_channel_cfg *channels;
};

/** Where a configuration check failed (filled by shml_config_check()). */
struct shml_config_error {
	int code;          /**< 0, or a SHML_E* code */
	int domain;        /**< index of the offending domain, or -1 */
	int channel;       /**< index of the offending channel, or -1 */
	const char *field; /**< name of the offending field ("ring_ab", ...), or "" */
	const char *what;  /**< a sentence saying what to fix */
	uint64_t value;    /**< the offending value, where one applies */
	uint64_t limit;    /**< the bound it broke (e.g. bytes needed), where one applies */
};

#ifndef SHML_CONFIG_PREVALIDATED
/**
 * Validate a configuration: names, indices, powers of two, sizes, duplicates,
 * and that the region is large enough for all channels.
 *
 * Returns 0 if valid, SHML_ECONFIG otherwise with @err (may be NULL) saying
 * which domain/channel/field is wrong and how (@err->limit holds the bytes
 * needed when the region is too small).
 */
int shml_config_check(const struct shml_config *cfg, struct shml_config_error *err);

/**
 * The 64-bit hash of the canonical encoding of @cfg (docs/PROTOCOL.md,
 * "Config hash"). Two domains interoperate only if their hashes are equal.
 */
uint64_t shml_config_hash(const struct shml_config *cfg);
#endif

/** Effective maximum message payload of channel @c (resolves max_message == 0). */
uint32_t shml_channel_max_message(const struct shml_config *cfg, uint32_t c);

/** Offsets (from the region base) of the parts of one channel. */
struct shml_channel_layout {
	uint64_t offset;    /**< first byte of the channel (= side A control line) */
	uint64_t side_a;    /**< side A block: control line, position line, statistics */
	uint64_t side_b;    /**< side B block */
	uint64_t ring_ab;   /**< A->B ring data */
	uint64_t ring_ba;   /**< B->A ring data */
	uint64_t end;       /**< first byte after the channel */
	uint32_t side_size; /**< bytes of one side block */
};

/** Byte size of one domain slot, and of one side block, for @cfg. */
uint32_t shml_domain_slot_size(const struct shml_config *cfg);
uint32_t shml_side_block_size(const struct shml_config *cfg);

/**
 * Compute the layout of channel @c of @cfg (which must pass
 * shml_config_check(), or the result is meaningless). O(c).
 */
void shml_channel_layout(const struct shml_config *cfg, uint32_t c,
                         struct shml_channel_layout *out);

/** Bytes of shared memory the configuration uses (must be <= region_size). */
uint64_t shml_layout_bytes(const struct shml_config *cfg);

/* ------------------------------------------------------------------------ */
/* Ports: what the core needs from the platform                             */
/* ------------------------------------------------------------------------ */

struct shml_chan;

/**
 * A port: the operations the core needs from an OS or hypervisor. Only
 * now_ns is mandatory; a NULL hook means "not needed here" (coherent caches,
 * normal memory, polling only). Which of the cache and copy hooks are set is
 * sampled by shml_chan_open(): set them before opening a channel.
 */
struct shml_port {
	void *ctx; /**< passed back to every hook */

	/** Monotonic clock in nanoseconds. Mandatory. */
	uint64_t (*now_ns)(void *ctx);

	/**
	 * Signal the peer of @ch. The core calls it only after publishing a
	 * change the peer announced it sleeps for, and right after incrementing
	 * @doorbell, the 32-bit word in our own control line that the peer's
	 * wait hook may watch (futex). NULL: the peer polls.
	 */
	void (*notify)(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell);

	/**
	 * Sleep until the peer of @ch notifies, @peer_doorbell no longer holds
	 * @expected, or @timeout_ns passes. May return early (spurious wake-ups
	 * are harmless). Returns 0, or SHML_ETIMEDOUT. NULL: the core polls.
	 */
	int (*wait)(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
	            uint32_t expected, uint64_t timeout_ns);

	/** Write back @n bytes at @p to memory the peer sees. NULL: coherent. */
	void (*cache_clean)(void *ctx, const volatile void *p, size_t n);
	/** Drop cached copies of @n bytes at @p before reading. NULL: coherent. */
	void (*cache_invalidate)(void *ctx, const volatile void *p, size_t n);

	/**
	 * Copy into / out of ring memory. NULL: memcpy. A port whose region is
	 * mapped as device memory (Xen on Arm) supplies copies that use only
	 * naturally aligned accesses.
	 */
	void (*copy_to_shared)(void *ctx, volatile void *dst, const void *src, size_t n);
	void (*copy_from_shared)(void *ctx, void *dst, const volatile void *src, size_t n);

	/** A processor hint inside spin loops ("pause"/"yield"). NULL: a compiler barrier. */
	void (*relax)(void *ctx);
};

/* ------------------------------------------------------------------------ */
/* Region and channel                                                       */
/* ------------------------------------------------------------------------ */

/** A domain's view of the region. Fields are private: read them through calls. */
struct shml_region {
	uint8_t *base;
	uint64_t size;
	const struct shml_config *cfg;
	const struct shml_port *port;
	uint32_t self; /* index of our domain in cfg->domains */
	uint64_t cfg_hash;
};

#ifndef SHML_CONFIG_PREVALIDATED
/**
 * Attach domain @self (index into @cfg->domains) to the region at @mem.
 * Validates @cfg, checks @mem_size >= shml_layout_bytes(), and writes our own
 * domain slot (magic, version, config hash). Writes nothing else.
 *
 * Returns 0, SHML_ECONFIG, SHML_ERANGE (region too small) or SHML_EINVAL.
 */
int shml_region_attach(struct shml_region *r, const struct shml_config *cfg, uint32_t self,
                       void *mem, uint64_t mem_size, const struct shml_port *port);
#endif

/**
 * Like shml_region_attach() for a configuration validated before the build
 * (the header of `shmlink gen header`, which passes @cfg_hash as
 * PREFIX_HASH): neither validates names and ids nor computes the hash, so a
 * baremetal domain links neither. It still checks what memory safety rests
 * on: cacheline, counts, side indices, ring sizes (powers of two, 64 B ..
 * 1 GiB), max_message, and @mem_size >= the layout the config gives. A config
 * that disagrees with @cfg_hash can thus not make the core reach outside @mem;
 * its peers may read its channels wrongly (docs/PORTING.md §9).
 *
 * Returns 0, SHML_ECONFIG, SHML_ERANGE (region too small) or SHML_EINVAL.
 */
int shml_region_attach_prevalidated(struct shml_region *r, const struct shml_config *cfg,
                                    uint64_t cfg_hash, uint32_t self, void *mem, uint64_t mem_size,
                                    const struct shml_port *port);

#if !defined(SHML_CONFIG_NO_INSPECT) && !defined(SHML_CONFIG_PREVALIDATED)
/**
 * A read-only view of the region at @mem for inspection tools: validates
 * @cfg and the size like shml_region_attach() but writes nothing (@mem may
 * be mapped read-only). shml_read_slot() and shml_inspect_side() work on a
 * view; shml_chan_open() refuses it (SHML_EINVAL).
 *
 * Returns 0, SHML_ECONFIG, SHML_ERANGE or SHML_EINVAL.
 */
int shml_region_view(struct shml_region *r, const struct shml_config *cfg, const void *mem,
                     uint64_t mem_size, const struct shml_port *port);
#endif

#ifndef SHML_CONFIG_PREVALIDATED
/** Find a domain or channel index by name; returns the index or -1. */
int shml_find_domain(const struct shml_config *cfg, const char *name);
int shml_find_channel(const struct shml_config *cfg, const char *name);
#endif

/** What a domain slot in shared memory says about a domain (untrusted). */
struct shml_slot_info {
	uint32_t magic, version, domain_id;
	uint64_t config_hash;
	int valid; /**< magic, version and hash equal ours */
};

/** Read domain @d's slot (a snapshot; never trusted beyond display). */
void shml_read_slot(const struct shml_region *r, uint32_t d, struct shml_slot_info *out);

/** Counters of one channel end, kept locally and published to shared memory. */
struct shml_counters {
	uint64_t tx_messages, tx_bytes; /**< accepted by send/write/commit */
	uint64_t rx_messages, rx_bytes; /**< delivered by recv/read/release */
	uint64_t notify_sent;           /**< notifications we raised */
	uint64_t notify_suppressed;     /**< publishes that needed no notification */
	uint64_t wakeups;               /**< times we slept and were woken */
	uint64_t resets;                /**< sessions that ended */
	uint64_t protocol_errors;       /**< peer protocol violations seen */
	uint64_t discarded_messages;    /**< sent but dropped by resets (message mode) */
	uint64_t discarded_bytes;       /**< ring bytes dropped by resets */
	uint32_t last_error;            /**< the last SHML_E* code seen (negated: > 0) */
};

/** What a session reset discarded of what we had sent (see shml_reset_info()). */
struct shml_reset_info {
	uint32_t generation;  /**< our generation of the session that ended */
	uint32_t messages;    /**< messages accepted by send but not consumed */
	uint32_t bytes;       /**< their ring bytes (stream mode: stream bytes) */
	int exact;            /**< 1 if the peer reported its final position */
	int previous_process; /**< 1 if the session was one of an earlier attach */
	int peer_closed;      /**< 1 if the peer closed the session (after we read all it sent) */
};

/** Options for shml_chan_open(); pass NULL for defaults. */
struct shml_chan_opts {
	uint64_t spin_ns; /**< how long blocking calls spin before sleeping (default 50000) */
};

/**
 * An open channel end. Private fields: use the calls. Lives in caller memory
 * (no heap), one thread at a time.
 */
struct shml_chan {
	struct shml_region *region;
	uint32_t index, side, mode;
	uint8_t *self_line, *peer_line; /* control lines */
	uint8_t *self_pos, *peer_pos;   /* position lines */
	uint8_t *self_stats, *peer_stats;
	uint8_t *tx_ring, *rx_ring;
	uint32_t tx_size, rx_size, max_message;
	uint64_t spin_ns;
	uint32_t port_hooks; /* optional port hooks present (core-private) */
	/* session */
	uint32_t state, gen, peer_gen;
	uint32_t tx_pos, rx_pos; /* our published positions */
	uint32_t tx_seq, rx_seq; /* message numbers of this session */
	uint32_t peer_rx_seen;   /* last validated peer rx position */
	uint32_t peer_tx_seen;   /* last validated peer tx position */
	uint32_t wait_seq, notified_seq, doorbell;
	uint32_t peer_slot_version; /* what a mismatching peer slot said */
	uint64_t peer_slot_hash;
	/* zero-copy bookkeeping */
	int reserved, peeked;
	int tx_started; /* we wrote into our ring in this session */
	int rx_started; /* we consumed from our peer's ring in this session */
	uint32_t reserved_len, reserved_skip, peeked_len;
	/* reset accounting */
	struct {
		int active, previous, peer_closed;
		uint32_t gen, end_tx, seen_rx;
	} acct;
	int reset_pending, reset_valid;
	struct shml_reset_info reset;
	uint32_t discard_from, discard_to, discard_cursor;
	int discard_walkable;
	uint32_t ops_since_publish;
	struct shml_counters counters;
};

/**
 * Open channel @c of region @r as our domain's end. Starts (or restarts) the
 * session handshake; it completes as both ends make calls. Our domain must be
 * side a or b of the channel.
 *
 * Returns 0, SHML_EINVAL (not our channel, bad index).
 */
int shml_chan_open(struct shml_region *r, struct shml_chan *ch, uint32_t c,
                   const struct shml_chan_opts *opts);

/**
 * Leave the session: our side goes to the closed state so the peer sees a
 * reset at once (instead of at our next attach). Idempotent.
 */
void shml_chan_close(struct shml_chan *ch);

/**
 * Drive the session state machine once: read the peer's control line, make
 * at most one transition, notify. Every data call does this itself; call it
 * to make progress while not sending or receiving.
 *
 * Returns 1 if the session is established, SHML_ENOTCONN while the handshake
 * runs, SHML_ERESET once after a reset, SHML_EMISMATCH if the peer's domain
 * slot disagrees with ours.
 */
int shml_poll(struct shml_chan *ch);

/** For ports: the channel's index in the configuration, and the peer's domain index. */
uint32_t shml_chan_index(const struct shml_chan *ch);
uint32_t shml_chan_peer_domain(const struct shml_chan *ch);

/** 1 if the session is established now, else 0. */
int shml_connected(const struct shml_chan *ch);

#ifndef SHML_CONFIG_NO_RESET_INFO
/**
 * After a call returned SHML_ERESET: what the reset discarded of our sent
 * data. Returns 0, or SHML_ESTATE if no reset happened since the last call.
 */
int shml_reset_info(struct shml_chan *ch, struct shml_reset_info *out);

/**
 * After a reset, walk the messages it discarded (message mode): they are
 * still in our ring until we send again. Each call yields one message.
 * Returns its length (>= 0) with *@buf pointing at it, SHML_EAGAIN at the
 * end, or SHML_ESTATE once a send has overwritten them.
 * In stream mode it yields the discarded bytes in up to two spans.
 */
int32_t shml_discarded_next(struct shml_chan *ch, const void **buf);
#endif

/* ---- message mode (copying) -------------------------------------------- */

/**
 * Send one message of @len bytes (0 allowed). Non-blocking.
 * Returns 0, SHML_EAGAIN (no room now), SHML_EMSGSIZE, SHML_ENOTCONN,
 * SHML_ERESET, SHML_EPROTO, SHML_EINVAL (stream channel).
 */
int shml_send(struct shml_chan *ch, const void *buf, size_t len);

#ifndef SHML_CONFIG_NO_BLOCKING
/**
 * Like shml_send() but waits up to @timeout_ns for room and for the session:
 * it spins for the channel's spin time, then sleeps through the port.
 * Returns 0, SHML_ETIMEDOUT, or the errors of shml_send() but SHML_EAGAIN
 * and SHML_ENOTCONN.
 */
int shml_send_wait(struct shml_chan *ch, const void *buf, size_t len, uint64_t timeout_ns);
#endif

/**
 * Receive one message into @buf (capacity @cap). Non-blocking.
 * Returns its length (>= 0), SHML_EAGAIN (none), SHML_ENOBUFS (message left
 * in the ring: @cap too small), SHML_ENOTCONN, SHML_ERESET, SHML_EPROTO.
 */
int32_t shml_recv(struct shml_chan *ch, void *buf, size_t cap);

#ifndef SHML_CONFIG_NO_BLOCKING
/** Like shml_recv() but waits up to @timeout_ns (spin, then sleep). */
int32_t shml_recv_wait(struct shml_chan *ch, void *buf, size_t cap, uint64_t timeout_ns);
#endif

/* ---- zero-copy (both modes) ---------------------------------------------- */

#ifndef SHML_CONFIG_NO_ZEROCOPY_API

/**
 * Reserve contiguous room in the ring to write in place.
 * Message mode: room for one message of up to @len bytes; returns @len.
 * Stream mode: returns the contiguous room available, 1..@len bytes.
 * *@buf points into shared memory. Non-blocking: SHML_EAGAIN when full.
 */
int32_t shml_reserve(struct shml_chan *ch, size_t len, void **buf);

/**
 * Publish @len bytes written at the last reservation (<= what it returned);
 * in message mode this sends one message of @len bytes.
 * Returns 0, or SHML_ESTATE without a reservation, SHML_EINVAL if too long.
 */
int shml_commit(struct shml_chan *ch, size_t len);

/**
 * Look at received data in place. Message mode: the next message; stream
 * mode: the contiguous readable bytes. Returns the length (>= 0) with *@buf
 * pointing into shared memory, or SHML_EAGAIN, SHML_ENOTCONN, SHML_ERESET,
 * SHML_EPROTO. The bytes stay ours until shml_release(); the peer cannot
 * reuse them, but a hostile peer could still write them: validate content.
 */
int32_t shml_peek(struct shml_chan *ch, const void **buf);

/**
 * Give back what shml_peek() showed: message mode releases the message
 * (@len ignored); stream mode consumes @len bytes (<= the peeked length).
 * Returns 0, SHML_ESTATE without a peek, SHML_EINVAL.
 */
int shml_release(struct shml_chan *ch, size_t len);
#endif

#ifndef SHML_CONFIG_NO_STREAM

/* ---- stream mode ---------------------------------------------------------- */

/**
 * Write up to @len bytes. Non-blocking. Returns the bytes written (> 0 when
 * @len > 0), SHML_EAGAIN, SHML_ENOTCONN, SHML_ERESET, SHML_EPROTO.
 */
int32_t shml_write(struct shml_chan *ch, const void *buf, size_t len);

#ifndef SHML_CONFIG_NO_BLOCKING
/**
 * Write all @len bytes, waiting up to @timeout_ns in total. Returns the bytes
 * written (== @len unless an error or the timeout stopped it: then the count
 * so far if > 0, else the error).
 */
int32_t shml_write_all(struct shml_chan *ch, const void *buf, size_t len, uint64_t timeout_ns);
#endif

/** Read up to @cap bytes. Non-blocking. Returns bytes read (> 0) or an error. */
int32_t shml_read(struct shml_chan *ch, void *buf, size_t cap);

#ifndef SHML_CONFIG_NO_BLOCKING
/** Like shml_read() but waits up to @timeout_ns for at least one byte. */
int32_t shml_read_wait(struct shml_chan *ch, void *buf, size_t cap, uint64_t timeout_ns);
#endif
#endif /* SHML_CONFIG_NO_STREAM */

/* ---- waiting and introspection --------------------------------------------- */

/** Events for shml_wait(). */
enum shml_event {
	SHML_EV_READABLE = 1u, /**< a message / bytes can be received */
	SHML_EV_WRITABLE = 2u, /**< at least @need bytes of room (see shml_wait) */
	SHML_EV_STATE = 4u,    /**< the session changed (established or reset) */
};

#ifndef SHML_CONFIG_NO_BLOCKING
/**
 * Wait until one of @events holds, spinning then sleeping like the blocking
 * calls. For SHML_EV_WRITABLE, @need is the room wanted (message mode: a
 * message length). Returns the mask of events that hold (> 0), 0 on
 * timeout, or SHML_EMISMATCH. SHML_EV_STATE is reported when a reset or an
 * establishment happened during the wait. A writer that sleeps asks to be
 * woken once half the ring is free (so one wake-up moves many messages);
 * a reader that stops with less free can delay it by up to 2 ms.
 */
int shml_wait(struct shml_chan *ch, unsigned events, size_t need, uint64_t timeout_ns);
#endif

/** This end's counters (also published to shared memory for inspection). */
void shml_get_counters(const struct shml_chan *ch, struct shml_counters *out);

/** Publish our counters to our statistics line now. */
void shml_publish_counters(struct shml_chan *ch);

/** Session states of one side, as stored in its control line. */
enum shml_state {
	SHML_STATE_CLOSED = 0x434c4f53u, /**< "SOLC": side left the session on purpose */
	SHML_STATE_SYNC = 0x434e5953u,   /**< "SYNC": new session requested */
	SHML_STATE_ACK = 0x4b434153u,    /**< "SACK": peer's session acknowledged */
	SHML_STATE_EST = 0x54534553u,    /**< "SEST": session established */
};

/** A read-only snapshot of one side of a channel, for inspection tools. */
struct shml_side_view {
	uint32_t state, gen, peer_gen, tx_pos, rx_pos;
	uint32_t wait, wait_need, doorbell;
	uint32_t final_gen, final_tx, final_of, final_rx;
	int stats_valid; /**< the statistics block holds counters */
	struct shml_counters counters;
};

#ifndef SHML_CONFIG_NO_INSPECT
/**
 * Snapshot both sides of channel @c from shared memory without writing
 * anything (values are whatever the peers wrote: untrusted, for display).
 * @side 0 = side A, 1 = side B.
 */
void shml_inspect_side(const struct shml_region *r, uint32_t c, uint32_t side,
                       struct shml_side_view *out);

/** Name of a state value ("EST", "SYNC", ..., "invalid"). */
const char *shml_state_name(uint32_t state);
#endif

/** A sentence describing error code @err (SHML_CONFIG_NO_STRINGS: its name, "EAGAIN"). */
const char *shml_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* SHMLINK_H */
