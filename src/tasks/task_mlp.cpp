// Multi-layer perceptrons (no hidden layer: a linear model) on data labelled by a random teacher network
// of the same architecture (the MLP families) or on given data (the dataset family, task_dataset.cpp).
// Forward and backward passes run over the full batch (or a minibatch) with one matrix product per layer.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "metaevo/core/error.hpp"
#include "metaevo/tasks/float32_kernel.hpp"
#include "tasks/mlp_float_kernel.hpp"
#include "tasks/task_detail.hpp"

namespace metaevo::task_detail {

namespace {

#include "tasks/mlp_network.inc"

/// The AVX2 + FMA kernel when this build has it and the CPU runs it, else null.
const MlpFloatKernel* available_avx2_kernel() {
#if METAEVO_AVX2_KERNEL
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return metaevo_mlp_float_kernel_avx2_fma();
#endif
  return nullptr;
}

/// The kernel of "auto", "generic" or "avx2" (null: generic).
const MlpFloatKernel* float32_kernel_of(std::string_view choice, std::string_view source) {
  if (choice == "generic") return nullptr;
  if (choice == "auto" || choice.empty()) return available_avx2_kernel();
  if (choice == "avx2") {
    if (const MlpFloatKernel* kernel = available_avx2_kernel()) return kernel;
    throw ConfigError(std::string(source) +
                      "avx2: this CPU lacks AVX2 or FMA, or this build has no AVX2 kernel "
                      "(METAEVO_NATIVE, not x86-64, or a Debug build)");
  }
  throw ConfigError(std::string(source) + std::string(choice) + ": expected auto, generic or avx2");
}

std::once_flag float32_kernel_chosen;
std::atomic<const MlpFloatKernel*> chosen_float32_kernel{nullptr};

/// The kernel of the float32 tasks sampled now (null: generic); METAEVO_SIMD at the first call.
const MlpFloatKernel* current_float32_kernel() {
  std::call_once(float32_kernel_chosen, [] {
    const char* variable = std::getenv("METAEVO_SIMD");
    chosen_float32_kernel = float32_kernel_of(variable != nullptr ? variable : "auto", "METAEVO_SIMD=");
  });
  return chosen_float32_kernel;
}

/// A workspace of a kernel (or nothing: the generic passes), freed with it.
class KernelWorkspace {
 public:
  KernelWorkspace() = default;
  KernelWorkspace(const MlpFloatKernel* kernel, const NetworkArchitecture& architecture, Eigen::Index samples);
  KernelWorkspace(KernelWorkspace&& other) noexcept
      : kernel_(std::exchange(other.kernel_, nullptr)), workspace_(std::exchange(other.workspace_, nullptr)) {}
  KernelWorkspace& operator=(KernelWorkspace&& other) noexcept {
    std::swap(kernel_, other.kernel_);
    std::swap(workspace_, other.workspace_);
    return *this;
  }
  KernelWorkspace(const KernelWorkspace&) = delete;
  KernelWorkspace& operator=(const KernelWorkspace&) = delete;
  ~KernelWorkspace() {
    if (workspace_ != nullptr) kernel_->destroy(workspace_);
  }

  explicit operator bool() const { return workspace_ != nullptr; }

  /// The kernel's loss over the columns of inputs (and gradient when not null).
  double evaluate(const Eigen::VectorXd& parameters, const Eigen::MatrixXf& inputs, const Eigen::MatrixXf& targets,
                  std::span<const Eigen::Index> labels, bool classification, double* gradient) const {
    return kernel_->evaluate(workspace_, parameters.data(), inputs.data(), inputs.cols(),
                             classification ? nullptr : targets.data(), classification ? labels.data() : nullptr,
                             gradient);
  }

 private:
  const MlpFloatKernel* kernel_ = nullptr;
  void* workspace_ = nullptr;
};

// Runs once per pass, at construction: not worth inlining into MlpTask's constructor.
[[gnu::noinline]] KernelWorkspace::KernelWorkspace(const MlpFloatKernel* kernel,
                                                   const NetworkArchitecture& architecture, Eigen::Index samples)
    : kernel_(kernel) {
  if (kernel_ != nullptr) {
    workspace_ = kernel_->create(architecture.layer_sizes.data(), architecture.layer_sizes.size(),
                                 architecture.activation == Activation::tanh, samples);
  }
}

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
  /// Not inlined: inlined into sample_mlp, g++ 12 warns maybe-uninitialized (a false positive) about
  /// the payload of the empty `scored`.
  [[gnu::noinline]] MlpTask(const NetworkArchitecture& architecture, NetworkData training,
                            std::optional<NetworkData> scored, Eigen::VectorXd initial, Eigen::Index batch_size,
                            std::uint64_t task_seed)
      : DataTaskBase(training.inputs.cols(), batch_size, task_seed),
        kernel_(computes_in_double ? nullptr : current_float32_kernel()),
        inputs_(to_scalar(std::move(training.inputs))),
        targets_(to_scalar(std::move(training.targets))),
        labels_(std::move(training.labels)),
        initial_(std::move(initial)),
        full_(make_pass(architecture, inputs_.cols(), kernel_)),
        batch_(make_pass(architecture, batch_size, kernel_)),
        batch_inputs_(inputs_.rows(), batch_size),
        batch_targets_(targets_.rows(), batch_size),
        batch_labels_(labels_.empty() ? 0 : static_cast<std::size_t>(batch_size)),
        parameters_in_scalar_(initial_.size()),
        gradient_in_scalar_(initial_.size()) {
    if (scored) {
      scored_inputs_ = to_scalar(std::move(scored->inputs));
      scored_targets_ = to_scalar(std::move(scored->targets));
      scored_labels_ = std::move(scored->labels);
      scored_.emplace(make_pass(architecture, scored_inputs_.cols(), kernel_));
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
    if (scored_ && scored_->kernel) {
      return with_kernel(*scored_, scored_inputs_, scored_targets_, scored_labels_, parameters, nullptr);
    }
    if (!scored_ && full_.kernel) return with_kernel(full_, inputs_, targets_, labels_, parameters, nullptr);
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
    KernelWorkspace kernel;   // float32 with another kernel (avx2-fma): its scratch, and the passes run there
  };

  /// Every buffer sized for `samples` up front: the first loss() after minibatch steps allocates nothing either.
  static Pass make_pass(const NetworkArchitecture& architecture, Eigen::Index samples, const MlpFloatKernel* kernel) {
    return Pass{Network(architecture.layer_sizes.data(), architecture.layer_sizes.size(), architecture.activation,
                        samples),
                RowVector(samples),
                RowVector(samples), KernelWorkspace(kernel, architecture, samples)};
  }

  /// The loss (and gradient when not null) computed by the pass's kernel (float only).
  double with_kernel(const Pass& pass, const Matrix& inputs, const Matrix& targets,
                     std::span<const Eigen::Index> labels, const Eigen::VectorXd& parameters, double* gradient) const {
    if constexpr (computes_in_double) {
      throw std::logic_error("MLP task: a float64 pass has no kernel");
    } else {
      return pass.kernel.evaluate(parameters, inputs, targets, labels, is_classification(), gradient);
    }
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
    if (pass.kernel) {
      gradient.resize(dimension());
      return with_kernel(pass, inputs, targets, labels, parameters, gradient.data());
    }
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

  double loss_of_forward(Pass& pass, const Matrix& outputs, const Matrix& targets,
                         std::span<const Eigen::Index> labels, bool with_gradient) const {
    return task_detail::loss_of_forward(pass.network, pass.column_maxima, pass.column_sums, outputs, targets,
                                        labels.data(), is_classification(), with_gradient);
  }

  const MlpFloatKernel* kernel_;      // float32: the kernel when not the generic one (null: generic)
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
  MlpNetwork<double> network(sizes.data(), sizes.size(), spec.activation, samples);

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
  const MlpNetwork<double> network(architecture.layer_sizes.data(), architecture.layer_sizes.size(),
                                   architecture.activation, 0);
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
                      "arithmetic of loss and gradient; float32 is 2-4x faster, its bits depend on the float32 "
                      "kernel (METAEVO_SIMD, docs/configuration.md)")};
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

namespace metaevo {

std::string_view float32_kernel() {
  const task_detail::MlpFloatKernel* kernel = task_detail::current_float32_kernel();
  return kernel != nullptr ? kernel->name : "generic";
}

void select_float32_kernel(std::string_view choice) {
  const task_detail::MlpFloatKernel* kernel = task_detail::float32_kernel_of(choice, "float32 kernel ");
  // Before the first use, METAEVO_SIMD is then never read.
  std::call_once(task_detail::float32_kernel_chosen, [kernel] { task_detail::chosen_float32_kernel = kernel; });
  task_detail::chosen_float32_kernel = kernel;
}

}  // namespace metaevo
