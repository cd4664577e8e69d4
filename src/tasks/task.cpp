#include "metaevo/tasks/task.hpp"

#include <array>
#include <cmath>
#include <sstream>
#include <utility>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "core/text_format.hpp"
#include "tasks/task_detail.hpp"

namespace metaevo {

namespace {

using namespace task_detail::limits;  // NOLINT: the shared limits of every family

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
  if (spec.batch_size < 0 || spec.batch_size > spec.samples) {
    check.fail("batch_size", "0 (full batch) or in [1, samples = " + std::to_string(spec.samples) + "]",
               spec.batch_size);
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
  // The network's activations (samples x each layer's width) and its weights are held in memory too.
  double parameters = 0.0;
  double inputs = static_cast<double>(spec.dimension);
  for (int width : spec.hidden_layers) {
    if (static_cast<double>(spec.samples) * width > max_data_values) {
      check.fail("samples * hidden_layers width", "<= 5e7", static_cast<double>(spec.samples) * width);
    }
    parameters += (inputs + 1.0) * width;
    inputs = width;
  }
  parameters += (inputs + 1.0) * (spec.kind == TaskKind::mlp_classification ? spec.classes : 1);
  if (parameters > max_data_values) check.fail("parameters of the network (dimension and hidden_layers)", "<= 5e7", parameters);
}

/// Every built-in family: a validated spec and the kind's sampler.
class BuiltinTaskFamily final : public TaskFamily {
 public:
  explicit BuiltinTaskFamily(TaskFamilySpec spec) : spec_(std::move(spec)) {}

  std::string_view name() const override { return to_string(spec_.kind); }

  std::unique_ptr<Task> sample(std::uint64_t seed) const override {
    RandomStream stream(seed);
    switch (spec_.kind) {
      case TaskKind::quadratic: return task_detail::sample_quadratic(spec_, stream);
      case TaskKind::linear_regression: return task_detail::sample_linear_regression(spec_, stream, seed);
      case TaskKind::logistic_regression: return task_detail::sample_logistic_regression(spec_, stream, seed);
      case TaskKind::mlp_regression:
      case TaskKind::mlp_classification: return task_detail::sample_mlp(spec_, stream, seed);
      case TaskKind::rosenbrock: return task_detail::sample_rosenbrock(spec_, stream);
      case TaskKind::synthetic: return task_detail::sample_synthetic(spec_, stream);
    }
    throw ConfigError("task family: unknown task kind " + std::to_string(static_cast<int>(spec_.kind)));
  }

 private:
  TaskFamilySpec spec_;
};

template <NamedEnum Enum>
Enum enum_option(const Options& options, std::string_view key) {
  const std::string& text = options.string(key);
  const std::optional<Enum> value = from_string<Enum>(text);
  if (!value) throw ConfigError(std::string(key) + " must be one of " + text::joined(enum_names<Enum>()) + ", got \"" + text + "\"");
  return *value;
}

/// The spec a built-in family is built from: the kind's defaults, overridden by the options it has.
TaskFamilySpec spec_from_options(TaskKind kind, const Options& options) {
  TaskFamilySpec spec;
  spec.kind = kind;
  const auto read_int = [&options](std::string_view key, int& out) {
    if (options.has(key)) out = static_cast<int>(options.integer(key));
  };
  const auto read_real = [&options](std::string_view key, double& out) {
    if (options.has(key)) out = options.real(key);
  };
  read_int("dimension", spec.dimension);
  read_real("condition_number", spec.condition_number);
  read_int("samples", spec.samples);
  read_int("batch_size", spec.batch_size);
  read_real("noise", spec.noise);
  if (options.has("hidden_layers")) {
    spec.hidden_layers.clear();
    for (std::int64_t width : options.integer_list("hidden_layers")) spec.hidden_layers.push_back(static_cast<int>(width));
  }
  if (options.has("activation")) spec.activation = enum_option<Activation>(options, "activation");
  read_int("classes", spec.classes);
  if (options.has("precision")) spec.precision = enum_option<TaskPrecision>(options, "precision");
  read_real("initial_scale", spec.initial_scale);
  read_real("step_sleep_seconds", spec.step_sleep_seconds);
  if (options.has("sleep_tail")) spec.sleep_tail = enum_option<SleepTail>(options, "sleep_tail");
  read_real("pareto_shape", spec.pareto_shape);
  if (options.has("fault")) spec.fault = enum_option<TaskFault>(options, "fault");
  read_real("fault_probability", spec.fault_probability);
  if (options.has("fault_step")) spec.fault_step = options.integer("fault_step");
  return spec;
}

/// The built-in families, in the order `metaevo check` and the docs list them. Each source file
/// registers the families it implements.
Registry<TaskFamilyRegistration> builtin_task_families() {
  Registry<TaskFamilyRegistration> registry("task family");
  task_detail::register_quadratic_family(registry);
  task_detail::register_linear_model_families(registry);
  task_detail::register_mlp_families(registry);
  task_detail::register_rosenbrock_family(registry);
  task_detail::register_synthetic_family(registry);
  task_detail::register_command_family(registry);
  task_detail::register_dataset_family(registry);
  return registry;
}

}  // namespace

std::unique_ptr<TaskFamily> make_task_family(const TaskFamilySpec& spec) {
  validate(spec);
  return std::make_unique<BuiltinTaskFamily>(spec);
}

Registry<TaskFamilyRegistration>& task_family_registry() {
  static Registry<TaskFamilyRegistration> registry = builtin_task_families();
  return registry;
}

void register_task_family(TaskFamilyRegistration registration) {
  if (!registration.make) {
    throw ConfigError("task family \"" + registration.name + "\" is registered without a factory");
  }
  task_family_registry().add(std::move(registration));
}

std::unique_ptr<TaskFamily> make_task_family(const TaskConfig& config) {
  const TaskFamilyRegistration& family = task_family_registry().find(config.family);
  const std::string context = "task family '" + family.name + "'";
  if (!(config.weight > 0.0) || !(config.weight <= max_task_weight)) {
    throw ConfigError(context + ": weight must be in (0, " + text::format_number(max_task_weight) + "], got " +
                      text::format_number(config.weight));
  }
  const Options options = family.options.resolve(config.options.values(), context);
  std::unique_ptr<TaskFamily> built = family.make(options);
  if (built == nullptr) throw ConfigError(context + ": the factory returned no family");
  return built;
}

namespace task_detail {

OptionSpec dimension_option(std::int64_t min_value, std::int64_t max_value, std::string help) {
  return integer_option("dimension", 10, NumericRange::closed(static_cast<double>(min_value), static_cast<double>(max_value)),
                        std::move(help));
}

OptionSpec initial_scale_option(std::string help) {
  return real_option("initial_scale", 1.0, NumericRange::greater_than(0.0), std::move(help));
}

OptionSpec batch_size_option() {
  return integer_option("batch_size", 0, NumericRange::closed(0, limits::max_samples),
                        "data points per gradient evaluation, in shuffled epochs (at most samples); 0 = all "
                        "(the final loss is always over all samples)");
}

TaskFamilyRegistration builtin_registration(TaskKind kind, std::string help, std::vector<OptionSpec> options) {
  TaskFamilyRegistration registration;
  registration.name = std::string(to_string(kind));
  registration.help = std::move(help);
  registration.options = OptionSchema(std::move(options));
  registration.make = [kind](const Options& values) { return make_task_family(spec_from_options(kind, values)); };
  return registration;
}

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
