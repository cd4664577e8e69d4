#include "metaevo/search/sep_cma_es.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "strategy_test_support.hpp"

namespace metaevo {
namespace {

using testing_support::Box;
using testing_support::expect_identical;
using testing_support::minimize;
using testing_support::run_generations;

/// Value 3 in every coordinate of [-5, 5]: far from the optimum at 0.
Eigen::VectorXd start_at_three(Eigen::Index n, const Box& box = {}) {
  return Eigen::VectorXd::Constant(n, box.normalized(3.0));
}

SepCmaEs make_strategy(Eigen::Index n, std::uint64_t seed = 7, SepCmaEsOptions options = {}) {
  return SepCmaEs(start_at_three(n), Eigen::VectorXd(), options, seed);
}

template <class Function>
std::string config_error_of(Function&& function) {
  try {
    function();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no ConfigError";
}

std::string storage_error_of(SepCmaEs& strategy, const StrategyState& state) {
  try {
    strategy.load_state(state);
  } catch (const StorageError& error) {
    return error.what();
  }
  return "no StorageError";
}

TEST(SepCmaEsTest, DefaultParametersFollowTheLiterature) {
  // Hansen's tutorial (arXiv:1604.00772, table 1) with c_1, c_mu times (n + 2) / 3 (Ros & Hansen 2008).
  const SepCmaEsParameters p = sep_cma_es_parameters(1000, {});
  EXPECT_EQ(p.lambda, 24);  // 4 + floor(3 ln 1000) = 4 + floor(20.72)
  EXPECT_EQ(p.mu, 12);
  ASSERT_EQ(p.weights.size(), 12u);
  double sum = 0.0, squares = 0.0;
  for (std::size_t i = 0; i < p.weights.size(); ++i) {
    sum += p.weights[i];
    squares += p.weights[i] * p.weights[i];
    if (i > 0) {
      EXPECT_LT(p.weights[i], p.weights[i - 1]);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-15);
  EXPECT_NEAR(p.mu_eff, 1.0 / squares, 1e-12);
  EXPECT_NEAR(p.weights[0] / p.weights[1], std::log(12.5) / (std::log(12.5) - std::log(2.0)), 1e-12);
  const double n = 1000.0, mu_eff = p.mu_eff;
  EXPECT_DOUBLE_EQ(p.c_sigma, (mu_eff + 2.0) / (n + mu_eff + 5.0));
  EXPECT_DOUBLE_EQ(p.d_sigma, 1.0 + p.c_sigma);  // sqrt((mu_eff - 1) / (n + 1)) < 1
  EXPECT_DOUBLE_EQ(p.c_c, (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n));
  EXPECT_DOUBLE_EQ(p.c_1, 2.0 / ((n + 1.3) * (n + 1.3) + mu_eff) * (n + 2.0) / 3.0);
  EXPECT_DOUBLE_EQ(p.c_mu, 2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0) * (n + 2.0) + mu_eff) * (n + 2.0) / 3.0);
  EXPECT_NEAR(p.chi_n, std::sqrt(n), 0.01);

  // Small n: the learning rates are capped so the old diagonal keeps a non-negative share.
  const SepCmaEsParameters tiny = sep_cma_es_parameters(1, {});
  EXPECT_EQ(tiny.lambda, 4);
  EXPECT_EQ(tiny.mu, 2);
  EXPECT_LE(tiny.c_1 + tiny.c_mu, 1.0);
  SepCmaEsOptions chosen;
  chosen.population_size = 50;
  chosen.parent_count = 10;
  const SepCmaEsParameters custom = sep_cma_es_parameters(10, chosen);
  EXPECT_EQ(custom.lambda, 50);
  EXPECT_EQ(custom.mu, 10);
}

TEST(SepCmaEsTest, OptionValidationNamesTheKey) {
  SepCmaEsOptions options;
  options.population_size = 1;
  EXPECT_EQ(config_error_of([&] { validate(options); }),
            "search.sep_cma_es.population_size must be 0 (default 4 + floor(3 ln n)) or >= 2, got 1");
  options = {};
  options.population_size = 8;
  options.parent_count = 9;
  EXPECT_EQ(config_error_of([&] { validate(options); }),
            "search.sep_cma_es.parent_count must be 0 (default population_size / 2) or in [1, population_size], got 9");
  options = {};
  options.initial_sigma = 0.0;
  EXPECT_EQ(config_error_of([&] { validate(options); }), "search.sep_cma_es.initial_sigma must be in (0, 1], got 0");
  options.initial_sigma = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(config_error_of([&] { validate(options); }).find("search.sep_cma_es.initial_sigma"), std::string::npos);
  options = {};
  options.min_sigma = 0.5;
  EXPECT_EQ(config_error_of([&] { validate(options); }),
            "search.sep_cma_es.min_sigma must be in (0, initial_sigma] = (0, 0.3], got 0.5");
  options = {};
  options.max_sigma = 0.1;
  EXPECT_EQ(config_error_of([&] { validate(options); }),
            "search.sep_cma_es.max_sigma must be in [initial_sigma, 1e6] = [0.3, 1e6], got 0.1");
  // Only the defaults derived from n can make parent_count too large; the constructor catches it.
  options = {};
  options.parent_count = 30;
  EXPECT_NE(config_error_of([&] { make_strategy(10, 1, options); }).find("search.sep_cma_es.parent_count"),
            std::string::npos);
  // The constructor's arguments.
  EXPECT_NE(config_error_of([] { SepCmaEs(Eigen::VectorXd(), Eigen::VectorXd(), {}, 1); }).find("empty"),
            std::string::npos);
  EXPECT_NE(config_error_of([] { SepCmaEs(Eigen::VectorXd::Constant(3, 1.5), Eigen::VectorXd(), {}, 1); })
                .find("initial mean coordinate 0"),
            std::string::npos);
  EXPECT_NE(config_error_of([] { SepCmaEs(Eigen::VectorXd::Constant(3, 0.5), Eigen::VectorXd::Ones(2), {}, 1); })
                .find("coordinate_scale"),
            std::string::npos);
  EXPECT_NE(config_error_of([] { SepCmaEs(Eigen::VectorXd::Constant(3, 0.5), Eigen::VectorXd::Zero(3), {}, 1); })
                .find("coordinate_scale 0 must be finite and > 0"),
            std::string::npos);
}

TEST(SepCmaEsTest, GenomesCarryIdsGenerationAndStepSizes) {
  SepCmaEsOptions options;
  options.initial_sigma = 0.2;
  Eigen::VectorXd scale(3);
  scale << 1.0, 0.5, 0.25;
  SepCmaEs strategy(Eigen::VectorXd::Constant(3, 0.5), scale, options, 3);
  EXPECT_EQ(strategy.name(), "sep_cma_es");
  EXPECT_EQ(strategy.population_size(), 7);  // 4 + floor(3 ln 3)
  EXPECT_FALSE(strategy.best().has_value());
  EXPECT_EQ(strategy.best_fitness(), std::numeric_limits<double>::infinity());
  run_generations(strategy, 2);
  const std::vector<Genome>& population = strategy.ask();
  ASSERT_EQ(population.size(), 7u);
  for (std::size_t k = 0; k < population.size(); ++k) {
    EXPECT_EQ(population[k].id, 2 * 7 + static_cast<std::int64_t>(k));
    EXPECT_EQ(population[k].generation, 2);
    EXPECT_EQ(population[k].parent_a, -1);
    EXPECT_EQ(population[k].parent_b, -1);
    EXPECT_TRUE(population[k].step_size.isApprox(strategy.sigma() * strategy.diagonal().cwiseSqrt()));
    EXPECT_GE(population[k].x.minCoeff(), 0.0);
    EXPECT_LE(population[k].x.maxCoeff(), 1.0);
  }
  EXPECT_THROW(strategy.tell(std::vector<double>(6, 1.0)), Error);
  const StrategyStatistics statistics = strategy.statistics();
  ASSERT_EQ(statistics.size(), 5u);
  EXPECT_EQ(statistics[0].first, "sigma");
  EXPECT_EQ(statistics[0].second, strategy.sigma());
  EXPECT_EQ(statistics[1].first, "axis_ratio");
  EXPECT_GE(statistics[1].second, 1.0);
}

TEST(SepCmaEsTest, GoldenFirstGenome) {
  // Catches any change of the draw order or the stream keys: seed 2024, n = 5, mean 0.5, sigma 0.3.
  SepCmaEs strategy(Eigen::VectorXd::Constant(5, 0.5), Eigen::VectorXd(), {}, 2024);
  const Eigen::VectorXd& x = strategy.ask().front().x;
  EXPECT_EQ(x[0], 0.96700194156753971);
  EXPECT_EQ(x[1], 0.79818154108794448);
  EXPECT_EQ(x[2], 0.069172612765996955);
}

TEST(SepCmaEsTest, SameSeedGivesIdenticalGenomesAndAnotherSeedDoesNot) {
  SepCmaEs a = make_strategy(20, 11);
  SepCmaEs b = make_strategy(20, 11);
  SepCmaEs c = make_strategy(20, 12);
  const std::vector<Genome> from_a = run_generations(a, 6);
  expect_identical(from_a, run_generations(b, 6));
  const std::vector<Genome> from_c = run_generations(c, 6);
  EXPECT_FALSE(from_a.front().x == from_c.front().x);
}

TEST(SepCmaEsTest, EachGenomeIsKeyedBySeedGenerationAndIndexOnly) {
  // Genome k of generation g is reflect(m + sigma D z) with z from the stream (seed, strategy_sample,
  // {g, k}): nothing else (no shared stream, no tell order) enters the draw.
  SepCmaEs strategy = make_strategy(30, 5);
  run_generations(strategy, 3);
  EXPECT_EQ(&strategy.ask(), &strategy.ask());
  const Eigen::VectorXd std_dev = strategy.sigma() * strategy.diagonal().cwiseSqrt();
  for (std::uint64_t k : {0u, 4u, 9u}) {
    RandomStream stream(5, StreamPurpose::strategy_sample, {3, k});
    Eigen::VectorXd z(30);
    stream.fill_normal(z.data(), 30);
    const Genome& genome = strategy.ask()[k];
    for (Eigen::Index i = 0; i < 30; ++i) {
      EXPECT_EQ(genome.x[i], detail::reflect_into_unit(strategy.mean()[i] + std_dev[i] * z[i]));
    }
  }
  // A fresh object given only the state asks the same generation as the one with the history.
  SepCmaEs fresh = make_strategy(30, 5);
  fresh.load_state(strategy.save_state());
  expect_identical(fresh.ask(), strategy.ask());
}

TEST(SepCmaEsTest, SaveAndLoadInTheMiddleOfARunContinuesBitIdentically) {
  SepCmaEs original = make_strategy(40, 99);
  run_generations(original, 7);
  const StrategyState state = original.save_state();
  EXPECT_EQ(state.strategy, "sep_cma_es");
  EXPECT_EQ(state.version, 2);
  // The population is sampled again on load, not stored: the state is O(n), not O(lambda n).
  EXPECT_FALSE(state.has("population/x"));
  SepCmaEs loaded = make_strategy(40, 99);
  loaded.load_state(state);
  expect_identical(loaded.ask(), original.ask());
  EXPECT_EQ(loaded.generation(), 7);
  EXPECT_EQ(loaded.best_fitness(), original.best_fitness());
  ASSERT_TRUE(loaded.best().has_value());
  EXPECT_TRUE(loaded.best()->x == original.best()->x);
  expect_identical(run_generations(loaded, 5), run_generations(original, 5));
  EXPECT_EQ(loaded.sigma(), original.sigma());
  EXPECT_TRUE(loaded.mean() == original.mean());
  EXPECT_TRUE(loaded.diagonal() == original.diagonal());
  EXPECT_EQ(loaded.statistics(), original.statistics());

  // Before the first tell too (no best yet).
  SepCmaEs unstarted = make_strategy(40, 99);
  SepCmaEs reloaded = make_strategy(40, 99);
  reloaded.load_state(unstarted.save_state());
  EXPECT_FALSE(reloaded.best().has_value());
  expect_identical(run_generations(reloaded, 2), run_generations(unstarted, 2));
}

TEST(SepCmaEsTest, LoadStateRefusesInconsistentStatesAndStaysUnchanged) {
  SepCmaEs source = make_strategy(10, 21);
  run_generations(source, 3);
  const StrategyState good = source.save_state();
  SepCmaEs target = make_strategy(10, 21);
  const std::vector<Genome> before = target.ask();

  StrategyState other = good;
  other.strategy = "openai_es";
  EXPECT_EQ(storage_error_of(target, other),
            "the checkpoint holds the state of strategy 'openai_es', the run uses 'sep_cma_es'");
  StrategyState newer = good;
  newer.version = 3;
  EXPECT_EQ(storage_error_of(target, newer),
            "the checkpoint's sep_cma_es state has layout version 3; this metaevo reads versions 1 to 2");
  StrategyState short_mean = good;
  short_mean.put("mean", Eigen::VectorXd::Constant(9, 0.5));
  EXPECT_NE(storage_error_of(target, short_mean).find("entry 'mean' has shape [9], expected [10]"), std::string::npos);
  StrategyState zero_sigma = good;
  zero_sigma.put("sigma", 0.0);
  EXPECT_EQ(storage_error_of(target, zero_sigma),
            "the checkpoint's sep_cma_es state entry 'sigma' is 0, expected finite and > 0");
  StrategyState nan_sigma = good;
  nan_sigma.put("sigma", std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(storage_error_of(target, nan_sigma).find("entry 'sigma'"), std::string::npos);
  StrategyState bad_diagonal = good;
  Eigen::VectorXd diagonal = Eigen::VectorXd::Ones(10);
  diagonal[4] = -1.0;
  bad_diagonal.put("diagonal", diagonal);
  EXPECT_NE(storage_error_of(target, bad_diagonal).find("entry 'diagonal' has value -1 at index 4"), std::string::npos);
  StrategyState seed = good;
  seed.put("seed", std::int64_t{22});
  EXPECT_EQ(storage_error_of(target, seed),
            "the checkpoint's sep_cma_es state entry 'seed' is 22, but the run's seed (as int64 bits) is 21");
  StrategyState lambda = good;
  lambda.put("population_size", std::int64_t{12});
  EXPECT_NE(storage_error_of(target, lambda).find("entry 'population_size' is 12"), std::string::npos);
  // Version 1 stored the population: it must be there and of the stored generation.
  StrategyState old_without_population = good;
  old_without_population.version = 1;
  EXPECT_EQ(storage_error_of(target, old_without_population),
            "the checkpoint's sep_cma_es state has no real entry 'population/x'");
  StrategyState generation = good;
  generation.version = 1;
  generation.put_genomes("population", source.ask());
  generation.put("generation", std::int64_t{4});  // the stored population is of generation 3
  EXPECT_NE(storage_error_of(target, generation).find("entry 'population/id'"), std::string::npos);
  StrategyState missing = good;
  missing.reals.erase("path_c");
  EXPECT_EQ(storage_error_of(target, missing), "the checkpoint's sep_cma_es state has no real entry 'path_c'");

  // Nothing changed: the target still asks its own generation 0.
  EXPECT_EQ(target.generation(), 0);
  expect_identical(target.ask(), before);
  EXPECT_FALSE(target.best().has_value());
}

// Files written before version 2 stored the population; it is read and asked as stored.
TEST(SepCmaEsTest, LoadsAVersion1StateWithItsStoredPopulation) {
  SepCmaEs original = make_strategy(12, 5);
  run_generations(original, 4);
  StrategyState old = original.save_state();
  old.version = 1;
  old.put_genomes("population", original.ask());
  SepCmaEs loaded = make_strategy(12, 5);
  loaded.load_state(old);
  expect_identical(loaded.ask(), original.ask());
  expect_identical(run_generations(loaded, 3), run_generations(original, 3));
}

TEST(SepCmaEsTest, NonFiniteFitnessIsTreatedAsWorst) {
  SepCmaEs with_nan = make_strategy(8, 4);
  SepCmaEs with_inf = make_strategy(8, 4);
  std::vector<double> fitness;
  for (const Genome& genome : with_nan.ask()) {
    fitness.push_back(testing_support::evaluate(DiagnosticFunction::sphere, {}, genome.x));
  }
  fitness[0] = std::numeric_limits<double>::quiet_NaN();
  fitness[1] = -std::numeric_limits<double>::infinity();
  with_nan.tell(fitness);
  fitness[0] = fitness[1] = std::numeric_limits<double>::infinity();
  with_inf.tell(fitness);
  expect_identical(with_nan.ask(), with_inf.ask());
  ASSERT_TRUE(with_nan.best().has_value());
  EXPECT_GE(with_nan.best()->id, 2);
  EXPECT_TRUE(std::isfinite(with_nan.best_fitness()));

  // A generation of failures only: best stays empty-handed at +inf but the run goes on.
  SepCmaEs failing = make_strategy(8, 4);
  failing.tell(std::vector<double>(static_cast<std::size_t>(failing.population_size()),
                                   std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(failing.best_fitness(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(failing.generation(), 1);
}

// Ros & Hansen (2008) report that sep-CMA-ES solves the separable ellipsoid at a cost roughly linear
// in n, a small multiple of the sphere's, because its diagonal learns (n + 2) / 3 times faster than
// full CMA-ES's covariance (which needs on the order of n^2 evaluations to learn the scaling).
// Measured (n = 1000, default lambda = 24, sigma_0 = 0.3, start at value 3 in [-5, 5]^n, f_0 about
// 7e8, target f < 1e-8 absolute, i.e. a 1e-16 reduction): 427,680 evaluations with seed 1 (424,008
// and 423,432 with seeds 2 and 3), about 4.1 times the sphere's 104,088 from the same start; per
// dimension 293 (n = 100), 343 (n = 300), 428 (n = 1000) for the ellipsoid and 106, 106, 104 for the
// sphere. Budget 500,000 evaluations (17% margin). It takes about 4 s of CPU in Release (8 to 10 s
// wall on a shared, loaded machine), the slowest test of this file.
TEST(SepCmaEsTest, SolvesTheSeparableEllipsoidIn1000Dimensions) {
  constexpr Eigen::Index n = 1000;
  SepCmaEs strategy = make_strategy(n, 1);
  const auto result = minimize(strategy, DiagnosticFunction::ellipsoid, {}, start_at_three(n), 1e-8,
                               500'000);
  RecordProperty("evaluations", std::to_string(result.evaluations));
  EXPECT_GT(result.initial, 6e8);
  EXPECT_LT(result.best, 1e-8) << "after " << result.evaluations << " evaluations";
}

// Rastrigin: sep-CMA-ES with the default (small) population converges to a local optimum; Hansen &
// Kern (2004) and Ros & Hansen (2008) need populations of several hundred and more to find the
// global one in high dimension. So this checks only a large reduction. The start, value 3 in
// [-5.12, 5.12]^1000, is itself a local minimum with f_0 = 9000; the first samples (sigma_0 = 3 in
// values) score about 19,000. Measured with seed 1: best 4,540 after 72,000 evaluations and 4,522 at
// 96,000, where sigma has collapsed (4,226 and 4,233 with seeds 2 and 3): a local optimum, about
// half of f_0. Required: best < 5,000 within 84,000 evaluations (3,500 generations, about 3.5 s).
TEST(SepCmaEsTest, ReducesRastriginIn1000DimensionsToALocalOptimum) {
  constexpr Eigen::Index n = 1000;
  const Box box{-5.12, 5.12};
  SepCmaEs strategy(start_at_three(n, box), Eigen::VectorXd(), {}, 1);
  const auto result = minimize(strategy, DiagnosticFunction::rastrigin, box, start_at_three(n, box), -1.0,
                               84'000);
  RecordProperty("best", std::to_string(result.best));
  EXPECT_NEAR(result.initial, 9000.0, 1e-6);
  EXPECT_LT(result.best, 5000.0);
}

}  // namespace
}  // namespace metaevo
