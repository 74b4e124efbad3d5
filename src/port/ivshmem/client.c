/* SPDX-License-Identifier: MIT */
/*
 * The host peer: a process that joins an ivshmem server like QEMU's
 * ivshmem-doorbell device does. It maps the region the server hands out,
 * keeps every peer's eventfds (one per vector), and rings a peer by writing
 * 1 to that peer's eventfd for the channel's vector; QEMU turns it into an
 * MSI-X interrupt in the guest. It sleeps by polling its own eventfd, which
 * QEMU signals when the guest writes our id into its doorbell register. The
 * peer's id comes from its record in the region (or the static ids table).
 */
#include "ivshmem_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ERR(...) shml__ivs_seterr(c->err, sizeof(c->err), __VA_ARGS__)

static pthread_mutex_t *lock_of(struct shml_ivshmem_client *c)
{
	return (pthread_mutex_t *)c->lock;
}

static struct shml_ivshmem_client_peer *find_peer(struct shml_ivshmem_client *c, int32_t id)
{
	for (uint32_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].id == id)
			return &c->peers[i];
	return NULL;
}

static void drop_peer(struct shml_ivshmem_client *c, int32_t id)
{
	struct shml_ivshmem_client_peer *p = find_peer(c, id);
	if (!p)
		return;
	for (uint32_t v = 0; v < p->n; v++)
		close(p->efd[v]);
	*p = c->peers[--c->n_peers];
}

/* Handle one message after setup. */
static int handle(struct shml_ivshmem_client *c, int64_t v, int fd)
{
	struct shml_ivshmem_client_peer *p;
	if (v < 0 || v > SHML_IVSHMEM_MAX_ID) {
		if (fd >= 0)
			close(fd);
		return 0; /* not for us: ignore, as QEMU does */
	}
	if (fd < 0) { /* a departure */
		if ((int32_t)v != c->id)
			drop_peer(c, (int32_t)v);
		return 0;
	}
	if ((int32_t)v == c->id) { /* one of our own interrupt eventfds */
		if (c->n_own < SHML_IVSHMEM_MAX_VECTORS) {
			int fl = fcntl(fd, F_GETFL);
			if (fl >= 0)
				fcntl(fd, F_SETFL, fl | O_NONBLOCK);
			c->own[c->n_own++] = fd;
		} else {
			close(fd);
		}
		return 0;
	}
	p = find_peer(c, (int32_t)v);
	if (!p) {
		if (c->n_peers == c->cap_peers) {
			uint32_t cap = c->cap_peers ? c->cap_peers * 2 : 8;
			void *np = realloc(c->peers, cap * sizeof(*c->peers));
			if (!np) {
				close(fd);
				return -ENOMEM;
			}
			c->peers = np;
			c->cap_peers = cap;
		}
		p = &c->peers[c->n_peers++];
		p->id = (int32_t)v;
		p->n = 0;
	}
	if (p->n < SHML_IVSHMEM_MAX_VECTORS)
		p->efd[p->n++] = fd;
	else
		close(fd);
	return 0;
}

static int process_locked(struct shml_ivshmem_client *c)
{
	int n = 0;
	if (c->disconnected)
		return -ECONNRESET;
	for (;;) {
		int64_t v;
		int fd, rc = shml__ivs_recv_msg(c->sock, &v, &fd, 0);
		if (rc == 0)
			return n;
		if (rc < 0) {
			c->disconnected = 1;
			return rc;
		}
		rc = handle(c, v, fd);
		if (rc)
			return rc;
		c->stats.membership++;
		n++;
	}
}

int shml_ivshmem_client_process(struct shml_ivshmem_client *c)
{
	int rc;
	pthread_mutex_lock(lock_of(c));
	rc = process_locked(c);
	pthread_mutex_unlock(lock_of(c));
	return rc;
}

int shml_ivshmem_client_has_peer(struct shml_ivshmem_client *c, int32_t id)
{
	struct shml_ivshmem_client_peer *p;
	int r;
	pthread_mutex_lock(lock_of(c));
	process_locked(c);
	p = find_peer(c, id);
	r = p && p->n > 0;
	pthread_mutex_unlock(lock_of(c));
	return r;
}

static void client_notify(void *ctx, struct shml_chan *ch, volatile uint32_t *doorbell)
{
	struct shml_ivshmem_client *c = ctx;
	int32_t id = shml_ivshmem_peer_id(ch, c->ids.id); /* a hint: checked against our peers */
	uint32_t vec = shml__ivs_vector(ch, c->vectors);
	struct shml_ivshmem_client_peer *p;
	(void)doorbell;
	pthread_mutex_lock(lock_of(c));
	process_locked(c); /* a peer that came back has new eventfds */
	p = id >= 0 ? find_peer(c, id) : NULL;
	if (p && vec < p->n) {
		uint64_t one = 1;
		if (write(p->efd[vec], &one, sizeof(one)) == (ssize_t)sizeof(one))
			c->stats.notifies++;
		else
			c->stats.notify_dropped++;
	} else {
		c->stats.notify_dropped++;
	}
	pthread_mutex_unlock(lock_of(c));
}

static int client_wait(void *ctx, struct shml_chan *ch, const volatile uint32_t *peer_doorbell,
                       uint32_t expected, uint64_t timeout_ns)
{
	struct shml_ivshmem_client *c = ctx;
	uint32_t vec = shml__ivs_vector(ch, c->vectors);
	int extra, rc;
	/* Whoever wakes us finds our id in the region: make sure it is there. */
	shml_ivshmem_publish(ch->region, c->id);
	if (vec >= c->n_own) { /* cannot happen after a good connect */
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		return 0;
	}
	rc = shml__ivs_wait_eventfd(c->own[vec], c->disconnected ? -1 : c->sock, peer_doorbell,
	                            expected, timeout_ns, &c->stats, &extra);
	if (extra)
		shml_ivshmem_client_process(c);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Receive one setup message within @deadline (ms). 0: timed out. */
static int recv_setup(struct shml_ivshmem_client *c, int64_t *v, int *fd, int64_t deadline)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	int64_t left = deadline - now_ms();
	int k;
	if (left < 0)
		left = 0;
	do
		k = poll(&p, 1, (int)left);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return 0;
	return shml__ivs_recv_msg(c->sock, v, fd, 1);
}

int shml_ivshmem_client_connect(struct shml_ivshmem_client *c, const char *socket_path,
                                uint32_t vectors, const struct shml_ivshmem_ids *ids,
                                int timeout_ms)
{
	struct sockaddr_un a;
	struct stat st;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
	int64_t v;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	c->sock = -1;
	c->shm_fd = -1;
	c->id = SHML_IVSHMEM_NO_ID;
	if (ids)
		c->ids = *ids;
	else
		shml_ivshmem_ids_clear(&c->ids);
	c->lock = malloc(sizeof(pthread_mutex_t));
	if (!c->lock) {
		ERR("out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(lock_of(c), NULL);
	if (vectors > SHML_IVSHMEM_MAX_VECTORS) {
		ERR("at most %u vectors", SHML_IVSHMEM_MAX_VECTORS);
		rc = -EINVAL;
		goto fail;
	}

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(a.sun_path)) {
		ERR("socket path %s is too long", socket_path);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(a.sun_path, socket_path);
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0 || connect(c->sock, (struct sockaddr *)&a, sizeof(a)) != 0) {
		rc = -errno;
		if (rc == -ENOENT)
			ERR("no ivshmem server at %s (start `shmlink ivshmem-server` first)",
			    socket_path);
		else if (rc == -ECONNREFUSED)
			ERR("no ivshmem server listens on %s (a stale socket?)", socket_path);
		else
			ERR("cannot connect to %s: %s", socket_path, strerror(-rc));
		goto fail;
	}

	/* 1. the protocol version, 2. our id, 3. -1 with the shared memory. */
	rc = recv_setup(c, &v, &fd, deadline);
	if (rc == 1 && fd >= 0)
		close(fd);
	if (rc == 1 && v != 0) {
		ERR("server speaks ivshmem protocol version %lld; only 0 is known", (long long)v);
		rc = -EPROTO;
		goto fail;
	}
	if (rc == 1) {
		rc = recv_setup(c, &v, &fd, deadline);
		if (rc == 1 && fd >= 0)
			close(fd);
		if (rc == 1 && (v < 0 || v > SHML_IVSHMEM_MAX_ID)) {
			ERR("server gave an impossible id %lld", (long long)v);
			rc = -EPROTO;
			goto fail;
		}
		c->id = (int32_t)v;
	}
	if (rc == 1) {
		rc = recv_setup(c, &v, &c->shm_fd, deadline);
		if (rc == 1 && (v != -1 || c->shm_fd < 0)) {
			ERR("server did not send the shared memory");
			rc = -EPROTO;
			goto fail;
		}
	}
	if (rc <= 0) {
		ERR("ivshmem server at %s: %s during setup", socket_path,
		    rc == 0 ? "timed out" : strerror(-rc));
		rc = rc ? rc : -ETIMEDOUT;
		goto fail;
	}
	if (fstat(c->shm_fd, &st) != 0 || st.st_size <= 0) {
		ERR("the server's shared memory has no size");
		rc = -EPROTO;
		goto fail;
	}
	c->size = (uint64_t)st.st_size;
	c->mem = mmap(NULL, (size_t)c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->shm_fd, 0);
	if (c->mem == MAP_FAILED) {
		rc = -errno;
		c->mem = NULL;
		ERR("cannot map the shared memory: %s", strerror(-rc));
		goto fail;
	}

	/* 4. the other peers' eventfds, 5. ours; then quiet (the server sends them at once). */
	for (;;) {
		int64_t dl =
		        c->n_own ? (now_ms() + 50 < deadline ? now_ms() + 50 : deadline) : deadline;
		rc = recv_setup(c, &v, &fd, dl);
		if (rc < 0) {
			ERR("ivshmem server closed the connection during setup");
			goto fail;
		}
		if (rc == 0)
			break;
		rc = handle(c, v, fd);
		if (rc)
			goto fail;
	}
	if (!c->n_own) {
		ERR("ivshmem server sent no interrupt eventfds for us");
		rc = -ETIMEDOUT;
		goto fail;
	}
	c->vectors = vectors ? vectors : c->n_own;
	if (c->vectors > c->n_own) {
		ERR("the server hands out %u vector%s per peer, %u asked for", c->n_own,
		    c->n_own == 1 ? "" : "s", c->vectors);
		rc = -EINVAL;
		goto fail;
	}
	c->port = (struct shml_port){
		.ctx = c,
		.now_ns = shml__ivs_now,
		.notify = client_notify,
		.wait = client_wait,
		.relax = shml__ivs_relax,
	};
	return 0;
fail:
	shml_ivshmem_client_close(c);
	return rc;
}

void shml_ivshmem_client_close(struct shml_ivshmem_client *c)
{
	if (c->mem)
		munmap(c->mem, (size_t)c->size);
	c->mem = NULL;
	if (c->shm_fd >= 0)
		close(c->shm_fd);
	c->shm_fd = -1;
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	for (uint32_t v = 0; v < c->n_own; v++)
		close(c->own[v]);
	c->n_own = 0;
	while (c->n_peers)
		drop_peer(c, c->peers[0].id);
	free(c->peers);
	c->peers = NULL;
	c->cap_peers = 0;
	if (c->lock) {
		pthread_mutex_destroy(lock_of(c));
		free(c->lock);
		c->lock = NULL;
	}
}
