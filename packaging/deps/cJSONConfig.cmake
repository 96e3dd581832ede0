# Installed next to the static libcjson.a built by packaging/deps; mirrors the names Debian's
# cJSONConfig.cmake provides (target `cjson`, CJSON_INCLUDE_DIRS), which cmake/LrDependencies.cmake uses.
get_filename_component(_lr_cjson_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET cjson)
  add_library(cjson STATIC IMPORTED)
  set_target_properties(cjson PROPERTIES
    IMPORTED_LOCATION "${_lr_cjson_prefix}/lib/libcjson.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_lr_cjson_prefix}/include")
endif()
set(CJSON_INCLUDE_DIRS "${_lr_cjson_prefix}/include")
set(CJSON_INCLUDE_DIR "${_lr_cjson_prefix}/include")
set(CJSON_LIBRARY cjson)
set(CJSON_LIBRARIES cjson)
set(cJSON_FOUND TRUE)
