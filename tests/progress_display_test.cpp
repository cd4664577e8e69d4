// ProgressDisplay (the command's progress lines) on a clock the test moves by hand: what a log
// file gets, and a phase that stays silent unless it is long.
#include "cli/progress_display.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace metaevo::cli {
namespace {

struct ManualClock {
  double now = 50.0;
  MonotonicSeconds function() {
    return [this] { return now; };
  }
};

/// What was written to a temporary stream.
std::string contents(std::FILE* stream) {
  std::fflush(stream);
  std::rewind(stream);
  std::string text;
  for (int c = std::fgetc(stream); c != EOF; c = std::fgetc(stream)) text.push_back(static_cast<char>(c));
  return text;
}

TEST(ProgressDisplay, ALogGetsALineAtEachTenthNotAtEveryUnit) {
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  ManualClock clock;
  {
    ProgressDisplay display(log, false, "generation", "gen", ProgressMeter(100, 0, clock.function()));
    for (int done = 1; done <= 100; ++done) {
      clock.now += 0.1;
      display.update(done);
    }
  }
  const std::string text = contents(log);
  std::fclose(log);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10) << text;
  EXPECT_NE(text.find("generation 10/100 (10%)  10.0 gen/s  elapsed 1.0s  ETA 9.0s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("generation 100/100 (100%)"), std::string::npos) << text;
  EXPECT_EQ(text.find("generation 11/100"), std::string::npos) << text;
}

TEST(ProgressDisplay, AQuietStartPrintsNothingForAShortPhaseAndLinesForALongOne) {
  ManualClock clock;
  std::FILE* short_log = std::tmpfile();
  ASSERT_NE(short_log, nullptr);
  {
    ProgressDisplay display(short_log, false, "reading generation", "gen", ProgressMeter(10, 0, clock.function()));
    display.show_after(1.0);
    for (int done = 1; done <= 10; ++done) {
      clock.now += 0.05;  // all ten in half a second
      display.update(done);
    }
  }
  EXPECT_EQ(contents(short_log), "");
  std::fclose(short_log);

  std::FILE* long_log = std::tmpfile();
  ASSERT_NE(long_log, nullptr);
  {
    ProgressDisplay display(long_log, false, "reading generation", "gen", ProgressMeter(10, 0, clock.function()));
    display.show_after(1.0);
    for (int done = 1; done <= 10; ++done) {
      clock.now += 0.5;  // five seconds in all
      display.update(done);
    }
  }
  const std::string text = contents(long_log);
  std::fclose(long_log);
  EXPECT_EQ(text.find("reading generation 1/10"), std::string::npos) << text;  // within the quiet second
  EXPECT_NE(text.find("reading generation 2/10"), std::string::npos) << text;
  EXPECT_NE(text.find("reading generation 10/10 (100%)"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA"), std::string::npos) << text;
}

}  // namespace
}  // namespace metaevo::cli
