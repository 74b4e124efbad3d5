/* SPDX-License-Identifier: MIT */
/*
 * The test configurations compiled into the guest programs: scripts/xen.sh
 * writes xen_configs.c from the INI files in tests/xen/ with `shmlink gen header`.
 */
#ifndef SHMLINK_XEN_CONFIGS_H
#define SHMLINK_XEN_CONFIGS_H

#include "shmlink.h"

struct xen_test_cfg {
	const char *name;              /* the INI file's base name */
	const struct shml_config *cfg; /* one channel, "data" */
	uint32_t evtchn_a, evtchn_b;   /* its static event channel ports in side a's, b's domain */
	const char *shm_id;            /* [xen] shm_id */
};

extern const struct xen_test_cfg xen_test_cfgs[];
extern const unsigned xen_test_n_cfgs;

#endif
