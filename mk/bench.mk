# SPDX-License-Identifier: MIT
# Benchmarks (docs/PERFORMANCE.md).
#   make bench               quick mode: 3 runs of 64 B, 1 KiB and 64 KiB, a few minutes;
#                            build/bench/results.csv, build/bench/*.png, docs/PERFORMANCE.md
#   make bench BENCH=full    3 runs, 16 sizes 8 B .. 256 KiB, longer measurements (~30 min)
#   make bench-smoke         only the seconds-long smoke test (ctest label "bench")
#   BENCH_ARGS=...           more arguments for scripts/bench.sh (e.g. --runs 1 --no-iceoryx)
BENCH      ?= quick
BENCH_ARGS ?=

.PHONY: bench bench-smoke

bench: build
	bash scripts/bench.sh --mode $(BENCH) --build $(BUILD) $(BENCH_ARGS)

bench-smoke: build
	$(CTEST) --test-dir $(BUILD) --output-on-failure -L bench
