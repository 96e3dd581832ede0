# Packaging of the self-contained bootstrap (issue 6; docs/packaging.md).
#   function_zip   builds <build>/function.zip via scripts/package: a musl superbuild
#                  (packaging/CMakeLists.txt) with static libcurl (HTTPS over mbedTLS), zlib and cJSON
# The superbuild configures this same project again with LR_PACKAGE_INNER=ON, which skips this file.
# The cold-start probe is a benchmark program: bench/CMakeLists.txt (LR_BUILD_BENCH).
if(LR_PACKAGE_INNER)
  return()
endif()

add_custom_target(function_zip
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/package --build-dir ${PROJECT_BINARY_DIR}
  COMMENT "Building the static bootstrap and ${PROJECT_BINARY_DIR}/function.zip"
  USES_TERMINAL VERBATIM)
