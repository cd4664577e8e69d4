# ctest `public_headers`: the installed headers need nothing but the standard library, Eigen and
# each other. For every header under INCLUDE_DIR/metaevo it lists what the header includes,
# transitively (the compiler's -M), with only INCLUDE_DIR and Eigen on the include path, and fails
# when that names a Boost, MPI, HDF5, toml++, nlohmann-json or CLI11 file; then it compiles all of
# them in one translation unit with the project's warnings as errors. Boost, toml++ and nlohmann
# sit in /usr/include, so a narrow include path alone would not catch them: the file list does.
#   cmake -DCXX=... -DINCLUDE_DIR=... -DEIGEN_INCLUDE_DIRS=DIR[|DIR...] -DWORK_DIR=... -P public_headers_check.cmake
foreach(required CXX INCLUDE_DIR EIGEN_INCLUDE_DIRS WORK_DIR)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "public_headers_check.cmake: -D${required}=... is required")
  endif()
endforeach()

set(forbidden_dependency_pattern "/boost/|/openmpi/|/mpi\\.h|/hdf5|/H5[A-Za-z]*\\.h|/toml\\+\\+/|/nlohmann/|/CLI/")
set(compile_flags -std=c++20 -I${INCLUDE_DIR})
string(REPLACE "|" ";" EIGEN_INCLUDE_DIRS "${EIGEN_INCLUDE_DIRS}")  # tests/CMakeLists.txt joins them with |
foreach(dir IN LISTS EIGEN_INCLUDE_DIRS)
  list(APPEND compile_flags -isystem ${dir})  # Eigen's own warnings are not ours
endforeach()
file(MAKE_DIRECTORY ${WORK_DIR})

# The forbidden dependencies among what `header_line` (an #include line) pulls in, or the
# compiler's error when it does not preprocess with this include path.
function(forbidden_dependencies header_line result_variable)
  set(source ${WORK_DIR}/dependencies.cpp)
  file(WRITE ${source} "${header_line}\n")
  execute_process(COMMAND ${CXX} ${compile_flags} -M ${source}
    RESULT_VARIABLE status OUTPUT_VARIABLE dependencies ERROR_VARIABLE errors)
  if(NOT status EQUAL 0)
    set(${result_variable} "does not preprocess with only Eigen and ${INCLUDE_DIR} on the include path:\n${errors}"
      PARENT_SCOPE)
    return()
  endif()
  string(REGEX REPLACE "[ \\\\\n]+" ";" dependencies "${dependencies}")
  set(found "")
  foreach(file IN LISTS dependencies)
    if(file MATCHES "${forbidden_dependency_pattern}")
      list(APPEND found ${file})
    endif()
  endforeach()
  # The first file is the forbidden include itself; the rest are what it pulls in.
  list(LENGTH found count)
  if(count GREATER 0)
    list(GET found 0 first)
    set(found "${first} (${count} such files in all)")
  endif()
  set(${result_variable} "${found}" PARENT_SCOPE)
endfunction()

# The check itself must see a Boost include, or it proves nothing.
forbidden_dependencies("#include <boost/version.hpp>" self_test)
if(self_test STREQUAL "")
  message(FATAL_ERROR "public_headers_check.cmake does not detect <boost/version.hpp>: the check is broken")
endif()

file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/metaevo/*.hpp)
list(SORT headers)
if(headers STREQUAL "")
  message(FATAL_ERROR "no headers under ${INCLUDE_DIR}/metaevo")
endif()
set(failures "")
set(all_headers "")
foreach(header IN LISTS headers)
  forbidden_dependencies("#include \"${header}\"" found)
  if(NOT found STREQUAL "")
    string(APPEND failures "${header} includes, directly or through another header:\n  ${found}\n")
  endif()
  string(APPEND all_headers "#include \"${header}\"\n")
endforeach()
if(NOT failures STREQUAL "")
  message(FATAL_ERROR "public headers must need only the standard library, Eigen and metaevo headers "
    "(docs/installing.md); move the rest into src/:\n${failures}")
endif()

file(WRITE ${WORK_DIR}/all_public_headers.cpp "${all_headers}")
execute_process(COMMAND ${CXX} ${compile_flags} -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Werror -fsyntax-only ${WORK_DIR}/all_public_headers.cpp
  RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the public headers do not compile on their own with only Eigen on the include path:\n${errors}")
endif()
list(LENGTH headers count)
message(STATUS "${count} public headers: standard library, Eigen and metaevo only")
