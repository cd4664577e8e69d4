#pragma once
// Prints a ProgressMeter's status on a stream (stderr): on a terminal one line redrawn in place; in a
// file (a Slurm or PBS log) whole lines at a bounded rate: each tenth of the job, at least a minute
// apart otherwise, and the last one.
#include <cstdio>
#include <string>
#include <string_view>

#include "metaevo/core/progress.hpp"

namespace metaevo::cli {

class ProgressDisplay {
 public:
  /// `label` names the units ("generation"), `unit` is the rate's short name ("gen"). `interactive`:
  /// redraw one line in place (a terminal) rather than print whole lines.
  ProgressDisplay(std::FILE* stream, bool interactive, std::string label, std::string unit, ProgressMeter meter);
  /// On a terminal when `stream` is one.
  ProgressDisplay(std::FILE* stream, std::string label, std::string unit, ProgressMeter meter);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  /// `done` units finished; `detail` (e.g. "best -4.81") follows the count when a line is printed.
  void update(std::int64_t done, std::string_view detail = {});
  /// Prints a line of its own; on a terminal the status line is redrawn below it.
  void message(std::string_view line);
  /// Ends the redrawn line (a newline), once; the destructor calls it.
  void finish();
  /// Prints nothing until `seconds` have passed since the meter started: a phase that is usually
  /// short (reading a run file) then stays silent unless it is long.
  void show_after(double seconds) { quiet_seconds_ = seconds; }

  static constexpr double terminal_interval_seconds = 0.25;  // redraws at most 4 times a second
  static constexpr double log_interval_seconds = 60.0;
  static constexpr int log_steps = 10;
  static constexpr double quiet_start_seconds = 1.0;  // for show_after

 private:
  void clear_status();

  std::FILE* stream_;
  bool interactive_;
  std::string label_;
  std::string unit_;
  ProgressMeter meter_;
  double quiet_seconds_ = 0.0;
  bool status_shown_ = false;  // a redrawn line without its newline is on the terminal
  std::string status_;         // the last status line, redrawn after a message
};

}  // namespace metaevo::cli
