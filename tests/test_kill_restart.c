/* SPDX-License-Identifier: MIT */
/*
 * Kill and restart: the demo (examples/demo/demo.c) streams messages
 * between two processes while SIGKILLing and restarting them, alternating
 * sides, and checks with its ledger that every message sent was received
 * exactly once or reported to the sender as discarded. Here: 100 kills in
 * message mode, then 50 in stream mode; we assert on the demo's verdict line.
 *
 * The runs are bounded by time, not by message count, so a slow machine or a
 * sanitizer build moves fewer messages but makes every kill.
 * SHMLINK_TEST_SCALE (default 1) multiplies the run times.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

struct verdict {
	unsigned long long sent, received, discarded, duplicates, corrupt, lost;
	unsigned kills, resets;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the demo with @argv; return its wait status, its stdout in @out. SIGKILL at @timeout_s. */
static int run_demo(char *const argv[], char *out, size_t cap, double timeout_s)
{
	char path[512];
	int fd[2], status;
	size_t len = 0;
	double deadline = now_s() + timeout_s;
	pid_t pid;

	tu_bin_path(path, sizeof(path), "shmlink_demo");
	CHECK(pipe(fd) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(path, argv);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		struct pollfd p = { .fd = fd[0], .events = POLLIN };
		double left = deadline - now_s();
		ssize_t n;
		if (left <= 0) {
			fprintf(stderr, "the demo ran longer than %.0f s: killed\n", timeout_s);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(fd[0], out + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == cap - 1)
			break;
	}
	out[len] = '\0';
	close(fd[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	return status;
}

/* The verdict line: "PASS: sent S = received R + discarded D (...); duplicates ..." */
static int parse_verdict(const char *out, struct verdict *v)
{
	const char *line = strstr(out, "PASS: ");
	if (!line)
		return 0;
	return sscanf(line,
	              "PASS: sent %llu = received %llu + discarded %llu (reported to the sender); "
	              "duplicates %llu, corrupt %llu, lost %llu; %u kills, %u resets;",
	              &v->sent, &v->received, &v->discarded, &v->duplicates, &v->corrupt, &v->lost,
	              &v->kills, &v->resets) == 8;
}

static void run(const char *mode, unsigned kills, double seconds)
{
	char kills_arg[16], seconds_arg[32], out[4096];
	char *argv[] = {
		"shmlink_demo", "--quiet", "--kill-side", "both",      "--mode", (char *)mode,
		"--kills",      kills_arg, "--seconds",   seconds_arg, NULL,
	};
	struct verdict v;
	double t0 = now_s();
	int status;

	snprintf(kills_arg, sizeof(kills_arg), "%u", kills);
	snprintf(seconds_arg, sizeof(seconds_arg), "%.1f", seconds);
	status = run_demo(argv, out, sizeof(out), seconds + 90.0);
	printf("%s mode, %u kills, %.1f s run: %.1f s wall\n  %s", mode, kills, seconds,
	       now_s() - t0, out);
	fflush(stdout);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(parse_verdict(out, &v));
	CHECK_EQ(v.duplicates, 0);
	CHECK_EQ(v.corrupt, 0);
	CHECK_EQ(v.lost, 0);
	CHECK_EQ(v.sent, v.received + v.discarded);
	CHECK_EQ(v.kills, kills);
	CHECK_EQ(v.resets, kills);
	CHECK(v.received > 0);
}

int main(void)
{
	const char *s = getenv("SHMLINK_TEST_SCALE");
	double scale = s ? atof(s) : 1.0;
	if (!(scale > 0))
		scale = 1.0;
	run("message", 100, 15.0 * scale);
	run("stream", 50, 8.0 * scale);
	return 0;
}
