// Inner-loop steps per second for each task family at the sizes the experiments use. One step is
// loss_and_gradient plus a plain SGD update written here, so only the task code is measured.
// Then the other half of an inner step: one update-rule step (adam against the learned rules),
// without a task.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metaevo/core/random.hpp"
#include "metaevo/rules/update_rule.hpp"
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

// One step of an update rule on n parameters in two tensors (80% and 20%), a fixed gradient and a
// tiny learning rate (so the parameters stay finite however long it runs): n = 5,000, and n = 227 (an
// mlp_classification 10-16-3 task, to set against its step above). The learned rules' blocks are at
// their initial values: the network is evaluated all the same.
metaevo::RuleParameters rule_parameters(std::string architecture_key, metaevo::OptionValue architecture_value) {
  metaevo::RuleParameters parameters;
  parameters.hyperparameters = {{"learning_rate", 1e-9}};
  if (!architecture_key.empty())
    parameters.architecture.set(std::move(architecture_key), std::move(architecture_value));
  parameters.inner_steps = 1000;
  return parameters;
}

void rule_step(benchmark::State& state, const std::string& family, const metaevo::RuleParameters& parameters,
               Eigen::Index n) {
  auto rule = metaevo::make_update_rule(family, parameters);
  Eigen::VectorXd p = Eigen::VectorXd::LinSpaced(n, -1.0, 1.0);
  const Eigen::VectorXd g = Eigen::VectorXd::LinSpaced(n, 0.5, -0.3);
  const std::vector<Eigen::Index> tensors = {n - n / 5, n / 5};
  rule->reset(n);
  metaevo::StepContext context;
  context.total_steps = 1000;
  context.tensor_sizes = tensors;
  context.loss = 1.0;
  for (auto _ : state) {
    ++context.t;
    rule->step(p, g, context);
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(state.iterations() * n);  // coordinates per second
  state.counters["parameters"] = static_cast<double>(n);
}

const metaevo::RuleParameters adam_parameters = rule_parameters("", {});
const metaevo::RuleParameters mlp_16 = rule_parameters("hidden_sizes", std::vector<std::int64_t>{16});
const metaevo::RuleParameters mlp_32_32 = rule_parameters("hidden_sizes", std::vector<std::int64_t>{32, 32});
const metaevo::RuleParameters rnn_16 = rule_parameters("hidden_size", std::int64_t{16});
const metaevo::RuleParameters rnn_32 = rule_parameters("hidden_size", std::int64_t{32});

BENCHMARK_CAPTURE(rule_step, adam_n5000, "adam", adam_parameters, 5000);
BENCHMARK_CAPTURE(rule_step, learned_mlp_16_n5000, "learned_mlp", mlp_16, 5000);
BENCHMARK_CAPTURE(rule_step, learned_mlp_32_32_n5000, "learned_mlp", mlp_32_32, 5000);
BENCHMARK_CAPTURE(rule_step, learned_rnn_16_n5000, "learned_rnn", rnn_16, 5000);
BENCHMARK_CAPTURE(rule_step, learned_rnn_32_n5000, "learned_rnn", rnn_32, 5000);
BENCHMARK_CAPTURE(rule_step, adam_n227, "adam", adam_parameters, 227);
BENCHMARK_CAPTURE(rule_step, learned_mlp_16_n227, "learned_mlp", mlp_16, 227);
BENCHMARK_CAPTURE(rule_step, learned_rnn_16_n227, "learned_rnn", rnn_16, 227);

}  // namespace

BENCHMARK_MAIN();
