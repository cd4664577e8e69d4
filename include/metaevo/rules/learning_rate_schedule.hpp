#pragma once
// Learning-rate schedules: a multiplier on an update rule's base learning rate at inner step t.
#include <cstdint>
#include <optional>
#include <string_view>

#include "metaevo/core/enum_names.hpp"

namespace metaevo {

enum class ScheduleKind { constant, cosine, warmup_cosine };
template <>
struct EnumNames<ScheduleKind> {
  static constexpr std::array<EnumName<ScheduleKind>, 3> table{{
      {ScheduleKind::constant, "constant"},
      {ScheduleKind::cosine, "cosine"},
      {ScheduleKind::warmup_cosine, "warmup_cosine"},
  }};
};

/// factor(t) for t = 1..total_steps:
///  - constant:      1
///  - cosine:        m + (1 - m) (1 + cos(pi (t-1) / T)) / 2, with m = final_fraction, T = total_steps
///  - warmup_cosine: t / W for t <= W (W = round(warmup_fraction T), at least 1), then cosine over the
///                   remaining T - W steps
/// Steps past total_steps keep the last value.
struct LearningRateSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  std::int64_t total_steps = 1;
  double warmup_fraction = 0.1;  // warmup_cosine only, in [0, 1)
  double final_fraction = 0.0;   // learning rate at the end relative to the base, in [0, 1]

  double factor(std::int64_t t) const;
};

}  // namespace metaevo
