/* SPDX-License-Identifier: MIT */
/*
 * shmlink_demo (`make demo`, `make soak`): a producer and a consumer stream
 * checksummed messages while a supervisor SIGKILLs and restarts them; a
 * ledger proves nothing was lost or duplicated. The demo itself is
 * examples/demo/demo.c, shared with `shmlink demo`.
 */
#include "shml_demo.h"

int main(int argc, char **argv)
{
	static const struct shml_demo_names names = { "shmlink_demo", "shmlink_demo" };
	return shml_demo_main(argc, argv, &names);
}
