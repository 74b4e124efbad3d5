/* SPDX-License-Identifier: MIT */
/*
 * A baremetal Xen dom0less domU that speaks shmlink: an echo service.
 *
 * The configuration comes from `shmlink gen header CONFIG -o shmlink_cfg.h`
 * (no parser here); the build names our domain and channel (-DSELF=...,
 * -DCHANNEL=..., -DEVTCHN_A=..., -DEVTCHN_B=...: see scripts/xen.sh baremetal
 * and README.md). The region is where the config's [xen] guest_address says.
 *
 * Each session of the channel: every message received is sent back, and when
 * the session ends (the peer closed or restarted) one line reports the
 * messages, bytes and FNV-1a 64 of both directions. A session whose first
 * message is the 16-byte command "SHMLRST\0" N K turns this domain into the
 * receiver of a restart test instead: it takes numbered messages (u32 number,
 * u32 length, u32 FNV-1a 32 of the rest, the rest), checks each, and after
 * message K-1 it restarts the whole domain (a soft reboot: back to _start,
 * .bss cleared, Xen's shared_info mapped again, the region attached again);
 * only .noinit remembers how far it got. The sender must account for the
 * reset exactly: the first message after the reboot has to be number K.
 * After N messages it answers with N (4 bytes), then powers the domain off.
 */
#include "console.h"
#include "shmlink.h"
#include "shmlink_cfg.h"
#include "shmlink_xen_bm.h"

#if !defined(SELF) || !defined(CHANNEL) || !defined(EVTCHN_A) || !defined(EVTCHN_B)
#error "build with -DSELF=<PREFIX>_DOMAIN_<NAME> -DCHANNEL=<PREFIX>_CHANNEL_<NAME> -DEVTCHN_A=... -DEVTCHN_B=..."
#endif
#ifndef BM_FLAGS
#define BM_FLAGS SHML_XEN_BM_IRQ /* 0: poll the pending bit instead of sleeping in WFI */
#endif

#define SEC 1000000000ull
#define TIMEOUT (120 * SEC)

void reboot(void) __attribute__((noreturn)); /* start.S */
void exception(void);
int main(void);

static uint8_t shared_info_page[4096] __attribute__((aligned(4096), section(".xen_shared_info")));

/* What survives a soft reboot. */
struct keep {
	uint32_t magic;
	uint32_t boots;
	uint32_t restart_n, restart_k; /* restart test: N messages, reboot after K */
	uint32_t next;                 /* the next message number expected */
	uint32_t rebooted;
};
#define KEEP_MAGIC 0x4b454550u
static struct keep keep __attribute__((section(".noinit")));

static struct shml_xen_bm bm;
static struct shml_region region;
static struct shml_chan ch;
static uint32_t ports[SHML_CFG_N_CHANNELS];
static uint8_t buf[32768] __attribute__((aligned(8)));
static const char *me;
static uint32_t my_side; /* 0: side A of CHANNEL, 1: side B */

static void line_start(const char *kind, const char *test)
{
	con_puts(kind);
	con_puts(" dom=");
	con_puts(me);
	if (test) {
		con_puts(" test=");
		con_puts(test);
	}
}

static void __attribute__((noreturn)) fail(const char *what, int64_t v)
{
	line_start("SHMLINK-FAIL", NULL);
	con_puts(" ");
	con_puts(what);
	con_puts(" ");
	if (v < 0) {
		con_puts("-");
		v = -v;
	}
	con_u64((uint64_t)v);
	con_puts("\n");
	con_puts("SHMLINK-DONE dom=");
	con_puts(me);
	con_puts(" rc=1\n");
	shml_xen_bm_shutdown(3);
	for (;;)
		__asm__ __volatile__("wfi");
}

void exception(void)
{
	uint64_t esr, elr, far;
	__asm__ __volatile__("mrs %0, esr_el1" : "=r"(esr));
	__asm__ __volatile__("mrs %0, elr_el1" : "=r"(elr));
	__asm__ __volatile__("mrs %0, far_el1" : "=r"(far));
	con_puts("SHMLINK-FAIL dom=bm exception esr=0x");
	con_hex(esr, 0);
	con_puts(" elr=0x");
	con_hex(elr, 0);
	con_puts(" far=0x");
	con_hex(far, 0);
	con_puts("\n");
	shml_xen_bm_shutdown(3);
}

static uint64_t fnv64(uint64_t h, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t fnv32(const uint8_t *p, uint32_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (uint32_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t now(void)
{
	return shml_xen_bm_now_ns(&bm);
}

/* Until the peer consumed all we sent, or left. */
static void drain(void)
{
	uint64_t end = now() + TIMEOUT;
	for (;;) {
		struct shml_side_view mine, peer;
		shml_inspect_side(&region, CHANNEL, my_side, &mine);
		shml_inspect_side(&region, CHANNEL, 1 - my_side, &peer);
		if (peer.rx_pos == mine.tx_pos || peer.state != SHML_STATE_EST)
			return;
		if (now() > end)
			fail("drain: the peer did not consume our data", (int64_t)peer.rx_pos);
		shml_wait(&ch, SHML_EV_WRITABLE | SHML_EV_STATE, 0, SEC / 100);
	}
}

static void __attribute__((noreturn)) restart_receiver(void)
{
	uint32_t n = keep.restart_n;
	line_start("SHMLINK-RESULT", "restart-rx");
	con_kv("start", keep.next);
	con_kv("boot", keep.boots);
	con_puts("\n");
	while (keep.next < n) {
		int32_t rc = shml_recv_wait(&ch, buf, sizeof(buf), TIMEOUT);
		if (rc < 0)
			fail(rc == SHML_ERESET ? "restart: the sender reset the session"
			                       : "restart: receive error",
			     rc);
		if (rc < 12 || get32(buf) != keep.next || get32(buf + 4) != (uint32_t)rc ||
		    get32(buf + 8) != fnv32(buf + 12, (uint32_t)rc - 12)) {
			line_start("SHMLINK-RESULT", "restart-bad");
			con_kv("expected", keep.next);
			con_kv("got", rc >= 4 ? get32(buf) : 0xffffffffu);
			con_kv("len", (uint64_t)rc);
			con_puts("\n");
			fail("restart: wrong message (number or content)", rc);
		}
		keep.next++;
		if (keep.next == keep.restart_k && !keep.rebooted) {
			keep.rebooted = 1;
			line_start("SHMLINK-RESULT", "restart-kill");
			con_kv("at", keep.next);
			con_kv("of", n);
			con_puts("\n");
			reboot(); /* the whole domain, mid-stream */
		}
	}
	{
		int rc = shml_send_wait(&ch, &n, 4, TIMEOUT);
		if (rc)
			fail("restart: acknowledgement", rc);
	}
	drain();
	line_start("SHMLINK-PASS", "restart-rx");
	con_kv("messages", n);
	con_kv("irq_wakeups", bm.wakeups_irq);
	con_puts("\n");
	for (uint64_t end = now() + TIMEOUT; now() < end;) {
		struct shml_side_view peer;
		shml_inspect_side(&region, CHANNEL, 1 - my_side, &peer);
		if (peer.state != SHML_STATE_EST)
			break;
		shml_wait(&ch, SHML_EV_STATE, 0, SEC / 10);
	}
	shml_chan_close(&ch);
	keep.magic = 0;
	line_start("SHMLINK-DONE", NULL);
	con_puts(" rc=0\n");
	shml_xen_bm_shutdown(0);
	for (;;)
		__asm__ __volatile__("wfi");
}

/* One session of echoes; returns when it ends. */
static void echo_session(uint32_t session)
{
	uint64_t rx_sum = 0xcbf29ce484222325ull, tx_sum = rx_sum, msgs = 0, bytes = 0;
	static const uint8_t cmd[8] = { 'S', 'H', 'M', 'L', 'R', 'S', 'T', 0 };
	for (;;) {
		int32_t n = shml_recv_wait(&ch, buf, sizeof(buf), SHML_FOREVER);
		int rc;
		if (n == SHML_ERESET || n == SHML_ENOTCONN)
			break;
		if (n < 0)
			fail("echo: receive error", n);
		if (msgs == 0 && n == 16) {
			int is_cmd = 1;
			for (int i = 0; i < 8; i++)
				is_cmd &= buf[i] == cmd[i];
			if (is_cmd) {
				keep.restart_n = get32(buf + 8);
				keep.restart_k = get32(buf + 12);
				keep.next = 0;
				keep.rebooted = 0;
				restart_receiver();
			}
		}
		rx_sum = fnv64(rx_sum, buf, (uint32_t)n);
		rc = shml_send_wait(&ch, buf, (size_t)n, TIMEOUT);
		if (rc == SHML_ERESET)
			break;
		if (rc)
			fail("echo: send error", rc);
		tx_sum = fnv64(tx_sum, buf, (uint32_t)n);
		msgs++;
		bytes += (uint64_t)n;
	}
	if (!msgs)
		return;
	{
		char test[16] = "echo";
		test[4] = (char)('0' + session % 10);
		line_start("SHMLINK-RESULT", test);
		con_kv("msgs", msgs);
		con_kv("bytes", bytes);
		con_puts(" rx_fnv=");
		con_hex(rx_sum, 16);
		con_puts(" tx_fnv=");
		con_hex(tx_sum, 16);
		con_puts("\n");
	}
}

int main(void)
{
	const struct shml_channel_cfg *cc = &shml_cfg.channels[CHANNEL];
	int rc;
	me = shml_cfg.domains[SELF].name;
	if (keep.magic != KEEP_MAGIC) {
		keep = (struct keep){ .magic = KEEP_MAGIC };
	}
	keep.boots++;
	my_side = cc->a == SELF ? 0 : 1;
	ports[CHANNEL] = my_side == 0 ? EVTCHN_A : EVTCHN_B;
	rc = shml_xen_bm_init(&bm, shared_info_page, ports, SHML_CFG_N_CHANNELS, BM_FLAGS);
	if (rc)
		fail("XENMEM_add_to_physmap(shared_info)", rc);
	line_start("SHMLINK-BOOT", NULL);
	con_kv("boot", keep.boots);
	con_kv("evtchn", ports[CHANNEL]);
	con_puts(" irq=");
	con_puts(BM_FLAGS & SHML_XEN_BM_IRQ ? "yes" : "no");
	con_puts(" region=0x");
	con_hex(SHML_CFG_XEN_GUEST_ADDRESS, 0);
	con_puts("\n");
	rc = shml_region_attach(&region, &shml_cfg, SELF,
	                        (void *)(uintptr_t)SHML_CFG_XEN_GUEST_ADDRESS, SHML_CFG_REGION_SIZE,
	                        &bm.port);
	if (rc)
		fail("shml_region_attach", rc);
	rc = shml_chan_open(&region, &ch, CHANNEL, NULL);
	if (rc)
		fail("shml_chan_open", rc);
	if (keep.restart_n && keep.rebooted && keep.next < keep.restart_n)
		restart_receiver();
	for (uint32_t session = 1;; session++)
		echo_session(session);
}
