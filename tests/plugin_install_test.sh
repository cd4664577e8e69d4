#!/usr/bin/env bash
# ctest `install.plugin_example`: installs this build of metaevo into a temporary prefix, builds
# experiments/plugin_example against the installed package (find_package(metaevo), nothing from the
# source or build tree), runs the installed command with the plugin under mpirun with 3 ranks (every
# rank loads it) and checks the run file: the generations and the recorded plugin with its SHA-256.
#   plugin_install_test.sh BUILD_DIR SOURCE_DIR [FLAGS]
# FLAGS (one argument): added to the plugin's compile and link flags (the sanitizer build's).
set -euo pipefail
build_dir=$1
source_dir=$2
flags=${3:-}
source "$(dirname "$0")/install_support.sh"
install_into_prefix "$build_dir" plugin-test
test -f "$prefix/include/metaevo/core/plugin.hpp"

example=$source_dir/experiments/plugin_example
build_example_against_prefix "$example" "$flags" CMAKE_MODULE_LINKER_FLAGS
plugin=$work/example/libmetaevo_plugin_example.so
test -f "$plugin"

"$prefix/bin/metaevo" check "$example/example.toml" --plugin "$plugin"
timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 "$prefix/bin/metaevo" run "$example/example.toml" \
  --plugin "$plugin" --quiet --generations 2 --out "$work/example.h5"

# The run file: 2 generations, and the plugin's path and SHA-256.
inspect=$("$prefix/bin/metaevo" inspect "$work/example.h5")
echo "$inspect"
sha=$(sha256sum "$plugin" | cut -d' ' -f1)
grep -qF "$plugin  sha256 $sha" <<<"$inspect" || { echo "the run file does not record $plugin with SHA-256 $sha" >&2; exit 1; }
grep -Eq "^progress *: 2 of 2" <<<"$inspect" || { echo "expected 2 of 2 generations in the run file" >&2; exit 1; }
echo "plugin example: ok"
