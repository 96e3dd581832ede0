# Finds libcurl, cJSON and zlib the CMake way.
# cJSON: Debian's libcjson-dev ships a CMake config; where the system has none (e.g. Amazon
# Linux), a pinned, checksum-verified release is fetched and built statically.
find_package(CURL REQUIRED)
find_package(ZLIB REQUIRED)

find_package(cJSON CONFIG QUIET)
if(cJSON_FOUND AND NOT TARGET lr_cjson)
  add_library(lr_cjson INTERFACE)
  # Debian's config exports the plain target name "cjson" and CJSON_INCLUDE_DIRS.
  target_link_libraries(lr_cjson INTERFACE cjson)
  target_include_directories(lr_cjson INTERFACE ${CJSON_INCLUDE_DIRS})
elseif(NOT TARGET lr_cjson)
  include(FetchContent)
  FetchContent_Declare(cjson_src
    URL https://github.com/DaveGamble/cJSON/archive/refs/tags/v1.7.18.tar.gz
    URL_HASH SHA256=3aa806844a03442c00769b83e99970be70fbef03735ff898f4811dd03b9f5ee5)
  FetchContent_GetProperties(cjson_src)
  if(NOT cjson_src_POPULATED)
    FetchContent_Populate(cjson_src)
  endif()
  add_library(lr_cjson_static STATIC ${cjson_src_SOURCE_DIR}/cJSON.c)
  target_include_directories(lr_cjson_static PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_BINARY_DIR}/cjson_inc>)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/cjson_inc/cjson)
  file(COPY ${cjson_src_SOURCE_DIR}/cJSON.h DESTINATION ${CMAKE_CURRENT_BINARY_DIR}/cjson_inc/cjson)
  add_library(lr_cjson INTERFACE)
  target_link_libraries(lr_cjson INTERFACE lr_cjson_static)
endif()
