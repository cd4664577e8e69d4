#pragma once
// A task family whose tasks are run by something outside metaevo (e.g. the user's training
// program): it gets the update rule and the task's seed and reports the losses it reached, instead
// of offering a differentiable Task to the inner loop.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metaevo/tasks/task.hpp"

namespace metaevo {

/// One task slot of an evaluation, as an external family is asked to run it.
struct ExternalTaskRequest {
  int task_index = 0;           // the slot k of the evaluation
  std::uint64_t seed = 0;       // task_seed(key, k): what a built-in family would sample from
  std::int64_t generation = 0;  // the evaluation key's generation (informational)
  std::int64_t inner_steps = 0; // the config's evaluation.inner_steps (a budget the program may use)
  std::string rule_json;        // the update rule as an exported-rule document (rules/exported_rule.hpp)
  /// The evaluation's own time limit (evaluation.time_limit_seconds), if any: the task must end by it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

/// What the task reported. The Evaluator scores it like a built-in task's learning curve (see
/// docs/external-tasks.md).
struct ExternalTaskOutcome {
  double final_loss = 0.0;
  std::optional<double> initial_loss;  // the loss before training, when known
  std::vector<double> learning_curve;  // losses[0] = before training, then after each step (optional)
  std::int64_t steps = 0;              // training steps run (0 = not reported)
  bool diverged = false;               // the program says its training diverged
};

/// A family without differentiable tasks: the Evaluator calls run() for each of its task slots
/// instead of sampling a Task and running the inner loop.
class ExternalTaskFamily : public TaskFamily {
 public:
  /// Always throws EvaluationError: there is no Task to sample.
  std::unique_ptr<Task> sample(std::uint64_t seed) const override;
  /// Runs one task. Throws EvaluationError saying why when it fails (the evaluation then fails).
  /// Called from several threads at once when evaluations run in parallel.
  virtual ExternalTaskOutcome run(const ExternalTaskRequest& request) const = 0;
};

}  // namespace metaevo
