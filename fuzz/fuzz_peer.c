/* SPDX-License-Identifier: MIT */
/*
 * fuzz_peer: a hostile peer against one real channel end. docs/RELIABILITY.md
 * ("Fuzzing") describes it for users; this is the summary for maintainers.
 *
 * One region lives in a heap buffer of exactly shml_layout_bytes() bytes, so
 * ASan reports any access past it. It has two domains and two channels, one
 * in message mode and one in stream mode, with small rings. The victim is a
 * real struct shml_chan on each channel (side A, or side B if the input says
 * so). The peer is played by the input: a script of operations that
 *
 *   - write any u32, or a "nasty" value (nasty(): 0, ~0, 0x80000000, state
 *     values, the victim's generations and positions +- small deltas, ring
 *     sizes, a padding header that fits, ...), into any word of the peer's
 *     side block, the peer's domain slot or the peer's ring (the victim's
 *     incoming ring); in "wild" mode also into the victim's own ring, line
 *     and slot (a domain that can write the whole region, PROTOCOL.md §10);
 *   - forge a coherent peer control line, slot or message record at once;
 *   - drive an honest peer, a second real struct shml_chan on the other side,
 *     so the script reaches established sessions and real data, and then
 *     corrupts them mid-stream;
 *   - call one victim API function: poll, send/recv, write/read,
 *     reserve/commit, peek/release, the blocking calls with short timeouts,
 *     wait, discarded_next, reset_info, close and open (also a crash-restart:
 *     open without close), inspection calls;
 *   - "arm": let the peer run script operations at the port hooks the next
 *     victim call goes through (sleep, spin, cache and copy hooks), i.e. in
 *     the middle of that call, as a concurrent peer would.
 *
 * The port has a virtual clock: every now_ns read advances it by 1 ms, a
 * spin iteration (relax) by 9 ms more, and a sleep in the wait hook by half
 * its slice (a spurious early wake-up) or, if the input says so, by all of
 * it. A blocking call therefore ends after at most about timeout/1ms clock
 * reads, and scripts run fast whatever the timeouts.
 *
 * After every operation the harness checks (and aborts on failure):
 *   - every shared word access of the core is inside the region, naturally
 *     aligned, within the parts of the channel being called, and stores only
 *     go to the caller's own slot, side block or outgoing ring (shm_check.h;
 *     the other channel is also ASan-poisoned during a call);
 *   - returned lengths are within the caller's buffer, max_message and the
 *     ring; pointers from reserve/peek/discarded_next lie inside the right
 *     ring with their length; the bytes are touched so ASan sees them;
 *   - clock reads, spin iterations, sleeps and shared accesses per call are
 *     bounded: no call runs away;
 *   - at most one notification per call (plus one per concurrent peer op);
 *   - counters never decrease; the victim's published control line matches
 *     its private state (or, after a wild scribble, is repaired by the next
 *     step while not established); positions stay within a ring of each
 *     other;
 *   - while no hostile write has happened: every byte received equals what
 *     the honest side sent in that same session (never another session's);
 *     exact reset reports match what was sent and not consumed; a sleeper is
 *     always woken when the honest peer publishes data or a state change
 *     during its sleep.
 *
 * Input: 2 header bytes (configuration, F_* and F2_* below), then operations, each one
 * opcode byte (op | variant << 6 | channel << 7) and its operand bytes;
 * missing bytes read as 0. fuzz/mkcorpus.py writes seeds in this format.
 * FUZZ_TRACE=1 in the environment prints each operation and its result;
 * FUZZ_MASK steps around known open bugs (mask_known()).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shm_check.h" /* for fuzz_shm_access(); the harness's own accesses are not checked */
#include "shmlink.h"
#undef __atomic_load_n
#undef __atomic_store_n

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Wire offsets: the core's own (docs/PROTOCOL.md §5, §6), so the harness
 * follows the layout when it changes. The positions moved from the control
 * line (protocol 1) to a position line, the next cache line (protocol 2). */
#include "internal.h"
#if SHML_PROTOCOL_VERSION >= 2
#define OFF_TX_POS (g_line + POS_TX)
#define OFF_RX_POS (g_line + POS_RX)
#define POS_LINE_BYTES ((uint32_t)POS_USED)
#else
#define OFF_TX_POS ((uint32_t)CTL_TX_POS)
#define OFF_RX_POS ((uint32_t)CTL_RX_POS)
#define POS_LINE_BYTES 0u
#endif

#define TICK_NS 1000000ull    /* the virtual clock advances this much per read */
#define MAX_OPS 2000          /* operations per input */
#define READ_BASE 64u         /* clock reads any call may make, plus timeout / TICK */
#define HARD_LIMIT 100000u    /* clock reads, relax calls or waits per call: a loop */
#define ACCESS_LIMIT 2000000u /* shared word accesses per call: a loop */
#define MAX_DEPTH 6

/* The per-access checks run on every shared word access of the core: keep
 * libFuzzer's coverage and comparison tracing out of them (speed, and their
 * comparisons say nothing about the core). */
#define NO_COV __attribute__((no_sanitize("coverage")))

/* ---- failure reporting ------------------------------------------------------------ */

static int g_trace;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fuzz_peer: INVARIANT VIOLATED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

__attribute__((format(printf, 1, 2))) static void trace(const char *fmt, ...)
{
	va_list ap;
	if (!g_trace)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* ---- the script ---------------------------------------------------------------------- */

static const uint8_t *g_in;
static size_t g_len, g_pos;

static uint8_t u8(void)
{
	return g_pos < g_len ? g_in[g_pos++] : 0;
}

static uint32_t u32(void)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)u8() << (8 * i);
	return v;
}

/* ---- configuration and region ---------------------------------------------------------- */

enum {
	F_VICTIM_B = 1,         /* the victim is side B (else A) */
	F_SWAP = 2,             /* channel 0 is the stream channel (else the message one) */
	F_NO_WAIT = 4,          /* the port has no wait hook: blocking calls poll */
	F_SLEEP_FULL = 8,       /* the wait hook sleeps its whole slice (else returns at once) */
	F_NO_PEER = 16,         /* the honest peer is not attached at start */
	F_LINE128 = 32,         /* cacheline 128 */
	F_HOOKS = 64,           /* copy and cache hooks present (non-coherent, device memory) */
	F_ZEROED = 128,         /* the region starts zeroed (else garbage) */
	F2_SPIN0 = 32 << 8,     /* spin_ns = 0 (else the default) */
	F2_WILD = 64 << 8,      /* the peer may also write the victim's ring, line and slot */
	F2_NO_RELAX = 128 << 8, /* the port has no relax hook (the core's compiler barrier) */
};

struct actor {
	struct shml_region region;
	struct shml_chan ch[2];
	int attached;
	int opened[2]; /* the chan struct holds an opened channel (maybe closed since) */
	struct shml_counters last[2];
	void *res_ptr[2];
	uint32_t res_len[2];
	const void *peek_ptr[2];
	uint32_t peek_len[2];
};

/* Actors live at a fixed address: the core mixes the chan's address into new
 * generations, and a crash must replay the same way in another process. */
static struct actor *g_act;
static struct actor g_act_fallback[2];

static struct shml_domain_cfg g_dom[2] = { { "a", 1 }, { "b", 2 } };
static struct shml_channel_cfg g_chc[2];
static struct shml_config g_cfg;
static struct shml_channel_layout g_lay[2];
static uint8_t *g_mem;
static uint64_t g_size;
static uint32_t g_flags, g_line, g_side_size, g_stats_off;
static int g_vs, g_hs;     /* victim side, honest side (0 = A, 1 = B) */
static int g_msg_chan;     /* index of the message channel */
static int g_tainted;      /* a hostile write happened: content oracles are off */
static int g_scribbled[2]; /* wild: the victim's own line was scribbled since it matched */
static uint64_t g_now;
static struct shml_port g_port;

/* Parts of the region (docs/PROTOCOL.md §4): who owns them, which channel. */
enum { K_SLOT, K_SIDE, K_RING };
struct part {
	uint64_t lo, hi;
	int kind, chan, side; /* side: the owner (the writer) */
};
static struct part g_parts[2 + 4 * 2];
static int g_nparts;

static void add_part(uint64_t lo, uint64_t hi, int kind, int chan, int side)
{
	g_parts[g_nparts++] = (struct part){ lo, hi, kind, chan, side };
}

/* The fields of a side block by name (protocol 1 order), wherever the layout
 * puts them: scripts stay meaningful when the layout changes. */
static uint32_t field_off(unsigned f)
{
	static const uint32_t ctl[12] = { CTL_STATE,
		                          CTL_GEN,
		                          CTL_PEER_GEN,
		                          0,
		                          0,
		                          CTL_WAIT,
		                          CTL_WAIT_NEED,
		                          CTL_DOORBELL,
		                          CTL_FINAL_GEN,
		                          CTL_FINAL_TX,
		                          CTL_FINAL_OF,
		                          CTL_FINAL_RX };
	f %= 12u;
	return f == 3 ? OFF_TX_POS : f == 4 ? OFF_RX_POS : ctl[f];
}

/* [rel, rel+n) of a side block lies in its control fields or its positions. */
NO_COV static int in_protocol_fields(uint64_t rel, uint64_t n)
{
	return rel + n <= CTL_USED ||
	       (POS_LINE_BYTES && rel >= g_line && rel + n <= g_line + POS_LINE_BYTES);
}

NO_COV static const struct part *find_part(uint64_t off)
{
	for (int i = 0; i < g_nparts; i++)
		if (off >= g_parts[i].lo && off < g_parts[i].hi)
			return &g_parts[i];
	die("offset %llu is in no part of the layout", (unsigned long long)off);
}

/* ---- call context: who is calling, on which channel, what it may do ---------------- */

struct ctx {
	int actor;   /* side making the call, -1: the harness itself */
	int chan;    /* channel of the call, -1: a region-level call */
	int inspect; /* an inspection call: may read anything */
	const char *what;
	uint64_t reads, relax, waits, notifies, nested, accesses;
	uint64_t read_limit;
};
static struct ctx g_ctx = { .actor = -1, .chan = -1 };
static struct ctx g_stack[MAX_DEPTH];
static int g_depth;
static int g_nested_budget; /* peer ops the script may run during the victim's current call */
static unsigned g_mask;     /* FUZZ_MASK: known core bugs to step around (see mask_known()) */

NO_COV static void apply_poison(void)
{
	if (!g_mem)
		return;
	UNPOISON(g_mem, g_size);
	if (g_ctx.actor >= 0 && g_ctx.chan >= 0) {
		const struct shml_channel_layout *o = &g_lay[1 - g_ctx.chan];
		POISON(g_mem + o->offset, o->end - o->offset);
	}
}

static uint8_t *side_block(int c, int side);
static int is_msg(int c);

/*
 * FUZZ_MASK: step around known, still open core bugs (fuzz/regressions/
 * README.md), so that a run keeps looking for new ones instead of finding
 * the same one again. fuzz/run.sh reads it from fuzz/regressions/<h>.mask;
 * the regression inputs themselves are always replayed unmasked.
 *   1: before each call on the message channel, round the peer's final_rx
 *      down to a multiple of 8 (the misaligned account walk);
 *   2: no hostile write into the victim's outgoing ring while it has a
 *      discarded range to walk (the discarded_next double fetch).
 */
static void mask_known(int actor, int chan)
{
	if ((g_mask & 1u) && actor >= 0 && chan >= 0 && is_msg(chan)) {
		uint32_t *p = (uint32_t *)(void *)(side_block(chan, 1 - actor) + CTL_FINAL_RX);
		if (*p & 7u)
			*p &= ~7u;
	}
}

static void begin(int actor, int chan, const char *what, uint64_t timeout_ns)
{
	mask_known(actor, chan);
	if (g_depth >= MAX_DEPTH)
		die("call nesting too deep");
	g_stack[g_depth++] = g_ctx;
	memset(&g_ctx, 0, sizeof(g_ctx));
	g_ctx.actor = actor;
	g_ctx.chan = chan;
	g_ctx.what = what;
	g_ctx.read_limit = READ_BASE + (timeout_ns / TICK_NS) * 2u;
	if (g_ctx.read_limit > HARD_LIMIT)
		g_ctx.read_limit = HARD_LIMIT;
	apply_poison();
}

static uint64_t g_last_nested; /* peer ops that ran during the last call that ended */

static void end(void)
{
	g_last_nested = g_ctx.nested;
	if (g_ctx.notifies > 1 + g_ctx.nested)
		die("%s: %llu notifications in one call (%llu concurrent peer ops)", g_ctx.what,
		    (unsigned long long)g_ctx.notifies, (unsigned long long)g_ctx.nested);
	g_ctx = g_stack[--g_depth];
	apply_poison();
}

/* Is the access [off, off+n) by the current caller allowed? */
NO_COV static void check_access(uint64_t off, uint64_t n, int store, const char *how)
{
	const struct part *pt;
	uint64_t rel;
	if (g_ctx.actor < 0 || n == 0)
		return;
	pt = find_part(off);
	if (off + n > pt->hi)
		die("%s: %s [%llu, +%llu) crosses the end of a part of the layout", g_ctx.what, how,
		    (unsigned long long)off, (unsigned long long)n);
	if (g_ctx.chan >= 0 && pt->kind != K_SLOT && pt->chan != g_ctx.chan)
		die("%s: %s at %llu touches channel %d during a call on channel %d", g_ctx.what,
		    how, (unsigned long long)off, pt->chan, g_ctx.chan);
	rel = off - pt->lo;
	if (store) {
		if (pt->side != g_ctx.actor)
			die("%s: %s at %llu writes a part owned by the other side (kind %d)",
			    g_ctx.what, how, (unsigned long long)off, pt->kind);
		if (pt->kind == K_SLOT && g_ctx.chan >= 0)
			die("%s: a channel call writes its domain slot", g_ctx.what);
		if (pt->kind == K_SIDE && !in_protocol_fields(rel, n) &&
		    !(rel >= g_stats_off && rel + n <= g_stats_off + STAT_BYTES))
			die("%s: %s writes reserved bytes of its side block at +%llu", g_ctx.what,
			    how, (unsigned long long)rel);
	} else if (pt->kind == K_SIDE && !g_ctx.inspect && !in_protocol_fields(rel, n)) {
		die("%s: %s reads side block bytes at +%llu (only the control fields and "
		    "positions are protocol)",
		    g_ctx.what, how, (unsigned long long)rel);
	}
}

/* Called by the core (through shm_check.h) before each shared word access. */
NO_COV void fuzz_shm_access(const volatile void *p, size_t n, int store)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)g_mem;
	if (!g_mem)
		return;
	if (a < lo || a + n > lo + g_size || a + n < a)
		die("%s: shared %s at %p outside the region [%p, +%llu)",
		    g_ctx.what ? g_ctx.what : "?", store ? "store" : "load", (const void *)p,
		    (void *)g_mem, (unsigned long long)g_size);
	if (a & (n - 1))
		die("%s: misaligned %zu-byte shared %s at region offset %llu (docs/PROTOCOL.md §2)",
		    g_ctx.what ? g_ctx.what : "?", n, store ? "store" : "load",
		    (unsigned long long)(a - lo));
	if (g_ctx.actor >= 0 && ++g_ctx.accesses > ACCESS_LIMIT)
		die("%s: %u shared accesses in one call: a loop that does not end", g_ctx.what,
		    ACCESS_LIMIT);
	check_access(a - lo, n, store, store ? "word store" : "word load");
}

static void run_nested_op(void);

/* The peer may act at a hook the victim calls in the middle of an operation. */
static void maybe_nested(void)
{
	if (g_nested_budget > 0 && g_ctx.actor == g_vs) {
		g_nested_budget--;
		run_nested_op();
	}
}

NO_COV static void check_range(const volatile void *p, size_t n, int store, const char *how)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)g_mem;
	if (n == 0)
		return;
	if (a < lo || a + n > lo + g_size || a + n < a)
		die("%s: %s of %zu bytes at %p outside the region", g_ctx.what, how, n,
		    (const void *)p);
	check_access(a - lo, n, store, how);
}

/* ---- the port: virtual clock, counted hooks ------------------------------------------ */

static uint64_t port_now(void *ctx)
{
	(void)ctx;
	g_now += TICK_NS;
	if (++g_ctx.reads > g_ctx.read_limit)
		die("%s: %llu clock reads in one call (limit %llu): the call does not end",
		    g_ctx.what ? g_ctx.what : "?", (unsigned long long)g_ctx.reads,
		    (unsigned long long)g_ctx.read_limit);
	return g_now;
}

static struct shml_chan *peer_of(struct shml_chan *ch, int *side, int *chan);

static void port_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	(void)ctx;
	if ((const uint8_t *)doorbell != ch->self_line + CTL_DOORBELL)
		die("%s: notify with a doorbell that is not ours", g_ctx.what);
	g_ctx.notifies++;
}

/* Sleeping: the script may act as the peer meanwhile (a concurrent peer). */
static int port_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                     uint32_t expected, uint64_t timeout_ns)
{
	int side, c;
	struct shml_chan *h;
	uint32_t h_state = 0, h_gen = 0, h_tx = 0, announced;
	(void)ctx;
	if ((const uint8_t *)peer_doorbell != ch->peer_line + CTL_DOORBELL)
		die("%s: wait on a word that is not the peer's doorbell", g_ctx.what);
	if (timeout_ns == 0 || timeout_ns > 1000000000ull)
		die("%s: one sleep of %llu ns (the core caps a sleep at 1 s)", g_ctx.what,
		    (unsigned long long)timeout_ns);
	if (++g_ctx.waits > HARD_LIMIT)
		die("%s: %llu sleeps in one call", g_ctx.what, (unsigned long long)g_ctx.waits);
	h = peer_of(ch, &side, &c);
	announced = __atomic_load_n((const uint32_t *)(const void *)(ch->self_line + CTL_WAIT),
	                            __ATOMIC_ACQUIRE);
	if (!(announced & 4u))
		die("%s: sleeps without announcing STATE in its wait word (0x%x)", g_ctx.what,
		    announced);
	if (h) {
		h_state = h->state;
		h_gen = h->gen;
		h_tx = h->tx_pos;
	}
	while (g_nested_budget > 0 && g_ctx.actor == g_vs) {
		g_nested_budget--;
		run_nested_op();
	}
	/* No lost wake-up (docs/PROTOCOL.md §11.4): an honest peer that published
	 * data or changed state while we slept has rung its doorbell. */
	if (h && !g_tainted && *peer_doorbell == expected && g_act[side].opened[c] &&
	    ((h->state != h_state || h->gen != h_gen) || ((announced & 1u) && h->tx_pos != h_tx)))
		die("%s: lost wake-up: the peer changed (state %08x->%08x gen %08x->%08x tx "
		    "%u->%u) during our sleep (wait word 0x%x) without ringing its doorbell",
		    g_ctx.what, h_state, h->state, h_gen, h->gen, h_tx, h->tx_pos, announced);
	if (*peer_doorbell != expected)
		return 0;
	if (g_flags & F_SLEEP_FULL) {
		g_now += timeout_ns;
		return SHML_ETIMEDOUT;
	}
	g_now += timeout_ns / 2; /* woken early for no reason: the caller re-checks */
	return 0;
}

static void port_relax(void *ctx)
{
	(void)ctx;
	if (++g_ctx.relax > HARD_LIMIT)
		die("%s: %llu spin iterations in one call", g_ctx.what,
		    (unsigned long long)g_ctx.relax);
	g_now += 9 * TICK_NS; /* a spin iteration takes time too: keeps polling runs short */
	maybe_nested();
}

static void port_clean(void *ctx, const volatile void *p, size_t n)
{
	(void)ctx;
	check_range(p, n, 1, "cache clean");
	maybe_nested();
}

static void port_invalidate(void *ctx, const volatile void *p, size_t n)
{
	(void)ctx;
	check_range(p, n, 0, "cache invalidate");
	maybe_nested();
}

static void port_copy_to(void *ctx, volatile void *dst, const void *src, size_t n)
{
	(void)ctx;
	check_range(dst, n, 1, "copy to shared");
	memcpy((void *)(uintptr_t)dst, src, n);
	maybe_nested();
}

static void port_copy_from(void *ctx, void *dst, const volatile void *src, size_t n)
{
	(void)ctx;
	check_range(src, n, 0, "copy from shared");
	maybe_nested();
	memcpy(dst, (const void *)(uintptr_t)src, n);
}

/* ---- shared-memory access for the harness (the peer's writes) ------------------------ */

static uint32_t rd(const uint8_t *p)
{
	return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static void wr(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELEASE);
}

static struct shml_chan *V(int c)
{
	return &g_act[g_vs].ch[c];
}

static struct shml_chan *H(int c)
{
	return &g_act[g_hs].ch[c];
}

static int is_msg(int c)
{
	return c == g_msg_chan;
}

static uint8_t *side_block(int c, int side)
{
	return g_mem + (side ? g_lay[c].side_b : g_lay[c].side_a);
}

static uint8_t *ring_of(int c, int writer)
{
	return g_mem + (writer ? g_lay[c].ring_ba : g_lay[c].ring_ab);
}

static uint32_t ring_size(int c, int writer)
{
	return writer ? g_chc[c].ring_ba : g_chc[c].ring_ab;
}

static uint32_t max_msg(int c)
{
	return shml_channel_max_message(&g_cfg, (uint32_t)c);
}

/* The honest chan on the other side of @ch (NULL if @ch is not one of ours). */
static struct shml_chan *peer_of(struct shml_chan *ch, int *side, int *chan)
{
	for (int s = 0; s < 2; s++)
		for (int c = 0; c < 2; c++)
			if (&g_act[s].ch[c] == ch) {
				*side = 1 - s;
				*chan = c;
				return &g_act[1 - s].ch[c];
			}
	*side = *chan = 0;
	return NULL;
}

/* ---- nasty values ------------------------------------------------------------------------ */

static uint32_t nasty(int c, unsigned sel, uint32_t cur)
{
	struct shml_chan *v = V(c), *h = H(c);
	uint32_t n = ring_size(c, g_hs), tail = n - (v->rx_pos & (n - 1u));
	uint8_t *own = side_block(c, g_vs);
	switch (sel & 31u) {
	case 0:
		return 0;
	case 1:
		return 0xffffffffu;
	case 2:
		return 0x80000000u;
	case 3:
		return v->gen;
	case 4:
		return v->peer_gen;
	case 5:
		return v->tx_pos;
	case 6:
		return v->rx_pos;
	case 7:
		return cur;
	case 8:
		return SHML_STATE_SYNC;
	case 9:
		return SHML_STATE_ACK;
	case 10:
		return SHML_STATE_EST;
	case 11:
		return SHML_STATE_CLOSED;
	case 12:
		return n;
	case 13:
		return ring_size(c, g_vs);
	case 14:
		return max_msg(c);
	case 15:
		return 0x80000000u | (tail - 8u);
	case 16:
		return h->gen;
	case 17:
		return h->peer_gen;
	case 18:
		return h->tx_pos;
	case 19:
		return h->rx_pos;
	case 20:
		return v->rx_seq;
	case 21:
		return v->tx_seq;
	case 22:
		return rd(own + CTL_FINAL_GEN);
	case 23:
		return rd(own + CTL_FINAL_TX);
	case 24:
		return SHML_MAGIC;
	case 25:
		return SHML_PROTOCOL_VERSION;
	case 26:
		return (uint32_t)shml_config_hash(&g_cfg);
	case 27:
		return (uint32_t)(shml_config_hash(&g_cfg) >> 32);
	case 28:
		return v->peer_tx_seen;
	case 29:
		return v->peer_rx_seen;
	case 30:
		return cur | 7u;
	default:
		return 0x7fffffffu;
	}
}

/* One value: a selector byte; >= 0xf0 reads a raw u32, else nasty() plus a delta. */
static uint32_t pick(int c, uint32_t cur)
{
	uint8_t s = u8();
	uint32_t n = ring_size(c, g_hs), v;
	if (s >= 0xf0)
		return u32();
	v = nasty(c, s, cur);
	switch ((s >> 5) & 7u) {
	case 1:
		return v + 1u;
	case 2:
		return v - 1u;
	case 3:
		return v + 8u;
	case 4:
		return v - 8u;
	case 5:
		return v + 4u;
	case 6:
		return v + n;
	case 7:
		return v - n;
	default:
		return v;
	}
}

/* ---- content oracle ------------------------------------------------------------------------ */

static uint8_t pat(uint32_t gen, uint32_t idx, uint32_t len, uint32_t i)
{
	uint32_t x = gen * 0x9e3779b1u + idx * 0x85ebca77u + len * 0xc2b2ae3du + i * 0x27d4eb2fu;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 13;
	return (uint8_t)(x >> 24);
}

/* Writer sessions whose data may not match the pattern (a send that crossed a
 * session change inside the call was filled for the old one). */
struct bad {
	uint32_t gen;
	int side, chan;
};
static struct bad g_bad[16];
static unsigned g_nbad;

static void mark_bad(int side, int c, uint32_t gen)
{
	g_bad[g_nbad % 16] = (struct bad){ gen, side, c };
	g_nbad++;
}

static int is_bad(int side, int c, uint32_t gen)
{
	unsigned n = g_nbad < 16 ? g_nbad : 16;
	for (unsigned i = 0; i < n; i++)
		if (g_bad[i].gen == gen && g_bad[i].side == side && g_bad[i].chan == c)
			return 1;
	return 0;
}

/* ---- accounting oracle (docs/PROTOCOL.md §8) ----------------------------------------------------
 * Per writer session (side, channel, generation): what the writer's calls
 * accepted and what the honest receiver consumed. A reset report with
 * exact = 1 must say that exactly the difference was discarded. */
struct tally {
	uint32_t gen;
	int side, chan, unknown;
	uint64_t sent_msgs, sent_bytes, cons_msgs, cons_bytes;
};
static struct tally g_tally[64];
static unsigned g_ntally;

static struct tally *tally(int side, int c, uint32_t gen)
{
	for (unsigned i = 0; i < g_ntally; i++)
		if (g_tally[i].gen == gen && g_tally[i].side == side && g_tally[i].chan == c)
			return &g_tally[i];
	if (g_ntally == 64)
		return NULL;
	g_tally[g_ntally] = (struct tally){ .gen = gen, .side = side, .chan = c };
	return &g_tally[g_ntally++];
}

static void tally_sent(int side, int c, uint32_t gen, uint32_t msgs, uint32_t bytes)
{
	struct tally *t = tally(side, c, gen);
	if (t) {
		t->sent_msgs += msgs;
		t->sent_bytes += bytes;
	}
}

/* Receiver @ch on side @side consumed: it counts for the peer's session. */
static void tally_consumed(int side, int c, const struct shml_chan *ch, uint32_t msgs,
                           uint32_t bytes)
{
	struct tally *t = tally(1 - side, c, ch->peer_gen);
	if (t) {
		t->cons_msgs += msgs;
		t->cons_bytes += bytes;
	}
}

static void check_reset_report(int s, int c, const struct shml_chan *ch)
{
	const struct shml_reset_info *ri = &ch->reset;
	struct tally *t;
	uint64_t msgs, bytes;
	if (g_tainted || !ch->reset_valid || !ri->exact)
		return;
	for (unsigned i = 0; i < g_ntally; i++)
		if (g_tally[i].gen == ri->generation && g_tally[i].side == s &&
		    g_tally[i].chan == c)
			goto found;
	return;
found:
	t = tally(s, c, ri->generation);
	if (t->unknown)
		return;
	msgs = t->sent_msgs - t->cons_msgs;
	bytes = t->sent_bytes - t->cons_bytes;
	if ((is_msg(c) && ri->messages != msgs) || ri->bytes != bytes)
		die("side %d chan %d: exact reset report for session %08x says %u messages / %u "
		    "bytes discarded; %llu/%llu were accepted and %llu/%llu consumed",
		    s, c, ri->generation, ri->messages, ri->bytes, (unsigned long long)t->sent_msgs,
		    (unsigned long long)t->sent_bytes, (unsigned long long)t->cons_msgs,
		    (unsigned long long)t->cons_bytes);
}

static void fill_msg(uint8_t *buf, uint32_t len, const struct shml_chan *ch)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pat(ch->gen, ch->tx_seq, len, i);
}

static void fill_stream(uint8_t *buf, uint32_t len, const struct shml_chan *ch)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pat(ch->gen, ch->tx_pos + i, 0xffffffffu, 0);
}

/* @ch (side @s, channel @c) received @len bytes at @buf: message number @idx,
 * or stream offset @idx. They must be what the peer sent in this session. */
static void verify(int s, int c, const struct shml_chan *ch, const uint8_t *buf, uint32_t len,
                   uint32_t idx)
{
	if (g_tainted || is_bad(1 - s, c, ch->peer_gen))
		return;
	if (ch->state != SHML_STATE_EST)
		die("side %d chan %d delivered data while in state %08x", s, c, ch->state);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t want = is_msg(c) ? pat(ch->peer_gen, idx, len, i)
		                         : pat(ch->peer_gen, idx + i, 0xffffffffu, 0);
		if (buf[i] != want)
			die("side %d chan %d: byte %u of %s %u (len %u) is 0x%02x, the peer sent "
			    "0x%02x in session %08x: data from another session or corrupted",
			    s, c, i, is_msg(c) ? "message" : "stream offset", idx, len, buf[i],
			    want, ch->peer_gen);
	}
}

/* ---- per-call checks ------------------------------------------------------------------------ */

static void check_ptr_in(const void *p, uint32_t len, const uint8_t *ring, uint32_t size,
                         const char *what)
{
	const uint8_t *b = p;
	if (b < ring || b > ring + size || len > (uint32_t)(ring + size - b))
		die("%s: [%p, +%u) is not inside its ring [%p, +%u)", what, p, len, (void *)ring,
		    size);
}

static void check_chan_x(int s, int c, int stepped)
{
	struct actor *a = &g_act[s];
	struct shml_chan *ch = &a->ch[c];
	struct shml_counters now;
	const uint64_t *n, *o;
	uint8_t *line = side_block(c, s);
	if (!a->opened[c])
		return;
	if (ch->state != SHML_STATE_SYNC && ch->state != SHML_STATE_ACK &&
	    ch->state != SHML_STATE_EST && ch->state != SHML_STATE_CLOSED)
		die("side %d chan %d: state %08x", s, c, ch->state);
	shml_get_counters(ch, &now);
	n = &now.tx_messages;
	o = &a->last[c].tx_messages;
	for (int i = 0; i < 11; i++)
		if (n[i] < o[i])
			die("side %d chan %d: counter %d went back from %llu to %llu", s, c, i,
			    (unsigned long long)o[i], (unsigned long long)n[i]);
	a->last[c] = now;
	check_reset_report(s, c, ch);
	if (ch->state == SHML_STATE_CLOSED)
		return;
	if (ch->tx_pos - ch->peer_rx_seen > ch->tx_size)
		die("side %d chan %d: tx_pos %u is more than a ring ahead of the peer's rx %u", s,
		    c, ch->tx_pos, ch->peer_rx_seen);
	if (ch->peer_tx_seen - ch->rx_pos > ch->rx_size)
		die("side %d chan %d: rx_pos %u is more than a ring behind the peer's tx %u", s, c,
		    ch->rx_pos, ch->peer_tx_seen);
	if (is_msg(c) && ((ch->tx_pos | ch->rx_pos | ch->peer_rx_seen | ch->peer_tx_seen) & 7u))
		die("side %d chan %d: a message position is not a multiple of 8", s, c);
	if (ch->state != SHML_STATE_EST && (ch->tx_pos || ch->rx_pos))
		die("side %d chan %d: positions %u/%u outside a session", s, c, ch->tx_pos,
		    ch->rx_pos);
	/* The victim's own line is written only by the victim: it matches its state,
	 * unless a wild write scribbled it; then a step must repair it while the
	 * victim is not established (docs/PROTOCOL.md §10). */
	if (s == g_vs) {
		int same = rd(line + CTL_STATE) == ch->state && rd(line + CTL_GEN) == ch->gen &&
		           rd(line + CTL_PEER_GEN) == ch->peer_gen &&
		           rd(line + OFF_TX_POS) == ch->tx_pos &&
		           rd(line + OFF_RX_POS) == ch->rx_pos;
		if (same)
			g_scribbled[c] = 0;
		else if (!g_scribbled[c])
			die("side %d chan %d: published control line differs from the chan's state",
			    s, c);
		else if (stepped && ch->state != SHML_STATE_EST && ch->state != SHML_STATE_CLOSED)
			die("side %d chan %d: a step in state %08x left its scribbled line "
			    "unrepaired",
			    s, c, ch->state);
	}
}

static void check_chan(int s, int c)
{
	check_chan_x(s, c, 0);
}

static void check_rc(const char *what, long rc, long max)
{
	if (rc < SHML_ESTATE || rc > max)
		die("%s returned %ld (valid: %d..%ld)", what, rc, SHML_ESTATE, max);
}

/* ---- operations ------------------------------------------------------------------------------ */

enum {
	/* the hostile peer */
	OP_W_LINE,
	OP_W_SLOT,
	OP_W_RING,
	OP_FORGE_LINE,
	OP_FORGE_SLOT,
	OP_INJECT,
	OP_OWN_GARBAGE,
	OP_W_OWN_RING,
	/* the honest peer */
	OP_H_POLL,
	OP_H_SEND,
	OP_H_RECV,
	OP_H_ZC_SEND,
	OP_H_ZC_RECV,
	OP_H_CLOSE,
	OP_H_OPEN,
	OP_PUMP,
	/* the victim */
	OP_V_POLL,
	OP_V_SEND,
	OP_V_RECV,
	OP_V_RESERVE,
	OP_V_COMMIT,
	OP_V_PEEK,
	OP_V_RELEASE,
	OP_V_SEND_WAIT,
	OP_V_RECV_WAIT,
	OP_V_WAIT,
	OP_V_DISCARDED,
	OP_V_RESET_INFO,
	OP_V_CLOSE,
	OP_V_OPEN,
	OP_V_MISC,
	/* the peer acts during the victim's next call */
	OP_ARM,
	N_OPS
};

static const uint64_t g_timeouts[8] = { 0,        1000000,  2000000,    5000000,
	                                20000000, 50000000, 3000000000, 3000000 };

/* One send and one receive buffer per side: a blocking call of one side may
 * still be copying from its buffer while the other side acts during its sleep. */
static uint8_t g_sbufs[2][1 << 12], g_rbufs[2][1 << 12];

static void open_chan(int s, int c, int crash)
{
	struct actor *a = &g_act[s];
	struct shml_chan_opts opts = { .spin_ns = (g_flags & F2_SPIN0) ? 0 : 50000 };
	int rc;
	if (!a->attached)
		return;
	begin(s, c, crash ? "open (crash restart)" : "open", 0);
	rc = shml_chan_open(&a->region, &a->ch[c], (uint32_t)c, &opts);
	end();
	if (rc != 0)
		die("shml_chan_open returned %d", rc);
	a->opened[c] = 1;
	memset(&a->last[c], 0, sizeof(a->last[c]));
	a->res_ptr[c] = NULL;
	a->peek_ptr[c] = NULL;
	check_chan(s, c);
}

static void attach(int s)
{
	struct actor *a = &g_act[s];
	int rc;
	begin(s, -1, "attach", 0);
	rc = shml_region_attach(&a->region, &g_cfg, (uint32_t)s, g_mem, g_size, &g_port);
	end();
	if (rc != 0)
		die("shml_region_attach returned %d", rc);
	a->attached = 1;
}

/* Copying send/write of @len pattern bytes by side @s on channel @c. */
static long do_send(int s, int c, uint32_t len, int blocking, uint64_t timeout)
{
	uint8_t *sbuf = g_sbufs[s];
	struct shml_chan *ch = &g_act[s].ch[c];
	uint32_t gen0 = ch->gen, seq0 = ch->tx_seq, pos0 = ch->tx_pos;
	long rc;
	if (len > sizeof(g_sbufs[0]))
		len = sizeof(g_sbufs[0]);
	if (is_msg(c)) {
		fill_msg(sbuf, len, ch);
		rc = blocking ? shml_send_wait(ch, sbuf, len, timeout) : shml_send(ch, sbuf, len);
		check_rc("send", rc, 0);
		if (rc == 0 && (ch->gen != gen0 || ch->tx_seq != seq0 + 1u))
			mark_bad(s, c, ch->gen);
		if (rc == 0)
			tally_sent(s, c, ch->gen, 1, len);
	} else {
		fill_stream(sbuf, len, ch);
		rc = blocking ? shml_write_all(ch, sbuf, len, timeout) : shml_write(ch, sbuf, len);
		check_rc("write", rc, (long)len);
		if (rc > 0 && (ch->gen != gen0 || ch->tx_pos != pos0 + (uint32_t)rc)) {
			struct tally *t0 = tally(s, c, gen0), *t1 = tally(s, c, ch->gen);
			mark_bad(s, c, ch->gen);
			/* the bytes may be split between two sessions: stop accounting both */
			if (t0)
				t0->unknown = 1;
			if (t1)
				t1->unknown = 1;
		} else if (rc > 0) {
			tally_sent(s, c, ch->gen, 0, (uint32_t)rc);
		}
		if (rc > 0 && rc > (long)ch->tx_size && !blocking)
			die("write returned %ld > ring %u", rc, ch->tx_size);
	}
	return rc;
}

static long do_recv(int s, int c, uint32_t cap, int blocking, uint64_t timeout)
{
	uint8_t *rbuf = g_rbufs[s];
	struct shml_chan *ch = &g_act[s].ch[c];
	long rc;
	if (cap > sizeof(g_rbufs[0]))
		cap = sizeof(g_rbufs[0]);
	if (is_msg(c)) {
		rc = blocking ? shml_recv_wait(ch, rbuf, cap, timeout) : shml_recv(ch, rbuf, cap);
		check_rc("recv", rc, (long)(cap < max_msg(c) ? cap : max_msg(c)));
		if (rc >= 0) {
			verify(s, c, ch, rbuf, (uint32_t)rc, ch->rx_seq - 1u);
			tally_consumed(s, c, ch, 1, (uint32_t)rc);
		}
	} else {
		rc = blocking ? shml_read_wait(ch, rbuf, cap, timeout) : shml_read(ch, rbuf, cap);
		check_rc("read", rc, (long)(cap < ch->rx_size ? cap : ch->rx_size));
		if (rc > 0) {
			verify(s, c, ch, rbuf, (uint32_t)rc, ch->rx_pos - (uint32_t)rc);
			tally_consumed(s, c, ch, 0, (uint32_t)rc);
		}
	}
	return rc;
}

static long do_reserve(int s, int c, size_t len)
{
	struct actor *a = &g_act[s];
	struct shml_chan *ch = &a->ch[c];
	void *p = NULL;
	long rc = shml_reserve(ch, len, &p);
	check_rc("reserve", rc, is_msg(c) ? (long)max_msg(c) : (long)ch->tx_size);
	/* A stream reserve of 0 bytes reserves nothing and returns no pointer. */
	if (rc > 0 || (rc == 0 && is_msg(c))) {
		if (is_msg(c) && (size_t)rc != len)
			die("message reserve of %zu returned %ld", len, rc);
		if (!is_msg(c) && (size_t)rc > len)
			die("stream reserve of %zu returned %ld", len, rc);
		check_ptr_in(p, (uint32_t)rc, ring_of(c, s), ring_size(c, s), "reserve");
		memset(p, 0xa5, (size_t)rc); /* ASan sees every byte we were given */
		a->res_ptr[c] = p;
		a->res_len[c] = (uint32_t)rc;
	}
	return rc;
}

static long do_commit(int s, int c, uint32_t len)
{
	struct actor *a = &g_act[s];
	struct shml_chan *ch = &a->ch[c];
	int was_reserved;
	long rc;
	if (a->res_ptr[c] && ch->reserved && len <= a->res_len[c] && len <= ch->reserved_len) {
		if (is_msg(c))
			fill_msg(a->res_ptr[c], len, ch);
		else
			fill_stream(a->res_ptr[c], len, ch);
	}
	was_reserved = ch->reserved && len <= ch->reserved_len;
	rc = shml_commit(ch, len);
	check_rc("commit", rc, 0);
	if (rc == 0)
		a->res_ptr[c] = NULL;
	if (rc == 0 && was_reserved && (is_msg(c) || len))
		tally_sent(s, c, ch->gen, is_msg(c) ? 1u : 0u, len);
	return rc;
}

static long do_peek(int s, int c)
{
	uint8_t *rbuf = g_rbufs[s];
	struct actor *a = &g_act[s];
	struct shml_chan *ch = &a->ch[c];
	const void *p = NULL;
	long rc = shml_peek(ch, &p);
	a->peek_ptr[c] = NULL;
	check_rc("peek", rc, is_msg(c) ? (long)max_msg(c) : (long)ch->rx_size);
	if (rc >= 0) {
		check_ptr_in(p, (uint32_t)rc, ring_of(c, 1 - s), ring_size(c, 1 - s), "peek");
		memcpy(rbuf, p, (size_t)rc);
		verify(s, c, ch, rbuf, (uint32_t)rc, is_msg(c) ? ch->rx_seq : ch->rx_pos);
		a->peek_ptr[c] = p;
		a->peek_len[c] = (uint32_t)rc;
	}
	return rc;
}

static long do_release(int s, int c, size_t len)
{
	struct shml_chan *ch = &g_act[s].ch[c];
	int was_peeked = ch->peeked;
	uint32_t peeked_len = ch->peeked_len;
	long rc = shml_release(ch, len);
	check_rc("release", rc, 0);
	if (rc == 0 && was_peeked)
		tally_consumed(s, c, ch, is_msg(c) ? 1u : 0u,
		               is_msg(c) ? peeked_len : (uint32_t)len);
	return rc;
}

#define CALL(side, c, what, timeout, expr)                                                         \
	do {                                                                                       \
		begin((side), (c), (what), (timeout));                                             \
		rc = (expr);                                                                       \
		end();                                                                             \
		trace("  %s side %d chan %d -> %ld\n", (what), (side), (c), rc);                   \
		check_chan((side), (c));                                                           \
	} while (0)

static void hostile(void)
{
	g_tainted = 1;
}

/* The peer's ring words and line words, as a hostile peer writes them. */
static void op_inject(int c, int x)
{
	uint8_t *line = side_block(c, g_hs), *ring = ring_of(c, g_hs);
	uint32_t n = ring_size(c, g_hs), t = rd(line + OFF_TX_POS), off = t & (n - 8u);
	uint8_t ls = u8(), qs = u8(), bs = u8();
	hostile();
	if (is_msg(c)) {
		uint32_t len = ls < 0xc0 ? ls % (max_msg(c) + 1u) : pick(c, 0);
		uint32_t seq = qs < 0x80 ? V(c)->rx_seq + (qs & 15u) : pick(c, 0);
		uint32_t rec = 8u + ((len + 7u) & ~7u);
		if (!x && off != 0 && rec > n - off && len <= max_msg(c)) {
			wr(ring + off, 0x80000000u | (n - off - 8u));
			wr(ring + off + 4, seq);
			t += n - off;
			off = 0;
		}
		wr(ring + off, len);
		wr(ring + off + 4, seq);
		for (uint32_t i = 8; i < rec && off + i < n && len <= max_msg(c); i++)
			ring[off + i] = pat(V(c)->peer_gen, seq, len, i - 8);
		t += bs < 0x80 ? rec : pick(c, 0);
	} else {
		t += bs < 0xf0 ? (uint32_t)bs % n + 1u : pick(c, 0);
	}
	wr(line + OFF_TX_POS, t);
	trace("  inject chan %d: peer tx_pos -> %u\n", c, t);
}

static void op_forge_line(int c)
{
	uint8_t *line = side_block(c, g_hs);
	static const uint32_t states[4] = { SHML_STATE_SYNC, SHML_STATE_ACK, SHML_STATE_EST,
		                            SHML_STATE_CLOSED };
	uint8_t s = u8();
	uint32_t gen = (s & 4) ? H(c)->gen : (s & 8) ? pick(c, rd(line + CTL_GEN)) : V(c)->peer_gen;
	uint32_t ppg = (s & 16) ? pick(c, rd(line + CTL_PEER_GEN)) : V(c)->gen;
	hostile();
	if (gen == 0)
		gen = 0x1234567u;
	wr(line + CTL_GEN, gen);
	wr(line + CTL_PEER_GEN, ppg);
	wr(line + CTL_STATE, states[s & 3]);
	if (s & 32) {
		wr(line + OFF_TX_POS, V(c)->rx_pos);
		wr(line + OFF_RX_POS, V(c)->tx_pos);
	}
	if (s & 64) {
		wr(line + CTL_FINAL_OF, V(c)->gen);
		wr(line + CTL_FINAL_RX, pick(c, V(c)->peer_rx_seen));
	}
	trace("  forge line chan %d: state %08x gen %08x peer_gen %08x\n", c, states[s & 3], gen,
	      ppg);
}

static void op_forge_slot(int x)
{
	uint8_t *slot = g_mem + (uint64_t)g_hs * g_line;
	uint64_t h = shml_config_hash(&g_cfg);
	uint8_t s = x ? u8() : 0;
	hostile();
	wr(slot + 4, (s & 7) == 1 ? 2u : SHML_PROTOCOL_VERSION);
	wr(slot + 8, (uint32_t)h ^ ((s & 7) == 2 ? 1u : 0u));
	wr(slot + 12, (uint32_t)(h >> 32) ^ ((s & 7) == 3 ? 0x80000000u : 0u));
	wr(slot + 16, g_dom[g_hs].id);
	wr(slot + 20, g_line);
	wr(slot + 24, 2);
	wr(slot + 0, (s & 7) == 4 ? ~SHML_MAGIC : SHML_MAGIC);
}

static void run_op(int peer_only)
{
	uint8_t b = u8();
	int op = (b & 0x3f) % N_OPS, c = b >> 7, x = (b >> 6) & 1;
	struct actor *va = &g_act[g_vs], *ha = &g_act[g_hs];
	struct shml_chan *v = V(c), *h = H(c);
	long rc = 0;
	uint8_t t8, *sbuf = g_sbufs[g_vs], *rbuf = g_rbufs[g_vs];

	if (peer_only && op >= OP_V_POLL)
		return;
	trace("op %s%d chan %d x %d\n", peer_only ? "(during the victim's call) " : "", op, c, x);
	switch (op) {
	case OP_W_LINE: {
		uint8_t w = u8();
		uint32_t off = (w & 0x80) ? 4u * ((w & 0x7fu) % (g_side_size / 4u)) : field_off(w);
		uint8_t *p = side_block(c, g_hs) + off;
		uint32_t val = pick(c, rd(p));
		hostile();
		wr(p, val);
		trace("  peer side block chan %d +%u := 0x%08x\n", c, off, val);
		break;
	}
	case OP_W_SLOT: {
		uint32_t idx = u8() % (g_line / 4u);
		uint8_t *p = g_mem + (uint64_t)g_hs * g_line + 4u * idx;
		uint32_t val = pick(c, rd(p));
		hostile();
		wr(p, val);
		trace("  peer slot word %u := 0x%08x\n", idx, val);
		break;
	}
	case OP_W_RING: {
		uint32_t n = ring_size(c, g_hs), k = u8();
		uint32_t off = x ? ((v->rx_pos & (n - 1u) & ~3u) + 4u * k) & (n - 1u)
		                 : 4u * (k % (n / 4u));
		uint8_t *p = ring_of(c, g_hs) + off;
		uint32_t val = pick(c, rd(p));
		hostile();
		wr(p, val);
		trace("  peer ring chan %d +%u := 0x%08x\n", c, off, val);
		break;
	}
	case OP_FORGE_LINE:
		op_forge_line(c);
		break;
	case OP_FORGE_SLOT:
		op_forge_slot(x);
		break;
	case OP_INJECT:
		op_inject(c, x);
		break;
	case OP_OWN_GARBAGE: {
		/* The victim's predecessor left garbage in its line; the successor opens. */
		uint32_t off = field_off(u8());
		uint8_t *p = side_block(c, g_vs) + off;
		uint32_t val = pick(c, rd(p));
		if (peer_only)
			break;
		hostile();
		wr(p, val);
		trace("  own side block chan %d +%u := 0x%08x, crash restart\n", c, off, val);
		open_chan(g_vs, c, 1);
		break;
	}
	case OP_W_OWN_RING: {
		/* Wild only: a domain that can write the whole region scribbles the
		 * victim's own ring (x = 0), or its control line, statistics or
		 * domain slot (x = 1). docs/PROTOCOL.md §10: the victim must survive. */
		uint8_t k = u8();
		uint8_t *p;
		uint32_t val;
		if (!x) {
			uint32_t n = ring_size(c, g_vs);
			p = ring_of(c, g_vs) + 4u * (k % (n / 4u));
		} else if (k & 0x80) {
			p = g_mem + (uint64_t)g_vs * g_line + 4u * (k % (g_line / 4u));
		} else {
			p = side_block(c, g_vs) +
			    ((k & 0x40) ? 4u * (k % (g_side_size / 4u)) : field_off(k));
		}
		val = pick(c, rd(p));
		if (!(g_flags & F2_WILD) || (!x && (g_mask & 2u) && v->discard_walkable))
			break;
		hostile();
		wr(p, val);
		if (x && !(k & 0x80))
			g_scribbled[c] = 1;
		trace("  victim's own %s chan %d +%ld := 0x%08x\n", x ? "line/slot" : "ring", c,
		      (long)(p - g_mem), val);
		break;
	}
	case OP_H_POLL:
		if (ha->opened[c])
			CALL(g_hs, c, "peer poll", 0, shml_poll(h));
		break;
	case OP_H_SEND: {
		uint32_t len = u8();
		len = is_msg(c) ? len % (max_msg(c) + 2u) : len % (2u * h->tx_size + 1u);
		if (ha->opened[c])
			CALL(g_hs, c, "peer send", 0, do_send(g_hs, c, len, 0, 0));
		break;
	}
	case OP_H_RECV: {
		uint32_t cap = x ? u8() : sizeof(g_rbufs[0]);
		if (ha->opened[c])
			CALL(g_hs, c, "peer recv", 0, do_recv(g_hs, c, cap, 0, 0));
		break;
	}
	case OP_H_ZC_SEND: {
		uint32_t len = u8() % (is_msg(c) ? max_msg(c) + 1u : h->tx_size + 1u);
		if (!ha->opened[c])
			break;
		CALL(g_hs, c, "peer reserve", 0, do_reserve(g_hs, c, len));
		if (rc >= 0)
			CALL(g_hs, c, "peer commit", 0, do_commit(g_hs, c, (uint32_t)rc));
		break;
	}
	case OP_H_ZC_RECV: {
		uint8_t k = u8();
		if (!ha->opened[c])
			break;
		CALL(g_hs, c, "peer peek", 0, do_peek(g_hs, c));
		if (rc >= 0)
			CALL(g_hs, c, "peer release", 0,
			     do_release(g_hs, c, is_msg(c) || !x ? (size_t)rc : k % (rc + 1)));
		break;
	}
	case OP_H_CLOSE:
		if (ha->opened[c]) {
			begin(g_hs, c, "peer close", 0);
			shml_chan_close(h);
			end();
			check_chan(g_hs, c);
		}
		break;
	case OP_H_OPEN:
		if (!ha->attached) {
			attach(g_hs);
			open_chan(g_hs, 0, 0);
			open_chan(g_hs, 1, 0);
		} else {
			if (x && ha->opened[c]) {
				begin(g_hs, c, "peer close", 0);
				shml_chan_close(h);
				end();
			}
			open_chan(g_hs, c, ha->opened[c] && h->state != SHML_STATE_CLOSED);
		}
		break;
	case OP_PUMP: {
		int k = (u8() & 15) + 1;
		for (int i = 0; i < k; i++) {
			if (ha->opened[c] && h->state != SHML_STATE_CLOSED)
				CALL(g_hs, c, "peer poll", 0, shml_poll(h));
			if (!peer_only && v->state != SHML_STATE_CLOSED)
				CALL(g_vs, c, "poll", 0, shml_poll(v));
		}
		break;
	}
	case OP_V_POLL:
		CALL(g_vs, c, "poll", 0, shml_poll(v));
		check_rc("poll", rc, 1);
		/* A poll steps: a line scribbled before it is repaired (one scribbled
		 * by the peer during the call, after the repair, waits for the next). */
		check_chan_x(g_vs, c, g_last_nested == 0);
		break;
	case OP_V_SEND: {
		uint32_t len = u8();
		len = is_msg(c) ? len % (max_msg(c) + 2u) : len % (2u * v->tx_size + 1u);
		CALL(g_vs, c, is_msg(c) ? "send" : "write", 0, do_send(g_vs, c, len, 0, 0));
		break;
	}
	case OP_V_RECV: {
		uint32_t cap = x ? u8() : sizeof(g_rbufs[0]);
		CALL(g_vs, c, is_msg(c) ? "recv" : "read", 0, do_recv(g_vs, c, cap, 0, 0));
		break;
	}
	case OP_V_RESERVE: {
		uint8_t l = u8();
		size_t len = x ? (l & 1 ? (size_t)1 << 31 : (size_t)max_msg(c) + 1u)
		               : l % (is_msg(c) ? max_msg(c) + 1u : v->tx_size + 1u);
		CALL(g_vs, c, "reserve", 0, do_reserve(g_vs, c, len));
		break;
	}
	case OP_V_COMMIT: {
		uint8_t l = u8();
		uint32_t len = x ? l : va->res_ptr[c] ? va->res_len[c] : 0;
		CALL(g_vs, c, "commit", 0, do_commit(g_vs, c, len));
		break;
	}
	case OP_V_PEEK:
		CALL(g_vs, c, "peek", 0, do_peek(g_vs, c));
		break;
	case OP_V_RELEASE: {
		uint8_t l = u8();
		size_t len = x ? l : va->peek_ptr[c] ? va->peek_len[c] : 0;
		CALL(g_vs, c, "release", 0, do_release(g_vs, c, len));
		break;
	}
	case OP_V_SEND_WAIT: {
		uint32_t len = u8();
		uint64_t to;
		t8 = u8();
		to = g_timeouts[t8 & 7];
		if (((t8 >> 3) & 3) > g_nested_budget)
			g_nested_budget = (t8 >> 3) & 3;
		len = is_msg(c) ? len % (max_msg(c) + 2u) : len % (2u * v->tx_size + 1u);
		CALL(g_vs, c, is_msg(c) ? "send_wait" : "write_all", to,
		     do_send(g_vs, c, len, 1, to));
		if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN)
			die("blocking send returned %ld (shmlink.h: not EAGAIN or ENOTCONN)", rc);
		break;
	}
	case OP_V_RECV_WAIT: {
		uint32_t cap = x ? u8() : sizeof(g_rbufs[0]);
		uint64_t to;
		t8 = u8();
		to = g_timeouts[t8 & 7];
		if (((t8 >> 3) & 3) > g_nested_budget)
			g_nested_budget = (t8 >> 3) & 3;
		CALL(g_vs, c, is_msg(c) ? "recv_wait" : "read_wait", to,
		     do_recv(g_vs, c, cap, 1, to));
		if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN)
			die("blocking receive returned %ld (shmlink.h: not EAGAIN or ENOTCONN)",
			    rc);
		break;
	}
	case OP_V_WAIT: {
		uint8_t ev = u8(), need = u8();
		uint64_t to;
		t8 = u8();
		to = g_timeouts[t8 & 7];
		if (((t8 >> 3) & 3) > g_nested_budget)
			g_nested_budget = (t8 >> 3) & 3;
		size_t want = x ? (size_t)need << 8 : need;
		int quiet;
		CALL(g_vs, c, "wait", to, shml_wait(v, ev & 7u, want, to));
		check_rc("wait", rc, 7);
		/* What wait reports holds for the call that follows, if the peer has
		 * not moved since it looked (no peer op ran during the wait). Honest
		 * scripts only: a hostile peer's lone padding record is "readable"
		 * until the victim skips it. */
		quiet = !g_tainted && g_last_nested == 0;
		if (quiet && rc > 0 && (rc & (int)ev & SHML_EV_READABLE)) {
			CALL(g_vs, c, "recv after readable", 0,
			     do_recv(g_vs, c, sizeof(g_rbufs[0]), 0, 0));
			if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN)
				die("wait said readable, then a receive returned %ld", rc);
		} else if (quiet && rc > 0 && (rc & (int)ev & SHML_EV_WRITABLE)) {
			uint32_t len =
			        want > sizeof(g_sbufs[0]) ? sizeof(g_sbufs[0]) : (uint32_t)want;
			if (!is_msg(c) && len == 0)
				len = 1;
			CALL(g_vs, c, "send after writable", 0, do_send(g_vs, c, len, 0, 0));
			if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN)
				die("wait said writable for %zu bytes, then a send of %u returned "
				    "%ld",
				    want, len, rc);
		}
		break;
	}
	case OP_V_DISCARDED: {
		int k = x ? 64 : 1;
		for (int i = 0; i < k; i++) {
			const void *p = NULL;
			CALL(g_vs, c, "discarded_next", 0, shml_discarded_next(v, &p));
			check_rc("discarded_next", rc,
			         is_msg(c) ? (long)max_msg(c) : (long)v->tx_size);
			if (rc < 0)
				break;
			check_ptr_in(p, (uint32_t)rc, ring_of(c, g_vs), ring_size(c, g_vs),
			             "discarded_next");
			memcpy(rbuf, p, (size_t)rc);
		}
		break;
	}
	case OP_V_RESET_INFO: {
		struct shml_reset_info ri;
		CALL(g_vs, c, "reset_info", 0, shml_reset_info(v, &ri));
		check_rc("reset_info", rc, 0);
		if (rc == 0) {
			trace("  reset gen %08x messages %u bytes %u exact %d prev %d closed %d\n",
			      ri.generation, ri.messages, ri.bytes, ri.exact, ri.previous_process,
			      ri.peer_closed);
			if (ri.bytes > v->tx_size)
				die("reset_info: %u bytes discarded from a ring of %u", ri.bytes,
				    v->tx_size);
			if (is_msg(c) && ri.messages > v->tx_size / 8u)
				die("reset_info: %u messages discarded from a ring of %u",
				    ri.messages, v->tx_size);
		}
		break;
	}
	case OP_V_CLOSE:
		begin(g_vs, c, "close", 0);
		shml_chan_close(v);
		end();
		check_chan(g_vs, c);
		break;
	case OP_V_OPEN:
		if (x && v->state != SHML_STATE_CLOSED) {
			begin(g_vs, c, "close", 0);
			shml_chan_close(v);
			end();
		}
		open_chan(g_vs, c, v->state != SHML_STATE_CLOSED);
		break;
	case OP_V_MISC: {
		uint8_t k = u8();
		switch (k & 7) {
		case 0: {
			struct shml_side_view sv;
			begin(g_vs, c, "inspect", 0);
			g_ctx.inspect = 1;
			shml_inspect_side(&va->region, (uint32_t)c, (uint32_t)((k >> 3) & 1), &sv);
			end();
			break;
		}
		case 1: {
			struct shml_slot_info si;
			begin(g_vs, -1, "read_slot", 0);
			shml_read_slot(&va->region, (uint32_t)((k >> 3) & 1), &si);
			end();
			break;
		}
		case 2:
			begin(g_vs, c, "publish_counters", 0);
			if (v->state != SHML_STATE_CLOSED)
				shml_publish_counters(v);
			end();
			break;
		case 3: /* the other mode's calls must refuse */
			CALL(g_vs, c, "wrong-mode send", 0,
			     is_msg(c) ? shml_write(v, sbuf, 1) : shml_send(v, sbuf, 1));
			if (rc != SHML_EINVAL)
				die("wrong-mode send returned %ld", rc);
			CALL(g_vs, c, "wrong-mode recv", 0,
			     is_msg(c) ? shml_read(v, rbuf, 1) : shml_recv(v, rbuf, 1));
			if (rc != SHML_EINVAL)
				die("wrong-mode recv returned %ld", rc);
			break;
		case 4:
			CALL(g_vs, c, "recv cap 0", 0, do_recv(g_vs, c, 0, 0, 0));
			break;
		case 5:
			CALL(g_vs, c, "send len 0", 0, do_send(g_vs, c, 0, 0, 0));
			break;
		case 6:
			CALL(g_vs, c, "reserve len 0", 0, do_reserve(g_vs, c, 0));
			break;
		default:
			if (shml_connected(v) != (v->state == SHML_STATE_EST))
				die("shml_connected disagrees with the state");
			/* A burst: volume in one session (the counters are published
			 * every 4096 data operations). */
			for (int i = 0; i < ((k >> 3) & 31) * 16 && ha->opened[c]; i++) {
				CALL(g_hs, c, "peer send", 0,
				     do_send(g_hs, c, (uint32_t)i % 17u, 0, 0));
				CALL(g_vs, c, "recv", 0,
				     do_recv(g_vs, c, sizeof(g_rbufs[0]), 0, 0));
				if (rc < 0)
					break;
			}
			break;
		}
		check_chan(g_vs, c);
		break;
	}
	case OP_ARM: /* up to 4 peer operations at the hooks of the next victim call */
		g_nested_budget = (u8() & 3) + 1;
		return;
	default:
		break;
	}
	if (!peer_only)
		g_nested_budget = 0;
}

static void run_nested_op(void)
{
	if (g_pos >= g_len)
		return;
	g_ctx.nested++;
	begin(-1, -1, "peer during sleep", 0);
	run_op(1);
	end();
	mask_known(g_ctx.actor, g_ctx.chan); /* the sleeper resumes: same as a new call */
}

/* ---- one input ---------------------------------------------------------------------------- */

/*
 * A heap buffer of exactly @size bytes, aligned for any cacheline: ASan
 * reports the first byte past it. Kept from one input to the next (one per
 * size), because allocating fresh memory each time costs more than the run;
 * setup() fills it completely, so nothing carries over.
 */
static uint8_t *region_buffer(uint64_t size)
{
	static struct {
		uint64_t size;
		uint8_t *mem;
	} cache[32];
	unsigned i;
	for (i = 0; i < 32 && cache[i].mem; i++)
		if (cache[i].size == size)
			return cache[i].mem;
	if (i == 32)
		abort();
	if (posix_memalign((void **)&cache[i].mem, 128, size) != 0)
		abort();
	cache[i].size = size;
	return cache[i].mem;
}

static void setup(uint32_t flags)
{
	uint8_t b1 = (uint8_t)(flags >> 8);
	g_flags = flags;
	g_line = (flags & F_LINE128) ? 128u : 64u;
	g_vs = (flags & F_VICTIM_B) ? 1 : 0;
	g_hs = 1 - g_vs;
	g_msg_chan = (flags & F_SWAP) ? 1 : 0;
	g_chc[g_msg_chan] = (struct shml_channel_cfg){ .name = "msg",
		                                       .a = 0,
		                                       .b = 1,
		                                       .mode = SHML_MODE_MESSAGE,
		                                       .ring_ab = (b1 & 1) ? 128u : 256u,
		                                       .ring_ba = (b1 & 2) ? 512u : 256u,
		                                       .max_message = (b1 & 4) ? 24u : 0u };
	g_chc[1 - g_msg_chan] = (struct shml_channel_cfg){ .name = "stream",
		                                           .a = 0,
		                                           .b = 1,
		                                           .mode = SHML_MODE_STREAM,
		                                           .ring_ab = (b1 & 8) ? 256u : 512u,
		                                           .ring_ba = (b1 & 16) ? 512u : 256u };
	g_cfg = (struct shml_config){ .cacheline = g_line,
		                      .n_domains = 2,
		                      .domains = g_dom,
		                      .n_channels = 2,
		                      .channels = g_chc };
	g_size = shml_layout_bytes(&g_cfg);
	g_cfg.region_size = g_size;
	if (shml_config_check(&g_cfg, NULL) != 0)
		die("the harness's configuration is invalid");
	g_side_size = shml_side_block_size(&g_cfg);
	g_stats_off = g_side_size - align_up32(STAT_BYTES, g_line); /* the block ends with them */

	g_nparts = 0;
	for (int d = 0; d < 2; d++)
		add_part((uint64_t)d * g_line, (uint64_t)(d + 1) * g_line, K_SLOT, -1, d);
	for (int c = 0; c < 2; c++) {
		shml_channel_layout(&g_cfg, (uint32_t)c, &g_lay[c]);
		add_part(g_lay[c].side_a, g_lay[c].side_b, K_SIDE, c, 0);
		add_part(g_lay[c].side_b, g_lay[c].ring_ab, K_SIDE, c, 1);
		add_part(g_lay[c].ring_ab, g_lay[c].ring_ba, K_RING, c, 0);
		add_part(g_lay[c].ring_ba, g_lay[c].end, K_RING, c, 1);
	}
	if (g_lay[1].end != g_size)
		die("layout does not end at shml_layout_bytes()");

	g_mem = region_buffer(g_size);
	if (flags & F_ZEROED) {
		memset(g_mem, 0, g_size);
	} else {
		uint64_t s = 0x5eed5eed12345678ull;
		for (uint64_t i = 0; i < g_size; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			g_mem[i] = (uint8_t)s;
		}
	}

	memset(&g_port, 0, sizeof(g_port));
	g_port.now_ns = port_now;
	g_port.notify = port_notify;
	g_port.wait = (flags & F_NO_WAIT) ? NULL : port_wait;
	g_port.relax = (flags & F2_NO_RELAX) ? NULL : port_relax;
	if (flags & F_HOOKS) {
		g_port.cache_clean = port_clean;
		g_port.cache_invalidate = port_invalidate;
		g_port.copy_to_shared = port_copy_to;
		g_port.copy_from_shared = port_copy_from;
	}
	g_now = 1000000000ull;
	g_tainted = 0;
	g_scribbled[0] = g_scribbled[1] = 0;
	g_nbad = 0;
	g_ntally = 0;
	g_depth = 0;
	g_nested_budget = 0;
	g_ctx = (struct ctx){ .actor = -1, .chan = -1 };
	memset(g_act, 0, 2 * sizeof(*g_act));

	attach(g_vs);
	open_chan(g_vs, 0, 0);
	open_chan(g_vs, 1, 0);
	if (!(flags & F_NO_PEER)) {
		attach(g_hs);
		open_chan(g_hs, 0, 0);
		open_chan(g_hs, 1, 0);
	}
}

static void teardown(void)
{
	UNPOISON(g_mem, g_size);
	g_mem = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	void *fixed;
	(void)argc;
	(void)argv;
	g_trace = getenv("FUZZ_TRACE") != NULL;
	g_mask = getenv("FUZZ_MASK") ? (unsigned)strtoul(getenv("FUZZ_MASK"), NULL, 0) : 0u;
	fixed = mmap((void *)0x10000000, 1 << 16, PROT_READ | PROT_WRITE,
	             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	g_act = fixed == MAP_FAILED ? g_act_fallback : fixed;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t flags;
	if (!g_act)
		LLVMFuzzerInitialize(NULL, NULL);
	g_in = data;
	g_len = size;
	g_pos = 0;
	flags = u8();
	flags |= (uint32_t)u8() << 8;
	trace("config 0x%04x\n", flags);
	setup(flags);
	for (int i = 0; i < MAX_OPS && g_pos < g_len; i++)
		run_op(0);
	teardown();
	return 0;
}
