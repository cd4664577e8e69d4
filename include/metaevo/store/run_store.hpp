#pragma once
// The HDF5 run file: config, search space, every generation's population and fitness, the best
// genome and the final report. Schema in docs/hdf5-schema.md. Only the master writes it.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/progress.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/search/search_strategy.hpp"
#include "metaevo/search/strategy_state.hpp"

namespace metaevo {

/// The schema version written to the root attribute "schema_version".
/// 2: the checkpoint's strategy state is a group of datasets (/checkpoint/strategy), not a Boost archive.
/// 3: the rows of /generations and /evaluations live in append-only segment files RUN.h5.segments/NNNNNN.h5
///    listed by the root's /segments; RUN.h5 holds the rest (docs/hdf5-schema.md).
inline constexpr std::int64_t run_store_schema_version = 3;

/// Final comparison on holdout tasks, written once at the end of a run.
struct HoldoutReport {
  int task_count = 0;
  double best_fitness = 0.0;      // best genome's mean score on the holdout tasks
  double default_fitness = 0.0;   // the family defaults on the same tasks
  double best_mean_final_loss = 0.0;
  double default_mean_final_loss = 0.0;
};

/// The genome a run reports: the best by validation fitness (re-scored on the fixed validation task
/// set), with the training fitness it had in its own generation.
struct ValidatedBest {
  Genome genome;
  double validation_fitness = 0.0;
  double training_fitness = 0.0;
};

/// The state a run resumes from, beyond the stored datasets: the search strategy's state (named
/// arrays, stored as datasets under /checkpoint/strategy) and the run's counters.
struct Checkpoint {
  std::int64_t completed_generations = 0;  // generations (steady state: batches) stored with it
  std::int64_t submitted_evaluations = 0;  // steady state: genomes handed out so far (the next offspring index)
  std::int64_t session = 0;                // 0 for the first run, +1 for every resume
  double elapsed_seconds = 0.0;            // run time summed over sessions
  std::optional<StrategyState> strategy_state;  // one population; absent only in a file killed before its first commit
  std::vector<StrategyState> island_states;     // islands (docs/islands.md): one per island, instead of strategy_state
  std::optional<ValidatedBest> validated_best;  // once a generation has been validated
};

/// A run file opened to continue it.
struct ResumedRun;

/// Crash safety: a run is the root file RUN.h5 (config, search space, checkpoint, best, the list of
/// committed segments) and append-only segment files RUN.h5.segments/NNNNNN.h5 holding the rows of
/// /generations and /evaluations. The root is only ever replaced whole: it is written into a working
/// copy (RUN.h5.partial); the bulk written since the last commit goes into a new segment
/// (NNNNNN.h5.partial). flush()/commit() close that segment, fsync it and rename it to its final name,
/// list it in the root, then copy the root's working copy, fsync it and rename it over RUN.h5. A
/// commit therefore costs the new rows plus the (small) root, whatever the run's length. A kill at
/// any moment leaves RUN.h5 as of the last commit; a stale working copy, a torn segment and a segment
/// the root does not list are removed on resume.
class RunStore {
 public:
  /// Creates the run file (replacing an existing one) with the config, search space and schema
  /// version and no generation yet, committed at once. Throws StorageError naming the path when the
  /// file cannot be created.
  static RunStore create(const std::filesystem::path& path, const RunConfig& config);
  /// Opens an existing run to continue it: checks it (StorageError with a one-line reason for a
  /// missing, non-HDF5, truncated, foreign or wrong-version file, or one without a checkpoint),
  /// removes a stale working copy, and returns the store with the stored config and checkpoint.
  /// Nothing in the run file changes until the first commit. `progress` is told the generations read.
  static ResumedRun resume(const std::filesystem::path& path, const ProgressCallback& progress = {});

  RunStore(RunStore&&) noexcept;
  RunStore& operator=(RunStore&&) noexcept;
  ~RunStore();

  /// Appends one generation: population (genes, step sizes, ids, parents), results and decoded
  /// gene values. population.size() == results.size() == config population size.
  void append_generation(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results);
  /// Appends the strategy's statistics of the generation just stored (after append_generation): one
  /// value per name into /generations/strategy/<name>, created at its first use (earlier rows NaN).
  void append_strategy_statistics(const StrategyStatistics& statistics);
  /// Replaces the best-so-far genome (normalized and decoded) and its fitness. With a validation
  /// fitness, /best is the best by validation (attribute selected_by = "validation").
  void write_best(const Genome& best, double fitness, std::optional<double> validation_fitness = std::nullopt);
  /// The validation fitness of the generation just stored: one value per genome (NaN for those not
  /// re-scored) into /generations/validation_fitness, created at its first use.
  void append_validation_fitness(const std::vector<double>& fitness);
  void write_holdout_report(const HoldoutReport& report);
  /// Appends rows to the evaluation log (/evaluations): one per result, with `session`. Unlike
  /// /generations it also takes the finished evaluations of a generation that was interrupted.
  void append_evaluations(const std::vector<Genome>& genomes, const std::vector<EvaluationResult>& results,
                          std::int64_t session);
  /// Records a changed total of generations (a resume with --generations) in /config.
  void set_configured_generations(std::int64_t generations);
  /// Writes the checkpoint, then publishes atomically (as flush()).
  void commit(const Checkpoint& checkpoint);
  /// Publishes everything written so far as the run file, atomically and durably.
  void flush();
  std::int64_t completed_generations() const;
  const std::filesystem::path& path() const;

 private:
  struct Impl;
  explicit RunStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ResumedRun {
  RunStore store;
  RunConfig config;   // parsed from the stored TOML text
  Checkpoint checkpoint;
};

/// What tests, `inspect` and analysis read back.
struct RunFileContents {
  std::int64_t schema_version = 0;
  std::string config_toml;
  std::string config_base_directory;       // /config@base_directory: where its relative file paths point
  std::vector<DataFileRecord> data_files;  // /config/data_files: every data file the tasks read, with SHA-256
  std::vector<PluginRecord> plugins;       // /config/plugins: every plugin the run loaded, with SHA-256
  std::uint64_t seed = 0;                  // /config@seed: the run's effective seed (after --seed)
  std::int64_t configured_generations = 0; // /config@generations: the effective total (after --generations)
  std::vector<std::string> gene_names;     // the named scalar genes
  std::int64_t coordinate_count = 0;       // genes plus every block's length: the genomes' length
  std::int64_t generations = 0;        // generations stored
  std::int64_t population_size = 0;
  std::vector<std::vector<double>> fitness;  // [generation][individual]
  std::vector<std::vector<Eigen::VectorXd>> genes;  // [generation][individual] normalized (if asked for)
  std::int64_t best_genome_id = -1;
  std::int64_t best_generation = -1;
  double best_fitness = 0.0;
  Eigen::VectorXd best_genes;              // /best/genes, normalized (empty before the first generation)
  double best_validation_fitness = std::numeric_limits<double>::quiet_NaN();  // NaN: selected by training fitness
  std::int64_t tasks_per_evaluation = 0;   // K of the per-task results
  std::vector<double> task_scores;         // [generation][individual][slot], flattened
  std::vector<std::int64_t> task_families; // the same shape: index into the config's [[tasks]]
  bool has_checkpoint = false;
  std::int64_t checkpoint_generation = 0;  // completed generations at the last checkpoint
  std::int64_t evaluations_logged = 0;     // rows of /evaluations (over all segments)
  std::int64_t segments = 0;               // committed segment files (RUN.h5.segments/NNNNNN.h5)
};

/// What read_run_file reads beyond the root (config, search space, best, checkpoint).
struct RunFileReadOptions {
  /// The per-generation genes (G x P x n doubles, the bulk of a large run); without them they are
  /// checked for shape but not loaded.
  bool population_genes = true;
  /// The generations' rows in the segment files; without them no segment is opened and the
  /// per-generation fields stay empty (enough to learn a run's config and plugins at once).
  bool generations = true;
  /// Told the generations read so far after each segment (a long run has thousands).
  ProgressCallback progress;

  /// The root alone: config, plugins, search space, best, checkpoint; no segment is opened.
  static RunFileReadOptions root_only() {
    RunFileReadOptions options;
    options.population_genes = false;
    options.generations = false;
    return options;
  }
};

/// Opens read-only and reads the file; throws StorageError with a one-line reason for a missing,
/// non-HDF5, truncated or wrong-schema file.
RunFileContents read_run_file(const std::filesystem::path& path, const RunFileReadOptions& options);
/// The same with every generation; `with_population_genes` as RunFileReadOptions::population_genes.
RunFileContents read_run_file(const std::filesystem::path& path, bool with_population_genes = true);

}  // namespace metaevo
