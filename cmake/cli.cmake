# SPDX-License-Identifier: MIT
# The shmlink command-line tool (tools/*.c, target shmlink_cli): libinih for
# the config, the version string, the man page, and the CLI tests (tests/cli).
if(NOT TARGET shmlink_cli)
	return()
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(SHMLINK_INIH REQUIRED IMPORTED_TARGET inih)
target_link_libraries(shmlink_cli PRIVATE PkgConfig::SHMLINK_INIH)
target_compile_definitions(shmlink_cli PRIVATE SHMLINK_VERSION="${PROJECT_VERSION}")
# `shmlink bench` runs the loops and writes the CSV of the bench programs
# (bench/lib, cmake/bench.cmake); `shmlink demo` links the demo (cmake/demo.cmake).
target_link_libraries(shmlink_cli PRIVATE shmlink_bench)

# shmlink(1): plain roff, nothing to build.
install(FILES ${PROJECT_SOURCE_DIR}/man/shmlink.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# ---------------------------------------------------------------------------
# Tests: each tests/cli/test_*.sh is one ctest, run with bash and told where
# everything is. They use the built binary; test_installed.sh installs the
# tree into a temporary prefix and uses that copy.
# ---------------------------------------------------------------------------
find_program(SHMLINK_BASH bash)
if(NOT SHMLINK_BASH)
	message(WARNING "bash not found: the CLI tests are skipped")
	return()
endif()

set(SHMLINK_CLI_TEST_ENV
	"SHMLINK=$<TARGET_FILE:shmlink_cli>"
	"SHMLINK_SRC=${PROJECT_SOURCE_DIR}"
	"SHMLINK_BUILD=${CMAKE_BINARY_DIR}"
	"SHMLINK_CC=${CMAKE_C_COMPILER}"
	"SHMLINK_CMAKE=${CMAKE_COMMAND}"
	"SHMLINK_SANITIZE=${SHMLINK_SANITIZE}"
	"UBSAN_OPTIONS=print_stacktrace=1"
	# The tools' fork/exec and the tests' pipes are fine under ASan; leaks of a
	# short-lived CLI at exit() are not interesting.
	"ASAN_OPTIONS=detect_leaks=0")

file(GLOB SHMLINK_CLI_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/cli/test_*.sh)
foreach(script ${SHMLINK_CLI_TESTS})
	get_filename_component(name ${script} NAME_WE)
	add_test(NAME cli_${name} COMMAND ${SHMLINK_BASH} ${script})
	set_tests_properties(cli_${name} PROPERTIES
		LABELS cli
		TIMEOUT 300
		ENVIRONMENT "${SHMLINK_CLI_TEST_ENV}")
endforeach()
