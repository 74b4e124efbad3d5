# SPDX-License-Identifier: MIT
# Benchmarks (docs/PERFORMANCE.md, `make bench`). Every bench/*.c is already an
# executable (CMakeLists.txt); this module links them with the shared code of
# bench/lib/ (library shmlink_bench: the harness, and the reusable shmlink
# loops for the CLI), links bench_iceoryx with Debian's iceoryx C binding when
# it is installed, and registers the smoke test bench_smoke.
#
# The programs are built (and so compiled with the sanitizers) in every tree;
# bench_smoke is registered only in the tree without SHMLINK_SANITIZE: timings
# under ASan/TSan mean nothing.
file(GLOB SHMLINK_BENCH_PROGRAMS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bench/*.c)
file(GLOB SHMLINK_BENCH_LIB_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bench/lib/*.c)

if(NOT SHMLINK_BENCH_PROGRAMS OR NOT SHMLINK_BENCH_LIB_SOURCES)
	return()
endif()

add_library(shmlink_bench STATIC ${SHMLINK_BENCH_LIB_SOURCES})
target_include_directories(shmlink_bench PUBLIC ${PROJECT_SOURCE_DIR}/bench/lib)
target_link_libraries(shmlink_bench PUBLIC ${SHMLINK_LIBS})

foreach(src ${SHMLINK_BENCH_PROGRAMS})
	get_filename_component(name ${src} NAME_WE)
	if(TARGET ${name})
		target_link_libraries(${name} PRIVATE shmlink_bench)
	endif()
endforeach()

# iceoryx 2.0 (Debian: libiceoryx-binding-c-dev; its RouDi daemon is in package
# iceoryx). Without it bench_iceoryx builds as a stub that says so and exits 77.
if(TARGET bench_iceoryx)
	find_package(iceoryx_binding_c CONFIG QUIET)
	if(iceoryx_binding_c_FOUND)
		target_link_libraries(bench_iceoryx PRIVATE iceoryx_binding_c::iceoryx_binding_c)
		target_compile_definitions(bench_iceoryx PRIVATE SHMLINK_BENCH_ICEORYX=1)
	else()
		message(STATUS "bench: iceoryx C binding not found; bench_iceoryx is a stub "
		               "(apt-get install libiceoryx-binding-c-dev iceoryx)")
	endif()
endif()

# The smoke test: every bench program for a few seconds, then the CSV is
# checked (columns, numbers, transports) and the report rendered to a scratch
# file. No timing is asserted.
if(NOT SHMLINK_SANITIZE STREQUAL "")
	return()
endif()
find_program(SHMLINK_BASH bash)
find_program(SHMLINK_PYTHON3 python3)
if(SHMLINK_BASH AND SHMLINK_PYTHON3)
	add_test(NAME bench_smoke
	         COMMAND ${SHMLINK_BASH} ${PROJECT_SOURCE_DIR}/scripts/bench.sh
	                 --mode smoke --build ${CMAKE_BINARY_DIR}
	                 --out ${CMAKE_BINARY_DIR}/bench-smoke)
	set_tests_properties(bench_smoke PROPERTIES
		LABELS bench
		TIMEOUT 120
		# Two workers pinned to the two CPUs: do not share them with other tests.
		RUN_SERIAL TRUE)
else()
	message(STATUS "bench: bash or python3 missing; no bench_smoke test")
endif()
