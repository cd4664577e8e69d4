# `cmake --install`: the metaevo command, the shared library, the public headers (include/metaevo/),
# the run-file scripts (share/metaevo/scripts/) and a CMake package, so that another project's
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
# The scripts that read and plot a run file; `metaevo evaluate --plot` runs the installed
# plot_evaluation.py (found from the command's own path, so the prefix can be moved).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/plot_evaluation.py ${PROJECT_SOURCE_DIR}/scripts/plot_run.py
  ${PROJECT_SOURCE_DIR}/scripts/read_run.py DESTINATION ${METAEVO_INSTALL_SCRIPTS_DIR})

install(EXPORT metaevoTargets NAMESPACE metaevo:: DESTINATION ${METAEVO_PACKAGE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/metaevoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/metaevoConfig.cmake INSTALL_DESTINATION ${METAEVO_PACKAGE_DIR})
# Before 1.0 a new minor version may break the API: only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/metaevoConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/metaevoConfig.cmake ${PROJECT_BINARY_DIR}/cmake/metaevoConfigVersion.cmake
  DESTINATION ${METAEVO_PACKAGE_DIR})
