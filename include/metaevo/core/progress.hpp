#pragma once
// Progress of a long job counted in units (generations, inner loops): how far, how fast, how long to
// go, and when a line about it is worth printing. Time comes from an injectable monotonic clock, so
// tests drive it by hand.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace metaevo {

/// Told after each piece of a long job: `done` of `total` units (a file read, a batch of work), so a
/// caller can show progress without the job knowing how.
using ProgressCallback = std::function<void(std::int64_t done, std::int64_t total)>;

/// Seconds on a monotonic clock (any origin).
using MonotonicSeconds = std::function<double()>;
/// std::chrono::steady_clock in seconds.
double steady_clock_seconds();

/// "0.4s", "42.0s", "1m35s", "2h05m", "3d04h"; "?" for a negative or non-finite value.
std::string format_duration(double seconds);

class ProgressMeter {
 public:
  /// `total` units, of which `already_done` were finished before the meter started (a resumed run):
  /// the rate counts only the units done since the start.
  explicit ProgressMeter(std::int64_t total, std::int64_t already_done = 0,
                         MonotonicSeconds clock = steady_clock_seconds);

  /// Sets the units done so far (clamped to [already_done, total]).
  void set_done(std::int64_t done);

  std::int64_t done() const { return done_; }
  std::int64_t total() const { return total_; }
  /// done / total (1 for an empty job).
  double fraction() const;
  double elapsed_seconds() const;
  /// Units per second since the start; 0 before the first unit.
  double rate() const;
  /// Seconds to the last unit at the rate so far; nothing before the first unit.
  std::optional<double> eta_seconds() const;

  /// "generation 120/300 (40%)  1.9 gen/s  elapsed 1m03s  ETA 1m35s": `label` names the units,
  /// `unit` is the rate's short name ("gen"); a rate below one per second shows as "38.0s/gen".
  /// A `detail` ("best -4.81") goes after the percentage.
  std::string status_line(std::string_view label, std::string_view unit, std::string_view detail = {}) const;

  /// Whether a line is due, once there is progress since the last report: at the last unit, at the
  /// first unit into the next of `steps` equal parts of the total (0: never by parts), or when
  /// `min_interval_seconds` have passed since the last report (or the start). With steps = 10 and a
  /// minute, a log gets at most ~10 lines plus one a minute, at any speed.
  bool report_due(double min_interval_seconds, int steps) const;
  /// Notes that a line was printed now (for report_due).
  void mark_reported();

 private:
  MonotonicSeconds clock_;
  std::int64_t total_;
  std::int64_t already_done_;
  std::int64_t done_;
  double start_;
  double last_report_time_;
  std::int64_t last_report_done_;
};

}  // namespace metaevo
