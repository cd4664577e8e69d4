#!/usr/bin/env bash
# ctest `install.evaluate_plot`: `metaevo evaluate --plot` of an installed metaevo runs the installed
# plot_evaluation.py (share/metaevo/scripts/), found from the command's own path, also after the
# prefix is moved; not the source tree's.
#   install_plot_test.sh BUILD_DIR
set -euo pipefail
build_dir=$1
source "$(dirname "$0")/install_support.sh"
install_into_prefix "$build_dir" install-plot
if ! /usr/bin/python3 -c 'import matplotlib, h5py, numpy' 2>/dev/null; then
  echo "python3-matplotlib or python3-h5py is not installed" >&2
  exit 77  # skipped: without them the command draws no plot, by design
fi
moved=$work/moved-prefix
mv "$prefix" "$moved"
scripts=$moved/share/metaevo/scripts
for script in plot_evaluation.py plot_run.py read_run.py; do
  [[ -x $scripts/$script ]] || { echo "not installed: $scripts/$script" >&2; exit 1; }
done

cat >"$work/run.toml" <<'TOML'
[run]
seed = 5
generations = 2
[ga]
population_size = 4
elite_count = 1
tournament_size = 2
[evaluation]
tasks_per_evaluation = 1
inner_steps = 10
holdout_tasks = 0
validation_tasks = 0
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.3 }
[[tasks]]
family = "quadratic"
dimension = 4
TOML
metaevo=$moved/bin/metaevo
"$metaevo" run -q "$work/run.toml" --out "$work/run.h5" >/dev/null

# The installed script draws the plot (it imports the installed read_run.py).
"$metaevo" evaluate "$work/run.h5" --seeds 2 --tuning-tasks 1 --plot "$work/real.png" >"$work/real.log" 2>&1 ||
  { cat "$work/real.log" >&2; exit 1; }
[[ $(stat -c %s "$work/real.png") -gt 10000 ]] || { echo "no PNG drawn" >&2; cat "$work/real.log" >&2; exit 1; }

# And it is the installed one that runs: a stand-in there writes a marker instead of a PNG.
printf '%s\n' '#!/usr/bin/python3' 'import sys' \
  'open(sys.argv[sys.argv.index("--out") + 1], "w").write("installed script\n")' >"$scripts/plot_evaluation.py"
"$metaevo" evaluate "$work/run.h5" --seeds 2 --tuning-tasks 1 --plot "$work/marker.png" >"$work/marker.log" 2>&1 ||
  { cat "$work/marker.log" >&2; exit 1; }
[[ $(cat "$work/marker.png") == "installed script" ]] ||
  { echo "evaluate --plot did not run the installed script" >&2; cat "$work/marker.log" >&2; exit 1; }

# Without it, the command says where it looked and still succeeds (the results are stored).
rm "$scripts/plot_evaluation.py"
echo "no plot script: fall back to the source tree's"
"$metaevo" evaluate "$work/run.h5" --seeds 2 --tuning-tasks 1 --plot "$work/fallback.png" >"$work/fallback.log" 2>&1 ||
  { cat "$work/fallback.log" >&2; exit 1; }
[[ $(stat -c %s "$work/fallback.png") -gt 10000 ]] || { cat "$work/fallback.log" >&2; exit 1; }
echo "install.evaluate_plot: installed scripts found from a moved prefix"
