#pragma once
// `metaevo score`: the fitness of one given rule on a config's task distribution, with the same
// deterministic tasks a run uses, so other optimizers can be compared on exactly metaevo's objective.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/enum_names.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/rules/exported_rule.hpp"

namespace metaevo {

/// Which of a run's fixed task sets to score on (all keyed by the config's run.seed):
///  - holdout:    the final report's fresh tasks (StreamPurpose::holdout_task, default count holdout_tasks)
///  - validation: the set the top candidates are re-scored on (validation_task, validation_tasks)
///  - training:   generation 0's training tasks (task_sample, tasks_per_evaluation)
enum class ScoreSplit { holdout, validation, training };
template <>
struct EnumNames<ScoreSplit> {
  static constexpr std::array<EnumName<ScoreSplit>, 3> table{{
      {ScoreSplit::holdout, "holdout"},
      {ScoreSplit::validation, "validation"},
      {ScoreSplit::training, "training"},
  }};
};

struct RuleScore {
  std::string family;
  std::uint64_t seed = 0;
  ScoreSplit split = ScoreSplit::holdout;
  int task_count = 0;
  std::int64_t inner_steps = 0;
  EvaluationResult result;                 // fitness, per-task scores, final losses and family indices
  std::vector<std::string> family_names;   // of the config's [[tasks]], for result.task_families
};

/// Scores `rule` on `task_count` tasks of `split` (0 = the split's count in the config; at least 1
/// then). The rule's schedule is sized for the config's inner_steps. Never throws for a rule that
/// diverges or fails (the result says so); throws ConfigError if the config has no tasks.
RuleScore score_rule(const RunConfig& config, const ExportedUpdateRule& rule, ScoreSplit split, int task_count = 0);

/// The score as one JSON object (2-space indented, newline-terminated): family, seed, split, tasks,
/// inner_steps, fitness, mean_final_loss, diverged, failed, reason, then per family (tasks, mean
/// score, median final loss with a diverged task counted as +inf, so null when half or more diverged)
/// and per task (family, score, final loss; NaN written as null).
std::string to_json(const RuleScore& score);

}  // namespace metaevo
