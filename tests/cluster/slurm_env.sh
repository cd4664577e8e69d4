# A private single-node Slurm for tests: munged, slurmctld and slurmd started from a temporary
# directory with their own config, sockets, ports, spool, state and logs, stopped by PID.
# Source it, then: slurm_env_start WORKDIR (returns 77 and sets slurm_env_skip_reason when Slurm cannot
# run here, i.e. not as root; 1 when it should run but fails)
# and slurm_env_stop (call it from an EXIT trap).

slurm_env_pids=()
slurm_env_skip_reason=

# Records why the test cannot run here (printed by the test as its SKIPPED line).
slurm_env_skip() {
  slurm_env_skip_reason=$1
  echo "slurm test: $1" >&2
}

slurm_env_install() {
  local missing=() tool
  for tool in sbatch srun scontrol slurmctld slurmd munged; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    slurm_env_skip "${missing[*]} missing and not root: cannot apt-get install slurm-wlm munge"
    return 77
  fi
  echo "slurm test: installing slurm-wlm and munge (missing: ${missing[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }; then
    echo "slurm test: apt-get install slurm-wlm munge failed" >&2
    return 1
  fi
}

# Waits up to $2 seconds for the command $1 to succeed.
slurm_env_wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1" >/dev/null 2>&1; do
    ((SECONDS > deadline)) && return 1
    sleep 0.5
  done
}

# True when something listens on TCP port $1 of this host.
slurm_env_port_busy() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# Prints two free ports (slurmctld, slurmd): from SLURM_ENV_CTLD_PORT/SLURM_ENV_SLURMD_PORT, else
# the first free pair at or above 16817 + an offset from our PID, so that two tests started at the
# same time (two build directories) do not clash.
slurm_env_pick_ports() {
  if [[ -n ${SLURM_ENV_CTLD_PORT:-} ]]; then
    echo "$SLURM_ENV_CTLD_PORT ${SLURM_ENV_SLURMD_PORT:-$((SLURM_ENV_CTLD_PORT + 1))}"
    return
  fi
  local port=$((16817 + ($$ % 500) * 2)) tries
  for ((tries = 0; tries < 200; tries++, port += 2)); do
    if ! slurm_env_port_busy "$port" && ! slurm_env_port_busy $((port + 1)); then
      echo "$port $((port + 1))"
      return
    fi
  done
  echo "16817 16818"
}

slurm_env_start() {
  local work=$1
  slurm_env_install || return $?
  PATH=$PATH:/usr/sbin
  if [[ $(id -u) -ne 0 ]]; then
    slurm_env_skip "slurmd must run as root to start jobs (uid $(id -u))"
    return 77
  fi
  local host cpus=${SLURM_ENV_CPUS:-8} ctld_port slurmd_port
  read -r ctld_port slurmd_port < <(slurm_env_pick_ports)
  host=$(hostname -s)
  mkdir -p "$work"/{munge,state,spool,log}
  chmod 700 "$work/munge"
  # munge: a fresh key and socket of our own.
  head -c 1024 /dev/urandom > "$work/munge/munge.key"
  chmod 400 "$work/munge/munge.key"
  munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" --seed-file="$work/munge/munged.seed" \
    >"$work/log/munged.out" 2>&1
  if ! slurm_env_wait_for "test -s '$work/munge/munged.pid'" 10; then
    echo "slurm test: munged did not start: $(tail -n 3 "$work/log/munged.log" "$work/log/munged.out" 2>/dev/null)" >&2
    return 1
  fi
  slurm_env_pids+=("$(cat "$work/munge/munged.pid")")

  cat > "$work/slurm.conf" <<CONF
ClusterName=metaevotest
# Job ids from a number of our own: Open MPI names its shared-memory segments after the job, and two
# private Slurms (two build directories, or a chroot sharing /dev/shm) must not both run a job 1.
FirstJobId=$(( ($$ % 30000) * 1000 + 1 ))
# Addresses given, not looked up: a machine (or chroot) without /etc/hosts cannot resolve its own name.
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Look at pending jobs every few seconds (default 60 s), so a requeued job starts soon after it is eligible.
SchedulerParameters=sched_interval=5,bf_interval=5
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=30
MinJobAge=600
MailProg=/bin/true
TmpFS=$work/tmp
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  # The PMIx plugin's per-step directories (spmix_appdir_UID_JOB.STEP, /tmp by default) go to our
  # directory: another private Slurm numbers its jobs from 1 too, and a killed step leaves its own.
  mkdir -p "$work/pmix" "$work/tmp"
  echo "PMIxCliTmpDirBase=$work/pmix" > "$work/mpi.conf"
  export SLURM_CONF=$work/slurm.conf
  slurmctld -f "$work/slurm.conf" -c -i >"$work/log/slurmctld.out" 2>&1
  if ! slurm_env_wait_for "test -s '$work/slurmctld.pid'" 20; then
    echo "slurm test: slurmctld did not start: $(tail -n 5 "$work/log/slurmctld.log" "$work/log/slurmctld.out" 2>/dev/null)" >&2
    return 1
  fi
  slurm_env_pids+=("$(cat "$work/slurmctld.pid")")
  slurmd -f "$work/slurm.conf" >"$work/log/slurmd.out" 2>&1
  if ! slurm_env_wait_for "test -s '$work/slurmd.pid'" 20; then
    echo "slurm test: slurmd did not start: $(tail -n 5 "$work/log/slurmd.log" "$work/log/slurmd.out" 2>/dev/null)" >&2
    return 1
  fi
  slurm_env_pids+=("$(cat "$work/slurmd.pid")")
  if ! slurm_env_wait_for "sinfo -h -N -o %t | grep -Eq '^(idle|mix|alloc)'" 30; then
    echo "slurm test: the node did not become idle: $(sinfo -N -l 2>&1 | tail -n 2); $(tail -n 5 "$work/log/slurmd.log")" >&2
    return 1
  fi
  slurm_env_start_watchdog "$work"
  echo "slurm test: Slurm $(sinfo -V 2>&1) up on $host with $cpus CPUs, ports $ctld_port/$slurmd_port (pids ${slurm_env_pids[*]})" >&2
}

# If the test itself is killed with SIGKILL (a ctest timeout), no EXIT trap runs: a watchdog
# process notices its parent is gone and ends the daemons, the jobs' processes and the PIDs listed
# in WORKDIR/extra.pids.
slurm_env_watchdog_pid=
slurm_env_library=${BASH_SOURCE[0]}
slurm_env_start_watchdog() {
  local work=$1
  # In a session of its own, so that a kill of the test's process group does not take it along.
  # shellcheck disable=SC2016 # the script expands its own arguments
  setsid bash -c '
    source "$1"; parent=$2; work=$3; shift 3
    while kill -0 "$parent" 2>/dev/null; do sleep 2; done
    for pid in $(slurm_env_leftover_pids "$work"); do kill -KILL "$pid" 2>/dev/null; done
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    # Other processes the test started and listed there (e.g. its reference runs).
    if [[ -f $work/extra.pids ]]; then
      for pid in $(cat "$work/extra.pids"); do kill -TERM "$pid" 2>/dev/null; done
    fi' slurm-env-watchdog "$slurm_env_library" "$$" "$work" "${slurm_env_pids[@]}" </dev/null >/dev/null 2>&1 &
  slurm_env_watchdog_pid=$!
}

slurm_env_stop() {
  local pid index
  if [[ -n $slurm_env_watchdog_pid ]]; then
    kill "$slurm_env_watchdog_pid" 2>/dev/null
    wait "$slurm_env_watchdog_pid" 2>/dev/null
    slurm_env_watchdog_pid=
  fi
  # slurmd first, then slurmctld, then munged: the reverse of the start order.
  for ((index = ${#slurm_env_pids[@]} - 1; index >= 0; index--)); do
    pid=${slurm_env_pids[index]}
    kill -TERM "$pid" 2>/dev/null || continue
    local tries=0
    while kill -0 "$pid" 2>/dev/null && ((tries < 40)); do sleep 0.25; tries=$((tries + 1)); done
    kill -KILL "$pid" 2>/dev/null || true
  done
  slurm_env_pids=()
}

# Cancels every job of the private Slurm and waits (up to $1 seconds) until none is left.
slurm_env_cancel_all() {
  local jobs
  jobs=$(squeue -h -o %i 2>/dev/null) || return 0
  [[ -z $jobs ]] && return 0
  # shellcheck disable=SC2086
  scancel $jobs 2>/dev/null
  slurm_env_wait_for "test -z \"\$(squeue -h -t R,CG,PD -o %i 2>/dev/null)\"" "${1:-60}"
}

# PIDs of processes of this Slurm's jobs and step daemons still alive (to end them after a failure).
slurm_env_leftover_pids() {
  local work=$1 environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}; pid=${pid%/environ}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    local variables
    variables=$(tr '\0' '\n' 2>/dev/null <"$environ") || continue
    grep -qx "SLURM_CONF=$work/slurm.conf" <<<"$variables" || continue
    # Only job processes and step daemons: the test's own shell and helpers carry SLURM_CONF too.
    if grep -q '^SLURM_JOB_ID=' <<<"$variables" || [[ $(cat "/proc/$pid/comm" 2>/dev/null) == slurmstepd ]]; then
      echo "$pid"
    fi
  done
}
