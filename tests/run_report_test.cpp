// `inspect` and `export` through the library: a real (tiny) run file read back as text and as a
// JSON update rule that rebuilds the very rule the search evaluated.
#include "metaevo/store/run_report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

// Genes of three kinds plus fixed values.
constexpr const char* report_config = R"([run]
seed = 5
generations = 3

[ga]
population_size = 6
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 0

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.3 }
beta1 = { kind = "real", low = 0.5, high = 0.99 }
schedule = { kind = "categorical", choices = ["constant", "cosine", "warmup_cosine"] }
[update_rule.fixed]
epsilon = 1e-7
warmup_fraction = 0

[[tasks]]
family = "quadratic"
dimension = 4
condition_number = 10

[[tasks]]
family = "linear_regression"
dimension = 3
samples = 16
)";

std::string exact_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string four_decimals(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  return buffer;
}

std::string with_replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

/// One run file shared by the suite (a search is the slow part).
class RunReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_file_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                          ("metaevo_RunReportTest_" + std::to_string(::getpid()) + ".h5"));
    config_ = new RunConfig(parse_config(report_config));
    summary_ = new RunSummary(run_search(*config_, *run_file_));
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove(*run_file_, ignored);
    std::filesystem::remove_all(run_file_->string() + ".segments", ignored);
    delete summary_;
    delete config_;
    delete run_file_;
  }

  static std::filesystem::path* run_file_;
  static RunConfig* config_;
  static RunSummary* summary_;
};

std::filesystem::path* RunReportTest::run_file_ = nullptr;
RunConfig* RunReportTest::config_ = nullptr;
RunSummary* RunReportTest::summary_ = nullptr;

TEST_F(RunReportTest, InspectShowsConfigBestGenomeAndEveryGeneration) {
  const std::string text = inspect_run(*run_file_);
  EXPECT_NE(text.find("adam"), std::string::npos) << text;
  EXPECT_NE(text.find("schema version 3"), std::string::npos) << text;
  EXPECT_NE(text.find("3 of 3 configured generations stored (complete)"), std::string::npos) << text;
  EXPECT_NE(text.find("6 x 3 generations"), std::string::npos) << text;
  EXPECT_NE(text.find("2 tasks x 20 inner steps"), std::string::npos) << text;
  EXPECT_NE(text.find("quadratic (weight 1, dimension 4"), std::string::npos) << text;
  EXPECT_NE(text.find("linear_regression"), std::string::npos) << text;
  EXPECT_NE(text.find("{constant, cosine, warmup_cosine}"), std::string::npos) << text;
  EXPECT_NE(text.find("[" + exact_number(1e-4) + ", 0.3]"), std::string::npos) << text;
  for (const char* gene : {"learning_rate", "beta1", "schedule"}) EXPECT_NE(text.find(gene), std::string::npos) << gene;

  EXPECT_NE(text.find("id " + std::to_string(summary_->best.id) + ", generation " +
                      std::to_string(summary_->best.generation) + ", fitness " + exact_number(summary_->best_fitness)),
            std::string::npos)
      << text;
  // Every hyperparameter of the best genome with its value and where it came from.
  for (const auto& [name, value] : summary_->best_hyperparameters) {
    const auto line_start = text.find("    " + name + " ");
    ASSERT_NE(line_start, std::string::npos) << name << "\n" << text;
    const std::string line = text.substr(line_start, text.find('\n', line_start) - line_start);
    EXPECT_NE(line.find(format_gene_value(value)), std::string::npos) << line;
  }
  EXPECT_NE(text.find("epsilon"), std::string::npos);
  const auto origin_of = [&text](const std::string& name) {
    const auto at = text.find("    " + name + " ");
    const std::string line = text.substr(at, text.find('\n', at) - at);
    return line.substr(line.rfind('('));
  };
  EXPECT_EQ(origin_of("learning_rate"), "(gene)");
  EXPECT_EQ(origin_of("epsilon"), "(fixed)");
  EXPECT_EQ(origin_of("beta2"), "(default)");

  // Row g: generation, best, median, worst, best so far.
  const RunFileContents contents = read_run_file(*run_file_);
  double best_so_far = std::numeric_limits<double>::infinity();
  for (std::size_t g = 0; g < 3; ++g) {
    std::vector<double> sorted = contents.fitness[g];
    std::sort(sorted.begin(), sorted.end());
    const double median = 0.5 * (sorted[2] + sorted[3]);
    best_so_far = std::min(best_so_far, sorted.front());
    const auto row = text.find("\n  " + std::to_string(g) + " ");
    ASSERT_NE(row, std::string::npos) << "generation " << g << "\n" << text;
    const std::string line = text.substr(row + 1, text.find('\n', row + 1) - row - 1);
    char expected[256];
    std::snprintf(expected, sizeof expected, "  %-6zu%12.4f%12.4f%12.4f%13.4f", g, sorted.front(), median,
                  sorted.back(), best_so_far);
    EXPECT_EQ(line, expected);
  }
  EXPECT_EQ(four_decimals(best_so_far), four_decimals(summary_->best_fitness));
  EXPECT_EQ(text.find("..."), std::string::npos);
}

TEST(RunReport, InspectShowsTheEffectiveSeedAndLengthNotTheTomlOnes) {
  // As after `metaevo run --seed 77 --generations 2`: the TOML text keeps seed 5 and 3 generations.
  RunConfig config = parse_config(report_config);
  config.run.seed = 77;
  config.run.generations = 2;
  TemporaryPath run_file(".h5");
  run_search(config, run_file.path());
  const std::string text = inspect_run(run_file.path());
  EXPECT_NE(text.find("seed         : 77\n"), std::string::npos) << text;
  EXPECT_NE(text.find("2 of 2 configured generations stored (complete)"), std::string::npos) << text;
}

TEST_F(RunReportTest, BestUpdateRuleIsTheGenomeTheSearchKept) {
  const ExportedUpdateRule rule = best_update_rule(*run_file_);
  const Evaluator evaluator(*config_);
  EXPECT_EQ(rule.family, "adam");
  EXPECT_EQ(rule.hyperparameters, evaluator.hyperparameters_of(summary_->best));  // exact, typed
  EXPECT_EQ(rule.inner_steps, 20);
  EXPECT_EQ(rule.genome_id, summary_->best.id);
  EXPECT_EQ(rule.generation, summary_->best.generation);
  EXPECT_EQ(rule.fitness, summary_->best_fitness);
  EXPECT_EQ(rule.run_file, run_file_->string());
  // Decoded genes have their kind's type.
  EXPECT_TRUE(std::holds_alternative<double>(rule.hyperparameters.at("learning_rate")));
  EXPECT_TRUE(std::holds_alternative<std::string>(rule.hyperparameters.at("schedule")));
  EXPECT_EQ(std::get<double>(rule.hyperparameters.at("epsilon")), 1e-7);
}

TEST_F(RunReportTest, JsonHasTheDocumentedFieldsAndExactValues) {
  const ExportedUpdateRule rule = best_update_rule(*run_file_);
  const std::string text = to_json(rule);
  const nlohmann::json document = nlohmann::json::parse(text);
  EXPECT_EQ(document.at("format"), "metaevo-update-rule");
  EXPECT_EQ(document.at("version"), 2);
  EXPECT_EQ(document.at("family"), "adam");
  EXPECT_FALSE(document.contains("blocks"));  // adam has none, nor an architecture
  EXPECT_FALSE(document.contains("architecture"));
  EXPECT_EQ(document.at("inner_steps"), 20);
  EXPECT_EQ(document.at("source").at("genome_id"), summary_->best.id);
  EXPECT_EQ(document.at("source").at("generation"), summary_->best.generation);
  EXPECT_EQ(document.at("source").at("fitness").get<double>(), summary_->best_fitness);
  EXPECT_EQ(document.at("source").at("run_file"), run_file_->string());

  const ParameterSet expected = Evaluator(*config_).hyperparameters_of(summary_->best);
  const nlohmann::json& hyperparameters = document.at("hyperparameters");
  ASSERT_EQ(hyperparameters.size(), expected.size());
  for (const auto& [name, value] : expected) {
    ASSERT_TRUE(hyperparameters.contains(name)) << name;
    const nlohmann::json& stored = hyperparameters.at(name);
    if (const auto* real = std::get_if<double>(&value)) {
      EXPECT_TRUE(stored.is_number_float()) << name;
      EXPECT_EQ(stored.get<double>(), *real) << name;  // bit-exact after text
    } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
      EXPECT_TRUE(stored.is_number_integer()) << name;
      EXPECT_EQ(stored.get<std::int64_t>(), *integer) << name;
    } else {
      EXPECT_EQ(stored.get<std::string>(), std::get<std::string>(value)) << name;
    }
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST_F(RunReportTest, LoadedRuleStepsExactlyLikeTheSearchedOne) {
  const ExportedUpdateRule loaded = update_rule_from_json(to_json(best_update_rule(*run_file_)));
  const std::unique_ptr<UpdateRule> from_json = make_update_rule(loaded);
  const std::unique_ptr<UpdateRule> searched =
      make_update_rule("adam", Evaluator(*config_).hyperparameters_of(summary_->best), config_->evaluation.inner_steps);
  EXPECT_EQ(from_json->family(), "adam");

  Eigen::VectorXd a(4);
  a << 0.3, -1.2, 2.5, 1e-3;
  Eigen::VectorXd b = a;
  from_json->reset(4);
  searched->reset(4);
  for (std::int64_t t = 1; t <= 20; ++t) {
    // A gradient that depends on the point, so any difference would compound.
    const Eigen::VectorXd gradient_a = a.array() * a.array() - 0.5 * a.array() + 0.1 * static_cast<double>(t);
    const Eigen::VectorXd gradient_b = b.array() * b.array() - 0.5 * b.array() + 0.1 * static_cast<double>(t);
    from_json->step(a, gradient_a, t);
    searched->step(b, gradient_b, t);
    for (Eigen::Index i = 0; i < 4; ++i) ASSERT_EQ(a[i], b[i]) << "step " << t << ", coordinate " << i;
  }
  EXPECT_NE(a, Eigen::VectorXd(Eigen::Vector4d(0.3, -1.2, 2.5, 1e-3)));  // it did move
}

TEST(RunReport, JsonRoundTripsEveryDoubleAndTypeExactly) {
  ExportedUpdateRule rule;
  rule.family = "adamw";
  rule.hyperparameters["learning_rate"] = 0.1 + 0.2;  // 0.30000000000000004
  rule.hyperparameters["beta1"] = 1.0 / 3.0;
  rule.hyperparameters["beta2"] = std::nextafter(1.0, 0.0);  // 0.9999999999999999
  rule.hyperparameters["epsilon"] = std::nextafter(1e-8, 1.0);
  rule.hyperparameters["weight_decay"] = std::int64_t{1};
  rule.hyperparameters["final_lr_fraction"] = 1.0;  // integral double stays a double
  rule.hyperparameters["schedule"] = std::string("warmup_cosine");
  rule.inner_steps = 123;
  rule.run_file = "runs/a \"quoted\" name.h5";
  rule.genome_id = 41;
  rule.generation = 6;
  rule.fitness = 3 * std::numeric_limits<double>::denorm_min();  // subnormal

  const ExportedUpdateRule back = update_rule_from_json(to_json(rule));
  EXPECT_EQ(back.family, rule.family);
  EXPECT_EQ(back.hyperparameters, rule.hyperparameters);  // variant ==: same type and bit-equal value
  EXPECT_EQ(back.inner_steps, rule.inner_steps);
  EXPECT_EQ(back.run_file, rule.run_file);
  EXPECT_EQ(back.genome_id, rule.genome_id);
  EXPECT_EQ(back.generation, rule.generation);
  EXPECT_EQ(back.fitness, rule.fitness);
  EXPECT_EQ(to_json(back), to_json(rule));

  // A non-finite fitness (every evaluation diverged) is written as null and reads back as NaN.
  rule.fitness = std::numeric_limits<double>::infinity();
  const std::string text = to_json(rule);
  EXPECT_NE(text.find("\"fitness\": null"), std::string::npos) << text;
  EXPECT_TRUE(std::isnan(update_rule_from_json(text).fitness));
}

TEST(RunReport, HandWrittenJsonNeedsNoSourceAndMayOmitDefaults) {
  const ExportedUpdateRule rule = update_rule_from_json(
      R"({"format": "metaevo-update-rule", "version": 1, "family": "sgd",
          "hyperparameters": {"learning_rate": 0.05}, "inner_steps": 10})");
  EXPECT_EQ(rule.family, "sgd");
  EXPECT_EQ(rule.hyperparameters.size(), 1u);
  EXPECT_EQ(rule.genome_id, -1);
  Eigen::VectorXd x = Eigen::VectorXd::Ones(2);
  const std::unique_ptr<UpdateRule> sgd = make_update_rule(rule);
  sgd->reset(2);
  sgd->step(x, Eigen::VectorXd::Constant(2, 2.0), 1);
  EXPECT_EQ(x[0], 1.0 - 0.05 * 2.0);  // constant schedule by default
}

TEST(RunReport, BadJsonIsRejectedNamingTheField) {
  const std::string good = R"({"format": "metaevo-update-rule", "version": 1, "family": "adam",
      "hyperparameters": {"learning_rate": 0.01, "schedule": "cosine"}, "inner_steps": 50,
      "source": {"run_file": "r.h5", "genome_id": 3, "generation": 0, "fitness": -0.5}})";
  ASSERT_NO_THROW(update_rule_from_json(good));

  const auto expect_rejected = [](const std::string& text, const std::string& expected_words) {
    try {
      update_rule_from_json(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ConfigError& error) {
      const std::string message = error.what();
      EXPECT_EQ(message.rfind("update rule JSON: ", 0), 0u) << message;
      EXPECT_NE(message.find(expected_words), std::string::npos) << message;
    }
  };
  expect_rejected("this is not JSON", "not valid JSON");
  expect_rejected(good.substr(0, good.size() - 10), "not valid JSON");
  expect_rejected("[1, 2]", "expected a JSON object");
  expect_rejected(with_replaced(good, "metaevo-update-rule", "metaevo-run"), "\"format\" must be \"metaevo-update-rule\"");
  expect_rejected(with_replaced(good, "\"version\": 1", "\"version\": 3"), "\"version\" must be 1 or 2");
  expect_rejected(with_replaced(good, "\"inner_steps\"", "\"blocks\": {\"w\": [1]}, \"inner_steps\""),
                  "\"blocks\": update rule \"adam\" declares no gene blocks");
  expect_rejected(with_replaced(good, "\"inner_steps\"", "\"architecture\": {\"width\": 3}, \"inner_steps\""),
                  "\"architecture.width\": update rule \"adam\" has no architecture option");
  expect_rejected(with_replaced(good, "\"version\": 1", "\"version\": \"1\""), "\"version\" must be an integer");
  expect_rejected(with_replaced(good, "\"adam\"", "\"adamax\""), "\"family\" must be one of sgd, momentum");
  expect_rejected(with_replaced(good, "\"adam\"", "7"), "\"family\" must be a string");
  expect_rejected(with_replaced(good, "\"learning_rate\"", "\"learning_rat\""),
                  "\"hyperparameters.learning_rat\": update rule \"adam\" has no hyperparameter");
  expect_rejected(with_replaced(good, "0.01", "\"0.01\""), "\"hyperparameters.learning_rate\" must be a number");
  expect_rejected(with_replaced(good, "0.01", "true"), "\"hyperparameters.learning_rate\" must be a number");
  expect_rejected(with_replaced(good, "\"cosine\"", "2"), "\"hyperparameters.schedule\" must be one of the strings");
  expect_rejected(with_replaced(good, "\"cosine\"", "\"linear\""), "schedule\" must be one of");
  expect_rejected(with_replaced(good, "0.01", "-0.01"), "learning_rate\" must be in (0, ");
  expect_rejected(with_replaced(good, "\"inner_steps\": 50", "\"inner_steps\": 0"), "\"inner_steps\" must be >= 1");
  expect_rejected(with_replaced(good, "\"inner_steps\": 50", "\"inner_steps\": 2.5"),
                  "\"inner_steps\" must be an integer");
  expect_rejected(with_replaced(good, "\"inner_steps\": 50,", ""), "missing field \"inner_steps\"");
  expect_rejected(with_replaced(good, "\"inner_steps\"", "\"steps\": 1, \"inner_steps\""), "unknown field \"steps\"");
  expect_rejected(with_replaced(good, "\"genome_id\": 3", "\"genome_id\": \"3\""),
                  "\"source.genome_id\" must be an integer");
  expect_rejected(R"({"format": "metaevo-update-rule", "version": 1, "family": "sgd", "hyperparameters": [0.1],
                      "inner_steps": 5})",
                  "\"hyperparameters\" must be an object");
}

TEST(RunReport, UnreadableRunFilesGiveStorageErrors) {
  TemporaryPath text_file(".h5");
  std::ofstream(text_file.path()) << "not an HDF5 file\n";
  EXPECT_THROW(inspect_run(text_file.path()), StorageError);
  EXPECT_THROW(best_update_rule(text_file.path()), StorageError);

  TemporaryPath missing(".h5");
  try {
    inspect_run(missing.path());
    ADD_FAILURE() << "inspect_run accepted a missing file";
  } catch (const StorageError& error) {
    EXPECT_NE(std::string(error.what()).find(missing.string()), std::string::npos) << error.what();
  }
}

TEST(RunReport, RunFileWithoutGenerationsHasNoBestGenome) {
  TemporaryPath run_file(".h5");
  const RunConfig config = parse_config(report_config, "report.toml");
  { RunStore::create(run_file.path(), config).flush(); }
  const std::string text = inspect_run(run_file.path());
  EXPECT_NE(text.find("0 of 3 configured generations stored (incomplete"), std::string::npos) << text;
  EXPECT_NE(text.find("best genome  : none yet"), std::string::npos) << text;
  EXPECT_NE(text.find("no generation stored yet"), std::string::npos) << text;
  try {
    best_update_rule(run_file.path());
    ADD_FAILURE() << "exported a best genome from an empty run";
  } catch (const StorageError& error) {
    EXPECT_NE(std::string(error.what()).find("no best genome"), std::string::npos) << error.what();
  }
}

TEST(RunReport, BestComesFromItsStoredGenesWhateverColumnItsIdNames) {
  // Steady-state rows are stored in arrival order, so an id need not name its column: here the
  // columns hold ids 5..0 and the best is id 4 in column 1.
  TemporaryPath run_file(".h5");
  const RunConfig config = parse_config(report_config);
  std::vector<Genome> population;
  std::vector<EvaluationResult> results;
  for (int column = 0; column < 6; ++column) {
    Genome genome;
    genome.id = 5 - column;
    genome.x = Eigen::Vector3d(0.1 * column + 0.05, 0.9 - 0.1 * column, 0.2 * column);
    genome.step_size = Eigen::Vector3d::Constant(0.1);
    EvaluationResult result;
    result.genome_id = genome.id;
    result.fitness = column == 1 ? -2.5 : -0.5 * column;
    population.push_back(genome);
    results.push_back(result);
  }
  {
    RunStore store = RunStore::create(run_file.path(), config);
    store.append_generation(population, results);
    store.write_best(population[1], -2.5);
    store.flush();
  }
  const ExportedUpdateRule rule = best_update_rule(run_file.path());
  EXPECT_EQ(rule.genome_id, 4);
  EXPECT_EQ(rule.fitness, -2.5);
  EXPECT_EQ(rule.hyperparameters, Evaluator(config).hyperparameters_of(population[1]));
  EXPECT_NE(rule.hyperparameters, Evaluator(config).hyperparameters_of(population[4]));
}

TEST(RunReport, LongRunsShowTheFirstAndLastGenerations) {
  std::string text = report_config;
  text = with_replaced(text, "generations = 3", "generations = 26");
  text = with_replaced(text, "population_size = 6", "population_size = 2");
  text = with_replaced(text, "tasks_per_evaluation = 2", "tasks_per_evaluation = 1");
  text = with_replaced(text, "inner_steps = 20", "inner_steps = 3");
  TemporaryPath run_file(".h5");
  run_search(parse_config(text), run_file.path());
  const std::string report = inspect_run(run_file.path());
  EXPECT_NE(report.find("...   (11 generations not shown)"), std::string::npos) << report;
  for (int g : {0, 4, 16, 25}) EXPECT_NE(report.find("\n  " + std::to_string(g) + " "), std::string::npos) << g;
  for (int g : {5, 10, 15}) EXPECT_EQ(report.find("\n  " + std::to_string(g) + " "), std::string::npos) << g;
}

TEST(RunReport, SteadyStateBestIsFoundAmongRowsInArrivalOrder) {
  std::string text = report_config;
  text = with_replaced(text, "generations = 3", "generations = 4\nmode = \"steady_state\"");
  const RunConfig config = parse_config(text);
  TemporaryPath run_file(".h5");
  const RunSummary summary = run_search(config, run_file.path());
  const ExportedUpdateRule rule = best_update_rule(run_file.path());
  EXPECT_EQ(rule.genome_id, summary.best.id);
  EXPECT_EQ(rule.hyperparameters, Evaluator(config).hyperparameters_of(summary.best));
  EXPECT_NE(inspect_run(run_file.path()).find("mode         : steady_state"), std::string::npos);
}

}  // namespace
}  // namespace metaevo
