# Checks on run files shared by the cluster tests. Source it.

# The datasets of a generational run that must not depend on where, when or in how many sessions it
# ran: the same list as deterministic_datasets() in tests/test_support.hpp (a unit test checks).
run_file_deterministic_datasets=(
  /generations/genes /generations/step_size /generations/genome_id /generations/parent_a
  /generations/parent_b /generations/fitness /generations/mean_final_loss /generations/inner_steps
  /generations/diverged /generations/failed /generations/reason /best/genes
  /generations/task_score /generations/task_final_loss /generations/task_family
)

# run_file_generations RUN.h5: prints the number of generations stored in RUN.h5.
run_file_generations() {
  h5dump -H -d /generations/fitness "$1" 2>/dev/null | grep -o 'DATASPACE  SIMPLE { ( [0-9]*' | grep -o '[0-9]*$'
}

# run_files_identical A.h5 B.h5: true when every deterministic dataset is bit-identical (h5diff);
# otherwise prints the first differing dataset and h5diff's first lines and returns 1.
run_files_identical() {
  local dataset report
  for dataset in "${run_file_deterministic_datasets[@]}"; do
    if ! report=$(h5diff "$1" "$2" "$dataset" "$dataset" 2>&1); then
      echo "$(basename "$1") differs from $(basename "$2") in $dataset: $(head -n 5 <<<"$report")"
      return 1
    fi
  done
}
