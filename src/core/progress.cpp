#include "metaevo/core/progress.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

namespace metaevo {

double steady_clock_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "?";
  char buffer[32];
  if (seconds < 60.0) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
    return buffer;
  }
  // Whole seconds from here on, so "59.96 s" never reads "0m60s".
  const auto whole = static_cast<long long>(seconds);
  if (whole < 3600) {
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", whole / 60, whole % 60);
  } else if (whole < 86400) {
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", whole / 3600, whole / 60 % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldd%02lldh", whole / 86400, whole / 3600 % 24);
  }
  return buffer;
}

ProgressMeter::ProgressMeter(std::int64_t total, std::int64_t already_done, MonotonicSeconds clock)
    : clock_(std::move(clock)),
      total_(std::max<std::int64_t>(total, 0)),
      already_done_(std::clamp<std::int64_t>(already_done, 0, total_)),
      done_(already_done_),
      start_(clock_()),
      last_report_time_(start_),
      last_report_done_(already_done_) {}

void ProgressMeter::set_done(std::int64_t done) { done_ = std::clamp(done, already_done_, total_); }

double ProgressMeter::fraction() const {
  return total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
}

double ProgressMeter::elapsed_seconds() const { return std::max(0.0, clock_() - start_); }

double ProgressMeter::rate() const {
  const double elapsed = elapsed_seconds();
  const auto units = static_cast<double>(done_ - already_done_);
  return units > 0.0 && elapsed > 0.0 ? units / elapsed : 0.0;
}

std::optional<double> ProgressMeter::eta_seconds() const {
  if (done_ == total_) return 0.0;
  const double units_per_second = rate();
  if (units_per_second <= 0.0) return std::nullopt;
  return static_cast<double>(total_ - done_) / units_per_second;
}

std::string ProgressMeter::status_line(std::string_view label, std::string_view unit, std::string_view detail) const {
  char buffer[64];
  std::string line(label);
  std::snprintf(buffer, sizeof buffer, " %lld/%lld (%d%%)", static_cast<long long>(done_),
                static_cast<long long>(total_), static_cast<int>(std::floor(100.0 * fraction())));
  line += buffer;
  if (!detail.empty()) line.append("  ").append(detail);
  const double units_per_second = rate();
  if (units_per_second >= 1.0) {
    // One decimal while it matters: "2.5 gen/s", "1250 loop/s".
    std::snprintf(buffer, sizeof buffer, "  %.*f %.*s/s", units_per_second < 10.0 ? 1 : 0, units_per_second,
                  static_cast<int>(unit.size()), unit.data());
    line += buffer;
  } else if (units_per_second > 0.0) {
    line += "  " + format_duration(1.0 / units_per_second) + "/" + std::string(unit);
  }
  line += "  elapsed " + format_duration(elapsed_seconds());
  const std::optional<double> eta = eta_seconds();
  line += "  ETA " + (eta ? format_duration(*eta) : std::string("?"));
  return line;
}

bool ProgressMeter::report_due(double min_interval_seconds, int steps) const {
  if (done_ == last_report_done_) return false;  // nothing new to say
  if (done_ == total_) return true;
  // Integer arithmetic: 3 of 10 units is exactly step 3 of 10, not 2.999...
  if (steps > 0 && done_ * steps / total_ > last_report_done_ * steps / total_) return true;
  return clock_() - last_report_time_ >= min_interval_seconds;
}

void ProgressMeter::mark_reported() {
  last_report_time_ = clock_();
  last_report_done_ = done_;
}

}  // namespace metaevo
