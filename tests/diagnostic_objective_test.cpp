#include "metaevo/evaluation/diagnostic_objective.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

namespace metaevo {
namespace {

TEST(DiagnosticObjectiveTest, NamesRoundTrip) {
  for (DiagnosticFunction function :
       {DiagnosticFunction::sphere, DiagnosticFunction::ellipsoid, DiagnosticFunction::rastrigin}) {
    EXPECT_EQ(from_string<DiagnosticFunction>(to_string(function)), function);
  }
  EXPECT_EQ(to_string(DiagnosticFunction::ellipsoid), "ellipsoid");
  EXPECT_FALSE(from_string<DiagnosticFunction>("Sphere").has_value());
  EXPECT_FALSE(from_string<DiagnosticFunction>("").has_value());
}

TEST(DiagnosticObjectiveTest, MinimumIsZeroAtTheOrigin) {
  for (DiagnosticFunction function :
       {DiagnosticFunction::sphere, DiagnosticFunction::ellipsoid, DiagnosticFunction::rastrigin}) {
    for (Eigen::Index n : {1, 2, 10, 1000}) {
      EXPECT_EQ(diagnostic_objective(function, Eigen::VectorXd::Zero(n)), 0.0) << to_string(function) << " n " << n;
    }
  }
}

TEST(DiagnosticObjectiveTest, KnownValues) {
  Eigen::VectorXd point(3);
  point << 1.0, -2.0, 0.5;
  EXPECT_DOUBLE_EQ(diagnostic_objective(DiagnosticFunction::sphere, point), 5.25);
  // Coefficients 10^0, 10^3, 10^6 for n = 3.
  EXPECT_DOUBLE_EQ(diagnostic_objective(DiagnosticFunction::ellipsoid, point), 1.0 + 4000.0 + 250000.0);
  // Integers are local minima of the cosine term: 10 n + sum(x^2 - 10) at x = 1, -2; at 0.5 cos = -1.
  EXPECT_NEAR(diagnostic_objective(DiagnosticFunction::rastrigin, point), 30.0 + (1 - 10) + (4 - 10) + (0.25 + 10),
              1e-12);
  // n = 1: the ellipsoid is the sphere.
  EXPECT_EQ(diagnostic_objective(DiagnosticFunction::ellipsoid, Eigen::VectorXd::Constant(1, 3.0)), 9.0);
  // The coefficient cache follows the dimension.
  EXPECT_DOUBLE_EQ(diagnostic_objective(DiagnosticFunction::ellipsoid, Eigen::VectorXd::Ones(2)), 1.0 + 1e6);
  EXPECT_DOUBLE_EQ(diagnostic_objective(DiagnosticFunction::ellipsoid, Eigen::VectorXd::Ones(3)), 1.0 + 1e3 + 1e6);
  // Value 3 everywhere, the strategy tests' start: sphere 9 n, Rastrigin 9 n.
  EXPECT_DOUBLE_EQ(diagnostic_objective(DiagnosticFunction::sphere, Eigen::VectorXd::Constant(1000, 3.0)), 9000.0);
  EXPECT_NEAR(diagnostic_objective(DiagnosticFunction::rastrigin, Eigen::VectorXd::Constant(1000, 3.0)), 9000.0, 1e-8);
  EXPECT_EQ(diagnostic_objective(DiagnosticFunction::sphere, Eigen::VectorXd()), 0.0);
}

TEST(DiagnosticObjectiveTest, EllipsoidIsSeparableWithConditionNumberOneMillion) {
  constexpr Eigen::Index n = 50;
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd first = zero, last = zero;
  first[0] = 1.0;
  last[n - 1] = 1.0;
  EXPECT_DOUBLE_EQ(diagnostic_objective(DiagnosticFunction::ellipsoid, last) /
                       diagnostic_objective(DiagnosticFunction::ellipsoid, first),
                   1e6);
  Eigen::VectorXd middle = zero;
  middle[10] = 2.0;
  EXPECT_NEAR(diagnostic_objective(DiagnosticFunction::ellipsoid, middle), 4.0 * std::pow(10.0, 60.0 / 49.0), 1e-9);
}

TEST(DiagnosticObjectiveTest, RastriginHasLocalMinimaNearIntegers) {
  const auto f = [](double x) { return diagnostic_objective(DiagnosticFunction::rastrigin, Eigen::VectorXd::Constant(1, x)); };
  EXPECT_LT(f(1.0), f(0.9));
  EXPECT_LT(f(1.0), f(1.1));
  EXPECT_GT(f(1.0), f(0.0));
  EXPECT_NEAR(f(0.5), 0.25 + 20.0, 1e-12);
  EXPECT_TRUE(std::isnan(f(std::numeric_limits<double>::quiet_NaN())));
}

}  // namespace
}  // namespace metaevo
