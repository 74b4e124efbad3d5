/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness shared by the bench programs: options, CSV rows, statistics,
 * CPU pinning and the two-process runner.
 *
 * A measurement runs a transport as two worker processes forked by the
 * calling (orchestrating) process: side 0 (producer, or pinger) pinned to
 * CPU 0 and side 1 (consumer, or ponger) pinned to CPU 1. The orchestrator
 * only waits, kills both workers if they exceed a deadline, and writes the
 * CSV rows. The workers meet at barriers in a shared page; a warm-up of
 * doubling message counts finds how many messages fill the target time, then
 * the measured phase runs that many, with getrusage() around it on each side.
 *
 * CSV: transport,mode,wait,size,metric,value,unit,run (build/bench/results.csv).
 */
#ifndef SHMLINK_BENCH_UTIL_H
#define SHMLINK_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/port/cpu_relax.h"

#define BENCH_MAX_SIZES 32

/* Options common to every bench program (bench_parse_opts()). */
struct bench_opts {
	const char *prog;
	const char *mode; /* "smoke", "quick" (default) or "full" */
	int run;          /* run number written to the CSV's last column */
	const char *csv;  /* append rows here; NULL: stdout */
	size_t sizes[BENCH_MAX_SIZES];
	int n_sizes;
	double seconds;   /* measured time per throughput / RTT measurement */
	double warmup;    /* warm-up time before it */
	double idle;      /* seconds an idle receiver waits */
	uint64_t ring;    /* ring bytes of ring transports; 0: bench_ring_bytes() decides */
	const char *only; /* run only measurements whose "transport/mode/wait" contains this */
	int extras;       /* also the size-independent measurements (idle, pings, memcpy) */
	int quiet;
};

/* Parse the common options; exits with usage on error. @extra: lines of program-specific help. */
void bench_parse_opts(struct bench_opts *o, int argc, char **argv, const char *extra);
/* Is "transport/mode/wait" selected by --only? */
int bench_selected(const struct bench_opts *o, const char *transport, const char *mode,
                   const char *wait);
int bench_is_smoke(const struct bench_opts *o);
/* Ring size for messages of @size: --ring, else max(256 KiB, 16 x size) rounded to a power of 2. */
uint64_t bench_ring_bytes(const struct bench_opts *o, size_t size);
int bench_is_full(const struct bench_opts *o);

/* Append one CSV row (and echo it to stderr unless --quiet). */
void bench_csv(const struct bench_opts *o, const char *transport, const char *mode,
               const char *wait, size_t size, const char *metric, double value, const char *unit);
void bench_note(const struct bench_opts *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Time, CPU, pinning. */
uint64_t bench_now_ns(void);
double bench_cpu_ns(void); /* getrusage(RUSAGE_SELF): user + system, ns */
int bench_pin(int side);   /* pin to CPU @side (mod the CPUs we may use); 0 or -errno */
int bench_ncpus(void);

static inline void bench_relax(void)
{
	shml_cpu_relax();
}

/* Statistics of @n samples (sorted in place). */
void bench_sort_u64(uint64_t *v, size_t n);
uint64_t bench_percentile(const uint64_t *sorted, size_t n, double pct);

/* Payload helpers shared by all transports: message @seq carries @seq in its first 8 bytes. */
void bench_stamp(void *buf, size_t size, uint64_t seq);
int bench_check(const void *buf, size_t size, uint64_t seq); /* 0 ok, -1 wrong */
/* Read a received message in place: one 8-byte word per cache line (zero-copy consumers). */
uint64_t bench_touch(const void *buf, size_t size);
void *bench_alloc(size_t size); /* page-aligned, touched; exits on failure */

/* Shared anonymous memory inherited by the workers. */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);

/* ---- the two-process runner ------------------------------------------------------ */

/* What a transport can tell beyond time and CPU (shmlink's counters). */
struct bench_side_stats {
	int valid;
	uint64_t notify_sent, wakeups;
};

struct bench_pair {
	const char *transport, *mode, *wait;
	void *arg; /* the transport's own parameters */
	/* Messages the transport can hold between the sides (set by setup; 0: unknown).
	 * Throughput slices hold at least 4 x this, so a side draining a full buffer
	 * after the other was descheduled cannot pass for speed. */
	uint64_t capacity;

	/* Orchestrator, before forking the workers: shared resources (region file, sockets...). */
	int (*setup)(struct bench_pair *p, size_t size);
	/* Worker: open side @side; *@st is the worker's state. Ready to move data on return. */
	int (*open)(struct bench_pair *p, int side, size_t size, void **st);
	/* Worker: @count messages of @size bytes, side 0 -> side 1. */
	int (*tput)(void *st, int side, size_t size, uint64_t count);
	/* Worker: @count round trips; side 0 stores each round trip's ns in samples[i]. */
	int (*rtt)(void *st, int side, size_t size, uint64_t count, uint64_t *samples);
	/* Worker, side 1: wait @ns for data that never comes. Optional. */
	int (*idle)(void *st, int side, uint64_t ns);
	/* Worker: cumulative counters (read before and after the measured phase). Optional. */
	void (*stats)(void *st, int side, struct bench_side_stats *out);
	void (*close)(void *st, int side);
	/* Orchestrator, after both workers exited (also after a failure). */
	void (*teardown)(struct bench_pair *p);
};

/* Throughput: msg_rate, bandwidth, cpu_per_msg (+ notify_per_msg, wakeups_per_msg). */
int bench_tput(const struct bench_opts *o, struct bench_pair *p, size_t size);
/* Round trip: rtt_median, rtt_p99, rtt_mean, cpu_per_rtt. */
int bench_rtt(const struct bench_opts *o, struct bench_pair *p, size_t size);
/* Idle receiver: idle_cpu (% of a core) over --idle seconds (+ idle_wakeups). */
int bench_idle(const struct bench_opts *o, struct bench_pair *p, size_t size);

/* Number of measurements that failed so far (the program's exit status uses it). */
int bench_failures(void);

#endif
