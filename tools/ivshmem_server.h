/* SPDX-License-Identifier: MIT */
/*
 * `shmlink ivshmem-server`: an ivshmem server (QEMU's protocol) for
 * ivshmem-doorbell guests and host peers. The library behind it is
 * shml_ivshmem_server_*() in include/shmlink_ivshmem.h.
 */
#ifndef SHMLINK_TOOLS_IVSHMEM_SERVER_H
#define SHMLINK_TOOLS_IVSHMEM_SERVER_H

/*
 * argv[0] is the command's name ("ivshmem-server"). Exit codes as the rest
 * of the CLI: 0 stopped cleanly (SIGINT/SIGTERM), 1 runtime failure, 2 usage.
 */
int shml_cmd_ivshmem_server(int argc, char **argv);

#endif
