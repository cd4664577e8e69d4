// The JSON Lines log (--log-json) and --quiet: the log's records, a resume's log, the MPI job's log,
// and what --quiet leaves on stdout.
#include "metaevo/runtime/generation_log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "metaevo/core/error.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

// Small: 6 genomes x 4 generations, validation (on by default) re-scoring 2 of them on 4 tasks.
constexpr const char* logged_config = R"([run]
seed = 5
generations = 4

[ga]
population_size = 6
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 2
inner_steps = 20
holdout_tasks = 0
validation_tasks = 4

[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }

[[tasks]]
family = "quadratic"
dimension = 4
condition_number = 10
)";

void write_file(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Every line of the log parsed (a line that is not a JSON object fails the test).
std::vector<nlohmann::json> read_log(const std::filesystem::path& path) {
  std::vector<nlohmann::json> records;
  for (const std::string& line : lines_of(read_text(path))) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(record.is_object()) << line;
    if (record.is_object()) records.push_back(record);
  }
  return records;
}

/// The checks that hold for the log of any complete run of logged_config (`generations` of them).
void expect_consistent_log(const std::vector<nlohmann::json>& records, int generations) {
  ASSERT_EQ(records.size(), static_cast<std::size_t>(generations));
  double best = std::numeric_limits<double>::infinity();
  double elapsed = 0.0;
  for (int g = 0; g < generations; ++g) {
    const nlohmann::json& record = records[static_cast<std::size_t>(g)];
    for (const char* field : {"generation", "island", "session", "best", "generation_best", "median",
                              "validation_fitness", "validated_best", "evaluations", "failed", "diverged",
                              "evaluations_per_second", "elapsed_seconds", "eta_seconds", "timestamp"}) {
      EXPECT_TRUE(record.contains(field)) << field << " in " << record.dump();
    }
    EXPECT_EQ(record["generation"].get<int>(), g);  // 0-based, as the run file's rows
    EXPECT_EQ(record["island"].get<int>(), 0);
    EXPECT_EQ(record["evaluations"].get<int>(), 6);  // the population
    EXPECT_GE(record["failed"].get<int>(), 0);
    EXPECT_GE(record["diverged"].get<int>(), 0);
    // best is the best so far: the running minimum of the generations' bests.
    best = std::min(best, record["generation_best"].get<double>());
    EXPECT_EQ(record["best"].get<double>(), best) << record.dump();
    EXPECT_LE(record["generation_best"].get<double>(), record["median"].get<double>());
    // Validation is on: every generation re-scored two candidates.
    ASSERT_TRUE(record["validation_fitness"].is_number()) << record.dump();
    ASSERT_TRUE(record["validated_best"].is_number()) << record.dump();
    EXPECT_LE(record["validated_best"].get<double>(), record["validation_fitness"].get<double>());
    EXPECT_GE(record["elapsed_seconds"].get<double>(), elapsed);
    elapsed = record["elapsed_seconds"].get<double>();
    EXPECT_GT(record["evaluations_per_second"].get<double>(), 0.0);
    EXPECT_EQ(record["timestamp"].get<std::string>().size(), 20u);  // 2025-03-01T14:05:09Z
  }
  EXPECT_EQ(records.back()["eta_seconds"].get<double>(), 0.0);
}

TEST(GenerationLog, AnIslandRunsRecordIsItsWholeRowLineThenOneLinePerIsland) {
  TemporaryPath path(".jsonl");
  GenerationRecord record;
  record.generation = 3;
  record.island = -1;
  for (int island = 0; island < 2; ++island) {
    GenerationRecord part;
    part.generation = 3;
    part.island = island;
    part.best_fitness = -1.0 - island;
    record.islands.push_back(part);
  }
  GenerationLog::create(path.path()).append(record);
  std::ifstream in(path.path());
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["island"], -1);
  EXPECT_EQ(lines[1]["island"], 0);
  EXPECT_EQ(lines[2]["island"], 1);
  EXPECT_EQ(lines[2]["generation_best"], -2.0);
  for (const nlohmann::json& line : lines) EXPECT_EQ(line["generation"], 3);
}

TEST(GenerationLog, OneObjectPerRecordWithNullForWhatIsNotThere) {
  GenerationRecord record;
  record.generation = 7;
  record.session = 2;
  record.evaluations = 6;
  record.best_fitness = -1.5;
  record.best_so_far = -2.0;
  record.median_fitness = -1.0;
  record.failed = 1;
  record.diverged = 2;
  const nlohmann::json json = nlohmann::json::parse(generation_json(record));
  EXPECT_EQ(json["generation"], 7);
  EXPECT_EQ(json["island"], 0);
  EXPECT_EQ(json["session"], 2);
  EXPECT_EQ(json["best"], -2.0);
  EXPECT_EQ(json["generation_best"], -1.5);
  EXPECT_EQ(json["median"], -1.0);
  EXPECT_EQ(json["failed"], 1);
  EXPECT_EQ(json["diverged"], 2);
  EXPECT_TRUE(json["validation_fitness"].is_null());  // not validated
  EXPECT_TRUE(json["validated_best"].is_null());
  EXPECT_EQ(generation_json(record).find('\n'), std::string::npos);
  EXPECT_EQ(generation_json(record).rfind("{\"generation\":7,", 0), 0u);  // generation first
  record.median_fitness = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(nlohmann::json::parse(generation_json(record))["median"].is_null());
}

TEST(GenerationLog, AResumeKeepsTheGenerationsBeforeTheCheckpointAndAppends) {
  TemporaryPath path(".jsonl");
  {
    GenerationLog log = GenerationLog::create(path.path());
    for (std::int64_t g = 0; g < 5; ++g) {
      GenerationRecord record;
      record.generation = g;
      log.append(record);
    }
  }
  // A kill in the middle of a line leaves a line cut short.
  std::ofstream(path.path(), std::ios::app) << "{\"generation\":5,\"isl";
  {
    GenerationLog log = GenerationLog::resume(path.path(), 3);  // generations 3 and 4 run again
    GenerationRecord record;
    record.generation = 3;
    record.session = 1;
    log.append(record);
  }
  const std::vector<nlohmann::json> records = read_log(path.path());
  ASSERT_EQ(records.size(), 4u);
  for (std::size_t g = 0; g < records.size(); ++g) EXPECT_EQ(records[g]["generation"], g);
  EXPECT_EQ(records[3]["session"], 1);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));

  TemporaryPath missing(".jsonl");
  GenerationLog::resume(missing.path(), 3);  // created, empty
  EXPECT_TRUE(std::filesystem::exists(missing.path()));
  EXPECT_THROW(GenerationLog::create("/nonexistent-directory/log.jsonl"), StorageError);
}

TEST(Cli, LogJsonHasOneObjectPerGenerationAndQuietKeepsStdoutShort) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  TemporaryPath log(".jsonl");
  TemporaryPath stderr_text("_stderr.txt");
  write_file(config.path(), logged_config);
  // In braces: run_command's own 2>&1 then applies to the group, and stderr stays in its file.
  const auto run = run_command("{ " + std::string(METAEVO_CLI_PATH) + " run " + config.string() +
                               " --quiet --log-json " + log.string() + " --out " + output.string() + " 2>" +
                               stderr_text.string() + "; }");
  ASSERT_EQ(run.exit_status, 0) << run.output << read_text(stderr_text.path());
  expect_consistent_log(read_log(log.path()), 4);
  // The same numbers as the run file's: each generation's best training fitness.
  const RunFileContents contents = read_run_file(output.path());
  ASSERT_EQ(contents.fitness.size(), 4u);
  for (std::size_t g = 0; g < 4; ++g) {
    EXPECT_EQ(read_log(log.path())[g]["generation_best"].get<double>(),
              *std::min_element(contents.fitness[g].begin(), contents.fitness[g].end()));
  }

  // stdout: the start line and the summary, no line per generation.
  const std::vector<std::string> stdout_lines = lines_of(run.output);
  EXPECT_NE(run.output.find("metaevo: running"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("completed: 4 generations"), std::string::npos) << run.output;
  for (const std::string& line : stdout_lines) EXPECT_NE(line.rfind("gen ", 0), 0u) << run.output;
  // stderr (a file, not a terminal): whole progress lines with rate and ETA, the last at 4/4.
  const std::string progress = read_text(stderr_text.path());
  EXPECT_NE(progress.find("generation 4/4 (100%)"), std::string::npos) << progress;
  EXPECT_NE(progress.find("ETA"), std::string::npos) << progress;
  EXPECT_EQ(progress.find('\r'), std::string::npos) << progress;
  EXPECT_LE(lines_of(progress).size(), 4u) << progress;
}

TEST(Cli, LogJsonOfAResumedRunHoldsEveryGenerationOnce) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  TemporaryPath log(".jsonl");
  write_file(config.path(), logged_config);
  const std::string metaevo = METAEVO_CLI_PATH;
  const auto first = run_command(metaevo + " run " + config.string() + " --quiet --generations 2 --log-json " +
                                 log.string() + " --out " + output.string());
  ASSERT_EQ(first.exit_status, 0) << first.output;
  ASSERT_EQ(read_log(log.path()).size(), 2u);
  // As an interrupted run leaves it: a generation logged after the last checkpoint, and a line cut
  // short. The resume runs generation 2 again and replaces both.
  std::ofstream(log.path(), std::ios::app) << R"({"generation":2,"island":0,"best":-99})" << "\n{\"generation\":3,";
  const auto resumed = run_command(metaevo + " resume " + output.string() + " --quiet --generations 4 --log-json " +
                                   log.string());
  ASSERT_EQ(resumed.exit_status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("metaevo: resuming"), std::string::npos) << resumed.output;
  const std::vector<nlohmann::json> records = read_log(log.path());
  expect_consistent_log(records, 4);
  EXPECT_EQ(records[1]["session"], 0);
  EXPECT_EQ(records[2]["session"], 1);
  EXPECT_EQ(records[3]["session"], 1);
}

TEST(Cli, UnwritableLogJsonFailsBeforeAnyWork) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  write_file(config.path(), logged_config);
  const auto run = run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() +
                               " --log-json /nonexistent-directory/log.jsonl --out " + output.string());
  EXPECT_EQ(run.exit_status, 4) << run.output;
  EXPECT_EQ(lines_of(run.output).size(), 1u) << run.output;
  EXPECT_NE(run.output.find("cannot write the JSON log '/nonexistent-directory/log.jsonl'"), std::string::npos)
      << run.output;
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

// Only the master writes the log; workers' evaluations are counted in it all the same.
TEST(MpiRun, LogJsonOfAnMpiJobHasOneObjectPerGeneration) {
  TemporaryPath config("_config.toml");
  TemporaryPath output(".h5");
  TemporaryPath log(".jsonl");
  write_file(config.path(), logged_config);
  const auto run = run_command("timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 " +
                               std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --quiet --log-json " +
                               log.string() + " --out " + output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_NE(run.output.find("2 MPI worker ranks"), std::string::npos) << run.output;
  expect_consistent_log(read_log(log.path()), 4);
}

}  // namespace
}  // namespace metaevo
