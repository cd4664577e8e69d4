#!/usr/bin/env bash
# Real-Slurm test of cluster/slurm/metaevo.sbatch: starts a private single-node Slurm (munged,
# slurmctld, slurmd from a temporary directory, stopped by PID at the end, also on failure) and runs
#   A. requeue: a 3-rank job is requeued mid-run with `scontrol requeue`; the requeued job must resume
#      from its checkpoint (restart count 1, "resuming ... at generation G" with G > 0) and end
#      bit-identical to an uninterrupted run;
#   B. time limit: a job with --time=1 gets SIGTERM from --signal=B:TERM@30, checkpoints and exits 75;
#      a resubmission (with more ranks) completes it, bit-identical to an uninterrupted run.
# Both cases run at the same time (a requeued job waits ~2 minutes before it is eligible again).
# Exit status 77 (skipped) with the reason when Slurm cannot run here (not root); a Slurm that should
# start and does not is a failure.
#
# usage: slurm_requeue_test.sh METAEVO_BINARY
set -uo pipefail
if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 METAEVO_BINARY" >&2
  exit 2
fi
metaevo=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
source_root=$(cd "$(dirname "$0")/../.." && pwd)
sbatch_script=$source_root/cluster/slurm/metaevo.sbatch
# shellcheck source=SCRIPTDIR/slurm_env.sh
source "$source_root/tests/cluster/slurm_env.sh"
# shellcheck source=SCRIPTDIR/run_file_checks.sh
source "$source_root/tests/cluster/run_file_checks.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/metaevo-slurm-test.XXXXXX")
reference_pids=()
started=$SECONDS

log() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n ${SLURM_CONF:-} ]]; then slurm_env_cancel_all 45 || log "jobs still listed after scancel"; fi
  local pid
  for pid in "${reference_pids[@]}"; do kill "$pid" 2>/dev/null; done
  slurm_env_stop
  for pid in $(slurm_env_leftover_pids "$work"); do kill -KILL "$pid" 2>/dev/null; done
  if [[ $status -ne 0 && $status -ne 77 ]]; then
    log "FAILED; logs kept in $work"
    local file
    for file in "$work"/jobs/*.out "$work"/log/slurmctld.log; do
      [[ -f $file ]] || continue
      echo "---- $file (last 40 lines)"
      tail -n 40 "$file"
    done
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  log "FAIL: $*"
  exit 1
}

slurm_env_start "$work/slurm"
status=$?
if [[ $status -eq 77 ]]; then
  echo "SKIPPED: cannot run a private Slurm here: $slurm_env_skip_reason"
  exit 77
elif [[ $status -ne 0 ]]; then
  fail "starting Slurm failed ($status)"
fi
log "Slurm is up"

jobs=$work/jobs
mkdir -p "$jobs"
# A slow synthetic search: every evaluation sleeps 2 x 20 x 0.05 s = 2 s, so with 2 workers a
# generation of 8 takes about 8 s (sleeping costs no CPU, so many ranks fit on 2 cores).
write_config() {  # write_config FILE GENERATIONS SEED
  cat > "$1" <<CONF
[run]
seed = $3
generations = $2

[ga]
population_size = 8
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 0
validation_tasks = 0   # the test times requeues of sleeping tasks; validation would add 16 s a generation

[update_rule]
family = "sgd"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }

[[tasks]]
family = "synthetic"
dimension = 4
step_sleep_seconds = 0.05
CONF
}
write_config "$jobs/requeue.toml" 8 11
write_config "$jobs/timelimit.toml" 12 12

export METAEVO=$metaevo METAEVO_HOME=$source_root
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
job_field() { scontrol show job "$1" 2>/dev/null | grep -o "$2=[^ ]*" | head -n 1 | cut -d= -f2; }
wait_for_state() {  # wait_for_state JOB SECONDS STATE...
  local job=$1 deadline=$((SECONDS + $2)) state
  shift 2
  while ((SECONDS <= deadline)); do
    state=$(job_state "$job")
    for wanted in "$@"; do [[ $state == "$wanted" ]] && return 0; done
    sleep 1
  done
  log "job $job is $state after waiting for $*"
  return 1
}

cd "$jobs" || fail "cannot enter $jobs"
# Case A: submit, let it checkpoint two generations, requeue it.
requeue_job=$(sbatch --parsable --ntasks=3 --time=15 --output="$jobs/requeue-%j.out" "$sbatch_script" requeue.toml requeue.h5) ||
  fail "sbatch of the requeue case failed"
log "case A: job $requeue_job submitted (3 ranks)"
# Case B: 12 generations (about 100 s) against a 1-minute limit with the signal 30 s before it.
timelimit_job=$(sbatch --parsable --ntasks=3 --time=1 --signal=B:TERM@30 --output="$jobs/timelimit-%j.out" \
  "$sbatch_script" timelimit.toml timelimit.h5) || fail "sbatch of the time-limit case failed"
log "case B: job $timelimit_job submitted (3 ranks, --time=1 --signal=B:TERM@30)"

# The uninterrupted references, meanwhile, outside Slurm with 9 oversubscribed ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for name in requeue timelimit; do
  env -u SLURM_CONF mpirun --oversubscribe -np 9 "$metaevo" run "$name.toml" --out "reference-$name.h5" --quiet \
    >"reference-$name.log" 2>&1 &
  reference_pids+=($!)
  echo "$!" >>"$work/slurm/extra.pids"
done

wait_for_state "$requeue_job" 60 RUNNING || fail "case A: job $requeue_job did not start"
requeue_log=$jobs/requeue-$requeue_job.out
deadline=$((SECONDS + 90))
until grep -q '^gen    2/8' "$requeue_log" 2>/dev/null; do
  ((SECONDS > deadline)) && fail "case A: no second generation in $requeue_log after 90 s"
  sleep 1
done
scontrol requeue "$requeue_job" || fail "scontrol requeue $requeue_job failed"
log "case A: requeued job $requeue_job after generation 2"
wait_for_state "$requeue_job" 60 PENDING || fail "case A: job $requeue_job not pending after the requeue"
grep -q 'stopped by a signal' "$requeue_log" || fail "case A: the first session did not report its checkpoint"
log "case A: first session checkpointed; eligible again at $(job_field "$requeue_job" EligibleTime)"

# Case B ends on its own at the signal.
wait_for_state "$timelimit_job" 150 FAILED COMPLETED TIMEOUT CANCELLED ||
  fail "case B: job $timelimit_job did not end"
timelimit_log=$jobs/timelimit-$timelimit_job.out
state=$(job_state "$timelimit_job")
exit_code=$(job_field "$timelimit_job" ExitCode)
log "case B: job $timelimit_job ended: $state, exit code $exit_code"
[[ $exit_code == 75:0 ]] || fail "case B: expected exit code 75:0 (checkpointed after the signal), got $exit_code ($state)"
grep -q 'received SIGTERM' "$timelimit_log" || fail "case B: the batch shell did not receive SIGTERM"
grep -q 'metaevo: interrupted' "$timelimit_log" || fail "case B: metaevo did not report the interruption"
[[ -f timelimit.h5 ]] || fail "case B: no run file"
resubmitted_job=$(sbatch --parsable --ntasks=7 --time=10 --output="$jobs/timelimit-resubmitted-%j.out" \
  "$sbatch_script" timelimit.toml timelimit.h5) || fail "case B: resubmission failed"
log "case B: resubmitted as job $resubmitted_job (7 ranks)"

wait_for_state "$resubmitted_job" 180 COMPLETED FAILED CANCELLED TIMEOUT || fail "case B: job $resubmitted_job did not end"
resubmitted_log=$jobs/timelimit-resubmitted-$resubmitted_job.out
[[ $(job_state "$resubmitted_job") == COMPLETED ]] ||
  fail "case B: resubmitted job $resubmitted_job ended $(job_state "$resubmitted_job") $(job_field "$resubmitted_job" ExitCode)"
grep -Eq 'resuming timelimit.h5 at generation [0-9]+ of 12' "$resubmitted_log" ||
  fail "case B: the resubmitted job did not resume timelimit.h5"
log "case B: $(grep -Eo 'resuming timelimit.h5 at generation [0-9]+ of 12' "$resubmitted_log"), completed"

wait_for_state "$requeue_job" 240 COMPLETED FAILED CANCELLED TIMEOUT || fail "case A: requeued job $requeue_job did not end"
[[ $(job_state "$requeue_job") == COMPLETED ]] ||
  fail "case A: requeued job ended $(job_state "$requeue_job") $(job_field "$requeue_job" ExitCode)"
restarts=$(job_field "$requeue_job" Restarts)
[[ $restarts == 1 ]] || fail "case A: restart count $restarts, expected 1"
grep -q 'restart count 1: requeue.h5 exists, resuming it' "$requeue_log" ||
  fail "case A: the requeued job did not decide to resume"
resumed_at=$(grep -Eo 'resuming requeue.h5 at generation [0-9]+ of 8' "$requeue_log" | grep -Eo '[0-9]+ of' | cut -d' ' -f1)
[[ -n $resumed_at && $resumed_at -gt 0 ]] || fail "case A: the log names no resume generation > 0 ('$resumed_at')"
log "case A: requeued job completed, restart count $restarts, resumed at generation $resumed_at"

for pid in "${reference_pids[@]}"; do wait "$pid" || fail "a reference run failed: $(cat reference-*.log)"; done
reference_pids=()
for name in requeue timelimit; do
  difference=$(run_files_identical "$name.h5" "reference-$name.h5") || fail "not as uninterrupted: $difference"
  log "$name.h5 is bit-identical to the uninterrupted run (populations, fitness, best)"
done
log "PASS"
