/* SPDX-License-Identifier: MIT */
/*
 * An ivshmem server: the protocol of QEMU's docs/specs/ivshmem-spec.rst.
 *
 * To a new client, in order: the protocol version (0); its id; -1 with the
 * shared-memory fd; for every other peer, that peer's id once per vector,
 * each with one of its eventfds; then its own id once per vector with its own
 * eventfds. The other peers get the new id with the new eventfds. When a
 * client goes, the others get its id without an fd.
 *
 * Ids count up and are never given out twice while the server runs, as in
 * QEMU's example server: QEMU (seen with 7.2) corrupts its heap and aborts
 * when an id it saw leave joins again, so reusing the id of a host peer that
 * restarted would kill every guest on the server. Domains find each other's
 * current id in the region instead (docs/IVSHMEM.md, "Peer id records").
 * When the 16 bits the Doorbell register has for an id run out, new peers
 * are refused: restart the server (and its QEMUs).
 */
#include "ivshmem_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ERR(...) shml__ivs_seterr(s->err, sizeof(s->err), __VA_ARGS__)

static void logv(const struct shml_ivshmem_server *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void logv(const struct shml_ivshmem_server *s, const char *fmt, ...)
{
	va_list ap;
	if (!s->opts.verbose)
		return;
	va_start(ap, fmt);
	fputs("ivshmem-server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int open_region(struct shml_ivshmem_server *s)
{
	const struct shml_ivshmem_server_opts *o = &s->opts;
	struct stat st;
	int fd;

	if (strchr(o->region_path, '/'))
		snprintf(s->region_path, sizeof(s->region_path), "%s", o->region_path);
	else
		snprintf(s->region_path, sizeof(s->region_path), "/dev/shm/%s", o->region_path);

	fd = open(s->region_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (!o->size) {
			close(fd);
			unlink(s->region_path);
			ERR("region file %s does not exist: give its size", s->region_path);
			return -EINVAL;
		}
		if (ftruncate(fd, (off_t)o->size) != 0) {
			int e = errno;
			close(fd);
			unlink(s->region_path);
			ERR("cannot size region file %s to %llu bytes: %s", s->region_path,
			    (unsigned long long)o->size, strerror(e));
			return -e;
		}
		s->created_region = 1;
		s->size = o->size;
		s->shm_fd = fd;
		return 0;
	}
	if (errno != EEXIST) {
		int e = errno;
		ERR("cannot create region file %s: %s", s->region_path, strerror(e));
		return -e;
	}
	fd = open(s->region_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ERR("cannot open region file %s: %s", s->region_path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		ERR("region %s is not a regular file", s->region_path);
		return -EINVAL;
	}
	if (o->size && (uint64_t)st.st_size != o->size) {
		close(fd);
		ERR("region size mismatch: %s is %llu bytes, not the %llu asked for "
		    "(remove it, or ask for its size)",
		    s->region_path, (unsigned long long)st.st_size, (unsigned long long)o->size);
		return -EINVAL;
	}
	if (!is_pow2((uint64_t)st.st_size)) {
		close(fd);
		ERR("region file %s is %llu bytes: ivshmem needs a power of two", s->region_path,
		    (unsigned long long)st.st_size);
		return -EINVAL;
	}
	s->size = (uint64_t)st.st_size;
	s->shm_fd = fd;
	return 0;
}

static int open_socket(struct shml_ivshmem_server *s)
{
	struct sockaddr_un a;
	struct stat st;
	int fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(s->opts.socket_path) >= sizeof(a.sun_path)) {
		ERR("socket path %s is too long (at most %zu bytes)", s->opts.socket_path,
		    sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, s->opts.socket_path);
	snprintf(s->socket_path, sizeof(s->socket_path), "%s", s->opts.socket_path);

	if (lstat(a.sun_path, &st) == 0) {
		int probe, rc;
		if (!S_ISSOCK(st.st_mode)) {
			ERR("%s exists and is not a socket: not removing it", a.sun_path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		rc = connect(probe, (struct sockaddr *)&a, sizeof(a));
		close(probe);
		if (rc == 0) {
			ERR("socket %s is in use by a running ivshmem server", a.sun_path);
			return -EADDRINUSE;
		}
		if (errno != ECONNREFUSED) {
			int e = errno;
			ERR("cannot probe socket %s: %s", a.sun_path, strerror(e));
			return -e;
		}
		/* Nobody listens: a server died without removing it. */
		logv(s, "removing stale socket %s", a.sun_path);
		if (unlink(a.sun_path) != 0 && errno != ENOENT) {
			int e = errno;
			ERR("cannot remove stale socket %s: %s", a.sun_path, strerror(e));
			return -e;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE)
			ERR("socket %s appeared meanwhile: another server is starting", a.sun_path);
		else
			ERR("cannot listen on %s: %s", a.sun_path, strerror(e));
		return -e;
	}
	if (stat(a.sun_path, &st) == 0) {
		s->sock_dev = st.st_dev;
		s->sock_ino = st.st_ino;
	}
	s->listen_fd = fd;
	return 0;
}

int shml_ivshmem_server_open(struct shml_ivshmem_server *s,
                             const struct shml_ivshmem_server_opts *opts)
{
	int rc;
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	s->shm_fd = -1;
	s->opts = *opts;
	if (!opts->socket_path || !*opts->socket_path || !opts->region_path ||
	    !*opts->region_path) {
		ERR("a socket path and a region file are needed");
		return -EINVAL;
	}
	if (opts->vectors < 1 || opts->vectors > SHML_IVSHMEM_MAX_VECTORS) {
		ERR("vectors must be 1..%u, not %u", SHML_IVSHMEM_MAX_VECTORS, opts->vectors);
		return -EINVAL;
	}
	if (!s->opts.max_peers)
		s->opts.max_peers = 64;
	if (s->opts.max_peers > SHML_IVSHMEM_MAX_ID + 1u) {
		ERR("at most %u peers", SHML_IVSHMEM_MAX_ID + 1u);
		return -EINVAL;
	}
	if (opts->size && !is_pow2(opts->size)) {
		ERR("region size %llu is not a power of two (QEMU maps it as a PCI BAR)",
		    (unsigned long long)opts->size);
		return -EINVAL;
	}
	s->peers = calloc(s->opts.max_peers, sizeof(*s->peers));
	if (!s->peers) {
		ERR("out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->opts.max_peers; i++)
		s->peers[i].fd = -1;
	/* The socket first: a live server must not see its region checked, let alone made. */
	rc = open_socket(s);
	if (rc == 0)
		rc = open_region(s);
	if (rc) {
		shml_ivshmem_server_close(s, 0);
		return rc;
	}
	return 0;
}

static void free_peer(struct shml_ivshmem_server_peer *p, uint32_t vectors)
{
	if (p->fd >= 0)
		close(p->fd);
	for (uint32_t v = 0; v < vectors; v++)
		if (p->efd[v] >= 0)
			close(p->efd[v]);
	p->fd = -1;
}

static void remove_peer(struct shml_ivshmem_server *s, struct shml_ivshmem_server_peer *p,
                        const char *why);

/* Send one peer's eventfds (its id once per vector) to @to. */
static int send_eventfds(struct shml_ivshmem_server *s, int to,
                         const struct shml_ivshmem_server_peer *p)
{
	for (uint32_t v = 0; v < s->opts.vectors; v++) {
		int rc = shml__ivs_send_msg(to, p->id, p->efd[v]);
		if (rc)
			return rc;
	}
	return 0;
}

static void accept_peer(struct shml_ivshmem_server *s)
{
	struct shml_ivshmem_server_peer *p = NULL;
	struct timeval tv = { .tv_sec = 2 };
	int32_t id;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int rc;
	if (fd < 0)
		return;
	for (uint32_t i = 0; i < s->opts.max_peers; i++)
		if (s->peers[i].fd < 0) {
			p = &s->peers[i];
			break;
		}
	if (!p) {
		fprintf(stderr, "ivshmem-server: refusing a peer: already %u (--max-peers)\n",
		        s->n_peers);
		close(fd);
		return;
	}
	/*
	 * The next id nobody has had (see the top of the file). Every id in use
	 * is below it, so it is free; after the last one, refuse rather than wrap.
	 */
	if (s->next_id > SHML_IVSHMEM_MAX_ID) {
		fprintf(stderr,
		        "ivshmem-server: refusing a peer: all %u ids were given out (QEMU cannot "
		        "take an id again): restart the server\n",
		        SHML_IVSHMEM_MAX_ID + 1u);
		close(fd);
		return;
	}
	id = (int32_t)s->next_id++;
	/* A client that stops reading must not stall everyone else. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	p->id = id;
	for (uint32_t v = 0; v < SHML_IVSHMEM_MAX_VECTORS; v++)
		p->efd[v] = -1;
	for (uint32_t v = 0; v < s->opts.vectors; v++) {
		p->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd[v] < 0) {
			fprintf(stderr, "ivshmem-server: eventfd: %s\n", strerror(errno));
			free_peer(p, s->opts.vectors);
			close(fd);
			return;
		}
	}
	rc = shml__ivs_send_msg(fd, 0, -1); /* protocol version */
	if (!rc)
		rc = shml__ivs_send_msg(fd, id, -1);
	if (!rc)
		rc = shml__ivs_send_msg(fd, -1, s->shm_fd);
	for (uint32_t i = 0; i < s->opts.max_peers && !rc; i++)
		if (s->peers[i].fd >= 0)
			rc = send_eventfds(s, fd, &s->peers[i]);
	if (rc) {
		/* A client that leaves at once (e.g. a probe for a live server) is no news. */
		if (rc == -EPIPE || rc == -ECONNRESET)
			logv(s, "a client left during setup");
		else
			fprintf(stderr, "ivshmem-server: peer %d: setup failed: %s\n", id,
			        strerror(-rc));
		free_peer(p, s->opts.vectors);
		close(fd);
		return;
	}
	p->fd = fd;
	s->n_peers++;
	s->joins++;
	/* Now the others learn about it; one that cannot be told is dropped. */
	for (uint32_t i = 0; i < s->opts.max_peers && p->fd >= 0; i++) {
		struct shml_ivshmem_server_peer *o = &s->peers[i];
		if (o != p && o->fd >= 0 && send_eventfds(s, o->fd, p) != 0)
			remove_peer(s, o, "unreachable");
	}
	if (p->fd < 0)
		return;
	rc = send_eventfds(s, fd, p); /* its own interrupts */
	if (rc) {
		remove_peer(s, p, "setup failed");
		return;
	}
	logv(s, "peer %d joined (%u connected)", id, s->n_peers);
}

static void remove_peer(struct shml_ivshmem_server *s, struct shml_ivshmem_server_peer *p,
                        const char *why)
{
	int32_t id = p->id;
	if (p->fd < 0)
		return;
	free_peer(p, s->opts.vectors);
	s->n_peers--;
	s->leaves++;
	logv(s, "peer %d left (%s; %u connected)", id, why, s->n_peers);
	for (uint32_t i = 0; i < s->opts.max_peers; i++) {
		struct shml_ivshmem_server_peer *o = &s->peers[i];
		if (o->fd >= 0 && shml__ivs_send_msg(o->fd, id, -1) != 0)
			remove_peer(s, o, "unreachable");
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int shml_ivshmem_server_run(struct shml_ivshmem_server *s, int stop_fd, int timeout_ms)
{
	uint32_t n = s->opts.max_peers + 2;
	struct pollfd *p = calloc(n, sizeof(*p));
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	int rc = 0;
	if (!p) {
		ERR("out of memory");
		return -ENOMEM;
	}
	for (;;) {
		int wait_ms = -1, k;
		p[0] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		for (uint32_t i = 0; i < s->opts.max_peers; i++)
			p[i + 2] = (struct pollfd){ .fd = s->peers[i].fd, .events = POLLIN };
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				rc = 1;
				break;
			}
			wait_ms = left > 1000000 ? 1000000 : (int)left;
		}
		k = poll(p, n, wait_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -errno;
			ERR("poll: %s", strerror(errno));
			break;
		}
		if (stop_fd >= 0 && p[0].revents) {
			rc = 0;
			break;
		}
		/* Departures before arrivals: the others hear of a leave before a join. */
		for (uint32_t i = 0; i < s->opts.max_peers; i++) {
			struct shml_ivshmem_server_peer *q = &s->peers[i];
			char junk[64];
			ssize_t r;
			if (q->fd < 0 || !p[i + 2].revents || p[i + 2].fd != q->fd)
				continue;
			/* Clients never send anything: data is ignored, EOF is a leave. */
			r = recv(q->fd, junk, sizeof(junk), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				remove_peer(s, q, "disconnected");
		}
		if (p[1].revents & POLLIN)
			accept_peer(s);
	}
	free(p);
	return rc;
}

void shml_ivshmem_server_close(struct shml_ivshmem_server *s, int remove_region)
{
	struct stat st;
	if (s->peers) {
		for (uint32_t i = 0; i < s->opts.max_peers; i++)
			if (s->peers[i].fd >= 0) {
				free_peer(&s->peers[i], s->opts.vectors);
				s->n_peers--;
			}
		free(s->peers);
		s->peers = NULL;
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		s->listen_fd = -1;
		/* Remove the socket only if it is still ours (not a successor's). */
		if (stat(s->socket_path, &st) == 0 && st.st_dev == s->sock_dev &&
		    st.st_ino == s->sock_ino)
			unlink(s->socket_path);
	}
	if (s->shm_fd >= 0) {
		close(s->shm_fd);
		s->shm_fd = -1;
		if (remove_region)
			unlink(s->region_path);
	}
}
