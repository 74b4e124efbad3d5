/* SPDX-License-Identifier: MIT */
/*
 * The shmlink command-line tool: shared declarations of the files in tools/.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
 * Every message goes to stderr as "shmlink: [FILE:LINE: ]what to fix".
 */
#ifndef SHMLINK_CLI_H
#define SHMLINK_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "shmlink.h"
#include "shmlink_host.h"
#include "shmlink_ivshmem.h"
#include "shmlink_xen.h"

#ifndef SHMLINK_VERSION
#define SHMLINK_VERSION "unknown"
#endif

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* ---- messages (cli_util.c) ------------------------------------------------- */

/* "shmlink: <what>" on stderr. */
void cli_err(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "shmlink: FILE:LINE: <what>" (LINE 0: "shmlink: FILE: <what>"). */
void cli_err_at(const char *file, int line, const char *fmt, ...) CLI_PRINTF(3, 4);
/* A usage error of command @cmd: message, then a hint to --help. Returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* ---- values (cli_util.c) ------------------------------------------------------ */

/* A size: decimal or 0x hex, optional K/M/G (KiB/MiB/GiB, powers of 1024). 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);
/* An unsigned integer, decimal or 0x hex, <= @max. 0 or -1. */
int cli_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Seconds with an optional fraction ("0.5"), >= 0. 0 or -1. */
int cli_parse_seconds(const char *s, double *out);
/* "64 KiB", "1.5 MiB", "100 bytes" into @buf. */
const char *cli_human(uint64_t n, char *buf, size_t len);
/* The suffixed form a config file would use ("64K", "1M", "3000"). */
const char *cli_size_str(uint64_t n, char *buf, size_t len);
int cli_is_pow2(uint64_t v);
uint64_t cli_next_pow2(uint64_t v);

/* JSON string (with quotes and escapes) to @f. */
void cli_json_str(FILE *f, const char *s);

/* ---- the static configuration (cli_config.c) ---------------------------------- */

#define CLI_NAME_MAX 32 /* SHML_MAX_NAME + NUL */
#define CLI_MAX_GUESTS SHML_MAX_DOMAINS

struct cli_domain {
	char name[CLI_NAME_MAX];
	uint32_t id;
	int line;    /* [domain NAME] */
	int id_line; /* id = */
};

struct cli_channel {
	char name[CLI_NAME_MAX];
	uint32_t a, b, mode, ring_ab, ring_ba, max_message;
	int line; /* [channel NAME] */
	int a_line, b_line, mode_line, ring_line, ring_ab_line, ring_ba_line, max_message_line;
};

enum cli_xen_shm { CLI_XEN_PASSTHROUGH = 0, CLI_XEN_STATIC = 1 };

/* How this machine reaches the region: [host] port, or --port. */
enum cli_port { CLI_PORT_FILE, CLI_PORT_IVSHMEM, CLI_PORT_IVSHMEM_GUEST, CLI_PORT_XEN };

/* Per-channel event channel ports of [xen]. */
struct cli_xen_evtchn {
	uint32_t port_a, port_b; /* local port in side a's domain, in side b's */
	int line;                /* evtchn.NAME =, or 0 for the evtchn_base default */
};

struct cli_config {
	const char *file; /* as given on the command line */

	/* [region] */
	uint64_t region_size;
	uint32_t cacheline;
	int region_line, size_line, cacheline_line;

	struct cli_domain domains[SHML_MAX_DOMAINS];
	uint32_t n_domains;
	struct cli_channel *channels; /* SHML_MAX_CHANNELS entries */
	uint32_t n_channels;

	/* What the core sees (names point into domains[]/channels[]). */
	struct shml_domain_cfg dcfg[SHML_MAX_DOMAINS];
	struct shml_channel_cfg *ccfg;
	struct shml_config cfg;
	uint64_t hash;

	/* [host]: how this machine reaches the region (not hashed). */
	int host_line;
	char *host_path;
	int host_path_line;
	int host_domain; /* default --as, or -1 */
	int host_domain_line;
	int host_port; /* enum cli_port, default CLI_PORT_FILE */
	int host_port_line;
	int port; /* in effect after cli_choose_port(): [host] port or --port */

	/* [qemu]: for `gen qemu` (and the size `init` gives the file). */
	int qemu_line;
	char *qemu_mem_path; /* NULL: host_path */
	int qemu_mem_path_line;
	uint64_t qemu_size; /* 0: region size rounded up to a power of two */
	int qemu_size_line;
	char *qemu_id; /* NULL: "shmlink" */
	int qemu_id_line;
	int qemu_guests[CLI_MAX_GUESTS]; /* domain indices; n 0 = all */
	uint32_t n_qemu_guests;
	int qemu_guests_line;
	char *qemu_server; /* ivshmem-server socket: doorbell variant */
	int qemu_server_line;
	uint32_t qemu_vectors; /* 0: one per channel */
	int qemu_vectors_line;
	struct shml_ivshmem_ids qemu_ids; /* domain index -> ivshmem peer id, a static override */
	int qemu_ids_line;                /* 0: absent, ids are found in the region */
	char *qemu_pci;                   /* ivshmem-guest: PCI address, NULL: the first */
	int qemu_pci_line;
	int qemu_guest_mode; /* enum shml_ivshmem_guest_mode */
	int qemu_guest_mode_line;

	/* [xen]: for `gen xen-dt` (and the ports in `gen header`). */
	int xen_line;
	int xen_shm; /* enum cli_xen_shm */
	int xen_shm_line;
	uint64_t xen_host_address, xen_guest_address;
	int xen_host_address_line, xen_guest_address_line;
	char *xen_shm_id; /* NULL: "shmlink" */
	int xen_shm_id_line;
	int xen_owner; /* domain index, or -1: the first domU */
	int xen_owner_line;
	int xen_domus[CLI_MAX_GUESTS]; /* domain indices; n 0 = all */
	uint32_t n_xen_domus;
	int xen_domus_line;
	uint32_t xen_evtchn_base;
	int xen_evtchn_base_line;
	uint32_t xen_address_cells, xen_size_cells;
	int xen_address_cells_line, xen_size_cells_line;
	struct cli_xen_evtchn *xen_evtchn; /* per channel, valid after cli_xen_resolve() */
};

/*
 * Parse and validate @file. On failure prints "shmlink: FILE:LINE: ..." and
 * returns -1 (exit code CLI_USAGE); on success the config passed
 * shml_config_check() and the CLI's own rules.
 */
int cli_config_load(struct cli_config *c, const char *file);
void cli_config_free(struct cli_config *c);

/* Names of things, for messages. */
const char *cli_mode_name(uint32_t mode);

/* Region file path: @override (--region) or [host] path; NULL with a message if none. */
const char *cli_region_path(const struct cli_config *c, const char *override);
/* Bytes the region file should have: the region size, or [qemu] size when QEMU maps
 * the same file. */
uint64_t cli_region_file_size(const struct cli_config *c, const char *path);
/* QEMU memory backend size ([qemu] size or the region size rounded up to a power of two). */
uint64_t cli_qemu_size(const struct cli_config *c);
/* Is domain @d a Xen domU / QEMU guest of the config? */
int cli_is_xen_domu(const struct cli_config *c, uint32_t d);
int cli_is_qemu_guest(const struct cli_config *c, uint32_t d);
/* Validate [xen] for the generators and fill c->xen_evtchn. -1 with a message. */
int cli_xen_resolve(struct cli_config *c);
/* Only the event channel ports of c->xen_evtchn (what the xen port needs). -1 with a message. */
int cli_xen_ports(struct cli_config *c);

/* "file", "ivshmem", "ivshmem-guest", "xen"; and back (-1: unknown). */
const char *cli_port_name(int port);
int cli_port_parse(const char *s);
/* ivshmem vectors every peer uses: [qemu] vectors, or one per channel (at most 64). */
uint32_t cli_ivshmem_vectors(const struct cli_config *c);

/* ---- commands -------------------------------------------------------------------- */

int cmd_layout(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* True if @arg is -h or --help. */
int cli_is_help(const char *arg);
/* After getopt_long() returned '?': a usage error naming the option. */
int cli_bad_option(const char *cmd, char **argv);

/* ---- the region on this host (cli_region.c) ----------------------------------------- */

/* A read-only view for inspection: the file mapped PROT_READ, nothing written. */
struct cli_view {
	const char *path;
	int fd;
	void *mem;
	uint64_t map_size, file_size;
	struct shml_port port;
	struct shml_region region; /* filled by hand: shmlink.h has no read-only attach */
};
/* Map @path read-only for @c. Returns 0, or CLI_FAIL with a message. */
int cli_view_open(struct cli_view *v, const struct cli_config *c, const char *path);
void cli_view_close(struct cli_view *v);

/* One end of a channel, attached through the port of c->port. */
struct cli_end {
	struct cli_config *c;
	const char *path; /* the region file (file port), else NULL */
	struct shml_host_region hr;
	struct shml_ivshmem_client *ivc; /* CLI_PORT_IVSHMEM */
	struct shml_ivshmem_guest *ivg;  /* CLI_PORT_IVSHMEM_GUEST */
	struct shml_xen *xen;            /* CLI_PORT_XEN */
	uint32_t *xen_evtchn;            /* our port per channel, for shml_xen_open() */
	struct shml_port port;           /* a copy of the port's hooks: the region uses it */
	struct shml_region region;
	struct shml_chan ch;
	uint32_t chan; /* channel index */
	uint32_t self; /* our domain index */
	uint32_t peer; /* the peer's domain index */
	uint32_t side; /* 0: side A, 1: side B */
	int lock_fd;   /* holds the lock on our end of the channel */
	int opened;
};

/*
 * Choose the port (@port, i.e. --port, or [host] port) and check that the
 * config has what it needs; for the file port, find the region file (@region,
 * i.e. --region, or [host] path) into *@path (NULL for the other ports).
 * Returns 0 or CLI_USAGE (message printed).
 */
int cli_choose_port(struct cli_config *c, const char *cmd, const char *port, const char *region,
                    const char **path);

/*
 * What every channel command does first: load @config, then cli_choose_port().
 * Returns 0 or CLI_USAGE (message printed); cli_config_free() after, also on failure.
 */
int cli_load_region(struct cli_config *c, const char *config, const char *cmd, const char *port,
                    const char *region, const char **path);

/*
 * Resolve CHANNEL and --as (NULL: default, see cli_region.c); file port: map
 * the region file, lock our end against other local processes; other ports:
 * open the port (--as or [host] domain required); attach and open.
 * Returns 0, CLI_FAIL or CLI_USAGE (message printed).
 */
int cli_end_open(struct cli_end *e, struct cli_config *c, const char *path, const char *channel,
                 const char *as, const char *cmd);
/* The same with channel options (NULL: defaults), e.g. spin_ns = 0 to sleep at once. */
int cli_end_open_opts(struct cli_end *e, struct cli_config *c, const char *path,
                      const char *channel, const char *as, const char *cmd,
                      const struct shml_chan_opts *opts);
/* Open port e->c->port but the file port (cli_port.c): the mapping, e->port. CLI_FAIL. */
int cli_port_open(struct cli_end *e, void **mem, uint64_t *size);
/* After the attach: an ivshmem port publishes our peer id in the region. 0 or CLI_FAIL. */
int cli_port_attached(struct cli_end *e);
void cli_port_close(struct cli_end *e);

/* Close the channel end (peer sees CLOSED), unlock, unmap. Idempotent. */
void cli_end_close(struct cli_end *e);

/* Is side @side of channel @chan locked by a process on this host? (fd: any fd of the file) */
int cli_side_locked(int fd, const struct cli_config *c, uint32_t chan, uint32_t side);

/* Set by SIGINT/SIGTERM once cli_install_signals() ran. */
extern volatile int cli_interrupted;
void cli_install_signals(void);

#endif
