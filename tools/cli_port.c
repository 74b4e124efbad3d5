/* SPDX-License-Identifier: MIT */
/*
 * Which port reaches the region: [host] port or --port. The file port is
 * cli_region.c's; the others open the ports of src/port (ivshmem host peer,
 * ivshmem Linux guest, Xen dom0less domU) with what the config's [qemu] and
 * [xen] sections say, and hand cli_region.c the mapping and the hooks.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const port_names[] = { [CLI_PORT_FILE] = "file",
	                                  [CLI_PORT_IVSHMEM] = "ivshmem",
	                                  [CLI_PORT_IVSHMEM_GUEST] = "ivshmem-guest",
	                                  [CLI_PORT_XEN] = "xen" };

const char *cli_port_name(int port)
{
	return port >= 0 && port <= CLI_PORT_XEN ? port_names[port] : "?";
}

int cli_port_parse(const char *s)
{
	for (int i = 0; i <= CLI_PORT_XEN; i++)
		if (strcmp(s, port_names[i]) == 0)
			return i;
	return -1;
}

uint32_t cli_ivshmem_vectors(const struct cli_config *c)
{
	uint32_t v = c->qemu_vectors ? c->qemu_vectors : c->n_channels;
	return v < SHML_IVSHMEM_MAX_VECTORS ? v : SHML_IVSHMEM_MAX_VECTORS;
}

/* Where a missing key should go: its section's line, else [host] port's. */
static int key_line(const struct cli_config *c, int section_line)
{
	return section_line ? section_line : c->host_port_line;
}

int cli_choose_port(struct cli_config *c, const char *cmd, const char *port, const char *region,
                    const char **path)
{
	*path = NULL;
	c->port = c->host_port;
	if (port) {
		c->port = cli_port_parse(port);
		if (c->port < 0)
			return cli_usage_error(
			        cmd, "--port %s: write file, ivshmem, ivshmem-guest or xen", port);
	}
	switch (c->port) {
	case CLI_PORT_FILE:
		*path = cli_region_path(c, region);
		return *path ? 0 : CLI_USAGE;
	case CLI_PORT_IVSHMEM:
		if (!c->qemu_server) {
			cli_err_at(c->file, key_line(c, c->qemu_line),
			           "port ivshmem needs the ivshmem server's socket: add server = "
			           "PATH to [qemu] (what `shmlink ivshmem-server -S` listens on)");
			return CLI_USAGE;
		}
		/* The vectors count for both ivshmem ports. */
		/* fall through */
	case CLI_PORT_IVSHMEM_GUEST:
		if (c->qemu_vectors > SHML_IVSHMEM_MAX_VECTORS) {
			cli_err_at(c->file, c->qemu_vectors_line,
			           "[qemu] vectors = %u: the ivshmem ports handle at most %u",
			           c->qemu_vectors, SHML_IVSHMEM_MAX_VECTORS);
			return CLI_USAGE;
		}
		break;
	case CLI_PORT_XEN:
		if (!c->xen_line) {
			cli_err_at(c->file, c->host_port_line,
			           "port xen needs a [xen] section (shm_id and the event channels, "
			           "as for gen xen-dt): add [xen]");
			return CLI_USAGE;
		}
		if (cli_xen_ports(c) != 0)
			return CLI_USAGE;
		break;
	}
	if (region)
		return cli_usage_error(cmd,
		                       "--region names a region file, and port %s reaches the "
		                       "region without one: drop --region, or use --port file",
		                       cli_port_name(c->port));
	return 0;
}

/* With [qemu] ids (a static override), the id the server or device gave us must be ours there. */
static int check_id(const struct cli_end *e, int32_t got)
{
	const struct cli_config *c = e->c;
	int32_t want = c->qemu_ids.id[e->self];
	if (want == SHML_IVSHMEM_NO_ID || got == want)
		return 0;
	cli_err("%s got ivshmem peer id %d, but it is %d in %s ([qemu] ids): its peer's "
	        "doorbells would miss; drop [qemu] ids (the ends find each other's ids in the "
	        "region), or start the peers in id order",
	        c->domains[e->self].name, (int)got, (int)want, c->file);
	return -1;
}

static int open_ivshmem(struct cli_end *e, void **mem, uint64_t *size)
{
	const struct cli_config *c = e->c;
	int rc;
	e->ivc = calloc(1, sizeof(*e->ivc));
	if (!e->ivc) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	rc = shml_ivshmem_client_connect(e->ivc, c->qemu_server, cli_ivshmem_vectors(c),
	                                 &c->qemu_ids, 5000);
	if (rc != 0) {
		cli_err("port ivshmem: %s", e->ivc->err);
		free(e->ivc);
		e->ivc = NULL;
		return CLI_FAIL;
	}
	if (check_id(e, e->ivc->id) != 0)
		return CLI_FAIL;
	*mem = e->ivc->mem;
	*size = e->ivc->size;
	e->port = e->ivc->port;
	return 0;
}

static int open_guest(struct cli_end *e, void **mem, uint64_t *size)
{
	const struct cli_config *c = e->c;
	int rc;
	e->ivg = calloc(1, sizeof(*e->ivg));
	if (!e->ivg) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	rc = shml_ivshmem_guest_open(e->ivg, c->qemu_pci, c->qemu_guest_mode,
	                             cli_ivshmem_vectors(c), &c->qemu_ids);
	if (rc != 0) {
		cli_err("port ivshmem-guest: %s", e->ivg->err);
		free(e->ivg);
		e->ivg = NULL;
		return CLI_FAIL;
	}
	/* sysfs mode cannot read IVPosition (no BAR0): nothing to check, it polls. */
	if (e->ivg->id != SHML_IVSHMEM_NO_ID && check_id(e, e->ivg->id) != 0)
		return CLI_FAIL;
	*mem = e->ivg->mem;
	*size = e->ivg->size;
	e->port = e->ivg->port;
	return 0;
}

static int open_xen(struct cli_end *e, void **mem, uint64_t *size)
{
	const struct cli_config *c = e->c;
	struct shml_xen_opts o;
	int rc;
	e->xen_evtchn = calloc(c->n_channels ? c->n_channels : 1, sizeof(*e->xen_evtchn));
	if (!e->xen_evtchn) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	/* Our domain's port of each of its channels; 0: the port binds by fallback. */
	for (uint32_t i = 0; i < c->n_channels; i++) {
		const struct cli_channel *ch = &c->channels[i];
		if (ch->a == e->self)
			e->xen_evtchn[i] = c->xen_evtchn[i].port_a;
		else if (ch->b == e->self)
			e->xen_evtchn[i] = c->xen_evtchn[i].port_b;
	}
	memset(&o, 0, sizeof(o));
	o.shm_id = c->xen_shm_id ? c->xen_shm_id : "shmlink"; /* gen xen-dt's default */
	o.evtchn = e->xen_evtchn;
	rc = shml_xen_open(&e->xen, &c->cfg, e->self, &o);
	if (rc != 0) {
		cli_err("port xen: %s", shml_xen_error());
		e->xen = NULL;
		return CLI_FAIL;
	}
	*mem = shml_xen_mem(e->xen);
	*size = shml_xen_size(e->xen);
	e->port = *shml_xen_port(e->xen);
	return 0;
}

int cli_port_open(struct cli_end *e, void **mem, uint64_t *size)
{
	switch (e->c->port) {
	case CLI_PORT_IVSHMEM:
		return open_ivshmem(e, mem, size);
	case CLI_PORT_IVSHMEM_GUEST:
		return open_guest(e, mem, size);
	case CLI_PORT_XEN:
		return open_xen(e, mem, size);
	}
	cli_err("port %s: not opened here", cli_port_name(e->c->port));
	return CLI_FAIL;
}

int cli_port_attached(struct cli_end *e)
{
	const struct cli_config *c = e->c;
	int32_t id = e->ivc ? e->ivc->id : e->ivg ? e->ivg->id : SHML_IVSHMEM_NO_ID;
	uint64_t need;
	char a[32];
	/* No id (Xen, the file port, ivshmem-guest in sysfs mode): nobody rings us. */
	if (id == SHML_IVSHMEM_NO_ID || shml_ivshmem_publish(&e->region, id) == 0)
		return 0;
	/* No room: the records take one cache line per channel and per domain after the layout. */
	need = (shml_layout_bytes(&c->cfg) + c->cfg.cacheline - 1) &
	       ~(uint64_t)(c->cfg.cacheline - 1);
	need += (uint64_t)(c->n_channels + c->n_domains) * c->cfg.cacheline;
	cli_err("port %s: no room after the layout for the ivshmem peer id records "
	        "(docs/IVSHMEM.md): make [region] size at least %s",
	        cli_port_name(c->port), cli_human(need, a, sizeof(a)));
	return CLI_FAIL;
}

void cli_port_close(struct cli_end *e)
{
	if (e->ivc) {
		shml_ivshmem_client_close(e->ivc);
		free(e->ivc);
		e->ivc = NULL;
	}
	if (e->ivg) {
		shml_ivshmem_guest_close(e->ivg);
		free(e->ivg);
		e->ivg = NULL;
	}
	shml_xen_close(e->xen);
	e->xen = NULL;
	free(e->xen_evtchn);
	e->xen_evtchn = NULL;
}
