#pragma once
// Private to the task sources: one builder per family, called by TaskFamily::sample after the spec
// was validated by make_task_family. Each builder draws everything from the stream it is given; the
// data families also get the task's seed, which keys their minibatch order (a stream of its own).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "metaevo/core/options.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/core/registry.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo::task_detail {

namespace limits {
// Limits beyond the obvious ones keep a typo from allocating gigabytes.
inline constexpr int max_dimension = 100000;
inline constexpr int max_quadratic_dimension = 2000;       // the rotation is a dense d x d matrix
inline constexpr int max_samples = 1000000;
inline constexpr double max_data_values = 5e7;             // samples * dimension (400 MB of doubles)
inline constexpr int max_hidden_width = 10000;
inline constexpr int max_classes = 1000;
inline constexpr double max_step_sleep_seconds = 60.0;     // a diagnostic task, not a way to stall a run
}  // namespace limits

// Registration of the built-in families: one function per source file, all called from
// builtin_task_families() in task.cpp (explicit calls, no static-initialization order to rely on).
void register_quadratic_family(Registry<TaskFamilyRegistration>& registry);       // task_quadratic.cpp
void register_rosenbrock_family(Registry<TaskFamilyRegistration>& registry);      // task_quadratic.cpp
void register_linear_model_families(Registry<TaskFamilyRegistration>& registry);  // task_linear_models.cpp
void register_mlp_families(Registry<TaskFamilyRegistration>& registry);           // task_mlp.cpp
void register_synthetic_family(Registry<TaskFamilyRegistration>& registry);       // task_synthetic.cpp
void register_command_family(Registry<TaskFamilyRegistration>& registry);         // command_task.cpp
void register_dataset_family(Registry<TaskFamilyRegistration>& registry);         // task_dataset.cpp

/// A built-in family's registration: its schema, and a factory that builds a TaskFamilySpec of
/// `kind` from the options and validates it (make_task_family(const TaskFamilySpec&)).
TaskFamilyRegistration builtin_registration(TaskKind kind, std::string help, std::vector<OptionSpec> options);
OptionSpec dimension_option(std::int64_t min_value, std::int64_t max_value, std::string help);
OptionSpec initial_scale_option(std::string help);
/// The data families' batch_size (the check against samples is in make_task_family).
OptionSpec batch_size_option();

std::unique_ptr<Task> sample_quadratic(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_rosenbrock(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_linear_regression(const TaskFamilySpec& spec, RandomStream& stream,
                                               std::uint64_t task_seed);
std::unique_ptr<Task> sample_logistic_regression(const TaskFamilySpec& spec, RandomStream& stream,
                                                 std::uint64_t task_seed);
std::unique_ptr<Task> sample_mlp(const TaskFamilySpec& spec, RandomStream& stream, std::uint64_t task_seed);
std::unique_ptr<Task> sample_synthetic(const TaskFamilySpec& spec, RandomStream& stream);

/// A network's shape: input, hidden widths..., output (no hidden layer = a linear model), and the
/// hidden nonlinearity.
struct NetworkArchitecture {
  std::vector<Eigen::Index> layer_sizes;
  Activation activation = Activation::tanh;
};

/// A data set one column per sample, as the network tasks hold it. Regression: targets 1 x samples,
/// labels empty (0.5 mean squared error). Classification: labels in [0, outputs), targets empty
/// (mean softmax cross-entropy).
struct NetworkData {
  Eigen::MatrixXd inputs;  // features x samples
  Eigen::MatrixXd targets;
  std::vector<Eigen::Index> labels;
};

/// A network task on given data (task_mlp.cpp), the model of the MLP families and of the dataset
/// family: trained (loss_and_gradient, minibatches) on `training`; loss() is over `scored` when given
/// (a validation split), else over `training`.
std::unique_ptr<DataTask> make_network_task(const NetworkArchitecture& architecture, NetworkData training,
                                            std::optional<NetworkData> scored, Eigen::VectorXd initial,
                                            Eigen::Index batch_size, std::uint64_t task_seed);
/// A student network's start: weights initial_scale * Glorot (tanh) or He (relu) normal, layer by
/// layer, biases 0 (the draws of the MLP families' start).
Eigen::VectorXd draw_initial_network_parameters(const NetworkArchitecture& architecture, double initial_scale,
                                                RandomStream& stream);

/// A matrix of independent standard normals, filled column by column (a fixed draw order).
Eigen::MatrixXd normal_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& stream);
Eigen::VectorXd normal_vector(Eigen::Index size, RandomStream& stream);

/// Throws EvaluationError unless parameters.size() == expected (a wrong-sized rule state).
void check_parameter_count(const Eigen::VectorXd& parameters, Eigen::Index expected);

/// The data tasks' shared side (task_minibatch.cpp): a task implements its whole-data-set
/// evaluation and its evaluation on a list of rows; loss_and_gradient picks one per call.
class DataTaskBase : public DataTask {
 public:
  /// batch_size 0: the whole data set, no schedule.
  DataTaskBase(Eigen::Index samples, Eigen::Index batch_size, std::uint64_t task_seed);

  Eigen::Index samples() const final { return samples_; }
  Eigen::Index batch_size() const final { return batch_size_; }
  double loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const final;
  double subset_loss_and_gradient(std::span<const Eigen::Index> rows, const Eigen::VectorXd& parameters,
                                  Eigen::VectorXd& gradient) const final;

 protected:
  /// The whole data set: with batch_size 0 this is loss_and_gradient, unchanged from before minibatches.
  virtual double full_loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const = 0;
  /// The mean over `rows`, gathered into buffers of the task; rows and parameter count already checked.
  virtual double rows_loss_and_gradient(std::span<const Eigen::Index> rows, const Eigen::VectorXd& parameters,
                                        Eigen::VectorXd& gradient) const = 0;

 private:
  Eigen::Index samples_;
  Eigen::Index batch_size_;
  mutable std::optional<MinibatchSchedule> schedule_;  // advanced by every loss_and_gradient call
};

}  // namespace metaevo::task_detail
