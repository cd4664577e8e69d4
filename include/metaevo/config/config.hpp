#pragma once
// The run configuration: one TOML file, parsed and validated once, before any work starts.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/core/options.hpp"
#include "metaevo/core/plugin_loader.hpp"
#include "metaevo/evaluation/diagnostic_objective.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/search/search_space.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo {

/// How the master drives the GA.
enum class RunMode {
  generational,   // evaluate a whole generation, then breed the next: deterministic
  steady_state,   // asynchronous: a new offspring as soon as any result arrives (no idle workers)
};
template <>
struct EnumNames<RunMode> {
  static constexpr std::array<EnumName<RunMode>, 2> table{{
      {RunMode::generational, "generational"},
      {RunMode::steady_state, "steady_state"},
  }};
};

/// [run]
/// Bounds that keep derived quantities representable: generations * population_size evaluations in
/// an int64, and an evaluation deadline in steady_clock's nanoseconds.
inline constexpr std::int64_t max_generations = 1'000'000'000;
inline constexpr double max_time_limit_seconds = 1e7;  // about 115 days

/// Limits of what a config may ask for, checked before anything is allocated (docs/configuration.md,
/// "Limits"). A config file is read up to max_config_bytes; its tables, dotted keys, arrays and
/// inline tables nest at most max_config_nesting_depth levels (the parser recurses once per level).
inline constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;
inline constexpr std::size_t max_config_nesting_depth = 64;
/// evaluation.tasks_per_evaluation, holdout_tasks and validation_tasks; population_size x
/// tasks_per_evaluation is at most max_population_values (a generation's per-task scores).
inline constexpr std::int64_t max_tasks_per_evaluation = 1'000'000;

struct RunOptions {
  std::uint64_t seed = 0;          // required: no default seed, so a run's randomness is always chosen
  std::int64_t generations = 20;   // in [1, max_generations]; steady_state: generations * population_size evaluations
  RunMode mode = RunMode::generational;
  // Plugins to load before the rest of the config is read (their families may appear in it), as
  // given; relative paths resolve against the config file's directory. See plugin_paths_in_config.
  std::vector<std::string> plugins;
};

/// How a genome's inner loops are turned into a fitness (lower is better).
enum class FitnessMeasure {
  final_loss,  // per task: log10(L_T / L_0)
  auc,         // per task: log10(mean(L_1..L_T) / L_0), rewards fast progress too
};
template <>
struct EnumNames<FitnessMeasure> {
  static constexpr std::array<EnumName<FitnessMeasure>, 2> table{{
      {FitnessMeasure::final_loss, "final_loss"},
      {FitnessMeasure::auc, "auc"},
  }};
};

/// [evaluation]
struct EvaluationOptions {
  int tasks_per_evaluation = 8;       // K tasks sampled per genome per generation, >= 1
  std::int64_t inner_steps = 100;     // T steps of the update rule per task, >= 1
  FitnessMeasure fitness = FitnessMeasure::final_loss;
  double divergence_factor = 1e3;     // loss above factor * L_0 (or NaN/inf) = diverged, > 1
  double penalty_fitness = 10.0;      // per-task score of a diverged inner loop; above any normal score
  // Lowest per-task score (a log10 loss ratio): a task reduced further counts as solved, so families
  // whose loss can go to ~0 (separable classification) do not outweigh the others. In [-300, 0).
  double score_floor = -8.0;
  int holdout_tasks = 32;             // fresh tasks of the final report (best vs defaults), >= 0
  // A best you can trust: each generation's validation_candidates best genomes (by training fitness)
  // are re-scored on validation_tasks fixed tasks that selection never sees; the run reports the
  // best by that validation fitness. 0 tasks = off (the best by training fitness is reported).
  // Generational mode only; an [objective] run has no tasks and skips it.
  int validation_tasks = 16;          // >= 0
  int validation_candidates = 2;      // >= 1
  double time_limit_seconds = 0.0;    // wall-time limit of one evaluation (all K tasks); 0 = none, <= max_time_limit_seconds
};

/// [checkpoint]: when the run file is brought up to date with a resumable checkpoint. Whichever
/// comes first; a checkpoint is also written at the end and when a stop signal arrives.
struct CheckpointOptions {
  int every_generations = 1;     // 0 = not by count, >= 0
  double every_seconds = 0.0;    // 0 = not by time, >= 0
};

/// How islands pass migrants on. ring: island i sends to island (i + 1) mod count.
enum class IslandTopology { ring };
template <>
struct EnumNames<IslandTopology> {
  static constexpr std::array<EnumName<IslandTopology>, 1> table{{{IslandTopology::ring, "ring"}}};
};

/// [islands]: count populations, each with its own strategy (seeded per island), master and workers
/// under MPI; every migration_interval generations each island sends copies of its migration_size
/// best genomes of that generation to the next one (docs/islands.md). Generational mode only.
struct IslandOptions {
  int count = 1;                 // 1: one population (no islands), >= 1
  int migration_interval = 5;    // generations between migrations, >= 1
  int migration_size = 1;        // genomes sent per migration, >= 0 (0: islands never exchange)
  IslandTopology topology = IslandTopology::ring;
};

/// [update_rule]: the family, which hyperparameters are genes and which are fixed.
struct UpdateRuleOptions {
  std::string family = "adam";
  std::vector<GeneSpec> genes;   // [update_rule.genes]: each names a hyperparameter of the family
  ParameterSet fixed;            // [update_rule.fixed]: the rest; omitted ones keep the family default
  /// [update_rule.architecture]: the family's architecture options (every key, defaults filled in),
  /// which decide the blocks of real genes it declares (e.g. a learned rule's weights).
  Options architecture;
};

/// [search]: which registered strategy drives the search, and its options. The GA's options are the
/// [ga] table (its historical place); another strategy's are the table [search.<strategy>].
struct SearchOptions {
  std::string strategy = "ga";
  Options options;           // resolved against the strategy's schema (defaults filled in)
  int population_size = 0;   // genomes per generation the strategy gives for this search space
};

/// [objective]: a diagnostic search in which the genome itself is the point: fitness = f(x) with x
/// the block "x" of `dimension` real genes in [low, high]. Replaces [update_rule] and [[tasks]]; for
/// tests and benchmarks of the strategies and the runtime.
struct ObjectiveOptions {
  DiagnosticFunction function = DiagnosticFunction::sphere;
  std::int64_t dimension = 10;         // [1, max_block_length]
  double low = -5.0;                   // low < high, finite
  double high = 5.0;
  double initial_value = 3.0;          // where every coordinate starts, in [low, high]
  double initial_scale = 1.0;          // the initial spread, value units, > 0
  double evaluation_sleep_seconds = 0.0;  // each evaluation sleeps this long (a stand-in for real cost), [0, 60]
};

/// The block "x" an [objective] searches over.
GeneBlock objective_block(const ObjectiveOptions& objective);

struct RunConfig {
  RunOptions run;
  SearchOptions search;
  GeneticAlgorithmOptions ga;
  EvaluationOptions evaluation;
  CheckpointOptions checkpoint;
  IslandOptions islands;
  UpdateRuleOptions update_rule;
  std::vector<TaskConfig> tasks;      // [[tasks]], at least one (none with an [objective])
  std::optional<ObjectiveOptions> objective;
  std::string source_text;            // the TOML as given, stored in the run file
  std::string source_name;            // file name (or "<string>") for messages
  std::filesystem::path base_directory;  // what relative file paths (a dataset's path) resolve against:
                                         // the config file's directory, absolute (stored in the run file)
  // The plugins loaded for this run (--plugin and run.plugins), recorded in the run file so that
  // resume and the workers load the same files. Filled by whoever loads them, not by parse_config.
  std::vector<PluginRecord> plugins;

  /// The update rule's genes, or for an [objective] the block "x".
  SearchSpace search_space() const;
  /// Genomes per generation: the strategy's, resolved by parse_config; ga.population_size for a
  /// config built in code (search.population_size 0) that runs the GA.
  int population_size() const {
    return search.population_size > 0 || search.strategy != "ga" ? search.population_size : ga.population_size;
  }
  /// Genomes per generation over all islands: a row of the run file's /generations.
  int generation_size() const { return population_size() * islands.count; }
  /// The options the strategy is built from: the [ga] table for the GA, else search.options.
  Options strategy_options() const { return search.strategy == "ga" ? to_options(ga) : search.options; }
};

/// Parses and validates TOML text. Throws ConfigError whose message names the file, line, key, the
/// allowed values and the value seen, e.g.
///   "quickstart.toml:12: ga.population_size must be >= 2, got 1".
/// Relative file paths in [[tasks]] resolve against base_directory; empty = the directory of
/// source_name when it names a file, else the current directory.
RunConfig parse_config(std::string_view toml_text, std::string_view source_name = "<string>",
                       const std::filesystem::path& base_directory = {});
RunConfig load_config(const std::filesystem::path& path);

/// The plugins a config file lists in [run] plugins, resolved against its directory: read before
/// the config itself (which may name their families), so only that key is checked. Throws
/// ConfigError (file and line) for a syntax error or a value that is not an array of strings.
std::vector<std::filesystem::path> plugin_paths_in_config(const std::filesystem::path& path);

}  // namespace metaevo
