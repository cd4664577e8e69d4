#include "metaevo/rules/learning_rate_schedule.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <utility>

namespace metaevo {

namespace {

/// Half-cosine from 1 down towards final_fraction over `steps` steps, at step s (1-based, clamped to
/// [1, steps]). Step 1 is the full rate; like PyTorch's CosineAnnealingLR, step `steps` is one step
/// short of the floor, so the last step still moves the parameters when final_fraction is 0.
double cosine_factor(std::int64_t s, std::int64_t steps, double final_fraction) {
  const std::int64_t clamped = std::clamp<std::int64_t>(s, 1, steps);
  const double progress = static_cast<double>(clamped - 1) / static_cast<double>(steps);
  return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace

double LearningRateSchedule::factor(std::int64_t t) const {
  // A degenerate total (< 1) behaves as a one-step schedule rather than dividing by zero.
  const std::int64_t total = std::max<std::int64_t>(total_steps, 1);
  const std::int64_t step = std::clamp<std::int64_t>(t, 1, total);  // past the end: keep the last value
  switch (kind) {
    case ScheduleKind::constant:
      return 1.0;
    case ScheduleKind::cosine:
      return cosine_factor(step, total, final_fraction);
    case ScheduleKind::warmup_cosine: {
      const auto rounded = static_cast<std::int64_t>(std::llround(warmup_fraction * static_cast<double>(total)));
      const std::int64_t warmup = std::clamp<std::int64_t>(rounded, 1, total);
      if (step <= warmup) return static_cast<double>(step) / static_cast<double>(warmup);
      // The cosine phase is the plain cosine schedule over the remaining steps, restarted at 1.
      return cosine_factor(step - warmup, total - warmup, final_fraction);
    }
  }
  return 1.0;
}

}  // namespace metaevo
