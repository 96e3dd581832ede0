# Packaging of the self-contained bootstrap (issue 6; docs/packaging.md).
#   function_zip         builds <build>/function.zip via scripts/package: a musl superbuild
#                        (packaging/CMakeLists.txt) with static HTTP-only libcurl, zlib and cJSON
#   lr_coldstart_probe   the spawn -> first GET /next timer used by scripts/coldstart-bench
# The superbuild configures this same project again with LR_PACKAGE_INNER=ON, which skips this file.
if(LR_PACKAGE_INNER)
  return()
endif()

add_custom_target(function_zip
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/package --build-dir ${PROJECT_BINARY_DIR}
  COMMENT "Building the static bootstrap and ${PROJECT_BINARY_DIR}/function.zip"
  USES_TERMINAL VERBATIM)

add_executable(lr_coldstart_probe ${PROJECT_SOURCE_DIR}/packaging/coldstart_probe.c)
lr_strict_warnings(lr_coldstart_probe)
