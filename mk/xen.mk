# SPDX-License-Identifier: MIT
# Xen dom0less under QEMU (docs/XEN.md).
#   make xen-check               build, then only the Xen tests (ctest label "xen")
#   make xen-images              download and build the images into $(BUILD)/xen
#   make xen-run SCENARIO=NAME   boot one scenario (ll-msg ll-stream ll-fallback lbm)

.PHONY: xen-check xen-images xen-run

SCENARIO ?= ll-msg

xen-check: build
	$(CTEST) --test-dir $(BUILD) --output-on-failure -L xen

xen-images: build
	SHMLINK=$(BUILD)/shmlink sh scripts/xen.sh build $(BUILD)/xen

xen-run: xen-images
	SHMLINK=$(BUILD)/shmlink sh scripts/xen.sh run $(SCENARIO) $(BUILD)/xen
