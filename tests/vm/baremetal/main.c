/* SPDX-License-Identifier: MIT */
/*
 * The baremetal ivshmem guest: a 32-bit multiboot program with no OS that
 * links the same shmlink core as the Linux programs. It finds the ivshmem
 * device in PCI configuration space, uses BAR2 as the region, polls, and
 * rings the Linux peer's doorbell when that peer sleeps.
 *
 * The command line (QEMU -append) takes the steps of tests/vm/vmpeer.c that a
 * polling side can do: self=D [ids=ID0,ID1] vectors=N duplex-msg=BYTES
 * duplex-stream=BYTES pong=ROUNDS ping=ROUNDS. Output goes to COM1; the last
 * line is "SHML result=PASS" or "SHML result=FAIL ..."; the exit code goes to
 * isa-debug-exit (QEMU exits with 1 on PASS, 3 on FAIL).
 */
#include <stddef.h>
#include <stdint.h>

#include "shmlink.h"
#include "shmlink_baremetal.h"
#include "shmlink_ivshmem_baremetal.h"
#include "workload.h"

int bm_main(uint32_t magic, const uint32_t *mbi);

/* ---- ports, serial ---------------------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3fd) & 0x20); i++)
		;
	outb(0x3f8, (uint8_t)c);
}

static void puts_serial(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s++);
	}
}

static void put_u64(uint64_t v)
{
	char b[24];
	puts_serial(wl_u64(b, v));
}

/* ---- time: the TSC, calibrated against the PIT ------------------------------------ */

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t ticks(void *arg)
{
	(void)arg;
	return rdtsc();
}

/* n / d by shifting: a 32-bit program without libgcc has no 64-bit division. */
static uint64_t udiv64(uint64_t n, uint64_t d)
{
	uint64_t q = 0, r = 0;
	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1u);
		if (r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	return q;
}

/* TSC ticks per second: count them over 50 ms of PIT channel 2. */
static uint64_t tsc_hz(void)
{
	const uint32_t latch = 1193182u / 20u;
	uint64_t t0, t1;
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02u) | 0x01u)); /* gate on, speaker off */
	outb(0x43, 0xb0);                                    /* ch 2, lo/hi, mode 0 */
	outb(0x42, (uint8_t)(latch & 0xff));
	outb(0x42, (uint8_t)(latch >> 8));
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	t1 = rdtsc();
	return (t1 - t0) * 20u;
}

static struct shml_ivshmem_bm dev;
static uint64_t ns_q16;

static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	return shml_baremetal_now_ns(&dev.bm);
}
static const struct wl_clock clk = { now_ns, NULL };

/* ---- the command line ------------------------------------------------------------- */

static const char *cmdline = "";

/* The value of "key=" in the command line (up to the next space), or NULL. */
static const char *arg(const char *key, char *buf, size_t cap)
{
	size_t k = 0;
	while (key[k])
		k++;
	for (const char *p = cmdline; *p; p++) {
		size_t i = 0, n = 0;
		if (p != cmdline && p[-1] != ' ')
			continue;
		while (i < k && p[i] == key[i])
			i++;
		if (i != k || p[k] != '=')
			continue;
		p += k + 1;
		while (p[n] && p[n] != ' ' && n + 1 < cap) {
			buf[n] = p[n];
			n++;
		}
		buf[n] = 0;
		return buf;
	}
	return NULL;
}

static uint64_t num(const char *s)
{
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10u + (uint64_t)(*s++ - '0');
	if (*s == 'K' || *s == 'k')
		v <<= 10;
	else if (*s == 'M' || *s == 'm')
		v <<= 20;
	return v;
}

/* ---- the steps --------------------------------------------------------------------- */

static struct shml_region region;
static struct shml_chan chans[WL_N_CHANNELS];
static uint8_t txbuf[WL_BULK_MAX_FRAME], rxbuf[4 * WL_BULK_MAX_FRAME];
static uint32_t self;
#define TIMEOUT_NS 300000000000ull

static int fail(const char *what, int rc)
{
	puts_serial("SHML result=FAIL ");
	puts_serial(what);
	puts_serial(": ");
	puts_serial(wl_strerror(rc));
	puts_serial("\n");
	return 1;
}

static int duplex(uint32_t c, uint64_t bytes)
{
	struct shml_counters k;
	struct wl_result r;
	int rc = wl_duplex(&chans[c], bytes, WL_BULK_MAX_PAYLOAD, self + 1, (self ^ 1u) + 1, &clk,
	                   TIMEOUT_NS, txbuf, rxbuf, sizeof(rxbuf), &r);
	if (rc)
		return fail(c == WL_CH_STREAM ? "duplex stream" : "duplex message", rc);
	shml_get_counters(&chans[c], &k);
	puts_serial("SHML duplex mode=");
	puts_serial(c == WL_CH_STREAM ? "stream" : "message");
	puts_serial(" bytes_each_way=");
	put_u64(bytes);
	puts_serial(" frames_tx=");
	put_u64(r.tx_frames);
	puts_serial(" frames_rx=");
	put_u64(r.rx_frames);
	puts_serial(" ms=");
	put_u64(udiv64(r.ns, 1000000u));
	puts_serial(" notify_sent=");
	put_u64(k.notify_sent);
	puts_serial(" doorbells=");
	put_u64(dev.notifies);
	puts_serial("\n");
	return 0;
}

int bm_main(uint32_t magic, const uint32_t *mbi)
{
	char b[64];
	uint64_t hz;
	int rc;

	puts_serial("SHML baremetal guest started\n");
	if (magic == 0x2badb002u && (mbi[0] & 4u) && mbi[4])
		cmdline = (const char *)(uintptr_t)mbi[4];
	puts_serial("SHML cmdline: ");
	puts_serial(cmdline);
	puts_serial("\n");

	hz = tsc_hz();
	if (hz < 1000000u)
		hz = 1000000000u; /* no usable TSC rate: call it 1 GHz */
	ns_q16 = udiv64(1000000000ull << 16, hz);

	rc = shml_ivshmem_bm_find(&dev, 0);
	if (rc)
		return fail("find the ivshmem device",
		            rc == SHML_IVSHMEM_BM_EHIGH ? SHML_ERANGE : SHML_EINVAL);
	shml_ivshmem_bm_port_init(&dev, ticks, NULL, ns_q16,
	                          arg("vectors", b, sizeof(b)) ? (uint32_t)num(b) : 2u);
	if (arg("self", b, sizeof(b)))
		self = (uint32_t)num(b);
	if (arg("ids", b, sizeof(b))) {
		const char *p = b;
		for (uint32_t d = 0; d < 2 && *p; d++) {
			dev.ids[d] = (int32_t)num(p);
			while (*p && *p != ',')
				p++;
			if (*p == ',')
				p++;
		}
	}
	puts_serial("SHML attach port=baremetal id=");
	put_u64((uint64_t)dev.id);
	puts_serial(" size=");
	put_u64(dev.size);
	puts_serial(" tsc_mhz=");
	put_u64(udiv64(hz, 1000000u));
	puts_serial("\n");
	if (dev.size < WL_REGION_BYTES)
		return fail("region too small", SHML_ERANGE);

	rc = shml_region_attach(&region, &wl_config, self, dev.mem, dev.size, &dev.bm.port);
	if (rc)
		return fail("attach", rc);
	rc = shml_ivshmem_publish(&region, dev.id); /* how the Linux peer finds our id */
	if (rc)
		return fail("publish", rc);
	for (uint32_t c = 0; c < WL_N_CHANNELS; c++) {
		rc = shml_chan_open(&region, &chans[c], c, NULL);
		if (rc)
			return fail("open", rc);
	}

	/* The steps, in the command line's order. */
	for (const char *p = cmdline; *p; p++) {
		static const char *const steps[] = { "duplex-msg=", "duplex-stream=", "pong=",
			                             "ping=" };
		unsigned s;
		if (p != cmdline && p[-1] != ' ')
			continue;
		for (s = 0; s < 4; s++) {
			const char *k = steps[s];
			size_t i = 0;
			while (k[i] && p[i] == k[i])
				i++;
			if (!k[i])
				break;
		}
		if (s == 4)
			continue;
		while (*p != '=')
			p++;
		uint64_t v = num(p + 1);
		if (s == 0 || s == 1) {
			if (duplex(s == 0 ? WL_CH_MSG : WL_CH_STREAM, v))
				return 1;
		} else if (s == 2) {
			rc = wl_pong(&chans[WL_CH_PING], 20, (uint32_t)v, TIMEOUT_NS, rxbuf,
			             sizeof(rxbuf));
			if (rc)
				return fail("pong", rc);
			puts_serial("SHML pong rounds=");
			put_u64(v);
			puts_serial("\n");
		} else {
			static uint32_t rtt[4096];
			uint64_t sum = 0;
			if (v > 4096)
				v = 4096;
			rc = wl_ping(&chans[WL_CH_PING], 20, (uint32_t)v, 64, &clk, TIMEOUT_NS,
			             txbuf, rtt);
			if (rc)
				return fail("ping", rc);
			for (uint32_t i = 0; i < v; i++)
				sum += rtt[i];
			puts_serial("SHML ping rounds=");
			put_u64(v);
			puts_serial(" mean_ns=");
			put_u64(v ? udiv64(sum, v) : 0);
			puts_serial("\n");
		}
	}
	for (uint32_t c = 0; c < WL_N_CHANNELS; c++)
		shml_chan_close(&chans[c]);
	puts_serial("SHML port end doorbells=");
	put_u64(dev.notifies);
	puts_serial(" dropped=");
	put_u64(dev.notify_dropped);
	puts_serial("\nSHML result=PASS\n");
	return 0;
}
