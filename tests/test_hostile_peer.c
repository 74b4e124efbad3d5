/* SPDX-License-Identifier: MIT */
/*
 * A hostile peer. Side A of a channel is the process under test; a third
 * process scribbles over what A reads of its peer: side B's control line and
 * statistics block, and the B->A ring data (random words, and nasty ones: 0,
 * 0xffffffff, 0x80000000, state magics, A's generation, values near the
 * current positions, plausible record headers).
 *
 * Scenario "stream": A and B (real processes over a region file) exchange
 * framed messages (sequence number, checksum) both ways with every kind of
 * call while the scribbler runs for a few seconds. A hostile peer owns its
 * data, so corrupt payloads may be delivered then; what must hold is: no
 * crash, no hang (watchdog), every call bounded (non-blocking calls return
 * at once, blocking ones by their timeout), only documented return codes,
 * pointers and lengths handed out stay inside the rings, and A keeps working:
 * once the scribbler stops, the session re-establishes within 5 s and a final
 * batch of 10000 messages each way passes with every seq and checksum right.
 * A's protocol errors and resets are counted and must be > 0.
 *
 * Scenario "blocked": B establishes and then sleeps; A sits in
 * shml_recv_wait/shml_send_wait (stream: read_wait/write_all) with timeouts
 * while the scribbler hits A's view of the peer, first at random, then
 * reacting to each state change of A. Every call must return in bounded time.
 *
 * First, deterministic single-process checks of specific hostile writes:
 * one word of the peer's line overwritten mid-handshake (both ends must
 * still establish), a record header in our own ring rewritten after a reset
 * (the discarded walk must stay in the ring and end), and a peer that changes
 * state at every step of a blocking call (the call must end at its timeout).
 *
 * The test goes on after a failed check and exits 1 at the end, so one run
 * shows every failure.
 */
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "../src/core/internal.h" /* CTL_*, POS_*, REC_*, shm_load(), shm_store() */

/* The tests use 64-byte lines: a side's position line follows its control line. */
#define LINE 64u
#define CTL_TX_POS (LINE + POS_TX)
#define CTL_RX_POS (LINE + POS_RX)

#define RING 4096u
#define MAXPAY 200u
#define CHAOS_NS 2500000000ull        /* scribbling, "stream" scenario */
#define BLOCKED_PART_NS 1500000000ull /* each scribbler mode, "blocked" scenario */
#define RECOVER_NS 5000000000ull      /* re-establish after the scribbler stops */
#define FINAL_N 10000u                /* final batch, each way */
#define FINAL_N_BLOCKED 2000u
#define NB_BOUND_NS 1000000000ull    /* a non-blocking call (generous: 2 cores, ASan) */
#define BLOCK_SLACK_NS 1000000000ull /* a blocking call past its timeout */
#define WATCHDOG_S 30u

static uint64_t now_ns(void)
{
	return shml_host_now_ns();
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
		               .tv_nsec = (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL);
}

/* ---- failures: recorded, printed (the first few), and the exit code at the end ---- */

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;
	failures++;
	if (failures > 20)
		return;
	fprintf(stderr, "[pid %d] FAIL: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_alarm(int sig)
{
	static const char m[] = "watchdog: a process is stuck, aborting\n";
	(void)sig;
	if (write(2, m, sizeof(m) - 1)) {
	}
	abort();
}

static void watchdog(unsigned s)
{
	signal(SIGALRM, on_alarm);
	alarm(s);
}

/* ---- frames: what A and B exchange (both modes) -------------------------------------- */

enum kind { K_CHAOS = 1, K_PING, K_PONG, K_FINAL, K_MAX };
#define FRAME_MAGIC 0x4d415246u /* "FRAM" */

struct frame {
	uint32_t magic, kind, seq, len, sum, from;
};
#define HDR ((uint32_t)sizeof(struct frame))
#define FRAME_MAX (HDR + MAXPAY)

static uint32_t frame_sum(const struct frame *f, const uint8_t *payload)
{
	return tu_checksum(payload, f->len) ^ (f->seq * 0x9e3779b1u) ^ f->kind ^ (f->from << 24);
}

static uint32_t make_frame(uint8_t *buf, uint32_t kind, uint32_t seq, uint32_t from)
{
	struct frame f = { .magic = FRAME_MAGIC, .kind = kind, .seq = seq, .from = from };
	f.len = (seq * 2654435761u + kind * 77u) % (MAXPAY + 1u);
	tu_fill(buf + HDR, f.len, ((uint64_t)from << 40) ^ ((uint64_t)kind << 32) ^ seq);
	f.sum = frame_sum(&f, buf + HDR);
	memcpy(buf, &f, HDR);
	return HDR + f.len;
}

/* ---- the scenario's shared state (anonymous shared memory, not the region) ------------ */

enum phase { PH_SETUP, PH_CHAOS, PH_RECOVER, PH_END };
enum scribble_mode { SCR_OFF, SCR_RANDOM, SCR_REACTIVE, SCR_EXIT };
enum scenario { SC_STREAM, SC_BLOCKED };

struct result {
	struct shml_counters chaos; /* A's / B's counters when the scribbler stopped */
	struct shml_counters end;   /* at the end */
	uint64_t calls, good, bad, out_of_order, resync_bytes, discarded_walked;
	uint64_t max_nb_ns, max_over_ns, blocking_calls, resets_seen;
	uint64_t final_rx, final_tx;
	int failures;
};

struct shared {
	_Atomic int phase;
	_Atomic int scribble;
	_Atomic int b_reopen;
	_Atomic int up[2];   /* ready for the scribbler */
	_Atomic int conn[2]; /* shml_connected(), gen, peer_gen, published each loop */
	_Atomic uint32_t gen[2], peer_gen[2];
	_Atomic int recovered; /* A: a PING/PONG round trip in one session */
	_Atomic int final_done[2];
	_Atomic uint64_t scribbles;
	struct result res[2];
};

static struct shared *sh;

/* ---- one channel end (A or B) ------------------------------------------------------ */

struct ep {
	int role; /* 0: side A, the process under test; 1: side B */
	uint32_t mode;
	enum scenario sc;
	const struct shml_config *cfg;
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region r;
	struct shml_chan ch;
	uint8_t *tx_lo, *tx_hi, *rx_lo, *rx_hi;
	uint32_t max_message;
	uint64_t rng;
	/* sending: the frame being written (stream mode writes may be partial) */
	uint8_t pend[FRAME_MAX];
	uint32_t pend_len, pend_off, pend_kind;
	uint32_t tx_seq[K_MAX];
	/* receiving */
	uint8_t sbuf[4096];
	uint32_t sfill;
	int strict; /* final phase: every frame must be right */
	uint32_t last_chaos;
	int have_chaos;
	uint32_t final_rx;
	/* recovery */
	uint32_t ping_seq, ping_gen, pong_want;
	int pongs_owed, pong_seq_owed;
	uint64_t ping_at;
	struct result st;
	/* undocumented results, reported once each at the end */
	struct {
		const char *call;
		int rc;
		uint64_t n;
	} undoc[32];
	int n_undoc;
};

#define OK_NONNEG 1u
#define E(x) (1u << -(x))
#define NONBLOCKING UINT64_MAX

static const char *ename(int rc)
{
	return rc >= 0 ? "ok" : shml_strerror(rc);
}

/* Check one call: its duration and its return code against the documented set. */
static void note_call(struct ep *e, const char *name, int64_t rc, uint64_t t0, uint64_t timeout,
                      uint32_t allowed)
{
	uint64_t dt = now_ns() - t0;
	e->st.calls++;
	if (timeout == NONBLOCKING) {
		if (dt > e->st.max_nb_ns)
			e->st.max_nb_ns = dt;
		if (dt > NB_BOUND_NS)
			fail("%c: non-blocking %s took %.3f s", 'A' + e->role, name,
			     (double)dt / 1e9);
	} else {
		uint64_t over = dt > timeout ? dt - timeout : 0;
		e->st.blocking_calls++;
		if (over > e->st.max_over_ns)
			e->st.max_over_ns = over;
		if (over > BLOCK_SLACK_NS)
			fail("%c: %s(timeout %.3f s) returned %lld (%s) only after %.3f s",
			     'A' + e->role, name, (double)timeout / 1e9, (long long)rc,
			     ename((int)rc), (double)dt / 1e9);
	}
	if (rc >= 0 ? !(allowed & OK_NONNEG) : (rc < -12 || !(allowed & E(rc)))) {
		int i;
		for (i = 0; i < e->n_undoc; i++)
			if (e->undoc[i].call == name && e->undoc[i].rc == (int)rc)
				break;
		if (i == e->n_undoc && i < 32) {
			e->undoc[i].call = name;
			e->undoc[i].rc = (int)rc;
			e->n_undoc++;
		}
		if (i < 32)
			e->undoc[i].n++;
	}
}

static void report_undocumented(struct ep *e)
{
	for (int i = 0; i < e->n_undoc; i++)
		fail("%c: %s returned %d (%s) %llu times: not among its documented results",
		     'A' + e->role, e->undoc[i].call, e->undoc[i].rc, ename(e->undoc[i].rc),
		     (unsigned long long)e->undoc[i].n);
}

static int in_span(const void *p, uint64_t n, const uint8_t *lo, const uint8_t *hi)
{
	const uint8_t *b = p;
	return b >= lo && b <= hi && n <= (uint64_t)(hi - b);
}

/* After SHML_ERESET: the account must be there, and the discarded walk bounded and in our ring. */
static void on_reset(struct ep *e)
{
	struct shml_reset_info ri;
	const void *p;
	int32_t n = 0;
	uint32_t k;
	e->st.resets_seen++;
	e->sfill = 0; /* a new session: a new stream */
	e->pend_len = e->pend_off = 0;
	if (shml_reset_info(&e->ch, &ri) != 0)
		fail("%c: SHML_ERESET but shml_reset_info() has nothing", 'A' + e->role);
	for (k = 0; k < RING / 8u + 4u; k++) {
		n = shml_discarded_next(&e->ch, &p);
		if (n < 0)
			break;
		if (!in_span(p, (uint64_t)n, e->tx_lo, e->tx_hi) ||
		    (e->mode == SHML_MODE_MESSAGE && (uint32_t)n > e->max_message)) {
			fail("%c: shml_discarded_next() handed out %d bytes at ring offset %lld, "
			     "outside "
			     "our %u-byte ring (max message %u)",
			     'A' + e->role, n, (long long)((const uint8_t *)p - e->tx_lo), RING,
			     e->max_message);
			return;
		}
		e->st.discarded_walked++;
	}
	if (k == RING / 8u + 4u)
		fail("%c: shml_discarded_next() walk did not end", 'A' + e->role);
	else if (n != SHML_EAGAIN && n != SHML_ESTATE)
		fail("%c: shml_discarded_next() ended with %d", 'A' + e->role, n);
}

/* An error from a data call: a reset or a protocol error is fine while scribbled. */
static void on_error(struct ep *e, int rc)
{
	if (rc == SHML_ERESET)
		on_reset(e);
	if (e->strict && (rc == SHML_ERESET || rc == SHML_EPROTO))
		fail("%c: final phase: %s", 'A' + e->role, shml_strerror(rc));
}

/* One received frame (message mode: one message; stream mode: parsed). */
static int on_frame(struct ep *e, const uint8_t *buf, uint32_t n)
{
	struct frame f;
	int good;
	if (n < HDR)
		goto bad;
	memcpy(&f, buf, HDR);
	good = f.magic == FRAME_MAGIC && f.kind > 0 && f.kind < K_MAX && f.len <= MAXPAY &&
	       n == HDR + f.len && f.from == (uint32_t)(1 - e->role) &&
	       f.sum == frame_sum(&f, buf + HDR);
	if (!good)
		goto bad;
	e->st.good++;
	switch (f.kind) {
	case K_CHAOS:
		if (e->have_chaos && f.seq <= e->last_chaos)
			e->st.out_of_order++;
		e->have_chaos = 1;
		e->last_chaos = f.seq;
		if (e->strict)
			fail("%c: final phase: a chaos frame %u", 'A' + e->role, f.seq);
		break;
	case K_PING:
		if (e->role == 1 && !e->strict) {
			e->pongs_owed = 1;
			e->pong_seq_owed = (int)f.seq;
		}
		break;
	case K_PONG:
		if (e->role == 0 && !e->strict && f.seq == e->pong_want &&
		    e->ch.gen == e->ping_gen && shml_connected(&e->ch)) {
			e->strict =
			        1; /* a round trip in this session: all after it must be right */
			atomic_store(&sh->recovered, 1);
		}
		break;
	case K_FINAL:
		if (!e->strict && e->role == 1 && f.seq == 0)
			e->strict = 1;
		if (!e->strict)
			break;
		if (f.seq != e->final_rx)
			fail("%c: final phase: frame %u, expected %u", 'A' + e->role, f.seq,
			     e->final_rx);
		e->final_rx = f.seq + 1u;
		e->st.final_rx++;
		break;
	}
	return 1;
bad:
	e->st.bad++;
	if (e->strict)
		fail("%c: final phase: a corrupt frame of %u bytes", 'A' + e->role, n);
	return 0;
}

/* Stream mode: parse frames out of the bytes received, resynchronising on garbage. */
static void stream_feed(struct ep *e, const uint8_t *p, uint32_t n)
{
	while (n) {
		uint32_t k =
		        n < sizeof(e->sbuf) - e->sfill ? n : (uint32_t)sizeof(e->sbuf) - e->sfill;
		uint32_t off = 0;
		memcpy(e->sbuf + e->sfill, p, k);
		e->sfill += k;
		p += k;
		n -= k;
		while (e->sfill - off >= HDR) {
			struct frame f;
			memcpy(&f, e->sbuf + off, HDR);
			if (f.magic == FRAME_MAGIC && f.len <= MAXPAY) {
				if (e->sfill - off < HDR + f.len)
					break;
				if (on_frame(e, e->sbuf + off, HDR + f.len)) {
					off += HDR + f.len;
					continue;
				}
			}
			if (e->strict)
				fail("%c: final phase: stream out of step", 'A' + e->role);
			e->st.resync_bytes++;
			off++;
		}
		memmove(e->sbuf, e->sbuf + off, e->sfill - off);
		e->sfill -= off;
	}
}

static void open_ep(struct ep *e, const char *path, const struct shml_config *cfg, int role,
                    uint32_t mode, enum scenario sc)
{
	struct shml_channel_layout lay;
	memset(e, 0, sizeof(*e));
	e->role = role;
	e->mode = mode;
	e->sc = sc;
	e->cfg = cfg;
	e->rng = 0x1234567ull + (uint64_t)role * 0x9999ull + (uint64_t)getpid();
	CHECK_EQ(shml_host_map(&e->hr, path, cfg->region_size, 0), 0);
	shml_host_port_init(&e->port);
	CHECK_EQ(shml_region_attach(&e->r, cfg, (uint32_t)role, e->hr.mem, e->hr.size, &e->port),
	         0);
	CHECK_EQ(shml_chan_open(&e->r, &e->ch, 0, NULL), 0);
	shml_channel_layout(cfg, 0, &lay);
	e->tx_lo = (uint8_t *)e->hr.mem + (role ? lay.ring_ba : lay.ring_ab);
	e->rx_lo = (uint8_t *)e->hr.mem + (role ? lay.ring_ab : lay.ring_ba);
	e->tx_hi = e->tx_lo + RING;
	e->rx_hi = e->rx_lo + RING;
	e->max_message = shml_channel_max_message(cfg, 0);
}

static void publish_status(struct ep *e)
{
	atomic_store(&sh->gen[e->role], e->ch.gen);
	atomic_store(&sh->peer_gen[e->role], e->ch.peer_gen);
	atomic_store(&sh->conn[e->role], shml_connected(&e->ch));
}

static uint64_t pick_timeout(struct ep *e)
{
	static const uint64_t t[] = { 0, 10000, 1000000, 5000000, 20000000 };
	return t[tu_rand(&e->rng) % 5u];
}

/* ---- sending ---------------------------------------------------------------------- */

/* Message mode: one frame, by the call @how (0 send, 1 send_wait, 2 reserve/commit). Returns rc. */
static int msg_send(struct ep *e, uint32_t kind, uint32_t seq, int how, uint64_t timeout)
{
	uint8_t buf[FRAME_MAX];
	uint32_t n = make_frame(buf, kind, seq, (uint32_t)e->role);
	uint64_t t0 = now_ns();
	int rc;
	if (how == 0) {
		rc = shml_send(&e->ch, buf, n);
		note_call(e, "shml_send", rc, t0, NONBLOCKING,
		          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) | E(SHML_EPROTO) |
		                  OK_NONNEG);
	} else if (how == 1) {
		rc = shml_send_wait(&e->ch, buf, n, timeout);
		note_call(e, "shml_send_wait", rc, t0, timeout,
		          E(SHML_ETIMEDOUT) | E(SHML_ERESET) | E(SHML_EPROTO) | OK_NONNEG);
	} else {
		void *dst;
		int32_t r = shml_reserve(&e->ch, n, &dst);
		note_call(e, "shml_reserve", r, t0, NONBLOCKING,
		          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) | E(SHML_EPROTO) |
		                  OK_NONNEG);
		rc = r < 0 ? r : 0;
		if (r >= 0) {
			if (r != (int32_t)n || !in_span(dst, n, e->tx_lo, e->tx_hi)) {
				fail("%c: shml_reserve(%u) gave %d bytes outside our ring",
				     'A' + e->role, n, r);
				return SHML_EINVAL;
			}
			memcpy(dst, buf, n);
			rc = shml_commit(&e->ch, n);
			if (rc != 0)
				fail("%c: shml_commit() after a reservation: %d", 'A' + e->role,
				     rc);
		}
	}
	if (rc < 0)
		on_error(e, rc);
	return rc;
}

/* Stream mode: go on writing the pending frame (a new one of @kind if none). Returns rc. */
static int stream_send(struct ep *e, uint32_t kind, uint32_t seq, int how, uint64_t timeout)
{
	uint32_t left;
	uint64_t t0;
	int32_t rc;
	if (e->pend_off == e->pend_len) {
		e->pend_len = make_frame(e->pend, kind, seq, (uint32_t)e->role);
		e->pend_off = 0;
		e->pend_kind = kind;
	}
	left = e->pend_len - e->pend_off;
	t0 = now_ns();
	if (how == 0) {
		rc = shml_write(&e->ch, e->pend + e->pend_off, left);
		note_call(e, "shml_write", rc, t0, NONBLOCKING,
		          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) | E(SHML_EPROTO) |
		                  OK_NONNEG);
	} else if (how == 1) {
		rc = shml_write_all(&e->ch, e->pend + e->pend_off, left, timeout);
		note_call(e, "shml_write_all", rc, t0, timeout,
		          E(SHML_ETIMEDOUT) | E(SHML_ENOTCONN) | E(SHML_ERESET) | E(SHML_EPROTO) |
		                  OK_NONNEG);
	} else {
		void *dst;
		rc = shml_reserve(&e->ch, left, &dst);
		note_call(e, "shml_reserve", rc, t0, NONBLOCKING,
		          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) | E(SHML_EPROTO) |
		                  OK_NONNEG);
		if (rc > 0) {
			if ((uint32_t)rc > left ||
			    !in_span(dst, (uint64_t)rc, e->tx_lo, e->tx_hi)) {
				fail("%c: shml_reserve(%u) gave %d bytes outside our ring",
				     'A' + e->role, left, rc);
				return SHML_EINVAL;
			}
			memcpy(dst, e->pend + e->pend_off, (size_t)rc);
			if (shml_commit(&e->ch, (size_t)rc) != 0)
				fail("%c: shml_commit() after a reservation", 'A' + e->role);
		}
	}
	if (rc > 0) {
		if ((uint32_t)rc > left)
			fail("%c: wrote %d of %u bytes", 'A' + e->role, rc, left);
		else
			e->pend_off += (uint32_t)rc;
		return e->pend_off == e->pend_len ? 0 : SHML_EAGAIN;
	}
	if (rc < 0)
		on_error(e, rc);
	return rc == 0 ? SHML_EAGAIN : rc;
}

/* Send frame (@kind, @seq): 0 once it is all in, else an error (EAGAIN: not yet). */
static int send_frame(struct ep *e, uint32_t kind, uint32_t seq, int how, uint64_t timeout)
{
	if (e->mode == SHML_MODE_MESSAGE)
		return msg_send(e, kind, seq, how, timeout);
	/* A pending frame of another kind (the chaos phase ended mid-frame) is finished first. */
	if (e->pend_off != e->pend_len && e->pend_kind != kind) {
		int rc = stream_send(e, e->pend_kind, 0, how, timeout);
		return rc ? rc : SHML_EAGAIN;
	}
	return stream_send(e, kind, seq, how, timeout);
}

/* ---- receiving -------------------------------------------------------------------- */

/* One receive by the call @how (0 plain, 1 blocking, 2 peek/release). Returns rc (> 0: got some).
 */
static int recv_some(struct ep *e, int how, uint64_t timeout)
{
	uint8_t buf[4096];
	uint64_t t0 = now_ns();
	int32_t n;
	if (how == 2) {
		const void *p;
		n = shml_peek(&e->ch, &p);
		note_call(e, "shml_peek", n, t0, NONBLOCKING,
		          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) | E(SHML_EPROTO) |
		                  OK_NONNEG);
		if (n >= 0) {
			if (!in_span(p, (uint64_t)n, e->rx_lo, e->rx_hi) ||
			    (e->mode == SHML_MODE_MESSAGE && (uint32_t)n > e->max_message)) {
				fail("%c: shml_peek() showed %d bytes outside our ring",
				     'A' + e->role, n);
				return SHML_EINVAL;
			}
			memcpy(buf, p,
			       (size_t)n); /* the peer may still write there: copy, then check */
			if (shml_release(&e->ch, (size_t)n) != 0)
				fail("%c: shml_release() after a peek", 'A' + e->role);
		}
	} else if (e->mode == SHML_MODE_MESSAGE) {
		if (how == 0) {
			n = shml_recv(&e->ch, buf, sizeof(buf));
			note_call(e, "shml_recv", n, t0, NONBLOCKING,
			          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) |
			                  E(SHML_EPROTO) | OK_NONNEG);
		} else {
			n = shml_recv_wait(&e->ch, buf, sizeof(buf), timeout);
			note_call(e, "shml_recv_wait", n, t0, timeout,
			          E(SHML_ETIMEDOUT) | E(SHML_ERESET) | E(SHML_EPROTO) | OK_NONNEG);
		}
		if (n > (int32_t)e->max_message) {
			fail("%c: received %d bytes, max message %u", 'A' + e->role, n,
			     e->max_message);
			return SHML_EINVAL;
		}
	} else {
		size_t cap = 1 + tu_rand(&e->rng) % sizeof(buf);
		if (how == 0) {
			n = shml_read(&e->ch, buf, cap);
			note_call(e, "shml_read", n, t0, NONBLOCKING,
			          E(SHML_EAGAIN) | E(SHML_ENOTCONN) | E(SHML_ERESET) |
			                  E(SHML_EPROTO) | OK_NONNEG);
		} else {
			n = shml_read_wait(&e->ch, buf, cap, timeout);
			note_call(e, "shml_read_wait", n, t0, timeout,
			          E(SHML_ETIMEDOUT) | E(SHML_ENOTCONN) | E(SHML_ERESET) |
			                  E(SHML_EPROTO) | OK_NONNEG);
		}
		if (n > (int32_t)cap) {
			fail("%c: read %d bytes into %zu", 'A' + e->role, n, cap);
			return SHML_EINVAL;
		}
	}
	if (n < 0) {
		on_error(e, n);
		return n;
	}
	if (e->mode == SHML_MODE_MESSAGE)
		on_frame(e, buf, (uint32_t)n);
	else
		stream_feed(e, buf, (uint32_t)n);
	return n > 0 ? 1 : (e->mode == SHML_MODE_MESSAGE ? 1 : 0);
}

/* Receive all there is now (bounded). Returns how many calls delivered something. */
static int pump_rx(struct ep *e)
{
	int got = 0;
	for (int i = 0; i < 256; i++) {
		int rc = recv_some(e, i & 1 ? 2 : 0, 0);
		if (rc <= 0)
			break;
		got++;
	}
	return got;
}

static void do_poll(struct ep *e)
{
	uint64_t t0 = now_ns();
	int rc = shml_poll(&e->ch);
	note_call(e, "shml_poll", rc, t0, NONBLOCKING,
	          E(SHML_ENOTCONN) | E(SHML_ERESET) | OK_NONNEG);
	if (rc == SHML_ERESET)
		on_reset(e);
}

static int do_wait(struct ep *e, unsigned events, uint64_t timeout)
{
	uint64_t t0 = now_ns();
	int rc = shml_wait(&e->ch, events, FRAME_MAX, timeout);
	note_call(e, "shml_wait", rc, t0, timeout, OK_NONNEG);
	if (rc > 7)
		fail("%c: shml_wait() returned events %#x", 'A' + e->role, rc);
	return rc;
}

/* ---- phases ----------------------------------------------------------------------- */

/* Establish the first session and pass a little traffic. */
static void warm_up(struct ep *e)
{
	uint64_t end = now_ns() + 10000000000ull;
	while (!shml_connected(&e->ch)) {
		CHECK(now_ns() < end);
		do_poll(e);
		do_wait(e, SHML_EV_STATE, 1000000);
	}
	publish_status(e);
}

/* The chaos phase of the "stream" scenario: every kind of call, at random. */
static void chaos_stream(struct ep *e)
{
	while (atomic_load(&sh->phase) == PH_CHAOS) {
		uint64_t r = tu_rand(&e->rng);
		unsigned op = (unsigned)(r % 16u);
		uint64_t timeout = pick_timeout(e);
		if (op < 6) {
			if (send_frame(e, K_CHAOS, e->tx_seq[K_CHAOS], (int)(op % 3u), timeout) ==
			    0)
				e->tx_seq[K_CHAOS]++;
		} else if (op < 13) {
			recv_some(e, (int)(op % 3u), timeout);
		} else if (op == 13) {
			do_poll(e);
		} else {
			do_wait(e, (unsigned)(1u + (r >> 8) % 7u), timeout);
		}
		publish_status(e);
	}
}

/* The chaos phase of the "blocked" scenario: A sits in blocking calls; B sleeps. */
static void chaos_blocked(struct ep *e)
{
	static const uint64_t t[] = { 1000000, 10000000, 50000000, 200000000 };
	if (e->role == 1) {
		while (atomic_load(&sh->phase) == PH_CHAOS)
			sleep_ns(5000000);
		return;
	}
	while (atomic_load(&sh->phase) == PH_CHAOS) {
		uint64_t r = tu_rand(&e->rng);
		uint64_t timeout = t[r % 4u];
		if ((r >> 8) % 5u < 2u)
			recv_some(e, 1, timeout);
		else if ((r >> 8) % 5u < 4u)
			send_frame(e, K_CHAOS, e->tx_seq[K_CHAOS]++, 1, timeout);
		else
			do_wait(e, SHML_EV_READABLE | SHML_EV_WRITABLE, timeout);
	}
}

/*
 * After the scribbler stopped: A pings until a PONG comes back in the same
 * session (then that session carries data both ways), and starts the final
 * batch; B answers pings, and enters the final batch at A's first final frame.
 */
static void recover(struct ep *e)
{
	int reopened = 0;
	while (!e->strict) {
		CHECK(atomic_load(&sh->phase) == PH_RECOVER);
		if (e->role == 1 && atomic_load(&sh->b_reopen) && !reopened) {
			CHECK_EQ(shml_chan_open(&e->r, &e->ch, 0, NULL), 0);
			e->sfill = 0;
			e->pend_len = e->pend_off = 0;
			reopened = 1;
		}
		pump_rx(e);
		publish_status(e);
		if (e->role == 0 && shml_connected(&e->ch) && !e->strict &&
		    (e->ping_gen != e->ch.gen || now_ns() - e->ping_at > 20000000ull)) {
			if (send_frame(e, K_PING, e->ping_seq, 0, 0) == 0) {
				e->pong_want = e->ping_seq++;
				e->ping_gen = e->ch.gen;
				e->ping_at = now_ns();
			}
		}
		if (e->role == 1 && e->pongs_owed) {
			int rc = send_frame(e, K_PONG, (uint32_t)e->pong_seq_owed, 0, 0);
			if (rc != SHML_EAGAIN)
				e->pongs_owed = 0; /* sent, or lost to a reset: A pings again */
		}
		if (!e->strict)
			do_wait(e, SHML_EV_READABLE | SHML_EV_STATE, 2000000);
	}
}

/* Both ways, @n frames each, every one right; no reset, no protocol error. */
static void final_batch(struct ep *e, uint32_t n)
{
	uint64_t end = now_ns() + 20000000000ull;
	uint32_t sent = 0;
	int f0 = failures;
	while (sent < n || e->final_rx < n) {
		int progress = 0;
		publish_status(e);
		if (now_ns() > end) {
			fail("%c: final batch: sent %u, received %u of %u in 20 s", 'A' + e->role,
			     sent, e->final_rx, n);
			return;
		}
		while (sent < n) {
			int rc = send_frame(e, K_FINAL, sent, 0, 0);
			if (rc == 0) {
				sent++;
				progress = 1;
			} else {
				if (rc != SHML_EAGAIN) {
					fail("%c: final batch: sending frame %u: %s", 'A' + e->role,
					     sent, shml_strerror(rc));
					return;
				}
				break;
			}
		}
		if (pump_rx(e) > 0)
			progress = 1;
		if (failures > f0)
			return;
		if (!progress)
			do_wait(e,
			        SHML_EV_READABLE | (sent < n ? SHML_EV_WRITABLE : 0u) |
			                SHML_EV_STATE,
			        100000000);
	}
	e->st.final_tx = sent;
}

static void endpoint_main(const char *path, const struct shml_config *cfg, int role, uint32_t mode,
                          enum scenario sc)
{
	static struct ep e;
	uint64_t end;
	failures = 0; /* this process's own */
	watchdog(WATCHDOG_S);
	open_ep(&e, path, cfg, role, mode, sc);
	warm_up(&e);
	if (sc == SC_BLOCKED && role == 0) {
		/* Fill our ring, so send_wait blocks. */
		uint32_t k = 0;
		while (send_frame(&e, K_CHAOS, k, 0, 0) == 0)
			k++;
		e.tx_seq[K_CHAOS] = k;
	} else {
		/* A little clean traffic first. */
		for (int i = 0; i < 200; i++) {
			send_frame(&e, K_CHAOS, e.tx_seq[K_CHAOS]++, 1, 1000000);
			pump_rx(&e);
		}
	}
	atomic_store(&sh->up[role], 1);
	while (atomic_load(&sh->phase) == PH_SETUP)
		sleep_ns(200000);

	watchdog(WATCHDOG_S);
	if (sc == SC_STREAM)
		chaos_stream(&e);
	else
		chaos_blocked(&e);
	shml_get_counters(&e.ch, &e.st.chaos);

	watchdog(WATCHDOG_S);
	recover(&e);
	watchdog(WATCHDOG_S);
	final_batch(&e, sc == SC_STREAM ? FINAL_N : FINAL_N_BLOCKED);

	/* Wait for the other end to finish before closing under its feet. */
	atomic_store(&sh->final_done[role], 1);
	end = now_ns() + 20000000000ull;
	while (!atomic_load(&sh->final_done[1 - role]) && now_ns() < end &&
	       atomic_load(&sh->phase) == PH_RECOVER) {
		pump_rx(&e);
		sleep_ns(1000000);
	}
	shml_get_counters(&e.ch, &e.st.end);
	report_undocumented(&e);
	shml_chan_close(&e.ch);
	shml_host_unmap(&e.hr);
	e.st.failures = failures;
	sh->res[role] = e.st;
	_exit(failures ? 1 : 0);
}

/* ---- the scribbler -------------------------------------------------------------------- */

static const uint32_t states[] = { SHML_STATE_CLOSED, SHML_STATE_SYNC, SHML_STATE_ACK,
	                           SHML_STATE_EST };

static uint32_t nasty(uint64_t *rng, const uint8_t *al, uint32_t cur)
{
	uint64_t r = tu_rand(rng);
	int32_t delta = (int32_t)((r >> 16) % 129u) - 64;
	switch ((r >> 8) % 13u) {
	case 0:
		return (uint32_t)(r >> 32);
	case 1:
		return 0;
	case 2:
		return 0xffffffffu;
	case 3:
		return 0x80000000u | (uint32_t)((r >> 40) % 512u);
	case 4:
		return states[(r >> 40) % 4u];
	case 5:
		return shm_load(al + CTL_GEN); /* the peer's (A's) current generation */
	case 6:
		return shm_load(al + CTL_PEER_GEN);
	case 7:
		return shm_load(al + CTL_TX_POS) + (uint32_t)delta;
	case 8:
		return shm_load(al + CTL_RX_POS) + (uint32_t)delta;
	case 9:
		return cur + (uint32_t)delta;
	case 10:
		return (cur & ~7u) + 8u * (uint32_t)((r >> 40) % 5u);
	case 11:
		return cur ^ (1u << ((r >> 40) % 32u));
	default:
		return (uint32_t)((r >> 40) % 300u);
	}
}

static void put(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static uint32_t get(const uint8_t *p)
{
	return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_RELAXED);
}

/* Ring B's doorbell as B would: A, asleep in a blocking call, wakes up and looks. */
static void ring_doorbell(uint8_t *bl)
{
	put(bl + CTL_DOORBELL, get(bl + CTL_DOORBELL) + 1u);
	syscall(SYS_futex, bl + CTL_DOORBELL, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* One random hostile write into B's line, B's statistics, or the B->A ring. */
static void scribble_once(uint64_t *rng, uint8_t *al, uint8_t *bl, uint8_t *bs, uint8_t *ring,
                          uint32_t line_bytes)
{
	uint64_t r = tu_rand(rng);
	unsigned what = (unsigned)(r % 100u);
	if (what < 50) {
		/* The control and position lines; mostly state, gens and positions. */
		static const uint32_t hot[] = { CTL_STATE, CTL_GEN, CTL_PEER_GEN, CTL_TX_POS,
			                        CTL_RX_POS };
		uint32_t off = (r >> 8) % 10u < 7u
		                       ? hot[(r >> 16) % 5u]
		                       : 4u * (uint32_t)((r >> 16) % (2u * line_bytes / 4u));
		put(bl + off, nasty(rng, al, get(bl + off)));
	} else if (what < 58) {
		uint32_t w = (uint32_t)((r >> 16) % (STAT_BYTES / 4u));
		put(bs + 4u * w, nasty(rng, al, get(bs + 4u * w)));
	} else if (what < 75) {
		uint32_t w = (uint32_t)((r >> 16) % (RING / 4u));
		put(ring + 4u * w, nasty(rng, al, get(ring + 4u * w)));
	} else if (what < 95) {
		/* A plausible record header where A reads next, or just after. */
		uint32_t off =
		        (shm_load(al + CTL_RX_POS) + 8u * (uint32_t)((r >> 16) % 4u)) & (RING - 1u);
		uint32_t len = get(ring + off + REC_LEN), seq = get(ring + off + REC_SEQ);
		switch ((r >> 24) % 5u) {
		case 0:
			put(ring + off + REC_LEN, nasty(rng, al, len));
			break;
		case 1:
			put(ring + off + REC_LEN, REC_PAD_FLAG | (RING - off - 8u));
			break;
		case 2:
			put(ring + off + REC_SEQ, seq + (uint32_t)((r >> 32) % 3u) - 1u);
			break;
		case 3:
			put(ring + off + REC_LEN, (uint32_t)((r >> 32) % 2100u));
			break;
		default:
			put(ring + off + 8u + 4u * (uint32_t)((r >> 32) % 8u), (uint32_t)(r >> 32));
			break;
		}
	} else {
		/* A coherent fake line: a valid state, a generation, acknowledging A. */
		put(bl + CTL_GEN,
		    (r >> 8) & 1u ? shm_load(al + CTL_PEER_GEN) : (uint32_t)(r >> 32));
		put(bl + CTL_PEER_GEN, shm_load(al + CTL_GEN));
		put(bl + CTL_TX_POS, (r >> 9) & 1u ? 0u : shm_load(al + CTL_RX_POS));
		put(bl + CTL_RX_POS, (r >> 10) & 1u ? 0u : shm_load(al + CTL_TX_POS));
		put(bl + CTL_STATE, states[1u + (r >> 12) % 3u]);
	}
}

/*
 * Reactive: as soon as A's state changes, change B's line so that A's next
 * step changes it again (SYNC -> ACK -> SYNC -> ...), with resets mixed in.
 */
static int react_once(uint64_t *rng, uint8_t *al, uint8_t *bl, uint32_t *last)
{
	uint32_t s = shm_load(al + CTL_STATE), g = shm_load(al + CTL_GEN);
	if (s == last[0] && g == last[1])
		return 0;
	last[0] = s;
	last[1] = g;
	if (s == SHML_STATE_SYNC) {
		put(bl + CTL_GEN, (uint32_t)tu_rand(rng) | 1u);
		put(bl + CTL_PEER_GEN, 0);
		put(bl + CTL_STATE, SHML_STATE_SYNC);
	} else if (s == SHML_STATE_ACK && (tu_rand(rng) & 3u) == 0) {
		/* Sometimes let A establish with the fake peer, then break it. */
		put(bl + CTL_PEER_GEN, g);
		put(bl + CTL_STATE, SHML_STATE_ACK);
	} else {
		put(bl + CTL_STATE, (uint32_t)tu_rand(rng));
	}
	ring_doorbell(bl);
	return 1;
}

static void scribbler_main(const char *path, const struct shml_config *cfg)
{
	struct shml_host_region hr;
	struct shml_channel_layout lay;
	uint8_t *al, *bl, *bs, *ring;
	uint64_t rng = 0xbadc0ffee0ddf00dull ^ (uint64_t)getpid(), n = 0;
	uint32_t last[2] = { 0, 0 };
	watchdog(WATCHDOG_S * 2u);
	CHECK_EQ(shml_host_map(&hr, path, cfg->region_size, 0), 0);
	shml_channel_layout(cfg, 0, &lay);
	al = (uint8_t *)hr.mem + lay.side_a;
	bl = (uint8_t *)hr.mem + lay.side_b;
	bs = bl + 2u * cfg->cacheline;
	ring = (uint8_t *)hr.mem + lay.ring_ba;
	for (;;) {
		int m = atomic_load(&sh->scribble);
		if (m == SCR_EXIT)
			break;
		if (m == SCR_OFF) {
			sleep_ns(100000);
		} else if (m == SCR_RANDOM) {
			/* Bursts of writes, and quiet spells in which sessions can form. */
			uint64_t burst = 1 + tu_rand(&rng) % 3000u;
			for (uint64_t i = 0; i < burst; i++)
				scribble_once(&rng, al, bl, bs, ring, cfg->cacheline);
			n += burst;
			if ((tu_rand(&rng) & 3u) == 0)
				ring_doorbell(bl);
			sleep_ns(tu_rand(&rng) % 2000000u);
		} else {
			for (int i = 0; i < 100000; i++)
				n += (uint64_t)react_once(&rng, al, bl, last);
			if ((tu_rand(&rng) & 15u) == 0) {
				scribble_once(&rng, al, bl, bs, ring, cfg->cacheline);
				n++;
			}
		}
	}
	atomic_store(&sh->scribbles, n);
	shml_host_unmap(&hr);
	_exit(0);
}

/* ---- the parent ------------------------------------------------------------------------ */

static void print_lines(const struct shml_region *view)
{
	for (uint32_t s = 0; s < 2; s++) {
		struct shml_side_view v;
		shml_inspect_side(view, 0, s, &v);
		fprintf(stderr, "    line %c: %-7s gen %08x peer_gen %08x tx %u rx %u\n", 'A' + s,
		        shml_state_name(v.state), v.gen, v.peer_gen, v.tx_pos, v.rx_pos);
	}
	for (int s = 0; s < 2; s++)
		fprintf(stderr, "    process %c: connected %d gen %08x peer_gen %08x\n", 'A' + s,
		        atomic_load(&sh->conn[s]), atomic_load(&sh->gen[s]),
		        atomic_load(&sh->peer_gen[s]));
}

static int both_established(void)
{
	return atomic_load(&sh->conn[0]) && atomic_load(&sh->conn[1]) &&
	       atomic_load(&sh->gen[0]) == atomic_load(&sh->peer_gen[1]) &&
	       atomic_load(&sh->gen[1]) == atomic_load(&sh->peer_gen[0]);
}

/* Wait for all children; kill the rest if one fails or the deadline passes. */
static void reap(pid_t *pids, int n, uint64_t deadline, const char *what)
{
	int left = 0;
	for (int i = 0; i < n; i++)
		left += pids[i] > 0;
	while (left > 0) {
		for (int i = 0; i < n; i++) {
			int status;
			pid_t r;
			if (pids[i] <= 0)
				continue;
			r = waitpid(pids[i], &status, WNOHANG);
			if (r == 0)
				continue;
			CHECK(r == pids[i]);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				if (WIFSIGNALED(status))
					fail("%s: process %d (%s) killed by signal %d", what, i,
					     i == 0   ? "A"
					     : i == 1 ? "B"
					              : "scribbler",
					     WTERMSIG(status));
				else
					fail("%s: process %d (%s) exited with %d", what, i,
					     i == 0   ? "A"
					     : i == 1 ? "B"
					              : "scribbler",
					     WEXITSTATUS(status));
			}
			pids[i] = 0;
			left--;
		}
		if (left && now_ns() > deadline) {
			fail("%s: processes still running at the deadline; killing them", what);
			for (int i = 0; i < n; i++)
				if (pids[i] > 0) {
					kill(pids[i], SIGKILL);
					waitpid(pids[i], NULL, 0);
					pids[i] = 0;
				}
			return;
		}
		sleep_ns(1000000);
	}
}

static void run_scenario(enum scenario sc, uint32_t mode)
{
	const char *name = sc == SC_STREAM ? "stream" : "blocked";
	const char *mname = mode == SHML_MODE_MESSAGE ? "message" : "stream";
	struct tu_config t;
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region view;
	char path[128];
	pid_t pids[3];
	uint64_t t0, t_stop, t_est = 0, t_rec = 0, deadline;
	int fails_before = failures;
	struct result *ra, *rb;

	tu_config_init(&t, mode, RING);
	tu_region_path(path, sizeof(path), "hostile");
	unlink(path);
	CHECK_EQ(shml_host_map(&hr, path, t.cfg.region_size, SHML_HOST_CREATE), 0);
	tu_fill(hr.mem, t.cfg.region_size, 0x5eed); /* garbage, not zeros */
	shml_host_port_init(&port);
	/* A read-only view for diagnostics (shml_inspect_side writes nothing). */
	memset(&view, 0, sizeof(view));
	view.base = hr.mem;
	view.size = t.cfg.region_size;
	view.cfg = &t.cfg;
	view.port = &port;

	memset(sh, 0, sizeof(*sh));
	fflush(NULL);
	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			if (i < 2)
				endpoint_main(path, &t.cfg, i, mode, sc);
			scribbler_main(path, &t.cfg);
		}
	}
	t0 = now_ns();
	while (!(atomic_load(&sh->up[0]) && atomic_load(&sh->up[1]))) {
		if (now_ns() - t0 > 20000000000ull) {
			fail("%s/%s: the first session did not come up", name, mname);
			atomic_store(&sh->phase, PH_END);
			atomic_store(&sh->scribble, SCR_EXIT);
			reap(pids, 3, now_ns() + 5000000000ull, name);
			goto out;
		}
		sleep_ns(1000000);
	}

	/* Chaos. */
	atomic_store(&sh->scribble, SCR_RANDOM);
	atomic_store(&sh->phase, PH_CHAOS);
	if (sc == SC_STREAM) {
		sleep_ns(CHAOS_NS);
	} else {
		sleep_ns(BLOCKED_PART_NS);
		atomic_store(&sh->scribble, SCR_REACTIVE);
		sleep_ns(BLOCKED_PART_NS);
	}
	atomic_store(&sh->scribble, SCR_EXIT);
	{
		pid_t s[3] = { 0, 0, pids[2] };
		reap(s, 3, now_ns() + 10000000000ull, name);
		pids[2] = 0;
	}
	t_stop = now_ns();
	atomic_store(&sh->phase, PH_RECOVER);

	/* Recovery: both ends established again, and a round trip through the session. */
	deadline = t_stop + RECOVER_NS;
	while (now_ns() < deadline && !(t_est && t_rec)) {
		if (!t_est && both_established())
			t_est = now_ns();
		if (!t_rec && atomic_load(&sh->recovered))
			t_rec = now_ns();
		sleep_ns(200000);
	}
	if (!t_est || !t_rec) {
		fail("%s/%s: no session %s %.1f s after the scribbler stopped (established: %s); "
		     "state then:",
		     name, mname, t_est ? "carrying data" : "established", (double)RECOVER_NS / 1e9,
		     t_est ? "yes" : "no");
		print_lines(&view);
		fprintf(stderr, "    B re-opens its end to go on\n");
		atomic_store(&sh->b_reopen, 1);
		deadline = now_ns() + RECOVER_NS;
		while (now_ns() < deadline && !atomic_load(&sh->recovered))
			sleep_ns(200000);
		if (!atomic_load(&sh->recovered)) {
			fail("%s/%s: no session even after B re-opened; state:", name, mname);
			print_lines(&view);
			atomic_store(&sh->phase, PH_END); /* the ends give up */
		}
	}
	reap(pids, 2, now_ns() + 60000000000ull, name);
	atomic_store(&sh->phase, PH_END);

	ra = &sh->res[0];
	rb = &sh->res[1];
	printf("%-7s %-7s: %llu scribbles; A: %llu calls, %llu frames good, %llu corrupt, %llu out "
	       "of order, %llu stream bytes skipped, %llu discarded walked\n",
	       name, mname, (unsigned long long)atomic_load(&sh->scribbles),
	       (unsigned long long)ra->calls, (unsigned long long)ra->good,
	       (unsigned long long)ra->bad, (unsigned long long)ra->out_of_order,
	       (unsigned long long)ra->resync_bytes, (unsigned long long)ra->discarded_walked);
	printf("%-7s %-7s: A under scribbling: protocol_errors %llu, resets %llu (B: %llu, %llu); "
	       "longest non-blocking call %.3f ms, blocking calls %llu, worst overshoot %.3f ms\n",
	       name, mname, (unsigned long long)ra->chaos.protocol_errors,
	       (unsigned long long)ra->chaos.resets, (unsigned long long)rb->chaos.protocol_errors,
	       (unsigned long long)rb->chaos.resets, (double)ra->max_nb_ns / 1e6,
	       (unsigned long long)ra->blocking_calls, (double)ra->max_over_ns / 1e6);
	printf("%-7s %-7s: after the scribbler stopped: both established after %.1f ms, data "
	       "both ways after %.1f ms (-1: not within %.0f s); final batch A->B %llu, B->A %llu "
	       "frames%s\n",
	       name, mname, t_est ? (double)(t_est - t_stop) / 1e6 : -1.0,
	       t_rec ? (double)(t_rec - t_stop) / 1e6 : -1.0, (double)RECOVER_NS / 1e9,
	       (unsigned long long)rb->final_rx, (unsigned long long)ra->final_rx,
	       failures > fails_before ? "  [FAILED]" : "");
	if (ra->chaos.resets == 0)
		fail("%s/%s: the scribbler caused no reset of A", name, mname);
	if (sc == SC_STREAM && ra->chaos.protocol_errors == 0)
		fail("%s/%s: the scribbler caused no protocol error in A", name, mname);
	if (ra->final_rx != (sc == SC_STREAM ? FINAL_N : FINAL_N_BLOCKED) ||
	    rb->final_rx != (sc == SC_STREAM ? FINAL_N : FINAL_N_BLOCKED))
		fail("%s/%s: final batch incomplete", name, mname);
out:
	shml_host_unmap(&hr);
	unlink(path);
}

/* ---- deterministic checks: one hostile write each, in one process ------------------------ */

static uint8_t *line_of(struct tu_pair *p, const struct shml_config *cfg, uint32_t side)
{
	struct shml_channel_layout lay;
	shml_channel_layout(cfg, 0, &lay);
	return (uint8_t *)p->mem + (side ? lay.side_b : lay.side_a);
}

/*
 * One word of B's line overwritten mid-handshake, then nothing hostile any
 * more: both ends must establish again as they poll.
 */
static void check_one_word(int which)
{
	static const char *what[] = { "B's state word while B is in ACK",
		                      "B's generation word after A acknowledged it" };
	struct tu_config t;
	struct tu_pair p;
	uint8_t *bl;
	int ra = 0, rb = 0, i;
	tu_config_init(&t, SHML_MODE_MESSAGE, RING);
	tu_pair_open(&p, &t.cfg, 1);
	bl = line_of(&p, &t.cfg, 1);
	CHECK_EQ(shml_chan_open(&p.rb, &p.b, 0, NULL), 0); /* B restarts its end */
	if (which == 0) {
		shml_poll(&p.a);              /* A: EST -> SYNC */
		shml_poll(&p.b);              /* B: SYNC -> ACK */
		shm_store(bl + CTL_STATE, 0); /* the hostile word */
	} else {
		shml_poll(&p.a);                      /* A: EST -> SYNC */
		shml_poll(&p.a);                      /* A: SYNC -> ACK of B's generation */
		shm_store(bl + CTL_GEN, 0x12345678u); /* the hostile word */
	}
	for (i = 0; i < 1000; i++) {
		ra = shml_poll(&p.a);
		rb = shml_poll(&p.b);
		if (ra == 1 && rb == 1)
			break;
	}
	if (ra != 1 || rb != 1) {
		struct shml_side_view va, vb;
		shml_inspect_side(&p.ra, 0, 0, &va);
		shml_inspect_side(&p.ra, 0, 1, &vb);
		fail("one hostile word (%s): no session after %d polls of each end (A: %s, B: %s); "
		     "line A %s gen %08x peer_gen %08x, line B %s gen %08x peer_gen %08x",
		     what[which], i, ename(ra), ename(rb), shml_state_name(va.state), va.gen,
		     va.peer_gen, shml_state_name(vb.state), vb.gen, vb.peer_gen);
	} else {
		printf("one hostile word (%s): re-established after %d polls\n", what[which], i);
	}
	tu_pair_close(&p);
}

/*
 * After a reset, the peer rewrites a record header in our own ring before we
 * walk what the reset discarded: as a huge length (@pad 0), or as padding
 * (@pad 1). The walk must stay inside our ring and end. Run in a child
 * process with an alarm, because an endless walk never returns.
 */
static void check_discarded_rewritten(int pad)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_channel_layout lay;
	struct shml_reset_info ri;
	const void *buf;
	uint8_t msg[16] = { 0 }, *ring;
	int32_t n = 0;
	int k, status;
	pid_t pid;
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		tu_config_init(&t, SHML_MODE_MESSAGE, RING);
		tu_pair_open(&p, &t.cfg, 1);
		shml_channel_layout(&t.cfg, 0, &lay);
		ring = (uint8_t *)p.mem + lay.ring_ab;
		for (int i = 0; i < 3; i++)
			CHECK_EQ(shml_send(&p.a, msg, sizeof(msg)), 0);
		CHECK_EQ(shml_chan_open(&p.rb, &p.b, 0, NULL), 0); /* B restarts: 3 discarded */
		for (k = 0; k < 10 && shml_poll(&p.a) != SHML_ERESET; k++)
			shml_poll(&p.b);
		CHECK_EQ(shml_reset_info(&p.a, &ri), 0);
		CHECK_EQ(ri.messages, 3);
		/* The hostile word, in A's own ring. */
		shm_store(ring + REC_LEN,
		          pad ? REC_PAD_FLAG | (RING - SHML_RECORD_HEADER) : 0x7ffffff0u);
		alarm(3);
		for (k = 0; k < 8; k++) {
			n = shml_discarded_next(&p.a, &buf);
			if (n < 0)
				break;
			if (!in_span(buf, (uint64_t)n, ring, ring + RING) ||
			    (uint32_t)n > shml_channel_max_message(&t.cfg, 0)) {
				fprintf(stderr,
				        "shml_discarded_next() handed out %d bytes at ring offset "
				        "%lld (ring %u bytes)\n",
				        n, (long long)((const uint8_t *)buf - ring), RING);
				_exit(2);
			}
		}
		_exit(k == 8 ? 3 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		fail("discarded walk (%s written into our ring after a reset): "
		     "shml_discarded_next() "
		     "did not return in 3 s (endless loop)",
		     pad ? "a padding flag" : "a huge record length");
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("discarded walk (%s written into our ring after a reset): %s",
		     pad ? "a padding flag" : "a huge record length",
		     WIFEXITED(status) && WEXITSTATUS(status) == 2
		             ? "shml_discarded_next() handed out a span outside our ring"
		             : "failed");
	else
		printf("discarded walk (%s written into our ring after a reset): ok\n",
		       pad ? "a padding flag" : "a huge record length");
}

/*
 * Blocking calls and a peer that changes state whenever we look: the peer
 * line is rewritten from inside the clock hook, i.e. at the moments a fast
 * peer could win. A 10 ms timeout must still end the call.
 */
static struct {
	uint8_t *al, *bl;
	uint64_t stop;
	uint32_t g;
	unsigned long flips;
} adv;

static uint64_t adversarial_now(void *ctx)
{
	uint64_t t = shml_host_now_ns();
	(void)ctx;
	if (t < adv.stop) {
		if (shm_load(adv.al + CTL_STATE) == SHML_STATE_SYNC) {
			shm_store(adv.bl + CTL_GEN, ++adv.g);
			shm_store(adv.bl + CTL_STATE, SHML_STATE_SYNC);
		} else {
			shm_store(adv.bl + CTL_STATE, 0);
		}
		adv.flips++;
	}
	return t;
}

static void check_blocking_deadline(int send)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_port hp;
	uint8_t buf[64] = { 0 };
	uint64_t t0, dt;
	int rc;
	tu_config_init(&t, SHML_MODE_MESSAGE, RING);
	tu_pair_open(&p, &t.cfg, 1);
	adv.al = line_of(&p, &t.cfg, 0);
	adv.bl = line_of(&p, &t.cfg, 1);
	adv.flips = 0;
	hp = p.port;
	hp.now_ns = adversarial_now;
	p.ra.port = &hp; /* A's view of the region uses the adversarial clock */
	adv.stop = shml_host_now_ns() + 1000000000ull;
	/* The first call sees the session end and reports the reset. */
	rc = send ? shml_send_wait(&p.a, buf, sizeof(buf), 10000000ull)
	          : shml_recv_wait(&p.a, buf, sizeof(buf), 10000000ull);
	t0 = shml_host_now_ns();
	rc = send ? shml_send_wait(&p.a, buf, sizeof(buf), 10000000ull)
	          : shml_recv_wait(&p.a, buf, sizeof(buf), 10000000ull);
	dt = shml_host_now_ns() - t0;
	if (dt > 10000000ull + 500000000ull)
		fail("%s(timeout 10 ms) against a peer changing state at every step: returned %d "
		     "(%s) after %.3f s (%lu peer changes)",
		     send ? "shml_send_wait" : "shml_recv_wait", rc, ename(rc), (double)dt / 1e9,
		     adv.flips);
	else
		printf("%s(timeout 10 ms) against a peer changing state at every step: %s after "
		       "%.3f ms\n",
		       send ? "shml_send_wait" : "shml_recv_wait", ename(rc), (double)dt / 1e6);
	adv.stop = 0;
	tu_pair_close(&p);
}

int main(void)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	alarm(240); /* the parent's own watchdog (default action: terminate) */

	check_one_word(0);
	check_one_word(1);
	check_discarded_rewritten(0);
	check_discarded_rewritten(1);
	check_blocking_deadline(0);
	check_blocking_deadline(1);

	run_scenario(SC_STREAM, SHML_MODE_MESSAGE);
	run_scenario(SC_STREAM, SHML_MODE_STREAM);
	run_scenario(SC_BLOCKED, SHML_MODE_MESSAGE);
	run_scenario(SC_BLOCKED, SHML_MODE_STREAM);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("test_hostile_peer: %s, %d failure(s), %.1f s\n", failures ? "FAILED" : "ok",
	       failures, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failures ? 1 : 0;
}
