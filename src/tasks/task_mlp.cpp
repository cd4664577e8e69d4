// Multi-layer perceptrons (no hidden layer: a linear model) on data labelled by a random teacher network
// of the same architecture (the MLP families) or on given data (the dataset family, task_dataset.cpp).
// Forward and backward passes run over the full batch (or a minibatch) with one matrix product per layer.
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "tasks/task_detail.hpp"

namespace metaevo::task_detail {

namespace {

/// The architecture and the scratch of one network. Parameters are flattened layer by layer:
/// W_l (out x in, column-major) then b_l (out). Activations are stored one column per sample.
class MlpNetwork {
 public:
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
  const Eigen::MatrixXd& forward(const Eigen::VectorXd& parameters, const Eigen::MatrixXd& inputs) {
    Eigen::Index offset = 0;
    for (std::size_t l = 0; l < layer_count(); ++l) {
      const Eigen::Map<const Eigen::MatrixXd> weights(parameters.data() + offset, fan_out(l), fan_in(l));
      offset += fan_out(l) * fan_in(l);
      const Eigen::Map<const Eigen::VectorXd> bias(parameters.data() + offset, fan_out(l));
      offset += fan_out(l);
      const Eigen::MatrixXd& layer_input = l == 0 ? inputs : activations_[l - 1];
      pre_activations_[l].noalias() = weights * layer_input;
      pre_activations_[l].colwise() += bias;
      if (l + 1 < layer_count()) {
        if (activation_ == Activation::tanh) {
          // tanh(z) = 1 - 2 / (exp(2z) + 1): Eigen vectorizes exp for doubles but not tanh, which
          // makes this about twice as fast; exp overflowing to inf still gives exactly +-1.
          activations_[l] = 1.0 - 2.0 / ((2.0 * pre_activations_[l].array()).exp() + 1.0);
        } else {
          activations_[l] = pre_activations_[l].cwiseMax(0.0);
        }
      }
    }
    return pre_activations_.back();
  }

  /// The output layer's d loss / d output, written by the caller before backward().
  Eigen::MatrixXd& output_delta() { return deltas_.back(); }

  /// Backpropagates output_delta() through the last forward pass; writes the full gradient.
  void backward(const Eigen::VectorXd& parameters, const Eigen::MatrixXd& inputs, Eigen::VectorXd& gradient) {
    gradient.resize(parameter_count_);
    Eigen::Index end = parameter_count_;
    for (std::size_t l = layer_count(); l-- > 0;) {
      const Eigen::Index bias_offset = end - fan_out(l);
      const Eigen::Index weight_offset = bias_offset - fan_out(l) * fan_in(l);
      end = weight_offset;
      const Eigen::MatrixXd& layer_input = l == 0 ? inputs : activations_[l - 1];
      Eigen::Map<Eigen::MatrixXd> weight_gradient(gradient.data() + weight_offset, fan_out(l), fan_in(l));
      weight_gradient.noalias() = deltas_[l] * layer_input.transpose();
      Eigen::Map<Eigen::VectorXd>(gradient.data() + bias_offset, fan_out(l)) = deltas_[l].rowwise().sum();
      if (l == 0) break;
      const Eigen::Map<const Eigen::MatrixXd> weights(parameters.data() + weight_offset, fan_out(l), fan_in(l));
      deltas_[l - 1].noalias() = weights.transpose() * deltas_[l];
      if (activation_ == Activation::tanh) {
        deltas_[l - 1].array() *= 1.0 - activations_[l - 1].array().square();
      } else {
        deltas_[l - 1].array() *= (pre_activations_[l - 1].array() > 0.0).cast<double>();
      }
    }
  }

 private:
  std::vector<Eigen::Index> sizes_;  // input, hidden..., output
  Activation activation_;
  Eigen::Index parameter_count_ = 0;
  std::vector<Eigen::MatrixXd> pre_activations_;  // per layer: W a + b
  std::vector<Eigen::MatrixXd> activations_;      // per hidden layer: act(W a + b)
  std::vector<Eigen::MatrixXd> deltas_;           // per layer: d loss / d pre-activation
};

/// Normal weights with the given per-layer standard deviation, biases scaled by bias_scale.
Eigen::VectorXd draw_network_parameters(const MlpNetwork& network, RandomStream& stream, bool teacher,
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
/// reallocates.
class MlpTask final : public DataTaskBase {
 public:
  /// Without a scored set, loss() is the loss over the training data; with one, over the scored set.
  MlpTask(const NetworkArchitecture& architecture, NetworkData training, std::optional<NetworkData> scored,
          Eigen::VectorXd initial, Eigen::Index batch_size, std::uint64_t task_seed)
      : DataTaskBase(training.inputs.cols(), batch_size, task_seed),
        inputs_(std::move(training.inputs)),
        targets_(std::move(training.targets)),
        labels_(std::move(training.labels)),
        initial_(std::move(initial)),
        full_{MlpNetwork(architecture.layer_sizes, architecture.activation, inputs_.cols()), {}, {}},
        batch_{MlpNetwork(architecture.layer_sizes, architecture.activation, batch_size), {}, {}},
        batch_inputs_(inputs_.rows(), batch_size),
        batch_targets_(targets_.rows(), batch_size),
        batch_labels_(labels_.empty() ? 0 : static_cast<std::size_t>(batch_size)) {
    if (scored) {
      scored_data_ = std::move(*scored);
      scored_.emplace(Pass{MlpNetwork(architecture.layer_sizes, architecture.activation, scored_data_.inputs.cols()),
                           {}, {}});
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
    if (scored_) {
      return loss_of_forward(*scored_, scored_->network.forward(parameters, scored_data_.inputs), scored_data_.targets,
                             scored_data_.labels, false);
    }
    return loss_of_forward(full_, full_.network.forward(parameters, inputs_), targets_, labels_, false);
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
    MlpNetwork network;                 // forward and backward scratch
    Eigen::RowVectorXd column_maxima;   // largest logit per sample
    Eigen::RowVectorXd column_sums;     // sum of shifted exps per sample
  };

  bool is_classification() const { return !labels_.empty(); }

  double evaluate(Pass& pass, const Eigen::MatrixXd& inputs, const Eigen::MatrixXd& targets,
                  std::span<const Eigen::Index> labels, const Eigen::VectorXd& parameters,
                  Eigen::VectorXd& gradient) const {
    const double value = loss_of_forward(pass, pass.network.forward(parameters, inputs), targets, labels, true);
    pass.network.backward(parameters, inputs, gradient);
    return value;
  }

  /// The mean loss over the columns of `outputs`, whose targets (regression) or labels
  /// (classification) are given; with_gradient writes the output delta for backward().
  double loss_of_forward(Pass& pass, const Eigen::MatrixXd& outputs, const Eigen::MatrixXd& targets,
                         std::span<const Eigen::Index> labels, bool with_gradient) const {
    const double inverse_count = 1.0 / static_cast<double>(outputs.cols());
    Eigen::MatrixXd& delta = pass.network.output_delta();
    if (!is_classification()) {
      // 0.5 mean squared error over samples (one output).
      delta = outputs - targets;
      const double value = 0.5 * inverse_count * delta.squaredNorm();
      if (with_gradient) delta *= inverse_count;
      return value;
    }
    // Softmax cross-entropy: log-sum-exp minus the true logit. Shifting each column by its maximum
    // keeps exp from overflowing and makes every term >= 0 exactly (the sum of exps is >= 1).
    // The exponentials go into delta in one vectorized pass; with_gradient only decides the scaling.
    pass.column_maxima = outputs.colwise().maxCoeff();
    delta = (outputs.rowwise() - pass.column_maxima).array().exp();
    pass.column_sums = delta.colwise().sum();
    double total = 0.0;
    for (Eigen::Index sample = 0; sample < outputs.cols(); ++sample) {
      const Eigen::Index label = labels[static_cast<std::size_t>(sample)];
      total += (pass.column_maxima(sample) - outputs(label, sample)) + std::log(pass.column_sums(sample));
      if (with_gradient) {
        delta.col(sample) *= inverse_count / pass.column_sums(sample);
        delta(label, sample) -= inverse_count;
      }
    }
    return total * inverse_count;
  }

  Eigen::MatrixXd inputs_;            // dimension x samples
  Eigen::MatrixXd targets_;           // regression: 1 x samples; classification: empty
  std::vector<Eigen::Index> labels_;  // classification: class per sample; regression: empty
  Eigen::VectorXd initial_;
  mutable Pass full_;                 // the whole data set; a task serves one thread
  mutable Pass batch_;                // the current minibatch (or subset)
  NetworkData scored_data_;           // what loss() scores when given (a validation split), else empty
  mutable std::optional<Pass> scored_;  // its scratch
  mutable Eigen::MatrixXd batch_inputs_;            // the minibatch's columns of inputs_
  mutable Eigen::MatrixXd batch_targets_;           // and of targets_ (regression)
  mutable std::vector<Eigen::Index> batch_labels_;  // and of labels_ (classification)
};

}  // namespace

std::unique_ptr<Task> sample_mlp(const TaskFamilySpec& spec, RandomStream& stream, std::uint64_t task_seed) {
  const bool classification = spec.kind == TaskKind::mlp_classification;
  std::vector<Eigen::Index> sizes{spec.dimension};
  for (int width : spec.hidden_layers) sizes.push_back(width);
  sizes.push_back(classification ? spec.classes : 1);
  const Eigen::Index samples = spec.samples;
  MlpNetwork network(sizes, spec.activation, samples);

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
  return std::make_unique<MlpTask>(NetworkArchitecture{sizes, spec.activation},
                                   NetworkData{std::move(inputs), std::move(targets), std::move(labels)}, std::nullopt,
                                   std::move(initial), spec.batch_size, task_seed);
}

Eigen::VectorXd draw_initial_network_parameters(const NetworkArchitecture& architecture, double initial_scale,
                                                RandomStream& stream) {
  const MlpNetwork network(architecture.layer_sizes, architecture.activation, 0);
  return draw_network_parameters(network, stream, false, initial_scale);
}

std::unique_ptr<DataTask> make_network_task(const NetworkArchitecture& architecture, NetworkData training,
                                            std::optional<NetworkData> scored, Eigen::VectorXd initial,
                                            Eigen::Index batch_size, std::uint64_t task_seed) {
  return std::make_unique<MlpTask>(architecture, std::move(training), std::move(scored), std::move(initial),
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
        choice_option("activation", "tanh", enum_names<Activation>(), "hidden nonlinearity")};
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
