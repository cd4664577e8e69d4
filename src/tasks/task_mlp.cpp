// Multi-layer perceptrons (no hidden layer: a linear model) on data labelled by a random teacher network
// of the same architecture (the MLP families) or on given data (the dataset family, task_dataset.cpp).
// Forward and backward passes run over the full batch (or a minibatch) with one matrix product per layer.
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "tasks/task_detail.hpp"

namespace metaevo::task_detail {

namespace {

/// The architecture and the scratch of one network, computing in Scalar (double, or float for
/// precision = "float32"). Parameters are flattened layer by layer: W_l (out x in, column-major)
/// then b_l (out). Activations are stored one column per sample, so each layer is one matrix
/// product over the batch.
template <typename Scalar>
class MlpNetwork {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  MlpNetwork(std::vector<Eigen::Index> layer_sizes, Activation activation, Eigen::Index samples)
      : sizes_(std::move(layer_sizes)), activation_(activation) {
    const std::size_t layers = sizes_.size() - 1;
    pre_activations_.resize(layers);
    activations_.resize(layers - 1);
    deltas_.resize(layers);
    for (std::size_t l = 0; l < layers; ++l) {
      pre_activations_[l].resize(sizes_[l + 1], samples);
      deltas_[l].resize(sizes_[l + 1], samples);
      if (l + 1 < layers) activations_[l].resize(sizes_[l + 1], samples);
    }
    parameter_count_ = 0;
    for (std::size_t l = 0; l < layers; ++l) parameter_count_ += sizes_[l + 1] * (sizes_[l] + 1);
  }

  Eigen::Index parameter_count() const { return parameter_count_; }
  std::size_t layer_count() const { return sizes_.size() - 1; }
  Eigen::Index fan_in(std::size_t layer) const { return sizes_[layer]; }
  Eigen::Index fan_out(std::size_t layer) const { return sizes_[layer + 1]; }
  Activation activation() const { return activation_; }

  /// Returns the output layer's values (outputs x samples); valid until the next call.
  const Matrix& forward(const Vector& parameters, const Matrix& inputs) {
    Eigen::Index offset = 0;
    for (std::size_t l = 0; l < layer_count(); ++l) {
      const Eigen::Map<const Matrix> weights(parameters.data() + offset, fan_out(l), fan_in(l));
      offset += fan_out(l) * fan_in(l);
      const Eigen::Map<const Vector> bias(parameters.data() + offset, fan_out(l));
      offset += fan_out(l);
      const Matrix& layer_input = l == 0 ? inputs : activations_[l - 1];
      pre_activations_[l].noalias() = weights * layer_input;
      pre_activations_[l].colwise() += bias;
      if (l + 1 < layer_count()) {
        if (activation_ == Activation::tanh) {
          if constexpr (std::is_same_v<Scalar, float>) {
            activations_[l] = pre_activations_[l].array().tanh();  // Eigen 3.4 vectorizes tanh for floats
          } else {
            // tanh(z) = 1 - 2 / (exp(2z) + 1): Eigen vectorizes exp for doubles but not tanh, which
            // makes this about twice as fast; exp overflowing to inf still gives exactly +-1.
            activations_[l] = 1.0 - 2.0 / ((2.0 * pre_activations_[l].array()).exp() + 1.0);
          }
        } else {
          activations_[l] = pre_activations_[l].cwiseMax(Scalar(0));
        }
      }
    }
    return pre_activations_.back();
  }

  /// The output layer's d loss / d output, written by the caller before backward().
  Matrix& output_delta() { return deltas_.back(); }

  /// Backpropagates output_delta() through the last forward pass; writes the full gradient.
  void backward(const Vector& parameters, const Matrix& inputs, Vector& gradient) {
    gradient.resize(parameter_count_);
    Eigen::Index end = parameter_count_;
    for (std::size_t l = layer_count(); l-- > 0;) {
      const Eigen::Index bias_offset = end - fan_out(l);
      const Eigen::Index weight_offset = bias_offset - fan_out(l) * fan_in(l);
      end = weight_offset;
      const Matrix& layer_input = l == 0 ? inputs : activations_[l - 1];
      Eigen::Map<Matrix> weight_gradient(gradient.data() + weight_offset, fan_out(l), fan_in(l));
      weight_gradient.noalias() = deltas_[l] * layer_input.transpose();
      Eigen::Map<Vector>(gradient.data() + bias_offset, fan_out(l)) = deltas_[l].rowwise().sum();
      if (l == 0) break;
      const Eigen::Map<const Matrix> weights(parameters.data() + weight_offset, fan_out(l), fan_in(l));
      deltas_[l - 1].noalias() = weights.transpose() * deltas_[l];
      if (activation_ == Activation::tanh) {
        deltas_[l - 1].array() *= Scalar(1) - activations_[l - 1].array().square();
      } else {
        deltas_[l - 1].array() *= (pre_activations_[l - 1].array() > Scalar(0)).template cast<Scalar>();
      }
    }
  }

 private:
  std::vector<Eigen::Index> sizes_;  // input, hidden..., output
  Activation activation_;
  Eigen::Index parameter_count_ = 0;
  std::vector<Matrix> pre_activations_;  // per layer: W a + b
  std::vector<Matrix> activations_;      // per hidden layer: act(W a + b)
  std::vector<Matrix> deltas_;           // per layer: d loss / d pre-activation
};

/// Normal weights with the given per-layer standard deviation, biases scaled by bias_scale.
Eigen::VectorXd draw_network_parameters(const MlpNetwork<double>& network, RandomStream& stream, bool teacher,
                                        double scale) {
  Eigen::VectorXd parameters(network.parameter_count());
  Eigen::Index offset = 0;
  for (std::size_t l = 0; l < network.layer_count(); ++l) {
    const auto fan_in = static_cast<double>(network.fan_in(l));
    const auto fan_out = static_cast<double>(network.fan_out(l));
    const bool relu = network.activation() == Activation::relu;
    // Teacher: LeCun / He by fan-in, so its outputs stay O(1). Student: Glorot (tanh) or He (relu).
    const double variance = teacher ? (relu ? 2.0 : 1.0) / fan_in : (relu ? 2.0 / fan_in : 2.0 / (fan_in + fan_out));
    const double weight_std = scale * std::sqrt(variance);
    const Eigen::Index weight_count = network.fan_out(l) * network.fan_in(l);
    for (Eigen::Index i = 0; i < weight_count; ++i) parameters(offset++) = weight_std * stream.normal();
    for (Eigen::Index i = 0; i < network.fan_out(l); ++i) {
      // A teacher with small random biases makes less symmetric targets; a student's start at zero.
      parameters(offset++) = teacher ? 0.1 * stream.normal() : 0.0;
    }
  }
  return parameters;
}

/// The data set is stored one column per sample. The full data set and a minibatch each have their
/// own scratch (network passes and softmax), so switching between loss() and minibatch steps never
/// reallocates. Scalar is the arithmetic of the passes: with float, the parameters are rounded to
/// float on the way in and the gradient widened to double on the way out (no allocation either).
template <typename Scalar>
class MlpTask final : public DataTaskBase {
 public:
  using Network = MlpNetwork<Scalar>;
  using Matrix = typename Network::Matrix;
  using Vector = typename Network::Vector;
  using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

  /// Without a scored set, loss() is the loss over the training data; with one, over the scored set.
  MlpTask(const NetworkArchitecture& architecture, NetworkData training, std::optional<NetworkData> scored,
          Eigen::VectorXd initial, Eigen::Index batch_size, std::uint64_t task_seed)
      : DataTaskBase(training.inputs.cols(), batch_size, task_seed),
        inputs_(to_scalar(std::move(training.inputs))),
        targets_(to_scalar(std::move(training.targets))),
        labels_(std::move(training.labels)),
        initial_(std::move(initial)),
        full_(make_pass(architecture, inputs_.cols())),
        batch_(make_pass(architecture, batch_size)),
        batch_inputs_(inputs_.rows(), batch_size),
        batch_targets_(targets_.rows(), batch_size),
        batch_labels_(labels_.empty() ? 0 : static_cast<std::size_t>(batch_size)),
        parameters_in_scalar_(initial_.size()),
        gradient_in_scalar_(initial_.size()) {
    if (scored) {
      scored_inputs_ = to_scalar(std::move(scored->inputs));
      scored_targets_ = to_scalar(std::move(scored->targets));
      scored_labels_ = std::move(scored->labels);
      scored_.emplace(make_pass(architecture, scored_inputs_.cols()));
    }
  }

  Eigen::Index dimension() const override { return full_.network.parameter_count(); }
  std::vector<Eigen::Index> tensor_sizes() const override {
    std::vector<Eigen::Index> sizes;
    for (std::size_t layer = 0; layer < full_.network.layer_count(); ++layer) {
      sizes.push_back(full_.network.fan_out(layer) * full_.network.fan_in(layer));  // W, as flattened
      sizes.push_back(full_.network.fan_out(layer));                                // b
    }
    return sizes;
  }
  Eigen::VectorXd initial_parameters() const override { return initial_; }

  double loss(const Eigen::VectorXd& parameters) const override {
    check_parameter_count(parameters, dimension());
    const Vector& network_parameters = in_scalar(parameters);
    if (scored_) {
      return loss_of_forward(*scored_, scored_->network.forward(network_parameters, scored_inputs_), scored_targets_,
                             scored_labels_, false);
    }
    return loss_of_forward(full_, full_.network.forward(network_parameters, inputs_), targets_, labels_, false);
  }

 protected:
  double full_loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const override {
    check_parameter_count(parameters, dimension());
    return evaluate(full_, inputs_, targets_, labels_, parameters, gradient);
  }

  double rows_loss_and_gradient(std::span<const Eigen::Index> rows, const Eigen::VectorXd& parameters,
                                Eigen::VectorXd& gradient) const override {
    const auto count = static_cast<Eigen::Index>(rows.size());
    if (batch_inputs_.cols() != count) {  // only a subset of another size (tests) gets here
      batch_inputs_.resize(inputs_.rows(), count);
      batch_targets_.resize(targets_.rows(), count);
      if (is_classification()) batch_labels_.resize(rows.size());
    }
    for (Eigen::Index i = 0; i < count; ++i) {
      const Eigen::Index row = rows[static_cast<std::size_t>(i)];
      batch_inputs_.col(i) = inputs_.col(row);
      if (is_classification()) {
        batch_labels_[static_cast<std::size_t>(i)] = labels_[static_cast<std::size_t>(row)];
      } else {
        batch_targets_(0, i) = targets_(0, row);
      }
    }
    return evaluate(batch_, batch_inputs_, batch_targets_, batch_labels_, parameters, gradient);
  }

 private:
  /// The scratch of one evaluation.
  struct Pass {
    Network network;          // forward and backward scratch
    RowVector column_maxima;  // largest logit per sample
    RowVector column_sums;    // sum of shifted exps per sample
  };

  /// Every buffer sized for `samples` up front: the first loss() after minibatch steps allocates nothing either.
  static Pass make_pass(const NetworkArchitecture& architecture, Eigen::Index samples) {
    return Pass{Network(architecture.layer_sizes, architecture.activation, samples), RowVector(samples),
                RowVector(samples)};
  }

  static constexpr bool computes_in_double = std::is_same_v<Scalar, double>;

  static Matrix to_scalar(Eigen::MatrixXd&& matrix) {
    if constexpr (computes_in_double) {
      return std::move(matrix);
    } else {
      return matrix.cast<Scalar>();
    }
  }

  /// The parameters as the network computes with them: themselves in double, else rounded to
  /// float into a buffer of the task's.
  const Vector& in_scalar(const Eigen::VectorXd& parameters) const {
    if constexpr (computes_in_double) {
      return parameters;
    } else {
      parameters_in_scalar_ = parameters.cast<Scalar>();
      return parameters_in_scalar_;
    }
  }

  bool is_classification() const { return !labels_.empty(); }

  double evaluate(Pass& pass, const Matrix& inputs, const Matrix& targets, std::span<const Eigen::Index> labels,
                  const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const {
    const Vector& network_parameters = in_scalar(parameters);
    const double value =
        loss_of_forward(pass, pass.network.forward(network_parameters, inputs), targets, labels, true);
    if constexpr (computes_in_double) {
      pass.network.backward(network_parameters, inputs, gradient);
    } else {
      pass.network.backward(network_parameters, inputs, gradient_in_scalar_);
      gradient = gradient_in_scalar_.template cast<double>();
    }
    return value;
  }

  /// The mean loss over the columns of `outputs`, whose targets (regression) or labels
  /// (classification) are given; with_gradient writes the output delta for backward().
  double loss_of_forward(Pass& pass, const Matrix& outputs, const Matrix& targets,
                         std::span<const Eigen::Index> labels, bool with_gradient) const {
    const Scalar inverse_count = Scalar(1) / static_cast<Scalar>(outputs.cols());
    Matrix& delta = pass.network.output_delta();
    if (!is_classification()) {
      // 0.5 mean squared error over samples (one output).
      delta = outputs - targets;
      const Scalar value = Scalar(0.5) * inverse_count * delta.squaredNorm();
      if (with_gradient) delta *= inverse_count;
      return static_cast<double>(value);
    }
    // Softmax cross-entropy: log-sum-exp minus the true logit. Shifting each column by its maximum
    // keeps exp from overflowing and makes every term >= 0 exactly (the sum of exps is >= 1).
    // The exponentials go into delta in one vectorized pass; with_gradient only decides the scaling.
    pass.column_maxima = outputs.colwise().maxCoeff();
    delta = (outputs.rowwise() - pass.column_maxima).array().exp();
    pass.column_sums = delta.colwise().sum();
    Scalar total = 0;
    for (Eigen::Index sample = 0; sample < outputs.cols(); ++sample) {
      const Eigen::Index label = labels[static_cast<std::size_t>(sample)];
      total += (pass.column_maxima(sample) - outputs(label, sample)) + std::log(pass.column_sums(sample));
      if (with_gradient) {
        delta.col(sample) *= inverse_count / pass.column_sums(sample);
        delta(label, sample) -= inverse_count;
      }
    }
    return static_cast<double>(total * inverse_count);
  }

  Matrix inputs_;                     // dimension x samples
  Matrix targets_;                    // regression: 1 x samples; classification: empty
  std::vector<Eigen::Index> labels_;  // classification: class per sample; regression: empty
  Eigen::VectorXd initial_;
  mutable Pass full_;                 // the whole data set; a task serves one thread
  mutable Pass batch_;                // the current minibatch (or subset)
  Matrix scored_inputs_;              // what loss() scores when given (a validation split), else empty
  Matrix scored_targets_;
  std::vector<Eigen::Index> scored_labels_;
  mutable std::optional<Pass> scored_;  // its scratch
  mutable Matrix batch_inputs_;                     // the minibatch's columns of inputs_
  mutable Matrix batch_targets_;                    // and of targets_ (regression)
  mutable std::vector<Eigen::Index> batch_labels_;  // and of labels_ (classification)
  mutable Vector parameters_in_scalar_;             // float: the parameters rounded (unused in double)
  mutable Vector gradient_in_scalar_;               // float: the gradient before widening (unused in double)
};

}  // namespace

std::unique_ptr<Task> sample_mlp(const TaskFamilySpec& spec, RandomStream& stream, std::uint64_t task_seed) {
  const bool classification = spec.kind == TaskKind::mlp_classification;
  std::vector<Eigen::Index> sizes{spec.dimension};
  for (int width : spec.hidden_layers) sizes.push_back(width);
  sizes.push_back(classification ? spec.classes : 1);
  const Eigen::Index samples = spec.samples;
  MlpNetwork<double> network(sizes, spec.activation, samples);

  Eigen::MatrixXd inputs = normal_matrix(spec.dimension, samples, stream);
  const Eigen::VectorXd teacher = draw_network_parameters(network, stream, true, 1.0);
  const Eigen::MatrixXd teacher_outputs = network.forward(teacher, inputs);

  Eigen::MatrixXd targets;
  std::vector<Eigen::Index> labels;
  if (classification) {
    const auto classes = static_cast<std::uint64_t>(spec.classes);
    labels.resize(static_cast<std::size_t>(samples));
    for (Eigen::Index sample = 0; sample < samples; ++sample) {
      Eigen::Index label = 0;
      teacher_outputs.col(sample).maxCoeff(&label);
      if (stream.bernoulli(spec.noise)) {
        // Flip to one of the other classes, uniformly.
        label = static_cast<Eigen::Index>((static_cast<std::uint64_t>(label) + 1 + stream.below(classes - 1)) % classes);
      }
      labels[static_cast<std::size_t>(sample)] = label;
    }
  } else {
    targets = teacher_outputs;
    for (Eigen::Index sample = 0; sample < samples; ++sample) targets(0, sample) += spec.noise * stream.normal();
  }
  Eigen::VectorXd initial = draw_network_parameters(network, stream, false, spec.initial_scale);
  // The task is drawn in double whatever the precision: float32 changes only the training arithmetic.
  NetworkArchitecture architecture{sizes, spec.activation};
  NetworkData data{std::move(inputs), std::move(targets), std::move(labels)};
  if (spec.precision == TaskPrecision::float32) {
    return std::make_unique<MlpTask<float>>(architecture, std::move(data), std::nullopt, std::move(initial),
                                            spec.batch_size, task_seed);
  }
  return std::make_unique<MlpTask<double>>(architecture, std::move(data), std::nullopt, std::move(initial),
                                           spec.batch_size, task_seed);
}

Eigen::VectorXd draw_initial_network_parameters(const NetworkArchitecture& architecture, double initial_scale,
                                                RandomStream& stream) {
  const MlpNetwork<double> network(architecture.layer_sizes, architecture.activation, 0);
  return draw_network_parameters(network, stream, false, initial_scale);
}

std::unique_ptr<DataTask> make_network_task(const NetworkArchitecture& architecture, NetworkData training,
                                            std::optional<NetworkData> scored, Eigen::VectorXd initial,
                                            Eigen::Index batch_size, std::uint64_t task_seed) {
  return std::make_unique<MlpTask<double>>(architecture, std::move(training), std::move(scored), std::move(initial),
                                           batch_size, task_seed);
}

void register_mlp_families(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  const auto options = [](OptionSpec noise, bool classification) {
    std::vector<OptionSpec> list{
        dimension_option(1, max_dimension, "inputs"),
        integer_option("samples", 64, NumericRange::closed(1, max_samples), "data points"),
        batch_size_option(),
        std::move(noise),
        integer_list_option("hidden_layers", {16}, 1, 2, NumericRange::closed(1, max_hidden_width),
                            "widths of the 1 or 2 hidden layers"),
        choice_option("activation", "tanh", enum_names<Activation>(), "hidden nonlinearity"),
        choice_option("precision", "float64", enum_names<TaskPrecision>(),
                      "arithmetic of loss and gradient; float32 is about 2x faster (docs/benchmarks.md)")};
    if (classification) {
      list.push_back(integer_option("classes", 3, NumericRange::closed(2, max_classes), "output classes"));
    }
    list.push_back(initial_scale_option("multiplies the Glorot (tanh) or He (relu) initial weights"));
    return list;
  };
  registry.add(builtin_registration(
      TaskKind::mlp_regression, "MLP with 1-2 hidden layers, mean squared error against a teacher MLP",
      options(real_option("noise", 0.1, NumericRange::at_least(0.0), "std dev of the target noise"), false)));
  registry.add(builtin_registration(
      TaskKind::mlp_classification, "MLP with 1-2 hidden layers, softmax cross-entropy against a teacher MLP",
      options(real_option("noise", 0.1, NumericRange::closed_open(0.0, 0.5),
                          "probability a label is replaced by another class"),
              true)));
}

}  // namespace metaevo::task_detail
