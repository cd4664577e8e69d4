// Linear models on synthetic data: least squares and logistic regression. Parameters are the d
// weights followed by one bias; the data (and the teacher that labelled it) belong to the task.
#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "tasks/task_detail.hpp"

namespace metaevo::task_detail {

namespace {

/// log(1 + exp(-margin)) and its slope's magnitude sigmoid(-margin), sharing one exp and never
/// overflowing: both are written in terms of exp(-|margin|) <= 1.
struct SoftplusOfNegative {
  double value;
  double slope;
};
SoftplusOfNegative softplus_of_negative(double margin) {
  const double e = std::exp(-std::abs(margin));
  return {std::max(-margin, 0.0) + std::log1p(e), margin >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e)};
}

/// Shared layout: inputs (samples x d), targets (samples), parameters = [weights; bias].
class LinearModelTask : public Task {
 public:
  LinearModelTask(Eigen::MatrixXd inputs, Eigen::VectorXd targets, Eigen::VectorXd initial)
      : inputs_(std::move(inputs)),
        targets_(std::move(targets)),
        initial_(std::move(initial)),
        outputs_(targets_.size()),
        output_gradient_(targets_.size()) {}

  Eigen::Index dimension() const override { return inputs_.cols() + 1; }
  std::vector<Eigen::Index> tensor_sizes() const override { return {inputs_.cols(), 1}; }  // weights, bias
  Eigen::VectorXd initial_parameters() const override { return initial_; }

  double loss(const Eigen::VectorXd& parameters) const override {
    compute_outputs(parameters);
    return loss_from_outputs(false);
  }

  double loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const override {
    compute_outputs(parameters);
    const double value = loss_from_outputs(true);
    const Eigen::Index features = inputs_.cols();
    gradient.resize(dimension());
    gradient.head(features).noalias() = inputs_.transpose() * output_gradient_;
    gradient(features) = output_gradient_.sum();
    return value;
  }

 protected:
  /// Reads outputs_ (and targets_); returns the mean loss and, if asked, writes
  /// output_gradient_ = d loss / d output (already divided by the sample count).
  virtual double loss_from_outputs(bool with_gradient) const = 0;

  Eigen::MatrixXd inputs_;
  Eigen::VectorXd targets_;
  Eigen::VectorXd initial_;
  mutable Eigen::VectorXd outputs_;          // scratch: X w + b
  mutable Eigen::VectorXd output_gradient_;  // scratch

 private:
  void compute_outputs(const Eigen::VectorXd& parameters) const {
    check_parameter_count(parameters, dimension());
    const Eigen::Index features = inputs_.cols();
    outputs_.noalias() = inputs_ * parameters.head(features);
    outputs_.array() += parameters(features);
  }
};

/// 0.5 / n * ||X w + b - y||^2.
class LinearRegressionTask final : public LinearModelTask {
 public:
  using LinearModelTask::LinearModelTask;

 protected:
  double loss_from_outputs(bool with_gradient) const override {
    const double inverse_count = 1.0 / static_cast<double>(targets_.size());
    output_gradient_ = outputs_ - targets_;  // residuals
    const double value = 0.5 * inverse_count * output_gradient_.squaredNorm();
    if (with_gradient) output_gradient_ *= inverse_count;
    return value;
  }
};

/// Mean binary cross-entropy; targets_ holds labels as +1 / -1, so each term is
/// log(1 + exp(-label * z)), computed in the form that never overflows and is never negative.
class LogisticRegressionTask final : public LinearModelTask {
 public:
  using LinearModelTask::LinearModelTask;

 protected:
  double loss_from_outputs(bool with_gradient) const override {
    const double inverse_count = 1.0 / static_cast<double>(targets_.size());
    double total = 0.0;
    for (Eigen::Index i = 0; i < targets_.size(); ++i) {
      const double margin = targets_(i) * outputs_(i);
      const SoftplusOfNegative term = softplus_of_negative(margin);
      total += term.value;
      if (with_gradient) output_gradient_(i) = -targets_(i) * term.slope * inverse_count;
    }
    return total * inverse_count;
  }
};

struct LinearData {
  Eigen::MatrixXd inputs;
  Eigen::VectorXd clean_outputs;  // teacher's X w + b, before noise
};

LinearData draw_linear_data(const TaskFamilySpec& spec, RandomStream& stream) {
  LinearData data;
  data.inputs = normal_matrix(spec.samples, spec.dimension, stream);
  const Eigen::VectorXd teacher_weights = normal_vector(spec.dimension, stream);
  const double teacher_bias = stream.normal();
  data.clean_outputs = data.inputs * teacher_weights;
  data.clean_outputs.array() += teacher_bias;
  return data;
}

/// Weights ~ initial_scale * N(0, 1 / d) so the first predictions have variance ~ initial_scale^2
/// whatever d; the bias starts at zero.
Eigen::VectorXd draw_initial_linear(const TaskFamilySpec& spec, RandomStream& stream) {
  Eigen::VectorXd initial = Eigen::VectorXd::Zero(spec.dimension + 1);
  initial.head(spec.dimension) =
      (spec.initial_scale / std::sqrt(static_cast<double>(spec.dimension))) * normal_vector(spec.dimension, stream);
  return initial;
}

}  // namespace

std::unique_ptr<Task> sample_linear_regression(const TaskFamilySpec& spec, RandomStream& stream) {
  LinearData data = draw_linear_data(spec, stream);
  Eigen::VectorXd targets = data.clean_outputs + spec.noise * normal_vector(spec.samples, stream);
  Eigen::VectorXd initial = draw_initial_linear(spec, stream);
  return std::make_unique<LinearRegressionTask>(std::move(data.inputs), std::move(targets), std::move(initial));
}

std::unique_ptr<Task> sample_logistic_regression(const TaskFamilySpec& spec, RandomStream& stream) {
  LinearData data = draw_linear_data(spec, stream);
  Eigen::VectorXd labels(spec.samples);
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    const double label = data.clean_outputs(i) > 0.0 ? 1.0 : -1.0;
    labels(i) = stream.bernoulli(spec.noise) ? -label : label;  // one draw per sample, always
  }
  Eigen::VectorXd initial = draw_initial_linear(spec, stream);
  return std::make_unique<LogisticRegressionTask>(std::move(data.inputs), std::move(labels), std::move(initial));
}

void register_linear_model_families(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  const auto common = [](OptionSpec noise) {
    return std::vector<OptionSpec>{
        dimension_option(1, max_dimension, "input features (parameters: features + 1 bias)"),
        integer_option("samples", 64, NumericRange::closed(1, max_samples), "data points (full-batch loss)"),
        std::move(noise),
        initial_scale_option("scale of the initial weights (std dev initial_scale / sqrt(dimension))")};
  };
  registry.add(builtin_registration(
      TaskKind::linear_regression, "mean squared error of a linear model on synthetic teacher data",
      common(real_option("noise", 0.1, NumericRange::at_least(0.0), "std dev of the label noise"))));
  registry.add(builtin_registration(
      TaskKind::logistic_regression, "binary cross-entropy of a linear classifier on synthetic teacher data",
      common(real_option("noise", 0.1, NumericRange::closed_open(0.0, 0.5), "probability a label is flipped"))));
}

}  // namespace metaevo::task_detail
