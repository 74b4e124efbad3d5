# SPDX-License-Identifier: MIT
# Cross builds (docs/PORTING.md).
#   make size         the size table of the core and of examples/baremetal/minimal.c
#                     per target (stdout), also written into docs/PORTING.md
#   make cross-check  only the cross ctests (label "cross") of the build tree

.PHONY: size cross-check

size: deps
	@sh scripts/cross.sh size $(BUILD)/cross-size docs/PORTING.md

cross-check: build
	$(CTEST) --test-dir $(BUILD) -L cross --output-on-failure -j$(CTEST_JOBS)
