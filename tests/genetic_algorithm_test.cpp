#include "metaevo/search/genetic_algorithm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/serialization/version.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

GeneSpec real_gene(std::string name, double low, double high, std::string group = {}) {
  return GeneSpec{std::move(name), GeneKind::real, low, high, {}, std::move(group)};
}

/// n real genes in [-5, 5]: the optimum of the sphere is the centre of the unit cube.
SearchSpace sphere_space(int genes) {
  std::vector<GeneSpec> specs;
  for (int i = 0; i < genes; ++i) {
    std::string name = std::to_string(i);
    name.insert(0, 1, 'v');  // not "v" + ...: GCC 12 -O3 raises a false -Wrestrict on that operator+
    specs.push_back(real_gene(std::move(name), -5.0, 5.0));
  }
  return SearchSpace(std::move(specs));
}

SearchSpace categorical_space() {
  return SearchSpace({real_gene("beta", 0.0, 1.0),
                      GeneSpec{"schedule", GeneKind::categorical, 0.0, 1.0, {"constant", "cosine", "step", "linear"}, {}},
                      GeneSpec{"rule", GeneKind::categorical, 0.0, 1.0, {"adam", "sgd"}, {}}});
}

double sphere(const SearchSpace& space, const Genome& genome) {
  double sum = 0.0;
  for (const auto& [name, value] : space.decode(genome.x)) {
    const double v = std::get<double>(value);
    sum += v * v;
  }
  return sum;
}

std::vector<double> sphere_fitness(const GeneticAlgorithm& ga) {
  std::vector<double> fitness;
  for (const Genome& genome : ga.ask()) fitness.push_back(sphere(ga.space(), genome));
  return fitness;
}

void run_generations(GeneticAlgorithm& ga, int generations) {
  for (int g = 0; g < generations; ++g) ga.tell(sphere_fitness(ga));
}

void expect_same_population(const std::vector<Genome>& a, const std::vector<Genome>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].generation, b[i].generation);
    EXPECT_EQ(a[i].parent_a, b[i].parent_a);
    EXPECT_EQ(a[i].parent_b, b[i].parent_b);
    EXPECT_EQ(a[i].x, b[i].x) << "genome " << i;  // bit-identical
    EXPECT_EQ(a[i].step_size, b[i].step_size) << "genome " << i;
  }
}

template <class Function>
void expect_config_error(Function&& function, const std::string& field, const std::string& seen) {
  try {
    function();
    ADD_FAILURE() << "expected ConfigError for " << field;
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(field), std::string::npos) << message;
    EXPECT_NE(message.find("got " + seen), std::string::npos) << message;
  }
}

Genome genome_of(std::initializer_list<double> x, std::initializer_list<double> step_size, std::int64_t id) {
  Genome genome;
  genome.id = id;
  genome.x = Eigen::Map<const Eigen::VectorXd>(x.begin(), static_cast<Eigen::Index>(x.size()));
  genome.step_size =
      Eigen::Map<const Eigen::VectorXd>(step_size.begin(), static_cast<Eigen::Index>(step_size.size()));
  return genome;
}

TEST(GeneticAlgorithmTest, EnumStringsRoundTrip) {
  for (CrossoverKind kind : {CrossoverKind::uniform, CrossoverKind::blend}) {
    EXPECT_EQ(from_string<CrossoverKind>(to_string(kind)), kind);
  }
  for (StepSizeAdaptation adaptation :
       {StepSizeAdaptation::per_gene, StepSizeAdaptation::per_group, StepSizeAdaptation::global}) {
    EXPECT_EQ(from_string<StepSizeAdaptation>(to_string(adaptation)), adaptation);
  }
  EXPECT_EQ(to_string(CrossoverKind::blend), "blend");
  EXPECT_EQ(to_string(StepSizeAdaptation::per_group), "per_group");
  EXPECT_FALSE(from_string<CrossoverKind>("sbx").has_value());
  EXPECT_FALSE(from_string<StepSizeAdaptation>("per-gene").has_value());
}

TEST(GeneticAlgorithmTest, ValidationNamesTheField) {
  EXPECT_NO_THROW(validate(GeneticAlgorithmOptions{}));
  try {
    GeneticAlgorithmOptions options;
    options.population_size = 1;
    validate(options);
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "ga.population_size must be >= 2, got 1");
  }
  const auto with = [](auto change) {
    GeneticAlgorithmOptions options;
    change(options);
    return [options] { validate(options); };
  };
  using O = GeneticAlgorithmOptions;
  expect_config_error(with([](O& o) { o.elite_count = -1; }), "ga.elite_count", "-1");
  expect_config_error(with([](O& o) { o.elite_count = 24; }), "ga.elite_count", "24");
  expect_config_error(with([](O& o) { o.tournament_size = 0; }), "ga.tournament_size", "0");
  expect_config_error(with([](O& o) { o.tournament_size = 25; }), "ga.tournament_size", "25");
  expect_config_error(with([](O& o) { o.crossover_rate = 1.5; }), "ga.crossover_rate", "1.5");
  expect_config_error(with([](O& o) { o.crossover_rate = -0.1; }), "ga.crossover_rate", "-0.1");
  expect_config_error(with([](O& o) { o.crossover_rate = std::nan(""); }), "ga.crossover_rate", "nan");
  expect_config_error(with([](O& o) { o.blend_alpha = 2.5; }), "ga.blend_alpha", "2.5");
  expect_config_error(with([](O& o) { o.blend_alpha = -1; }), "ga.blend_alpha", "-1");
  expect_config_error(with([](O& o) { o.initial_step_size = 0; }), "ga.initial_step_size", "0");
  expect_config_error(with([](O& o) { o.initial_step_size = 1.1; }), "ga.initial_step_size", "1.1");
  expect_config_error(with([](O& o) { o.min_step_size = 0; }), "ga.min_step_size", "0");
  expect_config_error(with([](O& o) { o.min_step_size = 0.6; }), "ga.min_step_size", "0.6");
  expect_config_error(with([](O& o) { o.max_step_size = 1.5; }), "ga.max_step_size", "1.5");
  expect_config_error(with([](O& o) { o.categorical_mutation_rate = 2; }), "ga.categorical_mutation_rate", "2");
  // Edges of the allowed ranges are accepted.
  EXPECT_NO_THROW(with([](O& o) {
    o.elite_count = 23;
    o.tournament_size = 24;
    o.crossover_rate = 0;
    o.blend_alpha = 2;
    o.initial_step_size = 1;
    o.min_step_size = 0.5;
    o.max_step_size = 0.5;
    o.categorical_mutation_rate = 1;
  })());
  // The constructor validates too.
  GeneticAlgorithmOptions bad;
  bad.population_size = 3;
  bad.elite_count = 3;
  expect_config_error([&] { GeneticAlgorithm(sphere_space(2), bad, 1); }, "ga.elite_count", "3");
}

TEST(GeneticAlgorithmTest, InitialPopulationComesFromItsOwnStreams) {
  GeneticAlgorithmOptions options;
  options.population_size = 6;
  options.initial_step_size = 0.2;
  const GeneticAlgorithm ga(sphere_space(3), options, 99);
  EXPECT_EQ(ga.generation(), 0);
  EXPECT_FALSE(ga.best().has_value());
  EXPECT_EQ(ga.best_fitness(), std::numeric_limits<double>::infinity());
  ASSERT_EQ(ga.ask().size(), 6u);
  for (int i = 0; i < 6; ++i) {
    const Genome& genome = ga.ask()[static_cast<std::size_t>(i)];
    EXPECT_EQ(genome.id, i);
    EXPECT_EQ(genome.generation, 0);
    EXPECT_EQ(genome.parent_a, -1);
    EXPECT_EQ(genome.parent_b, -1);
    RandomStream stream(99, StreamPurpose::initial_population, {static_cast<std::uint64_t>(i)});
    for (Eigen::Index g = 0; g < 3; ++g) EXPECT_EQ(genome.x[g], stream.uniform());
    EXPECT_EQ(genome.step_size, Eigen::VectorXd::Constant(3, 0.2));
  }
  EXPECT_EQ(&ga.ask(), &ga.ask());
}

TEST(GeneticAlgorithmTest, SameSeedSamePopulationsDifferentSeedDifferent) {
  GeneticAlgorithmOptions options;
  options.population_size = 12;
  GeneticAlgorithm first(sphere_space(4), options, 2024);
  GeneticAlgorithm second(sphere_space(4), options, 2024);
  GeneticAlgorithm other(sphere_space(4), options, 2025);
  run_generations(first, 6);
  run_generations(second, 6);
  run_generations(other, 6);
  expect_same_population(first.ask(), second.ask());
  EXPECT_EQ(first.best_fitness(), second.best_fitness());
  int differing = 0;
  for (std::size_t i = 0; i < first.ask().size(); ++i) differing += first.ask()[i].x != other.ask()[i].x ? 1 : 0;
  EXPECT_EQ(differing, 12);
}

TEST(GeneticAlgorithmTest, IdsParentsAndGenerationsFollowTheScheme) {
  GeneticAlgorithmOptions options;
  options.population_size = 8;
  options.elite_count = 2;
  GeneticAlgorithm ga(sphere_space(3), options, 5);
  run_generations(ga, 3);
  EXPECT_EQ(ga.generation(), 3);
  for (std::size_t i = 0; i < ga.ask().size(); ++i) {
    const Genome& genome = ga.ask()[i];
    EXPECT_EQ(genome.id, 3 * 8 + static_cast<std::int64_t>(i));
    EXPECT_EQ(genome.generation, 3);
    // Parents belong to generation 2: ids 16..23.
    EXPECT_GE(genome.parent_a, 16);
    EXPECT_LT(genome.parent_a, 24);
    EXPECT_GE(genome.parent_b, 16);
    EXPECT_LT(genome.parent_b, 24);
  }
}

TEST(GeneticAlgorithmTest, ElitesAreCopiedExactly) {
  GeneticAlgorithmOptions options;
  options.population_size = 10;
  options.elite_count = 3;
  GeneticAlgorithm ga(sphere_space(5), options, 17);
  for (int generation = 0; generation < 4; ++generation) {
    const std::vector<Genome> before = ga.ask();
    const std::vector<double> fitness = sphere_fitness(ga);
    std::vector<std::size_t> order(before.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return fitness[a] < fitness[b]; });
    ga.tell(fitness);
    for (std::size_t e = 0; e < 3; ++e) {
      const Genome& elite = ga.ask()[e];
      const Genome& source = before[order[e]];
      EXPECT_EQ(elite.x, source.x);
      EXPECT_EQ(elite.step_size, source.step_size);
      EXPECT_EQ(elite.parent_a, source.id);
      EXPECT_EQ(elite.parent_b, source.id);
      EXPECT_EQ(elite.id, (generation + 1) * 10 + static_cast<std::int64_t>(e));
    }
    // The best ever is the best of this generation's elite or better.
    EXPECT_LE(ga.best_fitness(), fitness[order[0]]);
  }
}

TEST(GeneticAlgorithmTest, BestFitnessIsMonotoneAndMatchesTheBestGenome) {
  GeneticAlgorithmOptions options;
  options.population_size = 10;
  options.elite_count = 0;  // without elites the per-generation best may worsen; the record must not
  GeneticAlgorithm ga(sphere_space(3), options, 3);
  double previous = std::numeric_limits<double>::infinity();
  for (int g = 0; g < 15; ++g) {
    const std::vector<double> fitness = sphere_fitness(ga);
    const double generation_best = *std::min_element(fitness.begin(), fitness.end());
    ga.tell(fitness);
    EXPECT_LE(ga.best_fitness(), previous);
    EXPECT_LE(ga.best_fitness(), generation_best);
    ASSERT_TRUE(ga.best().has_value());
    EXPECT_EQ(sphere(ga.space(), *ga.best()), ga.best_fitness());
    previous = ga.best_fitness();
  }
}

TEST(GeneticAlgorithmTest, TiesKeepTheEarlierBest) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  GeneticAlgorithm ga(sphere_space(2), options, 8);
  const std::int64_t first_id = ga.ask()[1].id;
  ga.tell({5.0, 1.0, 3.0, 1.0});
  EXPECT_EQ(ga.best()->id, first_id);  // index 1 beats index 3 at equal fitness
  ga.tell({1.0, 1.0, 1.0, 1.0});
  EXPECT_EQ(ga.best()->id, first_id);  // not strictly better: the record stays
  ga.tell({2.0, 0.5, 2.0, 2.0});
  EXPECT_EQ(ga.best()->id, 2 * 4 + 1);
  EXPECT_EQ(ga.best_fitness(), 0.5);
}

TEST(GeneticAlgorithmTest, MinimizesASphere) {
  GeneticAlgorithmOptions options;
  options.population_size = 24;
  GeneticAlgorithm ga(sphere_space(5), options, 11);
  const std::vector<double> initial = sphere_fitness(ga);
  const double initial_best = *std::min_element(initial.begin(), initial.end());
  run_generations(ga, 30);
  EXPECT_LT(ga.best_fitness(), 0.01 * initial_best) << "initial best " << initial_best;
}

TEST(GeneticAlgorithmTest, MinimizesWithEveryOperatorVariant) {
  for (CrossoverKind crossover : {CrossoverKind::uniform, CrossoverKind::blend}) {
    for (StepSizeAdaptation adaptation :
         {StepSizeAdaptation::per_gene, StepSizeAdaptation::per_group, StepSizeAdaptation::global}) {
      GeneticAlgorithmOptions options;
      options.crossover = crossover;
      options.step_size_adaptation = adaptation;
      GeneticAlgorithm ga(sphere_space(4), options, 12);
      const std::vector<double> initial = sphere_fitness(ga);
      const double initial_best = *std::min_element(initial.begin(), initial.end());
      run_generations(ga, 30);
      EXPECT_LT(ga.best_fitness(), 0.05 * initial_best) << to_string(crossover) << " " << to_string(adaptation);
    }
  }
}

TEST(GeneticAlgorithmTest, TellRejectsTheWrongNumberOfFitnessValues) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  GeneticAlgorithm ga(sphere_space(2), options, 1);
  EXPECT_THROW(ga.tell({1.0, 2.0, 3.0}), Error);
  EXPECT_THROW(ga.tell({1.0, 2.0, 3.0, 4.0, 5.0}), Error);
  EXPECT_EQ(ga.generation(), 0);  // nothing changed
  EXPECT_FALSE(ga.best().has_value());
}

TEST(GeneticAlgorithmTest, NonFiniteFitnessIsWorst) {
  GeneticAlgorithmOptions options;
  options.population_size = 5;
  options.elite_count = 2;
  GeneticAlgorithm ga(sphere_space(2), options, 4);
  const std::vector<Genome> before = ga.ask();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  ga.tell({nan, -inf, 7.0, 9.0, nan});
  EXPECT_EQ(ga.best()->id, before[2].id);
  EXPECT_EQ(ga.best_fitness(), 7.0);
  EXPECT_EQ(ga.ask()[0].x, before[2].x);
  EXPECT_EQ(ga.ask()[1].x, before[3].x);

  // A generation where nothing is finite still records a best (the first) at +inf.
  GeneticAlgorithm broken(sphere_space(2), options, 4);
  broken.tell({nan, nan, inf, nan, nan});
  ASSERT_TRUE(broken.best().has_value());
  EXPECT_EQ(broken.best()->id, 0);
  EXPECT_EQ(broken.best_fitness(), inf);
  broken.tell({nan, 3.0, nan, nan, nan});
  EXPECT_EQ(broken.best_fitness(), 3.0);
}

TEST(GeneticAlgorithmTest, TournamentPicksTheBestCandidateDrawn) {
  const std::vector<double> fitness{4.0, 2.0, 9.0, 2.0, 0.5, 7.0, 3.0, 8.0, 6.0, 5.0};
  for (int size : {1, 2, 3, 10}) {
    for (std::uint64_t trial = 0; trial < 200; ++trial) {
      RandomStream stream(1, StreamPurpose::test, {trial});
      RandomStream replay = stream;
      const int winner = detail::tournament_select(fitness, size, stream);
      int expected = -1;
      for (int round = 0; round < size; ++round) {
        const int candidate = static_cast<int>(replay.below(fitness.size()));
        if (expected < 0 || fitness[static_cast<std::size_t>(candidate)] < fitness[static_cast<std::size_t>(expected)] ||
            (fitness[static_cast<std::size_t>(candidate)] == fitness[static_cast<std::size_t>(expected)] &&
             candidate < expected)) {
          expected = candidate;
        }
      }
      EXPECT_EQ(winner, expected);
    }
  }
}

TEST(GeneticAlgorithmTest, TournamentSelectionPressureGrowsWithSize) {
  // Candidates are drawn with replacement, so the best of P wins with probability 1 - (1 - 1/P)^k.
  const std::vector<double> fitness{4.0, 2.0, 9.0, 1.0, 0.5, 7.0, 3.0, 8.0, 6.0, 5.0};
  constexpr int trials = 20000;
  for (int size : {1, 3, 10, 60}) {
    int best_wins = 0;
    for (std::uint64_t trial = 0; trial < trials; ++trial) {
      RandomStream stream(2, StreamPurpose::test, {static_cast<std::uint64_t>(size), trial});
      best_wins += detail::tournament_select(fitness, size, stream) == 4 ? 1 : 0;
    }
    const double expected = 1.0 - std::pow(0.9, size);
    EXPECT_NEAR(static_cast<double>(best_wins) / trials, expected, 0.015) << "tournament size " << size;
  }
  // Ties go to the lower index: with all fitness equal the winner is the smallest index drawn,
  // and a large tournament over two genomes always finds index 0.
  for (std::uint64_t trial = 0; trial < 100; ++trial) {
    RandomStream stream(3, StreamPurpose::test, {trial});
    EXPECT_EQ(detail::tournament_select({1.0, 1.0}, 64, stream), 0);
  }
}

TEST(GeneticAlgorithmTest, BlendChildrenStayInTheExtendedInterval) {
  const SearchSpace space = categorical_space();
  GeneticAlgorithmOptions options;
  options.crossover = CrossoverKind::blend;
  options.blend_alpha = 0.5;
  const Genome a = genome_of({0.4, 0.1, 0.2}, {0.04, 0.01, 0.02}, 1);
  const Genome b = genome_of({0.6, 0.9, 0.8}, {0.01, 0.03, 0.05}, 2);
  double lowest = 1.0;
  double highest = 0.0;
  int schedule_from_b = 0;
  for (std::uint64_t trial = 0; trial < 2000; ++trial) {
    RandomStream stream(4, StreamPurpose::test, {trial});
    const Genome child = detail::crossover(space, options, a, b, stream);
    // Real gene: d = 0.2, so the child lies in [0.3, 0.7].
    EXPECT_GE(child.x[0], 0.3);
    EXPECT_LE(child.x[0], 0.7);
    lowest = std::min(lowest, child.x[0]);
    highest = std::max(highest, child.x[0]);
    EXPECT_DOUBLE_EQ(child.step_size[0], 0.02);  // sqrt(0.04 * 0.01)
    // Categorical genes come whole from one parent.
    for (Eigen::Index g : {1, 2}) {
      const bool from_a = child.x[g] == a.x[g] && child.step_size[g] == a.step_size[g];
      const bool from_b = child.x[g] == b.x[g] && child.step_size[g] == b.step_size[g];
      EXPECT_TRUE(from_a || from_b);
    }
    schedule_from_b += child.x[1] == b.x[1] ? 1 : 0;
  }
  // The children do spread beyond the parents.
  EXPECT_LT(lowest, 0.35);
  EXPECT_GT(highest, 0.65);
  EXPECT_NEAR(schedule_from_b, 1000, 120);

  // Near a bound the stretched interval leaves [0, 1]; reflection brings children back.
  options.blend_alpha = 2.0;
  const Genome edge_a = genome_of({0.02, 0.1, 0.2}, {0.1, 0.1, 0.1}, 1);
  const Genome edge_b = genome_of({0.97, 0.1, 0.2}, {0.1, 0.1, 0.1}, 2);
  for (std::uint64_t trial = 0; trial < 500; ++trial) {
    RandomStream stream(5, StreamPurpose::test, {trial});
    const Genome child = detail::crossover(space, options, edge_a, edge_b, stream);
    EXPECT_GE(child.x[0], 0.0);
    EXPECT_LE(child.x[0], 1.0);
  }
}

TEST(GeneticAlgorithmTest, UniformCrossoverTakesEachGeneFromAParent) {
  const SearchSpace space = sphere_space(6);
  GeneticAlgorithmOptions options;
  options.crossover = CrossoverKind::uniform;
  const Genome a = genome_of({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {0.01, 0.02, 0.03, 0.04, 0.05, 0.06}, 1);
  const Genome b = genome_of({0.9, 0.8, 0.7, 0.6, 0.5, 0.4}, {0.09, 0.08, 0.07, 0.06, 0.05, 0.04}, 2);
  std::vector<int> from_b(6, 0);
  for (std::uint64_t trial = 0; trial < 1000; ++trial) {
    RandomStream stream(6, StreamPurpose::test, {trial});
    const Genome child = detail::crossover(space, options, a, b, stream);
    for (Eigen::Index g = 0; g < 6; ++g) {
      const bool gene_from_a = child.x[g] == a.x[g] && child.step_size[g] == a.step_size[g];
      const bool gene_from_b = child.x[g] == b.x[g] && child.step_size[g] == b.step_size[g];
      ASSERT_TRUE(gene_from_a || gene_from_b) << "gene " << g;
      if (g != 4) from_b[static_cast<std::size_t>(g)] += gene_from_b ? 1 : 0;  // gene 4 is equal in both
    }
  }
  for (Eigen::Index g : {0, 1, 2, 3, 5}) EXPECT_NEAR(from_b[static_cast<std::size_t>(g)], 500, 80);
}

TEST(GeneticAlgorithmTest, MutationFollowsTheLogNormalRule) {
  // Two genes per_gene: n = 2, tau_global = 1/sqrt(4), tau_local = 1/sqrt(2 sqrt(2)). Replaying the
  // stream in the documented order gives the expected values exactly.
  const SearchSpace space = sphere_space(2);
  GeneticAlgorithmOptions options;
  options.min_step_size = 1e-3;
  options.max_step_size = 0.5;
  Genome genome = genome_of({0.5, 0.3}, {0.1, 0.05}, 1);
  RandomStream stream(7, StreamPurpose::test, {});
  RandomStream replay = stream;
  detail::mutate(space, options, genome, stream);
  const double tau_global = 0.5;
  const double tau_local = 1.0 / std::sqrt(2.0 * std::sqrt(2.0));
  const double common = replay.normal();
  const double sigma0 = std::clamp(0.1 * std::exp(tau_global * common + tau_local * replay.normal()), 1e-3, 0.5);
  const double sigma1 = std::clamp(0.05 * std::exp(tau_global * common + tau_local * replay.normal()), 1e-3, 0.5);
  const double x0 = detail::reflect_into_unit(0.5 + sigma0 * replay.normal());
  const double x1 = detail::reflect_into_unit(0.3 + sigma1 * replay.normal());
  EXPECT_DOUBLE_EQ(genome.step_size[0], sigma0);
  EXPECT_DOUBLE_EQ(genome.step_size[1], sigma1);
  EXPECT_DOUBLE_EQ(genome.x[0], x0);
  EXPECT_DOUBLE_EQ(genome.x[1], x1);
}

TEST(GeneticAlgorithmTest, StepSizesStayInBoundsAndAdapt) {
  GeneticAlgorithmOptions options;
  options.population_size = 16;
  options.min_step_size = 0.01;
  options.max_step_size = 0.2;
  options.initial_step_size = 0.1;
  GeneticAlgorithm ga(sphere_space(4), options, 21);
  ga.tell(sphere_fitness(ga));
  for (std::size_t i = static_cast<std::size_t>(options.elite_count); i < ga.ask().size(); ++i) {
    for (Eigen::Index g = 0; g < 4; ++g) EXPECT_NE(ga.ask()[i].step_size[g], 0.1);
  }
  for (int generation = 0; generation < 20; ++generation) {
    ga.tell(sphere_fitness(ga));
    for (const Genome& genome : ga.ask()) {
      EXPECT_GE(genome.step_size.minCoeff(), 0.01);
      EXPECT_LE(genome.step_size.maxCoeff(), 0.2);
      EXPECT_GE(genome.x.minCoeff(), 0.0);
      EXPECT_LE(genome.x.maxCoeff(), 1.0);
    }
  }
  // Step sizes hitting the bounds are clamped there (a huge initial step is pulled down to max).
  const SearchSpace space = sphere_space(3);
  Genome big = genome_of({0.5, 0.5, 0.5}, {1.0, 1.0, 1.0}, 0);
  Genome tiny = genome_of({0.5, 0.5, 0.5}, {1e-9, 1e-9, 1e-9}, 0);
  RandomStream stream(8, StreamPurpose::test, {});
  detail::mutate(space, options, big, stream);
  detail::mutate(space, options, tiny, stream);
  EXPECT_EQ(big.step_size, Eigen::VectorXd::Constant(3, 0.2));
  EXPECT_EQ(tiny.step_size, Eigen::VectorXd::Constant(3, 0.01));
}

TEST(GeneticAlgorithmTest, PerGroupAndGlobalShareStepSizes) {
  const SearchSpace space({real_gene("beta1", 0, 1, "betas"), real_gene("lr", 0, 1), real_gene("beta2", 0, 1, "betas"),
                           real_gene("eps", 0, 1)});
  GeneticAlgorithmOptions options;
  options.population_size = 12;
  options.step_size_adaptation = StepSizeAdaptation::per_group;
  GeneticAlgorithm grouped(space, options, 31);
  options.step_size_adaptation = StepSizeAdaptation::global;
  GeneticAlgorithm global(space, options, 31);
  const auto fitness = [](const GeneticAlgorithm& ga) {
    std::vector<double> values;
    for (const Genome& genome : ga.ask()) values.push_back((genome.x.array() - 0.3).square().sum());
    return values;
  };
  for (int generation = 0; generation < 5; ++generation) {
    grouped.tell(fitness(grouped));
    global.tell(fitness(global));
    for (const Genome& genome : grouped.ask()) {
      EXPECT_EQ(genome.step_size[0], genome.step_size[2]);  // the betas group
    }
    for (const Genome& genome : global.ask()) {
      EXPECT_EQ(genome.step_size, Eigen::VectorXd::Constant(4, genome.step_size[0]));
    }
  }
  // Ungrouped genes keep their own sigma in per_group mode.
  int distinct = 0;
  for (const Genome& genome : grouped.ask()) distinct += genome.step_size[1] != genome.step_size[3] ? 1 : 0;
  EXPECT_GT(distinct, 0);

  // A group whose genes disagree (after uniform crossover) ends up with one shared value.
  options.step_size_adaptation = StepSizeAdaptation::per_group;
  Genome mixed = genome_of({0.5, 0.5, 0.5, 0.5}, {0.04, 0.1, 0.01, 0.1}, 0);
  RandomStream stream(9, StreamPurpose::test, {});
  detail::mutate(space, options, mixed, stream);
  EXPECT_EQ(mixed.step_size[0], mixed.step_size[2]);
}

TEST(GeneticAlgorithmTest, CategoricalMutationRateZeroKeepsAndOneChangesChoices) {
  const SearchSpace space = categorical_space();
  GeneticAlgorithmOptions options;
  for (double rate : {0.0, 1.0}) {
    options.categorical_mutation_rate = rate;
    for (std::uint64_t trial = 0; trial < 300; ++trial) {
      RandomStream draw(10, StreamPurpose::test, {trial, 0});
      Genome genome = genome_of({0.5, draw.uniform(), draw.uniform()}, {0.1, 0.1, 0.1}, 0);
      const ParameterSet before = space.decode(genome.x);
      RandomStream stream(10, StreamPurpose::test, {trial, 1});
      detail::mutate(space, options, genome, stream);
      const ParameterSet after = space.decode(genome.x);
      for (const char* name : {"schedule", "rule"}) {
        if (rate == 0.0) {
          EXPECT_EQ(after.at(name), before.at(name));
        } else {
          EXPECT_NE(after.at(name), before.at(name));
        }
      }
      if (rate == 1.0) {
        // The new choice sits at the centre of its cell.
        const double scaled = genome.x[1] * 4.0;
        EXPECT_DOUBLE_EQ(scaled - std::floor(scaled), 0.5);
        EXPECT_TRUE(genome.x[2] == 0.25 || genome.x[2] == 0.75);
      }
    }
  }
  // With rate 1 every other choice is reached.
  options.categorical_mutation_rate = 1.0;
  std::set<std::string> reached;
  for (std::uint64_t trial = 0; trial < 200; ++trial) {
    Genome genome = genome_of({0.5, 0.125, 0.25}, {0.1, 0.1, 0.1}, 0);
    RandomStream stream(11, StreamPurpose::test, {trial});
    detail::mutate(space, options, genome, stream);
    reached.insert(std::get<std::string>(space.decode_gene(1, genome.x[1])));
  }
  EXPECT_EQ(reached, (std::set<std::string>{"cosine", "step", "linear"}));
}

TEST(GeneticAlgorithmTest, WithoutCrossoverChildrenHaveOneParent) {
  GeneticAlgorithmOptions options;
  options.population_size = 10;
  options.crossover_rate = 0.0;
  GeneticAlgorithm ga(sphere_space(3), options, 41);
  run_generations(ga, 2);
  for (const Genome& genome : ga.ask()) EXPECT_EQ(genome.parent_a, genome.parent_b);

  options.crossover_rate = 1.0;
  GeneticAlgorithm crossing(sphere_space(3), options, 41);
  run_generations(crossing, 2);
  int two_parents = 0;
  for (const Genome& genome : crossing.ask()) two_parents += genome.parent_a != genome.parent_b ? 1 : 0;
  EXPECT_GT(two_parents, 0);
}

TEST(GeneticAlgorithmTest, EachChildIsBredFromItsOwnStreams) {
  // Child i of generation g + 1 is a function of (seed, g + 1, i) and the told fitness only, so
  // replaying the documented streams with the detail operators rebuilds it exactly.
  GeneticAlgorithmOptions options;
  options.population_size = 8;
  options.elite_count = 1;
  options.crossover_rate = 0.6;
  const std::uint64_t seed = 55;
  GeneticAlgorithm ga(categorical_space(), options, seed);
  ga.tell({3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0, 3.5});
  const std::vector<Genome> parents = ga.ask();
  const std::vector<double> fitness{2.0, 7.0, 1.0, 8.0, 2.0, 8.0, 1.5, 0.5};
  ga.tell(fitness);
  int crossed = 0;
  for (std::uint64_t i = 1; i < 8; ++i) {
    RandomStream selection(seed, StreamPurpose::selection, {2, i});
    RandomStream crossing(seed, StreamPurpose::crossover, {2, i});
    RandomStream mutation(seed, StreamPurpose::mutation, {2, i});
    const Genome& a = parents[static_cast<std::size_t>(detail::tournament_select(fitness, 3, selection))];
    const Genome& b = parents[static_cast<std::size_t>(detail::tournament_select(fitness, 3, selection))];
    Genome expected = a;
    const bool cross = crossing.bernoulli(0.6);
    if (cross) expected = detail::crossover(ga.space(), options, a, b, crossing);
    crossed += cross ? 1 : 0;
    detail::mutate(ga.space(), options, expected, mutation);
    const Genome& child = ga.ask()[i];
    EXPECT_EQ(child.x, expected.x) << "child " << i;
    EXPECT_EQ(child.step_size, expected.step_size) << "child " << i;
    EXPECT_EQ(child.parent_a, a.id);
    EXPECT_EQ(child.parent_b, cross ? b.id : a.id);
  }
  EXPECT_GT(crossed, 0);
  EXPECT_LT(crossed, 7);
}

TEST(GeneticAlgorithmTest, ReflectionFoldsIntoTheUnitInterval) {
  EXPECT_EQ(detail::reflect_into_unit(0.3), 0.3);
  EXPECT_EQ(detail::reflect_into_unit(0.0), 0.0);
  EXPECT_EQ(detail::reflect_into_unit(1.0), 1.0);
  EXPECT_DOUBLE_EQ(detail::reflect_into_unit(-0.25), 0.25);
  EXPECT_DOUBLE_EQ(detail::reflect_into_unit(1.25), 0.75);
  EXPECT_DOUBLE_EQ(detail::reflect_into_unit(2.25), 0.25);
  EXPECT_DOUBLE_EQ(detail::reflect_into_unit(-1.75), 0.25);
  EXPECT_EQ(detail::reflect_into_unit(std::numeric_limits<double>::infinity()), 1.0);
  EXPECT_EQ(detail::reflect_into_unit(-std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_EQ(detail::reflect_into_unit(std::nan("")), 0.0);
}

void expect_checkpoint_resumes_identically() {
  GeneticAlgorithmOptions options;
  options.population_size = 10;
  const SearchSpace space = categorical_space();
  const auto fitness = [](const GeneticAlgorithm& ga) {
    std::vector<double> values;
    for (const Genome& genome : ga.ask()) {
      const ParameterSet decoded = ga.space().decode(genome.x);
      values.push_back(std::pow(std::get<double>(decoded.at("beta")) - 0.7, 2) +
                       (std::get<std::string>(decoded.at("schedule")) == "cosine" ? 0.0 : 1.0));
    }
    return values;
  };
  GeneticAlgorithm original(space, options, 77);
  for (int g = 0; g < 3; ++g) original.tell(fitness(original));

  GeneticAlgorithm restored(space, options, 77);
  restored.load_state(original.save_state());
  EXPECT_EQ(restored.generation(), 3);
  expect_same_population(restored.ask(), original.ask());
  ASSERT_TRUE(restored.best().has_value());
  EXPECT_EQ(restored.best()->x, original.best()->x);
  EXPECT_EQ(restored.best_fitness(), original.best_fitness());
  for (int g = 0; g < 2; ++g) {
    original.tell(fitness(original));
    restored.tell(fitness(restored));
  }
  expect_same_population(restored.ask(), original.ask());
  EXPECT_EQ(restored.best_fitness(), original.best_fitness());
}

TEST(GeneticAlgorithmTest, CheckpointRoundTripContinuesBitIdentically) { expect_checkpoint_resumes_identically(); }

TEST(GeneticAlgorithmTest, CheckpointKeepsAnUnsetBestAndRefusesAnotherSeedOptionsOrSpace) {
  GeneticAlgorithmOptions options;
  options.population_size = 6;
  options.crossover = CrossoverKind::uniform;
  options.step_size_adaptation = StepSizeAdaptation::global;
  options.blend_alpha = 0.25;
  const GeneticAlgorithm fresh(sphere_space(2), options, 123);
  const StrategyState state = fresh.save_state();
  EXPECT_EQ(state.strategy, "ga");
  EXPECT_EQ(state.version, GeneticAlgorithm::state_version);
  EXPECT_FALSE(state.has("population/x"));  // generation 0: the initial population, drawn from the seed
  GeneticAlgorithm restored(sphere_space(2), options, 123);
  run_generations(restored, 1);
  restored.load_state(state);
  EXPECT_FALSE(restored.best().has_value());
  EXPECT_EQ(restored.best_fitness(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(restored.generation(), 0);
  GeneticAlgorithm reference(sphere_space(2), options, 123);
  run_generations(reference, 2);
  run_generations(restored, 2);
  expect_same_population(restored.ask(), reference.ask());

  const auto expect_refused = [&](GeneticAlgorithm target, const StrategyState& image, const std::string& words) {
    const std::vector<Genome> before = target.ask();
    try {
      target.load_state(image);
      ADD_FAILURE() << "expected StorageError mentioning " << words;
    } catch (const StorageError& error) {
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    }
    expect_same_population(target.ask(), before);  // unchanged by a refused state
  };
  expect_refused(GeneticAlgorithm(sphere_space(3), options, 123), state,
                 "the checkpoint's GA state has genes = 2, the run's search space has 3");
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 124), state, "seed 123");
  GeneticAlgorithmOptions other = options;
  other.blend_alpha = 0.5;
  expect_refused(GeneticAlgorithm(sphere_space(2), other, 123), state, "options/blend_alpha = 0.25");
  StrategyState foreign = state;
  foreign.strategy = "sep_cma_es";
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), foreign, "strategy 'sep_cma_es'");
  StrategyState future = state;
  future.version = 3;
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), future, "layout version 3; this metaevo reads "
                                                                           "versions 1 to 2");
  StrategyState empty;
  empty.strategy = "ga";
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), empty, "no integer entry 'seed'");
  // Version 1 stored generation 0's population too: it is read as stored, and checked.
  StrategyState version1 = state;
  version1.version = 1;
  version1.put_genomes("population", fresh.ask());
  GeneticAlgorithm from_version1(sphere_space(2), options, 123);
  from_version1.load_state(version1);
  expect_same_population(from_version1.ask(), fresh.ask());
  StrategyState no_population = state;
  no_population.version = 1;
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), no_population, "no real entry 'population/x'");
  expect_refused(GeneticAlgorithm(sphere_space(3), options, 123), version1, "x' has shape [6, 2], expected [6, 3]");
  StrategyState outside = version1;
  outside.reals["population/x"].values[3] = 1.5;
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), outside, "outside [0, 1]");
  StrategyState wrong_generation = version1;
  wrong_generation.integers["generation"].values[0] = 4;
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), wrong_generation, "of generation 0");
  // From generation 1 on the population is stored: a state without it is refused.
  StrategyState later = state;
  later.integers["generation"].values[0] = 4;
  expect_refused(GeneticAlgorithm(sphere_space(2), options, 123), later, "no real entry 'population/x'");
}

// ---- Steady-state (asynchronous) mode ----

/// Tells ga.ask()'s initial genomes with their sphere fitness, the first step of a steady-state run.
void tell_initial_population(GeneticAlgorithm& ga) {
  for (const Genome& genome : ga.ask()) ga.tell_offspring(genome, sphere(ga.space(), genome));
}

/// Breeds, evaluates and tells offspring first .. first + count - 1, one at a time.
void run_offspring(GeneticAlgorithm& ga, std::int64_t first, std::int64_t count) {
  for (std::int64_t k = first; k < first + count; ++k) {
    const Genome child = ga.breed_offspring(k);
    ga.tell_offspring(child, sphere(ga.space(), child));
  }
}

void expect_same_genome(const Genome& a, const Genome& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.parent_a, b.parent_a);
  EXPECT_EQ(a.parent_b, b.parent_b);
  EXPECT_EQ(a.x, b.x);  // bit-identical
  EXPECT_EQ(a.step_size, b.step_size);
}

std::vector<std::int64_t> pool_ids(const GeneticAlgorithm& ga) {
  std::vector<std::int64_t> ids;
  for (const Genome& genome : ga.pool()) ids.push_back(genome.id);
  return ids;
}

TEST(GeneticAlgorithmSteadyStateTest, BreedingNeedsAPoolAndAValidIndex) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  GeneticAlgorithm ga(sphere_space(2), options, 5);
  EXPECT_TRUE(ga.pool().empty());
  EXPECT_THROW(static_cast<void>(ga.breed_offspring(0)), Error);
  ga.tell_offspring(ga.ask()[0], 1.0);
  // One member is enough: tournaments draw with replacement, so both parents are that member.
  const Genome child = ga.breed_offspring(0);
  EXPECT_EQ(child.parent_a, 0);
  EXPECT_EQ(child.parent_b, 0);
  EXPECT_THROW(static_cast<void>(ga.breed_offspring(-1)), Error);
  // A genome of the wrong length is refused and leaves the pool untouched.
  const Genome wrong = genome_of({0.5, 0.5, 0.5}, {0.1, 0.1, 0.1}, 9);
  EXPECT_THROW(ga.tell_offspring(wrong, 0.0), Error);
  EXPECT_EQ(ga.pool().size(), 1u);
  EXPECT_EQ(ga.best_fitness(), 1.0);
}

TEST(GeneticAlgorithmSteadyStateTest, PoolFillsThenReplacesTheWorstOnlyWhenStrictlyBetter) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  GeneticAlgorithm ga(sphere_space(2), options, 5);
  const auto told = [&](std::int64_t id, double fitness) {
    Genome genome = ga.ask()[0];
    genome.id = id;
    ga.tell_offspring(genome, fitness);
  };
  told(10, 3.0);
  told(11, 1.0);
  told(12, 5.0);
  EXPECT_EQ(pool_ids(ga), (std::vector<std::int64_t>{10, 11, 12}));  // appended in insertion order
  told(13, 9.0);  // the pool is not full yet: even the worst so far is appended
  EXPECT_EQ(pool_ids(ga), (std::vector<std::int64_t>{10, 11, 12, 13}));
  EXPECT_EQ(ga.pool_fitness(), (std::vector<double>{3.0, 1.0, 5.0, 9.0}));

  told(14, 9.0);  // equal to the worst: the member stays
  told(15, 10.0);
  EXPECT_EQ(pool_ids(ga), (std::vector<std::int64_t>{10, 11, 12, 13}));
  told(16, 4.0);  // replaces the worst (9.0) in its slot
  EXPECT_EQ(pool_ids(ga), (std::vector<std::int64_t>{10, 11, 12, 16}));
  told(17, 0.5);  // replaces 5.0
  EXPECT_EQ(pool_ids(ga), (std::vector<std::int64_t>{10, 11, 17, 16}));
  EXPECT_EQ(ga.pool_fitness(), (std::vector<double>{3.0, 1.0, 0.5, 4.0}));
  EXPECT_EQ(ga.pool().size(), 4u);
  told(18, std::nan(""));  // non-finite is the worst value: never enters a full pool
  EXPECT_EQ(pool_ids(ga), (std::vector<std::int64_t>{10, 11, 17, 16}));

  // Ties among the worst: the member with the highest index goes first.
  GeneticAlgorithm tied(sphere_space(2), options, 5);
  Genome genome = tied.ask()[0];
  for (std::int64_t id = 0; id < 4; ++id) {
    genome.id = id;
    tied.tell_offspring(genome, id % 2 == 0 ? std::numeric_limits<double>::infinity() : 2.0);
  }
  EXPECT_EQ(tied.pool_fitness()[0], std::numeric_limits<double>::infinity());
  genome.id = 20;
  tied.tell_offspring(genome, 7.0);  // two +inf members (indices 0 and 2): index 2 is replaced
  EXPECT_EQ(pool_ids(tied), (std::vector<std::int64_t>{0, 1, 20, 3}));
  genome.id = 21;
  tied.tell_offspring(genome, -std::numeric_limits<double>::infinity());  // -inf counts as +inf too
  EXPECT_EQ(pool_ids(tied), (std::vector<std::int64_t>{0, 1, 20, 3}));
  genome.id = 22;
  tied.tell_offspring(genome, 7.5);
  EXPECT_EQ(pool_ids(tied), (std::vector<std::int64_t>{22, 1, 20, 3}));
  genome.id = 23;
  tied.tell_offspring(genome, 2.0);  // the worst is now 7.5 alone (index 0)
  EXPECT_EQ(pool_ids(tied), (std::vector<std::int64_t>{23, 1, 20, 3}));
  EXPECT_EQ(tied.pool_fitness(), (std::vector<double>{2.0, 2.0, 7.0, 2.0}));
}

TEST(GeneticAlgorithmSteadyStateTest, BestTracksTheBestTold) {
  GeneticAlgorithmOptions options;
  options.population_size = 3;
  GeneticAlgorithm ga(sphere_space(2), options, 8);
  const std::vector<Genome>& initial = ga.ask();
  ga.tell_offspring(initial[0], std::nan(""));
  ASSERT_TRUE(ga.best().has_value());  // as tell(): set at the first tell, even when not finite
  EXPECT_EQ(ga.best_fitness(), std::numeric_limits<double>::infinity());
  ga.tell_offspring(initial[1], 2.0);
  EXPECT_EQ(ga.best()->id, 1);
  EXPECT_EQ(ga.best_fitness(), 2.0);
  ga.tell_offspring(initial[2], 2.0);  // a tie keeps the earlier best
  EXPECT_EQ(ga.best()->id, 1);
  ga.tell_offspring(initial[0], 0.25);
  EXPECT_EQ(ga.best()->id, 0);
  EXPECT_EQ(ga.best()->x, initial[0].x);
  EXPECT_EQ(ga.best_fitness(), 0.25);

  // Over a run, best() is the minimum of everything told and is the genome that scored it.
  GeneticAlgorithm run(sphere_space(3), options, 8);
  double lowest = std::numeric_limits<double>::infinity();
  for (const Genome& genome : run.ask()) {
    const double fitness = sphere(run.space(), genome);
    lowest = std::min(lowest, fitness);
    run.tell_offspring(genome, fitness);
  }
  for (std::int64_t k = 0; k < 40; ++k) {
    const Genome child = run.breed_offspring(k);
    const double fitness = sphere(run.space(), child);
    lowest = std::min(lowest, fitness);
    run.tell_offspring(child, fitness);
    EXPECT_EQ(run.best_fitness(), lowest);
    EXPECT_EQ(sphere(run.space(), *run.best()), lowest);
  }
  EXPECT_EQ(run.generation(), 0);  // steady state has no generations of its own
}

TEST(GeneticAlgorithmSteadyStateTest, OffspringDependsOnlyOnPoolAndIndex) {
  GeneticAlgorithmOptions options;
  options.population_size = 6;
  options.crossover_rate = 0.6;
  GeneticAlgorithm first(sphere_space(3), options, 31);
  GeneticAlgorithm second(sphere_space(3), options, 31);
  tell_initial_population(first);
  tell_initial_population(second);
  run_offspring(first, 0, 4);
  run_offspring(second, 0, 4);

  const Genome child = first.breed_offspring(7);
  expect_same_genome(child, first.breed_offspring(7));  // const: breeding does not advance anything
  expect_same_genome(child, second.breed_offspring(7));
  const Genome other = first.breed_offspring(8);
  EXPECT_NE(child.x, other.x);

  // The streams are keyed {steady_state_stream_marker, index}; redo the breeding by hand.
  int crossed = 0;
  for (std::uint64_t k = 0; k < 12; ++k) {
    const std::initializer_list<std::uint64_t> path{GeneticAlgorithm::steady_state_stream_marker, k};
    RandomStream selection(31, StreamPurpose::selection, path);
    RandomStream crossing(31, StreamPurpose::crossover, path);
    RandomStream mutation(31, StreamPurpose::mutation, path);
    const std::vector<Genome>& pool = first.pool();
    const Genome& a = pool[static_cast<std::size_t>(detail::tournament_select(first.pool_fitness(), 3, selection))];
    const Genome& b = pool[static_cast<std::size_t>(detail::tournament_select(first.pool_fitness(), 3, selection))];
    Genome expected = a;
    const bool cross = crossing.bernoulli(0.6);
    if (cross) expected = detail::crossover(first.space(), options, a, b, crossing);
    crossed += cross ? 1 : 0;
    detail::mutate(first.space(), options, expected, mutation);
    const Genome bred = first.breed_offspring(static_cast<std::int64_t>(k));
    EXPECT_EQ(bred.x, expected.x) << "offspring " << k;
    EXPECT_EQ(bred.step_size, expected.step_size) << "offspring " << k;
    EXPECT_EQ(bred.parent_a, a.id);
    EXPECT_EQ(bred.parent_b, cross ? b.id : a.id);
  }
  EXPECT_GT(crossed, 0);
  EXPECT_LT(crossed, 12);

  // The same genomes with other fitness values: other parents win, another offspring for index 7.
  GeneticAlgorithm reranked(sphere_space(3), options, 31);
  for (std::size_t i = 0; i < first.pool().size(); ++i) {
    reranked.tell_offspring(first.pool()[i], -first.pool_fitness()[i]);
  }
  EXPECT_EQ(pool_ids(reranked), pool_ids(first));
  EXPECT_NE(reranked.breed_offspring(7).x, child.x);
}

TEST(GeneticAlgorithmSteadyStateTest, OffspringIdsAndGenerationsFollowTheScheme) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  GeneticAlgorithm ga(sphere_space(2), options, 3);
  tell_initial_population(ga);
  const std::vector<std::int64_t> initial_ids = pool_ids(ga);
  EXPECT_EQ(initial_ids, (std::vector<std::int64_t>{0, 1, 2, 3}));
  for (std::int64_t k = 0; k < 10; ++k) {
    const Genome child = ga.breed_offspring(k);
    EXPECT_EQ(child.id, 4 + k);
    EXPECT_EQ(child.generation, (4 + k) / 4);
    // Parents are pool members (the pool is not changed in this loop).
    EXPECT_NE(std::find(initial_ids.begin(), initial_ids.end(), child.parent_a), initial_ids.end());
    EXPECT_NE(std::find(initial_ids.begin(), initial_ids.end(), child.parent_b), initial_ids.end());
  }
  EXPECT_EQ(ga.breed_offspring(0).generation, 1);
  EXPECT_EQ(ga.breed_offspring(3).generation, 1);
  EXPECT_EQ(ga.breed_offspring(4).generation, 2);
  EXPECT_EQ(ga.breed_offspring(11).id, 15);
  EXPECT_EQ(ga.breed_offspring(11).generation, 3);
}

TEST(GeneticAlgorithmSteadyStateTest, MinimizesASphere) {
  GeneticAlgorithmOptions options;
  options.population_size = 24;
  GeneticAlgorithm ga(sphere_space(5), options, 11);
  const std::vector<double> initial = sphere_fitness(ga);
  const double initial_best = *std::min_element(initial.begin(), initial.end());
  tell_initial_population(ga);
  // 30 * P evaluations in all, the budget of the generational MinimizesASphere.
  run_offspring(ga, 0, 29 * 24);
  EXPECT_LT(ga.best_fitness(), 0.01 * initial_best) << "initial best " << initial_best << " best " << ga.best_fitness();
}

TEST(GeneticAlgorithmSteadyStateTest, MinimizesWithResultsOutOfOrder) {
  // Like the MPI master: several offspring in flight, results told in an order unrelated to breeding.
  GeneticAlgorithmOptions options;
  options.population_size = 24;
  GeneticAlgorithm ga(sphere_space(5), options, 13);
  const std::vector<double> initial = sphere_fitness(ga);
  const double initial_best = *std::min_element(initial.begin(), initial.end());
  tell_initial_population(ga);
  std::vector<Genome> in_flight;
  std::int64_t next = 0;
  RandomStream arrival(13, StreamPurpose::test, {1});
  while (next < 29 * 24 || !in_flight.empty()) {
    while (next < 29 * 24 && in_flight.size() < 6) in_flight.push_back(ga.breed_offspring(next++));
    const auto done = static_cast<std::ptrdiff_t>(arrival.below(in_flight.size()));
    const Genome genome = in_flight[static_cast<std::size_t>(done)];
    in_flight.erase(in_flight.begin() + done);
    ga.tell_offspring(genome, sphere(ga.space(), genome));
  }
  EXPECT_LT(ga.best_fitness(), 0.01 * initial_best) << "initial best " << initial_best << " best " << ga.best_fitness();
}

void expect_steady_state_checkpoint_resumes_identically() {
  GeneticAlgorithmOptions options;
  options.population_size = 8;
  GeneticAlgorithm original(sphere_space(3), options, 41);
  // A failed evaluation in the pool: its +inf fitness must survive text archives too. Only 5 of the
  // initial genomes are told, then 3 offspring bred from that partial pool fill it, so nothing has
  // replaced the failed member yet.
  original.tell_offspring(original.ask()[0], std::nan(""));
  for (std::size_t i = 1; i < 5; ++i) {
    original.tell_offspring(original.ask()[i], sphere(original.space(), original.ask()[i]));
  }
  run_offspring(original, 0, 3);
  ASSERT_EQ(original.pool().size(), 8u);
  ASSERT_EQ(original.pool_fitness()[0], std::numeric_limits<double>::infinity());

  GeneticAlgorithm restored(sphere_space(3), options, 41);
  restored.load_state(original.save_state());
  ASSERT_EQ(restored.pool().size(), original.pool().size());
  for (std::size_t i = 0; i < original.pool().size(); ++i) expect_same_genome(restored.pool()[i], original.pool()[i]);
  EXPECT_EQ(restored.pool_fitness(), original.pool_fitness());
  EXPECT_EQ(restored.best_fitness(), original.best_fitness());
  expect_same_population(restored.ask(), original.ask());

  run_offspring(original, 3, 40);
  run_offspring(restored, 3, 40);
  for (std::size_t i = 0; i < original.pool().size(); ++i) expect_same_genome(restored.pool()[i], original.pool()[i]);
  EXPECT_EQ(restored.pool_fitness(), original.pool_fitness());
  expect_same_genome(*restored.best(), *original.best());
  EXPECT_EQ(restored.best_fitness(), original.best_fitness());
  expect_same_genome(restored.breed_offspring(43), original.breed_offspring(43));
}

TEST(GeneticAlgorithmSteadyStateTest, CheckpointRoundTripContinuesBitIdentically) {
  expect_steady_state_checkpoint_resumes_identically();
}

StrategyState state_with_pool(const GeneticAlgorithm& ga) {
  StrategyState state = ga.save_state();
  std::vector<double> fitness;
  for (std::size_t i = 0; i < ga.ask().size(); ++i) fitness.push_back(1.0);
  state.put_genomes("pool", ga.ask());
  state.put("pool_fitness", fitness);
  return state;
}

TEST(GeneticAlgorithmSteadyStateTest, CheckpointStateWithAPoolLoadsAsTheGaWritesIt) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  const GeneticAlgorithm source(sphere_space(2), options, 19);
  GeneticAlgorithm loaded(sphere_space(2), options, 19);
  loaded.load_state(state_with_pool(source));
  EXPECT_EQ(loaded.pool().size(), 4u);
  EXPECT_EQ(loaded.pool_fitness(), (std::vector<double>(4, 1.0)));
  GeneticAlgorithm told(sphere_space(2), options, 19);
  for (const Genome& genome : told.ask()) told.tell_offspring(genome, 1.0);
  expect_same_genome(loaded.breed_offspring(3), told.breed_offspring(3));
}

TEST(GeneticAlgorithmSteadyStateTest, CheckpointWithABadPoolIsRefused) {
  GeneticAlgorithmOptions options;
  options.population_size = 4;
  const GeneticAlgorithm source(sphere_space(2), options, 19);
  const auto expect_refused = [&](const StrategyState& state, const std::string& words) {
    GeneticAlgorithm target(sphere_space(2), options, 19);
    try {
      target.load_state(state);
      ADD_FAILURE() << "expected StorageError mentioning " << words;
    } catch (const StorageError& error) {
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    }
    EXPECT_TRUE(target.pool().empty());
  };

  std::vector<Genome> five = source.ask();
  five.push_back(five.front());
  StrategyState too_large = state_with_pool(source);
  too_large.put_genomes("pool", five);
  too_large.put("pool_fitness", std::vector<double>(5, 1.0));
  expect_refused(too_large, "at most ga.population_size = 4");

  StrategyState mismatched = state_with_pool(source);
  mismatched.put("pool_fitness", std::vector<double>(3, 1.0));
  expect_refused(mismatched, "'pool_fitness' has shape [3], expected [4]");

  StrategyState bad_step = state_with_pool(source);
  bad_step.reals["pool/step_size"].values[1] = -1.0;
  expect_refused(bad_step, "step size -1");
}

}  // namespace
}  // namespace metaevo
