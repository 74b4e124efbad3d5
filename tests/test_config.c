/* SPDX-License-Identifier: MIT */
/*
 * Static configuration: shml_config_check() accepts good configs and names
 * the exact domain/channel/field/limit of each bad one; shml_config_hash()
 * is stable and covers every field; the layout is contiguous, aligned and
 * matches a hand-computed known answer.
 */
#include <string.h>

#include "testutil.h"

/* A valid base config: 3 domains, 3 channels, editable in place. */
struct cfgbuf {
	struct shml_domain_cfg d[3];
	struct shml_channel_cfg c[3];
	char dname[3][40];
	char cname[3][40];
	struct shml_config cfg;
};

static void base(struct cfgbuf *b)
{
	memset(b, 0, sizeof(*b));
	strcpy(b->dname[0], "linux");
	strcpy(b->dname[1], "rtos");
	strcpy(b->dname[2], "third");
	strcpy(b->cname[0], "ctl");
	strcpy(b->cname[1], "bulk");
	strcpy(b->cname[2], "log");
	for (int i = 0; i < 3; i++) {
		b->d[i].name = b->dname[i];
		b->d[i].id = (uint32_t)(10 + i);
		b->c[i].name = b->cname[i];
	}
	b->c[0] = (struct shml_channel_cfg){ .name = b->cname[0],
		                             .a = 0,
		                             .b = 1,
		                             .mode = SHML_MODE_MESSAGE,
		                             .ring_ab = 4096,
		                             .ring_ba = 1024,
		                             .max_message = 0 };
	b->c[1] = (struct shml_channel_cfg){ .name = b->cname[1],
		                             .a = 1,
		                             .b = 2,
		                             .mode = SHML_MODE_STREAM,
		                             .ring_ab = 65536,
		                             .ring_ba = 128,
		                             .max_message = 0 };
	b->c[2] = (struct shml_channel_cfg){ .name = b->cname[2],
		                             .a = 2,
		                             .b = 0,
		                             .mode = SHML_MODE_MESSAGE,
		                             .ring_ab = 256,
		                             .ring_ba = 512,
		                             .max_message = 100 };
	b->cfg.cacheline = 64;
	b->cfg.n_domains = 3;
	b->cfg.domains = b->d;
	b->cfg.n_channels = 3;
	b->cfg.channels = b->c;
	b->cfg.region_size = 1u << 20;
}

static int n_rejects, hash_changes;

/* Expect SHML_ECONFIG with exactly these error fields. */
static void expect_bad(const struct shml_config *cfg, int line, int domain, int channel,
                       const char *field)
{
	struct shml_config_error err;
	memset(&err, 0xa5, sizeof(err));
	int rc = shml_config_check(cfg, &err);
	if (rc != SHML_ECONFIG || err.code != SHML_ECONFIG || err.domain != domain ||
	    err.channel != channel || !err.field || strcmp(err.field, field) != 0 || !err.what ||
	    !err.what[0]) {
		fprintf(stderr,
		        "line %d: expected ECONFIG domain %d channel %d field '%s'; got rc %d "
		        "code %d domain %d channel %d field '%s' what '%s'\n",
		        line, domain, channel, field, rc, err.code, err.domain, err.channel,
		        err.field ? err.field : "(null)", err.what ? err.what : "(null)");
		exit(1);
	}
	/* A NULL error pointer is allowed and gives the same verdict. */
	CHECK_EQ(shml_config_check(cfg, NULL), SHML_ECONFIG);
	n_rejects++;
}

static struct shml_config_error last_err(const struct shml_config *cfg)
{
	struct shml_config_error err;
	CHECK_EQ(shml_config_check(cfg, &err), SHML_ECONFIG);
	return err;
}

static void expect_ok(const struct shml_config *cfg, int line)
{
	struct shml_config_error err;
	memset(&err, 0xa5, sizeof(err));
	int rc = shml_config_check(cfg, &err);
	if (rc != 0 || err.code != 0) {
		fprintf(stderr, "line %d: expected OK, got %d field '%s' (%s)\n", line, rc,
		        err.field ? err.field : "", err.what ? err.what : "");
		exit(1);
	}
	CHECK_EQ(err.domain, -1);
	CHECK_EQ(err.channel, -1);
}

#define BAD(cfgp, dom, chn, field) expect_bad((cfgp), __LINE__, (dom), (chn), (field))
#define OK(cfgp) expect_ok((cfgp), __LINE__)

static void check_validation(void)
{
	struct cfgbuf b;
	struct shml_config_error e;

	base(&b);
	OK(&b.cfg);
	CHECK_EQ(shml_config_check(&b.cfg, NULL), 0);
	CHECK_EQ(shml_config_check(NULL, NULL), SHML_ECONFIG);

	/* cacheline: only 64 and 128. */
	static const uint32_t bad_lines[] = { 0, 1, 32, 63, 65, 96, 127, 129, 256, 4096 };
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		base(&b);
		b.cfg.cacheline = bad_lines[i];
		BAD(&b.cfg, -1, -1, "cacheline");
		CHECK_EQ(last_err(&b.cfg).value, bad_lines[i]);
	}
	base(&b);
	b.cfg.cacheline = 128;
	OK(&b.cfg);

	/* Domain count. */
	base(&b);
	b.cfg.n_domains = 1;
	b.c[0].b = 0; /* (the domain check comes first anyway) */
	BAD(&b.cfg, -1, -1, "domains");
	base(&b);
	b.cfg.n_domains = 0;
	BAD(&b.cfg, -1, -1, "domains");
	base(&b);
	b.cfg.domains = NULL;
	BAD(&b.cfg, -1, -1, "domains");
	base(&b);
	b.cfg.n_domains = SHML_MAX_DOMAINS + 1;
	BAD(&b.cfg, -1, -1, "domains");

	/* Domain names: empty, NULL, 32 bytes rejected; 31 accepted. */
	base(&b);
	b.dname[1][0] = 0;
	BAD(&b.cfg, 1, -1, "name");
	CHECK_EQ(last_err(&b.cfg).value, 0);
	base(&b);
	b.d[2].name = NULL;
	BAD(&b.cfg, 2, -1, "name");
	base(&b);
	memset(b.dname[0], 'x', 32);
	b.dname[0][32] = 0;
	BAD(&b.cfg, 0, -1, "name");
	e = last_err(&b.cfg);
	CHECK_EQ(e.value, 32);
	CHECK_EQ(e.limit, SHML_MAX_NAME);
	b.dname[0][31] = 0;
	OK(&b.cfg);

	/* Duplicate domain names and ids: reported on the later domain. */
	base(&b);
	strcpy(b.dname[2], "linux");
	BAD(&b.cfg, 2, -1, "name");
	base(&b);
	strcpy(b.dname[2], "linu"); /* a prefix is not a duplicate */
	OK(&b.cfg);
	base(&b);
	b.d[2].id = b.d[1].id;
	BAD(&b.cfg, 2, -1, "id");
	CHECK_EQ(last_err(&b.cfg).value, b.d[1].id);
	base(&b);
	b.d[1].id = b.d[0].id;
	BAD(&b.cfg, 1, -1, "id");

	/* Channel count. */
	base(&b);
	b.cfg.n_channels = 0;
	BAD(&b.cfg, -1, -1, "channels");
	base(&b);
	b.cfg.channels = NULL;
	BAD(&b.cfg, -1, -1, "channels");

	/* Channel names. */
	base(&b);
	b.cname[1][0] = 0;
	BAD(&b.cfg, -1, 1, "name");
	base(&b);
	memset(b.cname[2], 'y', 32);
	b.cname[2][32] = 0;
	BAD(&b.cfg, -1, 2, "name");
	CHECK_EQ(last_err(&b.cfg).value, 32);
	b.cname[2][31] = 0;
	OK(&b.cfg);
	base(&b);
	strcpy(b.cname[2], "ctl");
	BAD(&b.cfg, -1, 2, "name");

	/* Sides naming no domain, and a == b. */
	base(&b);
	b.c[1].a = 3;
	BAD(&b.cfg, -1, 1, "a");
	e = last_err(&b.cfg);
	CHECK_EQ(e.value, 3);
	CHECK_EQ(e.limit, 3);
	base(&b);
	b.c[2].b = 0xffffffffu;
	BAD(&b.cfg, -1, 2, "b");
	base(&b);
	b.c[0].b = 3;
	BAD(&b.cfg, -1, 0, "b");
	base(&b);
	b.c[0].b = b.c[0].a;
	BAD(&b.cfg, -1, 0, "b");

	/* Mode. */
	static const uint32_t bad_modes[] = { 0, 3, 0xffffffffu };
	for (size_t i = 0; i < 3; i++) {
		base(&b);
		b.c[2].mode = bad_modes[i];
		BAD(&b.cfg, -1, 2, "mode");
		CHECK_EQ(last_err(&b.cfg).value, bad_modes[i]);
	}

	/* Ring sizes: powers of two only. */
	static const uint32_t not_pow2[] = { 0, 3, 100, 4095, 4097, 65536 + 64, 0xffffffffu };
	for (size_t i = 0; i < sizeof(not_pow2) / sizeof(not_pow2[0]); i++) {
		base(&b);
		b.c[1].ring_ab = not_pow2[i];
		BAD(&b.cfg, -1, 1, "ring_ab");
		base(&b);
		b.c[0].ring_ba = not_pow2[i];
		BAD(&b.cfg, -1, 0, "ring_ba");
	}
	/* At least 64 bytes and one cache line. */
	base(&b);
	b.c[1].ring_ba = 32;
	BAD(&b.cfg, -1, 1, "ring_ba");
	CHECK_EQ(last_err(&b.cfg).limit, 64);
	base(&b);
	b.c[1].ring_ba = 64;
	OK(&b.cfg);
	b.cfg.cacheline = 128;
	BAD(&b.cfg, -1, 1, "ring_ba");
	e = last_err(&b.cfg);
	CHECK_EQ(e.value, 64);
	CHECK_EQ(e.limit, 128);
	b.c[1].ring_ba = 128;
	OK(&b.cfg);
	/* At most 1 GiB. */
	base(&b);
	b.c[1].ring_ab = 0x80000000u;
	BAD(&b.cfg, -1, 1, "ring_ab");
	e = last_err(&b.cfg);
	CHECK_EQ(e.value, 0x80000000u);
	CHECK_EQ(e.limit, SHML_MAX_RING);
	b.c[1].ring_ab = SHML_MAX_RING;
	b.cfg.region_size = 2ull << 30;
	OK(&b.cfg);

	/* max_message: stream channels take none; at most half the smaller ring - 8. */
	base(&b);
	b.c[1].max_message = 1;
	BAD(&b.cfg, -1, 1, "max_message");
	base(&b);
	CHECK_EQ(shml_channel_max_message(&b.cfg, 1), 0);
	CHECK_EQ(shml_channel_max_message(&b.cfg, 0), 1024 / 2 - 8); /* min(4096, 1024) */
	b.c[0].max_message = 1024 / 2 - 8;
	OK(&b.cfg);
	CHECK_EQ(shml_channel_max_message(&b.cfg, 0), 1024 / 2 - 8);
	b.c[0].max_message = 1024 / 2 - 7;
	BAD(&b.cfg, -1, 0, "max_message");
	e = last_err(&b.cfg);
	CHECK_EQ(e.value, 1024 / 2 - 7);
	CHECK_EQ(e.limit, 1024 / 2 - 8);
	base(&b);
	b.c[2].max_message = 256 / 2 - 7; /* ring_ab 256 is the smaller one */
	BAD(&b.cfg, -1, 2, "max_message");
	b.c[2].max_message = 256 / 2 - 8;
	OK(&b.cfg);
	CHECK_EQ(shml_channel_max_message(&b.cfg, 2), 256 / 2 - 8);
	b.c[2].max_message = 1;
	OK(&b.cfg);
	CHECK_EQ(shml_channel_max_message(&b.cfg, 2), 1);

	/* Region size: exactly the layout is enough, one byte less is not. */
	static const uint32_t lines[] = { 64, 128 };
	for (int i = 0; i < 2; i++) {
		uint64_t need;
		base(&b);
		b.cfg.cacheline = lines[i];
		need = shml_layout_bytes(&b.cfg);
		b.cfg.region_size = need;
		OK(&b.cfg);
		b.cfg.region_size = need - 1;
		BAD(&b.cfg, -1, -1, "region_size");
		e = last_err(&b.cfg);
		CHECK_EQ(e.limit, need);
		CHECK_EQ(e.value, need - 1);
		b.cfg.region_size = 0;
		e = last_err(&b.cfg);
		CHECK_EQ(e.limit, need);
		CHECK_EQ(e.value, 0);
	}
}

static void check_hash(void)
{
	struct cfgbuf b1, b2;
	uint64_t h;

	base(&b1);
	base(&b2);
	h = shml_config_hash(&b1.cfg);
	CHECK(h == shml_config_hash(&b1.cfg)); /* stable */
	CHECK(h == shml_config_hash(&b2.cfg)); /* two separately built copies agree */
	CHECK(b1.cfg.domains != b2.cfg.domains && b1.d[0].name != b2.d[0].name);

	/* Each field, one at a time: the hash must change. */
	int changes = 0;
#define MUST_CHANGE(stmt)                                                                          \
	do {                                                                                       \
		base(&b2);                                                                         \
		stmt;                                                                              \
		if (shml_config_hash(&b2.cfg) == h) {                                              \
			fprintf(stderr, "%s:%d: hash unchanged by: %s\n", __FILE__, __LINE__,      \
			        #stmt);                                                            \
			exit(1);                                                                   \
		}                                                                                  \
		changes++;                                                                         \
	} while (0)
	MUST_CHANGE(b2.cfg.region_size += 64);
	MUST_CHANGE(b2.cfg.region_size += 1ull << 32); /* the high half counts too */
	MUST_CHANGE(b2.cfg.cacheline = 128);
	MUST_CHANGE(b2.cfg.n_domains = 2);
	MUST_CHANGE(b2.dname[0][0] = 'L');
	MUST_CHANGE(strcpy(b2.dname[1], "rtos2"));
	MUST_CHANGE(b2.dname[2][4] = 0); /* shorter name */
	MUST_CHANGE(b2.d[0].id = 99);
	MUST_CHANGE(b2.d[2].id = 0x10000 + b2.d[2].id);
	MUST_CHANGE(b2.cfg.n_channels = 2);
	MUST_CHANGE(b2.cname[0][2] = 'x');
	MUST_CHANGE(strcpy(b2.cname[2], "logs"));
	MUST_CHANGE(b2.c[0].a = 2);
	MUST_CHANGE(b2.c[0].b = 2);
	MUST_CHANGE((b2.c[1].a = 2, b2.c[1].b = 1)); /* swapped sides */
	MUST_CHANGE(b2.c[0].mode = SHML_MODE_STREAM);
	MUST_CHANGE(b2.c[1].mode = SHML_MODE_MESSAGE);
	MUST_CHANGE(b2.c[0].ring_ab = 8192);
	MUST_CHANGE(b2.c[0].ring_ba = 2048);
	MUST_CHANGE(b2.c[2].ring_ab = 512);
	MUST_CHANGE(b2.c[2].max_message = 101);
	MUST_CHANGE(b2.c[0].max_message = 8);
	/* Swapping two channels (or domains) is a different config. */
	MUST_CHANGE((b2.c[0] = b1.c[1], b2.c[1] = b1.c[0]));
	MUST_CHANGE((b2.d[0] = b1.d[1], b2.d[1] = b1.d[0]));
	/* Moving a byte between adjacent names is not the same encoding. */
	MUST_CHANGE((strcpy(b2.dname[0], "linuxr"), strcpy(b2.dname[1], "tos")));
#undef MUST_CHANGE

	/* The hash covers the effective max_message: 0 and the explicit maximum agree. */
	base(&b2);
	b2.c[0].max_message = shml_channel_max_message(&b1.cfg, 0);
	CHECK(shml_config_hash(&b2.cfg) == h);
	/* Bytes after a name's NUL do not count. */
	base(&b2);
	b2.dname[0][10] = 'z';
	CHECK(shml_config_hash(&b2.cfg) == h);
	hash_changes = changes;
}

static void check_layout_generic(uint32_t line)
{
	struct cfgbuf b;
	struct shml_channel_layout lay;
	uint64_t expect_off;

	base(&b);
	b.cfg.cacheline = line;
	OK(&b.cfg);
	CHECK_EQ(shml_domain_slot_size(&b.cfg), line);
	CHECK_EQ(shml_side_block_size(&b.cfg), 2 * line + (128 + line - 1) / line * line);
	expect_off = (uint64_t)b.cfg.n_domains * line;
	for (uint32_t c = 0; c < b.cfg.n_channels; c++) {
		memset(&lay, 0xee, sizeof(lay));
		shml_channel_layout(&b.cfg, c, &lay);
		CHECK_EQ(lay.offset, expect_off); /* contiguous */
		CHECK_EQ(lay.side_size, shml_side_block_size(&b.cfg));
		CHECK_EQ(lay.side_a, lay.offset);
		CHECK_EQ(lay.side_b, lay.side_a + lay.side_size);
		CHECK_EQ(lay.ring_ab, lay.side_b + lay.side_size);
		CHECK_EQ(lay.ring_ba, lay.ring_ab + b.c[c].ring_ab);
		CHECK_EQ(lay.end, lay.ring_ba + b.c[c].ring_ba);
		CHECK_EQ(lay.offset % line, 0);
		CHECK_EQ(lay.side_b % line, 0);
		CHECK_EQ(lay.ring_ab % line, 0);
		CHECK_EQ(lay.ring_ba % line, 0);
		CHECK_EQ(lay.end % line, 0);
		expect_off = lay.end;
	}
	CHECK_EQ(shml_layout_bytes(&b.cfg), expect_off);
}

static void check_layout_known_answer(void)
{
	static const struct shml_domain_cfg dom[] = { { .name = "linux", .id = 1 },
		                                      { .name = "rtos", .id = 2 } };
	static const struct shml_channel_cfg chan[] = { { .name = "ctl",
		                                          .a = 0,
		                                          .b = 1,
		                                          .mode = SHML_MODE_MESSAGE,
		                                          .ring_ab = 4096,
		                                          .ring_ba = 4096 } };
	struct shml_config cfg = { .region_size = 64 * 1024,
		                   .cacheline = 64,
		                   .n_domains = 2,
		                   .domains = dom,
		                   .n_channels = 1,
		                   .channels = chan };
	struct shml_channel_layout lay;

	/*
	 * cacheline 64: 2 domain slots of 64 = 128; side block = 64 (control)
	 * + 64 (positions) + 128 (statistics, already a multiple of 64) = 256.
	 *   side A 128..384, side B 384..640, ring A->B 640..4736,
	 *   ring B->A 4736..8832.
	 */
	OK(&cfg);
	CHECK_EQ(shml_domain_slot_size(&cfg), 64);
	CHECK_EQ(shml_side_block_size(&cfg), 256);
	shml_channel_layout(&cfg, 0, &lay);
	CHECK_EQ(lay.offset, 128);
	CHECK_EQ(lay.side_a, 128);
	CHECK_EQ(lay.side_b, 384);
	CHECK_EQ(lay.side_size, 256);
	CHECK_EQ(lay.ring_ab, 640);
	CHECK_EQ(lay.ring_ba, 4736);
	CHECK_EQ(lay.end, 8832);
	CHECK_EQ(shml_layout_bytes(&cfg), 8832);
	CHECK_EQ(shml_channel_max_message(&cfg, 0), 2040);

	/*
	 * cacheline 128: slots 2 * 128 = 256; side block = 128 + 128 + 128 = 384.
	 *   side A 256, side B 640, ring A->B 1024, ring B->A 5120, end 9216.
	 */
	cfg.cacheline = 128;
	OK(&cfg);
	CHECK_EQ(shml_domain_slot_size(&cfg), 128);
	CHECK_EQ(shml_side_block_size(&cfg), 384);
	shml_channel_layout(&cfg, 0, &lay);
	CHECK_EQ(lay.offset, 256);
	CHECK_EQ(lay.side_a, 256);
	CHECK_EQ(lay.side_b, 640);
	CHECK_EQ(lay.side_size, 384);
	CHECK_EQ(lay.ring_ab, 1024);
	CHECK_EQ(lay.ring_ba, 5120);
	CHECK_EQ(lay.end, 9216);
	CHECK_EQ(shml_layout_bytes(&cfg), 9216);
}

/* The lookups by name. */
static void check_find(void)
{
	struct cfgbuf b;
	base(&b);
	CHECK_EQ(shml_find_domain(&b.cfg, "linux"), 0);
	CHECK_EQ(shml_find_domain(&b.cfg, "third"), 2);
	CHECK_EQ(shml_find_domain(&b.cfg, "linu"), -1);
	CHECK_EQ(shml_find_domain(&b.cfg, "linuxx"), -1);
	CHECK_EQ(shml_find_channel(&b.cfg, "log"), 2);
	CHECK_EQ(shml_find_channel(&b.cfg, "ctl"), 0);
	CHECK_EQ(shml_find_channel(&b.cfg, "nope"), -1);
}

int main(void)
{
	check_validation();
	check_hash();
	check_layout_generic(64);
	check_layout_generic(128);
	check_layout_known_answer();
	check_find();
	printf("test_config: ok (%d rejections with exact field/index/limit, %d single-field "
	       "changes all change the hash, layout 64/128 and known answer)\n",
	       n_rejects, hash_changes);
	return 0;
}
