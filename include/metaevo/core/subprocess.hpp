#pragma once
// Runs an external program to completion under a time limit and an output cap, in a process group
// of its own that is killed as a whole, so nothing it started outlives it (POSIX only).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace metaevo {

struct SubprocessOptions {
  /// argv[0] is the program: a path (relative ones from `workdir`) when it holds a '/', else looked
  /// up in the PATH of `environment` (or of this process when `environment` sets none).
  std::vector<std::string> argv;
  std::string workdir;                   // empty: this process's current directory
  std::vector<std::string> environment;  // the program's whole environment, "KEY=VALUE" each
  std::string stdin_text;                // what the program reads on stdin (then end of file)
  double time_limit_seconds = 60.0;      // > 0; past it the group gets SIGTERM
  double kill_grace_seconds = 2.0;       // then this long until SIGKILL to the group
  std::size_t max_stdout_bytes = 1 << 20;  // more than this ends the program as output_too_large
  std::size_t stderr_tail_bytes = 8192;    // only the last bytes of stderr are kept
};

struct SubprocessResult {
  enum class Ending { exited, signaled, timed_out, output_too_large };
  Ending ending = Ending::exited;
  int exit_code = 0;  // exited
  int signal = 0;     // signaled: the signal that ended the program
  std::string stdout_text;  // everything up to max_stdout_bytes
  std::string stderr_tail;  // the last stderr_tail_bytes of stderr
  double wall_seconds = 0.0;

  bool succeeded() const { return ending == Ending::exited && exit_code == 0; }
  /// "exited with status 3", "killed by signal 11 (Segmentation fault)", "timed out after 2 s",
  /// "printed more than 1048576 bytes on stdout".
  std::string describe(const SubprocessOptions& options) const;
};

/// Starts the program in a new process group (posix_spawn: nothing but async-signal-safe steps run
/// in the child; signal dispositions and mask reset to the defaults), feeds it stdin_text, reads
/// stdout and stderr as they come (poll, so no pipe fills up and blocks either side) until the
/// program exits. On a timeout or an output overflow the group gets SIGTERM, then SIGKILL after the
/// grace period (children that ignore SIGTERM included). When the program itself has ended, any
/// process it left in its group is sent SIGKILL. The program is always reaped; no descriptor leaks
/// (all are close-on-exec). Thread-safe. Throws Error when the program cannot be started (not
/// found, not executable, no such workdir).
SubprocessResult run_subprocess(const SubprocessOptions& options);

/// The last `count` non-empty lines of `text`, joined with "\n" (for failure reasons).
std::string last_lines(std::string_view text, std::size_t count);

}  // namespace metaevo
