/* SPDX-License-Identifier: MIT */
/*
 * Peers that must not connect: configs that differ in one field (ring
 * size, channel name, mode, domain id, max_message, region size), a peer
 * slot with another protocol version, a slot with no magic. Also the
 * argument checks of shml_region_attach() (region too small, misaligned
 * memory, bad self index/port/config), which write nothing when they fail.
 */
#include <string.h>

#include "testutil.h"

#define SLOT_VERSION_OFF 4u /* docs/PROTOCOL.md §5, src/core/internal.h SLOT_VERSION */
#define MEM_SIZE (256u * 1024u)

static int n_cases;

static void *alloc_garbage(uint64_t seed)
{
	void *mem;
	CHECK(posix_memalign(&mem, 4096, MEM_SIZE) == 0);
	tu_fill(mem, MEM_SIZE, seed);
	return mem;
}

static void put32(void *p, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	memcpy(p, b, 4); /* little-endian, as on the wire */
}

/* Poll both @rounds times: never established; returns how many EMISMATCHes each saw. */
static void never_connects(struct shml_chan *a, struct shml_chan *b, int rounds, int *ma, int *mb)
{
	*ma = *mb = 0;
	for (int i = 0; i < rounds; i++) {
		int ra = shml_poll(a), rb = shml_poll(b);
		CHECK(ra == SHML_ENOTCONN || ra == SHML_EMISMATCH);
		CHECK(rb == SHML_ENOTCONN || rb == SHML_EMISMATCH);
		*ma += ra == SHML_EMISMATCH;
		*mb += rb == SHML_EMISMATCH;
		CHECK(!shml_connected(a) && !shml_connected(b));
	}
}

static void connect_ends(struct shml_chan *a, struct shml_chan *b)
{
	for (int i = 0; i < 100; i++)
		if (shml_poll(a) == 1 && shml_poll(b) == 1)
			return;
	fprintf(stderr, "did not connect\n");
	exit(1);
}

/*
 * Side A attaches with @ca, side B with @cb (same memory). They must not
 * connect; both must see EMISMATCH (each one's slot disagrees with the
 * other's hash); the slot snapshot must show the peer's differing hash.
 * Then B re-attaches with A's config and they connect.
 */
static void config_differs(const struct shml_config *ca, const struct shml_config *cb,
                           const char *what)
{
	void *mem = alloc_garbage(0x1000 + (uint64_t)n_cases);
	struct shml_port port;
	struct shml_region ra, rb;
	struct shml_chan a, b;
	struct shml_slot_info si;
	struct shml_counters c;
	uint8_t buf[16] = { 0 };
	int ma, mb;

	CHECK(shml_config_hash(ca) != shml_config_hash(cb));
	shml_host_port_init(&port);
	CHECK_EQ(shml_region_attach(&ra, ca, 0, mem, MEM_SIZE, &port), 0);
	CHECK_EQ(shml_region_attach(&rb, cb, 1, mem, MEM_SIZE, &port), 0);
	CHECK_EQ(shml_chan_open(&ra, &a, 0, NULL), 0);
	CHECK_EQ(shml_chan_open(&rb, &b, 0, NULL), 0);
	never_connects(&a, &b, 100, &ma, &mb);
	if (!(ma > 0 && mb > 0))
		fprintf(stderr, "%s: EMISMATCH seen %d times by A, %d by B\n", what, ma, mb);
	CHECK(ma > 0 && mb > 0); /* the mismatch is symmetric */

	/* The data calls and shml_wait report it too; nothing is sent. */
	CHECK_EQ(shml_poll(&a), SHML_EMISMATCH);
	if (ca->channels[0].mode == SHML_MODE_MESSAGE)
		CHECK_EQ(shml_send(&a, buf, 4), SHML_EMISMATCH);
	else
		CHECK_EQ(shml_write(&a, buf, 4), SHML_EMISMATCH);
	CHECK_EQ(shml_wait(&a, SHML_EV_READABLE, 0, 1000000), SHML_EMISMATCH);
	shml_get_counters(&a, &c);
	CHECK_EQ(c.last_error, -SHML_EMISMATCH);
	CHECK_EQ(c.tx_messages, 0);

	/* The slots: each side sees the other's (differing) hash. */
	shml_read_slot(&ra, 1, &si);
	CHECK_EQ(si.magic, SHML_MAGIC);
	CHECK_EQ(si.version, SHML_PROTOCOL_VERSION);
	CHECK(si.config_hash == shml_config_hash(cb));
	CHECK(si.config_hash != ra.cfg_hash);
	CHECK_EQ(si.domain_id, cb->domains[1].id);
	CHECK_EQ(si.valid, 0);
	shml_read_slot(&rb, 0, &si);
	CHECK(si.config_hash == shml_config_hash(ca));
	CHECK_EQ(si.valid, 0);
	shml_read_slot(&ra, 0, &si); /* our own slot is valid for us */
	CHECK_EQ(si.valid, 1);

	/* B's program is fixed: it attaches again with the same config, and they connect. */
	shml_chan_close(&b);
	CHECK_EQ(shml_region_attach(&rb, ca, 1, mem, MEM_SIZE, &port), 0);
	CHECK_EQ(shml_chan_open(&rb, &b, 0, NULL), 0);
	connect_ends(&a, &b);
	shml_read_slot(&ra, 1, &si);
	CHECK_EQ(si.valid, 1);
	shml_chan_close(&a);
	shml_chan_close(&b);
	free(mem);
	n_cases++;
}

static void config_cases(void)
{
	struct tu_config base, other;

	tu_config_init(&base, SHML_MODE_MESSAGE, 4096);
	/* Ring size (the layouts differ, but the control lines are where both expect them). */
	tu_config_init(&other, SHML_MODE_MESSAGE, 4096);
	other.channels[0].ring_ab = 8192;
	other.cfg.region_size = shml_layout_bytes(&other.cfg);
	base.cfg.region_size = other.cfg.region_size; /* only the ring differs */
	config_differs(&base.cfg, &other.cfg, "ring_ab");

	/* Channel name. */
	tu_config_init(&base, SHML_MODE_MESSAGE, 4096);
	tu_config_init(&other, SHML_MODE_MESSAGE, 4096);
	other.channels[0].name = "ch1";
	config_differs(&base.cfg, &other.cfg, "channel name");

	/* Domain name. */
	tu_config_init(&other, SHML_MODE_MESSAGE, 4096);
	other.domains[0].name = "A";
	config_differs(&base.cfg, &other.cfg, "domain name");

	/* Domain id. */
	tu_config_init(&other, SHML_MODE_MESSAGE, 4096);
	other.domains[1].id = 7;
	config_differs(&base.cfg, &other.cfg, "domain id");

	/* Mode. */
	tu_config_init(&other, SHML_MODE_STREAM, 4096);
	config_differs(&base.cfg, &other.cfg, "mode");

	/* max_message. */
	tu_config_init(&other, SHML_MODE_MESSAGE, 4096);
	other.channels[0].max_message = 1000;
	config_differs(&base.cfg, &other.cfg, "max_message");

	/* Region size alone (it is part of the hash). */
	tu_config_init(&other, SHML_MODE_MESSAGE, 4096);
	other.cfg.region_size += 4096;
	config_differs(&base.cfg, &other.cfg, "region_size");
}

/* A peer slot with another protocol version: EMISMATCH until it says 1 again. */
static void version_differs(void)
{
	struct tu_config t;
	struct tu_pair p;
	struct shml_slot_info si;
	uint8_t *slot_b;
	int ma, mb;

	tu_config_init(&t, SHML_MODE_MESSAGE, 1024);
	tu_pair_open(&p, &t.cfg, 0);
	slot_b = (uint8_t *)p.mem + 1u * shml_domain_slot_size(&t.cfg);
	put32(slot_b + SLOT_VERSION_OFF, SHML_PROTOCOL_VERSION + 1);

	shml_read_slot(&p.ra, 1, &si);
	CHECK_EQ(si.magic, SHML_MAGIC);
	CHECK_EQ(si.version, SHML_PROTOCOL_VERSION + 1);
	CHECK(si.config_hash == p.ra.cfg_hash); /* only the version differs */
	CHECK_EQ(si.valid, 0);

	never_connects(&p.a, &p.b, 100, &ma, &mb);
	CHECK(ma > 0);   /* A reads B's slot and refuses */
	CHECK_EQ(mb, 0); /* B sees a good slot for A: it just waits */

	/* Version 0 and 0xffffffff are mismatches too. */
	put32(slot_b + SLOT_VERSION_OFF, 0);
	never_connects(&p.a, &p.b, 10, &ma, &mb);
	CHECK(ma > 0);
	put32(slot_b + SLOT_VERSION_OFF, 0xffffffffu);
	never_connects(&p.a, &p.b, 10, &ma, &mb);
	CHECK(ma > 0);

	/* A slot whose magic is gone is "not attached": ENOTCONN, not EMISMATCH. */
	put32(slot_b + SLOT_VERSION_OFF, SHML_PROTOCOL_VERSION);
	put32(slot_b, 0);
	never_connects(&p.a, &p.b, 10, &ma, &mb);
	CHECK_EQ(ma + mb, 0);

	/* Restore the slot: the handshake completes. */
	put32(slot_b, SHML_MAGIC);
	tu_pair_connect(&p);
	CHECK_EQ(shml_send(&p.a, "v1", 2), 0);
	char buf[8];
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 2);
	tu_pair_close(&p);
	n_cases++;
}

static void attach_errors(void)
{
	struct tu_config t;
	struct shml_port port, noclock;
	struct shml_region r;
	uint8_t *mem = alloc_garbage(42), *copy = malloc(MEM_SIZE);
	uint64_t need;

	CHECK(copy != NULL);
	memcpy(copy, mem, MEM_SIZE);
	shml_host_port_init(&port);
	memset(&noclock, 0, sizeof(noclock));

	tu_config_init(&t, SHML_MODE_MESSAGE, 4096);
	need = shml_layout_bytes(&t.cfg);
	CHECK_EQ(t.cfg.region_size, need);

	/* Too small: less than the layout, or less than the configured region_size. */
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, need - 1, &port), SHML_ERANGE);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, 0, &port), SHML_ERANGE);
	t.cfg.region_size = need + 4096;
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, need, &port), SHML_ERANGE);
	t.cfg.region_size = need;

	/* Misaligned memory: the base must be aligned to the cache line. */
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem + 8, MEM_SIZE - 8, &port), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem + 1, MEM_SIZE - 1, &port), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem + 32, MEM_SIZE - 32, &port), SHML_EINVAL);
	t.cfg.cacheline = 128;
	t.cfg.region_size = shml_layout_bytes(&t.cfg);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem + 64, MEM_SIZE - 64, &port), SHML_EINVAL);

	/* Other bad arguments. */
	tu_config_init(&t, SHML_MODE_MESSAGE, 4096);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 2, mem, MEM_SIZE, &port), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, NULL, MEM_SIZE, &port), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, MEM_SIZE, NULL), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, MEM_SIZE, &noclock), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(NULL, &t.cfg, 0, mem, MEM_SIZE, &port), SHML_EINVAL);
	CHECK_EQ(shml_region_attach(&r, NULL, 0, mem, MEM_SIZE, &port), SHML_EINVAL);
	t.channels[0].ring_ab = 1000;
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, MEM_SIZE, &port), SHML_ECONFIG);
	t.channels[0].ring_ab = 4096;

	/* None of the failures wrote a byte. */
	CHECK(memcmp(mem, copy, MEM_SIZE) == 0);

	/* The good cases: exact size; attach writes its own slot's used words only. */
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 1, mem, need, &port), 0);
	CHECK(memcmp(mem, copy, 64) == 0); /* slot 0 untouched */
	CHECK(memcmp(mem + 64 + 28, copy + 64 + 28, MEM_SIZE - 64 - 28) == 0);
	struct shml_slot_info si;
	shml_read_slot(&r, 1, &si);
	CHECK_EQ(si.valid, 1);
	CHECK_EQ(si.domain_id, 2);
	CHECK_EQ(si.magic, SHML_MAGIC);
	/* A base aligned to the cache line but not to a page is fine. */
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem + 64, need, &port), 0);

	/* shml_chan_open: bad channel index. */
	struct shml_chan ch;
	CHECK_EQ(shml_region_attach(&r, &t.cfg, 0, mem, need, &port), 0);
	CHECK_EQ(shml_chan_open(&r, &ch, 1, NULL), SHML_EINVAL);
	CHECK_EQ(shml_chan_open(&r, &ch, 0xffffffffu, NULL), SHML_EINVAL);
	CHECK_EQ(shml_chan_open(NULL, &ch, 0, NULL), SHML_EINVAL);
	free(mem);
	free(copy);
	n_cases++;
}

int main(void)
{
	config_cases();
	version_differs();
	attach_errors();
	printf("test_mismatch: ok (%d cases: 7 config differences, version/magic of the peer slot, "
	       "attach ERANGE/EINVAL/ECONFIG write nothing)\n",
	       n_cases);
	return 0;
}
