// End-to-end tests of what a search run is made of beyond the GA: strategies chosen in the config,
// diagnostic objectives over blocks of genes, per-task results and the validated best. Single-process
// and under mpirun, with the run file read back through HDF5.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <string>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_report.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::expect_same_results;
using testing_support::read_double_dataset;
using testing_support::read_int64_dataset;
using testing_support::run_command;
using testing_support::TemporaryPath;

std::string objective_config(const std::string& strategy, const std::string& strategy_table, int generations = 6) {
  return "[run]\nseed = 11\ngenerations = " + std::to_string(generations) + "\n\n[search]\nstrategy = \"" + strategy +
         "\"\n" + strategy_table +
         "\n[objective]\nfunction = \"ellipsoid\"\ndimension = 40\nlow = -5.0\nhigh = 5.0\ninitial_value = 3.0\n"
         "initial_scale = 1.0\n";
}

const std::string sep_cma_es_config = objective_config("sep_cma_es", "[search.sep_cma_es]\ninitial_sigma = 0.1\n");
const std::string openai_es_config =
    objective_config("openai_es", "[search.openai_es]\npopulation_size = 10\nsigma = 0.05\nlearning_rate = 0.05\n");
const std::string ga_objective_config = objective_config("ga", "[ga]\npopulation_size = 8\nstep_size_adaptation = \"per_group\"\n");

void expect_config_error(const std::string& text, const std::string& words) {
  try {
    parse_config(text, "bad.toml");
    ADD_FAILURE() << "expected ConfigError mentioning " << words;
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
  }
}

TEST(SearchConfig, StrategyAndObjectiveAreReadWithTheirPopulationSize) {
  const RunConfig cma = parse_config(sep_cma_es_config);
  EXPECT_EQ(cma.search.strategy, "sep_cma_es");
  EXPECT_EQ(cma.population_size(), 4 + static_cast<int>(std::floor(3.0 * std::log(40.0))));  // 15
  EXPECT_EQ(cma.search.options.real("initial_sigma"), 0.1);
  ASSERT_TRUE(cma.objective.has_value());
  const SearchSpace space = cma.search_space();
  EXPECT_EQ(space.size(), 40);
  EXPECT_EQ(space.scalar_count(), 0);
  ASSERT_EQ(space.blocks().size(), 1u);
  EXPECT_EQ(space.blocks()[0].name, "x");
  EXPECT_EQ(parse_config(openai_es_config).population_size(), 10);
  EXPECT_EQ(parse_config(ga_objective_config).population_size(), 8);
}

TEST(SearchConfig, BadStrategyAndObjectiveTablesNameFileLineAndKey) {
  expect_config_error(objective_config("sep_cmaes", ""), "bad.toml:6: search.strategy must be one of ga, sep_cma_es, openai_es");
  expect_config_error(objective_config("openai_es", "[search.openai_es]\npopulation_size = 7\n"),
                      "search.openai_es.population_size must be");
  expect_config_error(objective_config("sep_cma_es", "[search.sep_cma_es]\ninitial_sigma = 2.0\n"),
                      "bad.toml:8: search.sep_cma_es.initial_sigma must be in (0, 1], got 2");
  expect_config_error(objective_config("sep_cma_es", "[search.sep_cma_es]\nsigma = 0.1\n"), "sigma");
  expect_config_error(objective_config("sep_cma_es", "[search.openai_es]\nsigma = 0.1\n"),
                      "[search.openai_es] is for strategy = \"openai_es\"");
  expect_config_error(objective_config("ga", "[search.ga]\npopulation_size = 4\n"), "[ga] table, not [search.ga]");
  expect_config_error(sep_cma_es_config + "\n[[tasks]]\nfamily = \"quadratic\"\n", "[[tasks]] does not apply to a run with an [objective]");
  expect_config_error("[run]\nseed = 1\nmode = \"steady_state\"\n[search]\nstrategy = \"sep_cma_es\"\n[objective]\nfunction = \"sphere\"\n",
                      "bad.toml:3: run.mode = \"steady_state\" needs a strategy that breeds one genome at a time");
  expect_config_error("[run]\nseed = 1\n[objective]\nfunction = \"sphere\"\ninitial_value = 9.0\n",
                      "objective.initial_value");
  expect_config_error("[run]\nseed = 1\n[objective]\nfunction = \"spehre\"\n", "did you mean sphere");
  expect_config_error("[run]\nseed = 1\n[objective]\ndimension = 3\n", "objective.function is required");
}

/// A run over the objective in this process; returns its summary.
RunSummary run_objective(const std::string& text, const std::filesystem::path& output,
                         const RunCallbacks& callbacks = {}) {
  return run_search(parse_config(text), output, callbacks);
}

TEST(SearchRun, EveryStrategyImprovesTheObjectiveAndStoresItsBlockOnce) {
  for (const std::string* text : {&sep_cma_es_config, &openai_es_config, &ga_objective_config}) {
    const RunConfig config = parse_config(*text);
    SCOPED_TRACE(config.search.strategy);
    TemporaryPath output("_" + config.search.strategy + ".h5");
    const RunSummary summary = run_objective(*text, output.path());
    ASSERT_EQ(summary.termination, Termination::completed);
    const std::vector<double> fitness = read_double_dataset(output.path(), "/generations/fitness");
    const auto population = static_cast<std::size_t>(config.population_size());
    ASSERT_EQ(fitness.size(), 6 * population);
    const double first_best = *std::min_element(fitness.begin(), fitness.begin() + static_cast<std::ptrdiff_t>(population));
    EXPECT_LT(summary.best_fitness, first_best);
    EXPECT_FALSE(summary.holdout.has_value());  // an objective has no tasks to hold out
    // The block: its coordinates in /generations/genes, its shape in /search_space/blocks, its values
    // once in /best/decoded/x; no per-element dataset anywhere.
    EXPECT_EQ(read_int64_dataset(output.path(), "/search_space/blocks/length"), (std::vector<std::int64_t>{40}));
    EXPECT_EQ(read_int64_dataset(output.path(), "/search_space/blocks/offset"), (std::vector<std::int64_t>{0}));
    EXPECT_EQ(read_double_dataset(output.path(), "/generations/genes").size(), 6 * population * 40);
    const std::vector<double> best = read_double_dataset(output.path(), "/best/decoded/x");
    const std::vector<double> best_genes = read_double_dataset(output.path(), "/best/genes");
    ASSERT_EQ(best.size(), 40u);
    for (std::size_t j = 0; j < 40; ++j) EXPECT_DOUBLE_EQ(best[j], -5.0 + 10.0 * best_genes[j]);
    const RunFileContents contents = read_run_file(output.path());
    EXPECT_TRUE(contents.gene_names.empty());
    // The strategy's statistics, one value per generation.
    const std::string statistic = config.search.strategy == "ga" ? "mean_step_size" : "sigma";
    EXPECT_EQ(read_double_dataset(output.path(), "/generations/strategy/" + statistic).size(), 6u);
  }
}

// Golden values: a change in draw order or arithmetic of a strategy, the objective or the store shows
// here even when two runs of the new code agree with each other.
TEST(SearchRun, GoldenValuesOfAShortFixedSeedRun) {
  TemporaryPath output(".h5");
  run_objective(sep_cma_es_config, output.path());
  const std::vector<double> fitness = read_double_dataset(output.path(), "/generations/fitness");
  const std::vector<double> genes = read_double_dataset(output.path(), "/generations/genes");
  EXPECT_EQ(fitness.front(), 37530725.277028471);
  EXPECT_EQ(fitness.back(), 14842657.778726092);
  EXPECT_EQ(genes.front(), 0.7644227366882268);
  EXPECT_EQ(genes.back(), 0.54912718521400605);
}

TEST(SearchRun, StrategiesResumeBitIdentically) {
  for (const std::string* text : {&sep_cma_es_config, &openai_es_config}) {
    const RunConfig config = parse_config(*text);
    SCOPED_TRACE(config.search.strategy);
    TemporaryPath reference("_reference.h5");
    run_objective(*text, reference.path());
    for (int stop_after : {0, 2, 5}) {
      SCOPED_TRACE("stopped after " + std::to_string(stop_after) + " generations");
      TemporaryPath output("_resumed.h5");
      RunCallbacks stop;
      int generations = 0;
      stop.on_generation = [&](const GenerationRecord&) { ++generations; };
      stop.should_stop = [&] { return generations >= stop_after; };
      EXPECT_EQ(run_objective(*text, output.path(), stop).termination, Termination::interrupted);
      ResumePlan plan = plan_resume(output.path());
      EXPECT_EQ(resume_search(plan).termination, Termination::completed);
      expect_same_results(reference.path(), output.path());
      EXPECT_EQ(read_double_dataset(reference.path(), "/generations/strategy/sigma"),
                read_double_dataset(output.path(), "/generations/strategy/sigma"));
    }
  }
}

/// Writes a rank-2 float64 or a rank-1 int64 dataset into `group` (test fixtures in raw HDF5).
void write_raw_dataset(hid_t group, const char* name, hid_t file_type, hid_t memory_type, std::vector<hsize_t> dims,
                       const void* data) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dataset = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(dataset, 0) << name;
  EXPECT_GE(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0) << name;
  H5Dclose(dataset);
  H5Sclose(space);
}

// Layout version 1 of the sep-CMA-ES and OpenAI-ES states also stored the population to ask; version 2
// samples it again on load. A run file checkpointed by version 1 resumes as before (its stored genomes
// are asked), and the resumed run's own checkpoints drop the population.
TEST(SearchRun, AVersion1StateWithItsPopulationResumesBitIdentically) {
  for (const std::string* text : {&sep_cma_es_config, &openai_es_config}) {
    const RunConfig config = parse_config(*text);
    SCOPED_TRACE(config.search.strategy);
    TemporaryPath reference("_reference.h5");
    run_objective(*text, reference.path());
    TemporaryPath output("_version1.h5");
    RunCallbacks stop;
    int generations = 0;
    stop.on_generation = [&](const GenerationRecord&) { ++generations; };
    stop.should_stop = [&] { return generations >= 2; };
    EXPECT_EQ(run_objective(*text, output.path(), stop).termination, Termination::interrupted);
    // What version 1 would have stored: generation 2's genomes, as the reference run evaluated them.
    const auto p = static_cast<hsize_t>(config.population_size());
    const hsize_t n = 40;
    const std::vector<double> genes = read_double_dataset(reference.path(), "/generations/genes");
    const std::vector<double> steps = read_double_dataset(reference.path(), "/generations/step_size");
    ASSERT_EQ(genes.size(), 6 * p * n);
    const std::vector<double> x(genes.begin() + static_cast<std::ptrdiff_t>(2 * p * n),
                                genes.begin() + static_cast<std::ptrdiff_t>(3 * p * n));
    const std::vector<double> step_size(steps.begin() + static_cast<std::ptrdiff_t>(2 * p * n),
                                        steps.begin() + static_cast<std::ptrdiff_t>(3 * p * n));
    std::vector<std::int64_t> id, generation(p, 2), parent(p, -1);
    for (hsize_t k = 0; k < p; ++k) id.push_back(static_cast<std::int64_t>(2 * p + k));
    {
      const hid_t file = H5Fopen(output.path().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      ASSERT_GE(file, 0);
      const hid_t state = H5Gopen2(file, "/checkpoint/strategy", H5P_DEFAULT);
      const hid_t version = H5Aopen(state, "version", H5P_DEFAULT);
      const std::int64_t one = 1;
      EXPECT_GE(H5Awrite(version, H5T_NATIVE_INT64, &one), 0);
      H5Aclose(version);
      const hid_t population = H5Gcreate2(state, "population", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      write_raw_dataset(population, "x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {p, n}, x.data());
      write_raw_dataset(population, "step_size", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {p, n}, step_size.data());
      write_raw_dataset(population, "id", H5T_STD_I64LE, H5T_NATIVE_INT64, {p}, id.data());
      write_raw_dataset(population, "generation", H5T_STD_I64LE, H5T_NATIVE_INT64, {p}, generation.data());
      write_raw_dataset(population, "parent_a", H5T_STD_I64LE, H5T_NATIVE_INT64, {p}, parent.data());
      write_raw_dataset(population, "parent_b", H5T_STD_I64LE, H5T_NATIVE_INT64, {p}, parent.data());
      H5Gclose(population);
      H5Gclose(state);
      H5Fclose(file);
    }
    ResumePlan plan = plan_resume(output.path());
    EXPECT_EQ(resume_search(plan).termination, Termination::completed);
    expect_same_results(reference.path(), output.path());
    const hid_t file = H5Fopen(output.path().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    EXPECT_EQ(H5Lexists(file, "/checkpoint/strategy/population", H5P_DEFAULT), 0);
    H5Fclose(file);
  }
}

TEST(SearchRun, ACheckpointOfAnotherStrategyIsRefusedWithTheReason) {
  TemporaryPath output(".h5");
  run_objective(sep_cma_es_config, output.path());
  // The stored config names sep_cma_es; the checkpoint's state is relabelled as another strategy's.
  {
    const hid_t file = H5Fopen(output.path().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t group = H5Gopen2(file, "/checkpoint/strategy", H5P_DEFAULT);
    ASSERT_GE(H5Adelete(group, "strategy"), 0);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(group, "strategy", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* text = "openai_es";
    ASSERT_GE(H5Awrite(attribute, type, &text), 0);
    H5Aclose(attribute);
    H5Sclose(space);
    H5Tclose(type);
    H5Gclose(group);
    H5Fclose(file);
  }
  try {
    ResumePlan plan = plan_resume(output.path(), 8);
    resume_search(plan);
    ADD_FAILURE() << "expected StorageError";
  } catch (const StorageError& error) {
    EXPECT_NE(std::string(error.what()).find("the checkpoint holds the state of strategy 'openai_es', the run uses "
                                             "'sep_cma_es'"),
              std::string::npos)
        << error.what();
  }
}

std::string mpirun(int ranks) {
  return "timeout 120 mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " + METAEVO_CLI_PATH;
}

TEST(SearchRun, SepCmaEsIsBitIdenticalAcrossRankCountsAndResumes) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << sep_cma_es_config;
  TemporaryPath single("_single.h5");
  const auto reference = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --out " +
                                     single.string());
  ASSERT_EQ(reference.exit_status, 0) << reference.output;
  TemporaryPath three("_np3.h5");
  const auto run = run_command(mpirun(3) + " run " + config.string() + " --quiet --out " + three.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  expect_same_results(single.path(), three.path());
  TemporaryPath split("_split.h5");
  const auto first = run_command(mpirun(2) + " run " + config.string() + " --quiet --generations 3 --out " +
                                 split.string());
  ASSERT_EQ(first.exit_status, 0) << first.output;
  const auto second = run_command(mpirun(4) + " resume " + split.string() + " --quiet --generations 6");
  ASSERT_EQ(second.exit_status, 0) << second.output;
  expect_same_results(single.path(), split.path());
}

constexpr const char* task_config = R"([run]
seed = 5
generations = 3

[ga]
population_size = 6
elite_count = 1

[evaluation]
tasks_per_evaluation = 4
inner_steps = 20
holdout_tasks = 0
validation_tasks = 5
validation_candidates = 2

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1.0 }

[[tasks]]
family = "quadratic"
dimension = 4
weight = 1.0

[[tasks]]
family = "rosenbrock"
dimension = 3
weight = 3.0
)";

TEST(SearchRun, EveryEvaluationStoresItsPerTaskScoresLossesAndFamilies) {
  const RunConfig config = parse_config(task_config);
  TemporaryPath output(".h5");
  run_search(config, output.path());
  const std::vector<double> fitness = read_double_dataset(output.path(), "/generations/fitness");
  const std::vector<double> scores = read_double_dataset(output.path(), "/generations/task_score");
  const std::vector<double> losses = read_double_dataset(output.path(), "/generations/task_final_loss");
  const std::vector<std::int64_t> families = read_int64_dataset(output.path(), "/generations/task_family");
  ASSERT_EQ(fitness.size(), 18u);
  ASSERT_EQ(scores.size(), 18u * 4);
  ASSERT_EQ(losses.size(), 18u * 4);
  ASSERT_EQ(families.size(), 18u * 4);
  const Evaluator evaluator(config);
  for (std::size_t e = 0; e < fitness.size(); ++e) {
    double sum = 0.0;
    for (std::size_t k = 0; k < 4; ++k) {
      sum += scores[e * 4 + k];
      const EvaluationKey key{config.run.seed, static_cast<std::int64_t>(e / 6), StreamPurpose::task_sample};
      EXPECT_EQ(families[e * 4 + k], static_cast<std::int64_t>(evaluator.family_index_for_slot(key, static_cast<int>(k), 4)));
      EXPECT_TRUE(std::isfinite(losses[e * 4 + k]) || scores[e * 4 + k] == config.evaluation.penalty_fitness);
    }
    EXPECT_DOUBLE_EQ(sum / 4.0, fitness[e]);
  }
  // Weights 1 : 3 over 4 slots: one quadratic and three rosenbrock slots per evaluation.
  EXPECT_EQ(std::count(families.begin(), families.end(), 0), 18);
  EXPECT_EQ(read_int64_dataset(output.path(), "/evaluations/task_family"), families);
  // inspect summarizes them per family: slots per evaluation, last generation's median, the best's mean.
  const RunFileContents contents = read_run_file(output.path(), false);
  EXPECT_EQ(contents.tasks_per_evaluation, 4);
  EXPECT_EQ(contents.task_families, families);
  const std::string text = inspect_run(output.path());
  EXPECT_NE(text.find("per task family"), std::string::npos) << text;
  EXPECT_NE(text.find("quadratic #0            1 "), std::string::npos) << text;
  EXPECT_NE(text.find("rosenbrock #1           3 "), std::string::npos) << text;
}

TEST(SearchRun, AnEvaluationSplitIntoPiecesRunsTheSameTasks) {
  const RunConfig config = parse_config(task_config);
  const Evaluator evaluator(config);
  Genome genome;
  genome.id = 3;
  genome.x = Eigen::VectorXd::Constant(1, 0.6);
  const EvaluationKey key{config.run.seed, 0, StreamPurpose::validation_task};
  const EvaluationResult whole = evaluator.evaluate(EvaluationRequest{genome, key, 7, false, 0, 0});
  ASSERT_EQ(whole.task_scores.size(), 7u);
  std::vector<double> pieces;
  std::vector<std::int32_t> families;
  for (const auto& [first, span] : {std::pair{0, 3}, std::pair{3, 3}, std::pair{6, 1}}) {
    const EvaluationResult piece = evaluator.evaluate(EvaluationRequest{genome, key, 7, false, first, span});
    ASSERT_EQ(piece.task_scores.size(), static_cast<std::size_t>(span));
    pieces.insert(pieces.end(), piece.task_scores.begin(), piece.task_scores.end());
    families.insert(families.end(), piece.task_families.begin(), piece.task_families.end());
    EXPECT_EQ(piece.genome_id, 3);
  }
  EXPECT_EQ(pieces, whole.task_scores);      // same seeds per task index
  EXPECT_EQ(families, whole.task_families);  // same stratified families as in the whole set
  EXPECT_THROW(evaluator.evaluate(EvaluationRequest{genome, key, 7, false, 6, 2}), Error);
}

TEST(SearchRun, TheReportedBestIsTheBestByValidationFitness) {
  const RunConfig config = parse_config(task_config);
  TemporaryPath output(".h5");
  const RunSummary summary = run_search(config, output.path());
  const std::vector<double> fitness = read_double_dataset(output.path(), "/generations/fitness");
  const std::vector<double> validation = read_double_dataset(output.path(), "/generations/validation_fitness");
  const std::vector<std::int64_t> ids = read_int64_dataset(output.path(), "/generations/genome_id");
  ASSERT_EQ(validation.size(), fitness.size());
  double best_validation = std::numeric_limits<double>::infinity();
  std::int64_t best_id = -1;
  for (std::size_t g = 0; g < 3; ++g) {
    // Exactly the two best by training fitness are re-scored.
    std::vector<std::size_t> order = {0, 1, 2, 3, 4, 5};
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return fitness[g * 6 + a] < fitness[g * 6 + b]; });
    for (std::size_t rank = 0; rank < 6; ++rank) {
      const double value = validation[g * 6 + order[rank]];
      EXPECT_EQ(std::isnan(value), rank >= 2) << "generation " << g << " rank " << rank;
    }
    for (std::size_t i = 0; i < 6; ++i) {
      if (validation[g * 6 + i] < best_validation) {
        best_validation = validation[g * 6 + i];
        best_id = ids[g * 6 + i];
      }
    }
  }
  ASSERT_TRUE(summary.best_validation_fitness.has_value());
  EXPECT_EQ(*summary.best_validation_fitness, best_validation);
  EXPECT_EQ(summary.best.id, best_id);
  EXPECT_EQ(testing_support::read_int64_attribute(output.path(), "/best", "genome_id"), best_id);
  // The validation tasks are the same for every generation: re-scoring a genome gives its stored value.
  const Evaluator evaluator(config);
  EvaluationRequest request{summary.best, EvaluationKey{config.run.seed, 0, StreamPurpose::validation_task}, 5, false};
  EXPECT_EQ(evaluator.evaluate(request).fitness, best_validation);
}

}  // namespace
}  // namespace metaevo

namespace metaevo {
namespace {

// Golden values of the random streams and of a GA run over inner-loop tasks: a change in key
// derivation, draw order or arithmetic shows here even when two runs of the new code agree.
TEST(GoldenValues, FirstDrawsOfTheRandomStreams) {
  RandomStream stream(42, StreamPurpose::task_sample, {3, 1});
    EXPECT_EQ(stream.key(), 9847357855755632514ULL);
  EXPECT_EQ(stream.uniform(), 0.88476720188189595);
  EXPECT_EQ(stream.normal(), -0.095776544558693083);
  EXPECT_EQ(stream.below(1000), 373u);
}

TEST(GoldenValues, ShortFixedSeedGaRunOverTasks) {
  const RunConfig config = parse_config(task_config);
  TemporaryPath output(".h5");
  run_search(config, output.path());
  const std::vector<double> fitness = read_double_dataset(output.path(), "/generations/fitness");
  const std::vector<double> genes = read_double_dataset(output.path(), "/generations/genes");
  const std::vector<double> validation = read_double_dataset(output.path(), "/generations/validation_fitness");
    double best_validation = std::numeric_limits<double>::infinity();
  for (double value : validation) if (value < best_validation) best_validation = value;
  EXPECT_EQ(fitness.front(), -1.6021138588086881);
  EXPECT_EQ(fitness.back(), -1.8516935498375362);
  EXPECT_EQ(genes.front(), 0.71738385185661036);
  EXPECT_EQ(genes.back(), 0.73956386756252102);
  EXPECT_EQ(best_validation, -1.8052429627437756);
}

}  // namespace
}  // namespace metaevo
