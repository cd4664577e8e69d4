// The TOML configuration: values land in the right fields, defaults fill the gaps, and every class
// of mistake is rejected with the key and the line it is on.
#include "metaevo/config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <variant>

#include "metaevo/core/error.hpp"
#include "metaevo/tasks/task.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

constexpr const char* full_config = R"(# every section set
[run]
seed = 1234
generations = 7

[ga]
population_size = 12
elite_count = 3
tournament_size = 4
crossover = "uniform"
crossover_rate = 1
blend_alpha = 0.25
initial_step_size = 0.2
min_step_size = 0.01
max_step_size = 0.4
step_size_adaptation = "per_group"
categorical_mutation_rate = 0.3

[evaluation]
tasks_per_evaluation = 5
inner_steps = 250
fitness = "auc"
divergence_factor = 50.0
penalty_fitness = 4.5
score_floor = -5
holdout_tasks = 0

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1e-1 }
beta1 = { kind = "real", low = 0.5, high = 0.99, group = "moments" }
schedule = { kind = "categorical", choices = ["constant", "cosine", "warmup_cosine"] }
final_lr_fraction = { kind = "integer", low = 0, high = 1 }
[update_rule.fixed]
epsilon = 1e-8
beta2 = 0.99
warmup_fraction = 0

[[tasks]]
family = "quadratic"
weight = 2.0
dimension = 20
condition_number = 100

[[tasks]]
family = "mlp_classification"
dimension = 3
samples = 40
noise = 0.05
hidden_layers = [8, 4]
activation = "relu"
classes = 4
initial_scale = 0.5
)";

constexpr const char* minimal_config = R"([run]
seed = 0

[update_rule]
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1e-1 }

[[tasks]]
family = "rosenbrock"
)";

/// 1-based line of the first line of `text` containing `needle` (fails the test if there is none).
int line_containing(const std::string& text, const std::string& needle) {
  int line = 1;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string current = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (current.find(needle) != std::string::npos) return line;
    if (end == std::string::npos) break;
    start = end + 1;
    ++line;
  }
  ADD_FAILURE() << "no line contains " << needle;
  return -1;
}

/// Replaces the first occurrence of `from` (which must exist) by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "config has no " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "test.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "config was accepted:\n" << text;
  return {};
}

/// The config is rejected at the line holding `line_needle`, with every one of `parts` in the message.
void expect_rejected(const std::string& text, const std::string& line_needle, std::initializer_list<std::string> parts) {
  const std::string message = error_of(text);
  const std::string location = "test.toml:" + std::to_string(line_containing(text, line_needle)) + ": ";
  EXPECT_EQ(message.rfind(location, 0), 0u) << "expected " << location << " at the start of: " << message;
  for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << part << " not in: " << message;
}

TEST(ConfigTest, FullConfigParsesEveryField) {
  const RunConfig config = parse_config(full_config, "full.toml");
  EXPECT_EQ(config.source_text, full_config);
  EXPECT_EQ(config.source_name, "full.toml");

  EXPECT_EQ(config.run.seed, 1234u);
  EXPECT_EQ(config.run.generations, 7);

  EXPECT_EQ(config.ga.population_size, 12);
  EXPECT_EQ(config.ga.elite_count, 3);
  EXPECT_EQ(config.ga.tournament_size, 4);
  EXPECT_EQ(config.ga.crossover, CrossoverKind::uniform);
  EXPECT_EQ(config.ga.crossover_rate, 1.0);  // an integer where a real is expected
  EXPECT_EQ(config.ga.blend_alpha, 0.25);
  EXPECT_EQ(config.ga.initial_step_size, 0.2);
  EXPECT_EQ(config.ga.min_step_size, 0.01);
  EXPECT_EQ(config.ga.max_step_size, 0.4);
  EXPECT_EQ(config.ga.step_size_adaptation, StepSizeAdaptation::per_group);
  EXPECT_EQ(config.ga.categorical_mutation_rate, 0.3);

  EXPECT_EQ(config.evaluation.tasks_per_evaluation, 5);
  EXPECT_EQ(config.evaluation.inner_steps, 250);
  EXPECT_EQ(config.evaluation.fitness, FitnessMeasure::auc);
  EXPECT_EQ(config.evaluation.divergence_factor, 50.0);
  EXPECT_EQ(config.evaluation.penalty_fitness, 4.5);
  EXPECT_EQ(config.evaluation.score_floor, -5.0);
  EXPECT_EQ(config.evaluation.holdout_tasks, 0);

  EXPECT_EQ(config.update_rule.family, "adam");
  const std::vector<GeneSpec>& genes = config.update_rule.genes;
  ASSERT_EQ(genes.size(), 4u);
  // File order, not alphabetical order.
  EXPECT_EQ(genes[0].name, "learning_rate");
  EXPECT_EQ(genes[0].kind, GeneKind::log_real);
  EXPECT_EQ(genes[0].low, 1e-4);
  EXPECT_EQ(genes[0].high, 1e-1);
  EXPECT_EQ(genes[0].group, "");
  EXPECT_EQ(genes[1].name, "beta1");
  EXPECT_EQ(genes[1].kind, GeneKind::real);
  EXPECT_EQ(genes[1].low, 0.5);
  EXPECT_EQ(genes[1].high, 0.99);
  EXPECT_EQ(genes[1].group, "moments");
  EXPECT_EQ(genes[2].name, "schedule");
  EXPECT_EQ(genes[2].kind, GeneKind::categorical);
  EXPECT_EQ(genes[2].choices, (std::vector<std::string>{"constant", "cosine", "warmup_cosine"}));
  EXPECT_EQ(genes[3].name, "final_lr_fraction");
  EXPECT_EQ(genes[3].kind, GeneKind::integer);
  EXPECT_EQ(genes[3].low, 0.0);
  EXPECT_EQ(genes[3].high, 1.0);

  const ParameterSet& fixed = config.update_rule.fixed;
  ASSERT_EQ(fixed.size(), 3u);
  EXPECT_EQ(std::get<double>(fixed.at("epsilon")), 1e-8);
  EXPECT_EQ(std::get<double>(fixed.at("beta2")), 0.99);
  EXPECT_EQ(numeric_parameter(fixed, "warmup_fraction"), 0.0);

  ASSERT_EQ(config.tasks.size(), 2u);
  const TaskConfig& quadratic = config.tasks[0];
  EXPECT_EQ(quadratic.family, "quadratic");
  EXPECT_EQ(quadratic.weight, 2.0);
  EXPECT_EQ(quadratic.options.integer("dimension"), 20);
  EXPECT_EQ(quadratic.options.real("condition_number"), 100.0);
  EXPECT_EQ(quadratic.options.values().size(), 3u);  // and initial_scale, defaulted
  const TaskConfig& mlp = config.tasks[1];
  EXPECT_EQ(mlp.family, "mlp_classification");
  EXPECT_EQ(mlp.weight, 1.0);
  EXPECT_EQ(mlp.options.integer("dimension"), 3);
  EXPECT_EQ(mlp.options.integer("samples"), 40);
  EXPECT_EQ(mlp.options.real("noise"), 0.05);
  EXPECT_EQ(mlp.options.integer_list("hidden_layers"), (std::vector<std::int64_t>{8, 4}));
  EXPECT_EQ(mlp.options.string("activation"), "relu");
  EXPECT_EQ(mlp.options.integer("classes"), 4);
  EXPECT_EQ(mlp.options.real("initial_scale"), 0.5);

  EXPECT_EQ(config.search_space().size(), 4);
  EXPECT_EQ(config.search_space().group_count(), 4);
}

TEST(ConfigTest, OmittedKeysKeepTheirDefaults) {
  const RunConfig config = parse_config(minimal_config);
  EXPECT_EQ(config.source_name, "<string>");
  EXPECT_EQ(config.run.seed, 0u);
  EXPECT_EQ(config.run.generations, RunOptions{}.generations);

  const GeneticAlgorithmOptions ga_defaults;
  EXPECT_EQ(config.ga.population_size, ga_defaults.population_size);
  EXPECT_EQ(config.ga.elite_count, ga_defaults.elite_count);
  EXPECT_EQ(config.ga.tournament_size, ga_defaults.tournament_size);
  EXPECT_EQ(config.ga.crossover, ga_defaults.crossover);
  EXPECT_EQ(config.ga.initial_step_size, ga_defaults.initial_step_size);
  EXPECT_EQ(config.ga.step_size_adaptation, ga_defaults.step_size_adaptation);
  EXPECT_EQ(config.ga.categorical_mutation_rate, ga_defaults.categorical_mutation_rate);

  const EvaluationOptions evaluation_defaults;
  EXPECT_EQ(config.evaluation.tasks_per_evaluation, evaluation_defaults.tasks_per_evaluation);
  EXPECT_EQ(config.evaluation.inner_steps, evaluation_defaults.inner_steps);
  EXPECT_EQ(config.evaluation.fitness, evaluation_defaults.fitness);
  EXPECT_EQ(config.evaluation.divergence_factor, evaluation_defaults.divergence_factor);
  EXPECT_EQ(config.evaluation.penalty_fitness, evaluation_defaults.penalty_fitness);
  EXPECT_EQ(config.evaluation.score_floor, -8.0);
  EXPECT_EQ(config.evaluation.holdout_tasks, evaluation_defaults.holdout_tasks);

  EXPECT_EQ(config.update_rule.family, "adam");
  EXPECT_TRUE(config.update_rule.fixed.empty());
  ASSERT_EQ(config.update_rule.genes.size(), 1u);

  ASSERT_EQ(config.tasks.size(), 1u);
  const TaskFamilySpec task_defaults;
  EXPECT_EQ(config.tasks[0].family, "rosenbrock");
  EXPECT_EQ(config.tasks[0].weight, task_defaults.weight);
  EXPECT_EQ(config.tasks[0].options.integer("dimension"), task_defaults.dimension);
  EXPECT_EQ(config.tasks[0].options.real("initial_scale"), task_defaults.initial_scale);
}

TEST(ConfigTest, MalformedTomlGivesItsLine) {
  expect_rejected(replaced(minimal_config, "seed = 0", "seed = 0\nbroken = 1 2"), "broken", {});
  expect_rejected(replaced(minimal_config, "[[tasks]]", "[[tasks]\n"), "[[tasks]", {});

  const std::string duplicate = replaced(minimal_config, "seed = 0", "seed = 0\nseed = 1");
  expect_rejected(duplicate, "seed = 1", {"seed"});
}

TEST(ConfigTest, UnknownTopLevelTableIsRejected) {
  const std::string text = std::string(full_config) + "\n[trainer]\nsteps = 3\n";
  expect_rejected(text, "[trainer]", {"trainer", "[run]", "[[tasks]]"});
  expect_rejected(replaced(minimal_config, "[run]", "rn = 3\n[run]"), "rn = 3", {"unknown key rn", "did you mean run?"});
  // generations * population_size (the steady-state evaluation count) must fit in an int64.
  expect_rejected(replaced(full_config, "generations = 7", "generations = 4000000000"), "generations = 4",
                  {"run.generations must be in [1, 1000000000]", "got 4000000000"});
}

TEST(ConfigTest, UnknownKeyInGaNamesTheAllowedKeys) {
  const std::string text = replaced(full_config, "population_size = 12", "populaton_size = 12");
  expect_rejected(text, "populaton_size", {"ga.populaton_size", "did you mean population_size", "tournament_size"});
}

TEST(ConfigTest, UnknownKeysInOtherTablesAreRejected) {
  expect_rejected(replaced(full_config, "generations = 7", "generation = 7"), "generation = 7", {"run.generation"});
  expect_rejected(replaced(full_config, "holdout_tasks = 0", "holdouts = 0"), "holdouts", {"evaluation.holdouts"});
  expect_rejected(replaced(full_config, "family = \"adam\"", "family = \"adam\"\nlr = 1"), "lr = 1",
                  {"update_rule.lr", "genes"});
  expect_rejected(replaced(full_config, "group = \"moments\"", "grup = \"moments\""), "grup",
                  {"update_rule.genes.beta1.grup", "kind, low, high, choices, group"});
}

TEST(ConfigTest, TypoInTaskKeyIsRejected) {
  const std::string text = replaced(full_config, "dimension = 20", "dimesion = 20");
  expect_rejected(text, "dimesion", {"tasks[0].dimesion", "did you mean dimension", "condition_number"});
}

TEST(ConfigTest, KeyOfAnotherTaskKindIsRejected) {
  const std::string text = replaced(full_config, "classes = 4", "classes = 4\ncondition_number = 7");
  expect_rejected(text, "condition_number = 7",
                  {"tasks[1].condition_number does not apply to family mlp_classification", "quadratic"});
  expect_rejected(replaced(minimal_config, "\"rosenbrock\"", "\"rosenbrock\"\nsamples = 10"), "samples = 10",
                  {"tasks[0].samples does not apply to family rosenbrock"});
}

TEST(ConfigTest, WrongTypesAreRejected) {
  expect_rejected(replaced(full_config, "population_size = 12", "population_size = \"twelve\""), "population_size",
                  {"ga.population_size must be an integer", "string \"twelve\""});
  expect_rejected(replaced(full_config, "population_size = 12", "population_size = 12.5"), "population_size",
                  {"ga.population_size must be an integer", "float 12.5"});
  expect_rejected(replaced(full_config, "blend_alpha = 0.25", "blend_alpha = true"), "blend_alpha",
                  {"ga.blend_alpha must be a number", "boolean true"});
  expect_rejected(replaced(full_config, "crossover = \"uniform\"", "crossover = \"two_point\""), "two_point",
                  {"ga.crossover must be one of uniform, blend"});
  expect_rejected(replaced(full_config, "hidden_layers = [8, 4]", "hidden_layers = [8, \"4\"]"), "hidden_layers",
                  {"tasks[1].hidden_layers[1] must be an integer"});
  expect_rejected(replaced(full_config, "seed = 1234", "seed = -1"), "seed = -1", {"run.seed must be >= 0"});
  expect_rejected("ga = 3\n" + std::string(minimal_config), "ga = 3", {"ga must be a table, got integer 3"});
}

TEST(ConfigTest, OutOfRangePopulationSizeNamesKeyAndLine) {
  const std::string text = replaced(full_config, "population_size = 12", "population_size = 1");
  const int line = line_containing(text, "population_size = 1");
  try {
    parse_config(text, "quickstart.toml");
    FAIL() << "population_size = 1 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("quickstart.toml:" + std::to_string(line) +
                                                  ": ga.population_size must be >= 2, got 1",
                                              0),
              0u)
        << error.what();
  }
}

TEST(ConfigTest, OperatorSelectionKeysAreReadAndChecked) {
  const std::string bandit = replaced(full_config, "categorical_mutation_rate = 0.3",
                                      "categorical_mutation_rate = 0.3\noperator_selection = \"bandit\"\n"
                                      "bandit_min_probability = 0.05\nbandit_learning_rate = 0.5");
  const RunConfig config = parse_config(bandit, "test.toml");
  EXPECT_EQ(config.ga.operator_selection, OperatorSelection::bandit);
  EXPECT_EQ(config.ga.bandit_min_probability, 0.05);
  EXPECT_EQ(config.ga.bandit_learning_rate, 0.5);
  EXPECT_EQ(parse_config(full_config, "test.toml").ga.operator_selection, OperatorSelection::fixed);
  expect_rejected(replaced(bandit, "\"bandit\"", "\"ucb\""), "operator_selection",
                  {"ga.operator_selection must be one of fixed, bandit", "got \"ucb\""});
  expect_rejected(replaced(bandit, "bandit_min_probability = 0.05", "bandit_min_probability = 0.5"),
                  "bandit_min_probability", {"ga.bandit_min_probability must be in [0, 0.333", "got 0.5"});
  expect_rejected(replaced(bandit, "bandit_learning_rate = 0.5", "bandit_learning_rate = 0"), "bandit_learning_rate",
                  {"ga.bandit_learning_rate must be in (0, 1]", "got 0"});
}

TEST(ConfigTest, EliteCountMustBeBelowPopulationSize) {
  expect_rejected(replaced(full_config, "elite_count = 3", "elite_count = 12"), "elite_count",
                  {"ga.elite_count must be in [0, population_size - 1]", "got 12"});
  // With the elite count left at its default (2), the population size line is the one to blame.
  const std::string text = replaced(replaced(full_config, "elite_count = 3\n", ""), "population_size = 12",
                                    "population_size = 2");
  expect_rejected(text, "population_size = 2", {"ga.population_size", "ga.elite_count"});
}

TEST(ConfigTest, EvaluationRangesAreChecked) {
  expect_rejected(replaced(full_config, "tasks_per_evaluation = 5", "tasks_per_evaluation = 0"),
                  "tasks_per_evaluation", {"evaluation.tasks_per_evaluation must be in [1, 1000000], got 0"});
  expect_rejected(replaced(full_config, "inner_steps = 250", "inner_steps = 20000000"), "inner_steps",
                  {"evaluation.inner_steps must be in [1, 10000000], got 20000000"});
  expect_rejected(replaced(full_config, "divergence_factor = 50.0", "divergence_factor = 1"), "divergence_factor",
                  {"evaluation.divergence_factor must be > 1"});
  expect_rejected(replaced(full_config, "penalty_fitness = 4.5", "penalty_fitness = nan"), "penalty_fitness",
                  {"evaluation.penalty_fitness must be finite"});
  expect_rejected(replaced(full_config, "score_floor = -5", "score_floor = 0"), "score_floor",
                  {"evaluation.score_floor must be in [-300, 0), got 0"});
  expect_rejected(replaced(full_config, "holdout_tasks = 0", "holdout_tasks = -1"), "holdout_tasks",
                  {"evaluation.holdout_tasks must be in [0, 1000000]"});
  expect_rejected(replaced(full_config, "fitness = \"auc\"", "fitness = \"best\""), "fitness = \"best\"",
                  {"evaluation.fitness must be one of final_loss, auc"});
}

TEST(ConfigTest, MissingSeedIsRejectedAtTheRunTable) {
  const std::string text = replaced(full_config, "seed = 1234\n", "");
  expect_rejected(text, "[run]", {"run.seed is required"});
  const std::string no_run = replaced(replaced(full_config, "seed = 1234\n", ""), "[run]\ngenerations = 7\n", "");
  const std::string message = error_of(no_run);
  EXPECT_EQ(message.rfind("test.toml:1: run.seed is required", 0), 0u) << message;
}

TEST(ConfigTest, UnknownUpdateRuleFamilyListsTheKnownOnes) {
  expect_rejected(replaced(full_config, "family = \"adam\"", "family = \"adamm\""), "adamm",
                  {"update_rule.family must be one of", "sgd", "lion", "got \"adamm\""});
}

TEST(ConfigTest, UnknownHyperparameterGeneIsRejected) {
  const std::string text = replaced(full_config, "[update_rule.genes]",
                                    "[update_rule.genes]\nmomentum = { kind = \"real\", low = 0.1, high = 0.9 }");
  expect_rejected(text, "momentum = {", {"update_rule.genes.momentum", "learning_rate", "beta2", "epsilon"});
  expect_rejected(replaced(full_config, "epsilon = 1e-8", "epsilom = 1e-8"), "epsilom",
                  {"update_rule.fixed.epsilom", "did you mean epsilon"});
}

TEST(ConfigTest, GeneBoundsMustLieInTheHyperparameterRange) {
  expect_rejected(replaced(full_config, "low = 0.5, high = 0.99", "low = 0.5, high = 1.5"), "beta1 =",
                  {"update_rule.genes.beta1.high", "[0, 1)", "got 1.5"});
  expect_rejected(replaced(full_config, "low = 1e-4, high = 1e-1", "low = 1e-4, high = 20"), "learning_rate =",
                  {"update_rule.genes.learning_rate.high", "got 20"});
  expect_rejected(replaced(full_config, "low = 0.5, high = 0.99", "low = 0.9, high = 0.5"), "beta1 =",
                  {"update_rule.genes.beta1.low must be < high"});
  expect_rejected(replaced(full_config, "low = 0.5, high = 0.99", "low = 0.5"), "beta1 =",
                  {"update_rule.genes.beta1.high is required"});
  expect_rejected(replaced(full_config, "low = 0, high = 1 }", "low = 0.0, high = 1 }"), "final_lr_fraction =",
                  {"update_rule.genes.final_lr_fraction.low must be an integer"});
  expect_rejected(replaced(full_config, "kind = \"log_real\"", "kind = \"logreal\""), "learning_rate =",
                  {"update_rule.genes.learning_rate.kind must be one of real, log_real, integer, categorical"});
}

TEST(ConfigTest, GeneWrittenAsStandardTableIsReportedAtItsKeyLine) {
  // [update_rule] itself is implicit here, and beta1 spans several lines.
  const std::string text = R"([run]
seed = 1
[update_rule.genes.beta1]
kind = "real"
low = -0.5
high = 0.9
[[tasks]]
family = "quadratic"
)";
  expect_rejected(text, "low = -0.5", {"update_rule.genes.beta1.low must lie in beta1's range", "got -0.5"});
  const RunConfig config = parse_config(replaced(text, "-0.5", "0.5"));
  ASSERT_EQ(config.update_rule.genes.size(), 1u);
  EXPECT_EQ(config.update_rule.genes[0].low, 0.5);
}

TEST(ConfigTest, CategoricalGenesAreChecked) {
  expect_rejected(replaced(full_config, "\"cosine\", \"warmup_cosine\"", "\"cosine\", \"linear\""), "schedule =",
                  {"update_rule.genes.schedule.choices[2]", "constant, cosine, warmup_cosine", "\"linear\""});
  expect_rejected(replaced(full_config, "kind = \"categorical\", choices = [\"constant\", \"cosine\", \"warmup_cosine\"]",
                           "kind = \"real\", low = 0, high = 1"),
                  "schedule =", {"update_rule.genes.schedule.kind must be \"categorical\""});
  expect_rejected(replaced(full_config, "kind = \"real\", low = 0.5, high = 0.99", "kind = \"categorical\", choices = [\"a\", \"b\"]"),
                  "beta1 =", {"update_rule.genes.beta1.kind cannot be \"categorical\""});
  expect_rejected(replaced(full_config, "\"cosine\", \"warmup_cosine\"", "\"cosine\", \"cosine\""), "schedule =",
                  {"listed twice"});
  expect_rejected(replaced(full_config, "[\"constant\", \"cosine\", \"warmup_cosine\"]", "[\"cosine\"]"), "schedule =",
                  {"update_rule.genes.schedule.choices must list at least 2"});
}

TEST(ConfigTest, HyperparameterCannotBeBothGeneAndFixed) {
  const std::string text = replaced(full_config, "epsilon = 1e-8", "epsilon = 1e-8\nbeta1 = 0.9");
  expect_rejected(text, "beta1 = 0.9",
                  {"update_rule.fixed.beta1", "also a gene",
                   "line " + std::to_string(line_containing(text, "beta1 = {"))});
}

TEST(ConfigTest, FixedValuesAreChecked) {
  expect_rejected(replaced(full_config, "beta2 = 0.99", "beta2 = 1.0"), "beta2 = 1.0",
                  {"update_rule.fixed.beta2 must be in [0, 1)", "got 1"});
  expect_rejected(replaced(full_config, "beta2 = 0.99", "beta2 = \"high\""), "beta2 =",
                  {"update_rule.fixed.beta2 must be a number"});
  const std::string schedule_fixed = replaced(
      replaced(full_config, "schedule = { kind = \"categorical\", choices = [\"constant\", \"cosine\", \"warmup_cosine\"] }\n", ""),
      "epsilon = 1e-8", "epsilon = 1e-8\nschedule = \"linear\"");
  expect_rejected(schedule_fixed, "schedule = \"linear\"", {"update_rule.fixed.schedule must be one of constant"});
  const RunConfig config = parse_config(replaced(schedule_fixed, "\"linear\"", "\"cosine\""));
  EXPECT_EQ(choice_parameter(config.update_rule.fixed, "schedule"), "cosine");
}

TEST(ConfigTest, TaskValuesAreChecked) {
  expect_rejected(replaced(full_config, "family = \"quadratic\"", "family = \"quadratc\""), "quadratc",
                  {"tasks[0].family must be one of", "rosenbrock", "did you mean quadratic"});
  expect_rejected(replaced(full_config, "condition_number = 100", "condition_number = 0.5"), "condition_number",
                  {"tasks[0].condition_number must be >= 1"});
  expect_rejected(replaced(full_config, "hidden_layers = [8, 4]", "hidden_layers = [8, 4, 2]"), "hidden_layers",
                  {"tasks[1].hidden_layers must be an array of 1 or 2"});
  expect_rejected(replaced(full_config, "classes = 4", "classes = 1"), "classes", {"tasks[1].classes must be in [2, 1000]", "got 1"});
  expect_rejected(replaced(full_config, "activation = \"relu\"", "activation = \"gelu\""), "activation",
                  {"tasks[1].activation must be one of tanh, relu"});
  // A limit only the task family knows, reported at the key's line.
  expect_rejected(replaced(full_config, "dimension = 20", "dimension = 50000"), "dimension = 50000",
                  {"tasks[0].dimension must be in [1, "});
  expect_rejected(replaced(full_config, "noise = 0.05", "noise = 0.7"), "noise = 0.7", {"tasks[1].noise"});
  expect_rejected(replaced(full_config, "weight = 2.0", "weight = 0"), "weight = 0", {"tasks[0].weight must be in (0, 1e+12]"});
}

TEST(ConfigTest, MinibatchBatchSizeIsReadAndChecked) {
  // Absent: 0, the full batch.
  const RunConfig defaulted = parse_config(full_config);
  EXPECT_EQ(defaulted.tasks[1].options.integer("batch_size"), 0);
  EXPECT_FALSE(defaulted.tasks[0].options.has("batch_size"));  // quadratic has no data set

  const std::string text = replaced(full_config, "classes = 4\n", "classes = 4\nbatch_size = 16\n");
  const RunConfig config = parse_config(text, "minibatch.toml");
  EXPECT_EQ(config.tasks[1].options.integer("batch_size"), 16);
  // The stored config text parses to the same table, and the family builds tasks of that batch size.
  EXPECT_EQ(parse_config(config.source_text, config.source_name).tasks[1].options.integer("batch_size"), 16);
  const auto task = make_task_family(config.tasks[1])->sample(1);
  const auto* data = dynamic_cast<const DataTask*>(task.get());
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->batch_size(), 16);
  EXPECT_EQ(data->samples(), 40);

  expect_rejected(replaced(text, "batch_size = 16", "batch_size = 41"), "batch_size = 41",
                  {"tasks[1].batch_size must be 0 (full batch) or in [1, samples = 40], got 41"});
  expect_rejected(replaced(text, "batch_size = 16", "batch_size = -1"), "batch_size = -1",
                  {"tasks[1].batch_size must be in [0, ", "got -1"});
  expect_rejected(replaced(text, "batch_size = 16", "batch_size = 2.5"), "batch_size = 2.5",
                  {"tasks[1].batch_size must be an integer"});
  expect_rejected(replaced(full_config, "condition_number = 100", "condition_number = 100\nbatch_size = 4"),
                  "batch_size = 4", {"tasks[0].batch_size does not apply to family quadratic"});
}

TEST(ConfigTest, TasksAreRequired) {
  const std::string text = replaced(minimal_config, "[[tasks]]\nfamily = \"rosenbrock\"\n", "");
  const std::string message = error_of(text);
  EXPECT_NE(message.find("[[tasks]]"), std::string::npos) << message;
  expect_rejected(replaced(minimal_config, "[[tasks]]", "[tasks]"), "[tasks]", {"tasks must be an array of tables"});
  expect_rejected(replaced(text, "[run]", "tasks = []\n[run]"), "tasks = []", {"tasks must hold at least one table"});
  expect_rejected(replaced(minimal_config, "family = \"rosenbrock\"", "weight = 1.0"), "[[tasks]]",
                  {"tasks[0].family is required"});
}

TEST(ConfigTest, GenesAreRequired) {
  const std::string text = replaced(minimal_config,
                                    "[update_rule.genes]\nlearning_rate = { kind = \"log_real\", low = 1e-4, high = 1e-1 }\n",
                                    "family = \"sgd\"\n");
  expect_rejected(text, "[update_rule]", {"update_rule.genes must name at least one", "learning_rate"});
}

TEST(ConfigTest, LoadConfigReadsAFileAndNamesAMissingOne) {
  const TemporaryPath path(".toml");
  {
    std::ofstream file(path.path());
    file << minimal_config;
  }
  const RunConfig config = load_config(path.path());
  EXPECT_EQ(config.source_text, minimal_config);
  EXPECT_EQ(config.source_name, path.string());

  const std::filesystem::path missing = path.path().string() + ".missing";
  try {
    load_config(missing);
    FAIL() << "a missing file was read";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("cannot read config " + missing.string() + ": ", 0), 0u) << error.what();
  }
}

TEST(ConfigTest, QuickstartConfigParses) {
  const RunConfig config = load_config(std::filesystem::path(METAEVO_SOURCE_DIR) / "experiments" / "quickstart.toml");
  EXPECT_EQ(config.update_rule.family, "adam");
  EXPECT_GE(config.update_rule.genes.size(), 5u);
  EXPECT_GE(config.tasks.size(), 4u);
}

constexpr const char* synthetic_config = R"([run]
seed = 3
generations = 4
mode = "steady_state"

[evaluation]
time_limit_seconds = 2.5

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1e-1 }

[[tasks]]
family = "synthetic"
dimension = 5
initial_scale = 0.5
step_sleep_seconds = 0.01
sleep_tail = "pareto"
pareto_shape = 2
fault = "throw"
fault_probability = 0.25
fault_step = 3
)";

TEST(ConfigTest, RunModeAndTimeLimitParse) {
  const RunConfig config = parse_config(synthetic_config);
  EXPECT_EQ(config.run.mode, RunMode::steady_state);
  EXPECT_EQ(config.evaluation.time_limit_seconds, 2.5);
  const RunConfig generational = parse_config(replaced(synthetic_config, "\"steady_state\"", "\"generational\""));
  EXPECT_EQ(generational.run.mode, RunMode::generational);
  EXPECT_EQ(parse_config(replaced(synthetic_config, "= 2.5", "= 0")).evaluation.time_limit_seconds, 0.0);
  EXPECT_EQ(parse_config(replaced(synthetic_config, "= 2.5", "= 30")).evaluation.time_limit_seconds, 30.0);
  // Defaults: generational, no time limit.
  const RunConfig defaults = parse_config(minimal_config);
  EXPECT_EQ(defaults.run.mode, RunMode::generational);
  EXPECT_EQ(defaults.evaluation.time_limit_seconds, 0.0);
}

TEST(ConfigTest, BadRunModeAndTimeLimitNameKeyAndLine) {
  expect_rejected(replaced(synthetic_config, "\"steady_state\"", "\"steady-state\""), "mode =",
                  {"run.mode must be one of generational, steady_state", "got \"steady-state\"",
                   "did you mean steady_state"});
  expect_rejected(replaced(synthetic_config, "\"steady_state\"", "\"async\""), "mode =",
                  {"run.mode must be one of generational, steady_state", "got \"async\""});
  expect_rejected(replaced(synthetic_config, "\"steady_state\"", "1"), "mode =",
                  {"run.mode must be a string", "integer 1"});
  expect_rejected(replaced(synthetic_config, "mode = ", "mod = "), "mod =", {"unknown key run.mod", "did you mean mode"});
  expect_rejected(replaced(synthetic_config, "= 2.5", "= -1"), "time_limit_seconds",
                  {"evaluation.time_limit_seconds must be in [0, 1e+07]", "got -1"});
  expect_rejected(replaced(synthetic_config, "= 2.5", "= inf"), "time_limit_seconds",
                  {"evaluation.time_limit_seconds must be finite", "got inf"});
  // A deadline past steady_clock's range would wrap into the past and fail every evaluation.
  expect_rejected(replaced(synthetic_config, "= 2.5", "= 1e10"), "time_limit_seconds",
                  {"evaluation.time_limit_seconds must be in [0, 1e+07]", "got 1e+10"});
  expect_rejected(replaced(synthetic_config, "= 2.5", "= \"10s\""), "time_limit_seconds",
                  {"evaluation.time_limit_seconds must be a number", "string \"10s\""});
  expect_rejected(replaced(synthetic_config, "time_limit_seconds", "time_limit"), "time_limit",
                  {"unknown key evaluation.time_limit", "time_limit_seconds"});
}

TEST(ConfigTest, SyntheticTaskKeysParse) {
  const RunConfig config = parse_config(synthetic_config);
  ASSERT_EQ(config.tasks.size(), 1u);
  const Options& task = config.tasks[0].options;
  EXPECT_EQ(config.tasks[0].family, "synthetic");
  EXPECT_EQ(task.integer("dimension"), 5);
  EXPECT_EQ(task.real("initial_scale"), 0.5);
  EXPECT_EQ(task.real("step_sleep_seconds"), 0.01);
  EXPECT_EQ(task.string("sleep_tail"), "pareto");
  EXPECT_EQ(std::get<double>(task.value("pareto_shape")), 2.0);  // an integer where a real is expected
  EXPECT_EQ(task.string("fault"), "throw");
  EXPECT_EQ(task.real("fault_probability"), 0.25);
  EXPECT_EQ(task.integer("fault_step"), 3);

  const RunConfig nan_fault = parse_config(replaced(replaced(synthetic_config, "\"throw\"", "\"nan\""), "\"pareto\"",
                                                    "\"fixed\""));
  EXPECT_EQ(nan_fault.tasks[0].options.string("fault"), "nan");
  EXPECT_EQ(nan_fault.tasks[0].options.string("sleep_tail"), "fixed");

  // Only the family is required; the rest keep the TaskFamilySpec defaults.
  const TaskFamilySpec defaults;
  const RunConfig bare = parse_config(replaced(minimal_config, "\"rosenbrock\"", "\"synthetic\""));
  const Options& bare_options = bare.tasks[0].options;
  EXPECT_EQ(bare.tasks[0].family, "synthetic");
  EXPECT_EQ(bare_options.real("step_sleep_seconds"), defaults.step_sleep_seconds);
  EXPECT_EQ(bare_options.string("sleep_tail"), to_string(defaults.sleep_tail));
  EXPECT_EQ(bare_options.real("pareto_shape"), defaults.pareto_shape);
  EXPECT_EQ(bare_options.string("fault"), "none");
  EXPECT_EQ(bare_options.real("fault_probability"), defaults.fault_probability);
  EXPECT_EQ(bare_options.integer("fault_step"), defaults.fault_step);
}

TEST(ConfigTest, BadSyntheticTaskValuesNameKeyAndLine) {
  expect_rejected(replaced(synthetic_config, "step_sleep_seconds = 0.01", "step_sleep_seconds = -0.01"),
                  "step_sleep_seconds", {"tasks[0].step_sleep_seconds must be in [0, 60]", "got -0.01"});
  // The upper limit is the task family's, mapped back to the key's line.
  expect_rejected(replaced(synthetic_config, "step_sleep_seconds = 0.01", "step_sleep_seconds = 90"),
                  "step_sleep_seconds", {"tasks[0].step_sleep_seconds must be in [0, 60]", "got 90"});
  expect_rejected(replaced(synthetic_config, "\"pareto\"", "\"lognormal\""), "sleep_tail",
                  {"tasks[0].sleep_tail must be one of fixed, pareto", "got \"lognormal\""});
  expect_rejected(replaced(synthetic_config, "pareto_shape = 2", "pareto_shape = 0"), "pareto_shape",
                  {"tasks[0].pareto_shape must be > 0", "got 0"});
  expect_rejected(replaced(synthetic_config, "\"throw\"", "\"crash\""), "fault =",
                  {"tasks[0].fault must be one of none, throw, nan", "got \"crash\""});
  expect_rejected(replaced(synthetic_config, "fault_probability = 0.25", "fault_probability = 1.5"),
                  "fault_probability", {"tasks[0].fault_probability must be in [0, 1]", "got 1.5"});
  expect_rejected(replaced(synthetic_config, "fault_step = 3", "fault_step = 0"), "fault_step",
                  {"tasks[0].fault_step must be >= 1", "got 0"});
  expect_rejected(replaced(synthetic_config, "fault_step = 3", "fault_step = 2.5"), "fault_step",
                  {"tasks[0].fault_step must be an integer", "float 2.5"});
  expect_rejected(replaced(synthetic_config, "dimension = 5", "dimension = 200000"), "dimension",
                  {"tasks[0].dimension must be in [1, 100000]", "got 200000"});
  expect_rejected(replaced(synthetic_config, "fault_step = 3", "fault_steps = 3"), "fault_steps",
                  {"unknown key tasks[0].fault_steps", "did you mean fault_step", "fault_probability"});
}

TEST(ConfigTest, SyntheticKeysBelongOnlyToSyntheticTasks) {
  expect_rejected(replaced(full_config, "condition_number = 100", "condition_number = 100\nfault = \"nan\""),
                  "fault = \"nan\"", {"tasks[0].fault does not apply to family quadratic", "(only to synthetic)"});
  expect_rejected(replaced(minimal_config, "\"rosenbrock\"", "\"rosenbrock\"\nstep_sleep_seconds = 1"),
                  "step_sleep_seconds", {"tasks[0].step_sleep_seconds does not apply to family rosenbrock"});
  // And the other families' keys are rejected in a synthetic table.
  expect_rejected(replaced(synthetic_config, "fault_step = 3", "fault_step = 3\nsamples = 10"), "samples = 10",
                  {"tasks[0].samples does not apply to family synthetic",
                   "keys of synthetic tasks: family, weight, dimension, step_sleep_seconds, sleep_tail, pareto_shape, "
                   "fault, fault_probability, fault_step, initial_scale"});
}

TEST(ConfigTest, RunModeNamesRoundTrip) {
  for (RunMode mode : {RunMode::generational, RunMode::steady_state}) {
    EXPECT_EQ(from_string<RunMode>(to_string(mode)), mode);
  }
  EXPECT_EQ(to_string(RunMode::steady_state), "steady_state");
  EXPECT_EQ(from_string<RunMode>("async"), std::nullopt);
}

TEST(ConfigTest, FitnessMeasureNamesRoundTrip) {
  for (FitnessMeasure measure : {FitnessMeasure::final_loss, FitnessMeasure::auc}) {
    EXPECT_EQ(from_string<FitnessMeasure>(to_string(measure)), measure);
  }
  EXPECT_EQ(from_string<FitnessMeasure>("loss"), std::nullopt);
}

}  // namespace
}  // namespace metaevo
