#!/usr/bin/env bash
# Shell-level test of cluster/pbs/metaevo.pbs (and so of cluster/lib/metaevo-job.sh, which the Slurm
# and mpirun scripts share): PBS cannot run here, so the script runs as PBS would start it, with the
# PBS environment variables set (PBS_JOBID, PBS_O_WORKDIR, PBS_NODEFILE, PBS_WALLTIME, PBS_RUN_COUNT).
#   1. first start: no run file, so it starts the run; the walltime timer asks metaevo to stop before
#      PBS_WALLTIME: exit 75, the complete generations are in the file;
#   2. rerun (PBS_RUN_COUNT=2): the file exists, so it resumes; SIGTERM to the job shell (qdel,
#      preemption) is forwarded as SIGUSR1: exit 75 again, more generations in the file;
#   3. resubmission without a walltime: resumes and completes, bit-identical to an uninterrupted run;
#   4. run again on the finished file: nothing to do, exit 0, results unchanged;
#   5. METAEVO_GENERATIONS=12: continues the finished run to 12 generations, bit-identical to an
#      uninterrupted 12-generation run;
#   6. bad inputs: no config and no run file (3), missing METAEVO_CONFIG (2);
#   7. a stop request that arrives while the ranks are still starting is repeated until it lands.
# usage: pbs_resume_test.sh METAEVO_BINARY
set -uo pipefail
if [[ $# -ne 1 || ! -x $1 ]]; then
  echo "usage: $0 METAEVO_BINARY" >&2
  exit 2
fi
metaevo=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
source_root=$(cd "$(dirname "$0")/../.." && pwd)
pbs_script=$source_root/cluster/pbs/metaevo.pbs
# shellcheck source=SCRIPTDIR/run_file_checks.sh
source "$source_root/tests/cluster/run_file_checks.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/metaevo-pbs-test.XXXXXX")
started=$SECONDS
log() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then log "FAILED; files kept in $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
fail() {
  log "FAIL: $*"
  [[ -n ${last_log:-} && -f $last_log ]] && { echo "---- $last_log"; tail -n 30 "$last_log"; }
  exit 1
}

cd "$work" || exit 1
mkdir submit
# 10 generations of 4 genomes; an evaluation sleeps 10 x 0.05 s, so with 2 workers a generation
# takes about 1 s.
cat > submit/search.toml <<'CONF'
[run]
seed = 5
generations = 10

[ga]
population_size = 4
elite_count = 1

[evaluation]
tasks_per_evaluation = 1
inner_steps = 10
holdout_tasks = 0

[update_rule]
family = "sgd"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }

[[tasks]]
family = "synthetic"
dimension = 3
step_sleep_seconds = 0.05
CONF
printf 'localhost\nlocalhost\nlocalhost\n' > nodefile
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# The uninterrupted references, in the background: 10 and 12 generations.
(cd submit && mpirun --oversubscribe -np 5 "$metaevo" run search.toml --out ../reference10.h5 --quiet >../reference10.log 2>&1) &
reference10_pid=$!
(cd submit && mpirun --oversubscribe -np 5 "$metaevo" run search.toml --generations 12 --out ../reference12.h5 --quiet \
  >../reference12.log 2>&1) &
reference12_pid=$!

# Runs the PBS script as pbs_mom would: in $HOME (here: $work), with the PBS variables set.
# Extra variables come as NAME=VALUE arguments; the job's output goes to $work/job-N.log.
run_count=0
start_job() {
  run_count=$((run_count + 1))
  last_log=$work/job-$run_count.log
  env -u SLURM_JOB_ID -u SLURM_CONF PBS_JOBID="4242.pbs-server" PBS_JOBNAME=metaevo PBS_QUEUE=batch \
    PBS_O_WORKDIR="$work/submit" PBS_NODEFILE="$work/nodefile" METAEVO="$metaevo" METAEVO_HOME="$source_root" \
    METAEVO_MPIRUN_ARGS="--oversubscribe" METAEVO_CONFIG=search.toml METAEVO_RUN_FILE=run.h5 "$@" \
    bash "$pbs_script" >"$last_log" 2>&1 &
  job_pid=$!
}
finish_job() {  # finish_job EXPECTED_STATUS
  wait "$job_pid"
  local status=$?
  [[ $status -eq $1 ]] || fail "job $run_count exited $status, expected $1"
}
completed_generations() { run_file_generations "$work/submit/run.h5"; }
same_results() {  # same_results REFERENCE.h5
  local difference
  difference=$(run_files_identical "$work/submit/run.h5" "$1") || fail "$difference"
}

# 1. First start with a 6 s walltime: the timer stops it 3 s in (margin 3 s).
start_job PBS_WALLTIME=6 METAEVO_STOP_MARGIN=3 PBS_RUN_COUNT=1
finish_job 75
grep -q 'restart count 0: run.h5 does not exist, starting the run' "$last_log" || fail "1: did not decide to start the run"
grep -q -- "--hostfile $work/nodefile -np 3" "$last_log" || fail "1: mpirun not given PBS_NODEFILE and 3 ranks"
grep -q 'walltime 6s: asking metaevo to checkpoint and stop after 3s' "$last_log" || fail "1: no walltime timer"
grep -q 'metaevo: interrupted' "$last_log" || fail "1: metaevo did not report the interruption"
[[ -f submit/run.h5 ]] || fail "1: no run file"
first=$(completed_generations)
log "1. first start stopped by the walltime timer: exit 75, $first generations checkpointed"
[[ -n $first && $first -lt 10 ]] || fail "1: the run was not interrupted ('$first' generations)"

# 2. Rerun by the server; SIGTERM to the job shell 2.5 s in.
start_job PBS_RUN_COUNT=2
sleep 2.5
kill -TERM "$job_pid"
finish_job 75
grep -q 'restart count 1: run.h5 exists, resuming it' "$last_log" || fail "2: did not decide to resume"
grep -q "resuming run.h5 at generation $first of 10" "$last_log" || fail "2: did not resume at generation $first"
grep -q 'received SIGTERM; asking metaevo to checkpoint and stop' "$last_log" || fail "2: SIGTERM not forwarded"
second=$(completed_generations)
log "2. rerun resumed at generation $first; SIGTERM: exit 75, $second generations checkpointed"
[[ -n $second && $second -ge $first && $second -lt 10 ]] || fail "2: unexpected generation count '$second'"

# 3. Resubmitted without a walltime: completes.
start_job
finish_job 0
grep -q "resuming run.h5 at generation $second of 10" "$last_log" || fail "3: did not resume at generation $second"
[[ $(completed_generations) -eq 10 ]] || fail "3: $(completed_generations) generations, expected 10"
wait "$reference10_pid" || fail "the 10-generation reference run failed: $(cat reference10.log)"
same_results "$work/reference10.h5"
log "3. resubmission completed the run: bit-identical to the uninterrupted run"

# 4. Again on the finished file: nothing to do.
start_job
finish_job 0
grep -q 'resuming run.h5 at generation 10 of 10' "$last_log" || fail "4: did not resume the finished run"
same_results "$work/reference10.h5"
log "4. a job on the finished run exits 0 and changes no result"

# 5. Continue to 12 generations.
start_job METAEVO_GENERATIONS=12
finish_job 0
grep -q 'resuming run.h5 at generation 10 of 12' "$last_log" || fail "5: did not continue to 12 generations"
wait "$reference12_pid" || fail "the 12-generation reference run failed: $(cat reference12.log)"
same_results "$work/reference12.h5"
log "5. METAEVO_GENERATIONS=12 continued it: bit-identical to an uninterrupted 12-generation run"

# 6. Bad inputs.
start_job METAEVO_CONFIG=missing.toml METAEVO_RUN_FILE=other.h5
finish_job 3
grep -q "config 'missing.toml' is not readable" "$last_log" || fail "6: no message for the missing config"
start_job METAEVO_CONFIG=
finish_job 2
grep -q 'set METAEVO_CONFIG and METAEVO_RUN_FILE' "$last_log" || fail "6: no usage message"
start_job METAEVO_LAUNCHER=bogus
finish_job 2
grep -q "METAEVO_LAUNCHER must be srun, mpirun or none, not 'bogus'" "$last_log" || fail "6: no message for a bad launcher"
log "6. a missing config exits 3, missing settings and a bad launcher exit 2"

# 7. A stop request that comes while the ranks are still starting is repeated until it lands. The
#    ranks here start through a wrapper that ignores stop signals for its first 2 s, as mpirun drops a
#    signal that arrives before it has started the ranks; the timer fires at 1 s, the repeats at 4 s, 7 s...
cat > slow-start.sh <<WRAPPER
#!/usr/bin/env bash
trap '' TERM INT USR1 USR2
sleep 2
trap - TERM INT USR1 USR2
exec "$metaevo" "\$@"
WRAPPER
chmod +x slow-start.sh
start_job METAEVO="$work/slow-start.sh" METAEVO_RUN_FILE=early.h5 PBS_WALLTIME=2 METAEVO_STOP_MARGIN=1 \
  METAEVO_STOP_REPEAT=3
finish_job 75
grep -q 'metaevo: interrupted' "$last_log" || fail "7: metaevo did not report the interruption"
[[ -f submit/early.h5 ]] || fail "7: no run file"
log "7. a stop request during the ranks' start-up is repeated until metaevo takes it: exit 75"
last_log=
log "PASS"
