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

/// Shared layout: inputs (samples x d), targets (samples), parameters = [weights; bias]. The full
/// data set and a minibatch each have their own scratch, so switching between loss() and minibatch
/// steps never reallocates.
class LinearModelTask : public DataTaskBase {
 public:
  LinearModelTask(Eigen::MatrixXd inputs, Eigen::VectorXd targets, Eigen::VectorXd initial, Eigen::Index batch_size,
                  std::uint64_t task_seed)
      : DataTaskBase(inputs.rows(), batch_size, task_seed),
        inputs_(std::move(inputs)),
        targets_(std::move(targets)),
        initial_(std::move(initial)),
        full_(targets_.size()),
        batch_(batch_size),
        batch_inputs_(batch_size, inputs_.cols()),
        batch_targets_(batch_size) {}

  Eigen::Index dimension() const override { return inputs_.cols() + 1; }
  std::vector<Eigen::Index> tensor_sizes() const override { return {inputs_.cols(), 1}; }  // weights, bias
  Eigen::VectorXd initial_parameters() const override { return initial_; }

  double loss(const Eigen::VectorXd& parameters) const override {
    check_parameter_count(parameters, dimension());
    compute_outputs(inputs_, parameters, full_.outputs);
    return loss_from_outputs(targets_, full_, false);
  }

 protected:
  /// Scratch of one evaluation: X w + b, and d loss / d output.
  struct Scratch {
    explicit Scratch(Eigen::Index rows) : outputs(rows), output_gradient(rows) {}
    Eigen::VectorXd outputs;
    Eigen::VectorXd output_gradient;
  };

  /// Reads outputs (and targets); returns the mean loss and, if asked, writes output_gradient =
  /// d loss / d output (already divided by the row count).
  virtual double loss_from_outputs(const Eigen::VectorXd& targets, Scratch& scratch, bool with_gradient) const = 0;

  double full_loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const override {
    check_parameter_count(parameters, dimension());
    return evaluate(inputs_, targets_, full_, parameters, gradient);
  }

  double rows_loss_and_gradient(std::span<const Eigen::Index> rows, const Eigen::VectorXd& parameters,
                                Eigen::VectorXd& gradient) const override {
    const auto count = static_cast<Eigen::Index>(rows.size());
    if (batch_targets_.size() != count) {  // only a subset of another size (tests) gets here
      batch_inputs_.resize(count, inputs_.cols());
      batch_targets_.resize(count);
      batch_.outputs.resize(count);
      batch_.output_gradient.resize(count);
    }
    for (Eigen::Index i = 0; i < count; ++i) {
      const Eigen::Index row = rows[static_cast<std::size_t>(i)];
      batch_inputs_.row(i) = inputs_.row(row);
      batch_targets_(i) = targets_(row);
    }
    return evaluate(batch_inputs_, batch_targets_, batch_, parameters, gradient);
  }

 private:
  static void compute_outputs(const Eigen::MatrixXd& inputs, const Eigen::VectorXd& parameters,
                              Eigen::VectorXd& outputs) {
    const Eigen::Index features = inputs.cols();
    outputs.noalias() = inputs * parameters.head(features);
    outputs.array() += parameters(features);
  }

  double evaluate(const Eigen::MatrixXd& inputs, const Eigen::VectorXd& targets, Scratch& scratch,
                  const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const {
    compute_outputs(inputs, parameters, scratch.outputs);
    const double value = loss_from_outputs(targets, scratch, true);
    const Eigen::Index features = inputs.cols();
    gradient.resize(dimension());
    gradient.head(features).noalias() = inputs.transpose() * scratch.output_gradient;
    gradient(features) = scratch.output_gradient.sum();
    return value;
  }

  Eigen::MatrixXd inputs_;
  Eigen::VectorXd targets_;
  Eigen::VectorXd initial_;
  mutable Scratch full_;                  // the whole data set
  mutable Scratch batch_;                 // the current minibatch (or subset)
  mutable Eigen::MatrixXd batch_inputs_;  // the minibatch's rows of inputs_
  mutable Eigen::VectorXd batch_targets_; // and of targets_
};

/// 0.5 / n * ||X w + b - y||^2.
class LinearRegressionTask final : public LinearModelTask {
 public:
  using LinearModelTask::LinearModelTask;

 protected:
  double loss_from_outputs(const Eigen::VectorXd& targets, Scratch& scratch, bool with_gradient) const override {
    const double inverse_count = 1.0 / static_cast<double>(targets.size());
    scratch.output_gradient = scratch.outputs - targets;  // residuals
    const double value = 0.5 * inverse_count * scratch.output_gradient.squaredNorm();
    if (with_gradient) scratch.output_gradient *= inverse_count;
    return value;
  }
};

/// Mean binary cross-entropy; targets holds labels as +1 / -1, so each term is
/// log(1 + exp(-label * z)), computed in the form that never overflows and is never negative.
class LogisticRegressionTask final : public LinearModelTask {
 public:
  using LinearModelTask::LinearModelTask;

 protected:
  double loss_from_outputs(const Eigen::VectorXd& targets, Scratch& scratch, bool with_gradient) const override {
    const double inverse_count = 1.0 / static_cast<double>(targets.size());
    double total = 0.0;
    for (Eigen::Index i = 0; i < targets.size(); ++i) {
      const double margin = targets(i) * scratch.outputs(i);
      const SoftplusOfNegative term = softplus_of_negative(margin);
      total += term.value;
      if (with_gradient) scratch.output_gradient(i) = -targets(i) * term.slope * inverse_count;
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

std::unique_ptr<Task> sample_linear_regression(const TaskFamilySpec& spec, RandomStream& stream,
                                               std::uint64_t task_seed) {
  LinearData data = draw_linear_data(spec, stream);
  Eigen::VectorXd targets = data.clean_outputs + spec.noise * normal_vector(spec.samples, stream);
  Eigen::VectorXd initial = draw_initial_linear(spec, stream);
  return std::make_unique<LinearRegressionTask>(std::move(data.inputs), std::move(targets), std::move(initial),
                                                spec.batch_size, task_seed);
}

std::unique_ptr<Task> sample_logistic_regression(const TaskFamilySpec& spec, RandomStream& stream,
                                                 std::uint64_t task_seed) {
  LinearData data = draw_linear_data(spec, stream);
  Eigen::VectorXd labels(spec.samples);
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    const double label = data.clean_outputs(i) > 0.0 ? 1.0 : -1.0;
    labels(i) = stream.bernoulli(spec.noise) ? -label : label;  // one draw per sample, always
  }
  Eigen::VectorXd initial = draw_initial_linear(spec, stream);
  return std::make_unique<LogisticRegressionTask>(std::move(data.inputs), std::move(labels), std::move(initial),
                                                  spec.batch_size, task_seed);
}

void register_linear_model_families(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  const auto common = [](OptionSpec noise) {
    return std::vector<OptionSpec>{
        dimension_option(1, max_dimension, "input features (parameters: features + 1 bias)"),
        integer_option("samples", 64, NumericRange::closed(1, max_samples), "data points"),
        batch_size_option(),
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
