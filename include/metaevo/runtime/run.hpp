#pragma once
// Wires config -> search space -> GA -> executor -> store. The CLI calls run_search().
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/progress.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/store/run_store.hpp"

namespace metaevo {

/// One line of the per-generation log: data first, printed by the CLI, stored in the run file.
/// The JSON log (--log-json, docs/logging.md) writes every field.
struct GenerationRecord {
  std::int64_t generation = 0;    // 0-based: the row in the run file's /generations
  int island = 0;                 // the population it belongs to: 0 (one population), -1 (every island of an island run)
  std::int64_t session = 0;       // 0 for the first run, then one more per resume
  int evaluations = 0;            // genomes evaluated (the population size)
  double best_fitness = 0.0;      // best of this generation
  double median_fitness = 0.0;
  double best_so_far = 0.0;
  // The best validation fitness of this generation's re-scored candidates (NaN: none re-scored).
  double generation_validation_best = std::numeric_limits<double>::quiet_NaN();
  double validation_best = std::numeric_limits<double>::quiet_NaN();  // the reported best's validation fitness (NaN: off)
  int diverged = 0;               // evaluations with a diverged inner loop
  int failed = 0;                 // evaluations that threw
  double evaluations_per_second = 0.0;
  double elapsed_seconds = 0.0;   // since the start of the run
  double eta_seconds = 0.0;       // estimated time to the last generation
  // An island run's record (island -1) also holds one per island, in island order: the island's
  // block of the row, its strategy's best so far, and the whole record's session, validated best,
  // times and its share of the rate. Empty otherwise.
  std::vector<GenerationRecord> islands;
};

enum class Termination {
  not_run,
  completed,     // every generation ran
  interrupted,   // should_stop() asked to stop (a signal): the file holds every completed generation
};
std::string_view to_string(Termination termination);

struct RunSummary {
  Termination termination = Termination::not_run;
  std::int64_t generations = 0;
  std::int64_t evaluations = 0;            // recorded in the run file
  std::int64_t unrecorded_evaluations = 0; // finished after a stop request, in an incomplete generation
  double wall_seconds = 0.0;
  Genome best;                         // the best by validation fitness when validation is on
  double best_fitness = 0.0;           // its training fitness (in its own generation)
  std::optional<double> best_validation_fitness;
  ParameterSet best_hyperparameters;   // decoded, merged with fixed values and defaults
  std::optional<HoldoutReport> holdout;
  std::vector<GenerationRecord> log;

  /// One line: "completed 20 generations, 480 evaluations in 41.2 s; best fitness -2.31".
  std::string brief_report() const;
  /// Multi-line: brief report, best hyperparameters, holdout comparison.
  std::string full_report() const;
};

struct RunCallbacks {
  std::function<void(const GenerationRecord&)> on_generation;  // called after each generation is stored
  /// Polled before every dispatch; true stops dispatching, in-flight evaluations are collected and
  /// the run ends as interrupted (e.g. set from a SIGTERM/SIGUSR1 handler).
  std::function<bool()> should_stop;
};

class Executor;
class IslandCluster;

/// Runs the whole search, evaluations on `executor`, and writes `output`. Throws
/// ConfigError/StorageError before any evaluation when the output cannot be created.
/// Generational mode gives the same file contents (populations, fitness) on any executor.
RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, Executor& executor,
                      const RunCallbacks& callbacks = {});
/// With [islands] count > 1 on an executor, every island runs on it in turn (InProcessIslands).
/// The islands of an MPI job run on their own masters: the recorder (rank 0) passes MpiIslands.
RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, IslandCluster& islands,
                      const RunCallbacks& callbacks = {});
/// The same in this process (the debug mode).
RunSummary run_search(const RunConfig& config, const std::filesystem::path& output,
                      const RunCallbacks& callbacks = {});

/// A run file opened to be continued, with its stored config (generations possibly raised) and
/// how many generations remain. plan_resume() checks everything before any work.
struct ResumePlan {
  ResumedRun run;
  std::int64_t remaining_generations = 0;
};

/// Opens `run_file` for resuming; `generations` raises the configured total (ConfigError if it is
/// below the generations already done). StorageError for a file that cannot be resumed. The run
/// file is not modified. `progress` is told the stored generations read (a long run's file takes a while).
ResumePlan plan_resume(const std::filesystem::path& run_file, std::optional<std::int64_t> generations = {},
                       const ProgressCallback& progress = {});
/// Continues the run from its last checkpoint: a generational run resumed gives the same file
/// contents as one never interrupted, with any executor and rank count.
RunSummary resume_search(ResumePlan& plan, Executor& executor, const RunCallbacks& callbacks = {});
RunSummary resume_search(ResumePlan& plan, IslandCluster& islands, const RunCallbacks& callbacks = {});
RunSummary resume_search(ResumePlan& plan, const RunCallbacks& callbacks = {});

/// "gen   3/20  best -1.234  median -0.567 ..." as the CLI prints it.
std::string format_generation_line(const GenerationRecord& record, std::int64_t total_generations);

}  // namespace metaevo
