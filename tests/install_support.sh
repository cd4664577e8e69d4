# Sourced by the install tests (install_test.sh, plugin_install_test.sh): install this build into a
# temporary prefix and build an out-of-tree example against the installed package only.

# install_into_prefix BUILD_DIR NAME: a fresh temporary directory ($work, removed on exit) holding
# the installed prefix ($prefix).
install_into_prefix() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/metaevo-$2.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  prefix=$work/prefix
  cmake --install "$1" --prefix "$prefix" >/dev/null
}

# build_example_against_prefix EXAMPLE_DIR FLAGS LINKER_FLAGS_VARIABLE: configures and builds the
# example in $work/example with warnings as errors; FLAGS (the sanitizer build's -fsanitize=...)
# go to its compile flags and to the given CMake linker-flags variable.
build_example_against_prefix() {
  # CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF: only the prefix may provide metaevo, never a registered build tree.
  cmake -S "$1" -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DCMAKE_CXX_FLAGS="$2" -D"$3"="$2" >/dev/null
  grep -q "^metaevo_DIR:PATH=$prefix/" "$work/example/CMakeCache.txt" || {
    echo "metaevo was not found in the install prefix $prefix:" >&2
    grep '^metaevo_DIR' "$work/example/CMakeCache.txt" >&2
    exit 1
  }
  cmake --build "$work/example" >/dev/null
}
