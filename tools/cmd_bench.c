/* SPDX-License-Identifier: MIT */
/*
 * shmlink bench: the quick benchmark set over a configured channel, through
 * the port the config names, with the loops of bench/lib/shml_bench.c.
 *
 * The two ends may run in different domains, so they agree over the channel
 * itself. Side A drives and measures, side B answers. A sends a control
 * record (struct ctl) announcing each step; B runs its half and replies with
 * an ACK record carrying its own counters:
 *
 *   HELLO              A -> B  the wait mode; B checks it runs the same
 *   TPUT  api size n   A -> B  then A sends n messages, B receives them
 *   RTT   api size n   A -> B  then n round trips: A sends, B echoes
 *   DONE               A -> B  B acknowledges and ends
 *
 * In message mode a record is one message; in stream mode 64 bytes of the
 * stream, between the data. A calibrates each measurement with doubling
 * warm-up rounds, then runs one round sized to fill --seconds.
 */
#define _GNU_SOURCE /* prctl */
#include "cli.h"

#include "bench_util.h"
#include "shml_bench.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLICE_NS 100000000ull /* waits are cut into slices to see Ctrl-C */
#define CTL_MAGIC 0x314e424cu /* "LBN1" little-endian: bench protocol 1 */
#define MAX_SIZE (16u << 20)
#define MAX_COUNT (1ull << 32)
#define MAX_SAMPLES (1ull << 22) /* round trips kept per RTT measurement */
#define BENCH_EINTR (-101)       /* Ctrl-C, next to SHML_BENCH_EDATA */
#define BENCH_EPEER (-102)       /* the peer reported a failure or spoke nonsense */

static const char bench_help[] =
        "Usage: shmlink bench CONFIG CHANNEL [--side A|B|both] [--sizes LIST]\n"
        "                    [--seconds S] [--wait spin|busy|block] [--csv FILE]\n"
        "                    [--port PORT] [--region PATH] [--timeout SEC]\n"
        "\n"
        "Throughput (messages/s, GB/s), round-trip latency (median, p99) and\n"
        "notifications per message over CHANNEL, at each size: message channels with\n"
        "the copying calls and zero-copy, stream channels with the copying calls.\n"
        "Side A drives and prints the table; side B answers. With --side both (the\n"
        "default) both ends run here as two processes; to measure between domains,\n"
        "run '--side B' in the domain of side b and '--side A' in side a's.\n"
        "\n"
        "  --side A|B|both  which end(s) run here (default both)\n"
        "  --sizes LIST     message sizes, comma-separated (default 64,1K,64K; sizes a\n"
        "                   message channel cannot carry are skipped)\n"
        "  --seconds S      time per measurement (default 1)\n"
        "  --wait MODE      spin: spin, then sleep (default); busy: never sleep;\n"
        "                   block: sleep at once. Both sides must use the same\n"
        "  --csv FILE       also append the results to FILE as CSV:\n"
        "                   transport,mode,wait,size,metric,value,unit,run\n"
        "  --port PORT      how to reach the region: file, ivshmem, ivshmem-guest or\n"
        "                   xen (overrides [host] port; see shmlink(1))\n"
        "  --region PATH    the region file (port file; overrides [host] path)\n"
        "  --timeout SEC    give up after SEC seconds without an answer (default 30)\n"
        "  -h, --help       this text\n";

enum { SIDE_A = 0, SIDE_B = 1, SIDE_BOTH = 2 };
enum { W_SPIN, W_BUSY, W_BLOCK };
static const char *const wait_names[] = { "spin", "busy", "block" };
enum { K_HELLO = 1, K_TPUT, K_RTT, K_DONE, K_ACK };

/* The control record. Both ends share the byte order (the region's layout does too). */
struct ctl {
	uint32_t magic, kind, api, wait;
	uint64_t size, count;
	int64_t status;           /* ACK: 0, or what failed on B's side */
	uint64_t notify, wakeups; /* ACK: B's counters during the step */
	uint64_t cpu_ns;          /* ACK: B's CPU time during the step */
};
#define CTL_SIZE 64u
_Static_assert(sizeof(struct ctl) <= CTL_SIZE, "control record");

struct bench {
	struct cli_config c;
	struct cli_end e;
	const char *path, *channel, *csv;
	int side, wait;
	int both; /* both ends run here: no "waiting for the peer" note */
	double seconds;
	uint64_t timeout_ns;
	size_t sizes[BENCH_MAX_SIZES];
	int n_sizes, sizes_given;
	uint8_t *buf; /* the loops' message buffer: the largest size */
	size_t buf_size;
};

/* One measured round as side A sees it. */
struct round {
	uint64_t ns, count, notify, wakeups;
	double cpu_ns;
};

static const char *peer_name(const struct bench *b)
{
	return b->c.domains[b->e.peer].name;
}

static const char *api_name(const struct bench *b, int api)
{
	if (b->e.ch.mode == SHML_MODE_STREAM)
		return "stream";
	return api == SHML_BENCH_ZEROCOPY ? "zerocopy" : "message";
}

/* What went wrong, for the user. Returns CLI_FAIL. */
static int bench_fail(const struct bench *b, int rc, const char *doing)
{
	const char *ch = b->c.channels[b->e.chan].name;
	if (rc == BENCH_EINTR)
		cli_err("%s: bench: interrupted", ch);
	else if (rc == SHML_ETIMEDOUT)
		cli_err("%s: bench: %s: no answer from %s for %g s (--timeout): is 'shmlink bench "
		        "... --side %s' running there?",
		        ch, doing, peer_name(b), (double)b->timeout_ns / 1e9,
		        b->e.side ? "A" : "B");
	else if (rc == SHML_ERESET)
		cli_err("%s: bench: %s: %s closed its end or restarted", ch, doing, peer_name(b));
	else if (rc == SHML_EMISMATCH)
		cli_err("%s: bench: %s's domain slot has another config hash or protocol version: "
		        "both ends need the same config ('shmlink layout CONFIG' shows its hash)",
		        ch, peer_name(b));
	else if (rc == SHML_BENCH_EDATA)
		cli_err("%s: bench: %s: a message arrived damaged, lost or out of order", ch,
		        doing);
	else if (rc == BENCH_EPEER)
		cli_err("%s: bench: %s: %s failed or does not speak this bench protocol", ch, doing,
		        peer_name(b));
	else
		cli_err("%s: bench: %s: %s", ch, doing, shml_strerror(rc));
	return CLI_FAIL;
}

/* ---- control records -------------------------------------------------------------- */

/* Ctrl-C, or the deadline passed: a reason to stop waiting, else 0. */
static int give_up(uint64_t deadline)
{
	if (cli_interrupted)
		return BENCH_EINTR;
	return shml_host_now_ns() > deadline ? SHML_ETIMEDOUT : 0;
}

static int ctl_send(struct bench *b, const struct ctl *m)
{
	struct shml_chan *ch = &b->e.ch;
	uint8_t rec[CTL_SIZE] = { 0 };
	uint64_t deadline = shml_host_now_ns() + b->timeout_ns;
	size_t done = 0;
	memcpy(rec, m, sizeof(*m));
	while (done < CTL_SIZE) {
		int32_t rc = ch->mode == SHML_MODE_MESSAGE
		                     ? shml_send_wait(ch, rec, CTL_SIZE, SLICE_NS)
		                     : shml_write_all(ch, rec + done, CTL_SIZE - done, SLICE_NS);
		if (ch->mode == SHML_MODE_MESSAGE && rc == 0)
			return 0;
		if (ch->mode == SHML_MODE_STREAM && rc > 0) {
			done += (size_t)rc;
			continue;
		}
		if (rc != SHML_ETIMEDOUT)
			return rc;
		if ((rc = give_up(deadline)) != 0)
			return rc;
	}
	return 0;
}

static int ctl_recv(struct bench *b, struct ctl *m)
{
	struct shml_chan *ch = &b->e.ch;
	uint8_t rec[CTL_SIZE];
	uint64_t deadline = shml_host_now_ns() + b->timeout_ns;
	size_t got = 0;
	while (got < CTL_SIZE) {
		int32_t n = ch->mode == SHML_MODE_MESSAGE
		                    ? shml_recv_wait(ch, rec, CTL_SIZE, SLICE_NS)
		                    : shml_read_wait(ch, rec + got, CTL_SIZE - got, SLICE_NS);
		if (n >= 0 && ch->mode == SHML_MODE_MESSAGE) {
			if (n != (int32_t)CTL_SIZE)
				return BENCH_EPEER;
			got = CTL_SIZE;
		} else if (n > 0) {
			got += (size_t)n;
		} else if (n == SHML_ENOBUFS) {
			return BENCH_EPEER; /* a data message where a record belongs */
		} else if (n != SHML_ETIMEDOUT) {
			return n;
		} else if ((n = give_up(deadline)) != 0) {
			return n;
		}
	}
	memcpy(m, rec, sizeof(*m));
	return m->magic == CTL_MAGIC ? 0 : BENCH_EPEER;
}

/* Wait for the peer's end: the session is established. */
static int bench_connect(struct bench *b)
{
	uint64_t t0 = shml_host_now_ns(), deadline = t0 + b->timeout_ns;
	int said = 0;
	for (;;) {
		int rc = shml_poll(&b->e.ch);
		if (rc == 1)
			return 0;
		if (rc == SHML_EMISMATCH)
			return rc;
		/* SHML_ERESET here is a session of an earlier run ending: carry on. */
		if ((rc = give_up(deadline)) != 0)
			return rc;
		if (!said && !b->both && shml_host_now_ns() - t0 > 1000000000ull) {
			said = 1;
			fprintf(stderr,
			        "shmlink: %s: bench: waiting for %s (side %s) to open its end\n",
			        b->c.channels[b->e.chan].name, peer_name(b), b->e.side ? "A" : "B");
		}
		shml_wait(&b->e.ch, SHML_EV_STATE, 0, SLICE_NS);
	}
}

static struct shml_bench_loop make_loop(struct bench *b, int api, size_t size)
{
	return (struct shml_bench_loop){ .ch = &b->e.ch,
		                         .api = api,
		                         .wait = b->wait == W_BUSY ? SHML_BENCH_BUSY
		                                                   : SHML_BENCH_WAIT,
		                         .size = size,
		                         .timeout_ns = b->timeout_ns,
		                         .buf = b->buf };
}

/* ---- side B: answer ----------------------------------------------------------------- */

static int serve(struct bench *b, int quiet)
{
	struct ctl m, ack;
	int rc, steps = 0;
	if ((rc = bench_connect(b)) != 0)
		return bench_fail(b, rc, "connecting");
	for (;;) {
		struct shml_counters c0, c1;
		struct shml_bench_loop l;
		double cpu0;
		if ((rc = ctl_recv(b, &m)) != 0)
			return bench_fail(b, rc,
			                  steps ? "waiting for the next step" : "waiting for A");
		memset(&ack, 0, sizeof(ack));
		ack.magic = CTL_MAGIC;
		ack.kind = K_ACK;
		ack.wait = (uint32_t)b->wait;
		if (m.kind == K_HELLO || m.kind == K_DONE) {
			if (m.kind == K_HELLO && m.wait != (uint32_t)b->wait)
				ack.status = BENCH_EPEER;
			if ((rc = ctl_send(b, &ack)) != 0)
				return bench_fail(b, rc, "answering");
			if (ack.status) {
				cli_err("%s: bench: side A runs --wait %s, we run --wait %s: give "
				        "both "
				        "sides the same --wait",
				        b->c.channels[b->e.chan].name,
				        m.wait < 3 ? wait_names[m.wait] : "?", wait_names[b->wait]);
				return CLI_USAGE;
			}
			if (m.kind == K_DONE)
				break;
			continue;
		}
		if ((m.kind != K_TPUT && m.kind != K_RTT) || m.size == 0 || m.size > MAX_SIZE ||
		    m.api > SHML_BENCH_ZEROCOPY || m.count > MAX_COUNT) {
			ack.status = BENCH_EPEER;
			ctl_send(b, &ack);
			return bench_fail(b, BENCH_EPEER, "reading A's step");
		}
		if (m.size > b->buf_size) { /* A chooses the sizes */
			free(b->buf);
			b->buf = bench_alloc((size_t)m.size);
			b->buf_size = (size_t)m.size;
		}
		l = make_loop(b, (int)m.api, (size_t)m.size);
		shml_get_counters(&b->e.ch, &c0);
		cpu0 = bench_cpu_ns();
		rc = m.kind == K_TPUT ? shml_bench_recv(&l, m.count) : shml_bench_pong(&l, m.count);
		shml_get_counters(&b->e.ch, &c1);
		ack.cpu_ns = (uint64_t)(bench_cpu_ns() - cpu0);
		ack.notify = c1.notify_sent - c0.notify_sent;
		ack.wakeups = c1.wakeups - c0.wakeups;
		ack.status = rc;
		if (rc != 0)
			return bench_fail(b, rc, m.kind == K_TPUT ? "receiving" : "echoing");
		if ((rc = ctl_send(b, &ack)) != 0)
			return bench_fail(b, rc, "answering");
		steps++;
	}
	if (!quiet)
		fprintf(stderr, "shmlink: %s: bench: answered %d measurement rounds for %s\n",
		        b->c.channels[b->e.chan].name, steps, peer_name(b));
	return CLI_OK;
}

/* ---- side A: drive and measure -------------------------------------------------------- */

/* Announce a step and wait for B's answer. */
static int exchange(struct bench *b, uint32_t kind, struct ctl *ack)
{
	struct ctl m = { .magic = CTL_MAGIC, .kind = kind, .wait = (uint32_t)b->wait };
	int rc = ctl_send(b, &m);
	if (rc == 0)
		rc = ctl_recv(b, ack);
	if (rc == 0 && ack->kind != K_ACK)
		rc = BENCH_EPEER;
	return rc;
}

static int run_round(struct bench *b, uint32_t kind, int api, size_t size, uint64_t count,
                     uint64_t *samples, struct round *r)
{
	struct ctl m = { .magic = CTL_MAGIC,
		         .kind = kind,
		         .api = (uint32_t)api,
		         .wait = (uint32_t)b->wait,
		         .size = size,
		         .count = count };
	struct ctl ack;
	struct shml_bench_loop l = make_loop(b, api, size);
	struct shml_counters c0, c1;
	double cpu0;
	uint64_t t0;
	int rc = ctl_send(b, &m);
	if (rc)
		return rc;
	shml_get_counters(&b->e.ch, &c0);
	cpu0 = bench_cpu_ns();
	t0 = shml_host_now_ns();
	rc = kind == K_TPUT ? shml_bench_send(&l, count) : shml_bench_ping(&l, count, samples);
	if (rc)
		return rc;
	/* Throughput ends when B has received the last message and says so. */
	if ((rc = ctl_recv(b, &ack)) != 0)
		return rc;
	if (ack.kind != K_ACK || ack.status != 0)
		return BENCH_EPEER;
	r->ns = shml_host_now_ns() - t0;
	shml_get_counters(&b->e.ch, &c1);
	r->count = count;
	r->cpu_ns = bench_cpu_ns() - cpu0 + (double)ack.cpu_ns;
	r->notify = c1.notify_sent - c0.notify_sent + ack.notify;
	r->wakeups = c1.wakeups - c0.wakeups + ack.wakeups;
	if (r->ns == 0)
		r->ns = 1;
	return 0;
}

/* Warm up with doubling counts until a round takes a tenth of --seconds, then measure. */
static int measure(struct bench *b, uint32_t kind, int api, size_t size, uint64_t **samples,
                   struct round *r)
{
	double target = b->seconds * 1e9;
	uint64_t count = kind == K_TPUT ? 64 : 16, max = kind == K_TPUT ? MAX_COUNT : MAX_SAMPLES;
	double scaled;
	int rc;
	for (;;) {
		if ((rc = run_round(b, kind, api, size, count, NULL, r)) != 0)
			return rc;
		if ((double)r->ns >= target / 10 || count >= max)
			break;
		count *= (double)r->ns < target / 100 ? 8 : 2;
	}
	scaled = (double)count * target / (double)r->ns;
	count = scaled < 1 ? 1 : scaled > (double)max ? max : (uint64_t)scaled;
	if (kind == K_RTT) {
		*samples = malloc(count * sizeof(**samples));
		if (!*samples) {
			cli_err("out of memory");
			exit(CLI_FAIL);
		}
	}
	return run_round(b, kind, api, size, count, kind == K_RTT ? *samples : NULL, r);
}

struct result {
	int skipped;
	double msg_rate, gbps, notify, wakeups, cpu_msg;
	double rtt_median, rtt_p99, rtt_mean, cpu_rtt;
};

static void csv_rows(const struct bench *b, const struct bench_opts *o, const char *mode,
                     size_t size, const struct result *r)
{
	/* The transport names the port: shmlink-host (the region file), shmlink-ivshmem,
	 * shmlink-ivshmem-guest, shmlink-xen. */
	char transport[40];
	const char *w = wait_names[b->wait];
	snprintf(transport, sizeof(transport), "shmlink-%s",
	         b->c.port == CLI_PORT_FILE ? "host" : cli_port_name(b->c.port));
	bench_csv(o, transport, mode, w, size, "msg_rate", r->msg_rate, "msg/s");
	bench_csv(o, transport, mode, w, size, "bandwidth", r->gbps, "GB/s");
	bench_csv(o, transport, mode, w, size, "cpu_per_msg", r->cpu_msg, "ns");
	bench_csv(o, transport, mode, w, size, "notify_per_msg", r->notify, "1");
	bench_csv(o, transport, mode, w, size, "wakeups_per_msg", r->wakeups, "1");
	bench_csv(o, transport, mode, w, size, "rtt_median", r->rtt_median, "ns");
	bench_csv(o, transport, mode, w, size, "rtt_p99", r->rtt_p99, "ns");
	bench_csv(o, transport, mode, w, size, "rtt_mean", r->rtt_mean, "ns");
	bench_csv(o, transport, mode, w, size, "cpu_per_rtt", r->cpu_rtt, "ns");
}

static const char *rate_str(double v, char *buf, size_t len)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1f k", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

static const char *ns_str(double ns, char *buf, size_t len)
{
	if (ns >= 1e6)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f us", ns / 1e3);
	return buf;
}

static int drive(struct bench *b)
{
	const struct cli_channel *cc = &b->c.channels[b->e.chan];
	struct bench_opts o;
	struct ctl ack;
	int apis[2], n_apis = 0, rc;
	char h1[32], h2[32];
	memset(&o, 0, sizeof(o));
	o.csv = b->csv;
	o.run = 1;
	o.quiet = 1;
	apis[n_apis++] = SHML_BENCH_COPY;
	if (b->e.ch.mode == SHML_MODE_MESSAGE)
		apis[n_apis++] = SHML_BENCH_ZEROCOPY;
	if ((rc = bench_connect(b)) != 0)
		return bench_fail(b, rc, "connecting");
	if ((rc = exchange(b, K_HELLO, &ack)) != 0)
		return bench_fail(b, rc, "greeting side B");
	if (ack.status) {
		cli_err("%s: bench: side B runs --wait %s, we run --wait %s: give both sides the "
		        "same --wait",
		        cc->name, ack.wait < 3 ? wait_names[ack.wait] : "?", wait_names[b->wait]);
		return CLI_USAGE;
	}
	printf("shmlink bench: channel %s (%s mode, rings %s / %s", cc->name,
	       cli_mode_name(cc->mode), cli_human(b->e.ch.tx_size, h1, sizeof(h1)),
	       cli_human(b->e.ch.rx_size, h2, sizeof(h2)));
	if (b->e.ch.mode == SHML_MODE_MESSAGE)
		printf(", max message %u bytes", b->e.ch.max_message);
	printf("), %s (A) -> %s (B), wait %s, %g s per measurement\n", b->c.domains[b->e.self].name,
	       peer_name(b), wait_names[b->wait], b->seconds);
	printf("%-9s %9s %11s %8s %11s %11s %11s\n", "mode", "size", "msg/s", "GB/s", "notify/msg",
	       "rtt median", "rtt p99");
	fflush(stdout);
	for (int a = 0; a < n_apis; a++) {
		const char *mode = api_name(b, apis[a]);
		for (int i = 0; i < b->n_sizes; i++) {
			size_t size = b->sizes[i];
			struct result res;
			struct round r;
			uint64_t *samples = NULL;
			char s1[32], s2[32], s3[32];
			memset(&res, 0, sizeof(res));
			if (b->e.ch.mode == SHML_MODE_MESSAGE && size > b->e.ch.max_message) {
				printf("%-9s %9zu  skipped: larger than the channel's max "
				       "message\n",
				       mode, size);
				continue;
			}
			if ((rc = measure(b, K_TPUT, apis[a], size, NULL, &r)) != 0)
				return bench_fail(b, rc, "measuring throughput");
			res.msg_rate = (double)r.count / (double)r.ns * 1e9;
			res.gbps = (double)r.count * (double)size / (double)r.ns;
			res.notify = (double)r.notify / (double)r.count;
			res.wakeups = (double)r.wakeups / (double)r.count;
			res.cpu_msg = r.cpu_ns / (double)r.count;
			if ((rc = measure(b, K_RTT, apis[a], size, &samples, &r)) != 0) {
				free(samples);
				return bench_fail(b, rc, "measuring round trips");
			}
			res.rtt_mean = 0;
			for (uint64_t k = 0; k < r.count; k++)
				res.rtt_mean += (double)samples[k];
			res.rtt_mean /= (double)r.count;
			bench_sort_u64(samples, r.count);
			res.rtt_median = (double)bench_percentile(samples, r.count, 50);
			res.rtt_p99 = (double)bench_percentile(samples, r.count, 99);
			res.cpu_rtt = r.cpu_ns / (double)r.count;
			free(samples);
			printf("%-9s %9zu %11s %8.3f %11.4f %11s %11s\n", mode, size,
			       rate_str(res.msg_rate, s1, sizeof(s1)), res.gbps, res.notify,
			       ns_str(res.rtt_median, s2, sizeof(s2)),
			       ns_str(res.rtt_p99, s3, sizeof(s3)));
			fflush(stdout);
			if (b->csv)
				csv_rows(b, &o, mode, size, &res);
		}
	}
	if ((rc = exchange(b, K_DONE, &ack)) != 0)
		return bench_fail(b, rc, "saying goodbye");
	return CLI_OK;
}

/* ---- the command ---------------------------------------------------------------------- */

static int parse_sizes(struct bench *b, const char *arg)
{
	const char *p = arg;
	b->n_sizes = 0;
	for (;;) {
		char item[32];
		size_t n = strcspn(p, ",");
		uint64_t v;
		if (n == 0 || n >= sizeof(item))
			return cli_usage_error("bench",
			                       "--sizes %s: give sizes separated by commas, "
			                       "e.g. 64,1K,64K",
			                       arg);
		memcpy(item, p, n);
		item[n] = '\0';
		if (cli_parse_size(item, &v) != 0 || v == 0 || v > MAX_SIZE)
			return cli_usage_error("bench", "--sizes: '%s' is not a size from 1 to 16M",
			                       item);
		if (b->n_sizes == BENCH_MAX_SIZES)
			return cli_usage_error("bench", "--sizes: at most %d sizes",
			                       BENCH_MAX_SIZES);
		b->sizes[b->n_sizes++] = (size_t)v;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* Open our end: side @side of the channel. */
static int open_side(struct bench *b, int side)
{
	struct shml_chan_opts opts = { .spin_ns = 0 }; /* block: sleep at once */
	int ch = shml_find_channel(&b->c.cfg, b->channel);
	const char *as = NULL;
	if (ch >= 0) {
		const struct cli_channel *cc = &b->c.channels[ch];
		as = b->c.domains[side == SIDE_A ? cc->a : cc->b].name;
	}
	/* An unknown channel: cli_end_open says so, with the list of channels. */
	return cli_end_open_opts(&b->e, &b->c, b->path, b->channel, as, "bench",
	                         b->wait == W_BLOCK ? &opts : NULL);
}

/* --side A or B: one end here, the other in another process or domain. */
static int run_one(struct bench *b)
{
	int rc = open_side(b, b->side);
	if (rc == 0)
		rc = b->side == SIDE_A ? drive(b) : serve(b, 0);
	cli_end_close(&b->e);
	return rc;
}

/*
 * --side both: A here, B in a child process. A's end is opened first, so a
 * bad channel or region file is reported once, before the fork.
 */
static int run_both(struct bench *b)
{
	pid_t parent = getpid(), pid;
	int status, rc;
	b->both = 1;
	rc = open_side(b, SIDE_A);
	if (rc) {
		cli_end_close(&b->e);
		return rc;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_err("fork: %s", strerror(errno));
		cli_end_close(&b->e);
		return CLI_FAIL;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive side A */
		if (getppid() != parent)
			_exit(CLI_FAIL);
		/* Let go of A's end without closing A's session: the parent owns it. */
		b->e.opened = 0;
		cli_end_close(&b->e);
		rc = open_side(b, SIDE_B);
		if (rc == 0)
			rc = serve(b, 1);
		cli_end_close(&b->e);
		fflush(NULL);
		_exit(rc);
	}
	b->side = SIDE_A;
	rc = drive(b);
	cli_end_close(&b->e);
	if (rc != CLI_OK)
		kill(pid, SIGTERM); /* it may wait for steps that will not come */
	if (waitpid(pid, &status, 0) != pid) {
		cli_err("waitpid: %s", strerror(errno));
		return CLI_FAIL;
	}
	if (rc == CLI_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		cli_err("bench: side B failed (%s %d)",
		        WIFEXITED(status) ? "exit status" : "signal",
		        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		rc = CLI_FAIL;
	}
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = { { "side", required_argument, NULL, 's' },
		                              { "sizes", required_argument, NULL, 'z' },
		                              { "seconds", required_argument, NULL, 'S' },
		                              { "wait", required_argument, NULL, 'w' },
		                              { "csv", required_argument, NULL, 'c' },
		                              { "region", required_argument, NULL, 'r' },
		                              { "port", required_argument, NULL, 'P' },
		                              { "timeout", required_argument, NULL, 't' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	static const size_t default_sizes[] = { 64, 1024, 65536 };
	struct bench b;
	const char *region = NULL, *port = NULL;
	double timeout = 30;
	size_t max = 0;
	int o, rc, ch;
	memset(&b, 0, sizeof(b));
	b.side = SIDE_BOTH;
	b.wait = W_SPIN;
	b.seconds = 1;
	b.e.lock_fd = -1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(bench_help, stdout);
			return CLI_OK;
		case 's':
			if (!strcasecmp(optarg, "a"))
				b.side = SIDE_A;
			else if (!strcasecmp(optarg, "b"))
				b.side = SIDE_B;
			else if (!strcmp(optarg, "both"))
				b.side = SIDE_BOTH;
			else
				return cli_usage_error("bench", "--side %s: write A, B or both",
				                       optarg);
			break;
		case 'z':
			if ((rc = parse_sizes(&b, optarg)) != 0)
				return rc;
			b.sizes_given = 1;
			break;
		case 'S':
			if (cli_parse_seconds(optarg, &b.seconds) != 0 || b.seconds <= 0 ||
			    b.seconds > 3600)
				return cli_usage_error(
				        "bench",
				        "--seconds %s: give seconds, more than 0 and at "
				        "most 3600",
				        optarg);
			break;
		case 'w':
			for (b.wait = 0; b.wait < 3 && strcmp(optarg, wait_names[b.wait]); b.wait++)
				;
			if (b.wait == 3)
				return cli_usage_error(
				        "bench", "--wait %s: write spin, busy or block", optarg);
			break;
		case 'c':
			b.csv = optarg;
			break;
		case 'r':
			region = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 't':
			if (cli_parse_seconds(optarg, &timeout) != 0 || timeout <= 0)
				return cli_usage_error(
				        "bench", "--timeout %s: give seconds, more than 0", optarg);
			break;
		default:
			return cli_bad_option("bench", argv);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error("bench",
		                       argc - optind ? "no CHANNEL given" : "no CONFIG given");
	if (argc - optind > 2)
		return cli_usage_error("bench", "too many arguments");
	if (b.csv && b.side == SIDE_B)
		return cli_usage_error("bench", "--csv goes with side A: side B only answers");
	if (!b.sizes_given) {
		memcpy(b.sizes, default_sizes, sizeof(default_sizes));
		b.n_sizes = 3;
	}
	b.timeout_ns = (uint64_t)(timeout * 1e9);
	b.channel = argv[optind + 1];
	rc = cli_load_region(&b.c, argv[optind], "bench", port, region, &b.path);
	if (rc) {
		cli_config_free(&b.c);
		return rc;
	}
	/* What the channel cannot do is a usage error, found before anything runs. */
	rc = CLI_OK;
	ch = shml_find_channel(&b.c.cfg, b.channel);
	if (ch >= 0 && b.c.channels[ch].mode == SHML_MODE_MESSAGE) {
		uint32_t mm = shml_channel_max_message(&b.c.cfg, (uint32_t)ch);
		if (mm < CTL_SIZE)
			rc = cli_usage_error("bench",
			                     "channel '%s' carries messages of at most %u bytes; "
			                     "bench needs %u",
			                     b.channel, mm, CTL_SIZE);
		for (int i = 0; i < b.n_sizes && !rc && b.sizes_given; i++)
			if (b.sizes[i] > mm)
				rc = cli_usage_error(
				        "bench",
				        "--sizes: %zu is larger than channel '%s''s max "
				        "message (%u bytes)",
				        b.sizes[i], b.channel, mm);
	}
	if (!rc && b.csv) {
		FILE *f = fopen(b.csv, "a");
		if (!f) {
			cli_err("%s: %s", b.csv, strerror(errno));
			rc = CLI_FAIL;
		} else {
			fclose(f);
		}
	}
	if (rc) {
		cli_config_free(&b.c);
		return rc;
	}
	for (int i = 0; i < b.n_sizes; i++)
		max = b.sizes[i] > max ? b.sizes[i] : max;
	b.buf = bench_alloc(max);
	b.buf_size = max;
	cli_install_signals();
	rc = b.side == SIDE_BOTH ? run_both(&b) : run_one(&b);
	free(b.buf);
	cli_config_free(&b.c);
	return rc;
}
