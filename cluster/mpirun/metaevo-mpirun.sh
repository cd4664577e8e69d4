#!/usr/bin/env bash
# metaevo under plain mpirun with a hostfile, with the same run-or-resume logic as the batch scripts:
#
#   METAEVO_HOSTFILE=hosts METAEVO_RANKS=64 cluster/mpirun/metaevo-mpirun.sh CONFIG RUN.h5
#
# Starts the run when RUN.h5 does not exist and resumes it otherwise, so running the same command
# again after a crash, a `kill -USR1` or a reboot continues from the last checkpoint. SIGTERM,
# SIGINT (Ctrl-C), SIGUSR1 or SIGUSR2 to this script are passed to mpirun as SIGUSR1: metaevo
# checkpoints and the script exits 75. A hostfile has one line per node: `node01 slots=32`.
# Other settings: METAEVO (binary), METAEVO_MPIRUN_ARGS, METAEVO_GENERATIONS, METAEVO_WALLTIME and
# METAEVO_STOP_MARGIN (see cluster/README.md).
set -uo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: [METAEVO_HOSTFILE=hosts] [METAEVO_RANKS=N] $0 CONFIG RUN.h5" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/metaevo-job.sh
source "$here/../lib/metaevo-job.sh"
export METAEVO_HOME=${METAEVO_HOME:-$(cd "$here/../.." && pwd)}
export METAEVO_LAUNCHER=${METAEVO_LAUNCHER:-mpirun}
metaevo_job "$1" "$2"
exit $?
