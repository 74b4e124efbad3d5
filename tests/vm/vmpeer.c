/* SPDX-License-Identifier: MIT */
/*
 * shml-vmpeer: one shmlink domain of the VM tests, on the host or inside a
 * Linux guest (a static binary: the guest's initramfs runs it as is).
 *
 *   shml-vmpeer port=PORT self=D [ids=ID0,ID1] [vectors=N] [timeout=S] STEP...
 *
 * PORT:  host:SOCKET   a host peer of the ivshmem server at SOCKET (doorbells)
 *        vfio[:BDF]    in a guest: the ivshmem-doorbell device through vfio-pci
 *        sysfs[:BDF]   in a guest: BAR2 through sysfs resource2 (polling)
 *        file:PATH     on the host: the file behind ivshmem-plain (polling)
 * STEPs run in order on one attachment (the peer runs the matching ones):
 *        duplex-msg=BYTES duplex-stream=BYTES   both ways at once, checked
 *        ping=ROUNDS pong=ROUNDS                round trips (ping measures)
 *        source=COUNT sink[=PAUSE_AFTER]        the kill test's ledgered stream
 *                                               (the sink stops reading after
 *                                               PAUSE_AFTER until a reset)
 *        debug-exit=CODE                        QEMU's isa-debug-exit (guest)
 * Results are lines starting with "SHML " on stdout; the last is
 * "SHML result=PASS" or "SHML result=FAIL ...". Exit status 0 on PASS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <time.h>
#include <unistd.h>

#include "shmlink.h"
#include "shmlink_host.h"
#include "shmlink_ivshmem.h"
#include "workload.h"

static struct {
	const char *port;
	uint32_t self;
	int have_self;
	struct shml_ivshmem_ids ids;
	uint32_t vectors;
	uint64_t timeout_ns;
	uint32_t warmup, ping_size;
} opt = { .vectors = 2, .timeout_ns = 300000000000ull, .warmup = 20, .ping_size = 64 };

/* The attachment. */
static struct shml_ivshmem_client client;
static struct shml_ivshmem_guest guest;
static struct shml_host_region file_region;
static struct shml_port file_port;
static struct shml_port *port;
static struct shml_ivshmem_stats *port_stats;
static uint8_t *mem;
static uint64_t mem_size;
static struct shml_region region;
static struct shml_chan chans[WL_N_CHANNELS];

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("SHML ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("SHML result=FAIL ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	return shml_host_now_ns();
}
static const struct wl_clock clk = { now_ns, NULL };

static int parse_size(const char *s, uint64_t *out_v)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	if (*end)
		return -1;
	*out_v = v;
	return 0;
}

static uint64_t size_arg(const char *key, const char *v)
{
	uint64_t n;
	if (!v || parse_size(v, &n))
		fail("bad value for %s: '%s'", key, v ? v : "");
	return n;
}

static void attach(void)
{
	const char *p = opt.port;
	int32_t own_id = -1; /* our ivshmem peer id, if we have one */
	int rc;
	if (!p)
		fail("port=... is needed");
	if (!opt.have_self || opt.self > 1)
		fail("self=0 or self=1 is needed");
	if (!strncmp(p, "host:", 5)) {
		rc = shml_ivshmem_client_connect(&client, p + 5, opt.vectors, &opt.ids, 10000);
		if (rc)
			fail("host peer: %s", client.err);
		mem = client.mem;
		mem_size = client.size;
		port = &client.port;
		port_stats = &client.stats;
		own_id = client.id;
		out("attach port=host id=%d size=%llu", (int)client.id,
		    (unsigned long long)client.size);
		if (opt.ids.id[opt.self] >= 0 && opt.ids.id[opt.self] != client.id)
			fail("the server gave us id %d, ids= says %d: doorbells would miss",
			     (int)client.id, (int)opt.ids.id[opt.self]);
	} else if (!strncmp(p, "vfio", 4) || !strncmp(p, "sysfs", 5)) {
		int vfio = p[0] == 'v';
		const char *bdf = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
		rc = shml_ivshmem_guest_open(&guest, bdf,
		                             vfio ? SHML_IVSHMEM_VFIO : SHML_IVSHMEM_SYSFS,
		                             vfio ? opt.vectors : 0, &opt.ids);
		if (rc)
			fail("guest port: %s", guest.err);
		mem = guest.mem;
		mem_size = guest.size;
		port = &guest.port;
		port_stats = &guest.stats;
		own_id = vfio ? guest.id : -1;
		out("attach port=%s bdf=%s id=%d size=%llu vectors=%u regs=%s",
		    vfio ? "vfio" : "sysfs", guest.bdf, (int)guest.id,
		    (unsigned long long)guest.size, guest.vectors,
		    guest.regs ? "mmap" : (vfio ? "pwrite" : "none"));
		if (vfio && opt.ids.id[opt.self] >= 0 && opt.ids.id[opt.self] != guest.id)
			fail("IVPosition is %d, ids= says %d: doorbells would miss", (int)guest.id,
			     (int)opt.ids.id[opt.self]);
	} else if (!strncmp(p, "file:", 5)) {
		rc = shml_host_map(&file_region, p + 5, WL_REGION_BYTES, 0);
		if (rc)
			fail("map %s: %s", p + 5, strerror(-rc));
		shml_host_port_init(&file_port);
		file_port.notify = NULL; /* the guest cannot see futexes: both poll */
		file_port.wait = NULL;
		mem = file_region.mem;
		mem_size = file_region.size;
		port = &file_port;
		out("attach port=file size=%llu (polling)", (unsigned long long)mem_size);
	} else {
		fail("unknown port '%s'", p);
	}
	if (mem_size < WL_REGION_BYTES)
		fail("region is %llu bytes; the tests' configuration needs %u",
		     (unsigned long long)mem_size, WL_REGION_BYTES);
	rc = shml_region_attach(&region, &wl_config, opt.self, mem, mem_size, port);
	if (rc)
		fail("attach: %s", shml_strerror(rc));
	/* The peer rings the id we publish here (ids= only overrides it). */
	rc = own_id >= 0 ? shml_ivshmem_publish(&region, own_id) : 0;
	if (rc)
		fail("publish our ivshmem id %d: %s", (int)own_id, shml_strerror(rc));
	for (uint32_t c = 0; c < WL_N_CHANNELS; c++) {
		rc = shml_chan_open(&region, &chans[c], c, NULL);
		if (rc)
			fail("open channel %u: %s", c, shml_strerror(rc));
	}
}

static void detach(void)
{
	for (uint32_t c = 0; c < WL_N_CHANNELS; c++)
		shml_chan_close(&chans[c]);
	if (port == &client.port)
		shml_ivshmem_client_close(&client);
	else if (port == &guest.port)
		shml_ivshmem_guest_close(&guest);
	else if (port == &file_port)
		shml_host_unmap(&file_region);
}

static void print_port_stats(const char *what)
{
	if (!port_stats)
		return;
	out("port %s notifies=%llu dropped=%llu waits=%llu interrupts=%llu timeouts=%llu", what,
	    (unsigned long long)port_stats->notifies,
	    (unsigned long long)port_stats->notify_dropped, (unsigned long long)port_stats->waits,
	    (unsigned long long)port_stats->interrupts,
	    (unsigned long long)port_stats->wait_timeouts);
}

static void step_duplex(uint32_t c, uint64_t bytes)
{
	static uint8_t txbuf[WL_BULK_MAX_FRAME], rxbuf[4 * WL_BULK_MAX_FRAME];
	struct shml_counters k0, k1;
	struct wl_result r;
	struct shml_ivshmem_stats p0 = port_stats ? *port_stats : (struct shml_ivshmem_stats){ 0 };
	const char *mode = c == WL_CH_STREAM ? "stream" : "message";
	double secs;
	int rc;
	shml_get_counters(&chans[c], &k0);
	rc = wl_duplex(&chans[c], bytes, WL_BULK_MAX_PAYLOAD, opt.self + 1, (opt.self ^ 1) + 1,
	               &clk, opt.timeout_ns, txbuf, rxbuf, sizeof(rxbuf), &r);
	if (rc)
		fail("duplex %s: %s (tx %llu frames, rx %llu frames, at rx seq %u)", mode,
		     wl_strerror(rc), (unsigned long long)r.tx_frames,
		     (unsigned long long)r.rx_frames, r.bad_seq);
	shml_get_counters(&chans[c], &k1);
	secs = (double)r.ns / 1e9;
	out("duplex mode=%s bytes_each_way=%llu frames_tx=%llu frames_rx=%llu secs=%.3f "
	    "MiBps_each_way=%.1f notify_sent=%llu wakeups=%llu notify_per_msg=%.4f "
	    "waits=%llu interrupts=%llu",
	    mode, (unsigned long long)bytes, (unsigned long long)r.tx_frames,
	    (unsigned long long)r.rx_frames, secs,
	    (double)r.tx_bytes / (1024.0 * 1024.0) / (secs > 0 ? secs : 1e-9),
	    (unsigned long long)(k1.notify_sent - k0.notify_sent),
	    (unsigned long long)(k1.wakeups - k0.wakeups),
	    (double)(k1.notify_sent - k0.notify_sent) / (double)(r.tx_frames ? r.tx_frames : 1),
	    (unsigned long long)r.waits,
	    (unsigned long long)(port_stats ? port_stats->interrupts - p0.interrupts : 0));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void step_ping(uint32_t rounds, int initiator)
{
	static uint8_t buf[4096];
	struct shml_counters k0, k1;
	uint32_t *rtt;
	int rc;
	shml_get_counters(&chans[WL_CH_PING], &k0);
	if (!initiator) {
		rc = wl_pong(&chans[WL_CH_PING], opt.warmup, rounds, opt.timeout_ns, buf,
		             sizeof(buf));
		if (rc)
			fail("pong: %s", wl_strerror(rc));
		out("pong rounds=%u", rounds);
		return;
	}
	rtt = calloc(rounds ? rounds : 1, sizeof(*rtt));
	if (!rtt)
		fail("out of memory");
	rc = wl_ping(&chans[WL_CH_PING], opt.warmup, rounds, opt.ping_size, &clk, opt.timeout_ns,
	             buf, rtt);
	if (rc)
		fail("ping: %s", wl_strerror(rc));
	shml_get_counters(&chans[WL_CH_PING], &k1);
	qsort(rtt, rounds, sizeof(*rtt), cmp_u32);
	out("rtt rounds=%u size=%u min_us=%.1f median_us=%.1f p99_us=%.1f max_us=%.1f "
	    "notify_per_msg=%.3f",
	    rounds, opt.ping_size, rtt[0] / 1e3, rtt[rounds / 2] / 1e3,
	    rtt[(uint64_t)rounds * 99 / 100] / 1e3, rtt[rounds - 1] / 1e3,
	    (double)(k1.notify_sent - k0.notify_sent) /
	            (double)(k1.tx_messages - k0.tx_messages ? k1.tx_messages - k0.tx_messages
	                                                     : 1));
	free(rtt);
}

/* ---- the kill test: a ledgered stream ------------------------------------------------- */

/*
 * Ledgers in the region's spare 2 MiB, one byte per seq, each written by one
 * side only (they survive a killed guest):
 *   source  ATTEMPTED before the send, SENT after it; DISCARDED when a reset
 *           report (shml_discarded_next) names it
 *   sink    INFLIGHT when verified, RECEIVED after the release (the release is
 *           the commit point: INFLIGHT counts as received unless discarded)
 * A source that is killed and started again resumes after its last ATTEMPTED
 * seq; that one was sent or not, the reset report says which.
 */
enum { SRC_SENT = 1, SRC_DISCARDED = 2, SRC_ATTEMPTED = 3, SINK_INFLIGHT = 1, SINK_RECEIVED = 2 };
#define LEDGER_MIN 64u
#define LEDGER_MAX 1024u

static volatile uint8_t *ledger(uint32_t off)
{
	return (volatile uint8_t *)(mem + off);
}

/* After SHML_ERESET: mark what the reset discarded; returns the count. */
static uint32_t take_reset(struct shml_chan *ch, uint32_t *resets, uint32_t *inexact)
{
	struct shml_reset_info ri;
	const void *buf;
	int32_t n;
	uint32_t marked = 0;
	if (shml_reset_info(ch, &ri) != 0)
		return 0;
	while ((n = shml_discarded_next(ch, &buf)) >= 0) {
		struct wl_hdr h;
		if ((uint32_t)n < WL_HDR)
			fail("discarded message of %d bytes", (int)n);
		memcpy(&h, buf, sizeof(h));
		if (h.magic != WL_MAGIC)
			fail("discarded message without magic");
		if (h.seq < WL_LEDGER_MAX)
			ledger(WL_LEDGER_SRC)[h.seq] = SRC_DISCARDED;
		marked++;
	}
	if (n != SHML_EAGAIN)
		fail("discard walk: %s", shml_strerror(n));
	(*resets)++;
	if (!ri.exact)
		(*inexact)++;
	out("reset generation=%u discarded_messages=%u discarded_bytes=%u exact=%d "
	    "previous_process=%d walked=%u",
	    ri.generation, ri.messages, ri.bytes, ri.exact, ri.previous_process, marked);
	if (marked != ri.messages)
		fail("reset reported %u discarded messages, the walk found %u", ri.messages,
		     marked);
	return marked;
}

/*
 * Every seq below @count received exactly once or reported discarded; at most
 * @abandon_ok seqs ATTEMPTED by a source that died inside the send and never
 * sent. Returns the discarded count; fails the program otherwise.
 */
static uint32_t check_ledger(const char *who, uint32_t count, uint32_t abandon_ok)
{
	uint32_t received = 0, disc = 0, lost = 0, conflict = 0, unsent = 0, abandoned = 0;
	for (uint32_t s = 0; s < count; s++) {
		uint8_t a = ledger(WL_LEDGER_SRC)[s], b = ledger(WL_LEDGER_SINK)[s];
		if (a == 0)
			unsent++;
		else if (b == SINK_RECEIVED && a == SRC_DISCARDED)
			conflict++;
		else if (b == SINK_RECEIVED || (b == SINK_INFLIGHT && a != SRC_DISCARDED))
			received++;
		else if (a == SRC_DISCARDED)
			disc++;
		else if (a == SRC_ATTEMPTED)
			abandoned++;
		else
			lost++;
	}
	out("ledger by=%s sent=%u received=%u discarded=%u lost=%u received_and_discarded=%u "
	    "unsent=%u abandoned=%u",
	    who, count, received, disc, lost, conflict, unsent, abandoned);
	if (received + disc + abandoned != count || lost || conflict || unsent ||
	    abandoned > abandon_ok)
		fail("ledger does not balance");
	return disc;
}

static void step_source(uint32_t count)
{
	static uint8_t buf[WL_HDR + LEDGER_MAX];
	struct shml_chan *ch = &chans[WL_CH_LEDGER];
	uint32_t resets = 0, inexact = 0, discarded = 0, first = 0;
	uint64_t t0 = shml_host_now_ns();
	if (count > WL_LEDGER_MAX)
		fail("source: at most %u messages", WL_LEDGER_MAX);
	/* A successor resumes after what its predecessor attempted. */
	while (first < count && ledger(WL_LEDGER_SRC)[first] != 0)
		first++;
	if (first)
		out("source resumes at seq=%u", first);
	for (uint32_t s = first; s <= count;) {
		uint32_t seq = s < count ? s : WL_END_SEQ;
		uint32_t n = wl_make(buf, 1, seq,
		                     s < count ? wl_payload_len(s, LEDGER_MIN, LEDGER_MAX) : 0);
		int rc;
		if (s < count && ledger(WL_LEDGER_SRC)[s] == 0)
			ledger(WL_LEDGER_SRC)[s] = SRC_ATTEMPTED;
		if (s == count)
			memcpy(buf + offsetof(struct wl_hdr, sum), &count,
			       4); /* END carries the count */
		rc = shml_send_wait(ch, buf, n, opt.timeout_ns);
		if (rc == SHML_ERESET) {
			discarded += take_reset(ch, &resets, &inexact);
			continue; /* this one was not sent: again */
		}
		if (rc)
			fail("source: send %u: %s", s, shml_strerror(rc));
		if (s < count)
			ledger(WL_LEDGER_SRC)[s] = SRC_SENT;
		s++;
		if (s % 1000 == 0)
			out("progress sent=%u", s);
	}
	/* The sink answers once it has everything. */
	for (;;) {
		int32_t n = shml_recv_wait(ch, buf, sizeof(buf), opt.timeout_ns);
		struct wl_hdr h;
		if (n == SHML_ERESET) {
			discarded += take_reset(ch, &resets, &inexact);
			fail("source: reset after the end: the sink restarted too late");
		}
		if (n < 0)
			fail("source: waiting for the sink's answer: %s", shml_strerror(n));
		memcpy(&h, buf, sizeof(h));
		if ((uint32_t)n >= WL_HDR && h.magic == WL_MAGIC && h.seq == WL_DONE_SEQ)
			break;
	}
	/* The ledger: every message received exactly once or reported discarded. */
	uint32_t disc = check_ledger("source", count, first ? 1 : 0);
	out("source resets=%u inexact=%u discarded_reported=%u secs=%.2f", resets, inexact,
	    discarded, (double)(shml_host_now_ns() - t0) / 1e9);
	if (inexact)
		fail("a reset report was not exact");
	if (!first && disc != discarded)
		fail("the ledger has %u discarded, the reset reports said %u", disc, discarded);
}

static void step_sink(uint32_t pause_after)
{
	static uint8_t buf[WL_HDR + 16];
	struct shml_chan *ch = &chans[WL_CH_LEDGER];
	uint32_t got = 0, first = 0, next = 0, sessions = 0, count = 0;
	int in_session = 0;
	for (;;) {
		const void *p;
		struct wl_hdr h;
		int32_t n = shml_peek(ch, &p);
		int rc;
		if (n == SHML_EAGAIN || n == SHML_ENOTCONN) {
			int w = shml_wait(ch, SHML_EV_READABLE | SHML_EV_STATE, 0, opt.timeout_ns);
			if (w < 0)
				fail("sink: wait: %s", shml_strerror(w));
			if (w == 0)
				fail("sink: nothing for %llu s",
				     (unsigned long long)(opt.timeout_ns / 1000000000ull));
			continue;
		}
		if (n == SHML_ERESET) {
			struct shml_reset_info ri;
			shml_reset_info(ch, &ri);
			in_session = 0;
			out("sink reset");
			continue;
		}
		if (n < 0)
			fail("sink: %s", shml_strerror(n));
		if ((uint32_t)n < WL_HDR)
			fail("sink: short frame");
		memcpy(&h, p, sizeof(h));
		if (h.seq == WL_END_SEQ) {
			count = h.sum; /* the END frame carries the count */
			shml_release(ch, 0);
			break;
		}
		rc = wl_check(p, (uint32_t)n, 1, h.seq, LEDGER_MIN, LEDGER_MAX);
		if (rc)
			fail("sink: frame %u: %s", h.seq, wl_strerror(rc));
		if (h.seq >= WL_LEDGER_MAX)
			fail("sink: seq %u out of range", h.seq);
		if (!in_session) {
			in_session = 1;
			sessions++;
			first = h.seq;
			out("sink session=%u first_seq=%u", sessions, first);
		} else if (h.seq != next) {
			fail("sink: seq %u after %u within one session", h.seq, next - 1);
		}
		next = h.seq + 1;
		ledger(WL_LEDGER_SINK)[h.seq] = SINK_INFLIGHT;
		shml_release(ch, 0);
		ledger(WL_LEDGER_SINK)[h.seq] = SINK_RECEIVED;
		got++;
		if (pause_after && got == pause_after) {
			/* Stop reading until the session resets: the ring fills up, and a
			 * kill of either side then lands with messages in flight. */
			out("sink pausing at seq=%u", h.seq);
			pause_after = 0;
			if (shml_wait(ch, SHML_EV_STATE, 0, opt.timeout_ns) <= 0)
				fail("sink: no reset while paused");
		}
	}
	uint32_t n = wl_make(buf, 2, WL_DONE_SEQ, 0);
	int rc = shml_send_wait(ch, buf, n, opt.timeout_ns);
	if (rc)
		fail("sink: answer: %s", shml_strerror(rc));
	out("sink received=%u first_seq=%u last_seq=%u sessions=%u", got, first, next - 1,
	    sessions);
	if (count > WL_LEDGER_MAX)
		fail("sink: END says %u messages", count);
	/* A source restarted once per extra session may have abandoned one send each time. */
	check_ledger("sink", count, sessions ? sessions - 1 : 0);
}

static void debug_exit(unsigned code)
{
	/* isa-debug-exit at 0xf4: QEMU exits with (code << 1) | 1. */
	fflush(NULL);
	if (ioperm(0xf4, 4, 1) != 0) {
		fprintf(stderr, "ioperm: %s\n", strerror(errno));
		return;
	}
	outl(code, 0xf4);
}

int main(int argc, char **argv)
{
	int attached = 0;
	shml_ivshmem_ids_clear(&opt.ids);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Options first (key=value), then the steps in order. */
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *v = strchr(a, '=');
		size_t k = v ? (size_t)(v - a) : strlen(a);
		if (v)
			v++;
#define IS(name) (k == strlen(name) && !strncmp(a, name, k))
		if (IS("port")) {
			opt.port = v;
		} else if (IS("self")) {
			opt.self = (uint32_t)size_arg("self", v);
			opt.have_self = 1;
		} else if (IS("ids")) {
			if (!v || shml_ivshmem_ids_parse(&opt.ids, v) < 0)
				fail("bad ids '%s' (e.g. ids=0,1)", v ? v : "");
		} else if (IS("vectors")) {
			opt.vectors = (uint32_t)size_arg("vectors", v);
		} else if (IS("timeout")) {
			opt.timeout_ns = size_arg("timeout", v) * 1000000000ull;
		} else if (IS("warmup")) {
			opt.warmup = (uint32_t)size_arg("warmup", v);
		} else if (IS("size")) {
			opt.ping_size = (uint32_t)size_arg("size", v) & ~3u;
			if (opt.ping_size > 4000)
				fail("size: at most 4000");
		} else if (IS("debug-exit")) {
			debug_exit((unsigned)size_arg("debug-exit", v));
			return 0;
		} else {
			if (!attached) {
				attach();
				attached = 1;
			}
			if (IS("duplex-msg"))
				step_duplex(WL_CH_MSG, size_arg(a, v));
			else if (IS("duplex-stream"))
				step_duplex(WL_CH_STREAM, size_arg(a, v));
			else if (IS("ping"))
				step_ping((uint32_t)size_arg(a, v), 1);
			else if (IS("pong"))
				step_ping((uint32_t)size_arg(a, v), 0);
			else if (IS("source"))
				step_source((uint32_t)size_arg(a, v));
			else if (IS("sink"))
				step_sink(v ? (uint32_t)size_arg(a, v) : 0);
			else if (IS("sleep")) {
				struct timespec ts = { 0, 0 };
				uint64_t ms = size_arg(a, v);
				ts.tv_sec = (time_t)(ms / 1000);
				ts.tv_nsec = (long)(ms % 1000) * 1000000;
				nanosleep(&ts, NULL);
			} else
				fail("unknown step '%s'", a);
		}
#undef IS
	}
	if (!attached)
		fail("no steps");
	print_port_stats("end");
	detach();
	out("result=PASS");
	return 0;
}
