/* SPDX-License-Identifier: MIT */
/*
 * Three domains (a, b, c), three channels (a-b message, b-c stream, a-c
 * message), each domain a separate process mapping the same region file.
 * Every process sends N messages on each of its channels and receives N on
 * each; every message carries its channel, sender, sequence number and a
 * checksum, and all are checked.
 *
 * Then a configuration mismatch: once c has left, a fourth process attaches
 * as domain c with a configuration that differs in one ring size. shml_poll()
 * on its channel to b returns SHML_EMISMATCH (and so does b's), and the error
 * is diagnosable: shml_read_slot() shows the peer's config hash, which both
 * sides print the way a user would see it. Finally a fifth process attaches as
 * c with the right configuration, and b-c works again.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define N 50000u
#define N_AFTER 1000u
#define MAXPAY 300u
#define WATCHDOG_S 30u
#define DEADLINE_NS 30000000000ull

struct msg_hdr {
	uint32_t magic; /* "3PRC" */
	uint32_t chan, from, seq, len, sum;
};
#define MAGIC 0x43525033u
#define HDR ((uint32_t)sizeof(struct msg_hdr))

/* Shared between the processes (anonymous shared memory, not the region). */
struct shared {
	_Atomic int phase;
	_Atomic int done;          /* processes that finished the exchange */
	_Atomic int mismatch_seen; /* bit 0: d saw it, bit 1: b saw it */
};
static struct shared *sh;

static uint64_t now_ns(void)
{
	return shml_host_now_ns();
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void on_alarm(int sig)
{
	static const char m[] = "watchdog: a process is stuck, aborting\n";
	(void)sig;
	if (write(2, m, sizeof(m) - 1)) {
	}
	abort();
}

static void watchdog(void)
{
	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
}

/* The configuration: domains a, b, c and their three channels. */
static void make_config(struct tu_config *t)
{
	memset(t, 0, sizeof(*t));
	t->domains[0] = (struct shml_domain_cfg){ .name = "a", .id = 10 };
	t->domains[1] = (struct shml_domain_cfg){ .name = "b", .id = 11 };
	t->domains[2] = (struct shml_domain_cfg){ .name = "c", .id = 12 };
	t->channels[0] = (struct shml_channel_cfg){ .name = "a-b",
		                                    .a = 0,
		                                    .b = 1,
		                                    .mode = SHML_MODE_MESSAGE,
		                                    .ring_ab = 8192,
		                                    .ring_ba = 4096 };
	t->channels[1] = (struct shml_channel_cfg){ .name = "b-c",
		                                    .a = 1,
		                                    .b = 2,
		                                    .mode = SHML_MODE_STREAM,
		                                    .ring_ab = 4096,
		                                    .ring_ba = 8192 };
	t->channels[2] = (struct shml_channel_cfg){ .name = "a-c",
		                                    .a = 0,
		                                    .b = 2,
		                                    .mode = SHML_MODE_MESSAGE,
		                                    .ring_ab = 16384,
		                                    .ring_ba = 16384 };
	t->cfg.cacheline = 64;
	t->cfg.n_domains = 3;
	t->cfg.domains = t->domains;
	t->cfg.n_channels = 3;
	t->cfg.channels = t->channels;
	t->cfg.region_size = shml_layout_bytes(&t->cfg);
	CHECK_EQ(shml_config_check(&t->cfg, NULL), 0);
}

static uint32_t msg_sum(const struct msg_hdr *h, const uint8_t *payload)
{
	return tu_checksum(payload, h->len) ^ (h->seq * 0x9e3779b1u) ^ (h->chan << 8) ^ h->from;
}

static uint32_t make_msg(uint8_t *buf, uint32_t chan, uint32_t from, uint32_t seq)
{
	struct msg_hdr h = { .magic = MAGIC, .chan = chan, .from = from, .seq = seq };
	h.len = (seq * 2654435761u + chan * 131u + from) % (MAXPAY + 1u);
	tu_fill(buf + HDR, h.len, ((uint64_t)chan << 48) ^ ((uint64_t)from << 40) ^ seq);
	h.sum = msg_sum(&h, buf + HDR);
	memcpy(buf, &h, HDR);
	return HDR + h.len;
}

static void check_msg(const uint8_t *buf, uint32_t n, uint32_t chan, uint32_t from, uint32_t seq)
{
	struct msg_hdr h;
	CHECK(n >= HDR);
	memcpy(&h, buf, HDR);
	CHECK_EQ(h.magic, MAGIC);
	CHECK_EQ(h.chan, chan);
	CHECK_EQ(h.from, from);
	CHECK_EQ(h.seq, seq);
	CHECK_EQ(n, HDR + h.len);
	CHECK_EQ(h.sum, msg_sum(&h, buf + HDR));
}

/* One channel end of a domain, streaming N messages out and N in. */
struct end {
	struct shml_chan ch;
	uint32_t index, self, peer, mode;
	uint32_t sent, received, target;
	uint8_t pend[HDR + MAXPAY]; /* stream mode: the message being written */
	uint32_t pend_len, pend_off;
	uint8_t rbuf[2 * (HDR + MAXPAY)]; /* stream mode: bytes of the next message */
	uint32_t rfill;
};

static void end_open(struct end *e, struct shml_region *r, uint32_t c, uint32_t target)
{
	const struct shml_channel_cfg *cc = &r->cfg->channels[c];
	memset(e, 0, sizeof(*e));
	CHECK_EQ(shml_chan_open(r, &e->ch, c, NULL), 0);
	e->index = c;
	e->self = r->self;
	e->peer = cc->a == r->self ? cc->b : cc->a;
	e->mode = cc->mode;
	e->target = target;
}

static int end_done(const struct end *e)
{
	return e->sent == e->target && e->received == e->target;
}

/* Any error but "not now" is a failure here: nobody is hostile. */
static void check_rc(const struct end *e, int rc, const char *what)
{
	if (rc >= 0 || rc == SHML_EAGAIN || rc == SHML_ENOTCONN)
		return;
	fprintf(stderr, "domain %u channel %u: %s: %s\n", e->self, e->index, what,
	        shml_strerror(rc));
	exit(1);
}

/* Stream mode: parse whole messages out of the received bytes. */
static void stream_parse(struct end *e)
{
	uint32_t off = 0;
	while (e->rfill - off >= HDR) {
		struct msg_hdr h;
		memcpy(&h, e->rbuf + off, HDR);
		CHECK_EQ(h.magic, MAGIC);
		CHECK(h.len <= MAXPAY);
		if (e->rfill - off < HDR + h.len)
			break;
		CHECK(e->received < e->target);
		check_msg(e->rbuf + off, HDR + h.len, e->index, e->peer, e->received);
		e->received++;
		off += HDR + h.len;
	}
	memmove(e->rbuf, e->rbuf + off, e->rfill - off);
	e->rfill -= off;
}

/* Move what can move now, without blocking. Returns 1 on progress. */
static int end_pump(struct end *e)
{
	int progress = 0;
	for (int i = 0; i < 64 && e->sent < e->target; i++) {
		if (e->mode == SHML_MODE_MESSAGE) {
			uint8_t buf[HDR + MAXPAY];
			uint32_t n = make_msg(buf, e->index, e->self, e->sent);
			int rc = shml_send(&e->ch, buf, n);
			check_rc(e, rc, "shml_send");
			if (rc != 0)
				break;
			e->sent++;
		} else {
			int32_t rc;
			if (e->pend_off == e->pend_len) {
				e->pend_len = make_msg(e->pend, e->index, e->self, e->sent);
				e->pend_off = 0;
			}
			rc = shml_write(&e->ch, e->pend + e->pend_off, e->pend_len - e->pend_off);
			check_rc(e, rc, "shml_write");
			if (rc <= 0)
				break;
			e->pend_off += (uint32_t)rc;
			if (e->pend_off == e->pend_len)
				e->sent++;
		}
		progress = 1;
	}
	for (int i = 0; i < 64 && e->received < e->target; i++) {
		if (e->mode == SHML_MODE_MESSAGE) {
			uint8_t buf[HDR + MAXPAY + 8];
			int32_t n = shml_recv(&e->ch, buf, sizeof(buf));
			check_rc(e, n, "shml_recv");
			if (n < 0)
				break;
			check_msg(buf, (uint32_t)n, e->index, e->peer, e->received);
			e->received++;
		} else {
			int32_t n =
			        shml_read(&e->ch, e->rbuf + e->rfill, sizeof(e->rbuf) - e->rfill);
			check_rc(e, n, "shml_read");
			if (n <= 0)
				break;
			e->rfill += (uint32_t)n;
			stream_parse(e);
		}
		progress = 1;
	}
	if (!progress) {
		int rc = shml_poll(&e->ch);
		check_rc(e, rc, "shml_poll");
	}
	return progress;
}

/* Exchange on all @n ends until each has sent and received its target. */
static void exchange(struct end *ends, int n)
{
	uint64_t deadline = now_ns() + DEADLINE_NS;
	int turn = 0;
	for (;;) {
		int progress = 0, done = 1;
		for (int i = 0; i < n; i++) {
			progress |= end_pump(&ends[i]);
			done &= end_done(&ends[i]);
		}
		if (done)
			return;
		if (now_ns() > deadline) {
			for (int i = 0; i < n; i++)
				fprintf(stderr,
				        "domain %u channel %u: sent %u, received %u of %u\n",
				        ends[i].self, ends[i].index, ends[i].sent, ends[i].received,
				        ends[i].target);
			CHECK(!"exchange did not finish in 30 s");
		}
		if (!progress) {
			/* Sleep briefly on one channel, the next one next time. */
			struct end *e = &ends[turn++ % n];
			int w = shml_wait(&e->ch,
			                  SHML_EV_READABLE | SHML_EV_STATE |
			                          (e->sent < e->target ? SHML_EV_WRITABLE : 0u),
			                  HDR + MAXPAY, 1000000);
			CHECK(w >= 0);
		}
	}
}

struct domain {
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region r;
};

static void domain_attach(struct domain *d, const char *path, const struct shml_config *cfg,
                          uint32_t self)
{
	CHECK_EQ(shml_host_map(&d->hr, path, cfg->region_size, 0), 0);
	shml_host_port_init(&d->port);
	CHECK_EQ(shml_region_attach(&d->r, cfg, self, d->hr.mem, d->hr.size, &d->port), 0);
}

/* What a user sees when a peer's configuration differs: from the peer's domain slot. */
static void explain_mismatch(const struct shml_region *r, const struct shml_chan *ch,
                             uint64_t peer_expected_hash)
{
	const struct shml_config *cfg = r->cfg;
	const struct shml_channel_cfg *cc = &cfg->channels[ch->index];
	uint32_t peer = cc->a == r->self ? cc->b : cc->a;
	struct shml_slot_info si;
	struct shml_counters c;
	shml_read_slot(r, peer, &si);
	printf("domain '%s', channel '%s': %s: peer domain '%s' (id %u, protocol version %u) uses "
	       "config hash 0x%016llx, we use 0x%016llx\n",
	       cfg->domains[r->self].name, cc->name, shml_strerror(SHML_EMISMATCH),
	       cfg->domains[peer].name, si.domain_id, si.version,
	       (unsigned long long)si.config_hash, (unsigned long long)shml_config_hash(cfg));
	CHECK_EQ(si.magic, SHML_MAGIC);
	CHECK_EQ(si.version, SHML_PROTOCOL_VERSION);
	CHECK_EQ(si.valid, 0);
	CHECK_EQ(si.domain_id, cfg->domains[peer].id);
	CHECK(si.config_hash == peer_expected_hash);
	CHECK(si.config_hash != shml_config_hash(cfg));
	shml_get_counters(ch, &c);
	CHECK_EQ(c.last_error, (uint32_t)-SHML_EMISMATCH);
	fflush(stdout);
}

/* Poll @ch until it says SHML_EMISMATCH (bounded), then check that it stays so. */
static void expect_mismatch(struct shml_chan *ch)
{
	uint64_t deadline = now_ns() + 5000000000ull;
	int rc;
	while ((rc = shml_poll(ch)) != SHML_EMISMATCH) {
		CHECK(rc == SHML_ENOTCONN || rc == SHML_ERESET);
		CHECK(now_ns() < deadline);
		sleep_ms(1);
	}
	for (int i = 0; i < 10; i++)
		CHECK_EQ(shml_poll(ch), SHML_EMISMATCH);
	CHECK(!shml_connected(ch));
	CHECK_EQ(shml_wait(ch, SHML_EV_READABLE | SHML_EV_STATE, 0, 1000000), SHML_EMISMATCH);
}

enum { PH_EXCHANGE, PH_MISMATCH, PH_LEAVE, PH_FIX, PH_END };

static void wait_phase(int ph)
{
	uint64_t deadline = now_ns() + DEADLINE_NS;
	while (atomic_load(&sh->phase) < ph) {
		CHECK(now_ns() < deadline);
		sleep_ms(1);
	}
}

/* Domains a, b and c: the exchange; b then stays for the mismatch and the fix. */
static void domain_main(const char *path, const struct tu_config *t, uint32_t self)
{
	static struct end ends[2];
	struct domain d;
	int n = 0;
	watchdog();
	domain_attach(&d, path, &t->cfg, self);
	for (uint32_t c = 0; c < t->cfg.n_channels; c++)
		if (t->channels[c].a == self || t->channels[c].b == self)
			end_open(&ends[n++], &d.r, c, N);
	CHECK_EQ(n, 2);
	exchange(ends, n);
	/* Everyone done before anyone closes. */
	atomic_fetch_add(&sh->done, 1);
	{
		uint64_t deadline = now_ns() + DEADLINE_NS;
		while (atomic_load(&sh->done) < 3) {
			CHECK(now_ns() < deadline);
			for (int i = 0; i < n; i++)
				shml_poll(&ends[i].ch);
			sleep_ms(1);
		}
	}
	for (int i = 0; i < n; i++) {
		struct shml_counters c;
		shml_get_counters(&ends[i].ch, &c);
		if (ends[i].mode == SHML_MODE_MESSAGE) {
			CHECK_EQ(c.tx_messages, N);
			CHECK_EQ(c.rx_messages, N);
		}
		CHECK_EQ(c.protocol_errors, 0);
		CHECK_EQ(c.resets, 0);
	}
	if (self != 1) {
		for (int i = 0; i < n; i++)
			shml_chan_close(&ends[i].ch);
		shml_host_unmap(&d.hr);
		fflush(stdout);
		_exit(0);
	}

	/* b: c has gone. A process with another configuration attaches as c. */
	wait_phase(PH_MISMATCH);
	watchdog();
	for (int i = 0; i < n; i++)
		if (ends[i].index == 1) {
			/* b-c */
			struct tu_config other = *t;
			other.cfg.domains = other.domains;
			other.cfg.channels = other.channels;
			other.channels[1].ring_ba /= 2;
			expect_mismatch(&ends[i].ch);
			explain_mismatch(&d.r, &ends[i].ch, shml_config_hash(&other.cfg));
			atomic_fetch_or(&sh->mismatch_seen, 2);

			/* The right c comes back: b-c works again. */
			wait_phase(PH_FIX);
			watchdog();
			ends[i].sent = ends[i].received = 0;
			ends[i].pend_len = ends[i].pend_off = ends[i].rfill = 0;
			ends[i].target = N_AFTER;
			exchange(&ends[i], 1);
			wait_phase(PH_END);
		}
	for (int i = 0; i < n; i++)
		shml_chan_close(&ends[i].ch);
	shml_host_unmap(&d.hr);
	fflush(stdout);
	_exit(0);
}

/* The fourth process: domain c with one ring size changed. */
static void mismatch_main(const char *path, const struct tu_config *t)
{
	struct tu_config other = *t;
	struct domain d;
	struct shml_chan ch;
	uint8_t buf[8] = { 0 };
	watchdog();
	other.cfg.domains = other.domains;
	other.cfg.channels = other.channels;
	other.channels[1].ring_ba /= 2; /* b-c, c->b: 8192 -> 4096; same region size */
	CHECK_EQ(shml_config_check(&other.cfg, NULL), 0);
	CHECK(shml_config_hash(&other.cfg) != shml_config_hash(&t->cfg));
	domain_attach(&d, path, &other.cfg, 2);
	CHECK_EQ(shml_chan_open(&d.r, &ch, 1, NULL), 0);
	expect_mismatch(&ch);
	CHECK_EQ(shml_send(&ch, buf, 0), SHML_EINVAL); /* b-c is a stream channel */
	CHECK_EQ(shml_write(&ch, buf, sizeof(buf)), SHML_EMISMATCH);
	explain_mismatch(&d.r, &ch, shml_config_hash(&t->cfg));
	atomic_fetch_or(&sh->mismatch_seen, 1);
	fflush(stdout);
	wait_phase(PH_LEAVE);
	shml_chan_close(&ch);
	shml_host_unmap(&d.hr);
	fflush(stdout);
	_exit(0);
}

/* The fifth process: domain c again, with the right configuration. */
static void fixed_main(const char *path, const struct tu_config *t)
{
	struct domain d;
	struct end e;
	watchdog();
	domain_attach(&d, path, &t->cfg, 2);
	end_open(&e, &d.r, 1, N_AFTER);
	exchange(&e, 1);
	printf("domain 'c' attached again with the right configuration: b-c carried %u messages "
	       "each way\n",
	       N_AFTER);
	atomic_store(&sh->phase, PH_END);
	shml_chan_close(&e.ch);
	shml_host_unmap(&d.hr);
	fflush(stdout);
	_exit(0);
}

static pid_t spawn(void (*fn)(const char *, const struct tu_config *), const char *path,
                   const struct tu_config *t)
{
	pid_t pid;
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		fn(path, t);
	return pid;
}

static void reap(pid_t pid, const char *who)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "process %s failed (status %#x)\n", who, status);
		exit(1);
	}
}

int main(void)
{
	struct tu_config t;
	struct shml_host_region hr;
	char path[128];
	pid_t pids[3], d, f;
	struct timespec t0, t1, t2;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	alarm(200); /* the parent's own watchdog */
	make_config(&t);
	tu_region_path(path, sizeof(path), "threeproc");
	unlink(path);
	CHECK_EQ(shml_host_map(&hr, path, t.cfg.region_size, SHML_HOST_CREATE), 0);
	tu_fill(hr.mem, t.cfg.region_size, 0xabc); /* garbage, not zeros */
	shml_host_unmap(&hr);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < 3; i++) {
		fflush(NULL);
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0)
			domain_main(path, &t, i);
	}
	reap(pids[0], "a");
	reap(pids[2], "c");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("three domains, three channels: %u messages each way on each channel in %.3f s\n", N,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

	atomic_store(&sh->phase, PH_MISMATCH);
	d = spawn(mismatch_main, path, &t);
	{
		uint64_t deadline = now_ns() + DEADLINE_NS;
		while (atomic_load(&sh->mismatch_seen) != 3) {
			CHECK(now_ns() < deadline);
			sleep_ms(1);
		}
	}
	atomic_store(&sh->phase, PH_LEAVE);
	reap(d, "d (mismatching c)");
	atomic_store(&sh->phase, PH_FIX);
	f = spawn(fixed_main, path, &t);
	reap(f, "e (c again)");
	reap(pids[1], "b");
	clock_gettime(CLOCK_MONOTONIC, &t2);
	unlink(path);
	printf("test_three_process: ok, %.3f s\n",
	       (double)(t2.tv_sec - t0.tv_sec) + (double)(t2.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
