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
  /// Why it diverged. loss: NaN, inf, or past divergence_factor times the initial loss. parameters
  /// or gradient: NaN, inf, or so large that the squared norm overflows (what a weight decay or an
  /// Adam-like rule squares), while the loss was finite.
  enum class Divergence { loss, parameters, gradient };
  Divergence divergence = Divergence::loss;
  bool timed_out = false;      // stopped early: past options.deadline
  std::int64_t steps() const { return static_cast<std::int64_t>(losses.size()) - 1; }
};

/// rule.reset() is called here. The loss at step t is the one the gradient was taken at, so one
/// gradient evaluation per step; the final loss is evaluated once more after the last step.
/// Parameters or a gradient that are not finite (squared norm included) stop the loop as diverged
/// even when the loss is finite, before any rule sees such a gradient: a rule that ignores NaN (the
/// sign of NaN is 0) would otherwise train on silently, and a task's loss may not look at every
/// parameter or may saturate (tanh, a softmax of equal logits).
LearningCurve run_inner_loop(UpdateRule& rule, const Task& task, const InnerLoopOptions& options);

}  // namespace metaevo
