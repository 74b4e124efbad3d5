/* SPDX-License-Identifier: MIT */
/*
 * Blocking calls: spin for the channel's spin time (a wake-up through a
 * kernel costs tens of microseconds), then announce in our control line
 * what we sleep for, re-check, and sleep through the port. The announce /
 * re-check pairs with the publisher's publish / fence / read-wait-word
 * (docs/PROTOCOL.md, "No lost wake-up").
 */
#include "internal.h"

#ifndef SHML_CONFIG_NO_BLOCKING

#ifdef SHML_CONFIG_NO_STREAM
#define shml_read(ch, buf, cap) SHML_EINVAL /* no OP_READ without shml_read_wait() */
#endif

/* A sleep never lasts longer than this, so a lost doorbell costs latency, not a hang. */
#define MAX_SLEEP_NS 1000000000ull
/* Nor a sleep for more room than we need (wake_need()): a reader that stops
 * consuming with room for us in the ring costs at most this much latency. */
#define HYSTERESIS_SLEEP_NS 2000000ull
#define WAIT_SEQ_MASK ((1u << (32 - WAIT_SEQ_SHIFT)) - 1u)

static void relax(const struct shml_chan *ch)
{
	const struct shml_port *p = ch->region->port;
	if (p->relax)
		p->relax(p->ctx);
	else
		__asm__ __volatile__("" ::: "memory");
}

static uint64_t deadline_after(uint64_t now, uint64_t timeout_ns)
{
	return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

/* Room @need bytes of payload would take now (stream: bytes, clamped to the ring). */
static uint32_t room_needed(const struct shml_chan *ch, size_t need)
{
	if (ch->mode == SHML_MODE_MESSAGE)
		return shml__record_need(ch,
		                         need > ch->max_message ? ch->max_message : (uint32_t)need);
	if (need == 0)
		return 1;
	return need > ch->tx_size ? ch->tx_size : (uint32_t)need;
}

/*
 * Room a writer sleeping for @need announces (wait_need, docs/PROTOCOL.md
 * §11.1, the sleeper's choice): not as soon as its record fits, but once half
 * the ring is free, so one wake-up moves many records instead of one each
 * time the reader frees one (hysteresis).
 */
static uint32_t wake_need(const struct shml_chan *ch, size_t need)
{
	uint32_t n = room_needed(ch, need), half = ch->tx_size / 2u;
	return n > half ? n : half;
}

/*
 * A position check found the session changed under us (the peer restarted
 * between our snapshot and our position read, or broke the protocol): that
 * is a state event; a reset stays pending for the next data call to report.
 */
static int session_moved(struct shml_chan *ch, int rc)
{
	if (rc == SHML_EMISMATCH)
		return rc;
	if (rc == SHML_ERESET)
		ch->reset_pending = 1;
	return SHML_EV_STATE;
}

/*
 * Which of @events hold now (> 0 mask), none (0), or an error (< 0).
 * SHML_EV_STATE: our session state or generation moved since the wait
 * began. A reset seen here stays pending so the next data call reports it.
 */
static int ready_events(struct shml_chan *ch, unsigned events, size_t need, uint32_t start_state,
                        uint32_t start_gen)
{
	unsigned m = 0;
	uint32_t n;
	int rc = shml__step(ch);
	if (rc == SHML_EMISMATCH || rc == SHML_ERESET)
		return session_moved(ch, rc);
	if ((events & SHML_EV_STATE) && (ch->state != start_state || ch->gen != start_gen))
		m |= SHML_EV_STATE;
	if (rc != 1)
		return (int)m;
	if (events & SHML_EV_READABLE) {
		rc = shml__rx_avail(ch, 1, &n);
		if (rc)
			return session_moved(ch, rc);
		if (n)
			m |= SHML_EV_READABLE;
	}
	if (events & SHML_EV_WRITABLE) {
		uint32_t want = room_needed(ch, need);
		rc = shml__tx_room(ch, want, &n);
		if (rc)
			return session_moved(ch, rc);
		if (n >= want)
			m |= SHML_EV_WRITABLE;
	}
	return (int)m;
}

static void announce(struct shml_chan *ch, uint32_t bits, uint32_t need)
{
	shm_store(ch->self_line + CTL_WAIT_NEED, need);
	shm_store(ch->self_line + CTL_WAIT, (ch->wait_seq << WAIT_SEQ_SHIFT) | bits);
	shml__publish_line(ch);
}

static int wait_until(struct shml_chan *ch, unsigned events, size_t need, uint64_t deadline)
{
	const struct shml_port *p = ch->region->port;
	uint64_t t = shml__now(ch);
	uint64_t spin_end = deadline_after(t, ch->spin_ns);
	uint32_t start_state = ch->state, start_gen = ch->gen;
	for (;;) {
		int m = ready_events(ch, events, need, start_state, start_gen);
		uint32_t doorbell, wanted;
		if (m)
			return m;
		t = shml__now(ch);
		if (t >= deadline)
			return 0;
		if (!p->wait || t < spin_end) {
			relax(ch);
			continue;
		}
		/* Snapshot the doorbell before the re-check: a ring after it ends the sleep. */
		shml__invalidate(ch, ch->peer_line, CTL_USED);
		doorbell = shml__peer_load(ch, CTL_DOORBELL);
		ch->wait_seq = (ch->wait_seq + 1u) & WAIT_SEQ_MASK;
		wanted = (events & SHML_EV_WRITABLE) ? wake_need(ch, need) : 0;
		announce(ch, (events & (SHML_EV_READABLE | SHML_EV_WRITABLE)) | SHML_EV_STATE,
		         wanted);
		shml_publish_counters(ch);
		full_fence();
		m = ready_events(ch, events, need, start_state, start_gen);
		if (!m) {
			uint64_t slice = deadline - t, cap = MAX_SLEEP_NS;
			if (wanted > room_needed(ch, need))
				cap = HYSTERESIS_SLEEP_NS;
			p->wait(p->ctx, ch,
			        (const volatile uint32_t *)(ch->peer_line + CTL_DOORBELL), doorbell,
			        slice < cap ? slice : cap);
			ch->counters.wakeups++;
		}
		announce(ch, 0, 0);
		if (m)
			return m;
	}
}

int shml_wait(struct shml_chan *ch, unsigned events, size_t need, uint64_t timeout_ns)
{
	if (!ch || !ch->region || ch->state == SHML_STATE_CLOSED || !(events & 7u))
		return SHML_EINVAL;
	return wait_until(ch, events & 7u, need, deadline_after(shml__now(ch), timeout_ns));
}

enum blocking_op { OP_SEND, OP_RECV, OP_READ };

/* Retry a non-blocking call until it stops saying "not now" or time runs out. */
static int32_t blocking(struct shml_chan *ch, enum blocking_op op, void *buf, size_t len,
                        uint64_t timeout_ns)
{
	uint64_t deadline;
	if (!ch || !ch->region)
		return SHML_EINVAL;
	deadline = deadline_after(shml__now(ch), timeout_ns);
	for (;;) {
		int32_t rc = op == OP_SEND   ? shml_send(ch, buf, len)
		             : op == OP_RECV ? shml_recv(ch, buf, len)
		                             : shml_read(ch, buf, len);
		int w;
		if (rc != SHML_EAGAIN && rc != SHML_ENOTCONN)
			return rc;
		w = op == OP_SEND ? wait_until(ch, SHML_EV_WRITABLE | SHML_EV_STATE, len, deadline)
		                  : wait_until(ch, SHML_EV_READABLE | SHML_EV_STATE, 0, deadline);
		if (w < 0)
			return w;
		/* Events alone never extend the call: a peer flapping its state cannot. */
		if (w == 0 || shml__now(ch) >= deadline)
			return SHML_ETIMEDOUT;
	}
}

int shml_send_wait(struct shml_chan *ch, const void *buf, size_t len, uint64_t timeout_ns)
{
	return blocking(ch, OP_SEND, (void *)(uintptr_t)buf, len, timeout_ns);
}

int32_t shml_recv_wait(struct shml_chan *ch, void *buf, size_t cap, uint64_t timeout_ns)
{
	return blocking(ch, OP_RECV, buf, cap, timeout_ns);
}

#ifndef SHML_CONFIG_NO_STREAM
int32_t shml_read_wait(struct shml_chan *ch, void *buf, size_t cap, uint64_t timeout_ns)
{
	return blocking(ch, OP_READ, buf, cap, timeout_ns);
}

int32_t shml_write_all(struct shml_chan *ch, const void *buf, size_t len, uint64_t timeout_ns)
{
	const uint8_t *src = buf;
	size_t done = 0;
	uint64_t deadline;
	if (!ch || !ch->region)
		return SHML_EINVAL;
	if (len > INT32_MAX)
		return SHML_EINVAL;
	deadline = deadline_after(shml__now(ch), timeout_ns);
	while (done < len) {
		int32_t n = shml_write(ch, src + done, len - done);
		int w;
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n != SHML_EAGAIN && n != SHML_ENOTCONN) {
			if (done && n == SHML_ERESET)
				ch->reset_pending =
				        1; /* the next call reports it, after our count */
			return done ? (int32_t)done : n;
		}
		/* wait_until() asks to be woken for half the ring anyway (wake_need()). */
		w = wait_until(ch, SHML_EV_WRITABLE | SHML_EV_STATE,
		               len - done < ch->tx_size / 2 ? len - done : ch->tx_size / 2,
		               deadline);
		if (w <= 0 || shml__now(ch) >= deadline)
			return done ? (int32_t)done : (w < 0 ? w : SHML_ETIMEDOUT);
	}
	return (int32_t)done;
}
#endif /* SHML_CONFIG_NO_STREAM */
#endif /* SHML_CONFIG_NO_BLOCKING */
