// Integration tests of the MPI runtime: real mpirun jobs of the metaevo command, several ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>

#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::expect_same_results;
using testing_support::read_int64_attribute;
using testing_support::read_int64_dataset;
using testing_support::TemporaryPath;

// As root mpirun needs --allow-run-as-root; --oversubscribe lets 5 ranks share 2 cores. `timeout`
// turns a hang into a failure instead of a stuck suite.
std::string mpirun(int ranks) {
  return "timeout 120 mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " + METAEVO_CLI_PATH;
}

void write_file(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

constexpr const char* determinism_config = R"([run]
seed = 2024
generations = 4

[ga]
population_size = 10
elite_count = 2
step_size_adaptation = "per_group"

[evaluation]
tasks_per_evaluation = 3
inner_steps = 40
holdout_tasks = 4

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1.0 }
beta1 = { kind = "real", low = 0.5, high = 0.99, group = "moments" }
beta2 = { kind = "real", low = 0.9, high = 0.9999, group = "moments" }
schedule = { kind = "categorical", choices = ["constant", "cosine", "warmup_cosine"] }

[[tasks]]
family = "quadratic"
dimension = 8
condition_number = 50

[[tasks]]
family = "mlp_classification"
dimension = 4
samples = 24
hidden_layers = [6]
)";

TEST(MpiRun, GenerationalResultsAreBitIdenticalAcrossRankCounts) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), determinism_config);
  TemporaryPath single("_single.h5");
  const auto reference = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " +
                                     single.string());
  ASSERT_EQ(reference.exit_status, 0) << reference.output;
  for (int ranks : {1, 2, 3, 5}) {
    SCOPED_TRACE("ranks = " + std::to_string(ranks));
    TemporaryPath output("_np" + std::to_string(ranks) + ".h5");
    const auto run = run_command(mpirun(ranks) + " run " + config.string() + " --quiet --out " + output.string());
    ASSERT_EQ(run.exit_status, 0) << run.output;
    expect_same_results(single.path(), output.path());
  }
}

// Every rank computes float32 tasks with the kernel every rank can use: one rank restricted to the
// generic kernel (as a CPU without AVX2 would be; here through METAEVO_SIMD) makes the whole run
// generic, so it equals a single-process METAEVO_SIMD=generic run, and the run file says so.
TEST(MpiRun, RanksAgreeOnTheFloat32KernelOfTheLeastCapableRank) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), std::string(determinism_config) + "precision = \"float32\"\n");
  TemporaryPath single("_single.h5");
  const auto reference = run_command("METAEVO_SIMD=generic " + std::string(METAEVO_CLI_PATH) + " run " +
                                     config.string() + " --quiet --out " + single.string());
  ASSERT_EQ(reference.exit_status, 0) << reference.output;
  TemporaryPath output(".h5");
  const std::string arguments = " run " + config.string() + " --quiet --out " + output.string();
  // Two application contexts: the master and a worker as they are, then a worker limited to generic.
  const auto run = run_command(mpirun(2) + arguments + " : -np 1 env METAEVO_SIMD=generic " + METAEVO_CLI_PATH +
                               arguments);
  ASSERT_EQ(run.exit_status, 0) << run.output;
  expect_same_results(single.path(), output.path());
  const auto kernel = run_command("h5dump -a /float32_kernel " + output.string());
  EXPECT_NE(kernel.output.find("\"generic\""), std::string::npos) << kernel.output;
}

TEST(MpiRun, WorkersShareTheEvaluationsAndOnlyTheMasterPrints) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), determinism_config);
  TemporaryPath output(".h5");
  const auto run = run_command(mpirun(3) + " run " + config.string() + " --out " + output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_NE(run.output.find("2 worker ranks"), std::string::npos) << run.output;
  // One progress line per generation: a worker that printed would double them.
  std::size_t lines = 0;
  for (std::size_t at = run.output.find("gen    "); at != std::string::npos; at = run.output.find("gen    ", at + 1))
    ++lines;
  EXPECT_EQ(lines, 4u) << run.output;
  // Both workers ran evaluations, and only workers did (the master is rank 0).
  const std::vector<std::int64_t> ranks = read_int64_dataset(output.path(), "/generations/worker_rank");
  EXPECT_EQ(std::set<std::int64_t>(ranks.begin(), ranks.end()), (std::set<std::int64_t>{1, 2}));
}

TEST(MpiRun, RejectedConfigEndsEveryRankWithTheConfigStatus) {
  TemporaryPath config("_config.toml");
  std::string text = determinism_config;
  text.replace(text.find("population_size = 10"), 20, "population_sise = 10");
  write_file(config.path(), text);
  TemporaryPath output(".h5");
  const auto run = run_command(mpirun(3) + " run " + config.string() + " --out " + output.string());
  EXPECT_EQ(run.exit_status, 3) << run.output;
  EXPECT_NE(run.output.find("population_sise"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

TEST(MpiRun, UnwritableOutputAbortsAllRanksWithAClearMessage) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), determinism_config);
  const auto run = run_command(mpirun(3) + " run " + config.string() + " --out /nonexistent-directory/run.h5");
  EXPECT_NE(run.exit_status, 124) << "timed out: a rank hung\n" << run.output;
  EXPECT_EQ(run.exit_status, 4) << run.output;  // the storage status, through MPI_Abort
  EXPECT_NE(run.output.find("storage error"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("/nonexistent-directory/run.h5"), std::string::npos) << run.output;
}

// A synthetic task mix for runtime tests: each evaluation sleeps, some fail on purpose.
std::string synthetic_config(const std::string& extra_run, const std::string& extra_evaluation,
                             const std::string& tasks) {
  return R"([run]
seed = 5
)" + extra_run + R"(
[ga]
population_size = 6
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 5
holdout_tasks = 0
)" + extra_evaluation + R"(
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.5 }
)" + tasks;
}

// The text of a variable-length string dataset (the reasons), over the run's segments.
std::string dump(const std::filesystem::path& file, const std::string& dataset) {
  return testing_support::read_text_dataset(file, dataset);
}

TEST(MpiRun, FaultyEvaluationsAreRecordedAndTheRunGoesOn) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), synthetic_config("generations = 3", "penalty_fitness = 7.5", R"(
[[tasks]]
family = "synthetic"
dimension = 3
fault = "throw"
fault_probability = 0.3

[[tasks]]
family = "synthetic"
dimension = 3
fault = "nan"
fault_probability = 0.3
)"));
  TemporaryPath output(".h5");
  const auto run = run_command(mpirun(3) + " run " + config.string() + " --quiet --out " + output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const RunFileContents contents = read_run_file(output.path());
  EXPECT_EQ(contents.generations, 3);
  const std::string reasons = dump(output.path(), "/generations/reason");
  EXPECT_NE(reasons.find("synthetic fault"), std::string::npos) << reasons;  // the exception's text
  EXPECT_NE(reasons.find("diverged"), std::string::npos) << reasons;         // the NaN loss
  int penalized = 0;
  for (const auto& generation : contents.fitness)
    for (double fitness : generation) penalized += fitness >= 7.5 / 2 ? 1 : 0;  // at least one task penalized
  EXPECT_GT(penalized, 0);
}

TEST(MpiRun, EvaluationPastTheTimeLimitFailsWithAReason) {
  TemporaryPath config("_config.toml");
  // Every step sleeps 50 ms: 2 tasks x 5 steps = 0.5 s per evaluation, the limit is 0.12 s.
  write_file(config.path(), synthetic_config("generations = 1", "time_limit_seconds = 0.12", R"(
[[tasks]]
family = "synthetic"
dimension = 2
step_sleep_seconds = 0.05
)"));
  TemporaryPath output(".h5");
  const auto run = run_command(mpirun(3) + " run " + config.string() + " --quiet --out " + output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const std::vector<std::int64_t> failed = read_int64_dataset(output.path(), "/generations/failed");
  EXPECT_EQ(failed, std::vector<std::int64_t>(6, 1)) << "every evaluation should have failed";
  const std::string reasons = dump(output.path(), "/generations/reason");
  EXPECT_NE(reasons.find("time limit of 0.12 s exceeded"), std::string::npos) << reasons;
}

TEST(MpiRun, SteadyStateModeRunsEveryEvaluationOnAllWorkers) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), synthetic_config("generations = 4\nmode = \"steady_state\"", "", R"(
[[tasks]]
family = "synthetic"
dimension = 4
step_sleep_seconds = 0.001
sleep_tail = "pareto"
)"));
  TemporaryPath output(".h5");
  const auto run = run_command(mpirun(4) + " run " + config.string() + " --out " + output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const RunFileContents contents = read_run_file(output.path());
  EXPECT_EQ(contents.generations, 4);  // 4 batches of population_size evaluations
  // Every genome 0..23 once (the initial 6, then offspring ids 6..23), stored in arrival order.
  std::vector<std::int64_t> ids = read_int64_dataset(output.path(), "/generations/genome_id");
  std::sort(ids.begin(), ids.end());
  std::vector<std::int64_t> expected(24);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(ids, expected);
  // The steady-state path counts what it hands out (a generational run never does): all 24.
  EXPECT_EQ(read_int64_attribute(output.path(), "/checkpoint", "submitted_evaluations"), 24);
  const std::vector<std::int64_t> ranks = read_int64_dataset(output.path(), "/generations/worker_rank");
  EXPECT_EQ(std::set<std::int64_t>(ranks.begin(), ranks.end()), (std::set<std::int64_t>{1, 2, 3}));
}

// SIGUSR1 to mpirun reaches every rank and leaves the job to end on its own: the master stops
// dispatching, stores the finished generations and exits with the interrupted status (75).
TEST(MpiRun, SignalStopsDispatchingAndEndsWithTheInterruptedStatus) {
  TemporaryPath config("_config.toml");
  // 20 ms per evaluation, 3 workers, 6 per generation: about 40 ms a generation, 30 generations.
  write_file(config.path(), synthetic_config("generations = 30", "", R"(
[[tasks]]
family = "synthetic"
dimension = 2
step_sleep_seconds = 0.002
)"));
  TemporaryPath output(".h5");
  TemporaryPath log("_log.txt");
  TemporaryPath status("_status.txt");
  std::string background = "(";  // built by appending: GCC 12 warns falsely on "literal" + std::string&&
  background += mpirun(4);
  const auto started = run_command(background + " run " + config.string() + " --out " + output.string() + " > " +
                                   log.string() + " 2>&1; echo $? > " + status.string() + ") > /dev/null 2>&1 & echo $!");
  const std::string pid = started.output.substr(0, started.output.find_first_not_of("0123456789"));
  ASSERT_FALSE(pid.empty()) << started.output;
  // Wait for three generations, then ask for a clean stop as a batch script would.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto generations_printed = [&] { return std::atoi(run_command("grep -c '^gen' " + log.string()).output.c_str()); };
  while (generations_printed() < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  run_command("pkill -USR1 -f '^mpirun.*" + config.string() + "'");
  const auto waited = run_command("for i in $(seq 600); do kill -0 " + pid +
                                  " 2>/dev/null || break; sleep 0.1; done; kill -0 " + pid + " 2>/dev/null && echo HUNG");
  EXPECT_EQ(waited.output.find("HUNG"), std::string::npos) << "mpirun did not end after SIGUSR1";
  EXPECT_EQ(run_command("cat " + status.string()).output, "75\n");
  const std::string text = run_command("cat " + log.string()).output;
  EXPECT_NE(text.find("interrupted"), std::string::npos) << text;
  const RunFileContents contents = read_run_file(output.path());
  EXPECT_GE(contents.generations, 3);
  EXPECT_LT(contents.generations, 30);
  EXPECT_EQ(contents.checkpoint_generation, contents.generations);

  // The interrupted run continues, here on fewer ranks, to the uninterrupted run's result.
  const auto resumed = run_command(mpirun(2) + " resume " + output.string() + " --quiet");
  ASSERT_EQ(resumed.exit_status, 0) << resumed.output;
  TemporaryPath reference("_reference.h5");
  const auto single =
      run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " + reference.string());
  ASSERT_EQ(single.exit_status, 0) << single.output;
  expect_same_results(reference.path(), output.path());
}

}  // namespace
}  // namespace metaevo

namespace metaevo {
namespace {

// The run is split across sessions with different rank counts, and a --seed/--generations given at
// the start are the run's own from then on.
TEST(MpiRun, ResumedWithOtherRankCountsGivesTheSingleProcessRun) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), determinism_config);
  TemporaryPath reference("_reference.h5");
  const auto single = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() +
                                  " --quiet --seed 99 --generations 5 --out " + reference.string());
  ASSERT_EQ(single.exit_status, 0) << single.output;

  TemporaryPath output(".h5");
  const auto first = run_command(mpirun(3) + " run " + config.string() + " --quiet --seed 99 --generations 2 --out " +
                                 output.string());
  ASSERT_EQ(first.exit_status, 0) << first.output;
  const auto second = run_command(mpirun(5) + " resume " + output.string() + " --generations 4");
  ASSERT_EQ(second.exit_status, 0) << second.output;
  EXPECT_NE(second.output.find("resuming"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("at generation 2 of 4"), std::string::npos) << second.output;
  const auto third = run_command(mpirun(2) + " resume " + output.string() + " --quiet --generations 5");
  ASSERT_EQ(third.exit_status, 0) << third.output;
  expect_same_results(reference.path(), output.path());
}

}  // namespace
}  // namespace metaevo

namespace metaevo {
namespace {

// SIGTERM (what Slurm sends before the time limit) to a single-process run: the same clean end.
TEST(SignalHandling, SigtermEndsASingleProcessRunResumably) {
  TemporaryPath config("_config.toml");
  write_file(config.path(), synthetic_config("generations = 40", "", R"(
[[tasks]]
family = "synthetic"
dimension = 2
step_sleep_seconds = 0.001
)"));
  TemporaryPath output(".h5");
  TemporaryPath status("_status.txt");
  std::string background = "(";
  background += std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " + output.string() +
                " > /dev/null 2>&1; echo $? > " + status.string() + ") > /dev/null 2>&1 &";
  run_command(background);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto generations_stored = [&] {
    try {
      return std::filesystem::exists(output.path()) ? read_run_file(output.path()).generations : 0;
    } catch (const std::exception&) {
      return std::int64_t{0};
    }
  };
  while (generations_stored() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  run_command("pkill -TERM -f '^" + std::string(METAEVO_CLI_PATH) + " run " + config.string() + "'");
  while (!std::filesystem::exists(status.path()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(run_command("cat " + status.string()).output, "75\n");
  const RunFileContents contents = read_run_file(output.path());
  EXPECT_GE(contents.generations, 2);
  EXPECT_LT(contents.generations, 40);
  EXPECT_EQ(contents.checkpoint_generation, contents.generations);
  EXPECT_EQ(run_command(std::string(METAEVO_CLI_PATH) + " resume " + output.string() + " --quiet").exit_status, 0);
  EXPECT_EQ(read_run_file(output.path()).generations, 40);
  TemporaryPath reference("_reference.h5");
  ASSERT_EQ(run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " +
                        reference.string())
                .exit_status,
            0);
  expect_same_results(reference.path(), output.path());
}

}  // namespace
}  // namespace metaevo
