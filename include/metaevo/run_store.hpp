#pragma once
// The HDF5 run file: config, search space, every generation's population and fitness, the best
// genome and the final report. Schema in docs/hdf5-schema.md. Only the master writes it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "metaevo/config.hpp"
#include "metaevo/evaluator.hpp"
#include "metaevo/genome.hpp"

namespace metaevo {

/// The schema version written to the root attribute "schema_version".
inline constexpr std::int64_t run_store_schema_version = 1;

/// Final comparison on holdout tasks, written once at the end of a run.
struct HoldoutReport {
  int task_count = 0;
  double best_fitness = 0.0;      // best genome's mean score on the holdout tasks
  double default_fitness = 0.0;   // the family defaults on the same tasks
  double best_mean_final_loss = 0.0;
  double default_mean_final_loss = 0.0;
};

class RunStore {
 public:
  /// Creates (truncating an existing file) and writes the config, search space and schema version.
  /// Throws StorageError naming the path when the file cannot be created.
  static RunStore create(const std::filesystem::path& path, const RunConfig& config);

  RunStore(RunStore&&) noexcept;
  RunStore& operator=(RunStore&&) noexcept;
  ~RunStore();

  /// Appends one generation: population (genes, step sizes, ids, parents), results and decoded
  /// gene values. population.size() == results.size() == config population size.
  void append_generation(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results);
  /// Replaces the best-so-far genome (normalized and decoded) and its fitness.
  void write_best(const Genome& best, double fitness);
  void write_holdout_report(const HoldoutReport& report);
  /// Pushes everything written so far to disk (H5Fflush).
  void flush();

 private:
  struct Impl;
  explicit RunStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// What tests, `inspect` and analysis read back.
struct RunFileContents {
  std::int64_t schema_version = 0;
  std::string config_toml;
  std::vector<std::string> gene_names;
  std::int64_t generations = 0;        // generations stored
  std::int64_t population_size = 0;
  std::vector<std::vector<double>> fitness;  // [generation][individual]
  std::vector<std::vector<Eigen::VectorXd>> genes;  // [generation][individual] normalized
  std::int64_t best_genome_id = -1;
  double best_fitness = 0.0;
};

/// Opens read-only and reads the file; throws StorageError with a one-line reason for a missing,
/// non-HDF5, truncated or wrong-schema file.
RunFileContents read_run_file(const std::filesystem::path& path);

}  // namespace metaevo
