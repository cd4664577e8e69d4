#include "cli/progress_display.hpp"

#include <unistd.h>

#include <utility>

namespace metaevo::cli {

ProgressDisplay::ProgressDisplay(std::FILE* stream, bool interactive, std::string label, std::string unit,
                                 ProgressMeter meter)
    : stream_(stream), interactive_(interactive), label_(std::move(label)), unit_(std::move(unit)),
      meter_(std::move(meter)) {}

ProgressDisplay::ProgressDisplay(std::FILE* stream, std::string label, std::string unit, ProgressMeter meter)
    : ProgressDisplay(stream, ::isatty(::fileno(stream)) == 1, std::move(label), std::move(unit), std::move(meter)) {}

ProgressDisplay::~ProgressDisplay() { finish(); }

void ProgressDisplay::update(std::int64_t done, std::string_view detail) {
  meter_.set_done(done);
  if (meter_.elapsed_seconds() < quiet_seconds_) return;
  const bool due = interactive_ ? meter_.report_due(terminal_interval_seconds, 0)
                                : meter_.report_due(log_interval_seconds, log_steps);
  if (!due) return;
  meter_.mark_reported();
  std::string line = meter_.status_line(label_, unit_, detail);
  if (interactive_) {
    status_ = std::move(line);
    std::fprintf(stream_, "\r\033[K%s", status_.c_str());  // \033[K: erase the rest of the old line
    status_shown_ = true;
  } else {
    std::fprintf(stream_, "%s\n", line.c_str());
  }
  std::fflush(stream_);
}

void ProgressDisplay::message(std::string_view line) {
  const bool redraw = status_shown_;
  clear_status();
  std::fprintf(stream_, "%.*s\n", static_cast<int>(line.size()), line.data());
  if (redraw) {
    std::fputs(status_.c_str(), stream_);
    status_shown_ = true;
  }
  std::fflush(stream_);
}

void ProgressDisplay::finish() {
  if (!status_shown_) return;
  std::fputc('\n', stream_);
  std::fflush(stream_);
  status_shown_ = false;
}

void ProgressDisplay::clear_status() {
  if (!status_shown_) return;
  std::fputs("\r\033[K", stream_);
  status_shown_ = false;
}

}  // namespace metaevo::cli
