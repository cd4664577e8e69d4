// The run file is readable without metaevo: scripts/read_run.py (h5py) and h5dump agree with
// metaevo::read_run_file. Skipped where h5py (python3-h5py) or h5dump is not installed.
#include <hdf5.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

constexpr const char* small_run_config = R"([run]
seed = 5
generations = 3

[ga]
population_size = 5
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 2

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
beta1 = { kind = "real", low = 0.5, high = 0.99 }
schedule = { kind = "categorical", choices = ["constant", "cosine"] }

[[tasks]]
family = "quadratic"
dimension = 4
condition_number = 10
)";

const std::string python = "/usr/bin/python3";
const std::string read_run_script = std::string(METAEVO_SOURCE_DIR) + "/scripts/read_run.py";

bool h5py_available() { return run_command(python + " -c \"import h5py\"").exit_status == 0; }

testing_support::CommandResult read_run(const std::filesystem::path& file) {
  return run_command(python + " " + read_run_script + " '" + file.string() + "'");
}

nlohmann::json parse_summary(const std::string& output) {
  // Only the JSON object is on stdout; anything before it would be a warning on stderr.
  const std::size_t start = output.find('{');
  if (start == std::string::npos) throw std::runtime_error("no JSON object in: " + output);
  return nlohmann::json::parse(output.substr(start));
}

TEST(H5py, SummaryMatchesTheCppReader) {
  if (!h5py_available()) GTEST_SKIP() << "python3-h5py is not installed";
  TemporaryPath output(".h5");
  const RunSummary summary = run_search(parse_config(small_run_config), output.path());
  ASSERT_EQ(summary.termination, Termination::completed);
  const RunFileContents contents = read_run_file(output.path());

  const auto result = read_run(output.path());
  ASSERT_EQ(result.exit_status, 0) << result.output;
  const nlohmann::json document = parse_summary(result.output);
  EXPECT_EQ(document.at("schema_version").get<std::int64_t>(), contents.schema_version);
  EXPECT_EQ(document.at("schema_version").get<std::int64_t>(), run_store_schema_version);
  EXPECT_EQ(document.at("generations").get<std::int64_t>(), contents.generations);
  EXPECT_EQ(document.at("generations").get<std::int64_t>(), 3);
  EXPECT_EQ(document.at("population_size").get<std::int64_t>(), contents.population_size);
  EXPECT_EQ(document.at("population_size").get<std::int64_t>(), 5);
  EXPECT_EQ(document.at("gene_names").get<std::vector<std::string>>(), contents.gene_names);
  EXPECT_EQ(document.at("gene_names").get<std::vector<std::string>>(),
            (std::vector<std::string>{"learning_rate", "beta1", "schedule"}));
  // Python prints the shortest repr that round-trips, so the double is recovered bit for bit.
  EXPECT_EQ(document.at("best_fitness").get<double>(), contents.best_fitness);
  EXPECT_EQ(document.at("best_fitness").get<double>(), summary.best_fitness);
  EXPECT_EQ(document.at("evaluations_logged").get<std::int64_t>(), contents.evaluations_logged);
  EXPECT_EQ(document.at("evaluations_logged").get<std::int64_t>(), 15);
  ASSERT_TRUE(contents.has_checkpoint);
  EXPECT_EQ(document.at("checkpoint_generation").get<std::int64_t>(), contents.checkpoint_generation);
  EXPECT_EQ(document.at("checkpoint_generation").get<std::int64_t>(), 3);
}

TEST(H5py, SummaryOfAStoreWithoutGenerationsOrBest) {
  if (!h5py_available()) GTEST_SKIP() << "python3-h5py is not installed";
  TemporaryPath output(".h5");
  { RunStore store = RunStore::create(output.path(), parse_config(small_run_config)); }
  const auto result = read_run(output.path());
  ASSERT_EQ(result.exit_status, 0) << result.output;
  const nlohmann::json document = parse_summary(result.output);
  EXPECT_EQ(document.at("generations").get<std::int64_t>(), 0);
  EXPECT_EQ(document.at("population_size").get<std::int64_t>(), 5);
  EXPECT_TRUE(document.at("best_fitness").is_null());
  EXPECT_TRUE(document.at("checkpoint_generation").is_null());
  EXPECT_EQ(document.at("evaluations_logged").get<std::int64_t>(), 0);
}

TEST(H5py, RejectsFilesThatAreNotRuns) {
  if (!h5py_available()) GTEST_SKIP() << "python3-h5py is not installed";
  TemporaryPath text(".txt");
  std::ofstream(text.path()) << "not hdf5\n";
  auto result = read_run(text.path());
  EXPECT_NE(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("read_run.py"), std::string::npos) << result.output;

  // A valid HDF5 file without the run's root attribute.
  TemporaryPath foreign(".h5");
  const hid_t file = H5Fcreate(foreign.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Fclose(file), 0);
  result = read_run(foreign.path());
  EXPECT_NE(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("schema_version"), std::string::npos) << result.output;

  TemporaryPath missing(".h5");
  result = read_run(missing.path());
  EXPECT_NE(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("no such file"), std::string::npos) << result.output;
}

TEST(H5dump, ReadsTheRunFileHeader) {
  if (run_command("h5dump --version").exit_status != 0) GTEST_SKIP() << "h5dump (hdf5-tools) is not installed";
  TemporaryPath output(".h5");
  run_search(parse_config(small_run_config), output.path());
  const auto result = run_command("h5dump -H '" + output.string() + "'");
  ASSERT_EQ(result.exit_status, 0) << result.output;
  for (const char* expected : {"ATTRIBUTE \"schema_version\"", "GROUP \"generations\"", "GROUP \"segments\"",
                                "GROUP \"checkpoint\"", "GROUP \"strategy\""}) {
    EXPECT_NE(result.output.find(expected), std::string::npos) << expected << "\n" << result.output;
  }
}

// read_run.py --flatten writes the run as one file (the root plus whole /generations and /evaluations
// datasets, concatenated from the segments) that h5dump, h5diff and plain h5py code read as they are.
TEST(H5py, FlattenGivesOneFileWithTheWholeDatasets) {
  if (!h5py_available()) GTEST_SKIP() << "python3-h5py is not installed";
  TemporaryPath output(".h5");
  RunConfig config = parse_config(small_run_config);
  run_search(config, output.path());
  const RunFileContents contents = read_run_file(output.path());
  ASSERT_GE(contents.segments, 2);  // a commit per generation: rows spread over several segments
  TemporaryPath flat("_flat.h5");
  const auto result = run_command(python + " " + read_run_script + " '" + output.string() + "' --flatten '" +
                                  flat.string() + "'");
  ASSERT_EQ(result.exit_status, 0) << result.output;
  const hid_t file = H5Fopen(flat.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t dataset = H5Dopen2(file, "/generations/fitness", H5P_DEFAULT);
  ASSERT_GE(dataset, 0);
  const auto generations = static_cast<std::size_t>(contents.generations);
  const auto population = static_cast<std::size_t>(contents.population_size);
  std::vector<double> fitness(generations * population);
  EXPECT_GE(H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, fitness.data()), 0);
  for (std::size_t g = 0; g < generations; ++g) {
    for (std::size_t i = 0; i < population; ++i) EXPECT_EQ(fitness[g * population + i], contents.fitness[g][i]);
  }
  H5Dclose(dataset);
  const hid_t log = H5Dopen2(file, "/evaluations/genome_id", H5P_DEFAULT);
  ASSERT_GE(log, 0);
  const hid_t space = H5Dget_space(log);
  EXPECT_EQ(H5Sget_simple_extent_npoints(space), contents.evaluations_logged);
  H5Sclose(space);
  H5Dclose(log);
  H5Fclose(file);
}

}  // namespace
}  // namespace metaevo
