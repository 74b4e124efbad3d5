/* SPDX-License-Identifier: MIT */
/* The benchmark harness: see bench_util.h. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

int bench_failures(void)
{
	return failures;
}

/* ---- options ---------------------------------------------------------------------- */

static const size_t quick_sizes[] = { 64, 1024, 65536 };
static const size_t full_sizes[] = { 8,    16,   32,   64,    128,   256,   512,    1024,
	                             2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144 };

static void usage(const char *prog, const char *extra, int rc)
{
	fprintf(rc ? stderr : stdout,
	        "usage: %s [options]\n"
	        "  --mode smoke|quick|full  durations and sizes (default quick)\n"
	        "  --run N                  run number for the CSV (default 1)\n"
	        "  --csv FILE               append CSV rows to FILE (default stdout)\n"
	        "  --sizes A,B,...          message sizes in bytes (default by mode)\n"
	        "  --seconds S              measured time per measurement\n"
	        "  --warmup S               warm-up time before it\n"
	        "  --idle S                 how long an idle receiver waits (idle CPU)\n"
	        "  --ring BYTES             ring size of the ring transports (power of two;\n"
	        "                           default: 256 KiB, or 16 x the message size if larger)\n"
	        "  --only TEXT              only measurements whose transport/mode/wait has TEXT\n"
	        "  --extras 0|1             the size-independent measurements too (default 1)\n"
	        "  --quiet                  do not echo rows to stderr\n"
	        "%s",
	        prog, extra ? extra : "");
	exit(rc);
}

static double parse_double(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);
	if (*s == 0 || *end != 0 || v < 0) {
		fprintf(stderr, "bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static void parse_sizes(struct bench_opts *o, const char *s)
{
	o->n_sizes = 0;
	while (*s) {
		char *end;
		unsigned long long v = strtoull(s, &end, 0);
		if (end == s || v == 0 || o->n_sizes == BENCH_MAX_SIZES) {
			fprintf(stderr, "bad --sizes\n");
			exit(2);
		}
		if (*end == 'k' || *end == 'K')
			v <<= 10, end++;
		o->sizes[o->n_sizes++] = (size_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',') {
			fprintf(stderr, "bad --sizes\n");
			exit(2);
		}
	}
}

void bench_parse_opts(struct bench_opts *o, int argc, char **argv, const char *extra)
{
	const char *sizes = NULL;
	double seconds = -1, warmup = -1, idle = -1;
	memset(o, 0, sizeof(*o));
	o->prog = argv[0];
	o->mode = "quick";
	o->run = 1;
	o->extras = 1;
	o->ring = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage(argv[0], extra, 0);
		if (!strcmp(a, "--quiet")) {
			o->quiet = 1;
			continue;
		}
		if (!v)
			usage(argv[0], extra, 2);
		i++;
		if (!strcmp(a, "--mode"))
			o->mode = v;
		else if (!strcmp(a, "--run"))
			o->run = atoi(v);
		else if (!strcmp(a, "--csv"))
			o->csv = v;
		else if (!strcmp(a, "--sizes"))
			sizes = v;
		else if (!strcmp(a, "--seconds"))
			seconds = parse_double(v, a);
		else if (!strcmp(a, "--warmup"))
			warmup = parse_double(v, a);
		else if (!strcmp(a, "--idle"))
			idle = parse_double(v, a);
		else if (!strcmp(a, "--ring"))
			o->ring = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--only"))
			o->only = v;
		else if (!strcmp(a, "--extras"))
			o->extras = atoi(v);
		else
			usage(argv[0], extra, 2);
	}
	if (strcmp(o->mode, "smoke") && strcmp(o->mode, "quick") && strcmp(o->mode, "full"))
		usage(argv[0], extra, 2);
	if (o->ring && (o->ring < 4096 || (o->ring & (o->ring - 1)) || o->ring > (1u << 30))) {
		fprintf(stderr, "--ring must be a power of two in [4096, 1 GiB]\n");
		exit(2);
	}
	if (bench_is_full(o)) {
		memcpy(o->sizes, full_sizes, sizeof(full_sizes));
		o->n_sizes = (int)(sizeof(full_sizes) / sizeof(full_sizes[0]));
	} else {
		memcpy(o->sizes, quick_sizes, sizeof(quick_sizes));
		o->n_sizes = (int)(sizeof(quick_sizes) / sizeof(quick_sizes[0]));
	}
	o->seconds = bench_is_smoke(o) ? 0.02 : bench_is_full(o) ? 0.5 : 0.25;
	o->warmup = bench_is_smoke(o) ? 0.005 : bench_is_full(o) ? 0.1 : 0.05;
	o->idle = bench_is_smoke(o) ? 0.2 : 2.0;
	if (sizes)
		parse_sizes(o, sizes);
	if (seconds >= 0)
		o->seconds = seconds;
	if (warmup >= 0)
		o->warmup = warmup;
	if (idle >= 0)
		o->idle = idle;
	for (int i = 0; i < o->n_sizes; i++) {
		if (o->ring && o->sizes[i] > o->ring / 4) {
			fprintf(stderr, "size %zu too large for --ring %llu (at most ring/4)\n",
			        o->sizes[i], (unsigned long long)o->ring);
			exit(2);
		}
	}
}

uint64_t bench_ring_bytes(const struct bench_opts *o, size_t size)
{
	uint64_t r = 256u << 10;
	if (o->ring)
		return o->ring;
	while (r < 16 * (uint64_t)size)
		r <<= 1;
	return r;
}

int bench_is_smoke(const struct bench_opts *o)
{
	return !strcmp(o->mode, "smoke");
}

int bench_is_full(const struct bench_opts *o)
{
	return !strcmp(o->mode, "full");
}

int bench_selected(const struct bench_opts *o, const char *transport, const char *mode,
                   const char *wait)
{
	char name[128];
	if (!o->only)
		return 1;
	snprintf(name, sizeof(name), "%s/%s/%s", transport, mode, wait);
	return strstr(name, o->only) != NULL;
}

/* ---- CSV --------------------------------------------------------------------------- */

static const char csv_header[] = "transport,mode,wait,size,metric,value,unit,run\n";

void bench_csv(const struct bench_opts *o, const char *transport, const char *mode,
               const char *wait, size_t size, const char *metric, double value, const char *unit)
{
	char row[256];
	snprintf(row, sizeof(row), "%s,%s,%s,%zu,%s,%.6g,%s,%d\n", transport, mode, wait, size,
	         metric, value, unit, o->run);
	if (o->csv) {
		FILE *f = fopen(o->csv, "a");
		struct stat st;
		if (!f) {
			perror(o->csv);
			exit(1);
		}
		if (fstat(fileno(f), &st) == 0 && st.st_size == 0)
			fputs(csv_header, f);
		fputs(row, f);
		fclose(f);
		if (!o->quiet)
			fputs(row, stderr);
	} else {
		static int header_done;
		if (!header_done)
			fputs(csv_header, stdout);
		header_done = 1;
		fputs(row, stdout);
		fflush(stdout);
	}
}

void bench_note(const struct bench_opts *o, const char *fmt, ...)
{
	va_list ap;
	(void)o;
	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* ---- time, CPU, pinning -------------------------------------------------------------- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bench_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

static int allowed_cpus[CPU_SETSIZE];
static int n_allowed = -1;

static void load_cpus(void)
{
	cpu_set_t set;
	if (n_allowed >= 0)
		return;
	n_allowed = 0;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			allowed_cpus[n_allowed++] = c;
}

int bench_ncpus(void)
{
	load_cpus();
	return n_allowed;
}

int bench_pin(int side)
{
	cpu_set_t set;
	load_cpus();
	if (n_allowed <= 0)
		return -ENOSYS;
	CPU_ZERO(&set);
	CPU_SET(allowed_cpus[side % n_allowed], &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

/* ---- statistics and payload ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void bench_sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t bench_percentile(const uint64_t *sorted, size_t n, double pct)
{
	size_t i;
	if (n == 0)
		return 0;
	i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

void bench_stamp(void *buf, size_t size, uint64_t seq)
{
	if (size >= sizeof(seq))
		memcpy(buf, &seq, sizeof(seq));
	else if (size)
		memcpy(buf, &seq, size);
}

int bench_check(const void *buf, size_t size, uint64_t seq)
{
	uint64_t got = 0;
	memcpy(&got, buf, size < sizeof(got) ? size : sizeof(got));
	if (size < sizeof(got))
		seq &= (1ull << (8 * size)) - 1u;
	return got == seq ? 0 : -1;
}

uint64_t bench_touch(const void *buf, size_t size)
{
	const uint8_t *p = buf;
	uint64_t sum = 0, w;
	for (size_t off = 0; off + 8 <= size; off += 64) {
		memcpy(&w, p + off, 8);
		sum += w;
	}
	return sum;
}

void *bench_alloc(size_t size)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, size ? size : 1) != 0) {
		fprintf(stderr, "out of memory (%zu bytes)\n", size);
		exit(1);
	}
	memset(p, 0x5a, size);
	return p;
}

void *bench_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p, 0, size);
	return p;
}

void bench_shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/* ---- the two-process runner ----------------------------------------------------------------- */

enum kind { K_TPUT, K_RTT, K_IDLE };

/*
 * The measured phase of a throughput run is cut into slices; the reported
 * rate is that of the fastest slice (a busy machine only ever slows a slice
 * down, so the fastest is the most repeatable estimate of what the transport
 * can do), CPU time is that of the whole phase.
 */
#define BENCH_MAX_SLICES 16

struct side_result {
	int rc;
	char err[160];
	double cpu_ns;
	struct bench_side_stats before, after;
	int pinned;
};

struct ctl {
	_Atomic uint32_t arrived, gen;
	_Atomic int failed;
	uint64_t t0, t1, count;
	int slices;        /* the most slices; fewer if a slice would hold < 4 x capacity */
	uint64_t capacity; /* messages the transport buffers between the sides */
	int used_slices;
	uint64_t slice_end[2][BENCH_MAX_SLICES]; /* when each side finished slice i */
	uint64_t median, p99, mean, samples;
	double idle_cpu_ns, idle_wall_ns;
	_Atomic int finished[2];      /* the side has its results in (it only closes after) */
	const char *_Atomic phase[2]; /* where each worker is, for a timeout's message */
	struct side_result side[2];
};

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

/* Two parties. Returns -1 if a worker reported a failure. */
static int barrier(struct ctl *c)
{
	uint32_t g = atomic_load(&c->gen);
	if (atomic_fetch_add(&c->arrived, 1) == 1) {
		atomic_store(&c->arrived, 0);
		atomic_store(&c->gen, g + 1);
		futex(&c->gen, FUTEX_WAKE, INT_MAX, NULL);
	} else {
		struct timespec ts = { 0, 10000000 };
		for (int spin = 0; atomic_load(&c->gen) == g; spin++) {
			if (atomic_load(&c->failed))
				return -1;
			if (spin < 2000)
				bench_relax();
			else
				futex(&c->gen, FUTEX_WAIT, g, &ts);
		}
	}
	return atomic_load(&c->failed) ? -1 : 0;
}

static void worker_fail(struct ctl *c, int side, const char *what, int rc)
{
	struct side_result *r = &c->side[side];
	r->rc = rc ? rc : -1;
	snprintf(r->err, sizeof(r->err), "%s failed (%d)", what, rc);
	atomic_store(&c->failed, 1);
	futex(&c->gen, FUTEX_WAKE, INT_MAX, NULL);
}

static int run_phase(struct bench_pair *p, void *st, struct ctl *c, int side, enum kind k,
                     size_t size, uint64_t n, uint64_t *samples, int slices)
{
	int rc = 0;
	if (k == K_TPUT) {
		/* Slices without a barrier between them: the consumer stamps each slice's end. */
		uint64_t done = 0;
		if (side == 0)
			c->t0 = bench_now_ns();
		for (int i = 0; i < slices && rc == 0; i++) {
			uint64_t part = (n - done) / (uint64_t)(slices - i);
			rc = p->tput(st, side, size, part);
			done += part;
			c->slice_end[side][i] = bench_now_ns();
		}
		if (side == 1)
			c->t1 = bench_now_ns();
	} else {
		uint64_t t = bench_now_ns();
		rc = p->rtt(st, side, size, n, samples);
		if (side == 0) {
			c->t0 = t;
			c->t1 = bench_now_ns();
		}
	}
	return rc;
}

static void worker(const struct bench_opts *o, struct bench_pair *p, struct ctl *c, int side,
                   enum kind k, size_t size)
{
	void *st = NULL;
	uint64_t *samples = NULL, max_samples = bench_is_smoke(o) ? 1u << 16 : 1u << 21;
	uint64_t n = 8, warm_ns = (uint64_t)(o->warmup * 1e9),
	         meas_ns = (uint64_t)(o->seconds * 1e9);
	int rc;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	c->side[side].pinned = bench_pin(side) == 0;
	if (k == K_RTT && side == 0)
		samples = bench_alloc(max_samples * sizeof(*samples));
	atomic_store(&c->phase[side], "opening the transport");
	rc = p->open(p, side, size, &st);
	atomic_store(&c->phase[side], "waiting for the other worker");
	if (rc) {
		worker_fail(c, side, "open", rc);
		_exit(1);
	}
	if (k == K_IDLE) {
		if (barrier(c))
			_exit(1);
		if (side == 1) {
			double c0 = bench_cpu_ns();
			uint64_t w0 = bench_now_ns();
			if (p->stats)
				p->stats(st, side, &c->side[side].before);
			rc = p->idle(st, side, (uint64_t)(o->idle * 1e9));
			c->idle_wall_ns = (double)(bench_now_ns() - w0);
			c->idle_cpu_ns = bench_cpu_ns() - c0;
			if (p->stats)
				p->stats(st, side, &c->side[side].after);
			if (rc)
				worker_fail(c, side, "idle wait", rc);
		} else {
			struct timespec ts = { (time_t)o->idle,
				               (long)((o->idle - (double)(time_t)o->idle) * 1e9) };
			nanosleep(&ts, NULL);
		}
		if (barrier(c))
			_exit(1);
		atomic_store(&c->finished[side], 1);
		atomic_store(&c->phase[side], "closing the transport");
		p->close(st, side);
		exit(0); /* not _exit: libraries' destructors run (iceoryx deregisters from RouDi)
		          */
	}
	/* Warm-up: double (or better) the count until one phase takes the warm-up time. */
	for (int round = 0;; round++) {
		uint64_t el, mult;
		if (barrier(c))
			_exit(1);
		atomic_store(&c->phase[side], "warming up");
		rc = run_phase(p, st, c, side, k, size, n, samples, 1);
		atomic_store(&c->phase[side], "waiting for the other worker");
		if (rc) {
			worker_fail(c, side, "warm-up", rc);
			_exit(1);
		}
		if (barrier(c))
			_exit(1);
		el = c->t1 > c->t0 ? c->t1 - c->t0 : 1;
		if (el >= warm_ns || round >= 40 || (k == K_RTT && n >= max_samples))
			break;
		mult = warm_ns / el + 1;
		n *= mult < 2 ? 2 : mult > 16 ? 16 : mult;
		if (k == K_RTT && n > max_samples)
			n = max_samples;
	}
	/* Both sides compute the same count from the same shared values. */
	{
		uint64_t el = c->t1 > c->t0 ? c->t1 - c->t0 : 1;
		double want = (double)n * (double)meas_ns / (double)el;
		n = want < 16 ? 16 : want > 1e10 ? (uint64_t)1e10 : (uint64_t)want;
		if (k == K_RTT && n > max_samples)
			n = max_samples;
		/* At least 8 slices of 4 x what the transport buffers (not in smoke mode). */
		if (k == K_TPUT && !bench_is_smoke(o) && n < 32 * c->capacity)
			n = 32 * c->capacity;
		if (k == K_TPUT && side == 0) {
			uint64_t most = n / (4 * c->capacity);
			c->used_slices = most < 1                     ? 1
			                 : most < (uint64_t)c->slices ? (int)most
			                                              : c->slices;
		}
	}
	if (barrier(c))
		_exit(1);
	{
		double c0;
		if (p->stats)
			p->stats(st, side, &c->side[side].before);
		c0 = bench_cpu_ns();
		atomic_store(&c->phase[side], "measuring");
		rc = run_phase(p, st, c, side, k, size, n, samples, c->used_slices);
		atomic_store(&c->phase[side], "waiting for the other worker");
		c->side[side].cpu_ns = bench_cpu_ns() - c0;
		if (p->stats)
			p->stats(st, side, &c->side[side].after);
		if (rc) {
			worker_fail(c, side, "measurement", rc);
			_exit(1);
		}
		if (side == 0)
			c->count = n;
	}
	if (barrier(c))
		_exit(1);
	if (k == K_RTT && side == 0) {
		double sum = 0;
		for (uint64_t i = 0; i < n; i++)
			sum += (double)samples[i];
		bench_sort_u64(samples, n);
		c->median = bench_percentile(samples, n, 50);
		c->p99 = bench_percentile(samples, n, 99);
		c->mean = (uint64_t)(sum / (double)n);
		c->samples = n;
	}
	atomic_store(&c->finished[side], 1);
	atomic_store(&c->phase[side], "closing the transport");
	p->close(st, side);
	exit(0); /* not _exit: libraries' destructors run (iceoryx deregisters from RouDi) */
}

static int run_pair(const struct bench_opts *o, struct bench_pair *p, size_t size, enum kind k,
                    struct ctl *c)
{
	pid_t pid[2] = { -1, -1 };
	int status[2] = { 0, 0 }, alive = 0, rc = 0;
	uint64_t deadline;
	double limit_s = 30 + 12 * (o->seconds + o->warmup) + (k == K_IDLE ? o->idle : 0);
	if (p->setup && (rc = p->setup(p, size)) != 0) {
		bench_note(o, "%s/%s/%s size %zu: setup failed (%d)", p->transport, p->mode,
		           p->wait, size, rc);
		failures++;
		return -1;
	}
	c->slices = bench_is_smoke(o) ? 2 : 16;
	c->capacity = p->capacity ? p->capacity : 1;
	fflush(NULL);
	for (int s = 0; s < 2; s++) {
		pid[s] = fork();
		if (pid[s] == 0)
			worker(o, p, c, s, k, size);
		if (pid[s] > 0)
			alive++;
	}
	deadline = bench_now_ns() + (uint64_t)(limit_s * 1e9);
	while (alive > 0) {
		struct timespec ts = { 0, 2000000 };
		for (int s = 0; s < 2; s++) {
			if (pid[s] > 0 && waitpid(pid[s], &status[s], WNOHANG) == pid[s]) {
				pid[s] = -1;
				alive--;
				if (!WIFEXITED(status[s]) || WEXITSTATUS(status[s]) != 0) {
					/* Wake the other worker out of a barrier. */
					atomic_store(&c->failed, 1);
					futex(&c->gen, FUTEX_WAKE, INT_MAX, NULL);
				}
			}
		}
		/* Results in, a worker stuck closing its transport: grace, then kill it. */
		if (alive > 0 && atomic_load(&c->finished[0]) && atomic_load(&c->finished[1])) {
			uint64_t grace = bench_now_ns() + 5000000000ull;
			if (grace < deadline)
				deadline = grace;
			if (bench_now_ns() > deadline) {
				bench_note(o, "%s/%s/%s size %zu: a worker hung closing; killed it",
				           p->transport, p->mode, p->wait, size);
				for (int s = 0; s < 2; s++)
					if (pid[s] > 0) {
						kill(pid[s], SIGKILL);
						waitpid(pid[s], &status[s], 0);
						status[s] = 0;
						pid[s] = -1;
					}
				break;
			}
		}
		if (alive > 0 && bench_now_ns() > deadline) {
			bench_note(o,
			           "%s/%s/%s size %zu: timed out after %.0f s (side 0: %s; side 1: "
			           "%s), "
			           "killing the workers",
			           p->transport, p->mode, p->wait, size, limit_s,
			           pid[0] > 0 && c->phase[0] ? c->phase[0] : "exited",
			           pid[1] > 0 && c->phase[1] ? c->phase[1] : "exited");
			for (int s = 0; s < 2; s++)
				if (pid[s] > 0) {
					kill(pid[s], SIGKILL);
					waitpid(pid[s], &status[s], 0);
					pid[s] = -1;
				}
			rc = -1;
			break;
		}
		if (alive > 0)
			nanosleep(&ts, NULL);
	}
	if (p->teardown)
		p->teardown(p);
	for (int s = 0; s < 2; s++) {
		if (c->side[s].rc || !WIFEXITED(status[s]) || WEXITSTATUS(status[s]) != 0) {
			if (!c->side[s].err[0] && WIFSIGNALED(status[s]))
				snprintf(c->side[s].err, sizeof(c->side[s].err),
				         "killed by signal %d", WTERMSIG(status[s]));
			bench_note(o, "%s/%s/%s size %zu: side %d: %s", p->transport, p->mode,
			           p->wait, size, s, c->side[s].err[0] ? c->side[s].err : "failed");
			rc = -1;
		}
	}
	if (rc == 0 && (!c->side[0].pinned || !c->side[1].pinned)) {
		static int told;
		if (!told++)
			bench_note(
			        o,
			        "could not pin the workers to two CPUs: results are less stable");
	}
	if (rc)
		failures++;
	return rc;
}

static struct ctl *new_ctl(void)
{
	return bench_shared_alloc(sizeof(struct ctl));
}

int bench_tput(const struct bench_opts *o, struct bench_pair *p, size_t size)
{
	struct ctl *c;
	if (!bench_selected(o, p->transport, p->mode, p->wait) || !p->tput)
		return 0;
	c = new_ctl();
	if (run_pair(o, p, size, K_TPUT, c) == 0) {
		double n = (double)c->count, best = 0, all = (double)(c->t1 - c->t0);
		const struct side_result *s = c->side;
		uint64_t prev0 = c->t0, prev1 = c->t0, done = 0;
		for (int i = 0; i < c->used_slices; i++) {
			/* A slice lasts as long as the slower side took for it: a side that was
			 * descheduled shows in the other's time (ring full, or empty). */
			uint64_t part = (c->count - done) / (uint64_t)(c->used_slices - i);
			uint64_t e0 = c->slice_end[0][i] - prev0, e1 = c->slice_end[1][i] - prev1;
			double el = (double)(e0 > e1 ? e0 : e1),
			       rate = el > 0 ? (double)part / el : 0;
			if (rate > best)
				best = rate;
			if (getenv("BENCH_DEBUG"))
				bench_note(o, "slice %d: %llu msgs, side0 %.3f ms side1 %.3f ms", i,
				           (unsigned long long)part, e0 / 1e6, e1 / 1e6);
			done += part;
			prev0 = c->slice_end[0][i];
			prev1 = c->slice_end[1][i];
		}
		if (best <= 0)
			best = n / all;
		if (getenv("BENCH_DEBUG"))
			bench_note(o, "%s/%s/%s %zu: %llu messages in %.3f ms, %d slices",
			           p->transport, p->mode, p->wait, size,
			           (unsigned long long)c->count, all / 1e6, c->used_slices);
		bench_csv(o, p->transport, p->mode, p->wait, size, "msg_rate", best * 1e9, "msg/s");
		bench_csv(o, p->transport, p->mode, p->wait, size, "bandwidth", best * (double)size,
		          "GB/s");
		bench_csv(o, p->transport, p->mode, p->wait, size, "msg_rate_avg", n / all * 1e9,
		          "msg/s");
		bench_csv(o, p->transport, p->mode, p->wait, size, "cpu_per_msg",
		          (s[0].cpu_ns + s[1].cpu_ns) / n, "ns");
		if (s[0].after.valid && s[1].after.valid) {
			double notes = (double)(s[0].after.notify_sent - s[0].before.notify_sent +
			                        s[1].after.notify_sent - s[1].before.notify_sent);
			double wakes = (double)(s[0].after.wakeups - s[0].before.wakeups +
			                        s[1].after.wakeups - s[1].before.wakeups);
			bench_csv(o, p->transport, p->mode, p->wait, size, "notify_per_msg",
			          notes / n, "1");
			bench_csv(o, p->transport, p->mode, p->wait, size, "wakeups_per_msg",
			          wakes / n, "1");
		}
	}
	bench_shared_free(c, sizeof(*c));
	return 0;
}

int bench_rtt(const struct bench_opts *o, struct bench_pair *p, size_t size)
{
	struct ctl *c;
	if (!bench_selected(o, p->transport, p->mode, p->wait) || !p->rtt)
		return 0;
	c = new_ctl();
	if (run_pair(o, p, size, K_RTT, c) == 0) {
		double n = (double)c->count;
		const struct side_result *s = c->side;
		bench_csv(o, p->transport, p->mode, p->wait, size, "rtt_median", (double)c->median,
		          "ns");
		bench_csv(o, p->transport, p->mode, p->wait, size, "rtt_p99", (double)c->p99, "ns");
		bench_csv(o, p->transport, p->mode, p->wait, size, "rtt_mean", (double)c->mean,
		          "ns");
		bench_csv(o, p->transport, p->mode, p->wait, size, "cpu_per_rtt",
		          (s[0].cpu_ns + s[1].cpu_ns) / n, "ns");
		if (s[0].after.valid && s[1].after.valid) {
			double notes = (double)(s[0].after.notify_sent - s[0].before.notify_sent +
			                        s[1].after.notify_sent - s[1].before.notify_sent);
			bench_csv(o, p->transport, p->mode, p->wait, size, "notify_per_rtt",
			          notes / n, "1");
		}
	}
	bench_shared_free(c, sizeof(*c));
	return 0;
}

int bench_idle(const struct bench_opts *o, struct bench_pair *p, size_t size)
{
	struct ctl *c;
	if (!bench_selected(o, p->transport, p->mode, p->wait) || !p->idle)
		return 0;
	c = new_ctl();
	if (run_pair(o, p, size, K_IDLE, c) == 0) {
		const struct side_result *s = &c->side[1];
		bench_csv(o, p->transport, p->mode, p->wait, size, "idle_cpu",
		          100.0 * c->idle_cpu_ns / c->idle_wall_ns, "%");
		if (s->after.valid)
			bench_csv(o, p->transport, p->mode, p->wait, size, "idle_wakeups",
			          (double)(s->after.wakeups - s->before.wakeups), "1");
	}
	bench_shared_free(c, sizeof(*c));
	return 0;
}
