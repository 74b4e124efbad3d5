/* SPDX-License-Identifier: MIT */
/* The shmlink benchmark loops: see shml_bench.h. */
#include "shml_bench.h"
#include "bench_util.h"

#include <string.h>

static uint64_t now_ns(const struct shml_chan *ch)
{
	const struct shml_port *p = ch->region->port;
	return p->now_ns(p->ctx);
}

static void stamp(void *dst, size_t size, uint64_t seq)
{
	memcpy(dst, &seq, size < 8 ? size : 8);
}

static int check(const void *src, size_t size, uint64_t seq)
{
	uint64_t got = 0;
	memcpy(&got, src, size < 8 ? size : 8);
	if (size < 8)
		seq &= (1ull << (8 * size)) - 1u;
	return got == seq ? 0 : SHML_BENCH_EDATA;
}

/* One 8-byte word per cache line: what a consumer reading in place at least does. */
static uint64_t touch(const uint8_t *p, size_t n)
{
	uint64_t sum = 0, w;
	for (size_t off = 0; off + 8 <= n; off += 64) {
		memcpy(&w, p + off, 8);
		sum += w;
	}
	return sum;
}

/* Busy loops: give up after timeout_ns, reading the clock every 1024 tries. */
struct spin {
	uint32_t n;
	uint64_t deadline;
};

static int spin_again(struct shml_bench_loop *l, struct spin *s)
{
	bench_relax();
	if (++s->n & 1023u)
		return 1;
	if (!s->deadline)
		s->deadline = now_ns(l->ch) + l->timeout_ns;
	else if (now_ns(l->ch) > s->deadline)
		return 0;
	return 1;
}

static int retry(int32_t rc)
{
	return rc == SHML_EAGAIN || rc == SHML_ENOTCONN;
}

/* Nothing to do yet: sleep for @events (need @need) or spin once. 0: try again. */
static int await(struct shml_bench_loop *l, struct spin *s, unsigned events, size_t need)
{
	if (l->wait) {
		int w = shml_wait(l->ch, events | SHML_EV_STATE, need, l->timeout_ns);
		return w > 0 ? 0 : w ? w : SHML_ETIMEDOUT;
	}
	return spin_again(l, s) ? 0 : SHML_ETIMEDOUT;
}

int shml_bench_connect(struct shml_chan *ch, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns(ch) + timeout_ns;
	for (;;) {
		int rc = shml_poll(ch);
		if (rc == 1)
			return 0;
		if (rc != SHML_ENOTCONN && rc != SHML_ERESET)
			return rc;
		if (now_ns(ch) > deadline)
			return SHML_ETIMEDOUT;
		bench_relax();
	}
}

/* ---- message mode ------------------------------------------------------------------ */

static int msg_send(struct shml_bench_loop *l)
{
	struct shml_chan *ch = l->ch;
	struct spin s = { 0, 0 };
	int32_t rc;
	if (l->api == SHML_BENCH_COPY) {
		stamp(l->buf, l->size, l->tx_seq);
		if (l->wait)
			rc = shml_send_wait(ch, l->buf, l->size, l->timeout_ns);
		else
			while (retry(rc = shml_send(ch, l->buf, l->size)))
				if (!spin_again(l, &s))
					return SHML_ETIMEDOUT;
	} else {
		void *dst;
		while (retry(rc = shml_reserve(ch, l->size, &dst)))
			if ((rc = await(l, &s, SHML_EV_WRITABLE, l->size)) != 0)
				return rc;
		if (rc < 0)
			return rc;
		memcpy(dst, l->buf, l->size);
		stamp(dst, l->size, l->tx_seq);
		rc = shml_commit(ch, l->size);
	}
	if (rc < 0)
		return rc;
	l->tx_seq++;
	return 0;
}

static int msg_recv(struct shml_bench_loop *l)
{
	struct shml_chan *ch = l->ch;
	struct spin s = { 0, 0 };
	int32_t n;
	int rc;
	if (l->api == SHML_BENCH_COPY) {
		if (l->wait)
			n = shml_recv_wait(ch, l->buf, l->size, l->timeout_ns);
		else
			while (retry(n = shml_recv(ch, l->buf, l->size)))
				if (!spin_again(l, &s))
					return SHML_ETIMEDOUT;
		if (n < 0)
			return n;
		rc = (size_t)n == l->size ? check(l->buf, l->size, l->rx_seq) : SHML_BENCH_EDATA;
	} else {
		const void *src;
		while (retry(n = shml_peek(ch, &src)))
			if ((rc = await(l, &s, SHML_EV_READABLE, 0)) != 0)
				return rc;
		if (n < 0)
			return n;
		rc = (size_t)n == l->size ? check(src, l->size, l->rx_seq) : SHML_BENCH_EDATA;
		l->sink += touch(src, (size_t)n);
		if (rc == 0)
			rc = shml_release(ch, (size_t)n);
	}
	if (rc)
		return rc;
	l->rx_seq++;
	return 0;
}

/* ---- stream mode: a message is @size bytes of the stream ------------------------------- */

static int stream_send(struct shml_bench_loop *l)
{
	struct shml_chan *ch = l->ch;
	struct spin s = { 0, 0 };
	size_t done = 0;
	stamp(l->buf, l->size, l->tx_seq);
	if (l->api == SHML_BENCH_COPY && l->wait) {
		int32_t n = shml_write_all(ch, l->buf, l->size, l->timeout_ns);
		if (n < 0)
			return n;
		if ((size_t)n != l->size)
			return SHML_ETIMEDOUT;
		l->tx_seq++;
		return 0;
	}
	while (done < l->size) {
		int32_t n;
		void *dst = NULL;
		if (l->api == SHML_BENCH_COPY) {
			n = shml_write(ch, l->buf + done, l->size - done);
		} else {
			n = shml_reserve(ch, l->size - done, &dst);
			if (n > 0) {
				memcpy(dst, l->buf + done, (size_t)n);
				shml_commit(ch, (size_t)n);
			}
		}
		if (n > 0) {
			done += (size_t)n;
			s = (struct spin){ 0, 0 };
			continue;
		}
		if (n < 0 && !retry(n))
			return n;
		if ((n = await(l, &s, SHML_EV_WRITABLE, l->size - done)) != 0)
			return n;
	}
	l->tx_seq++;
	return 0;
}

static int stream_recv(struct shml_bench_loop *l)
{
	struct shml_chan *ch = l->ch;
	struct spin s = { 0, 0 };
	uint8_t head[8];
	size_t got = 0, hlen = l->size < 8 ? l->size : 8;
	while (got < l->size) {
		int32_t n;
		const uint8_t *src = NULL;
		if (l->api == SHML_BENCH_COPY) {
			n = l->wait ? shml_read_wait(ch, l->buf + got, l->size - got, l->timeout_ns)
			            : shml_read(ch, l->buf + got, l->size - got);
			if (n > 0)
				src = l->buf + got;
		} else {
			const void *p;
			n = shml_peek(ch, &p);
			if (n > 0) {
				if ((size_t)n > l->size - got)
					n = (int32_t)(l->size - got);
				src = p;
				l->sink += touch(src, (size_t)n);
			}
		}
		if (n > 0) {
			if (got < hlen)
				memcpy(head + got, src,
				       hlen - got < (size_t)n ? hlen - got : (size_t)n);
			if (l->api == SHML_BENCH_ZEROCOPY)
				shml_release(ch, (size_t)n);
			got += (size_t)n;
			s = (struct spin){ 0, 0 };
			continue;
		}
		if (n < 0 && !retry(n))
			return n;
		/* Blocking copying calls waited already. */
		if (!(l->wait && l->api == SHML_BENCH_COPY) &&
		    (n = await(l, &s, SHML_EV_READABLE, 0)) != 0)
			return n;
	}
	if (check(head, hlen, l->rx_seq))
		return SHML_BENCH_EDATA;
	l->rx_seq++;
	return 0;
}

/* ---- public ---------------------------------------------------------------------------- */

static int send_one(struct shml_bench_loop *l)
{
	return l->ch->mode == SHML_MODE_STREAM ? stream_send(l) : msg_send(l);
}

static int recv_one(struct shml_bench_loop *l)
{
	return l->ch->mode == SHML_MODE_STREAM ? stream_recv(l) : msg_recv(l);
}

int shml_bench_send(struct shml_bench_loop *l, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		int rc = send_one(l);
		if (rc)
			return rc;
	}
	return 0;
}

int shml_bench_recv(struct shml_bench_loop *l, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		int rc = recv_one(l);
		if (rc)
			return rc;
	}
	return 0;
}

int shml_bench_ping(struct shml_bench_loop *l, uint64_t count, uint64_t *samples)
{
	uint64_t prev = now_ns(l->ch);
	for (uint64_t i = 0; i < count; i++) {
		int rc = send_one(l);
		if (rc == 0)
			rc = recv_one(l);
		if (rc)
			return rc;
		if (samples) {
			uint64_t t = now_ns(l->ch);
			samples[i] = t - prev;
			prev = t;
		}
	}
	return 0;
}

int shml_bench_pong(struct shml_bench_loop *l, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		int rc = recv_one(l);
		if (rc == 0)
			rc = send_one(l);
		if (rc)
			return rc;
	}
	return 0;
}

int shml_bench_idle(struct shml_bench_loop *l, uint64_t ns)
{
	struct shml_chan *ch = l->ch;
	int32_t rc;
	if (l->api == SHML_BENCH_ZEROCOPY) {
		rc = shml_wait(ch, SHML_EV_READABLE, 0, ns);
		return rc == 0 ? 0 : rc < 0 ? rc : SHML_BENCH_EDATA;
	}
	rc = ch->mode == SHML_MODE_STREAM ? shml_read_wait(ch, l->buf, l->size, ns)
	                                  : shml_recv_wait(ch, l->buf, l->size, ns);
	return rc == SHML_ETIMEDOUT ? 0 : rc < 0 ? rc : SHML_BENCH_EDATA;
}

void shml_bench_config_init(struct shml_bench_config *b, uint32_t mode, uint32_t ring)
{
	memset(b, 0, sizeof(*b));
	b->domains[0] = (struct shml_domain_cfg){ .name = "producer", .id = 1 };
	b->domains[1] = (struct shml_domain_cfg){ .name = "consumer", .id = 2 };
	b->channel = (struct shml_channel_cfg){
		.name = "bench", .a = 0, .b = 1, .mode = mode, .ring_ab = ring, .ring_ba = ring
	};
	b->cfg.cacheline = 64;
	b->cfg.n_domains = 2;
	b->cfg.domains = b->domains;
	b->cfg.n_channels = 1;
	b->cfg.channels = &b->channel;
	b->cfg.region_size = shml_layout_bytes(&b->cfg);
}
