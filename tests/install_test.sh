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
source "$(dirname "$0")/install_support.sh"
install_into_prefix "$build_dir" install-test
"$prefix/bin/metaevo" --version

example=$source_dir/experiments/use_evolved_rule
build_example_against_prefix "$example" "$flags" CMAKE_EXE_LINKER_FLAGS
"$work/example/use_evolved_rule" "$example/evolved_rule.json"
