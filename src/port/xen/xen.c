/* SPDX-License-Identifier: MIT */
/*
 * Xen port for Linux user space in a dom0less domU: the region from the
 * device tree through /dev/mem, notifications through /dev/xen/evtchn.
 * See include/shmlink_xen.h and docs/XEN.md.
 *
 * One /dev/xen/evtchn file per channel: an event read from a file then always
 * belongs to that channel, so channels used from different threads never
 * steal each other's events.
 */
#define _GNU_SOURCE
#include "shmlink_xen.h"
#include "../cpu_relax.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Linux's include/uapi/xen/evtchn.h, spelled out here: the C library headers
 * of a cross toolchain (Debian 12: Linux 6.1) predate IOCTL_EVTCHN_BIND_STATIC.
 */
struct xen_evtchn_bind_interdomain {
	unsigned int remote_domain, remote_port;
};
struct xen_evtchn_bind_unbound_port {
	unsigned int remote_domain;
};
struct xen_evtchn_port {
	unsigned int port;
};
#define XEN_IOCTL_EVTCHN_BIND_INTERDOMAIN                                                          \
	_IOC(_IOC_NONE, 'E', 1, sizeof(struct xen_evtchn_bind_interdomain))
#define XEN_IOCTL_EVTCHN_BIND_UNBOUND_PORT                                                         \
	_IOC(_IOC_NONE, 'E', 2, sizeof(struct xen_evtchn_bind_unbound_port))
#define XEN_IOCTL_EVTCHN_UNBIND _IOC(_IOC_NONE, 'E', 3, sizeof(struct xen_evtchn_port))
#define XEN_IOCTL_EVTCHN_NOTIFY _IOC(_IOC_NONE, 'E', 4, sizeof(struct xen_evtchn_port))
#define XEN_IOCTL_EVTCHN_BIND_STATIC _IOC(_IOC_NONE, 'E', 7, sizeof(struct xen_evtchn_port))

/* The fallback-binding record (docs/XEN.md): one cache line per channel after the layout. */
enum {
	PUB_MAGIC = 0,   /* PUB_MAGIC_VALUE once the record is complete; written last */
	PUB_HASH_LO = 4, /* config hash: a record of another config is ignored */
	PUB_HASH_HI = 8,
	PUB_DOMID = 12, /* side A's domid (the publisher) */
	PUB_PEER = 16,  /* side B's domid (the only domain that may bind) */
	PUB_PORT = 20,  /* the unbound port in side A's domain */
	PUB_NONCE = 24, /* new for every publication: side B rebinds when it changes */
	PUB_CHECK = 28, /* FNV-1a 32 of the words at 4..27 */
	PUB_BYTES = 32,
};
#define PUB_MAGIC_VALUE 0x31564558u /* "XEV1" */

/* While side B has no binding, and then to notice a republication, it polls this often. */
#define UNBOUND_POLL_NS 10000000ull    /* 10 ms */
#define REPUBLISH_POLL_NS 100000000ull /* 100 ms */
/* The wait of a polling channel (no event channel) sleeps at most this long. */
#define POLL_SLEEP_NS 1000000ull

struct xchan {
	int ours;       /* our domain is a side of this channel */
	int side;       /* 0: side A, 1: side B */
	int mode;       /* enum shml_xen_bind in effect (never AUTO) */
	int fd;         /* its /dev/xen/evtchn file, or -1 */
	int bound;      /* local port valid */
	uint32_t local; /* our port */
	uint32_t peer_domid;
	uint32_t nonce;    /* side A: what we published; side B: the record we bound to */
	uint64_t next_try; /* side B: when to look at the record again */
};

struct shml_xen {
	struct shml_port port;
	const struct shml_config *cfg;
	uint32_t self;
	uint32_t self_domid;
	uint64_t hash;
	void *map;
	size_t map_len;
	uint8_t *mem;
	uint64_t size;
	struct shml_xen_region_info info;
	struct xchan *ch;
};

static __thread char last_error[512];

static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *shml_xen_error(void)
{
	return last_error[0] ? last_error : "no error";
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xen_now(void *ctx)
{
	(void)ctx;
	return now_ns();
}

static void xen_relax(void *ctx)
{
	(void)ctx;
	shml_cpu_relax();
}

/* ---- device tree --------------------------------------------------------------------- */

/* Read property @name of node directory @dir; returns its length or -errno. */
static long read_prop(const char *dir, const char *name, void *buf, size_t cap)
{
	char path[1024];
	long n;
	int fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A number of @cells big-endian cells (1 or 2) at @p. */
static uint64_t cells_value(const uint8_t *p, uint32_t cells)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < cells; i++)
		v = v << 32 | be32(p + 4 * i);
	return v;
}

/* #address-cells / #size-cells of bus directory @dir, with the defaults of the DT spec. */
static uint32_t bus_cells(const char *dir, const char *name, uint32_t dflt)
{
	uint8_t b[4];
	if (read_prop(dir, name, b, sizeof(b)) == 4)
		return be32(b);
	return dflt;
}

/* The parent directory of @path (in place into @out). */
static void parent_of(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	if (len >= n)
		len = n - 1;
	memcpy(out, path, len);
	out[len] = 0;
}

/* Does the NUL-separated string list of property @name contain @want? */
static int prop_has_string(const char *dir, const char *name, const char *want)
{
	char buf[512];
	long n = read_prop(dir, name, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (long i = 0; i < n; i += (long)strlen(buf + i) + 1)
		if (strcmp(buf + i, want) == 0)
			return 1;
	return 0;
}

/*
 * Translate @addr, a child address of bus @bus, into the root's address space
 * through each ancestor's "ranges" (an empty "ranges" is the identity).
 */
static int translate(const char *root, const char *bus, uint64_t *addr)
{
	char cur[1024];
	snprintf(cur, sizeof(cur), "%s", bus);
	while (strlen(cur) > strlen(root)) {
		uint8_t r[256];
		char up[1024];
		long n = read_prop(cur, "ranges", r, sizeof(r));
		uint32_t ca, pa, cs, entry;
		int found = 0;
		parent_of(cur, up, sizeof(up));
		if (n < 0)
			return fail(-EINVAL,
			            "%s has no \"ranges\": its children are not memory-mapped",
			            cur);
		if (n > 0) {
			ca = bus_cells(cur, "#address-cells", 2);
			cs = bus_cells(cur, "#size-cells", 1);
			pa = bus_cells(up, "#address-cells", 2);
			if (ca > 2 || cs > 2 || pa > 2 || ca == 0)
				return fail(-EINVAL, "%s: unsupported cell counts in \"ranges\"",
				            cur);
			entry = 4 * (ca + pa + cs);
			for (long off = 0; off + (long)entry <= n; off += entry) {
				uint64_t c = cells_value(r + off, ca);
				uint64_t p = cells_value(r + off + 4 * ca, pa);
				uint64_t s = cells_value(r + off + 4 * (ca + pa), cs);
				if (*addr >= c && *addr - c < s) {
					*addr = *addr - c + p;
					found = 1;
					break;
				}
			}
			if (!found)
				return fail(-EINVAL, "%s: no \"ranges\" entry covers 0x%llx", cur,
				            (unsigned long long)*addr);
		}
		snprintf(cur, sizeof(cur), "%s", up);
	}
	return 0;
}

/* Fill @out from node directory @dir; 0 or -errno. */
static int read_region_node(const char *root, const char *dir, struct shml_xen_region_info *out)
{
	char bus[1024];
	uint8_t reg[16];
	uint32_t ac, sc;
	long n;
	parent_of(dir, bus, sizeof(bus));
	ac = bus_cells(bus, "#address-cells", 2);
	sc = bus_cells(bus, "#size-cells", 1);
	if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
		return fail(-EINVAL, "%s: #address-cells %u / #size-cells %u not supported", bus,
		            ac, sc);
	n = read_prop(dir, "reg", reg, sizeof(reg));
	if (n < (long)(4 * (ac + sc)))
		return fail(-EINVAL, "%s: no usable \"reg\" (%ld bytes, need %u)", dir, n,
		            4 * (ac + sc));
	memset(out, 0, sizeof(*out));
	out->address = cells_value(reg, ac);
	out->size = cells_value(reg + 4 * ac, sc);
	n = read_prop(dir, "xen,id", out->id, sizeof(out->id) - 1);
	if (n < 0)
		n = 0;
	out->id[n] = 0;
	snprintf(out->node, sizeof(out->node), "%.511s", dir);
	/* Xen writes its own static shared memory as /reserved-memory/xen-shmem@...; a
	 * passthrough node lives on a bus of the partial device tree. */
	out->kind = strstr(bus + strlen(root), "/reserved-memory") ? SHML_XEN_DT_STATIC_SHM
	                                                           : SHML_XEN_DT_PASSTHROUGH;
	if (out->size == 0)
		return fail(-EINVAL, "%s: \"reg\" has size 0", dir);
	return translate(root, bus, &out->address);
}

struct finder {
	const char *root, *want;
	int found, err;
	struct shml_xen_region_info *out;
};

static void walk(struct finder *f, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	if (depth > 8 || f->err)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && !f->err) {
		char sub[1024];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= sizeof(sub))
			continue;
		if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (prop_has_string(sub, "compatible", "xen,shared-memory-v1")) {
			struct shml_xen_region_info info;
			int rc = read_region_node(f->root, sub, &info);
			int match = !f->want || strcmp(info.id, f->want) == 0;
			if (rc == 0 && match) {
				if (f->found) {
					f->err =
					        fail(-EEXIST,
					             "several xen,shared-memory-v1 nodes (%s, %s): "
					             "say which one by its xen,id",
					             f->out->node, sub);
					break;
				}
				*f->out = info;
				f->found = 1;
			} else if (rc != 0 && match && f->want) {
				f->err = rc;
				break;
			}
		}
		walk(f, sub, depth + 1);
	}
	closedir(d);
}

int shml_xen_find_region(const char *dt_root, const char *shm_id, struct shml_xen_region_info *out)
{
	struct finder f = { .root = dt_root ? dt_root : SHML_XEN_DT_ROOT,
		            .want = shm_id,
		            .out = out };
	last_error[0] = 0;
	walk(&f, f.root, 0);
	if (f.err)
		return f.err;
	if (!f.found) {
		if (shm_id)
			return fail(
			        -ENOENT,
			        "no device-tree node with compatible \"xen,shared-memory-v1\" and "
			        "xen,id \"%s\" under %s (is the region in this domain's partial "
			        "device tree, or in its xen,shared-mem?)",
			        shm_id, f.root);
		return fail(-ENOENT, "no xen,shared-memory-v1 node under %s", f.root);
	}
	return 0;
}

/* ---- the fallback-binding record -------------------------------------------------------- */

uint64_t shml_xen_publish_offset(const struct shml_config *cfg, uint32_t c)
{
	uint64_t l = cfg->cacheline;
	uint64_t base = (shml_layout_bytes(cfg) + l - 1) / l * l;
	if (c >= cfg->n_channels || base + (uint64_t)cfg->n_channels * l > cfg->region_size)
		return 0;
	return base + (uint64_t)c * l;
}

static uint32_t pub_load(const uint8_t *p, uint32_t off)
{
	uint32_t v = __atomic_load_n((const uint32_t *)(const void *)(p + off), __ATOMIC_ACQUIRE);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static void pub_store(uint8_t *p, uint32_t off, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	__atomic_store_n((uint32_t *)(void *)(p + off), v, __ATOMIC_RELEASE);
}

static uint32_t pub_check(const uint32_t w[6])
{
	uint32_t h = 0x811c9dc5u;
	for (int i = 0; i < 6; i++)
		for (int b = 0; b < 4; b++) {
			h ^= (w[i] >> (8 * b)) & 0xffu;
			h *= 0x01000193u;
		}
	return h;
}

static uint8_t *pub_record(struct shml_xen *x, uint32_t c)
{
	uint64_t off = shml_xen_publish_offset(x->cfg, c);
	return off ? x->mem + off : NULL;
}

static void publish(struct shml_xen *x, uint32_t c, uint32_t port)
{
	struct xchan *xc = &x->ch[c];
	uint8_t *p = pub_record(x, c);
	uint32_t w[6];
	uint32_t old = pub_load(p, PUB_NONCE);
	uint32_t nonce = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16) ^ port);
	if (nonce == 0 || nonce == old)
		nonce = old + 0x9e3779b9u;
	if (nonce == 0)
		nonce = 1;
	w[0] = (uint32_t)x->hash;
	w[1] = (uint32_t)(x->hash >> 32);
	w[2] = x->self_domid;
	w[3] = xc->peer_domid;
	w[4] = port;
	w[5] = nonce;
	pub_store(p, PUB_MAGIC, 0);
	for (int i = 0; i < 6; i++)
		pub_store(p, PUB_HASH_LO + 4u * (uint32_t)i, w[i]);
	pub_store(p, PUB_CHECK, pub_check(w));
	pub_store(p, PUB_MAGIC, PUB_MAGIC_VALUE);
	xc->nonce = nonce;
}

/* Side B: read side A's record; 1 with port and nonce if it is valid for us. */
static int read_publication(struct shml_xen *x, uint32_t c, uint32_t *port, uint32_t *nonce)
{
	struct xchan *xc = &x->ch[c];
	uint8_t *p = pub_record(x, c);
	uint32_t w[6];
	if (!p || pub_load(p, PUB_MAGIC) != PUB_MAGIC_VALUE)
		return 0;
	for (int i = 0; i < 6; i++)
		w[i] = pub_load(p, PUB_HASH_LO + 4u * (uint32_t)i);
	if (pub_load(p, PUB_CHECK) != pub_check(w) || pub_load(p, PUB_MAGIC) != PUB_MAGIC_VALUE)
		return 0; /* being rewritten: look again later */
	if (w[0] != (uint32_t)x->hash || w[1] != (uint32_t)(x->hash >> 32) ||
	    w[2] != xc->peer_domid || w[3] != x->self_domid || w[5] == 0)
		return 0;
	*port = w[4];
	*nonce = w[5];
	return 1;
}

static void notify_port(struct xchan *xc)
{
	struct xen_evtchn_port a = { .port = xc->local };
	if (xc->bound)
		(void)ioctl(xc->fd, XEN_IOCTL_EVTCHN_NOTIFY, &a);
}

/*
 * Side B of a fallback channel: bind to side A's published port, or rebind
 * when side A published a new one (its process restarted). Rate-limited.
 */
static void fallback_bind(struct shml_xen *x, uint32_t c, int force)
{
	struct xchan *xc = &x->ch[c];
	uint32_t port, nonce;
	uint64_t t = now_ns();
	int rc;
	if (!force && t < xc->next_try)
		return;
	xc->next_try = t + (xc->bound ? REPUBLISH_POLL_NS : UNBOUND_POLL_NS);
	if (!read_publication(x, c, &port, &nonce) || (xc->bound && nonce == xc->nonce))
		return;
	if (xc->bound) {
		struct xen_evtchn_port u = { .port = xc->local };
		(void)ioctl(xc->fd, XEN_IOCTL_EVTCHN_UNBIND, &u);
		xc->bound = 0;
	}
	{
		struct xen_evtchn_bind_interdomain b = { .remote_domain = xc->peer_domid,
			                                 .remote_port = port };
		rc = ioctl(xc->fd, XEN_IOCTL_EVTCHN_BIND_INTERDOMAIN, &b);
	}
	if (rc < 0)
		return; /* a stale record (side A gone): try again later */
	xc->local = (uint32_t)rc;
	xc->bound = 1;
	xc->nonce = nonce;
	/* Side A may sleep on something we did while unbound: one spurious event re-checks. */
	notify_port(xc);
}

/* ---- the port's hooks --------------------------------------------------------------------- */

static struct xchan *chan_of(struct shml_xen *x, const struct shml_chan *ch)
{
	uint32_t c = shml_chan_index(ch);
	if (c >= x->cfg->n_channels || !x->ch[c].ours)
		return NULL;
	return &x->ch[c];
}

static void drain(struct xchan *xc)
{
	unsigned int ports[16];
	ssize_t n;
	while ((n = read(xc->fd, ports, sizeof(ports))) > 0) {
		/* Reading masked the ports; writing them back unmasks them. */
		if (write(xc->fd, ports, (size_t)n) != n)
			break;
	}
}

static void xen_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	struct shml_xen *x = ctx;
	struct xchan *xc = chan_of(x, ch);
	(void)doorbell;
	if (!xc || xc->fd < 0)
		return;
	if (xc->mode == SHML_XEN_BIND_FALLBACK && xc->side == 1)
		fallback_bind(x, shml_chan_index(ch), 0);
	notify_port(xc);
}

static int xen_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                    uint32_t expected, uint64_t timeout_ns)
{
	struct shml_xen *x = ctx;
	struct xchan *xc = chan_of(x, ch);
	uint64_t slice = timeout_ns;
	uint32_t bell;
	struct timespec ts;
	struct pollfd pfd;
	int r;
	if (!xc || xc->fd < 0) {
		slice = slice < POLL_SLEEP_NS ? slice : POLL_SLEEP_NS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)slice;
		nanosleep(&ts, NULL);
		return slice == timeout_ns ? SHML_ETIMEDOUT : 0;
	}
	if (xc->mode == SHML_XEN_BIND_FALLBACK && xc->side == 1) {
		fallback_bind(x, shml_chan_index(ch), 0);
		uint64_t cap = xc->bound ? REPUBLISH_POLL_NS : UNBOUND_POLL_NS;
		slice = slice < cap ? slice : cap;
	}
	/* The event file latches events, so checking the doorbell now (after the core's
	 * re-check) and then sleeping loses no wake-up. */
	bell = *peer_doorbell;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	bell = __builtin_bswap32(bell);
#endif
	if (bell != expected)
		return 0;
	ts.tv_sec = (time_t)(slice / 1000000000ull);
	ts.tv_nsec = (long)(slice % 1000000000ull);
	pfd.fd = xc->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	r = ppoll(&pfd, 1, &ts, NULL);
	if (r > 0) {
		drain(xc);
		return 0;
	}
	if (r == 0 && slice == timeout_ns)
		return SHML_ETIMEDOUT;
	return 0;
}

/* ---- open and close ----------------------------------------------------------------------- */

static int bind_channel(struct shml_xen *x, uint32_t c, const struct shml_xen_opts *o,
                        const char *evtchn_path)
{
	const struct shml_channel_cfg *cc = &x->cfg->channels[c];
	struct xchan *xc = &x->ch[c];
	uint32_t peer = cc->a == x->self ? cc->b : cc->a;
	uint32_t sport = o->evtchn ? o->evtchn[c] : 0;
	int mode = o->bind;
	xc->ours = 1;
	xc->side = cc->a == x->self ? 0 : 1;
	xc->fd = -1;
	xc->peer_domid = o->domid ? o->domid[peer] : x->cfg->domains[peer].id;
	if (mode == SHML_XEN_BIND_AUTO)
		mode = sport ? SHML_XEN_BIND_STATIC : SHML_XEN_BIND_FALLBACK;
	if (mode == SHML_XEN_BIND_POLL) {
		xc->mode = mode;
		return 0;
	}
	if (mode != SHML_XEN_BIND_STATIC && mode != SHML_XEN_BIND_FALLBACK)
		return fail(-EINVAL, "bind mode %d is not one of enum shml_xen_bind", o->bind);
	xc->fd = open(evtchn_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (xc->fd < 0) {
		int e = errno;
		return fail(
		        -e,
		        "cannot open %s: %s (is the xen-evtchn module loaded, and is this a Xen "
		        "guest with xen,enhanced set in its dom0less node?)",
		        evtchn_path, strerror(e));
	}
	if (mode == SHML_XEN_BIND_STATIC) {
		struct xen_evtchn_port b = { .port = sport };
		if (sport == 0)
			return fail(-EINVAL,
			            "channel '%s': no static event channel port for our domain",
			            cc->name);
		if (ioctl(xc->fd, XEN_IOCTL_EVTCHN_BIND_STATIC, &b) == 0) {
			xc->mode = mode;
			xc->local = sport;
			xc->bound = 1;
			return 0;
		}
		if (o->bind != SHML_XEN_BIND_AUTO || (errno != ENOSYS && errno != ENOTTY)) {
			int e = errno;
			return fail(
			        -e, "channel '%s': IOCTL_EVTCHN_BIND_STATIC of port %u: %s%s",
			        cc->name, sport, strerror(e),
			        e == ENOSYS || e == ENOTTY
			                ? " (this kernel is older than Linux 6.5: use the fallback "
			                  "binding)"
			                : " (is the port in this domain's xen,evtchn-v1 node?)");
		}
		mode = SHML_XEN_BIND_FALLBACK; /* an older kernel: no static binding */
	}
	xc->mode = mode;
	if (!shml_xen_publish_offset(x->cfg, c))
		return fail(
		        -ERANGE,
		        "channel '%s': the fallback binding needs %u bytes per channel after the "
		        "layout's end (0x%llx), and the region has no room: raise [region] size",
		        cc->name, x->cfg->cacheline, (unsigned long long)shml_layout_bytes(x->cfg));
	if (xc->side == 0) {
		struct xen_evtchn_bind_unbound_port u = { .remote_domain = xc->peer_domid };
		int rc = ioctl(xc->fd, XEN_IOCTL_EVTCHN_BIND_UNBOUND_PORT, &u);
		if (rc < 0) {
			int e = errno;
			return fail(
			        -e,
			        "channel '%s': IOCTL_EVTCHN_BIND_UNBOUND_PORT for domain %u: %s "
			        "(domU-to-domU binding needs Xen's xsm=dummy on its command line)",
			        cc->name, xc->peer_domid, strerror(e));
		}
		xc->local = (uint32_t)rc;
		xc->bound = 1;
		publish(x, c, xc->local);
	} else {
		fallback_bind(x, c, 1); /* side A may not have published yet: retried on use */
	}
	return 0;
}

static int map_region(struct shml_xen *x, const char *mem_path)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start = x->info.address & ~(uint64_t)(pg - 1);
	uint64_t delta = x->info.address - start;
	uint64_t len = (x->info.size + delta + (uint64_t)pg - 1) & ~(uint64_t)(pg - 1);
	/* Passthrough memory is Device memory at stage 2: map it uncached (O_SYNC) so
	 * both stages agree. Static shared memory is RAM that the peers cache. */
	int sync = x->info.kind == SHML_XEN_DT_PASSTHROUGH ? O_SYNC : 0;
	int fd = open(mem_path, O_RDWR | O_CLOEXEC | sync);
	void *m;
	if (fd < 0) {
		int e = errno;
		return fail(-e, "cannot open %s: %s (run as root)", mem_path, strerror(e));
	}
	m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	if (m == MAP_FAILED) {
		int e = errno;
		close(fd);
		return fail(-e, "cannot map %s at 0x%llx (%llu bytes): %s%s", mem_path,
		            (unsigned long long)x->info.address, (unsigned long long)x->info.size,
		            strerror(e),
		            e == EPERM
		                    ? " (CONFIG_STRICT_DEVMEM refuses System RAM: a region of "
		                      "Xen's static shared memory is RAM to Linux; see docs/XEN.md)"
		                    : "");
	}
	close(fd);
	x->map = m;
	x->map_len = (size_t)len;
	x->mem = (uint8_t *)m + delta;
	x->size = x->info.size;
	return 0;
}

int shml_xen_open(struct shml_xen **out, const struct shml_config *cfg, uint32_t self,
                  const struct shml_xen_opts *opts)
{
	static const struct shml_xen_opts none;
	const struct shml_xen_opts *o = opts ? opts : &none;
	struct shml_config_error ce;
	struct shml_xen *x;
	int rc;
	last_error[0] = 0;
	*out = NULL;
	if (!cfg || shml_config_check(cfg, &ce) != 0)
		return fail(-EINVAL, "invalid configuration: %s", cfg ? ce.what : "NULL");
	if (self >= cfg->n_domains)
		return fail(-EINVAL, "domain index %u: the config has %u domains", self,
		            cfg->n_domains);
	x = calloc(1, sizeof(*x));
	if (!x)
		return fail(-ENOMEM, "out of memory");
	x->ch = calloc(cfg->n_channels, sizeof(*x->ch));
	if (!x->ch) {
		free(x);
		return fail(-ENOMEM, "out of memory");
	}
	for (uint32_t c = 0; c < cfg->n_channels; c++)
		x->ch[c].fd = -1;
	x->cfg = cfg;
	x->self = self;
	x->self_domid = o->domid ? o->domid[self] : cfg->domains[self].id;
	x->hash = shml_config_hash(cfg);
	if (o->address && o->size) {
		x->info.address = o->address;
		x->info.size = o->size;
		x->info.kind = SHML_XEN_DT_PASSTHROUGH;
		snprintf(x->info.id, sizeof(x->info.id), "%s", o->shm_id ? o->shm_id : "");
	} else if ((rc = shml_xen_find_region(o->dt_root, o->shm_id, &x->info)) != 0) {
		goto fail;
	}
	if (x->info.size < cfg->region_size) {
		rc = fail(
		        -ERANGE,
		        "the region %s is %llu bytes, the config's region_size is %llu: they must "
		        "agree (the device tree reg, or [region] size)",
		        x->info.node[0] ? x->info.node : "given", (unsigned long long)x->info.size,
		        (unsigned long long)cfg->region_size);
		goto fail;
	}
	if ((rc = map_region(x, o->mem_path ? o->mem_path : "/dev/mem")) != 0)
		goto fail;
	x->size = cfg->region_size; /* the config decides what the protocol uses */
	x->port = (struct shml_port){
		.ctx = x,
		.now_ns = xen_now,
		.notify = xen_notify,
		.wait = xen_wait,
		.copy_to_shared = shml_xen_copy_to_shared,
		.copy_from_shared = shml_xen_copy_from_shared,
		.relax = xen_relax,
	};
	for (uint32_t c = 0; c < cfg->n_channels; c++) {
		const struct shml_channel_cfg *cc = &cfg->channels[c];
		if (cc->a != self && cc->b != self)
			continue;
		rc = bind_channel(x, c, o, o->evtchn_path ? o->evtchn_path : "/dev/xen/evtchn");
		if (rc)
			goto fail;
	}
	*out = x;
	return 0;
fail:
	shml_xen_close(x);
	return rc;
}

void shml_xen_close(struct shml_xen *x)
{
	if (!x)
		return;
	for (uint32_t c = 0; x->ch && c < x->cfg->n_channels; c++) {
		struct xchan *xc = &x->ch[c];
		/* Withdraw our publication, so side B does not bind to a port about to close. */
		if (xc->ours && xc->mode == SHML_XEN_BIND_FALLBACK && xc->side == 0 && xc->bound &&
		    x->mem) {
			uint8_t *p = pub_record(x, c);
			if (p && pub_load(p, PUB_NONCE) == xc->nonce)
				pub_store(p, PUB_MAGIC, 0);
		}
		/* Closing the file unbinds; Linux leaves a static port open in Xen. */
		if (xc->fd >= 0)
			close(xc->fd);
	}
	if (x->map)
		munmap(x->map, x->map_len);
	free(x->ch);
	free(x);
}

void *shml_xen_mem(const struct shml_xen *x)
{
	return x->mem;
}

uint64_t shml_xen_size(const struct shml_xen *x)
{
	return x->size;
}

const struct shml_port *shml_xen_port(const struct shml_xen *x)
{
	return &x->port;
}

const struct shml_xen_region_info *shml_xen_region(const struct shml_xen *x)
{
	return &x->info;
}

int shml_xen_chan_fd(const struct shml_xen *x, uint32_t c)
{
	return c < x->cfg->n_channels && x->ch[c].ours ? x->ch[c].fd : -1;
}

void shml_xen_chan_ack(struct shml_xen *x, uint32_t c)
{
	if (c < x->cfg->n_channels && x->ch[c].ours && x->ch[c].fd >= 0)
		drain(&x->ch[c]);
}

int shml_xen_chan_binding(const struct shml_xen *x, uint32_t c)
{
	return c < x->cfg->n_channels && x->ch[c].ours ? x->ch[c].mode : -1;
}

uint32_t shml_xen_chan_local_port(const struct shml_xen *x, uint32_t c)
{
	return c < x->cfg->n_channels && x->ch[c].ours && x->ch[c].bound ? x->ch[c].local : 0;
}
