#pragma once
// Wires config -> search space -> GA -> executor -> store. The CLI calls run_search().
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metaevo/config.hpp"
#include "metaevo/evaluator.hpp"
#include "metaevo/genome.hpp"
#include "metaevo/run_store.hpp"

namespace metaevo {

/// One line of the per-generation log: data first, printed by the CLI, stored in the run file.
struct GenerationRecord {
  std::int64_t generation = 0;
  double best_fitness = 0.0;      // best of this generation
  double median_fitness = 0.0;
  double best_so_far = 0.0;
  int diverged = 0;               // evaluations with a diverged inner loop
  int failed = 0;                 // evaluations that threw
  double evaluations_per_second = 0.0;
  double elapsed_seconds = 0.0;   // since the start of the run
  double eta_seconds = 0.0;       // estimated time to the last generation
};

enum class Termination { not_run, completed };

struct RunSummary {
  Termination termination = Termination::not_run;
  std::int64_t generations = 0;
  std::int64_t evaluations = 0;
  double wall_seconds = 0.0;
  Genome best;
  double best_fitness = 0.0;
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
};

/// Runs the whole search in this process and writes `output`. Throws ConfigError/StorageError before
/// any evaluation when the output cannot be created.
RunSummary run_search(const RunConfig& config, const std::filesystem::path& output,
                      const RunCallbacks& callbacks = {});

/// "gen   3/20  best -1.234  median -0.567 ..." as the CLI prints it.
std::string format_generation_line(const GenerationRecord& record, std::int64_t total_generations);

}  // namespace metaevo
