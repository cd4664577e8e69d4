// Evaluations per second of one MLP training (issue 18, item 1): mlp_classification 32-64-64-10,
// tanh, 128 samples, full batch, 200 Adam steps (lr 1e-3), task sampling included.
//   metaevo_evaluation/<float64|float32|float32_generic>: what an evaluation of one task slot does
//     (sample the task, build the rule, run_inner_loop), with the task's precision option; float32
//     with the kernel METAEVO_SIMD=auto chooses (avx2-fma on a CPU with AVX2 and FMA, the label
//     says which), float32_generic with the generic kernel (METAEVO_SIMD=generic).
//   handwritten_<float|double>: the same training written directly in Eigen, allocation-free after
//     construction (preallocated matrices, one fused Adam loop), built with the same flags.
// run_inner_loop_comparison.sh runs this next to the PyTorch version and prints the ratios.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "metaevo/core/random.hpp"
#include "metaevo/evaluation/inner_loop.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/float32_kernel.hpp"
#include "metaevo/tasks/task.hpp"

namespace {

constexpr int input_width = 32;
constexpr int hidden_width = 64;
constexpr int class_count = 10;
constexpr int sample_count = 128;
constexpr int adam_steps = 200;
constexpr double learning_rate = 1e-3;

metaevo::TaskFamilySpec comparison_spec(metaevo::TaskPrecision precision) {
  metaevo::TaskFamilySpec spec;
  spec.kind = metaevo::TaskKind::mlp_classification;
  spec.dimension = input_width;
  spec.samples = sample_count;
  spec.batch_size = 0;
  spec.hidden_layers = {hidden_width, hidden_width};
  spec.activation = metaevo::Activation::tanh;
  spec.classes = class_count;
  spec.precision = precision;
  return spec;
}

void metaevo_evaluation(benchmark::State& state, metaevo::TaskPrecision precision, const char* kernel) {
  metaevo::select_float32_kernel(kernel);
  state.SetLabel(precision == metaevo::TaskPrecision::float32 ? std::string(metaevo::float32_kernel()) : "");
  const auto family = metaevo::make_task_family(comparison_spec(precision));
  metaevo::RuleParameters rule_parameters;
  rule_parameters.hyperparameters = {{"learning_rate", learning_rate}};
  rule_parameters.inner_steps = adam_steps;
  metaevo::InnerLoopOptions options;
  options.steps = adam_steps;
  std::uint64_t slot = 0;
  double final_loss_sum = 0.0;
  for (auto _ : state) {
    const auto task = family->sample(metaevo::stream_key(7, metaevo::StreamPurpose::test, {slot++}));
    const auto rule = metaevo::make_update_rule("adam", rule_parameters);
    const metaevo::LearningCurve curve = metaevo::run_inner_loop(*rule, *task, options);
    final_loss_sum += curve.losses.back();
  }
  state.SetItemsProcessed(state.iterations());
  // A check that every contender trains: the mean final loss (the initial one is about 2.4).
  state.counters["mean_final_loss"] = final_loss_sum / static_cast<double>(state.iterations());
}

/// The 32-64-64-10 tanh network trained with full-batch Adam, every buffer allocated once. Layout
/// as metaevo's task: W_l (out x in, column-major) then b_l in one flat parameter vector (so Adam
/// is one loop), activations one column per sample (so each layer is one matrix-matrix product).
template <typename Scalar>
class HandwrittenMlpTraining {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
  static constexpr int layer_count = 3;
  static constexpr int widths[layer_count + 1] = {input_width, hidden_width, hidden_width, class_count};

  HandwrittenMlpTraining()
      : inputs_(input_width, sample_count), labels_(sample_count), column_maxima_(sample_count),
        column_sums_(sample_count) {
    Eigen::Index count = 0;
    for (int l = 0; l < layer_count; ++l) {
      weight_offsets_[l] = count;
      count += widths[l + 1] * widths[l];
      bias_offsets_[l] = count;
      count += widths[l + 1];
      pre_activations_[l].resize(widths[l + 1], sample_count);
      deltas_[l].resize(widths[l + 1], sample_count);
      activations_[l].resize(widths[l + 1], sample_count);
    }
    parameters_.resize(count);
    teacher_.resize(count);
    gradient_.resize(count);
    first_moment_.resize(count);
    second_moment_.resize(count);
  }

  /// One evaluation: draw data, teacher and start, train, return the final loss.
  Scalar run(std::uint64_t seed) {
    sample_task(seed);
    first_moment_.setZero();
    second_moment_.setZero();
    const Scalar beta1 = Scalar(0.9), beta2 = Scalar(0.999), epsilon = Scalar(1e-8);
    Scalar beta1_power = 1, beta2_power = 1;
    for (int step = 1; step <= adam_steps; ++step) {
      forward(parameters_);
      softmax_cross_entropy(true);
      backward();
      beta1_power *= beta1;
      beta2_power *= beta2;
      const Scalar step_size = Scalar(learning_rate) / (1 - beta1_power);
      const Scalar second_scale = 1 / (1 - beta2_power);
      // Fused Adam: one pass over the parameters, no temporaries.
      Scalar* p = parameters_.data();
      const Scalar* g = gradient_.data();
      Scalar* m = first_moment_.data();
      Scalar* v = second_moment_.data();
      for (Eigen::Index i = 0; i < parameters_.size(); ++i) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        p[i] -= step_size * m[i] / (std::sqrt(v[i] * second_scale) + epsilon);
      }
    }
    forward(parameters_);
    return softmax_cross_entropy(false);
  }

 private:
  void sample_task(std::uint64_t seed) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<Scalar> normal;
    for (Eigen::Index i = 0; i < inputs_.size(); ++i) inputs_.data()[i] = normal(engine);
    draw_parameters(teacher_, engine, true);
    forward(teacher_);
    for (Eigen::Index sample = 0; sample < sample_count; ++sample) {
      Eigen::Index label = 0;
      pre_activations_[layer_count - 1].col(sample).maxCoeff(&label);
      labels_[static_cast<std::size_t>(sample)] = label;
    }
    draw_parameters(parameters_, engine, false);
  }

  void draw_parameters(Vector& parameters, std::mt19937_64& engine, bool teacher) {
    std::normal_distribution<Scalar> normal;
    for (int l = 0; l < layer_count; ++l) {
      const Scalar variance = teacher ? Scalar(1) / Scalar(widths[l]) : Scalar(2) / Scalar(widths[l] + widths[l + 1]);
      const Scalar weight_std = std::sqrt(variance);
      for (Eigen::Index i = weight_offsets_[l]; i < bias_offsets_[l]; ++i) parameters(i) = weight_std * normal(engine);
      for (Eigen::Index i = 0; i < widths[l + 1]; ++i) {
        parameters(bias_offsets_[l] + i) = teacher ? Scalar(0.1) * normal(engine) : Scalar(0);
      }
    }
  }

  Eigen::Map<const Matrix> weights(const Vector& parameters, int l) const {
    return {parameters.data() + weight_offsets_[l], widths[l + 1], widths[l]};
  }

  void forward(const Vector& parameters) {
    for (int l = 0; l < layer_count; ++l) {
      const Matrix& layer_input = l == 0 ? inputs_ : activations_[l - 1];
      const Eigen::Map<const Vector> bias(parameters.data() + bias_offsets_[l], widths[l + 1]);
      pre_activations_[l].noalias() = weights(parameters, l) * layer_input;
      pre_activations_[l].colwise() += bias;
      if (l + 1 < layer_count) {
        if constexpr (std::is_same_v<Scalar, float>) {
          activations_[l].array() = pre_activations_[l].array().tanh();  // vectorized for float in Eigen 3.4
        } else {
          // Eigen 3.4 vectorizes exp but not tanh for double.
          activations_[l].array() = 1 - 2 / ((2 * pre_activations_[l].array()).exp() + 1);
        }
      }
    }
  }

  /// Mean softmax cross-entropy of the last forward pass; with_gradient writes the output delta.
  Scalar softmax_cross_entropy(bool with_gradient) {
    const Matrix& logits = pre_activations_[layer_count - 1];
    Matrix& delta = deltas_[layer_count - 1];
    const Scalar inverse_count = Scalar(1) / Scalar(sample_count);
    column_maxima_.noalias() = logits.colwise().maxCoeff();
    delta.array() = (logits.rowwise() - column_maxima_).array().exp();
    column_sums_.noalias() = delta.colwise().sum();
    Scalar total = 0;
    for (Eigen::Index sample = 0; sample < sample_count; ++sample) {
      const Eigen::Index label = labels_[static_cast<std::size_t>(sample)];
      total += column_maxima_(sample) - logits(label, sample) + std::log(column_sums_(sample));
      if (with_gradient) {
        delta.col(sample) *= inverse_count / column_sums_(sample);
        delta(label, sample) -= inverse_count;
      }
    }
    return total * inverse_count;
  }

  void backward() {
    for (int l = layer_count - 1; l >= 0; --l) {
      const Matrix& layer_input = l == 0 ? inputs_ : activations_[l - 1];
      Eigen::Map<Matrix> weight_gradient(gradient_.data() + weight_offsets_[l], widths[l + 1], widths[l]);
      weight_gradient.noalias() = deltas_[l] * layer_input.transpose();
      Eigen::Map<Vector>(gradient_.data() + bias_offsets_[l], widths[l + 1]).noalias() = deltas_[l].rowwise().sum();
      if (l == 0) break;
      deltas_[l - 1].noalias() = weights(parameters_, l).transpose() * deltas_[l];
      deltas_[l - 1].array() *= 1 - activations_[l - 1].array().square();
    }
  }

  Matrix inputs_;
  std::vector<Eigen::Index> labels_;
  Vector parameters_, teacher_, gradient_, first_moment_, second_moment_;
  Eigen::Index weight_offsets_[layer_count] = {};
  Eigen::Index bias_offsets_[layer_count] = {};
  Matrix pre_activations_[layer_count];
  Matrix activations_[layer_count];  // the last one is unused (the logits need no activation)
  Matrix deltas_[layer_count];
  RowVector column_maxima_, column_sums_;
};

template <typename Scalar>
void handwritten(benchmark::State& state) {
  HandwrittenMlpTraining<Scalar> training;
  std::uint64_t seed = 0;
  double final_loss_sum = 0.0;
  for (auto _ : state) final_loss_sum += static_cast<double>(training.run(++seed));
  state.SetItemsProcessed(state.iterations());
  state.counters["mean_final_loss"] = final_loss_sum / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(metaevo_evaluation, float64, metaevo::TaskPrecision::float64, "auto")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(metaevo_evaluation, float32, metaevo::TaskPrecision::float32, "auto")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(metaevo_evaluation, float32_generic, metaevo::TaskPrecision::float32, "generic")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(handwritten, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(handwritten, float)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
