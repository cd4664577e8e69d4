// Crash safety: `kill -9` of the whole job at 20 points spread over a run (during evaluations and
// during checkpoint writes alike) must leave a file that `metaevo resume` continues to exactly the
// uninterrupted run's result.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

constexpr const char* crash_config = R"([run]
seed = 4242
generations = 24

[ga]
population_size = 8
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 60
holdout_tasks = 2

[checkpoint]
every_generations = 1

[update_rule]
family = "adamw"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
weight_decay = { kind = "real", low = 0.0, high = 0.1 }

[[tasks]]
family = "mlp_regression"
dimension = 4
samples = 32
hidden_layers = [8]
)";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(CrashSafety, KillNineAtTwentyPointsThenResumeGivesTheUninterruptedRun) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << crash_config;
  const std::string cli = METAEVO_CLI_PATH;
  const std::string mpirun = "mpirun --allow-run-as-root --oversubscribe -np 3 ";

  // Each mode's timeline: when the run file appears (MPI start-up, config) and when the job ends.
  // They give the time a generation takes.
  struct Timeline {
    double file_appears = 0.0;
    double job_ends = 0.0;
  };
  auto measure = [&](const std::string& launcher, const TemporaryPath& output) {
    TemporaryPath done("_done");
    std::string background = "(";
    background += launcher + cli + " run " + config.string() + " --quiet --out " + output.string() + " > /dev/null 2>&1; touch " +
                  done.string() + ") > /dev/null 2>&1 &";
    Timeline timeline;
    const auto start = std::chrono::steady_clock::now();
    run_command(background);
    while (!std::filesystem::exists(done.path()) && seconds_since(start) < 60) {
      if (timeline.file_appears == 0.0 && std::filesystem::exists(output.path())) timeline.file_appears = seconds_since(start);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    timeline.job_ends = seconds_since(start);
    return timeline;
  };
  TemporaryPath reference("_reference.h5");
  const Timeline single = measure("", reference);
  TemporaryPath mpi_reference("_mpi_reference.h5");
  const Timeline mpi_job = measure(mpirun, mpi_reference);
  ASSERT_EQ(read_run_file(reference.path()).generations, 24);
  ASSERT_EQ(read_run_file(mpi_reference.path()).generations, 24);

  RandomStream jitter(2024, StreamPurpose::test, {});
  int killed_mid_run = 0;
  for (int point = 0; point < 20; ++point) {
    // Kill points spread over the whole run (with jitter), mixing single-process and MPI jobs.
    // Every fourth job is an MPI job (mpirun start-up is slow on some hosts; the kill and the file
    // protocol are the same either way).
    const bool mpi = point % 4 == 1;
    // Kill once generation `point + 1` is checkpointed, plus a random fraction of a generation, so
    // the kill lands anywhere in an evaluation or a checkpoint write of the following generation.
    const Timeline& timeline = mpi ? mpi_job : single;
    const double generation_seconds = (timeline.job_ends - timeline.file_appears) / 24.0;
    const double extra_delay = generation_seconds * jitter.uniform();
    SCOPED_TRACE("kill point " + std::to_string(point) + ": after generation " + std::to_string(point + 1) + " + " +
                 std::to_string(extra_delay) + " s" + (mpi ? " (mpirun -np 3)" : " (single process)"));
    std::string suffix = "_point";
    suffix += std::to_string(point);
    suffix += ".h5";
    TemporaryPath output(suffix);
    const std::string job = (mpi ? mpirun : std::string()) + cli + " run " + config.string() + " --quiet --force --out " +
                            output.string();
    std::string background = "(";
    background += job;
    run_command(background + ") > /dev/null 2>&1 &");
    const auto launched = std::chrono::steady_clock::now();
    while (seconds_since(launched) < 30) {
      std::error_code ignored;
      if (std::filesystem::exists(output.path(), ignored)) {
        try {
          if (read_run_file(output.path()).generations > point) break;
        } catch (const StorageError&) {
          // Renamed over while we read it: look again.
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(extra_delay));
    // The whole job: mpirun and every rank (each command line names this test's config).
    run_command("pkill -9 -f '" + config.string() + ".*--out " + output.string() + "'");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

    std::string finish;
    if (std::filesystem::exists(output.path())) {
      const RunFileContents at_kill = read_run_file(output.path());  // must be readable, whatever the moment
      EXPECT_TRUE(at_kill.has_checkpoint);
      if (at_kill.generations > 0 && at_kill.generations < 24) ++killed_mid_run;
      finish = (point % 8 == 1 ? mpirun : std::string()) + cli + " resume " + output.string() + " --quiet";
    } else {
      finish = cli + " run " + config.string() + " --quiet --out " + output.string();  // killed before creation
    }
    const auto finished = run_command(finish);
    ASSERT_EQ(finished.exit_status, 0) << finish << "\n" << finished.output;
    testing_support::expect_same_results(reference.path(), output.path());
    EXPECT_FALSE(std::filesystem::exists(output.string() + ".partial"));
    // A segment renamed before the kill but not yet listed, or torn mid-write, was removed on resume.
    testing_support::expect_only_listed_segments(output.path(), read_run_file(output.path()).segments);
  }
  // Guard against a test that only ever kills after the end.
  EXPECT_GE(killed_mid_run, 15);
}

}  // namespace
}  // namespace metaevo
