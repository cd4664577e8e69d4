// End-to-end: a run with ga.operator_selection = "bandit" stores the operator statistics per generation
// in the run file, and an interrupted and resumed run gives the uninterrupted one.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <string>
#include <vector>

#include "metaevo/runtime/run.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

// Scalar genes (an update rule), not an [objective]: read_run_file (hence resume) does not yet read
// run files whose genes are all in blocks ('/generations/genes' has n columns, /search_space/name 0).
constexpr const char* bandit_config = R"([run]
seed = 5
generations = 5

[ga]
population_size = 10
elite_count = 2
operator_selection = "bandit"

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 0

[update_rule]
family = "rmsprop"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
alpha = { kind = "real", low = 0.8, high = 0.999, group = "averages" }
schedule = { kind = "categorical", choices = ["constant", "cosine"] }

[[tasks]]
family = "quadratic"
dimension = 6
condition_number = 30
)";

/// /generations/strategy/<name> as doubles over the run's segments (empty, with a failure, when it
/// cannot be read).
std::vector<double> strategy_column(const std::filesystem::path& file, const std::string& name) {
  return testing_support::read_double_dataset(file, "/generations/strategy/" + name);
}

std::vector<std::string> statistic_names() {
  std::vector<std::string> names{"mean_step_size", "min_step_size", "max_step_size"};
  for (std::string_view op : crossover_operator_names) {
    for (const char* what : {"_count", "_credit", "_probability"}) names.push_back("crossover_" + std::string(op) + what);
  }
  for (std::string_view op : mutation_operator_names) {
    for (const char* what : {"_count", "_credit", "_probability"}) names.push_back("mutation_" + std::string(op) + what);
  }
  return names;
}

TEST(GeneticAlgorithmBanditRun, StoresOperatorStatisticsAndResumesIdentically) {
  const RunConfig config = parse_config(bandit_config, "bandit.toml");
  ASSERT_EQ(config.ga.operator_selection, OperatorSelection::bandit);
  TemporaryPath reference("_reference.h5");
  const RunSummary summary = run_search(config, reference.path());
  ASSERT_EQ(summary.generations, 5);

  for (const std::string& name : statistic_names()) EXPECT_EQ(strategy_column(reference.path(), name).size(), 5u) << name;
  // Every bred child (population - elites) is counted once per bandit, from the second generation on
  // (the initial population was not bred by any operator).
  const std::vector<double> blend = strategy_column(reference.path(), "crossover_blend_count");
  const std::vector<double> uniform = strategy_column(reference.path(), "crossover_uniform_count");
  const std::vector<double> none = strategy_column(reference.path(), "crossover_none_count");
  const std::vector<double> probability = strategy_column(reference.path(), "mutation_wide_probability");
  ASSERT_EQ(blend.size(), 5u);
  EXPECT_EQ(blend[0] + uniform[0] + none[0], 0.0);
  for (std::size_t g = 1; g < 5; ++g) EXPECT_EQ(blend[g] + uniform[g] + none[g], 8.0) << g;
  for (double p : probability) {
    EXPECT_GE(p, 0.1 - 1e-12);
    EXPECT_LE(p, 0.8 + 1e-12);
  }

  // Interrupted after 2 generations and resumed: the same file contents, statistics included.
  TemporaryPath output("_resumed.h5");
  int generations_seen = 0;
  RunCallbacks stop;
  stop.on_generation = [&](const GenerationRecord&) { ++generations_seen; };
  stop.should_stop = [&] { return generations_seen >= 2; };
  EXPECT_EQ(run_search(config, output.path(), stop).termination, Termination::interrupted);
  ResumePlan plan = plan_resume(output.path());
  const RunSummary resumed = resume_search(plan);
  EXPECT_EQ(resumed.generations, 5);
  testing_support::expect_same_results(reference.path(), output.path());
  for (const std::string& name : statistic_names()) {
    EXPECT_EQ(strategy_column(output.path(), name), strategy_column(reference.path(), name)) << name;
  }
  EXPECT_EQ(resumed.best_fitness, summary.best_fitness);
}

}  // namespace
}  // namespace metaevo
