# SPDX-License-Identifier: MIT
# Xen dom0less (docs/XEN.md): the Linux user-space port (src/port/xen/), its
# unit test on the build host, and the tests under real Xen in QEMU
# (scripts/xen.sh, tests/xen/).
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
	return()
endif()

# The Linux port, for programs in a Xen guest. Built for the host as well, so
# that every tree compiles it with -Werror (and the sanitizer trees test it).
file(GLOB SHMLINK_XEN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/port/xen/*.c)
add_library(shmlink_xen_static STATIC ${SHMLINK_XEN_SOURCES})
target_include_directories(shmlink_xen_static
	PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
	       $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(shmlink_xen_static PUBLIC shmlink_static)
set_target_properties(shmlink_xen_static PROPERTIES OUTPUT_NAME shmlink_xen)

# The CLI's --port xen (tools/cli_port.c); the guests' static CLI too.
foreach(_xen_t shmlink_cli shmlink_cli_guest)
	if(TARGET ${_xen_t})
		target_link_libraries(${_xen_t} PRIVATE shmlink_xen_static)
	endif()
endforeach()

add_executable(test_xen_port ${PROJECT_SOURCE_DIR}/tests/xen/test_xen_port.c)
target_link_libraries(test_xen_port PRIVATE shmlink_xen_static)
add_test(NAME xen_port_host COMMAND test_xen_port)
set_tests_properties(xen_port_host PROPERTIES LABELS "xen;unit" TIMEOUT 120
	ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1")

# ---------------------------------------------------------------------------
# Under real Xen in QEMU (label "xen"), in the plain tree only: the sanitizer
# trees would boot the same images again. xen_build is the fixture: Debian's
# Xen 4.17, Linux 6.12 and 6.1 and busybox (downloaded once with apt-get into
# build/xen/debs), the guest programs, the initramfs, the baremetal domain.
# Each scenario then boots Xen with two domUs (scripts/xen.sh run NAME).
# Device trees and the guests' configs come from tests/xen/*.ini through the
# shmlink CLI (gen xen-dt, gen header).
# ---------------------------------------------------------------------------
if(SHMLINK_SANITIZE OR NOT SHMLINK_SH)
	return()
endif()
if(NOT TARGET shmlink_cli)
	message(WARNING "xen: no shmlink CLI (tools/): the tests under Xen are not registered "
	                "(they make their device trees with 'shmlink gen xen-dt')")
	return()
endif()

set(_xen_sh ${SHMLINK_SH} ${PROJECT_SOURCE_DIR}/scripts/xen.sh)
set(_xen_out ${CMAKE_BINARY_DIR}/xen)
set(_xen_env "SHMLINK=$<TARGET_FILE:shmlink_cli>")

add_test(NAME xen_build COMMAND ${_xen_sh} build ${_xen_out})
set_tests_properties(xen_build PROPERTIES
	LABELS xen FIXTURES_SETUP xen SKIP_RETURN_CODE 77 TIMEOUT 600
	ENVIRONMENT "${_xen_env}")

# One QEMU with two vCPUs each: PROCESSORS 2 keeps `ctest -j2` from running two at once.
foreach(_xen_s ll-msg ll-stream ll-fallback lbm lbm-poll ll-cli)
	string(REPLACE "-" "_" _xen_n ${_xen_s})
	add_test(NAME xen_${_xen_n} COMMAND ${_xen_sh} run ${_xen_s} ${_xen_out})
	set_tests_properties(xen_${_xen_n} PROPERTIES
		LABELS xen FIXTURES_REQUIRED xen SKIP_RETURN_CODE 77 TIMEOUT 420 PROCESSORS 2
		ENVIRONMENT "${_xen_env}")
endforeach()
