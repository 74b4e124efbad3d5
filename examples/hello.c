/* SPDX-License-Identifier: MIT */
/* Two processes, one channel: the parent sends "hello", the child prints it. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmlink.h"
#include "shmlink_host.h"

/* The static configuration: every domain uses the same one. */
static const struct shml_domain_cfg domains[] = {
	{ .name = "parent", .id = 1 },
	{ .name = "child", .id = 2 },
};
static const struct shml_channel_cfg channels[] = {
	/* side A = domains[0], side B = domains[1]; rings are powers of two */
	{ .name = "hello",
	  .a = 0,
	  .b = 1,
	  .mode = SHML_MODE_MESSAGE,
	  .ring_ab = 4096,
	  .ring_ba = 4096 },
};
static const struct shml_config cfg = {
	.region_size = 1 << 16,
	.cacheline = 64,
	.n_domains = 2,
	.domains = domains,
	.n_channels = 1,
	.channels = channels,
};

#define TIMEOUT_NS 5000000000ull /* 5 s */

int main(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/shm/shmlink-hello-%d", (int)getpid());
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	uint32_t self = pid == 0 ? 1 : 0; /* the child is domain 1, the parent domain 0 */

	/* Each process maps the region file and attaches as its own domain. */
	struct shml_host_region hr;
	struct shml_port port;
	struct shml_region region;
	struct shml_chan ch;
	int rc = shml_host_map(&hr, path, cfg.region_size, SHML_HOST_CREATE);
	if (rc < 0)
		return 1; /* a negative errno value */
	shml_host_port_init(&port);
	rc = shml_region_attach(&region, &cfg, self, hr.mem, hr.size, &port);
	if (rc == 0)
		rc = shml_chan_open(&region, &ch, 0, NULL); /* channel 0: "hello" */
	int opened = rc == 0;

	if (opened && self == 0) {
		/* Waits for the session with the child, then for room. */
		rc = shml_send_wait(&ch, "hello", 5, TIMEOUT_NS);
	} else if (opened) {
		char buf[64];
		int32_t n = shml_recv_wait(&ch, buf, sizeof(buf), TIMEOUT_NS);
		if (n >= 0)
			printf("child received %d bytes: %.*s\n", (int)n, (int)n, buf);
		rc = n < 0 ? n : 0;
	}
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", self ? "child" : "parent", shml_strerror(rc));

	if (self == 0) {
		/* Close after the child is done: closing ends the session at once. */
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			rc = -1;
		unlink(path);
	}
	if (opened)
		shml_chan_close(&ch);
	shml_host_unmap(&hr);
	return rc < 0 ? 1 : 0;
}
