/* SPDX-License-Identifier: MIT */
/*
 * The Linux Xen port on the build host, without Xen: the Device-memory copy
 * hooks against memcpy for every alignment, the device-tree lookup on fake
 * trees (passthrough node, Xen's xen-shmem node, ranges, ambiguity), the
 * fallback record's place, and a whole transfer between two "domains" whose
 * /dev/mem is a sparse file (polling: no event channels here).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmlink.h"
#include "shmlink_xen.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* ---- copy hooks ----------------------------------------------------------------------- */

static void test_copies(void)
{
	static uint8_t shared[256] __attribute__((aligned(64))), want[256], src[256], out[256];
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	for (unsigned doff = 0; doff < 24; doff++)
		for (unsigned soff = 0; soff < 9; soff++)
			for (unsigned n = 0; n <= 80; n++) {
				memset(shared, 0xa5, sizeof(shared));
				memset(want, 0xa5, sizeof(want));
				memcpy(want + doff, src + soff, n);
				shml_xen_copy_to_shared(NULL, shared + doff, src + soff, n);
				CHECK(memcmp(shared, want, sizeof(want)) == 0);
				memset(out, 0x5a, sizeof(out));
				shml_xen_copy_from_shared(NULL, out + soff, shared + doff, n);
				CHECK(memcmp(out + soff, src + soff, n) == 0);
				CHECK(out[soff + n] == 0x5a &&
				      (soff == 0 || out[soff - 1] == 0x5a));
			}
	printf("ok: copy hooks match memcpy for every alignment\n");
}

/* ---- device tree ---------------------------------------------------------------------- */

static char root[256];

static void mkdirs(const char *rel)
{
	char p[512], *s;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void prop(const char *node, const char *name, const void *v, size_t n)
{
	char p[512];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s/%s", root, node, name);
	f = fopen(p, "wb");
	CHECK(f);
	CHECK(fwrite(v, 1, n, f) == n);
	fclose(f);
}

static void prop_str(const char *node, const char *name, const char *s)
{
	prop(node, name, s, strlen(s) + 1);
}

static void prop_cells(const char *node, const char *name, int n, const uint32_t *c)
{
	uint8_t b[64];
	for (int i = 0; i < n; i++) {
		b[4 * i] = (uint8_t)(c[i] >> 24);
		b[4 * i + 1] = (uint8_t)(c[i] >> 16);
		b[4 * i + 2] = (uint8_t)(c[i] >> 8);
		b[4 * i + 3] = (uint8_t)c[i];
	}
	prop(node, name, b, 4u * (unsigned)n);
}

static void bus(const char *node, uint32_t ac, uint32_t sc)
{
	mkdirs(node);
	prop_cells(node, "#address-cells", 1, &ac);
	prop_cells(node, "#size-cells", 1, &sc);
}

static void test_dt(void)
{
	static const char compat[] = "foo,bar\0xen,shared-memory-v1";
	struct shml_xen_region_info info;
	const uint32_t two = 2;
	snprintf(root, sizeof(root), "/tmp/shmlink-xen-dt-%d", (int)getpid());
	mkdirs("");
	prop_cells("", "#address-cells", 1, &two);
	prop_cells("", "#size-cells", 1, &two);
	CHECK(shml_xen_find_region(root, NULL, &info) == -ENOENT);

	/* A passthrough node, as `shmlink gen xen-dt --guest` writes it. */
	bus("passthrough", 2, 2);
	prop("passthrough", "ranges", "", 0);
	prop_str("passthrough", "compatible", "simple-bus");
	mkdirs("passthrough/shmlink@33000000");
	prop("passthrough/shmlink@33000000", "compatible", compat, sizeof(compat));
	prop_str("passthrough/shmlink@33000000", "xen,id", "shm0");
	prop_cells("passthrough/shmlink@33000000", "reg", 4,
	           (const uint32_t[]){ 0, 0x33000000, 0, 0x100000 });
	CHECK(shml_xen_find_region(root, "shm0", &info) == 0);
	CHECK(info.address == 0x33000000 && info.size == 0x100000);
	CHECK(info.kind == SHML_XEN_DT_PASSTHROUGH && strcmp(info.id, "shm0") == 0);
	CHECK(shml_xen_find_region(root, NULL, &info) == 0);
	CHECK(shml_xen_find_region(root, "nope", &info) == -ENOENT);
	CHECK(strstr(shml_xen_error(), "nope"));

	/* Xen's own static shared memory: /reserved-memory/xen-shmem@..., 1+1 cells. */
	bus("reserved-memory", 1, 1);
	prop("reserved-memory", "ranges", "", 0);
	mkdirs("reserved-memory/xen-shmem@34000000");
	prop_str("reserved-memory/xen-shmem@34000000", "compatible", "xen,shared-memory-v1");
	prop_str("reserved-memory/xen-shmem@34000000", "xen,id", "static1");
	prop_cells("reserved-memory/xen-shmem@34000000", "reg", 2,
	           (const uint32_t[]){ 0x34000000, 0x200000 });
	CHECK(shml_xen_find_region(root, "static1", &info) == 0);
	CHECK(info.address == 0x34000000 && info.size == 0x200000);
	CHECK(info.kind == SHML_XEN_DT_STATIC_SHM);
	CHECK(shml_xen_find_region(root, NULL, &info) == -EEXIST);

	/* A bus that translates: child 0x1000 -> parent 0x50001000. */
	bus("soc", 1, 1);
	prop_cells("soc", "ranges", 4, (const uint32_t[]){ 0x0, 0x0, 0x50000000, 0x100000 });
	mkdirs("soc/shm@1000");
	prop_str("soc/shm@1000", "compatible", "xen,shared-memory-v1");
	prop_str("soc/shm@1000", "xen,id", "soc");
	prop_cells("soc/shm@1000", "reg", 2, (const uint32_t[]){ 0x1000, 0x10000 });
	CHECK(shml_xen_find_region(root, "soc", &info) == 0);
	CHECK(info.address == 0x50001000 && info.size == 0x10000);
	/* ...and one whose address no range covers. */
	prop_cells("soc/shm@1000", "reg", 2, (const uint32_t[]){ 0x200000, 0x10000 });
	CHECK(shml_xen_find_region(root, "soc", &info) == -EINVAL);
	printf("ok: device-tree lookup (passthrough, xen-shmem, ranges, errors)\n");
}

/* ---- a transfer through a fake /dev/mem ------------------------------------------------- */

static const struct shml_domain_cfg doms[] = { { .name = "linux1", .id = 1 },
	                                       { .name = "linux2", .id = 2 } };
static const struct shml_channel_cfg chans[] = {
	{ .name = "s", .a = 0, .b = 1, .mode = SHML_MODE_STREAM, .ring_ab = 4096, .ring_ba = 4096 }
};
static const struct shml_config cfg = { .region_size = 65536,
	                                .cacheline = 64,
	                                .n_domains = 2,
	                                .domains = doms,
	                                .n_channels = 1,
	                                .channels = chans };

static char mem_path[256];

static int side(uint32_t self, size_t total)
{
	struct shml_xen_opts o = {
		.shm_id = "shm0", .dt_root = root, .mem_path = mem_path, .bind = SHML_XEN_BIND_POLL
	};
	struct shml_xen *x;
	struct shml_region r;
	struct shml_chan ch;
	uint8_t buf[777];
	size_t done = 0;
	int rc = shml_xen_open(&x, &cfg, self, &o);
	if (rc) {
		fprintf(stderr, "shml_xen_open: %s\n", shml_xen_error());
		return 1;
	}
	CHECK(shml_xen_chan_binding(x, 0) == SHML_XEN_BIND_POLL);
	CHECK(shml_xen_chan_fd(x, 0) == -1);
	CHECK(shml_region_attach(&r, &cfg, self, shml_xen_mem(x), shml_xen_size(x),
	                         shml_xen_port(x)) == 0);
	CHECK(shml_chan_open(&r, &ch, 0, NULL) == 0);
	while (done < total) {
		size_t n = (done * 13 + 5) % sizeof(buf) + 1;
		int32_t k;
		if (n > total - done)
			n = total - done;
		if (self == 0) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)((done + i) * 31 + 7);
			k = shml_write_all(&ch, buf, n, 10000000000ull);
			CHECK(k == (int32_t)n);
		} else {
			k = shml_read_wait(&ch, buf, n, 10000000000ull);
			CHECK(k > 0);
			for (int32_t i = 0; i < k; i++)
				CHECK(buf[i] == (uint8_t)((done + (size_t)i) * 31 + 7));
		}
		done += (size_t)k;
	}
	if (self == 0) /* wait until the reader has it all */
		while (shml_wait(&ch, SHML_EV_WRITABLE, 4096, 10000000000ull) > 0) {
			struct shml_side_view v;
			shml_inspect_side(&r, 0, 1, &v);
			if (v.rx_pos == (uint32_t)total)
				break;
		}
	shml_xen_close(x);
	return 0;
}

static void test_transfer(void)
{
	const size_t total = 200000;
	struct shml_xen_region_info info;
	int fd, st;
	pid_t pid;
	/* The node the sides find: shm0 at 0x33000000. */
	CHECK(shml_xen_find_region(root, "shm0", &info) == 0);
	snprintf(mem_path, sizeof(mem_path), "/tmp/shmlink-xen-mem-%d", (int)getpid());
	fd = open(mem_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 0x33000000 + 0x100000) == 0); /* sparse */
	close(fd);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(side(1, total));
	CHECK(side(0, total) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("ok: %zu bytes through a stream channel over a fake /dev/mem\n", total);
	unlink(mem_path);
}

static void test_publish_offset(void)
{
	/* One cache line per channel, right after the layout (rounded up to the line). */
	uint64_t end = shml_layout_bytes(&cfg);
	struct shml_config tight = cfg;
	CHECK(end % 64 == 0 && end < cfg.region_size);
	CHECK(shml_xen_publish_offset(&cfg, 0) == end);
	CHECK(shml_xen_publish_offset(&cfg, 1) == 0); /* no channel 1 */
	tight.region_size = end + 63;
	CHECK(shml_xen_publish_offset(&tight, 0) == 0); /* no room for the record */
	tight.region_size = end + 64;
	CHECK(shml_xen_publish_offset(&tight, 0) == end);
	printf("ok: fallback records after the layout\n");
}

int main(void)
{
	char cmd[300];
	test_copies();
	test_dt();
	test_publish_offset();
	test_transfer();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
