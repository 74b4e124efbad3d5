/* SPDX-License-Identifier: MIT */
/*
 * shmlink send / recv / cat: move bytes between files and a channel.
 *
 * End of file: in message mode an empty message; in stream mode the sender
 * closes its end (shml_chan_close) once the receiver consumed everything,
 * and the receiver sees SHML_ERESET with peer_closed == 1 after draining.
 * A sender finishes only when the receiver has consumed all it sent (or
 * closed having consumed all but the end-of-file marker), so exit status 0
 * means delivered, not just queued.
 *
 * Blocking calls run in slices of SLICE_NS so that signals, --timeout and
 * progress lines are handled while waiting.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SLICE_NS 100000000ull       /* 100 ms */
#define STREAM_CHUNK (256u * 1024u) /* bytes per read/write in stream mode */
#define NS 1000000000ull

static const char send_help[] =
        "Usage: shmlink send CONFIG CHANNEL [FILE|-] [--as DOMAIN] [--count N [--size BYTES]]\n"
        "                   [--port PORT] [--region PATH] [--timeout SEC] [--quiet]\n"
        "\n"
        "Send FILE (default: stdin) into CHANNEL. Message channels: chunks of up to\n"
        "max_message bytes, one message each, then an empty message (end of file).\n"
        "Stream channels: the bytes, then the end is closed (end of file). Returns once\n"
        "the receiver has consumed everything.\n"
        "\n"
        "  --as DOMAIN     which end we are (default: the end no local process holds, or\n"
        "                  [host] domain; asked for when that leaves a choice; other\n"
        "                  ports than file: --as or [host] domain, no locks across VMs)\n"
        "  --count N       send N generated messages (stream: N writes) instead of a file\n"
        "  --size BYTES    bytes per generated message (default 1024)\n"
        "  --port PORT     how to reach the region: file, ivshmem, ivshmem-guest or xen\n"
        "                  (overrides [host] port; see shmlink(1))\n"
        "  --region PATH   the region file (port file; overrides [host] path)\n"
        "  --timeout SEC   fail after SEC seconds without progress (default: wait forever)\n"
        "  -q, --quiet     no progress line and no notes\n"
        "  -h, --help      this text\n";

static const char recv_help[] =
        "Usage: shmlink recv CONFIG CHANNEL [FILE|-] [--as DOMAIN] [--count N]\n"
        "                   [--port PORT] [--region PATH] [--timeout SEC] [--quiet]\n"
        "\n"
        "Receive from CHANNEL into FILE (default: stdout) until end of file (message\n"
        "channels: an empty message; stream channels: the sender closed its end), or\n"
        "until N messages with --count. Then close our end.\n"
        "\n"
        "  --as DOMAIN     which end we are (see send)\n"
        "  --count N       stop after N messages (message channels)\n"
        "  --port PORT     how to reach the region: file, ivshmem, ivshmem-guest or xen\n"
        "                  (overrides [host] port; see shmlink(1))\n"
        "  --region PATH   the region file (port file; overrides [host] path)\n"
        "  --timeout SEC   fail after SEC seconds without progress (default: wait forever)\n"
        "  -q, --quiet     no progress line and no notes\n"
        "  -h, --help      this text\n";

static const char cat_help[] =
        "Usage: shmlink cat CONFIG CHANNEL [--as DOMAIN] [--port PORT] [--region PATH]\n"
        "                  [--linger SEC] [--quiet]\n"
        "\n"
        "Both ways at once, like socat: stdin into the channel, the channel onto stdout.\n"
        "Message channels: each read from stdin is one message; at end of stdin an\n"
        "empty message tells the peer; cat ends when both sides have sent theirs (or the\n"
        "peer closed). Stream channels cannot half-close: after end of stdin, once the\n"
        "peer consumed our bytes, cat goes on receiving until nothing arrives for\n"
        "--linger seconds (default 0.5), then closes. A session reset by a restarting\n"
        "peer is reported and cat carries on. Ctrl-C closes the channel and exits 0.\n"
        "\n"
        "  --as DOMAIN     which end we are (see send)\n"
        "  --port PORT     how to reach the region: file, ivshmem, ivshmem-guest or xen\n"
        "                  (overrides [host] port; see shmlink(1))\n"
        "  --region PATH   the region file (port file; overrides [host] path)\n"
        "  --linger SEC    stream channels: see above\n"
        "  -q, --quiet     no notes\n"
        "  -h, --help      this text\n";

struct xfer {
	struct cli_config c;
	struct cli_end e;
	const char *cmd;
	double timeout;
	int quiet, progress;
	uint64_t t0, last_progress_ns, next_report;
	uint64_t t_first; /* when the first byte moved: the rate counts from there */
	uint64_t bytes, messages;
	int waiting_said;
};

static uint64_t now_ns(void)
{
	return shml_host_now_ns();
}

static const char *peer_name(const struct xfer *x)
{
	return x->c.domains[x->e.peer].name;
}

static const char *chan_name(const struct xfer *x)
{
	return x->c.channels[x->e.chan].name;
}

static void report(struct xfer *x, int final)
{
	uint64_t t = now_ns();
	double secs, mbs;
	char h[32];
	if (!x->t_first && x->bytes)
		x->t_first = t;
	if (!x->progress || (!final && t < x->next_report) || (!final && !x->bytes))
		return;
	x->next_report = t + NS / 4;
	secs = x->t_first ? (double)(t - x->t_first) / 1e9 : 0;
	mbs = secs > 0 ? (double)x->bytes / 1e6 / secs : 0;
	fprintf(stderr, "\rshmlink: %s %s: %s, %llu messages, %.1f MB/s   %s", x->cmd, chan_name(x),
	        cli_human(x->bytes, h, sizeof(h)), (unsigned long long)x->messages, mbs,
	        final ? "\n" : "");
}

static void note(const struct xfer *x, const char *fmt, ...) CLI_PRINTF(2, 3);

static void note(const struct xfer *x, const char *fmt, ...)
{
	va_list ap;
	if (x->quiet)
		return;
	if (x->progress)
		fputc('\n', stderr);
	fprintf(stderr, "shmlink: %s: ", chan_name(x));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void mismatch(const struct xfer *x)
{
	struct shml_slot_info si;
	shml_read_slot(&x->e.region, x->e.peer, &si);
	if (si.version != SHML_PROTOCOL_VERSION)
		cli_err("%s: peer domain '%s' speaks protocol version %u, we speak %u",
		        chan_name(x), peer_name(x), si.version, SHML_PROTOCOL_VERSION);
	else
		cli_err("%s: peer domain '%s' uses config hash 0x%016llx, we use 0x%016llx: both "
		        "ends need the same config ('shmlink layout CONFIG' shows its hash)",
		        chan_name(x), peer_name(x), (unsigned long long)si.config_hash,
		        (unsigned long long)x->c.hash);
}

/*
 * While we wait for the peer: what its domain slot says, if it disagrees with
 * us. Not an error by itself: the slot may be left over from an earlier run
 * with another config, and the next attach rewrites it.
 */
static const char *slot_note(const struct xfer *x, char *buf, size_t len)
{
	struct shml_slot_info si;
	shml_read_slot(&x->e.region, x->e.peer, &si);
	buf[0] = '\0';
	if (si.magic == SHML_MAGIC && si.version != SHML_PROTOCOL_VERSION)
		snprintf(buf, len, " (%s's domain slot says protocol version %u, we speak %u)",
		         peer_name(x), si.version, SHML_PROTOCOL_VERSION);
	else if (si.magic == SHML_MAGIC && si.config_hash != x->c.hash)
		snprintf(buf, len,
		         " (%s's domain slot has config hash 0x%016llx, ours is 0x%016llx: another "
		         "config?)",
		         peer_name(x), (unsigned long long)si.config_hash,
		         (unsigned long long)x->c.hash);
	return buf;
}

/* Nothing happened during a slice: signals, --timeout, a word about waiting. */
static int idle(struct xfer *x)
{
	uint64_t t = now_ns();
	char hint[160];
	if (cli_interrupted) {
		if (x->progress)
			fputc('\n', stderr);
		cli_err("%s: interrupted", chan_name(x));
		return CLI_FAIL;
	}
	if (x->timeout > 0 && (double)(t - x->last_progress_ns) / 1e9 >= x->timeout) {
		if (x->progress)
			fputc('\n', stderr);
		cli_err("%s: nothing moved for %g s (--timeout): %s%s", chan_name(x), x->timeout,
		        shml_connected(&x->e.ch) ? "is the peer still reading/writing?"
		                                 : "is the peer's end open?",
		        slot_note(x, hint, sizeof(hint)));
		return CLI_FAIL;
	}
	if (!x->waiting_said && !shml_connected(&x->e.ch) && !x->bytes && x->progress) {
		x->waiting_said = 1;
		fprintf(stderr, "shmlink: %s: waiting for %s to open its end...%s\n", chan_name(x),
		        peer_name(x), slot_note(x, hint, sizeof(hint)));
	}
	report(x, 0);
	return 0;
}

/* A core error other than "not now": say what it means for the user. */
static int fatal(struct xfer *x, int rc, const char *doing)
{
	if (x->progress)
		fputc('\n', stderr);
	if (rc == SHML_EMISMATCH)
		mismatch(x);
	else if (rc == SHML_EPROTO)
		cli_err("%s: %s: peer '%s' broke the protocol; the channel resynchronised and data "
		        "in flight is lost",
		        chan_name(x), doing, peer_name(x));
	else
		cli_err("%s: %s: %s", chan_name(x), doing, shml_strerror(rc));
	return CLI_FAIL;
}

/* After SHML_ERESET. Returns 1 for a predecessor's old account (carry on), else 0. */
static int reset_seen(struct xfer *x, struct shml_reset_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	if (shml_reset_info(&x->e.ch, ri) != 0)
		return 0;
	if (ri->previous_process) {
		if (ri->messages || ri->bytes)
			note(x,
			     "an earlier process on this end had sent %u message%s (%u bytes) that "
			     "%s never received%s",
			     ri->messages, ri->messages == 1 ? "" : "s", ri->bytes,
			     ri->messages == 1 ? "was" : "were", ri->exact ? "" : " (inexact)");
		return 1;
	}
	return 0;
}

static int xfer_open(struct xfer *x, const char *config, const char *channel, const char *as,
                     const char *port, const char *region)
{
	const char *path;
	int rc;
	x->e.lock_fd = -1; /* nothing to close until cli_end_open() */
	rc = cli_load_region(&x->c, config, x->cmd, port, region, &path);
	if (rc)
		return rc;
	rc = cli_end_open(&x->e, &x->c, path, channel, as, x->cmd);
	if (rc)
		return rc;
	x->t0 = x->last_progress_ns = now_ns();
	x->progress = !x->quiet && isatty(STDERR_FILENO);
	cli_install_signals();
	return 0;
}

static void xfer_close(struct xfer *x)
{
	cli_end_close(&x->e);
	cli_config_free(&x->c);
}

/* Our side's published tx_pos has been consumed by the peer in the same session. */
static int drained(struct xfer *x)
{
	struct shml_side_view me, peer;
	shml_inspect_side(&x->e.region, x->e.chan, x->e.side, &me);
	shml_inspect_side(&x->e.region, x->e.chan, !x->e.side, &peer);
	return me.gen == peer.peer_gen && peer.gen == me.peer_gen && peer.rx_pos == me.tx_pos;
}

/*
 * The sender's end: wait until the receiver consumed everything, or closed.
 * @eof_marker: message mode sent an empty message last, which a receiver
 * that stopped at --count may leave unread.
 */
static int wait_delivered(struct xfer *x, int eof_marker)
{
	uint64_t pause = 20000; /* ns, grows to 5 ms */
	for (;;) {
		struct shml_reset_info ri;
		int rc = shml_poll(&x->e.ch);
		if (rc == 1 && drained(x))
			return CLI_OK;
		if (rc == SHML_ERESET) {
			if (reset_seen(x, &ri))
				continue;
			if (ri.messages == 0 && ri.bytes == 0)
				return CLI_OK;
			if (eof_marker && ri.messages == 1 && ri.bytes == 0)
				return CLI_OK; /* only the end-of-file marker went unread */
			if (x->progress)
				fputc('\n', stderr);
			if (x->e.ch.mode == SHML_MODE_MESSAGE)
				cli_err("%s: %s %s before receiving %u messages (%u bytes)%s",
				        chan_name(x), peer_name(x),
				        ri.peer_closed ? "closed its end" : "reset the session",
				        ri.messages, ri.bytes, ri.exact ? "" : " (count inexact)");
			else
				cli_err("%s: %s %s before receiving the last %u bytes%s",
				        chan_name(x), peer_name(x),
				        ri.peer_closed ? "closed its end" : "reset the session",
				        ri.bytes, ri.exact ? "" : " (count inexact)");
			return CLI_FAIL;
		}
		if (rc < 0 && rc != SHML_ENOTCONN)
			return fatal(x, rc, "waiting for the receiver");
		if (cli_interrupted || x->timeout > 0) {
			int r = idle(x);
			if (r)
				return r;
		}
		{
			struct timespec ts = { 0, (long)pause };
			nanosleep(&ts, NULL);
			if (pause < 5000000)
				pause *= 2;
		}
	}
}

/* Read until @len bytes or end of file. Returns bytes read, or -1. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR && !cli_interrupted)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR && !cli_interrupted)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Deterministic content of generated message @i. */
static void gen_fill(uint8_t *buf, size_t n, uint64_t i)
{
	uint64_t s = i * 0x9e3779b97f4a7c15ull + 1;
	for (size_t k = 0; k < n; k++) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		buf[k] = (uint8_t)((s * 0x2545f4914f6cdd1dull) >> 56);
	}
}

/*
 * One message, or @len stream bytes, sent completely. (Not shml_write_all():
 * when it has written some bytes it returns their count and the SHML_ERESET
 * that stopped it is gone; shml_write() reports every reset.)
 */
static int send_one(struct xfer *x, const uint8_t *buf, size_t len)
{
	int msg = x->e.ch.mode == SHML_MODE_MESSAGE;
	size_t done = 0;
	for (;;) {
		int32_t rc;
		if (msg) {
			rc = shml_send_wait(&x->e.ch, buf, len, SLICE_NS);
		} else if (done == len) {
			rc = 0;
		} else {
			rc = shml_write(&x->e.ch, buf + done, len - done);
			if (rc == SHML_EAGAIN || rc == SHML_ENOTCONN) {
				size_t need = len - done;
				int w;
				if (need > x->e.ch.tx_size / 2)
					need = x->e.ch.tx_size / 2; /* wake for useful room */
				/* shml_wait() may also return EPROTO, ERESET or ENOTCONN (a
				 * peer anomaly found while waiting), not only EMISMATCH. */
				w = shml_wait(&x->e.ch, SHML_EV_WRITABLE | SHML_EV_STATE, need,
				              SLICE_NS);
				if (w > 0)
					continue;
				rc = w < 0 && w != SHML_ENOTCONN ? w : SHML_ETIMEDOUT;
			}
		}
		if (msg && rc == 0) {
			x->messages++;
			x->bytes += len;
			x->last_progress_ns = now_ns();
			report(x, 0);
			return 0;
		}
		if (!msg && rc >= 0) {
			done += (size_t)rc;
			x->bytes += (size_t)rc;
			if (rc > 0)
				x->last_progress_ns = now_ns();
			if (done == len) {
				x->messages++;
				report(x, 0);
				return 0;
			}
			continue;
		}
		if (rc == SHML_ERESET) {
			struct shml_reset_info ri;
			if (reset_seen(x, &ri))
				continue;
			if (x->progress)
				fputc('\n', stderr);
			cli_err("%s: %s %s during the transfer (%u messages, %u bytes of ours were "
			        "discarded)",
			        chan_name(x), peer_name(x),
			        ri.peer_closed ? "closed its end" : "reset the session",
			        ri.messages, ri.bytes);
			return CLI_FAIL;
		}
		if (rc != SHML_ETIMEDOUT)
			return fatal(x, rc, "send");
		if (idle(x))
			return CLI_FAIL;
	}
}

/* What send and recv share on their command lines. */
struct xfer_args {
	const char *as, *port, *region, *file;
	uint64_t count;
	int have_count;
};

/* Handle option @o if it is one of the shared ones: 1 (with *@rc set), or 0. */
static int common_option(const char *cmd, int o, struct xfer *x, struct xfer_args *a, int *rc)
{
	*rc = CLI_OK;
	switch (o) {
	case 'a':
		a->as = optarg;
		return 1;
	case 'n':
		if (cli_parse_uint(optarg, UINT64_MAX, &a->count) != 0)
			*rc = cli_usage_error(cmd, "--count %s: not a number", optarg);
		a->have_count = 1;
		return 1;
	case 'r':
		a->region = optarg;
		return 1;
	case 'P':
		a->port = optarg;
		return 1;
	case 't':
		if (cli_parse_seconds(optarg, &x->timeout) != 0)
			*rc = cli_usage_error(cmd, "--timeout %s: give seconds", optarg);
		return 1;
	case 'q':
		x->quiet = 1;
		return 1;
	}
	return 0;
}

/* CONFIG CHANNEL [FILE] after the options, then open the channel. */
static int open_positional(const char *cmd, int argc, char **argv, struct xfer *x,
                           struct xfer_args *a)
{
	int rc;
	if (argc - optind < 2)
		return cli_usage_error(cmd, argc - optind ? "no CHANNEL given" : "no CONFIG given");
	if (argc - optind > 3)
		return cli_usage_error(cmd, "too many arguments");
	if (argc - optind == 3)
		a->file = argv[optind + 2];
	if (a->have_count && a->file && strcmp(cmd, "send") == 0)
		return cli_usage_error(cmd, "give either FILE or --count, not both");
	rc = xfer_open(x, argv[optind], argv[optind + 1], a->as, a->port, a->region);
	if (rc)
		xfer_close(x);
	return rc;
}

int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = { { "as", required_argument, NULL, 'a' },
		                              { "count", required_argument, NULL, 'n' },
		                              { "size", required_argument, NULL, 's' },
		                              { "region", required_argument, NULL, 'r' },
		                              { "port", required_argument, NULL, 'P' },
		                              { "timeout", required_argument, NULL, 't' },
		                              { "quiet", no_argument, NULL, 'q' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	struct xfer x;
	struct xfer_args a = { 0 };
	const char *file;
	uint64_t count, size = 1024;
	int o, rc, fd = STDIN_FILENO, have_count, have_size = 0, msg;
	uint8_t *buf = NULL;
	size_t chunk;
	memset(&x, 0, sizeof(x));
	x.cmd = "send";
	opterr = 0;
	while ((o = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		if (common_option("send", o, &x, &a, &rc)) {
			if (rc)
				return rc;
			continue;
		}
		switch (o) {
		case 'h':
			fputs(send_help, stdout);
			return CLI_OK;
		case 's':
			if (cli_parse_size(optarg, &size) != 0 || size > INT32_MAX)
				return cli_usage_error("send", "--size %s: not a size", optarg);
			have_size = 1;
			break;
		default:
			return cli_bad_option("send", argv);
		}
	}
	if (have_size && !a.have_count && argc - optind >= 2 && argc - optind <= 3)
		return cli_usage_error("send", "--size goes with --count");
	rc = open_positional("send", argc, argv, &x, &a);
	if (rc)
		return rc;
	file = a.file;
	count = a.count;
	have_count = a.have_count;
	msg = x.e.ch.mode == SHML_MODE_MESSAGE;
	if (have_count && msg && size == 0) {
		xfer_close(&x);
		return cli_usage_error("send", "--size 0: an empty message marks end of file; give "
		                               "at least 1 byte");
	}
	if (have_count && msg && size > x.e.ch.max_message) {
		uint32_t mm = x.e.ch.max_message;
		xfer_close(&x);
		return cli_usage_error("send",
		                       "--size %llu: larger than channel '%s''s max message "
		                       "(%u bytes)",
		                       (unsigned long long)size, argv[optind + 1], mm);
	}
	if (file && strcmp(file, "-") != 0) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_err("%s: %s", file, strerror(errno));
			xfer_close(&x);
			return CLI_FAIL;
		}
	}
	chunk = have_count ? (size_t)size : msg ? x.e.ch.max_message : STREAM_CHUNK;
	buf = malloc(chunk ? chunk : 1);
	if (!buf) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	rc = CLI_OK;
	if (have_count) {
		for (uint64_t i = 0; i < count && rc == CLI_OK; i++) {
			gen_fill(buf, chunk, i);
			rc = send_one(&x, buf, chunk);
		}
	} else {
		for (;;) {
			ssize_t n = read_full(fd, buf, chunk);
			if (n < 0) {
				cli_err("%s: %s", file && strcmp(file, "-") ? file : "stdin",
				        strerror(errno));
				rc = CLI_FAIL;
				break;
			}
			if (n == 0)
				break;
			rc = send_one(&x, buf, (size_t)n);
			if (rc)
				break;
		}
	}
	if (rc == CLI_OK && msg) {
		rc = send_one(&x, buf, 0); /* end of file */
		if (rc == CLI_OK)
			x.messages--;
	}
	if (rc == CLI_OK)
		rc = wait_delivered(&x, msg);
	report(&x, 1);
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	xfer_close(&x); /* stream mode: closing our end is the end of file */
	return rc;
}

int cmd_recv(int argc, char **argv)
{
	static const struct option opts[] = { { "as", required_argument, NULL, 'a' },
		                              { "count", required_argument, NULL, 'n' },
		                              { "region", required_argument, NULL, 'r' },
		                              { "port", required_argument, NULL, 'P' },
		                              { "timeout", required_argument, NULL, 't' },
		                              { "quiet", no_argument, NULL, 'q' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	struct xfer x;
	struct xfer_args a = { 0 };
	const char *file;
	uint64_t count;
	int o, rc, fd = STDOUT_FILENO, have_count, msg;
	uint8_t *buf;
	size_t cap;
	memset(&x, 0, sizeof(x));
	x.cmd = "recv";
	opterr = 0;
	while ((o = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		if (common_option("recv", o, &x, &a, &rc)) {
			if (rc)
				return rc;
			continue;
		}
		if (o == 'h') {
			fputs(recv_help, stdout);
			return CLI_OK;
		}
		return cli_bad_option("recv", argv);
	}
	rc = open_positional("recv", argc, argv, &x, &a);
	if (rc)
		return rc;
	file = a.file;
	count = a.count;
	have_count = a.have_count;
	msg = x.e.ch.mode == SHML_MODE_MESSAGE;
	if (have_count && !msg) {
		xfer_close(&x);
		return cli_usage_error("recv",
		                       "--count counts messages, and stream channel '%s' has "
		                       "none (pipe through head -c for a byte count)",
		                       argv[optind + 1]);
	}
	if (file && strcmp(file, "-") != 0) {
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd < 0) {
			cli_err("%s: %s", file, strerror(errno));
			xfer_close(&x);
			return CLI_FAIL;
		}
	}
	cap = msg ? (x.e.ch.max_message ? x.e.ch.max_message : 1) : STREAM_CHUNK;
	buf = malloc(cap);
	if (!buf) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	rc = CLI_OK;
	while (!(have_count && x.messages >= count)) {
		int32_t n = msg ? shml_recv_wait(&x.e.ch, buf, cap, SLICE_NS)
		                : shml_read_wait(&x.e.ch, buf, cap, SLICE_NS);
		if (n > 0 || (msg && n == 0)) {
			if (n == 0)
				break; /* end of file */
			if (write_full(fd, buf, (size_t)n) != 0) {
				if (x.progress)
					fputc('\n', stderr);
				cli_err("%s: %s", file && strcmp(file, "-") ? file : "stdout",
				        strerror(errno));
				rc = CLI_FAIL;
				break;
			}
			x.bytes += (uint64_t)n;
			x.messages += msg ? 1 : 0;
			x.last_progress_ns = now_ns();
			report(&x, 0);
			continue;
		}
		if (n == SHML_ERESET) {
			struct shml_reset_info ri;
			if (reset_seen(&x, &ri))
				continue;
			if (!msg && ri.peer_closed)
				break; /* the sender closed after we drained everything: end of file
				        */
			if (x.progress)
				fputc('\n', stderr);
			cli_err("%s: %s %s before the end of file (after %llu bytes)",
			        chan_name(&x), peer_name(&x),
			        ri.peer_closed ? "closed its end" : "reset the session",
			        (unsigned long long)x.bytes);
			rc = CLI_FAIL;
			break;
		}
		if (n != SHML_ETIMEDOUT) {
			rc = fatal(&x, n, "receive");
			break;
		}
		if ((rc = idle(&x)) != 0)
			break;
	}
	report(&x, 1);
	free(buf);
	if (fd != STDOUT_FILENO && close(fd) != 0 && rc == CLI_OK) {
		cli_err("%s: %s", file, strerror(errno));
		rc = CLI_FAIL;
	}
	xfer_close(&x);
	return rc;
}

/* ---- cat ------------------------------------------------------------------------------- */

/* A reset or protocol error while cat runs: report it and carry on. */
static void cat_event(struct xfer *x, int rc, int *eof_sent, int *peer_eof, int *peer_gone)
{
	struct shml_reset_info ri;
	if (rc == SHML_EPROTO) {
		note(x, "%s broke the protocol; resynchronising (data in flight lost)",
		     peer_name(x));
		*eof_sent = *peer_eof = 0;
		return;
	}
	if (reset_seen(x, &ri))
		return;
	if (ri.peer_closed) {
		*peer_eof = *peer_gone = 1;
		return;
	}
	note(x, "session reset by %s (restarted?); %u messages (%u bytes) we sent were discarded",
	     peer_name(x), ri.messages, ri.bytes);
	*eof_sent = 0; /* the new session has not seen it */
	*peer_eof = 0;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option opts[] = { { "as", required_argument, NULL, 'a' },
		                              { "region", required_argument, NULL, 'r' },
		                              { "port", required_argument, NULL, 'P' },
		                              { "linger", required_argument, NULL, 'l' },
		                              { "quiet", no_argument, NULL, 'q' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	struct xfer x;
	const char *as = NULL, *port = NULL, *region = NULL;
	double linger = 0.5;
	int o, rc, msg, out_regular;
	uint8_t *inbuf, *outbuf;
	size_t in_cap, out_cap, in_len = 0, in_off = 0, out_len = 0, out_off = 0;
	int stdin_eof = 0, eof_sent = 0, peer_eof = 0, peer_gone = 0;
	uint64_t last_rx, idle_ns = 1000000;
	struct stat st;
	memset(&x, 0, sizeof(x));
	x.cmd = "cat";
	opterr = 0;
	while ((o = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(cat_help, stdout);
			return CLI_OK;
		case 'a':
			as = optarg;
			break;
		case 'r':
			region = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 'l':
			if (cli_parse_seconds(optarg, &linger) != 0)
				return cli_usage_error("cat", "--linger %s: give seconds", optarg);
			break;
		case 'q':
			x.quiet = 1;
			break;
		default:
			return cli_bad_option("cat", argv);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error("cat",
		                       argc - optind ? "no CHANNEL given" : "no CONFIG given");
	if (argc - optind > 2)
		return cli_usage_error("cat", "too many arguments");
	rc = xfer_open(&x, argv[optind], argv[optind + 1], as, port, region);
	if (rc) {
		xfer_close(&x);
		return rc;
	}
	x.progress = 0; /* stdout carries data; notes only */
	msg = x.e.ch.mode == SHML_MODE_MESSAGE;
	in_cap = msg ? x.e.ch.max_message : 65536;
	out_cap = msg ? x.e.ch.max_message : 65536;
	inbuf = malloc(in_cap ? in_cap : 1);
	outbuf = malloc(out_cap ? out_cap : 1);
	if (!inbuf || !outbuf) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	out_regular = fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	last_rx = now_ns();
	rc = CLI_OK;
	for (;;) {
		int moved = 0, want_rx, want_tx;
		unsigned events;
		struct pollfd fds[2];
		int nfds = 0, in_idx = -1, out_idx = -1;
		uint64_t t;

		if (cli_interrupted)
			break;
		/* The channel onto our output buffer. */
		if (out_len == 0 && !peer_eof) {
			int32_t n = msg ? shml_recv(&x.e.ch, outbuf, out_cap)
			                : shml_read(&x.e.ch, outbuf, out_cap);
			if (n > 0) {
				out_len = (size_t)n;
				out_off = 0;
				moved = 1;
				last_rx = now_ns();
			} else if (n == 0 && msg) {
				peer_eof = 1;
				moved = 1;
			} else if (n == SHML_ERESET || n == SHML_EPROTO) {
				cat_event(&x, n, &eof_sent, &peer_eof, &peer_gone);
				moved = 1;
			} else if (n != SHML_EAGAIN && n != SHML_ENOTCONN) {
				rc = fatal(&x, n, "receive");
				break;
			}
		}
		/* Our input buffer into the channel. */
		if (!peer_gone && in_len > in_off) {
			int32_t n = msg ? shml_send(&x.e.ch, inbuf, in_len)
			                : shml_write(&x.e.ch, inbuf + in_off, in_len - in_off);
			if (msg && n == 0)
				in_off = in_len;
			else if (!msg && n > 0)
				in_off += (size_t)n;
			if (n >= 0 && (msg || n > 0))
				moved = 1;
			if (n == SHML_ERESET || n == SHML_EPROTO) {
				cat_event(&x, n, &eof_sent, &peer_eof, &peer_gone);
				moved = 1;
			} else if (n < 0 && n != SHML_EAGAIN && n != SHML_ENOTCONN) {
				rc = fatal(&x, n, "send");
				break;
			}
			if (in_off == in_len)
				in_len = in_off = 0;
		} else if (!peer_gone && msg && stdin_eof && in_len == 0 && !eof_sent) {
			int n = shml_send(&x.e.ch, "", 0);
			if (n == 0) {
				eof_sent = 1;
				moved = 1;
			} else if (n == SHML_ERESET || n == SHML_EPROTO) {
				cat_event(&x, n, &eof_sent, &peer_eof, &peer_gone);
				moved = 1;
			} else if (n != SHML_EAGAIN && n != SHML_ENOTCONN) {
				rc = fatal(&x, n, "send");
				break;
			}
		}
		/* Done? */
		if (out_len == 0) {
			if (peer_gone) {
				if (in_len || !stdin_eof)
					note(&x, "%s closed its end; stopping", peer_name(&x));
				break;
			}
			if (msg && eof_sent && peer_eof)
				break;
			if (!msg && stdin_eof && in_len == 0 && drained(&x) &&
			    (double)(now_ns() - last_rx) / 1e9 >= linger)
				break;
		}
		if (moved) {
			idle_ns = 1000000; /* busy: look again soon */
			continue;
		}

		/* Nothing moved: wait for the files, then for the channel, briefly. */
		if (!stdin_eof && in_len == 0) {
			fds[nfds] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
			in_idx = nfds++;
		}
		if (out_len > 0) {
			fds[nfds] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
			out_idx = nfds++;
		}
		want_rx = out_len == 0 && !peer_eof;
		want_tx = !peer_gone && (in_len > 0 || (msg && stdin_eof && !eof_sent));
		events = SHML_EV_STATE | (want_rx ? SHML_EV_READABLE : 0u) |
		         (want_tx ? SHML_EV_WRITABLE : 0u);
		if (nfds && poll(fds, (nfds_t)nfds, want_rx || want_tx ? 0 : 100) > 0) {
			if (in_idx >= 0 && fds[in_idx].revents) {
				ssize_t n = read(STDIN_FILENO, inbuf, in_cap);
				if (n > 0) {
					in_len = (size_t)n;
					in_off = 0;
				} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
					if (n < 0)
						cli_err("stdin: %s", strerror(errno));
					stdin_eof = 1;
				}
			}
			if (out_idx >= 0 && fds[out_idx].revents) {
				size_t want = out_len - out_off;
				ssize_t n;
				if (!out_regular && want > 4096)
					want = 4096; /* POLLOUT promises room for a page, not more
					              */
				n = write(STDOUT_FILENO, outbuf + out_off, want);
				if (n > 0) {
					out_off += (size_t)n;
					if (out_off == out_len)
						out_len = out_off = 0;
				} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
					cli_err("stdout: %s", strerror(errno));
					rc = CLI_FAIL;
					break;
				}
			}
			continue;
		}
		/* Alternate between the channel and the files; back off while idle. */
		t = (want_rx || want_tx) && nfds ? idle_ns : 100000000ull;
		if (idle_ns < 20000000)
			idle_ns *= 2;
		{
			int w = shml_wait(
			        &x.e.ch, events,
			        want_tx ? (msg ? in_len
			                       : (in_len - in_off < 4096 ? in_len - in_off : 4096))
			                : 0,
			        t);
			if (w == SHML_EMISMATCH) {
				rc = fatal(&x, w, "waiting");
				break;
			}
			/* Also EPROTO or ERESET: a peer anomaly found while waiting. */
			if (w == SHML_ERESET || w == SHML_EPROTO)
				cat_event(&x, w, &eof_sent, &peer_eof, &peer_gone);
		}
		if (nfds && (want_rx || want_tx))
			poll(fds, (nfds_t)nfds, (int)(t / 1000000));
	}
	free(inbuf);
	free(outbuf);
	xfer_close(&x);
	return rc;
}
