// `metaevo score`: an exported rule scored on a config's fixed task sets; on the holdout split it
// must reproduce the run's own holdout figure for its best genome exactly.
#include "metaevo/evaluation/rule_score.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_report.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

constexpr const char* score_config = R"([run]
seed = 11
generations = 2

[ga]
population_size = 4
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 15
holdout_tasks = 5
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

TEST(RuleScore, HoldoutScoreOfTheExportedBestIsTheRunsOwnHoldoutFigure) {
  const RunConfig config = parse_config(score_config, "score.toml");
  TemporaryPath run_file("_score.h5");
  const RunSummary summary = run_search(config, run_file.path());
  ASSERT_TRUE(summary.holdout.has_value());
  // Through the JSON text, as the command does.
  const ExportedUpdateRule rule = update_rule_from_json(to_json(best_update_rule(run_file.path())));

  const RuleScore score = score_rule(config, rule, ScoreSplit::holdout);
  EXPECT_EQ(score.task_count, 5);
  EXPECT_EQ(score.result.fitness, summary.holdout->best_fitness);  // bit for bit
  ASSERT_EQ(score.result.task_scores.size(), 5u);

  // Deterministic, and the splits are different task sets.
  EXPECT_EQ(score_rule(config, rule, ScoreSplit::holdout).result.task_scores, score.result.task_scores);
  EXPECT_NE(score_rule(config, rule, ScoreSplit::training, 5).result.task_scores, score.result.task_scores);
  EXPECT_NE(score_rule(config, rule, ScoreSplit::validation, 5).result.task_scores, score.result.task_scores);
  EXPECT_EQ(score_rule(config, rule, ScoreSplit::holdout, 3).result.task_scores.size(), 3u);

  const nlohmann::json document = nlohmann::json::parse(to_json(score));
  EXPECT_EQ(document.at("family"), "adam");
  EXPECT_EQ(document.at("split"), "holdout");
  EXPECT_EQ(document.at("tasks"), 5);
  EXPECT_EQ(document.at("seed"), 11);
  EXPECT_EQ(document.at("fitness").get<double>(), score.result.fitness);
  EXPECT_EQ(document.at("per_task").size(), 5u);
  int family_tasks = 0;
  for (const auto& [name, entry] : document.at("families").items()) family_tasks += entry.at("tasks").get<int>();
  EXPECT_EQ(family_tasks, 5);
}

TEST(RuleScore, CommandPrintsJsonAndRefusesBadRules) {
  TemporaryPath config_file(".toml");
  std::ofstream(config_file.path()) << score_config;
  TemporaryPath rule_file(".json");
  std::ofstream(rule_file.path()) << R"({"format": "metaevo-update-rule", "version": 1, "family": "sgd",
      "hyperparameters": {"learning_rate": 0.05}, "inner_steps": 10})";
  const std::string cli = METAEVO_CLI_PATH;
  const auto ran = testing_support::run_command(cli + " score " + config_file.path().string() + " " +
                                                rule_file.path().string() + " --tasks 4 2>/dev/null");
  ASSERT_EQ(ran.exit_status, 0) << ran.output;
  const nlohmann::json document = nlohmann::json::parse(ran.output);
  EXPECT_EQ(document.at("family"), "sgd");
  EXPECT_EQ(document.at("tasks"), 4);
  EXPECT_TRUE(document.at("fitness").is_number());

  std::ofstream(rule_file.path()) << R"({"format": "metaevo-update-rule", "version": 1, "family": "sgd",
      "hyperparameters": {"learning_rate": -1}, "inner_steps": 10})";
  const auto refused = testing_support::run_command(cli + " score " + config_file.path().string() + " " +
                                                    rule_file.path().string());
  EXPECT_EQ(refused.exit_status, 3) << refused.output;
  EXPECT_NE(refused.output.find("learning_rate\" must be in (0, "), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace metaevo
