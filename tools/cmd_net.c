/* SPDX-License-Identifier: MIT */
/*
 * shmlink net: an IP link between two domains over a message channel.
 *
 * A TUN interface (layer 3; TAP, layer 2, with --tap) on each side, and one
 * message per packet through the channel, both ways. One thread does all of
 * it: a struct shml_chan is one-thread-at-a-time and one end carries both
 * directions.
 *
 * Data path (zero-copy on ports without copy hooks, such as the host port):
 *   interface -> channel: shml_reserve() room for one frame, read() the TUN
 *                         fd straight into it, shml_commit() what was read;
 *   channel -> interface: shml_peek() a message, write() it to the TUN fd
 *                         from the ring, shml_release().
 * Up to BATCH packets each way per round; the core wakes a sleeping peer at
 * most once per sleep, so a batch costs one notification. With --offload
 * each message starts with a virtio-net header and TCP segments of up to
 * 64 KiB go through whole (IFF_VNET_HDR, TUNSETOFFLOAD), as with virtio-net.
 *
 * Waiting for two things at once. When nothing moves we sleep in
 * shml_wait(), which announces the sleep in our control line so that the
 * peer rings our doorbell (a futex on the host), and must also wake when a
 * packet arrives on the TUN fd. The core has no call that ends a wait from
 * outside, so this command wraps the port of its channel end:
 *   - wait: futex_waitv() on the peer's doorbell word and on a word of our
 *     own, wake_word, that a signal handler bumps. While we wait for
 *     packets the TUN fd is O_ASYNC, so the kernel sends SIGIO when one
 *     arrives; SIGINT/SIGTERM bump the word too;
 *   - now_ns: the host clock plus a leap. When the TUN fd (or a signal)
 *     ended the sleep, the leap grows by what remained of the wait: the
 *     port's clock passes the wait's deadline and shml_wait() returns 0
 *     (timeout), at once, instead of sleeping again. The clock stays
 *     monotonic; the core uses it only for deadlines and to seed session
 *     generations. Idle waits start at 1 ms and double up to 0.5 s, so the
 *     leap grows by at most about the idle time it cuts short, plus 1 ms:
 *     the clock can run a few times faster than real time, not away.
 * The other hooks pass through to the channel end's own port. Without
 * futex_waitv (Linux < 5.16), or on a port that is not the host port, the
 * sleep is cut into slices of SLICE_NS with a look at wake_word between.
 *
 * Link state: the interface's carrier follows the session (TUNSETCARRIER):
 * NO-CARRIER while the peer is away. Resets (the peer restarted or closed)
 * lose the packets in flight, which IP tolerates; reset_info counts them
 * and the link comes back with the next session.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TUN_DEV "/dev/net/tun"
#define BATCH 64                 /* packets each way per round */
#define WAIT_MIN_NS 1000000ull   /* first shml_wait() timeout after activity ... */
#define WAIT_MAX_NS 500000000ull /* ... doubling to this (<= the core's 1 s sleep cap) */
#define SLICE_NS 2000000ull      /* sleep slices when futex_waitv is missing */
#define MAX_ADDRS 8
#define ETH_HDR 14           /* TAP frames: Ethernet header ... */
#define VLAN_HDR 4           /* ... and room for one VLAN tag */
#define TUN_MAX_MTU 65535u   /* the TUN driver's largest MTU */
#define DEFAULT_MTU 1500u    /* TAP's default, and the least TUN's */
#define CAP_NET_ADMIN_BIT 12 /* CAP_NET_ADMIN, <linux/capability.h> */
#define VNET_HDR 10          /* --offload: struct virtio_net_hdr before each packet */
#define GSO_MAX 65536u       /* --offload: the largest packet the kernel hands us */

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
struct futex_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t __reserved;
};
#endif

static const char net_help[] =
        "Usage: shmlink net CONFIG CHANNEL [--as DOMAIN] [--ifname NAME] [--mtu N] [--tap]\n"
        "                  [--offload] [--addr ADDR/PREFIX]... [--port PORT] [--region PATH]\n"
        "                  [--quiet]\n"
        "\n"
        "An IP network link to the domain at the other end of CHANNEL (a message\n"
        "channel): creates a TUN interface (layer 3; --tap: a TAP interface, layer 2),\n"
        "brings it up, and moves every packet between it and the channel, both ways,\n"
        "one message each, until SIGINT or SIGTERM; then closes the channel end (the\n"
        "peer sees it at once) and removes the interface. Run one on each side and\n"
        "give the interfaces addresses: ssh, iperf3, MQTT... run across unchanged.\n"
        "The carrier is up while the session with the peer is; a peer that restarts\n"
        "loses the packets in flight (counted) and the link comes back. Needs\n"
        "CAP_NET_ADMIN (root) and /dev/net/tun.\n"
        "\n"
        "  --as DOMAIN        which end we are (see shmlink send --help)\n"
        "  --ifname NAME      the interface's name (default shml%d: shml0, shml1, ...)\n"
        "  --mtu N            its MTU; N (+18 bytes with --tap) must fit the channel's\n"
        "                     max message (default: TUN a 16th of the smaller ring, 1500\n"
        "                     to 65535; TAP 1500; at most what the channel carries)\n"
        "  --tap              a TAP interface (Ethernet frames) instead of TUN\n"
        "  --offload          TCP segmentation and checksum offload: each message is a\n"
        "                     virtio-net header and a packet of up to 64 KiB, whatever\n"
        "                     the MTU; both ends must say it; needs rings of 256K\n"
        "  --addr ADDR/PREFIX also give the interface this address (IPv4 or IPv6, no\n"
        "                     IPv6 duplicate address detection); may be repeated\n"
        "  --port PORT        how to reach the region: file, ivshmem, ivshmem-guest or\n"
        "                     xen (overrides [host] port; see shmlink(1))\n"
        "  --region PATH      the region file (port file; overrides [host] path)\n"
        "  -q, --quiet        no notes (errors only)\n"
        "  -h, --help         this text\n";

struct net_addr {
	int family;
	uint8_t addr[16];
	unsigned prefix;
	const char *text;
};

struct net {
	struct cli_config c;
	struct cli_end e;
	struct shml_port inner; /* the channel end's own port, which ours wraps */
	int inner_is_host;      /* its wait is a futex on the doorbell word */
	const char *cname;      /* channel name, for messages */
	int quiet, tap, offload;
	uint32_t mtu, frame; /* frame: largest packet we read: [vnet header] + mtu [+ TAP header] */
	uint32_t maxmsg;     /* the channel's max message */
	int zero_copy;
	uint8_t *bounce;
	int tun_fd, tun_flags;
	char ifname[IFNAMSIZ];
	int carrier; /* 1/0 as last set, -1: the driver cannot set it */
	int linked;  /* the session is established (as last seen) */
	/* the wait hook */
	uint64_t leap;
	int want_tun; /* the current shml_wait() ends when a packet arrives */
	int async_on;
	struct net_addr addrs[MAX_ADDRS];
	int n_addrs;
	/* counters */
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t lost, resets, proto_errors, dropped_no_peer, dropped_oversize, write_errors;
	int last_write_errno;
	int refusal_said;
};

/* Bumped by SIGIO (a packet on the TUN fd) and by SIGINT/SIGTERM/SIGHUP. */
static uint32_t wake_word;
static int no_waitv; /* futex_waitv() said ENOSYS */

static void note(const struct net *n, const char *fmt, ...) CLI_PRINTF(2, 3);

static void note(const struct net *n, const char *fmt, ...)
{
	va_list ap;
	if (n->quiet)
		return;
	fprintf(stderr, "shmlink: net %s: ", n->cname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *peer_name(const struct net *n)
{
	return n->c.domains[n->e.peer].name;
}

static const char *self_name(const struct net *n)
{
	return n->c.domains[n->e.self].name;
}

/* ---- signals ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	int saved = errno;
	if (sig != SIGIO)
		cli_interrupted = 1;
	__atomic_fetch_add(&wake_word, 1u, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = saved;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends poll() and futex waits */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGIO, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- the port wrapper --------------------------------------------------------------- */

static uint64_t net_now(void *ctx)
{
	struct net *n = ctx;
	return n->inner.now_ns(n->inner.ctx) + n->leap;
}

static void net_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	struct net *n = ctx;
	n->inner.notify(n->inner.ctx, ch, doorbell);
}

static void net_cache_clean(void *ctx, const volatile void *p, size_t len)
{
	struct net *n = ctx;
	n->inner.cache_clean(n->inner.ctx, p, len);
}

static void net_cache_invalidate(void *ctx, const volatile void *p, size_t len)
{
	struct net *n = ctx;
	n->inner.cache_invalidate(n->inner.ctx, p, len);
}

static void net_copy_to(void *ctx, volatile void *dst, const void *src, size_t len)
{
	struct net *n = ctx;
	n->inner.copy_to_shared(n->inner.ctx, dst, src, len);
}

static void net_copy_from(void *ctx, void *dst, const volatile void *src, size_t len)
{
	struct net *n = ctx;
	n->inner.copy_from_shared(n->inner.ctx, dst, src, len);
}

static void net_relax(void *ctx)
{
	struct net *n = ctx;
	n->inner.relax(n->inner.ctx);
}

/* O_ASYNC on the TUN fd: SIGIO for every packet the kernel queues for us. */
static void set_async(struct net *n, int on)
{
	if (n->async_on == on)
		return;
	if (fcntl(n->tun_fd, F_SETFL, n->tun_flags | (on ? O_ASYNC : 0)) == 0)
		n->async_on = on;
}

static int tun_readable(const struct net *n)
{
	struct pollfd p = { .fd = n->tun_fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static uint32_t le32_raw(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(v); /* the doorbell is little-endian in memory */
#else
	return v;
#endif
}

/* Sleep until the peer's doorbell moves from @expected, wake_word moves from @snap, or
 * @timeout_ns passes: both at once with futex_waitv(). 0: not available. */
static int sleep_waitv(const volatile uint32_t *peer_doorbell, uint32_t expected, uint32_t snap,
                       uint64_t timeout_ns)
{
	struct futex_waitv w[2];
	struct timespec ts;
	uint64_t t;
	memset(w, 0, sizeof(w));
	w[0].uaddr = (uint64_t)(uintptr_t)peer_doorbell; /* in a shared mapping: a shared futex */
	w[0].val = le32_raw(expected);
	w[0].flags = FUTEX_32;
	w[1].uaddr = (uint64_t)(uintptr_t)&wake_word;
	w[1].val = snap;
	w[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the timeout is absolute */
	t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + timeout_ns;
	ts.tv_sec = (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	if (syscall(SYS_futex_waitv, w, 2, 0, &ts, CLOCK_MONOTONIC) == -1 && errno == ENOSYS) {
		no_waitv = 1;
		return 0;
	}
	return 1;
}

/*
 * The port's wait hook: called by shml_wait() after it announced our sleep.
 * Sleeps like the channel end's own port would, but also ends when wake_word
 * moves (a packet on the TUN fd, a signal); then leaps the clock past the
 * wait's deadline so that shml_wait() returns instead of sleeping again.
 */
static int net_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                    uint32_t expected, uint64_t timeout_ns)
{
	struct net *n = ctx;
	uint32_t snap = __atomic_load_n(&wake_word, __ATOMIC_SEQ_CST);
	uint64_t t_in = n->inner.now_ns(n->inner.ctx), slept;
	int ended = cli_interrupted;
	if (!ended && n->want_tun) {
		/* Switch SIGIO on, then look: a packet queued before that sent no signal. */
		set_async(n, 1);
		ended = tun_readable(n);
	}
	if (!ended) {
		if (n->inner_is_host && !no_waitv &&
		    sleep_waitv(peer_doorbell, expected, snap, timeout_ns)) {
			/* woken, a word moved, timed out or interrupted: the caller re-checks */
		} else {
			/* Slices, looking at wake_word in between. */
			uint64_t end = n->inner.now_ns(n->inner.ctx) + timeout_ns;
			for (;;) {
				uint64_t now = n->inner.now_ns(n->inner.ctx), s;
				if (now >= end ||
				    __atomic_load_n(&wake_word, __ATOMIC_SEQ_CST) != snap)
					break;
				s = end - now < SLICE_NS ? end - now : SLICE_NS;
				if (n->inner.wait(n->inner.ctx, ch, peer_doorbell, expected, s) !=
				    SHML_ETIMEDOUT)
					break;
			}
		}
		ended = cli_interrupted ||
		        (n->want_tun && __atomic_load_n(&wake_word, __ATOMIC_SEQ_CST) != snap);
	}
	set_async(n, 0);
	if (ended) {
		/* The core passed min(time left, 1 s), with "left" counted from before this
		 * call: leap over what remains of it. The leap stays small because idle
		 * waits start at WAIT_MIN_NS (run()), so the clock cannot run away. */
		slept = n->inner.now_ns(n->inner.ctx) - t_in;
		n->leap += (timeout_ns > slept ? timeout_ns - slept : 0) + 1;
	}
	return 0;
}

/* Wrap the channel end's port (e->port, which the attached region points to). */
static void wrap_port(struct net *n)
{
	struct shml_port *p = &n->e.port, hp;
	shml_host_port_init(&hp);
	n->inner = *p;
	n->inner_is_host = p->wait == hp.wait && p->notify == hp.notify;
	p->ctx = n;
	p->now_ns = net_now;
	p->wait = n->inner.wait ? net_wait : NULL;
	p->notify = n->inner.notify ? net_notify : NULL;
	p->cache_clean = n->inner.cache_clean ? net_cache_clean : NULL;
	p->cache_invalidate = n->inner.cache_invalidate ? net_cache_invalidate : NULL;
	p->copy_to_shared = n->inner.copy_to_shared ? net_copy_to : NULL;
	p->copy_from_shared = n->inner.copy_from_shared ? net_copy_from : NULL;
	p->relax = n->inner.relax ? net_relax : NULL;
	/* read()/write() of the TUN fd straight to/from the ring bypass the copy hooks
	 * (cache hooks are fine: commit cleans and peek invalidates the bytes). */
	n->zero_copy = !n->inner.copy_to_shared && !n->inner.copy_from_shared;
}

/* ---- the interface ------------------------------------------------------------------ */

static int has_net_admin(void)
{
	/* capget(2) with _LINUX_CAPABILITY_VERSION_3 (0x20080522): two 32-bit sets */
	struct {
		uint32_t version;
		int pid;
	} hdr = { 0x20080522u, 0 };
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return 1; /* cannot tell: let TUNSETIFF decide */
	return (data[0].effective >> CAP_NET_ADMIN_BIT) & 1u;
}

static const char *need_cap_hint(void)
{
	static char buf[PATH_MAX + 200];
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		snprintf(exe, sizeof(exe), "shmlink");
	else
		exe[len] = '\0';
	snprintf(buf, sizeof(buf),
	         "shmlink net creates a network interface, which needs CAP_NET_ADMIN: run it "
	         "as root (sudo), or give the program the capability (setcap cap_net_admin+ep "
	         "%s)",
	         exe);
	return buf;
}

/* Open /dev/net/tun and check the capability: before touching the region. */
static int tun_precheck(struct net *n)
{
	n->tun_fd = open(TUN_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (n->tun_fd < 0) {
		int err = errno;
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			cli_err("%s: %s: the TUN/TAP driver is missing here: load it "
			        "(modprobe tun) or create the node (mkdir -p /dev/net && mknod %s "
			        "c 10 200); in a container, pass the device (e.g. --device %s)",
			        TUN_DEV, strerror(err), TUN_DEV, TUN_DEV);
		else if (err == EACCES || err == EPERM)
			cli_err("%s: %s: %s", TUN_DEV, strerror(err), need_cap_hint());
		else
			cli_err("%s: %s", TUN_DEV, strerror(err));
		return CLI_FAIL;
	}
	if (!has_net_admin()) {
		cli_err("no CAP_NET_ADMIN: %s", need_cap_hint());
		return CLI_FAIL;
	}
	return 0;
}

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc, err;
	if (s < 0)
		s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	rc = ioctl(s, req, ifr);
	err = errno;
	close(s);
	errno = err;
	return rc;
}

static void set_carrier(struct net *n, int on)
{
	int v = on;
	if (n->carrier < 0 || n->carrier == on)
		return;
	if (ioctl(n->tun_fd, TUNSETCARRIER, &v) == 0)
		n->carrier = on;
	else
		n->carrier = -1; /* older kernel: the carrier stays up */
}

/* Netlink RTM_NEWADDR for one --addr. Returns 0 or an errno value. */
static int add_address(const struct net *n, const struct net_addr *a, unsigned ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[2 * RTA_SPACE(16)];
	} req;
	char reply[1024];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	size_t alen = a->family == AF_INET6 ? 16 : 4;
	struct rtattr *rta;
	ssize_t got;
	int fd, err = 0;
	(void)n;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = (unsigned char)a->family;
	req.ifa.ifa_prefixlen = (unsigned char)a->prefix;
	req.ifa.ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = ifindex;
	for (int k = 0; k < 2; k++) {
		rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
		rta->rta_type = k ? IFA_ADDRESS : IFA_LOCAL;
		rta->rta_len = (unsigned short)RTA_LENGTH(alen);
		memcpy(RTA_DATA(rta), a->addr, alen);
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	got = recv(fd, reply, sizeof(reply), 0);
	if (got < 0)
		err = errno;
	else if ((size_t)got >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr *h = (struct nlmsghdr *)reply;
		if (h->nlmsg_type == NLMSG_ERROR &&
		    (size_t)got >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			err = -e->error;
		}
	}
	close(fd);
	return err;
}

/* TUNSETIFF, MTU, carrier off until the peer is there, up, addresses. */
static int tun_create(struct net *n, const char *ifname)
{
	struct ifreq ifr;
	unsigned ifindex;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags =
	        (short)((n->tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (n->offload ? IFF_VNET_HDR : 0));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname ? ifname : "shml%d");
	if (ioctl(n->tun_fd, TUNSETIFF, &ifr) != 0) {
		int err = errno;
		if (err == EPERM || err == EACCES)
			cli_err("cannot create interface %s: %s: %s", ifr.ifr_name, strerror(err),
			        need_cap_hint());
		else if (err == EBUSY || err == EEXIST)
			cli_err("cannot create interface %s: an interface of that name exists "
			        "already (another shmlink net?): choose another --ifname",
			        ifr.ifr_name);
		else if (err == EINVAL && ifname)
			cli_err("cannot create interface %s: %s (an existing interface of another "
			        "kind, or a name the kernel refuses?)",
			        ifr.ifr_name, strerror(err));
		else
			cli_err("cannot create interface %s: %s", ifr.ifr_name, strerror(err));
		return CLI_FAIL;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	n->tun_flags = fcntl(n->tun_fd, F_GETFL);
	if (n->tun_flags < 0)
		n->tun_flags = O_RDWR | O_NONBLOCK;
	n->carrier = 1;
	set_carrier(n, 0);
	if (n->offload) {
		/* The header's 16-bit fields little-endian (as virtio 1.0), whatever the CPU;
		 * and the kernel may hand us TCP segments of up to 64 KiB and leave checksums
		 * to the receiver (which takes them as checked: memory does not flip bits). */
		int le = 1, hsz = VNET_HDR;
		unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
		if (ioctl(n->tun_fd, TUNSETVNETHDRSZ, &hsz) != 0 ||
		    (ioctl(n->tun_fd, TUNSETVNETLE, &le) != 0 &&
		     __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) ||
		    ioctl(n->tun_fd, TUNSETOFFLOAD, off) != 0) {
			cli_err("%s: --offload: the TUN driver refuses it: %s", n->ifname,
			        strerror(errno));
			return CLI_FAIL;
		}
	}

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	ifr.ifr_mtu = (int)n->mtu;
	if (if_ioctl(SIOCSIFMTU, &ifr) != 0) {
		cli_err("%s: cannot set the MTU to %u: %s", n->ifname, n->mtu, strerror(errno));
		return CLI_FAIL;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	if (if_ioctl(SIOCGIFFLAGS, &ifr) != 0) {
		cli_err("%s: %s", n->ifname, strerror(errno));
		return CLI_FAIL;
	}
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
	if (if_ioctl(SIOCSIFFLAGS, &ifr) != 0) {
		cli_err("%s: cannot bring it up: %s", n->ifname, strerror(errno));
		return CLI_FAIL;
	}
	ifindex = if_nametoindex(n->ifname);
	for (int i = 0; i < n->n_addrs; i++) {
		int err = ifindex ? add_address(n, &n->addrs[i], ifindex) : ENODEV;
		if (err) {
			cli_err("%s: cannot add address %s: %s", n->ifname, n->addrs[i].text,
			        strerror(err));
			return CLI_FAIL;
		}
	}
	return 0;
}

/* ---- moving packets ----------------------------------------------------------------- */

static int fatal(struct net *n, int rc, const char *doing)
{
	if (rc == SHML_EMISMATCH) {
		struct shml_slot_info si;
		shml_read_slot(&n->e.region, n->e.peer, &si);
		if (si.version != SHML_PROTOCOL_VERSION)
			cli_err("net %s: peer domain '%s' speaks protocol version %u, we speak %u",
			        n->cname, peer_name(n), si.version, SHML_PROTOCOL_VERSION);
		else
			cli_err("net %s: peer domain '%s' uses config hash 0x%016llx, we use "
			        "0x%016llx: both ends need the same config "
			        "('shmlink layout CONFIG' shows its hash)",
			        n->cname, peer_name(n), (unsigned long long)si.config_hash,
			        (unsigned long long)n->c.hash);
	} else {
		cli_err("net %s: %s: %s", n->cname, doing, shml_strerror(rc));
	}
	return CLI_FAIL;
}

/* The link follows the session: carrier and a note when it changes. */
static void link_update(struct net *n)
{
	int up = shml_connected(&n->e.ch);
	if (up == n->linked)
		return;
	n->linked = up;
	set_carrier(n, up);
	if (up)
		note(n, "%s connected: link up", peer_name(n));
}

/* SHML_ERESET or SHML_EPROTO from a channel call: count, say, carry on. */
static void session_event(struct net *n, int rc)
{
	struct shml_reset_info ri;
	if (rc == SHML_EPROTO) {
		n->proto_errors++;
		note(n,
		     "%s broke the protocol; the channel resynchronises (packets in flight lost)",
		     peer_name(n));
		return;
	}
	memset(&ri, 0, sizeof(ri));
	if (shml_reset_info(&n->e.ch, &ri) != 0)
		return;
	n->lost += ri.messages;
	if (ri.previous_process) {
		if (ri.messages)
			note(n, "an earlier process on this end had %u packet%s in flight, lost",
			     ri.messages, ri.messages == 1 ? "" : "s");
		return;
	}
	n->resets++;
	if (ri.messages)
		note(n,
		     "%s %s: link down; %u packet%s (%u bytes) we sent in this session %s lost%s",
		     peer_name(n),
		     ri.peer_closed ? "closed its end" : "reset the session (restarted?)",
		     ri.messages, ri.messages == 1 ? "" : "s", ri.bytes,
		     ri.messages == 1 ? "was" : "were", ri.exact ? "" : " (count inexact)");
	else
		note(n, "%s %s: link down", peer_name(n),
		     ri.peer_closed ? "closed its end" : "reset the session (restarted?)");
	n->linked = 0; /* link_update() raises it again with the next session */
	set_carrier(n, 0);
}

/* Channel -> interface. Returns 0, or CLI_FAIL. */
static int to_tun(struct net *n, int *moved)
{
	for (int i = 0; i < BATCH; i++) {
		const void *p = NULL;
		int32_t len;
		ssize_t w;
		if (n->zero_copy)
			len = shml_peek(&n->e.ch, &p);
		else
			len = shml_recv(&n->e.ch, n->bounce, n->maxmsg);
		if (len == SHML_EAGAIN || len == SHML_ENOTCONN)
			return 0;
		if (len == SHML_ERESET || len == SHML_EPROTO) {
			session_event(n, len);
			*moved = 1;
			continue;
		}
		if (len < 0)
			return fatal(n, len, "receive");
		*moved = 1;
		if (len == 0) { /* not a packet (e.g. a `shmlink cat` end of file): skip */
			if (n->zero_copy)
				shml_release(&n->e.ch, 0);
			continue;
		}
		do
			w = write(n->tun_fd, n->zero_copy ? p : n->bounce, (size_t)len);
		while (w < 0 && errno == EINTR);
		if (w < 0) {
			/* Not a packet the kernel takes (or the interface is down): dropped. */
			n->write_errors++;
			n->last_write_errno = errno;
			if (errno == EINVAL && !n->refusal_said) {
				n->refusal_said = 1;
				note(n,
				     "%s refuses a packet from %s (%s): does %s run with the "
				     "same --tap and --offload as we do (%s, %s)?",
				     n->ifname, peer_name(n), strerror(errno), peer_name(n),
				     n->tap ? "--tap" : "no --tap",
				     n->offload ? "--offload" : "no --offload");
			}
		} else {
			n->rx_packets++;
			n->rx_bytes += (uint64_t)len;
		}
		if (n->zero_copy)
			shml_release(&n->e.ch, (size_t)len);
	}
	return 0;
}

/* Without a session: read and drop what the interface sends. */
static void drop_unlinked(struct net *n)
{
	for (int i = 0; i < BATCH; i++) {
		ssize_t r = read(n->tun_fd, n->bounce, n->frame);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return;
		n->dropped_no_peer++;
	}
}

/* Interface -> channel. *@blocked: the ring has no room for a frame. */
static int from_tun(struct net *n, int *moved, int *blocked)
{
	for (int i = 0; i < BATCH; i++) {
		void *buf;
		ssize_t r;
		int32_t rc = shml_reserve(&n->e.ch, n->frame, &buf);
		if (rc == SHML_EAGAIN) {
			*blocked = 1;
			return 0;
		}
		if (rc == SHML_ENOTCONN) {
			drop_unlinked(n);
			return 0;
		}
		if (rc == SHML_ERESET || rc == SHML_EPROTO) {
			session_event(n, rc);
			*moved = 1;
			continue;
		}
		if (rc < 0)
			return fatal(n, rc, "send");
		if (!n->zero_copy)
			buf = n->bounce; /* the reservation only proved the room */
		do
			r = read(n->tun_fd, buf, n->frame);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0; /* nothing queued; the reservation is simply not committed
				           */
			cli_err("net %s: %s: read: %s", n->cname, n->ifname, strerror(errno));
			return CLI_FAIL;
		}
		*moved = 1;
		if ((size_t)r > n->frame) {
			/* Larger than --mtu (raised with ip link?): the read truncated it. */
			n->dropped_oversize++;
			continue;
		}
		if (n->zero_copy)
			rc = shml_commit(&n->e.ch, (size_t)r);
		else
			rc = shml_send(&n->e.ch, n->bounce, (size_t)r);
		if (rc == SHML_ERESET || rc == SHML_EPROTO) {
			session_event(n, rc);
			continue;
		}
		if (rc < 0)
			return fatal(n, rc, "send");
		n->tx_packets++;
		n->tx_bytes += (uint64_t)r;
	}
	return 0;
}

static int run(struct net *n)
{
	uint64_t idle_ns = WAIT_MIN_NS;
	for (;;) {
		int moved = 0, blocked = 0, rc, w;
		unsigned events;
		if (cli_interrupted)
			return CLI_OK;
		rc = to_tun(n, &moved);
		if (rc == 0)
			rc = from_tun(n, &moved, &blocked);
		if (rc)
			return rc;
		link_update(n);
		if (moved) {
			idle_ns = WAIT_MIN_NS;
			continue;
		}
		/* Nothing moved: sleep until the channel or the interface has something. */
		events = SHML_EV_READABLE | SHML_EV_STATE | (blocked ? SHML_EV_WRITABLE : 0u);
		n->want_tun = !blocked;
		w = shml_wait(&n->e.ch, events, blocked ? n->frame : 0, idle_ns);
		n->want_tun = 0;
		if (idle_ns < WAIT_MAX_NS)
			idle_ns *= 2; /* a wait cut short by the TUN fd costs the clock this much */
		if (w == SHML_EMISMATCH)
			return fatal(n, w, "waiting");
		/* Also EPROTO or ERESET: a peer anomaly met while waiting. */
		if (w == SHML_ERESET || w == SHML_EPROTO)
			session_event(n, w);
		link_update(n);
	}
}

/* ---- the command -------------------------------------------------------------------- */

static int parse_addr(struct net_addr *a, const char *spec)
{
	char buf[64], *slash;
	uint64_t prefix;
	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else
		return -1;
	prefix = a->family == AF_INET6 ? 128 : 32;
	if (slash && cli_parse_uint(slash + 1, prefix, &prefix) != 0)
		return -1;
	a->prefix = (unsigned)prefix;
	a->text = spec;
	return 0;
}

static int valid_ifname(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static void summary(const struct net *n)
{
	char a[32], b[32];
	if (n->quiet)
		return;
	note(n,
	     "%s removed; sent %llu packets (%s), received %llu (%s); lost in resets %llu "
	     "(resets %llu, protocol errors %llu), dropped without a peer %llu, oversized "
	     "%llu, refused by the interface %llu%s%s",
	     n->ifname, (unsigned long long)n->tx_packets, cli_human(n->tx_bytes, a, sizeof(a)),
	     (unsigned long long)n->rx_packets, cli_human(n->rx_bytes, b, sizeof(b)),
	     (unsigned long long)n->lost, (unsigned long long)n->resets,
	     (unsigned long long)n->proto_errors, (unsigned long long)n->dropped_no_peer,
	     (unsigned long long)n->dropped_oversize, (unsigned long long)n->write_errors,
	     n->write_errors ? ": " : "", n->write_errors ? strerror(n->last_write_errno) : "");
}

int cmd_net(int argc, char **argv)
{
	static const struct option opts[] = { { "as", required_argument, NULL, 'a' },
		                              { "ifname", required_argument, NULL, 'i' },
		                              { "mtu", required_argument, NULL, 'm' },
		                              { "tap", no_argument, NULL, 'T' },
		                              { "offload", no_argument, NULL, 'O' },
		                              { "addr", required_argument, NULL, 'A' },
		                              { "region", required_argument, NULL, 'r' },
		                              { "port", required_argument, NULL, 'P' },
		                              { "quiet", no_argument, NULL, 'q' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	struct net *n;
	const char *as = NULL, *port = NULL, *region = NULL, *ifname = NULL, *path, *channel;
	uint64_t mtu = 0;
	uint32_t maxmsg, l2, mtu_max, driver_max;
	int o, rc, chan;
	const struct cli_channel *cc;
	char h1[32];

	n = calloc(1, sizeof(*n));
	if (!n) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	n->tun_fd = -1;
	n->e.lock_fd = -1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(net_help, stdout);
			free(n);
			return CLI_OK;
		case 'a':
			as = optarg;
			break;
		case 'i':
			if (!valid_ifname(optarg)) {
				free(n);
				return cli_usage_error("net",
				                       "--ifname %s: an interface name is 1 to %d "
				                       "characters, without '/', ':' or spaces",
				                       optarg, IFNAMSIZ - 1);
			}
			ifname = optarg;
			break;
		case 'm':
			if (cli_parse_uint(optarg, UINT32_MAX, &mtu) != 0 || mtu == 0) {
				free(n);
				return cli_usage_error("net", "--mtu %s: give a number of bytes",
				                       optarg);
			}
			break;
		case 'T':
			n->tap = 1;
			break;
		case 'O':
			n->offload = 1;
			break;
		case 'A':
			if (n->n_addrs == MAX_ADDRS) {
				free(n);
				return cli_usage_error("net", "at most %d --addr", MAX_ADDRS);
			}
			if (parse_addr(&n->addrs[n->n_addrs], optarg) != 0) {
				free(n);
				return cli_usage_error(
				        "net",
				        "--addr %s: give an IPv6 or IPv4 address with "
				        "an optional prefix length, e.g. fd00::1/64 or "
				        "10.0.0.1/24",
				        optarg);
			}
			n->n_addrs++;
			break;
		case 'r':
			region = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 'q':
			n->quiet = 1;
			break;
		default:
			free(n);
			return cli_bad_option("net", argv);
		}
	}
	if (argc - optind < 2) {
		free(n);
		return cli_usage_error("net",
		                       argc - optind ? "no CHANNEL given" : "no CONFIG given");
	}
	if (argc - optind > 2) {
		free(n);
		return cli_usage_error("net", "too many arguments");
	}
	channel = argv[optind + 1];
	n->cname = channel;

	/* Configuration checks first: they are usage errors (exit 2). */
	if (cli_config_load(&n->c, argv[optind]) != 0) {
		free(n);
		return CLI_USAGE;
	}
	rc = CLI_USAGE;
	chan = shml_find_channel(&n->c.cfg, channel);
	if (chan < 0) {
		/* cli_end_open() says it with the list of channels. */
		rc = cli_end_open(&n->e, &n->c, "", channel, as, "net");
		goto out;
	}
	cc = &n->c.channels[chan];
	if (cc->mode != SHML_MODE_MESSAGE) {
		cli_err_at(n->c.file, cc->mode_line ? cc->mode_line : cc->line,
		           "shmlink net needs a message channel (one packet, one message), and "
		           "'%s' is a stream channel: set mode = message in [channel %s]",
		           cc->name, cc->name);
		goto out;
	}
	if (as) {
		int d = shml_find_domain(&n->c.cfg, as);
		if (d < 0 || ((uint32_t)d != cc->a && (uint32_t)d != cc->b)) {
			/* cli_end_open() says what is wrong with it, without touching the file. */
			rc = cli_end_open(&n->e, &n->c, "", channel, as, "net");
			goto out;
		}
	}
	maxmsg = shml_channel_max_message(&n->c.cfg, (uint32_t)chan);
	l2 = n->tap ? ETH_HDR + VLAN_HDR : 0;
	driver_max = n->tap ? TUN_MAX_MTU - ETH_HDR : TUN_MAX_MTU;
	mtu_max = maxmsg > l2 ? maxmsg - l2 : 0; /* what the channel carries */
	if (mtu_max > driver_max)
		mtu_max = driver_max;
	if (!mtu) {
		/* TUN: a 16th of the smaller ring (16 full frames fit), 1500 to 65535: large
		 * packets are what makes a link like this fast. TAP: Ethernet's 1500. */
		uint32_t ring = cc->ring_ab < cc->ring_ba ? cc->ring_ab : cc->ring_ba;
		mtu = n->tap ? DEFAULT_MTU : ring / 16;
		if (mtu < DEFAULT_MTU)
			mtu = DEFAULT_MTU;
		if (mtu > mtu_max)
			mtu = mtu_max;
		if (mtu < 68) {
			cli_err_at(n->c.file, cc->line,
			           "[channel %s] carries messages of up to %u bytes: too small for "
			           "IP packets (at least %u%s); raise ring (e.g. ring = 64K) or "
			           "max_message",
			           cc->name, maxmsg, 68 + l2, n->tap ? " with --tap" : "");
			goto out;
		}
	} else if (mtu < 68 || mtu > mtu_max) {
		if (mtu < 68)
			cli_usage_error("net", "--mtu %llu: IP needs at least 68 (IPv6: 1280)",
			                (unsigned long long)mtu);
		else if (mtu > driver_max)
			cli_usage_error("net", "--mtu %llu: the %s driver allows at most %u",
			                (unsigned long long)mtu, n->tap ? "TAP" : "TUN",
			                driver_max);
		else
			cli_err_at(n->c.file, cc->line,
			           "--mtu %llu does not fit channel '%s': its max message is %u "
			           "bytes%s, so the MTU can be at most %u; use --mtu %u, or make "
			           "the channel's messages larger (ring = %s or more%s in [channel "
			           "%s])",
			           (unsigned long long)mtu, cc->name, maxmsg,
			           n->tap ? " and a TAP frame adds 18 bytes of Ethernet header"
			                  : "",
			           mtu_max, mtu_max,
			           cli_size_str(cli_next_pow2(2 * (mtu + l2 + SHML_RECORD_HEADER)),
			                        h1, sizeof(h1)),
			           cc->max_message_line ? ", and max_message" : "", cc->name);
		goto out;
	}
	n->mtu = (uint32_t)mtu;
	n->maxmsg = maxmsg;
	n->frame = n->mtu + l2;
	if (n->offload) {
		/* TCP segments of up to 64 KiB whatever the MTU, after a virtio-net header. */
		n->frame = VNET_HDR + (GSO_MAX + l2 > n->frame ? GSO_MAX + l2 : n->frame);
		if (n->frame > maxmsg) {
			cli_err_at(n->c.file, cc->line,
			           "--offload needs channel '%s' to carry messages of %u bytes (a "
			           "virtio-net header and a 64 KiB segment%s), and its max message "
			           "is %u: make its rings 256K or more (ring = 256K in [channel "
			           "%s]%s)",
			           cc->name, n->frame, n->tap ? " with an Ethernet header" : "",
			           maxmsg, cc->name,
			           cc->max_message_line ? ", and remove or raise max_message" : "");
			rc = CLI_USAGE;
			goto out;
		}
	}
	if (n->mtu < 1280)
		note(n, "MTU %u is below 1280: the kernel gives the interface no IPv6", n->mtu);
	rc = cli_choose_port(&n->c, "net", port, region, &path);
	if (rc)
		goto out;
	rc = CLI_USAGE;

	/* Can we make an interface at all? Before we touch the region. */
	rc = tun_precheck(n);
	if (rc)
		goto out;
	rc = cli_end_open(&n->e, &n->c, path, channel, as, "net");
	if (rc)
		goto out;
	wrap_port(n);
	n->bounce = malloc(maxmsg > n->frame ? maxmsg : n->frame);
	if (!n->bounce) {
		cli_err("out of memory");
		rc = CLI_FAIL;
		goto out;
	}
	install_signals();
	rc = tun_create(n, ifname);
	if (rc)
		goto out;
	note(n,
	     "%s (%s, mtu %u%s) up as %s; channel '%s' to %s carries up to %u bytes a packet; "
	     "waiting for %s",
	     n->ifname, n->tap ? "tap" : "tun", n->mtu, n->offload ? ", offload" : "", self_name(n),
	     cc->name, peer_name(n), maxmsg, peer_name(n));
	rc = run(n);
	summary(n);
out:
	cli_end_close(&n->e); /* the peer sees our end close at once */
	if (n->tun_fd >= 0)
		close(n->tun_fd); /* removes the interface (it is not persistent) */
	cli_config_free(&n->c);
	free(n->bounce);
	free(n);
	return rc;
}
