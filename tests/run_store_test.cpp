#include "metaevo/store/run_store.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

namespace fs = std::filesystem;

/// A unique path under the system temp directory, removed (with any derived files) at scope exit.
class TempPath {
 public:
  explicit TempPath(const std::string& stem, const std::string& extension = ".h5") {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("metaevo_run_store_" + std::string(test->name()) + "_" + stem + "_" + std::to_string(::getpid()) + extension);
    fs::remove(path_);
  }
  ~TempPath() {
    std::error_code ignored;
    fs::remove(path_, ignored);
    fs::remove_all(path_.string() + ".segments", ignored);
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr int population_size = 4;

RunConfig make_config() {
  RunConfig config;
  config.run.seed = 18446744073709551557ULL;  // above INT64_MAX: the attribute must be unsigned
  config.run.generations = 3;
  config.ga.population_size = population_size;
  config.evaluation.tasks_per_evaluation = 5;
  config.evaluation.inner_steps = 77;
  config.update_rule.family = "adam";
  config.update_rule.genes = {
      GeneSpec{"learning_rate", GeneKind::log_real, 1e-4, 1e-1, {}, "rates"},
      GeneSpec{"warmup_steps", GeneKind::integer, 0.0, 20.0, {}, ""},
      GeneSpec{"schedule", GeneKind::categorical, 0.0, 1.0, {"constant", "cosine", "linear"}, ""},
  };
  config.source_text = "[run]\nseed = 18446744073709551557\n# a comment with \"quotes\" and unicode: \xce\xbb\n";
  config.source_name = "store_test.toml";
  return config;
}

/// Awkward, non-representable-in-decimal values so the round trip must be bit-exact.
std::vector<Genome> make_population(std::int64_t generation, Eigen::Index gene_count) {
  std::vector<Genome> population;
  for (int i = 0; i < population_size; ++i) {
    Genome genome;
    genome.id = generation * population_size + i;
    genome.generation = generation;
    genome.parent_a = generation == 0 ? -1 : (generation - 1) * population_size + i;
    genome.parent_b = generation == 0 ? -1 : (generation - 1) * population_size + (i + 1) % population_size;
    genome.x.resize(gene_count);
    genome.step_size.resize(gene_count);
    for (Eigen::Index j = 0; j < gene_count; ++j) {
      genome.x[j] = std::fmod((static_cast<double>(generation * 7 + i * 3 + j) + 1.0) / 3.7, 1.0);
      genome.step_size[j] = 0.1 / static_cast<double>(1 + i + j);
    }
    population.push_back(genome);
  }
  return population;
}

std::vector<EvaluationResult> make_results(const std::vector<Genome>& population) {
  std::vector<EvaluationResult> results;
  for (std::size_t i = 0; i < population.size(); ++i) {
    EvaluationResult result;
    result.genome_id = population[i].id;
    result.fitness = -1.0 / 3.0 * static_cast<double>(population[i].id + 1) + 1e-17;
    result.diverged = i == 1;
    result.failed = i == 2;
    result.reason = i == 1 ? "loss exceeded 1e3 * L0 at step 12" : (i == 2 ? "evaluation failed: boom" : "");
    result.mean_final_loss = i == 1 ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(2.0) * static_cast<double>(i);
    result.inner_steps = 77 * 5 - static_cast<std::int64_t>(i);
    result.wall_seconds = 0.001 * static_cast<double>(i + 1);
    results.push_back(result);
  }
  return results;
}

bool bit_equal(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

/// Writes a complete 3-generation run with best and holdout; returns the genomes written.
std::vector<std::vector<Genome>> write_sample_run(const fs::path& path, const RunConfig& config) {
  std::vector<std::vector<Genome>> written;
  RunStore store = RunStore::create(path, config);
  const Eigen::Index n = config.search_space().size();
  for (std::int64_t generation = 0; generation < 3; ++generation) {
    const std::vector<Genome> population = make_population(generation, n);
    store.append_generation(population, make_results(population));
    written.push_back(population);
  }
  Genome first_best = written[0][3];
  store.write_best(first_best, 123.0);
  store.write_best(written[2][1], -2.5);  // overwrites
  store.write_holdout_report(HoldoutReport{32, -1.25, -0.5, 1e-3, 2e-2});
  store.flush();
  return written;
}

// ---- raw HDF5 C API helpers for checking the file independently of read_run_file ----

struct RawFile {
  explicit RawFile(const fs::path& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~RawFile() {
    if (id >= 0) H5Fclose(id);
  }
  hid_t id;
};

std::vector<hsize_t> dataset_dims(hid_t file, const char* name, std::vector<hsize_t>* max_dims = nullptr) {
  const hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(dataset, 0) << name;
  if (dataset < 0) return {};
  const hid_t space = H5Dget_space(dataset);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), maxima(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), maxima.data());
  if (max_dims != nullptr) *max_dims = maxima;
  H5Sclose(space);
  H5Dclose(dataset);
  return dims;
}

H5D_layout_t dataset_layout(hid_t file, const char* name) {
  const hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
  const hid_t plist = H5Dget_create_plist(dataset);
  const H5D_layout_t layout = H5Pget_layout(plist);
  H5Pclose(plist);
  H5Dclose(dataset);
  return layout;
}

template <class T>
std::vector<T> read_all(hid_t file, const char* name, hid_t memory_type, std::size_t count) {
  std::vector<T> values(count);
  const hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0) << name;
  H5Dclose(dataset);
  return values;
}

double read_double_attr(hid_t file, const char* object, const char* name) {
  double value = std::numeric_limits<double>::quiet_NaN();
  const hid_t attribute = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Aread(attribute, H5T_NATIVE_DOUBLE, &value), 0) << object << " " << name;
  H5Aclose(attribute);
  return value;
}

std::int64_t read_int_attr(hid_t file, const char* object, const char* name) {
  std::int64_t value = -999;
  const hid_t attribute = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Aread(attribute, H5T_NATIVE_INT64, &value), 0) << object << " " << name;
  H5Aclose(attribute);
  return value;
}

std::string read_string_attr(hid_t file, const char* object, const char* name) {
  const hid_t attribute = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t type = H5Aget_type(attribute);
  char* pointer = nullptr;
  EXPECT_GT(H5Tis_variable_str(type), 0) << name;
  EXPECT_GE(H5Aread(attribute, type, &pointer), 0) << name;
  std::string value = pointer != nullptr ? pointer : "";
  H5free_memory(pointer);
  H5Tclose(type);
  H5Aclose(attribute);
  return value;
}

void expect_storage_error_naming(const std::function<void()>& action, const std::string& path,
                                 const std::string& reason_part) {
  try {
    action();
    ADD_FAILURE() << "expected StorageError for " << path;
  } catch (const StorageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(reason_part), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line expected: " << message;
  }
}

TEST(RunStore, RoundTripGivesExactlyTheStoredValues) {
  const TempPath file("roundtrip");
  const RunConfig config = make_config();
  const auto written = write_sample_run(file.path(), config);

  const RunFileContents contents = read_run_file(file.path());
  EXPECT_EQ(contents.schema_version, run_store_schema_version);
  EXPECT_EQ(contents.config_toml, config.source_text);
  EXPECT_EQ(contents.gene_names, (std::vector<std::string>{"learning_rate", "warmup_steps", "schedule"}));
  EXPECT_EQ(contents.generations, 3);
  EXPECT_EQ(contents.population_size, population_size);
  ASSERT_EQ(contents.fitness.size(), 3u);
  ASSERT_EQ(contents.genes.size(), 3u);
  for (std::size_t g = 0; g < 3; ++g) {
    const auto expected_results = make_results(written[g]);
    ASSERT_EQ(contents.fitness[g].size(), static_cast<std::size_t>(population_size));
    ASSERT_EQ(contents.genes[g].size(), static_cast<std::size_t>(population_size));
    for (std::size_t i = 0; i < static_cast<std::size_t>(population_size); ++i) {
      EXPECT_TRUE(bit_equal(contents.fitness[g][i], expected_results[i].fitness)) << g << "," << i;
      ASSERT_EQ(contents.genes[g][i].size(), 3);
      for (Eigen::Index j = 0; j < 3; ++j) {
        EXPECT_TRUE(bit_equal(contents.genes[g][i][j], written[g][i].x[j])) << g << "," << i << "," << j;
      }
    }
  }
  EXPECT_EQ(contents.best_genome_id, written[2][1].id);
  EXPECT_TRUE(bit_equal(contents.best_fitness, -2.5));

  // Without the population genes (what inspect and export read): everything else the same.
  const RunFileContents summary = read_run_file(file.path(), /*with_population_genes=*/false);
  EXPECT_TRUE(summary.genes.empty());
  EXPECT_EQ(summary.generations, contents.generations);
  EXPECT_EQ(summary.fitness, contents.fitness);
  EXPECT_EQ(summary.best_genes, contents.best_genes);
}

TEST(RunStore, FileLayoutMatchesTheSchema) {
  const TempPath file("layout");
  const RunConfig config = make_config();
  const auto written = write_sample_run(file.path(), config);
  const SearchSpace space = config.search_space();

  const RawFile raw(file.path());
  ASSERT_GE(raw.id, 0);
  EXPECT_EQ(read_int_attr(raw.id, "/", "schema_version"), 3);
  EXPECT_EQ(read_string_attr(raw.id, "/", "format"), "metaevo-run");
  EXPECT_EQ(read_string_attr(raw.id, "/", "metaevo_version"), "0.1.0");
  const std::string created = read_string_attr(raw.id, "/", "created_utc");
  EXPECT_EQ(created.size(), 20u) << created;  // 2024-01-02T03:04:05Z
  EXPECT_EQ(created.back(), 'Z');

  EXPECT_EQ(read_string_attr(raw.id, "/config", "toml"), config.source_text);
  EXPECT_EQ(read_string_attr(raw.id, "/config", "update_rule_family"), "adam");
  EXPECT_EQ(read_int_attr(raw.id, "/config", "inner_steps"), 77);
  EXPECT_EQ(read_int_attr(raw.id, "/config", "tasks_per_evaluation"), 5);
  EXPECT_EQ(read_int_attr(raw.id, "/config", "population_size"), population_size);
  EXPECT_EQ(read_int_attr(raw.id, "/config", "generations"), 3);
  {
    std::uint64_t seed = 0;
    const hid_t attribute = H5Aopen_by_name(raw.id, "/config", "seed", H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(H5Aread(attribute, H5T_NATIVE_UINT64, &seed), 0);
    H5Aclose(attribute);
    EXPECT_EQ(seed, config.run.seed);
  }

  EXPECT_EQ(dataset_dims(raw.id, "/search_space/name"), (std::vector<hsize_t>{3}));
  const auto highs = read_all<double>(raw.id, "/search_space/high", H5T_NATIVE_DOUBLE, 3);
  EXPECT_EQ(highs, (std::vector<double>{1e-1, 20.0, 1.0}));

  // One flush after three generations: one segment with their rows, listed in the root.
  EXPECT_EQ(read_all<std::int64_t>(raw.id, "/segments/generations", H5T_NATIVE_INT64, 1),
            (std::vector<std::int64_t>{3}));
  EXPECT_EQ(read_all<std::int64_t>(raw.id, "/segments/evaluations", H5T_NATIVE_INT64, 1),
            (std::vector<std::int64_t>{0}));
  EXPECT_EQ(H5Lexists(raw.id, "/generations/genes", H5P_DEFAULT), 0);  // the root holds no rows
  const RawFile segment(fs::path(file.path().string() + ".segments") / "000000.h5");
  ASSERT_GE(segment.id, 0);
  EXPECT_EQ(read_int_attr(segment.id, "/", "schema_version"), 3);
  EXPECT_EQ(read_string_attr(segment.id, "/", "format"), "metaevo-run-segment");
  EXPECT_EQ(read_int_attr(segment.id, "/", "first_generation"), 0);
  std::vector<hsize_t> max_dims;
  EXPECT_EQ(dataset_dims(segment.id, "/generations/genes", &max_dims), (std::vector<hsize_t>{3, 4, 3}));
  EXPECT_EQ(max_dims, (std::vector<hsize_t>{H5S_UNLIMITED, 4, 3}));
  EXPECT_EQ(dataset_dims(segment.id, "/generations/step_size", &max_dims), (std::vector<hsize_t>{3, 4, 3}));
  EXPECT_EQ(max_dims[0], H5S_UNLIMITED);
  EXPECT_EQ(dataset_layout(segment.id, "/generations/genes"), H5D_CHUNKED);
  EXPECT_EQ(dataset_layout(segment.id, "/generations/step_size"), H5D_CHUNKED);
  for (const char* name : {"/generations/genome_id", "/generations/parent_a", "/generations/parent_b",
                           "/generations/fitness", "/generations/diverged", "/generations/failed",
                           "/generations/reason", "/generations/mean_final_loss", "/generations/inner_steps",
                           "/generations/wall_seconds", "/generations/decoded/learning_rate",
                           "/generations/decoded/warmup_steps", "/generations/decoded/schedule"}) {
    EXPECT_EQ(dataset_dims(segment.id, name, &max_dims), (std::vector<hsize_t>{3, 4})) << name;
    EXPECT_EQ(max_dims[0], H5S_UNLIMITED) << name;
    EXPECT_EQ(dataset_layout(segment.id, name), H5D_CHUNKED) << name;
  }

  const auto step_sizes = read_all<double>(segment.id, "/generations/step_size", H5T_NATIVE_DOUBLE, 36);
  const auto parent_b = read_all<std::int64_t>(segment.id, "/generations/parent_b", H5T_NATIVE_INT64, 12);
  const auto diverged = read_all<std::uint8_t>(segment.id, "/generations/diverged", H5T_NATIVE_UINT8, 12);
  const auto failed = read_all<std::uint8_t>(segment.id, "/generations/failed", H5T_NATIVE_UINT8, 12);
  const auto losses = read_all<double>(segment.id, "/generations/mean_final_loss", H5T_NATIVE_DOUBLE, 12);
  const auto steps = read_all<std::int64_t>(segment.id, "/generations/inner_steps", H5T_NATIVE_INT64, 12);
  const auto learning_rates = read_all<double>(segment.id, "/generations/decoded/learning_rate", H5T_NATIVE_DOUBLE, 12);
  const auto warmups = read_all<double>(segment.id, "/generations/decoded/warmup_steps", H5T_NATIVE_DOUBLE, 12);
  const auto schedules = read_all<std::int64_t>(segment.id, "/generations/decoded/schedule", H5T_NATIVE_INT64, 12);
  for (std::size_t g = 0; g < 3; ++g) {
    const auto results = make_results(written[g]);
    for (std::size_t i = 0; i < 4; ++i) {
      const std::size_t row = g * 4 + i;
      const Genome& genome = written[g][i];
      for (Eigen::Index j = 0; j < 3; ++j) {
        EXPECT_TRUE(bit_equal(step_sizes[row * 3 + static_cast<std::size_t>(j)], genome.step_size[j]));
      }
      EXPECT_EQ(parent_b[row], genome.parent_b);
      EXPECT_EQ(diverged[row], results[i].diverged ? 1 : 0);
      EXPECT_EQ(failed[row], results[i].failed ? 1 : 0);
      EXPECT_TRUE(bit_equal(losses[row], results[i].mean_final_loss)) << row;
      EXPECT_EQ(steps[row], results[i].inner_steps);
      EXPECT_TRUE(bit_equal(learning_rates[row], std::get<double>(space.decode_gene(0, genome.x[0]))));
      EXPECT_EQ(warmups[row], static_cast<double>(std::get<std::int64_t>(space.decode_gene(1, genome.x[1]))));
      const std::string choice = std::get<std::string>(space.decode_gene(2, genome.x[2]));
      ASSERT_GE(schedules[row], 0);
      ASSERT_LT(schedules[row], 3);
      EXPECT_EQ(space.gene(2).choices[static_cast<std::size_t>(schedules[row])], choice);
    }
  }
  {
    const hid_t dataset = H5Dopen2(segment.id, "/generations/reason", H5P_DEFAULT);
    const hid_t type = H5Dget_type(dataset);
    const hid_t space_id = H5Dget_space(dataset);
    std::vector<char*> reasons(12, nullptr);
    ASSERT_GE(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, reasons.data()), 0);
    EXPECT_STREQ(reasons[4 + 1], "loss exceeded 1e3 * L0 at step 12");
    EXPECT_STREQ(reasons[4 + 2], "evaluation failed: boom");
    EXPECT_STREQ(reasons[4 + 0], "");
    H5Dvlen_reclaim(type, space_id, H5P_DEFAULT, reasons.data());
    H5Sclose(space_id);
    H5Tclose(type);
    H5Dclose(dataset);
  }

  // /best holds the second write_best, not the first.
  EXPECT_EQ(read_int_attr(raw.id, "/best", "genome_id"), written[2][1].id);
  EXPECT_EQ(read_int_attr(raw.id, "/best", "generation"), 2);
  EXPECT_TRUE(bit_equal(read_double_attr(raw.id, "/best", "fitness"), -2.5));
  const auto best_genes = read_all<double>(raw.id, "/best/genes", H5T_NATIVE_DOUBLE, 3);
  for (Eigen::Index j = 0; j < 3; ++j) EXPECT_TRUE(bit_equal(best_genes[static_cast<std::size_t>(j)], written[2][1].x[j]));
  EXPECT_TRUE(bit_equal(read_double_attr(raw.id, "/best/decoded", "learning_rate"),
                        std::get<double>(space.decode_gene(0, written[2][1].x[0]))));
  EXPECT_EQ(read_string_attr(raw.id, "/best/decoded", "schedule"),
            std::get<std::string>(space.decode_gene(2, written[2][1].x[2])));

  EXPECT_EQ(read_int_attr(raw.id, "/holdout", "task_count"), 32);
  EXPECT_EQ(read_double_attr(raw.id, "/holdout", "best_fitness"), -1.25);
  EXPECT_EQ(read_double_attr(raw.id, "/holdout", "default_fitness"), -0.5);
  EXPECT_EQ(read_double_attr(raw.id, "/holdout", "best_mean_final_loss"), 1e-3);
  EXPECT_EQ(read_double_attr(raw.id, "/holdout", "default_mean_final_loss"), 2e-2);
  EXPECT_EQ(read_int_attr(raw.id, "/generations", "completed_generations"), 3);
}

// Each flush puts only the rows written since the last one into a new segment; the root lists them.
TEST(RunStore, EachCommitAddsOneSegmentWithOnlyItsNewRows) {
  const TempPath file("segments");
  const RunConfig config = make_config();
  const Eigen::Index n = config.search_space().size();
  std::vector<std::vector<Genome>> written;
  {
    RunStore store = RunStore::create(file.path(), config);
    for (std::int64_t generation = 0; generation < 3; ++generation) {
      written.push_back(make_population(generation, n));
      store.append_generation(written.back(), make_results(written.back()));
      store.append_evaluations(written.back(), make_results(written.back()), 0);
      store.flush();
    }
    store.flush();  // nothing new: no segment
  }
  const RawFile raw(file.path());
  EXPECT_EQ(read_all<std::int64_t>(raw.id, "/segments/generations", H5T_NATIVE_INT64, 3),
            (std::vector<std::int64_t>{1, 1, 1}));
  EXPECT_EQ(read_all<std::int64_t>(raw.id, "/segments/evaluations", H5T_NATIVE_INT64, 3),
            (std::vector<std::int64_t>{4, 4, 4}));
  const fs::path directory(file.path().string() + ".segments");
  for (const char* name : {"000000.h5", "000001.h5", "000002.h5"}) {
    const RawFile segment(directory / name);
    ASSERT_GE(segment.id, 0) << name;
    EXPECT_EQ(dataset_dims(segment.id, "/generations/genes"), (std::vector<hsize_t>{1, 4, 3})) << name;
    EXPECT_EQ(dataset_dims(segment.id, "/evaluations/genome_id"), (std::vector<hsize_t>{4})) << name;
  }
  EXPECT_FALSE(fs::exists(directory / "000003.h5"));
  const RunFileContents contents = read_run_file(file.path());
  EXPECT_EQ(contents.generations, 3);
  EXPECT_EQ(contents.segments, 3);
  EXPECT_EQ(contents.evaluations_logged, 12);
  for (std::size_t g = 0; g < 3; ++g) {
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(contents.genes[g][i], written[g][i].x) << g << " " << i;
  }
  // A listed segment that is gone is reported, naming it.
  fs::remove(directory / "000001.h5");
  try {
    read_run_file(file.path());
    ADD_FAILURE() << "a missing segment was not reported";
  } catch (const StorageError& error) {
    EXPECT_NE(std::string(error.what()).find("000001.h5"), std::string::npos) << error.what();
  }
}

TEST(RunStore, H5dumpReadsTheHeader) {
  const TempPath file("h5dump");
  write_sample_run(file.path(), make_config());
  const std::string command = "h5dump -H '" + file.path().string() + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(RunStore, CreateTruncatesAnExistingRun) {
  const TempPath file("truncate");
  const RunConfig config = make_config();
  write_sample_run(file.path(), config);
  ASSERT_TRUE(fs::exists(fs::path(file.path().string() + ".segments") / "000000.h5"));
  { RunStore store = RunStore::create(file.path(), config); }
  // The replaced run's segments are gone once the new root is committed.
  EXPECT_TRUE(fs::is_empty(fs::path(file.path().string() + ".segments")));
  const RunFileContents contents = read_run_file(file.path());
  EXPECT_EQ(contents.segments, 0);
  EXPECT_EQ(contents.generations, 0);
  EXPECT_TRUE(contents.fitness.empty());
  EXPECT_EQ(contents.best_genome_id, -1);
}

TEST(RunStore, OnlyFlushedWritesReachTheRunFile) {
  const TempPath file("uncommitted");
  const RunConfig config = make_config();
  {
    RunStore store = RunStore::create(file.path(), config);
    const auto first = make_population(0, 3);
    store.append_generation(first, make_results(first));
    store.flush();
    const auto second = make_population(1, 3);
    store.append_generation(second, make_results(second));
    // Before a flush the run file still holds one generation: a kill now loses only the second.
    EXPECT_EQ(read_run_file(file.path()).generations, 1);
    EXPECT_TRUE(std::filesystem::exists(file.path().string() + ".partial"));
  }
  EXPECT_EQ(read_run_file(file.path()).generations, 1);
  EXPECT_FALSE(std::filesystem::exists(file.path().string() + ".partial"));  // closed cleanly: no leftover
}

TEST(RunStore, GlobalStepSizeIsStoredPerGene) {
  const TempPath file("global_step");
  const RunConfig config = make_config();
  std::vector<Genome> population = make_population(0, 3);
  for (Genome& genome : population) genome.step_size = Eigen::VectorXd::Constant(1, 0.25);
  {
    RunStore store = RunStore::create(file.path(), config);
    store.append_generation(population, make_results(population));
    store.flush();
  }
  const RawFile raw(fs::path(file.path().string() + ".segments") / "000000.h5");
  const auto step_sizes = read_all<double>(raw.id, "/generations/step_size", H5T_NATIVE_DOUBLE, 12);
  for (const double step : step_sizes) EXPECT_EQ(step, 0.25);
}

// An evolution strategy gives every genome the same step size (sigma): the segment's first generation
// sets the fill value of /generations/step_size, rows equal to it are not written (no chunk), other
// rows are; a reader sees the same values either way.
TEST(RunStore, OneSharedStepSizeIsTheFillValueAndItsRowsAreNotWritten) {
  const TempPath file("shared_step");
  const RunConfig config = make_config();
  const Eigen::Index n = config.search_space().size();
  const std::vector<double> sigma = {0.05, 0.05 * 0.99, 0.05};  // 0.0495 is written, 0.05 is the fill
  {
    RunStore store = RunStore::create(file.path(), config);
    for (std::int64_t generation = 0; generation < 3; ++generation) {
      std::vector<Genome> population = make_population(generation, n);
      for (Genome& genome : population) genome.step_size = Eigen::VectorXd::Constant(n, sigma[generation]);
      store.append_generation(population, make_results(population));
    }
    store.flush();  // one segment with the three generations
    std::vector<Genome> population = make_population(3, n);
    population[2].step_size[1] = 0.5;  // not one shared value: a new segment without a fill value
    store.append_generation(population, make_results(population));
    store.flush();
  }
  const fs::path directory(file.path().string() + ".segments");
  {
    const RawFile segment(directory / "000000.h5");
    const auto steps = read_all<double>(segment.id, "/generations/step_size", H5T_NATIVE_DOUBLE, 3 * 4 * 3);
    for (std::size_t k = 0; k < steps.size(); ++k) EXPECT_TRUE(bit_equal(steps[k], sigma[k / 12])) << k;
    const hid_t dataset = H5Dopen2(segment.id, "/generations/step_size", H5P_DEFAULT);
    const hid_t plist = H5Dget_create_plist(dataset);
    double fill = 0.0;
    EXPECT_GE(H5Pget_fill_value(plist, H5T_NATIVE_DOUBLE, &fill), 0);
    EXPECT_EQ(fill, 0.05);
    EXPECT_LT(H5Dget_storage_size(dataset), 12u * 8u);  // only generation 1's chunk, deflated
    H5Pclose(plist);
    H5Dclose(dataset);
  }
  const RawFile segment(directory / "000001.h5");
  const auto steps = read_all<double>(segment.id, "/generations/step_size", H5T_NATIVE_DOUBLE, 4 * 3);
  const std::vector<Genome> last = make_population(3, n);
  for (std::size_t k = 0; k < steps.size(); ++k) {
    EXPECT_EQ(steps[k], k == 2 * 3 + 1 ? 0.5 : last[k / 3].step_size[static_cast<Eigen::Index>(k % 3)]) << k;
  }
}

TEST(RunStore, EmptySearchSpaceIsStoredWithoutGenes) {
  const TempPath file("no_genes");
  RunConfig config = make_config();
  config.update_rule.genes.clear();
  {
    RunStore store = RunStore::create(file.path(), config);
    for (std::int64_t generation = 0; generation < 2; ++generation) {
      const auto population = make_population(generation, 0);
      store.append_generation(population, make_results(population));
    }
    store.write_best(make_population(1, 0)[0], -1.0);
    store.flush();
  }
  const RunFileContents contents = read_run_file(file.path());
  EXPECT_TRUE(contents.gene_names.empty());
  EXPECT_EQ(contents.generations, 2);
  ASSERT_EQ(contents.genes.size(), 2u);
  EXPECT_EQ(contents.genes[1].size(), static_cast<std::size_t>(population_size));
  EXPECT_EQ(contents.genes[1][0].size(), 0);
  EXPECT_EQ(contents.best_genome_id, population_size);
  const RawFile raw(file.path());
  const RawFile segment(fs::path(file.path().string() + ".segments") / "000000.h5");
  EXPECT_EQ(dataset_dims(segment.id, "/generations/genes"), (std::vector<hsize_t>{2, 4, 0}));
  EXPECT_EQ(dataset_dims(raw.id, "/search_space/name"), (std::vector<hsize_t>{0}));
  EXPECT_EQ(std::system(("h5dump -H '" + file.path().string() + "' > /dev/null 2>&1").c_str()), 0);
}

TEST(RunStore, AppendRejectsWrongSizesAndKeepsTheFileValid) {
  const TempPath file("wrong_sizes");
  const RunConfig config = make_config();
  RunStore store = RunStore::create(file.path(), config);
  std::vector<Genome> population = make_population(0, 3);
  const std::vector<EvaluationResult> results = make_results(population);

  std::vector<Genome> short_population(population.begin(), population.begin() + 3);
  try {
    store.append_generation(short_population, std::vector<EvaluationResult>(results.begin(), results.begin() + 3));
    ADD_FAILURE() << "a population of 3 was accepted";
  } catch (const StorageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("population has 3 genomes, expected population_size 4"), std::string::npos) << message;
    EXPECT_NE(message.find(file.path().string()), std::string::npos) << message;
  }

  std::vector<Genome> wrong_genes = population;
  wrong_genes[2].x.resize(2);
  try {
    store.append_generation(wrong_genes, results);
    ADD_FAILURE() << "a genome with 2 genes was accepted";
  } catch (const StorageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("has 2 genes, expected 3"), std::string::npos) << message;
  }

  EXPECT_THROW(store.append_generation(population, std::vector<EvaluationResult>(results.begin(), results.end() - 1)),
               StorageError);
  std::vector<EvaluationResult> swapped = results;
  std::swap(swapped[0], swapped[1]);
  EXPECT_THROW(store.append_generation(population, swapped), StorageError);

  // Nothing was written by the rejected calls: the next append is generation 0.
  store.append_generation(population, results);
  store.flush();
  const RunFileContents contents = read_run_file(file.path());
  EXPECT_EQ(contents.generations, 1);
}

TEST(RunStore, ReadRejectsAMissingFile) {
  const TempPath file("missing");
  expect_storage_error_naming([&] { read_run_file(file.path()); }, file.path().string(), "no such file");
}

TEST(RunStore, ReadRejectsATextFile) {
  const TempPath file("text", ".txt");
  std::ofstream(file.path()) << "this is not HDF5\n";
  expect_storage_error_naming([&] { read_run_file(file.path()); }, file.path().string(), "not an HDF5 file");
}

TEST(RunStore, ReadRejectsATruncatedFile) {
  const TempPath valid("valid");
  const TempPath truncated("truncated");
  write_sample_run(valid.path(), make_config());
  fs::copy_file(valid.path(), truncated.path());
  fs::resize_file(truncated.path(), fs::file_size(valid.path()) / 2);
  expect_storage_error_naming([&] { read_run_file(truncated.path()); }, truncated.path().string(), "truncated");
}

TEST(RunStore, ReadRejectsAnotherSchemaVersion) {
  const TempPath file("version");
  write_sample_run(file.path(), make_config());
  {
    const hid_t id = H5Fopen(file.path().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(id, 0);
    const hid_t attribute = H5Aopen(id, "schema_version", H5P_DEFAULT);
    const std::int64_t version = 1;
    ASSERT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &version), 0);
    H5Aclose(attribute);
    H5Fclose(id);
  }
  expect_storage_error_naming([&] { read_run_file(file.path()); }, file.path().string(), "schema_version is 1");
}

TEST(RunStore, ReadRejectsAnHdf5FileThatIsNotARun) {
  const TempPath file("foreign");
  {
    const hid_t id = H5Fcreate(file.path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(id, 0);
    H5Fclose(id);
  }
  expect_storage_error_naming([&] { read_run_file(file.path()); }, file.path().string(), "schema_version");
}

TEST(RunStore, CreateRejectsAnUnwritableLocation) {
  const RunConfig config = make_config();
  const std::string in_missing_directory =
      (fs::temp_directory_path() / "metaevo_no_such_directory_x9" / "run.h5").string();
  expect_storage_error_naming([&] { RunStore::create(in_missing_directory, config); }, in_missing_directory,
                              "does not exist");
  const std::string in_proc = "/proc/nonexistent/x.h5";
  expect_storage_error_naming([&] { RunStore::create(in_proc, config); }, in_proc, "cannot create run file");
  // A directory that exists but cannot hold files: the run file's lock (RUN.h5.lock), taken first, says why.
  const std::string in_proc_root = "/proc/metaevo_x.h5";
  expect_storage_error_naming([&] { RunStore::create(in_proc_root, config); }, in_proc_root,
                              "cannot open its lock file '/proc/metaevo_x.h5.lock'");
}

TEST(RunStore, PlotScriptDrawsAPng) {
  if (std::system("/usr/bin/python3 -c 'import h5py, matplotlib' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import h5py and matplotlib";
  }
  const TempPath run("plot");
  const TempPath png("plot", ".png");
  write_sample_run(run.path(), make_config());
  const std::string script = std::string(METAEVO_SOURCE_DIR) + "/scripts/plot_run.py";
  const std::string command =
      "/usr/bin/python3 '" + script + "' '" + run.path().string() + "' -o '" + png.path().string() + "' > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream image(png.path(), std::ios::binary);
  char signature[8] = {};
  image.read(signature, 8);
  EXPECT_EQ(std::string(signature + 1, 3), "PNG");
  EXPECT_GT(fs::file_size(png.path()), 1000u);

  // A file without /generations: a clear message and exit status 1.
  const TempPath foreign("foreign");
  const hid_t id = H5Fcreate(foreign.path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(id, 0);
  H5Fclose(id);
  const std::string failing = "/usr/bin/python3 '" + script + "' '" + foreign.path().string() + "' > /dev/null 2>&1";
  const int status = std::system(failing.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace metaevo
