// The two analytic families: a rotated ill-conditioned quadratic and the Rosenbrock valley.
// GCC 12 at -O3 reports a false "may be used uninitialized" inside Eigen's blocked Householder
// code; the pragma covers Eigen's headers only (it must wrap their first inclusion).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <Eigen/QR>
#pragma GCC diagnostic pop

#include <cmath>
#include <memory>
#include <utility>

#include "tasks/task_detail.hpp"

namespace metaevo::task_detail {

namespace {

/// 0.5 (x - x*)' R diag(lambda) R' (x - x*). Q is kept factored so the loss is a sum of
/// lambda_i * (R' d)_i^2, which is >= 0 exactly, whatever the condition number and rounding.
class QuadraticTask final : public Task {
 public:
  QuadraticTask(Eigen::MatrixXd rotation, Eigen::VectorXd eigenvalues, Eigen::VectorXd optimum,
                Eigen::VectorXd initial)
      : rotation_(std::move(rotation)),
        eigenvalues_(std::move(eigenvalues)),
        optimum_(std::move(optimum)),
        initial_(std::move(initial)),
        offset_(optimum_.size()),
        rotated_(optimum_.size()) {}

  Eigen::Index dimension() const override { return optimum_.size(); }
  Eigen::VectorXd initial_parameters() const override { return initial_; }

  double loss(const Eigen::VectorXd& parameters) const override {
    check_parameter_count(parameters, dimension());
    offset_ = parameters - optimum_;
    rotated_.noalias() = rotation_.transpose() * offset_;
    return 0.5 * (eigenvalues_.array() * rotated_.array().square()).sum();
  }

  double loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const override {
    const double value = loss(parameters);
    rotated_.array() *= eigenvalues_.array();
    gradient.resize(dimension());
    gradient.noalias() = rotation_ * rotated_;
    return value;
  }

 private:
  Eigen::MatrixXd rotation_;      // R, orthogonal
  Eigen::VectorXd eigenvalues_;   // lambda, log-spaced in [1, condition_number]
  Eigen::VectorXd optimum_;       // x*
  Eigen::VectorXd initial_;
  mutable Eigen::VectorXd offset_;   // scratch: x - x*
  mutable Eigen::VectorXd rotated_;  // scratch: R' (x - x*)
};

/// A Haar-random orthogonal matrix: QR of a Gaussian matrix with the signs fixed so R has a
/// positive diagonal (without the fix the result would depend on the QR's sign convention).
Eigen::MatrixXd random_rotation(Eigen::Index size, RandomStream& stream) {
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(normal_matrix(size, size, stream));
  Eigen::MatrixXd rotation = qr.householderQ();
  const Eigen::MatrixXd& packed = qr.matrixQR();
  for (Eigen::Index col = 0; col < size; ++col) {
    if (packed(col, col) < 0.0) rotation.col(col) *= -1.0;
  }
  return rotation;
}

/// sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at (1, ..., 1).
class RosenbrockTask final : public Task {
 public:
  explicit RosenbrockTask(Eigen::VectorXd initial) : initial_(std::move(initial)) {}

  Eigen::Index dimension() const override { return initial_.size(); }
  Eigen::VectorXd initial_parameters() const override { return initial_; }

  double loss(const Eigen::VectorXd& x) const override {
    check_parameter_count(x, dimension());
    double total = 0.0;
    for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
      const double valley = x(i + 1) - x(i) * x(i);
      const double pull = 1.0 - x(i);
      total += 100.0 * valley * valley + pull * pull;
    }
    return total;
  }

  double loss_and_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) const override {
    check_parameter_count(x, dimension());
    gradient.setZero(dimension());
    double total = 0.0;
    for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
      const double valley = x(i + 1) - x(i) * x(i);
      const double pull = 1.0 - x(i);
      total += 100.0 * valley * valley + pull * pull;
      gradient(i) += -400.0 * x(i) * valley - 2.0 * pull;
      gradient(i + 1) += 200.0 * valley;
    }
    return total;
  }

 private:
  Eigen::VectorXd initial_;
};

}  // namespace

std::unique_ptr<Task> sample_quadratic(const TaskFamilySpec& spec, RandomStream& stream) {
  const Eigen::Index size = spec.dimension;
  Eigen::MatrixXd rotation = random_rotation(size, stream);
  Eigen::VectorXd eigenvalues(size);
  for (Eigen::Index i = 0; i < size; ++i) {
    // lambda_i = kappa^(i / (d - 1)): 1 and kappa exactly at the ends (d = 1 gives lambda = 1).
    const double fraction = size > 1 ? static_cast<double>(i) / static_cast<double>(size - 1) : 0.0;
    eigenvalues(i) = std::pow(spec.condition_number, fraction);
  }
  Eigen::VectorXd optimum = normal_vector(size, stream);
  Eigen::VectorXd initial = optimum + spec.initial_scale * normal_vector(size, stream);
  return std::make_unique<QuadraticTask>(std::move(rotation), std::move(eigenvalues), std::move(optimum),
                                         std::move(initial));
}

std::unique_ptr<Task> sample_rosenbrock(const TaskFamilySpec& spec, RandomStream& stream) {
  // Centred on the origin (loss d - 1 there), the classic start that must cross into the valley.
  return std::make_unique<RosenbrockTask>(spec.initial_scale * normal_vector(spec.dimension, stream));
}

void register_quadratic_family(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  registry.add(builtin_registration(
      TaskKind::quadratic, "0.5 (x - x*)' Q (x - x*) with a random rotation and log-spaced eigenvalues",
      {dimension_option(1, max_quadratic_dimension, "parameters (the rotation is a dense d x d matrix)"),
       real_option("condition_number", 100.0, NumericRange::at_least(1.0),
                   "largest / smallest eigenvalue of Q"),
       initial_scale_option("std dev of the start around the optimum")}));
}

void register_rosenbrock_family(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  registry.add(builtin_registration(
      TaskKind::rosenbrock, "sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, started around the origin",
      {dimension_option(2, max_dimension, "parameters"),
       initial_scale_option("std dev of the start around the origin")}));
}

}  // namespace metaevo::task_detail
