#include "metaevo/evaluation/evaluator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/rules/update_rule.hpp"

namespace metaevo {
namespace {

constexpr const char* small_adam_config = R"(
[run]
seed = 7
generations = 2

[ga]
population_size = 4
elite_count = 1

[evaluation]
tasks_per_evaluation = 4
inner_steps = 50
holdout_tasks = 4

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-5, high = 1.0 }

[[tasks]]
family = "quadratic"
dimension = 8
condition_number = 10

[[tasks]]
family = "linear_regression"
dimension = 4
samples = 32
)";

Genome genome_with(const SearchSpace& space, const ParameterSet& values, std::int64_t id = 0) {
  Genome genome;
  genome.id = id;
  genome.x = space.encode(values);
  genome.step_size = Eigen::VectorXd::Constant(space.size(), 0.1);
  return genome;
}

TEST(Evaluator, SameGenomeAndKeyGiveBitIdenticalResults) {
  const RunConfig config = parse_config(small_adam_config);
  const Evaluator evaluator(config);
  const Genome genome = genome_with(evaluator.space(), {{"learning_rate", 0.05}}, 3);
  const EvaluationKey key{7, 1, StreamPurpose::task_sample};
  const EvaluationResult first = evaluator.evaluate(genome, key);
  const EvaluationResult second = Evaluator(config).evaluate(genome, key);
  EXPECT_EQ(first.genome_id, 3);
  EXPECT_EQ(first.fitness, second.fitness);
  EXPECT_EQ(first.mean_final_loss, second.mean_final_loss);
  EXPECT_EQ(first.inner_steps, 4 * 50);
  EXPECT_FALSE(first.diverged);
  EXPECT_FALSE(first.failed);
  EXPECT_TRUE(first.reason.empty());
}

TEST(Evaluator, TasksChangeWithGenerationAndPurpose) {
  const Evaluator evaluator(parse_config(small_adam_config));
  const Genome genome = genome_with(evaluator.space(), {{"learning_rate", 0.05}});
  const double generation0 = evaluator.evaluate(genome, {7, 0, StreamPurpose::task_sample}).fitness;
  const double generation1 = evaluator.evaluate(genome, {7, 1, StreamPurpose::task_sample}).fitness;
  const double holdout = evaluator.evaluate(genome, {7, 0, StreamPurpose::holdout_task}).fitness;
  const double other_seed = evaluator.evaluate(genome, {8, 0, StreamPurpose::task_sample}).fitness;
  EXPECT_NE(generation0, generation1);
  EXPECT_NE(generation0, holdout);
  EXPECT_NE(generation0, other_seed);
}

TEST(Evaluator, TaskMixFollowsTheWeightsInEveryGeneration) {
  RunConfig config = parse_config(small_adam_config);
  config.tasks[0].weight = 3.0;  // quadratic : linear_regression = 3 : 1
  const Evaluator evaluator(config);
  auto quadratic_slots = [&](std::int64_t generation, int task_count) {
    int count = 0;
    for (int slot = 0; slot < task_count; ++slot) {
      const EvaluationKey key{7, generation, StreamPurpose::task_sample};
      count += evaluator.family_for_slot(key, slot, task_count).name() == "quadratic" ? 1 : 0;
    }
    return count;
  };
  std::set<int> counts_of_five;
  for (std::int64_t generation = 0; generation < 40; ++generation) {
    EXPECT_EQ(quadratic_slots(generation, 8), 6) << "generation " << generation;  // exactly 3/4 of 8
    counts_of_five.insert(quadratic_slots(generation, 5));                       // 3.75 of 5: 3 or 4
  }
  EXPECT_EQ(counts_of_five, (std::set<int>{3, 4}));
}

TEST(Evaluator, FitnessRanksAUsefulLearningRateAboveAUselessOne) {
  const Evaluator evaluator(parse_config(small_adam_config));
  const EvaluationKey key{7, 0, StreamPurpose::task_sample};
  const double useful = evaluator.evaluate(genome_with(evaluator.space(), {{"learning_rate", 0.05}}), key).fitness;
  const double useless = evaluator.evaluate(genome_with(evaluator.space(), {{"learning_rate", 1e-5}}), key).fitness;
  EXPECT_LT(useful, -1.0);                 // at least a tenfold loss reduction on average
  EXPECT_NEAR(useless, 0.0, 0.05);         // hardly moves: log ratio near zero
  EXPECT_LT(useful, useless);
}

TEST(Evaluator, ScoreFloorCapsEveryTaskScoreAndOnlyThose) {
  RunConfig config = parse_config(small_adam_config);
  const Evaluator unfloored(config);
  const EvaluationKey key{7, 0, StreamPurpose::task_sample};
  const Genome genome = genome_with(unfloored.space(), {{"learning_rate", 0.05}});
  const EvaluationResult reference = unfloored.evaluate(genome, key);
  // A floor between the best and the worst task score caps the tasks below it and keeps the others.
  const auto [lowest, highest] = std::minmax_element(reference.task_scores.begin(), reference.task_scores.end());
  ASSERT_LT(*lowest, *highest);
  const double floor = 0.5 * (*lowest + *highest);
  config.evaluation.score_floor = floor;
  const EvaluationResult floored = Evaluator(config).evaluate(genome, key);
  ASSERT_EQ(floored.task_scores.size(), reference.task_scores.size());
  double sum = 0.0;
  for (std::size_t k = 0; k < reference.task_scores.size(); ++k) {
    EXPECT_EQ(floored.task_scores[k], std::max(floor, reference.task_scores[k])) << "task " << k;
    EXPECT_EQ(floored.task_final_losses[k], reference.task_final_losses[k]) << "task " << k;
    sum += floored.task_scores[k];
  }
  EXPECT_DOUBLE_EQ(floored.fitness, sum / static_cast<double>(floored.task_scores.size()));
  EXPECT_GT(floored.fitness, reference.fitness);
}

TEST(Evaluator, DivergingInnerLoopGetsPenaltyAndFlagNotACrash) {
  RunConfig config = parse_config(R"(
[run]
seed = 1
[evaluation]
tasks_per_evaluation = 3
inner_steps = 40
penalty_fitness = 12.5
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 10.0 }
[[tasks]]
family = "quadratic"
dimension = 6
condition_number = 100
)");
  const Evaluator evaluator(config);
  // Plain gradient descent with lr 10 on curvature up to 100 multiplies the error by ~1000 a step.
  const EvaluationResult result =
      evaluator.evaluate(genome_with(evaluator.space(), {{"learning_rate", 10.0}}), {1, 0, StreamPurpose::task_sample});
  EXPECT_TRUE(result.diverged);
  EXPECT_FALSE(result.failed);
  EXPECT_DOUBLE_EQ(result.fitness, 12.5);
  EXPECT_NE(result.reason.find("diverged"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("quadratic"), std::string::npos) << result.reason;
  EXPECT_TRUE(std::isnan(result.mean_final_loss));
}

TEST(Evaluator, ThrowingEvaluationBecomesAFailedResult) {
  const RunConfig config = parse_config(small_adam_config);
  const Evaluator evaluator(config);
  ParameterSet broken = default_hyperparameters("adam");
  broken["no_such_hyperparameter"] = 1.0;  // make_update_rule throws inside the evaluation
  const EvaluationResult result = evaluator.evaluate_parameters(broken, {7, 0, StreamPurpose::task_sample}, 2);
  EXPECT_TRUE(result.failed);
  EXPECT_DOUBLE_EQ(result.fitness, config.evaluation.penalty_fitness);
  EXPECT_NE(result.reason.find("no_such_hyperparameter"), std::string::npos) << result.reason;
}

TEST(Evaluator, HyperparametersMergeDefaultsFixedAndGenes) {
  RunConfig config = parse_config(small_adam_config);
  config.update_rule.fixed["beta2"] = 0.95;
  const Evaluator evaluator(config);
  const ParameterSet merged = evaluator.hyperparameters_of(genome_with(evaluator.space(), {{"learning_rate", 0.01}}));
  EXPECT_NEAR(numeric_parameter(merged, "learning_rate"), 0.01, 1e-12);
  EXPECT_DOUBLE_EQ(numeric_parameter(merged, "beta2"), 0.95);
  EXPECT_DOUBLE_EQ(numeric_parameter(merged, "beta1"), numeric_parameter(default_hyperparameters("adam"), "beta1"));
}

}  // namespace
}  // namespace metaevo
