/* SPDX-License-Identifier: MIT */
/*
 * The worked example of docs/PROTOCOL.md: one region, two domains ("linux"
 * and "rtos"), one message channel "ctl". Both domains live in this one
 * process as two struct shml_region views of the same memory. The program
 * builds the configuration, prints its hash and layout, runs the handshake
 * with shml_poll(), sends "hello, rtos" from linux to rtos, and dumps the
 * shared memory the protocol wrote.
 *
 * The output is the same on every run:
 *  - the region starts as 0xEE bytes (garbage: the protocol never needs
 *    zeroed memory), so every byte still 0xEE was never written;
 *  - the port's clock is a counter (1000, 2000, ... per call, one counter
 *    per domain), and notify/wait are NULL (both ends poll);
 *  - a session generation also mixes in the address of the struct
 *    shml_chan (src/core/session.c, new_generation()), so both channel
 *    ends are placed at a fixed virtual address (fixed_chans()).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shmlink.h"

#define REGION_SIZE 8192u
#define CACHELINE 64u
#define FILL 0xEEu
/* Where the two struct shml_chan go: free in x86-64 and AArch64 processes, also with ASan. */
#define CHAN_ADDR ((void *)0x10000000ul)

static const struct shml_domain_cfg domains[] = {
	{ .name = "linux", .id = 1 },
	{ .name = "rtos", .id = 2 },
};

static const struct shml_channel_cfg channels[] = {
	{ .name = "ctl",
	  .a = 0, /* linux */
	  .b = 1, /* rtos */
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 1024,
	  .ring_ba = 1024,
	  .max_message = 0 },
};

static const struct shml_config cfg = {
	.region_size = REGION_SIZE,
	.cacheline = CACHELINE,
	.n_domains = 2,
	.domains = domains,
	.n_channels = 1,
	.channels = channels,
};

/* The deterministic clock: ctx points at the domain's counter. */
static uint64_t fake_now_ns(void *ctx)
{
	uint64_t *t = ctx;
	*t += 1000u;
	return *t;
}

struct chans {
	struct shml_chan linux_end, rtos_end;
};

static struct chans *fixed_chans(void)
{
	void *p = mmap(CHAN_ADDR, sizeof(struct chans), PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != CHAN_ADDR) {
		fprintf(stderr,
		        "worked_example: cannot map %p; generations will differ between runs\n",
		        CHAN_ADDR);
		if (p != MAP_FAILED)
			return p;
		p = calloc(1, sizeof(struct chans));
		if (!p)
			exit(1);
	}
	return p;
}

static void part(const char *name, uint64_t off, uint64_t size)
{
	printf("  %-32s 0x%04llx %5llu   0x%04llx %5llu\n", name, (unsigned long long)off,
	       (unsigned long long)off, (unsigned long long)size, (unsigned long long)size);
}

static int all_fill(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != FILL)
			return 0;
	return 1;
}

/* xxd-style dump of @n bytes at region offset @off; runs of all-0xEE lines become "...". */
static void dump(const char *title, const uint8_t *base, uint64_t off, uint32_t n)
{
	int elided = 0;
	printf("%s: 0x%04llx..0x%04llx\n", title, (unsigned long long)off,
	       (unsigned long long)(off + n));
	for (uint32_t i = 0; i < n; i += 16) {
		const uint8_t *p = base + off + i;
		uint32_t k = n - i < 16 ? n - i : 16;
		if (all_fill(p, k)) {
			if (!elided)
				printf("...\n");
			elided = 1;
			continue;
		}
		elided = 0;
		printf("%08llx: ", (unsigned long long)(off + i));
		for (uint32_t j = 0; j < 16; j++) {
			if (j < k)
				printf("%02x", p[j]);
			else
				printf("  ");
			if (j & 1)
				putchar(' ');
		}
		putchar(' ');
		for (uint32_t j = 0; j < k; j++)
			putchar(p[j] >= 0x20 && p[j] < 0x7f ? p[j] : '.');
		putchar('\n');
	}
	putchar('\n');
}

static void show_side(const struct shml_region *r, uint32_t side, const char *who)
{
	struct shml_side_view v;
	shml_inspect_side(r, 0, side, &v);
	printf("    side %c %-7s %-7s (0x%08x) gen 0x%08x peer_gen 0x%08x tx_pos %#x rx_pos %#x\n",
	       side ? 'B' : 'A', who, shml_state_name(v.state), v.state, v.gen, v.peer_gen,
	       v.tx_pos, v.rx_pos);
}

static void show_sides(const struct shml_region *r, const char *when)
{
	printf("  %s\n", when);
	show_side(r, 0, "(linux)");
	show_side(r, 1, "(rtos)");
}

static void show_line(const struct shml_region *r, uint32_t side, const char *who)
{
	struct shml_side_view v;
	shml_inspect_side(r, 0, side, &v);
	printf("side %c (%s) control line, decoded:\n", side ? 'B' : 'A', who);
	printf("  +0  state     0x%08x (%s)\n", v.state, shml_state_name(v.state));
	printf("  +4  gen       0x%08x\n", v.gen);
	printf("  +8  peer_gen  0x%08x\n", v.peer_gen);
	printf("  +12 wait      0x%08x (sequence 0x%08x, events 0x%x)\n", v.wait, v.wait >> 3,
	       v.wait & 7u);
	printf("  +16 wait_need 0x%08x\n", v.wait_need);
	printf("  +20 doorbell  0x%08x\n", v.doorbell);
	printf("  +24 final_gen 0x%08x  +28 final_tx 0x%08x\n", v.final_gen, v.final_tx);
	printf("  +32 final_of  0x%08x  +36 final_rx 0x%08x\n", v.final_of, v.final_rx);
	printf("  position line: +0 tx_pos 0x%08x (%u), +4 rx_pos 0x%08x (%u)\n", v.tx_pos,
	       v.tx_pos, v.rx_pos, v.rx_pos);
	printf("  statistics: %s, tx_messages %llu tx_bytes %llu rx_messages %llu rx_bytes %llu"
	       " notify_sent %llu notify_suppressed %llu\n\n",
	       v.stats_valid ? "valid" : "not written", (unsigned long long)v.counters.tx_messages,
	       (unsigned long long)v.counters.tx_bytes, (unsigned long long)v.counters.rx_messages,
	       (unsigned long long)v.counters.rx_bytes, (unsigned long long)v.counters.notify_sent,
	       (unsigned long long)v.counters.notify_suppressed);
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "worked_example: %s: %s (%d)\n", what, shml_strerror(rc), rc);
	exit(1);
}

int main(void)
{
	struct shml_config_error err;
	struct shml_channel_layout lay;
	struct shml_region linux_view, rtos_view;
	struct chans *ch = fixed_chans();
	uint64_t linux_clock = 0, rtos_clock = 0;
	struct shml_port linux_port = { .ctx = &linux_clock, .now_ns = fake_now_ns };
	struct shml_port rtos_port = { .ctx = &rtos_clock, .now_ns = fake_now_ns };
	static const char msg[] = "hello, rtos";
	char buf[64];
	uint8_t *mem;
	uint64_t used;
	uint32_t slot, side;
	int32_t n;
	int rc, round;

	/* ---- the configuration --------------------------------------------------------- */
	rc = shml_config_check(&cfg, &err);
	if (rc) {
		fprintf(stderr, "config: %s (field %s)\n", err.what, err.field);
		return 1;
	}
	printf("shmlink worked example, protocol version %u\n\n", SHML_PROTOCOL_VERSION);
	printf("config\n");
	printf("  region_size %llu, cacheline %u\n", (unsigned long long)cfg.region_size,
	       cfg.cacheline);
	for (uint32_t d = 0; d < cfg.n_domains; d++)
		printf("  domain %u: \"%s\", id %u\n", d, domains[d].name, domains[d].id);
	printf("  channel 0: \"%s\", message mode, a = %s, b = %s, ring_ab %u, ring_ba %u,\n"
	       "             max_message %u (effective %u = ring/2 - 8)\n",
	       channels[0].name, domains[channels[0].a].name, domains[channels[0].b].name,
	       channels[0].ring_ab, channels[0].ring_ba, channels[0].max_message,
	       shml_channel_max_message(&cfg, 0));
	printf("  config hash 0x%016llx\n\n", (unsigned long long)shml_config_hash(&cfg));

	/* ---- the layout: a pure function of the configuration ----------------------------- */
	slot = shml_domain_slot_size(&cfg);
	side = shml_side_block_size(&cfg);
	shml_channel_layout(&cfg, 0, &lay);
	used = shml_layout_bytes(&cfg);
	printf("layout                             offset (hex, dec)  size (hex, dec)\n");
	part("domain slot 0 (linux)", 0, slot);
	part("domain slot 1 (rtos)", slot, slot);
	part("channel 0 \"ctl\"", lay.offset, lay.end - lay.offset);
	part("  side A block (linux)", lay.side_a, side);
	part("    control line", lay.side_a, cfg.cacheline);
	part("    position line", lay.side_a + cfg.cacheline, cfg.cacheline);
	part("    statistics", lay.side_a + 2 * cfg.cacheline, side - 2 * cfg.cacheline);
	part("  side B block (rtos)", lay.side_b, side);
	part("    control line", lay.side_b, cfg.cacheline);
	part("    position line", lay.side_b + cfg.cacheline, cfg.cacheline);
	part("    statistics", lay.side_b + 2 * cfg.cacheline, side - 2 * cfg.cacheline);
	part("  ring A->B (linux -> rtos)", lay.ring_ab, channels[0].ring_ab);
	part("  ring B->A (rtos -> linux)", lay.ring_ba, channels[0].ring_ba);
	part("used (shml_layout_bytes)", 0, used);
	part("unused up to region_size", used, cfg.region_size - used);
	printf("\n");

	/* ---- the region: aligned, full of garbage ------------------------------------------ */
	mem = aligned_alloc(4096, REGION_SIZE);
	if (!mem)
		return 1;
	memset(mem, FILL, REGION_SIZE);

	/* ---- both domains attach and open their end ----------------------------------------- */
	rc = shml_region_attach(&linux_view, &cfg, 0, mem, REGION_SIZE, &linux_port);
	if (rc)
		fail("attach linux", rc);
	rc = shml_region_attach(&rtos_view, &cfg, 1, mem, REGION_SIZE, &rtos_port);
	if (rc)
		fail("attach rtos", rc);

	printf("handshake (each shml_chan_open() and shml_poll() makes at most one transition)\n");
	rc = shml_chan_open(&linux_view, &ch->linux_end, 0, NULL);
	if (rc)
		fail("open linux", rc);
	show_sides(&linux_view, "after shml_chan_open(linux):");
	rc = shml_chan_open(&rtos_view, &ch->rtos_end, 0, NULL);
	if (rc)
		fail("open rtos", rc);
	show_sides(&linux_view, "after shml_chan_open(rtos):");
	for (round = 1; round <= 10; round++) {
		int a = shml_poll(&ch->linux_end);
		int b = shml_poll(&ch->rtos_end);
		char when[80];
		snprintf(when, sizeof(when),
		         "after poll round %d: shml_poll(linux) = %d, "
		         "shml_poll(rtos) = %d:",
		         round, a, b);
		show_sides(&linux_view, when);
		if (a == 1 && b == 1)
			break;
	}
	if (!shml_connected(&ch->linux_end) || !shml_connected(&ch->rtos_end))
		fail("handshake", SHML_ENOTCONN);
	printf("\n");

	/* ---- one message -----------------------------------------------------------------------
	 */
	rc = shml_send(&ch->linux_end, msg, strlen(msg));
	printf("linux: shml_send(\"%s\", %zu) = %d\n", msg, strlen(msg), rc);
	if (rc)
		fail("send", rc);
	n = shml_recv(&ch->rtos_end, buf, sizeof(buf));
	if (n < 0)
		fail("recv", n);
	printf("rtos:  shml_recv() = %d: \"%.*s\"\n", (int)n, (int)n, buf);
	/* Counters reach shared memory at session changes and every 4096 operations; now too. */
	shml_publish_counters(&ch->linux_end);
	shml_publish_counters(&ch->rtos_end);
	printf("both:  shml_publish_counters()\n\n");

	/* ---- what is in shared memory now -------------------------------------------------------
	 */
	printf("shared memory (bytes still 0xEE were never written; lines of only 0xEE: ...)\n\n");
	dump("domain slot 0 (linux)", mem, 0, slot);
	dump("domain slot 1 (rtos)", mem, slot, slot);
	dump("side A (linux) control line, first 48 bytes", mem, lay.side_a, 48);
	dump("side A (linux) position line, first 16 bytes", mem, lay.side_a + cfg.cacheline, 16);
	dump("side B (rtos) control line, first 48 bytes", mem, lay.side_b, 48);
	dump("side B (rtos) position line, first 16 bytes", mem, lay.side_b + cfg.cacheline, 16);
	dump("ring A->B, first 32 bytes", mem, lay.ring_ab, 32);
	dump("side A (linux) statistics, first 32 bytes", mem, lay.side_a + 2 * cfg.cacheline, 32);
	dump("side B (rtos) statistics, first 32 bytes", mem, lay.side_b + 2 * cfg.cacheline, 32);
	show_line(&linux_view, 0, "linux");
	show_line(&linux_view, 1, "rtos");

	free(mem);
	return 0;
}
