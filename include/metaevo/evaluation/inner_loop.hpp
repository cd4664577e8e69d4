#pragma once
// Runs an update rule on a task for T steps and returns the learning curve.
#include <chrono>
#include <cstdint>
#include <vector>

#include "metaevo/tasks/task.hpp"
#include "metaevo/rules/update_rule.hpp"

namespace metaevo {

struct InnerLoopOptions {
  std::int64_t steps = 100;
  /// The loop stops as diverged when the loss is not finite or exceeds this factor times the initial loss.
  double divergence_factor = 1e3;
  /// Checked after every step when set: the loop stops as timed out once past it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct LearningCurve {
  std::vector<double> losses;  // losses[0] = initial loss, losses[t] = loss after step t
  bool diverged = false;       // stopped early: NaN/inf or explosion; losses ends at the bad value
  bool timed_out = false;      // stopped early: past options.deadline
  std::int64_t steps() const { return static_cast<std::int64_t>(losses.size()) - 1; }
};

/// rule.reset() is called here. The loss at step t is the one the gradient was taken at, so one
/// gradient evaluation per step; the final loss is evaluated once more after the last step.
LearningCurve run_inner_loop(UpdateRule& rule, const Task& task, const InnerLoopOptions& options);

}  // namespace metaevo
