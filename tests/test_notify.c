/* SPDX-License-Identifier: MIT */
/*
 * Notification suppression, with a counting fake port whose wait hook
 * returns at once (and, to play "the peer acts while we sleep", runs an
 * action first):
 *  - a receiver that never sleeps gets no notification: the sender's
 *    notify_sent stays 0 and notify_suppressed counts every publish;
 *  - a sleep that timed out has withdrawn its announcement: no notification;
 *  - sends while the receiver sleeps notify once per sleep (dedupe), with
 *    the doorbell incremented first and the sleeper's expected doorbell
 *    value now stale; the next sleep is notified again;
 *  - a writer sleeping for room is woken only when the room it announced
 *    (wait_need) is there, once; it announces half the ring, not just its
 *    record (hysteresis), so a slow reader wakes a blocked writer once per
 *    half ring drained, not per record, and a reader that stops early delays
 *    it only by a short, capped sleep;
 *  - a close while the peer sleeps notifies it (a state change).
 */
#include <string.h>

#include "testutil.h"

#define RING 1024u
#define CTL_DOORBELL_OFF 20u /* docs/PROTOCOL.md §6.1 */

struct fake {
	int notifies;
	struct shml_chan *notify_ch;
	volatile uint32_t *notify_doorbell;
	int waits;
	struct shml_chan *wait_ch;
	const volatile uint32_t *wait_doorbell;
	uint32_t wait_expected;
	uint64_t wait_timeout;
	void (*action)(struct shml_chan *sleeper); /* run inside the next wait, once */
};

static struct fake fk;
static void *mem;
static struct shml_region ra, rb;
static struct shml_chan a, b;
static struct shml_channel_layout lay;

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return shml_host_now_ns();
}

static void fake_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	(void)ctx;
	fk.notifies++;
	fk.notify_ch = ch;
	fk.notify_doorbell = doorbell;
}

static int fake_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                     uint32_t expected, uint64_t timeout_ns)
{
	void (*act)(struct shml_chan *) = fk.action;
	(void)ctx;
	CHECK(timeout_ns > 0);
	fk.waits++;
	fk.wait_ch = ch;
	fk.wait_doorbell = peer_doorbell;
	fk.wait_expected = expected;
	fk.wait_timeout = timeout_ns;
	fk.action = NULL;
	if (act)
		act(ch);
	return 0; /* "woken" at once: the core re-checks */
}

static struct shml_counters counters(struct shml_chan *ch)
{
	struct shml_counters c;
	shml_get_counters(ch, &c);
	return c;
}

static struct shml_side_view side(int s)
{
	struct shml_side_view v;
	shml_inspect_side(&ra, 0, (uint32_t)s, &v);
	return v;
}

/* ---- actions run while a side "sleeps" -------------------------------------- */

static uint32_t wait_word_in_sleep;
static int notifies_after_first, notifies_after_second;

static void send_twice(struct shml_chan *sleeper)
{
	struct shml_side_view va = side(0);
	CHECK(sleeper == &b);
	wait_word_in_sleep = side(1).wait;
	/* The sleeper waits on A's doorbell, expecting its current value. */
	CHECK(fk.wait_doorbell ==
	      (const volatile uint32_t *)((uint8_t *)mem + lay.side_a + CTL_DOORBELL_OFF));
	CHECK_EQ(fk.wait_expected, va.doorbell);
	CHECK_EQ(shml_send(&a, "first", 5), 0);
	notifies_after_first = fk.notifies;
	CHECK_EQ(shml_send(&a, "second", 6), 0);
	notifies_after_second = fk.notifies;
	/* The doorbell moved: a futex wait with the old value would return at once. */
	CHECK(*fk.wait_doorbell != fk.wait_expected);
	CHECK_EQ(side(0).doorbell, va.doorbell + 1);
}

static void send_once(struct shml_chan *sleeper)
{
	CHECK(sleeper == &b);
	CHECK_EQ(shml_send(&a, "third", 5), 0);
}

static int room_notified_at = -1, first_k_with_room = -1, releases_in_sleep;
static uint32_t need_in_sleep, expect_need;

/* A sleeps for room: B frees it one message at a time. */
static void free_room(struct shml_chan *sleeper)
{
	uint8_t buf[RING];
	struct shml_side_view va = side(0);
	int before = fk.notifies;
	CHECK(sleeper == &a);
	CHECK_EQ(va.wait & 7u, SHML_EV_WRITABLE | SHML_EV_STATE);
	need_in_sleep = va.wait_need;
	/* What a 400-byte message needs now: its 408-byte record, plus the tail if too short. */
	uint32_t tail = RING - (va.tx_pos & (RING - 1));
	expect_need = tail < 408 ? tail + 408 : 408;
	for (int k = 1; k <= 10; k++) {
		CHECK_EQ(shml_recv(&b, buf, sizeof(buf)), 64);
		releases_in_sleep = k;
		struct shml_side_view vb = side(1);
		uint32_t room = RING - (va.tx_pos - vb.rx_pos);
		if (room < need_in_sleep) {
			CHECK_EQ(fk.notifies, before); /* not enough room yet: no wake-up */
		} else {
			CHECK_EQ(fk.notifies, before + 1); /* enough: exactly one, then no more */
			CHECK(fk.notify_ch == &b);
			if (first_k_with_room < 0)
				first_k_with_room = k;
		}
		if (room_notified_at < 0 && fk.notifies > before)
			room_notified_at = k;
	}
}

static int drained[64], n_drains;

/* B, a slow reader, frees A's ring one message at a time until A is woken. */
static void drain_until_woken(struct shml_chan *sleeper)
{
	uint8_t tmp[RING];
	int before = fk.notifies, k = 0;
	CHECK(sleeper == &a);
	CHECK_EQ(side(0).wait_need, RING / 2);
	CHECK(fk.wait_timeout <= 2000000ull); /* a sleep for more than we need is short */
	while (fk.notifies == before) {
		CHECK_EQ(shml_recv(&b, tmp, sizeof(tmp)), 64);
		k++;
	}
	CHECK(RING - (side(0).tx_pos - side(1).rx_pos) >= RING / 2);
	CHECK(n_drains < 64);
	drained[n_drains++] = k;
}

/* B frees room for A's record, then stops: below A's wake-up need. */
static void free_one(struct shml_chan *sleeper)
{
	uint8_t tmp[RING];
	int before = fk.notifies;
	CHECK(sleeper == &a);
	CHECK_EQ(shml_recv(&b, tmp, sizeof(tmp)), 64);
	CHECK_EQ(fk.notifies, before);
}

static void close_a(struct shml_chan *sleeper)
{
	CHECK(sleeper == &b);
	shml_chan_close(&a);
}

int main(void)
{
	struct tu_config t;
	struct shml_port port = { .now_ns = fake_now, .notify = fake_notify, .wait = fake_wait };
	struct shml_chan_opts no_spin = { .spin_ns = 0 };
	struct shml_counters ca0, cb0, c;
	struct shml_reset_info ri;
	uint8_t buf[RING];
	int32_t n;

	tu_config_init(&t, SHML_MODE_MESSAGE, RING);
	shml_channel_layout(&t.cfg, 0, &lay);
	CHECK(posix_memalign(&mem, 4096, t.cfg.region_size) == 0);
	tu_fill(mem, t.cfg.region_size, 77);
	CHECK_EQ(shml_region_attach(&ra, &t.cfg, 0, mem, t.cfg.region_size, &port), 0);
	CHECK_EQ(shml_region_attach(&rb, &t.cfg, 1, mem, t.cfg.region_size, &port), 0);
	/* The receiver opens first: its wait word is clean before the sender looks. */
	CHECK_EQ(shml_chan_open(&rb, &b, 0, &no_spin), 0);
	CHECK_EQ(shml_chan_open(&ra, &a, 0, &no_spin), 0);
	for (int i = 0; i < 100; i++) {
		int r1 = shml_poll(&a), r2 = shml_poll(&b);
		if (r1 == 1 && r2 == 1)
			break;
	}
	CHECK(shml_connected(&a) && shml_connected(&b));
	CHECK_EQ(fk.waits, 0);

	/* ---- 1. the receiver never sleeps: no notification at all ---- */
	ca0 = counters(&a);
	cb0 = counters(&b);
	CHECK_EQ(ca0.notify_sent, 0);
	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(shml_send(&a, &i, sizeof(i)), 0);
		if (i % 3 == 0)
			continue; /* let a few pile up */
		while ((n = shml_recv(&b, buf, sizeof(buf))) > 0)
			;
		CHECK_EQ(n, SHML_EAGAIN);
	}
	while (shml_recv(&b, buf, sizeof(buf)) > 0)
		;
	c = counters(&a);
	CHECK_EQ(c.notify_sent, 0);
	CHECK_EQ(c.notify_suppressed - ca0.notify_suppressed, 1000); /* one per send */
	c = counters(&b);
	CHECK_EQ(c.notify_sent, cb0.notify_sent);
	CHECK_EQ(c.notify_suppressed - cb0.notify_suppressed, 1000); /* one per release */
	CHECK_EQ(fk.notifies, (int)cb0.notify_sent);
	int notifies0 = fk.notifies;

	/* ---- 2. a sleep that timed out: the announcement is withdrawn ---- */
	uint32_t seq0 = side(1).wait >> 3;
	CHECK_EQ(side(1).wait & 7u, 0);
	CHECK_EQ(shml_recv_wait(&b, buf, sizeof(buf), 2000000), SHML_ETIMEDOUT);
	int sleeps = fk.waits;
	CHECK(sleeps >= 1);
	CHECK(fk.wait_ch == &b);
	CHECK_EQ(counters(&b).wakeups, (uint64_t)sleeps);
	CHECK_EQ(side(1).wait & 7u, 0); /* not sleeping now */
	CHECK_EQ(side(1).wait >> 3,
	         (seq0 + (uint32_t)sleeps) & 0x1fffffffu); /* one seq per sleep */
	CHECK_EQ(shml_send(&a, "late", 4), 0);
	CHECK_EQ(fk.notifies, notifies0);
	CHECK_EQ(counters(&a).notify_sent, 0);
	CHECK_EQ(shml_recv(&b, buf, sizeof(buf)), 4);

	/* ---- 3. sends while the receiver sleeps: one notification per sleep ---- */
	fk.waits = 0;
	fk.action = send_twice;
	n = shml_recv_wait(&b, buf, sizeof(buf), 1000000000ull);
	CHECK_EQ(n, 5);
	CHECK(memcmp(buf, "first", 5) == 0);
	CHECK_EQ(fk.waits, 1);
	CHECK_EQ(wait_word_in_sleep & 7u, SHML_EV_READABLE | SHML_EV_STATE);
	CHECK_EQ(notifies_after_first, notifies0 + 1);  /* the first send notified */
	CHECK_EQ(notifies_after_second, notifies0 + 1); /* the second did not */
	CHECK(fk.notify_ch == &a);
	CHECK(fk.notify_doorbell ==
	      (volatile uint32_t *)((uint8_t *)mem + lay.side_a + CTL_DOORBELL_OFF));
	c = counters(&a);
	CHECK_EQ(c.notify_sent, 1);
	/* The second message is there at once: no sleep. */
	CHECK_EQ(shml_recv_wait(&b, buf, sizeof(buf), 1000000000ull), 6);
	CHECK_EQ(fk.waits, 1);
	CHECK_EQ(side(1).wait & 7u, 0);

	/* ---- 4. the next sleep is a new one: notified again, once ---- */
	fk.action = send_once;
	CHECK_EQ(shml_recv_wait(&b, buf, sizeof(buf), 1000000000ull), 5);
	CHECK_EQ(fk.waits, 2);
	CHECK_EQ(fk.notifies, notifies0 + 2);
	CHECK_EQ(counters(&a).notify_sent, 2);
	CHECK_EQ(counters(&b).wakeups, (uint64_t)sleeps + 2);

	/* ---- 5. a writer sleeping for room is woken when its need is met ---- */
	/* First bring A's position to ring offset 0 with records that exactly fill the tail. */
	uint32_t off;
	while ((off = side(0).tx_pos & (RING - 1)) != 0) {
		uint32_t rec = RING - off < 512 ? RING - off : 512;
		CHECK_EQ(shml_send(&a, buf, rec - 8), 0);
		CHECK_EQ(shml_recv(&b, buf, sizeof(buf)), (int32_t)(rec - 8));
	}
	int sent = 0;
	memset(buf, 0x11, sizeof(buf));
	while (shml_send(&a, buf, 64) == 0)
		sent++;
	CHECK_EQ(sent, RING / 72); /* 14 records of 72 bytes; 16 bytes left */
	int before5 = fk.notifies;
	fk.action = free_room;
	CHECK_EQ(shml_send_wait(&a, buf, 400, 1000000000ull), 0);
	/* Need: the 16-byte tail (for padding) + a 408-byte record = 424; room 16 + 72k. */
	CHECK_EQ(expect_need, 424);
	CHECK_EQ(need_in_sleep, RING / 2); /* hysteresis: half the ring, more than 424 */
	CHECK_EQ(first_k_with_room, 7);    /* 16 + 72 * 7 = 520 >= 512 */
	CHECK_EQ(room_notified_at, 7);
	CHECK(fk.wait_timeout <= 2000000ull);
	CHECK_EQ(releases_in_sleep, 10);
	CHECK_EQ(fk.notifies, before5 + 1);
	CHECK_EQ(counters(&b).notify_sent, cb0.notify_sent + 1);
	while ((n = shml_recv(&b, buf, sizeof(buf))) == 64)
		;
	CHECK_EQ(n, 400);

	/* ---- 6. a slow reader wakes a blocked writer once per half ring, not per record ---- */
	uint64_t notified6 = counters(&b).notify_sent, woken6 = counters(&a).wakeups;
	int waits6 = fk.waits, blocked = 0;
	for (int i = 0; i < 200; i++) {
		if (shml_send(&a, buf, 64) == 0)
			continue;
		blocked++;
		fk.action = drain_until_woken;
		CHECK_EQ(shml_send_wait(&a, buf, 64, 1000000000ull), 0);
	}
	fk.action = NULL;
	CHECK(n_drains >= 20);
	CHECK_EQ(fk.waits - waits6, n_drains); /* every blocked send slept once... */
	CHECK_EQ(blocked, n_drains);
	CHECK_EQ(counters(&b).notify_sent - notified6, (uint64_t)n_drains); /* ...woken once */
	CHECK_EQ(counters(&a).wakeups - woken6, (uint64_t)n_drains);
	for (int i = 0; i < n_drains; i++)
		CHECK(drained[i] >= 6); /* from < 143 bytes free to >= 512: six 72-byte records */
	/* A reader that stops below the writer's wake-up need: no notification, yet the
	 * writer's short sleep ends and its record goes in. */
	int notifies6 = fk.notifies;
	fk.action = free_one;
	CHECK_EQ(shml_send_wait(&a, buf, 64, 1000000000ull), 0);
	CHECK_EQ(fk.notifies, notifies6);
	CHECK(fk.wait_timeout <= 2000000ull);
	while ((n = shml_recv(&b, buf, sizeof(buf))) == 64)
		;
	CHECK_EQ(n, SHML_EAGAIN);

	/* ---- 7. a close while the peer sleeps is a state change: it notifies ---- */
	int before6 = fk.notifies;
	fk.action = close_a;
	CHECK_EQ(shml_recv_wait(&b, buf, sizeof(buf), 1000000000ull), SHML_ERESET);
	CHECK_EQ(fk.notifies, before6 + 1);
	CHECK(fk.notify_ch == &a);
	CHECK_EQ(shml_reset_info(&b, &ri), 0);
	CHECK_EQ(ri.peer_closed, 1);

	shml_chan_close(&b);
	free(mem);
	printf("test_notify: ok (no sleeper: 0 notifications, %d suppressed; one notification "
	       "per sleep; room-gated wake-up after %d of 10 releases; a slow reader woke a "
	       "blocked writer %d times in 200 sends; close wakes)\n",
	       1000, room_notified_at, n_drains);
	return 0;
}
