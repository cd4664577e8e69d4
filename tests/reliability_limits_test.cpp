// Hostile inputs (issue 19): sizes that cannot run are refused at their key before any allocation,
// a config is read up to a documented size and nesting depth, a checkpoint whose parts disagree is
// refused with a one-line reason, and a run file is locked while a run or resume writes it.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

const std::string cli = METAEVO_CLI_PATH;

constexpr const char* objective_config = R"([run]
seed = 11
generations = 3

[ga]
population_size = 4
elite_count = 1

[objective]
function = "sphere"
dimension = 3
)";

constexpr const char* tasks_config = R"([run]
seed = 3
generations = 2

[ga]
population_size = 4

[evaluation]
tasks_per_evaluation = 2
inner_steps = 10
holdout_tasks = 0
validation_tasks = 0

[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
)";

/// The ConfigError message of parsing `text`, or "" when it parses.
std::string config_error(const std::string& text) {
  try {
    parse_config(text, "limits.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t lines_of(const std::string& output) {
  return static_cast<std::size_t>(std::count(output.begin(), output.end(), '\n'));
}

std::string repeated(const std::string& piece, std::size_t count) {
  std::string text;
  text.reserve(piece.size() * count);
  for (std::size_t i = 0; i < count; ++i) text += piece;
  return text;
}

// ---------------------------------------------------------------------------------------------
// Nesting depth
// ---------------------------------------------------------------------------------------------

std::string deep_header(std::size_t depth) { return "[a" + repeated(".b", depth - 1) + "]\n"; }

TEST(ConfigLimits, DeeplyNestedTomlIsRefusedBeforeItIsParsed) {
  const std::size_t deep = 100000;
  const std::string cases[] = {
      std::string(objective_config) + deep_header(deep),
      std::string(objective_config) + "a" + repeated(".b", deep - 1) + " = 1\n",
      std::string(objective_config) + "a = " + repeated("{ b = ", deep) + "1" + repeated(" }", deep) + "\n",
      std::string(objective_config) + "a = " + repeated("[", deep) + repeated("]", deep) + "\n",
      std::string(objective_config) + "[x]\na = [" + repeated("{ b = [", deep / 2) + repeated("] }", deep / 2) + "]\n",
      std::string(objective_config) + "a = [{}, " + repeated("[", deep) + repeated("]", deep) + "]\n",
  };
  for (const std::string& text : cases) {
    const std::string message = config_error(text);
    SCOPED_TRACE(message.substr(0, 200));
    EXPECT_TRUE(contains(message, "limits.toml:12: ") || contains(message, "limits.toml:13: ")) << message.substr(0, 200);
    EXPECT_TRUE(contains(message, "nest more than 64 levels deep")) << message.substr(0, 200);
    EXPECT_LT(message.size(), 300u);
  }
}

TEST(ConfigLimits, NestingWithinTheLimitAndBracketsInStringsAndCommentsAreNotCounted) {
  // 64 levels: past the scan, refused by the reader as an unknown table.
  EXPECT_TRUE(contains(config_error(std::string(objective_config) + deep_header(64)), "unknown table [a]"));
  EXPECT_TRUE(contains(config_error(std::string(objective_config) + deep_header(65)), "nest more than 64"));
  const std::string noise = "# " + repeated("[{.", 200) + "\n";
  const std::string quoted = repeated("[{.", 200);
  const std::string text = noise + std::string(objective_config) + "# \"" + quoted + "\n" +
                           "\n[evaluation]\n# '''" + quoted + "\n";
  EXPECT_EQ(config_error(text), "");
  // Brackets inside strings of values and keys are text, not nesting.
  const std::string strings = std::string(tasks_config) + "[[tasks]]\nfamily = \"quadratic\"\n" + "\"" + quoted +
                              "\" = 1\n";
  EXPECT_TRUE(contains(config_error(strings), "unknown key")) << config_error(strings).substr(0, 200);
}

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

TEST(ConfigLimits, SizesThatCannotRunAreRefusedAtTheirKey) {
  const std::string population = std::string(objective_config);
  auto replaced = [](std::string text, const std::string& from, const std::string& to) {
    return text.replace(text.find(from), from.size(), to);
  };
  const std::string huge_population = config_error(replaced(population, "population_size = 4", "population_size = 1000000000"));
  EXPECT_TRUE(contains(huge_population, "limits.toml:6: ga.population_size must be <= 1000000")) << huge_population;

  const std::string genome_values = config_error(replaced(
      replaced(population, "population_size = 4", "population_size = 1000"), "dimension = 3", "dimension = 1000000"));
  EXPECT_TRUE(contains(genome_values, "limits.toml:6: ga.population_size 1000 x 1000000 coordinates")) << genome_values;
  EXPECT_TRUE(contains(genome_values, "more than the limit 100000000")) << genome_values;

  const std::string tasks = std::string(tasks_config) + "[[tasks]]\nfamily = \"quadratic\"\ndimension = 4\n";
  const std::string many_tasks =
      config_error(replaced(tasks, "tasks_per_evaluation = 2", "tasks_per_evaluation = 2000000000"));
  EXPECT_TRUE(contains(many_tasks, "evaluation.tasks_per_evaluation must be in [1, 1000000], got 2000000000"))
      << many_tasks;
  const std::string scores = config_error(replaced(replaced(tasks, "tasks_per_evaluation = 2", "tasks_per_evaluation = 200000"),
                                                   "population_size = 4", "population_size = 1000"));
  EXPECT_TRUE(contains(scores, "ga.population_size 1000 x evaluation.tasks_per_evaluation 200000")) << scores;
  const std::string steps = config_error(replaced(tasks, "inner_steps = 10", "inner_steps = 100000000000"));
  EXPECT_TRUE(contains(steps, "evaluation.inner_steps must be in [1, 10000000]")) << steps;
  const std::string data = config_error(std::string(tasks_config) +
                                        "[[tasks]]\nfamily = \"linear_regression\"\ndimension = 100000\nsamples = 1000000\n");
  EXPECT_TRUE(contains(data, "tasks[0].dimension must be <= 5e7, got 1e+11")) << data;  // samples * dimension
  const std::string network = config_error(std::string(tasks_config) +
                                           "[[tasks]]\nfamily = \"mlp_regression\"\nsamples = 1000000\n"
                                           "dimension = 10\nhidden_layers = [10000]\n");
  EXPECT_TRUE(contains(network, "samples * hidden_layers width must be <= 5e7, got 1e+10")) << network;
  const std::string weights = config_error(std::string(tasks_config) +
                                           "[[tasks]]\nfamily = \"mlp_classification\"\ndimension = 100000\n"
                                           "hidden_layers = [10000, 10000]\n");
  EXPECT_TRUE(contains(weights, "parameters of the network (dimension and hidden_layers) must be <= 5e7")) << weights;
  const std::string search_space = config_error(replaced(population, "dimension = 3", "dimension = 100000000"));
  EXPECT_TRUE(contains(search_space, "objective.dimension must be in [1, 10000000]")) << search_space;
}

TEST(ConfigLimits, TaskWeightsWhoseSumWouldOverflowAreRefused) {
  const std::string text = std::string(tasks_config) + "[[tasks]]\nfamily = \"quadratic\"\nweight = 1e308\n" +
                           "[[tasks]]\nfamily = \"quadratic\"\nweight = 1e308\n";
  const std::string message = config_error(text);
  EXPECT_TRUE(contains(message, "tasks[0].weight must be in (0, ")) << message;
  EXPECT_TRUE(contains(message, "got 1e+308")) << message;
  TemporaryPath config("_weights.toml");
  std::ofstream(config.path()) << text;
  const auto check = run_command(cli + " check " + config.string());
  EXPECT_EQ(check.exit_status, 3) << check.output;
  EXPECT_TRUE(contains(check.output, "tasks[0].weight must be in (0, 1e+12], got 1e+308")) << check.output;
}

// ---------------------------------------------------------------------------------------------
// Reading a config
// ---------------------------------------------------------------------------------------------

TEST(ConfigLimits, DevicesAndHugeFilesAreRefusedWithoutReadingThemWhole) {
  try {
    load_config("/dev/zero");
    ADD_FAILURE() << "/dev/zero was accepted";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "cannot read config /dev/zero: not a regular file")) << error.what();
  }
  TemporaryPath big("_big.toml");
  {
    std::ofstream out(big.path(), std::ios::binary);
    out << objective_config << "# " << std::string(max_config_bytes, 'x') << "\n";
  }
  try {
    load_config(big.path());
    ADD_FAILURE() << "a config over 16 MiB was accepted";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "larger than 16777216 bytes (16 MiB)")) << error.what();
  }
  // A regression would read without end: bounded by an address-space limit, or under
  // AddressSanitizer (whose shadow needs terabytes of address space) by a time limit.
#if defined(__SANITIZE_ADDRESS__)
  const std::string bounded = "timeout 60 ";
#else
  const std::string bounded = "ulimit -v 4000000; ";
#endif
  const auto zero = run_command(bounded + cli + " check /dev/zero");
  EXPECT_EQ(zero.exit_status, 3) << zero.output;
  EXPECT_TRUE(contains(zero.output, "not a regular file")) << zero.output;
  EXPECT_EQ(lines_of(zero.output), 1u) << zero.output;
}

TEST(ConfigLimits, CheckAndRunOfADeeplyNestedConfigFailWithAConfigError) {
  TemporaryPath config("_deep.toml");
  std::ofstream(config.path()) << objective_config << deep_header(100000);
  TemporaryPath output(".h5");
  for (const std::string& command : {cli + " check " + config.string(),
                                     cli + " run " + config.string() + " -o " + output.string()}) {
    const auto result = run_command(command);
    EXPECT_EQ(result.exit_status, 3) << command << "\n" << result.output.substr(0, 300);
    EXPECT_TRUE(contains(result.output, "nest more than 64 levels deep")) << result.output.substr(0, 300);
    EXPECT_EQ(lines_of(result.output), 1u);
  }
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

// ---------------------------------------------------------------------------------------------
// Damaged run files
// ---------------------------------------------------------------------------------------------

/// Replaces the string attribute `name` of the object at `object` in `file` with `value`.
void rewrite_string_attribute(const std::filesystem::path& file, const char* object, const char* name,
                              const std::string& value) {
  const hid_t id = H5Fopen(file.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(id, 0);
  const hid_t group = H5Oopen(id, object, H5P_DEFAULT);
  ASSERT_GE(group, 0);
  ASSERT_GE(H5Adelete(group, name), 0);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = value.c_str();
  EXPECT_GE(H5Awrite(attribute, type, &text), 0);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  H5Oclose(group);
  H5Fclose(id);
}

void write_int64_attribute(const std::filesystem::path& file, const char* object, const char* name, std::int64_t value) {
  const hid_t id = H5Fopen(file.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(id, 0);
  const hid_t group = H5Oopen(id, object, H5P_DEFAULT);
  ASSERT_GE(group, 0);
  const hid_t attribute = H5Aopen(group, name, H5P_DEFAULT);
  ASSERT_GE(attribute, 0);
  EXPECT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &value), 0);
  H5Aclose(attribute);
  H5Oclose(group);
  H5Fclose(id);
}

std::filesystem::path first_segment(const std::filesystem::path& run_file) {
  return std::filesystem::path(run_file.string() + ".segments") / "000000.h5";
}

/// Expects `metaevo <command> <file>` to fail with a one-line message (its standard error; a resume
/// may have printed the run's banner before) naming the file and `reason`, not a signal or an
/// uncaught exception.
void expect_refused(const std::string& command, const std::filesystem::path& file, const std::string& reason) {
  const auto result = run_command("{ " + cli + " " + command + " " + file.string() + " > /dev/null; }");
  SCOPED_TRACE(command);
  EXPECT_TRUE(result.exit_status == 3 || result.exit_status == 4) << result.exit_status << "\n" << result.output.substr(0, 400);
  EXPECT_TRUE(contains(result.output, file.string())) << result.output.substr(0, 400);
  EXPECT_TRUE(contains(result.output, reason)) << result.output.substr(0, 400);
  EXPECT_EQ(lines_of(result.output), 1u) << result.output.substr(0, 400);
}

TEST(RunFileLimits, ADeeplyNestedStoredConfigIsRefusedByResumeAndInspect) {
  TemporaryPath run_file(".h5");
  run_search(parse_config(objective_config), run_file.path());
  rewrite_string_attribute(run_file.path(), "/config", "toml", std::string(objective_config) + deep_header(100000));
  expect_refused("resume", run_file.path(), "nest more than 64 levels deep");
  expect_refused("inspect", run_file.path(), "nest more than 64 levels deep");
}

TEST(RunFileLimits, ADatasetResizedFarBeyondItsListedRowsIsReadOnlyToThoseRows) {
  TemporaryPath run_file(".h5");
  run_search(parse_config(objective_config), run_file.path());
  {
    const hid_t file = H5Fopen(first_segment(run_file.path()).string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t fitness = H5Dopen2(file, "/generations/fitness", H5P_DEFAULT);
    ASSERT_GE(fitness, 0);
    const hsize_t dims[2] = {1'000'000'000, 4};
    EXPECT_GE(H5Dset_extent(fitness, dims), 0);
    H5Dclose(fitness);
    H5Fclose(file);
  }
  const RunFileContents contents = read_run_file(run_file.path());
  EXPECT_EQ(contents.generations, 3);
  EXPECT_EQ(contents.fitness.size(), 3u);
  const auto inspect = run_command(cli + " inspect " + run_file.string());
  EXPECT_EQ(inspect.exit_status, 0) << inspect.output;
  const auto resume = run_command(cli + " resume " + run_file.string());
  EXPECT_EQ(resume.exit_status, 0) << resume.output;
}

TEST(RunFileLimits, AGenerationCountBeyondTheMachineIsRefusedBeforeAllocating) {
  TemporaryPath run_file(".h5");
  run_search(parse_config(objective_config), run_file.path());
  {
    const hid_t file = H5Fopen(run_file.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const std::int64_t generations = 1'000'000'000;
    const hid_t group = H5Gopen2(file, "/generations", H5P_DEFAULT);
    const hid_t attribute = H5Aopen(group, "completed_generations", H5P_DEFAULT);
    EXPECT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &generations), 0);
    H5Aclose(attribute);
    H5Gclose(group);
    // The segment list claims them too.
    const hid_t list = H5Dopen2(file, "/segments/generations", H5P_DEFAULT);
    ASSERT_GE(list, 0);
    const hid_t space = H5Dget_space(list);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
    H5Sclose(space);
    ASSERT_FALSE(rows.empty());
    ASSERT_GE(H5Dread(list, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), 0);
    rows[0] = generations;
    EXPECT_GE(H5Dwrite(list, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), 0);
    H5Dclose(list);
    H5Fclose(file);
  }
  for (const char* command : {"resume", "inspect"}) {
    const auto result = run_command(cli + " " + command + " " + run_file.string());
    SCOPED_TRACE(command);
    EXPECT_EQ(result.exit_status, 4) << result.output;
    EXPECT_TRUE(contains(result.output, run_file.string())) << result.output;
    EXPECT_EQ(lines_of(result.output), 1u) << result.output;
    EXPECT_FALSE(contains(result.output, "bad_alloc")) << result.output;
  }
  write_int64_attribute(run_file.path(), "/generations", "completed_generations", 1'000'000'001);
  expect_refused("resume", run_file.path(), "more than 1000000000");
}

// ---------------------------------------------------------------------------------------------
// Checkpoints whose parts disagree
// ---------------------------------------------------------------------------------------------

/// Replaces `to`'s /checkpoint/strategy with `from`'s.
void copy_strategy_state(const std::filesystem::path& from, const std::filesystem::path& to) {
  const hid_t source = H5Fopen(from.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t destination = H5Fopen(to.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(source, 0);
  ASSERT_GE(destination, 0);
  ASSERT_GE(H5Ldelete(destination, "/checkpoint/strategy", H5P_DEFAULT), 0);
  ASSERT_GE(H5Ocopy(source, "/checkpoint/strategy", destination, "/checkpoint/strategy", H5P_DEFAULT, H5P_DEFAULT), 0);
  H5Fclose(destination);
  H5Fclose(source);
}

TEST(CheckpointConsistency, AFreshStrategyStateAfterCompletedGenerationsIsRefused) {
  // Steady state: the GA's own generation counter stays 0, so only the state's content can tell.
  std::string text = objective_config;
  text.replace(text.find("generations = 3"), 15, "generations = 3\nmode = \"steady_state\"");
  const RunConfig config = parse_config(text);
  TemporaryPath run_file(".h5");
  run_search(config, run_file.path());
  TemporaryPath fresh("_fresh.h5");
  RunCallbacks stop_at_once;
  stop_at_once.should_stop = [] { return true; };
  run_search(config, fresh.path(), stop_at_once);
  ASSERT_EQ(read_run_file(fresh.path()).generations, 0);
  copy_strategy_state(fresh.path(), run_file.path());
  expect_refused("resume", run_file.path(), "its checkpoint is at generation 3 but the strategy state holds no evaluated genome");
}

TEST(CheckpointConsistency, AnEmptyStrategyStateIsRefused) {
  TemporaryPath run_file(".h5");
  run_search(parse_config(objective_config), run_file.path());
  {
    const hid_t file = H5Fopen(run_file.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t strategy = H5Gopen2(file, "/checkpoint/strategy", H5P_DEFAULT);
    ASSERT_GE(strategy, 0);
    std::vector<std::string> names;
    H5Literate(strategy, H5_INDEX_NAME, H5_ITER_INC, nullptr,
               [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
                 static_cast<std::vector<std::string>*>(data)->emplace_back(name);
                 return 0;
               },
               &names);
    for (const std::string& name : names) EXPECT_GE(H5Ldelete(strategy, name.c_str(), H5P_DEFAULT), 0);
    H5Gclose(strategy);
    H5Fclose(file);
  }
  expect_refused("resume", run_file.path(), "empty strategy state");
}

TEST(CheckpointConsistency, CountersSeedAndGenerationsThatDisagreeAreRefused) {
  const RunConfig config = parse_config(objective_config);
  TemporaryPath reference(".h5");
  run_search(config, reference.path());
  struct Case {
    const char* name;
    const char* object;
    const char* attribute;
    std::int64_t value;
    const char* reason;
  };
  const Case cases[] = {
      {"generation", "/checkpoint", "completed_generations", 2, "its checkpoint is at generation 2 but it stores 3"},
      {"negative", "/checkpoint", "session", -1, "has a negative counter"},
      {"stored", "/generations", "completed_generations", 2, "generation"},
  };
  for (const Case& bad : cases) {
    TemporaryPath damaged(std::string("_") + bad.name + ".h5");
    testing_support::copy_run_file(reference.path(), damaged.path());
    write_int64_attribute(damaged.path(), bad.object, bad.attribute, bad.value);
    expect_refused("resume", damaged.path(), bad.reason);
  }
  // The seed the run was started with is stored apart from the config text: a changed one is refused.
  TemporaryPath reseeded("_seed.h5");
  testing_support::copy_run_file(reference.path(), reseeded.path());
  {
    const hid_t file = H5Fopen(reseeded.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t group = H5Gopen2(file, "/config", H5P_DEFAULT);
    const hid_t attribute = H5Aopen(group, "seed", H5P_DEFAULT);
    const std::uint64_t seed = 12;
    EXPECT_GE(H5Awrite(attribute, H5T_NATIVE_UINT64, &seed), 0);
    H5Aclose(attribute);
    H5Gclose(group);
    H5Fclose(file);
  }
  expect_refused("resume", reseeded.path(), "seed");
}

// ---------------------------------------------------------------------------------------------
// The run file's lock
// ---------------------------------------------------------------------------------------------

TEST(RunFileLock, ASecondWriterOfALiveRunFileIsRefusedAndTheLockGoesWithTheWriter) {
  const RunConfig config = parse_config(objective_config);
  TemporaryPath run_file(".h5");
  run_search(config, run_file.path());
  {
    ResumedRun live = RunStore::resume(run_file.path());
    EXPECT_TRUE(std::filesystem::exists(run_file.string() + ".partial"));
    EXPECT_TRUE(std::filesystem::exists(run_file.string() + ".lock"));
    try {
      RunStore::resume(run_file.path());
      ADD_FAILURE() << "a second resume of a live run file was accepted";
    } catch (const StorageError& error) {
      EXPECT_TRUE(contains(error.what(), "cannot resume run file '" + run_file.string() +
                                             "': it is in use by another run or resume (process " +
                                             std::to_string(::getpid())))
          << error.what();
    }
    EXPECT_THROW(RunStore::create(run_file.path(), config), StorageError);
    // The live run's working copy survived both attempts.
    EXPECT_TRUE(std::filesystem::exists(run_file.string() + ".partial"));
  }
  EXPECT_FALSE(std::filesystem::exists(run_file.string() + ".lock"));
  EXPECT_NO_THROW(RunStore::resume(run_file.path()));

  // A writer killed with SIGKILL holds the lock no more: the kernel released it with the process.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      ResumedRun held = RunStore::resume(run_file.path());
      ::kill(::getpid(), SIGKILL);
    } catch (...) {
    }
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(std::filesystem::exists(run_file.string() + ".lock"));  // left behind, but not held
  EXPECT_NO_THROW(RunStore::resume(run_file.path()));
}

TEST(RunFileLock, ResumeWhileTheRunIsLiveFailsAtOnceAndTheRunFinishes) {
  std::string text = objective_config;
  text.replace(text.find("generations = 3"), 15, "generations = 4");
  text += "evaluation_sleep_seconds = 0.1\n";
  TemporaryPath config("_slow.toml");
  std::ofstream(config.path()) << text;
  TemporaryPath run_file(".h5");
  TemporaryPath log("_run.log");
  const int started =
      std::system((cli + " run " + config.string() + " -o " + run_file.string() + " > " + log.string() + " 2>&1 &").c_str());
  ASSERT_EQ(started, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(run_file.string() + ".lock") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::filesystem::exists(run_file.string() + ".lock"));
  const auto second = run_command(cli + " resume " + run_file.string());
  EXPECT_EQ(second.exit_status, 4) << second.output;
  EXPECT_TRUE(contains(second.output, "in use by another run or resume")) << second.output;
  EXPECT_EQ(lines_of(second.output), 1u) << second.output;
  const auto forced = run_command(cli + " run " + config.string() + " -o " + run_file.string() + " --force");
  EXPECT_EQ(forced.exit_status, 4) << forced.output;
  EXPECT_TRUE(contains(forced.output, "in use by another run or resume")) << forced.output;
  while (std::filesystem::exists(run_file.string() + ".lock") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const RunFileContents contents = read_run_file(run_file.path());
  EXPECT_EQ(contents.generations, 4);
}

}  // namespace
}  // namespace metaevo
