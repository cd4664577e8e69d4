// GCC 12 at -O3 reports false "may be used uninitialized" warnings inside Eigen's solvers; the
// pragma covers Eigen's headers only (it must wrap their first inclusion).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#pragma GCC diagnostic pop

#include "metaevo/tasks/float32_kernel.hpp"
#include "metaevo/tasks/task.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "allocation_counter.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"

namespace metaevo {
namespace {

struct NamedSpec {
  std::string name;
  TaskFamilySpec spec;
};

// Names the case in gtest's failure lines instead of dumping the struct's bytes.
void PrintTo(const NamedSpec& named, std::ostream* out) { *out << named.name; }

TaskFamilySpec make_spec(TaskKind kind) {
  TaskFamilySpec spec;
  spec.kind = kind;
  return spec;
}

TaskFamilySpec mlp_spec(TaskKind kind, std::vector<int> hidden, Activation activation) {
  TaskFamilySpec spec = make_spec(kind);
  spec.dimension = 5;
  spec.samples = 20;
  spec.hidden_layers = std::move(hidden);
  spec.activation = activation;
  spec.classes = 4;
  return spec;
}

std::vector<NamedSpec> gradient_cases() {
  std::vector<NamedSpec> cases;
  TaskFamilySpec quadratic = make_spec(TaskKind::quadratic);
  quadratic.dimension = 12;
  quadratic.condition_number = 100.0;
  cases.push_back({"quadratic", quadratic});
  TaskFamilySpec linear = make_spec(TaskKind::linear_regression);
  linear.dimension = 5;
  linear.samples = 20;
  cases.push_back({"linear_regression", linear});
  TaskFamilySpec logistic = make_spec(TaskKind::logistic_regression);
  logistic.dimension = 5;
  logistic.samples = 20;
  cases.push_back({"logistic_regression", logistic});
  for (TaskKind kind : {TaskKind::mlp_regression, TaskKind::mlp_classification}) {
    const std::string prefix = kind == TaskKind::mlp_regression ? "mlp_regression" : "mlp_classification";
    cases.push_back({prefix + "_tanh_1", mlp_spec(kind, {8}, Activation::tanh)});
    cases.push_back({prefix + "_relu_1", mlp_spec(kind, {8}, Activation::relu)});
    cases.push_back({prefix + "_tanh_2", mlp_spec(kind, {6, 5}, Activation::tanh)});
    cases.push_back({prefix + "_relu_2", mlp_spec(kind, {6, 5}, Activation::relu)});
  }
  TaskFamilySpec rosenbrock = make_spec(TaskKind::rosenbrock);
  rosenbrock.dimension = 6;
  cases.push_back({"rosenbrock", rosenbrock});
  TaskFamilySpec synthetic = make_spec(TaskKind::synthetic);  // no sleep, no fault: a plain 0.5 |x|^2
  synthetic.dimension = 7;
  cases.push_back({"synthetic", synthetic});
  return cases;
}

/// The task's initial point moved by a seeded random step, so checks are not made at a special point.
Eigen::VectorXd random_point(const Task& task, std::uint64_t salt, double step = 0.3) {
  RandomStream stream(7, StreamPurpose::test, {salt});
  Eigen::VectorXd point = task.initial_parameters();
  for (Eigen::Index i = 0; i < point.size(); ++i) point(i) += step * stream.normal();
  return point;
}

Eigen::VectorXd central_differences(const Task& task, const Eigen::VectorXd& point) {
  Eigen::VectorXd gradient(point.size());
  Eigen::VectorXd moved = point;
  for (Eigen::Index i = 0; i < point.size(); ++i) {
    const double step = 1e-6 * std::max(1.0, std::abs(point(i)));
    moved(i) = point(i) + step;
    const double above = task.loss(moved);
    moved(i) = point(i) - step;
    const double below = task.loss(moved);
    moved(i) = point(i);
    gradient(i) = (above - below) / (2.0 * step);
  }
  return gradient;
}

/// The Hessian of a task whose gradient is affine (quadratic, linear regression), column by column.
Eigen::MatrixXd affine_hessian(const Task& task, const Eigen::VectorXd& point) {
  const Eigen::Index size = task.dimension();
  Eigen::VectorXd base_gradient;
  Eigen::VectorXd moved_gradient;
  task.loss_and_gradient(point, base_gradient);
  Eigen::MatrixXd hessian(size, size);
  for (Eigen::Index i = 0; i < size; ++i) {
    Eigen::VectorXd moved = point;
    moved(i) += 1.0;
    task.loss_and_gradient(moved, moved_gradient);
    hessian.col(i) = moved_gradient - base_gradient;
  }
  return 0.5 * (hessian + hessian.transpose());
}

class TaskFamilyTest : public ::testing::TestWithParam<NamedSpec> {};

TEST_P(TaskFamilyTest, GradientMatchesCentralDifferences) {
  const auto family = make_task_family(GetParam().spec);
  for (std::uint64_t seed : {1ULL, 2ULL}) {
    const auto task = family->sample(seed);
    const Eigen::VectorXd point = random_point(*task, seed);
    Eigen::VectorXd gradient;
    task->loss_and_gradient(point, gradient);
    ASSERT_EQ(gradient.size(), task->dimension());
    const Eigen::VectorXd numeric = central_differences(*task, point);
    const double scale = std::max({gradient.norm(), numeric.norm(), 1e-3});
    EXPECT_LT((gradient - numeric).norm() / scale, 1e-6) << "seed " << seed << "\nanalytic " << gradient.transpose()
                                                         << "\nnumeric  " << numeric.transpose();
  }
}

TEST_P(TaskFamilyTest, LossEqualsLossAndGradientValue) {
  const auto task = make_task_family(GetParam().spec)->sample(3);
  Eigen::VectorXd gradient;
  for (std::uint64_t salt : {0ULL, 1ULL, 2ULL}) {
    const Eigen::VectorXd point = random_point(*task, salt);
    const double with_gradient = task->loss_and_gradient(point, gradient);
    EXPECT_EQ(task->loss(point), with_gradient);
    // Calling loss() between two gradient calls must not disturb the scratch buffers.
    Eigen::VectorXd again;
    EXPECT_EQ(task->loss_and_gradient(point, again), with_gradient);
    EXPECT_EQ(again, gradient);
  }
}

TEST_P(TaskFamilyTest, SameSeedGivesIdenticalTask) {
  const auto family = make_task_family(GetParam().spec);
  const auto other_family = make_task_family(GetParam().spec);
  const auto first = family->sample(0xabcdefULL);
  const auto second = other_family->sample(0xabcdefULL);
  ASSERT_EQ(first->dimension(), second->dimension());
  EXPECT_EQ(first->initial_parameters(), second->initial_parameters());
  const Eigen::VectorXd point = random_point(*first, 5);
  EXPECT_EQ(first->loss(point), second->loss(point));
  Eigen::VectorXd first_gradient;
  Eigen::VectorXd second_gradient;
  EXPECT_EQ(first->loss_and_gradient(point, first_gradient), second->loss_and_gradient(point, second_gradient));
  EXPECT_EQ(first_gradient, second_gradient);
}

TEST_P(TaskFamilyTest, DifferentSeedsGiveDifferentTasks) {
  const auto family = make_task_family(GetParam().spec);
  const auto first = family->sample(10);
  const auto second = family->sample(11);
  ASSERT_EQ(first->dimension(), second->dimension());
  EXPECT_NE(first->initial_parameters(), second->initial_parameters());
  // Rosenbrock and synthetic differ only in their start.
  if (GetParam().spec.kind != TaskKind::rosenbrock && GetParam().spec.kind != TaskKind::synthetic) {
    const Eigen::VectorXd point = random_point(*first, 5);
    EXPECT_NE(first->loss(point), second->loss(point));
  }
}

TEST_P(TaskFamilyTest, LossIsFiniteAndNonNegative) {
  const auto family = make_task_family(GetParam().spec);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const auto task = family->sample(seed);
    const double initial = task->loss(task->initial_parameters());
    EXPECT_TRUE(std::isfinite(initial));
    EXPECT_GT(initial, 0.0);
    for (double step : {0.1, 1.0, 10.0}) {
      const double value = task->loss(random_point(*task, seed, step));
      EXPECT_TRUE(std::isfinite(value)) << "step " << step;
      EXPECT_GE(value, 0.0) << "step " << step;
    }
  }
}

TEST_P(TaskFamilyTest, WrongParameterCountIsRejected) {
  const auto task = make_task_family(GetParam().spec)->sample(1);
  Eigen::VectorXd gradient;
  const Eigen::VectorXd too_short = Eigen::VectorXd::Zero(task->dimension() - 1);
  EXPECT_THROW(task->loss(too_short), EvaluationError);
  EXPECT_THROW(task->loss_and_gradient(too_short, gradient), EvaluationError);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, TaskFamilyTest, ::testing::ValuesIn(gradient_cases()),
                         [](const ::testing::TestParamInfo<NamedSpec>& param_info) { return param_info.param.name; });

TEST_P(TaskFamilyTest, TensorSizesAddUpToTheDimension) {
  const auto task = make_task_family(GetParam().spec)->sample(1);
  Eigen::Index total = 0;
  for (const Eigen::Index size : task->tensor_sizes()) total += size;
  EXPECT_EQ(total, task->dimension());
}

TEST(TaskTensorSizesTest, MlpLayersAndLinearModelsSplitWeightsAndBiases) {
  TaskFamilySpec mlp;
  mlp.kind = TaskKind::mlp_classification;
  mlp.dimension = 3;
  mlp.hidden_layers = {5};
  mlp.classes = 4;
  EXPECT_EQ(make_task_family(mlp)->sample(1)->tensor_sizes(), (std::vector<Eigen::Index>{15, 5, 20, 4}));
  TaskFamilySpec linear;
  linear.kind = TaskKind::linear_regression;
  linear.dimension = 6;
  EXPECT_EQ(make_task_family(linear)->sample(1)->tensor_sizes(), (std::vector<Eigen::Index>{6, 1}));
  TaskFamilySpec quadratic;
  quadratic.dimension = 7;
  EXPECT_EQ(make_task_family(quadratic)->sample(1)->tensor_sizes(), (std::vector<Eigen::Index>{7}));
}

TEST(TaskKindTest, NamesRoundTrip) {
  const auto& kinds = enum_values<TaskKind>();
  EXPECT_EQ(kinds.size(), 7U);
  std::set<std::string_view> names;
  for (TaskKind kind : kinds) {
    names.insert(to_string(kind));
    EXPECT_EQ(from_string<TaskKind>(to_string(kind)), kind);
  }
  EXPECT_EQ(names.size(), kinds.size());
  EXPECT_EQ(to_string(TaskKind::mlp_classification), "mlp_classification");
  EXPECT_EQ(from_string<TaskKind>("logistic_regression"), TaskKind::logistic_regression);
  EXPECT_FALSE(from_string<TaskKind>("Quadratic").has_value());
  EXPECT_FALSE(from_string<TaskKind>("").has_value());
  EXPECT_EQ(to_string(Activation::relu), "relu");
  EXPECT_EQ(from_string<Activation>("tanh"), Activation::tanh);
  EXPECT_EQ(from_string<Activation>(to_string(Activation::relu)), Activation::relu);
  EXPECT_FALSE(from_string<Activation>("sigmoid").has_value());
  EXPECT_EQ(from_string<TaskKind>("synthetic"), TaskKind::synthetic);
  for (SleepTail tail : {SleepTail::fixed, SleepTail::pareto}) EXPECT_EQ(from_string<SleepTail>(to_string(tail)), tail);
  EXPECT_EQ(to_string(SleepTail::pareto), "pareto");
  EXPECT_FALSE(from_string<SleepTail>("lognormal").has_value());
  for (TaskFault fault : {TaskFault::none, TaskFault::throw_exception, TaskFault::nan_loss}) {
    EXPECT_EQ(from_string<TaskFault>(to_string(fault)), fault);
  }
  EXPECT_EQ(to_string(TaskFault::throw_exception), "throw");
  EXPECT_EQ(to_string(TaskFault::nan_loss), "nan");
  EXPECT_FALSE(from_string<TaskFault>("throw_exception").has_value());
}

TEST(TaskFamilyFactoryTest, DefaultSpecOfEveryKindIsValid) {
  for (TaskKind kind : enum_values<TaskKind>()) {
    const auto family = make_task_family(make_spec(kind));
    EXPECT_EQ(family->name(), to_string(kind));
    EXPECT_GT(family->sample(1)->dimension(), 0);
  }
}

TEST(TaskFamilyFactoryTest, DimensionsFollowTheSpec) {
  TaskFamilySpec spec = make_spec(TaskKind::linear_regression);
  spec.dimension = 7;
  EXPECT_EQ(make_task_family(spec)->sample(1)->dimension(), 8);  // weights + bias
  spec.kind = TaskKind::logistic_regression;
  EXPECT_EQ(make_task_family(spec)->sample(1)->dimension(), 8);
  spec.kind = TaskKind::quadratic;
  EXPECT_EQ(make_task_family(spec)->sample(1)->dimension(), 7);
  spec.kind = TaskKind::rosenbrock;
  EXPECT_EQ(make_task_family(spec)->sample(1)->dimension(), 7);
  // 5 -> 6 -> 5 -> 4 classes: (5+1)*6 + (6+1)*5 + (5+1)*4
  EXPECT_EQ(make_task_family(mlp_spec(TaskKind::mlp_classification, {6, 5}, Activation::tanh))->sample(1)->dimension(),
            36 + 35 + 24);
  // 5 -> 8 -> 1: (5+1)*8 + (8+1)*1
  EXPECT_EQ(make_task_family(mlp_spec(TaskKind::mlp_regression, {8}, Activation::relu))->sample(1)->dimension(), 57);
}

void expect_rejected(const TaskFamilySpec& spec, const std::string& field, const std::string& seen) {
  try {
    make_task_family(spec);
    ADD_FAILURE() << "accepted a bad " << field;
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(field), std::string::npos) << message;
    EXPECT_NE(message.find("got " + seen), std::string::npos) << message;
    EXPECT_NE(message.find(std::string(to_string(spec.kind))), std::string::npos) << message;
  }
}

TEST(TaskFamilyFactoryTest, InvalidSpecsNameTheField) {
  TaskFamilySpec spec = make_spec(TaskKind::quadratic);
  spec.weight = 0.0;
  expect_rejected(spec, "weight", "0");
  spec.weight = std::numeric_limits<double>::quiet_NaN();
  expect_rejected(spec, "weight", "nan");
  spec = make_spec(TaskKind::quadratic);
  spec.dimension = 0;
  expect_rejected(spec, "dimension", "0");
  spec.dimension = 5000;  // the rotation is dense
  expect_rejected(spec, "dimension", "5000");
  spec = make_spec(TaskKind::quadratic);
  spec.condition_number = 0.5;
  expect_rejected(spec, "condition_number", "0.5");
  spec = make_spec(TaskKind::quadratic);
  spec.initial_scale = 0.0;
  expect_rejected(spec, "initial_scale", "0");
  spec = make_spec(TaskKind::rosenbrock);
  spec.dimension = 1;
  expect_rejected(spec, "dimension", "1");
  spec = make_spec(TaskKind::linear_regression);
  spec.dimension = 100001;
  expect_rejected(spec, "dimension", "100001");
  spec = make_spec(TaskKind::linear_regression);
  spec.samples = 0;
  expect_rejected(spec, "samples", "0");
  spec = make_spec(TaskKind::linear_regression);
  spec.noise = -0.1;
  expect_rejected(spec, "noise", "-0.1");
  spec = make_spec(TaskKind::logistic_regression);
  spec.noise = 0.5;
  expect_rejected(spec, "noise", "0.5");
  spec = make_spec(TaskKind::mlp_classification);
  spec.noise = 0.7;
  expect_rejected(spec, "noise", "0.7");
  spec = make_spec(TaskKind::mlp_regression);
  spec.hidden_layers = {};
  expect_rejected(spec, "hidden_layers", "0 widths");
  spec.hidden_layers = {4, 4, 4};
  expect_rejected(spec, "hidden_layers", "3 widths");
  spec.hidden_layers = {4, 0};
  expect_rejected(spec, "hidden_layers", "0");
  spec = make_spec(TaskKind::mlp_classification);
  spec.classes = 1;
  expect_rejected(spec, "classes", "1");
}

TEST(SyntheticTaskTest, InvalidSpecsNameTheField) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.dimension = 0;
  expect_rejected(spec, "dimension", "0");
  spec.dimension = 100001;
  expect_rejected(spec, "dimension", "100001");
  spec = make_spec(TaskKind::synthetic);
  spec.step_sleep_seconds = -0.5;
  expect_rejected(spec, "step_sleep_seconds", "-0.5");
  spec.step_sleep_seconds = 61.0;
  expect_rejected(spec, "step_sleep_seconds", "61");
  spec.step_sleep_seconds = std::numeric_limits<double>::quiet_NaN();
  expect_rejected(spec, "step_sleep_seconds", "nan");
  spec = make_spec(TaskKind::synthetic);
  spec.pareto_shape = 0.0;
  expect_rejected(spec, "pareto_shape", "0");
  spec = make_spec(TaskKind::synthetic);
  spec.fault_probability = 1.5;
  expect_rejected(spec, "fault_probability", "1.5");
  spec.fault_probability = -0.1;
  expect_rejected(spec, "fault_probability", "-0.1");
  spec = make_spec(TaskKind::synthetic);
  spec.fault_step = 0;
  expect_rejected(spec, "fault_step", "0");
  spec = make_spec(TaskKind::synthetic);
  spec.initial_scale = -1.0;
  expect_rejected(spec, "initial_scale", "-1");

  // The bounds are inclusive, and other kinds ignore the synthetic fields.
  spec = make_spec(TaskKind::synthetic);
  spec.dimension = 1;
  spec.step_sleep_seconds = 60.0;
  spec.fault_probability = 0.0;
  EXPECT_NO_THROW(make_task_family(spec));
  spec = make_spec(TaskKind::quadratic);
  spec.step_sleep_seconds = -1.0;
  spec.pareto_shape = 0.0;
  spec.fault_step = 0;
  EXPECT_NO_THROW(make_task_family(spec));
}

TEST(SyntheticTaskTest, LossIsHalfSquaredNormWithExactGradient) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.dimension = 3;
  const auto task = make_task_family(spec)->sample(5);
  ASSERT_EQ(task->dimension(), 3);
  const Eigen::Vector3d point(1.0, -2.0, 3.0);
  EXPECT_EQ(task->loss(point), 7.0);  // 0.5 * (1 + 4 + 9)
  Eigen::VectorXd gradient;
  EXPECT_EQ(task->loss_and_gradient(point, gradient), 7.0);
  EXPECT_EQ(gradient, Eigen::VectorXd(point));
  EXPECT_EQ(task->loss(Eigen::VectorXd::Zero(3)), 0.0);
}

TEST(SyntheticTaskTest, InitialPointIsScaledNormalFromTheSeed) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.dimension = 2000;
  spec.initial_scale = 3.0;
  const Eigen::VectorXd start = make_task_family(spec)->sample(12)->initial_parameters();
  ASSERT_EQ(start.size(), 2000);
  const double mean = start.mean();
  const double std_dev = std::sqrt((start.array() - mean).square().sum() / 1999.0);
  EXPECT_NEAR(mean, 0.0, 0.3);      // 5 standard errors of 3 / sqrt(2000)
  EXPECT_NEAR(std_dev, 3.0, 0.25);  // about 5 standard errors of the sample std dev
  // The scale multiplies the same normals; the tail and fault settings do not move the start.
  spec.initial_scale = 1.0;
  spec.sleep_tail = SleepTail::pareto;
  spec.fault = TaskFault::nan_loss;
  spec.fault_probability = 0.5;
  const Eigen::VectorXd unit = make_task_family(spec)->sample(12)->initial_parameters();
  EXPECT_TRUE(start.isApprox(3.0 * unit, 1e-15));
}

TEST(SyntheticTaskTest, EveryGradientCallSleeps) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.dimension = 4;
  spec.step_sleep_seconds = 0.02;
  const auto task = make_task_family(spec)->sample(1);
  EXPECT_EQ(synthetic_task_draws(spec, 1).sleep_factor, 1.0);
  const Eigen::VectorXd point = task->initial_parameters();
  Eigen::VectorXd gradient;
  const auto start = std::chrono::steady_clock::now();
  for (int call = 0; call < 3; ++call) task->loss_and_gradient(point, gradient);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed.count(), 0.06);  // a lower bound only: a loaded machine may take longer
  // loss() is free.
  const auto loss_start = std::chrono::steady_clock::now();
  for (int call = 0; call < 3; ++call) task->loss(point);
  const std::chrono::duration<double> loss_elapsed = std::chrono::steady_clock::now() - loss_start;
  EXPECT_LT(loss_elapsed.count(), 0.06);
}

TEST(SyntheticTaskTest, ParetoFactorsVaryBetweenSeedsWithinTheCap) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.sleep_tail = SleepTail::pareto;
  spec.pareto_shape = 1.5;
  std::set<double> factors;
  int above_two = 0;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    const double factor = synthetic_task_draws(spec, seed).sleep_factor;
    EXPECT_GE(factor, 1.0) << "seed " << seed;
    EXPECT_LE(factor, 100.0) << "seed " << seed;
    EXPECT_EQ(synthetic_task_draws(spec, seed).sleep_factor, factor);  // deterministic
    factors.insert(factor);
    if (factor > 2.0) ++above_two;
  }
  EXPECT_GT(factors.size(), 390u);
  // P(factor > 2) = 2^-1.5 = 0.354: about 141 of 400, standard deviation 9.6.
  EXPECT_GT(above_two, 100);
  EXPECT_LT(above_two, 185);
  // A very light shape puts most of the mass beyond the cap: those tasks sleep exactly 100 times.
  spec.pareto_shape = 0.1;
  int capped = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const double factor = synthetic_task_draws(spec, seed).sleep_factor;
    EXPECT_LE(factor, 100.0);
    if (factor == 100.0) ++capped;
  }
  EXPECT_GT(capped, 45);  // P(U^-10 >= 100) = P(U <= 100^-0.1) = 0.63: about 63 of 100
  EXPECT_LT(capped, 80);
  // The fixed tail ignores the shape.
  spec.sleep_tail = SleepTail::fixed;
  for (std::uint64_t seed = 0; seed < 20; ++seed) EXPECT_EQ(synthetic_task_draws(spec, seed).sleep_factor, 1.0);
}

TEST(SyntheticTaskTest, ParetoTaskSleepsItsFactor) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.sleep_tail = SleepTail::pareto;
  spec.step_sleep_seconds = 0.005;
  std::uint64_t seed = 0;
  while (!(synthetic_task_draws(spec, seed).sleep_factor > 3.0 && synthetic_task_draws(spec, seed).sleep_factor < 8.0)) {
    ++seed;
  }
  const double factor = synthetic_task_draws(spec, seed).sleep_factor;
  const auto task = make_task_family(spec)->sample(seed);
  Eigen::VectorXd gradient;
  const auto start = std::chrono::steady_clock::now();
  task->loss_and_gradient(task->initial_parameters(), gradient);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed.count(), factor * 0.005) << "seed " << seed << " factor " << factor;
}

/// Calls loss_and_gradient `calls` times; returns the 1-based call that threw or returned NaN, 0 if none did.
std::int64_t first_faulty_call(const Task& task, std::int64_t calls, TaskFault expected) {
  Eigen::VectorXd point = task.initial_parameters();
  Eigen::VectorXd gradient;
  std::int64_t faulty = 0;
  for (std::int64_t call = 1; call <= calls; ++call) {
    try {
      const double value = task.loss_and_gradient(point, gradient);
      if (std::isnan(value)) {
        EXPECT_EQ(expected, TaskFault::nan_loss) << "call " << call;
        EXPECT_TRUE(gradient.array().isNaN().all()) << "call " << call;
        EXPECT_EQ(gradient.size(), task.dimension());
        if (faulty == 0) faulty = call;
      } else {
        EXPECT_EQ(gradient, point);
      }
    } catch (const EvaluationError& error) {
      EXPECT_EQ(expected, TaskFault::throw_exception) << "call " << call;
      EXPECT_EQ(std::string(error.what()).rfind("synthetic fault: ", 0), 0u) << error.what();
      if (faulty == 0) faulty = call;
    }
    // loss() never faults, before or after the faulty call.
    EXPECT_TRUE(std::isfinite(task.loss(point))) << "call " << call;
  }
  return faulty;
}

TEST(SyntheticTaskTest, FaultsHitExactlyTheFaultStep) {
  for (TaskFault fault : {TaskFault::throw_exception, TaskFault::nan_loss}) {
    for (std::int64_t fault_step : {1, 4}) {
      TaskFamilySpec spec = make_spec(TaskKind::synthetic);
      spec.dimension = 3;
      spec.fault = fault;
      spec.fault_probability = 1.0;
      spec.fault_step = fault_step;
      const auto family = make_task_family(spec);
      for (std::uint64_t seed = 0; seed < 10; ++seed) {
        EXPECT_TRUE(synthetic_task_draws(spec, seed).faulty);
        EXPECT_EQ(first_faulty_call(*family->sample(seed), 6, fault), fault_step)
            << to_string(fault) << " step " << fault_step << " seed " << seed;
      }
    }
  }
}

TEST(SyntheticTaskTest, NoFaultWithProbabilityZeroOrFaultNone) {
  for (TaskFault fault : {TaskFault::throw_exception, TaskFault::nan_loss}) {
    TaskFamilySpec spec = make_spec(TaskKind::synthetic);
    spec.dimension = 3;
    spec.fault = fault;
    spec.fault_probability = 0.0;
    const auto family = make_task_family(spec);
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
      EXPECT_FALSE(synthetic_task_draws(spec, seed).faulty);
      EXPECT_EQ(first_faulty_call(*family->sample(seed), 3, fault), 0) << to_string(fault) << " seed " << seed;
    }
  }
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.fault = TaskFault::none;
  spec.fault_probability = 1.0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_FALSE(synthetic_task_draws(spec, seed).faulty);
    EXPECT_EQ(first_faulty_call(*make_task_family(spec)->sample(seed), 3, TaskFault::none), 0);
  }
}

TEST(SyntheticTaskTest, FaultProbabilitySelectsAShareOfTasksDeterministically) {
  TaskFamilySpec spec = make_spec(TaskKind::synthetic);
  spec.dimension = 2;
  spec.fault = TaskFault::nan_loss;
  spec.fault_probability = 0.3;
  const auto family = make_task_family(spec);
  const auto other_family = make_task_family(spec);
  int faulty_tasks = 0;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    const bool faulty = synthetic_task_draws(spec, seed).faulty;
    faulty_tasks += faulty ? 1 : 0;
    // The draw is the one sample() uses, and the same seed gives the same behaviour.
    EXPECT_EQ(first_faulty_call(*family->sample(seed), 1, TaskFault::nan_loss), faulty ? 1 : 0) << seed;
    EXPECT_EQ(first_faulty_call(*other_family->sample(seed), 1, TaskFault::nan_loss), faulty ? 1 : 0) << seed;
  }
  EXPECT_GT(faulty_tasks, 90);  // 120 expected, standard deviation 9.2
  EXPECT_LT(faulty_tasks, 150);
}

TEST(TaskFamilyFactoryTest, FieldsAKindDoesNotReadAreNotChecked) {
  TaskFamilySpec spec = make_spec(TaskKind::quadratic);
  spec.samples = 0;
  spec.classes = 0;
  spec.hidden_layers = {};
  EXPECT_NO_THROW(make_task_family(spec));
  spec = make_spec(TaskKind::mlp_regression);
  spec.condition_number = 0.0;
  spec.classes = 1;  // regression has one output
  EXPECT_NO_THROW(make_task_family(spec));
}

TEST(QuadraticTaskTest, EigenvaluesAreLogSpacedToTheConditionNumber) {
  TaskFamilySpec spec = make_spec(TaskKind::quadratic);
  spec.dimension = 9;
  spec.condition_number = 256.0;
  const auto task = make_task_family(spec)->sample(17);
  const Eigen::MatrixXd hessian = affine_hessian(*task, task->initial_parameters());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(hessian);
  const Eigen::VectorXd eigenvalues = solver.eigenvalues();  // ascending
  for (Eigen::Index i = 0; i < 9; ++i) {
    const double expected = std::pow(2.0, static_cast<double>(i));  // 256^(i/8)
    EXPECT_NEAR(eigenvalues(i), expected, 1e-9 * expected) << i;
  }
  EXPECT_NEAR(eigenvalues(8) / eigenvalues(0), 256.0, 1e-8);
  // The rotation is not the identity: the Hessian is not diagonal.
  EXPECT_GT(hessian.norm() - hessian.diagonal().norm(), 1.0);
}

TEST(QuadraticTaskTest, MinimumIsZeroAtTheOptimum) {
  TaskFamilySpec spec = make_spec(TaskKind::quadratic);
  spec.dimension = 10;
  spec.condition_number = 1000.0;
  const auto task = make_task_family(spec)->sample(4);
  const Eigen::VectorXd start = task->initial_parameters();
  Eigen::VectorXd gradient;
  task->loss_and_gradient(start, gradient);
  const Eigen::VectorXd optimum = start - affine_hessian(*task, start).ldlt().solve(gradient);
  EXPECT_LT(task->loss(optimum), 1e-18);
  task->loss_and_gradient(optimum, gradient);
  EXPECT_LT(gradient.norm(), 1e-9);
}

TEST(QuadraticTaskTest, InitialScaleIsTheDistanceFromTheOptimum) {
  // The optimum is drawn before the start offset, so doubling the scale doubles x0 - x*
  // and quadruples the initial loss.
  TaskFamilySpec spec = make_spec(TaskKind::quadratic);
  const double base = make_task_family(spec)->sample(8)->loss(make_task_family(spec)->sample(8)->initial_parameters());
  spec.initial_scale = 2.0;
  const auto doubled = make_task_family(spec)->sample(8);
  EXPECT_NEAR(doubled->loss(doubled->initial_parameters()), 4.0 * base, 1e-12 * base);
}

TEST(QuadraticTaskTest, OneDimensionAndUnitConditionWork) {
  TaskFamilySpec spec = make_spec(TaskKind::quadratic);
  spec.dimension = 1;
  const auto task = make_task_family(spec)->sample(2);
  const Eigen::MatrixXd hessian = affine_hessian(*task, task->initial_parameters());
  EXPECT_NEAR(hessian(0, 0), 1.0, 1e-12);
  spec.dimension = 4;
  spec.condition_number = 1.0;  // Q = R R' = I
  const auto isotropic = make_task_family(spec)->sample(2);
  EXPECT_TRUE(affine_hessian(*isotropic, isotropic->initial_parameters()).isIdentity(1e-12));
}

TEST(RosenbrockTaskTest, HandValuesAndMinimumAtOnes) {
  TaskFamilySpec spec = make_spec(TaskKind::rosenbrock);
  spec.dimension = 2;
  const auto task = make_task_family(spec)->sample(1);
  Eigen::VectorXd gradient;
  EXPECT_NEAR(task->loss(Eigen::Vector2d(-1.2, 1.0)), 24.2, 1e-12);
  // d/dx0 = -400 x0 (x1 - x0^2) - 2 (1 - x0) = -400*-1.2*-0.44 - 4.4; d/dx1 = 200 (x1 - x0^2) = -88
  task->loss_and_gradient(Eigen::Vector2d(-1.2, 1.0), gradient);
  EXPECT_NEAR(gradient(0), -215.6, 1e-10);
  EXPECT_NEAR(gradient(1), -88.0, 1e-10);

  spec.dimension = 7;
  const auto larger = make_task_family(spec)->sample(1);
  EXPECT_EQ(larger->loss_and_gradient(Eigen::VectorXd::Ones(7), gradient), 0.0);
  EXPECT_EQ(gradient, Eigen::VectorXd::Zero(7));
  EXPECT_EQ(larger->loss(Eigen::VectorXd::Zero(7)), 6.0);  // (1 - 0)^2 for each of the 6 pairs
}

TEST(LinearRegressionTaskTest, NoiselessDataIsFitExactly) {
  TaskFamilySpec spec = make_spec(TaskKind::linear_regression);
  spec.dimension = 6;
  spec.samples = 30;
  spec.noise = 0.0;
  const auto task = make_task_family(spec)->sample(9);
  const Eigen::VectorXd start = task->initial_parameters();
  Eigen::VectorXd gradient;
  EXPECT_GT(task->loss_and_gradient(start, gradient), 0.1);
  const Eigen::VectorXd best = start - affine_hessian(*task, start).ldlt().solve(gradient);
  EXPECT_LT(task->loss(best), 1e-20);

  spec.noise = 0.5;  // now the least-squares residual stays: about 0.5 * 0.25 * (n - d - 1) / n
  const auto noisy = make_task_family(spec)->sample(9);
  noisy->loss_and_gradient(start, gradient);
  const double noisy_best = noisy->loss(start - affine_hessian(*noisy, start).ldlt().solve(gradient));
  EXPECT_GT(noisy_best, 0.02);
  EXPECT_LT(noisy_best, 0.2);
}

TEST(LogisticRegressionTaskTest, ZeroParametersGiveLogTwoAndExtremesStayFinite) {
  TaskFamilySpec spec = make_spec(TaskKind::logistic_regression);
  spec.dimension = 4;
  const auto task = make_task_family(spec)->sample(3);
  EXPECT_NEAR(task->loss(Eigen::VectorXd::Zero(5)), std::log(2.0), 1e-15);
  Eigen::VectorXd gradient;
  for (double scale : {1e3, 1e8, -1e8}) {
    const Eigen::VectorXd huge = scale * Eigen::VectorXd::Ones(5);
    const double value = task->loss_and_gradient(huge, gradient);
    EXPECT_TRUE(std::isfinite(value));
    EXPECT_GE(value, 0.0);
    EXPECT_TRUE(gradient.allFinite());
  }
}

TEST(LogisticRegressionTaskTest, LabelNoiseRaisesTheLoss) {
  // With clean labels the data are separable, so a long step along the descent direction from
  // zero keeps lowering the loss well below what the same amount of training reaches on noisy labels.
  auto trained_loss = [](double noise) {
    TaskFamilySpec spec = make_spec(TaskKind::logistic_regression);
    spec.dimension = 3;
    spec.samples = 200;
    spec.noise = noise;
    const auto task = make_task_family(spec)->sample(21);
    Eigen::VectorXd parameters = Eigen::VectorXd::Zero(4);
    Eigen::VectorXd gradient;
    for (int step = 0; step < 2000; ++step) {
      task->loss_and_gradient(parameters, gradient);
      parameters -= 1.0 * gradient;
    }
    return task->loss(parameters);
  };
  EXPECT_LT(trained_loss(0.0), 0.1);
  EXPECT_GT(trained_loss(0.3), 0.4);
}

TEST(MlpTaskTest, ClassificationAtZeroIsLogClassesAndExtremesStayFinite) {
  TaskFamilySpec spec = mlp_spec(TaskKind::mlp_classification, {6}, Activation::relu);
  spec.classes = 5;
  const auto task = make_task_family(spec)->sample(2);
  EXPECT_NEAR(task->loss(Eigen::VectorXd::Zero(task->dimension())), std::log(5.0), 1e-14);
  Eigen::VectorXd gradient;
  const Eigen::VectorXd huge = 1e6 * random_point(*task, 1);
  const double value = task->loss_and_gradient(huge, gradient);
  EXPECT_TRUE(std::isfinite(value));
  EXPECT_GE(value, 0.0);
  EXPECT_TRUE(gradient.allFinite());
}

TEST(MlpTaskTest, GradientDescentLowersTheLoss) {
  for (TaskKind kind : {TaskKind::mlp_regression, TaskKind::mlp_classification}) {
    for (Activation activation : {Activation::tanh, Activation::relu}) {
      const auto task = make_task_family(mlp_spec(kind, {16}, activation))->sample(5);
      Eigen::VectorXd parameters = task->initial_parameters();
      Eigen::VectorXd gradient;
      const double initial = task->loss_and_gradient(parameters, gradient);
      for (int step = 0; step < 300; ++step) {
        parameters -= 0.1 * gradient;
        task->loss_and_gradient(parameters, gradient);
      }
      EXPECT_LT(task->loss(parameters), 0.7 * initial) << to_string(kind) << " " << to_string(activation);
    }
  }
}

TEST(MlpTaskTest, ClassificationLabelsUseEveryClassAndNoiseChangesThem) {
  // At zero weights and a one-hot bias on class c, the loss is lower for tasks with more samples of class c;
  // comparing noiseless and noisy families of the same seed shows the flips changed some labels.
  TaskFamilySpec spec = mlp_spec(TaskKind::mlp_classification, {8}, Activation::tanh);
  spec.samples = 200;
  spec.classes = 3;
  spec.noise = 0.0;
  const auto clean = make_task_family(spec)->sample(6);
  spec.noise = 0.4;
  const auto noisy = make_task_family(spec)->sample(6);
  const Eigen::Index size = clean->dimension();
  for (Eigen::Index c = 0; c < 3; ++c) {
    Eigen::VectorXd parameters = Eigen::VectorXd::Zero(size);
    parameters(size - 3 + c) = 50.0;  // output bias of class c dominates: loss ~ 50 * (share not c)
    const double share_not_c = clean->loss(parameters) / 50.0;
    EXPECT_LT(share_not_c, 0.99) << "class " << c << " never used";
  }
  Eigen::VectorXd parameters = Eigen::VectorXd::Zero(size);
  parameters(size - 3) = 50.0;
  EXPECT_NE(clean->loss(parameters), noisy->loss(parameters));
}

// precision = "float32": the same task (data, labels, start are drawn in double either way), a loss
// and gradient within float rounding of the float64 ones, and as deterministic.
TEST(MlpTaskTest, Float32MatchesFloat64WithinFloatRoundingAndIsDeterministic) {
  for (TaskKind kind : {TaskKind::mlp_regression, TaskKind::mlp_classification}) {
    for (Activation activation : {Activation::tanh, Activation::relu}) {
      TaskFamilySpec spec = mlp_spec(kind, {16, 8}, activation);
      const auto exact = make_task_family(spec)->sample(8);
      spec.precision = TaskPrecision::float32;
      const auto rounded = make_task_family(spec)->sample(8);
      const auto rounded_again = make_task_family(spec)->sample(8);
      ASSERT_EQ(rounded->initial_parameters(), exact->initial_parameters());
      const Eigen::VectorXd point = random_point(*exact, 3);
      Eigen::VectorXd exact_gradient;
      Eigen::VectorXd rounded_gradient;
      Eigen::VectorXd rounded_again_gradient;
      const double exact_loss = exact->loss_and_gradient(point, exact_gradient);
      const double rounded_loss = rounded->loss_and_gradient(point, rounded_gradient);
      const std::string name = std::string(to_string(kind)) + " " + std::string(to_string(activation));
      EXPECT_NEAR(rounded_loss, exact_loss, 1e-5 * std::max(1.0, exact_loss)) << name;
      EXPECT_LT((rounded_gradient - exact_gradient).norm(), 1e-4 * std::max(1.0, exact_gradient.norm())) << name;
      EXPECT_NE(rounded_loss, exact_loss) << name << ": float32 computed in double?";
      EXPECT_EQ(rounded_again->loss_and_gradient(point, rounded_again_gradient), rounded_loss) << name;
      EXPECT_EQ(rounded_again_gradient, rounded_gradient) << name;
      EXPECT_NEAR(rounded->loss(point), exact->loss(point), 1e-5 * std::max(1.0, exact_loss)) << name;
    }
  }
}

// The float32 kernel chosen for the tasks sampled in its lifetime (select_float32_kernel), then the
// process's choice again.
class Float32KernelScope {
 public:
  explicit Float32KernelScope(std::string_view choice)
      : previous_(float32_kernel() == "generic" ? "generic" : "avx2") {
    select_float32_kernel(choice);
  }
  Float32KernelScope(const Float32KernelScope&) = delete;
  Float32KernelScope& operator=(const Float32KernelScope&) = delete;
  ~Float32KernelScope() { select_float32_kernel(previous_); }

 private:
  std::string previous_;
};

bool avx2_kernel_available() {
  try {
    const Float32KernelScope scope("avx2");
    return true;
  } catch (const ConfigError&) {
    return false;  // the CPU lacks AVX2 or FMA, or the build has no AVX2 kernel
  }
}

// The MLP cases of the kernel tests: both kinds and activations, full batch and minibatch, small
// (16-8 hidden) and the benchmark's 32-64-64-10 over 128 samples.
std::vector<NamedSpec> float32_kernel_cases() {
  std::vector<NamedSpec> cases;
  for (bool large : {false, true}) {
    for (TaskKind kind : {TaskKind::mlp_regression, TaskKind::mlp_classification}) {
      for (Activation activation : {Activation::tanh, Activation::relu}) {
        for (int batch_size : {0, 8}) {
          TaskFamilySpec spec = mlp_spec(kind, large ? std::vector<int>{64, 64} : std::vector<int>{16, 8}, activation);
          if (large) {
            spec.dimension = 32;
            spec.samples = 128;
            spec.classes = 10;
          }
          spec.batch_size = batch_size;
          spec.precision = TaskPrecision::float32;
          cases.push_back({std::string(large ? "large " : "small ") + std::string(to_string(kind)) + " " +
                               std::string(to_string(activation)) + " batch " + std::to_string(batch_size),
                           spec});
        }
      }
    }
  }
  return cases;
}

std::uint64_t bits_hash(const Eigen::VectorXd& values) {  // FNV-1a over the doubles' bytes
  std::uint64_t hash = 1469598103934665603ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (std::size_t i = 0; i < sizeof(double) * static_cast<std::size_t>(values.size()); ++i) {
    hash = (hash ^ bytes[i]) * 1099511628211ULL;
  }
  return hash;
}

// Three loss_and_gradient calls at a point near the start (minibatches advance), then loss(): the
// losses in hexadecimal and the gradients' bits as hashes.
std::string float32_trace(const Task& task) {
  const Eigen::VectorXd point = random_point(task, 3);
  Eigen::VectorXd gradient;
  std::string trace;
  char buffer[64];
  for (int step = 0; step < 3; ++step) {
    const double loss = task.loss_and_gradient(point, gradient);
    std::snprintf(buffer, sizeof buffer, " %a %016llx", loss, static_cast<unsigned long long>(bits_hash(gradient)));
    trace += buffer;
  }
  std::snprintf(buffer, sizeof buffer, " %a", task.loss(point));
  return trace + buffer;
}

// METAEVO_SIMD=generic gives the float32 results of the build without runtime dispatch bit for bit:
// these traces were computed by task_mlp.cpp as it was before the AVX2 kernel (commit c907069,
// generic x86-64 build, g++ 12.2 -O3). A change here changes the float32 results of every run.
TEST(MlpTaskTest, GenericFloat32KernelKeepsItsBits) {
  const Float32KernelScope scope("generic");
  ASSERT_EQ(float32_kernel(), "generic");
  const std::vector<std::string> expected{
      " 0x1.6eb63ap-1 435caa4146b0de49 0x1.6eb63ap-1 435caa4146b0de49 0x1.6eb63ap-1 435caa4146b0de49 0x1.6eb63ap-1",
      " 0x1.ad8318p-1 4bc92e1864a8d376 0x1.079592p-1 7e1c399d6225fb08 0x1.2a5024p-1 36c7425563488671 0x1.6eb63ap-1",
      " 0x1.500bb6p+2 6be5775987ffe5b3 0x1.500bb6p+2 6be5775987ffe5b3 0x1.500bb6p+2 6be5775987ffe5b3 0x1.500bb6p+2",
      " 0x1.855b5p+1 42f479ed3a59c554 0x1.626594p+2 64aa7a94fc0ba9d1 0x1.b276dp+2 fcdc23c78205c739 0x1.500bb6p+2",
      " 0x1.599cbep+0 7e08e6be94d33c02 0x1.599cbep+0 7e08e6be94d33c02 0x1.599cbep+0 7e08e6be94d33c02 0x1.599cbep+0",
      " 0x1.420b04p+0 e12b06d72aeb7b05 0x1.07e2eep+0 578b3d2611913609 0x1.b7baf6p+0 26bdeeab4e86bcb0 0x1.599cbep+0",
      " 0x1.2660e6p+0 b20bb79043d9e695 0x1.2660e6p+0 b20bb79043d9e695 0x1.2660e6p+0 b20bb79043d9e695 0x1.2660e6p+0",
      " 0x1.8cec02p-1 35a3e2779f61d487 0x1.be3a18p+0 4d259ac3715b3fe1 0x1.474c86p-1 ddffdeb9814ac42d 0x1.2660e6p+0",
      " 0x1.7096dp+1 e68d469605950e6d 0x1.7096dp+1 e68d469605950e6d 0x1.7096dp+1 e68d469605950e6d 0x1.7096dp+1",
      " 0x1.1f14ccp+1 39308965fafa54f1 0x1.38c9d6p+1 f0e411a857941d67 0x1.4ac788p+2 491791d1517948f6 0x1.7096dp+1",
      " 0x1.4cd41p+4 2cdfb23a213c758c 0x1.4cd41p+4 2cdfb23a213c758c 0x1.4cd41p+4 2cdfb23a213c758c 0x1.4cd41p+4",
      " 0x1.756c36p+3 274b94e01edea34b 0x1.6d3fc6p+4 885c4e935c62f836 0x1.f4b366p+4 2bc0cc7a8acff37e 0x1.4cd41p+4",
      " 0x1.c95eb4p+1 0d2c27f4e8aeffab 0x1.c95eb4p+1 0d2c27f4e8aeffab 0x1.c95eb4p+1 0d2c27f4e8aeffab 0x1.c95eb4p+1",
      " 0x1.302af2p+2 b39ef5a2a21d7ad2 0x1.b5adcp+1 386fcdb29ef0defd 0x1.fe711cp+1 7d929d9a2c728d14 0x1.c95eb4p+1",
      " 0x1.e25c88p+3 af8c9fbffc4c05fd 0x1.e25c88p+3 af8c9fbffc4c05fd 0x1.e25c88p+3 af8c9fbffc4c05fd 0x1.e25c88p+3",
      " 0x1.08d38p+4 6ba4f29ba93f424d 0x1.6f076ap+3 90ddcbe7c221c985 0x1.ef3b9ep+3 aebfa40d53956413 0x1.e25c88p+3"};
  const std::vector<NamedSpec> cases = float32_kernel_cases();
  ASSERT_EQ(cases.size(), expected.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(float32_trace(*make_task_family(cases[i].spec)->sample(8)), expected[i]) << cases[i].name;
  }
}

// The AVX2 + FMA kernel: within float rounding of the generic one (other sums, fused multiply-adds),
// deterministic, and really another kernel (some bits differ).
TEST(MlpTaskTest, Avx2Float32KernelMatchesGenericWithinFloatRoundingAndIsDeterministic) {
  if (!avx2_kernel_available()) GTEST_SKIP() << "no AVX2 kernel here (CPU without AVX2/FMA, or the build has none)";
  const auto sample = [](const TaskFamilySpec& spec, std::string_view kernel) {
    const Float32KernelScope scope(kernel);
    return make_task_family(spec)->sample(8);
  };
  int differing = 0;
  for (const NamedSpec& named : float32_kernel_cases()) {
    {
      const Float32KernelScope scope("avx2");
      ASSERT_EQ(float32_kernel(), "avx2-fma");
    }
    EXPECT_EQ(float32_trace(*sample(named.spec, "avx2")), float32_trace(*sample(named.spec, "avx2"))) << named.name;
    const auto generic = sample(named.spec, "generic");
    const auto fast = sample(named.spec, "avx2");
    const Eigen::VectorXd point = random_point(*generic, 3);
    Eigen::VectorXd generic_gradient;
    Eigen::VectorXd fast_gradient;
    for (int step = 0; step < 3; ++step) {  // minibatches: the same rows in both
      const double generic_loss = generic->loss_and_gradient(point, generic_gradient);
      const double fast_loss = fast->loss_and_gradient(point, fast_gradient);
      EXPECT_NEAR(fast_loss, generic_loss, 1e-5 * std::max(1.0, std::abs(generic_loss))) << named.name;
      EXPECT_LT((fast_gradient - generic_gradient).norm(), 1e-4 * std::max(1.0, generic_gradient.norm()))
          << named.name;
      if (fast_loss != generic_loss || fast_gradient != generic_gradient) ++differing;
    }
    const double generic_loss = generic->loss(point);
    EXPECT_NEAR(fast->loss(point), generic_loss, 1e-5 * std::max(1.0, std::abs(generic_loss))) << named.name;
  }
  EXPECT_GT(differing, 0) << "the AVX2 kernel gave the generic kernel's bits everywhere: did it run?";
}

TEST(MlpTaskTest, Float32KernelChoicesAreChecked) {
  EXPECT_THROW(select_float32_kernel("sse9"), ConfigError);
  const Float32KernelScope scope("auto");
  EXPECT_EQ(float32_kernel(), avx2_kernel_available() ? "avx2-fma" : "generic");
}

// The inner loop's hot path: after the first call, loss_and_gradient and loss allocate nothing, in
// either precision (float32: either kernel), full batch or minibatch.
TEST(MlpTaskTest, LossAndGradientAllocateNothing) {
  if (!testing_support::allocation_counting_available())
    GTEST_SKIP() << "no allocation counting under AddressSanitizer";
  std::vector<std::pair<TaskPrecision, std::string>> variants{{TaskPrecision::float64, "generic"},
                                                              {TaskPrecision::float32, "generic"}};
  if (avx2_kernel_available()) variants.emplace_back(TaskPrecision::float32, "avx2");
  for (const auto& [precision, kernel] : variants) {
    const Float32KernelScope scope(kernel);
    for (int batch_size : {0, 8}) {
      TaskFamilySpec spec = mlp_spec(TaskKind::mlp_classification, {64, 64}, Activation::tanh);
      spec.dimension = 32;
      spec.samples = 128;
      spec.classes = 10;
      spec.batch_size = batch_size;
      spec.precision = precision;
      const auto task = make_task_family(spec)->sample(4);
      Eigen::VectorXd parameters = task->initial_parameters();
      Eigen::VectorXd gradient;
      task->loss_and_gradient(parameters, gradient);
      testing_support::start_counting_allocations();
      for (int step = 0; step < 3; ++step) {
        task->loss_and_gradient(parameters, gradient);
        parameters -= 0.01 * gradient;
      }
      const double final_loss = task->loss(parameters);
      EXPECT_EQ(testing_support::stop_counting_allocations(), 0)
          << to_string(precision) << " " << kernel << " batch_size " << batch_size;
      EXPECT_TRUE(std::isfinite(final_loss));
    }
  }
}

}  // namespace
}  // namespace metaevo
