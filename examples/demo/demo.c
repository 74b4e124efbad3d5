/* SPDX-License-Identifier: MIT */
/*
 * The demo (`make demo`, `shmlink demo`): a producer and a consumer process stream
 * sequence-numbered, checksummed messages over a region file while a supervisor (this program's
 * main process) kills them with SIGKILL and starts them again. A ledger file
 * shared by all of them, one state byte per sequence number, proves at the
 * end that every message sent was received exactly once or reported to its
 * sender as discarded by a reset.
 *
 * Ledger protocol (every step is safe to interrupt by SIGKILL):
 *   producer  persist next_seq = s + 1; ATTEMPTED; send; SENT.
 *             On a reset report: mark each discarded message DISCARDED
 *             (idempotent: a report may be repeated to a successor) before
 *             sending anything else.
 *   consumer  peek; verify; INFLIGHT; release; RECEIVED. Release is the
 *             commit point: an INFLIGHT message counts as received unless
 *             the producer was told it was discarded.
 *
 * Both build/shmlink_demo (examples/shmlink_demo.c) and the CLI's `shmlink
 * demo` call shml_demo_main(); --help lists the options.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shml_demo.h"
#include "shmlink.h"
#include "shmlink_host.h"

/* ---- configuration ------------------------------------------------------------------ */

enum { DOM_PRODUCER, DOM_CONSUMER, DOM_SUPERVISOR };
enum { SIDE_PRODUCER = 0, SIDE_CONSUMER = 1 }; /* channel sides: A = producer, B = consumer */

#define RING_SIZE (1u << 17)
#define MAX_FRAME (RING_SIZE / 2u - SHML_RECORD_HEADER) /* the channel's largest message */
#define MAX_KILLS 100000u
#define MAX_SESSIONS 4096u      /* stream mode: producer sessions remembered */
#define RATE_BOUND 20000000.0   /* msg/s no machine reaches: sizes the ledger for --seconds */
#define POLL_NS 20000000ull     /* children re-read the ledger this often while blocked */
#define STUCK_NS 20000000000ull /* the supervisor waits this long for any one thing */
#define TICK_US 1000u

static const struct shml_domain_cfg domains[] = {
	{ .name = "producer", .id = 1 },
	{ .name = "consumer", .id = 2 },
	/* Attaches only to read both sides' control lines and counters. */
	{ .name = "supervisor", .id = 3 },
};
static struct shml_channel_cfg channel = {
	.name = "demo",
	.a = DOM_PRODUCER,
	.b = DOM_CONSUMER,
	.ring_ab = RING_SIZE,
	.ring_ba = RING_SIZE, /* unused, but max_message is bounded by the smaller ring */
};
static struct shml_config cfg = {
	.cacheline = 64,
	.n_domains = 3,
	.domains = domains,
	.n_channels = 1,
	.channels = &channel,
};

enum kill_side { KILL_CONSUMER = 1, KILL_PRODUCER = 2, KILL_BOTH = 3 };

static struct options {
	enum kill_side kill_side;
	unsigned kills;
	uint64_t messages; /* 0: as many as --seconds allows */
	double seconds;
	long size; /* payload bytes, or -1: mixed 16..1024 */
	uint32_t mode;
	int quiet;
	uint64_t seed;
} opt = {
	.kill_side = KILL_CONSUMER,
	.kills = 3,
	.seconds = 10.0,
	.size = -1,
	.mode = SHML_MODE_MESSAGE,
};

/* ---- messages ----------------------------------------------------------------------- */

/* Every message (stream mode: every frame) starts with this header. */
struct msg_hdr {
	uint64_t seq;
	uint32_t len; /* payload bytes that follow */
	uint32_t sum; /* checksum of the payload */
};
#define HDR_SIZE ((uint32_t)sizeof(struct msg_hdr))

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Payload sizes are a function of (seed, seq): anyone can recompute a frame's length. */
static uint32_t payload_len(uint64_t seq)
{
	if (opt.size >= 0)
		return (uint32_t)opt.size;
	return 16u + (uint32_t)(mix64(seq ^ mix64(opt.seed)) % 1009u);
}

static uint64_t frame_len(uint64_t seq)
{
	return HDR_SIZE + payload_len(seq);
}

static uint32_t checksum(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull, w;
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t build_frame(uint8_t *buf, uint64_t seq)
{
	struct msg_hdr h = { .seq = seq, .len = payload_len(seq) };
	uint64_t x = mix64(seq + opt.seed);
	for (uint32_t i = 0; i < h.len; i += 8) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		memcpy(buf + HDR_SIZE + i, &x, h.len - i < 8 ? h.len - i : 8);
	}
	h.sum = checksum(buf + HDR_SIZE, h.len);
	memcpy(buf, &h, sizeof(h));
	return HDR_SIZE + h.len;
}

/* ---- the ledger ----------------------------------------------------------------------- */

enum {
	ST_ATTEMPTED = 1, /* producer: about to send */
	ST_SENT = 2,      /* producer: the send succeeded */
	ST_DISCARDED = 4, /* producer: a reset report said the peer never consumed it */
	ST_INFLIGHT = 8,  /* consumer: verified, about to release */
	ST_RECEIVED = 16, /* consumer: released */
};

/* Stream mode: a producer session and the first frame it carried, at stream offset 0. */
struct session_rec {
	_Atomic uint32_t gen;
	_Atomic uint64_t first_seq;
};

/* Groups written by different processes live on different cache lines. */
struct ledger {
	_Alignas(64) _Atomic uint32_t stop; /* supervisor: producer, finish */

	_Alignas(64) _Atomic uint64_t next_seq; /* producers: no seq below is ever sent again */
	_Atomic uint64_t tx_resets;             /* reset reports handled */
	_Atomic uint64_t inexact;               /* reports that did not add up */
	_Atomic uint32_t producer_done;         /* closed the channel after a stop */
	_Atomic uint32_t n_sessions;

	_Alignas(64) _Atomic uint64_t rx_next; /* consumers: last received seq + 1 */
	_Atomic uint64_t received, duplicates, corrupt, rx_resets;
	_Atomic uint64_t rx_sessions; /* sessions in which a message was received */
	_Atomic uint64_t rx_first_ns; /* when the latest of those received its first */

	_Alignas(64) struct session_rec sessions[MAX_SESSIONS];
	_Alignas(64) _Atomic uint8_t state[]; /* one byte per seq: ST_* */
};

static struct shml_demo_names names; /* how messages and usage name us */
static struct ledger *L;
static uint64_t capacity; /* sequence numbers in the ledger */
static size_t ledger_bytes;
static char region_path[96], ledger_path[96];
static const char *role = "supervisor";
static int is_child;

static void mark(uint64_t seq, uint8_t bit)
{
	atomic_fetch_or_explicit(&L->state[seq], bit, memory_order_release);
}

static void bump(_Atomic uint64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_release);
}

static uint64_t get(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_acquire);
}

/* A frame's header and checksum are right, and its seq is one the ledger holds. */
static int frame_valid(const void *p, uint32_t n, uint64_t *seq)
{
	struct msg_hdr h;
	if (n < HDR_SIZE)
		return 0;
	memcpy(&h, p, sizeof(h));
	*seq = h.seq;
	return h.seq < capacity && h.len == n - HDR_SIZE && h.len == payload_len(h.seq) &&
	       h.sum == checksum((const uint8_t *)p + HDR_SIZE, h.len);
}

/* ---- processes ---------------------------------------------------------------------- */

struct endpoint {
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region region;
	struct shml_chan ch;
};

static void cleanup(void);

static _Noreturn void die(const char *call, const char *why)
{
	fprintf(stderr, "%s: %s: %s: %s\n", names.tag, role, call, why);
	if (!is_child)
		cleanup();
	_exit(2);
}

static void attach(struct endpoint *e, uint32_t self, int flags)
{
	int rc = shml_host_map(&e->hr, region_path, cfg.region_size, flags);
	if (rc < 0)
		die(region_path, strerror(-rc));
	shml_host_port_init(&e->port);
	rc = shml_region_attach(&e->region, &cfg, self, e->hr.mem, e->hr.size, &e->port);
	if (rc < 0)
		die("shml_region_attach", shml_strerror(rc));
}

static void open_end(struct endpoint *e, uint32_t self)
{
	int rc;
	attach(e, self, 0);
	rc = shml_chan_open(&e->region, &e->ch, 0, NULL);
	if (rc < 0)
		die("shml_chan_open", shml_strerror(rc));
}

/*
 * Sleep until one of @events or the poll interval; the ledger is re-read
 * after. A reset that happens meanwhile is reported by the next data call.
 */
static void wait_for(struct shml_chan *ch, unsigned events, size_t need)
{
	int rc = shml_wait(ch, events | SHML_EV_STATE, need, POLL_NS);
	if (rc < 0)
		die("shml_wait", shml_strerror(rc));
}

/* ---- producer ----------------------------------------------------------------------- */

static struct producer {
	struct endpoint ep;
	int session_logged; /* stream mode: this session's first frame is in the ledger */
	uint8_t frame[MAX_FRAME];
} P;

/* Find session @gen in the ledger: its first seq and the first seq after it. */
static int find_session(uint32_t gen, uint64_t *first, uint64_t *bound)
{
	uint32_t n = atomic_load(&L->n_sessions);
	for (uint32_t i = n; i-- > 0 && n - i <= MAX_SESSIONS;) {
		if (atomic_load(&L->sessions[i % MAX_SESSIONS].gen) != gen)
			continue;
		*first = atomic_load(&L->sessions[i % MAX_SESSIONS].first_seq);
		*bound = i + 1 < n ? atomic_load(&L->sessions[(i + 1) % MAX_SESSIONS].first_seq)
		                   : get(&L->next_seq);
		return 1;
	}
	return 0;
}

/* Message mode: the discarded messages are still in our ring; each carries its seq. */
static int mark_message_discards(const struct shml_reset_info *ri)
{
	const void *buf;
	int32_t n;
	uint32_t count = 0;
	int ok = 1;
	while ((n = shml_discarded_next(&P.ep.ch, &buf)) >= 0) {
		uint64_t seq;
		if (frame_valid(buf, (uint32_t)n, &seq) &&
		    (atomic_load(&L->state[seq]) & ST_ATTEMPTED)) {
			mark(seq, ST_DISCARDED);
			count++;
		} else {
			ok = 0;
		}
	}
	return ok && count == ri->messages;
}

/*
 * Stream mode: discarded bytes do not fall on frame boundaries, and a killed
 * predecessor's framing is gone with it. But every session starts a fresh
 * frame at stream offset 0, frame lengths are a function of seq, and the
 * ledger knows each session's first seq: so the session's stream can be laid
 * out again. It ended at our tx-final position; the reset discarded its last
 * ri->bytes bytes. A frame with any byte past that cut never reached the
 * consumer whole (it drops partial frames on a reset): discarded.
 */
static int mark_stream_discards(const struct shml_reset_info *ri)
{
	struct shml_side_view v;
	const void *span;
	uint64_t first, bound, total = 0, end, cut, pos = 0, spans = 0;
	uint32_t tail;
	int32_t n;
	while ((n = shml_discarded_next(&P.ep.ch, &span)) > 0)
		spans += (uint64_t)n;
	shml_inspect_side(&P.ep.region, 0, SIDE_PRODUCER, &v);
	if (v.final_gen != ri->generation) /* we wrote nothing in that session */
		return ri->bytes == 0;
	if (!find_session(ri->generation, &first, &bound))
		return 0;
	for (uint64_t s = first; s < bound; s++)
		total += frame_len(s);
	/* final_tx is the end modulo 2^32; at most a few frames lie past it. */
	tail = (uint32_t)total - v.final_tx;
	if (tail > total || tail > 3u * MAX_FRAME || ri->bytes > total - tail)
		return 0;
	end = total - tail;
	cut = end - ri->bytes;
	for (uint64_t s = first; s < bound && pos < end; pos += frame_len(s), s++)
		if (pos + frame_len(s) > cut)
			mark(s, ST_DISCARDED);
	return spans == ri->bytes;
}

static void producer_on_reset(void)
{
	struct shml_reset_info ri;
	int ok = shml_reset_info(&P.ep.ch, &ri) == 0;
	if (ok)
		ok = (opt.mode == SHML_MODE_MESSAGE ? mark_message_discards(&ri)
		                                    : mark_stream_discards(&ri)) &&
		     ri.exact;
	if (!ok)
		bump(&L->inexact);
	bump(&L->tx_resets);
	P.session_logged = 0;
}

/* Stream mode, on the first bytes of a session: remember where it starts. */
static void log_session(uint64_t seq)
{
	struct shml_side_view v;
	uint32_t n = atomic_load(&L->n_sessions);
	struct session_rec *r = &L->sessions[n % MAX_SESSIONS];
	/* Our generation is fixed while we are established, as we are after a reserve. */
	shml_inspect_side(&P.ep.region, 0, SIDE_PRODUCER, &v);
	atomic_store(&r->gen, v.gen);
	atomic_store(&r->first_seq, seq);
	atomic_store(&L->n_sessions, n + 1); /* last: a killed logger leaves no half record */
	P.session_logged = 1;
}

enum send_result { SENT, ABANDONED, STOPPED };

/* Send one frame: in message mode one message, in stream mode as many pieces as it takes. */
static enum send_result send_frame(uint64_t seq, uint32_t flen)
{
	struct shml_chan *ch = &P.ep.ch;
	uint32_t off = 0;
	while (off < flen) {
		void *dst;
		int32_t r = shml_reserve(ch, flen - off, &dst);
		if (r == SHML_EAGAIN || r == SHML_ENOTCONN) {
			if (off == 0 && atomic_load(&L->stop))
				return STOPPED;
			wait_for(ch, SHML_EV_WRITABLE,
			         opt.mode == SHML_MODE_MESSAGE ? flen
			         : flen - off < RING_SIZE / 2  ? flen - off
			                                       : RING_SIZE / 2);
			continue;
		}
		if (r > 0) {
			if (opt.mode == SHML_MODE_STREAM && !P.session_logged)
				log_session(seq);
			memcpy(dst, P.frame + off, (size_t)r);
			if (shml_commit(ch, (size_t)r) != 0)
				die("shml_commit", "failed");
			off += (uint32_t)r;
		} else if (r == SHML_ERESET) {
			producer_on_reset();
			if (off) /* the frame's head went down with the session */
				return ABANDONED;
		} else if (r < 0) {
			die("shml_reserve", shml_strerror(r));
		}
	}
	return SENT;
}

/* Out of sequence numbers: keep handling resets until told to stop. */
static void producer_idle(void)
{
	int rc = shml_poll(&P.ep.ch);
	if (rc == SHML_ERESET)
		producer_on_reset();
	else if (rc < 0 && rc != SHML_ENOTCONN)
		die("shml_poll", shml_strerror(rc));
	wait_for(&P.ep.ch, 0, 0);
}

static _Noreturn void run_producer(void)
{
	uint64_t seq;
	role = "producer";
	open_end(&P.ep, DOM_PRODUCER);
	seq = get(&L->next_seq);
	while (!atomic_load(&L->stop)) {
		uint32_t flen;
		if (seq >= capacity) {
			producer_idle();
			continue;
		}
		flen = build_frame(P.frame, seq);
		atomic_store(&L->next_seq, seq + 1); /* a successor never reuses seq */
		mark(seq, ST_ATTEMPTED);
		switch (send_frame(seq, flen)) {
		case SENT:
			mark(seq, ST_SENT);
			seq++;
			break;
		case ABANDONED: /* reported discarded by the reset */
			seq++;
			break;
		case STOPPED:
			break;
		}
	}
	/* The consumer gets everything sent before it sees the close. */
	shml_chan_close(&P.ep.ch);
	atomic_store(&L->producer_done, 1);
	_exit(0);
}

/* ---- consumer ----------------------------------------------------------------------- */

static struct consumer {
	struct endpoint ep;
	uint64_t rx_next; /* seqs below were received (or skipped: discarded) */
	int fresh;        /* nothing received yet in this session */
	uint32_t have;    /* stream mode: bytes of the current frame collected */
	uint32_t need;    /* and its size, once its header is in */
	uint8_t frame[MAX_FRAME];
} C;

static void release(uint32_t len)
{
	int rc = shml_release(&C.ep.ch, len);
	if (rc < 0)
		die("shml_release", shml_strerror(rc));
}

/* Verify a whole frame, then commit it by releasing its last @release_len bytes. */
static void accept_frame(const uint8_t *frame, uint32_t flen, uint32_t release_len)
{
	uint64_t seq;
	int fresh_seq = 0;
	if (!frame_valid(frame, flen, &seq))
		bump(&L->corrupt);
	else if (seq < C.rx_next || (atomic_load(&L->state[seq]) & (ST_INFLIGHT | ST_RECEIVED)))
		bump(&L->duplicates); /* the bits also catch what a kill kept from rx_next */
	else
		fresh_seq = 1;
	if (fresh_seq)
		mark(seq, ST_INFLIGHT);
	release(release_len);
	if (!fresh_seq)
		return;
	mark(seq, ST_RECEIVED);
	C.rx_next = seq + 1;
	atomic_store_explicit(&L->rx_next, C.rx_next, memory_order_release);
	bump(&L->received);
	if (C.fresh) { /* first message of a session: the supervisor times reconnections */
		C.fresh = 0;
		atomic_store(&L->rx_first_ns, shml_host_now_ns());
		bump(&L->rx_sessions);
	}
}

static void new_frame(void)
{
	C.have = 0;
	C.need = HDR_SIZE;
}

static void consumer_on_reset(void)
{
	struct shml_reset_info ri;
	shml_reset_info(&C.ep.ch, &ri); /* we send nothing: nothing to account */
	bump(&L->rx_resets);
	C.fresh = 1;
	new_frame(); /* a partial frame died with the session */
}

/* Stream mode: gather the bytes of one frame; the release of its last byte commits it. */
static void collect(const uint8_t *p, uint32_t n)
{
	uint32_t take = n < C.need - C.have ? n : C.need - C.have;
	memcpy(C.frame + C.have, p, take);
	C.have += take;
	if (C.have == HDR_SIZE && C.need == HDR_SIZE) {
		struct msg_hdr h;
		memcpy(&h, C.frame, sizeof(h));
		if (h.len > MAX_FRAME - HDR_SIZE) {
			bump(&L->corrupt);
			die("stream", "frame header out of range: lost the framing");
		}
		C.need = HDR_SIZE + h.len;
	}
	if (C.have < C.need) {
		release(take);
		return;
	}
	accept_frame(C.frame, C.need, take);
	new_frame();
}

static _Noreturn void run_consumer(void)
{
	role = "consumer";
	open_end(&C.ep, DOM_CONSUMER);
	C.rx_next = get(&L->rx_next);
	C.fresh = 1;
	new_frame();
	for (;;) {
		/* Read before the peek: once set, the close is visible to the peek. */
		int done = (int)atomic_load(&L->producer_done);
		const void *buf;
		int32_t n = shml_peek(&C.ep.ch, &buf);
		if (n >= 0) {
			if (opt.mode == SHML_MODE_MESSAGE)
				accept_frame(buf, (uint32_t)n, (uint32_t)n);
			else
				collect(buf, (uint32_t)n);
		} else if (n == SHML_ERESET) {
			consumer_on_reset();
		} else if (n == SHML_EAGAIN || n == SHML_ENOTCONN) {
			if (done)
				break;
			wait_for(&C.ep.ch, SHML_EV_READABLE, 0);
		} else {
			die("shml_peek", shml_strerror(n));
		}
	}
	shml_chan_close(&C.ep.ch);
	_exit(0);
}

/* ---- supervisor --------------------------------------------------------------------- */

struct child {
	const char *name;
	void (*run)(void);
	pid_t pid;
};

/* Traffic figures summed over every incarnation of both sides. */
struct traffic {
	uint64_t bytes;         /* received by the consumer */
	uint64_t notifications; /* raised by either side */
};

static struct supervisor {
	struct endpoint mon;
	struct child kids[2]; /* indexed by channel side */
	struct traffic dead;  /* what killed incarnations had published */
	uint64_t t0;
	unsigned kills, kills_reset; /* kills; of them, followed by a reset */
	double threshold[MAX_KILLS]; /* run progress at which each kill is due */
	double reconnect_ms[MAX_KILLS];
	/* Waiting for a message in a new session: after the start and after each kill. */
	struct {
		int active, after_kill;
		unsigned side;
		uint64_t since, sessions, resets;
	} resume;
	int tty, printed;
	uint64_t last_print, last_msgs;
	struct traffic last;
} S;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t now(void)
{
	return shml_host_now_ns();
}

static double rand01(uint64_t *s)
{
	*s = mix64(*s + 0x9e3779b97f4a7c15ull);
	return (double)(*s >> 11) / 9007199254740992.0;
}

static void spawn(struct child *k)
{
	pid_t parent = getpid();
	fflush(NULL);
	k->pid = fork();
	if (k->pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", names.tag, strerror(errno));
		exit(1);
	}
	if (k->pid == 0) {
		/* Never outlive the supervisor, even if it is killed itself. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		is_child = 1;
		k->run();
	}
}

static void side_traffic(unsigned side, struct traffic *t)
{
	struct shml_side_view v;
	shml_inspect_side(&S.mon.region, 0, side, &v);
	if (!v.stats_valid)
		return;
	if (side == SIDE_CONSUMER)
		t->bytes += v.counters.rx_bytes;
	t->notifications += v.counters.notify_sent;
}

static struct traffic traffic_total(void)
{
	struct traffic t = S.dead;
	side_traffic(SIDE_PRODUCER, &t);
	side_traffic(SIDE_CONSUMER, &t);
	return t;
}

static void describe_side(unsigned side)
{
	struct shml_side_view v;
	shml_inspect_side(&S.mon.region, 0, side, &v);
	fprintf(stderr, "  %s (pid %d): state %s, gen %08x, peer_gen %08x, tx %u, rx %u\n",
	        S.kids[side].name, (int)S.kids[side].pid, shml_state_name(v.state), v.gen,
	        v.peer_gen, v.tx_pos, v.rx_pos);
}

static void stop_children(void)
{
	for (unsigned i = 0; i < 2; i++)
		if (S.kids[i].pid > 0) {
			kill(S.kids[i].pid, SIGKILL);
			waitpid(S.kids[i].pid, NULL, 0);
			S.kids[i].pid = 0;
		}
}

static void cleanup(void)
{
	stop_children();
	shml_host_unmap(&S.mon.hr);
	if (L)
		munmap(L, ledger_bytes);
	L = NULL;
	unlink(region_path);
	unlink(ledger_path);
}

static void end_progress_line(void)
{
	if (S.tty && S.printed)
		fputc('\n', stderr);
	S.printed = 0;
}

/* Give up: say what is stuck, clean up, exit 1. */
static _Noreturn void fail(const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	end_progress_line();
	fprintf(stderr, "%s: %s\n  %u kills so far, next seq %llu of %llu, received %llu\n",
	        names.tag, why, S.kills, (unsigned long long)get(&L->next_seq),
	        (unsigned long long)capacity, (unsigned long long)get(&L->received));
	describe_side(SIDE_PRODUCER);
	describe_side(SIDE_CONSUMER);
	printf("FAIL: %s (seed %llu)\n", why, (unsigned long long)opt.seed);
	cleanup();
	exit(1);
}

/* Fail if a child ended on its own (only the stop ends them). */
static void check_children(void)
{
	for (unsigned i = 0; i < 2; i++) {
		int status;
		if (waitpid(S.kids[i].pid, &status, WNOHANG) != S.kids[i].pid)
			continue;
		S.kids[i].pid = 0;
		fail("the %s ended unexpectedly (%s %d)", S.kids[i].name,
		     WIFEXITED(status) ? "exit status" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

static void progress(void)
{
	uint64_t t = now(), msgs;
	struct traffic tr;
	double dt;
	if (opt.quiet || t - S.last_print < (S.tty ? 250000000ull : 1000000000ull))
		return;
	msgs = get(&L->received);
	tr = traffic_total();
	dt = (double)(t - S.last_print) / 1e9;
	fprintf(stderr,
	        "%s%5.1f s  %7.1f MB/s  %5.2f M msg/s  %.5f notifications/msg  kills %u/%u  "
	        "resets %u%s",
	        S.tty ? "\r" : "", (double)(t - S.t0) / 1e9,
	        (double)(tr.bytes - S.last.bytes) / 1e6 / dt,
	        (double)(msgs - S.last_msgs) / 1e6 / dt,
	        msgs > S.last_msgs ? (double)(tr.notifications - S.last.notifications) /
	                                     (double)(msgs - S.last_msgs)
	                           : 0.0,
	        S.kills, opt.kills, S.kills_reset, S.tty ? "\033[K" : "\n");
	S.printed = 1;
	S.last_print = t;
	S.last_msgs = msgs;
	S.last = tr;
}

/* Start waiting for the first message of a new session. */
static void expect_resume(int after_kill, unsigned side)
{
	S.resume.active = 1;
	S.resume.after_kill = after_kill;
	S.resume.side = side;
	S.resume.since = now();
	S.resume.sessions = get(&L->rx_sessions);
	/* A dead consumer is seen by the producer, a dead producer by the consumer. */
	S.resume.resets = get(side == SIDE_CONSUMER ? &L->tx_resets : &L->rx_resets);
}

static void check_resume(void)
{
	uint64_t first;
	if (!S.resume.active)
		return;
	if (get(&L->rx_sessions) == S.resume.sessions) {
		if (now() - S.resume.since > STUCK_NS)
			fail("stuck: no message received %s within %.0f s",
			     S.resume.after_kill ? "after the last kill" : "since the start",
			     (double)STUCK_NS / 1e9);
		return;
	}
	first = get(&L->rx_first_ns);
	S.resume.active = 0;
	if (!S.resume.after_kill)
		return;
	S.reconnect_ms[S.kills - 1] =
	        first > S.resume.since ? (double)(first - S.resume.since) / 1e6 : 0.0;
	if (get(S.resume.side == SIDE_CONSUMER ? &L->tx_resets : &L->rx_resets) > S.resume.resets)
		S.kills_reset++;
}

static void tick(void)
{
	if (interrupted)
		fail("interrupted");
	check_children();
	check_resume();
	progress();
	usleep(TICK_US);
}

static void kill_and_restart(unsigned side)
{
	struct child *k = &S.kids[side];
	struct traffic t = { 0, 0 };
	int status;
	expect_resume(1, side); /* the clock starts at the kill */
	kill(k->pid, SIGKILL);
	if (waitpid(k->pid, &status, 0) != k->pid || !WIFSIGNALED(status)) {
		k->pid = 0;
		fail("the %s ended before it was killed", k->name);
	}
	/* Its stats block holds what it published last, until its successor attaches. */
	side_traffic(side, &t);
	S.dead.bytes += t.bytes;
	S.dead.notifications += t.notifications;
	spawn(k);
	S.kills++;
}

static double run_progress(void)
{
	double by_time = (double)(now() - S.t0) / 1e9 / opt.seconds;
	double by_count = (double)get(&L->next_seq) / (double)capacity;
	return by_time > by_count ? by_time : by_count;
}

static unsigned side_to_kill(unsigned i)
{
	if (opt.kill_side == KILL_BOTH)
		return i % 2 ? SIDE_PRODUCER : SIDE_CONSUMER;
	return opt.kill_side == KILL_PRODUCER ? SIDE_PRODUCER : SIDE_CONSUMER;
}

/* Run, kill on schedule while the stream is running, until the run is over. */
static void supervise(void)
{
	uint64_t rng = opt.seed;
	/* Kills fall at random points, one in each equal slice of 10%..90% of the run. */
	for (unsigned i = 0; i < opt.kills; i++)
		S.threshold[i] = 0.1 + 0.8 * ((double)i + rand01(&rng)) / opt.kills;
	expect_resume(0, 0); /* before the spawns: the consumer may be quick */
	S.t0 = S.last_print = now();
	spawn(&S.kids[SIDE_CONSUMER]);
	spawn(&S.kids[SIDE_PRODUCER]);
	for (;;) {
		double p;
		tick();
		if (S.resume.active)
			continue;
		p = run_progress();
		if (S.kills < opt.kills && p >= S.threshold[S.kills])
			kill_and_restart(side_to_kill(S.kills));
		else if (p >= 1.0)
			break;
	}
}

/* Stop the producer, let the consumer drain, and wait for both to exit cleanly. */
static void finish(void)
{
	atomic_store(&L->stop, 1);
	for (unsigned i = 0; i < 2; i++) {
		struct child *k = &S.kids[i];
		uint64_t since = now();
		int status;
		pid_t r;
		while ((r = waitpid(k->pid, &status, WNOHANG)) == 0) {
			if (interrupted)
				fail("interrupted");
			if (now() - since > STUCK_NS)
				fail("stuck: the %s did not finish within %.0f s of the stop",
				     k->name, (double)STUCK_NS / 1e9);
			progress();
			usleep(TICK_US);
		}
		k->pid = 0;
		if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("the %s failed at the end", k->name);
	}
}

struct tally {
	uint64_t sent, received, discarded, lost, conflicts, phantoms;
};

/* Classify every sequence number the producers ever drew. */
static struct tally check_ledger(void)
{
	struct tally t = { 0 };
	uint64_t n = get(&L->next_seq);
	for (uint64_t s = 0; s < n; s++) {
		uint8_t st = atomic_load_explicit(&L->state[s], memory_order_relaxed);
		int disc = (st & ST_DISCARDED) != 0;
		/* INFLIGHT: killed around the release, which is the commit point. */
		int recv = (st & ST_RECEIVED) || ((st & ST_INFLIGHT) && !disc);
		t.received += (uint64_t)recv;
		t.discarded += (uint64_t)disc;
		if (!(st & ST_ATTEMPTED)) {
			t.phantoms += (uint64_t)(recv || disc);
			continue;
		}
		if (!(st & ST_SENT) && !recv && !disc)
			continue; /* never left the producer */
		t.sent++;
		t.lost += (uint64_t)(!recv && !disc);
		t.conflicts += (uint64_t)(recv && disc);
	}
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int report(double seconds)
{
	struct tally t = check_ledger();
	struct traffic tr = traffic_total();
	uint64_t dup = get(&L->duplicates), bad = get(&L->corrupt), inexact = get(&L->inexact);
	uint64_t msgs = get(&L->received);
	int pass = t.sent == t.received + t.discarded && dup == 0 && bad == 0 && t.lost == 0 &&
	           inexact == 0 && S.kills == opt.kills && S.kills_reset == S.kills;
	char extra[512] = "";
	size_t len = 0;

	end_progress_line();
	if (t.conflicts)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len,
		                        "; %llu received and also reported discarded",
		                        (unsigned long long)t.conflicts);
	if (t.phantoms)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len,
		                        "; %llu seen but never sent",
		                        (unsigned long long)t.phantoms);
	if (inexact)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len,
		                        "; %llu reset reports that did not add up",
		                        (unsigned long long)inexact);
	if (S.kills_reset != S.kills)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len,
		                        "; %u kills not followed by a reset",
		                        S.kills - S.kills_reset);
	if (S.kills != opt.kills)
		snprintf(extra + len, sizeof(extra) - len, "; only %u of %u kills happened",
		         S.kills, opt.kills);
	printf("%s: sent %llu = received %llu + discarded %llu (reported to the sender); "
	       "duplicates %llu, corrupt %llu, lost %llu; %u kills, %u resets; %.0f MB/s, "
	       "%.2f M msg/s, %.5f notifications/message",
	       pass ? "PASS" : "FAIL", (unsigned long long)t.sent, (unsigned long long)t.received,
	       (unsigned long long)t.discarded, (unsigned long long)dup, (unsigned long long)bad,
	       (unsigned long long)t.lost, S.kills, S.kills_reset, (double)tr.bytes / 1e6 / seconds,
	       (double)msgs / 1e6 / seconds, msgs ? (double)tr.notifications / (double)msgs : 0.0);
	if (S.kills) {
		qsort(S.reconnect_ms, S.kills, sizeof(double), cmp_double);
		printf("; reconnect median %.2f ms, max %.2f ms", S.reconnect_ms[S.kills / 2],
		       S.reconnect_ms[S.kills - 1]);
	}
	if (pass)
		printf("%s\n", extra);
	else
		printf("%s (seed %llu)\n", extra, (unsigned long long)opt.seed);
	return pass ? 0 : 1;
}

/* ---- setup -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [options]\n"
	        "  --kill-side consumer|producer|both   whom to SIGKILL and restart (consumer)\n"
	        "  --kills N              kills over the run (3); 'both' alternates sides\n"
	        "  --seconds S            run time (10)\n"
	        "  --messages N           stop after N messages if that comes first\n"
	        "  --size N               payload bytes (default: mixed 16..1024)\n"
	        "  --mode message|stream  channel mode; stream frames messages itself\n"
	        "  --seed N               seeds kill times and payloads (default: from the clock)\n"
	        "  --quiet                no progress line\n",
	        names.prog);
}

/* A usage error: what is wrong, where to look, exit status 2. */
static _Noreturn void bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void bad_arg(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", names.tag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", names.prog);
	exit(2);
}

static uint64_t parse_u64(const char *opt_name, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		bad_arg("%s %s: give a number from 0 to %llu", opt_name, s,
		        (unsigned long long)max);
	return v;
}

static void parse_args(int argc, char **argv)
{
	opt.seed = now() ^ ((uint64_t)getpid() << 32);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quiet")) {
			opt.quiet = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0)
			bad_arg("unexpected argument '%s'", a);
		if (strcmp(a, "--kill-side") && strcmp(a, "--kills") && strcmp(a, "--messages") &&
		    strcmp(a, "--seconds") && strcmp(a, "--size") && strcmp(a, "--mode") &&
		    strcmp(a, "--seed"))
			bad_arg("unknown option '%s'", a);
		if (!v)
			bad_arg("%s needs a value", a);
		i++;
		if (!strcmp(a, "--kill-side")) {
			opt.kill_side = !strcmp(v, "consumer")   ? KILL_CONSUMER
			                : !strcmp(v, "producer") ? KILL_PRODUCER
			                : !strcmp(v, "both")     ? KILL_BOTH
			                                         : 0;
			if (!opt.kill_side)
				bad_arg("--kill-side %s: write consumer, producer or both", v);
		} else if (!strcmp(a, "--kills")) {
			opt.kills = (unsigned)parse_u64(a, v, MAX_KILLS);
		} else if (!strcmp(a, "--messages")) {
			opt.messages = parse_u64(a, v, 1ull << 40);
		} else if (!strcmp(a, "--seconds")) {
			char *end;
			opt.seconds = strtod(v, &end);
			if (end == v || *end || !(opt.seconds > 0 && opt.seconds <= 86400))
				bad_arg("--seconds %s: give seconds, more than 0 and at most 86400",
				        v);
		} else if (!strcmp(a, "--size")) {
			opt.size = (long)parse_u64(a, v, MAX_FRAME - HDR_SIZE);
		} else if (!strcmp(a, "--mode")) {
			opt.mode = !strcmp(v, "message")  ? SHML_MODE_MESSAGE
			           : !strcmp(v, "stream") ? SHML_MODE_STREAM
			                                  : 0;
			if (!opt.mode)
				bad_arg("--mode %s: write message or stream", v);
		} else {
			opt.seed = parse_u64(a, v, UINT64_MAX);
		}
	}
}

static void create_ledger(void)
{
	int fd;
	capacity = opt.messages ? opt.messages : (uint64_t)(opt.seconds * RATE_BOUND) + 1000;
	ledger_bytes = sizeof(struct ledger) + capacity;
	/* Sparse: tmpfs allocates only the pages the run touches. */
	fd = open(ledger_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)ledger_bytes) != 0) {
		fprintf(stderr, "%s: %s: %s\n", names.tag, ledger_path, strerror(errno));
		exit(1);
	}
	L = mmap(NULL, ledger_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (L == MAP_FAILED) {
		L = NULL;
		fprintf(stderr, "%s: mmap %s: %s\n", names.tag, ledger_path, strerror(errno));
		unlink(ledger_path);
		exit(1);
	}
}

int shml_demo_main(int argc, char **argv, const struct shml_demo_names *n)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t t_run;
	int rc;

	names = *n;
	parse_args(argc, argv);
	channel.mode = opt.mode;
	cfg.region_size = shml_layout_bytes(&cfg);
	snprintf(region_path, sizeof(region_path), "/dev/shm/shmlink-demo-%d", (int)getpid());
	snprintf(ledger_path, sizeof(ledger_path), "/dev/shm/shmlink-demo-%d.ledger",
	         (int)getpid());
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	S.tty = isatty(2);
	S.kids[SIDE_PRODUCER] = (struct child){ .name = "producer", .run = run_producer };
	S.kids[SIDE_CONSUMER] = (struct child){ .name = "consumer", .run = run_consumer };

	create_ledger();
	attach(&S.mon, DOM_SUPERVISOR, SHML_HOST_CREATE);
	if (!opt.quiet) {
		char size[32] = "16..1024";
		if (opt.size >= 0)
			snprintf(size, sizeof(size), "%ld", opt.size);
		fprintf(stderr,
		        "%s: %s mode, payload %s bytes, %u kills (%s) over %g s, seed %llu\n",
		        names.tag, opt.mode == SHML_MODE_MESSAGE ? "message" : "stream", size,
		        opt.kills,
		        opt.kill_side == KILL_BOTH       ? "both sides"
		        : opt.kill_side == KILL_PRODUCER ? "producer"
		                                         : "consumer",
		        opt.seconds, (unsigned long long)opt.seed);
	}
	supervise();
	finish();
	t_run = now() - S.t0;
	rc = report((double)t_run / 1e9);
	cleanup();
	return rc;
}
