/* SPDX-License-Identifier: MIT */
/* shmlink init: create the host's region file with the right size. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
        "Usage: shmlink init CONFIG [--region PATH]\n"
        "\n"
        "Create the region file ([host] path, or PATH) with the size the config needs:\n"
        "[region] size, or [qemu] size when QEMU maps the same file. An existing smaller\n"
        "file is grown; its contents are kept (the protocol needs no zeroed memory).\n"
        "An existing larger file is left alone and init fails: peers may have it\n"
        "mapped, so it is never shrunk.\n"
        "\n"
        "  --region PATH  the region file (overrides [host] path)\n"
        "  -h, --help     this text\n";

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = { { "region", required_argument, NULL, 'r' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0, 0, 0, 0 } };
	const char *region = NULL, *path;
	struct cli_config c;
	struct stat st;
	uint64_t want;
	char a[32], b[32];
	int o, fd, rc = CLI_OK;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(help, stdout);
			return CLI_OK;
		}
		if (o == 'r')
			region = optarg;
		else
			return cli_bad_option("init", argv);
	}
	if (argc - optind != 1)
		return cli_usage_error("init",
		                       argc - optind ? "too many arguments" : "no CONFIG given");
	if (cli_config_load(&c, argv[optind]) != 0)
		return CLI_USAGE;
	path = cli_region_path(&c, region);
	if (!path) {
		cli_config_free(&c);
		return CLI_USAGE;
	}
	want = cli_region_file_size(&c, path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_err("%s: cannot create the region file: %s", path, strerror(errno));
		cli_config_free(&c);
		return CLI_FAIL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cli_err("%s: not a regular file", path);
		rc = CLI_FAIL;
	} else if ((uint64_t)st.st_size == want) {
		printf("%s: %llu bytes (%s), ready for config hash 0x%016llx\n", path,
		       (unsigned long long)want, cli_human(want, a, sizeof(a)),
		       (unsigned long long)c.hash);
	} else if ((uint64_t)st.st_size > want) {
		cli_err("%s is %llu bytes (%s), larger than the %llu bytes (%s) this config needs; "
		        "init never shrinks a region file, since peers may have it mapped. It "
		        "still "
		        "works as it is; to get the exact size, stop every peer, 'rm %s' and run "
		        "init again",
		        path, (unsigned long long)st.st_size,
		        cli_human((uint64_t)st.st_size, a, sizeof(a)), (unsigned long long)want,
		        cli_human(want, b, sizeof(b)), path);
		rc = CLI_FAIL;
	} else if (ftruncate(fd, (off_t)want) != 0) {
		cli_err("%s: cannot give it %llu bytes: %s", path, (unsigned long long)want,
		        strerror(errno));
		rc = CLI_FAIL;
	} else if (st.st_size == 0) {
		printf("%s: created, %llu bytes (%s) for config hash 0x%016llx\n", path,
		       (unsigned long long)want, cli_human(want, a, sizeof(a)),
		       (unsigned long long)c.hash);
	} else {
		printf("%s: grown from %llu to %llu bytes (%s) for config hash 0x%016llx\n", path,
		       (unsigned long long)st.st_size, (unsigned long long)want,
		       cli_human(want, a, sizeof(a)), (unsigned long long)c.hash);
	}
	close(fd);
	cli_config_free(&c);
	return rc;
}
