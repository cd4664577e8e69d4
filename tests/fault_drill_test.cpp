// Fault drills (issue 19, item 4): a fault is made to happen in a real run of the metaevo command,
// and the test checks that the job ends (no hang), that the run file is left resumable, and that
// `metaevo resume` finishes to exactly the uninterrupted run. docs/reliability.md lists them.
//   - A worker rank killed with SIGKILL mid-run under mpirun (Open MPI 4.1 has no fault-tolerant
//     MPI: the whole job ends).
//   - A plugin's task family that segfaults inside an evaluation, in one process and on an MPI
//     worker: the process dies of the signal after one stderr line naming the plugin and the
//     evaluation (metaevo/core/crash_report.hpp).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "metaevo/core/error.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

// Generous bounds: the suite shares two cores with other builds.
constexpr auto job_end_limit = std::chrono::seconds(120);
constexpr auto checkpoint_wait_limit = std::chrono::seconds(120);

std::string cli() { return METAEVO_CLI_PATH; }

std::string mpirun(int ranks) {
  return "mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " + cli();
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The generations a run file lists now, or -1 while it is missing or being replaced.
std::int64_t stored_generations(const std::filesystem::path& file) {
  try {
    std::error_code ignored;
    return std::filesystem::exists(file, ignored) ? read_run_file(file, false).generations : -1;
  } catch (const Error&) {
    return -1;
  }
}

/// The ids of this machine's processes whose command line contains `part` (not this test's own).
/// With `rank` >= 0, only the MPI rank of that number (OMPI_COMM_WORLD_RANK in its environment,
/// which mpirun sets for each rank it starts and never for itself).
std::vector<pid_t> processes_with(const std::string& part, int rank = -1) {
  std::vector<pid_t> found;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    std::string command_line = read_text(entry.path() / "cmdline");
    std::replace(command_line.begin(), command_line.end(), '\0', ' ');
    if (command_line.find(part) == std::string::npos) continue;
    if (rank >= 0) {
      std::string environment = read_text(entry.path() / "environ");
      environment.push_back('\0');
      if (environment.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') == std::string::npos) {
        continue;
      }
    }
    found.push_back(pid);
  }
  return found;
}

/// A metaevo job started in the background: its combined output and exit status land in files.
class BackgroundJob {
 public:
  BackgroundJob(const std::string& command, const TemporaryPath& output) : output_(output.string()) {
    std::string line = "(";
    line += command + " > " + log_.string() + " 2>&1; echo $? > " + status_.string() + ") > /dev/null 2>&1 &";
    run_command(line);
  }
  /// Kills whatever is left of the job (a test that failed while it ran): every process naming its file.
  ~BackgroundJob() {
    if (!ended()) {
      for (const pid_t pid : processes_with("--out " + output_)) ::kill(pid, SIGKILL);
    }
  }
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;

  bool ended() const { return std::filesystem::exists(status_.path()) && !read_text(status_.path()).empty(); }
  /// Waits for the job to end; false when it has not within `limit`.
  bool wait(std::chrono::seconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ended()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  int status() const { return std::atoi(read_text(status_.path()).c_str()); }
  std::string output() const { return read_text(log_.path()); }

 private:
  std::string output_;
  TemporaryPath log_{"_job.log"};
  TemporaryPath status_{"_job.status"};
};

/// Waits until the run file lists at least `generations`; returns what it lists then (-1: never).
std::int64_t wait_for_generations(const std::filesystem::path& file, std::int64_t generations, const BackgroundJob& job) {
  const auto deadline = std::chrono::steady_clock::now() + checkpoint_wait_limit;
  std::int64_t stored = stored_generations(file);
  while (stored < generations && !job.ended() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stored = stored_generations(file);
  }
  return stored;
}

/// The N of "at generation N of" in a resume's output, or -1.
std::int64_t resumed_from(const std::string& output) {
  std::smatch match;
  return std::regex_search(output, match, std::regex("at generation ([0-9]+) of")) ? std::stoll(match[1]) : -1;
}

/// Resumes `file` (after copying it to `copy`) in one process and, the copy, with mpirun -np 3; both
/// must start no earlier than `checkpointed` and finish to `reference`'s results.
void expect_both_resumes_give(const std::filesystem::path& reference, const TemporaryPath& file, const TemporaryPath& copy,
                              std::int64_t checkpointed) {
  testing_support::copy_run_file(file.path(), copy.path());
  for (const bool distributed : {false, true}) {
    SCOPED_TRACE(distributed ? "resumed with mpirun -np 3" : "resumed in one process");
    const TemporaryPath& resumed = distributed ? copy : file;
    const std::string command = "timeout 300 " + (distributed ? mpirun(3) : cli()) + " resume " +
                                resumed.string();
    const auto start = std::chrono::steady_clock::now();
    const auto result = run_command(command);
    ASSERT_EQ(result.exit_status, 0) << command << "\n" << result.output;
    std::cout << "[ timing   ] " << command.substr(0, 40) << "... resume took "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
    const std::int64_t start_generation = resumed_from(result.output);
    EXPECT_GE(start_generation, checkpointed) << "a generation checkpointed before the fault was lost\n" << result.output;
    testing_support::expect_same_results(reference, resumed.path());
    testing_support::expect_only_listed_segments(resumed.path(), read_run_file(resumed.path()).segments);
  }
}

// ------------------------------------------------------------------------------------------------
// A worker rank killed mid-run.

// Each evaluation sleeps about 50 ms (2 tasks of 5 steps, each gradient 1 ms, and the inner loop's
// further loss evaluations), so workers spend nearly all their time inside evaluations and the kill
// lands in one; 12 generations of 6 take about 4 s in one process, 2 s on 3 workers.
constexpr const char* worker_kill_config = R"([run]
seed = 19
generations = 12

[ga]
population_size = 6
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 5
holdout_tasks = 0

[checkpoint]
every_generations = 1

[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.5 }

[[tasks]]
family = "synthetic"
dimension = 3
step_sleep_seconds = 0.001
)";

TEST(FaultDrill, AWorkerRankKilledMidRunEndsTheJobAndResumeGivesTheUninterruptedRun) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << worker_kill_config;
  TemporaryPath reference("_reference.h5");
  const auto uninterrupted = run_command(cli() + " run " + config.string() + " --quiet --out " + reference.string());
  ASSERT_EQ(uninterrupted.exit_status, 0) << uninterrupted.output;

  TemporaryPath output(".h5");
  const BackgroundJob job(mpirun(4) + " run " + config.string() + " --out " + output.string(), output);
  const std::int64_t at_kill = wait_for_generations(output.path(), 3, job);
  ASSERT_GE(at_kill, 3) << "no third checkpoint\n" << job.output();
  ASSERT_LT(at_kill, 12) << "the run ended before the kill; make it longer\n" << job.output();
  // Rank 2: a worker (rank 0 is the master); not mpirun, whose environment has no rank.
  const std::vector<pid_t> worker = processes_with("--out " + output.string(), 2);
  ASSERT_EQ(worker.size(), 1u) << "cannot tell worker rank 2's process";
  ASSERT_EQ(::kill(worker.front(), SIGKILL), 0);
  const auto killed = std::chrono::steady_clock::now();

  ASSERT_TRUE(job.wait(job_end_limit)) << "the job still runs " << job_end_limit.count() << " s after a worker died\n"
                                       << job.output();
  std::cout << "[ timing   ] the job ended "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count()
            << " s after the kill, status " << job.status() << "\n";
  EXPECT_NE(job.status(), 0) << job.output();
  EXPECT_LT(stored_generations(output.path()), 12) << "the job went on without the worker\n" << job.output();
  const RunFileContents left = read_run_file(output.path());
  EXPECT_TRUE(left.has_checkpoint);
  EXPECT_GE(left.generations, at_kill) << "a checkpoint stored before the kill was lost";

  TemporaryPath copy("_copy.h5");
  expect_both_resumes_give(reference.path(), output, copy, at_kill);
}

// ------------------------------------------------------------------------------------------------
// A plugin that crashes its process inside an evaluation.

std::string segfault_plugin() { return std::string(METAEVO_TEST_PLUGIN_DIR) + "/libmetaevo_test_plugin_segfault.so"; }

// 4 genomes x 2 tasks: a process that evaluates everything samples 8 tasks a generation.
constexpr const char* segfault_config = R"([run]
seed = 23
generations = 6

[ga]
population_size = 4
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 0
validation_tasks = 0

[checkpoint]
every_generations = 1

[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.5 }

[[tasks]]
family = "segfaulting_quadratic"
dimension = 4
)";

// The 21st task a process samples crashes: in one process the first task of generation 2's third
// genome; on a worker of two, never before generation 2 (21 tasks are more than two generations').
// No core files; in the sanitizer build AddressSanitizer leaves the planted segfault alone (its
// report would fail the suite, docs/testing.md), so the process dies of the signal there too.
constexpr const char* crash_environment =
    "ulimit -c 0; ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:handle_segv=0\" METAEVO_TEST_SEGFAULT_AT=21 ";

class SegfaultingPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(config_.path()) << segfault_config;
    const auto uninterrupted = run_command(cli() + " run " + config_.string() + " --quiet --out " +
                                           reference_.string() + " --plugin " + segfault_plugin());
    ASSERT_EQ(uninterrupted.exit_status, 0) << uninterrupted.output;
  }

  /// Runs the crashing job; checks its status and its line; returns the generation the line names.
  std::int64_t crash(const std::string& launcher, const TemporaryPath& output) {
    // The group's 2>&1 takes the shell's own "Segmentation fault" too; the status is echoed, as
    // popen's would only say "killed by a signal".
    const std::string command = "{ " + std::string(crash_environment) + "timeout 300 " + launcher + " run " +
                                config_.string() + " --quiet --out " + output.string() + " --plugin " + segfault_plugin() +
                                "; echo status=$?; }";
    const auto start = std::chrono::steady_clock::now();
    const auto job = run_command(command);
    std::cout << "[ timing   ] the crashing job took "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
    std::smatch status;
    EXPECT_TRUE(std::regex_search(job.output, status, std::regex("status=([0-9]+)"))) << job.output;
    const int exit_status = status.empty() ? -1 : std::stoi(status[1]);
    EXPECT_NE(exit_status, 124) << "the job hung\n" << job.output;
    EXPECT_NE(exit_status, 0) << job.output;
    if (launcher == cli()) {
      EXPECT_EQ(exit_status, 128 + SIGSEGV) << "not killed by the signal\n" << job.output;
    }
    const std::regex line("metaevo: (rank [0-9]+: )?fatal signal 11 \\(SIGSEGV\\) at address 0x0 while evaluating "
                          "genome ([0-9]+) of generation ([0-9]+): task [0-9]+ of family \"segfaulting_quadratic\" "
                          "\\(plugin ([^)]+)\\) with update rule \"sgd\"\n");
    std::smatch match;
    if (!std::regex_search(job.output, match, line)) {
      ADD_FAILURE() << "no crash line naming the plugin and the evaluation:\n" << job.output;
      return -1;
    }
    EXPECT_EQ(match[4].str(), std::filesystem::path(segfault_plugin()).lexically_normal().string());
    // Under mpirun a worker crashes, and says which rank it is.
    EXPECT_EQ(match[1].str().empty(), launcher == cli()) << match[0];
    if (launcher != cli()) {
      EXPECT_NE(match[1].str(), "rank 0: ") << "the master does not evaluate";
    }
    const std::int64_t genome = std::stoll(match[2]);
    const std::int64_t generation = std::stoll(match[3]);
    // The line names a genome that generation evaluates in the uninterrupted run.
    const std::vector<std::int64_t> ids = testing_support::read_int64_dataset(reference_.path(), "/generations/genome_id");
    const auto row = ids.begin() + std::min<std::ptrdiff_t>(generation * 4, static_cast<std::ptrdiff_t>(ids.size()));
    EXPECT_NE(std::find(row, std::min(row + 4, ids.end()), genome), std::min(row + 4, ids.end()))
        << "genome " << genome << " is not in generation " << generation;
    // Nothing checkpointed is lost, and the file stays a resumable run.
    const RunFileContents left = read_run_file(output.path());
    EXPECT_TRUE(left.has_checkpoint);
    EXPECT_GE(left.generations, 1) << "the crash came before the first checkpoint";
    EXPECT_LE(left.generations, generation);
    return generation;
  }

  TemporaryPath config_{"_config.toml"};
  TemporaryPath reference_{"_reference.h5"};
};

TEST_F(SegfaultingPlugin, InOneProcessTheRunDiesOfTheSignalWithALineNamingThePluginAndResumeRecovers) {
  TemporaryPath output(".h5");
  const std::int64_t generation = crash(cli(), output);
  EXPECT_EQ(generation, 2);  // the 21st task of 8 a generation
  const std::int64_t checkpointed = read_run_file(output.path()).generations;
  TemporaryPath copy("_copy.h5");
  expect_both_resumes_give(reference_.path(), output, copy, checkpointed);
}

TEST_F(SegfaultingPlugin, OnAnMpiWorkerTheJobEndsWithTheWorkersLineAndResumeRecovers) {
  TemporaryPath output(".h5");
  const std::int64_t generation = crash(mpirun(3), output);
  EXPECT_GE(generation, 2);
  const std::int64_t checkpointed = read_run_file(output.path()).generations;
  TemporaryPath copy("_copy.h5");
  expect_both_resumes_give(reference_.path(), output, copy, checkpointed);
}

}  // namespace
}  // namespace metaevo
