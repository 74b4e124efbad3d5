/* SPDX-License-Identifier: MIT */
/*
 * shmlink over QEMU's ivshmem device (docs/IVSHMEM.md): Linux only.
 *
 * Three pieces, one header:
 *
 *   server   an ivshmem server speaking QEMU's documented protocol
 *            (docs/specs/ivshmem-spec.rst in QEMU): hands the shared-memory
 *            fd and one eventfd per vector and peer to every client (QEMU's
 *            ivshmem-doorbell device, or the host peer below).
 *   client   a host process as an ivshmem peer: connects to the server like
 *            QEMU does, maps the region, and gets a struct shml_port whose
 *            notify writes the peer's eventfd and whose wait polls its own.
 *   guest    inside a Linux guest: finds the ivshmem PCI device (1af4:1110)
 *            in sysfs and either binds it to vfio-pci (ivshmem-doorbell: BAR2
 *            mapped, doorbell register in BAR0, MSI-X vectors delivered to
 *            eventfds) or maps BAR2 through sysfs resource2 (ivshmem-plain, or
 *            no IOMMU: polling only). A stock kernel, no custom module.
 *
 * Which ivshmem peer id is which shmlink domain is found at run time: after
 * shml_region_attach(), call shml_ivshmem_publish(&region, our id) and the
 * ports ring the id the peer published (shmlink_ivshmem_record.h); the
 * server gives every new peer a new id. A table domain index -> peer id
 * (struct shml_ivshmem_ids) is an optional static override.
 * A channel's notifications use vector (channel index % vectors); use the
 * same number of vectors for every peer (QEMU's vectors=, the server's -n).
 *
 * The ports' wait drains the eventfd of the channel's vector, so threads that
 * wait at the same time should use channels on different vectors (a stolen
 * wake-up costs at most the core's 1 s sleep cap, never correctness).
 */
#ifndef SHMLINK_IVSHMEM_H
#define SHMLINK_IVSHMEM_H

#include <stdint.h>
#include <sys/types.h>

#include "shmlink.h"
#include "shmlink_ivshmem_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ivshmem's PCI ids and BAR0 registers. */
#define SHML_IVSHMEM_VENDOR 0x1af4u
#define SHML_IVSHMEM_DEVICE 0x1110u
#define SHML_IVSHMEM_REG_IVPOSITION 0x08u
#define SHML_IVSHMEM_REG_DOORBELL 0x0cu
/** Most interrupt vectors per peer these ports handle. */
#define SHML_IVSHMEM_MAX_VECTORS 64u
/** In struct shml_ivshmem_ids: no ivshmem peer for that domain (never notified). */
#define SHML_IVSHMEM_NO_ID (-1)

/** Domain index -> ivshmem peer id. */
struct shml_ivshmem_ids {
	int32_t id[SHML_MAX_DOMAINS]; /**< SHML_IVSHMEM_NO_ID or 0..SHML_IVSHMEM_MAX_ID */
};

/** Every entry SHML_IVSHMEM_NO_ID. */
void shml_ivshmem_ids_clear(struct shml_ivshmem_ids *ids);

/**
 * Parse "ID0,ID1,..." (the peer id of domain 0, 1, ...; "-" for none) into
 * @ids. Returns the number of entries, or -1 on a syntax error.
 */
int shml_ivshmem_ids_parse(struct shml_ivshmem_ids *ids, const char *s);

/** Counters of a port (local, not in shared memory). */
struct shml_ivshmem_stats {
	uint64_t notifies;       /**< doorbells rung */
	uint64_t notify_dropped; /**< doorbells for a peer that is not connected / unknown */
	uint64_t waits;          /**< sleeps that reached poll() */
	uint64_t interrupts;     /**< eventfd counts consumed (interrupts received) */
	uint64_t wait_timeouts;  /**< sleeps that timed out */
	uint64_t membership;     /**< server messages processed after setup (client) */
};

/* ------------------------------------------------------------------------ */
/* Server                                                                   */
/* ------------------------------------------------------------------------ */

/** Options of shml_ivshmem_server_open(). */
struct shml_ivshmem_server_opts {
	const char *socket_path; /**< UNIX socket QEMU's chardev connects to */
	const char *region_path; /**< shared-memory file ("NAME" means /dev/shm/NAME) */
	uint64_t size;           /**< region bytes (power of two); 0: the existing file's */
	uint32_t vectors;        /**< eventfds per peer, 1..SHML_IVSHMEM_MAX_VECTORS */
	uint32_t max_peers;      /**< most peers at once; 0: 64 */
	int verbose;             /**< log joins and leaves to stderr */
};

struct shml_ivshmem_server_peer {
	int fd;     /**< connection */
	int32_t id; /**< peer id */
	int efd[SHML_IVSHMEM_MAX_VECTORS];
};

/** A server. Fields are read-only for the caller. */
struct shml_ivshmem_server {
	struct shml_ivshmem_server_opts opts;
	char socket_path[108];  /**< as bound */
	char region_path[4096]; /**< resolved region file */
	int listen_fd, shm_fd;
	uint64_t size;
	int created_region; /**< 1 if open() created the region file */
	dev_t sock_dev;     /**< identity of the socket file we bound */
	ino_t sock_ino;
	struct shml_ivshmem_server_peer *peers; /**< opts.max_peers entries; fd -1: free */
	uint32_t n_peers;
	uint32_t next_id; /**< the next id to give out: ids are never reused */
	uint64_t joins, leaves;
	char err[256]; /**< the reason of the last failure, a sentence */
};

/**
 * Open the region (creating it if missing; an existing file must have @size
 * bytes) and listen on the socket. A socket file left by a dead server is
 * replaced; one a live server still listens on is an error (-EADDRINUSE).
 * Returns 0 or a negative errno value; s->err says what went wrong.
 */
int shml_ivshmem_server_open(struct shml_ivshmem_server *s,
                             const struct shml_ivshmem_server_opts *opts);

/**
 * Serve until @stop_fd (e.g. a signalfd, or a pipe; -1: none) becomes
 * readable or @timeout_ms passes (-1: no limit). Returns 0 when stopped, 1 on
 * timeout, or a negative errno value on a fatal error.
 */
int shml_ivshmem_server_run(struct shml_ivshmem_server *s, int stop_fd, int timeout_ms);

/**
 * Disconnect every peer, close everything and remove the socket file (if it
 * is still the one we bound). The region file stays unless @remove_region.
 */
void shml_ivshmem_server_close(struct shml_ivshmem_server *s, int remove_region);

/* ------------------------------------------------------------------------ */
/* Host peer (client)                                                       */
/* ------------------------------------------------------------------------ */

struct shml_ivshmem_client_peer {
	int32_t id;
	uint32_t n;
	int efd[SHML_IVSHMEM_MAX_VECTORS];
};

/** A host peer. Fields are read-only for the caller. */
struct shml_ivshmem_client {
	int sock;
	int32_t id; /**< our peer id, from the server */
	int shm_fd;
	void *mem;        /**< the region, mapped shared */
	uint64_t size;    /**< its bytes */
	uint32_t vectors; /**< vectors used: min(own eventfds, requested) */
	uint32_t n_own;
	int own[SHML_IVSHMEM_MAX_VECTORS];
	struct shml_ivshmem_client_peer *peers; /**< known peers (grows) */
	uint32_t n_peers, cap_peers;
	struct shml_ivshmem_ids ids; /**< static override (NO_ID: the peer's record) */
	struct shml_ivshmem_stats stats;
	struct shml_port port; /**< pass &c->port to shml_region_attach() */
	void *lock;            /**< private */
	int disconnected;      /**< the server went away (peers keep working) */
	char err[256];
};

/**
 * Connect to the server at @socket_path, receive our id, the region and the
 * eventfds, and map the region. @vectors: how many vectors the channels use
 * (0: all the server gives). @ids: static override domain -> peer id (NULL: none;
 * may be set later in c->ids). @timeout_ms bounds the setup.
 * Returns 0 or a negative errno value; c->err says what went wrong.
 */
int shml_ivshmem_client_connect(struct shml_ivshmem_client *c, const char *socket_path,
                                uint32_t vectors, const struct shml_ivshmem_ids *ids,
                                int timeout_ms);

/**
 * Process the server's join/leave messages that are waiting (non-blocking).
 * The port's hooks do this themselves; call it from your own poll loop when
 * the socket (c->sock) is readable. Returns the messages handled, or a
 * negative errno value if the server closed the connection.
 */
int shml_ivshmem_client_process(struct shml_ivshmem_client *c);

/** 1 if peer @id is connected (has eventfds), else 0. */
int shml_ivshmem_client_has_peer(struct shml_ivshmem_client *c, int32_t id);

/** Unmap and close. Idempotent. */
void shml_ivshmem_client_close(struct shml_ivshmem_client *c);

/* ------------------------------------------------------------------------ */
/* Linux guest                                                              */
/* ------------------------------------------------------------------------ */

/** How shml_ivshmem_guest_open() reaches the device. */
enum shml_ivshmem_guest_mode {
	SHML_IVSHMEM_AUTO = 0,  /**< VFIO if the device has MSI-X and an IOMMU group, else sysfs */
	SHML_IVSHMEM_VFIO = 1,  /**< vfio-pci: doorbells and interrupts */
	SHML_IVSHMEM_SYSFS = 2, /**< sysfs resource2 mmap: memory only, polling */
};

/** An ivshmem device opened inside a guest. Fields are read-only for the caller. */
struct shml_ivshmem_guest {
	char bdf[32]; /**< PCI address, e.g. "0000:00:03.0" */
	int mode;     /**< SHML_IVSHMEM_VFIO or SHML_IVSHMEM_SYSFS */
	void *mem;    /**< BAR2: the region */
	uint64_t size;
	int32_t id;       /**< IVPosition (VFIO mode), else SHML_IVSHMEM_NO_ID */
	uint32_t vectors; /**< MSI-X vectors wired to eventfds */
	int efd[SHML_IVSHMEM_MAX_VECTORS];
	int container, group, device, res_fd;
	volatile uint32_t *regs; /**< BAR0 mapped, or NULL: pread/pwrite at regs_off */
	void *regs_map;
	uint64_t regs_map_size, regs_off, bar2_map_size;
	struct shml_ivshmem_ids ids; /**< static override (NO_ID: the peer's record) */
	struct shml_ivshmem_stats stats;
	struct shml_port port; /**< pass &g->port to shml_region_attach() */
	char err[256];
};

/**
 * Open the ivshmem device at PCI address @bdf (NULL: the first 1af4:1110) in
 * @mode. VFIO mode binds it to vfio-pci (driver_override; needs the vfio-pci
 * module and an IOMMU: intel_iommu=on with QEMU's intel-iommu device), maps
 * BAR0 and BAR2, sets bus mastering and wires up to @vectors MSI-X vectors
 * (0: all) to eventfds. @ids: static override domain -> peer id (NULL: none).
 * Returns 0 or a negative errno value; g->err says what went wrong.
 */
int shml_ivshmem_guest_open(struct shml_ivshmem_guest *g, const char *bdf, int mode,
                            uint32_t vectors, const struct shml_ivshmem_ids *ids);

/** Ring peer @id's @vector (VFIO mode). */
void shml_ivshmem_guest_doorbell(struct shml_ivshmem_guest *g, uint32_t id, uint32_t vector);

/** Undo open (the device stays bound to vfio-pci). Idempotent. */
void shml_ivshmem_guest_close(struct shml_ivshmem_guest *g);

#ifdef __cplusplus
}
#endif
#endif
