/* SPDX-License-Identifier: MIT */
/*
 * shmlink inspect: what every domain slot and channel side says, read from
 * a read-only mapping. Every value comes from peers that may be broken or
 * hostile: it is displayed, checked where a check is cheap ("invalid"), and
 * never used to index or size anything.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
        "Usage: shmlink inspect CONFIG [--json] [--watch [--interval SEC] [--iterations N]]\n"
        "                      [--region PATH]\n"
        "\n"
        "Show every domain slot (attached? same config hash?) and both sides of every\n"
        "channel: session state, generation and acknowledged peer generation, positions,\n"
        "fill level of each ring (\"invalid\" if the positions claim more than the ring\n"
        "holds), wait flags, doorbell, finals, counters and last error. The region file\n"
        "is mapped read-only: inspecting never disturbs the peers.\n"
        "\n"
        "  --json            one JSON object (with --watch: one per line per refresh)\n"
        "  --watch           refresh until interrupted (on a terminal: in place, like top)\n"
        "  --interval SEC    seconds between refreshes (default 1)\n"
        "  --iterations N    stop after N refreshes\n"
        "  --region PATH     the region file (overrides [host] path); inspect reads the\n"
        "                    region file only, whatever [host] port says\n"
        "  -h, --help        this text\n";

struct chan_snap {
	struct shml_side_view v[2];
	int local[2]; /* locked by a process on this host */
};

struct snapshot {
	struct shml_slot_info *slots;
	struct chan_snap *ch;
	struct timespec when;
};

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* Read everything once. Returns 0, or -1 if the file shrank under us (SIGBUS). */
static int take(struct snapshot *s, const struct cli_config *c, struct cli_view *v)
{
	clock_gettime(CLOCK_REALTIME, &s->when);
	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		return -1;
	}
	bus_armed = 1;
	for (uint32_t d = 0; d < c->n_domains; d++)
		shml_read_slot(&v->region, d, &s->slots[d]);
	for (uint32_t i = 0; i < c->n_channels; i++)
		for (uint32_t side = 0; side < 2; side++) {
			shml_inspect_side(&v->region, i, side, &s->ch[i].v[side]);
			s->ch[i].local[side] = cli_side_locked(v->fd, c, i, side);
		}
	bus_armed = 0;
	return 0;
}

static const char *error_name(uint32_t neg)
{
	static const char *names[] = { "OK",       "EAGAIN",  "ETIMEDOUT", "ENOTCONN",  "ERESET",
		                       "EMSGSIZE", "EINVAL",  "EPROTO",    "EMISMATCH", "ERANGE",
		                       "ENOBUFS",  "ECONFIG", "ESTATE" };
	return neg < sizeof(names) / sizeof(names[0]) ? names[neg] : "unknown";
}

/* Sides in the same session: each acknowledges the other's generation. */
static int same_session(const struct shml_side_view *a, const struct shml_side_view *b)
{
	return a->gen && b->gen && a->peer_gen == b->gen && b->peer_gen == a->gen;
}

enum fill_kind { FILL_NONE, FILL_OK, FILL_INVALID };

/* Bytes written by @w not yet consumed by @r, in a ring of @size. */
static enum fill_kind fill(const struct shml_side_view *w, const struct shml_side_view *r,
                           uint32_t size, uint32_t *out)
{
	*out = w->tx_pos - r->rx_pos;
	if (!same_session(w, r))
		return FILL_NONE;
	return *out > size ? FILL_INVALID : FILL_OK;
}

static const char *slot_status(const struct shml_slot_info *si, const struct cli_config *c,
                               uint32_t d, char *buf, size_t len)
{
	if (si->magic != SHML_MAGIC)
		snprintf(buf, len, "not attached (magic 0x%08x)", si->magic);
	else if (si->version != SHML_PROTOCOL_VERSION)
		snprintf(buf, len, "MISMATCH: protocol version %u, we speak %u", si->version,
		         SHML_PROTOCOL_VERSION);
	else if (si->config_hash != c->hash)
		snprintf(buf, len, "MISMATCH: config hash 0x%016llx, ours 0x%016llx",
		         (unsigned long long)si->config_hash, (unsigned long long)c->hash);
	else if (si->domain_id != c->domains[d].id)
		snprintf(buf, len, "attached, hash ok, but domain_id %u (config says %u)",
		         si->domain_id, c->domains[d].id);
	else
		snprintf(buf, len, "attached, hash ok");
	return buf;
}

static const char *wait_str(uint32_t w, char *buf, size_t len)
{
	uint32_t ev = w & 7u;
	if (!ev)
		snprintf(buf, len, "- (seq %u)", w >> 3);
	else
		snprintf(buf, len, "%s%s%s (seq %u)", ev & 1 ? "R" : "", ev & 2 ? "W" : "",
		         ev & 4 ? "S" : "", w >> 3);
	return buf;
}

static void fill_str(enum fill_kind k, uint32_t n, uint32_t size, char *buf, size_t len)
{
	if (k == FILL_NONE)
		snprintf(buf, len, "- (no session)");
	else if (k == FILL_INVALID)
		snprintf(buf, len, "invalid (%u > %u)", n, size);
	else
		snprintf(buf, len, "%u/%u (%u%%)", n, size,
		         (unsigned)((uint64_t)n * 100u / (size ? size : 1)));
}

static void row2(FILE *f, const char *label, const char *a, const char *b)
{
	fprintf(f, "  %-22s %-27s %s\n", label, a, b);
}

static void row_u64(FILE *f, const char *label, uint64_t a1, uint64_t a2, uint64_t b1, uint64_t b2,
                    int pair)
{
	char a[40], b[40];
	if (pair) {
		snprintf(a, sizeof(a), "%llu / %llu", (unsigned long long)a1,
		         (unsigned long long)a2);
		snprintf(b, sizeof(b), "%llu / %llu", (unsigned long long)b1,
		         (unsigned long long)b2);
	} else {
		snprintf(a, sizeof(a), "%llu", (unsigned long long)a1);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)b1);
	}
	row2(f, label, a, b);
}

static void render_text(FILE *f, const struct cli_config *c, const struct cli_view *v,
                        const struct snapshot *s)
{
	char h[32], buf[160], a[64], b[64];
	struct tm tm;
	localtime_r(&s->when.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	fprintf(f, "%s (%s) at %s, config %s, hash 0x%016llx\n", v->path,
	        cli_human(v->file_size, h, sizeof(h)), buf, c->file, (unsigned long long)c->hash);
	fprintf(f, "\ndomains\n");
	for (uint32_t d = 0; d < c->n_domains; d++)
		fprintf(f, "  %2u %-20s id %-6u %s\n", d, c->domains[d].name, c->domains[d].id,
		        slot_status(&s->slots[d], c, d, buf, sizeof(buf)));
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		const struct chan_snap *cs = &s->ch[i];
		const struct shml_side_view *A = &cs->v[0], *B = &cs->v[1];
		uint32_t n = 0;
		enum fill_kind k;
		fprintf(f, "\nchannel %u '%s': %s, %s (A) <-> %s (B), rings %u/%u", i, ch->name,
		        cli_mode_name(ch->mode), c->domains[ch->a].name, c->domains[ch->b].name,
		        ch->ring_ab, ch->ring_ba);
		if (ch->mode == SHML_MODE_MESSAGE)
			fprintf(f, ", max message %u", shml_channel_max_message(&c->cfg, i));
		fprintf(f, "\n");
		snprintf(a, sizeof(a), "A %s", c->domains[ch->a].name);
		snprintf(b, sizeof(b), "B %s", c->domains[ch->b].name);
		row2(f, "", a, b);
		for (int side = 0; side < 2; side++) {
			const struct shml_side_view *x = &cs->v[side];
			if (x->state == 0)
				snprintf(side ? b : a, 64, "not attached");
			else if (strcmp(shml_state_name(x->state), "invalid") == 0)
				snprintf(side ? b : a, 64, "invalid 0x%08x", x->state);
			else
				snprintf(side ? b : a, 64, "%s%s", shml_state_name(x->state),
				         x->state == SHML_STATE_EST && !same_session(A, B)
				                 ? " (peer not)"
				                 : "");
		}
		row2(f, "state", a, b);
		row2(f, "process on this host", cs->local[0] ? "yes" : "no",
		     cs->local[1] ? "yes" : "no");
		snprintf(a, sizeof(a), "0x%08x / 0x%08x", A->gen, A->peer_gen);
		snprintf(b, sizeof(b), "0x%08x / 0x%08x", B->gen, B->peer_gen);
		row2(f, "gen / peer_gen", a, b);
		row_u64(f, "tx_pos / rx_pos", A->tx_pos, A->rx_pos, B->tx_pos, B->rx_pos, 1);
		k = fill(A, B, ch->ring_ab, &n);
		fill_str(k, n, ch->ring_ab, a, sizeof(a));
		k = fill(B, A, ch->ring_ba, &n);
		fill_str(k, n, ch->ring_ba, b, sizeof(b));
		row2(f, "outgoing ring fill", a, b);
		row2(f, "wait (R/W/S)", wait_str(A->wait, a, sizeof(a)),
		     wait_str(B->wait, b, sizeof(b)));
		row_u64(f, "wait_need / doorbell", A->wait_need, A->doorbell, B->wait_need,
		        B->doorbell, 1);
		snprintf(a, sizeof(a), "0x%08x @ %u", A->final_gen, A->final_tx);
		snprintf(b, sizeof(b), "0x%08x @ %u", B->final_gen, B->final_tx);
		row2(f, "tx finals (gen @ pos)", a, b);
		snprintf(a, sizeof(a), "0x%08x @ %u", A->final_of, A->final_rx);
		snprintf(b, sizeof(b), "0x%08x @ %u", B->final_of, B->final_rx);
		row2(f, "rx finals (of @ pos)", a, b);
		if (!A->stats_valid || !B->stats_valid) {
			row2(f, "counters", A->stats_valid ? "valid" : "none published",
			     B->stats_valid ? "valid" : "none published");
		}
		row_u64(f, "tx messages / bytes", A->counters.tx_messages, A->counters.tx_bytes,
		        B->counters.tx_messages, B->counters.tx_bytes, 1);
		row_u64(f, "rx messages / bytes", A->counters.rx_messages, A->counters.rx_bytes,
		        B->counters.rx_messages, B->counters.rx_bytes, 1);
		row_u64(f, "notify sent / suppr.", A->counters.notify_sent,
		        A->counters.notify_suppressed, B->counters.notify_sent,
		        B->counters.notify_suppressed, 1);
		row_u64(f, "wakeups", A->counters.wakeups, 0, B->counters.wakeups, 0, 0);
		row_u64(f, "resets / proto errors", A->counters.resets, A->counters.protocol_errors,
		        B->counters.resets, B->counters.protocol_errors, 1);
		row_u64(f, "discarded msgs / bytes", A->counters.discarded_messages,
		        A->counters.discarded_bytes, B->counters.discarded_messages,
		        B->counters.discarded_bytes, 1);
		for (int side = 0; side < 2; side++) {
			uint32_t e = cs->v[side].counters.last_error;
			if (e)
				fprintf(f, "  last error %c           %s: %s\n", side ? 'B' : 'A',
				        error_name(e), shml_strerror(-(int)e));
			else
				fprintf(f, "  last error %c           none\n", side ? 'B' : 'A');
		}
	}
}

static void json_side(FILE *f, const struct cli_config *c, uint32_t dom,
                      const struct shml_side_view *x, int local)
{
	const struct shml_counters *k = &x->counters;
	fprintf(f, "{\"domain\":");
	cli_json_str(f, c->domains[dom].name);
	fprintf(f,
	        ",\"state\":\"%s\",\"state_raw\":%u,\"local_process\":%s,\"gen\":%u,\"peer_gen\":%"
	        "u,"
	        "\"tx_pos\":%u,\"rx_pos\":%u,\"wait\":{\"raw\":%u,\"seq\":%u,\"readable\":%s,"
	        "\"writable\":%s,\"state\":%s},\"wait_need\":%u,\"doorbell\":%u,"
	        "\"final_gen\":%u,\"final_tx\":%u,\"final_of\":%u,\"final_rx\":%u,"
	        "\"stats_valid\":%s,",
	        shml_state_name(x->state), x->state, local ? "true" : "false", x->gen, x->peer_gen,
	        x->tx_pos, x->rx_pos, x->wait, x->wait >> 3, x->wait & 1 ? "true" : "false",
	        x->wait & 2 ? "true" : "false", x->wait & 4 ? "true" : "false", x->wait_need,
	        x->doorbell, x->final_gen, x->final_tx, x->final_of, x->final_rx,
	        x->stats_valid ? "true" : "false");
	fprintf(f,
	        "\"counters\":{\"tx_messages\":%llu,\"tx_bytes\":%llu,\"rx_messages\":%llu,"
	        "\"rx_bytes\":%llu,\"notify_sent\":%llu,\"notify_suppressed\":%llu,"
	        "\"wakeups\":%llu,\"resets\":%llu,\"protocol_errors\":%llu,"
	        "\"discarded_messages\":%llu,\"discarded_bytes\":%llu},",
	        (unsigned long long)k->tx_messages, (unsigned long long)k->tx_bytes,
	        (unsigned long long)k->rx_messages, (unsigned long long)k->rx_bytes,
	        (unsigned long long)k->notify_sent, (unsigned long long)k->notify_suppressed,
	        (unsigned long long)k->wakeups, (unsigned long long)k->resets,
	        (unsigned long long)k->protocol_errors, (unsigned long long)k->discarded_messages,
	        (unsigned long long)k->discarded_bytes);
	if (k->last_error) {
		fprintf(f, "\"last_error\":{\"code\":%d,\"name\":\"%s\",\"text\":",
		        -(int)k->last_error, error_name(k->last_error));
		cli_json_str(f, shml_strerror(-(int)k->last_error));
		fprintf(f, "}}");
	} else {
		fprintf(f, "\"last_error\":null}");
	}
}

static void json_fill(FILE *f, const char *key, enum fill_kind k, uint32_t n)
{
	if (k == FILL_NONE)
		fprintf(f, ",\"%s\":null,\"%s_valid\":null", key, key);
	else
		fprintf(f, ",\"%s\":%u,\"%s_valid\":%s", key, n, key,
		        k == FILL_OK ? "true" : "false");
}

static void render_json(FILE *f, const struct cli_config *c, const struct cli_view *v,
                        const struct snapshot *s)
{
	fprintf(f, "{\"time\":%lld.%03ld,\"region\":", (long long)s->when.tv_sec,
	        s->when.tv_nsec / 1000000);
	cli_json_str(f, v->path);
	fprintf(f, ",\"region_file_size\":%llu,\"config\":", (unsigned long long)v->file_size);
	cli_json_str(f, c->file);
	fprintf(f, ",\"config_hash\":\"0x%016llx\",\"region_size\":%llu,\"domains\":[",
	        (unsigned long long)c->hash, (unsigned long long)c->region_size);
	for (uint32_t d = 0; d < c->n_domains; d++) {
		const struct shml_slot_info *si = &s->slots[d];
		char buf[160];
		fprintf(f, "%s{\"index\":%u,\"name\":", d ? "," : "", d);
		cli_json_str(f, c->domains[d].name);
		fprintf(f,
		        ",\"id\":%u,\"attached\":%s,\"hash_ok\":%s,\"magic\":%u,\"version\":%u,"
		        "\"config_hash\":\"0x%016llx\",\"domain_id\":%u,\"status\":",
		        c->domains[d].id, si->magic == SHML_MAGIC ? "true" : "false",
		        si->valid ? "true" : "false", si->magic, si->version,
		        (unsigned long long)si->config_hash, si->domain_id);
		cli_json_str(f, slot_status(si, c, d, buf, sizeof(buf)));
		fprintf(f, "}");
	}
	fprintf(f, "],\"channels\":[");
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		const struct chan_snap *cs = &s->ch[i];
		uint32_t n = 0;
		fprintf(f, "%s{\"index\":%u,\"name\":", i ? "," : "", i);
		cli_json_str(f, ch->name);
		fprintf(f,
		        ",\"mode\":\"%s\",\"ring_ab\":%u,\"ring_ba\":%u,\"max_message\":%u,"
		        "\"same_session\":%s",
		        cli_mode_name(ch->mode), ch->ring_ab, ch->ring_ba,
		        shml_channel_max_message(&c->cfg, i),
		        same_session(&cs->v[0], &cs->v[1]) ? "true" : "false");
		enum fill_kind k = fill(&cs->v[0], &cs->v[1], ch->ring_ab, &n);
		json_fill(f, "fill_ab", k, n);
		k = fill(&cs->v[1], &cs->v[0], ch->ring_ba, &n);
		json_fill(f, "fill_ba", k, n);
		fprintf(f, ",\"a\":");
		json_side(f, c, ch->a, &cs->v[0], cs->local[0]);
		fprintf(f, ",\"b\":");
		json_side(f, c, ch->b, &cs->v[1], cs->local[1]);
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		                              { "watch", no_argument, NULL, 'w' },
		                              { "interval", required_argument, NULL, 'i' },
		                              { "iterations", required_argument, NULL, 'n' },
		                              { "region", required_argument, NULL, 'r' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	const char *region = NULL, *path;
	int json = 0, watch = 0, o, rc = CLI_OK, tty;
	double interval = 1.0;
	uint64_t iterations = 0;
	struct cli_config c;
	struct cli_view v;
	struct snapshot s;
	struct sigaction sa;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "hw", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(help, stdout);
			return CLI_OK;
		case 'j':
			json = 1;
			break;
		case 'w':
			watch = 1;
			break;
		case 'i':
			if (cli_parse_seconds(optarg, &interval) != 0 || interval < 0.01)
				return cli_usage_error("inspect",
				                       "--interval %s: give seconds, at least 0.01",
				                       optarg);
			break;
		case 'n':
			if (cli_parse_uint(optarg, UINT32_MAX, &iterations) != 0 || iterations == 0)
				return cli_usage_error(
				        "inspect", "--iterations %s: give a count >= 1", optarg);
			break;
		case 'r':
			region = optarg;
			break;
		default:
			return cli_bad_option("inspect", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("inspect",
		                       argc - optind ? "too many arguments" : "no CONFIG given");
	if (iterations && !watch)
		return cli_usage_error("inspect", "--iterations goes with --watch");
	if (cli_config_load(&c, argv[optind]) != 0)
		return CLI_USAGE;
	path = cli_region_path(&c, region);
	if (!path) {
		cli_config_free(&c);
		return CLI_USAGE;
	}
	rc = cli_view_open(&v, &c, path);
	if (rc) {
		cli_config_free(&c);
		return rc;
	}
	s.slots = calloc(c.n_domains, sizeof(*s.slots));
	s.ch = calloc(c.n_channels, sizeof(*s.ch));
	if (!s.slots || !s.ch) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	if (watch)
		cli_install_signals();
	tty = isatty(STDOUT_FILENO);
	for (uint64_t it = 0;; it++) {
		char *text = NULL;
		size_t len = 0;
		FILE *mf;
		if (take(&s, &c, &v) != 0) {
			cli_err("%s: the region file shrank while being read: run 'shmlink init "
			        "%s'",
			        path, c.file);
			rc = CLI_FAIL;
			break;
		}
		/* Render into memory, then write at once: no flicker, no torn frame. */
		mf = open_memstream(&text, &len);
		if (!mf) {
			cli_err("out of memory");
			exit(CLI_FAIL);
		}
		if (json)
			render_json(mf, &c, &v, &s);
		else
			render_text(mf, &c, &v, &s);
		fclose(mf);
		if (watch && tty && !json)
			fputs("\033[H\033[2J", stdout);
		else if (watch && it && !json)
			fputs("\n", stdout);
		fwrite(text, 1, len, stdout);
		free(text);
		if (fflush(stdout) != 0) {
			if (errno != EPIPE)
				cli_err("stdout: %s", strerror(errno));
			rc = CLI_FAIL;
			break;
		}
		if (!watch || (iterations && it + 1 >= iterations))
			break;
		{
			struct timespec ts = {
				.tv_sec = (time_t)interval,
				.tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9)
			};
			while (!cli_interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		if (cli_interrupted)
			break;
	}
	free(s.slots);
	free(s.ch);
	cli_view_close(&v);
	cli_config_free(&c);
	return rc;
}
