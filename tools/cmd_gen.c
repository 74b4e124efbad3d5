/* SPDX-License-Identifier: MIT */
/*
 * shmlink gen: turn the static config into what other build systems need:
 * a C header (for domains without a parser), Xen dom0less device-tree nodes,
 * and QEMU ivshmem options.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
        "Usage: shmlink gen header CONFIG [--prefix NAME] [-o FILE]\n"
        "       shmlink gen xen-dt CONFIG [--guest DOMAIN] [--fragment] [-o FILE]\n"
        "       shmlink gen qemu CONFIG [--domain DOMAIN] [--doorbell] [-o FILE]\n"
        "\n"
        "header   a C header with the configuration as static const structs\n"
        "         (shml_cfg, shml_cfg_domains, shml_cfg_channels) and the layout as\n"
        "         #defines (region size, each channel's index and offsets, the config\n"
        "         hash as PREFIX_HASH), so a baremetal domain needs no parser;\n"
        "         PREFIX_attach() attaches without validating or hashing again\n"
        "         (for builds with SHML_CONFIG_PREVALIDATED or SHML_CONFIG_TINY).\n"
        "         --prefix NAME  prefix of the identifiers (default shml_cfg; macros\n"
        "                        in upper case)\n"
        "xen-dt   Xen dom0less device-tree source that dtc compiles: the region and,\n"
        "         under /chosen/domU<id>, each domU's shared-memory and static event\n"
        "         channel nodes ([xen] section). Without options: a complete tree whose\n"
        "         domU nodes are placeholders.\n"
        "         --guest DOMAIN  the partial device tree of that domU instead\n"
        "                         (shm = passthrough: the region's passthrough node)\n"
        "         --fragment      only the nodes, without /dts-v1/ and placeholders:\n"
        "                         append to your own dts and dtc merges them\n"
        "qemu     QEMU options to give each guest of [qemu] guests the region:\n"
        "         -object memory-backend-file + -device ivshmem-plain, or with\n"
        "         --doorbell, -chardev socket + -device ivshmem-doorbell (needs an\n"
        "         ivshmem server on [qemu] server).\n"
        "         --domain DOMAIN  only that guest's options, one per line, no comments\n"
        "                          (for $(shmlink gen qemu ... --domain NAME))\n"
        "\n"
        "  -o, --output FILE  write to FILE instead of stdout\n"
        "  -h, --help         this text\n";

/* ---- header ------------------------------------------------------------------------------ */

struct macro_names {
	char (*names)[96];
	const char **owner;
	int n, cap;
};

static void macro_name(char *out, size_t len, const char *prefix, const char *kind,
                       const char *name, const char *suffix)
{
	size_t o = 0;
	o += (size_t)snprintf(out + o, len - o, "%s_%s_", prefix, kind);
	for (const char *p = name; *p && o + 1 < len; p++)
		out[o++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	out[o] = '\0';
	snprintf(out + o, len - o, "%s", suffix);
}

/* Two names that give the same macro would not compile: say which. */
static int add_macro(struct macro_names *m, const char *name, const char *owner)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->names[i], name) == 0 && strcmp(m->owner[i], owner) != 0) {
			cli_err("gen header: %s and %s both give the C macro %s: rename one",
			        m->owner[i], owner, name);
			return -1;
		}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->names = realloc(m->names, (size_t)m->cap * sizeof(*m->names));
		m->owner = realloc(m->owner, (size_t)m->cap * sizeof(*m->owner));
		if (!m->names || !m->owner) {
			cli_err("out of memory");
			exit(CLI_FAIL);
		}
	}
	snprintf(m->names[m->n], sizeof(m->names[0]), "%s", name);
	m->owner[m->n++] = owner;
	return 0;
}

static int valid_c_identifier(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

static int gen_header(FILE *f, struct cli_config *c, const char *prefix)
{
	const struct shml_config *cfg = &c->cfg;
	char up[64], m[96], owners[SHML_MAX_DOMAINS + 1][48];
	char(*chowners)[48] = calloc(c->n_channels, sizeof(*chowners));
	struct macro_names names = { 0 };
	int has_xen = c->xen_line && c->xen_host_address_line && c->xen_guest_address_line;
	int rc = 0;
	if (!chowners) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	for (size_t i = 0; i <= strlen(prefix); i++)
		up[i] = (char)toupper((unsigned char)prefix[i]);
	if (has_xen && cli_xen_resolve(c) != 0) {
		free(chowners);
		return CLI_USAGE;
	}
	/* Check every generated name first: a clash is a config problem. */
	for (uint32_t d = 0; d < c->n_domains && !rc; d++) {
		snprintf(owners[d], sizeof(owners[d]), "domain '%s'", c->domains[d].name);
		macro_name(m, sizeof(m), up, "DOMAIN", c->domains[d].name, "");
		rc = add_macro(&names, m, owners[d]);
	}
	for (uint32_t i = 0; i < c->n_channels && !rc; i++) {
		snprintf(chowners[i], sizeof(chowners[i]), "channel '%s'", c->channels[i].name);
		macro_name(m, sizeof(m), up, "CHANNEL", c->channels[i].name, "");
		rc = add_macro(&names, m, chowners[i]);
	}
	free(names.names);
	free(names.owner);
	if (rc) {
		free(chowners);
		return CLI_USAGE;
	}

	fprintf(f,
	        "/*\n * Generated by shmlink %s from %s: do not edit; regenerate with\n"
	        " *   shmlink gen header %s%s%s\n",
	        SHMLINK_VERSION, c->file, c->file, strcmp(prefix, "shml_cfg") ? " --prefix " : "",
	        strcmp(prefix, "shml_cfg") ? prefix : "");
	fprintf(f,
	        " *\n * Every domain of the region must use the same configuration: each one\n"
	        " * publishes %s_HASH in its domain slot, and peers with another hash do\n"
	        " * not connect. Assert it at build time with %s_ASSERT_HASH(0x...).\n */\n",
	        up, up);
	/* Generated code is compared byte for byte with the generator's output:
	 * keep code formatters away from it. */
	fprintf(f, "/* clang-format off */\n");
	fprintf(f, "#ifndef %s_H\n#define %s_H\n\n#include \"shmlink.h\"\n\n", up, up);
	fprintf(f, "#define %s_HASH 0x%016llxull\n", up, (unsigned long long)c->hash);
	fprintf(f,
	        "#define %s_ASSERT_HASH(h) _Static_assert((h) == %s_HASH, "
	        "\"shmlink config hash changed: regenerate or update\")\n",
	        up, up);
	fprintf(f, "#define %s_REGION_SIZE %lluull\n", up, (unsigned long long)c->region_size);
	fprintf(f, "#define %s_LAYOUT_BYTES %lluull /* used of the region */\n", up,
	        (unsigned long long)shml_layout_bytes(cfg));
	fprintf(f, "#define %s_CACHELINE %uu\n", up, c->cacheline);
	fprintf(f, "#define %s_DOMAIN_SLOT_SIZE %uu\n", up, shml_domain_slot_size(cfg));
	fprintf(f, "#define %s_SIDE_BLOCK_SIZE %uu\n", up, shml_side_block_size(cfg));
	fprintf(f, "#define %s_N_DOMAINS %uu\n", up, c->n_domains);
	fprintf(f, "#define %s_N_CHANNELS %uu\n", up, c->n_channels);
	if (has_xen) {
		fprintf(f, "#define %s_XEN_HOST_ADDRESS 0x%llxull\n", up,
		        (unsigned long long)c->xen_host_address);
		fprintf(f, "#define %s_XEN_GUEST_ADDRESS 0x%llxull\n", up,
		        (unsigned long long)c->xen_guest_address);
	}
	fprintf(f, "\n/* Domains: index (for shml_region_attach), id, slot offset. */\n");
	for (uint32_t d = 0; d < c->n_domains; d++) {
		macro_name(m, sizeof(m), up, "DOMAIN", c->domains[d].name, "");
		fprintf(f, "#define %s %uu\n", m, d);
		fprintf(f, "#define %s_ID %uu\n", m, c->domains[d].id);
		fprintf(f, "#define %s_SLOT 0x%llxull\n", m,
		        (unsigned long long)d * shml_domain_slot_size(cfg));
	}
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		struct shml_channel_layout lay;
		shml_channel_layout(cfg, i, &lay);
		macro_name(m, sizeof(m), up, "CHANNEL", ch->name, "");
		fprintf(f, "\n/* Channel %s: %s (side A) <-> %s (side B), %s mode. */\n", ch->name,
		        c->domains[ch->a].name, c->domains[ch->b].name, cli_mode_name(ch->mode));
		fprintf(f, "#define %s %uu /* index, for shml_chan_open */\n", m, i);
		fprintf(f, "#define %s_MODE %s\n", m,
		        ch->mode == SHML_MODE_MESSAGE ? "SHML_MODE_MESSAGE" : "SHML_MODE_STREAM");
		fprintf(f, "#define %s_A %uu /* domain index of side A */\n", m, ch->a);
		fprintf(f, "#define %s_B %uu /* domain index of side B */\n", m, ch->b);
		fprintf(f, "#define %s_MAX_MESSAGE %uu\n", m, shml_channel_max_message(cfg, i));
		fprintf(f, "#define %s_OFFSET 0x%llxull\n", m, (unsigned long long)lay.offset);
		fprintf(f, "#define %s_SIDE_A 0x%llxull\n", m, (unsigned long long)lay.side_a);
		fprintf(f, "#define %s_SIDE_B 0x%llxull\n", m, (unsigned long long)lay.side_b);
		fprintf(f, "#define %s_RING_AB 0x%llxull\n", m, (unsigned long long)lay.ring_ab);
		fprintf(f, "#define %s_RING_AB_SIZE %uu\n", m, ch->ring_ab);
		fprintf(f, "#define %s_RING_BA 0x%llxull\n", m, (unsigned long long)lay.ring_ba);
		fprintf(f, "#define %s_RING_BA_SIZE %uu\n", m, ch->ring_ba);
		fprintf(f, "#define %s_END 0x%llxull\n", m, (unsigned long long)lay.end);
		if (has_xen && cli_is_xen_domu(c, ch->a) && cli_is_xen_domu(c, ch->b)) {
			fprintf(f, "#define %s_EVTCHN_A %uu /* Xen event channel port in %s */\n",
			        m, c->xen_evtchn[i].port_a, c->domains[ch->a].name);
			fprintf(f, "#define %s_EVTCHN_B %uu /* Xen event channel port in %s */\n",
			        m, c->xen_evtchn[i].port_b, c->domains[ch->b].name);
		}
	}
	fprintf(f,
	        "\n#if defined(__GNUC__)\n#define %s_UNUSED __attribute__((unused))\n#else\n"
	        "#define %s_UNUSED\n#endif\n\n",
	        up, up);
	fprintf(f, "static const struct shml_domain_cfg %s_domains[%u] %s_UNUSED = {\n", prefix,
	        c->n_domains, up);
	for (uint32_t d = 0; d < c->n_domains; d++)
		fprintf(f, "\t{.name = \"%s\", .id = %uu},\n", c->domains[d].name,
		        c->domains[d].id);
	fprintf(f, "};\n\nstatic const struct shml_channel_cfg %s_channels[%u] %s_UNUSED = {\n",
	        prefix, c->n_channels, up);
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		fprintf(f,
		        "\t{.name = \"%s\",\n\t .a = %uu,\n\t .b = %uu,\n\t .mode = %s,\n"
		        "\t .ring_ab = %uu,\n\t .ring_ba = %uu,\n\t .max_message = %uu},\n",
		        ch->name, ch->a, ch->b,
		        ch->mode == SHML_MODE_MESSAGE ? "SHML_MODE_MESSAGE" : "SHML_MODE_STREAM",
		        ch->ring_ab, ch->ring_ba, ch->max_message);
	}
	fprintf(f, "};\n\nstatic const struct shml_config %s %s_UNUSED = {\n", prefix, up);
	fprintf(f, "\t.region_size = %s_REGION_SIZE,\n\t.cacheline = %s_CACHELINE,\n", up, up);
	fprintf(f, "\t.n_domains = %s_N_DOMAINS,\n\t.domains = %s_domains,\n", up, prefix);
	fprintf(f, "\t.n_channels = %s_N_CHANNELS,\n\t.channels = %s_channels,\n};\n", up, prefix);
	fprintf(f,
	        "\n/*\n * Attach domain @self without validating or hashing the config at run\n"
	        " * time: shmlink validated it and computed %s_HASH. Memory safety is\n"
	        " * still checked (shml_region_attach_prevalidated()). Edit the structs\n"
	        " * above and peers no longer agree with you: regenerate instead.\n */\n",
	        up);
	fprintf(f,
	        "static inline int %s_attach(struct shml_region *r, uint32_t self, void *mem,\n"
	        "\tuint64_t mem_size, const struct shml_port *port)\n{\n"
	        "\treturn shml_region_attach_prevalidated(r, &%s, %s_HASH, self, mem, mem_size, "
	        "port);\n}\n",
	        prefix, prefix, up);
	fprintf(f, "\n#endif /* %s_H */\n", up);
	free(chowners);
	return CLI_OK;
}

/* ---- Xen device tree ---------------------------------------------------------------------- */

/* A number as @cells 32-bit cells: "0x0 0xb0000000". */
static const char *cells(uint64_t v, uint32_t n, char *buf, size_t len)
{
	if (n == 2)
		snprintf(buf, len, "0x%llx 0x%llx", (unsigned long long)(v >> 32),
		         (unsigned long long)(v & 0xffffffffu));
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)v);
	return buf;
}

static const char *shm_id(const struct cli_config *c)
{
	return c->xen_shm_id ? c->xen_shm_id : "shmlink";
}

static int xen_owner(const struct cli_config *c)
{
	if (c->xen_owner >= 0)
		return c->xen_owner;
	for (uint32_t d = 0; d < c->n_domains; d++)
		if (cli_is_xen_domu(c, d))
			return (int)d;
	return -1;
}

static void xen_domu_props(FILE *f, const char *ind)
{
	fprintf(f, "%s/* shmlink: static event channels need a domU without xenstore. */\n", ind);
	fprintf(f, "%sxen,enhanced = \"no-xenstore\";\n", ind);
}

static void xen_domu_nodes(FILE *f, const struct cli_config *c, uint32_t d, const char *ind)
{
	char h[48], g[48], s[48];
	int static_shm = c->xen_shm == CLI_XEN_STATIC;
	if (static_shm) {
		fprintf(f, "\n%s/* The region, for Xen built with CONFIG_STATIC_SHM. */\n", ind);
		fprintf(f, "%sshmlink-shm {\n", ind);
		fprintf(f, "%s\tcompatible = \"xen,domain-shared-memory-v1\";\n", ind);
		fprintf(f, "%s\trole = \"%s\";\n", ind,
		        (int)d == xen_owner(c) ? "owner" : "borrower");
		fprintf(f, "%s\txen,shm-id = \"%s\";\n", ind, shm_id(c));
		fprintf(f, "%s\t/* host physical address, guest address, size */\n", ind);
		fprintf(f, "%s\txen,shared-mem = <%s %s %s>;\n", ind,
		        cells(c->xen_host_address, c->xen_address_cells, h, sizeof(h)),
		        cells(c->xen_guest_address, c->xen_address_cells, g, sizeof(g)),
		        cells(c->region_size, c->xen_size_cells, s, sizeof(s)));
		fprintf(f, "%s};\n", ind);
	}
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		int side;
		uint32_t port;
		if (ch->a != d && ch->b != d)
			continue;
		if (!cli_is_xen_domu(c, ch->a) || !cli_is_xen_domu(c, ch->b))
			continue;
		side = ch->b == d;
		port = side ? c->xen_evtchn[i].port_b : c->xen_evtchn[i].port_a;
		fprintf(f, "\n%s/* channel %s: %s's end (side %c); the peer is %s */\n", ind,
		        ch->name, c->domains[d].name, side ? 'B' : 'A',
		        c->domains[side ? ch->a : ch->b].name);
		fprintf(f, "%sshmlink_c%u_%c: evtchn-%s {\n", ind, i, side ? 'b' : 'a', ch->name);
		fprintf(f, "%s\tcompatible = \"xen,evtchn-v1\";\n", ind);
		fprintf(f, "%s\t/* local port, then the peer's event channel node */\n", ind);
		fprintf(f, "%s\txen,evtchn = <%u &shmlink_c%u_%c>;\n", ind, port, i,
		        side ? 'a' : 'b');
		fprintf(f, "%s};\n", ind);
	}
}

static void xen_reserved(FILE *f, const struct cli_config *c, const char *ind)
{
	char a[48], s[48];
	fprintf(f, "%s/* The region, carved out of RAM so that Xen gives it to nobody. */\n", ind);
	fprintf(f, "%sreserved-memory {\n", ind);
	fprintf(f, "%s\t#address-cells = <2>;\n%s\t#size-cells = <2>;\n%s\tranges;\n\n", ind, ind,
	        ind);
	fprintf(f, "%s\tshmlink@%llx {\n", ind, (unsigned long long)c->xen_host_address);
	fprintf(f, "%s\t\treg = <%s %s>;\n", ind, cells(c->xen_host_address, 2, a, sizeof(a)),
	        cells(c->region_size, 2, s, sizeof(s)));
	fprintf(f, "%s\t\tno-map;\n%s\t};\n%s};\n", ind, ind, ind);
}

static void xen_header_comment(FILE *f, const struct cli_config *c, const char *what)
{
	char h[32];
	fprintf(f, "/*\n * %s\n * Generated by shmlink %s from %s (config hash 0x%016llx).\n", what,
	        SHMLINK_VERSION, c->file, (unsigned long long)c->hash);
	fprintf(f, " * Region: host 0x%llx, guest 0x%llx, %s; shm = %s.\n",
	        (unsigned long long)c->xen_host_address, (unsigned long long)c->xen_guest_address,
	        cli_human(c->region_size, h, sizeof(h)),
	        c->xen_shm == CLI_XEN_STATIC ? "static" : "passthrough");
}

static int gen_xen_host(FILE *f, const struct cli_config *c, int fragment)
{
	char buf[48];
	int passthrough = c->xen_shm == CLI_XEN_PASSTHROUGH;
	xen_header_comment(f, c,
	                   fragment ? "shmlink nodes for the Xen host device tree: append "
	                              "to your dts (dtc merges them)."
	                            : "Xen dom0less host device tree for shmlink.");
	if (passthrough)
		fprintf(f,
		        " * shm = passthrough (Xen without CONFIG_STATIC_SHM): the region is\n"
		        " * reserved below and each domU maps it through its partial device tree:\n"
		        " *   shmlink gen xen-dt %s --guest DOMAIN\n",
		        c->file);
	else
		fprintf(f,
		        " * shm = static (Xen with CONFIG_STATIC_SHM): Xen takes the region from\n"
		        " * RAM and writes each domU's /reserved-memory/xen-shmem node itself.\n"
		        " * Do not also reserve the range in /reserved-memory: Xen rejects the\n"
		        " * overlap.\n");
	if (c->xen_shm == CLI_XEN_STATIC)
		fprintf(f,
		        " * xen,shared-mem is encoded for #address-cells = <%u> and\n"
		        " * #size-cells = <%u> in the domU nodes ([xen] address_cells, "
		        "size_cells).\n",
		        c->xen_address_cells, c->xen_size_cells);
	fprintf(f, " * Static event channel ports are not in the guests' device trees: tell\n"
	           " * each domain its ports (shmlink gen header writes them as _EVTCHN_A/_B).\n");
	if (!fragment)
		fprintf(f,
		        " * The domU nodes' other properties are placeholders, so that this file\n"
		        " * compiles alone; --fragment gives only the shmlink nodes.\n");
	fprintf(f, " */\n");
	if (!fragment)
		fprintf(f, "/dts-v1/;\n\n");
	fprintf(f, "/ {\n");
	if (!fragment)
		fprintf(f, "\t#address-cells = <2>;\n\t#size-cells = <2>;\n\n");
	if (passthrough) {
		xen_reserved(f, c, "\t");
		fprintf(f, "\n");
	}
	fprintf(f, "\tchosen {\n");
	for (uint32_t d = 0, n = 0; d < c->n_domains; d++) {
		if (!cli_is_xen_domu(c, d))
			continue;
		fprintf(f, "\n\t\t/* domain %s (id %u) */\n", c->domains[d].name, c->domains[d].id);
		fprintf(f, "\t\tdomU%u {\n", c->domains[d].id);
		if (!fragment) {
			fprintf(f, "\t\t\tcompatible = \"xen,domain\";\n");
			fprintf(f, "\t\t\t#address-cells = <%u>;\n\t\t\t#size-cells = <%u>;\n",
			        c->xen_address_cells, c->xen_size_cells);
			fprintf(f, "\t\t\tmemory = <0x0 0x40000>; /* placeholder: KiB of RAM */\n");
			fprintf(f, "\t\t\tcpus = <1>; /* placeholder */\n");
			fprintf(f, "\t\t\tvpl011;\n");
		}
		xen_domu_props(f, "\t\t\t");
		if (!fragment) {
			fprintf(f, "\n\t\t\tmodule@%x {\n", 0x50000000u + 0x08000000u * n);
			fprintf(f, "\t\t\t\tcompatible = \"multiboot,kernel\", "
			           "\"multiboot,module\";\n");
			fprintf(f, "\t\t\t\treg = <%s ",
			        cells(0x50000000u + 0x08000000ull * n, c->xen_address_cells, buf,
			              sizeof(buf)));
			fprintf(f, "%s>; /* placeholder */\n\t\t\t};\n",
			        cells(0x2000000, c->xen_size_cells, buf, sizeof(buf)));
			n++;
		}
		xen_domu_nodes(f, c, d, "\t\t\t");
		fprintf(f, "\t\t};\n");
	}
	fprintf(f, "\t};\n};\n");
	return CLI_OK;
}

static int gen_xen_guest(FILE *f, const struct cli_config *c, uint32_t d, int fragment)
{
	char g[48], s[48], h[48], what[160];
	snprintf(what, sizeof(what),
	         "Partial device tree of domU '%s' (its multiboot,device-tree module)%s",
	         c->domains[d].name, fragment ? ": append to yours (dtc merges it)." : ".");
	xen_header_comment(f, c, what);
	fprintf(f,
	        " * Xen maps the region into the domU at the guest address (xen,reg) as\n"
	        " * Device memory: use only naturally aligned accesses. Linux finds it as\n"
	        " * /proc/device-tree/passthrough/shmlink@%llx (xen,id = \"%s\").\n */\n",
	        (unsigned long long)c->xen_guest_address, shm_id(c));
	if (!fragment)
		fprintf(f, "/dts-v1/;\n\n");
	fprintf(f, "/ {\n");
	if (!fragment)
		fprintf(f, "\t#address-cells = <2>;\n\t#size-cells = <2>;\n\n");
	fprintf(f, "\tpassthrough {\n\t\tcompatible = \"simple-bus\";\n\t\tranges;\n");
	fprintf(f, "\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n\n");
	fprintf(f, "\t\tshmlink@%llx {\n", (unsigned long long)c->xen_guest_address);
	fprintf(f, "\t\t\tcompatible = \"xen,shared-memory-v1\";\n");
	fprintf(f, "\t\t\txen,id = \"%s\";\n", shm_id(c));
	fprintf(f, "\t\t\treg = <%s %s>;\n", cells(c->xen_guest_address, 2, g, sizeof(g)),
	        cells(c->region_size, 2, s, sizeof(s)));
	fprintf(f, "\t\t\t/* host physical address, size, guest address */\n");
	fprintf(f, "\t\t\txen,reg = <%s %s %s>;\n", cells(c->xen_host_address, 2, h, sizeof(h)), s,
	        g);
	fprintf(f, "\t\t\txen,force-assign-without-iommu;\n\t\t};\n\t};\n};\n");
	return CLI_OK;
}

/* ---- QEMU ---------------------------------------------------------------------------------- */

/* QEMU option values escape ',' as ",,". */
static void qemu_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			fputc(',', f);
		fputc(*s, f);
	}
}

static int gen_qemu(FILE *f, const struct cli_config *c, int only, int doorbell)
{
	const char *id = c->qemu_id ? c->qemu_id : "shmlink";
	const char *path = c->qemu_mem_path ? c->qemu_mem_path : c->host_path;
	uint64_t size = cli_qemu_size(c);
	uint32_t vectors = c->qemu_vectors ? c->qemu_vectors : c->n_channels;
	char b[32], h[32];
	if (size < c->region_size) {
		cli_err_at(c->file, c->qemu_size_line,
		           "[qemu] size = %s is smaller than the region (%s): QEMU would map only "
		           "part of it",
		           cli_size_str(size, b, sizeof(b)),
		           cli_size_str(c->region_size, h, sizeof(h)));
		return CLI_USAGE;
	}
	if (!doorbell && !path) {
		cli_err_at(
		        c->file, c->qemu_line ? c->qemu_line : c->host_line,
		        "no file to share: add [qemu] mem_path = /dev/shm/NAME (or [host] path)");
		return CLI_USAGE;
	}
	if (doorbell && !c->qemu_server) {
		cli_err_at(
		        c->file, c->qemu_line,
		        "--doorbell needs the ivshmem server's socket: add [qemu] server = PATH");
		return CLI_USAGE;
	}
	if (only < 0) {
		fprintf(f, "# QEMU options for shmlink config %s (config hash 0x%016llx).\n",
		        c->file, (unsigned long long)c->hash);
		if (doorbell) {
			fprintf(f,
			        "# ivshmem-doorbell: the region and the doorbells come from the "
			        "ivshmem\n"
			        "# server on %s, which must be listening before QEMU starts and\n"
			        "# share a %s file. The guest sees the region in BAR2 and rings a\n"
			        "# peer by writing (peer_id << 16) | vector to BAR0 + 0x0c; "
			        "channel i\n"
			        "# uses vector i.\n",
			        c->qemu_server, cli_human(size, h, sizeof(h)));
		} else {
			fprintf(f,
			        "# ivshmem-plain: every guest maps %s (%s; run\n"
			        "# 'shmlink init %s' first so the file has that size). The guest\n"
			        "# sees the region in BAR2 and polls; host processes attach to the "
			        "same\n"
			        "# file with shmlink send/recv/cat.\n",
			        path, cli_human(size, h, sizeof(h)), c->file);
		}
	}
	for (uint32_t d = 0; d < c->n_domains; d++) {
		const char *sep = only >= 0 ? "\n" : " \\\n";
		if (only >= 0 ? (uint32_t)only != d : !cli_is_qemu_guest(c, d))
			continue;
		if (only < 0)
			fprintf(f, "\n# domain %s (id %u):\n", c->domains[d].name,
			        c->domains[d].id);
		if (doorbell) {
			fprintf(f, "-chardev socket,path=");
			qemu_value(f, c->qemu_server);
			fprintf(f, ",id=%s-chr%s", id, sep);
			fprintf(f, "-device ivshmem-doorbell,chardev=%s-chr,vectors=%u,id=%s\n", id,
			        vectors, id);
		} else {
			fprintf(f, "-object memory-backend-file,id=%s-mem,share=on,mem-path=", id);
			qemu_value(f, path);
			fprintf(f, ",size=%s%s", cli_size_str(size, b, sizeof(b)), sep);
			fprintf(f, "-device ivshmem-plain,memdev=%s-mem,id=%s\n", id, id);
		}
	}
	return CLI_OK;
}

/* ---- the command ------------------------------------------------------------------------------
 */

int cmd_gen(int argc, char **argv)
{
	static const struct option opts[] = { { "prefix", required_argument, NULL, 'p' },
		                              { "guest", required_argument, NULL, 'g' },
		                              { "fragment", no_argument, NULL, 'f' },
		                              { "domain", required_argument, NULL, 'd' },
		                              { "doorbell", no_argument, NULL, 'b' },
		                              { "output", required_argument, NULL, 'o' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	const char *prefix = "shml_cfg", *guest = NULL, *domain = NULL, *output = NULL, *kind;
	int fragment = 0, doorbell = 0, o, rc;
	struct cli_config c;
	FILE *f = stdout;
	if (argc >= 2 && cli_is_help(argv[1])) {
		fputs(help, stdout);
		return CLI_OK;
	}
	if (argc < 2)
		return cli_usage_error("gen", "say what to generate: header, xen-dt or qemu");
	kind = argv[1];
	argc--;
	argv++;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(help, stdout);
			return CLI_OK;
		case 'p':
			prefix = optarg;
			break;
		case 'g':
			guest = optarg;
			break;
		case 'f':
			fragment = 1;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'b':
			doorbell = 1;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			return cli_bad_option("gen", argv);
		}
	}
	if (strcmp(kind, "header") && strcmp(kind, "xen-dt") && strcmp(kind, "qemu"))
		return cli_usage_error("gen", "unknown generator '%s': use header, xen-dt or qemu",
		                       kind);
	if (argc - optind != 1)
		return cli_usage_error("gen",
		                       argc - optind ? "too many arguments" : "no CONFIG given");
	if (strcmp(kind, "header") && strcmp(prefix, "shml_cfg"))
		return cli_usage_error("gen", "--prefix applies to gen header only");
	if (strcmp(kind, "xen-dt") && (guest || fragment))
		return cli_usage_error("gen", "--guest and --fragment apply to gen xen-dt only");
	if (strcmp(kind, "qemu") && (domain || doorbell))
		return cli_usage_error("gen", "--domain and --doorbell apply to gen qemu only");
	if (!valid_c_identifier(prefix))
		return cli_usage_error("gen", "--prefix %s: not a C identifier", prefix);
	if (cli_config_load(&c, argv[optind]) != 0)
		return CLI_USAGE;
	rc = CLI_OK;
	if (strcmp(kind, "xen-dt") == 0) {
		if (cli_xen_resolve(&c) != 0)
			rc = CLI_USAGE;
		else if (guest) {
			int d = shml_find_domain(&c.cfg, guest);
			if (d < 0 || !cli_is_xen_domu(&c, (uint32_t)d))
				rc = cli_usage_error("gen", "--guest %s: not a domU of %s", guest,
				                     c.file);
			else if (c.xen_shm == CLI_XEN_STATIC) {
				cli_err_at(c.file, c.xen_shm_line,
				           "with [xen] shm = static, Xen writes the domU's node "
				           "itself: "
				           "there is no partial device tree to generate");
				rc = CLI_USAGE;
			}
		}
	}
	if (strcmp(kind, "qemu") == 0 && domain) {
		int d = shml_find_domain(&c.cfg, domain);
		if (d < 0)
			rc = cli_usage_error("gen", "--domain %s: no such domain in %s", domain,
			                     c.file);
	}
	if (rc == CLI_OK && output) {
		f = fopen(output, "w");
		if (!f) {
			cli_err("%s: %s", output, strerror(errno));
			rc = CLI_FAIL;
		}
	}
	if (rc == CLI_OK) {
		if (strcmp(kind, "header") == 0)
			rc = gen_header(f, &c, prefix);
		else if (strcmp(kind, "xen-dt") == 0)
			rc = guest ? gen_xen_guest(f, &c, (uint32_t)shml_find_domain(&c.cfg, guest),
			                           fragment)
			           : gen_xen_host(f, &c, fragment);
		else
			rc = gen_qemu(f, &c, domain ? shml_find_domain(&c.cfg, domain) : -1,
			              doorbell);
	}
	if (f != stdout && f) {
		if (fclose(f) != 0 && rc == CLI_OK) {
			cli_err("%s: %s", output, strerror(errno));
			rc = CLI_FAIL;
		}
		if (rc != CLI_OK)
			remove(output);
	} else if (fflush(stdout) != 0 && rc == CLI_OK) {
		cli_err("stdout: %s", strerror(errno));
		rc = CLI_FAIL;
	}
	cli_config_free(&c);
	return rc;
}
