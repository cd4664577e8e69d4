// The "command" task family: the Evaluator runs the user's program for each task slot.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/store/run_report.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

const std::string scripts = std::string(METAEVO_SOURCE_DIR) + "/tests/command_task/";

/// A small sgd search whose only task family is `command_table` (a [[tasks]] table's keys).
std::string command_config(const std::string& command_table, const std::string& evaluation = "",
                           const std::string& update_rule = "") {
  return R"(
[run]
seed = 5
generations = 6

[ga]
population_size = 8
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 2
)" + evaluation + (update_rule.empty() ? R"(
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1.0 }
)" : update_rule) + R"(
[[tasks]]
family = "command"
)" + command_table + "\n";
}

std::string shell_command(const std::string& script) {
  return "command = [\"/bin/sh\", \"-c\", '" + script + "']\ntime_limit_seconds = 20\n";
}

EvaluationResult evaluate_lr(const std::string& config_text, double learning_rate) {
  const Evaluator evaluator(parse_config(config_text));
  return evaluator.evaluate_parameters(ParameterSet{{"learning_rate", learning_rate}},
                                       EvaluationKey{5, 2, StreamPurpose::task_sample}, 2);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CommandTask, ScoresTheProgramsFinalLoss) {
  const std::string config = command_config("command = [\"/usr/bin/python3\", \"" + scripts + "lr_valley.py\"]");
  const EvaluationResult best = evaluate_lr(config, 1e-2);
  ASSERT_FALSE(best.failed) << best.reason;
  EXPECT_FALSE(best.diverged);
  // No initial loss reported: the score is the final loss itself (the valley plus the seed's shift).
  ASSERT_EQ(best.task_scores.size(), 2U);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(best.task_scores[k], best.task_final_losses[k]);
    EXPECT_LT(best.task_scores[k], 0.01);
  }
  EXPECT_EQ(best.inner_steps, 2);  // "steps": 1 per task
  const EvaluationResult worse = evaluate_lr(config, 1e-3);
  EXPECT_NEAR(worse.fitness - best.fitness, 1.0, 1e-12);
  // Deterministic in the seed.
  EXPECT_EQ(evaluate_lr(config, 1e-2).fitness, best.fitness);
}

TEST(CommandTask, ScoresAReportedInitialLossLikeABuiltInTask) {
  const std::string config = command_config("command = [\"/usr/bin/python3\", \"" + scripts + "curve.py\"]");
  const EvaluationResult result = evaluate_lr(config, 0.1);
  ASSERT_FALSE(result.failed) << result.reason;
  EXPECT_EQ(result.inner_steps, 40);
  for (std::size_t k = 0; k < 2; ++k) {
    // log10(final / initial) of gradient descent on c x^2 / 2: 2 * 20 * log10(1 - 0.1 c).
    EXPECT_LT(result.task_scores[k], -1.0);
    EXPECT_GT(result.task_scores[k], -8.0);
  }
  // A learning rate that overshoots far enough explodes: diverged, as the inner loop would say.
  const std::string steep = command_config("command = [\"/usr/bin/python3\", \"" + scripts + "curve.py\"]", "",
                                           R"(
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 10.0 }
)");
  const EvaluationResult exploded = evaluate_lr(steep, 5.0);
  EXPECT_TRUE(exploded.diverged);
  EXPECT_TRUE(contains(exploded.reason, "(command) diverged: loss")) << exploded.reason;
}

TEST(CommandTask, TheProgramGetsTheRuleSeedsEnvironmentAndWorkdir) {
  TemporaryPath record("_record");
  std::filesystem::create_directories(record.path());
  for (const std::string input : {"stdin", "file"}) {
    const std::string config = command_config("command = [\"/usr/bin/python3\", \"" + scripts +
                                              "lr_valley.py\"]\nworkdir = \"/tmp\"\ninput = \"" + input +
                                              "\"\nenv = [\"TEST_VALUE=a=b\", \"RECORD_DIR=" + record.string() +
                                              "\"]");
    const Evaluator evaluator(parse_config(config));
    const EvaluationKey key{5, 3, StreamPurpose::task_sample};
    const EvaluationResult result = evaluator.evaluate_parameters(ParameterSet{{"learning_rate", 0.02}}, key, 2);
    ASSERT_FALSE(result.failed) << result.reason;
    for (int k = 0; k < 2; ++k) {
      std::ifstream file(record.path() / ("input-" + std::to_string(k) + ".json"));
      const nlohmann::json recorded = nlohmann::json::parse(file);
      const nlohmann::json& task = recorded["input"];
      EXPECT_EQ(task["format"], "metaevo-command-task");
      EXPECT_EQ(task["version"], 1);
      EXPECT_EQ(task["task_index"], k);
      EXPECT_EQ(task["seed"].get<std::uint64_t>(), task_seed(key, k));
      EXPECT_EQ(task["generation"], 3);
      EXPECT_EQ(task["inner_steps"], 20);
      EXPECT_DOUBLE_EQ(task["hyperparameters"]["learning_rate"].get<double>(), 0.02);
      EXPECT_EQ(task["rule"]["format"], "metaevo-update-rule");
      EXPECT_EQ(task["rule"]["family"], "sgd");
      // The rule document reads back as an exported rule.
      EXPECT_NO_THROW(update_rule_from_json(task["rule"].dump()));
      EXPECT_EQ(recorded["cwd"], "/tmp");
      EXPECT_EQ(recorded["env_value"], "a=b");
      EXPECT_EQ(recorded["seed_variable"], std::to_string(task_seed(key, k)));
      if (input == "file") {
        const std::string path = recorded["input_variable"].get<std::string>();
        EXPECT_FALSE(std::filesystem::exists(path)) << "the input file is removed after the task";
      } else {
        EXPECT_TRUE(recorded["input_variable"].is_null());
      }
    }
    std::filesystem::remove_all(record.path());
    std::filesystem::create_directories(record.path());
  }
  std::filesystem::remove_all(record.path());
}

TEST(CommandTask, LearnedRulesAreSentWithTheirBlocks) {
  TemporaryPath record("_record");
  std::filesystem::create_directories(record.path());
  const std::string config = command_config(
      "command = [\"/usr/bin/python3\", \"" + scripts + "lr_valley.py\"]\nenv = [\"RECORD_DIR=" + record.string() +
          "\"]",
      "", R"(
[update_rule]
family = "learned_mlp"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1.0 }
)");
  const Evaluator evaluator(parse_config(config));
  const EvaluationResult result =
      evaluator.evaluate_parameters(ParameterSet{{"learning_rate", 0.01}}, EvaluationKey{5, 0}, 1);
  ASSERT_FALSE(result.failed) << result.reason;
  std::ifstream file(record.path() / "input-0.json");
  const nlohmann::json task = nlohmann::json::parse(file)["input"];
  EXPECT_EQ(task["rule"]["family"], "learned_mlp");
  ASSERT_TRUE(task["rule"]["blocks"].is_object());
  EXPECT_FALSE(task["rule"]["blocks"].empty());
  EXPECT_NO_THROW(update_rule_from_json(task["rule"].dump()));
  std::filesystem::remove_all(record.path());
}

struct FailureCase {
  const char* name;
  std::string table;
  std::string expected_reason;  // a part of the reason
};

class CommandTaskFailure : public ::testing::TestWithParam<FailureCase> {};

TEST_P(CommandTaskFailure, FailsTheEvaluationWithTheReasonAndTheStderrTail) {
  const EvaluationResult result = evaluate_lr(command_config(GetParam().table, "penalty_fitness = 9.5\n"), 0.01);
  EXPECT_TRUE(result.failed);
  EXPECT_EQ(result.fitness, 9.5);
  EXPECT_TRUE(std::isnan(result.mean_final_loss));
  EXPECT_TRUE(contains(result.reason, "task 0 (command) failed: ")) << result.reason;
  EXPECT_TRUE(contains(result.reason, GetParam().expected_reason)) << result.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CommandTaskFailure,
    ::testing::Values(
        FailureCase{"NonZeroExit", shell_command("echo first >&2; echo the reason >&2; exit 3"),
                    "failed: command \"/bin/sh -c echo first >&2; echo the reason >&2; exit 3\" exited with status 3; "
                    "the last lines of its stderr:\nfirst\nthe reason"},
        FailureCase{"Crash", shell_command("echo about to crash >&2; kill -SEGV $$"),
                    "was killed by signal 11 (SIGSEGV); the last lines of its stderr:\nabout to crash"},
        FailureCase{"MalformedOutput", shell_command("echo \"{final_loss: 1\""),
                    "printed no valid JSON result; its last stdout line: {final_loss: 1"},
        FailureCase{"MissingOutput", shell_command("cat > /dev/null"), "printed no result on stdout"},
        FailureCase{"MissingFinalLoss", shell_command("echo \"{\\\"loss\\\": 1}\""), "has no \"final_loss\""},
        FailureCase{"NotANumber", shell_command("echo \"{\\\"final_loss\\\": \\\"low\\\"}\""),
                    "\"final_loss\" must be a number"},
        FailureCase{"OversizedOutput", shell_command("yes") + "max_output_bytes = 4096\n",
                    "printed more than 4096 bytes on stdout"},
        FailureCase{"MissingProgram", "command = [\"/bin/sh-not-there\"]\n",
                    "failed: cannot run \"/bin/sh-not-there\": No such file or directory"},
        FailureCase{"Timeout",
                    "command = [\"/bin/sh\", \"-c\", 'echo working >&2; sleep 30']\ntime_limit_seconds = 0.5\n"
                    "kill_grace_seconds = 0.2\n",
                    "ran past its time limit of 0.5 s (its process group was killed); the last lines of its "
                    "stderr:\nworking"}),
    [](const ::testing::TestParamInfo<FailureCase>& param_info) { return std::string(param_info.param.name); });

TEST(CommandTask, TheProgramCanReportDivergence) {
  const EvaluationResult result =
      evaluate_lr(command_config(shell_command("echo \"{\\\"diverged\\\": true}\""), "penalty_fitness = 9.5\n"), 0.01);
  EXPECT_FALSE(result.failed) << result.reason;
  EXPECT_TRUE(result.diverged);
  EXPECT_EQ(result.fitness, 9.5);
  EXPECT_TRUE(contains(result.reason, "task 0 (command) diverged: the program reported it")) << result.reason;
}

TEST(CommandTask, TheEvaluationTimeLimitBoundsTheProgram) {
  const auto start = std::chrono::steady_clock::now();
  const EvaluationResult result =
      evaluate_lr(command_config(shell_command("sleep 30") + "kill_grace_seconds = 0.1\n", "time_limit_seconds = 0.5\n"),
                  0.01);
  EXPECT_TRUE(result.failed);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  EXPECT_TRUE(contains(result.reason, "ran past its time limit")) << result.reason;
}

TEST(CommandTask, ConfigErrorsNameTheKey) {
  const auto message = [](const std::string& table) {
    try {
      parse_config(command_config(table));
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_TRUE(contains(message(""), "command must be a non-empty array of strings")) << message("");
  EXPECT_TRUE(contains(message("command = [\"x\"]\nenv = [\"NOEQUALS\"]"), "env must be an array of \"KEY=VALUE\""))
      << message("command = [\"x\"]\nenv = [\"NOEQUALS\"]");
  EXPECT_TRUE(contains(message("command = [\"x\", 3]"), "command[1] must be a string, got")) << message("command = [\"x\", 3]");
  EXPECT_TRUE(contains(message("command = \"x\""), "command must be an array of")) << message("command = \"x\"");
  EXPECT_TRUE(contains(message("command = [\"x\"]\ninput = \"pipe\""), "input must be one of stdin, file"));
}

TEST(CommandTaskRun, GeneticAlgorithmFindsTheValleyOfTheProgramsLoss) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << command_config("command = [\"/usr/bin/python3\", \"" + scripts + "lr_valley.py\"]");
  TemporaryPath output(".h5");
  const auto run = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " +
                               output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const RunFileContents contents = read_run_file(output.path());
  EXPECT_EQ(contents.generations, 6);
  // The valley's bottom is 1e-2 (fitness up to 0.01 from the seed shifts); the range spans 4 decades.
  EXPECT_LT(contents.best_fitness, 0.1);
  const ExportedUpdateRule best = best_update_rule(output.path());
  EXPECT_NEAR(std::log10(std::get<double>(best.hyperparameters.at("learning_rate"))), -2.0, 0.3);
}

TEST(CommandTaskRun, MpiRunGivesTheSingleProcessResultsAndRecordsFailures) {
  // Programs for learning rates above 0.3 fail (exit status 2): those evaluations fail with the
  // reason in the run file, and the workers carry on.
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << command_config("command = [\"/usr/bin/python3\", \"" + scripts +
                                                 "lr_valley.py\"]\nenv = [\"FAIL_ABOVE=0.3\"]");
  TemporaryPath single(".h5");
  const auto single_run = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " +
                                      single.string());
  ASSERT_EQ(single_run.exit_status, 0) << single_run.output;
  TemporaryPath output("_mpi.h5");
  const auto run = run_command("timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 " +
                               std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " +
                               output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const RunFileContents contents = read_run_file(output.path());
  EXPECT_EQ(contents.generations, 6);
  EXPECT_LT(contents.best_fitness, 0.5);
  const std::vector<std::int64_t> failed = testing_support::read_int64_dataset(output.path(), "/generations/failed");
  EXPECT_EQ(failed.size(), 6U * 8U);
  EXPECT_GT(std::count(failed.begin(), failed.end(), std::int64_t{1}), 0) << "no program failed: widen FAIL_ABOVE";
  const std::string reasons = testing_support::read_text_dataset(output.path(), "/generations/reason");
  EXPECT_TRUE(contains(reasons, "exited with status 2; the last lines of its stderr:")) << reasons;
  EXPECT_TRUE(contains(reasons, "too large")) << reasons;
  // The programs are deterministic in their input, so the run is the same on any number of ranks.
  testing_support::expect_same_results(single.path(), output.path());
}

}  // namespace
}  // namespace metaevo
