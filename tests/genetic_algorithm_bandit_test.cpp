// The GA's adaptive operator selection (operator_selection = "bandit").
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include "metaevo/core/error.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "strategy_test_support.hpp"

namespace metaevo {
namespace {

using testing_support::Box;

SearchSpace block_space(std::int64_t genes, double initial_value = 3.0, double initial_scale = 0.5) {
  return SearchSpace({}, {GeneBlock{"x", genes, -5.0, 5.0, initial_value, initial_scale, "the point"}});
}

GeneticAlgorithmOptions bandit_options() {
  GeneticAlgorithmOptions options;
  options.population_size = 12;
  options.operator_selection = OperatorSelection::bandit;
  return options;
}

std::vector<double> sphere_fitness(const GeneticAlgorithm& ga) {
  std::vector<double> fitness;
  for (const Genome& genome : ga.ask()) {
    fitness.push_back(testing_support::evaluate(DiagnosticFunction::sphere, Box{}, genome.x));
  }
  return fitness;
}

std::map<std::string, double> statistics_of(const GeneticAlgorithm& ga) {
  std::map<std::string, double> named;
  for (const auto& [name, value] : ga.statistics()) named[name] = value;
  return named;
}

TEST(GeneticAlgorithmBanditTest, OptionsAreValidatedAndNamed) {
  const auto expect_error = [](auto change, const std::string& words) {
    GeneticAlgorithmOptions options = bandit_options();
    change(options);
    try {
      validate(options);
      ADD_FAILURE() << "expected ConfigError with " << words;
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    }
  };
  using O = GeneticAlgorithmOptions;
  expect_error([](O& o) { o.operator_selection = static_cast<OperatorSelection>(7); },
               "ga.operator_selection must be \"fixed\" or \"bandit\", got 7");
  expect_error([](O& o) { o.bandit_min_probability = 0.34; }, "ga.bandit_min_probability must be in [0, 0.333");
  expect_error([](O& o) { o.bandit_min_probability = -0.1; }, "ga.bandit_min_probability");
  expect_error([](O& o) { o.bandit_learning_rate = 0; }, "ga.bandit_learning_rate must be in (0, 1], got 0");
  expect_error([](O& o) { o.bandit_learning_rate = std::nan(""); }, "ga.bandit_learning_rate");
  EXPECT_EQ(to_string(OperatorSelection::bandit), "bandit");
  EXPECT_EQ(from_string<OperatorSelection>("fixed"), OperatorSelection::fixed);
  EXPECT_FALSE(from_string<OperatorSelection>("ucb").has_value());
  // The generic Options round trip keeps the new keys.
  GeneticAlgorithmOptions options = bandit_options();
  options.bandit_min_probability = 0.05;
  options.bandit_learning_rate = 0.5;
  const GeneticAlgorithmOptions back = genetic_algorithm_options(to_options(options));
  EXPECT_EQ(back.operator_selection, OperatorSelection::bandit);
  EXPECT_EQ(back.bandit_min_probability, 0.05);
  EXPECT_EQ(back.bandit_learning_rate, 0.5);
}

TEST(GeneticAlgorithmBanditTest, AdaptivePursuitMovesTowardTheCreditedOperator) {
  detail::OperatorBandit bandit;
  EXPECT_EQ(bandit.choose(0.0), 0u);
  EXPECT_EQ(bandit.choose(0.34), 1u);
  EXPECT_EQ(bandit.choose(0.999), 2u);
  for (int g = 0; g < 30; ++g) bandit.update({4, 4, 4}, {0.4, 4.0, 0.0}, 0.1, 0.3);
  EXPECT_NEAR(bandit.probability[1], 0.8, 1e-4);  // p_max = 1 - 2 p_min
  EXPECT_NEAR(bandit.probability[0], 0.1, 1e-4);
  EXPECT_NEAR(bandit.probability[2], 0.1, 1e-4);
  EXPECT_NEAR(bandit.probability[0] + bandit.probability[1] + bandit.probability[2], 1.0, 1e-15);
  EXPECT_NEAR(bandit.quality[1], 1.0, 1e-4);
  EXPECT_NEAR(bandit.quality[0], 0.1, 1e-4);
  // An unused operator keeps its quality; a generation without any use changes nothing.
  const detail::OperatorBandit before = bandit;
  bandit.update({0, 0, 0}, {0, 0, 0}, 0.1, 0.3);
  EXPECT_EQ(bandit.probability, before.probability);
  bandit.update({0, 3, 3}, {0, 0, 3}, 0.1, 0.3);
  EXPECT_EQ(bandit.quality[0], before.quality[0]);
  EXPECT_GT(bandit.quality[2], before.quality[2]);
}

// A crafted problem: fitness = -log(mean step size), so a child mutated with a larger step than its
// parent gains and the "wide" mutation (step x 2) earns almost all the credit.
TEST(GeneticAlgorithmBanditTest, ProbabilityMovesTowardTheOperatorThatGains) {
  GeneticAlgorithmOptions options = bandit_options();
  options.population_size = 20;
  options.initial_step_size = 1e-3;
  options.min_step_size = 1e-4;
  options.max_step_size = 1.0;
  GeneticAlgorithm ga(block_space(4), options, 7);
  for (int g = 0; g < 8; ++g) {
    std::vector<double> fitness;
    for (const Genome& genome : ga.ask()) fitness.push_back(-std::log(genome.step_size.mean()));
    ga.tell(fitness);
  }
  const detail::OperatorBandit& mutation = ga.mutation_bandit();
  EXPECT_GT(mutation.probability[1], 0.6);
  EXPECT_GT(mutation.probability[1], mutation.probability[0]);
  EXPECT_GT(mutation.probability[1], mutation.probability[2]);
  EXPECT_NEAR(mutation.probability[0] + mutation.probability[1] + mutation.probability[2], 1.0, 1e-12);
  const auto stats = statistics_of(ga);
  EXPECT_GT(stats.at("mutation_wide_credit"), stats.at("mutation_narrow_credit"));
}

TEST(GeneticAlgorithmBanditTest, StatisticsNameEveryOperator) {
  GeneticAlgorithmOptions fixed;
  fixed.population_size = 8;
  GeneticAlgorithm plain(block_space(5), fixed, 3);
  plain.tell(sphere_fitness(plain));
  const auto plain_stats = statistics_of(plain);
  EXPECT_EQ(plain_stats.size(), 3u);  // fixed: step-size statistics only
  EXPECT_LE(plain_stats.at("min_step_size"), plain_stats.at("mean_step_size"));
  EXPECT_LE(plain_stats.at("mean_step_size"), plain_stats.at("max_step_size"));

  const GeneticAlgorithmOptions options = bandit_options();
  GeneticAlgorithm ga(block_space(5), options, 3);
  for (int g = 0; g < 3; ++g) ga.tell(sphere_fitness(ga));
  const StrategyStatistics statistics = ga.statistics();
  ASSERT_EQ(statistics.size(), 3u + 18u);
  double crossover_count = 0.0;
  double mutation_count = 0.0;
  double crossover_probability = 0.0;
  for (const auto& [name, value] : statistics) {
    EXPECT_EQ(name.find('/'), std::string::npos) << name;  // a flat HDF5 dataset name
    EXPECT_TRUE(std::isfinite(value)) << name;
  }
  const auto stats = statistics_of(ga);
  for (std::string_view op : crossover_operator_names) {
    const std::string prefix = "crossover_" + std::string(op) + "_";
    crossover_count += stats.at(prefix + "count");
    crossover_probability += stats.at(prefix + "probability");
    EXPECT_GE(stats.at(prefix + "credit"), 0.0);
  }
  for (std::string_view op : mutation_operator_names) mutation_count += stats.at("mutation_" + std::string(op) + "_count");
  EXPECT_EQ(crossover_count, options.population_size - options.elite_count);
  EXPECT_EQ(mutation_count, options.population_size - options.elite_count);
  EXPECT_NEAR(crossover_probability, 1.0, 1e-12);
  EXPECT_EQ(stats.at("crossover_blend_probability"), ga.crossover_bandit().probability[0]);
}

TEST(GeneticAlgorithmBanditTest, SameSeedSameRunAndChildrenUseTheirOwnStreams) {
  const GeneticAlgorithmOptions options = bandit_options();
  GeneticAlgorithm a(block_space(6), options, 11);
  GeneticAlgorithm b(block_space(6), options, 11);
  GeneticAlgorithm other(block_space(6), options, 12);
  for (int g = 0; g < 5; ++g) {
    a.tell(sphere_fitness(a));
    b.tell(sphere_fitness(b));
    other.tell(sphere_fitness(other));
  }
  testing_support::expect_identical(a.ask(), b.ask());
  EXPECT_EQ(a.statistics(), b.statistics());
  EXPECT_NE(a.ask().back().x, other.ask().back().x);
  // The bandit changes what is bred (its operators differ from the fixed ones) ...
  GeneticAlgorithmOptions fixed = options;
  fixed.operator_selection = OperatorSelection::fixed;
  GeneticAlgorithm classic(block_space(6), fixed, 11);
  classic.tell(sphere_fitness(classic));
  GeneticAlgorithm pursued(block_space(6), options, 11);
  pursued.tell(sphere_fitness(pursued));
  EXPECT_NE(classic.ask().back().x, pursued.ask().back().x);
  // ... but not the initial population.
  testing_support::expect_identical(GeneticAlgorithm(block_space(6), fixed, 11).ask(),
                                    GeneticAlgorithm(block_space(6), options, 11).ask());
}

TEST(GeneticAlgorithmBanditTest, CheckpointMidRunContinuesBitIdentically) {
  const GeneticAlgorithmOptions options = bandit_options();
  GeneticAlgorithm original(block_space(6), options, 21);
  for (int g = 0; g < 4; ++g) original.tell(sphere_fitness(original));
  const StrategyState state = original.save_state();
  EXPECT_EQ(state.version, GeneticAlgorithm::state_version);
  EXPECT_TRUE(state.has("bandit/crossover_probability"));
  EXPECT_TRUE(state.has("bandit/child_parent_fitness"));

  GeneticAlgorithm restored(block_space(6), options, 21);
  restored.tell(sphere_fitness(restored));
  restored.load_state(state);
  EXPECT_EQ(restored.statistics(), original.statistics());
  EXPECT_EQ(restored.crossover_bandit().probability, original.crossover_bandit().probability);
  for (int g = 0; g < 4; ++g) {
    original.tell(sphere_fitness(original));
    restored.tell(sphere_fitness(restored));
    EXPECT_EQ(restored.statistics(), original.statistics());
  }
  testing_support::expect_identical(restored.ask(), original.ask());
  EXPECT_EQ(restored.mutation_bandit().quality, original.mutation_bandit().quality);
}

TEST(GeneticAlgorithmBanditTest, CheckpointWithABadBanditIsRefused) {
  const GeneticAlgorithmOptions options = bandit_options();
  GeneticAlgorithm original(block_space(3), options, 5);
  for (int g = 0; g < 2; ++g) original.tell(sphere_fitness(original));
  const StrategyState state = original.save_state();
  const auto expect_refused = [](GeneticAlgorithm target, const StrategyState& image, const std::string& words) {
    const std::vector<Genome> before = target.ask();
    try {
      target.load_state(image);
      ADD_FAILURE() << "expected StorageError mentioning " << words;
    } catch (const StorageError& error) {
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    }
    testing_support::expect_identical(target.ask(), before);
  };
  StrategyState unnormalized = state;
  unnormalized.reals["bandit/crossover_probability"].values[0] += 1e-6;
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), unnormalized, "crossover_probability summing to");
  StrategyState negative = state;
  negative.reals["bandit/mutation_probability"].values[2] = -0.1;
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), negative, "bandit/mutation_probability[2] = -0.1");
  StrategyState infinite = state;
  infinite.reals["bandit/mutation_quality"].values[1] = std::numeric_limits<double>::infinity();
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), infinite, "bandit/mutation_quality[1] = inf");
  StrategyState short_records = state;
  short_records.integers["bandit/child_crossover"].values.pop_back();
  short_records.integers["bandit/child_crossover"].shape = {11};
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), short_records, "bandit/child_crossover");
  StrategyState bad_operator = state;
  bad_operator.integers["bandit/child_mutation"].values[5] = 3;
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), bad_operator, "child 5 with operators");
  StrategyState missing = state;
  missing.reals.erase("bandit/mutation_quality");
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), missing, "bandit/mutation_quality");
  // A fixed run does not load a bandit state, nor a bandit run a fixed one; nor other bandit options.
  GeneticAlgorithmOptions fixed = options;
  fixed.operator_selection = OperatorSelection::fixed;
  expect_refused(GeneticAlgorithm(block_space(3), fixed, 5), state, "options/operator_selection");
  GeneticAlgorithm fixed_run(block_space(3), fixed, 5);
  expect_refused(GeneticAlgorithm(block_space(3), options, 5), fixed_run.save_state(), "options/operator_selection");
  GeneticAlgorithmOptions faster = options;
  faster.bandit_learning_rate = 0.5;
  expect_refused(GeneticAlgorithm(block_space(3), faster, 5), state, "options/bandit_learning_rate = 0.3");
  EXPECT_FALSE(fixed_run.save_state().has("bandit/crossover_probability"));  // fixed states are unchanged
}

// ---- Steady state: credit at tell_offspring from the parents' pool fitness ----

double step_fitness(const Genome& genome) { return -std::log(genome.step_size.mean()); }

void run_step_offspring(GeneticAlgorithm& ga, std::int64_t first, std::int64_t count) {
  for (std::int64_t k = first; k < first + count; ++k) {
    const Genome child = ga.breed_offspring(k);
    ga.tell_offspring(child, step_fitness(child));
  }
}

TEST(GeneticAlgorithmBanditTest, SteadyStateCreditsAtTellAndUpdatesPerPopulation) {
  GeneticAlgorithmOptions options = bandit_options();
  options.population_size = 20;
  options.initial_step_size = 1e-3;
  options.min_step_size = 1e-4;
  options.max_step_size = 1.0;
  GeneticAlgorithm ga(block_space(4), options, 9);
  for (const Genome& genome : ga.ask()) ga.tell_offspring(genome, step_fitness(genome));
  // 17 credited offspring: one short of population_size - elite_count, no update yet.
  run_step_offspring(ga, 0, 17);
  EXPECT_EQ(ga.mutation_bandit().probability, detail::OperatorBandit{}.probability);
  run_step_offspring(ga, 17, 1);
  EXPECT_NE(ga.mutation_bandit().probability, detail::OperatorBandit{}.probability);
  const auto stats = statistics_of(ga);
  EXPECT_EQ(stats.at("mutation_self_adaptive_count") + stats.at("mutation_wide_count") +
                stats.at("mutation_narrow_count"),
            18.0);
  // Offspring told out of order are credited by their own record.
  const Genome late = ga.breed_offspring(18);
  run_step_offspring(ga, 19, 5);
  ga.tell_offspring(late, step_fitness(late));
  run_step_offspring(ga, 24, 8 * 18);
  EXPECT_GT(ga.mutation_bandit().probability[1], 0.6);

  // A checkpoint between offspring continues bit-identically (none in flight).
  GeneticAlgorithm restored(block_space(4), options, 9);
  restored.load_state(ga.save_state());
  for (std::int64_t k = 200; k < 240; ++k) {
    const Genome a = ga.breed_offspring(k);
    const Genome b = restored.breed_offspring(k);
    testing_support::expect_identical({a}, {b});
    ga.tell_offspring(a, step_fitness(a));
    restored.tell_offspring(b, step_fitness(b));
  }
  EXPECT_EQ(restored.mutation_bandit().quality, ga.mutation_bandit().quality);
  EXPECT_EQ(restored.statistics(), ga.statistics());
}

}  // namespace
}  // namespace metaevo
