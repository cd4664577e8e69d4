#!/usr/bin/env bash
# ctest `install.use_evolved_rule`: installs this build of metaevo into a temporary prefix, builds
# experiments/use_evolved_rule against the installed package (find_package(metaevo), nothing from
# the source or build tree), and runs it on the example rule: its exit status says whether the loss
# fell. Also runs the installed command, which must find the installed library.
#   install_test.sh BUILD_DIR SOURCE_DIR [FLAGS]
# FLAGS (one argument) are added to the example's compile and link flags: the sanitizer build's
# -fsanitize=..., without which a program cannot load the sanitized library.
set -euo pipefail
build_dir=$1
source_dir=$2
flags=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/metaevo-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
"$prefix/bin/metaevo" --version

example=$source_dir/experiments/use_evolved_rule
# CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF: only the prefix may provide metaevo, never a registered build tree.
cmake -S "$example" -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
grep -q "^metaevo_DIR:PATH=$prefix/" "$work/example/CMakeCache.txt" || {
  echo "metaevo was not found in the install prefix $prefix:" >&2
  grep '^metaevo_DIR' "$work/example/CMakeCache.txt" >&2
  exit 1
}
cmake --build "$work/example" >/dev/null
"$work/example/use_evolved_rule" "$example/evolved_rule.json"
