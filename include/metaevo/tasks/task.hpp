#pragma once
// Inner-loop problems. A TaskFamily is a distribution; sample(seed) gives one Task, the same Task
// for the same seed on any machine and rank.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/core/enum_names.hpp"
#include "metaevo/core/options.hpp"
#include "metaevo/core/registry.hpp"

namespace metaevo {

/// One differentiable problem: parameters in R^n, a loss and its analytic gradient.
class Task {
 public:
  virtual ~Task() = default;
  virtual Eigen::Index dimension() const = 0;
  /// The starting point of the inner loop (part of the sampled task).
  virtual Eigen::VectorXd initial_parameters() const = 0;
  /// >= 0 for every kind (the evaluator takes log ratios to the initial loss); may overflow to inf
  /// far from the data, NaN only for NaN parameters. Not thread-safe: tasks keep scratch
  /// buffers, and each task serves one thread.
  virtual double loss(const Eigen::VectorXd& parameters) const = 0;
  /// Returns the loss and writes the gradient (resized to dimension()). The inner loop calls it once
  /// per step. A data task with batch_size > 0 evaluates its next minibatch here (see DataTask).
  virtual double loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const = 0;
  /// Sizes of the parameter tensors in parameter order (an MLP: each layer's weights, then its
  /// biases), summing to dimension(). Learned update rules normalize their inputs per tensor; the
  /// default is one tensor.
  virtual std::vector<Eigen::Index> tensor_sizes() const { return {dimension()}; }
};

/// The minibatch order of a data task with batch_size b > 0 over n samples. Rows are dealt from
/// epochs laid end to end: epoch e is a permutation of 0..n-1, shuffled (Fisher-Yates from the
/// identity) by RandomStream(task_seed, StreamPurpose::minibatch, {e}), and batch k (0-based) is
/// positions [k b, (k + 1) b) of that sequence. So every batch has b rows, each epoch uses every row
/// exactly once (without replacement), and when b does not divide n one batch per epoch spans two
/// epochs (and may then hold a row twice). Integer draws only: the same sequence for a seed on every
/// machine and rank, and independent of the task's own draws from RandomStream(task_seed).
class MinibatchSchedule {
 public:
  /// 1 <= batch_size <= samples, else ConfigError. Allocates here, never in next().
  MinibatchSchedule(std::uint64_t task_seed, Eigen::Index samples, Eigen::Index batch_size);
  Eigen::Index samples() const { return static_cast<Eigen::Index>(order_.size()); }
  Eigen::Index batch_size() const { return static_cast<Eigen::Index>(batch_.size()); }
  /// Batches drawn so far (= the 0-based index of the next one).
  std::int64_t batches_drawn() const { return batches_drawn_; }
  /// The rows of the next batch; valid until the next call.
  std::span<const Eigen::Index> next();

 private:
  void shuffle_next_epoch();

  std::uint64_t task_seed_;
  std::vector<Eigen::Index> order_;  // the current epoch's permutation
  std::vector<Eigen::Index> batch_;  // what next() returns
  std::size_t position_ = 0;         // the next unused position of order_
  std::uint64_t next_epoch_ = 0;
  std::int64_t batches_drawn_ = 0;
};

/// A task of the data families (linear_regression, logistic_regression, mlp_regression,
/// mlp_classification, dataset): a mean loss over the rows (samples) of its data set. A dataset
/// task's data set is its training split, and its loss() is the loss of its validation split (see
/// docs/datasets.md); for the others what follows about loss() holds. With batch_size 0,
/// loss_and_gradient is over the whole data set. With batch_size > 0, each loss_and_gradient call
/// returns the loss and gradient of the next minibatch of the task's MinibatchSchedule (keyed by the
/// seed the task was sampled from) and advances it: mutable state, like the scratch buffers, so a
/// task still serves one thread, and two tasks of one seed called alike give the same batches.
/// loss() is always the loss of the whole data set and advances nothing, so the inner loop's final
/// loss (loss() after the last step) measures training on all the data.
class DataTask : public Task {
 public:
  /// Rows of the data set (the family's samples).
  virtual Eigen::Index samples() const = 0;
  /// Rows per loss_and_gradient call; 0 = the whole data set.
  virtual Eigen::Index batch_size() const = 0;
  /// The mean loss over `rows` (each in [0, samples()); a repeated row counts twice) and its
  /// gradient, as loss_and_gradient computes a minibatch, without touching the minibatch sequence:
  /// for gradient checks and diagnostics. EvaluationError for no rows or a row out of range. Shares
  /// the minibatch buffers, so it allocates only when rows.size() differs from batch_size().
  virtual double subset_loss_and_gradient(std::span<const Eigen::Index> rows, const Eigen::VectorXd& parameters,
                                          Eigen::VectorXd& gradient) const = 0;
};

enum class TaskKind {
  quadratic,               // 0.5 (x - x*)' Q (x - x*), Q = R diag(eigenvalues) R', R a random rotation
  linear_regression,       // mean squared error of a linear model on synthetic data
  logistic_regression,     // binary cross-entropy of a linear classifier on synthetic data
  mlp_regression,          // MLP with 1-2 hidden layers, mean squared error
  mlp_classification,      // MLP with 1-2 hidden layers, softmax cross-entropy
  rosenbrock,              // sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 in d dimensions
  synthetic,               // diagnostic: 0.5 |x|^2 with a chosen cost per step and injected faults,
                           // for benchmarks of the runtime and tests of fault handling
};
template <>
struct EnumNames<TaskKind> {
  static constexpr std::array<EnumName<TaskKind>, 7> table{{
      {TaskKind::quadratic, "quadratic"},
      {TaskKind::linear_regression, "linear_regression"},
      {TaskKind::logistic_regression, "logistic_regression"},
      {TaskKind::mlp_regression, "mlp_regression"},
      {TaskKind::mlp_classification, "mlp_classification"},
      {TaskKind::rosenbrock, "rosenbrock"},
      {TaskKind::synthetic, "synthetic"},
  }};
};

enum class Activation { tanh, relu };
template <>
struct EnumNames<Activation> {
  static constexpr std::array<EnumName<Activation>, 2> table{{
      {Activation::tanh, "tanh"},
      {Activation::relu, "relu"},
  }};
};

/// The arithmetic of an MLP task's loss and gradient. The task (data, labels, start) is drawn in
/// float64 either way and the update rule always works in float64; float32 rounds the parameters to
/// float for each pass and returns the gradient widened to double: about twice as fast, with
/// losses and gradients that agree with float64 to about 1e-6 relative (docs/benchmarks.md).
enum class TaskPrecision { float64, float32 };
template <>
struct EnumNames<TaskPrecision> {
  static constexpr std::array<EnumName<TaskPrecision>, 2> table{{
      {TaskPrecision::float64, "float64"},
      {TaskPrecision::float32, "float32"},
  }};
};

/// Cost distribution of the synthetic task's sleep: the same for every task, or a Pareto factor
/// drawn per task (stragglers).
enum class SleepTail { fixed, pareto };
template <>
struct EnumNames<SleepTail> {
  static constexpr std::array<EnumName<SleepTail>, 2> table{{
      {SleepTail::fixed, "fixed"},
      {SleepTail::pareto, "pareto"},
  }};
};

/// A fault the synthetic task injects.
enum class TaskFault { none, throw_exception, nan_loss };
template <>
struct EnumNames<TaskFault> {
  static constexpr std::array<EnumName<TaskFault>, 3> table{{
      {TaskFault::none, "none"},
      {TaskFault::throw_exception, "throw"},
      {TaskFault::nan_loss, "nan"},
  }};
};

/// What the built-in families are built from: their registered factories turn a [[tasks]] table's
/// Options into this spec (the config itself holds TaskConfig). Each kind reads only the fields
/// listed for it; its schema rejects the others.
struct TaskFamilySpec {
  TaskKind kind = TaskKind::quadratic;
  double weight = 1.0;             // share of the mix (all)
  int dimension = 10;              // quadratic, rosenbrock: parameters; regressions: input features
  double condition_number = 100.0; // quadratic: largest / smallest eigenvalue, >= 1
  int samples = 64;                // regressions and MLPs: data points (loss() is over all of them)
  int batch_size = 0;              // regressions and MLPs: rows per loss_and_gradient call, 0 = all;
                                   // else in [1, samples] (see DataTask, MinibatchSchedule)
  double noise = 0.1;              // regressions and MLPs: label noise (std dev / flip probability)
  std::vector<int> hidden_layers = {16};  // MLPs: 1 or 2 widths
  Activation activation = Activation::tanh;  // MLPs
  int classes = 3;                 // mlp_classification: output classes, >= 2
  TaskPrecision precision = TaskPrecision::float64;  // MLPs: arithmetic of loss and gradient
  double initial_scale = 1.0;      // std dev (quadratic, rosenbrock: spread) of the initial point

  // synthetic only: the cost and faults of a diagnostic task.
  double step_sleep_seconds = 0.0; // each loss_and_gradient call sleeps this long (times the tail factor)
  SleepTail sleep_tail = SleepTail::fixed;  // fixed, or a heavy-tailed factor per task
  double pareto_shape = 1.5;       // pareto tail: factor = U^(-1/shape), capped at 100; shape > 0
  TaskFault fault = TaskFault::none;        // none, throw (an exception), nan (a NaN loss)
  double fault_probability = 1.0;  // per sampled task, drawn from the task's seed; in [0, 1]
  std::int64_t fault_step = 1;     // the loss_and_gradient call (1 = first) at which the fault hits
};

/// What each kind samples (all draws from RandomStream(seed), in this order):
/// - quadratic: rotation R (QR of a Gaussian matrix, signs fixed), eigenvalues kappa^(i/(d-1)),
///   optimum x* ~ N(0, I), start x* + initial_scale * N(0, I). Minimum 0 at x*.
///   dimension <= 2000 (R is dense).
/// - linear_regression / logistic_regression: parameters = d weights then 1 bias. X ~ N(0, 1)
///   (samples x d), teacher w ~ N(0, I), b ~ N(0, 1). Linear: y = X w + b + noise * N(0, 1),
///   loss 0.5 mean (x.p + bias - y)^2. Logistic: label sign(X w + b), flipped with probability
///   noise in [0, 0.5); loss mean log(1 + exp(-label * z)). Start: weights ~ initial_scale *
///   N(0, 1/d), bias 0.
/// - mlp_regression / mlp_classification: d -> hidden_layers -> 1 (regression) or classes outputs,
///   parameters flattened layer by layer as W (out x in, column-major) then b. Inputs ~ N(0, 1);
///   targets from a teacher of the same architecture (weights N(0, 1/fan_in), x2 for relu, biases
///   N(0, 0.01)): regression output + noise * N(0, 1), loss 0.5 mean squared error;
///   classification argmax of the teacher's logits, replaced with probability noise in [0, 0.5)
///   by one of the other classes, loss mean softmax cross-entropy. Start: weights initial_scale *
///   Glorot (tanh) or He (relu) normal, biases 0.
/// - rosenbrock: dimension >= 2, start initial_scale * N(0, I) (around the origin, where the loss
///   is d - 1, so the inner loop must find and follow the valley). Minimum 0 at (1, ..., 1).
/// - synthetic: the sleep-factor uniform U in (0, 1], the fault uniform F in [0, 1) (both always
///   drawn), then start initial_scale * N(0, I). Loss 0.5 |x|^2. Sleep factor 1 (fixed) or
///   min(U^(-1/pareto_shape), 100) (pareto); the task is faulty when fault != none and
///   F < fault_probability. dimension in [1, 100000], step_sleep_seconds in [0, 60].
/// - The four data kinds are DataTasks. batch_size = 0: loss_and_gradient is over the whole data set.
///   batch_size > 0: each loss_and_gradient call is the mean loss and gradient of the next minibatch
///   (MinibatchSchedule: shuffled epochs without replacement, from a stream of its own keyed by the
///   seed and StreamPurpose::minibatch, so every draw above stays the same); loss() stays the whole
///   data set's loss, so the inner loop's final loss is a full-data loss.
/// Data limits: samples <= 1e6, samples * dimension <= 5e7, hidden widths <= 10000, classes <= 1000.
/// A file a family's tasks are built from, as the run file records it.
struct DataFileRecord {
  std::string path;    // as resolved by the config reader (absolute when the config came from a file)
  std::string sha256;  // of the bytes the family read, 64 lowercase hex digits
};

class TaskFamily {
 public:
  virtual ~TaskFamily() = default;
  /// The registered family name ("quadratic"), for messages.
  virtual std::string_view name() const = 0;
  /// The files the family read its data from (the dataset family: one); none for generated data.
  virtual std::vector<DataFileRecord> data_files() const { return {}; }
  /// Deterministic in seed: all random draws must come from RandomStream(seed) (or another source
  /// seeded only by it), so a task is the same on every machine and rank.
  virtual std::unique_ptr<Task> sample(std::uint64_t seed) const = 0;
};

/// What a synthetic task of this seed drew (the same draws sample(seed) uses): for tests and for
/// benchmarks that need the expected cost of a task without sleeping it.
struct SyntheticTaskDraws {
  double sleep_factor = 1.0;  // each loss_and_gradient call sleeps step_sleep_seconds * sleep_factor
  bool faulty = false;        // the task injects spec.fault at its fault_step-th loss_and_gradient call
};
SyntheticTaskDraws synthetic_task_draws(const TaskFamilySpec& spec, std::uint64_t seed);

/// Validates the fields the spec's kind reads (throws ConfigError naming the kind, the field, the
/// allowed range and the value) and builds the family. Fields the kind does not read are ignored.
std::unique_ptr<TaskFamily> make_task_family(const TaskFamilySpec& spec);

// ---------------------------------------------------------------------------------------------
// The task family registry: what a [[tasks]] table may name (see docs/extending.md).
// ---------------------------------------------------------------------------------------------

/// One registered task family: its name (the [[tasks]] family = "..."), one line of help, the keys
/// its [[tasks]] table accepts besides family and weight, and the factory. The factory gets every
/// key of the schema (given or defaulted, already checked against the schema's types and ranges);
/// it may throw ConfigError "...: KEY must be ..., got ..." for checks across keys, which the
/// config reader reports at the key's line.
struct TaskFamilyRegistration {
  std::string name;
  std::string help;
  OptionSchema options;
  std::function<std::unique_ptr<TaskFamily>(const Options& options)> make;
};

/// Every registered task family; the built-in ones are registered on first use.
Registry<TaskFamilyRegistration>& task_family_registry();
/// Adds a family (ConfigError if the name is taken). Call before parsing configs that name it.
void register_task_family(TaskFamilyRegistration registration);

/// A task weight's upper bound: weights are relative, and their sum must stay finite (two weights of
/// 1e308 would overflow it and leave only the last family ever sampled).
inline constexpr double max_task_weight = 1e12;

/// One [[tasks]] table: a registered family, its share of the mix and its options.
struct TaskConfig {
  std::string family;
  double weight = 1.0;  // in (0, max_task_weight]
  Options options;      // every key of the family's schema
  std::vector<DataFileRecord> data_files{};  // the built family's data_files(), filled by the config reader
};

/// Builds a family from the registry: validates `config.options` against the family's schema
/// (filling in defaults) and calls its factory.
std::unique_ptr<TaskFamily> make_task_family(const TaskConfig& config);

}  // namespace metaevo
