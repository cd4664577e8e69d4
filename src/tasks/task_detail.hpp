#pragma once
// Private to the task sources: one builder per family, called by TaskFamily::sample after the spec
// was validated by make_task_family. Each builder draws everything from the stream it is given.
#include <memory>

#include "metaevo/core/random.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo::task_detail {

std::unique_ptr<Task> sample_quadratic(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_rosenbrock(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_linear_regression(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_logistic_regression(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_mlp(const TaskFamilySpec& spec, RandomStream& stream);
std::unique_ptr<Task> sample_synthetic(const TaskFamilySpec& spec, RandomStream& stream);

/// A matrix of independent standard normals, filled column by column (a fixed draw order).
Eigen::MatrixXd normal_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& stream);
Eigen::VectorXd normal_vector(Eigen::Index size, RandomStream& stream);

/// Throws EvaluationError unless parameters.size() == expected (a wrong-sized rule state).
void check_parameter_count(const Eigen::VectorXd& parameters, Eigen::Index expected);

}  // namespace metaevo::task_detail
