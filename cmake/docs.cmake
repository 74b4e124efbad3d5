# Keep the docs true: the worked example in docs/PROTOCOL.md is the real
# output of examples/worked_example.c.
if(TARGET worked_example)
	add_test(NAME docs_worked_example
	         COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:worked_example>
	                 -DDOC=${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md
	                 -P ${PROJECT_SOURCE_DIR}/cmake/check_worked_example.cmake.script)
	set_tests_properties(docs_worked_example PROPERTIES LABELS docs TIMEOUT 60)
endif()
