/* SPDX-License-Identifier: MIT */
/*
 * A stand-alone `shmlink ivshmem-server` for the tests (and for anyone who
 * wants the server without the CLI): the command's code, tools/ivshmem_server.c,
 * with a main.
 */
#include "ivshmem_server.h"

int main(int argc, char **argv)
{
	return shml_cmd_ivshmem_server(argc, argv);
}
