# SPDX-License-Identifier: MIT
# Model checking (docs/RELIABILITY.md, "Model checking"). Spin verifies the
# Promela model of the protocol, model/shmlink.pml. The runs are listed once,
# in model/check.sh; ctest runs its "bounded" and "mutant" sets, one test per
# entry (label "model"), each in <build>/model/<name>/ (a violation leaves
# its trail there). `make model` runs the larger "full" set too (mk/model.mk).
#   model_notify, model_restart   exhaustive, small bounds: must pass
#   model_mutant_*                deliberately broken variants: must fail
#                                 (torn_snapshot and v2_finals: protocol v2,
#                                 the counterexamples of docs/RELIABILITY.md)
# Without spin (Debian package spin, scripts/deps.d/model.list) the tests
# report "skipped".
#
# Only in the tree without SHMLINK_SANITIZE: the model does not depend on
# how the core is compiled, and the sanitizer trees would only repeat it.
if(NOT SHMLINK_SANITIZE STREQUAL "")
	return()
endif()

execute_process(
	COMMAND sh ${PROJECT_SOURCE_DIR}/model/check.sh list bounded mutant
	OUTPUT_VARIABLE SHMLINK_MODEL_RUNS
	OUTPUT_STRIP_TRAILING_WHITESPACE
	RESULT_VARIABLE SHMLINK_MODEL_LIST_RC)
if(NOT SHMLINK_MODEL_LIST_RC EQUAL 0)
	message(WARNING "model/check.sh list failed: no model-checking tests")
	return()
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
	${PROJECT_SOURCE_DIR}/model/check.sh)

string(REPLACE "\n" ";" SHMLINK_MODEL_RUNS "${SHMLINK_MODEL_RUNS}")
foreach(run ${SHMLINK_MODEL_RUNS})
	add_test(NAME model_${run}
		COMMAND sh ${PROJECT_SOURCE_DIR}/model/check.sh one ${run} ${CMAKE_BINARY_DIR}/model)
	set_tests_properties(model_${run} PROPERTIES
		LABELS model
		SKIP_RETURN_CODE 77
		TIMEOUT 600)
endforeach()
