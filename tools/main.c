/* SPDX-License-Identifier: MIT */
/* shmlink: the command-line tool. Dispatches to the commands in tools/cmd_*.c. */
#include "cli.h"
#include "ivshmem_server.h"

#include <string.h>

static const char usage[] =
        "Usage: shmlink COMMAND CONFIG [ARGS...]\n"
        "       shmlink --help | --version\n"
        "\n"
        "Data channels between domains over a static shared-memory region.\n"
        "CONFIG is the region's static configuration (an INI file, see shmlink(1)).\n"
        "\n"
        "Commands:\n"
        "  layout CONFIG                 offsets and sizes of every part, config hash, bytes free\n"
        "  gen header CONFIG             a C header with the config for domains without a parser\n"
        "  gen xen-dt CONFIG             Xen dom0less device-tree nodes (dts)\n"
        "  gen qemu CONFIG               QEMU ivshmem options\n"
        "  init CONFIG                   create the region file ([host] path) with the right size\n"
        "  inspect CONFIG                state of every channel and domain slot (read-only)\n"
        "  send CONFIG CHANNEL [FILE]    send a file or stdin into a channel\n"
        "  recv CONFIG CHANNEL [FILE]    receive into a file or stdout until end of file\n"
        "  cat CONFIG CHANNEL            stdin into the channel, the channel onto stdout\n"
        "  net CONFIG CHANNEL            an IP network link (TUN/TAP interface) over a channel\n"
        "  bench CONFIG CHANNEL          throughput, latency and notifications over a channel\n"
        "  demo [OPTIONS]                the kill-and-restart demo of 'make demo' (no CONFIG)\n"
        "  ivshmem-server [OPTIONS]      a QEMU ivshmem server for doorbell guests (no CONFIG)\n"
        "\n"
        "Each command takes --help. Exit status: 0 success, 1 runtime failure,\n"
        "2 usage or configuration error.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "layout", cmd_layout },
	{ "gen", cmd_gen },
	{ "init", cmd_init },
	{ "inspect", cmd_inspect },
	{ "send", cmd_send },
	{ "recv", cmd_recv },
	{ "cat", cmd_cat },
	{ "net", cmd_net },
	{ "bench", cmd_bench },
	{ "demo", cmd_demo },
	{ "ivshmem-server", shml_cmd_ivshmem_server },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(NULL, "no command given");
	if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			/* "shmlink help send" = "shmlink send --help" */
			char *hargv[] = { argv[2], "--help", NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (strcmp(argv[2], commands[i].name) == 0)
					return commands[i].run(2, hargv);
			return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
		}
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("shmlink %s (protocol version %u)\n", SHMLINK_VERSION,
		       SHML_PROTOCOL_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", argv[1]);
	return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
}
