#include "metaevo/core/subprocess.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "metaevo/core/error.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

SubprocessOptions shell(const std::string& script) {
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", script};
  options.environment = {"PATH=/usr/bin:/bin"};
  options.time_limit_seconds = 20.0;
  options.kill_grace_seconds = 0.5;
  return options;
}

/// A process is gone once it no longer exists or is a zombie waiting for init to reap it.
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto state = line.find(") ");
  return state != std::string::npos && line[state + 2] == 'Z';
}

int open_descriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

TEST(Subprocess, CapturesStdoutStderrTailAndStatus) {
  const SubprocessResult result = run_subprocess(shell("echo out; echo err1 >&2; echo err2 >&2; exit 3"));
  EXPECT_EQ(result.ending, SubprocessResult::Ending::exited);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.stdout_text, "out\n");
  EXPECT_EQ(result.stderr_tail, "err1\nerr2\n");
  EXPECT_EQ(result.describe(shell("")), "exited with status 3");
}

TEST(Subprocess, FeedsStdinAndPassesTheEnvironmentAndWorkdir) {
  SubprocessOptions options = shell("cat; echo \"$GREETING\"; pwd");
  options.stdin_text = std::string(300000, 'x');  // more than a pipe holds
  options.environment.push_back("GREETING=hello");
  options.workdir = "/tmp";
  const SubprocessResult result = run_subprocess(options);
  ASSERT_TRUE(result.succeeded()) << result.describe(options);
  EXPECT_EQ(result.stdout_text, std::string(300000, 'x') + "hello\n/tmp\n");
}

TEST(Subprocess, RelativeProgramPathsStartFromTheWorkdirAndNamesFromPath) {
  SubprocessOptions relative = shell("echo relative");
  relative.argv[0] = "./sh";
  relative.workdir = "/bin";
  EXPECT_EQ(run_subprocess(relative).stdout_text, "relative\n");
  SubprocessOptions named = shell("echo named");
  named.argv[0] = "sh";
  EXPECT_EQ(run_subprocess(named).stdout_text, "named\n");
}

TEST(Subprocess, ReportsTheSignalThatKilledTheProgram) {
  const SubprocessResult result = run_subprocess(shell("kill -SEGV $$"));
  EXPECT_EQ(result.ending, SubprocessResult::Ending::signaled);
  EXPECT_EQ(result.signal, SIGSEGV);
  EXPECT_EQ(result.describe(shell("")), "was killed by signal 11 (SIGSEGV)");
}

TEST(Subprocess, StopsAProgramThatPrintsTooMuch) {
  SubprocessOptions options = shell("yes");
  options.max_stdout_bytes = 1000;
  const SubprocessResult result = run_subprocess(options);
  EXPECT_EQ(result.ending, SubprocessResult::Ending::output_too_large);
  EXPECT_EQ(result.stdout_text.size(), 1000U);
  EXPECT_EQ(result.describe(options), "printed more than 1000 bytes on stdout (its process group was killed)");
}

TEST(Subprocess, TimeoutKillsTheWholeGroupIncludingChildrenThatIgnoreSigterm) {
  TemporaryPath pid_file(".pid");
  // The child ignores SIGTERM and keeps the output pipes open; the program itself just sleeps.
  SubprocessOptions options = shell("sh -c 'trap \"\" TERM; echo $$ > " + pid_file.string() +
                                    "; exec sleep 30' & sleep 30");
  options.time_limit_seconds = 1.0;
  options.kill_grace_seconds = 0.5;
  const int descriptors = open_descriptors();
  const auto start = std::chrono::steady_clock::now();
  const SubprocessResult result = run_subprocess(options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(result.ending, SubprocessResult::Ending::timed_out);
  EXPECT_EQ(result.describe(options), "ran past its time limit of 1 s (its process group was killed)");
  EXPECT_GE(seconds, 1.0);
  EXPECT_LT(seconds, 1.0 + 0.5 + 1.5);  // the limit, the grace, and slack for a loaded machine
  pid_t child = 0;
  std::ifstream(pid_file.path()) >> child;
  ASSERT_GT(child, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!process_gone(child) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(process_gone(child)) << "the child that ignored SIGTERM survived";
  EXPECT_EQ(open_descriptors(), descriptors);
}

TEST(Subprocess, ChildrenLeftBehindByAFinishedProgramAreKilled) {
  TemporaryPath pid_file(".pid");
  const auto start = std::chrono::steady_clock::now();
  const SubprocessResult result =
      run_subprocess(shell("sh -c 'echo $$ > " + pid_file.string() + "; exec sleep 30' & sleep 0.2; echo done"));
  EXPECT_TRUE(result.succeeded()) << result.describe(shell(""));
  EXPECT_EQ(result.stdout_text, "done\n");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  pid_t child = 0;
  std::ifstream(pid_file.path()) >> child;
  ASSERT_GT(child, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!process_gone(child) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(process_gone(child));
}

TEST(Subprocess, SigtermIsEnoughForAProgramThatHonoursIt) {
  SubprocessOptions options = shell("trap 'echo cleaning up >&2; exit 5' TERM; sleep 30 & wait");
  options.time_limit_seconds = 0.5;
  options.kill_grace_seconds = 10.0;
  const auto start = std::chrono::steady_clock::now();
  const SubprocessResult result = run_subprocess(options);
  EXPECT_EQ(result.ending, SubprocessResult::Ending::timed_out);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  EXPECT_EQ(result.stderr_tail, "cleaning up\n");
}

TEST(Subprocess, ProgramsThatCannotStartThrow) {
  SubprocessOptions missing = shell("");
  missing.argv = {"metaevo-no-such-program"};
  EXPECT_THROW(run_subprocess(missing), Error);
  SubprocessOptions bad_workdir = shell("true");
  bad_workdir.workdir = "/nonexistent-directory";
  try {
    run_subprocess(bad_workdir);
    ADD_FAILURE();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent-directory"), std::string::npos) << error.what();
  }
}

TEST(Subprocess, LastLinesSkipsEmptyLines) {
  EXPECT_EQ(last_lines("a\nb\n\nc\n\n", 2), "b\nc");
  EXPECT_EQ(last_lines("only", 5), "only");
  EXPECT_EQ(last_lines("\n\n", 3), "");
}

}  // namespace
}  // namespace metaevo
