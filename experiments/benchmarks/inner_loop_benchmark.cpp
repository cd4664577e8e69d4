// Inner-loop steps per second for each task family at the sizes the experiments use. One step is
// loss_and_gradient plus a plain SGD update written here, so only the task code is measured.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "metaevo/core/random.hpp"
#include "metaevo/tasks/task.hpp"

namespace {

using metaevo::Activation;
using metaevo::TaskFamilySpec;
using metaevo::TaskKind;

TaskFamilySpec experiment_spec(TaskKind kind, Activation activation = Activation::tanh, int hidden_layers = 1) {
  TaskFamilySpec spec;
  spec.kind = kind;
  switch (kind) {
    case TaskKind::quadratic:
      spec.dimension = 20;
      spec.condition_number = 100.0;
      break;
    case TaskKind::rosenbrock:
      spec.dimension = 10;
      spec.initial_scale = 0.5;
      break;
    default:
      spec.dimension = 10;
      spec.samples = 64;
      spec.hidden_layers = hidden_layers == 1 ? std::vector<int>{16} : std::vector<int>{16, 16};
      spec.activation = activation;
      spec.classes = 3;
      break;
  }
  return spec;
}

void inner_loop_steps(benchmark::State& state, TaskFamilySpec spec) {
  const auto family = metaevo::make_task_family(spec);
  const auto task = family->sample(metaevo::stream_key(1, metaevo::StreamPurpose::test, {0}));
  Eigen::VectorXd parameters = task->initial_parameters();
  Eigen::VectorXd gradient(parameters.size());
  double loss = 0.0;
  for (auto _ : state) {
    loss = task->loss_and_gradient(parameters, gradient);
    parameters -= 1e-3 * gradient;
    benchmark::DoNotOptimize(parameters.data());
  }
  benchmark::DoNotOptimize(loss);
  state.SetItemsProcessed(state.iterations());
  state.counters["parameters"] = static_cast<double>(task->dimension());
}

void sample_task(benchmark::State& state, TaskFamilySpec spec) {
  const auto family = metaevo::make_task_family(spec);
  std::uint64_t seed = 0;
  for (auto _ : state) {
    auto task = family->sample(++seed);
    benchmark::DoNotOptimize(task.get());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(inner_loop_steps, quadratic_d20, experiment_spec(TaskKind::quadratic));
BENCHMARK_CAPTURE(inner_loop_steps, linear_regression_d10_n64, experiment_spec(TaskKind::linear_regression));
BENCHMARK_CAPTURE(inner_loop_steps, logistic_regression_d10_n64, experiment_spec(TaskKind::logistic_regression));
BENCHMARK_CAPTURE(inner_loop_steps, mlp_regression_10_16_1_tanh_n64, experiment_spec(TaskKind::mlp_regression));
BENCHMARK_CAPTURE(inner_loop_steps, mlp_regression_10_16_1_relu_n64,
                  experiment_spec(TaskKind::mlp_regression, Activation::relu));
BENCHMARK_CAPTURE(inner_loop_steps, mlp_regression_10_16_16_1_tanh_n64,
                  experiment_spec(TaskKind::mlp_regression, Activation::tanh, 2));
BENCHMARK_CAPTURE(inner_loop_steps, mlp_classification_10_16_3_tanh_n64,
                  experiment_spec(TaskKind::mlp_classification));
BENCHMARK_CAPTURE(inner_loop_steps, mlp_classification_10_16_3_relu_n64,
                  experiment_spec(TaskKind::mlp_classification, Activation::relu));
BENCHMARK_CAPTURE(inner_loop_steps, mlp_classification_10_16_16_3_tanh_n64,
                  experiment_spec(TaskKind::mlp_classification, Activation::tanh, 2));
BENCHMARK_CAPTURE(inner_loop_steps, rosenbrock_d10, experiment_spec(TaskKind::rosenbrock));

// Sampling cost, paid once per task slot of every evaluation.
BENCHMARK_CAPTURE(sample_task, quadratic_d20, experiment_spec(TaskKind::quadratic));
BENCHMARK_CAPTURE(sample_task, mlp_classification_10_16_3_n64, experiment_spec(TaskKind::mlp_classification));

}  // namespace

BENCHMARK_MAIN();
