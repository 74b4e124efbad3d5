# SPDX-License-Identifier: MIT
# The ivshmem port (docs/IVSHMEM.md): the server, the host peer, the Linux
# guest port, the baremetal x86 guest, and the tests between real VMs.
#
#   shmlink_ivshmem_static     library: server, host peer (client), Linux guest
#                              port (src/port/ivshmem/*.c but baremetal_x86.c)
#   shmlink-ivshmem-server     the server command (tools/ivshmem_server.c) with a
#                              main, until the CLI dispatches `shmlink ivshmem-server`
#   shml-vmpeer                one domain of the tests (tests/vm/vmpeer.c), host side
#   vm/shml-vmpeer-guest       the same, static, for the guests' initramfs
#   vm/shml-bm-guest.elf       the baremetal multiboot guest (gcc -m32 -ffreestanding)
#   vm/shmlink                 the shmlink CLI, static, for the guests' initramfs
#
# ctests, label "ivshmem" (every tree): the server's errors and shutdown, and
# two host peers through the server. Label "vm" (plain tree only): vm_image
# builds the guest kernel + initramfs into build/vm (a fixture), then one test
# per scenario, one at a time (RESOURCE_LOCK), each with its own timeout.
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux" OR NOT TARGET shmlink_host_static)
	return()
endif()

file(GLOB SHMLINK_IVSHMEM_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/port/ivshmem/*.c)
list(FILTER SHMLINK_IVSHMEM_SOURCES EXCLUDE REGEX "/baremetal_[^/]*\\.c$")
add_library(shmlink_ivshmem_static STATIC ${SHMLINK_IVSHMEM_SOURCES})
target_include_directories(shmlink_ivshmem_static
	PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
	       $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
	PRIVATE ${PROJECT_SOURCE_DIR}/src/port/ivshmem)
target_link_libraries(shmlink_ivshmem_static PUBLIC shmlink_static Threads::Threads)
target_compile_definitions(shmlink_ivshmem_static PRIVATE _GNU_SOURCE) # accept4, ppoll
set_target_properties(shmlink_ivshmem_static PROPERTIES OUTPUT_NAME shmlink_ivshmem)
install(TARGETS shmlink_ivshmem_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/shmlink_ivshmem.h
              ${PROJECT_SOURCE_DIR}/include/shmlink_ivshmem_baremetal.h
              ${PROJECT_SOURCE_DIR}/include/shmlink_ivshmem_record.h
	DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The CLI compiles every tools/*.c, ivshmem_server.c among them: give it the library.
if(TARGET shmlink_cli)
	target_link_libraries(shmlink_cli PRIVATE shmlink_ivshmem_static)
endif()

# The server command on its own.
shmlink_add_program(shmlink_ivshmem_server
	${PROJECT_SOURCE_DIR}/tests/vm/ivshmem_server_main.c
	${PROJECT_SOURCE_DIR}/tools/ivshmem_server.c)
target_include_directories(shmlink_ivshmem_server PRIVATE ${PROJECT_SOURCE_DIR}/tools)
target_link_libraries(shmlink_ivshmem_server PRIVATE shmlink_ivshmem_static)
set_target_properties(shmlink_ivshmem_server PROPERTIES OUTPUT_NAME shmlink-ivshmem-server)

# One domain of the tests.
set(_ivs_peer_sources ${PROJECT_SOURCE_DIR}/tests/vm/vmpeer.c ${PROJECT_SOURCE_DIR}/tests/vm/workload.c)
shmlink_add_program(shml_vmpeer ${_ivs_peer_sources})
target_include_directories(shml_vmpeer PRIVATE ${PROJECT_SOURCE_DIR}/tests/vm)
target_link_libraries(shml_vmpeer PRIVATE shmlink_ivshmem_static)
set_target_properties(shml_vmpeer PROPERTIES OUTPUT_NAME shml-vmpeer)

# ---------------------------------------------------------------------------
# Host-only tests: every tree (the sanitizers watch the server and the client).
# ---------------------------------------------------------------------------
find_program(SHMLINK_BASH bash)
if(SHMLINK_BASH)
	set(_ivs_env
		"SHMLINK_SRC=${PROJECT_SOURCE_DIR}"
		"IVSHMEM_SERVER=$<TARGET_FILE:shmlink_ivshmem_server>"
		"VMPEER=$<TARGET_FILE:shml_vmpeer>"
		"UBSAN_OPTIONS=print_stacktrace=1"
		"ASAN_OPTIONS=detect_leaks=1")
	foreach(_ivs_t server host_peers)
		add_test(NAME ivshmem_${_ivs_t}
		         COMMAND ${SHMLINK_BASH} ${PROJECT_SOURCE_DIR}/tests/vm/test_${_ivs_t}.sh)
		set_tests_properties(ivshmem_${_ivs_t} PROPERTIES
			LABELS ivshmem TIMEOUT 180 ENVIRONMENT "${_ivs_env}")
	endforeach()
	set_tests_properties(ivshmem_host_peers PROPERTIES PROCESSORS 2)
endif()

# The peer id records: hostile values refused, no overlap with the Xen port's records.
shmlink_add_program(test_ivshmem_records ${PROJECT_SOURCE_DIR}/tests/vm/test_records.c)
target_link_libraries(test_ivshmem_records PRIVATE shmlink_ivshmem_static shmlink_xen_static
	shmlink_testutil)
add_test(NAME ivshmem_records COMMAND test_ivshmem_records)
set_tests_properties(ivshmem_records PROPERTIES LABELS "ivshmem;unit" TIMEOUT 60
	ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1")

# ---------------------------------------------------------------------------
# VMs: the plain tree only (the guests' programs carry no sanitizer), x86-64
# hosts (the guest kernel is Debian's amd64 one), GCC for the -m32 guest.
# ---------------------------------------------------------------------------
if(SHMLINK_SANITIZE OR NOT SHMLINK_BASH OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64)$"
   OR NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
	return()
endif()

set(SHMLINK_VM_DIR ${CMAKE_BINARY_DIR}/vm CACHE PATH
    "Where the VM tests keep the guest kernel, initramfs and logs")

# The Linux guests' program: static, so the initramfs needs no libc.
add_executable(shml_vmpeer_guest ${_ivs_peer_sources})
target_include_directories(shml_vmpeer_guest PRIVATE ${PROJECT_SOURCE_DIR}/tests/vm)
target_link_libraries(shml_vmpeer_guest PRIVATE shmlink_ivshmem_static shmlink_host_static shmlink_static)
target_link_options(shml_vmpeer_guest PRIVATE -static)
set_target_properties(shml_vmpeer_guest PROPERTIES
	OUTPUT_NAME shml-vmpeer-guest RUNTIME_OUTPUT_DIRECTORY ${SHMLINK_VM_DIR})

# The CLI for the guests (`shmlink ... --port ivshmem-guest`): shmlink_cli's
# sources and libraries (the Xen port is added by cmake/xen.cmake), static, with
# libinih's archive (Debian's libinih-dev ships it) in place of the shared one.
find_library(SHMLINK_INIH_ARCHIVE NAMES libinih.a HINTS ${SHMLINK_INIH_LIBDIR})
if(TARGET shmlink_cli AND SHMLINK_INIH_ARCHIVE)
	get_target_property(_ivs_cli_sources shmlink_cli SOURCES)
	get_target_property(_ivs_cli_libs shmlink_cli LINK_LIBRARIES)
	get_target_property(_ivs_cli_defs shmlink_cli COMPILE_DEFINITIONS)
	list(REMOVE_ITEM _ivs_cli_libs PkgConfig::SHMLINK_INIH)
	add_executable(shmlink_cli_guest ${_ivs_cli_sources})
	target_compile_definitions(shmlink_cli_guest PRIVATE ${_ivs_cli_defs})
	target_include_directories(shmlink_cli_guest PRIVATE ${SHMLINK_INIH_INCLUDE_DIRS})
	target_link_libraries(shmlink_cli_guest PRIVATE ${_ivs_cli_libs} ${SHMLINK_INIH_ARCHIVE})
	target_link_options(shmlink_cli_guest PRIVATE -static)
	set_target_properties(shmlink_cli_guest PROPERTIES
		OUTPUT_NAME shmlink RUNTIME_OUTPUT_DIRECTORY ${SHMLINK_VM_DIR})
	set(_ivs_cli_guest $<TARGET_FILE:shmlink_cli_guest>)
else()
	message(WARNING "ivshmem: no libinih.a (Debian: libinih-dev): the guests get no shmlink CLI "
	                "and the vm_cli test is skipped")
	set(_ivs_cli_guest "")
endif()

# The baremetal guest: the core, the polling baremetal port and the ivshmem
# x86 helpers compiled -m32 -ffreestanding, linked -nostdlib (no libgcc: a
# missing symbol fails the link).
file(GLOB _ivs_bm_core CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/core/*.c)
set(_ivs_bm_sources
	${_ivs_bm_core}
	${PROJECT_SOURCE_DIR}/src/port/baremetal/baremetal.c
	${PROJECT_SOURCE_DIR}/src/port/ivshmem/baremetal_x86.c
	${PROJECT_SOURCE_DIR}/src/port/ivshmem/record.c
	${PROJECT_SOURCE_DIR}/tests/vm/workload.c
	${PROJECT_SOURCE_DIR}/tests/vm/baremetal/main.c
	${PROJECT_SOURCE_DIR}/tests/vm/baremetal/libc.c
	${PROJECT_SOURCE_DIR}/tests/vm/baremetal/start.S)
set(_ivs_bm_elf ${SHMLINK_VM_DIR}/shml-bm-guest.elf)
add_custom_command(OUTPUT ${_ivs_bm_elf}
	COMMAND ${CMAKE_COMMAND} -E make_directory ${SHMLINK_VM_DIR}
	COMMAND ${CMAKE_C_COMPILER} -m32 -std=gnu11 -O2 -g -ffreestanding -fno-builtin
	        -fno-strict-aliasing -fno-stack-protector -fno-pic -fno-pie
	        -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns
	        -Wall -Wextra -Werror -Wno-missing-prototypes
	        -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src/core
	        -I${PROJECT_SOURCE_DIR}/tests/vm
	        -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=0x1000
	        -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -T ${PROJECT_SOURCE_DIR}/tests/vm/baremetal/link.ld
	        -o ${_ivs_bm_elf} ${_ivs_bm_sources}
	DEPENDS ${_ivs_bm_sources} ${PROJECT_SOURCE_DIR}/tests/vm/baremetal/link.ld
	        ${PROJECT_SOURCE_DIR}/tests/vm/workload.h
	        ${PROJECT_SOURCE_DIR}/include/shmlink.h
	        ${PROJECT_SOURCE_DIR}/include/shmlink_baremetal.h
	        ${PROJECT_SOURCE_DIR}/include/shmlink_ivshmem_baremetal.h
	        ${PROJECT_SOURCE_DIR}/include/shmlink_ivshmem_record.h
	COMMENT "Building the baremetal ivshmem guest (multiboot, -m32)"
	VERBATIM)
add_custom_target(shml_bm_guest ALL DEPENDS ${_ivs_bm_elf})

# The tests. The image script downloads Debian's kernel package once (kept in
# build/vm) and packs the initramfs whenever the guest program changed.
set(_ivs_vm_env
	"SHMLINK_SRC=${PROJECT_SOURCE_DIR}"
	"SHMLINK_VM_DIR=${SHMLINK_VM_DIR}"
	"IVSHMEM_SERVER=$<TARGET_FILE:shmlink_ivshmem_server>"
	"VMPEER=$<TARGET_FILE:shml_vmpeer>"
	"VMPEER_GUEST=$<TARGET_FILE:shml_vmpeer_guest>"
	"BM_GUEST=${_ivs_bm_elf}"
	"SHMLINK=$<TARGET_FILE:shmlink_cli>")
add_test(NAME vm_image
         COMMAND ${SHMLINK_BASH} ${PROJECT_SOURCE_DIR}/scripts/ivshmem-vm-image.sh
                 ${SHMLINK_VM_DIR} $<TARGET_FILE:shml_vmpeer_guest> ${_ivs_cli_guest})
set_tests_properties(vm_image PROPERTIES
	LABELS vm TIMEOUT 600 FIXTURES_SETUP shmlink_vm SKIP_RETURN_CODE 77
	RESOURCE_LOCK shmlink_vm ENVIRONMENT "${_ivs_vm_env}")
foreach(_ivs_s two_linux linux_host baremetal_linux baremetal_host plain_host kill_restart
               kill_sender cli)
	add_test(NAME vm_${_ivs_s}
	         COMMAND ${SHMLINK_BASH} ${PROJECT_SOURCE_DIR}/tests/vm/run.sh ${_ivs_s})
	set_tests_properties(vm_${_ivs_s} PROPERTIES
		LABELS vm TIMEOUT 300 FIXTURES_REQUIRED shmlink_vm SKIP_RETURN_CODE 77
		RESOURCE_LOCK shmlink_vm PROCESSORS 2 ENVIRONMENT "${_ivs_vm_env}")
endforeach()
