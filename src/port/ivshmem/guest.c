/* SPDX-License-Identifier: MIT */
/*
 * Inside a Linux guest: the ivshmem PCI device through a stock kernel.
 *
 * VFIO mode (ivshmem-doorbell): bind the device to vfio-pci with
 * driver_override, open its IOMMU group in a type-1 container, map BAR2 (the
 * region) and BAR0 (registers), set memory decoding and bus mastering (MSI-X
 * messages are bus-master writes), and wire the MSI-X vectors to eventfds
 * with VFIO_DEVICE_SET_IRQS. notify writes (peer id << 16 | vector) to the
 * Doorbell register, the peer id read from the peer's record in the region;
 * wait polls the channel vector's eventfd.
 *
 * Sysfs mode (ivshmem-plain, or no IOMMU): mmap the PCI sysfs resource2
 * file. Memory only: no notify, no wait; the core polls.
 */
#include "ivshmem_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ERR(...) shml__ivs_seterr(g->err, sizeof(g->err), __VA_ARGS__)
#define SYSPCI "/sys/bus/pci/devices"

static int read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;
	if (fd < 0)
		return -errno;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -errno;
	buf[r] = 0;
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = 0;
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;
	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s));
	close(fd);
	return r == (ssize_t)strlen(s) ? 0 : (r < 0 ? -errno : -EIO);
}

static int sysfs_hex(const char *bdf, const char *attr, unsigned long *out)
{
	char path[PATH_MAX], buf[64];
	snprintf(path, sizeof(path), SYSPCI "/%s/%s", bdf, attr);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	*out = strtoul(buf, NULL, 16);
	return 0;
}

static int is_ivshmem(const char *bdf)
{
	unsigned long v, d;
	return sysfs_hex(bdf, "vendor", &v) == 0 && sysfs_hex(bdf, "device", &d) == 0 &&
	       v == SHML_IVSHMEM_VENDOR && d == SHML_IVSHMEM_DEVICE;
}

static int find_device(struct shml_ivshmem_guest *g, const char *bdf)
{
	DIR *dir;
	struct dirent *e;
	char best[sizeof(g->bdf)] = "";
	if (bdf) {
		if (!is_ivshmem(bdf)) {
			ERR("%s is not an ivshmem device (1af4:1110)", bdf);
			return -ENODEV;
		}
		snprintf(g->bdf, sizeof(g->bdf), "%s", bdf);
		return 0;
	}
	dir = opendir(SYSPCI);
	if (!dir) {
		ERR("cannot read " SYSPCI ": %s (is sysfs mounted?)", strerror(errno));
		return -ENODEV;
	}
	/* The lowest address, so that "the first device" is stable. */
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(best) ||
		    !is_ivshmem(e->d_name))
			continue;
		if (!best[0] || strcmp(e->d_name, best) < 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(dir);
	if (!best[0]) {
		ERR("no ivshmem device (PCI 1af4:1110) in this machine");
		return -ENODEV;
	}
	snprintf(g->bdf, sizeof(g->bdf), "%s", best);
	return 0;
}

/* Does BAR1 (MSI-X, only ivshmem-doorbell has it) exist? */
static int has_msix_bar(const char *bdf)
{
	char path[PATH_MAX], buf[512];
	unsigned long long start = 0, end = 0;
	char *line;
	snprintf(path, sizeof(path), SYSPCI "/%s/resource", bdf);
	if (read_file(path, buf, sizeof(buf)))
		return 0;
	line = strchr(buf, '\n'); /* the second line is BAR1 */
	if (!line || sscanf(line + 1, "%llx %llx", &start, &end) != 2)
		return 0;
	return end > start;
}

static int has_iommu_group(const char *bdf)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), SYSPCI "/%s/iommu_group", bdf);
	return stat(path, &st) == 0;
}

static uint64_t now_ns(void)
{
	return shml__ivs_now(NULL);
}

static int open_sysfs(struct shml_ivshmem_guest *g)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), SYSPCI "/%s/resource2", g->bdf);
	g->res_fd = open(path, O_RDWR | O_CLOEXEC);
	if (g->res_fd < 0) {
		int e = errno;
		ERR("cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(g->res_fd, &st) != 0 || st.st_size <= 0) {
		ERR("%s has no size", path);
		return -ENODEV;
	}
	g->size = (uint64_t)st.st_size;
	g->mem = mmap(NULL, (size_t)g->size, PROT_READ | PROT_WRITE, MAP_SHARED, g->res_fd, 0);
	if (g->mem == MAP_FAILED) {
		int e = errno;
		g->mem = NULL;
		ERR("cannot map %s: %s", path, strerror(e));
		return -e;
	}
	g->bar2_map_size = g->size;
	return 0;
}

/* Bind to vfio-pci, return the IOMMU group number. */
static int bind_vfio(struct shml_ivshmem_guest *g)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct stat st;
	ssize_t n;
	const char *drv;
	int rc;

	if (stat("/sys/bus/pci/drivers/vfio-pci", &st) != 0) {
		ERR("the vfio-pci driver is not loaded (modprobe vfio-pci)");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), SYSPCI "/%s/driver", g->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		drv = strrchr(link, '/');
		drv = drv ? drv + 1 : link;
		if (strcmp(drv, "vfio-pci") == 0)
			goto bound;
		snprintf(path, sizeof(path), SYSPCI "/%s/driver/unbind", g->bdf);
		rc = write_file(path, g->bdf);
		if (rc) {
			ERR("cannot unbind %s from %s: %s", g->bdf, drv, strerror(-rc));
			return rc;
		}
	}
	snprintf(path, sizeof(path), SYSPCI "/%s/driver_override", g->bdf);
	rc = write_file(path, "vfio-pci");
	if (rc) {
		ERR("cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = write_file("/sys/bus/pci/drivers_probe", g->bdf);
	snprintf(path, sizeof(path), SYSPCI "/%s/driver", g->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		ERR("vfio-pci did not take %s (%s): does it have an IOMMU group? Boot with "
		    "intel_iommu=on (QEMU: -device intel-iommu)",
		    g->bdf, rc ? strerror(-rc) : "no driver after probe");
		return -ENODEV;
	}
bound:
	snprintf(path, sizeof(path), SYSPCI "/%s/iommu_group", g->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		ERR("%s has no IOMMU group: boot with intel_iommu=on (QEMU: -machine "
		    "q35,kernel-irqchip=split -device intel-iommu,intremap=on)",
		    g->bdf);
		return -ENODEV;
	}
	link[n] = 0;
	drv = strrchr(link, '/');
	return atoi(drv ? drv + 1 : link);
}

static int region_info(struct shml_ivshmem_guest *g, uint32_t index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(g->device, VFIO_DEVICE_GET_REGION_INFO, ri) != 0) {
		int e = errno;
		ERR("VFIO_DEVICE_GET_REGION_INFO %u: %s", index, strerror(e));
		return -e;
	}
	return 0;
}

static uint32_t reg_read(struct shml_ivshmem_guest *g, uint32_t off)
{
	uint32_t v = 0;
	if (g->regs)
		return g->regs[off / 4];
	if (pread(g->device, &v, 4, (off_t)(g->regs_off + off)) != 4)
		return 0;
	return v;
}

static int open_vfio(struct shml_ivshmem_guest *g, uint32_t vectors)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri;
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_irq_set *set;
	char path[64];
	long page = sysconf(_SC_PAGESIZE);
	uint16_t cmd;
	uint64_t t0;
	int group, rc;

	group = bind_vfio(g);
	if (group < 0)
		return group;
	g->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (g->container < 0) {
		int e = errno;
		ERR("cannot open /dev/vfio/vfio: %s", strerror(e));
		return -e;
	}
	if (ioctl(g->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(g->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)) {
		ERR("this kernel's VFIO has no type-1 IOMMU support");
		return -ENOTSUP;
	}
	/* devtmpfs makes the group node shortly after the bind. */
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	t0 = now_ns();
	while ((g->group = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == ENOENT &&
	       now_ns() - t0 < 3000000000ull) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	if (g->group < 0) {
		int e = errno;
		ERR("cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (ioctl(g->group, VFIO_GROUP_GET_STATUS, &gs) != 0 ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ERR("IOMMU group %d is not viable: bind every device in it to vfio-pci", group);
		return -EBUSY;
	}
	if (ioctl(g->group, VFIO_GROUP_SET_CONTAINER, &g->container) != 0 ||
	    ioctl(g->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0) {
		int e = errno;
		ERR("cannot set up the VFIO container: %s", strerror(e));
		return -e;
	}
	g->device = ioctl(g->group, VFIO_GROUP_GET_DEVICE_FD, g->bdf);
	if (g->device < 0) {
		int e = errno;
		ERR("VFIO_GROUP_GET_DEVICE_FD %s: %s", g->bdf, strerror(e));
		return -e;
	}

	/* BAR2: the region. */
	rc = region_info(g, VFIO_PCI_BAR2_REGION_INDEX, &ri);
	if (rc)
		return rc;
	if (!ri.size || !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		ERR("BAR2 of %s cannot be mapped", g->bdf);
		return -ENODEV;
	}
	g->mem = mmap(NULL, (size_t)ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, g->device,
	              (off_t)ri.offset);
	if (g->mem == MAP_FAILED) {
		int e = errno;
		g->mem = NULL;
		ERR("cannot map BAR2: %s", strerror(e));
		return -e;
	}
	g->size = ri.size;
	g->bar2_map_size = ri.size;

	/* BAR0: registers. vfio-pci maps a BAR smaller than a page only if it
	 * sits alone in its page; otherwise go through pread/pwrite. */
	rc = region_info(g, VFIO_PCI_BAR0_REGION_INDEX, &ri);
	if (rc)
		return rc;
	g->regs_off = ri.offset;
	if (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		uint64_t len = (ri.size + (uint64_t)page - 1) & ~((uint64_t)page - 1);
		void *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, g->device,
		               (off_t)ri.offset);
		if (m != MAP_FAILED) {
			g->regs_map = m;
			g->regs_map_size = len;
			g->regs = m;
		}
	}

	/* Memory decoding and bus mastering: MSI-X messages are bus-master writes. */
	rc = region_info(g, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
	if (rc)
		return rc;
	if (pread(g->device, &cmd, 2, (off_t)(ri.offset + 4)) != 2) {
		ERR("cannot read the PCI command register");
		return -EIO;
	}
	cmd |= 0x6;
	if (pwrite(g->device, &cmd, 2, (off_t)(ri.offset + 4)) != 2) {
		ERR("cannot write the PCI command register");
		return -EIO;
	}

	g->id = (int32_t)reg_read(g, SHML_IVSHMEM_REG_IVPOSITION);

	/* MSI-X vectors -> eventfds. */
	if (ioctl(g->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) != 0 || ii.count == 0) {
		ERR("%s has no MSI-X vectors: is it ivshmem-doorbell (not -plain)?", g->bdf);
		return -ENODEV;
	}
	g->vectors = vectors && vectors < ii.count ? vectors : ii.count;
	if (g->vectors > SHML_IVSHMEM_MAX_VECTORS)
		g->vectors = SHML_IVSHMEM_MAX_VECTORS;
	if (vectors > g->vectors) {
		ERR("%s has %u MSI-X vectors, %u asked for", g->bdf, ii.count, vectors);
		return -EINVAL;
	}
	set = calloc(1, sizeof(*set) + g->vectors * sizeof(int32_t));
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)(sizeof(*set) + g->vectors * sizeof(int32_t));
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = g->vectors;
	for (uint32_t v = 0; v < g->vectors; v++) {
		int32_t fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0) {
			int e = errno;
			free(set);
			ERR("eventfd: %s", strerror(e));
			return -e;
		}
		g->efd[v] = fd;
		memcpy(set->data + v * sizeof(int32_t), &fd, sizeof(fd));
	}
	rc = ioctl(g->device, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	if (rc != 0) {
		int e = errno;
		ERR("VFIO_DEVICE_SET_IRQS (MSI-X, %u vectors): %s", g->vectors, strerror(e));
		return -e;
	}
	return 0;
}

void shml_ivshmem_guest_doorbell(struct shml_ivshmem_guest *g, uint32_t id, uint32_t vector)
{
	uint32_t v = (id << 16) | (vector & 0xffffu);
	if (g->mode != SHML_IVSHMEM_VFIO)
		return;
	if (g->regs) {
		g->regs[SHML_IVSHMEM_REG_DOORBELL / 4] = v;
		g->stats.notifies++;
	} else if (pwrite(g->device, &v, 4, (off_t)(g->regs_off + SHML_IVSHMEM_REG_DOORBELL)) ==
	           4) {
		g->stats.notifies++;
	} else {
		g->stats.notify_dropped++;
	}
}

static void guest_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	struct shml_ivshmem_guest *g = ctx;
	/* Range-checked; a stale id rings nobody or the wrong peer (QEMU drops unknown ids). */
	int32_t id = shml_ivshmem_peer_id(ch, g->ids.id);
	(void)doorbell;
	if (id < 0) {
		g->stats.notify_dropped++;
		return;
	}
	/* The doorbell word was store-released by the core; the MMIO write is ordered after it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	shml_ivshmem_guest_doorbell(g, (uint32_t)id, shml__ivs_vector(ch, g->vectors));
}

static int guest_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                      uint32_t expected, uint64_t timeout_ns)
{
	struct shml_ivshmem_guest *g = ctx;
	int extra;
	/* Whoever wakes us finds our id in the region: make sure it is there. */
	shml_ivshmem_publish(ch->region, g->id);
	return shml__ivs_wait_eventfd(g->efd[shml__ivs_vector(ch, g->vectors)], -1, peer_doorbell,
	                              expected, timeout_ns, &g->stats, &extra);
}

int shml_ivshmem_guest_open(struct shml_ivshmem_guest *g, const char *bdf, int mode,
                            uint32_t vectors, const struct shml_ivshmem_ids *ids)
{
	int rc;
	memset(g, 0, sizeof(*g));
	g->container = g->group = g->device = g->res_fd = -1;
	g->id = SHML_IVSHMEM_NO_ID;
	for (uint32_t v = 0; v < SHML_IVSHMEM_MAX_VECTORS; v++)
		g->efd[v] = -1;
	if (ids)
		g->ids = *ids;
	else
		shml_ivshmem_ids_clear(&g->ids);
	if (vectors > SHML_IVSHMEM_MAX_VECTORS) {
		ERR("at most %u vectors", SHML_IVSHMEM_MAX_VECTORS);
		return -EINVAL;
	}
	rc = find_device(g, bdf);
	if (rc)
		return rc;
	if (mode == SHML_IVSHMEM_AUTO)
		mode = has_msix_bar(g->bdf) && has_iommu_group(g->bdf) ? SHML_IVSHMEM_VFIO
		                                                       : SHML_IVSHMEM_SYSFS;
	g->mode = mode;
	if (mode == SHML_IVSHMEM_SYSFS)
		rc = open_sysfs(g);
	else if (mode == SHML_IVSHMEM_VFIO)
		rc = open_vfio(g, vectors);
	else
		rc = -EINVAL;
	if (rc) {
		char why[sizeof(g->err)];
		memcpy(why, g->err, sizeof(why));
		shml_ivshmem_guest_close(g);
		memcpy(g->err, why, sizeof(why));
		return rc;
	}
	g->port = (struct shml_port){
		.ctx = g,
		.now_ns = shml__ivs_now,
		.relax = shml__ivs_relax,
	};
	if (mode == SHML_IVSHMEM_VFIO) {
		g->port.notify = guest_notify;
		g->port.wait = guest_wait;
	}
	return 0;
}

void shml_ivshmem_guest_close(struct shml_ivshmem_guest *g)
{
	if (g->device >= 0 && g->vectors) {
		struct vfio_irq_set set = { .argsz = sizeof(set),
			                    .flags = VFIO_IRQ_SET_DATA_NONE |
			                             VFIO_IRQ_SET_ACTION_TRIGGER,
			                    .index = VFIO_PCI_MSIX_IRQ_INDEX };
		ioctl(g->device, VFIO_DEVICE_SET_IRQS, &set);
	}
	for (uint32_t v = 0; v < SHML_IVSHMEM_MAX_VECTORS; v++)
		if (g->efd[v] >= 0) {
			close(g->efd[v]);
			g->efd[v] = -1;
		}
	g->vectors = 0;
	if (g->mem)
		munmap(g->mem, (size_t)g->bar2_map_size);
	g->mem = NULL;
	if (g->regs_map)
		munmap(g->regs_map, (size_t)g->regs_map_size);
	g->regs_map = NULL;
	g->regs = NULL;
	if (g->device >= 0)
		close(g->device);
	if (g->group >= 0)
		close(g->group);
	if (g->container >= 0)
		close(g->container);
	if (g->res_fd >= 0)
		close(g->res_fd);
	g->device = g->group = g->container = g->res_fd = -1;
	g->err[0] = 0;
}
