/* SPDX-License-Identifier: MIT */
/*
 * The region on this host: a read-only view for inspection, and channel
 * ends attached through the host port (a region file) or, through
 * cli_port.c, the ivshmem and Xen ports.
 *
 * Two processes on the same end of a channel would both write its control
 * line and ring and corrupt the channel. So every end the tool opens holds
 * an open-file-description lock (F_OFD_SETLK) on the first byte of that
 * side's block in the region file: advisory, never written, and dropped by
 * the kernel when the process ends however it ends. The locks also tell
 * which end is free when --as is not given. Programs that do not use the
 * tool do not take them; for those, say --as.
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t side_offset(const struct cli_config *c, uint32_t chan, uint32_t side)
{
	struct shml_channel_layout lay;
	shml_channel_layout(&c->cfg, chan, &lay);
	return side ? lay.side_b : lay.side_a;
}

int cli_side_locked(int fd, const struct cli_config *c, uint32_t chan, uint32_t side)
{
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)side_offset(c, chan, side);
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return 0;
	return fl.l_type != F_UNLCK;
}

static int lock_side(int fd, const struct cli_config *c, uint32_t chan, uint32_t side)
{
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)side_offset(c, chan, side);
	fl.l_len = 1;
	return fcntl(fd, F_OFD_SETLK, &fl);
}

static int open_region_file(const struct cli_config *c, const char *path, int flags, uint64_t *size)
{
	struct stat st;
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			cli_err("%s: the region file does not exist: run 'shmlink init %s' first",
			        path, c->file);
		else
			cli_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		cli_err("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int cli_view_open(struct cli_view *v, const struct cli_config *c, const char *path)
{
	uint64_t need = shml_layout_bytes(&c->cfg);
	char a[32], b[32];
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->path = path;
	v->fd = open_region_file(c, path, O_RDONLY, &v->file_size);
	if (v->fd < 0)
		return CLI_FAIL;
	if (v->file_size < need) {
		cli_err("%s is %s, but the config's layout needs %s: run 'shmlink init %s'", path,
		        cli_human(v->file_size, a, sizeof(a)), cli_human(need, b, sizeof(b)),
		        c->file);
		close(v->fd);
		return CLI_FAIL;
	}
	v->map_size = v->file_size < c->region_size ? v->file_size : c->region_size;
	/* Read-only: inspection must never disturb the peers. */
	v->mem = mmap(NULL, (size_t)v->map_size, PROT_READ, MAP_SHARED, v->fd, 0);
	if (v->mem == MAP_FAILED) {
		cli_err("%s: mmap: %s", path, strerror(errno));
		close(v->fd);
		v->mem = NULL;
		return CLI_FAIL;
	}
	shml_host_port_init(&v->port);
	if (shml_region_view(&v->region, &c->cfg, v->mem, v->map_size, &v->port) != 0) {
		cli_err("%s: the file is smaller than the layout needs", path);
		cli_view_close(v);
		return CLI_FAIL;
	}
	return 0;
}

void cli_view_close(struct cli_view *v)
{
	if (v->mem)
		munmap(v->mem, (size_t)v->map_size);
	if (v->fd >= 0)
		close(v->fd);
	v->mem = NULL;
	v->fd = -1;
}

/* Which end we are: --as, else the free end, else [host] domain, else ask. */
static int choose_side(struct cli_end *e, int fd, const char *as, const char *cmd)
{
	struct cli_config *c = e->c;
	const struct cli_channel *ch = &c->channels[e->chan];
	const char *na = c->domains[ch->a].name, *nb = c->domains[ch->b].name;
	int la, lb;
	if (as) {
		int d = shml_find_domain(&c->cfg, as);
		if (d < 0)
			return cli_usage_error(cmd, "--as %s: no domain is named '%s' in %s", as,
			                       as, c->file);
		if ((uint32_t)d != ch->a && (uint32_t)d != ch->b)
			return cli_usage_error(cmd, "--as %s: channel '%s' joins %s and %s, not %s",
			                       as, ch->name, na, nb, as);
		e->side = (uint32_t)d == ch->a ? 0 : 1;
		return 0;
	}
	la = cli_side_locked(fd, c, e->chan, 0);
	lb = cli_side_locked(fd, c, e->chan, 1);
	if (la && lb) {
		cli_err("both ends of channel '%s' (%s and %s) are in use by other processes on "
		        "this host",
		        ch->name, na, nb);
		return CLI_FAIL;
	}
	if (la != lb) {
		e->side = la ? 1 : 0;
		return 0;
	}
	if (c->host_domain >= 0 &&
	    ((uint32_t)c->host_domain == ch->a || (uint32_t)c->host_domain == ch->b)) {
		e->side = (uint32_t)c->host_domain == ch->a ? 0 : 1;
		return 0;
	}
	return cli_usage_error(cmd,
	                       "channel '%s' joins %s (side A) and %s (side B) and neither end "
	                       "is in use here: say which end we are with --as %s or --as %s",
	                       ch->name, na, nb, na, nb);
}

int cli_load_region(struct cli_config *c, const char *config, const char *cmd, const char *port,
                    const char *region, const char **path)
{
	if (cli_config_load(c, config) != 0)
		return CLI_USAGE;
	return cli_choose_port(c, cmd, port, region, path);
}

int cli_end_open(struct cli_end *e, struct cli_config *c, const char *path, const char *channel,
                 const char *as, const char *cmd)
{
	return cli_end_open_opts(e, c, path, channel, as, cmd, NULL);
}

/* Ports other than the file: no locks across VMs, so --as or [host] domain must say. */
static int other_side(struct cli_end *e, const char *cmd)
{
	struct cli_config *c = e->c;
	const struct cli_channel *ch = &c->channels[e->chan];
	const char *na = c->domains[ch->a].name, *nb = c->domains[ch->b].name;
	if (c->host_domain >= 0 &&
	    ((uint32_t)c->host_domain == ch->a || (uint32_t)c->host_domain == ch->b)) {
		e->side = (uint32_t)c->host_domain == ch->a ? 0 : 1;
		return 0;
	}
	return cli_usage_error(cmd,
	                       "channel '%s' joins %s (side A) and %s (side B), and port %s "
	                       "cannot tell which end is free (no file locks across VMs): say "
	                       "which end we are with --as %s or --as %s, or [host] domain",
	                       ch->name, na, nb, cli_port_name(c->port), na, nb);
}

/* The file port: open, choose the side by the locks, lock our end, map. */
static int open_file(struct cli_end *e, const char *path, const char *as, const char *cmd)
{
	struct cli_config *c = e->c;
	uint64_t fsize;
	int rc, fd;
	char a[32], b[32];
	fd = open_region_file(c, path, O_RDWR, &fsize);
	if (fd < 0)
		return CLI_FAIL;
	e->lock_fd = fd;
	if (fsize < c->region_size) {
		cli_err("%s is %s, smaller than the region (%s): run 'shmlink init %s'", path,
		        cli_human(fsize, a, sizeof(a)), cli_human(c->region_size, b, sizeof(b)),
		        c->file);
		return CLI_FAIL;
	}
	if (!as) {
		rc = choose_side(e, fd, NULL, cmd);
		if (rc)
			return rc;
	}
	e->self = e->side ? c->channels[e->chan].b : c->channels[e->chan].a;
	if (lock_side(fd, c, e->chan, e->side) != 0) {
		if (errno == EAGAIN || errno == EACCES)
			cli_err("the %s end of channel '%s' is in use by another process on this "
			        "host "
			        "(two processes on one end would corrupt the channel)",
			        c->domains[e->self].name, c->channels[e->chan].name);
		else
			cli_err("%s: lock: %s", path, strerror(errno));
		return CLI_FAIL;
	}
	rc = shml_host_map(&e->hr, path, c->region_size, 0);
	if (rc < 0) {
		cli_err("%s: cannot map the region: %s", path, strerror(-rc));
		return CLI_FAIL;
	}
	shml_host_port_init(&e->port);
	return 0;
}

int cli_end_open_opts(struct cli_end *e, struct cli_config *c, const char *path,
                      const char *channel, const char *as, const char *cmd,
                      const struct shml_chan_opts *opts)
{
	int ch, rc;
	void *mem;
	uint64_t size;
	char where[160];
	const struct cli_channel *cc;
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->path = path;
	e->lock_fd = -1;
	e->hr.fd = -1;
	ch = shml_find_channel(&c->cfg, channel);
	if (ch < 0) {
		char names[512];
		size_t o = 0;
		names[0] = '\0';
		for (uint32_t i = 0; i < c->n_channels && o < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
			                      c->channels[i].name);
		return cli_usage_error(cmd, "no channel is named '%s' in %s (channels: %s)",
		                       channel, c->file, names);
	}
	e->chan = (uint32_t)ch;
	cc = &c->channels[ch];
	/* Validate --as before touching the region: a usage error stays a usage error. */
	rc = as ? choose_side(e, -1, as, cmd) : c->port != CLI_PORT_FILE ? other_side(e, cmd) : 0;
	if (rc)
		return rc;
	if (c->port == CLI_PORT_FILE) {
		rc = open_file(e, path, as, cmd);
		mem = e->hr.mem;
		size = e->hr.size;
		snprintf(where, sizeof(where), "%s", path);
	} else {
		e->self = e->side ? cc->b : cc->a;
		rc = cli_port_open(e, &mem, &size);
		snprintf(where, sizeof(where), "port %s", cli_port_name(c->port));
	}
	if (rc) {
		cli_end_close(e);
		return rc;
	}
	e->self = e->side ? cc->b : cc->a;
	e->peer = e->side ? cc->a : cc->b;
	if (size < c->region_size) {
		char a[32], b[32];
		cli_err("%s: the shared memory is %s, smaller than the region of %s (%s)", where,
		        cli_human(size, a, sizeof(a)), c->file,
		        cli_human(c->region_size, b, sizeof(b)));
		cli_end_close(e);
		return CLI_FAIL;
	}
	rc = shml_region_attach(&e->region, &c->cfg, e->self, mem, size, &e->port);
	if (rc == 0 && cli_port_attached(e) != 0) {
		cli_end_close(e);
		return CLI_FAIL;
	}
	if (rc == 0)
		rc = shml_chan_open(&e->region, &e->ch, e->chan, opts);
	if (rc != 0) {
		cli_err("%s: cannot attach as %s: %s", where, c->domains[e->self].name,
		        shml_strerror(rc));
		cli_end_close(e);
		return CLI_FAIL;
	}
	e->opened = 1;
	return 0;
}

void cli_end_close(struct cli_end *e)
{
	if (e->opened) {
		shml_chan_close(&e->ch);
		e->opened = 0;
	}
	cli_port_close(e);
	if (e->hr.mem)
		shml_host_unmap(&e->hr);
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	e->lock_fd = -1;
}
