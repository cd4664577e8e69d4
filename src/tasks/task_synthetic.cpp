// The diagnostic family: 0.5 |x|^2 with a chosen wall-time cost per step and injected faults, so
// runtime benchmarks can put many ranks on few cores and fault handling can be tested end to end.
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "metaevo/core/error.hpp"
#include "tasks/task_detail.hpp"

namespace metaevo {

namespace {

constexpr double max_sleep_factor = 100.0;  // caps the Pareto tail so one straggler cannot stall a run

/// The per-task draws, in a fixed order: the sleep factor's uniform, the fault's uniform. Both are
/// always drawn, so the start point (drawn after them) does not depend on the tail or fault settings.
SyntheticTaskDraws draw_synthetic(const TaskFamilySpec& spec, RandomStream& stream) {
  const double tail_uniform = 1.0 - stream.uniform();  // (0, 1], so the power is finite
  const double fault_uniform = stream.uniform();       // [0, 1): probability 1 always faults, 0 never
  SyntheticTaskDraws draws;
  if (spec.sleep_tail == SleepTail::pareto) {
    draws.sleep_factor = std::min(std::pow(tail_uniform, -1.0 / spec.pareto_shape), max_sleep_factor);
  }
  draws.faulty = spec.fault != TaskFault::none && fault_uniform < spec.fault_probability;
  return draws;
}

/// 0.5 |x|^2 whose loss_and_gradient calls cost step_seconds of wall time each; a faulty task
/// throws or returns NaN at exactly its fault_step-th call. loss() is free and never faults (the
/// inner loop calls it once, at the end).
class SyntheticTask final : public Task {
 public:
  SyntheticTask(Eigen::VectorXd initial, double step_seconds, TaskFault fault, std::int64_t fault_step)
      : initial_(std::move(initial)), step_seconds_(step_seconds), fault_(fault), fault_step_(fault_step) {}

  Eigen::Index dimension() const override { return initial_.size(); }
  Eigen::VectorXd initial_parameters() const override { return initial_; }

  double loss(const Eigen::VectorXd& parameters) const override {
    task_detail::check_parameter_count(parameters, dimension());
    return 0.5 * parameters.squaredNorm();
  }

  double loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const override {
    task_detail::check_parameter_count(parameters, dimension());
    ++calls_;
    // The cost is paid before the fault, as a real evaluation would spend its time before failing.
    if (step_seconds_ > 0.0) std::this_thread::sleep_for(std::chrono::duration<double>(step_seconds_));
    if (fault_ != TaskFault::none && calls_ == fault_step_) {
      if (fault_ == TaskFault::throw_exception) {
        throw EvaluationError("synthetic fault: injected exception at loss_and_gradient call " +
                              std::to_string(calls_));
      }
      gradient.setConstant(dimension(), std::numeric_limits<double>::quiet_NaN());
      return std::numeric_limits<double>::quiet_NaN();
    }
    gradient = parameters;
    return 0.5 * parameters.squaredNorm();
  }

 private:
  Eigen::VectorXd initial_;
  double step_seconds_;           // step_sleep_seconds * the task's sleep factor
  TaskFault fault_;               // none unless this task drew a fault
  std::int64_t fault_step_;
  mutable std::int64_t calls_ = 0;  // loss_and_gradient calls so far (a task serves one thread)
};

}  // namespace

SyntheticTaskDraws synthetic_task_draws(const TaskFamilySpec& spec, std::uint64_t seed) {
  RandomStream stream(seed);
  return draw_synthetic(spec, stream);
}

namespace task_detail {

std::unique_ptr<Task> sample_synthetic(const TaskFamilySpec& spec, RandomStream& stream) {
  const SyntheticTaskDraws draws = draw_synthetic(spec, stream);
  Eigen::VectorXd initial = spec.initial_scale * normal_vector(spec.dimension, stream);
  return std::make_unique<SyntheticTask>(std::move(initial), spec.step_sleep_seconds * draws.sleep_factor,
                                         draws.faulty ? spec.fault : TaskFault::none, spec.fault_step);
}

void register_synthetic_family(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  registry.add(builtin_registration(
      TaskKind::synthetic, "diagnostic 0.5 |x|^2 with a chosen cost per step and injected faults",
      {dimension_option(1, max_dimension, "parameters"),
       real_option("step_sleep_seconds", 0.0, NumericRange::closed(0.0, max_step_sleep_seconds),
                   "each loss_and_gradient call sleeps this long (times the tail factor)"),
       choice_option("sleep_tail", "fixed", enum_names<SleepTail>(),
                     "fixed, or a Pareto factor per task (stragglers)"),
       real_option("pareto_shape", 1.5, NumericRange::greater_than(0.0),
                   "pareto tail: factor = U^(-1/shape), capped at 100"),
       choice_option("fault", "none", enum_names<TaskFault>(), "the fault a faulty task injects"),
       real_option("fault_probability", 1.0, NumericRange::closed(0.0, 1.0), "chance a sampled task is faulty"),
       integer_option("fault_step", 1, NumericRange::at_least(1), "the loss_and_gradient call at which the fault hits"),
       initial_scale_option("std dev of the start around the origin")}));
}

}  // namespace task_detail

}  // namespace metaevo
