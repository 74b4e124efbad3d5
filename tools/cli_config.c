/* SPDX-License-Identifier: MIT */
/*
 * The static configuration file (INI), parsed by libinih.
 *
 * libinih reports key = value pairs with their section, but neither line
 * numbers nor sections without keys. So the file is fed to ini_parse_stream()
 * through a reader that counts lines, and after every line libinih will take
 * for a section header ('[' after blanks) it hands libinih one more line of
 * its own, "\x01=LINE": libinih parses that as a key of the new section, so the
 * handler learns of every section (even an empty one) with its line, and
 * libinih alone decides what a section name, key and value are.
 *
 * Errors stop at the first one and name FILE:LINE and what to fix. The
 * core's shml_config_check() has the last word on the values; its error is
 * mapped back to the line of the offending key or section.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#define MARKER_KEY "\x01"

enum sec_kind { SEC_REGION, SEC_DOMAIN, SEC_CHANNEL, SEC_HOST, SEC_QEMU, SEC_XEN, SEC_COUNT };

static const char *const sec_names[SEC_COUNT] = { "region", "domain", "channel",
	                                          "host",   "qemu",   "xen" };

/* Keys each kind of section takes ("evtchn." is a prefix: evtchn.CHANNEL). */
static const char *const sec_keys[SEC_COUNT][12] = {
	[SEC_REGION] = { "size", "cacheline" },
	[SEC_DOMAIN] = { "id" },
	[SEC_CHANNEL] = { "a", "b", "mode", "ring", "ring_ab", "ring_ba", "max_message" },
	[SEC_HOST] = { "path", "domain", "port" },
	[SEC_QEMU] = { "mem_path", "size", "id", "guests", "server", "vectors", "ids", "pci",
	               "guest_mode" },
	[SEC_XEN] = { "shm", "host_address", "guest_address", "shm_id", "owner", "domains",
	              "evtchn_base", "evtchn.", "address_cells", "size_cells" },
};

struct entry {
	char *key, *value;
	int line;
};

struct section {
	enum sec_kind kind;
	char name[CLI_NAME_MAX];
	int line;
	struct entry *entries;
	int n_entries, cap_entries;
};

struct parse {
	struct cli_config *c;
	FILE *f;
	int line;        /* real lines read so far */
	int marker_line; /* a header was just read: hand libinih the marker next */
	int expect_marker;
	int too_long; /* line number of a line longer than libinih's buffer */
	char *buf;
	size_t cap;
	int failed; /* an error was printed */
	struct section *secs;
	int n_secs, cap_secs;
};

static void perr(struct parse *p, int line, const char *fmt, ...) CLI_PRINTF(3, 4);

static void perr(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	if (p->failed)
		return;
	p->failed = 1;
	if (line > 0)
		fprintf(stderr, "shmlink: %s:%d: ", p->c->file, line);
	else
		fprintf(stderr, "shmlink: %s: ", p->c->file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xrealloc(void *ptr, size_t n)
{
	void *q = realloc(ptr, n);
	if (!q) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	return d;
}

/* ---- the reader: counts lines, spots headers, injects markers ------------------- */

static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;
	const char *s;
	if (p->marker_line) {
		snprintf(str, (size_t)num, MARKER_KEY "=%d\n", p->marker_line);
		p->marker_line = 0;
		p->expect_marker = 1;
		return str;
	}
	n = getline(&p->buf, &p->cap, p->f);
	if (n < 0)
		return NULL;
	p->line++;
	if (n + 1 > num) {
		p->too_long = p->line;
		return NULL; /* ends the parse; reported by the caller */
	}
	memcpy(str, p->buf, (size_t)n + 1);
	s = str;
	if (p->line == 1 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
	    (unsigned char)s[2] == 0xbf)
		s += 3; /* UTF-8 byte order mark */
	while (*s && isspace((unsigned char)*s))
		s++;
	if (*s == '[')
		p->marker_line = p->line;
	return str;
}

/* ---- the handler: collects sections and entries ----------------------------------- */

static int valid_name_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '-';
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

static int new_section(struct parse *p, const char *header, int line)
{
	char buf[256], *name;
	struct section *sec;
	int kind;
	snprintf(buf, sizeof(buf), "%s", header);
	trim(buf);
	name = buf;
	while (*name && !isspace((unsigned char)*name))
		name++;
	if (*name) {
		*name++ = '\0';
		trim(name);
	}
	for (kind = 0; kind < SEC_COUNT; kind++)
		if (strcmp(buf, sec_names[kind]) == 0)
			break;
	if (kind == SEC_COUNT) {
		perr(p, line,
		     "unknown section [%s]: expected [region], [domain NAME], [channel NAME], "
		     "[host], [qemu] or [xen]",
		     header);
		return 0;
	}
	if (kind == SEC_DOMAIN || kind == SEC_CHANNEL) {
		if (!*name) {
			perr(p, line, "a [%s] section needs a name: [%s NAME]", buf, buf);
			return 0;
		}
		if (strlen(name) > SHML_MAX_NAME) {
			perr(p, line, "%s name '%s' is too long: %zu bytes, at most %u", buf, name,
			     strlen(name), SHML_MAX_NAME);
			return 0;
		}
		for (const char *q = name; *q; q++)
			if (!valid_name_char((unsigned char)*q)) {
				perr(p, line,
				     "%s name '%s' may use only letters, digits, '_' and '-'", buf,
				     name);
				return 0;
			}
	} else if (*name) {
		perr(p, line, "[%s] takes no name: write [%s]", buf, buf);
		return 0;
	}
	for (int i = 0; i < p->n_secs; i++)
		if (p->secs[i].kind == (enum sec_kind)kind && strcmp(p->secs[i].name, name) == 0) {
			if (*name)
				perr(p, line,
				     "duplicate section [%s %s] (first at line %d): rename one",
				     buf, name, p->secs[i].line);
			else
				perr(p, line,
				     "duplicate section [%s] (first at line %d): merge the two",
				     buf, p->secs[i].line);
			return 0;
		}
	if (p->n_secs == p->cap_secs) {
		p->cap_secs = p->cap_secs ? 2 * p->cap_secs : 16;
		p->secs = xrealloc(p->secs, (size_t)p->cap_secs * sizeof(*p->secs));
	}
	sec = &p->secs[p->n_secs++];
	memset(sec, 0, sizeof(*sec));
	sec->kind = (enum sec_kind)kind;
	snprintf(sec->name, sizeof(sec->name), "%s", name);
	sec->line = line;
	return 1;
}

static int key_known(enum sec_kind kind, const char *key)
{
	for (int i = 0; sec_keys[kind][i]; i++) {
		const char *k = sec_keys[kind][i];
		size_t n = strlen(k);
		if (k[n - 1] == '.' ? strncmp(key, k, n) == 0 && key[n] : strcmp(key, k) == 0)
			return 1;
	}
	return 0;
}

static void known_keys(enum sec_kind kind, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; sec_keys[kind][i] && o < len; i++) {
		const char *k = sec_keys[kind][i];
		size_t n = strlen(k);
		o += (size_t)snprintf(buf + o, len - o, "%s%s%s", i ? ", " : "", k,
		                      k[n - 1] == '.' ? "CHANNEL" : "");
	}
}

static const char *sec_label(const struct section *s, char *buf, size_t len)
{
	if (s->name[0])
		snprintf(buf, len, "[%s %s]", sec_names[s->kind], s->name);
	else
		snprintf(buf, len, "[%s]", sec_names[s->kind]);
	return buf;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct section *sec;
	char label[80];
	if (p->failed)
		return 0;
	if (p->expect_marker && strcmp(name, MARKER_KEY) == 0) {
		p->expect_marker = 0;
		return new_section(p, section, atoi(value));
	}
	p->expect_marker = 0;
	if (p->n_secs == 0) {
		perr(p, p->line,
		     "'%s' is outside any section: put it under [region], [domain NAME], ...",
		     name);
		return 0;
	}
	sec = &p->secs[p->n_secs - 1];
	if (!key_known(sec->kind, name)) {
		char keys[200];
		known_keys(sec->kind, keys, sizeof(keys));
		perr(p, p->line, "unknown key '%s' in %s (known keys: %s)", name,
		     sec_label(sec, label, sizeof(label)), keys);
		return 0;
	}
	for (int i = 0; i < sec->n_entries; i++)
		if (strcmp(sec->entries[i].key, name) == 0) {
			perr(p, p->line, "duplicate key '%s' in %s (first at line %d): keep one",
			     name, sec_label(sec, label, sizeof(label)), sec->entries[i].line);
			return 0;
		}
	if (sec->n_entries == sec->cap_entries) {
		sec->cap_entries = sec->cap_entries ? 2 * sec->cap_entries : 8;
		sec->entries =
		        xrealloc(sec->entries, (size_t)sec->cap_entries * sizeof(*sec->entries));
	}
	sec->entries[sec->n_entries].key = xstrdup(name);
	sec->entries[sec->n_entries].value = xstrdup(value);
	sec->entries[sec->n_entries].line = p->line;
	sec->n_entries++;
	return 1;
}

/* ---- interpreting the sections ---------------------------------------------------------- */

static struct entry *get(struct section *s, const char *key)
{
	for (int i = 0; i < s->n_entries; i++)
		if (strcmp(s->entries[i].key, key) == 0)
			return &s->entries[i];
	return NULL;
}

static int want_size(struct parse *p, struct section *s, struct entry *e, uint64_t max,
                     uint64_t *out)
{
	char label[80], b[32];
	if (cli_parse_size(e->value, out) != 0) {
		perr(p, e->line,
		     "%s %s = %s: not a size: write a number with an optional K, M or G suffix "
		     "(powers of 1024), e.g. 64K",
		     sec_label(s, label, sizeof(label)), e->key, e->value);
		return 0;
	}
	if (*out > max) {
		perr(p, e->line, "%s %s = %s: too large, at most %s",
		     sec_label(s, label, sizeof(label)), e->key, e->value,
		     cli_size_str(max, b, sizeof(b)));
		return 0;
	}
	return 1;
}

static int want_uint(struct parse *p, struct section *s, struct entry *e, uint64_t max,
                     uint64_t *out)
{
	char label[80];
	if (cli_parse_uint(e->value, max, out) != 0) {
		perr(p, e->line, "%s %s = %s: not a number from 0 to %llu",
		     sec_label(s, label, sizeof(label)), e->key, e->value, (unsigned long long)max);
		return 0;
	}
	return 1;
}

static int find_domain(const struct cli_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_domains; i++)
		if (strcmp(c->domains[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void domain_list(const struct cli_config *c, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < c->n_domains && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", c->domains[i].name);
}

/* A domain named by a value; -1 with a message if none. */
static int want_domain(struct parse *p, struct section *s, struct entry *e, const char *name)
{
	char label[80], names[400];
	int d = find_domain(p->c, name);
	if (d < 0) {
		domain_list(p->c, names, sizeof(names));
		perr(p, e->line, "%s %s = %s: no domain is named '%s' (domains: %s)",
		     sec_label(s, label, sizeof(label)), e->key, e->value, name, names);
	}
	return d;
}

/* A list of domain names separated by blanks or commas. */
static int want_domains(struct parse *p, struct section *s, struct entry *e, int *out, uint32_t *n)
{
	char *copy = xstrdup(e->value), *save = NULL, label[80];
	*n = 0;
	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		int d = want_domain(p, s, e, t);
		if (d < 0)
			break;
		for (uint32_t i = 0; i < *n; i++)
			if (out[i] == d) {
				perr(p, e->line, "%s %s: '%s' is listed twice",
				     sec_label(s, label, sizeof(label)), e->key, t);
				d = -1;
			}
		if (d < 0)
			break;
		out[(*n)++] = d;
	}
	free(copy);
	if (!p->failed && *n == 0)
		perr(p, e->line, "%s %s is empty: list domain names, or remove the key",
		     sec_label(s, label, sizeof(label)), e->key);
	return !p->failed;
}

static int do_region(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct entry *e;
	uint64_t v;
	c->region_line = s->line;
	e = get(s, "size");
	if (!e) {
		perr(p, s->line, "[region] has no size: add size = ... (e.g. size = 1M)");
		return 0;
	}
	if (!want_size(p, s, e, UINT64_MAX, &v))
		return 0;
	c->region_size = v;
	c->size_line = e->line;
	c->cacheline = 64;
	if ((e = get(s, "cacheline"))) {
		if (!want_uint(p, s, e, UINT32_MAX, &v))
			return 0;
		c->cacheline = (uint32_t)v;
		c->cacheline_line = e->line;
	}
	return 1;
}

static int do_domain(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct cli_domain *d;
	struct entry *e;
	uint64_t v;
	if (c->n_domains == SHML_MAX_DOMAINS) {
		perr(p, s->line, "too many domains: a region has at most %u", SHML_MAX_DOMAINS);
		return 0;
	}
	d = &c->domains[c->n_domains];
	snprintf(d->name, sizeof(d->name), "%s", s->name);
	d->line = s->line;
	e = get(s, "id");
	if (!e) {
		perr(p, s->line, "[domain %s] has no id: add id = NUMBER (e.g. its Xen domid)",
		     s->name);
		return 0;
	}
	if (!want_uint(p, s, e, UINT32_MAX, &v))
		return 0;
	d->id = (uint32_t)v;
	d->id_line = e->line;
	c->n_domains++;
	return 1;
}

static int do_channel(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct cli_channel *ch;
	struct entry *e, *ring, *rab, *rba;
	uint64_t v;
	int d;
	if (c->n_channels == SHML_MAX_CHANNELS) {
		perr(p, s->line, "too many channels: a region has at most %u", SHML_MAX_CHANNELS);
		return 0;
	}
	ch = &c->channels[c->n_channels];
	snprintf(ch->name, sizeof(ch->name), "%s", s->name);
	ch->line = s->line;
	for (int side = 0; side < 2; side++) {
		const char *k = side ? "b" : "a";
		e = get(s, k);
		if (!e) {
			perr(p, s->line, "[channel %s] has no %s: add %s = DOMAIN (side %s)",
			     s->name, k, k, side ? "B" : "A");
			return 0;
		}
		d = want_domain(p, s, e, e->value);
		if (d < 0)
			return 0;
		if (side) {
			ch->b = (uint32_t)d;
			ch->b_line = e->line;
		} else {
			ch->a = (uint32_t)d;
			ch->a_line = e->line;
		}
	}
	ch->mode = SHML_MODE_MESSAGE;
	if ((e = get(s, "mode"))) {
		if (strcmp(e->value, "message") == 0)
			ch->mode = SHML_MODE_MESSAGE;
		else if (strcmp(e->value, "stream") == 0)
			ch->mode = SHML_MODE_STREAM;
		else {
			perr(p, e->line,
			     "[channel %s] mode = %s: write mode = message or mode = stream",
			     s->name, e->value);
			return 0;
		}
		ch->mode_line = e->line;
	}
	ring = get(s, "ring");
	rab = get(s, "ring_ab");
	rba = get(s, "ring_ba");
	if (ring && (rab || rba)) {
		perr(p, (rab ? rab : rba)->line,
		     "[channel %s]: give either ring (both directions) or ring_ab and ring_ba, "
		     "not both (ring is at line %d)",
		     s->name, ring->line);
		return 0;
	}
	if (!ring && (rab || rba) && !(rab && rba)) {
		perr(p, (rab ? rab : rba)->line,
		     "[channel %s] has %s but no %s: give both, or ring for both directions",
		     s->name, rab ? "ring_ab" : "ring_ba", rab ? "ring_ba" : "ring_ab");
		return 0;
	}
	if (!ring && !(rab && rba)) {
		perr(p, s->line,
		     "[channel %s] has no ring size: add ring = SIZE (e.g. ring = 64K), or ring_ab "
		     "and ring_ba",
		     s->name);
		return 0;
	}
	if (ring) {
		if (!want_size(p, s, ring, UINT32_MAX, &v))
			return 0;
		ch->ring_ab = ch->ring_ba = (uint32_t)v;
		ch->ring_line = ring->line;
	} else {
		if (!want_size(p, s, rab, UINT32_MAX, &v))
			return 0;
		ch->ring_ab = (uint32_t)v;
		ch->ring_ab_line = rab->line;
		if (!want_size(p, s, rba, UINT32_MAX, &v))
			return 0;
		ch->ring_ba = (uint32_t)v;
		ch->ring_ba_line = rba->line;
	}
	if ((e = get(s, "max_message"))) {
		if (!want_size(p, s, e, UINT32_MAX, &v))
			return 0;
		ch->max_message = (uint32_t)v;
		ch->max_message_line = e->line;
		if (ch->mode == SHML_MODE_STREAM) {
			perr(p, e->line,
			     "[channel %s] max_message applies to message channels only: remove it "
			     "or set mode = message",
			     s->name);
			return 0;
		}
	}
	c->n_channels++;
	return 1;
}

static int do_host(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct entry *e;
	c->host_line = s->line;
	if ((e = get(s, "path"))) {
		if (!*e->value) {
			perr(p, e->line,
			     "[host] path is empty: give the region file, e.g. "
			     "/dev/shm/shmlink-NAME");
			return 0;
		}
		c->host_path = xstrdup(e->value);
		c->host_path_line = e->line;
	}
	if ((e = get(s, "domain"))) {
		c->host_domain = want_domain(p, s, e, e->value);
		if (c->host_domain < 0)
			return 0;
		c->host_domain_line = e->line;
	}
	if ((e = get(s, "port"))) {
		c->host_port = cli_port_parse(e->value);
		if (c->host_port < 0) {
			perr(p, e->line,
			     "[host] port = %s: write file (the region file, default), ivshmem (a "
			     "host peer of the ivshmem server), ivshmem-guest (the ivshmem PCI "
			     "device in a Linux guest) or xen (a Linux dom0less domU)",
			     e->value);
			return 0;
		}
		c->host_port_line = e->line;
	}
	return 1;
}

static const char *const guest_modes[] = {
	[SHML_IVSHMEM_AUTO] = "auto", [SHML_IVSHMEM_VFIO] = "vfio", [SHML_IVSHMEM_SYSFS] = "sysfs"
};

/* [qemu] ids, pci and guest_mode: what the ivshmem ports need. */
static int do_qemu_port(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct entry *e;
	int n;
	if ((e = get(s, "ids"))) {
		n = shml_ivshmem_ids_parse(&c->qemu_ids, e->value);
		if (n < 0 || (uint32_t)n > c->n_domains) {
			perr(p, e->line,
			     "[qemu] ids = %s: write the ivshmem peer id of each domain in the "
			     "order of the [domain] sections, '-' for none, e.g. ids = 0,1 "
			     "(%u domains, ids 0 to %u)",
			     e->value, c->n_domains, SHML_IVSHMEM_MAX_ID);
			return 0;
		}
		c->qemu_ids_line = e->line;
	}
	if ((e = get(s, "pci"))) {
		if (!*e->value ||
		    strlen(e->value) >= sizeof(((struct shml_ivshmem_guest *)0)->bdf)) {
			perr(p, e->line,
			     "[qemu] pci = %s: give the ivshmem device's PCI address, e.g. "
			     "0000:00:03.0",
			     e->value);
			return 0;
		}
		c->qemu_pci = xstrdup(e->value);
		c->qemu_pci_line = e->line;
	}
	if ((e = get(s, "guest_mode"))) {
		for (n = 0; n < 3 && strcmp(e->value, guest_modes[n]); n++)
			;
		if (n == 3) {
			perr(p, e->line,
			     "[qemu] guest_mode = %s: write auto (default), vfio (doorbells, needs "
			     "an IOMMU) or sysfs (polling)",
			     e->value);
			return 0;
		}
		c->qemu_guest_mode = n;
		c->qemu_guest_mode_line = e->line;
	}
	return 1;
}

static int do_qemu(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct entry *e;
	uint64_t v;
	c->qemu_line = s->line;
	if ((e = get(s, "mem_path"))) {
		c->qemu_mem_path = xstrdup(e->value);
		c->qemu_mem_path_line = e->line;
	}
	if ((e = get(s, "size"))) {
		if (!want_size(p, s, e, UINT64_MAX, &v))
			return 0;
		if (!cli_is_pow2(v)) {
			char b[32];
			perr(p, e->line,
			     "[qemu] size = %s: an ivshmem BAR must be a power of two (e.g. %s)",
			     e->value, cli_size_str(cli_next_pow2(v), b, sizeof(b)));
			return 0;
		}
		c->qemu_size = v;
		c->qemu_size_line = e->line;
	}
	if ((e = get(s, "id"))) {
		for (const char *q = e->value; *q; q++)
			if (!valid_name_char((unsigned char)*q)) {
				perr(p, e->line,
				     "[qemu] id = %s: a QEMU id may use only letters, digits, '_' "
				     "and '-'",
				     e->value);
				return 0;
			}
		if (!isalpha((unsigned char)e->value[0])) {
			perr(p, e->line, "[qemu] id = %s: a QEMU id must start with a letter",
			     e->value);
			return 0;
		}
		c->qemu_id = xstrdup(e->value);
		c->qemu_id_line = e->line;
	}
	if ((e = get(s, "guests"))) {
		if (!want_domains(p, s, e, c->qemu_guests, &c->n_qemu_guests))
			return 0;
		c->qemu_guests_line = e->line;
	}
	if ((e = get(s, "server"))) {
		c->qemu_server = xstrdup(e->value);
		c->qemu_server_line = e->line;
	}
	if ((e = get(s, "vectors"))) {
		if (!want_uint(p, s, e, 1024, &v))
			return 0;
		if (v == 0) {
			perr(p, e->line, "[qemu] vectors = 0: a doorbell device needs at least 1");
			return 0;
		}
		c->qemu_vectors = (uint32_t)v;
		c->qemu_vectors_line = e->line;
	}
	return do_qemu_port(p, s);
}

static int do_xen(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	struct entry *e;
	uint64_t v;
	c->xen_line = s->line;
	if ((e = get(s, "shm"))) {
		if (strcmp(e->value, "passthrough") == 0)
			c->xen_shm = CLI_XEN_PASSTHROUGH;
		else if (strcmp(e->value, "static") == 0)
			c->xen_shm = CLI_XEN_STATIC;
		else {
			perr(p, e->line,
			     "[xen] shm = %s: write shm = passthrough (Xen without "
			     "CONFIG_STATIC_SHM) "
			     "or shm = static",
			     e->value);
			return 0;
		}
		c->xen_shm_line = e->line;
	}
	if ((e = get(s, "host_address"))) {
		if (!want_uint(p, s, e, UINT64_MAX, &v))
			return 0;
		c->xen_host_address = v;
		c->xen_host_address_line = e->line;
	}
	if ((e = get(s, "guest_address"))) {
		if (!want_uint(p, s, e, UINT64_MAX, &v))
			return 0;
		c->xen_guest_address = v;
		c->xen_guest_address_line = e->line;
	}
	if ((e = get(s, "shm_id"))) {
		size_t n = strlen(e->value);
		if (n == 0 || n > 15) {
			perr(p, e->line,
			     "[xen] shm_id = %s: Xen takes 1 to 15 characters (MAX_SHM_ID_LENGTH "
			     "16 "
			     "with the NUL)",
			     e->value);
			return 0;
		}
		for (const char *q = e->value; *q; q++)
			if (!valid_name_char((unsigned char)*q)) {
				perr(p, e->line,
				     "[xen] shm_id = %s: use only letters, digits, '_' and '-'",
				     e->value);
				return 0;
			}
		c->xen_shm_id = xstrdup(e->value);
		c->xen_shm_id_line = e->line;
	}
	if ((e = get(s, "owner"))) {
		c->xen_owner = want_domain(p, s, e, e->value);
		if (c->xen_owner < 0)
			return 0;
		c->xen_owner_line = e->line;
	}
	if ((e = get(s, "domains"))) {
		if (!want_domains(p, s, e, c->xen_domus, &c->n_xen_domus))
			return 0;
		c->xen_domus_line = e->line;
	}
	if ((e = get(s, "evtchn_base"))) {
		if (!want_uint(p, s, e, 1u << 17, &v))
			return 0;
		if (v == 0) {
			perr(p, e->line,
			     "[xen] evtchn_base = 0: port 0 is never valid; use 1 or more");
			return 0;
		}
		c->xen_evtchn_base = (uint32_t)v;
		c->xen_evtchn_base_line = e->line;
	}
	if ((e = get(s, "address_cells"))) {
		if (!want_uint(p, s, e, 2, &v) || v == 0) {
			if (!p->failed)
				perr(p, e->line, "[xen] address_cells = %s: write 1 or 2",
				     e->value);
			return 0;
		}
		c->xen_address_cells = (uint32_t)v;
		c->xen_address_cells_line = e->line;
	}
	if ((e = get(s, "size_cells"))) {
		if (!want_uint(p, s, e, 2, &v) || v == 0) {
			if (!p->failed)
				perr(p, e->line, "[xen] size_cells = %s: write 1 or 2", e->value);
			return 0;
		}
		c->xen_size_cells = (uint32_t)v;
		c->xen_size_cells_line = e->line;
	}
	return 1;
}

/* [xen] evtchn.CHANNEL = PORT_A PORT_B, checked once the channels are known. */
static int do_xen_evtchn(struct parse *p, struct section *s)
{
	struct cli_config *c = p->c;
	for (int i = 0; i < s->n_entries; i++) {
		struct entry *e = &s->entries[i];
		const char *chname;
		char extra;
		unsigned long pa, pb;
		int ch = -1;
		if (strncmp(e->key, "evtchn.", 7) != 0)
			continue;
		chname = e->key + 7;
		for (uint32_t k = 0; k < c->n_channels; k++)
			if (strcmp(c->channels[k].name, chname) == 0)
				ch = (int)k;
		if (ch < 0) {
			perr(p, e->line, "[xen] %s: no channel is named '%s'", e->key, chname);
			return 0;
		}
		if (sscanf(e->value, "%lu %lu %c", &pa, &pb, &extra) != 2 || pa == 0 || pb == 0 ||
		    pa > (1ul << 17) || pb > (1ul << 17)) {
			perr(p, e->line,
			     "[xen] %s = %s: write two event channel ports (1 to 131072): the one "
			     "in "
			     "side a's domain (%s), then the one in side b's (%s)",
			     e->key, e->value, c->domains[c->channels[ch].a].name,
			     c->domains[c->channels[ch].b].name);
			return 0;
		}
		c->xen_evtchn[ch].port_a = (uint32_t)pa;
		c->xen_evtchn[ch].port_b = (uint32_t)pb;
		c->xen_evtchn[ch].line = e->line;
	}
	return 1;
}

/* ---- the core's check, mapped back to lines ------------------------------------------------ */

static int channel_key_line(const struct cli_channel *ch, const char *field)
{
	if (strcmp(field, "a") == 0)
		return ch->a_line;
	if (strcmp(field, "b") == 0)
		return ch->b_line;
	if (strcmp(field, "mode") == 0)
		return ch->mode_line ? ch->mode_line : ch->line;
	if (strcmp(field, "ring_ab") == 0)
		return ch->ring_line ? ch->ring_line : ch->ring_ab_line;
	if (strcmp(field, "ring_ba") == 0)
		return ch->ring_line ? ch->ring_line : ch->ring_ba_line;
	if (strcmp(field, "max_message") == 0)
		return ch->max_message_line ? ch->max_message_line : ch->line;
	return ch->line;
}

static void pow2_hint(uint64_t v, char *buf, size_t len)
{
	char lo[32], hi[32];
	uint64_t up = cli_next_pow2(v);
	if (v == 0 || up / 2 < 64)
		snprintf(buf, len, "e.g. %s", cli_size_str(up < 64 ? 64 : up, hi, sizeof(hi)));
	else
		snprintf(buf, len, "e.g. %s or %s", cli_size_str(up / 2, lo, sizeof(lo)),
		         cli_size_str(up, hi, sizeof(hi)));
}

static void core_error(struct parse *p, const struct shml_config_error *err)
{
	struct cli_config *c = p->c;
	char a[32], b[32], hint[80];
	if (err->channel >= 0) {
		const struct cli_channel *ch = &c->channels[err->channel];
		int line = channel_key_line(ch, err->field);
		const char *key = err->field;
		if ((strcmp(key, "ring_ab") == 0 || strcmp(key, "ring_ba") == 0) && ch->ring_line)
			key = "ring";
		if (strcmp(err->what, "a ring size must be a power of two") == 0) {
			pow2_hint(err->value, hint, sizeof(hint));
			perr(p, line,
			     "[channel %s] %s = %s: a ring size must be a power of two (%s)",
			     ch->name, key, cli_size_str(err->value, a, sizeof(a)), hint);
		} else if (err->limit && strcmp(err->field, "max_message") == 0) {
			perr(p, line, "[channel %s] max_message = %llu: %s: at most %llu here",
			     ch->name, (unsigned long long)err->value, err->what,
			     (unsigned long long)err->limit);
		} else if (err->limit && strncmp(err->field, "ring", 4) == 0) {
			perr(p, line, "[channel %s] %s = %s: %s (limit %s)", ch->name, key,
			     cli_size_str(err->value, a, sizeof(a)), err->what,
			     cli_size_str(err->limit, b, sizeof(b)));
		} else if (strcmp(err->field, "a") == 0 || strcmp(err->field, "b") == 0) {
			perr(p, line, "[channel %s] %s = %s: %s", ch->name, key,
			     err->value < c->n_domains ? c->domains[err->value].name : "?",
			     err->what);
		} else {
			perr(p, line, "[channel %s] %s: %s", ch->name, key, err->what);
		}
	} else if (err->domain >= 0) {
		const struct cli_domain *d = &c->domains[err->domain];
		if (strcmp(err->field, "id") == 0) {
			const struct cli_domain *first = &c->domains[0];
			for (int i = 0; i < err->domain; i++)
				if (c->domains[i].id == d->id)
					first = &c->domains[i];
			perr(p, d->id_line,
			     "[domain %s] id = %u is also the id of domain '%s' (line %d): ids "
			     "must "
			     "be unique",
			     d->name, d->id, first->name, first->id_line);
		} else {
			perr(p, d->line, "[domain %s]: %s", d->name, err->what);
		}
	} else if (strcmp(err->field, "cacheline") == 0) {
		perr(p, c->cacheline_line ? c->cacheline_line : c->region_line,
		     "[region] cacheline = %u: write 64 or 128 (at least the largest cache line of "
		     "any domain)",
		     c->cacheline);
	} else if (strcmp(err->field, "region_size") == 0) {
		uint64_t need = err->limit, size = c->region_size;
		char h[32];
		perr(p, c->size_line,
		     "[region] size = %s is too small for its channels: they need %llu bytes "
		     "(%s), %llu more; raise size to at least %s or shrink the rings",
		     cli_size_str(size, a, sizeof(a)), (unsigned long long)need,
		     cli_human(need, h, sizeof(h)), (unsigned long long)(need - size),
		     cli_size_str((need + 1023) & ~1023ull, b, sizeof(b)));
	} else if (strcmp(err->field, "domains") == 0) {
		perr(p, c->n_domains ? c->domains[c->n_domains - 1].line : 0,
		     "%u domain%s configured: a region needs 2 to %u [domain NAME] sections",
		     c->n_domains, c->n_domains == 1 ? "" : "s", SHML_MAX_DOMAINS);
	} else if (strcmp(err->field, "channels") == 0) {
		perr(p, 0,
		     "no channel configured: add a [channel NAME] section with a, b and ring");
	} else {
		perr(p, c->region_line, "%s", err->what);
	}
}

/* ---- load -------------------------------------------------------------------------------------
 */

static void free_sections(struct parse *p)
{
	for (int i = 0; i < p->n_secs; i++) {
		for (int j = 0; j < p->secs[i].n_entries; j++) {
			free(p->secs[i].entries[j].key);
			free(p->secs[i].entries[j].value);
		}
		free(p->secs[i].entries);
	}
	free(p->secs);
	free(p->buf);
}

static int interpret(struct parse *p)
{
	struct section *region = NULL, *xen = NULL;
	/* [region] and the domains first: channels name domains, wherever they are. */
	for (int i = 0; i < p->n_secs && !p->failed; i++) {
		struct section *s = &p->secs[i];
		if (s->kind == SEC_REGION) {
			region = s;
			do_region(p, s);
		} else if (s->kind == SEC_DOMAIN) {
			do_domain(p, s);
		}
	}
	if (p->failed)
		return 0;
	if (!region) {
		perr(p, 0, "no [region] section: add [region] with size = ... (e.g. size = 1M)");
		return 0;
	}
	for (int i = 0; i < p->n_secs && !p->failed; i++) {
		struct section *s = &p->secs[i];
		if (s->kind == SEC_CHANNEL)
			do_channel(p, s);
		else if (s->kind == SEC_HOST)
			do_host(p, s);
		else if (s->kind == SEC_QEMU)
			do_qemu(p, s);
		else if (s->kind == SEC_XEN) {
			xen = s;
			do_xen(p, s);
		}
	}
	if (p->failed)
		return 0;
	/*
	 * Two channels may join the same pair of domains (e.g. control and
	 * data): each channel has its own control lines, doorbell words and
	 * notification (futex word, ivshmem vector, Xen event channel), so
	 * nothing is shared between them but the region.
	 */
	if (xen && !do_xen_evtchn(p, xen))
		return 0;
	return 1;
}

int cli_config_load(struct cli_config *c, const char *file)
{
	struct parse p;
	struct shml_config_error err;
	int rc;
	memset(c, 0, sizeof(*c));
	memset(&p, 0, sizeof(p));
	c->file = file;
	c->host_domain = -1;
	c->xen_owner = -1;
	/* No [qemu] ids: the ivshmem ports read each peer's id from its record in the region. */
	shml_ivshmem_ids_clear(&c->qemu_ids);
	c->xen_evtchn_base = 10;
	c->xen_address_cells = 2;
	c->xen_size_cells = 2;
	c->channels = calloc(SHML_MAX_CHANNELS, sizeof(*c->channels));
	c->ccfg = calloc(SHML_MAX_CHANNELS, sizeof(*c->ccfg));
	c->xen_evtchn = calloc(SHML_MAX_CHANNELS, sizeof(*c->xen_evtchn));
	if (!c->channels || !c->ccfg || !c->xen_evtchn) {
		cli_err("out of memory");
		exit(CLI_FAIL);
	}
	p.c = c;
	p.f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (!p.f) {
		cli_err("%s: cannot open the config: %s", file, strerror(errno));
		return -1;
	}
	ini_allow_multiline = false; /* an indented line is an error, not a continuation */
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	rc = ini_parse_stream(reader, &p, handler, &p);
	if (p.f != stdin)
		fclose(p.f);
	if (!p.failed && p.too_long)
		perr(&p, p.too_long, "line too long: at most %d characters", ini_max_line - 2);
	else if (!p.failed && rc == -2)
		perr(&p, 0, "out of memory while parsing");
	else if (!p.failed && rc != 0 && p.marker_line)
		perr(&p, p.line,
		     "a section header needs a closing ']': [region], [domain NAME], ...");
	else if (!p.failed && rc != 0)
		perr(&p, p.line,
		     "cannot parse this line: expected [section], key = value, or a comment "
		     "(; or #)");
	if (!p.failed)
		interpret(&p);
	free_sections(&p);
	if (p.failed)
		return -1;

	for (uint32_t i = 0; i < c->n_domains; i++)
		c->dcfg[i] = (struct shml_domain_cfg){ .name = c->domains[i].name,
			                               .id = c->domains[i].id };
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		c->ccfg[i] = (struct shml_channel_cfg){ .name = ch->name,
			                                .a = ch->a,
			                                .b = ch->b,
			                                .mode = ch->mode,
			                                .ring_ab = ch->ring_ab,
			                                .ring_ba = ch->ring_ba,
			                                .max_message = ch->max_message };
	}
	c->cfg = (struct shml_config){ .region_size = c->region_size,
		                       .cacheline = c->cacheline,
		                       .n_domains = c->n_domains,
		                       .domains = c->dcfg,
		                       .n_channels = c->n_channels,
		                       .channels = c->ccfg };
	if (shml_config_check(&c->cfg, &err) != 0) {
		core_error(&p, &err);
		return -1;
	}
	c->hash = shml_config_hash(&c->cfg);
	return 0;
}

void cli_config_free(struct cli_config *c)
{
	free(c->channels);
	free(c->ccfg);
	free(c->xen_evtchn);
	free(c->host_path);
	free(c->qemu_mem_path);
	free(c->qemu_id);
	free(c->qemu_server);
	free(c->qemu_pci);
	free(c->xen_shm_id);
	memset(c, 0, sizeof(*c));
}

const char *cli_mode_name(uint32_t mode)
{
	return mode == SHML_MODE_MESSAGE ? "message" : mode == SHML_MODE_STREAM ? "stream" : "?";
}

const char *cli_region_path(const struct cli_config *c, const char *override)
{
	if (override)
		return override;
	if (c->host_path)
		return c->host_path;
	cli_err_at(c->file, c->host_line,
	           "no region file: add [host] path = /dev/shm/NAME, or pass --region PATH");
	return NULL;
}

uint64_t cli_qemu_size(const struct cli_config *c)
{
	return c->qemu_size ? c->qemu_size : cli_next_pow2(c->region_size);
}

uint64_t cli_region_file_size(const struct cli_config *c, const char *path)
{
	const char *qpath = c->qemu_mem_path ? c->qemu_mem_path : c->host_path;
	if (c->qemu_line && qpath && path && strcmp(qpath, path) == 0 &&
	    cli_qemu_size(c) > c->region_size)
		return cli_qemu_size(c);
	return c->region_size;
}

int cli_is_xen_domu(const struct cli_config *c, uint32_t d)
{
	if (c->n_xen_domus == 0)
		return 1;
	for (uint32_t i = 0; i < c->n_xen_domus; i++)
		if ((uint32_t)c->xen_domus[i] == d)
			return 1;
	return 0;
}

int cli_is_qemu_guest(const struct cli_config *c, uint32_t d)
{
	if (c->n_qemu_guests == 0)
		return 1;
	for (uint32_t i = 0; i < c->n_qemu_guests; i++)
		if ((uint32_t)c->qemu_guests[i] == d)
			return 1;
	return 0;
}

int cli_xen_resolve(struct cli_config *c)
{
	const uint64_t page = 4096;
	int owner = c->xen_owner;
	if (!c->xen_line) {
		cli_err_at(c->file, 0,
		           "no [xen] section: add [xen] with host_address and guest_address "
		           "(see docs/CLI.md)");
		return -1;
	}
	if (!c->xen_host_address_line) {
		cli_err_at(c->file, c->xen_line,
		           "[xen] has no host_address: add host_address = ADDRESS (the host "
		           "physical address of the region, e.g. 0xb0000000)");
		return -1;
	}
	if (!c->xen_guest_address_line) {
		cli_err_at(c->file, c->xen_line,
		           "[xen] has no guest_address: add guest_address = ADDRESS (where the "
		           "domUs see the region, e.g. 0x33000000)");
		return -1;
	}
	if (c->xen_host_address % page) {
		cli_err_at(c->file, c->xen_host_address_line,
		           "[xen] host_address = 0x%llx is not 4 KiB aligned",
		           (unsigned long long)c->xen_host_address);
		return -1;
	}
	if (c->xen_guest_address % page) {
		cli_err_at(c->file, c->xen_guest_address_line,
		           "[xen] guest_address = 0x%llx is not 4 KiB aligned",
		           (unsigned long long)c->xen_guest_address);
		return -1;
	}
	if (c->region_size % page) {
		char b[32];
		cli_err_at(c->file, c->size_line,
		           "[region] size = %s: Xen maps whole 4 KiB pages; use a multiple of 4K",
		           cli_size_str(c->region_size, b, sizeof(b)));
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		uint32_t cells = k ? c->xen_size_cells : c->xen_address_cells;
		uint64_t v =
		        k ? c->region_size
		          : (c->xen_host_address > c->xen_guest_address ? c->xen_host_address
		                                                        : c->xen_guest_address) +
		                        c->region_size - 1;
		if (cells == 1 && v > UINT32_MAX) {
			cli_err_at(c->file, k ? c->xen_size_cells_line : c->xen_address_cells_line,
			           "[xen] %s = 1 cannot hold 0x%llx: use 2",
			           k ? "size_cells" : "address_cells", (unsigned long long)v);
			return -1;
		}
	}
	for (uint32_t d = 0; d < c->n_domains; d++)
		if (cli_is_xen_domu(c, d) && c->domains[d].id == 0) {
			cli_err_at(
			        c->file, c->n_xen_domus ? c->xen_domus_line : c->domains[d].id_line,
			        "[domain %s] has id 0, which is dom0: gen xen-dt describes domUs "
			        "only; list the domUs in [xen] domains",
			        c->domains[d].name);
			return -1;
		}
	if (owner >= 0 && !cli_is_xen_domu(c, (uint32_t)owner)) {
		cli_err_at(c->file, c->xen_owner_line,
		           "[xen] owner = %s is not one of the domUs in [xen] domains",
		           c->domains[owner].name);
		return -1;
	}
	return cli_xen_ports(c);
}

int cli_xen_ports(struct cli_config *c)
{
	for (uint32_t i = 0; i < c->n_channels; i++) {
		struct cli_channel *ch = &c->channels[i];
		struct cli_xen_evtchn *ev = &c->xen_evtchn[i];
		if (!cli_is_xen_domu(c, ch->a) || !cli_is_xen_domu(c, ch->b))
			continue;
		if (!ev->line)
			ev->port_a = ev->port_b = c->xen_evtchn_base + i;
	}
	/* A port must be unique within its domain. */
	for (uint32_t i = 0; i < c->n_channels; i++)
		for (int si = 0; si < 2; si++)
			for (uint32_t j = 0; j <= i; j++)
				for (int sj = 0; sj < 2; sj++) {
					const struct cli_channel *x = &c->channels[i],
					                         *y = &c->channels[j];
					uint32_t dx = si ? x->b : x->a, dy = sj ? y->b : y->a;
					uint32_t px = si ? c->xen_evtchn[i].port_b
					                 : c->xen_evtchn[i].port_a;
					uint32_t py = sj ? c->xen_evtchn[j].port_b
					                 : c->xen_evtchn[j].port_a;
					if ((j == i && sj >= si) || dx != dy || !px || px != py)
						continue;
					cli_err_at(
					        c->file,
					        c->xen_evtchn[i].line ? c->xen_evtchn[i].line
					                              : c->xen_evtchn_base_line,
					        "[xen] event channel port %u is used twice in "
					        "domain '%s' "
					        "(channels '%s' and '%s'): give each its own port",
					        px, c->domains[dx].name, y->name, x->name);
					return -1;
				}
	return 0;
}
