/* SPDX-License-Identifier: MIT */
/*
 * The data path: message records, byte stream, zero-copy.
 *
 * Positions are free-running u32 byte counts; a ring offset is
 * position & (size - 1). Every peer position is read once, checked against
 * what we already know (it never moves backwards, never claims more than
 * the ring holds), and only then used. An impossible value is first
 * re-checked against the session (a restarted peer zeroes its positions)
 * and otherwise is a protocol error that resynchronises the channel.
 */
#include "internal.h"

#define PUBLISH_COUNTERS_EVERY 4096u

SHML_HOT void copy_in(const struct shml_chan *ch, uint8_t *dst, const void *src, uint32_t n)
{
	if (ch->port_hooks & HOOK_COPY) {
		const struct shml_port *p = ch->region->port;
		if (p->copy_to_shared) {
			p->copy_to_shared(p->ctx, dst, src, n);
			return;
		}
	}
	__builtin_memcpy(dst, src, n);
}

SHML_HOT void copy_out(const struct shml_chan *ch, void *dst, const uint8_t *src, uint32_t n)
{
	if (ch->port_hooks & HOOK_COPY) {
		const struct shml_port *p = ch->region->port;
		if (p->copy_from_shared) {
			p->copy_from_shared(p->ctx, dst, src, n);
			return;
		}
	}
	__builtin_memcpy(dst, src, n);
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

SHML_HOT void count_op(struct shml_chan *ch)
{
	if (++ch->ops_since_publish >= PUBLISH_COUNTERS_EVERY)
		shml_publish_counters(ch);
}

/*
 * We are about to write into our ring in this session: what a reset
 * discarded there is about to be overwritten, so stop offering it to the
 * application and to a successor (retire our tx-finals, docs/PROTOCOL.md §7.5).
 */
SHML_HOT void begin_overwrite(struct shml_chan *ch)
{
	ch->discard_walkable = 0;
	if (ch->tx_started)
		return;
	ch->tx_started = 1;
	shm_store(ch->self_line + CTL_FINAL_GEN, 0);
	shm_store(ch->self_line + CTL_FINAL_TX, 0);
	shml__publish_line(ch);
}

/*
 * A peer value made no sense: a session change explains it, or the peer lies.
 * *@out is zeroed so no caller can use a stale size (the result is never 0).
 */
static int anomaly(struct shml_chan *ch, uint32_t *out)
{
	int rc;
	*out = 0;
	rc = shml__step(ch);
	if (rc != 1)
		return rc;
	return shml__protocol_error(ch);
}

/* The cached peer rx does not show enough room: reload it, once, and validate it. */
static int tx_reload(struct shml_chan *ch, uint32_t *free_bytes)
{
	uint32_t seen = ch->peer_rx_seen, prx;
	shml__invalidate(ch, ch->peer_pos, POS_USED);
	prx = shm_load(ch->peer_pos + POS_RX);
	/* The peer's rx lies in [what we saw, what we wrote]. */
	if (prx - seen > ch->tx_pos - seen)
		return anomaly(ch, free_bytes);
	if (ch->mode == SHML_MODE_MESSAGE && (prx & (SHML_RECORD_ALIGN - 1u)))
		return anomaly(ch, free_bytes);
	ch->peer_rx_seen = prx;
	*free_bytes = ch->tx_size - (ch->tx_pos - prx);
	return 0;
}

/*
 * Free bytes in our ring, at least @need if the ring has them. The peer's rx
 * is reloaded only when the cached value does not show @need bytes: most
 * calls then touch no line the peer writes (as Tegra IVC does).
 */
SHML_HOT int tx_room(struct shml_chan *ch, uint32_t need, uint32_t *free_bytes)
{
	uint32_t n = ch->tx_size - (ch->tx_pos - ch->peer_rx_seen);
	if (n >= need) {
		*free_bytes = n;
		return 0;
	}
	return tx_reload(ch, free_bytes);
}

int shml__tx_room(struct shml_chan *ch, uint32_t need, uint32_t *free_bytes)
{
	return tx_room(ch, need, free_bytes);
}

/* Inline: a reader that keeps up reloads on every message. */
SHML_HOT int rx_reload(struct shml_chan *ch, uint32_t *avail)
{
	uint32_t ptx;
	shml__invalidate(ch, ch->peer_pos, POS_USED);
	ptx = shm_load(ch->peer_pos + POS_TX);
	if (!shml__peer_tx_ok(ch, ptx))
		return anomaly(ch, avail);
	ch->peer_tx_seen = ptx;
	*avail = ptx - ch->rx_pos;
	return 0;
}

/* Bytes readable, at least @need if there are; the peer's tx is reloaded only when needed. */
SHML_HOT int rx_avail(struct shml_chan *ch, uint32_t need, uint32_t *avail)
{
	uint32_t n = ch->peer_tx_seen - ch->rx_pos;
	if (n >= need) {
		*avail = n;
		return 0;
	}
	return rx_reload(ch, avail);
}

int shml__rx_avail(struct shml_chan *ch, uint32_t need, uint32_t *avail)
{
	return rx_avail(ch, need, avail);
}

static uint32_t record_size(uint32_t len)
{
	return SHML_RECORD_HEADER + align_up32(len, SHML_RECORD_ALIGN);
}

#ifndef SHML_CONFIG_NO_BLOCKING
/* Room a message of @len needs now, including padding to the ring's end. */
uint32_t shml__record_need(const struct shml_chan *ch, uint32_t len)
{
	uint32_t rec = record_size(len);
	uint32_t tail = ch->tx_size - (ch->tx_pos & (ch->tx_size - 1u));
	return tail < rec ? tail + rec : rec;
}
#endif

/* Write back [start, new_tx) of our ring (it may wrap once): non-coherent caches only. */
static void clean_tx(struct shml_chan *ch, uint32_t start, uint32_t new_tx)
{
	uint32_t mask = ch->tx_size - 1u, n = new_tx - start, off = start & mask;
	uint32_t first = min32(n, ch->tx_size - off);
	shml__clean(ch, ch->tx_ring + off, first);
	if (n > first)
		shml__clean(ch, ch->tx_ring, n - first);
}

SHML_HOT void publish_tx(struct shml_chan *ch, uint32_t new_tx)
{
	if (ch->port_hooks & HOOK_CACHE)
		clean_tx(ch, ch->tx_pos, new_tx);
	ch->tx_pos = new_tx;
	shm_store(ch->self_pos + POS_TX, new_tx);
	shml__clean(ch, ch->self_pos, POS_USED);
	shml__notify_if_waiting(ch, SHML_EV_READABLE);
	count_op(ch);
}

/*
 * We are about to consume in this session for the first time: our rx-finals
 * describe an older session, and a successor must not take them for this
 * one (retire them, docs/PROTOCOL.md §7.5), before the peer can see us move.
 */
static void begin_consume(struct shml_chan *ch)
{
	ch->rx_started = 1;
	shm_store(ch->self_line + CTL_FINAL_OF, 0);
	shm_store(ch->self_line + CTL_FINAL_RX, 0);
	shml__publish_line(ch);
}

SHML_HOT void publish_rx(struct shml_chan *ch, uint32_t new_rx)
{
	if (!ch->rx_started)
		begin_consume(ch);
	ch->rx_pos = new_rx;
	shm_store(ch->self_pos + POS_RX, new_rx);
	shml__clean(ch, ch->self_pos, POS_USED);
	shml__notify_if_waiting(ch, SHML_EV_WRITABLE);
	count_op(ch);
}

/* ---- message mode ------------------------------------------------------------------ */

/*
 * Make room for a message of @len at our tx position, writing the padding
 * record first if the message does not fit before the ring's end. 0 with the
 * message's header at *@hdr and the padding's size in *@skip, or an error.
 */
SHML_HOT int msg_place(struct shml_chan *ch, size_t len, uint8_t **hdr, uint32_t *skip)
{
	uint32_t free_bytes, rec, off, tail, pad;
	int rc;
	if (len > ch->max_message)
		return SHML_EMSGSIZE;
	rec = record_size((uint32_t)len);
	off = ch->tx_pos & (ch->tx_size - 1u);
	tail = ch->tx_size - off;
	pad = tail < rec ? tail : 0;
	rc = tx_room(ch, pad + rec, &free_bytes);
	if (rc)
		return rc;
	if (pad + rec > free_bytes)
		return SHML_EAGAIN;
	begin_overwrite(ch);
	if (pad) {
		shm_store(ch->tx_ring + off + REC_LEN, REC_PAD_FLAG | (pad - SHML_RECORD_HEADER));
		shm_store(ch->tx_ring + off + REC_SEQ, ch->tx_seq);
		off = 0;
	}
	*hdr = ch->tx_ring + off;
	*skip = pad;
	return 0;
}

/* Header, then publish the padding (if any) and the record together. */
SHML_HOT void msg_publish(struct shml_chan *ch, uint8_t *hdr, uint32_t skip, uint32_t len)
{
	shm_store(hdr + REC_LEN, len);
	shm_store(hdr + REC_SEQ, ch->tx_seq);
	ch->tx_seq++;
	ch->counters.tx_messages++;
	ch->counters.tx_bytes += len;
	publish_tx(ch, ch->tx_pos + skip + record_size(len));
}

/*
 * The next message, validated (docs/PROTOCOL.md §9.1): its length, with
 * *@buf at its payload; padding before it is consumed. Or an error.
 */
SHML_HOT int32_t msg_next(struct shml_chan *ch, const void **buf)
{
	uint32_t mask = ch->rx_size - 1u, avail, off, tail, len, seq, rec;
	for (int pads = 0;; pads++) {
		int rc = rx_avail(ch, SHML_RECORD_HEADER, &avail);
		if (rc)
			return rc;
		if (avail == 0)
			return SHML_EAGAIN;
		off = ch->rx_pos & mask;
		tail = ch->rx_size - off;
		shml__invalidate(ch, ch->rx_ring + off, SHML_RECORD_HEADER);
		len = shm_load(ch->rx_ring + off + REC_LEN);
		seq = shm_load(ch->rx_ring + off + REC_SEQ);
		if (!(len & REC_PAD_FLAG))
			break;
		/* Padding fills exactly the ring's tail, never at offset 0, at most once. */
		if (pads || off == 0 || (len & ~REC_PAD_FLAG) + SHML_RECORD_HEADER != tail ||
		    tail > avail)
			return shml__protocol_error(ch);
		publish_rx(ch, ch->rx_pos + tail);
	}
	rec = record_size(len);
	if (len > ch->max_message || rec > avail || rec > tail || seq != ch->rx_seq)
		return shml__protocol_error(ch);
	shml__invalidate(ch, ch->rx_ring + off + SHML_RECORD_HEADER, len);
	*buf = ch->rx_ring + off + SHML_RECORD_HEADER;
	return (int32_t)len;
}

SHML_HOT void msg_consume(struct shml_chan *ch, uint32_t len)
{
	ch->rx_seq++;
	ch->counters.rx_messages++;
	ch->counters.rx_bytes += len;
	publish_rx(ch, ch->rx_pos + record_size(len));
}

#ifndef SHML_CONFIG_NO_ZEROCOPY_API
/* The zero-copy calls (shml_reserve() and friends); the copying calls do without them. */
static int32_t msg_reserve(struct shml_chan *ch, size_t len, void **buf)
{
	uint8_t *hdr;
	uint32_t skip;
	int rc = msg_place(ch, len, &hdr, &skip);
	if (rc)
		return rc;
	ch->reserved = 1;
	ch->reserved_len = (uint32_t)len;
	ch->reserved_skip = skip;
	*buf = hdr + SHML_RECORD_HEADER;
	return (int32_t)len;
}

static void msg_commit(struct shml_chan *ch, uint32_t len)
{
	uint32_t skip = ch->reserved_skip;
	msg_publish(ch, ch->tx_ring + ((ch->tx_pos + skip) & (ch->tx_size - 1u)), skip, len);
}
#endif

/* ---- stream mode ------------------------------------------------------------------- */

#ifndef SHML_CONFIG_NO_STREAM

SHML_HOT void stream_commit(struct shml_chan *ch, uint32_t len)
{
	ch->counters.tx_messages++;
	ch->counters.tx_bytes += len;
	publish_tx(ch, ch->tx_pos + len);
}

SHML_HOT void stream_release(struct shml_chan *ch, uint32_t len)
{
	ch->counters.rx_messages++;
	ch->counters.rx_bytes += len;
	publish_rx(ch, ch->rx_pos + len);
}

#ifndef SHML_CONFIG_NO_ZEROCOPY_API
static int32_t stream_reserve(struct shml_chan *ch, size_t len, void **buf)
{
	uint32_t off = ch->tx_pos & (ch->tx_size - 1u), free_bytes, n;
	uint32_t want = min32(ch->tx_size - off, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	int rc = tx_room(ch, want, &free_bytes);
	if (rc)
		return rc;
	n = min32(free_bytes, want);
	if (n == 0)
		return len ? SHML_EAGAIN : 0;
	begin_overwrite(ch);
	ch->reserved = 1;
	ch->reserved_len = n;
	ch->reserved_skip = 0;
	*buf = ch->tx_ring + off;
	return (int32_t)n;
}

static int32_t stream_peek(struct shml_chan *ch, const void **buf)
{
	uint32_t off = ch->rx_pos & (ch->rx_size - 1u), avail, n;
	int rc = rx_avail(ch, 1, &avail);
	if (rc)
		return rc;
	n = min32(avail, ch->rx_size - off);
	if (n == 0)
		return SHML_EAGAIN;
	shml__invalidate(ch, ch->rx_ring + off, n);
	*buf = ch->rx_ring + off;
	return (int32_t)n;
}
#endif
#else
/* Never reached: shml_chan_open() refuses stream channels in this build. */
#define stream_reserve(ch, len, buf) SHML_EINVAL
#define stream_commit(ch, len) ((void)0)
#define stream_peek(ch, buf) SHML_EINVAL
#define stream_release(ch, len) ((void)0)
#endif

/* ---- public ------------------------------------------------------------------------ */

/* Common entry: the channel must be open and the session established (checked per call). */
SHML_HOT int enter(struct shml_chan *ch)
{
	int rc;
	if (!ch || !ch->region || ch->state == SHML_STATE_CLOSED)
		return SHML_EINVAL;
	rc = shml__check(ch);
	return rc == 1 ? 0 : rc;
}

#ifndef SHML_CONFIG_NO_ZEROCOPY_API
int32_t shml_reserve(struct shml_chan *ch, size_t len, void **buf)
{
	int rc = enter(ch);
	if (rc)
		return rc;
	ch->reserved = 0;
	return ch->mode == SHML_MODE_MESSAGE ? msg_reserve(ch, len, buf)
	                                     : stream_reserve(ch, len, buf);
}

int shml_commit(struct shml_chan *ch, size_t len)
{
	if (!ch || !ch->reserved)
		return SHML_ESTATE;
	if (len > ch->reserved_len)
		return SHML_EINVAL;
	ch->reserved = 0;
	if (ch->mode == SHML_MODE_MESSAGE)
		msg_commit(ch, (uint32_t)len);
	else if (len)
		stream_commit(ch, (uint32_t)len);
	return 0;
}

int32_t shml_peek(struct shml_chan *ch, const void **buf)
{
	int32_t n = enter(ch);
	if (n)
		return n;
	ch->peeked = 0;
	n = ch->mode == SHML_MODE_MESSAGE ? msg_next(ch, buf) : stream_peek(ch, buf);
	if (n >= 0) {
		ch->peeked = 1;
		ch->peeked_len = (uint32_t)n;
	}
	return n;
}

int shml_release(struct shml_chan *ch, size_t len)
{
	if (!ch || !ch->peeked)
		return SHML_ESTATE;
	if (ch->mode == SHML_MODE_STREAM && len > ch->peeked_len)
		return SHML_EINVAL;
	ch->peeked = 0;
	if (ch->mode == SHML_MODE_MESSAGE)
		msg_consume(ch, ch->peeked_len);
	else if (len)
		stream_release(ch, (uint32_t)len);
	return 0;
}
#endif /* SHML_CONFIG_NO_ZEROCOPY_API */

/* Copying calls: place, copy, publish in one go, without the zero-copy bookkeeping. */
int shml_send(struct shml_chan *ch, const void *buf, size_t len)
{
	uint8_t *hdr;
	uint32_t skip;
	int rc;
	if (ch && ch->mode != SHML_MODE_MESSAGE)
		return SHML_EINVAL;
	rc = enter(ch);
	if (rc)
		return rc;
	ch->reserved = 0;
	rc = msg_place(ch, len, &hdr, &skip);
	if (rc)
		return rc;
	copy_in(ch, hdr + SHML_RECORD_HEADER, buf, (uint32_t)len);
	msg_publish(ch, hdr, skip, (uint32_t)len);
	return 0;
}

int32_t shml_recv(struct shml_chan *ch, void *buf, size_t cap)
{
	const void *src = NULL; /* set when msg_next() returns a length; GCC cannot tell */
	int32_t len;
	if (ch && ch->mode != SHML_MODE_MESSAGE)
		return SHML_EINVAL;
	len = enter(ch);
	if (len)
		return len;
	ch->peeked = 0;
	len = msg_next(ch, &src);
	if (len < 0)
		return len;
	if ((size_t)len > cap)
		return SHML_ENOBUFS; /* the message stays in the ring */
	copy_out(ch, buf, src, (uint32_t)len);
	msg_consume(ch, (uint32_t)len);
	return len;
}

#ifndef SHML_CONFIG_NO_STREAM
/* Copy @n bytes between a buffer and the ring at position @pos, wrapping once. */
static void copy_wrapped_in(const struct shml_chan *ch, uint32_t pos, const uint8_t *src,
                            uint32_t n)
{
	uint32_t off = pos & (ch->tx_size - 1u), first = min32(n, ch->tx_size - off);
	copy_in(ch, ch->tx_ring + off, src, first);
	if (n > first)
		copy_in(ch, ch->tx_ring, src + first, n - first);
}

static void copy_wrapped_out(const struct shml_chan *ch, uint32_t pos, uint8_t *dst, uint32_t n)
{
	uint32_t off = pos & (ch->rx_size - 1u), first = min32(n, ch->rx_size - off);
	shml__invalidate(ch, ch->rx_ring + off, first);
	copy_out(ch, dst, ch->rx_ring + off, first);
	if (n > first) {
		shml__invalidate(ch, ch->rx_ring, n - first);
		copy_out(ch, dst + first, ch->rx_ring, n - first);
	}
}

int32_t shml_write(struct shml_chan *ch, const void *buf, size_t len)
{
	uint32_t free_bytes, n;
	int rc;
	if (ch && ch->mode != SHML_MODE_STREAM)
		return SHML_EINVAL;
	rc = enter(ch);
	if (rc)
		return rc;
	ch->reserved = 0;
	rc = tx_room(ch, len < ch->tx_size ? (uint32_t)len : ch->tx_size, &free_bytes);
	if (rc)
		return rc;
	n = len < free_bytes ? (uint32_t)len : free_bytes;
	if (n == 0)
		return len ? SHML_EAGAIN : 0;
	begin_overwrite(ch);
	copy_wrapped_in(ch, ch->tx_pos, buf, n);
	stream_commit(ch, n);
	return (int32_t)n;
}

int32_t shml_read(struct shml_chan *ch, void *buf, size_t cap)
{
	uint32_t avail, n;
	int rc;
	if (ch && ch->mode != SHML_MODE_STREAM)
		return SHML_EINVAL;
	rc = enter(ch);
	if (rc)
		return rc;
	ch->peeked = 0;
	rc = rx_avail(ch, cap < ch->rx_size ? (uint32_t)cap : ch->rx_size, &avail);
	if (rc)
		return rc;
	n = cap < avail ? (uint32_t)cap : avail;
	if (n == 0)
		return cap ? SHML_EAGAIN : 0;
	copy_wrapped_out(ch, ch->rx_pos, buf, n);
	stream_release(ch, n);
	return (int32_t)n;
}
#endif /* SHML_CONFIG_NO_STREAM */
