# SPDX-License-Identifier: MIT
# Entry points for developers and CI; the build itself is CMakeLists.txt.

BUILD        ?= build
PREFIX       ?= /usr/local
GENERATOR    ?= Ninja
CMAKE        ?= cmake
CTEST        ?= ctest
CTEST_JOBS   ?= 2
CLANG_FORMAT ?= clang-format

# Extra trees that `make check` builds and tests: NAME=SANITIZERS makes
# build-NAME with -DSHMLINK_SANITIZE=SANITIZERS and runs every test there.
SAN_TREES := asan=address,undefined
SAN_DIRS  := $(foreach t,$(SAN_TREES),build-$(firstword $(subst =, ,$(t))))

# ThreadSanitizer: built with clang (GCC 12 rejects atomic_thread_fence under
# -fsanitize=thread) and run on the tests where threads or processes race.
TSAN_DIR   := build-tsan
TSAN_TESTS := ^(test_threads|test_two_process|test_three_process|test_regressions|test_reset)$$

FORMAT_DIRS  := $(wildcard include src tests examples tools bench)
FORMAT_FILES  = $(shell find $(FORMAT_DIRS) -name '*.[ch]' 2>/dev/null)

.PHONY: all deps build check demo install clean format format-check

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	$(CMAKE) -S . -B $(BUILD) -G $(GENERATOR)
	$(CMAKE) --build $(BUILD)

# Build every tree first, then test every tree; fail if any tree fails, but
# only after all of them ran, so one run shows all failures.
check: build
	@set -e; for t in $(SAN_TREES); do \
		dir=build-$${t%%=*}; \
		echo "$(CMAKE) -S . -B $$dir -G $(GENERATOR) -DSHMLINK_SANITIZE=$${t#*=}"; \
		$(CMAKE) -S . -B $$dir -G $(GENERATOR) -DSHMLINK_SANITIZE=$${t#*=}; \
		$(CMAKE) --build $$dir; \
	done
	$(CMAKE) -S . -B $(TSAN_DIR) -G $(GENERATOR) -DCMAKE_C_COMPILER=clang -DSHMLINK_SANITIZE=thread
	$(CMAKE) --build $(TSAN_DIR)
	@CTEST=$(CTEST) CTEST_JOBS=$(CTEST_JOBS) sh scripts/run-tests.sh \
		$(BUILD) $(SAN_DIRS) '$(TSAN_DIR):$(TSAN_TESTS)'

demo: build
	./$(BUILD)/shmlink_demo

# The prefix is set at configure time too: the .pc files record it.
install: deps
	$(CMAKE) -S . -B $(BUILD) -G $(GENERATOR) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	$(CMAKE) --build $(BUILD)
	$(CMAKE) --install $(BUILD)

clean:
	rm -rf $(BUILD) build-*/

format:
	@files="$(FORMAT_FILES)"; [ -z "$$files" ] || $(CLANG_FORMAT) -i $$files

format-check:
	@files="$(FORMAT_FILES)"; [ -z "$$files" ] || $(CLANG_FORMAT) --dry-run --Werror $$files

# Feature modules add targets here (mk/*.mk), e.g. `make size`, `make model`.
# Included last so that `all` stays the default target.
-include mk/*.mk
