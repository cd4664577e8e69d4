// ProgressMeter arithmetic and formatting, on a clock the test moves by hand (no sleeping).
#include "metaevo/core/progress.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace metaevo {
namespace {

struct ManualClock {
  double now = 1000.0;  // any origin
  MonotonicSeconds function() {
    return [this] { return now; };
  }
};

TEST(FormatDuration, PicksTheUnitsByMagnitude) {
  EXPECT_EQ(format_duration(0.0), "0.0s");
  EXPECT_EQ(format_duration(0.44), "0.4s");
  EXPECT_EQ(format_duration(42.0), "42.0s");
  EXPECT_EQ(format_duration(59.96), "60.0s");  // %.1f rounds; still under a minute
  EXPECT_EQ(format_duration(60.0), "1m00s");
  EXPECT_EQ(format_duration(95.0), "1m35s");
  EXPECT_EQ(format_duration(3599.9), "59m59s");
  EXPECT_EQ(format_duration(3600.0), "1h00m");
  EXPECT_EQ(format_duration(2 * 3600 + 5 * 60 + 59), "2h05m");
  EXPECT_EQ(format_duration(3 * 86400 + 4 * 3600 + 120), "3d04h");
  EXPECT_EQ(format_duration(-1.0), "?");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "?");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "?");
}

TEST(ProgressMeter, RateAndEtaFromTheUnitsDoneSinceTheStart) {
  ManualClock clock;
  ProgressMeter meter(300, 0, clock.function());
  EXPECT_EQ(meter.rate(), 0.0);
  EXPECT_FALSE(meter.eta_seconds().has_value());
  clock.now += 60.0;
  meter.set_done(120);
  EXPECT_DOUBLE_EQ(meter.elapsed_seconds(), 60.0);
  EXPECT_DOUBLE_EQ(meter.rate(), 2.0);
  ASSERT_TRUE(meter.eta_seconds().has_value());
  EXPECT_DOUBLE_EQ(*meter.eta_seconds(), 90.0);
  EXPECT_DOUBLE_EQ(meter.fraction(), 0.4);
  EXPECT_EQ(meter.status_line("generation", "gen"), "generation 120/300 (40%)  2.0 gen/s  elapsed 1m00s  ETA 1m30s");
  EXPECT_EQ(meter.status_line("generation", "gen", "best -4.81"),
            "generation 120/300 (40%)  best -4.81  2.0 gen/s  elapsed 1m00s  ETA 1m30s");
  meter.set_done(300);
  EXPECT_EQ(*meter.eta_seconds(), 0.0);
  EXPECT_EQ(meter.status_line("generation", "gen"), "generation 300/300 (100%)  5.0 gen/s  elapsed 1m00s  ETA 0.0s");
  ProgressMeter fast(10000, 0, clock.function());
  clock.now += 8.0;
  fast.set_done(10000);
  EXPECT_EQ(fast.status_line("tuning", "loop"), "tuning 10000/10000 (100%)  1250 loop/s  elapsed 8.0s  ETA 0.0s");
}

TEST(ProgressMeter, AResumedJobCountsOnlyTheUnitsOfThisSession) {
  ManualClock clock;
  ProgressMeter meter(100, 40, clock.function());
  EXPECT_EQ(meter.done(), 40);
  clock.now += 30.0;
  meter.set_done(50);  // 10 units in 30 s
  EXPECT_DOUBLE_EQ(meter.rate(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*meter.eta_seconds(), 150.0);
  // Below one unit a second the rate reads as time per unit.
  EXPECT_EQ(meter.status_line("generation", "gen"), "generation 50/100 (50%)  3.0s/gen  elapsed 30.0s  ETA 2m30s");
  meter.set_done(10);  // never below where it started, never above the total
  EXPECT_EQ(meter.done(), 40);
  meter.set_done(1000);
  EXPECT_EQ(meter.done(), 100);
}

TEST(ProgressMeter, AnEmptyJobIsDone) {
  ManualClock clock;
  const ProgressMeter meter(0, 0, clock.function());
  EXPECT_EQ(meter.fraction(), 1.0);
  EXPECT_EQ(*meter.eta_seconds(), 0.0);
  EXPECT_FALSE(meter.report_due(0.0, 10));
}

TEST(ProgressMeter, ReportsAtEachTenthAtTheEndAndAfterTheInterval) {
  ManualClock clock;
  ProgressMeter meter(30, 0, clock.function());
  std::vector<std::int64_t> reported;
  for (std::int64_t done = 1; done <= 30; ++done) {
    clock.now += 0.5;  // 15 s in all: the 60 s interval never passes
    meter.set_done(done);
    if (meter.report_due(60.0, 10)) {
      reported.push_back(done);
      meter.mark_reported();
    }
  }
  EXPECT_EQ(reported, (std::vector<std::int64_t>{3, 6, 9, 12, 15, 18, 21, 24, 27, 30}));

  // Slow units: the interval reports between the tenths; no news, no line.
  ProgressMeter slow(1000, 0, clock.function());
  clock.now += 61.0;
  EXPECT_FALSE(slow.report_due(60.0, 10));
  slow.set_done(1);
  EXPECT_TRUE(slow.report_due(60.0, 10));
  slow.mark_reported();
  clock.now += 10.0;
  slow.set_done(2);
  EXPECT_FALSE(slow.report_due(60.0, 10));
  EXPECT_TRUE(slow.report_due(5.0, 0));
}

}  // namespace
}  // namespace metaevo
