// `metaevo evaluate`: baselines tuned on meta-training tasks only, every contender on the same fresh
// held-out tasks, win rates with Wilson intervals, the /evaluation group and the held-out task file.
#include "metaevo/evaluation/held_out_evaluation.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/config/task_set.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/evaluation/win_rate.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/evaluation_store.hpp"
#include "metaevo/store/run_report.hpp"
#include "metaevo/store/run_store.hpp"
#include "metaevo/tasks/task.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// ----- A task family that records every seed it is sampled with, and the tag of its table. -----

struct SampledTask {
  std::int64_t tag;
  std::uint64_t seed;
};
std::vector<SampledTask>& sampled_tasks() {
  static std::vector<SampledTask> sampled;
  return sampled;
}

class RecordedTask final : public Task {
 public:
  RecordedTask(Eigen::VectorXd centre, double curvature) : centre_(std::move(centre)), curvature_(curvature) {}
  Eigen::Index dimension() const override { return centre_.size(); }
  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Zero(centre_.size()); }
  double loss(const Eigen::VectorXd& x) const override { return 0.5 * curvature_ * (x - centre_).squaredNorm(); }
  double loss_and_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) const override {
    gradient = curvature_ * (x - centre_);
    return loss(x);
  }

 private:
  Eigen::VectorXd centre_;
  double curvature_;
};

class RecordedFamily final : public TaskFamily {
 public:
  explicit RecordedFamily(const Options& options)
      : tag_(options.integer("tag")), dimension_(options.integer("dimension")) {}
  std::string_view name() const override { return "recorded_sphere"; }
  std::unique_ptr<Task> sample(std::uint64_t seed) const override {
    sampled_tasks().push_back({tag_, seed});
    RandomStream stream(seed);
    Eigen::VectorXd centre(dimension_);
    for (Eigen::Index i = 0; i < centre.size(); ++i) centre(i) = 1.0 + stream.normal();
    // Curvature spread over two decades: different tasks want different learning rates.
    return std::make_unique<RecordedTask>(centre, std::pow(10.0, stream.uniform(-1.0, 1.0)));
  }

 private:
  std::int64_t tag_;
  std::int64_t dimension_;
};

void register_recorded_family_once() {
  if (task_family_registry().contains("recorded_sphere")) return;
  register_task_family({
      .name = "recorded_sphere",
      .help = "0.5 k |x - c|^2 (a test family that records the seeds it is sampled with)",
      .options = {integer_option("tag", 0, NumericRange::closed(0, 100), "which table sampled"),
                  integer_option("dimension", 3, NumericRange::closed(1, 50), "parameters")},
      .make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
        return std::make_unique<RecordedFamily>(options);
      },
  });
}

constexpr const char* recorded_config = R"([run]
seed = 5
generations = 1

[ga]
population_size = 4
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 12
holdout_tasks = 0
validation_tasks = 0

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.3 }

[[tasks]]
family = "recorded_sphere"
tag = 1
dimension = 3
)";

constexpr const char* recorded_held_out = R"(# other sizes and a longer inner loop
[evaluation]
inner_steps = 20

[[tasks]]
family = "recorded_sphere"
tag = 2
dimension = 5

[[tasks]]
family = "recorded_sphere"
weight = 2.0
tag = 3
dimension = 2
)";

/// The run's best rule without a run: Adam at a fixed learning rate.
ExportedUpdateRule hand_made_rule() {
  ExportedUpdateRule rule;
  rule.family = "adam";
  rule.hyperparameters = default_hyperparameters("adam");
  rule.hyperparameters["learning_rate"] = 0.05;
  rule.architecture = update_rule_architecture("adam");
  rule.inner_steps = 12;
  return rule;
}

HeldOutOptions small_options(int held_out_tasks, int tuning_tasks) {
  HeldOutOptions options;
  options.held_out_tasks = held_out_tasks;
  options.tuning_tasks = tuning_tasks;
  return options;
}

std::set<std::uint64_t> seeds_of(const std::vector<SampledTask>& tasks) {
  std::set<std::uint64_t> seeds;
  for (const SampledTask& task : tasks) seeds.insert(task.seed);
  return seeds;
}

std::set<std::int64_t> tags_of(const std::vector<SampledTask>& tasks) {
  std::set<std::int64_t> tags;
  for (const SampledTask& task : tasks) tags.insert(task.tag);
  return tags;
}

bool disjoint(const std::set<std::uint64_t>& a, const std::set<std::uint64_t>& b) {
  return std::none_of(a.begin(), a.end(), [&b](std::uint64_t seed) { return b.contains(seed); });
}

TEST(HeldOutEvaluation, TunerNeverSeesHeldOutSeedsOrFamilies) {
  register_recorded_family_once();
  const RunConfig config = parse_config(recorded_config, "recorded.toml");
  const TaskSet held_out = parse_task_set(recorded_held_out, "held_out.toml");
  const HeldOutOptions options = small_options(9, 4);

  sampled_tasks().clear();
  const std::vector<BaselineTuning> tuning = tune_baselines(config, options);
  const std::vector<SampledTask> tuned_on = sampled_tasks();
  sampled_tasks().clear();
  const HeldOutEvaluation evaluation =
      evaluate_contenders(held_out_config(config, &held_out), hand_made_rule(), tuning, options);
  const std::vector<SampledTask> evaluated_on = sampled_tasks();

  // The tuner saw only the run's own [[tasks]] (tag 1), on K distinct seeds.
  EXPECT_EQ(tags_of(tuned_on), (std::set<std::int64_t>{1}));
  EXPECT_EQ(seeds_of(tuned_on).size(), 4u);
  EXPECT_EQ(tuned_on.size(), 4u * options.learning_rate_grid.size() * options.baselines.size());
  // The contenders saw only the held-out tables, on the N seeds the evaluation reports.
  EXPECT_EQ(tags_of(evaluated_on), (std::set<std::int64_t>{2, 3}));
  EXPECT_EQ(seeds_of(evaluated_on),
            std::set<std::uint64_t>(evaluation.task_seeds.begin(), evaluation.task_seeds.end()));
  EXPECT_EQ(seeds_of(evaluated_on).size(), 9u);
  EXPECT_EQ(evaluated_on.size(), 9u * (options.baselines.size() + 1));  // the same tasks for every contender
  EXPECT_TRUE(disjoint(seeds_of(tuned_on), seeds_of(evaluated_on)));
  EXPECT_EQ(evaluation.inner_steps, 20);
  EXPECT_EQ(evaluation.curve_length(), 21u);

  // Without a task file the held-out tasks are the run's own families, still on fresh seeds.
  sampled_tasks().clear();
  const HeldOutEvaluation same_families = evaluate_held_out(config, hand_made_rule(), nullptr, options);
  std::vector<SampledTask> all = sampled_tasks();
  EXPECT_EQ(tags_of(all), (std::set<std::int64_t>{1}));
  const std::set<std::uint64_t> fresh(same_families.task_seeds.begin(), same_families.task_seeds.end());
  EXPECT_TRUE(disjoint(seeds_of(tuned_on), fresh));
  EXPECT_EQ(seeds_of(all).size(), seeds_of(tuned_on).size() + fresh.size());
  EXPECT_EQ(same_families.inner_steps, 12);
  EXPECT_EQ(same_families.held_out_source, "run config");
}

TEST(HeldOutEvaluation, TunedRateIsTheGridPointWithTheBestMeanFitness) {
  register_recorded_family_once();
  const RunConfig config = parse_config(recorded_config, "recorded.toml");
  HeldOutOptions options = small_options(3, 5);
  options.learning_rate_grid = {1e-3, 1e-2, 0.1, 1.0, 5.0};
  const std::vector<BaselineTuning> tuning = tune_baselines(config, options);
  ASSERT_EQ(tuning.size(), 4u);
  const Evaluator evaluator(config);
  const EvaluationKey key{config.run.seed, 0, StreamPurpose::baseline_tuning};
  std::set<double> chosen;
  for (std::size_t b = 0; b < tuning.size(); ++b) {
    const Baseline& baseline = options.baselines[b];
    EXPECT_EQ(tuning[b].name, baseline.name);
    ASSERT_EQ(tuning[b].fitness.size(), options.learning_rate_grid.size());
    std::size_t best = 0;
    for (std::size_t g = 0; g < options.learning_rate_grid.size(); ++g) {
      RuleParameters parameters;
      parameters.hyperparameters = baseline_hyperparameters(baseline, options.learning_rate_grid[g]);
      parameters.inner_steps = config.evaluation.inner_steps;
      // One evaluation of all K tasks, as the search scores a genome: the same mean, bit for bit.
      const double direct = evaluator.evaluate_rule(baseline.family, parameters, key, options.tuning_tasks).fitness;
      EXPECT_EQ(tuning[b].fitness[g], direct) << baseline.name << " at " << options.learning_rate_grid[g];
      if (direct < tuning[b].fitness[best]) best = g;
    }
    EXPECT_EQ(tuning[b].best_index, best) << baseline.name;
    EXPECT_EQ(tuning[b].learning_rate, options.learning_rate_grid[best]);
    chosen.insert(tuning[b].learning_rate);
  }
  // Not trivially the first or last point for all of them: the grid matters.
  EXPECT_GT(chosen.size(), 1u);
  EXPECT_EQ(baseline_hyperparameters(options.baselines[1], 0.5).at("momentum"), GeneValue(0.9));
  EXPECT_EQ(baseline_hyperparameters(options.baselines[3], 0.5).at("schedule"), GeneValue(std::string("cosine")));
}

TEST(HeldOutEvaluation, CountsEveryInnerLoopOfEachPhaseForAProgressMeter) {
  register_recorded_family_once();
  const RunConfig config = parse_config(recorded_config, "recorded.toml");
  HeldOutOptions options = small_options(3, 2);
  options.learning_rate_grid = {1e-2, 0.1};
  struct Call {
    std::string phase;
    std::int64_t done;
    std::int64_t total;
  };
  std::vector<Call> calls;
  options.on_inner_loop = [&](std::string_view phase, std::int64_t done, std::int64_t total) {
    calls.push_back({std::string(phase), done, total});
  };
  evaluate_held_out(config, hand_made_rule(), nullptr, options);
  const std::int64_t tuning_loops = 4 * 2 * 2;  // baselines x grid x tuning tasks
  const std::int64_t evaluating_loops = 5 * 3;  // contenders x held-out tasks
  ASSERT_EQ(calls.size(), static_cast<std::size_t>(tuning_loops + 1 + evaluating_loops + 1));
  for (std::int64_t i = 0; i <= tuning_loops; ++i) {
    const Call& call = calls[static_cast<std::size_t>(i)];
    EXPECT_EQ(call.phase, "tuning");
    EXPECT_EQ(call.done, i);  // 0 when the phase starts, then one more per inner loop
    EXPECT_EQ(call.total, tuning_loops);
  }
  for (std::int64_t i = 0; i <= evaluating_loops; ++i) {
    const Call& call = calls[static_cast<std::size_t>(tuning_loops + 1 + i)];
    EXPECT_EQ(call.phase, "evaluating");
    EXPECT_EQ(call.done, i);
    EXPECT_EQ(call.total, evaluating_loops);
  }
}

TEST(HeldOutEvaluation, DefaultGridAndOptionChecks) {
  const std::vector<double> grid = default_learning_rate_grid();
  ASSERT_EQ(grid.size(), 13u);
  EXPECT_EQ(grid.front(), 1e-4);
  EXPECT_EQ(grid.back(), 1.0);
  EXPECT_NEAR(grid[1], 2.154434690031884e-4, 1e-18);
  EXPECT_NEAR(grid[9], 0.1, 1e-15);
  HeldOutOptions options;
  options.held_out_tasks = 0;
  EXPECT_THROW(validate(options), ConfigError);
  options = HeldOutOptions{};
  options.learning_rate_grid = {0.0};
  EXPECT_THROW(validate(options), ConfigError);
  options = HeldOutOptions{};
  options.baselines.push_back({"evolved", "sgd", {}});
  EXPECT_THROW(validate(options), ConfigError);
  options = HeldOutOptions{};
  options.baselines.push_back({"sgd_fixed", "sgd", {{"learning_rate", 0.1}}});
  EXPECT_THROW(validate(options), ConfigError);
  EXPECT_NO_THROW(validate(HeldOutOptions{}));
}

TEST(WinRate, WilsonIntervalMatchesHandComputedValues) {
  // 8 of 10: p = 0.8, z² = 3.8415; centre (0.8 + 0.19207) / 1.38415 = 0.71681, half-width
  // 1.95996 / 1.38415 * sqrt(0.016 + 0.0096036) = 0.22658.
  const Interval eight = wilson_interval(8.0, 10);
  EXPECT_NEAR(eight.low, 0.49016, 5e-5);
  EXPECT_NEAR(eight.high, 0.94330, 5e-5);
  const Interval half = wilson_interval(5.0, 10);
  EXPECT_NEAR(half.low, 0.23659, 5e-5);
  EXPECT_NEAR(half.high, 0.76341, 5e-5);
  // At the ends the interval is not empty (the normal approximation's would be).
  const Interval none = wilson_interval(0.0, 10);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.27753, 5e-5);
  const Interval all = wilson_interval(10.0, 10);
  EXPECT_NEAR(all.low, 0.72247, 5e-5);
  EXPECT_EQ(all.high, 1.0);  // exactly: the bound at p = 1
  // 1 of 1: centre (1 + 1.92073) / 4.84146 = 0.60328, half-width 1.95996 / 4.84146 * sqrt(0.96037) = 0.39672.
  const Interval one = wilson_interval(1.0, 1);
  EXPECT_NEAR(one.low, 0.20654, 5e-5);
  EXPECT_EQ(one.high, 1.0);
  const Interval empty = wilson_interval(0.0, 0);
  EXPECT_TRUE(std::isnan(empty.low) && std::isnan(empty.high));
}

TEST(WinRate, TiesCountHalfAndADivergedRunLosesToAnyFinishedOne) {
  // win, exact tie, diverged A loses, both diverged (tie), diverged B loses, A higher loses.
  const std::vector<double> a = {1.0, 2.0, infinity, nan, 3.0, 5.0};
  const std::vector<double> b = {2.0, 2.0, 1e30, infinity, nan, 4.0};
  const WinRate win = win_rate(a, b);
  EXPECT_EQ(win.tasks, 6u);
  EXPECT_EQ(win.wins, 3.0);
  EXPECT_EQ(win.rate, 0.5);
  const Interval expected = wilson_interval(3.0, 6);
  EXPECT_EQ(win.interval.low, expected.low);
  EXPECT_EQ(win.interval.high, expected.high);
  EXPECT_EQ(win_rate(b, a).wins, 3.0);  // the complement: 6 - 3
  // Losses within a relative 1e-6 tie (both reached the optimum); beyond it the lower one wins.
  EXPECT_EQ(win_rate(std::vector<double>{0.3531653653}, std::vector<double>{0.3531653646}).wins, 0.5);
  EXPECT_EQ(win_rate(std::vector<double>{0.0}, std::vector<double>{0.0}).wins, 0.5);
  EXPECT_EQ(win_rate(std::vector<double>{0.35316}, std::vector<double>{0.35317}).wins, 1.0);
  EXPECT_EQ(win_rate(std::vector<double>{1.0}, std::vector<double>{1.0 + 1e-9}, 0.0).wins, 1.0);
  EXPECT_THROW(win_rate(a, std::vector<double>{1.0}), Error);
  EXPECT_TRUE(std::isnan(win_rate({}, {}).rate));

  EXPECT_EQ(median_loss({3.0, nan, 1.0}), 3.0);
  EXPECT_EQ(median_loss({4.0, 1.0, 2.0, 3.0}), 2.5);
  EXPECT_EQ(median_loss({1.0, 2.0, nan, infinity}), infinity);  // half diverged
  EXPECT_TRUE(std::isnan(median_loss({})));
}

// ----- The held-out task file -----------------------------------------------------------------

TEST(TaskSet, ReadsTasksAsARunConfigDoesAndTheInnerSteps) {
  const TaskSet set = parse_task_set(R"([evaluation]
inner_steps = 400

[[tasks]]
family = "quadratic"
dimension = 50
condition_number = 1e4

[[tasks]]
family = "mlp_regression"
activation = "relu"
hidden_layers = [32, 32]
)",
                                     "held.toml");
  ASSERT_EQ(set.tasks.size(), 2u);
  EXPECT_EQ(set.inner_steps, 400);
  EXPECT_EQ(set.tasks[0].family, "quadratic");
  EXPECT_EQ(set.tasks[0].options.integer("dimension"), 50);
  EXPECT_EQ(set.tasks[1].options.string("activation"), "relu");
  EXPECT_EQ(set.source_name, "held.toml");
  EXPECT_FALSE(parse_task_set("[[tasks]]\nfamily = \"rosenbrock\"\n").inner_steps.has_value());
}

void expect_task_file_error(const std::string& text, const std::string& expected) {
  try {
    parse_task_set(text, "held.toml");
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  }
}

TEST(TaskSet, ErrorsNameTheFileLineAndKey) {
  expect_task_file_error("[[tasks]]\nfamily = \"quadratic\"\ndimension = = 3\n", "held.toml:3:");
  expect_task_file_error("[[tasks]]\nfamily = \"quadratic\"\n\n[[tasks]]\nfamily = \"quadratc\"\n",
                         "held.toml:5: tasks[1].family must be one of quadratic");
  expect_task_file_error("[[tasks]]\nfamily = \"quadratic\"\ndimensions = 3\n",
                         "held.toml:3: unknown key tasks[0].dimensions (did you mean dimension?)");
  expect_task_file_error("[[tasks]]\nfamily = \"quadratic\"\ndimension = 0\n", "held.toml:3: tasks[0].dimension");
  expect_task_file_error("[evaluation]\ninner_steps = 0\n[[tasks]]\nfamily = \"quadratic\"\n",
                         "held.toml:2: evaluation.inner_steps must be in [1, 10000000], got 0");
  expect_task_file_error("[evaluation]\ntasks_per_evaluation = 3\n[[tasks]]\nfamily = \"quadratic\"\n",
                         "held.toml:2: unknown key evaluation.tasks_per_evaluation");
  expect_task_file_error("[run]\nseed = 1\n[[tasks]]\nfamily = \"quadratic\"\n", "held.toml:1: unknown table [run]");
  expect_task_file_error("[evaluation]\ninner_steps = 10\n", "at least one [[tasks]] table is required");
}

// ----- The /evaluation group ------------------------------------------------------------------

constexpr const char* small_run = R"([run]
seed = 17
generations = 2

[ga]
population_size = 4
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 15
holdout_tasks = 0
validation_tasks = 0

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.3 }

[[tasks]]
family = "quadratic"
dimension = 4

[[tasks]]
family = "logistic_regression"
dimension = 3
samples = 16
)";

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

void expect_identical(const HeldOutEvaluation& a, const HeldOutEvaluation& b) {
  EXPECT_EQ(a.run_seed, b.run_seed);
  EXPECT_EQ(a.evolved_family, b.evolved_family);
  EXPECT_EQ(a.evolved_genome_id, b.evolved_genome_id);
  EXPECT_EQ(a.evolved_generation, b.evolved_generation);
  EXPECT_EQ(a.inner_steps, b.inner_steps);
  EXPECT_EQ(a.tuning_inner_steps, b.tuning_inner_steps);
  EXPECT_EQ(a.tuning_tasks, b.tuning_tasks);
  EXPECT_EQ(a.task_count, b.task_count);
  EXPECT_EQ(a.held_out_source, b.held_out_source);
  EXPECT_EQ(a.held_out_toml, b.held_out_toml);
  EXPECT_EQ(a.contenders, b.contenders);
  EXPECT_EQ(a.contender_families, b.contender_families);
  EXPECT_TRUE(same_bits(a.learning_rates, b.learning_rates));
  EXPECT_TRUE(same_bits(a.learning_rate_grid, b.learning_rate_grid));
  ASSERT_EQ(a.tuning_fitness.size(), b.tuning_fitness.size());
  for (std::size_t i = 0; i < a.tuning_fitness.size(); ++i)
    EXPECT_TRUE(same_bits(a.tuning_fitness[i], b.tuning_fitness[i]));
  EXPECT_EQ(a.task_family_names, b.task_family_names);
  EXPECT_EQ(a.task_families, b.task_families);
  EXPECT_EQ(a.task_seeds, b.task_seeds);
  ASSERT_EQ(a.final_losses.size(), b.final_losses.size());
  for (std::size_t i = 0; i < a.final_losses.size(); ++i) EXPECT_TRUE(same_bits(a.final_losses[i], b.final_losses[i]));
  EXPECT_EQ(a.outcomes, b.outcomes);
  EXPECT_TRUE(same_bits(a.learning_curves, b.learning_curves));
  EXPECT_EQ(a.summary_task_counts, b.summary_task_counts);
  ASSERT_EQ(a.median_final_loss.size(), b.median_final_loss.size());
  ASSERT_EQ(a.win_rates.size(), b.win_rates.size());
  for (std::size_t r = 0; r < a.win_rates.size(); ++r) {
    EXPECT_TRUE(same_bits(a.median_final_loss[r], b.median_final_loss[r]));
    ASSERT_EQ(a.win_rates[r].size(), b.win_rates[r].size());
    for (std::size_t c = 0; c < a.win_rates[r].size(); ++c) {
      EXPECT_TRUE(same_bits({a.win_rates[r][c].wins, a.win_rates[r][c].rate, a.win_rates[r][c].interval.low,
                             a.win_rates[r][c].interval.high},
                            {b.win_rates[r][c].wins, b.win_rates[r][c].rate, b.win_rates[r][c].interval.low,
                             b.win_rates[r][c].interval.high}));
      EXPECT_EQ(a.win_rates[r][c].tasks, b.win_rates[r][c].tasks);
    }
  }
}

TEST(HeldOutEvaluation, StoredGroupReadsBackAndASecondEvaluationReplacesIt) {
  TemporaryPath run_file("_evaluate.h5");
  run_search(parse_config(small_run, "small.toml"), run_file.path());
  const RunConfig config = stored_run_config(run_file.path());
  const ExportedUpdateRule best = best_update_rule(run_file.path());
  EXPECT_THROW(read_evaluation(run_file.path()), StorageError);  // none yet

  const TaskSet held_out = parse_task_set(
      "[evaluation]\ninner_steps = 25\n[[tasks]]\nfamily = \"quadratic\"\n"
      "dimension = 8\ncondition_number = 1000\n",
      "held.toml");
  const HeldOutEvaluation first = evaluate_held_out(config, best, &held_out, small_options(7, 3));
  EXPECT_EQ(first.evolved_genome_id, best.genome_id);
  EXPECT_EQ(first.held_out_source, "held.toml");
  EXPECT_EQ(first.held_out_toml, held_out.source_text);
  ASSERT_EQ(first.contenders, (std::vector<std::string>{"evolved", "sgd", "momentum", "adam", "adam_cosine"}));
  EXPECT_TRUE(std::isnan(first.learning_rates[0]));
  ASSERT_EQ(first.summary_task_counts, (std::vector<int>{7, 7}));  // one family, then all tasks
  // A curve starts at the task's initial loss, the same for every contender (same task), and ends at
  // the final loss unless the run diverged.
  for (std::size_t c = 0; c < first.contender_count(); ++c) {
    for (std::size_t k = 0; k < 7; ++k) {
      EXPECT_EQ(first.curve(c, k)[0], first.curve(0, k)[0]);
      const double expected = first.outcomes[c][k] == 0 ? first.curve(c, k)[25] : infinity;
      EXPECT_EQ(first.final_losses[c][k], expected) << first.contenders[c] << " on task " << k;
    }
  }

  const RunFileContents before = read_run_file(run_file.path());
  write_evaluation(run_file.path(), first);
  expect_identical(read_evaluation(run_file.path()), first);
  // The run itself is carried over whole and can still be resumed.
  const RunFileContents after = read_run_file(run_file.path());
  EXPECT_EQ(after.schema_version, before.schema_version);
  EXPECT_EQ(after.config_toml, before.config_toml);
  EXPECT_EQ(after.seed, before.seed);
  EXPECT_EQ(after.generations, 2);
  EXPECT_EQ(after.fitness, before.fitness);
  EXPECT_EQ(after.best_genome_id, before.best_genome_id);
  EXPECT_EQ(after.best_genes, before.best_genes);
  EXPECT_EQ(after.checkpoint_generation, before.checkpoint_generation);
  EXPECT_EQ(after.segments, before.segments);
  EXPECT_NO_THROW(RunStore::resume(run_file.path()));

  const HeldOutEvaluation second = evaluate_held_out(config, best, nullptr, small_options(40, 2));
  write_evaluation(run_file.path(), second);
  const HeldOutEvaluation read_back = read_evaluation(run_file.path());
  expect_identical(read_back, second);
  EXPECT_EQ(read_back.task_count, 40);
  EXPECT_EQ(read_back.inner_steps, 15);
  // Each write builds a fresh root: rewriting the same evaluation leaves the file's size as it was
  // (no space of a replaced group is left behind).
  const auto size = std::filesystem::file_size(run_file.path());
  for (int i = 0; i < 3; ++i) write_evaluation(run_file.path(), second);
  EXPECT_EQ(std::filesystem::file_size(run_file.path()), size);
  EXPECT_FALSE(std::filesystem::exists(run_file.string() + ".evaluation.partial"));
}

TEST(HeldOutEvaluation, SameInputsGiveBitIdenticalResults) {
  register_recorded_family_once();
  const RunConfig config = parse_config(recorded_config, "recorded.toml");
  const TaskSet held_out = parse_task_set(recorded_held_out, "held_out.toml");
  const HeldOutEvaluation a = evaluate_held_out(config, hand_made_rule(), &held_out, small_options(6, 3));
  const HeldOutEvaluation b = evaluate_held_out(config, hand_made_rule(), &held_out, small_options(6, 3));
  expect_identical(a, b);
  const std::string table = format_evaluation_table(a);
  EXPECT_NE(table.find("all families: 6 tasks"), std::string::npos) << table;
  EXPECT_NE(table.find("adam_cosine"), std::string::npos) << table;
}

}  // namespace
}  // namespace metaevo
