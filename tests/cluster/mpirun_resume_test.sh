#!/usr/bin/env bash
# Shell-level test of cluster/mpirun/metaevo-mpirun.sh (plain mpirun with a hostfile):
#   1. first start: no run file, so it starts the run under mpirun with the hostfile; SIGTERM to the
#      script is passed on as SIGUSR1, metaevo checkpoints and the script exits 75;
#   2. the same command again resumes from the checkpoint and completes, bit-identical to an
#      uninterrupted run with another rank count;
#   3. a missing argument exits 2 with the usage.
# usage: mpirun_resume_test.sh METAEVO_BINARY
set -uo pipefail
if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 METAEVO_BINARY" >&2
  exit 2
fi
metaevo=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
source_root=$(cd "$(dirname "$0")/../.." && pwd)
mpirun_script=$source_root/cluster/mpirun/metaevo-mpirun.sh
# shellcheck source=SCRIPTDIR/run_file_checks.sh
source "$source_root/tests/cluster/run_file_checks.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/metaevo-mpirun-test.XXXXXX")
started=$SECONDS
log() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
job_pid=
cleanup() {
  local status=$?
  [[ -n $job_pid ]] && kill "$job_pid" 2>/dev/null
  if [[ $status -ne 0 ]]; then log "FAILED; files kept in $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
fail() {
  log "FAIL: $*"
  [[ -f $work/job.log ]] && { echo "---- job.log"; tail -n 30 "$work/job.log"; }
  exit 1
}

cd "$work" || exit 1
# 8 generations of 4 genomes; an evaluation sleeps 10 x 0.05 s, so with 2 workers a generation takes
# about 1 s.
cat > search.toml <<'CONF'
[run]
seed = 9
generations = 8

[ga]
population_size = 4
elite_count = 1

[evaluation]
tasks_per_evaluation = 1
inner_steps = 10
holdout_tasks = 0

[update_rule]
family = "momentum"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }

[[tasks]]
family = "synthetic"
dimension = 3
step_sleep_seconds = 0.05
CONF
echo 'localhost slots=8' > hosts
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -np 5 "$metaevo" run search.toml --out reference.h5 --quiet >reference.log 2>&1 &
reference_pid=$!

export METAEVO=$metaevo METAEVO_HOSTFILE=$work/hosts METAEVO_RANKS=3

# 1. Start, then SIGTERM after the second generation.
"$mpirun_script" search.toml run.h5 >job.log 2>&1 &
job_pid=$!
deadline=$((SECONDS + 60))
until grep -q '^gen    2/8' job.log 2>/dev/null; do
  ((SECONDS > deadline)) && fail "1: no second generation after 60 s"
  sleep 0.2
done
kill -TERM "$job_pid"
wait "$job_pid"
status=$?
job_pid=
[[ $status -eq 75 ]] || fail "1: exited $status after SIGTERM, expected 75"
grep -q 'does not exist, starting the run' job.log || fail "1: did not decide to start the run"
grep -q -- "mpirun --hostfile $work/hosts -np 3" job.log || fail "1: mpirun not given the hostfile and 3 ranks"
grep -q 'received SIGTERM; asking metaevo to checkpoint and stop' job.log || fail "1: SIGTERM not forwarded"
first=$(run_file_generations run.h5)
[[ -n $first && $first -ge 2 && $first -lt 8 ]] || fail "1: unexpected generation count '$first'"
log "1. started, stopped by SIGTERM: exit 75, $first generations checkpointed"

# 2. The same command again continues and completes.
"$mpirun_script" search.toml run.h5 >job.log 2>&1
status=$?
[[ $status -eq 0 ]] || fail "2: exited $status, expected 0"
grep -q "resuming run.h5 at generation $first of 8" job.log || fail "2: did not resume at generation $first"
wait "$reference_pid" || fail "the reference run failed: $(cat reference.log)"
difference=$(run_files_identical run.h5 reference.h5) || fail "2: $difference"
log "2. the same command resumed at generation $first and completed: bit-identical to the uninterrupted run"

# 3. A missing argument.
"$mpirun_script" search.toml >job.log 2>&1
status=$?
[[ $status -eq 2 ]] && grep -q '^usage:' job.log || fail "3: exited $status without the usage, expected 2"
log "3. a missing argument exits 2 with the usage"
log "PASS"
