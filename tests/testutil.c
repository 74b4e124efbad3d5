/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

void tu_config_init(struct tu_config *t, uint32_t mode, uint32_t ring_size)
{
	memset(t, 0, sizeof(*t));
	t->domains[0] = (struct shml_domain_cfg){ .name = "a", .id = 1 };
	t->domains[1] = (struct shml_domain_cfg){ .name = "b", .id = 2 };
	t->channels[0] = (struct shml_channel_cfg){ .name = "ch0",
		                                    .a = 0,
		                                    .b = 1,
		                                    .mode = mode,
		                                    .ring_ab = ring_size,
		                                    .ring_ba = ring_size };
	t->cfg.cacheline = 64;
	t->cfg.n_domains = 2;
	t->cfg.domains = t->domains;
	t->cfg.n_channels = 1;
	t->cfg.channels = t->channels;
	t->cfg.region_size = shml_layout_bytes(&t->cfg);
}

void tu_pair_open(struct tu_pair *p, const struct shml_config *cfg, int connect)
{
	memset(p, 0, sizeof(*p));
	CHECK(posix_memalign(&p->mem, 4096, cfg->region_size) == 0);
	/* Garbage, not zeros: the protocol must not rely on cleared memory. */
	tu_fill(p->mem, cfg->region_size, 0x5eed);
	shml_host_port_init(&p->port);
	CHECK_EQ(shml_region_attach(&p->ra, cfg, 0, p->mem, cfg->region_size, &p->port), 0);
	CHECK_EQ(shml_region_attach(&p->rb, cfg, 1, p->mem, cfg->region_size, &p->port), 0);
	CHECK_EQ(shml_chan_open(&p->ra, &p->a, 0, NULL), 0);
	CHECK_EQ(shml_chan_open(&p->rb, &p->b, 0, NULL), 0);
	if (connect)
		tu_pair_connect(p);
}

/* Open both ends again: the core samples the port's optional hooks at open. */
void tu_pair_reopen(struct tu_pair *p, int connect)
{
	CHECK_EQ(shml_chan_open(&p->ra, &p->a, 0, NULL), 0);
	CHECK_EQ(shml_chan_open(&p->rb, &p->b, 0, NULL), 0);
	if (connect)
		tu_pair_connect(p);
}

void tu_pair_connect(struct tu_pair *p)
{
	for (int i = 0; i < 100; i++) {
		int ra = shml_poll(&p->a), rb = shml_poll(&p->b);
		if (ra == 1 && rb == 1)
			return;
	}
	fprintf(stderr, "handshake did not complete in 100 steps\n");
	exit(1);
}

void tu_pair_close(struct tu_pair *p)
{
	shml_chan_close(&p->a);
	shml_chan_close(&p->b);
	free(p->mem);
	p->mem = NULL;
}

void tu_region_path(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "/dev/shm/shmlink-test-%s-%d", tag, (int)getpid());
}

uint32_t tu_checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

uint64_t tu_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void tu_fill(void *buf, size_t n, uint64_t seed)
{
	uint8_t *b = buf;
	uint64_t s = seed;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = tu_rand(&s);
		size_t k = n - i < 8 ? n - i : 8;
		memcpy(b + i, &r, k);
	}
}

void tu_bin_path(char *buf, size_t n, const char *name)
{
	const char *dir = getenv("SHMLINK_TEST_BIN_DIR");
	snprintf(buf, n, "%s/%s", dir ? dir : ".", name);
}
