# Keep the docs true: the worked example in docs/PROTOCOL.md is the real
# output of examples/worked_example.c.
if(TARGET worked_example)
	add_test(NAME docs_worked_example
	         COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:worked_example>
	                 -DDOC=${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md
	                 -P ${PROJECT_SOURCE_DIR}/cmake/check_worked_example.cmake.script)
	set_tests_properties(docs_worked_example PROPERTIES LABELS docs TIMEOUT 60)
endif()

# The code follows .clang-format (`make format` applies it). Only in the plain
# tree: the sanitizer trees would check the same files again.
find_program(SHMLINK_CLANG_FORMAT clang-format)
if(SHMLINK_CLANG_FORMAT AND SHMLINK_SANITIZE STREQUAL "")
	add_test(NAME style_clang_format
	         COMMAND sh -c "find include src tests examples tools bench -name '*.[ch]' | xargs '${SHMLINK_CLANG_FORMAT}' --dry-run --Werror"
	         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
	set_tests_properties(style_clang_format PROPERTIES LABELS docs TIMEOUT 120)
endif()
