# libscivec.so beside libscivec.a, and `cmake --install`: the public header,
# both libraries, the CLI, a pkg-config file and a CMake package config.
# The shared library is the static one linked whole (one compilation of
# src/, which is therefore position-independent), exporting scivec_* only.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# -fPIC alone lets the compiler assume any global function may be
# interposed at load time, so it stops inlining them within a file; nobody
# interposes libscivec's internals (the .so hides them), so keep the
# optimisations of the non-PIC build. The forward's per-ISA objects are
# part of the library too.
foreach(target scivec_lib scivec_kernels_generic scivec_kernels_avx2 scivec_kernels_avx512)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE -fno-semantic-interposition)
endforeach()

# A 0.x version promises no stable ABI between minor versions: the soname
# carries MAJOR.MINOR until 1.0, MAJOR afterwards.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(SCIVEC_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(SCIVEC_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

file(WRITE ${CMAKE_BINARY_DIR}/scivec_shared.c
     "/* libscivec.so: every object comes from libscivec.a (whole archive). */\n")
add_library(scivec_shared SHARED ${CMAKE_BINARY_DIR}/scivec_shared.c)
target_link_libraries(scivec_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,scivec_lib>")
target_include_directories(scivec_shared PUBLIC
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_options(scivec_shared PRIVATE
  "LINKER:--version-script=${CMAKE_SOURCE_DIR}/cmake/libscivec.map" "LINKER:--no-undefined")
set_target_properties(scivec_shared PROPERTIES
  OUTPUT_NAME scivec VERSION ${PROJECT_VERSION} SOVERSION ${SCIVEC_SOVERSION}
  LINKER_LANGUAGE CXX
  LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/libscivec.map)

# What libscivec.a needs, said once for scivec.pc and scivecConfig.cmake:
# the pkg-config modules CMakeLists.txt finds, then the plain libraries.
set(SCIVEC_PC_REQUIRES "libutf8proc libcjson sqlite3 libzip libcurl libcrypto")
set(SCIVEC_PC_LIBS_PRIVATE "-lfaiss -ldnnl -lblis -llapack -lcsv -lgomp -lstdc++ -lm -lpthread")
file(RELATIVE_PATH SCIVEC_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_SOURCE_DIR}/cmake/scivec.pc.in ${CMAKE_BINARY_DIR}/scivec.pc @ONLY)

set(SCIVEC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/scivec)
file(RELATIVE_PATH SCIVEC_CONFIG_TO_PREFIX /prefix/${SCIVEC_CMAKE_DIR} /prefix)
configure_file(${CMAKE_SOURCE_DIR}/cmake/scivecConfig.cmake.in
               ${CMAKE_BINARY_DIR}/scivecConfig.cmake @ONLY)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/scivecConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)

install(TARGETS scivec_lib ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS scivec_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS scivec RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/scivec.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/scivec.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${CMAKE_BINARY_DIR}/scivecConfig.cmake ${CMAKE_BINARY_DIR}/scivecConfigVersion.cmake
        DESTINATION ${SCIVEC_CMAKE_DIR})
