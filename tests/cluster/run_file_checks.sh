# Checks on run files shared by the cluster tests. Source it.

# The datasets of a generational run that must not depend on where, when or in how many sessions it
# ran: the same list as deterministic_datasets() in tests/test_support.hpp (a unit test checks).
run_file_deterministic_datasets=(
  /generations/genes /generations/step_size /generations/genome_id /generations/parent_a
  /generations/parent_b /generations/fitness /generations/mean_final_loss /generations/inner_steps
  /generations/diverged /generations/failed /generations/reason /best/genes
  /generations/task_score /generations/task_final_loss /generations/task_family
)

# A run is RUN.h5 and its segment directory RUN.h5.segments (docs/hdf5-schema.md): the rows of
# /generations live in the segments, the committed count in the root.

# run_file_generations RUN.h5: prints the number of generations committed in RUN.h5.
run_file_generations() {
  h5dump -a /generations/completed_generations "$1" 2>/dev/null | grep -o '(0): [0-9]*' | grep -o '[0-9]*$'
}

# run_file_flatten RUN.h5 OUT.h5: the run as one file with whole datasets (scripts/read_run.py, h5py).
run_file_flatten() {
  /usr/bin/python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/read_run.py" "$1" --flatten "$2"
}

# run_files_identical A.h5 B.h5: true when every deterministic dataset is bit-identical (h5diff of the
# flattened runs); otherwise prints the first differing dataset and h5diff's first lines and returns 1.
run_files_identical() {
  local dataset report flat_a flat_b status=0
  flat_a=$(mktemp --suffix=.h5) && flat_b=$(mktemp --suffix=.h5) || return 1
  if ! report=$(run_file_flatten "$1" "$flat_a" 2>&1 && run_file_flatten "$2" "$flat_b" 2>&1); then
    echo "cannot flatten $(basename "$1") or $(basename "$2"): $(head -n 5 <<<"$report")"
    rm -f "$flat_a" "$flat_b"
    return 1
  fi
  for dataset in "${run_file_deterministic_datasets[@]}"; do
    if ! report=$(h5diff "$flat_a" "$flat_b" "$dataset" "$dataset" 2>&1); then
      echo "$(basename "$1") differs from $(basename "$2") in $dataset: $(head -n 5 <<<"$report")"
      status=1
      break
    fi
  done
  rm -f "$flat_a" "$flat_b"
  return $status
}
