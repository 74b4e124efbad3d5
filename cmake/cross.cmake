# SPDX-License-Identifier: MIT
# Cross builds and emulated runs (docs/PORTING.md), as ctests labelled "cross":
#
#   cross_core_TARGET        the core built freestanding with -Werror for
#                            cortex-m4, cortex-m0plus, aarch64, riscv64, i686:
#                            only memcpy/memset undefined, no atomic RMW
#                            instructions, no .data/.bss; each SHML_CONFIG_*
#                            switch builds alone
#   cross_budget_cortex-m4   issue 8's budget: the tiny profile's core has
#                            <= 4096 B .text and no .data/.bss (a size
#                            regression test: fails as soon as it grows over)
#   cross_minimal_TARGET     examples/baremetal/minimal.c links, full and tiny
#                            (aarch64, riscv64, i686; the Cortex-M images run below)
#   cross_build_ARCH         unit tests for Linux on armhf, aarch64, riscv64,
#                            i686 (a fixture: the tests below need it)
#   cross_ARCH_TEST          one unit test under qemu-user (i686: natively)
#   cross_layout_ARCH        a 32-bit and the 64-bit host build share a region
#   cross_cortexm_*          Cortex-M images under qemu-system-arm
#
# The work is done by scripts/cross.sh, which `make size` uses too. A missing
# toolchain or emulator makes its tests report "Skipped" with the package to
# install (exit code 77), never pass silently.
#
# Only in the plain tree: the sanitizer trees would run the same emulated
# programs again (the cross builds carry no sanitizers).
if(SHMLINK_SANITIZE OR NOT SHMLINK_SH OR NOT CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux")
	return()
endif()

set(SHMLINK_CROSS_TESTS "test_message;test_config;test_two_process" CACHE STRING
    "Unit tests (tests/NAME.c) cross-built for Linux and run under qemu-user")

set(_cross_sh ${SHMLINK_SH} ${PROJECT_SOURCE_DIR}/scripts/cross.sh)
set(_cross_out ${CMAKE_BINARY_DIR}/cross)

# Say at configure time what will be skipped, and why.
foreach(_cross_tool_pkg
        arm-none-eabi-gcc=gcc-arm-none-eabi aarch64-linux-gnu-gcc=gcc-aarch64-linux-gnu
        riscv64-unknown-elf-gcc=gcc-riscv64-unknown-elf riscv64-linux-gnu-gcc=gcc-riscv64-linux-gnu
        arm-linux-gnueabihf-gcc=gcc-arm-linux-gnueabihf i686-linux-gnu-gcc=gcc-i686-linux-gnu
        qemu-arm=qemu-user qemu-aarch64=qemu-user qemu-riscv64=qemu-user
        qemu-system-arm=qemu-system-arm)
	string(REPLACE "=" ";" _cross_tp ${_cross_tool_pkg})
	list(GET _cross_tp 0 _cross_tool)
	list(GET _cross_tp 1 _cross_pkg)
	string(MAKE_C_IDENTIFIER "SHMLINK_CROSS_HAVE_${_cross_tool}" _cross_var)
	find_program(${_cross_var} ${_cross_tool})
	if(NOT ${_cross_var})
		message(WARNING "cross: ${_cross_tool} not found: its cross tests will be skipped "
		                "(install the Debian package ${_cross_pkg}: `make deps`)")
	endif()
endforeach()

function(shmlink_cross_test name)
	add_test(NAME ${name} COMMAND ${ARGN})
	set_tests_properties(${name} PROPERTIES LABELS cross SKIP_RETURN_CODE 77 TIMEOUT 120)
endfunction()

# The core, freestanding, per baremetal target.
foreach(_cross_t cortex-m4 cortex-m0plus aarch64 riscv64 i686)
	shmlink_cross_test(cross_core_${_cross_t}
		${_cross_sh} core ${_cross_t} ${_cross_out}/core-${_cross_t})
endforeach()
shmlink_cross_test(cross_budget_cortex-m4 ${_cross_sh} budget ${_cross_out}/budget-cortex-m4)
foreach(_cross_t aarch64 riscv64 i686)
	shmlink_cross_test(cross_minimal_${_cross_t}
		${_cross_sh} minimal ${_cross_t} ${_cross_out}/minimal-${_cross_t})
endforeach()

# Unit tests on Linux targets, under qemu-user.
set(_cross_tests "")
foreach(_cross_t ${SHMLINK_CROSS_TESTS})
	if(EXISTS ${PROJECT_SOURCE_DIR}/tests/${_cross_t}.c)
		list(APPEND _cross_tests ${_cross_t})
	endif()
endforeach()
foreach(_cross_a armhf aarch64 riscv64 i686)
	shmlink_cross_test(cross_build_${_cross_a}
		${_cross_sh} linux ${_cross_a} ${_cross_out}/linux-${_cross_a} ${_cross_tests})
	set_tests_properties(cross_build_${_cross_a} PROPERTIES FIXTURES_SETUP cross_${_cross_a})
	foreach(_cross_t ${_cross_tests})
		shmlink_cross_test(cross_${_cross_a}_${_cross_t}
			${_cross_sh} run ${_cross_a} ${_cross_out}/linux-${_cross_a} ${_cross_t})
		set_tests_properties(cross_${_cross_a}_${_cross_t} PROPERTIES
			FIXTURES_REQUIRED cross_${_cross_a})
	endforeach()
	if("test_two_process" IN_LIST _cross_tests)
		# A million messages, 6 times, emulated: give it time.
		set_tests_properties(cross_${_cross_a}_test_two_process PROPERTIES
			TIMEOUT 300)
	endif()
endforeach()

# 32-bit and 64-bit builds through one region file.
if(TARGET shmlink_host_static)
	shmlink_add_program(cross_layout_peer ${PROJECT_SOURCE_DIR}/tests/cross/layout_peer.c)
	foreach(_cross_a armhf i686)
		shmlink_cross_test(cross_layout_${_cross_a} ${_cross_sh} layout ${_cross_a}
			${_cross_out}/linux-${_cross_a} $<TARGET_FILE:cross_layout_peer>)
		set_tests_properties(cross_layout_${_cross_a} PROPERTIES
			FIXTURES_REQUIRED cross_${_cross_a} PROCESSORS 2)
	endforeach()
endif()

# Cortex-M images under qemu-system-arm: two domains in one image (demo), and
# the minimal example on a Cortex-M4 and on a Cortex-M0 (the micro:bit) in the
# tiny profile the size budget is about, and with the full core on the M4.
shmlink_cross_test(cross_build_cortexm ${_cross_sh} cortexm ${_cross_out}/cortexm)
set_tests_properties(cross_build_cortexm PROPERTIES FIXTURES_SETUP cross_cortexm)
foreach(_cross_run "demo_an386;mps2-an386;demo-cortex-m4"
                  "minimal_an386;mps2-an386;minimal-cortex-m4"
                  "minimal_full_an386;mps2-an386;minimal-full-cortex-m4"
                  "minimal_microbit;microbit;minimal-cortex-m0plus")
	list(GET _cross_run 0 _cross_name)
	list(GET _cross_run 1 _cross_machine)
	list(GET _cross_run 2 _cross_image)
	shmlink_cross_test(cross_cortexm_${_cross_name}
		${_cross_sh} qemu-m ${_cross_machine} ${_cross_out}/cortexm/${_cross_image}.elf)
	set_tests_properties(cross_cortexm_${_cross_name} PROPERTIES
		FIXTURES_REQUIRED cross_cortexm)
endforeach()
