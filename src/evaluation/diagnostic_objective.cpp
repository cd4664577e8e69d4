#include "metaevo/evaluation/diagnostic_objective.hpp"

#include <cmath>
#include <numbers>

namespace metaevo {

namespace {

/// 10^(6 i / (n - 1)), computed once per dimension and thread: a strategy test evaluates the same n
/// hundreds of thousands of times, and n calls of pow would cost more than the search itself.
const Eigen::VectorXd& ellipsoid_coefficients(Eigen::Index n) {
  thread_local Eigen::VectorXd coefficients;
  if (coefficients.size() != n) {
    coefficients.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      // n = 1 has no spread of exponents: its coefficient is 10^0.
      const double exponent = n > 1 ? 6.0 * static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
      coefficients[i] = std::pow(10.0, exponent);
    }
  }
  return coefficients;
}

}  // namespace

double diagnostic_objective(DiagnosticFunction function, const Eigen::VectorXd& point) {
  const Eigen::Index n = point.size();
  double sum = 0.0;
  switch (function) {
    case DiagnosticFunction::sphere:
      return point.squaredNorm();
    case DiagnosticFunction::ellipsoid: {
      const Eigen::VectorXd& coefficients = ellipsoid_coefficients(n);
      for (Eigen::Index i = 0; i < n; ++i) sum += coefficients[i] * point[i] * point[i];
      return sum;
    }
    case DiagnosticFunction::rastrigin:
      for (Eigen::Index i = 0; i < n; ++i) {
        sum += point[i] * point[i] - 10.0 * std::cos(2.0 * std::numbers::pi * point[i]);
      }
      return 10.0 * static_cast<double>(n) + sum;
  }
  return sum;
}

}  // namespace metaevo
