# SPDX-License-Identifier: MIT
# `shmlink net` (tools/cmd_net.c): its tests, tests/net/test_*.sh, one ctest each
# (label "net"). They need root, /dev/net/tun and network namespaces, and skip
# (exit 77, shown as skipped by ctest) with a message where those are missing.
# test_link measures throughput (shmlink net against a veth pair), so it runs
# alone (RUN_SERIAL): nothing else of the suite competes for the two cores.
if(NOT TARGET shmlink_cli)
	return()
endif()
find_program(SHMLINK_NET_BASH bash)
if(NOT SHMLINK_NET_BASH)
	message(WARNING "bash not found: the shmlink net tests are skipped")
	return()
endif()

file(GLOB SHMLINK_NET_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/net/test_*.sh)
foreach(script ${SHMLINK_NET_TESTS})
	get_filename_component(name ${script} NAME_WE)
	add_test(NAME net_${name} COMMAND ${SHMLINK_NET_BASH} ${script})
	set_tests_properties(net_${name} PROPERTIES
		LABELS net
		TIMEOUT 180
		SKIP_RETURN_CODE 77
		ENVIRONMENT "SHMLINK=$<TARGET_FILE:shmlink_cli>;SHMLINK_SRC=${PROJECT_SOURCE_DIR};SHMLINK_SANITIZE=${SHMLINK_SANITIZE};UBSAN_OPTIONS=print_stacktrace=1;ASAN_OPTIONS=detect_leaks=0")
	if(name STREQUAL "test_link")
		set_tests_properties(net_${name} PROPERTIES RUN_SERIAL TRUE)
	endif()
endforeach()
