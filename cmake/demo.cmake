# SPDX-License-Identifier: MIT
# The kill-and-restart demo (examples/demo/) as a static library: the thin
# example program shmlink_demo (`make demo`, `make soak`, test_kill_restart)
# and the CLI's `shmlink demo` both link it, so there is one demo.
add_library(shmlink_demo_lib STATIC ${PROJECT_SOURCE_DIR}/examples/demo/demo.c)
target_include_directories(shmlink_demo_lib PUBLIC ${PROJECT_SOURCE_DIR}/examples/demo)
target_link_libraries(shmlink_demo_lib PUBLIC ${SHMLINK_LIBS})
foreach(t shmlink_demo shmlink_cli)
	if(TARGET ${t})
		target_link_libraries(${t} PRIVATE shmlink_demo_lib)
	endif()
endforeach()
