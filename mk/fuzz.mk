# SPDX-License-Identifier: MIT
# `make fuzz`: the long fuzzing campaign (docs/RELIABILITY.md, "Fuzzing").
# `make check` runs only the bounded fuzz tests (ctest label "fuzz").
#   make fuzz FUZZ_SECONDS=3600 FUZZ_JOBS=2    # per harness
#   make fuzz FUZZ_HARNESSES=fuzz_peer
#   make fuzz-afl                              # the same under AFL++
FUZZ_SECONDS   ?= 600
FUZZ_JOBS      ?= 2
FUZZ_HARNESSES ?= $(notdir $(basename $(wildcard fuzz/fuzz_*.c)))

.PHONY: fuzz fuzz-afl fuzz-check

fuzz: build
	@set -e; for h in $(FUZZ_HARNESSES); do \
		test -x $(BUILD)/fuzz/$$h || { echo "fuzz: $(BUILD)/fuzz/$$h not built (clang with libFuzzer missing?)"; exit 1; }; \
		FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) sh fuzz/run.sh long $(BUILD)/fuzz/$$h; \
	done

# The same harnesses under AFL++ (Debian package afl++), same knobs.
fuzz-afl: build
	@set -e; for h in $(FUZZ_HARNESSES); do \
		$(CMAKE) --build $(BUILD) --target $${h}_afl; \
		FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) sh fuzz/run.sh afl $(BUILD)/fuzz/$${h}_afl; \
	done

# Only the fuzz tests of `make check`, in the default tree.
fuzz-check: build
	$(CTEST) --test-dir $(BUILD) --output-on-failure -j$(CTEST_JOBS) -L fuzz
