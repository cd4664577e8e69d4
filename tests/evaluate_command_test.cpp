// `metaevo evaluate` as a user runs it: table on stdout, /evaluation in the run file, exit statuses
// for a bad task file (3), a run without a best genome (4) and a bad --seeds (2), determinism, and
// the PNG when python3 with matplotlib is there.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/store/evaluation_store.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::CommandResult;
using testing_support::run_command;
using testing_support::TemporaryPath;

constexpr const char* run_config = R"([run]
seed = 23
generations = 2

[ga]
population_size = 4
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 15
holdout_tasks = 0
validation_tasks = 0

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.3 }

[[tasks]]
family = "quadratic"
dimension = 4

[[tasks]]
family = "logistic_regression"
dimension = 3
samples = 16
)";

constexpr const char* held_out_tasks = R"([evaluation]
inner_steps = 30

[[tasks]]
family = "quadratic"
dimension = 10
condition_number = 100

[[tasks]]
family = "mlp_regression"
dimension = 3
samples = 16
hidden_layers = [8]
activation = "relu"
)";

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string cli() { return METAEVO_CLI_PATH; }

/// A finished two-generation run (the command, as a user makes one).
void make_run(const TemporaryPath& config, const TemporaryPath& run_file) {
  write_text(config.path(), run_config);
  const CommandResult run = run_command(cli() + " run -q " + config.string() + " --out " + run_file.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
}

CommandResult evaluate(const std::string& arguments) { return run_command(cli() + " evaluate " + arguments); }

TEST(EvaluateCommand, PrintsTheTableStoresTheResultsAndRepeatsThemExactly) {
  TemporaryPath config(".toml"), run_file(".h5"), copy("_copy.h5"), held_out("_held.toml");
  make_run(config, run_file);
  write_text(held_out.path(), held_out_tasks);
  std::filesystem::copy_file(run_file.path(), copy.path());
  std::filesystem::copy(run_file.string() + ".segments", copy.string() + ".segments");

  const std::string options = " --tasks " + held_out.string() + " --seeds 6 --tuning-tasks 2";
  const CommandResult first = evaluate(run_file.string() + options);
  ASSERT_EQ(first.exit_status, 0) << first.output;
  for (const char* part :
       {"on 6 held-out tasks x 30 steps", "quadratic (", "mlp_regression (", "all families: 6 tasks",
        "median final loss", "win rate", "adam_cosine", "tuned sgd on 2 meta-training tasks x 15", "stored in"}) {
    EXPECT_NE(first.output.find(part), std::string::npos) << part << "\n" << first.output;
  }
  const CommandResult second = evaluate(copy.string() + options);
  ASSERT_EQ(second.exit_status, 0) << second.output;

  const HeldOutEvaluation a = read_evaluation(run_file.path());
  const HeldOutEvaluation b = read_evaluation(copy.path());
  EXPECT_EQ(a.task_count, 6);
  EXPECT_EQ(a.inner_steps, 30);
  EXPECT_EQ(a.tuning_inner_steps, 15);
  EXPECT_EQ(a.held_out_toml, held_out_tasks);
  EXPECT_EQ(a.final_losses, b.final_losses);
  EXPECT_EQ(a.task_seeds, b.task_seeds);
  EXPECT_EQ(a.learning_rates.size(), 5u);
  EXPECT_EQ(std::vector<double>(a.learning_rates.begin() + 1, a.learning_rates.end()),
            std::vector<double>(b.learning_rates.begin() + 1, b.learning_rates.end()));
  ASSERT_EQ(a.learning_curves.size(), b.learning_curves.size());
  EXPECT_EQ(std::memcmp(a.learning_curves.data(), b.learning_curves.data(), a.learning_curves.size() * sizeof(double)),
            0);
  EXPECT_EQ(a.outcomes, b.outcomes);
  // The table is printed the same too (the file names aside).
  const auto table = [](const std::string& output) { return output.substr(output.find("\nquadratic")); };
  EXPECT_EQ(table(first.output).substr(0, table(first.output).find("stored in")),
            table(second.output).substr(0, table(second.output).find("stored in")));

  // h5py reads the group (scripts/read_run.py), when it is installed.
  if (run_command("/usr/bin/python3 -c 'import h5py'").exit_status == 0) {
    const CommandResult summary = run_command("/usr/bin/python3 " + std::string(METAEVO_SOURCE_DIR) +
                                              "/scripts/read_run.py " + run_file.string());
    ASSERT_EQ(summary.exit_status, 0) << summary.output;
    const nlohmann::json document = nlohmann::json::parse(summary.output.substr(summary.output.find('{')));
    const nlohmann::json& evaluation = document.at("evaluation");
    EXPECT_EQ(evaluation.at("contenders").get<std::vector<std::string>>(), a.contenders);
    EXPECT_EQ(evaluation.at("task_count").get<int>(), 6);
    EXPECT_TRUE(evaluation.at("learning_rate")[0].is_null());
    EXPECT_EQ(evaluation.at("learning_rate")[1].get<double>(), a.learning_rates[1]);
    EXPECT_EQ(evaluation.at("win_rate")[0].get<double>(), a.win_rates.back()[0].rate);
  }
}

TEST(EvaluateCommand, BadTaskFilesAreConfigErrorsWithFileAndLine) {
  TemporaryPath config(".toml"), run_file(".h5"), held_out("_held.toml");
  make_run(config, run_file);
  const auto expect_rejected = [&](const std::string& text, const std::string& message) {
    write_text(held_out.path(), text);
    const CommandResult result = evaluate(run_file.string() + " --tasks " + held_out.string());
    EXPECT_EQ(result.exit_status, 3) << result.output;
    EXPECT_NE(result.output.find("metaevo: config error: " + held_out.string() + ":" + message), std::string::npos)
        << result.output;
  };
  expect_rejected("[[tasks]]\nfamily = \"quadratic\"\ndimension = [\n", "3:");
  expect_rejected("[[tasks]]\nfamily = \"quadratic\"\n[[tasks]]\nfamily = \"cubic\"\n",
                  "4: tasks[1].family must be one of");
  expect_rejected("[[tasks]]\nfamily = \"quadratic\"\ncondition = 10\n", "3: unknown key tasks[0].condition");
  // Nothing was stored.
  EXPECT_THROW(read_evaluation(run_file.path()), StorageError);
}

TEST(EvaluateCommand, RunWithoutBestGenomeIsAStorageError) {
  TemporaryPath run_file(".h5");
  { RunStore::create(run_file.path(), parse_config(run_config, "run.toml")).flush(); }
  const CommandResult result = evaluate(run_file.string());
  EXPECT_EQ(result.exit_status, 4) << result.output;
  EXPECT_NE(result.output.find("no best genome"), std::string::npos) << result.output;
}

TEST(EvaluateCommand, RefusesZeroSeeds) {
  TemporaryPath run_file(".h5");
  { RunStore::create(run_file.path(), parse_config(run_config, "run.toml")).flush(); }
  const CommandResult result = evaluate(run_file.string() + " --seeds 0");
  EXPECT_EQ(result.exit_status, 2) << result.output;
  EXPECT_NE(result.output.find("--seeds"), std::string::npos) << result.output;
}

TEST(EvaluateCommand, DrawsThePngWhenMatplotlibIsThere) {
  if (run_command("/usr/bin/python3 -c 'import matplotlib, h5py, numpy'").exit_status != 0) {
    GTEST_SKIP() << "python3-matplotlib or python3-h5py is not installed";
  }
  TemporaryPath config(".toml"), run_file(".h5"), png(".png");
  make_run(config, run_file);
  const CommandResult result = evaluate(run_file.string() + " --seeds 4 --tuning-tasks 1 --plot " + png.string());
  ASSERT_EQ(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find(png.string()), std::string::npos) << result.output;
  ASSERT_TRUE(std::filesystem::exists(png.path()));
  EXPECT_GT(std::filesystem::file_size(png.path()), 10000u);
}

}  // namespace
}  // namespace metaevo
