#include "metaevo/tasks/task.hpp"

#include <array>
#include <cmath>
#include <sstream>
#include <utility>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "tasks/task_detail.hpp"

namespace metaevo {

namespace {

constexpr std::array<std::pair<TaskKind, std::string_view>, 7> task_kind_names{{
    {TaskKind::quadratic, "quadratic"},
    {TaskKind::linear_regression, "linear_regression"},
    {TaskKind::logistic_regression, "logistic_regression"},
    {TaskKind::mlp_regression, "mlp_regression"},
    {TaskKind::mlp_classification, "mlp_classification"},
    {TaskKind::rosenbrock, "rosenbrock"},
    {TaskKind::synthetic, "synthetic"},
}};

constexpr std::array<std::pair<Activation, std::string_view>, 2> activation_names{{
    {Activation::tanh, "tanh"},
    {Activation::relu, "relu"},
}};

constexpr std::array<std::pair<SleepTail, std::string_view>, 2> sleep_tail_names{{
    {SleepTail::fixed, "fixed"},
    {SleepTail::pareto, "pareto"},
}};

constexpr std::array<std::pair<TaskFault, std::string_view>, 3> task_fault_names{{
    {TaskFault::none, "none"},
    {TaskFault::throw_exception, "throw"},
    {TaskFault::nan_loss, "nan"},
}};

template <class Enum, std::size_t Size>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, Size>& names, Enum value) {
  for (const auto& [entry, name] : names) {
    if (entry == value) return name;
  }
  return "unknown";
}

template <class Enum, std::size_t Size>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, Size>& names,
                             std::string_view text) {
  for (const auto& [entry, name] : names) {
    if (name == text) return entry;
  }
  return std::nullopt;
}

// Limits beyond the obvious ones keep a typo from allocating gigabytes.
constexpr int max_dimension = 100000;
constexpr int max_quadratic_dimension = 2000;       // the rotation is a dense d x d matrix
constexpr int max_samples = 1000000;
constexpr double max_data_values = 5e7;             // samples * dimension (400 MB of doubles)
constexpr int max_hidden_width = 10000;
constexpr int max_classes = 1000;
constexpr double max_step_sleep_seconds = 60.0;     // a diagnostic task, not a way to stall a run

/// Collects the family name once so every message starts the same way.
class SpecChecker {
 public:
  explicit SpecChecker(TaskKind kind) : kind_(kind) {}

  template <class Value>
  [[noreturn]] void fail(std::string_view field, std::string_view requirement, const Value& seen) const {
    std::ostringstream message;
    message << "task family '" << to_string(kind_) << "': " << field << " must be " << requirement
            << ", got " << seen;
    throw ConfigError(message.str());
  }

  void int_in_range(std::string_view field, int value, int low, int high) const {
    if (value < low || value > high) {
      std::ostringstream range;
      range << "in [" << low << ", " << high << "]";
      fail(field, range.str(), value);
    }
  }

 private:
  TaskKind kind_;
};

bool uses_data(TaskKind kind) {
  return kind == TaskKind::linear_regression || kind == TaskKind::logistic_regression ||
         kind == TaskKind::mlp_regression || kind == TaskKind::mlp_classification;
}
bool is_mlp(TaskKind kind) { return kind == TaskKind::mlp_regression || kind == TaskKind::mlp_classification; }
bool noise_is_flip_probability(TaskKind kind) {
  return kind == TaskKind::logistic_regression || kind == TaskKind::mlp_classification;
}

// Only the fields the kind reads are checked: config validation rejects the others, and the
// defaults of unread fields must not be able to make a valid family invalid.
void validate(const TaskFamilySpec& spec) {
  const SpecChecker check(spec.kind);
  if (!(spec.weight > 0.0) || !std::isfinite(spec.weight)) check.fail("weight", "finite and > 0", spec.weight);
  if (!(spec.initial_scale > 0.0) || !std::isfinite(spec.initial_scale)) {
    check.fail("initial_scale", "finite and > 0", spec.initial_scale);
  }
  switch (spec.kind) {
    case TaskKind::quadratic:
      check.int_in_range("dimension", spec.dimension, 1, max_quadratic_dimension);
      if (!(spec.condition_number >= 1.0) || !std::isfinite(spec.condition_number)) {
        check.fail("condition_number", "finite and >= 1", spec.condition_number);
      }
      return;
    case TaskKind::rosenbrock:
      check.int_in_range("dimension", spec.dimension, 2, max_dimension);
      return;
    case TaskKind::synthetic:
      check.int_in_range("dimension", spec.dimension, 1, max_dimension);
      if (!(spec.step_sleep_seconds >= 0.0 && spec.step_sleep_seconds <= max_step_sleep_seconds)) {
        check.fail("step_sleep_seconds", "in [0, 60]", spec.step_sleep_seconds);
      }
      if (!(spec.pareto_shape > 0.0) || !std::isfinite(spec.pareto_shape)) {
        check.fail("pareto_shape", "finite and > 0", spec.pareto_shape);
      }
      if (!(spec.fault_probability >= 0.0 && spec.fault_probability <= 1.0)) {
        check.fail("fault_probability", "in [0, 1]", spec.fault_probability);
      }
      if (spec.fault_step < 1) check.fail("fault_step", ">= 1", spec.fault_step);
      return;
    default:
      break;
  }
  if (!uses_data(spec.kind)) return;
  check.int_in_range("dimension", spec.dimension, 1, max_dimension);
  check.int_in_range("samples", spec.samples, 1, max_samples);
  if (static_cast<double>(spec.samples) * static_cast<double>(spec.dimension) > max_data_values) {
    check.fail("samples * dimension", "<= 5e7", static_cast<double>(spec.samples) * spec.dimension);
  }
  if (noise_is_flip_probability(spec.kind)) {
    // At 0.5 the labels would carry no information about the inputs.
    if (!(spec.noise >= 0.0 && spec.noise < 0.5)) check.fail("noise", "a flip probability in [0, 0.5)", spec.noise);
  } else if (!(spec.noise >= 0.0) || !std::isfinite(spec.noise)) {
    check.fail("noise", "a finite standard deviation >= 0", spec.noise);
  }
  if (!is_mlp(spec.kind)) return;
  if (spec.hidden_layers.empty() || spec.hidden_layers.size() > 2) {
    check.fail("hidden_layers", "a list of 1 or 2 widths", std::to_string(spec.hidden_layers.size()) + " widths");
  }
  for (int width : spec.hidden_layers) check.int_in_range("hidden_layers width", width, 1, max_hidden_width);
  if (spec.kind == TaskKind::mlp_classification) check.int_in_range("classes", spec.classes, 2, max_classes);
}

class SyntheticTaskFamily final : public TaskFamily {
 public:
  explicit SyntheticTaskFamily(TaskFamilySpec spec) : spec_(std::move(spec)) {}

  TaskKind kind() const override { return spec_.kind; }
  const TaskFamilySpec& spec() const override { return spec_; }

  std::unique_ptr<Task> sample(std::uint64_t seed) const override {
    RandomStream stream(seed);
    switch (spec_.kind) {
      case TaskKind::quadratic: return task_detail::sample_quadratic(spec_, stream);
      case TaskKind::linear_regression: return task_detail::sample_linear_regression(spec_, stream);
      case TaskKind::logistic_regression: return task_detail::sample_logistic_regression(spec_, stream);
      case TaskKind::mlp_regression:
      case TaskKind::mlp_classification: return task_detail::sample_mlp(spec_, stream);
      case TaskKind::rosenbrock: return task_detail::sample_rosenbrock(spec_, stream);
      case TaskKind::synthetic: return task_detail::sample_synthetic(spec_, stream);
    }
    throw ConfigError("task family: unknown task kind " + std::to_string(static_cast<int>(spec_.kind)));
  }

 private:
  TaskFamilySpec spec_;
};

}  // namespace

std::string_view to_string(TaskKind kind) {
  for (const auto& [value, name] : task_kind_names) {
    if (value == kind) return name;
  }
  return "unknown";
}

std::optional<TaskKind> task_kind_from_string(std::string_view text) {
  for (const auto& [value, name] : task_kind_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

const std::vector<TaskKind>& all_task_kinds() {
  static const std::vector<TaskKind> kinds = [] {
    std::vector<TaskKind> result;
    for (const auto& entry : task_kind_names) result.push_back(entry.first);
    return result;
  }();
  return kinds;
}

std::string_view to_string(Activation activation) {
  for (const auto& [value, name] : activation_names) {
    if (value == activation) return name;
  }
  return "unknown";
}

std::optional<Activation> activation_from_string(std::string_view text) {
  for (const auto& [value, name] : activation_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::string_view to_string(SleepTail tail) { return name_of(sleep_tail_names, tail); }

std::optional<SleepTail> sleep_tail_from_string(std::string_view text) { return value_of(sleep_tail_names, text); }

std::string_view to_string(TaskFault fault) { return name_of(task_fault_names, fault); }

std::optional<TaskFault> task_fault_from_string(std::string_view text) { return value_of(task_fault_names, text); }

std::unique_ptr<TaskFamily> make_task_family(const TaskFamilySpec& spec) {
  validate(spec);
  return std::make_unique<SyntheticTaskFamily>(spec);
}

namespace task_detail {

Eigen::MatrixXd normal_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& stream) {
  Eigen::MatrixXd matrix(rows, cols);
  for (Eigen::Index col = 0; col < cols; ++col) {
    for (Eigen::Index row = 0; row < rows; ++row) matrix(row, col) = stream.normal();
  }
  return matrix;
}

Eigen::VectorXd normal_vector(Eigen::Index size, RandomStream& stream) {
  Eigen::VectorXd vector(size);
  for (Eigen::Index i = 0; i < size; ++i) vector(i) = stream.normal();
  return vector;
}

void check_parameter_count(const Eigen::VectorXd& parameters, Eigen::Index expected) {
  if (parameters.size() != expected) {
    throw EvaluationError("task: expected " + std::to_string(expected) + " parameters, got " +
                          std::to_string(parameters.size()));
  }
}

}  // namespace task_detail

}  // namespace metaevo
