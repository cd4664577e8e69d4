#include "metaevo/evaluation/inner_loop.hpp"

#include <cmath>
#include <string>

#include "metaevo/core/error.hpp"

namespace metaevo {

LearningCurve run_inner_loop(UpdateRule& rule, const Task& task, const InnerLoopOptions& options) {
  LearningCurve curve;
  curve.losses.reserve(static_cast<std::size_t>(options.steps) + 1);
  Eigen::VectorXd parameters = task.initial_parameters();
  Eigen::VectorXd gradient(parameters.size());
  rule.reset(parameters.size());
  const std::vector<Eigen::Index> tensor_sizes = task.tensor_sizes();
  Eigen::Index tensor_total = 0;
  for (const Eigen::Index size : tensor_sizes) tensor_total += size;
  if (tensor_total != parameters.size()) {
    throw Error("task: tensor_sizes() sum to " + std::to_string(tensor_total) + ", but the task has " +
                std::to_string(parameters.size()) + " parameters");
  }
  StepContext context;
  context.total_steps = options.steps;
  context.tensor_sizes = tensor_sizes;

  // A finite loss with parameters or a gradient that are not (or whose square overflows) is a
  // divergence too. One pass over each vector per step, next to the task's own work.
  const auto stop_as_diverged = [&curve](LearningCurve::Divergence why) {
    curve.diverged = true;
    curve.divergence = why;
  };
  const auto finite = [](const Eigen::VectorXd& vector) { return std::isfinite(vector.squaredNorm()); };
  double loss = task.loss_and_gradient(parameters, gradient);
  curve.losses.push_back(loss);
  if (!std::isfinite(loss)) {
    stop_as_diverged(LearningCurve::Divergence::loss);
    return curve;
  }
  if (!finite(gradient)) {
    stop_as_diverged(LearningCurve::Divergence::gradient);
    return curve;
  }
  const bool has_deadline = options.deadline != std::chrono::steady_clock::time_point::max();
  const double explosion_threshold = options.divergence_factor * std::abs(loss);
  for (std::int64_t t = 1; t <= options.steps; ++t) {
    context.t = t;
    context.loss = loss;
    rule.step(parameters, gradient, context);
    // The gradient for the next step comes with this step's loss: one task evaluation per step.
    loss = t < options.steps ? task.loss_and_gradient(parameters, gradient) : task.loss(parameters);
    curve.losses.push_back(loss);
    if (!std::isfinite(loss) || loss > explosion_threshold) {
      stop_as_diverged(LearningCurve::Divergence::loss);
      break;
    }
    if (!finite(parameters)) {
      stop_as_diverged(LearningCurve::Divergence::parameters);
      break;
    }
    if (t < options.steps && !finite(gradient)) {
      stop_as_diverged(LearningCurve::Divergence::gradient);
      break;
    }
    if (has_deadline && std::chrono::steady_clock::now() > options.deadline) {
      curve.timed_out = true;
      break;
    }
  }
  return curve;
}

}  // namespace metaevo
