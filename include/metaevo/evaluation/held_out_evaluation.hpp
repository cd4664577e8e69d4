#pragma once
// `metaevo evaluate`: the evolved rule against tuned baselines on fresh tasks. The baselines' learning
// rates are tuned on tasks of the run's own [[tasks]] (the meta-training distribution); every
// contender is then scored on the same held-out tasks, whose seeds the tuner never sees
// (docs/evaluation.md).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/config/task_set.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/evaluation/win_rate.hpp"
#include "metaevo/rules/exported_rule.hpp"

namespace metaevo {

/// A hand-designed optimizer to compare against: a registered update-rule family with some
/// hyperparameters fixed; only its learning rate is tuned.
struct Baseline {
  std::string name;    // how tables and the run file call it, e.g. "adam_cosine"
  std::string family;  // the update-rule family
  ParameterSet fixed;  // set over the family defaults (never learning_rate)
};

/// sgd; momentum (0.9); adam (defaults); adam_cosine (adam with schedule = "cosine").
std::vector<Baseline> standard_baselines();

/// 10^(-4 + k/3) for k = 0..12: 1e-4 to 1 with three points per decade (1, 2.15, 4.64 times a
/// power of ten), wide enough for every built-in family on the built-in tasks.
std::vector<double> default_learning_rate_grid();

struct HeldOutOptions {
  int held_out_tasks = 32;  // N tasks every contender is scored on (--seeds), >= 1
  int tuning_tasks = 16;    // K meta-training tasks each grid point is scored on, >= 1
  std::vector<double> learning_rate_grid = default_learning_rate_grid();  // in (0, 10), not empty
  std::vector<Baseline> baselines = standard_baselines();                 // not empty, names unique
  /// Called with one line at each step of the long work (nothing is printed by the library).
  std::function<void(const std::string&)> progress;
  /// Called when a phase starts (done = 0) and after each of its inner loops, with the phase
  /// ("tuning", then "evaluating"), the inner loops done and their total: what a progress meter counts.
  std::function<void(std::string_view phase, std::int64_t done, std::int64_t total)> on_inner_loop;
};

/// Checks the options; ConfigError names the field, what is allowed and the value seen.
void validate(const HeldOutOptions& options);

/// One baseline's tuning: the mean task score (the run's fitness measure; lower is better) of each
/// grid point on the same K tuning tasks, and the best point (the lowest; the smaller rate on a tie).
struct BaselineTuning {
  std::string name;
  std::vector<double> fitness;  // per grid point
  std::size_t best_index = 0;
  double learning_rate = 0.0;  // grid[best_index]
};

/// The baseline's hyperparameters at a learning rate: family defaults, then `fixed`, then the rate.
ParameterSet baseline_hyperparameters(const Baseline& baseline, double learning_rate);

/// Tunes every baseline on `tuning_tasks` tasks of `run_config`'s own [[tasks]] and inner_steps,
/// keyed by (run seed, StreamPurpose::baseline_tuning, generation 0): never a held-out task.
std::vector<BaselineTuning> tune_baselines(const RunConfig& run_config, const HeldOutOptions& options);

/// Where the held-out tasks come from: the run config with its [[tasks]] replaced by the task set's
/// (when given) and its inner_steps by the set's (when it sets them). Everything else (fitness measure,
/// divergence factor, penalty) stays the run's; the per-evaluation time limit, which now covers one
/// task, is scaled up with the inner loop's length.
RunConfig held_out_config(const RunConfig& run_config, const TaskSet* held_out);

/// How an inner loop of the held-out evaluation ended.
enum class TaskOutcome : std::uint8_t { finished = 0, diverged = 1, failed = 2 /* an error or the time limit */ };

/// Contender c on held-out task k: the final loss (+inf when it diverged or failed) and its curve.
struct HeldOutEvaluation {
  // Where it came from.
  std::uint64_t run_seed = 0;
  std::string evolved_family;
  std::int64_t evolved_genome_id = -1;
  std::int64_t evolved_generation = -1;
  std::int64_t tuning_inner_steps = 0;  // the run's T, used for tuning
  std::int64_t inner_steps = 0;         // the held-out T
  int tuning_tasks = 0;
  int task_count = 0;           // N
  std::string held_out_source;  // the task file's name, or "run config" without one
  std::string held_out_toml;    // the task file's text (empty without one)
  std::vector<double> learning_rate_grid;

  // Contender 0 is the evolved rule, then one per baseline in order.
  std::vector<std::string> contenders;
  std::vector<std::string> contender_families;
  std::vector<double> learning_rates;               // per contender; NaN for the evolved rule
  std::vector<std::vector<double>> tuning_fitness;  // [baseline][grid point]

  std::vector<std::string> task_family_names;       // the held-out [[tasks]] as describe_task_family shows them
  std::vector<std::int32_t> task_families;          // [N] index into task_family_names
  std::vector<std::uint64_t> task_seeds;            // [N] each task's sampling seed
  std::vector<std::vector<double>> final_losses;    // [C][N]; +inf for a diverged or failed run
  std::vector<std::vector<std::uint8_t>> outcomes;  // [C][N]; see TaskOutcome
  std::vector<double> learning_curves;  // [C][N][T+1] row-major; NaN after a divergence (and for a failed run)

  // Summaries: row f < F for the tasks of family f, row F for all tasks.
  std::vector<std::vector<double>> median_final_loss;  // [F+1][C]
  std::vector<std::vector<WinRate>> win_rates;         // [F+1][B]: the evolved rule against baseline b
  std::vector<int> summary_task_counts;                // [F+1]

  std::size_t contender_count() const { return contenders.size(); }
  std::size_t curve_length() const { return static_cast<std::size_t>(inner_steps) + 1; }
  /// Curve of contender c on task k (curve_length() values).
  std::span<const double> curve(std::size_t c, std::size_t k) const {
    return {learning_curves.data() + (c * static_cast<std::size_t>(task_count) + k) * curve_length(), curve_length()};
  }
};

/// Scores the evolved rule (its schedule sized to the held-out inner_steps) and each tuned baseline on
/// options.held_out_tasks tasks of `evaluation_config` (see held_out_config), keyed by (run seed,
/// StreamPurpose::evaluation_task, generation 0): the same tasks for every contender. Fills
/// everything but the provenance fields of the run (genome id and generation, held-out source).
HeldOutEvaluation evaluate_contenders(const RunConfig& evaluation_config, const ExportedUpdateRule& evolved,
                                      const std::vector<BaselineTuning>& tuning, const HeldOutOptions& options);

/// The whole protocol: tune on `run_config`, evaluate on the held-out tasks (the run's own [[tasks]]
/// with fresh seeds when `held_out` is null).
HeldOutEvaluation evaluate_held_out(const RunConfig& run_config, const ExportedUpdateRule& evolved,
                                    const TaskSet* held_out, const HeldOutOptions& options);

/// The report as a text table, one block per task family and one for all tasks: the tuned learning
/// rates, each contender's median final loss and the evolved rule's win rate against each baseline
/// with its 95% interval.
std::string format_evaluation_table(const HeldOutEvaluation& evaluation);

}  // namespace metaevo
