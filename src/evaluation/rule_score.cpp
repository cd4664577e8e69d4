#include "metaevo/evaluation/rule_score.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/evaluation/win_rate.hpp"

namespace metaevo {
namespace {

using Json = nlohmann::ordered_json;

Json number_or_null(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

}  // namespace

RuleScore score_rule(const RunConfig& config, const ExportedUpdateRule& rule, ScoreSplit split, int task_count) {
  if (config.objective || config.tasks.empty()) {
    throw ConfigError("score needs a config with [[tasks]] (a diagnostic [objective] has no update rule)");
  }
  RuleScore score;
  score.family = rule.family;
  score.seed = config.run.seed;
  score.split = split;
  StreamPurpose purpose = StreamPurpose::holdout_task;
  int default_count = config.evaluation.holdout_tasks;
  if (split == ScoreSplit::validation) {
    purpose = StreamPurpose::validation_task;
    default_count = config.evaluation.validation_tasks;
  } else if (split == ScoreSplit::training) {
    purpose = StreamPurpose::task_sample;
    default_count = config.evaluation.tasks_per_evaluation;
  }
  score.task_count = task_count > 0 ? task_count : std::max(default_count, 1);
  score.inner_steps = config.evaluation.inner_steps;
  for (const TaskConfig& task : config.tasks) score.family_names.push_back(task.family);

  RuleParameters parameters = rule_parameters(rule);
  parameters.inner_steps = config.evaluation.inner_steps;
  const Evaluator evaluator(config);
  score.result = evaluator.evaluate_rule(rule.family, parameters, EvaluationKey{config.run.seed, 0, purpose},
                                         score.task_count);
  return score;
}

std::string to_json(const RuleScore& score) {
  const EvaluationResult& result = score.result;
  Json document = Json::object();
  document["family"] = score.family;
  document["seed"] = score.seed;
  document["split"] = std::string(to_string(score.split));
  document["tasks"] = score.task_count;
  document["inner_steps"] = score.inner_steps;
  document["fitness"] = number_or_null(result.fitness);
  document["mean_final_loss"] = number_or_null(result.mean_final_loss);
  document["diverged"] = result.diverged;
  document["failed"] = result.failed;
  document["reason"] = result.reason;

  Json families = Json::object();
  for (std::size_t f = 0; f < score.family_names.size(); ++f) {
    std::vector<double> scores;
    std::vector<double> losses;
    for (std::size_t k = 0; k < result.task_families.size(); ++k) {
      if (static_cast<std::size_t>(result.task_families[k]) != f) continue;
      scores.push_back(result.task_scores[k]);
      losses.push_back(result.task_final_losses[k]);
    }
    if (scores.empty()) continue;
    double sum = 0.0;
    for (const double s : scores) sum += s;
    Json entry = Json::object();
    entry["tasks"] = scores.size();
    entry["mean_score"] = number_or_null(sum / static_cast<double>(scores.size()));
    entry["median_final_loss"] = number_or_null(median_loss(losses));
    // Two [[tasks]] tables may name the same family: key by table index then.
    std::string key = score.family_names[f];
    if (families.contains(key)) key.append(1, '#').append(std::to_string(f));
    families[key] = std::move(entry);
  }
  document["families"] = std::move(families);

  Json tasks = Json::array();
  for (std::size_t k = 0; k < result.task_scores.size(); ++k) {
    Json task = Json::object();
    const auto family = static_cast<std::size_t>(result.task_families[k]);
    task["family"] = family < score.family_names.size() ? score.family_names[family] : std::string("?");
    task["score"] = number_or_null(result.task_scores[k]);
    task["final_loss"] = number_or_null(result.task_final_losses[k]);
    tasks.push_back(std::move(task));
  }
  document["per_task"] = std::move(tasks);
  return document.dump(2) + "\n";
}

}  // namespace metaevo
