# SPDX-License-Identifier: MIT
# The shmlink command-line tool (tools/, tests/cli/, man/shmlink.1).
#   make cli-check   build, then run only the CLI tests (ctest label "cli")
#   make cli-man     show shmlink(1) from the source tree

.PHONY: cli-check cli-man

cli-check: build
	$(CTEST) --test-dir $(BUILD) --output-on-failure -j$(CTEST_JOBS) -L cli

cli-man:
	man -l man/shmlink.1
