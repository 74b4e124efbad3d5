/* SPDX-License-Identifier: MIT */
/*
 * Two domains in one Cortex-M image, talking through the shmlink region in
 * RAM (the .shmlink section of the linker script):
 *
 *   "app" runs in thread mode and uses the blocking calls (spin + relax,
 *         the clock is a 1 kHz tick);
 *   "isr" runs in the SysTick handler, 1000 times a second, and uses only
 *         non-blocking calls: it preempts "app" anywhere, in the middle of
 *         any core function, which is as concurrent as one core gets.
 *
 * Channel "echo" (message mode): app sends messages of 0..199 bytes with a
 * sequence number; isr checks each one and answers with its checksum.
 * Channel "bulk" (stream mode): app writes 16 KiB of a known pattern; isr
 * checks every byte and reports the count on "echo".
 *
 * The isr domain copies through the port's aligned-word copy hooks (as a
 * domain whose region is Device memory must), both domains run with cache
 * hooks that check every range lies inside the region, and the startup
 * enables the unaligned-access trap: any unaligned access faults.
 *
 * Prints "shmlink-baremetal demo: PASS" and exits 0 through semihosting.
 */
#include "board.h"
#include "shmlink.h"
#include "shmlink_baremetal.h"

#define SYSCLK_HZ 25000000u /* MPS2 FPGA images run at 25 MHz */
#define TICK_HZ 1000u
#define MS 1000000ull /* ns */
#define MESSAGES 2000u
#define STREAM_BYTES 16384u
#define STREAM_DONE 0xffffffffu

enum { DOM_APP, DOM_ISR };
enum { CH_ECHO, CH_BULK };

static const struct shml_domain_cfg domains[] = {
	{ .name = "app", .id = 10 },
	{ .name = "isr", .id = 11 },
};

static const struct shml_channel_cfg channels[] = {
	{ .name = "echo",
	  .a = DOM_APP,
	  .b = DOM_ISR,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 1024,
	  .ring_ba = 512 },
	{ .name = "bulk",
	  .a = DOM_APP,
	  .b = DOM_ISR,
	  .mode = SHML_MODE_STREAM,
	  .ring_ab = 512,
	  .ring_ba = 64 },
};

static const struct shml_config cfg = {
	.region_size = 8192,
	.cacheline = 64,
	.n_domains = 2,
	.domains = domains,
	.n_channels = 2,
	.channels = channels,
};

struct reply {
	uint32_t seq, sum;
};

static volatile uint32_t ms; /* SysTick count */

/* ---- the ports --------------------------------------------------------------- */

struct domain {
	struct shml_baremetal bm;
	uint64_t widen; /* shml_baremetal_widen32() state: this domain's own */
	uint32_t cleans, invalidates, bad_ranges;
	struct shml_region region;
	struct shml_chan echo, bulk;
};

static struct domain app, isr;

static uint64_t ticks(void *arg)
{
	struct domain *d = arg;
	return shml_baremetal_widen32(&d->widen, ms);
}

/* Cache hooks of a non-coherent port, here only checking the ranges. */
static void check_range(struct domain *d, const volatile void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)__shmlink_region_start;
	if (a < lo || n > cfg.region_size || a - lo > cfg.region_size - n)
		d->bad_ranges++;
}

static void cache_clean(void *ctx, const volatile void *p, size_t n)
{
	struct domain *d = (struct domain *)((struct shml_baremetal *)ctx)->arg;
	d->cleans++;
	check_range(d, p, n);
}

static void cache_invalidate(void *ctx, const volatile void *p, size_t n)
{
	struct domain *d = (struct domain *)((struct shml_baremetal *)ctx)->arg;
	d->invalidates++;
	check_range(d, p, n);
}

static int attach(struct domain *d, uint32_t self)
{
	shml_baremetal_port_init(&d->bm, ticks, d, SHML_BAREMETAL_NS_PER_TICK_Q16(TICK_HZ));
	d->bm.port.cache_clean = cache_clean;
	d->bm.port.cache_invalidate = cache_invalidate;
	if (self == DOM_ISR) {
		d->bm.port.copy_to_shared = shml_baremetal_copy_to_shared_aligned;
		d->bm.port.copy_from_shared = shml_baremetal_copy_from_shared_aligned;
	}
	return shml_region_attach(&d->region, &cfg, self, __shmlink_region_start,
	                          (uint64_t)(__shmlink_region_end - __shmlink_region_start),
	                          &d->bm.port) ||
	       shml_chan_open(&d->region, &d->echo, CH_ECHO, NULL) ||
	       shml_chan_open(&d->region, &d->bulk, CH_BULK, NULL);
}

/* ---- payloads ---------------------------------------------------------------- */

static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static uint32_t msg_len(uint32_t seq)
{
	return 8u + (seq * 37u) % 200u;
}

static void make_msg(uint8_t *buf, uint32_t seq)
{
	uint32_t n = msg_len(seq);
	for (uint32_t i = 0; i < 4; i++)
		buf[i] = (uint8_t)(seq >> (8 * i));
	for (uint32_t i = 4; i < n; i++)
		buf[i] = (uint8_t)(seq * 131u + i);
}

static uint8_t stream_byte(uint32_t pos)
{
	return (uint8_t)(pos * 7u + 3u);
}

/* ---- domain "isr": the SysTick handler ----------------------------------------- */

static volatile int isr_on;
static volatile int32_t isr_error; /* first problem the isr domain saw */
static uint32_t isr_seq, isr_stream_pos;
static int isr_pending, isr_done_sent;
static struct reply isr_reply;

static void isr_fail(int32_t code)
{
	if (!isr_error)
		isr_error = code;
}

/* Send the pending reply; 1 if it went (or there was none). */
static int isr_flush(void)
{
	int rc;
	if (!isr_pending)
		return 1;
	rc = shml_send(&isr.echo, &isr_reply, sizeof(isr_reply));
	if (rc == SHML_EAGAIN)
		return 0;
	if (rc)
		isr_fail(rc);
	isr_pending = 0;
	return 1;
}

static void isr_step(void)
{
	static uint8_t buf[256];
	for (int k = 0; k < 8 && isr_flush(); k++) {
		int32_t n = shml_recv(&isr.echo, buf, sizeof(buf));
		if (n == SHML_EAGAIN || n == SHML_ENOTCONN)
			break;
		if (n < 0) {
			isr_fail(n);
			break;
		}
		if ((uint32_t)n != msg_len(isr_seq) ||
		    (buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24) != isr_seq)
			isr_fail(-100);
		isr_reply.seq = isr_seq++;
		isr_reply.sum = fnv1a(buf, (uint32_t)n);
		isr_pending = 1;
	}
	for (;;) {
		int32_t n = shml_read(&isr.bulk, buf, sizeof(buf));
		if (n == SHML_EAGAIN || n == SHML_ENOTCONN)
			break;
		if (n < 0) {
			isr_fail(n);
			break;
		}
		for (int32_t i = 0; i < n; i++)
			if (buf[i] != stream_byte(isr_stream_pos++))
				isr_fail(-101);
	}
	if (isr_stream_pos == STREAM_BYTES && !isr_done_sent && isr_flush()) {
		isr_reply.seq = STREAM_DONE;
		isr_reply.sum = isr_stream_pos;
		isr_pending = 1;
		isr_done_sent = 1;
		isr_flush();
	}
}

void SysTick_Handler(void)
{
	ms++;
	if (isr_on)
		isr_step();
}

static void systick_start(void)
{
	volatile uint32_t *syst = (volatile uint32_t *)0xE000E010u; /* CSR, RVR, CVR */
	syst[1] = SYSCLK_HZ / TICK_HZ - 1u;
	syst[2] = 0;
	syst[0] = 7u; /* processor clock, interrupt, enable */
}

static void systick_stop(void)
{
	*(volatile uint32_t *)0xE000E010u = 0;
}

/* ---- domain "app": thread mode -------------------------------------------------- */

static int fail(const char *what, int32_t code)
{
	board_puts("shmlink-baremetal demo: FAIL: ");
	board_puts(what);
	board_puts(" (");
	board_puts(code < 0 ? shml_strerror(code) : "check");
	board_puts(")\n");
	return 1;
}

/* Take one reply, checking it against what we sent. */
static int take_reply(const struct reply *r, uint32_t *next)
{
	static uint8_t buf[256];
	make_msg(buf, *next);
	if (r->seq != *next || r->sum != fnv1a(buf, msg_len(*next)))
		return fail("echo reply does not match", 0);
	++*next;
	return 0;
}

int main(void)
{
	static uint8_t buf[256];
	struct reply r;
	uint32_t replies = 0, t0, t1;
	int32_t rc;

	if (attach(&app, DOM_APP) || attach(&isr, DOM_ISR))
		return fail("attach/open", 0);
	isr_on = 1;
	systick_start();
	t0 = ms;

	/* A blocking call times out on the port's clock when nothing comes. */
	rc = shml_recv_wait(&app.echo, buf, sizeof(buf), 5 * MS);
	if (rc != SHML_ETIMEDOUT || ms - t0 < 5)
		return fail("5 ms receive timeout", rc);

	for (uint32_t seq = 0; seq < MESSAGES; seq++) {
		make_msg(buf, seq);
		rc = shml_send_wait(&app.echo, buf, msg_len(seq), 1000 * MS);
		if (rc)
			return fail("send", rc);
		while ((rc = shml_recv(&app.echo, &r, sizeof(r))) == (int32_t)sizeof(r))
			if (take_reply(&r, &replies))
				return 1;
		if (rc != SHML_EAGAIN)
			return fail("receive reply", rc);
	}
	while (replies < MESSAGES) {
		rc = shml_recv_wait(&app.echo, &r, sizeof(r), 1000 * MS);
		if (rc != (int32_t)sizeof(r))
			return fail("receive reply", rc);
		if (take_reply(&r, &replies))
			return 1;
	}

	for (uint32_t pos = 0; pos < STREAM_BYTES; pos += sizeof(buf)) {
		for (uint32_t i = 0; i < sizeof(buf); i++)
			buf[i] = stream_byte(pos + i);
		rc = shml_write_all(&app.bulk, buf, sizeof(buf), 1000 * MS);
		if (rc != (int32_t)sizeof(buf))
			return fail("stream write", rc);
	}
	rc = shml_recv_wait(&app.echo, &r, sizeof(r), 1000 * MS);
	if (rc != (int32_t)sizeof(r) || r.seq != STREAM_DONE || r.sum != STREAM_BYTES)
		return fail("stream report", rc);

	t1 = ms;
	systick_stop();
	if (isr_error)
		return fail("the isr domain saw an error", isr_error);
	if (app.bad_ranges || isr.bad_ranges)
		return fail("a cache hook got a range outside the region", 0);
	if (!app.cleans || !app.invalidates || !isr.cleans || !isr.invalidates)
		return fail("the cache hooks were never called", 0);
	shml_chan_close(&app.echo);
	shml_chan_close(&app.bulk);

	board_puts("shmlink-baremetal demo: ");
	board_put_u32(MESSAGES);
	board_puts(" messages echoed, ");
	board_put_u32(STREAM_BYTES);
	board_puts(" stream bytes checked in ");
	board_put_u32(t1 - t0);
	board_puts(" ticks; cache hooks: clean ");
	board_put_u32(app.cleans + isr.cleans);
	board_puts(", invalidate ");
	board_put_u32(app.invalidates + isr.invalidates);
	board_puts("\nshmlink-baremetal demo: PASS\n");
	return 0;
}
