// Checkpoints and resume: a run interrupted anywhere and resumed gives the file an uninterrupted run
// gives; unusable files are refused with a one-line reason and left untouched.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "metaevo/core/error.hpp"
#include "metaevo/runtime/run.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

constexpr const char* resume_config = R"([run]
seed = 77
generations = 5

[ga]
population_size = 8
elite_count = 2
step_size_adaptation = "per_group"

[evaluation]
tasks_per_evaluation = 2
inner_steps = 30
holdout_tasks = 3

[update_rule]
family = "rmsprop"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
alpha = { kind = "real", low = 0.8, high = 0.999, group = "averages" }
schedule = { kind = "categorical", choices = ["constant", "cosine"] }

[[tasks]]
family = "quadratic"
dimension = 6
condition_number = 30

[[tasks]]
family = "linear_regression"
dimension = 3
samples = 20
)";

void expect_same_run(const std::filesystem::path& expected, const std::filesystem::path& actual) {
  testing_support::expect_same_results(expected, actual);
  const RunFileContents a = read_run_file(expected);
  const RunFileContents b = read_run_file(actual);
  EXPECT_EQ(a.generations, b.generations);
  EXPECT_EQ(a.best_genome_id, b.best_genome_id);
  EXPECT_EQ(a.best_fitness, b.best_fitness);
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Resume, InterruptedAtAnyGenerationAndResumedGivesTheUninterruptedRun) {
  const RunConfig config = parse_config(resume_config);
  TemporaryPath reference("_reference.h5");
  run_search(config, reference.path());
  for (int stop_after = 0; stop_after < 5; ++stop_after) {
    SCOPED_TRACE("stopped after " + std::to_string(stop_after) + " generations");
    std::string suffix = "_stop";
    suffix += std::to_string(stop_after);
    suffix += ".h5";
    TemporaryPath output(suffix);
    RunCallbacks stop;
    int generations_seen = 0;
    stop.on_generation = [&](const GenerationRecord&) { ++generations_seen; };
    stop.should_stop = [&] { return generations_seen >= stop_after; };
    const RunSummary interrupted = run_search(config, output.path(), stop);
    EXPECT_EQ(interrupted.termination, Termination::interrupted);
    const RunFileContents partial = read_run_file(output.path());
    EXPECT_EQ(partial.generations, stop_after);
    EXPECT_TRUE(partial.has_checkpoint);
    EXPECT_EQ(partial.checkpoint_generation, stop_after);

    ResumePlan plan = plan_resume(output.path());
    EXPECT_EQ(plan.remaining_generations, 5 - stop_after);
    const RunSummary resumed = resume_search(plan);
    EXPECT_EQ(resumed.termination, Termination::completed);
    EXPECT_EQ(resumed.generations, 5);
    ASSERT_TRUE(resumed.holdout.has_value());
    expect_same_run(reference.path(), output.path());
  }
}

TEST(Resume, MoreGenerationsContinueAFinishedRunAsIfItHadBeenLonger) {
  RunConfig config = parse_config(resume_config);
  TemporaryPath long_run("_long.h5");
  run_search(config, long_run.path());
  config.run.generations = 3;
  TemporaryPath extended("_extended.h5");
  run_search(config, extended.path());
  ResumePlan plan = plan_resume(extended.path(), 5);
  EXPECT_EQ(plan.remaining_generations, 2);
  resume_search(plan);
  expect_same_run(long_run.path(), extended.path());
}

// What a kill -9 in the middle of a commit leaves (docs/hdf5-schema.md): the last committed RUN.h5,
// the newer working copy RUN.h5.partial, and a half-copied staging file RUN.h5.commit. The crash test
// kills at random moments and only sometimes inside a commit; this builds that state on purpose.
TEST(Resume, AKillDuringACommitLeavesTheLastCheckpointToResumeFrom) {
  const RunConfig config = parse_config(resume_config);
  TemporaryPath reference("_reference.h5");
  run_search(config, reference.path());
  TemporaryPath output(".h5");
  RunCallbacks stop;
  int generations_seen = 0;
  stop.on_generation = [&](const GenerationRecord&) { ++generations_seen; };
  stop.should_stop = [&] { return generations_seen >= 2; };
  run_search(config, output.path(), stop);
  const std::string committed = file_bytes(output.path());
  const std::string working_copy = output.string() + ".partial";
  const std::string staging = output.string() + ".commit";
  // The working copy ran ahead (here: garbage, as a kill mid-write could leave), and the staging copy
  // stopped halfway.
  std::ofstream(working_copy, std::ios::binary) << committed.substr(0, committed.size() / 3) << "torn write";
  std::ofstream(staging, std::ios::binary) << committed.substr(0, committed.size() / 2);

  // The segment directory: a kill between a segment's rename and the root's leaves the next segment
  // under its final name but unlisted (here a copy of segment 0: valid HDF5, wrong rows); a kill while
  // writing a segment leaves a torn .partial; a segment from further in the future must go too.
  const std::int64_t listed = read_run_file(output.path()).segments;
  ASSERT_GE(listed, 1);
  const auto segment = [&](std::int64_t index, const char* suffix) {
    char name[32];
    std::snprintf(name, sizeof name, "%06lld.h5", static_cast<long long>(index));
    return std::filesystem::path(output.string() + ".segments") / (std::string(name) + suffix);
  };
  std::filesystem::copy_file(segment(0, ""), segment(listed, ""));
  const std::string segment_bytes = file_bytes(segment(0, ""));
  std::ofstream(segment(listed + 1, ".partial"), std::ios::binary) << segment_bytes.substr(0, segment_bytes.size() / 2);
  std::filesystem::copy_file(segment(0, ""), segment(listed + 7, ""));
  // What a reader sees is still exactly the committed run.
  EXPECT_EQ(read_run_file(output.path()).generations, 2);
  EXPECT_EQ(read_run_file(output.path()).segments, listed);

  {
    ResumePlan plan = plan_resume(output.path());
    EXPECT_EQ(plan.run.checkpoint.completed_generations, 2);
    resume_search(plan);
  }  // the store closes its own working copy
  expect_same_run(reference.path(), output.path());
  EXPECT_FALSE(std::filesystem::exists(working_copy));
  EXPECT_FALSE(std::filesystem::exists(staging));
  testing_support::expect_only_listed_segments(output.path(), read_run_file(output.path()).segments);
  EXPECT_FALSE(std::filesystem::exists(segment(listed + 1, ".partial")));
  EXPECT_FALSE(std::filesystem::exists(segment(listed + 7, "")));
}

TEST(Resume, EvaluationLogKeepsEverySessionsEvaluations) {
  const RunConfig config = parse_config(resume_config);
  TemporaryPath output(".h5");
  RunCallbacks stop;
  int polls = 0;
  // Mid-generation 1: one poll per generation start, per dispatched evaluation and per validation
  // piece (2 candidates x 16 tasks in pieces of 2 = 16): 1 + 8 + 16 for generation 0, then 1 + 4
  // evaluations of generation 1.
  stop.should_stop = [&] { return ++polls > 30; };
  run_search(config, output.path(), stop);
  const RunFileContents interrupted = read_run_file(output.path());
  EXPECT_EQ(interrupted.generations, 1);
  EXPECT_GT(interrupted.evaluations_logged, 8);  // the unfinished generation's finished evaluations too
  ResumePlan plan = plan_resume(output.path());
  resume_search(plan);
  const RunFileContents resumed = read_run_file(output.path());
  EXPECT_EQ(resumed.evaluations_logged, interrupted.evaluations_logged + 4 * 8);  // + the 4 remaining generations
  // The first session's rows, then the resumed session's.
  std::vector<std::int64_t> expected_sessions(static_cast<std::size_t>(interrupted.evaluations_logged), 0);
  expected_sessions.resize(static_cast<std::size_t>(resumed.evaluations_logged), 1);
  EXPECT_EQ(testing_support::read_int64_dataset(output.path(), "/evaluations/session"), expected_sessions);
  // A stop mid-generation loses nothing that counts: the result is the uninterrupted run's.
  TemporaryPath uninterrupted("_uninterrupted.h5");
  run_search(config, uninterrupted.path());
  expect_same_run(uninterrupted.path(), output.path());
}

TEST(Resume, StoppedAtAnyPollWithValidationCarriedByTheNextBatchResumesToTheUninterruptedRun) {
  // A generation's validation goes out with the next generation's evaluations. Polls: generation 0
  // is 1 + 8 evaluations; generation 1 is 1 + 16 validation pieces of generation 0 (2 candidates x
  // 16 tasks in pieces of 2) + 8 evaluations. A stop among those pieces drops generation 0 (the
  // strategy goes back to its start); after them, generation 0 is stored.
  const RunConfig config = parse_config(resume_config);
  TemporaryPath reference("_reference.h5");
  run_search(config, reference.path());
  for (const int stop_at : {3, 10, 14, 20, 26, 27, 31, 40, 52, 60, 75}) {
    SCOPED_TRACE("stopped at poll " + std::to_string(stop_at));
    TemporaryPath output("_poll" + std::to_string(stop_at) + ".h5");
    RunCallbacks stop;
    int polls = 0;
    stop.should_stop = [&] { return ++polls > stop_at; };
    const RunSummary interrupted = run_search(config, output.path(), stop);
    EXPECT_EQ(interrupted.termination, Termination::interrupted);
    const RunFileContents partial = read_run_file(output.path());
    if (stop_at < 26) {
      EXPECT_EQ(partial.generations, 0);
    } else if (stop_at < 52) {
      EXPECT_EQ(partial.generations, 1);
    }
    ResumePlan plan = plan_resume(output.path());
    EXPECT_EQ(resume_search(plan).termination, Termination::completed);
    expect_same_run(reference.path(), output.path());
  }
}

TEST(Resume, GenerationsBelowWhatIsDoneAreRefusedAndTheFileIsUntouched) {
  const RunConfig config = parse_config(resume_config);
  TemporaryPath output(".h5");
  run_search(config, output.path());
  const std::string before = file_bytes(output.path());
  EXPECT_THROW(plan_resume(output.path(), 3), ConfigError);
  const auto cli = run_command(std::string(METAEVO_CLI_PATH) + " resume " + output.string() + " --generations 2");
  EXPECT_EQ(cli.exit_status, 3) << cli.output;
  EXPECT_NE(cli.output.find("below the 5 generations"), std::string::npos) << cli.output;
  EXPECT_EQ(file_bytes(output.path()), before);
}

TEST(Resume, ReadingTheRunFileReportsItsProgressAndTheRootAloneNamesItsPlugins) {
  const RunConfig config = parse_config(resume_config);  // a segment per generation (a commit each)
  TemporaryPath output(".h5");
  run_search(config, output.path());
  std::vector<std::pair<std::int64_t, std::int64_t>> told;
  const ResumePlan plan = plan_resume(output.path(), 6, [&told](std::int64_t done, std::int64_t total) {
    told.emplace_back(done, total);
  });
  ASSERT_FALSE(told.empty());
  EXPECT_EQ(told.back(), std::make_pair(std::int64_t{5}, std::int64_t{5}));
  for (std::size_t i = 1; i < told.size(); ++i) EXPECT_GT(told[i].first, told[i - 1].first);
  EXPECT_EQ(plan.remaining_generations, 1);

  // Without the generations no segment is opened: the per-generation fields stay empty.
  const RunFileContents root = read_run_file(output.path(), RunFileReadOptions::root_only());
  EXPECT_EQ(root.generations, 5);
  EXPECT_TRUE(root.fitness.empty());
  EXPECT_EQ(root.config_toml, read_run_file(output.path()).config_toml);
}

TEST(Resume, UnusableFilesAreRefusedWithOneLineAndLeftUntouched) {
  const RunConfig config = parse_config(resume_config);
  TemporaryPath good(".h5");
  run_search(config, good.path());
  const std::string bytes = file_bytes(good.path());

  TemporaryPath truncated("_truncated.h5");
  std::ofstream(truncated.path(), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  TemporaryPath corrupted("_corrupted.h5");
  std::string scrambled = bytes;
  for (std::size_t i = 0; i < 4096 && i < scrambled.size(); ++i) scrambled[i] = static_cast<char>(i * 7 + 13);
  std::ofstream(corrupted.path(), std::ios::binary) << scrambled;
  TemporaryPath text("_text.h5");
  std::ofstream(text.path()) << "not a run\n";
  TemporaryPath other_version("_v99.h5");
  std::filesystem::copy_file(good.path(), other_version.path());
  {
    const hid_t file = H5Fopen(other_version.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t attribute = H5Aopen(file, "schema_version", H5P_DEFAULT);
    const std::int64_t future_version = 99;
    EXPECT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &future_version), 0);
    H5Aclose(attribute);
    H5Fclose(file);
  }

  struct Case {
    const TemporaryPath* file;
    const char* reason;
  };
  for (const Case& bad : {Case{&truncated, "truncated"}, Case{&corrupted, "not an HDF5 file"},
                          Case{&text, "not an HDF5 file"}, Case{&other_version, "schema_version is 99"}}) {
    SCOPED_TRACE(bad.file->string());
    const std::string before = file_bytes(bad.file->path());
    const auto result = run_command(std::string(METAEVO_CLI_PATH) + " resume " + bad.file->string());
    EXPECT_EQ(result.exit_status, 4) << result.output;
    EXPECT_NE(result.output.find(bad.reason), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(bad.file->string()), std::string::npos) << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
    EXPECT_EQ(file_bytes(bad.file->path()), before);
    EXPECT_FALSE(std::filesystem::exists(bad.file->string() + ".partial"));
  }
}

TEST(Resume, ResumingACompleteRunChangesNothingOfItsResults) {
  const RunConfig config = parse_config(resume_config);
  TemporaryPath reference("_reference.h5");
  run_search(config, reference.path());
  TemporaryPath again("_again.h5");
  testing_support::copy_run_file(reference.path(), again.path());
  ResumePlan plan = plan_resume(again.path());
  EXPECT_EQ(plan.remaining_generations, 0);
  const RunSummary summary = resume_search(plan);
  EXPECT_EQ(summary.termination, Termination::completed);
  expect_same_run(reference.path(), again.path());
}

}  // namespace
}  // namespace metaevo
