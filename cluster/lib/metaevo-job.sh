# metaevo-job.sh: the job logic shared by cluster/slurm/metaevo.sbatch, cluster/pbs/metaevo.pbs and
# cluster/mpirun/metaevo-mpirun.sh. Source it, then call `metaevo_job CONFIG RUN.h5`.
#
# What it does:
#   - RUN.h5 missing: `metaevo run CONFIG --out RUN.h5`; RUN.h5 present (a requeued, restarted or
#     resubmitted job): `metaevo resume RUN.h5`. It never passes --force, so a run file is never
#     started from zero nor overwritten.
#   - Launches metaevo in the background under the launcher and `wait`s, so the shell's traps run
#     while the job is in progress. SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 reaching the job shell is
#     forwarded to the launcher as SIGUSR1 (Open MPI's mpirun forwards SIGUSR1 to every rank and lets
#     them finish; srun forwards it to every task): the master checkpoints and exits 75.
#   - Optionally sends that SIGUSR1 itself METAEVO_STOP_MARGIN seconds before METAEVO_WALLTIME
#     (for schedulers without a "signal before the time limit" option, e.g. PBS).
#   - Returns metaevo's exit status (0 done, 75 checkpointed after a signal, 2/3/4 errors: see
#     cluster/README.md).
#
# Settings (environment):
#   METAEVO             the metaevo binary (default: `metaevo` on PATH, else build/metaevo under
#                       METAEVO_HOME)
#   METAEVO_LAUNCHER    srun | mpirun | none (default: srun inside a Slurm job, else mpirun)
#   METAEVO_RANKS       number of ranks for mpirun (default: from the scheduler, else 1 slot per line
#                       of the hostfile, else mpirun's own default)
#   METAEVO_HOSTFILE    hostfile for mpirun (default: $PBS_NODEFILE when set)
#   METAEVO_MPIRUN_ARGS extra mpirun arguments (word-split), e.g. "--oversubscribe"
#   METAEVO_SRUN_ARGS   extra srun arguments (word-split), default "--mpi=pmix"
#   METAEVO_GENERATIONS continue to this many generations (passed as --generations to run or resume)
#   METAEVO_RUN_ARGS    extra arguments for a fresh `metaevo run` (word-split), e.g. "--seed 7"
#   METAEVO_WALLTIME, METAEVO_STOP_MARGIN   seconds; see above (default: no timer)
#   METAEVO_STOP_REPEAT repeat a stop request to the launcher every this many seconds (default 5)

metaevo_job_log() { printf 'metaevo-job: %s\n' "$*" >&2; }

# Which scheduler runs us, and how often the job has been restarted (0 for the first start).
metaevo_job_scheduler() {
  if [[ -n ${SLURM_JOB_ID:-} ]]; then echo slurm
  elif [[ -n ${PBS_JOBID:-} ]]; then echo pbs
  else echo none; fi
}
metaevo_job_restart_count() {
  case $(metaevo_job_scheduler) in
    slurm) echo "${SLURM_RESTART_COUNT:-0}" ;;
    # PBS Pro counts runs from 1 in PBS_RUN_COUNT; Torque has no counter.
    pbs) if [[ -n ${PBS_RUN_COUNT:-} ]]; then echo $((PBS_RUN_COUNT - 1)); else echo unknown; fi ;;
    *) echo 0 ;;
  esac
}

# Converts [[HH:]MM:]SS to seconds (PBS and Slurm style walltimes); plain numbers pass through.
metaevo_job_seconds() {
  local text=$1 total=0 part
  local IFS=:
  for part in $text; do total=$((total * 60 + 10#$part)); done
  echo "$total"
}

# Prints the command (one word a line) that runs or resumes RUN.h5: the decision the job makes.
metaevo_job_command() {
  local config=$1 run_file=$2 binary=$3
  if [[ -e $run_file ]]; then
    printf '%s\n' "$binary" resume "$run_file"
  else
    printf '%s\n' "$binary" run "$config" --out "$run_file"
    local extra
    # shellcheck disable=SC2086
    for extra in ${METAEVO_RUN_ARGS:-}; do printf '%s\n' "$extra"; done
  fi
  if [[ -n ${METAEVO_GENERATIONS:-} ]]; then printf '%s\n' --generations "$METAEVO_GENERATIONS"; fi
}

# Prints the launcher prefix (one word a line).
metaevo_job_launcher() {
  local launcher=${METAEVO_LAUNCHER:-}
  if [[ -z $launcher ]]; then
    if [[ $(metaevo_job_scheduler) == slurm ]] && command -v srun >/dev/null; then launcher=srun; else launcher=mpirun; fi
  fi
  local word
  case $launcher in
    srun)
      printf '%s\n' srun
      # shellcheck disable=SC2086
      for word in ${METAEVO_SRUN_ARGS---mpi=pmix}; do printf '%s\n' "$word"; done ;;
    mpirun)
      printf '%s\n' mpirun
      local hostfile=${METAEVO_HOSTFILE:-${PBS_NODEFILE:-}}
      [[ -n $hostfile ]] && printf '%s\n' --hostfile "$hostfile"
      local ranks=${METAEVO_RANKS:-${SLURM_NTASKS:-${PBS_NP:-}}}
      if [[ -z $ranks && -n ${PBS_NODEFILE:-} && -r ${PBS_NODEFILE:-} ]]; then ranks=$(wc -l < "$PBS_NODEFILE"); fi
      [[ -n $ranks ]] && printf '%s\n' -np "$ranks"
      # shellcheck disable=SC2086
      for word in ${METAEVO_MPIRUN_ARGS:-}; do printf '%s\n' "$word"; done ;;
    none) ;;
    *) metaevo_job_log "METAEVO_LAUNCHER must be srun, mpirun or none, not '$launcher'"; return 2 ;;
  esac
}

metaevo_job_binary() {
  if [[ -n ${METAEVO:-} ]]; then echo "$METAEVO"
  elif command -v metaevo >/dev/null; then command -v metaevo
  elif [[ -n ${METAEVO_HOME:-} && -x $METAEVO_HOME/build/metaevo ]]; then echo "$METAEVO_HOME/build/metaevo"
  else echo metaevo; fi
}

# metaevo_job CONFIG RUN.h5: runs or resumes, forwarding stop signals; returns metaevo's status.
metaevo_job() {
  if [[ $# -ne 2 ]]; then
    metaevo_job_log "usage: metaevo_job CONFIG RUN.h5"
    return 2
  fi
  local config=$1 run_file=$2
  if [[ ! -e $run_file && ! -r $config ]]; then
    metaevo_job_log "config '$config' is not readable and run file '$run_file' does not exist"
    return 3
  fi
  # Open MPI refuses root unless told; batch jobs on test machines and containers run as root.
  if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

  local -a launcher=() command=()
  local launcher_words
  launcher_words=$(metaevo_job_launcher) || return 2
  [[ -n $launcher_words ]] && mapfile -t launcher <<<"$launcher_words"
  mapfile -t command < <(metaevo_job_command "$config" "$run_file" "$(metaevo_job_binary)")
  local scheduler restarts
  scheduler=$(metaevo_job_scheduler)
  restarts=$(metaevo_job_restart_count)
  if [[ -e $run_file ]]; then
    metaevo_job_log "scheduler $scheduler, restart count $restarts: $run_file exists, resuming it"
  else
    metaevo_job_log "scheduler $scheduler, restart count $restarts: $run_file does not exist, starting the run"
  fi
  metaevo_job_log "command: ${launcher[*]} ${command[*]}"

  _metaevo_job_pid=
  _metaevo_job_stop_requested=0
  _metaevo_job_repeater_pid=
  trap '_metaevo_job_forward TERM' TERM
  trap '_metaevo_job_forward INT' INT
  trap '_metaevo_job_forward USR1' USR1
  trap '_metaevo_job_forward USR2' USR2

  "${launcher[@]}" "${command[@]}" &
  _metaevo_job_pid=$!

  local timer_pid=
  if [[ -n ${METAEVO_WALLTIME:-} ]]; then
    local walltime delay
    walltime=$(metaevo_job_seconds "$METAEVO_WALLTIME")
    delay=$((walltime - ${METAEVO_STOP_MARGIN:-300}))
    ((delay < 0)) && delay=0
    metaevo_job_log "walltime ${walltime}s: asking metaevo to checkpoint and stop after ${delay}s"
    # The timer signals this shell, whose trap forwards to the launcher like any scheduler signal.
    (sleep "$delay" && kill -USR1 $$) &
    timer_pid=$!
  fi

  # `wait` returns early (status > 128) whenever a trapped signal arrives: wait again until the
  # launcher has really finished, so its own exit status is what the job reports.
  local status
  while :; do
    wait "$_metaevo_job_pid"
    status=$?
    if ((status > 128)) && kill -0 "$_metaevo_job_pid" 2>/dev/null; then continue; fi
    break
  done
  if [[ -n $timer_pid ]]; then kill "$timer_pid" 2>/dev/null; wait "$timer_pid" 2>/dev/null; fi
  if [[ -n ${_metaevo_job_repeater_pid:-} ]]; then
    kill "$_metaevo_job_repeater_pid" 2>/dev/null
    wait "$_metaevo_job_repeater_pid" 2>/dev/null
  fi
  trap - TERM INT USR1 USR2
  # A launcher that fails to start the ranks can still exit 0 (seen with srun when the MPI plugin
  # fails to set up the step): without a run file nothing ran, whatever the status says.
  if ((status == 0)) && [[ ! -e $run_file ]]; then
    metaevo_job_log "the launcher exited 0 but $run_file does not exist: metaevo did not run (see the errors above)"
    status=4
  fi

  case $status in
    0) metaevo_job_log "finished: $run_file is complete" ;;
    75) metaevo_job_log "stopped by a signal: every complete generation is checkpointed in $run_file; submit the job again (or let the scheduler requeue it) to continue" ;;
    *) metaevo_job_log "metaevo exited with status $status" ;;
  esac
  return "$status"
}

# Trap handler: forwards a stop request to the launcher as SIGUSR1 (mpirun forwards SIGUSR1 to the
# ranks and lets them finish; SIGTERM would make it kill them a second later). The request is repeated
# every METAEVO_STOP_REPEAT seconds (default 5) until the launcher ends: a launcher still starting its
# ranks has nobody to forward to and drops the signal (seen with mpirun when the stop came early).
# metaevo takes a repeated request as the same one.
_metaevo_job_forward() {
  local signal=$1
  metaevo_job_log "received SIG$signal; asking metaevo to checkpoint and stop (SIGUSR1 to the launcher)"
  if [[ -n ${_metaevo_job_pid:-} && $_metaevo_job_stop_requested -eq 0 ]]; then
    _metaevo_job_stop_requested=1
    kill -USR1 "$_metaevo_job_pid" 2>/dev/null || true
    local launcher_pid=$_metaevo_job_pid interval=${METAEVO_STOP_REPEAT:-5}
    (
      trap - TERM INT USR1 USR2
      while sleep "$interval" </dev/null >/dev/null 2>&1 && kill -0 "$launcher_pid" 2>/dev/null; do kill -USR1 "$launcher_pid" 2>/dev/null; done
    ) &
    _metaevo_job_repeater_pid=$!
  fi
}
