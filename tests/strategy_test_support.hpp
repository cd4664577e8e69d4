#pragma once
// Drives a SearchStrategy with ask()/tell() on a diagnostic function: shared by the strategy tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "metaevo/evaluation/diagnostic_objective.hpp"
#include "metaevo/search/search_strategy.hpp"

namespace metaevo::testing_support {

/// The box [low, high]^n the normalized genome is mapped onto: value = low + x (high - low).
struct Box {
  double low = -5.0;
  double high = 5.0;
  double normalized(double value) const { return (value - low) / (high - low); }
};

struct Minimization {
  double initial = 0.0;                                       // f at the initial mean
  double best = std::numeric_limits<double>::infinity();      // best told f
  std::int64_t evaluations = 0;                               // until best < target, or the budget
  std::int64_t generations = 0;
};

inline double evaluate(DiagnosticFunction function, const Box& box, const Eigen::VectorXd& x) {
  return diagnostic_objective(function, (box.low + (box.high - box.low) * x.array()).matrix());
}

/// Runs whole generations until the best told f is below `target` or `budget` evaluations are spent.
inline Minimization minimize(SearchStrategy& strategy, DiagnosticFunction function, const Box& box,
                             const Eigen::VectorXd& initial_mean, double target, std::int64_t budget) {
  Minimization result;
  result.initial = evaluate(function, box, initial_mean);
  std::vector<double> fitness;
  while (result.evaluations < budget && !(result.best < target)) {
    const std::vector<Genome>& population = strategy.ask();
    fitness.clear();
    for (const Genome& genome : population) fitness.push_back(evaluate(function, box, genome.x));
    result.evaluations += static_cast<std::int64_t>(population.size());
    strategy.tell(fitness);
    ++result.generations;
    result.best = std::min(result.best, strategy.best_fitness());
  }
  return result;
}

/// Runs `generations` generations on the sphere and returns every genome asked, in order.
inline std::vector<Genome> run_generations(SearchStrategy& strategy, int generations, const Box& box = {}) {
  std::vector<Genome> asked;
  for (int g = 0; g < generations; ++g) {
    const std::vector<Genome>& population = strategy.ask();
    std::vector<double> fitness;
    for (const Genome& genome : population) {
      asked.push_back(genome);
      fitness.push_back(evaluate(DiagnosticFunction::sphere, box, genome.x));
    }
    strategy.tell(fitness);
  }
  return asked;
}

/// Exact equality of two genome lists (ids, generations, parents, every coordinate and step size).
inline void expect_identical(const std::vector<Genome>& a, const std::vector<Genome>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].id, b[k].id);
    EXPECT_EQ(a[k].generation, b[k].generation);
    EXPECT_EQ(a[k].parent_a, b[k].parent_a);
    EXPECT_EQ(a[k].parent_b, b[k].parent_b);
    ASSERT_EQ(a[k].x.size(), b[k].x.size());
    EXPECT_TRUE(a[k].x == b[k].x) << "genome " << a[k].id << " differs";
    EXPECT_TRUE(a[k].step_size == b[k].step_size) << "genome " << a[k].id << " step sizes differ";
  }
}

}  // namespace metaevo::testing_support
