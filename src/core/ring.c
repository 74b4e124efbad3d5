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

static void copy_in(const struct shml_chan *ch, uint8_t *dst, const void *src, uint32_t n)
{
	const struct shml_port *p = ch->region->port;
	if (p->copy_to_shared)
		p->copy_to_shared(p->ctx, dst, src, n);
	else
		__builtin_memcpy(dst, src, n);
}

static void copy_out(const struct shml_chan *ch, void *dst, const uint8_t *src, uint32_t n)
{
	const struct shml_port *p = ch->region->port;
	if (p->copy_from_shared)
		p->copy_from_shared(p->ctx, dst, src, n);
	else
		__builtin_memcpy(dst, src, n);
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void count_op(struct shml_chan *ch)
{
	if (++ch->ops_since_publish >= PUBLISH_COUNTERS_EVERY)
		shml_publish_counters(ch);
}

/*
 * We are about to write into our ring in this session: what a reset
 * discarded there is about to be overwritten, so stop offering it to the
 * application and to a successor (retire our tx-finals, docs/PROTOCOL.md §7.5).
 */
static void begin_overwrite(struct shml_chan *ch)
{
	ch->discard_walkable = 0;
	if (ch->tx_started)
		return;
	ch->tx_started = 1;
	shm_store(ch->self_line + CTL_FINAL_GEN, 0);
	shm_store(ch->self_line + CTL_FINAL_TX, 0);
	shml__publish_line(ch);
}

/* A peer value made no sense: a session change explains it, or the peer lies. */
static int anomaly(struct shml_chan *ch)
{
	int rc = shml__step(ch);
	if (rc != 1)
		return rc;
	return shml__protocol_error(ch);
}

/*
 * Free bytes in our ring, at least @need if the ring has them. The peer's rx
 * is reloaded only when the cached value does not show @need bytes: most
 * calls then touch no line the peer writes (as Tegra IVC does).
 */
int shml__tx_room(struct shml_chan *ch, uint32_t need, uint32_t *free_bytes)
{
	uint32_t seen = ch->peer_rx_seen, prx;
	if (ch->tx_size - (ch->tx_pos - seen) >= need) {
		*free_bytes = ch->tx_size - (ch->tx_pos - seen);
		return 0;
	}
	shml__invalidate(ch, ch->peer_pos, POS_USED);
	prx = shm_load(ch->peer_pos + POS_RX);
	/* The peer's rx lies in [what we saw, what we wrote]. */
	if (prx - seen > ch->tx_pos - seen)
		return anomaly(ch);
	if (ch->mode == SHML_MODE_MESSAGE && (prx & (SHML_RECORD_ALIGN - 1u)))
		return anomaly(ch);
	ch->peer_rx_seen = prx;
	*free_bytes = ch->tx_size - (ch->tx_pos - prx);
	return 0;
}

/* Bytes readable, at least @need if there are; the peer's tx is reloaded only when needed. */
int shml__rx_avail(struct shml_chan *ch, uint32_t need, uint32_t *avail)
{
	uint32_t ptx, n;
	if (ch->peer_tx_seen - ch->rx_pos >= need) {
		*avail = ch->peer_tx_seen - ch->rx_pos;
		return 0;
	}
	shml__invalidate(ch, ch->peer_pos, POS_USED);
	ptx = shm_load(ch->peer_pos + POS_TX);
	n = ptx - ch->rx_pos;
	/* The over-full check, and the peer's tx never moves backwards. */
	if (n > ch->rx_size || n < ch->peer_tx_seen - ch->rx_pos)
		return anomaly(ch);
	if (ch->mode == SHML_MODE_MESSAGE && (n & (SHML_RECORD_ALIGN - 1u)))
		return anomaly(ch);
	ch->peer_tx_seen = ptx;
	*avail = n;
	return 0;
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

/* Room the peer has to write after our release (for its announced need). */
static uint32_t peer_room(const struct shml_chan *ch)
{
	return ch->rx_size - (ch->peer_tx_seen - ch->rx_pos);
}

static void publish_tx(struct shml_chan *ch, uint32_t start, uint32_t new_tx)
{
	uint32_t mask = ch->tx_size - 1u, n = new_tx - start, off = start & mask;
	uint32_t first = min32(n, ch->tx_size - off);
	shml__clean(ch, ch->tx_ring + off, first);
	if (n > first)
		shml__clean(ch, ch->tx_ring, n - first);
	ch->tx_pos = new_tx;
	shm_store(ch->self_pos + POS_TX, new_tx);
	shml__clean(ch, ch->self_pos, POS_USED);
	shml__notify_if_waiting(ch, SHML_EV_READABLE, UINT32_MAX);
	count_op(ch);
}

/*
 * We are about to consume in this session for the first time: our rx-finals
 * describe an older session, and a successor must not take them for this
 * one (retire them, docs/PROTOCOL.md §7.5), before the peer can see us move.
 */
static void begin_consume(struct shml_chan *ch)
{
	if (ch->rx_started)
		return;
	ch->rx_started = 1;
	shm_store(ch->self_line + CTL_FINAL_OF, 0);
	shm_store(ch->self_line + CTL_FINAL_RX, 0);
	shml__publish_line(ch);
}

static void publish_rx(struct shml_chan *ch, uint32_t new_rx)
{
	begin_consume(ch);
	ch->rx_pos = new_rx;
	shm_store(ch->self_pos + POS_RX, new_rx);
	shml__clean(ch, ch->self_pos, POS_USED);
	shml__notify_if_waiting(ch, SHML_EV_WRITABLE, peer_room(ch));
	count_op(ch);
}

/* ---- message mode ------------------------------------------------------------------ */

static int32_t msg_reserve(struct shml_chan *ch, size_t len, void **buf)
{
	uint32_t mask = ch->tx_size - 1u, free_bytes, rec, off, tail, skip;
	int rc;
	if (len > ch->max_message)
		return SHML_EMSGSIZE;
	rec = record_size((uint32_t)len);
	off = ch->tx_pos & mask;
	tail = ch->tx_size - off;
	skip = tail < rec ? tail : 0;
	rc = shml__tx_room(ch, skip + rec, &free_bytes);
	if (rc)
		return rc;
	if (skip + rec > free_bytes)
		return SHML_EAGAIN;
	begin_overwrite(ch);
	if (skip) {
		shm_store(ch->tx_ring + off + REC_LEN, REC_PAD_FLAG | (skip - SHML_RECORD_HEADER));
		shm_store(ch->tx_ring + off + REC_SEQ, ch->tx_seq);
		off = 0;
	}
	ch->reserved = 1;
	ch->reserved_len = (uint32_t)len;
	ch->reserved_skip = skip;
	*buf = ch->tx_ring + off + SHML_RECORD_HEADER;
	return (int32_t)len;
}

static void msg_commit(struct shml_chan *ch, uint32_t len)
{
	uint32_t start = ch->tx_pos;
	uint8_t *hdr = ch->tx_ring + ((start + ch->reserved_skip) & (ch->tx_size - 1u));
	shm_store(hdr + REC_LEN, len);
	shm_store(hdr + REC_SEQ, ch->tx_seq);
	ch->tx_seq++;
	ch->counters.tx_messages++;
	ch->counters.tx_bytes += len;
	publish_tx(ch, start, start + ch->reserved_skip + record_size(len));
}

static int32_t msg_peek(struct shml_chan *ch, const void **buf)
{
	uint32_t mask = ch->rx_size - 1u, avail, off, tail, len, seq, rec;
	for (int pads = 0;; pads++) {
		int rc = shml__rx_avail(ch, SHML_RECORD_HEADER, &avail);
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
	rec = record_size(len & ~REC_PAD_FLAG);
	if (len > ch->max_message || rec > avail || rec > tail || seq != ch->rx_seq)
		return shml__protocol_error(ch);
	shml__invalidate(ch, ch->rx_ring + off + SHML_RECORD_HEADER, len);
	ch->peeked = 1;
	ch->peeked_len = len;
	*buf = ch->rx_ring + off + SHML_RECORD_HEADER;
	return (int32_t)len;
}

static void msg_release(struct shml_chan *ch)
{
	ch->rx_seq++;
	ch->counters.rx_messages++;
	ch->counters.rx_bytes += ch->peeked_len;
	publish_rx(ch, ch->rx_pos + record_size(ch->peeked_len));
}

/* ---- stream mode ------------------------------------------------------------------- */

#ifndef SHML_CONFIG_NO_STREAM

static int32_t stream_reserve(struct shml_chan *ch, size_t len, void **buf)
{
	uint32_t off = ch->tx_pos & (ch->tx_size - 1u), free_bytes, n;
	uint32_t want = min32(ch->tx_size - off, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	int rc = shml__tx_room(ch, want, &free_bytes);
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

static void stream_commit(struct shml_chan *ch, uint32_t len)
{
	ch->counters.tx_messages++;
	ch->counters.tx_bytes += len;
	publish_tx(ch, ch->tx_pos, ch->tx_pos + len);
}

static int32_t stream_peek(struct shml_chan *ch, const void **buf)
{
	uint32_t off = ch->rx_pos & (ch->rx_size - 1u), avail, n;
	int rc = shml__rx_avail(ch, 1, &avail);
	if (rc)
		return rc;
	n = min32(avail, ch->rx_size - off);
	if (n == 0)
		return SHML_EAGAIN;
	shml__invalidate(ch, ch->rx_ring + off, n);
	ch->peeked = 1;
	ch->peeked_len = n;
	*buf = ch->rx_ring + off;
	return (int32_t)n;
}

static void stream_release(struct shml_chan *ch, uint32_t len)
{
	ch->counters.rx_messages++;
	ch->counters.rx_bytes += len;
	publish_rx(ch, ch->rx_pos + len);
}
#else
/* Never reached: shml_chan_open() refuses stream channels in this build. */
#define stream_reserve(ch, len, buf) SHML_EINVAL
#define stream_commit(ch, len) ((void)0)
#define stream_peek(ch, buf) SHML_EINVAL
#define stream_release(ch, len) ((void)0)
#endif

/* ---- public ------------------------------------------------------------------------ */

/* Common entry: the channel must be open and the session established. */
static int enter(struct shml_chan *ch)
{
	int rc;
	if (!ch || !ch->region || ch->state == SHML_STATE_CLOSED)
		return SHML_EINVAL;
	rc = shml__step(ch);
	return rc == 1 ? 0 : rc;
}

SHML__ZEROCOPY_API int32_t shml_reserve(struct shml_chan *ch, size_t len, void **buf)
{
	int rc = enter(ch);
	if (rc)
		return rc;
	ch->reserved = 0;
	return ch->mode == SHML_MODE_MESSAGE ? msg_reserve(ch, len, buf)
	                                     : stream_reserve(ch, len, buf);
}

SHML__ZEROCOPY_API int shml_commit(struct shml_chan *ch, size_t len)
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

SHML__ZEROCOPY_API int32_t shml_peek(struct shml_chan *ch, const void **buf)
{
	int rc = enter(ch);
	if (rc)
		return rc;
	ch->peeked = 0;
	return ch->mode == SHML_MODE_MESSAGE ? msg_peek(ch, buf) : stream_peek(ch, buf);
}

SHML__ZEROCOPY_API int shml_release(struct shml_chan *ch, size_t len)
{
	if (!ch || !ch->peeked)
		return SHML_ESTATE;
	if (ch->mode == SHML_MODE_STREAM && len > ch->peeked_len)
		return SHML_EINVAL;
	ch->peeked = 0;
	if (ch->mode == SHML_MODE_MESSAGE)
		msg_release(ch);
	else if (len)
		stream_release(ch, (uint32_t)len);
	return 0;
}

int shml_send(struct shml_chan *ch, const void *buf, size_t len)
{
	void *dst = NULL; /* inlined (SHML_CONFIG_NO_ZEROCOPY_API), GCC cannot tell it is set */
	int32_t rc;
	if (ch && ch->mode != SHML_MODE_MESSAGE)
		return SHML_EINVAL;
	rc = shml_reserve(ch, len, &dst);
	if (rc < 0)
		return rc;
	copy_in(ch, dst, buf, (uint32_t)len);
	return shml_commit(ch, len);
}

int32_t shml_recv(struct shml_chan *ch, void *buf, size_t cap)
{
	const void *src = NULL; /* likewise */
	int32_t len;
	if (ch && ch->mode != SHML_MODE_MESSAGE)
		return SHML_EINVAL;
	len = shml_peek(ch, &src);
	if (len < 0)
		return len;
	if ((size_t)len > cap) {
		ch->peeked = 0; /* the message stays in the ring */
		return SHML_ENOBUFS;
	}
	copy_out(ch, buf, src, (uint32_t)len);
	shml_release(ch, (size_t)len);
	return len;
}

#ifndef SHML_CONFIG_NO_STREAM
/* Copy @n bytes between a buffer and the ring at position @pos, wrapping once. */
static void copy_wrapped_in(const struct shml_chan *ch, uint32_t pos, const uint8_t *src,
                            uint32_t n)
{
	uint32_t off = pos & (ch->tx_size - 1u), first = min32(n, ch->tx_size - off);
	copy_in(ch, ch->tx_ring + off, src, first);
	copy_in(ch, ch->tx_ring, src + first, n - first);
}

static void copy_wrapped_out(const struct shml_chan *ch, uint32_t pos, uint8_t *dst,
                             uint32_t n)
{
	uint32_t off = pos & (ch->rx_size - 1u), first = min32(n, ch->rx_size - off);
	shml__invalidate(ch, ch->rx_ring + off, first);
	shml__invalidate(ch, ch->rx_ring, n - first);
	copy_out(ch, dst, ch->rx_ring + off, first);
	copy_out(ch, dst + first, ch->rx_ring, n - first);
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
	rc = shml__tx_room(ch, len < ch->tx_size ? (uint32_t)len : ch->tx_size, &free_bytes);
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
	rc = shml__rx_avail(ch, cap < ch->rx_size ? (uint32_t)cap : ch->rx_size, &avail);
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
