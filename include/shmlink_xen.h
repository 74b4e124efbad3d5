/* SPDX-License-Identifier: MIT */
/*
 * shmlink Xen port for Linux user space in a dom0less domU (docs/XEN.md).
 *
 * A dom0less system has no xenstore and no PV drivers: the region is a static
 * range the domU finds in its device tree, and notifications are event
 * channels. This port
 *   - finds the region in the guest device tree (/sys/firmware/devicetree/base):
 *     a node with compatible "xen,shared-memory-v1" and the wanted "xen,id",
 *     either a dom0less passthrough node (Xen without CONFIG_STATIC_SHM) or the
 *     /reserved-memory/xen-shmem@... node Xen writes for its own static
 *     shared-memory binding (xen,shared-mem, CONFIG_STATIC_SHM);
 *   - maps it through /dev/mem;
 *   - binds one event channel per channel of ours on its own /dev/xen/evtchn
 *     file: IOCTL_EVTCHN_BIND_STATIC for a static event channel (Linux >= 6.5),
 *     otherwise the fallback: side A allocates an unbound port for side B's
 *     domain and publishes it in the region's free space after the layout
 *     (docs/XEN.md, "Fallback binding"), side B binds to it (Xen needs xsm=dummy
 *     for domU-to-domU binding);
 *   - fills a struct shml_port: notify = IOCTL_EVTCHN_NOTIFY, wait = ppoll on
 *     the channel's event channel file, then read and unmask; the copy hooks
 *     use only naturally aligned loads and stores (Xen maps a passthrough
 *     region as Device memory, where unaligned accesses fault).
 *
 *     struct shml_xen *x;
 *     struct shml_xen_opts o = { .shm_id = "shm0", .evtchn = my_ports };
 *     shml_xen_open(&x, &cfg, self, &o);
 *     shml_region_attach(&region, &cfg, self, shml_xen_mem(x), shml_xen_size(x),
 *                        shml_xen_port(x));
 *
 * Errors are negative errno values; shml_xen_error() says what went wrong in
 * a sentence (the last error of this thread).
 */
#ifndef SHMLINK_XEN_H
#define SHMLINK_XEN_H

#include "shmlink.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where Linux shows the flattened device tree the domain booted with. */
#define SHML_XEN_DT_ROOT "/sys/firmware/devicetree/base"

/** How a channel's event channel is bound (struct shml_xen_opts.bind). */
enum shml_xen_bind {
	/** Static if we have a port for the channel and the kernel can bind one, else fallback. */
	SHML_XEN_BIND_AUTO = 0,
	/** IOCTL_EVTCHN_BIND_STATIC of the configured port (Linux >= 6.5). */
	SHML_XEN_BIND_STATIC = 1,
	/** Unbound port (side A) published in the region, interdomain bind (side B). */
	SHML_XEN_BIND_FALLBACK = 2,
	/** No event channel: the core polls. */
	SHML_XEN_BIND_POLL = 3,
};

/** Options of shml_xen_open(). Zero-initialise and set what you need. */
struct shml_xen_opts {
	/** The region's xen,id (xen,shm-id). NULL: the only xen,shared-memory-v1 node. */
	const char *shm_id;
	/**
	 * Per channel of the config (n_channels entries): our domain's static event
	 * channel port for it, 0 for none. NULL: no static ports (`shmlink gen
	 * header` writes them as PREFIX_CHANNEL_<NAME>_EVTCHN_A/_B).
	 */
	const uint32_t *evtchn;
	/** Per domain of the config: its Xen domid. NULL: the config's domain ids. */
	const uint32_t *domid;
	/** enum shml_xen_bind, for every channel of ours. */
	int bind;
	/** Nonzero: the region's guest physical address and size; no device-tree lookup. */
	uint64_t address, size;
	/** NULL for the defaults: SHML_XEN_DT_ROOT, "/dev/mem", "/dev/xen/evtchn". */
	const char *dt_root, *mem_path, *evtchn_path;
};

/** Which device-tree binding described the region. */
enum shml_xen_dt_kind {
	SHML_XEN_DT_PASSTHROUGH = 1, /**< dom0less passthrough node (xen,reg): Device memory */
	SHML_XEN_DT_STATIC_SHM = 2, /**< Xen's static shared memory (/reserved-memory/xen-shmem@) */
};

/** A region found in the device tree. */
struct shml_xen_region_info {
	uint64_t address; /**< guest physical address (translated through the parents' ranges) */
	uint64_t size;
	int kind;       /**< enum shml_xen_dt_kind */
	char id[64];    /**< its xen,id */
	char node[512]; /**< its directory under the device-tree root */
};

/**
 * Find the xen,shared-memory-v1 node with xen,id @shm_id (NULL: the only such
 * node) under @dt_root (NULL: SHML_XEN_DT_ROOT). Returns 0, -ENOENT (none),
 * -EEXIST (@shm_id NULL and several nodes), -EINVAL (a malformed node).
 */
int shml_xen_find_region(const char *dt_root, const char *shm_id, struct shml_xen_region_info *out);

/** A domain's Xen port: opaque, from shml_xen_open(). */
struct shml_xen;

/**
 * Find and map the region, bind the event channels of the channels where
 * domain @self is a side, fill the port. The config must pass
 * shml_config_check() and outlive the port.
 * Returns 0 with *@out set, or a negative errno (see shml_xen_error()).
 */
int shml_xen_open(struct shml_xen **out, const struct shml_config *cfg, uint32_t self,
                  const struct shml_xen_opts *opts);

/** Unbind, unmap, free. NULL is fine. */
void shml_xen_close(struct shml_xen *x);

/** The mapping (the region's first byte), its size, and the port for shml_region_attach(). */
void *shml_xen_mem(const struct shml_xen *x);
uint64_t shml_xen_size(const struct shml_xen *x);
const struct shml_port *shml_xen_port(const struct shml_xen *x);
/** Where the region came from (device tree node, address). */
const struct shml_xen_region_info *shml_xen_region(const struct shml_xen *x);

/**
 * Channel @c's event channel file (readable when an event is pending), or -1
 * when the channel polls or is not ours. shml_xen_chan_ack() consumes and
 * unmasks pending events; the port's wait hook does both itself.
 */
int shml_xen_chan_fd(const struct shml_xen *x, uint32_t c);
void shml_xen_chan_ack(struct shml_xen *x, uint32_t c);

/** The binding in effect for channel @c (enum shml_xen_bind), or -1 if not ours. */
int shml_xen_chan_binding(const struct shml_xen *x, uint32_t c);
/** Our local event channel port of channel @c (0 while not bound). */
uint32_t shml_xen_chan_local_port(const struct shml_xen *x, uint32_t c);

/** A sentence about the last shml_xen_* failure of this thread. */
const char *shml_xen_error(void);

/**
 * Offset of the fallback-binding record of channel @c in the region: the
 * layout's end rounded up to the cache line, plus one cache line per channel
 * (docs/XEN.md). Returns 0 if the region has no room for the records.
 */
uint64_t shml_xen_publish_offset(const struct shml_config *cfg, uint32_t c);

/**
 * Copy hooks for Device memory: only naturally aligned loads and stores on
 * the shared side (8-byte words where both ends allow, 4-byte words at the
 * edges; a partial word is read, patched and written back, which is safe in
 * a ring only we write). No libc. Usable by any port (the Xen baremetal port
 * uses them too).
 */
void shml_xen_copy_to_shared(void *ctx, volatile void *dst, const void *src, size_t n);
void shml_xen_copy_from_shared(void *ctx, void *dst, const volatile void *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
