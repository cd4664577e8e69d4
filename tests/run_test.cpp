// End-to-end: the whole single-process search, through the library and through the metaevo command.
#include "metaevo/runtime/run.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "metaevo/core/error.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

constexpr const char* tiny_search_config = R"(# a search small enough for a unit test
[run]
seed = 11
generations = 3

[ga]
population_size = 6
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 30
holdout_tasks = 3

[update_rule]
family = "momentum"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
momentum = { kind = "real", low = 0.0, high = 0.99 }
schedule = { kind = "categorical", choices = ["constant", "cosine"] }

[[tasks]]
family = "quadratic"
dimension = 5
condition_number = 20

[[tasks]]
family = "logistic_regression"
dimension = 3
samples = 24
)";

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(RunSearch, WritesEveryGenerationAndIsDeterministic) {
  const RunConfig config = parse_config(tiny_search_config);
  TemporaryPath first("_a.h5");
  TemporaryPath second("_b.h5");
  std::vector<GenerationRecord> seen;
  RunCallbacks callbacks;
  callbacks.on_generation = [&](const GenerationRecord& record) { seen.push_back(record); };
  const RunSummary summary = run_search(config, first.path(), callbacks);
  run_search(config, second.path());

  EXPECT_EQ(summary.termination, Termination::completed);
  EXPECT_EQ(summary.generations, 3);
  EXPECT_EQ(summary.evaluations, 18);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back().generation, 2);
  ASSERT_TRUE(summary.holdout.has_value());
  EXPECT_EQ(summary.holdout->task_count, 3);

  const RunFileContents a = read_run_file(first.path());
  const RunFileContents b = read_run_file(second.path());
  ASSERT_EQ(a.generations, 3);
  ASSERT_EQ(a.population_size, 6);
  EXPECT_EQ(a.config_toml, config.source_text);
  EXPECT_EQ(a.gene_names, (std::vector<std::string>{"learning_rate", "momentum", "schedule"}));
  EXPECT_EQ(a.fitness, b.fitness);  // bit-identical, not just close
  for (std::size_t g = 0; g < a.genes.size(); ++g)
    for (std::size_t i = 0; i < a.genes[g].size(); ++i) EXPECT_TRUE(a.genes[g][i] == b.genes[g][i]);

  double best_stored = a.fitness[0][0];
  for (const auto& generation : a.fitness) best_stored = std::min(best_stored, *std::min_element(generation.begin(), generation.end()));
  EXPECT_EQ(summary.best_fitness, best_stored);
  EXPECT_EQ(a.best_fitness, best_stored);
  EXPECT_EQ(a.best_genome_id, summary.best.id);
  EXPECT_EQ(summary.log.back().best_so_far, best_stored);
  // Elapsed time counts each second once, checkpoints or not.
  EXPECT_LE(summary.log.back().elapsed_seconds, summary.wall_seconds);
}

TEST(RunSearch, ReportsBestHyperparametersDecoded) {
  const RunConfig config = parse_config(tiny_search_config);
  TemporaryPath output(".h5");
  const RunSummary summary = run_search(config, output.path());
  const std::string report = summary.full_report();
  EXPECT_NE(report.find("learning_rate = "), std::string::npos) << report;
  EXPECT_NE(report.find("schedule = "), std::string::npos) << report;
  EXPECT_NE(report.find("defaults"), std::string::npos) << report;
  const std::string& schedule = choice_parameter(summary.best_hyperparameters, "schedule");
  EXPECT_TRUE(schedule == "constant" || schedule == "cosine") << schedule;
}

TEST(RunSearch, UnwritableOutputFailsBeforeAnyEvaluation) {
  const RunConfig config = parse_config(tiny_search_config);
  EXPECT_THROW(run_search(config, "/nonexistent-directory/run.h5"), StorageError);
}

TEST(Cli, RunPrintsProgressAndSummaryAndWritesTheFile) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  write_file(config.path(), tiny_search_config);
  const auto result = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --out " + output.string());
  ASSERT_EQ(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("gen    1/3"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("gen    3/3"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("ETA"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("eval/s"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("best hyperparameters"), std::string::npos) << result.output;
  EXPECT_EQ(read_run_file(output.path()).generations, 3);
}

TEST(Cli, RefusesToOverwriteARunWithoutForce) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  write_file(config.path(), tiny_search_config);
  write_file(output.path(), "precious");
  const std::string command = std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --out " + output.string();
  const auto refused = run_command(command);
  EXPECT_EQ(refused.exit_status, 2) << refused.output;
  EXPECT_NE(refused.output.find("--force"), std::string::npos) << refused.output;
  std::ifstream kept(output.path());
  std::string content;
  kept >> content;
  EXPECT_EQ(content, "precious");
  EXPECT_EQ(run_command(command + " --force --quiet --generations 1").exit_status, 0);
  EXPECT_EQ(read_run_file(output.path()).generations, 1);
}

TEST(Cli, BadCommandLinesExitWithTheUsageStatus) {
  const std::string metaevo = METAEVO_CLI_PATH;
  const std::string config = std::string(METAEVO_SOURCE_DIR) + "/experiments/quickstart.toml";
  const std::vector<std::string> bad_arguments = {"", "run", "run /nonexistent/config.toml", "run " + config + " --bogus",
                                      "run " + config + " --generations 0", "resume /nonexistent/run.h5",
                                      "export /nonexistent/run.h5", "frobnicate"};
  for (const std::string& arguments : bad_arguments) {
    const auto result = run_command(metaevo + " " + arguments);
    EXPECT_EQ(result.exit_status, 2) << "metaevo " << arguments << ":\n" << result.output;
  }
  EXPECT_EQ(run_command(metaevo + " --help").exit_status, 0);
  EXPECT_EQ(run_command(metaevo + " --version").exit_status, 0);
}

TEST(Cli, ConfigErrorNamesKeyAndLineAndExitsBeforeWork) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  std::string text = tiny_search_config;
  text.replace(text.find("population_size = 6"), 19, "population_size = 1");
  write_file(config.path(), text);
  const auto result = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --out " + output.string());
  EXPECT_EQ(result.exit_status, 3) << result.output;
  EXPECT_NE(result.output.find("population_size"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(":7:"), std::string::npos) << result.output;  // the line of the key
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

TEST(Cli, CheckValidatesWithoutRunning) {
  const auto result =
      run_command(std::string(METAEVO_CLI_PATH) + " check " + METAEVO_SOURCE_DIR + "/experiments/quickstart.toml");
  EXPECT_EQ(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("valid"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("learning_rate"), std::string::npos) << result.output;
}

TEST(Cli, InspectAndExportReadARunFile) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  TemporaryPath exported(".json");
  write_file(config.path(), tiny_search_config);
  ASSERT_EQ(run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " + output.string())
                .exit_status,
            0);
  const auto inspect = run_command(std::string(METAEVO_CLI_PATH) + " inspect " + output.string());
  EXPECT_EQ(inspect.exit_status, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("momentum"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("3 of 3 configured generations"), std::string::npos) << inspect.output;
  const auto exporting = run_command(std::string(METAEVO_CLI_PATH) + " export " + output.string() +
                                     " --best --format json -o " + exported.string());
  EXPECT_EQ(exporting.exit_status, 0) << exporting.output;
  std::ifstream json(exported.path());
  const std::string text((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"family\": \"momentum\""), std::string::npos) << text;
  const auto not_a_run = run_command(std::string(METAEVO_CLI_PATH) + " inspect " + config.string());
  EXPECT_EQ(not_a_run.exit_status, 4) << not_a_run.output;
  EXPECT_NE(not_a_run.output.find("not an HDF5 file"), std::string::npos) << not_a_run.output;
}

}  // namespace
}  // namespace metaevo
