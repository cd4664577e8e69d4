#pragma once
// The exit statuses of the metaevo command (README.md and cluster/README.md document them): scripts
// and job files branch on them.

namespace metaevo::cli {

enum ExitStatus : int {
  exit_ok = 0,
  exit_internal_error = 1,
  exit_usage_error = 2,    // bad command line, or the output exists without --force
  exit_config_error = 3,   // the config was rejected before any work
  exit_storage_error = 4,  // the run file could not be written or read
  exit_interrupted = 75,   // stopped by SIGTERM/SIGINT/SIGUSR1/SIGUSR2: every completed generation is in the file
};

}  // namespace metaevo::cli
