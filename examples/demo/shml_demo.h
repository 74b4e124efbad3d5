/* SPDX-License-Identifier: MIT */
/*
 * The kill-and-restart demo (examples/demo/demo.c) as a library: `make demo`
 * runs it as build/shmlink_demo, the CLI as `shmlink demo`. Same options,
 * same output (the last line is the PASS/FAIL verdict).
 */
#ifndef SHMLINK_SHML_DEMO_H
#define SHMLINK_SHML_DEMO_H

struct shml_demo_names {
	const char *prog; /* what the user typed, for usage lines: "shmlink demo" */
	const char *tag;  /* prefix of messages on stderr: "shmlink: demo" */
};

/*
 * Parse @argv (argv[0] is skipped), run the demo, clean up. Returns 0 (PASS)
 * or 1 (FAIL); exits 2 on a usage error and 0 after --help. Forks and
 * installs SIGINT/SIGTERM handlers: call it once, from a program's main thread.
 */
int shml_demo_main(int argc, char **argv, const struct shml_demo_names *names);

#endif
