/* SPDX-License-Identifier: MIT */
/*
 * shml_region_attach_prevalidated(): the attach of domains whose config was
 * validated before the build (`shmlink gen header`). It skips the name/id
 * checks and the hash, but no config it accepts may lead the core outside
 * the region: random corruptions of a valid config are either refused
 * without a write, or fit in the memory given. It refuses nothing that
 * shml_config_check() accepts, and a config that disagrees with its hash
 * attaches but connects to no honest peer.
 */
#include <string.h>

#include "testutil.h"

#define GUARD 256u

/* A region with guard bytes after it, to see writes past its end. */
struct mem {
	uint8_t *p;
	uint64_t size;
};

static void mem_init(struct mem *m, uint64_t size)
{
	void *p;
	CHECK(posix_memalign(&p, 4096, size + GUARD) == 0);
	memset(p, 0xa5, size + GUARD);
	m->p = p;
	m->size = size;
}

static int untouched(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xa5)
			return 0;
	return 1;
}

/* A valid config with room for corrupted counts: every index stays in these arrays. */
struct fuzz_config {
	char names[70][8];
	struct shml_domain_cfg domains[70];
	struct shml_channel_cfg channels[4];
	struct shml_config cfg;
};

static void fuzz_config_init(struct fuzz_config *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t d = 0; d < 70; d++) {
		snprintf(t->names[d], sizeof(t->names[d]), "d%u", d);
		t->domains[d] = (struct shml_domain_cfg){ .name = t->names[d], .id = d + 1 };
	}
	for (uint32_t c = 0; c < 4; c++)
		t->channels[c] = (struct shml_channel_cfg){ .name = t->names[c],
			                                    .a = c % 3,
			                                    .b = (c + 1) % 3,
			                                    .mode = 1 + c % 2,
			                                    .ring_ab = 128u << c,
			                                    .ring_ba = 512 };
	t->cfg = (struct shml_config){ .cacheline = 64,
		                       .n_domains = 3,
		                       .domains = t->domains,
		                       .n_channels = 2,
		                       .channels = t->channels };
	t->cfg.region_size = shml_layout_bytes(&t->cfg) + 64;
}

/* One random change to one field of @t: a corruption or not. */
static void corrupt(struct fuzz_config *t, uint64_t *rng)
{
	struct shml_channel_cfg *ch = &t->channels[tu_rand(rng) % 2];
	uint32_t v = (uint32_t)tu_rand(rng);
	static const uint32_t odd[] = { 0, 1, 63, 64, 96, 127, 128, 0x40000000u, 0x80000000u };
	if (tu_rand(rng) % 2)
		v = odd[v % (sizeof(odd) / sizeof(odd[0]))] + (uint32_t)(tu_rand(rng) % 3) - 1u;
	switch (tu_rand(rng) % 10) {
	case 0:
		t->cfg.cacheline = v;
		break;
	case 1:
		t->cfg.n_domains = v % 70;
		break;
	case 2:
		t->cfg.n_channels = v % 5;
		break;
	case 3:
		ch->a = v % 4;
		break;
	case 4:
		ch->b = v % 4;
		break;
	case 5:
		ch->mode = v % 4;
		break;
	case 6:
		ch->ring_ab = v;
		break;
	case 7:
		ch->ring_ba = v;
		break;
	case 8:
		ch->max_message = v;
		break;
	default:
		t->cfg.region_size = v;
		break;
	}
}

/* Fuzz: what the cheap check accepts is safe; what the full check accepts, it accepts too. */
static void test_corruptions(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct shml_port port;
	int accepted = 0, refused = 0;
	shml_host_port_init(&port);
	for (int i = 0; i < 20000; i++) {
		static struct fuzz_config t;
		struct shml_region r;
		struct mem m;
		int rc, full;
		fuzz_config_init(&t);
		for (int n = 1 + (int)(tu_rand(&rng) % 3); n > 0; n--)
			corrupt(&t, &rng);
		full = shml_config_check(&t.cfg, NULL);
		mem_init(&m, 64 * 1024);
		rc = shml_region_attach_prevalidated(&r, &t.cfg, 0x1234, 1, m.p, m.size, &port);
		if (full == 0)
			CHECK_EQ(rc, t.cfg.region_size <= m.size ? 0 : SHML_ERANGE);
		if (rc == 0) {
			struct shml_chan ch;
			uint64_t used = shml_layout_bytes(&t.cfg);
			accepted++;
			CHECK(used <= m.size);
			for (uint32_t c = 0; c < t.cfg.n_channels; c++) {
				const struct shml_channel_cfg *cc = &t.cfg.channels[c];
				uint32_t cap =
				        (cc->ring_ab < cc->ring_ba ? cc->ring_ab : cc->ring_ba) /
				                2 -
				        8;
				CHECK(cc->ring_ab >= 64 && !(cc->ring_ab & (cc->ring_ab - 1)));
				CHECK(cc->ring_ba >= 64 && !(cc->ring_ba & (cc->ring_ba - 1)));
				CHECK(shml_channel_max_message(&t.cfg, c) <= cap);
				if (shml_chan_open(&r, &ch, c, NULL) == 0)
					shml_chan_close(&ch);
			}
			CHECK(untouched(m.p + used, m.size - used + GUARD));
		} else {
			refused++;
			CHECK(untouched(m.p, m.size + GUARD));
		}
		free(m.p);
	}
	printf("ok: %d corrupted configs refused untouched, %d accepted and in bounds\n", refused,
	       accepted);
	CHECK(accepted > 100 && refused > 100);
}

/* Arguments and the region: like shml_region_attach(). */
static void test_arguments(void)
{
	struct tu_config t;
	struct shml_region r;
	struct shml_port port, noclock;
	struct mem m;
	tu_config_init(&t, SHML_MODE_MESSAGE, 256);
	shml_host_port_init(&port);
	noclock = port;
	noclock.now_ns = NULL;
	mem_init(&m, t.cfg.region_size);
	CHECK_EQ(shml_region_attach_prevalidated(&r, NULL, 1, 0, m.p, m.size, &port), SHML_EINVAL);
	CHECK_EQ(shml_region_attach_prevalidated(&r, &t.cfg, 1, 2, m.p, m.size, &port),
	         SHML_EINVAL);
	CHECK_EQ(shml_region_attach_prevalidated(&r, &t.cfg, 1, 0, NULL, m.size, &port),
	         SHML_EINVAL);
	CHECK_EQ(shml_region_attach_prevalidated(&r, &t.cfg, 1, 0, m.p, m.size, &noclock),
	         SHML_EINVAL);
	CHECK_EQ(shml_region_attach_prevalidated(&r, &t.cfg, 1, 0, m.p + 8, m.size, &port),
	         SHML_EINVAL);
	CHECK_EQ(shml_region_attach_prevalidated(&r, &t.cfg, 1, 0, m.p, m.size - 1, &port),
	         SHML_ERANGE);
	CHECK(untouched(m.p, m.size + GUARD));
	free(m.p);
	printf("ok: arguments\n");
}

/* With the right hash it talks to a fully validated peer; with a wrong one it does not. */
static void test_peers(void)
{
	struct tu_config t;
	struct tu_pair p;
	char buf[16];
	tu_config_init(&t, SHML_MODE_MESSAGE, 256);
	tu_pair_open(&p, &t.cfg, 0);
	CHECK_EQ(shml_region_attach_prevalidated(&p.rb, &t.cfg, shml_config_hash(&t.cfg), 1, p.mem,
	                                         t.cfg.region_size, &p.port),
	         0);
	CHECK_EQ(shml_chan_open(&p.rb, &p.b, 0, NULL), 0);
	tu_pair_connect(&p);
	CHECK_EQ(shml_send(&p.a, "hello", 5), 0);
	CHECK_EQ(shml_recv(&p.b, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);

	CHECK_EQ(shml_region_attach_prevalidated(&p.rb, &t.cfg, shml_config_hash(&t.cfg) ^ 1, 1,
	                                         p.mem, t.cfg.region_size, &p.port),
	         0);
	CHECK_EQ(shml_chan_open(&p.rb, &p.b, 0, NULL), 0);
	for (int i = 0; i < 8; i++)
		(void)shml_poll(&p.a);
	CHECK_EQ(shml_poll(&p.a), SHML_EMISMATCH);
	tu_pair_close(&p);
	printf("ok: a right hash connects, a wrong one is a mismatch\n");
}

int main(void)
{
	test_arguments();
	test_peers();
	test_corruptions();
	return 0;
}
