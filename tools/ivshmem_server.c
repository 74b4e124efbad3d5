/* SPDX-License-Identifier: MIT */
/*
 * shmlink ivshmem-server: serve QEMU ivshmem-doorbell devices and host peers.
 * The protocol is in src/port/ivshmem/server.c; this is the command around
 * it: options, signals (SIGINT/SIGTERM stop it cleanly and remove the
 * socket), messages.
 */
#include "ivshmem_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "shmlink_ivshmem.h"

#define NAME "shmlink ivshmem-server"

static const char usage_text[] =
        "usage: shmlink ivshmem-server -S SOCKET -m REGION [-l SIZE] [-n VECTORS]\n"
        "                              [--max-peers N] [--remove-region] [-q]\n"
        "\n"
        "An ivshmem server (QEMU's protocol) for ivshmem-doorbell guests and shmlink\n"
        "host peers. Start it before QEMU:\n"
        "  qemu-system-x86_64 ... -chardev socket,path=SOCKET,id=ivs \\\n"
        "      -device ivshmem-doorbell,chardev=ivs,vectors=VECTORS\n"
        "\n"
        "  -S, --socket SOCKET   UNIX socket to listen on (a stale one is replaced)\n"
        "  -m, --region REGION   shared-memory file; a bare NAME means /dev/shm/NAME.\n"
        "                        Created with SIZE bytes if missing; kept on exit\n"
        "  -l, --size SIZE       region bytes, a power of two (K/M/G suffixes);\n"
        "                        an existing file must have this size\n"
        "  -n, --vectors N       interrupt vectors per peer (default 1; QEMU's vectors=)\n"
        "      --max-peers N     most peers at once (default 64)\n"
        "      --remove-region   delete the region file on exit\n"
        "  -q, --quiet           do not log peers joining and leaving\n"
        "  -h, --help            this text\n"
        "\n"
        "Peer ids count up (0, 1, ...) and are never given out twice: QEMU aborts when an\n"
        "id it saw leave comes back. SIGINT or SIGTERM stops the server.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, NAME ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(try `shmlink ivshmem-server --help`)\n");
	return 2;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end && end[1] && !((end[1] == 'i' || end[1] == 'B') && (!end[2] || end[2] == 'B')))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int shml_cmd_ivshmem_server(int argc, char **argv)
{
	struct shml_ivshmem_server_opts o = { .vectors = 1, .verbose = 1 };
	struct shml_ivshmem_server srv;
	int remove_region = 0, rc, sfd;
	sigset_t mask, old;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o.verbose = 0;
			continue;
		} else if (!strcmp(a, "--remove-region")) {
			remove_region = 1;
			continue;
		}
		if (!v &&
		    (!strcmp(a, "-S") || !strcmp(a, "--socket") || !strcmp(a, "-m") ||
		     !strcmp(a, "--region") || !strcmp(a, "-l") || !strcmp(a, "--size") ||
		     !strcmp(a, "-n") || !strcmp(a, "--vectors") || !strcmp(a, "--max-peers")))
			return usage_error("%s needs a value", a);
		if (!strcmp(a, "-S") || !strcmp(a, "--socket")) {
			o.socket_path = v;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--region")) {
			o.region_path = v;
		} else if (!strcmp(a, "-l") || !strcmp(a, "--size")) {
			if (parse_size(v, &o.size) || !o.size)
				return usage_error("bad size '%s' (e.g. 4M, 65536)", v);
		} else if (!strcmp(a, "-n") || !strcmp(a, "--vectors")) {
			if (parse_uint(v, SHML_IVSHMEM_MAX_VECTORS, &n) || !n)
				return usage_error("bad vector count '%s' (1..64)", v);
			o.vectors = (uint32_t)n;
		} else if (!strcmp(a, "--max-peers")) {
			if (parse_uint(v, SHML_IVSHMEM_MAX_ID + 1u, &n) || !n)
				return usage_error("bad peer count '%s' (1..65536)", v);
			o.max_peers = (uint32_t)n;
		} else {
			return usage_error("unknown option '%s'", a);
		}
		i++;
	}
	if (!o.socket_path)
		return usage_error("%s", "-S SOCKET is needed");
	if (!o.region_path)
		return usage_error("%s", "-m REGION is needed");

	/* Signals arrive through a signalfd: the loop stops between two messages. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, NAME ": signalfd: %s\n", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 1;
	}

	rc = shml_ivshmem_server_open(&srv, &o);
	if (rc) {
		fprintf(stderr, NAME ": %s\n", srv.err);
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	printf("listening on %s: region %s (%llu bytes), %u vector%s\n", srv.socket_path,
	       srv.region_path, (unsigned long long)srv.size, o.vectors, o.vectors == 1 ? "" : "s");
	fflush(stdout);
	rc = shml_ivshmem_server_run(&srv, sfd, -1);
	if (rc < 0) {
		fprintf(stderr, NAME ": %s\n", srv.err);
	} else {
		/* Take the signal off the queue, or restoring the mask would deliver it. */
		struct signalfd_siginfo si;
		const char *sig = "a signal";
		if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			sig = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
		if (o.verbose)
			fprintf(stderr,
			        "ivshmem-server: %s: stopping (%llu joins, %llu leaves, "
			        "%u connected)\n",
			        sig, (unsigned long long)srv.joins, (unsigned long long)srv.leaves,
			        srv.n_peers);
	}
	shml_ivshmem_server_close(&srv, remove_region);
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc < 0 ? 1 : 0;
}
