#pragma once
// Classic test functions whose optimum is known, for checking that a search strategy works before
// trusting it with costly inner loops. The genome's decoded values are the point itself.
#include <array>


#include <Eigen/Core>

#include "metaevo/core/enum_names.hpp"

namespace metaevo {

/// Every function has its global minimum 0 at the origin.
enum class DiagnosticFunction {
  /// sum_i x_i^2: the easiest case, isotropic.
  sphere,
  /// Separable ellipsoid sum_i 10^(6 i / (n - 1)) x_i^2 (i from 0; condition number 1e6; for n = 1
  /// the single coefficient is 1): needs per-coordinate step sizes.
  ellipsoid,
  /// Rastrigin 10 n + sum_i (x_i^2 - 10 cos(2 pi x_i)): a local minimum near every integer point.
  rastrigin,
};

template <>
struct EnumNames<DiagnosticFunction> {
  static constexpr std::array<EnumName<DiagnosticFunction>, 3> table{{
      {DiagnosticFunction::sphere, "sphere"},
      {DiagnosticFunction::ellipsoid, "ellipsoid"},
      {DiagnosticFunction::rastrigin, "rastrigin"},
  }};
};

/// The function at `point` (any n >= 1; an empty point gives 0). Not finite when a coordinate is not.
double diagnostic_objective(DiagnosticFunction function, const Eigen::VectorXd& point);

}  // namespace metaevo
