# SPDX-License-Identifier: MIT
# Fuzzing (docs/RELIABILITY.md, "Fuzzing"). Every fuzz/fuzz_*.c is a libFuzzer
# harness. Whatever compiler the main build uses, the harnesses are built by
# clang with ASan+UBSan, straight from the core sources (one clang command
# per harness, no sub-build), into <build>/fuzz/. Tests (label "fuzz"):
#   fuzz_<h>_regressions  replay fuzz/regressions/<h>/*: inputs that once
#                         broke the core; each must pass now
#   fuzz_<h>_corpus       replay the seed corpus fuzz/corpus/<h>/
#   fuzz_<h>_run          a bounded run from the corpus: FUZZ_CHECK_RUNS
#                         executions or FUZZ_CHECK_SECONDS, whichever first
# `make fuzz` runs the long campaign (mk/fuzz.mk). If AFL++ is installed
# (afl-clang-fast), target <h>_afl builds the same harness for afl-fuzz
# (not built by default; `make fuzz-afl` builds and runs it).
#
# Only in the tree without SHMLINK_SANITIZE: the harness has its own
# sanitizers, and the sanitizer trees would only run the same tests again.
if(NOT SHMLINK_SANITIZE STREQUAL "")
	return()
endif()

file(GLOB SHMLINK_FUZZ_HARNESSES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/fuzz_*.c)
if(NOT SHMLINK_FUZZ_HARNESSES)
	return()
endif()

if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
	set(SHMLINK_FUZZ_CC_DEFAULT ${CMAKE_C_COMPILER})
else()
	find_program(SHMLINK_FUZZ_CC_DEFAULT NAMES clang-14 clang)
endif()
set(SHMLINK_FUZZ_CC "${SHMLINK_FUZZ_CC_DEFAULT}" CACHE FILEPATH
    "clang with libFuzzer, ASan and UBSan runtimes (Debian: clang, libclang-rt-14-dev)")
set(SHMLINK_FUZZ_FLAGS -std=c11 -g -O1 -fno-omit-frame-pointer
                       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
                       -Wall -Wextra)

# Can this clang link a libFuzzer + ASan + UBSan program? If not, say so and
# build no fuzzers (the rest of the build does not depend on them).
# (`make build` configures every time: probe once per compiler.)
set(SHMLINK_FUZZ_OK FALSE)
if(SHMLINK_FUZZ_CC AND SHMLINK_SH AND SHMLINK_FUZZ_PROBED STREQUAL SHMLINK_FUZZ_CC)
	set(SHMLINK_FUZZ_OK TRUE)
elseif(SHMLINK_FUZZ_CC AND SHMLINK_SH)
	set(probe_dir ${CMAKE_BINARY_DIR}/fuzz/probe)
	file(MAKE_DIRECTORY ${probe_dir})
	file(WRITE ${probe_dir}/probe.c
	     "#include <stddef.h>\n#include <stdint.h>\n"
	     "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
	     "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
	execute_process(COMMAND ${SHMLINK_FUZZ_CC} ${SHMLINK_FUZZ_FLAGS} probe.c -o probe
	                WORKING_DIRECTORY ${probe_dir}
	                RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
	if(probe_rc EQUAL 0)
		set(SHMLINK_FUZZ_OK TRUE)
		set(SHMLINK_FUZZ_PROBED "${SHMLINK_FUZZ_CC}" CACHE INTERNAL "compiler that passed the fuzz probe")
	endif()
endif()
if(NOT SHMLINK_FUZZ_OK)
	message(STATUS "fuzz: '${SHMLINK_FUZZ_CC}' cannot build libFuzzer+ASan+UBSan programs; "
	               "no fuzzers (install clang and libclang-rt-14-dev)")
	return()
endif()

file(GLOB SHMLINK_FUZZ_DEPENDS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/src/core/*.h ${PROJECT_SOURCE_DIR}/include/*.h
     ${PROJECT_SOURCE_DIR}/fuzz/*.h)

set(FUZZ_CHECK_RUNS 200000 CACHE STRING "fuzz_*_run: executions at most")
set(FUZZ_CHECK_SECONDS 60 CACHE STRING "fuzz_*_run: seconds at most")

find_program(SHMLINK_AFL_CC afl-clang-fast)

foreach(src ${SHMLINK_FUZZ_HARNESSES})
	get_filename_component(h ${src} NAME_WE)
	set(bin ${CMAKE_BINARY_DIR}/fuzz/${h})
	# The core is compiled with fuzz/shm_check.h forced in: its shared-memory
	# word accesses are then checked by the harness (no change to the core).
	add_custom_command(OUTPUT ${bin}
		COMMAND ${SHMLINK_FUZZ_CC} ${SHMLINK_FUZZ_FLAGS}
		        -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src/core
		        -include ${PROJECT_SOURCE_DIR}/fuzz/shm_check.h
		        ${SHMLINK_CORE_SOURCES} ${src} -o ${bin}
		DEPENDS ${SHMLINK_CORE_SOURCES} ${src} ${SHMLINK_FUZZ_DEPENDS}
		COMMENT "Building fuzzer ${h} (clang, libFuzzer+ASan+UBSan)"
		VERBATIM)
	add_custom_target(${h} ALL DEPENDS ${bin})

	if(SHMLINK_AFL_CC)
		# AFL++ links its own driver for LLVMFuzzerTestOneInput (-fsanitize=fuzzer).
		add_custom_command(OUTPUT ${bin}_afl
			COMMAND ${CMAKE_COMMAND} -E env AFL_QUIET=1
			        ${SHMLINK_AFL_CC} ${SHMLINK_FUZZ_FLAGS}
			        -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src/core
			        -include ${PROJECT_SOURCE_DIR}/fuzz/shm_check.h
			        ${SHMLINK_CORE_SOURCES} ${src} -o ${bin}_afl
			DEPENDS ${SHMLINK_CORE_SOURCES} ${src} ${SHMLINK_FUZZ_DEPENDS}
			COMMENT "Building fuzzer ${h}_afl (AFL++, ASan+UBSan)"
			VERBATIM)
		add_custom_target(${h}_afl DEPENDS ${bin}_afl)
	endif()

	set(run ${SHMLINK_SH} ${PROJECT_SOURCE_DIR}/fuzz/run.sh)
	add_test(NAME ${h}_regressions COMMAND ${run} regressions ${bin})
	add_test(NAME ${h}_corpus COMMAND ${run} corpus ${bin})
	add_test(NAME ${h}_run COMMAND ${run} check ${bin})
	set_tests_properties(${h}_regressions ${h}_corpus ${h}_run PROPERTIES
		LABELS fuzz TIMEOUT 300
		ENVIRONMENT "FUZZ_CHECK_RUNS=${FUZZ_CHECK_RUNS};FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS}")
endforeach()
