/* SPDX-License-Identifier: MIT */
/*
 * Region attach, channel open/close and the session state machine.
 *
 * Each side of a channel owns one control line. A side's state moves
 * through this table (docs/PROTOCOL.md, "Sessions"), driven by snapshots
 * (ps, pg, ppg) = peer's (state, gen, peer_gen), all read once:
 *
 *   ours  peer snapshot                              action
 *   ----  -----------------------------------------  ---------------------------------
 *   SYNC  slot magic ok, version/hash differ         stay; SHML_EMISMATCH
 *   SYNC  ps == SYNC                                 peer_gen = pg; -> ACK; notify
 *   SYNC  ps == ACK, ppg == gen                      peer_gen = pg; -> EST; notify
 *   SYNC  anything else                              stay (the peer will come to us)
 *   ACK   ps in {ACK, EST, CLOSED}, pg == peer_gen,  -> EST; notify (a CLOSED peer is
 *         ppg == gen                                    then drained by the EST row)
 *   ACK   ps == SYNC, pg == peer_gen                 stay (peer has not seen our ACK)
 *   ACK   ps == SYNC, pg != peer_gen                 peer_gen = pg (re-acknowledge); notify
 *   ACK   anything else                              new gen; -> SYNC; notify
 *   EST   ps in {ACK, EST}, pg == peer_gen, ppg==gen stay: established
 *   EST   anything else                              write finals; new gen; -> SYNC; notify;
 *                                                    account what the session discarded
 *
 * Entering SYNC zeroes our positions after the state store, so a peer that
 * reads a zeroed position also sees the state change (release/acquire).
 */
#include "internal.h"

/* ---- small port wrappers -------------------------------------------------- */

static const struct shml_port *port_of(const struct shml_chan *ch)
{
	return ch->region->port;
}

int shml__valid_state(uint32_t s)
{
	return s == SHML_STATE_CLOSED || s == SHML_STATE_SYNC || s == SHML_STATE_ACK ||
	       s == SHML_STATE_EST;
}

static void own_store(struct shml_chan *ch, uint32_t off, uint32_t v)
{
	shm_store(ch->self_line + off, v);
}

static uint32_t own_load(const struct shml_chan *ch, uint32_t off)
{
	return shm_load(ch->self_line + off);
}

/* ---- notification ----------------------------------------------------------- */

void shml__ring_doorbell(struct shml_chan *ch)
{
	const struct shml_port *p = port_of(ch);
	ch->doorbell++;
	own_store(ch, CTL_DOORBELL, ch->doorbell);
	shml__publish_line(ch);
	ch->counters.notify_sent++;
	if (p->notify)
		p->notify(p->ctx, ch, (volatile uint32_t *)(void *)(ch->self_line + CTL_DOORBELL));
}

/*
 * Room the peer has to write after our release, with its tx reloaded: the
 * one we cached may be many records old, and would wake a writer that asked
 * for half the ring (wait.c, wake_need()) far too early. Never less than its
 * actual room (docs/PROTOCOL.md §11.2). An impossible tx is not used here;
 * our next data call reloads it and reacts.
 */
static uint32_t peer_room(struct shml_chan *ch)
{
	uint32_t ptx;
	shml__invalidate(ch, ch->peer_pos, POS_USED);
	ptx = shm_load(ch->peer_pos + POS_TX);
	if (shml__peer_tx_ok(ch, ptx))
		ch->peer_tx_seen = ptx;
	return ch->rx_size - (ch->peer_tx_seen - ch->rx_pos);
}

/*
 * The peer's wait word @wait has one of @events: notify once per sleep
 * (docs/PROTOCOL.md §11.2), and for room only when there is as much as the
 * peer announced it needs.
 */
void shml__notify_waiting(struct shml_chan *ch, uint32_t events, uint32_t wait)
{
	uint32_t seq = wait >> WAIT_SEQ_SHIFT;
	if (seq == ch->notified_seq) {
		ch->counters.notify_suppressed++;
		return;
	}
	if (events == SHML_EV_WRITABLE && peer_room(ch) < shml__peer_load(ch, CTL_WAIT_NEED)) {
		ch->counters.notify_suppressed++;
		return;
	}
	ch->notified_seq = seq;
	shml__ring_doorbell(ch);
}

static void notify_state(struct shml_chan *ch)
{
	shml__notify_if_waiting(ch, SHML_EV_READABLE | SHML_EV_WRITABLE | SHML_EV_STATE);
}

/* ---- counters ----------------------------------------------------------------- */

#ifndef SHML_CONFIG_NO_INSPECT
void shml_publish_counters(struct shml_chan *ch)
{
	const uint64_t *v = &ch->counters.tx_messages;
	for (uint32_t i = 0; i < STAT_N_COUNTERS; i++) {
		shm_store(ch->self_stats + STAT_COUNTERS + 8u * i, (uint32_t)v[i]);
		shm_store(ch->self_stats + STAT_COUNTERS + 8u * i + 4u, (uint32_t)(v[i] >> 32));
	}
	shm_store(ch->self_stats + STAT_LAST_ERROR, ch->counters.last_error);
	shm_store(ch->self_stats + STAT_MAGIC, SHML_STATS_MAGIC);
	shml__clean(ch, ch->self_stats, STAT_BYTES);
	ch->ops_since_publish = 0;
}
#else
/* Statistics are for inspection only (PROTOCOL.md §6.3): say there are none. */
void shml_publish_counters(struct shml_chan *ch)
{
	shm_store(ch->self_stats + STAT_MAGIC, 0);
	shml__clean(ch, ch->self_stats, 4);
	ch->ops_since_publish = 0;
}
#endif

void shml_get_counters(const struct shml_chan *ch, struct shml_counters *out)
{
	*out = ch->counters;
}

void shml__note_error(struct shml_chan *ch, int err)
{
	ch->counters.last_error = (uint32_t)-err;
}

/* ---- sessions ------------------------------------------------------------------- */

static uint32_t new_generation(const struct shml_chan *ch, uint32_t old)
{
	uint64_t t = shml__now(ch);
	uint32_t g = (uint32_t)(t ^ (t >> 29)) * 2654435761u;
	g ^= old * 0x9e3779b9u ^ (ch->index << 8) ^ ch->side;
	if (g == 0 || g == old)
		g = old + 1u ? old + 1u : 1u;
	return g;
}

static void enter_sync(struct shml_chan *ch)
{
	ch->gen = new_generation(ch, ch->gen);
	ch->peer_gen = 0;
	ch->state = SHML_STATE_SYNC;
	own_store(ch, CTL_GEN, ch->gen);
	own_store(ch, CTL_PEER_GEN, 0);
	own_store(ch, CTL_STATE, SHML_STATE_SYNC);
	/* After the state: a peer that sees these zeros also sees SYNC. */
	shm_store(ch->self_pos + POS_TX, 0);
	shm_store(ch->self_pos + POS_RX, 0);
	shml__publish_line(ch);
	shml__clean(ch, ch->self_pos, POS_USED);
	ch->tx_pos = ch->rx_pos = 0;
	ch->tx_seq = ch->rx_seq = 0;
	ch->peer_rx_seen = ch->peer_tx_seen = 0;
	ch->reserved_len = ch->peeked_len = 0;
	ch->reserved = ch->peeked = 0;
	ch->tx_started = ch->rx_started = 0;
	notify_state(ch);
}

/* Record how the established session ended, for the peer and for our successor. */
static void write_finals(struct shml_chan *ch, uint32_t gen, uint32_t tx, uint32_t peer_gen,
                         uint32_t rx)
{
	if (tx != 0) {
		own_store(ch, CTL_FINAL_GEN, gen);
		own_store(ch, CTL_FINAL_TX, tx);
	}
	if (rx != 0) {
		own_store(ch, CTL_FINAL_OF, peer_gen);
		own_store(ch, CTL_FINAL_RX, rx);
	}
	shml__publish_line(ch);
}

/*
 * Attach step 1 (docs/PROTOCOL.md §8): our predecessor died established.
 * Write a finals pair only where it is missing. A pair is retired (0) while
 * its session is live, so a nonzero pair equal to the position was written
 * by an end of session that the predecessor did not finish (§7.4): its
 * generation is the ended session's, and the line's generation may already
 * be the next one, which no data was ever sent or consumed in.
 */
static void write_missing_finals(struct shml_chan *ch, uint32_t gen, uint32_t tx, uint32_t peer_gen,
                                 uint32_t rx)
{
	if (own_load(ch, CTL_FINAL_TX) == tx)
		tx = 0;
	if (own_load(ch, CTL_FINAL_RX) == rx)
		rx = 0;
	write_finals(ch, gen, tx, peer_gen, rx);
}

/*
 * End an established session: publish finals, remember what to account,
 * start a new session. The accounting is resolved once the peer has left
 * the session too (resolve_accounting()).
 */
static void end_session(struct shml_chan *ch)
{
	write_finals(ch, ch->gen, ch->tx_pos, ch->peer_gen, ch->rx_pos);
	ch->acct.active = 1;
	ch->acct.previous = 0;
	ch->acct.gen = ch->gen;
	ch->acct.end_tx = ch->tx_pos;
	ch->acct.seen_rx = ch->peer_rx_seen;
	ch->counters.resets++;
	enter_sync(ch);
	shml_publish_counters(ch);
}

/* Is a pending account ready: does the peer's line no longer refer to that session? */
static int account_ready(const struct shml_chan *ch, uint32_t ps, uint32_t ppg)
{
	return ch->acct.active &&
	       !((ps == SHML_STATE_ACK || ps == SHML_STATE_EST) && ppg == ch->acct.gen);
}

#ifndef SHML_CONFIG_NO_RESET_INFO
/*
 * Step over one record of our own ring at *@p, before @to. Shared memory:
 * anyone may have scribbled it since we wrote it, so check it like a peer's.
 * Returns 1 with *@len and *@payload for a message, 0 at @to, -1 if invalid.
 * Padding records are skipped (at most one: the next record is at offset 0).
 */
static int walk_record(const struct shml_chan *ch, uint32_t *p, uint32_t to, uint32_t *len,
                       const uint8_t **payload)
{
	uint32_t mask = ch->tx_size - 1u;
	for (int pads = 0; *p != to; pads++) {
		uint32_t off = *p & mask, left = to - *p, tail = ch->tx_size - off;
		uint32_t l, rec;
		if (left < SHML_RECORD_HEADER)
			return -1;
		shml__invalidate(ch, ch->tx_ring + off, SHML_RECORD_HEADER);
		l = shm_load(ch->tx_ring + off + REC_LEN);
		if (l & REC_PAD_FLAG) {
			if (pads || off == 0 || (l & ~REC_PAD_FLAG) + SHML_RECORD_HEADER != tail ||
			    tail > left)
				return -1;
			*p += tail;
			continue;
		}
		rec = SHML_RECORD_HEADER + align_up32(l, SHML_RECORD_ALIGN);
		if (l > ch->max_message || rec > tail || rec > left)
			return -1;
		shml__invalidate(ch, ch->tx_ring + off + SHML_RECORD_HEADER, l);
		*len = l;
		*payload = ch->tx_ring + off + SHML_RECORD_HEADER;
		*p += rec;
		return 1;
	}
	return 0;
}

/* Count the messages in [from, to) of our ring: 1, or 0 if a record is invalid. */
static int count_records(const struct shml_chan *ch, uint32_t from, uint32_t to, uint32_t *messages,
                         uint32_t *bytes)
{
	uint32_t p = from, n = 0, b = 0, len;
	const uint8_t *payload;
	int rc;
	while ((rc = walk_record(ch, &p, to, &len, &payload)) == 1) {
		n++;
		b += len;
	}
	*messages = n;
	*bytes = b;
	return rc == 0;
}

/*
 * Resolve the pending account of a session we sent in, once the peer's
 * line no longer refers to that session: the peer's rx-finals then say how
 * far it consumed (docs/PROTOCOL.md, "What a reset discards").
 */
static void resolve_accounting(struct shml_chan *ch, uint32_t ps, uint32_t ppg)
{
	struct shml_reset_info *ri = &ch->reset;
	uint32_t of, fr, consumed, end = ch->acct.end_tx;
	int exact = 1;
	if (!account_ready(ch, ps, ppg))
		return;
	of = shml__peer_load(ch, CTL_FINAL_OF);
	fr = shml__peer_load(ch, CTL_FINAL_RX);
	/* A peer writes rx-finals only for sessions it consumed in: no match = consumed 0. */
	consumed = of == ch->acct.gen ? fr : 0;
	/* Records start on 8-byte boundaries: anything else is a lie we must not
	 * walk from (a misaligned load faults on device memory). */
	if (ch->mode == SHML_MODE_MESSAGE && (consumed & (SHML_RECORD_ALIGN - 1u))) {
		consumed = ch->acct.previous ? end : ch->acct.seen_rx;
		exact = 0;
	}
	if (!ch->acct.previous) {
		uint32_t seen = ch->acct.seen_rx;
		if (consumed - seen > end - seen) { /* outside [seen, end]: peer lies */
			consumed = seen;
			exact = 0;
		}
	} else if (!shml__valid_state(ps)) {
		exact = 0;
	}
	ri->generation = ch->acct.gen;
	ri->previous_process = ch->acct.previous;
	ri->peer_closed = ch->acct.peer_closed;
	ri->messages = ri->bytes = 0;
	ch->discard_from = ch->discard_to = ch->discard_cursor = 0;
	ch->discard_walkable = 0;
	if (end - consumed > ch->tx_size) {
		exact = 0;
	} else if (ch->mode == SHML_MODE_STREAM) {
		ri->bytes = end - consumed;
		ch->discard_walkable = 1;
	} else if (count_records(ch, consumed, end, &ri->messages, &ri->bytes)) {
		ch->discard_walkable = 1;
	} else {
		exact = 0;
	}
	if (ch->discard_walkable) {
		ch->discard_from = ch->discard_cursor = consumed;
		ch->discard_to = end;
	}
	ri->exact = exact;
	ch->counters.discarded_messages += ri->messages;
	ch->counters.discarded_bytes += ri->bytes;
	ch->acct.active = 0;
	ch->acct.peer_closed = 0;
	/* A predecessor's session that lost nothing is not news. */
	if (ri->previous_process && exact && ri->messages == 0 && ri->bytes == 0)
		return;
	ch->reset_valid = 1;
	ch->reset_pending = 1;
}
#else
/*
 * SHML_CONFIG_NO_RESET_INFO: report that the session ended (SHML_ERESET), not
 * what it discarded. A predecessor's session is news unless the peer's
 * rx-finals say it consumed all we sent.
 */
static void resolve_accounting(struct shml_chan *ch, uint32_t ps, uint32_t ppg)
{
	if (!account_ready(ch, ps, ppg))
		return;
	ch->acct.active = 0;
	ch->acct.peer_closed = 0;
	if (ch->acct.previous && shml__valid_state(ps) &&
	    shml__peer_load(ch, CTL_FINAL_OF) == ch->acct.gen &&
	    shml__peer_load(ch, CTL_FINAL_RX) == ch->acct.end_tx)
		return;
	ch->reset_pending = 1;
}
#endif

/* Is the peer's domain slot compatible with ours? 1 yes, 0 not yet written, <0 mismatch. */
static int peer_slot_ok(struct shml_chan *ch)
{
	struct shml_slot_info si;
	shml_read_slot(ch->region, shml_chan_peer_domain(ch), &si);
	if (si.magic != SHML_MAGIC)
		return 0;
	if (!si.valid) {
		ch->peer_slot_version = si.version;
		ch->peer_slot_hash = si.config_hash;
		shml__note_error(ch, SHML_EMISMATCH);
		return SHML_EMISMATCH;
	}
	return 1;
}

static int establish(struct shml_chan *ch, uint32_t pg)
{
	ch->peer_gen = pg;
	own_store(ch, CTL_PEER_GEN, pg);
	own_store(ch, CTL_STATE, SHML_STATE_EST);
	shml__publish_line(ch);
	ch->state = SHML_STATE_EST;
	notify_state(ch);
	shml_publish_counters(ch);
	return 1;
}

/*
 * Only we write our line, but memory can be corrupted (a stray write, a
 * hostile domain with access to the whole region). While not established
 * nobody else would notice, so put back what we stand for; the peer's next
 * snapshot then sees it. (Established, the peer notices and resets.)
 */
static void repair_own_line(struct shml_chan *ch)
{
	const uint32_t offs[] = { CTL_STATE, CTL_GEN, CTL_PEER_GEN };
	const uint32_t want[] = { ch->state, ch->gen, ch->peer_gen };
	int fixed = 0;
	shml__invalidate(ch, ch->self_line, CTL_USED);
	shml__invalidate(ch, ch->self_pos, POS_USED);
	for (uint32_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		if (own_load(ch, offs[i]) != want[i]) {
			own_store(ch, offs[i], want[i]);
			fixed = 1;
		}
	}
	for (uint32_t off = POS_TX; off < POS_USED; off += 4) {
		if (shm_load(ch->self_pos + off) != 0) {
			shm_store(ch->self_pos + off, 0);
			fixed = 1;
		}
	}
	if (fixed) {
		shml__publish_line(ch);
		shml__clean(ch, ch->self_pos, POS_USED);
		notify_state(ch);
	}
}

/*
 * Read the peer's state, generation and acknowledged generation as one
 * consistent snapshot. The three words are separate stores, so a plain read
 * can straddle a session change (the new state with the old generation, or
 * an old acknowledgement beside a new state) and settle an account or
 * resynchronise on a mix that never existed. Within one generation a
 * side's state only moves forward and generations never repeat, so if state
 * and generation read the same before and after the acknowledgement, the
 * three belong together (docs/PROTOCOL.md §7.2). A peer that keeps
 * changing them gets a bounded number of tries: 0 = no decision this time.
 */
enum { SNAPSHOT_TRIES = 4 };

static int peer_snapshot(struct shml_chan *ch, uint32_t *ps, uint32_t *pg, uint32_t *ppg)
{
	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++)
		if (shml__snapshot_try(ch, ps, pg, ppg))
			return 1;
	return 0;
}

/*
 * One step of the state machine. Returns 1 when established, SHML_ENOTCONN,
 * SHML_EMISMATCH, or SHML_ERESET (once per reset, when its account is ready).
 */
int shml__step(struct shml_chan *ch)
{
	uint32_t ps, pg, ppg;
	int rc;
	/* (The common case, established and nothing to report, is inline in shml__check().) */
	if (ch->state != SHML_STATE_EST)
		repair_own_line(ch);
	if (!peer_snapshot(ch, &ps, &pg, &ppg))
		return ch->state == SHML_STATE_EST ? 1 : SHML_ENOTCONN; /* decide next time */

	if (ch->state == SHML_STATE_EST) {
		if (shml__peer_in_session(ch, ps, pg, ppg))
			goto out;
		/* A peer that closed this session: deliver what it sent first (like EOF). */
		if (ps == SHML_STATE_CLOSED && pg == ch->peer_gen && ppg == ch->gen &&
		    shm_load(ch->peer_pos + POS_TX) != ch->rx_pos)
			goto out;
		ch->acct.peer_closed = ps == SHML_STATE_CLOSED && pg == ch->peer_gen;
		end_session(ch);
	} else if (ch->state == SHML_STATE_SYNC) {
		if (ps == SHML_STATE_SYNC || (ps == SHML_STATE_ACK && ppg == ch->gen)) {
			rc = peer_slot_ok(ch);
			if (rc <= 0)
				return rc ? rc : SHML_ENOTCONN;
			if (ps == SHML_STATE_SYNC) {
				ch->peer_gen = pg;
				own_store(ch, CTL_PEER_GEN, pg);
				own_store(ch, CTL_STATE, SHML_STATE_ACK);
				shml__publish_line(ch);
				ch->state = SHML_STATE_ACK;
				notify_state(ch);
			} else {
				resolve_accounting(ch, ps, ppg);
				establish(ch, pg);
			}
		}
	} else if (ch->state == SHML_STATE_ACK) {
		/* A CLOSED peer here was established with us: establish, then drain it. */
		if ((ps == SHML_STATE_ACK || ps == SHML_STATE_EST || ps == SHML_STATE_CLOSED) &&
		    pg == ch->peer_gen && ppg == ch->gen) {
			resolve_accounting(ch, ps, ppg);
			establish(ch, pg);
		} else if (ps == SHML_STATE_SYNC && pg != ch->peer_gen) {
			ch->peer_gen = pg;
			own_store(ch, CTL_PEER_GEN, pg);
			shml__publish_line(ch);
			notify_state(ch);
		} else if (!(ps == SHML_STATE_SYNC && pg == ch->peer_gen)) {
			enter_sync(ch);
		}
	}
out:
	if (ch->acct.active)
		resolve_accounting(ch, ps, ppg);
	if (ch->reset_pending) {
		ch->reset_pending = 0;
		shml__note_error(ch, SHML_ERESET);
		return SHML_ERESET;
	}
	return ch->state == SHML_STATE_EST ? 1 : SHML_ENOTCONN;
}

/* The peer broke the protocol: count it and resynchronise. */
int shml__protocol_error(struct shml_chan *ch)
{
	ch->counters.protocol_errors++;
	shml__note_error(ch, SHML_EPROTO);
	if (ch->state == SHML_STATE_EST)
		end_session(ch);
	else
		enter_sync(ch);
	return SHML_EPROTO;
}

/* ---- public: region ----------------------------------------------------------------- */

/* What every attach and view checks before it touches @mem, then fills @r. */
static int region_init(struct shml_region *r, const struct shml_config *cfg, const void *mem,
                       uint64_t mem_size, const struct shml_port *port, uint64_t cfg_hash)
{
	int rc;
	if (!r || !cfg || !mem || !port || !port->now_ns)
		return SHML_EINVAL;
#ifdef SHML_CONFIG_COHERENT
	if (port->cache_clean || port->cache_invalidate)
		return SHML_EINVAL; /* this build would never call them */
#endif
	rc = shml__config_sane(cfg);
	if (rc)
		return rc;
	/* The config's layout fits in region_size: shml__config_sane() checked that. */
	if (mem_size < cfg->region_size)
		return SHML_ERANGE;
	if (((uintptr_t)mem & (cfg->cacheline - 1u)) != 0)
		return SHML_EINVAL;
	r->base = (uint8_t *)(uintptr_t)mem; /* a view never writes through it */
	r->size = cfg->region_size;
	r->cfg = cfg;
	r->port = port;
	r->self = UINT32_MAX;
	r->cfg_hash = cfg_hash;
	return 0;
}

/* Publish our domain slot: who we are, with which protocol version and config. */
static int write_slot(struct shml_region *r, uint32_t self)
{
	const struct shml_config *cfg = r->cfg;
	uint8_t *slot = r->base + (uint64_t)(self * shml_domain_slot_size(cfg));
	/* SLOT_VERSION .. SLOT_N_CHANNELS, in offset order */
	const uint32_t words[] = {
		SHML_PROTOCOL_VERSION, (uint32_t)r->cfg_hash, (uint32_t)(r->cfg_hash >> 32),
		cfg->domains[self].id, cfg->cacheline,        cfg->n_channels
	};
	_Static_assert(SLOT_N_CHANNELS == SLOT_VERSION + 4 * 5, "slot words are contiguous");
	r->self = self;
	for (uint32_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		shm_store(slot + SLOT_VERSION + 4u * i, words[i]);
	shm_store(slot + SLOT_MAGIC, SHML_MAGIC); /* last: a valid magic means a complete slot */
	if (r->port->cache_clean)
		r->port->cache_clean(r->port->ctx, slot, shml_domain_slot_size(cfg));
	return 0;
}

#ifndef SHML_CONFIG_PREVALIDATED
static int region_checked(struct shml_region *r, const struct shml_config *cfg, const void *mem,
                          uint64_t mem_size, const struct shml_port *port)
{
	int rc = r && cfg && mem && port && port->now_ns ? shml_config_check(cfg, NULL)
	                                                 : SHML_EINVAL;
	return rc ? rc : region_init(r, cfg, mem, mem_size, port, shml_config_hash(cfg));
}

#ifndef SHML_CONFIG_NO_INSPECT
int shml_region_view(struct shml_region *r, const struct shml_config *cfg, const void *mem,
                     uint64_t mem_size, const struct shml_port *port)
{
	return region_checked(r, cfg, mem, mem_size, port);
}
#endif

int shml_region_attach(struct shml_region *r, const struct shml_config *cfg, uint32_t self,
                       void *mem, uint64_t mem_size, const struct shml_port *port)
{
	int rc = cfg && self < cfg->n_domains ? region_checked(r, cfg, mem, mem_size, port)
	                                      : SHML_EINVAL;
	return rc ? rc : write_slot(r, self);
}
#endif

int shml_region_attach_prevalidated(struct shml_region *r, const struct shml_config *cfg,
                                    uint64_t cfg_hash, uint32_t self, void *mem, uint64_t mem_size,
                                    const struct shml_port *port)
{
	int rc = cfg && self < cfg->n_domains ? region_init(r, cfg, mem, mem_size, port, cfg_hash)
	                                      : SHML_EINVAL;
	return rc ? rc : write_slot(r, self);
}

void shml_read_slot(const struct shml_region *r, uint32_t d, struct shml_slot_info *out)
{
	const uint8_t *slot = r->base + (uint64_t)(d * shml_domain_slot_size(r->cfg));
	if (r->port->cache_invalidate)
		r->port->cache_invalidate(r->port->ctx, slot, shml_domain_slot_size(r->cfg));
	out->magic = shm_load(slot + SLOT_MAGIC);
	out->version = shm_load(slot + SLOT_VERSION);
	out->config_hash = shm_load(slot + SLOT_HASH_LO) | (uint64_t)shm_load(slot + SLOT_HASH_HI)
	                                                           << 32;
	out->domain_id = shm_load(slot + SLOT_DOMAIN_ID);
	out->valid = out->magic == SHML_MAGIC && out->version == SHML_PROTOCOL_VERSION &&
	             out->config_hash == r->cfg_hash;
}

/* ---- public: channel ---------------------------------------------------------------- */

int shml_chan_open(struct shml_region *r, struct shml_chan *ch, uint32_t c,
                   const struct shml_chan_opts *opts)
{
	const struct shml_channel_cfg *cc;
	struct shml_channel_layout lay;
	uint8_t *side_a, *side_b;
	uint32_t os, og, opg, otx, orx;
	if (!r || !ch || !r->cfg || c >= r->cfg->n_channels)
		return SHML_EINVAL;
	cc = &r->cfg->channels[c];
	if (cc->a != r->self && cc->b != r->self)
		return SHML_EINVAL;
#ifdef SHML_CONFIG_NO_STREAM
	if (cc->mode != SHML_MODE_MESSAGE)
		return SHML_EINVAL; /* this build has no stream code to serve it */
#endif
	__builtin_memset(ch, 0, sizeof(*ch));
	shml_channel_layout(r->cfg, c, &lay);
	ch->region = r;
	ch->index = c;
	ch->side = cc->a == r->self ? 0 : 1;
	ch->mode = cc->mode;
	side_a = r->base + lay.side_a;
	side_b = r->base + lay.side_b;
	ch->self_line = ch->side ? side_b : side_a;
	ch->peer_line = ch->side ? side_a : side_b;
	ch->self_pos = ch->self_line + r->cfg->cacheline;
	ch->peer_pos = ch->peer_line + r->cfg->cacheline;
	ch->self_stats = ch->self_pos + r->cfg->cacheline;
	ch->peer_stats = ch->peer_pos + r->cfg->cacheline;
	ch->tx_ring = r->base + (ch->side ? lay.ring_ba : lay.ring_ab);
	ch->rx_ring = r->base + (ch->side ? lay.ring_ab : lay.ring_ba);
	ch->tx_size = ch->side ? cc->ring_ba : cc->ring_ab;
	ch->rx_size = ch->side ? cc->ring_ab : cc->ring_ba;
	ch->max_message = shml_channel_max_message(r->cfg, c);
	ch->spin_ns = opts ? opts->spin_ns : 50000u;
	ch->port_hooks = (r->port->cache_clean || r->port->cache_invalidate ? HOOK_CACHE : 0u) |
	                 (r->port->copy_to_shared || r->port->copy_from_shared ? HOOK_COPY : 0u);
	ch->notified_seq = UINT32_MAX; /* never a 29-bit sequence */

	/* What an earlier attach of this side left: untrusted, but ours to account. */
	shml__invalidate(ch, ch->self_line, CTL_USED);
	shml__invalidate(ch, ch->self_pos, POS_USED);
	os = own_load(ch, CTL_STATE);
	og = own_load(ch, CTL_GEN);
	opg = own_load(ch, CTL_PEER_GEN);
	otx = shm_load(ch->self_pos + POS_TX);
	orx = shm_load(ch->self_pos + POS_RX);
	ch->doorbell = own_load(ch, CTL_DOORBELL);
	ch->wait_seq = own_load(ch, CTL_WAIT) >> WAIT_SEQ_SHIFT;
	own_store(ch, CTL_WAIT, ch->wait_seq << WAIT_SEQ_SHIFT);
	if (os == SHML_STATE_EST)
		write_missing_finals(ch, og, otx, opg, orx);
	if (shml__valid_state(os)) {
		ch->acct.gen = own_load(ch, CTL_FINAL_GEN);
		ch->acct.end_tx = own_load(ch, CTL_FINAL_TX);
		ch->acct.active = ch->acct.gen != 0 && ch->acct.end_tx != 0;
		ch->acct.previous = 1;
	} else {
		/* Never attached before (or garbage): no finals to offer anyone. */
		own_store(ch, CTL_FINAL_GEN, 0);
		own_store(ch, CTL_FINAL_TX, 0);
		own_store(ch, CTL_FINAL_OF, 0);
		own_store(ch, CTL_FINAL_RX, 0);
	}
	ch->gen = og;
	shml_publish_counters(ch);
	enter_sync(ch);
	if (shml__step(ch) == SHML_ERESET)
		ch->reset_pending = 1; /* the first data call reports it */
	return 0;
}

void shml_chan_close(struct shml_chan *ch)
{
	if (!ch || !ch->region || ch->state == SHML_STATE_CLOSED)
		return;
	if (ch->state == SHML_STATE_EST)
		write_finals(ch, ch->gen, ch->tx_pos, ch->peer_gen, ch->rx_pos);
	own_store(ch, CTL_STATE, SHML_STATE_CLOSED);
	shml__publish_line(ch);
	ch->state = SHML_STATE_CLOSED;
	ch->reserved = ch->peeked = 0; /* a later commit/release must not publish */
	notify_state(ch);
	shml_publish_counters(ch);
}

int shml_poll(struct shml_chan *ch)
{
	if (!ch || ch->state == SHML_STATE_CLOSED)
		return SHML_EINVAL;
	return shml__step(ch);
}

uint32_t shml_chan_index(const struct shml_chan *ch)
{
	return ch->index;
}

uint32_t shml_chan_peer_domain(const struct shml_chan *ch)
{
	const struct shml_channel_cfg *cc = &ch->region->cfg->channels[ch->index];
	return ch->side ? cc->a : cc->b;
}

int shml_connected(const struct shml_chan *ch)
{
	return ch->state == SHML_STATE_EST;
}

#ifndef SHML_CONFIG_NO_RESET_INFO
int shml_reset_info(struct shml_chan *ch, struct shml_reset_info *out)
{
	if (!ch->reset_valid)
		return SHML_ESTATE;
	*out = ch->reset;
	ch->reset_valid = 0;
	return 0;
}

int32_t shml_discarded_next(struct shml_chan *ch, const void **buf)
{
	uint32_t p = ch->discard_cursor, to = ch->discard_to, len;
	const uint8_t *payload;
	int rc;
	if (!ch->discard_walkable)
		return SHML_ESTATE;
#ifndef SHML_CONFIG_NO_STREAM
	if (ch->mode == SHML_MODE_STREAM) {
		uint32_t off = p & (ch->tx_size - 1u), tail = ch->tx_size - off;
		uint32_t n = to - p < tail ? to - p : tail;
		if (n == 0)
			return SHML_EAGAIN;
		*buf = ch->tx_ring + off;
		ch->discard_cursor = p + n;
		return (int32_t)n;
	}
#endif
	rc = walk_record(ch, &p, to, &len, &payload);
	if (rc < 0) { /* rewritten since it was counted: stop offering it */
		ch->discard_walkable = 0;
		return SHML_ESTATE;
	}
	ch->discard_cursor = p;
	if (rc == 0)
		return SHML_EAGAIN;
	*buf = payload;
	return (int32_t)len;
}
#endif /* SHML_CONFIG_NO_RESET_INFO */

#ifndef SHML_CONFIG_NO_INSPECT
void shml_inspect_side(const struct shml_region *r, uint32_t c, uint32_t side,
                       struct shml_side_view *out)
{
	struct shml_channel_layout lay;
	const uint8_t *line, *stats;
	uint64_t *v = &out->counters.tx_messages;
	shml_channel_layout(r->cfg, c, &lay);
	line = r->base + (side ? lay.side_b : lay.side_a);
	stats = line + 2u * r->cfg->cacheline;
	if (r->port && r->port->cache_invalidate)
		r->port->cache_invalidate(r->port->ctx, line, lay.side_size);
	out->state = shm_load(line + CTL_STATE);
	out->gen = shm_load(line + CTL_GEN);
	out->peer_gen = shm_load(line + CTL_PEER_GEN);
	out->tx_pos = shm_load(line + r->cfg->cacheline + POS_TX);
	out->rx_pos = shm_load(line + r->cfg->cacheline + POS_RX);
	out->wait = shm_load(line + CTL_WAIT);
	out->wait_need = shm_load(line + CTL_WAIT_NEED);
	out->doorbell = shm_load(line + CTL_DOORBELL);
	out->final_gen = shm_load(line + CTL_FINAL_GEN);
	out->final_tx = shm_load(line + CTL_FINAL_TX);
	out->final_of = shm_load(line + CTL_FINAL_OF);
	out->final_rx = shm_load(line + CTL_FINAL_RX);
	out->stats_valid = shm_load(stats + STAT_MAGIC) == SHML_STATS_MAGIC;
	for (uint32_t i = 0; i < STAT_N_COUNTERS; i++)
		v[i] = out->stats_valid
		               ? shm_load(stats + STAT_COUNTERS + 8u * i) |
		                         (uint64_t)shm_load(stats + STAT_COUNTERS + 8u * i + 4u)
		                                 << 32
		               : 0;
	out->counters.last_error = out->stats_valid ? shm_load(stats + STAT_LAST_ERROR) : 0;
}

const char *shml_state_name(uint32_t state)
{
	switch (state) {
	case SHML_STATE_CLOSED:
		return "CLOSED";
	case SHML_STATE_SYNC:
		return "SYNC";
	case SHML_STATE_ACK:
		return "ACK";
	case SHML_STATE_EST:
		return "EST";
	default:
		return "invalid";
	}
}

#endif /* SHML_CONFIG_NO_INSPECT */

/* SHML_CONFIG_NO_STRINGS: the code's name instead of a sentence. */
#ifdef SHML_CONFIG_NO_STRINGS
#define ERRTEXT(name, sentence) name
#else
#define ERRTEXT(name, sentence) sentence
#endif

const char *shml_strerror(int err)
{
	static const char *const text[] = {
		ERRTEXT("OK", "success"),
		ERRTEXT("EAGAIN", "would block: the ring is empty or full"),
		ERRTEXT("ETIMEDOUT", "timed out"),
		ERRTEXT("ENOTCONN", "the session with the peer is not established yet"),
		ERRTEXT("ERESET",
		        "the session was reset; shml_reset_info() tells what was discarded"),
		ERRTEXT("EMSGSIZE", "message larger than the channel's maximum message size"),
		ERRTEXT("EINVAL", "invalid argument"),
		ERRTEXT("EPROTO", "the peer broke the protocol; the channel is resynchronising"),
		ERRTEXT("EMISMATCH", "the peer uses another protocol version or configuration"),
		ERRTEXT("ERANGE", "the region is too small or a size is out of range"),
		ERRTEXT("ENOBUFS", "the buffer is smaller than the message"),
		ERRTEXT("ECONFIG", "invalid configuration"),
		ERRTEXT("ESTATE", "call not valid in this state"),
	};
	uint32_t i = 0u - (uint32_t)err; /* SHML_E* are 0, -1, -2, ... */
	_Static_assert(sizeof(text) / sizeof(text[0]) == 1 - SHML_ESTATE, "a text per code");
	return i < sizeof(text) / sizeof(text[0]) ? text[i] : ERRTEXT("E?", "unknown error");
}
