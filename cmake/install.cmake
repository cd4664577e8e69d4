# `cmake --install`: the metaevo command, the shared library, the public headers (include/metaevo/)
# and a CMake package, so that another project's
#   find_package(metaevo CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE metaevo::metaevo)
# builds against the installed copy (docs/installing.md).
include(CMakePackageConfigHelpers)

set(METAEVO_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/metaevo)

install(TARGETS metaevo_core EXPORT metaevoTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS metaevo_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/metaevo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT metaevoTargets NAMESPACE metaevo:: DESTINATION ${METAEVO_PACKAGE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/metaevoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/metaevoConfig.cmake INSTALL_DESTINATION ${METAEVO_PACKAGE_DIR})
# Before 1.0 a new minor version may break the API: only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/metaevoConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/metaevoConfig.cmake ${PROJECT_BINARY_DIR}/cmake/metaevoConfigVersion.cmake
  DESTINATION ${METAEVO_PACKAGE_DIR})
