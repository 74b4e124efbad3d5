/* SPDX-License-Identifier: MIT */
/* shmlink layout: where every part of the region lies. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
        "Usage: shmlink layout CONFIG [--json]\n"
        "\n"
        "Print the offset and size of every part of the region: the domain slots, and\n"
        "for each channel its side A and side B blocks (control, positions, statistics)\n"
        "and its two rings; then the config hash and the bytes used and free.\n"
        "The layout is computed from CONFIG alone; no region file is needed.\n"
        "\n"
        "  --json     one JSON object instead of the table\n"
        "  -h, --help this text\n";

int cli_bad_option(const char *cmd, char **argv)
{
	if (optopt)
		return cli_usage_error(cmd, "unknown option or missing argument: -%c", optopt);
	return cli_usage_error(cmd, "unknown option or missing argument: %s", argv[optind - 1]);
}

static void row(uint64_t off, uint64_t size, const char *indent, const char *what)
{
	printf("  0x%08llx  %10llu  %s%s\n", (unsigned long long)off, (unsigned long long)size,
	       indent, what);
}

static void print_text(const struct cli_config *c)
{
	const struct shml_config *cfg = &c->cfg;
	uint32_t slot = shml_domain_slot_size(cfg), side = shml_side_block_size(cfg);
	uint64_t used = shml_layout_bytes(cfg);
	char buf[200], h1[32], h2[32];
	printf("config %s: region %llu bytes (%s), cache line %u, config hash 0x%016llx\n", c->file,
	       (unsigned long long)c->region_size, cli_human(c->region_size, h1, sizeof(h1)),
	       c->cacheline, (unsigned long long)c->hash);
	printf("  %-10s  %10s  %s\n", "offset", "bytes", "part");
	for (uint32_t d = 0; d < c->n_domains; d++) {
		snprintf(buf, sizeof(buf), "domain slot %u: %s (id %u)", d, c->domains[d].name,
		         c->domains[d].id);
		row((uint64_t)d * slot, slot, "", buf);
	}
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		const char *a = c->domains[ch->a].name, *b = c->domains[ch->b].name;
		struct shml_channel_layout lay;
		shml_channel_layout(cfg, i, &lay);
		if (ch->mode == SHML_MODE_MESSAGE)
			snprintf(buf, sizeof(buf), "channel %u: %s (message, max message %u bytes)",
			         i, ch->name, shml_channel_max_message(cfg, i));
		else
			snprintf(buf, sizeof(buf), "channel %u: %s (stream)", i, ch->name);
		row(lay.offset, lay.end - lay.offset, "", buf);
		for (int s = 0; s < 2; s++) {
			snprintf(buf, sizeof(buf),
			         "side %c block: %s (control line %u + positions %u + statistics "
			         "%u)",
			         s ? 'B' : 'A', s ? b : a, c->cacheline, c->cacheline,
			         side - 2 * c->cacheline);
			row(s ? lay.side_b : lay.side_a, side, "  ", buf);
		}
		snprintf(buf, sizeof(buf), "ring A->B: %s -> %s", a, b);
		row(lay.ring_ab, ch->ring_ab, "  ", buf);
		snprintf(buf, sizeof(buf), "ring B->A: %s -> %s", b, a);
		row(lay.ring_ba, ch->ring_ba, "  ", buf);
	}
	row(used, c->region_size - used, "", "free");
	printf("used %llu bytes (%s), free %llu bytes (%s) of %llu\n", (unsigned long long)used,
	       cli_human(used, h1, sizeof(h1)), (unsigned long long)(c->region_size - used),
	       cli_human(c->region_size - used, h2, sizeof(h2)),
	       (unsigned long long)c->region_size);
}

static void print_json(const struct cli_config *c)
{
	const struct shml_config *cfg = &c->cfg;
	uint32_t slot = shml_domain_slot_size(cfg), side = shml_side_block_size(cfg);
	uint64_t used = shml_layout_bytes(cfg);
	printf("{\"config\":");
	cli_json_str(stdout, c->file);
	printf(",\"config_hash\":\"0x%016llx\",\"region_size\":%llu,\"cacheline\":%u,"
	       "\"used\":%llu,\"free\":%llu,\"domain_slot_size\":%u,\"side_block_size\":%u,"
	       "\"domains\":[",
	       (unsigned long long)c->hash, (unsigned long long)c->region_size, c->cacheline,
	       (unsigned long long)used, (unsigned long long)(c->region_size - used), slot, side);
	for (uint32_t d = 0; d < c->n_domains; d++) {
		printf("%s{\"index\":%u,\"name\":", d ? "," : "", d);
		cli_json_str(stdout, c->domains[d].name);
		printf(",\"id\":%u,\"slot\":%llu}", c->domains[d].id, (unsigned long long)d * slot);
	}
	printf("],\"channels\":[");
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		struct shml_channel_layout lay;
		shml_channel_layout(cfg, i, &lay);
		printf("%s{\"index\":%u,\"name\":", i ? "," : "", i);
		cli_json_str(stdout, ch->name);
		printf(",\"mode\":\"%s\",\"a\":", cli_mode_name(ch->mode));
		cli_json_str(stdout, c->domains[ch->a].name);
		printf(",\"b\":");
		cli_json_str(stdout, c->domains[ch->b].name);
		printf(",\"max_message\":%u,\"offset\":%llu,\"side_a\":%llu,\"side_b\":%llu,"
		       "\"ring_ab\":%llu,\"ring_ab_size\":%u,\"ring_ba\":%llu,\"ring_ba_size\":%u,"
		       "\"end\":%llu}",
		       shml_channel_max_message(cfg, i), (unsigned long long)lay.offset,
		       (unsigned long long)lay.side_a, (unsigned long long)lay.side_b,
		       (unsigned long long)lay.ring_ab, ch->ring_ab,
		       (unsigned long long)lay.ring_ba, ch->ring_ba, (unsigned long long)lay.end);
	}
	printf("]}\n");
}

int cmd_layout(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	struct cli_config c;
	int json = 0, o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(help, stdout);
			return CLI_OK;
		}
		if (o == 'j')
			json = 1;
		else
			return cli_bad_option("layout", argv);
	}
	if (argc - optind != 1)
		return cli_usage_error("layout",
		                       argc - optind ? "too many arguments" : "no CONFIG given");
	if (cli_config_load(&c, argv[optind]) != 0)
		return CLI_USAGE;
	if (json)
		print_json(&c);
	else
		print_text(&c);
	cli_config_free(&c);
	return CLI_OK;
}
