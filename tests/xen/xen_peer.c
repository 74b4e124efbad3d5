/* SPDX-License-Identifier: MIT */
/*
 * The Linux side of the Xen tests: a static aarch64 program in each domU's
 * initramfs (tests/xen/init.sh runs it). It uses the Xen port
 * (include/shmlink_xen.h) with a configuration compiled in from the test's
 * INI file by `shmlink gen header` (scripts/xen.sh writes xen_configs.c).
 *
 *   xen_peer CONFIG DOMAIN run BYTES [echo]
 *       both directions at once, BYTES each way, every byte checked, FNV-1a 64 of
 *       each direction printed; then waits until the peer consumed all. With
 *       "echo", the peer is an echo service (examples/xen/baremetal): what comes
 *       back must be what we sent.
 *   xen_peer CONFIG DOMAIN ping N SPIN_NS
 *       N round trips of 64 bytes (side A measures, side B echoes), blocking calls
 *       spinning SPIN_NS before they sleep (0: every wait sleeps on the event
 *       channel, which measures the notification path).
 *   xen_peer CONFIG DOMAIN restart-tx N [K]
 *       side A: N numbered messages; a reset (the receiver restarted) is
 *       accounted: the discarded messages are sent again, no more, no less.
 *       With K, first a command that makes a baremetal peer (the echo service)
 *       the receiver, rebooting itself after message K-1.
 *   xen_peer CONFIG DOMAIN restart-rx N FILE
 *       side B: receives message numbers in order from where FILE says the
 *       previous process stopped (FILE survives SIGKILL: tmpfs, mmap), acks N.
 *   xen_peer progress FILE        prints FILE's next message number
 *   xen_peer data SEED BYTES FILE writes BYTES of the deterministic stream SEED
 *                                 (what `run` sends) to FILE: the CLI scenario's data
 *
 * Every result is one line "SHMLINK-RESULT dom=... test=... key=value ...";
 * a failure prints "SHMLINK-FAIL dom=... what" and exits 1. The host side
 * (scripts/xen.sh run) reads them from Xen's console.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shmlink.h"
#include "shmlink_xen.h"
#include "xen_configs.h"

#define SEC 1000000000ull
#define STEP_TIMEOUT (120 * SEC)

static const char *dom = "?";

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void failf(const char *fmt, ...)
{
	va_list ap;
	printf("SHMLINK-FAIL dom=%s ", dom);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* ---- deterministic data ------------------------------------------------------------------ */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Byte @i of stream @seed: 8 bytes per mix() call. */
static void gen_bytes(uint8_t *out, uint64_t seed, uint64_t pos, size_t n)
{
	while (n) {
		uint64_t blk = pos >> 3, v = mix(seed * 0x100000001b3ull ^ blk);
		unsigned off = (unsigned)(pos & 7);
		size_t k = 8 - off < n ? 8 - off : n;
		for (size_t i = 0; i < k; i++)
			out[i] = (uint8_t)(v >> (8 * (off + i)));
		out += k, pos += k, n -= k;
	}
}

struct fnv {
	uint64_t h;
};
static void fnv_init(struct fnv *f)
{
	f->h = 0xcbf29ce484222325ull;
}
static void fnv_add(struct fnv *f, const uint8_t *p, size_t n)
{
	uint64_t h = f->h;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	f->h = h;
}

/* Message mode: message @k of a direction is gen_bytes(seed, offset of k, len(k)). */
static uint32_t msg_len(uint64_t seed, uint64_t k, uint32_t max)
{
	uint64_t r = mix(seed ^ (k << 20) ^ 0x5eed);
	/* Mostly mid-sized, some tiny, some at the maximum: exercises every alignment. */
	switch (r & 7) {
	case 0:
		return (uint32_t)(r >> 8) % 16 + 1;
	case 1:
		return max;
	default:
		return (uint32_t)(r >> 8) % max + 1;
	}
}

/* ---- setup ---------------------------------------------------------------------------------- */

struct peer {
	const struct xen_test_cfg *t;
	uint32_t self, side, mode, max_message;
	uint32_t ports[1];
	struct shml_xen *x;
	struct shml_region r;
	struct shml_chan ch;
};

static const char *bind_name(int b)
{
	switch (b) {
	case SHML_XEN_BIND_STATIC:
		return "static";
	case SHML_XEN_BIND_FALLBACK:
		return "fallback";
	case SHML_XEN_BIND_POLL:
		return "poll";
	default:
		return "?";
	}
}

static void peer_open(struct peer *p, const char *cfgname, const char *domname)
{
	struct shml_xen_opts o = { 0 };
	const char *b = getenv("SHMLINK_XEN_BIND");
	int rc;
	p->t = NULL;
	for (unsigned i = 0; i < xen_test_n_cfgs; i++)
		if (strcmp(xen_test_cfgs[i].name, cfgname) == 0)
			p->t = &xen_test_cfgs[i];
	if (!p->t)
		failf("no config named %s", cfgname);
	rc = shml_find_domain(p->t->cfg, domname);
	if (rc < 0)
		failf("config %s has no domain %s", cfgname, domname);
	p->self = (uint32_t)rc;
	p->side = p->t->cfg->channels[0].a == p->self ? 0 : 1;
	p->mode = p->t->cfg->channels[0].mode;
	p->max_message = shml_channel_max_message(p->t->cfg, 0);
	p->ports[0] = p->side == 0 ? p->t->evtchn_a : p->t->evtchn_b;
	o.shm_id = p->t->shm_id;
	o.evtchn = p->ports;
	if (b && strcmp(b, "static") == 0)
		o.bind = SHML_XEN_BIND_STATIC;
	else if (b && strcmp(b, "fallback") == 0)
		o.bind = SHML_XEN_BIND_FALLBACK;
	else if (b && strcmp(b, "poll") == 0)
		o.bind = SHML_XEN_BIND_POLL;
	rc = shml_xen_open(&p->x, p->t->cfg, p->self, &o);
	if (rc)
		failf("shml_xen_open: %s", shml_xen_error());
	rc = shml_region_attach(&p->r, p->t->cfg, p->self, shml_xen_mem(p->x), shml_xen_size(p->x),
	                        shml_xen_port(p->x));
	if (rc)
		failf("shml_region_attach: %s", shml_strerror(rc));
}

static void chan_open(struct peer *p, const struct shml_chan_opts *opts)
{
	int rc = shml_chan_open(&p->r, &p->ch, 0, opts);
	if (rc)
		failf("shml_chan_open: %s", shml_strerror(rc));
}

static void print_binding(struct peer *p)
{
	const struct shml_xen_region_info *ri = shml_xen_region(p->x);
	printf("SHMLINK-INFO dom=%s region=0x%" PRIx64 "+0x%" PRIx64
	       " node=%s binding=%s port=%u\n",
	       dom, ri->address, ri->size, ri->node + strlen(SHML_XEN_DT_ROOT),
	       bind_name(shml_xen_chan_binding(p->x, 0)), shml_xen_chan_local_port(p->x, 0));
}

static void print_counters(struct peer *p, const char *test)
{
	struct shml_counters c;
	shml_get_counters(&p->ch, &c);
	printf("SHMLINK-RESULT dom=%s test=%s-ctr notify=%" PRIu64 " suppr=%" PRIu64
	       " wake=%" PRIu64 " resets=%" PRIu64 " perr=%" PRIu64 "\n",
	       dom, test, c.notify_sent, c.notify_suppressed, c.wakeups, c.resets,
	       c.protocol_errors);
}

/* Wait until the handshake completes. */
static void connect_wait(struct peer *p)
{
	uint64_t end = now() + STEP_TIMEOUT;
	while (shml_poll(&p->ch) != 1) {
		if (now() > end)
			failf("no session with the peer after %llu s",
			      (unsigned long long)(STEP_TIMEOUT / SEC));
		shml_wait(&p->ch, SHML_EV_STATE, 0, SEC / 10);
	}
}

static void nap(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / SEC), .tv_nsec = (long)(ns % SEC) };
	nanosleep(&ts, NULL);
}

/*
 * Until the peer consumed all we sent (its rx_pos reaches our tx_pos), or left.
 * Read-only: a side that is done must not step its state machine any more, or
 * the peer's next process could briefly connect to this one just before it
 * closes, and start with a reset.
 */
static void drain(struct peer *p)
{
	uint64_t end = now() + STEP_TIMEOUT;
	for (;;) {
		struct shml_side_view me, peer;
		shml_inspect_side(&p->r, 0, p->side, &me);
		shml_inspect_side(&p->r, 0, 1 - p->side, &peer);
		if (peer.rx_pos == me.tx_pos || peer.state != SHML_STATE_EST)
			return;
		if (now() > end)
			failf("the peer did not consume our data (rx %u of %u)", peer.rx_pos,
			      me.tx_pos);
		nap(SEC / 1000);
	}
}

/* ---- run: both directions, then round trips --------------------------------------------- */

struct dir {
	uint64_t seed, total, done, k; /* k: message number */
	struct fnv sum;
};

static int32_t xfer_step_tx(struct peer *p, struct dir *d, uint8_t *buf)
{
	struct shml_chan *ch = &p->ch;
	if (p->mode == SHML_MODE_MESSAGE) {
		uint32_t max = p->max_message < 16384 ? p->max_message : 16384;
		uint32_t len = msg_len(d->seed, d->k, max);
		int rc;
		if (len > d->total - d->done)
			len = (uint32_t)(d->total - d->done);
		gen_bytes(buf, d->seed, d->done, len);
		rc = shml_send(ch, buf, len);
		if (rc == 0) {
			fnv_add(&d->sum, buf, len);
			d->done += len;
			d->k++;
			return (int32_t)len;
		}
		return rc;
	} else {
		size_t len = (size_t)(mix(d->seed ^ d->done) % 12000) + 1;
		int32_t n;
		if (len > d->total - d->done)
			len = (size_t)(d->total - d->done);
		gen_bytes(buf, d->seed, d->done, len);
		n = shml_write(ch, buf, len);
		if (n > 0) {
			fnv_add(&d->sum, buf, (size_t)n);
			d->done += (uint64_t)n;
		}
		return n;
	}
}

static int32_t xfer_step_rx(struct peer *p, struct dir *d, uint8_t *buf, uint8_t *want, size_t cap)
{
	int32_t n;
	if (p->mode == SHML_MODE_MESSAGE) {
		n = shml_recv(&p->ch, buf, cap);
		if (n >= 0) {
			uint32_t max = p->max_message < 16384 ? p->max_message : 16384;
			uint32_t len = msg_len(d->seed, d->k, max);
			if (len > d->total - d->done)
				len = (uint32_t)(d->total - d->done);
			if ((uint32_t)n != len)
				failf("message %llu: %d bytes, expected %u",
				      (unsigned long long)d->k, n, len);
			d->k++;
		}
	} else {
		/* Odd capacities: reads end anywhere in the ring. */
		size_t c = (size_t)(mix(d->seed ^ d->done ^ 0xabc) % cap) + 1;
		n = shml_read(&p->ch, buf, c);
	}
	if (n > 0) {
		gen_bytes(want, d->seed, d->done, (size_t)n);
		if (memcmp(buf, want, (size_t)n) != 0) {
			int32_t i = 0;
			while (buf[i] == want[i])
				i++;
			failf("received byte %llu is 0x%02x, expected 0x%02x",
			      (unsigned long long)(d->done + (uint64_t)i), buf[i], want[i]);
		}
		fnv_add(&d->sum, buf, (size_t)n);
		d->done += (uint64_t)n;
	}
	return n;
}

/* @echo: the peer sends back what it receives (examples/xen/baremetal). */
static void run_xfer(struct peer *p, uint64_t bytes, int echo)
{
	static uint8_t txbuf[65536], rxbuf[65536], want[65536];
	struct dir tx = { .seed = p->side == 0 ? 1 : 2, .total = bytes };
	struct dir rx = { .seed = echo ? tx.seed : p->side == 0 ? 2 : 1, .total = bytes };
	uint64_t t0, t_tx = 0, t_rx = 0;
	const char *mode = p->mode == SHML_MODE_MESSAGE ? "message" : "stream";
	fnv_init(&tx.sum);
	fnv_init(&rx.sum);
	connect_wait(p);
	t0 = now();
	while (tx.done < tx.total || rx.done < rx.total) {
		int progress = 0;
		unsigned ev = 0;
		int32_t n;
		if (tx.done < tx.total) {
			n = xfer_step_tx(p, &tx, txbuf);
			if (n > 0 || (n == 0 && p->mode == SHML_MODE_MESSAGE))
				progress = 1;
			else if (n != SHML_EAGAIN)
				failf("send: %s", shml_strerror(n));
			if (tx.done == tx.total && !t_tx)
				t_tx = now();
		}
		if (rx.done < rx.total) {
			n = xfer_step_rx(p, &rx, rxbuf, want, sizeof(rxbuf));
			if (n >= 0)
				progress = 1;
			else if (n != SHML_EAGAIN)
				failf("receive: %s", shml_strerror(n));
			if (rx.done == rx.total && !t_rx)
				t_rx = now();
		}
		if (progress)
			continue;
		if (tx.done < tx.total)
			ev |= SHML_EV_WRITABLE;
		if (rx.done < rx.total)
			ev |= SHML_EV_READABLE;
		if (shml_wait(&p->ch, ev | SHML_EV_STATE,
		              p->mode == SHML_MODE_MESSAGE ? 16384 : 4096, STEP_TIMEOUT) <= 0)
			failf("no progress for %llu s (sent %llu, received %llu)",
			      (unsigned long long)(STEP_TIMEOUT / SEC), (unsigned long long)tx.done,
			      (unsigned long long)rx.done);
	}
	{
		double secs = (double)(now() - t0) / 1e9;
		double ts = (double)(t_tx - t0) / 1e9, rs = (double)(t_rx - t0) / 1e9;
		/* Xen's console cuts a guest's line at 128 characters: keep each short. */
		printf("SHMLINK-RESULT dom=%s test=xfer mode=%s tx_bytes=%llu tx_fnv=%016llx\n",
		       dom, mode, (unsigned long long)tx.done, (unsigned long long)tx.sum.h);
		printf("SHMLINK-RESULT dom=%s test=xfer-rx rx_bytes=%llu rx_fnv=%016llx\n", dom,
		       (unsigned long long)rx.done, (unsigned long long)rx.sum.h);
		printf("SHMLINK-RESULT dom=%s test=xfer-rate secs=%.3f tx_MBps=%.2f rx_MBps=%.2f "
		       "both_MBps=%.2f\n",
		       dom, secs, (double)tx.done / ts / 1e6, (double)rx.done / rs / 1e6,
		       (double)(tx.done + rx.done) / secs / 1e6);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Round trips of @size bytes: side A sends and times, side B echoes. */
static void run_ping(struct peer *p, unsigned n, unsigned size, const char *name)
{
	static uint64_t rtt[10000];
	uint8_t buf[256], got[256];
	if (n > 10000)
		n = 10000;
	memset(buf, 0x5a, sizeof(buf));
	for (unsigned i = 0; i < n; i++) {
		int32_t rc;
		buf[0] = (uint8_t)i;
		if (p->side == 0) {
			uint64_t t = now();
			if (p->mode == SHML_MODE_MESSAGE) {
				if ((rc = shml_send_wait(&p->ch, buf, size, STEP_TIMEOUT)) != 0)
					failf("ping send: %s", shml_strerror(rc));
				rc = shml_recv_wait(&p->ch, got, sizeof(got), STEP_TIMEOUT);
			} else {
				if ((rc = shml_write_all(&p->ch, buf, size, STEP_TIMEOUT)) !=
				    (int32_t)size)
					failf("ping write: %s", shml_strerror(rc));
				for (unsigned k = 0; k < size; k += (unsigned)rc)
					if ((rc = shml_read_wait(&p->ch, got + k, size - k,
					                         STEP_TIMEOUT)) <= 0)
						break;
				rc = rc > 0 ? (int32_t)size : rc;
			}
			if (rc != (int32_t)size || got[0] != (uint8_t)i)
				failf("ping %u: %s", i, rc < 0 ? shml_strerror(rc) : "wrong echo");
			rtt[i] = now() - t;
		} else {
			if (p->mode == SHML_MODE_MESSAGE) {
				rc = shml_recv_wait(&p->ch, got, sizeof(got), STEP_TIMEOUT);
				if (rc != (int32_t)size)
					failf("pong %u: %s", i,
					      rc < 0 ? shml_strerror(rc) : "wrong size");
				if ((rc = shml_send_wait(&p->ch, got, size, STEP_TIMEOUT)) != 0)
					failf("pong send: %s", shml_strerror(rc));
			} else {
				for (unsigned k = 0; k < size; k += (unsigned)rc)
					if ((rc = shml_read_wait(&p->ch, got + k, size - k,
					                         STEP_TIMEOUT)) <= 0)
						failf("pong read: %s", shml_strerror(rc));
				if (shml_write_all(&p->ch, got, size, STEP_TIMEOUT) !=
				    (int32_t)size)
					failf("pong write");
			}
		}
	}
	if (p->side == 0 && n) {
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += rtt[i];
		qsort(rtt, n, sizeof(rtt[0]), cmp_u64);
		printf("SHMLINK-RESULT dom=%s test=%s n=%u size=%u min=%.1f med=%.1f avg=%.1f "
		       "p90=%.1f max=%.1f\n",
		       dom, name, n, size, rtt[0] / 1e3, rtt[n / 2] / 1e3, (double)sum / n / 1e3,
		       rtt[n * 9 / 10] / 1e3, rtt[n - 1] / 1e3);
	}
}

static int cmd_run(struct peer *p, uint64_t bytes, int echo)
{
	chan_open(p, NULL);
	print_binding(p);
	run_xfer(p, bytes, echo);
	drain(p);
	print_counters(p, "run");
	shml_chan_close(&p->ch);
	printf("SHMLINK-PASS dom=%s test=run\n", dom);
	return 0;
}

static int cmd_ping(struct peer *p, unsigned n, uint64_t spin_ns)
{
	struct shml_chan_opts o = { .spin_ns = spin_ns };
	const char *name = spin_ns ? "rtt-spin" : "rtt-sleep";
	chan_open(p, &o);
	connect_wait(p);
	run_ping(p, n, 64, name);
	drain(p);
	print_counters(p, name);
	shml_chan_close(&p->ch);
	printf("SHMLINK-PASS dom=%s test=%s\n", dom, name);
	return 0;
}

/* ---- restart: the receiver is killed mid-stream and started again ----------------------- */

/*
 * A message: u32 number, u32 length, u32 FNV-1a 32 of the rest, then the rest,
 * gen_bytes(3, number << 16, length - 12): a receiver without the generator
 * (the baremetal domain) can still check it.
 */
static uint32_t rmsg_len(uint32_t k)
{
	return 12 + (uint32_t)(mix(k ^ 0x77) % 1500);
}

static void rmsg_fill(uint8_t *b, uint32_t k)
{
	uint32_t len = rmsg_len(k), h = 0x811c9dc5u;
	gen_bytes(b + 12, 3, (uint64_t)k << 16, len - 12);
	for (uint32_t i = 12; i < len; i++) {
		h ^= b[i];
		h *= 0x01000193u;
	}
	memcpy(b, &k, 4);
	memcpy(b + 4, &len, 4);
	memcpy(b + 8, &h, 4);
}

static int cmd_restart_tx(struct peer *p, uint32_t n, uint32_t k)
{
	uint8_t buf[2048];
	uint32_t next = 0, resets = 0, resume = 0;
	struct shml_reset_info ri = { 0 };
	chan_open(p, NULL);
	print_binding(p);
	if (k) {
		uint8_t c[16] = "SHMLRST";
		int rc;
		memcpy(c + 8, &n, 4);
		memcpy(c + 12, &k, 4);
		if ((rc = shml_send_wait(&p->ch, c, sizeof(c), STEP_TIMEOUT)) != 0)
			failf("restart command: %s", shml_strerror(rc));
	}
	/* Until the receiver acknowledges all n; a reset can come while we wait for
	 * that acknowledgement too (everything was in the ring when it restarted). */
	for (;;) {
		int32_t rc;
		if (next < n) {
			rmsg_fill(buf, next);
			rc = shml_send_wait(&p->ch, buf, rmsg_len(next), STEP_TIMEOUT);
			if (rc == 0) {
				next++;
				continue;
			}
		} else {
			rc = shml_recv_wait(&p->ch, buf, sizeof(buf), STEP_TIMEOUT);
			if (rc == 4) {
				uint32_t got;
				memcpy(&got, buf, 4);
				if (got != n)
					failf("the receiver acknowledged %u messages, we sent %u",
					      got, n);
				break;
			}
		}
		if (rc != SHML_ERESET)
			failf("%s message %u: %s", next < n ? "send of" : "acknowledgement after",
			      next, rc < 0 ? shml_strerror(rc) : "wrong size");
		if (shml_reset_info(&p->ch, &ri) != 0)
			failf("ERESET without reset info");
		resets++;
		/* The discarded ones are the last ri.messages we sent: send them again. */
		if (ri.messages > next)
			failf("the reset discarded %u messages, we sent %u", ri.messages, next);
		resume = next - ri.messages;
		printf("SHMLINK-RESULT dom=%s test=restart-tx reset=%u sent=%u discarded=%u "
		       "bytes=%u exact=%d resume=%u\n",
		       dom, resets, next, ri.messages, ri.bytes, ri.exact, resume);
		if (!ri.exact)
			failf("the reset account is not exact");
		next = resume;
	}
	print_counters(p, "restart-tx");
	if (resets != 1)
		failf("%u resets, expected 1", resets);
	printf("SHMLINK-PASS dom=%s test=restart-tx messages=%u resets=%u\n", dom, n, resets);
	drain(p);
	shml_chan_close(&p->ch);
	return 0;
}

/* Survives SIGKILL of the process that writes it (a tmpfs file, MAP_SHARED). */
struct progress {
	uint32_t magic;
	uint32_t next;        /* messages consumed for sure */
	uint32_t pending;     /* 1: message `next` was being released ... */
	uint32_t pending_pos; /* ... and our rx_pos before that release */
};
#define PROGRESS_MAGIC 0x50524f47u

static struct progress *progress_map(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	struct progress *pr;
	if (fd < 0 || ftruncate(fd, 4096) != 0)
		failf("%s: %s", path, strerror(errno));
	pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (pr == MAP_FAILED)
		failf("mmap %s: %s", path, strerror(errno));
	if (pr->magic != PROGRESS_MAGIC)
		memset(pr, 0, sizeof(*pr));
	return pr;
}

static int cmd_restart_rx(struct peer *p, uint32_t n, const char *file)
{
	struct progress *pr = progress_map(file);
	struct shml_side_view me;
	uint32_t expect, first = 1;
	const char *resolved = "-";
	/*
	 * Where did the previous process stop? If it was killed between the
	 * release of a message and the store of its count, our own control line
	 * (written only by us, untouched since) says whether the release happened.
	 */
	shml_inspect_side(&p->r, 0, p->side, &me);
	if (pr->magic == PROGRESS_MAGIC && pr->pending) {
		if (me.state == SHML_STATE_EST && me.rx_pos != pr->pending_pos) {
			pr->next++;
			resolved = "released"; /* killed after the release, before the count */
		} else {
			resolved = "not-released";
		}
		pr->pending = 0;
	}
	pr->magic = PROGRESS_MAGIC;
	expect = pr->next;
	printf("SHMLINK-RESULT dom=%s test=restart-rx start=%u pending=%s\n", dom, expect,
	       resolved);
	chan_open(p, NULL);
	print_binding(p);
	while (expect < n) {
		const void *m;
		int32_t rc = shml_peek(&p->ch, &m);
		uint8_t want[2048];
		if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN) {
			if (shml_wait(&p->ch, SHML_EV_READABLE | SHML_EV_STATE, 0, STEP_TIMEOUT) <=
			    0)
				failf("nothing received for %llu s",
				      (unsigned long long)(STEP_TIMEOUT / SEC));
			continue;
		}
		if (rc == SHML_ERESET)
			failf("the sender reset the session");
		if (rc < 0)
			failf("peek: %s", shml_strerror(rc));
		rmsg_fill(want, expect);
		{
			uint8_t got[2048];
			uint32_t num;
			if ((uint32_t)rc > sizeof(got))
				failf("message of %d bytes", rc);
			shml_xen_copy_from_shared(NULL, got, m, (size_t)rc);
			memcpy(&num, got, 4);
			if (num != expect)
				failf("%s message is number %u, expected %u (the reset account is "
				      "%s)",
				      first ? "the first" : "a", num, expect,
				      num < expect ? "short: duplicates" : "long: a gap");
			if ((uint32_t)rc != rmsg_len(expect) || memcmp(got, want, (size_t)rc) != 0)
				failf("message %u has the wrong content", expect);
		}
		first = 0;
		shml_inspect_side(&p->r, 0, p->side, &me);
		pr->pending_pos = me.rx_pos;
		__atomic_store_n(&pr->pending, 1, __ATOMIC_SEQ_CST);
		if ((rc = shml_release(&p->ch, 0)) != 0)
			failf("release: %s", shml_strerror(rc));
		__atomic_store_n(&pr->next, expect + 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&pr->pending, 0, __ATOMIC_SEQ_CST);
		expect++;
	}
	{
		int rc = shml_send_wait(&p->ch, &expect, 4, STEP_TIMEOUT);
		if (rc)
			failf("acknowledgement: %s", shml_strerror(rc));
	}
	print_counters(p, "restart-rx");
	printf("SHMLINK-PASS dom=%s test=restart-rx messages=%u\n", dom, n);
	drain(p);
	/* Stay until the sender saw the acknowledgement and closed (read-only, as drain()). */
	for (uint64_t end = now() + STEP_TIMEOUT; now() < end;) {
		struct shml_side_view peer;
		shml_inspect_side(&p->r, 0, 1 - p->side, &peer);
		if (peer.state != SHML_STATE_EST)
			break;
		nap(SEC / 1000);
	}
	shml_chan_close(&p->ch);
	return 0;
}

/* Made in the guest: carrying megabytes of random data in the initramfs costs boot time. */
static int cmd_data(uint64_t seed, uint64_t bytes, const char *path)
{
	static uint8_t buf[65536];
	FILE *f = fopen(path, "wb");
	if (!f)
		failf("%s: %s", path, strerror(errno));
	for (uint64_t pos = 0; pos < bytes;) {
		size_t n = bytes - pos < sizeof(buf) ? (size_t)(bytes - pos) : sizeof(buf);
		gen_bytes(buf, seed, pos, n);
		if (fwrite(buf, 1, n, f) != n)
			failf("%s: %s", path, strerror(errno));
		pos += n;
	}
	if (fclose(f) != 0)
		failf("%s: %s", path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	struct peer p;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "progress") == 0) {
		struct progress *pr = progress_map(argv[2]);
		printf("%u\n", pr->next);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "data") == 0)
		return cmd_data(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), argv[4]);
	if (argc < 4) {
		fprintf(stderr, "usage: xen_peer CONFIG DOMAIN run BYTES [echo] | ping N SPIN_NS | "
		                "restart-tx N [K] | "
		                "restart-rx N FILE\n       xen_peer progress FILE\n"
		                "       xen_peer data SEED BYTES FILE\n");
		return 2;
	}
	dom = argv[2];
	peer_open(&p, argv[1], argv[2]);
	if (strcmp(argv[3], "run") == 0 && (argc == 5 || (argc == 6 && !strcmp(argv[5], "echo"))))
		return cmd_run(&p, strtoull(argv[4], NULL, 0), argc == 6);
	if (strcmp(argv[3], "ping") == 0 && argc == 6)
		return cmd_ping(&p, (unsigned)strtoul(argv[4], NULL, 0),
		                strtoull(argv[5], NULL, 0));
	if (strcmp(argv[3], "restart-tx") == 0 && (argc == 5 || argc == 6))
		return cmd_restart_tx(&p, (uint32_t)strtoul(argv[4], NULL, 0),
		                      argc == 6 ? (uint32_t)strtoul(argv[5], NULL, 0) : 0);
	if (strcmp(argv[3], "restart-rx") == 0 && argc == 6)
		return cmd_restart_rx(&p, (uint32_t)strtoul(argv[4], NULL, 0), argv[5]);
	failf("unknown command %s", argv[3]);
}
