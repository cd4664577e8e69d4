// The fatal-signal line (metaevo/core/crash_report.hpp), in death tests: each child installs the
// handler, describes an evaluation, and dies of a signal, which must stay the cause of death.
#include "metaevo/core/crash_report.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace metaevo {
namespace {

/// Installs the crash report as the only handler: a sanitizer build's own (which would report and
/// exit instead) is set aside first. TheHandlerItReplacedRunsAfterTheLine tests the chaining.
void install_alone(std::string_view label) {
  for (const int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(signal_number, SIG_DFL);
  crash_report::install(label);
}

// Not UBSan's: in the sanitizer build it would report the null store and exit before the signal.
[[noreturn]] __attribute__((no_sanitize("undefined"))) void write_through_null() {
  volatile int* volatile nowhere = nullptr;
  *nowhere = 1;
  std::abort();  // not reached
}

TEST(CrashReportDeathTest, ASegfaultInATaskNamesTheEvaluationThePluginAndStillKillsWithTheSignal) {
  EXPECT_EXIT(
      {
        install_alone("rank 2");
        const crash_report::GenomeScope genome(17);
        crash_report::EvaluationScope evaluation(3, "adam", "");
        evaluation.task(1, "crashing_family", "/plugins/libcrash.so");
        write_through_null();
      },
      ::testing::KilledBySignal(SIGSEGV),
      "^metaevo: rank 2: fatal signal 11 \\(SIGSEGV\\) at address 0x0 while evaluating genome 17 of generation 3: "
      "task 1 of family \"crashing_family\" \\(plugin /plugins/libcrash.so\\) with update rule \"adam\"\n$");
}

TEST(CrashReportDeathTest, ARulesConstructorThatAbortsNamesTheRulesPlugin) {
  EXPECT_EXIT(
      {
        install_alone("");
        crash_report::EvaluationScope evaluation(0, "plugin_rule", "/p/rule.so");  // no genome: a scoring run
        std::abort();
      },
      ::testing::KilledBySignal(SIGABRT),
      "^metaevo: fatal signal 6 \\(SIGABRT\\) while evaluating a baseline or scoring run of generation 0: building "
      "its update rule \"plugin_rule\" \\(plugin /p/rule.so\\)\n$");
}

TEST(CrashReportDeathTest, AfterTheEvaluationASignalIsNotBlamedOnIt) {
  EXPECT_EXIT(
      {
        install_alone("");
        {
          const crash_report::GenomeScope genome(4);
          crash_report::EvaluationScope evaluation(1, "sgd", "");
          evaluation.task(0, "quadratic", "");
        }
        std::raise(SIGFPE);
      },
      ::testing::KilledBySignal(SIGFPE), "^metaevo: fatal signal 8 \\(SIGFPE\\) outside any evaluation\n$");
}

TEST(CrashReportDeathTest, ACrashInAnotherThreadSaysWhichThreadWasEvaluating) {
  EXPECT_EXIT(
      {
        install_alone("");
        const crash_report::GenomeScope genome(9);
        crash_report::EvaluationScope evaluation(5, "sgd", "");
        evaluation.task(2, "quadratic", "");
        std::thread([] { write_through_null(); }).join();
      },
      ::testing::KilledBySignal(SIGSEGV),
      "in a thread other than the evaluating one, which was evaluating genome 9 of generation 5: task 2");
}

TEST(CrashReportDeathTest, AStackOverflowStillGetsItsLine) {
  EXPECT_EXIT(
      {
        install_alone("");
        const crash_report::GenomeScope genome(1);
        crash_report::EvaluationScope evaluation(0, "sgd", "");
        evaluation.task(0, "deep", "");
        // Recursion the compiler cannot turn into a loop (volatile frame, result used), bounded only
        // by a limit it cannot see (8 MB of stack run out long before).
        static volatile int limit = 1 << 30;
        struct Recursion {
          static int depth(int n) {
            if (n >= limit) return n;
            volatile char frame[1024];
            frame[0] = static_cast<char>(n);
            return depth(n + 1) + frame[0];
          }
        };
        std::exit(Recursion::depth(0));
      },
      ::testing::KilledBySignal(SIGSEGV), "fatal signal 11 \\(SIGSEGV\\) at address 0x[0-9a-f]+ while evaluating genome 1");
}

extern "C" void announce_previous_handler(int /*signal_number*/, siginfo_t* info, void* /*context*/) {
  const char* text = info != nullptr && info->si_addr == nullptr ? "previous handler, address null\n" : "previous handler\n";
  [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, text, std::strlen(text));
}

// A handler installed before (Open MPI's backtrace, a sanitizer's report) still runs, after the
// line and with the fault's own information, and the process still dies of the signal.
TEST(CrashReportDeathTest, TheHandlerItReplacedRunsAfterTheLine) {
  EXPECT_EXIT(
      {
        struct sigaction previous {};
        previous.sa_sigaction = announce_previous_handler;
        previous.sa_flags = SA_SIGINFO;
        sigemptyset(&previous.sa_mask);
        sigaction(SIGSEGV, &previous, nullptr);  // in place of a sanitizer's, if any
        crash_report::install("");
        write_through_null();
      },
      ::testing::KilledBySignal(SIGSEGV),
      "^metaevo: fatal signal 11 \\(SIGSEGV\\) at address 0x0 outside any evaluation\nprevious handler, address null\n$");
}

TEST(CrashReport, WithoutInstallTheScopesDoNothing) {
  // The library's users that never install (tests, benchmarks) pay one atomic load per scope.
  EXPECT_FALSE(crash_report::installed());
  const crash_report::GenomeScope genome(1);
  crash_report::EvaluationScope evaluation(0, "sgd", "");
  evaluation.task(0, "quadratic", "");
}

}  // namespace
}  // namespace metaevo
