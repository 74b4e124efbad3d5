# SPDX-License-Identifier: MIT
# `make model`: the full model check of the protocol (docs/RELIABILITY.md,
# "Model checking"): the bounded runs and mutants of `make check`, then the
# larger bounds (several minutes, up to ~16 GB of memory). Trails of any
# violation stay in $(MODEL_WORK)/<run>/.
#   make model                      # everything
#   make model MODEL_SETS=full      # only the larger bounds
#   make model-check                # only the model tests of `make check`
MODEL_SETS ?= bounded mutant full
MODEL_WORK ?= $(BUILD)/model-full

.PHONY: model model-check

model: deps
	@sh model/check.sh run $(MODEL_SETS) --work $(MODEL_WORK)

model-check: build
	$(CTEST) --test-dir $(BUILD) --output-on-failure -j$(CTEST_JOBS) -L model
