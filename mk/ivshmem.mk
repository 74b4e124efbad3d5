# SPDX-License-Identifier: MIT
# The ivshmem port (docs/IVSHMEM.md).
#   make vm-image      fetch Debian's kernel (once) and pack the guests' initramfs
#                      into $(BUILD)/vm
#   make vm-check      the ivshmem tests of the build tree: the server and host
#                      peers (label ivshmem), the VM scenarios (label vm); then
#                      the figures ($(BUILD)/vm/results-*.txt)
#   make ivshmem-server SOCKET=... REGION=... SIZE=... VECTORS=...
#                      run the server in the foreground (Ctrl-C stops it)

.PHONY: vm-image vm-check ivshmem-server

VECTORS ?= 1

vm-image: build
	bash scripts/ivshmem-vm-image.sh $(BUILD)/vm $(BUILD)/vm/shml-vmpeer-guest

vm-check: build
	@rm -f $(BUILD)/vm/results-*.txt
	@rc=0; $(CTEST) --test-dir $(BUILD) -L '^(ivshmem|vm)$$' --output-on-failure \
		-j$(CTEST_JOBS) || rc=$$?; \
	cat $(BUILD)/vm/results-*.txt 2>/dev/null; exit $$rc

ivshmem-server: build
	@[ -n "$(SOCKET)" ] && [ -n "$(REGION)" ] || \
		{ echo "usage: make ivshmem-server SOCKET=/tmp/ivshmem.sock REGION=NAME SIZE=4M [VECTORS=1]"; exit 2; }
	./$(BUILD)/shmlink-ivshmem-server -S $(SOCKET) -m $(REGION) $(if $(SIZE),-l $(SIZE)) -n $(VECTORS)
