#include "metaevo/rules/learning_rate_schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace metaevo {
namespace {

constexpr double pi = std::numbers::pi;

LearningRateSchedule make_schedule(ScheduleKind kind, std::int64_t total, double warmup, double final_fraction) {
  LearningRateSchedule schedule;
  schedule.kind = kind;
  schedule.total_steps = total;
  schedule.warmup_fraction = warmup;
  schedule.final_fraction = final_fraction;
  return schedule;
}

TEST(LearningRateScheduleTest, KindNamesRoundTrip) {
  for (ScheduleKind kind : {ScheduleKind::constant, ScheduleKind::cosine, ScheduleKind::warmup_cosine})
    EXPECT_EQ(from_string<ScheduleKind>(to_string(kind)), kind);
  EXPECT_EQ(to_string(ScheduleKind::warmup_cosine), "warmup_cosine");
  EXPECT_FALSE(from_string<ScheduleKind>("linear").has_value());
  EXPECT_FALSE(from_string<ScheduleKind>("Cosine").has_value());
}

TEST(LearningRateScheduleTest, ConstantIsOneEverywhere) {
  const auto schedule = make_schedule(ScheduleKind::constant, 10, 0.1, 0.5);
  for (std::int64_t t : {1, 2, 5, 10, 11, 1000}) EXPECT_EQ(schedule.factor(t), 1.0) << "t=" << t;
}

TEST(LearningRateScheduleTest, CosineStartMiddleEnd) {
  const double m = 0.2;
  const auto schedule = make_schedule(ScheduleKind::cosine, 10, 0.1, m);
  EXPECT_DOUBLE_EQ(schedule.factor(1), 1.0);
  // t = 6: (t-1)/T = 0.5, cos(pi/2) = 0, so halfway between 1 and m.
  EXPECT_NEAR(schedule.factor(6), 0.2 + 0.8 * 0.5, 1e-15);
  // t = 3: (t-1)/T = 0.2.
  EXPECT_NEAR(schedule.factor(3), 0.2 + 0.8 * 0.5 * (1.0 + std::cos(0.2 * pi)), 1e-15);
  // Last step: (T-1)/T = 0.9, one step short of the floor m (PyTorch CosineAnnealingLR convention).
  const double last = 0.2 + 0.8 * 0.5 * (1.0 + std::cos(0.9 * pi));
  EXPECT_NEAR(schedule.factor(10), last, 1e-15);
  EXPECT_GT(schedule.factor(10), m);
  EXPECT_LT(schedule.factor(10), m + 0.02);
  // Monotone decreasing over the run.
  for (std::int64_t t = 2; t <= 10; ++t) EXPECT_LT(schedule.factor(t), schedule.factor(t - 1)) << "t=" << t;
}

TEST(LearningRateScheduleTest, CosineEndsAtFinalFractionForLongRuns) {
  for (double m : {0.0, 0.3, 1.0}) {
    const auto schedule = make_schedule(ScheduleKind::cosine, 10000, 0.1, m);
    EXPECT_NEAR(schedule.factor(10000), m, 1e-7) << "m=" << m;
    EXPECT_DOUBLE_EQ(schedule.factor(1), 1.0);
  }
}

TEST(LearningRateScheduleTest, StepsPastTotalKeepTheLastValue) {
  const auto cosine = make_schedule(ScheduleKind::cosine, 10, 0.1, 0.0);
  EXPECT_EQ(cosine.factor(11), cosine.factor(10));
  EXPECT_EQ(cosine.factor(1000000), cosine.factor(10));
  const auto warmup = make_schedule(ScheduleKind::warmup_cosine, 10, 0.3, 0.1);
  EXPECT_EQ(warmup.factor(12), warmup.factor(10));
  // A warmup covering the whole run stays at the peak afterwards.
  const auto all_warmup = make_schedule(ScheduleKind::warmup_cosine, 2, 0.99, 0.0);
  EXPECT_DOUBLE_EQ(all_warmup.factor(1), 0.5);
  EXPECT_DOUBLE_EQ(all_warmup.factor(2), 1.0);
  EXPECT_DOUBLE_EQ(all_warmup.factor(3), 1.0);
}

TEST(LearningRateScheduleTest, WarmupCosineRampsThenDecays) {
  const double m = 0.1;
  // T = 10, warmup 0.3: W = 3 warmup steps, then the cosine over the remaining 7 steps.
  const auto schedule = make_schedule(ScheduleKind::warmup_cosine, 10, 0.3, m);
  EXPECT_NEAR(schedule.factor(1), 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(schedule.factor(2), 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(schedule.factor(3), 1.0);  // peak
  EXPECT_DOUBLE_EQ(schedule.factor(4), 1.0);  // first cosine step restarts at the peak
  EXPECT_NEAR(schedule.factor(5), 0.1 + 0.9 * 0.5 * (1.0 + std::cos(pi * 1.0 / 7.0)), 1e-15);
  EXPECT_NEAR(schedule.factor(10), 0.1 + 0.9 * 0.5 * (1.0 + std::cos(pi * 6.0 / 7.0)), 1e-15);
  for (std::int64_t t = 1; t <= 10; ++t) {
    EXPECT_LE(schedule.factor(t), 1.0);
    EXPECT_GE(schedule.factor(t), m);
  }
}

TEST(LearningRateScheduleTest, WarmupLengthIsRoundedAndAtLeastOne) {
  // 0.25 * 10 = 2.5 rounds to W = 3 (half away from zero).
  const auto rounded = make_schedule(ScheduleKind::warmup_cosine, 10, 0.25, 0.0);
  EXPECT_NEAR(rounded.factor(1), 1.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(rounded.factor(3), 1.0);
  // Zero warmup still has W = 1: the first step is the peak, then the cosine over T - 1 steps.
  const auto none = make_schedule(ScheduleKind::warmup_cosine, 5, 0.0, 0.0);
  EXPECT_DOUBLE_EQ(none.factor(1), 1.0);
  EXPECT_DOUBLE_EQ(none.factor(2), 1.0);
  EXPECT_NEAR(none.factor(3), 0.5 * (1.0 + std::cos(pi * 1.0 / 4.0)), 1e-15);
}

TEST(LearningRateScheduleTest, SingleStepAndDegenerateTotals) {
  for (ScheduleKind kind : {ScheduleKind::constant, ScheduleKind::cosine, ScheduleKind::warmup_cosine}) {
    EXPECT_DOUBLE_EQ(make_schedule(kind, 1, 0.5, 0.0).factor(1), 1.0) << to_string(kind);
    EXPECT_DOUBLE_EQ(make_schedule(kind, 0, 0.5, 0.0).factor(1), 1.0) << to_string(kind);
    EXPECT_DOUBLE_EQ(make_schedule(kind, 10, 0.0, 0.0).factor(0), make_schedule(kind, 10, 0.0, 0.0).factor(1));
  }
}

}  // namespace
}  // namespace metaevo
