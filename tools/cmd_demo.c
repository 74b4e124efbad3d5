/* SPDX-License-Identifier: MIT */
/*
 * shmlink demo: the kill-and-restart demo of `make demo` (examples/demo/demo.c,
 * linked in), so that an installed tool can show the same thing.
 */
#include "cli.h"

#include "shml_demo.h"

int cmd_demo(int argc, char **argv)
{
	static const struct shml_demo_names names = { "shmlink demo", "shmlink: demo" };
	return shml_demo_main(argc, argv, &names);
}
