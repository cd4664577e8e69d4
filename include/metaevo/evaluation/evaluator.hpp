#pragma once
// Genome + evaluation key -> fitness and metrics. The only place inner loops are run.
// The messages' serialize members are archive-generic: the Boost parts are in the MPI runtime
// (src/runtime/message_serialization.hpp), so this header needs no Boost.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/evaluation/inner_loop.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo {

/// What identifies an evaluation's randomness: the tasks of generation g are the same for every
/// genome of g (common random numbers make comparisons within a generation fair).
struct EvaluationKey {
  std::uint64_t run_seed = 0;
  std::int64_t generation = 0;
  StreamPurpose purpose = StreamPurpose::task_sample;  // holdout_task for the final report

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & run_seed & generation & purpose;
  }
};

struct EvaluationResult {
  std::int64_t genome_id = -1;
  double fitness = 0.0;            // mean per-task score; lower is better
  bool diverged = false;           // at least one inner loop diverged (its score is the penalty)
  bool failed = false;             // an exception ended the evaluation; fitness is the penalty
  std::string reason;              // why diverged/failed, empty otherwise
  double mean_final_loss = 0.0;    // mean over tasks of the final inner-loop loss (NaN if diverged)
  std::int64_t inner_steps = 0;    // total inner steps actually run over all tasks
  double wall_seconds = 0.0;
  // Where and when it ran (set by the executor): rank 0 in process, else the worker's rank; Unix
  // times in seconds, comparable across the nodes of a job as far as their clocks agree.
  int worker_rank = 0;
  double start_time = 0.0;
  double end_time = 0.0;
  // Per task slot k (K entries, in slot order): its score (the fitness is their mean; the penalty for a
  // diverged task; NaN for a task not run because the evaluation failed), its final inner-loop loss
  // (NaN if diverged or not run) and the index of its family in the config's [[tasks]].
  std::vector<double> task_scores;
  std::vector<double> task_final_losses;
  std::vector<std::int32_t> task_families;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & genome_id & fitness & diverged & failed & reason & mean_final_loss & inner_steps & wall_seconds;
    archive & worker_rank & start_time & end_time;
    archive & task_scores & task_final_losses & task_families;
  }
};

/// What the master sends a worker: the genome and the key of its tasks. `baseline` evaluates the
/// family defaults (with the config's fixed values) instead of the genome's genes, and a positive
/// `task_count` replaces tasks_per_evaluation: both are used for the final holdout report.
/// `first_task` and a positive `task_span` run only tasks [first_task, first_task + task_span) of the
/// task_count (same seeds and families as in the whole set): a long validation is split into pieces
/// that several workers run at once.
struct EvaluationRequest {
  Genome genome;
  EvaluationKey key;
  int task_count = 0;
  bool baseline = false;
  int first_task = 0;
  int task_span = 0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & genome & key & task_count & baseline & first_task & task_span;
  }
};

class ExternalTaskFamily;

/// The seed task slot `task_index` is sampled with under `key`: the same for every genome and rule.
std::uint64_t task_seed(const EvaluationKey& key, int task_index);

class Evaluator {
 public:
  /// Builds the task families and the search space from the config (already validated).
  explicit Evaluator(const RunConfig& config);

  /// Scores a genome on K tasks keyed by (key, task index). Never throws for a bad rule or task:
  /// exceptions become failed results with the penalty fitness.
  EvaluationResult evaluate(const Genome& genome, const EvaluationKey& key) const;
  EvaluationResult evaluate(const EvaluationRequest& request) const;
  /// Family defaults with the config's fixed values applied: the baseline of the holdout report.
  ParameterSet baseline_hyperparameters() const;
  /// Same, for explicit hyperparameters (e.g. the family defaults in the final report).
  /// Tasks [first_task, first_task + task_span) of task_count (task_span < 0: to the end); the
  /// fitness is the mean over those tasks.
  EvaluationResult evaluate_parameters(const ParameterSet& hyperparameters, const EvaluationKey& key, int task_count,
                                       int first_task = 0, int task_span = -1) const;
  /// The same for a whole rule: hyperparameters, block values, architecture (e.g. an exported rule).
  EvaluationResult evaluate_parameters(const RuleParameters& parameters, const EvaluationKey& key, int task_count,
                                       int first_task = 0, int task_span = -1) const;

  /// A rule of any registered family on this config's tasks and inner loop (e.g. a baseline, or an
  /// exported rule in `metaevo score`): the rule is built with `parameters` as given (its schedule
  /// sized by parameters.inner_steps). When `curves` is given it receives each task's learning curve
  /// (empty for tasks not run).
  EvaluationResult evaluate_rule(std::string_view family, const RuleParameters& parameters, const EvaluationKey& key,
                                 int task_count, int first_task = 0, int task_span = -1,
                                 std::vector<LearningCurve>* curves = nullptr) const;

  /// The full hyperparameter set a genome encodes: family defaults, then fixed values, then genes.
  ParameterSet hyperparameters_of(const Genome& genome) const;
  /// Everything a genome's rule is built from: hyperparameters_of, each block decoded, the
  /// config's architecture and inner steps.
  RuleParameters rule_parameters_of(const Genome& genome) const;
  /// The baseline's: baseline_hyperparameters, blocks at their initial values.
  RuleParameters baseline_rule_parameters() const;
  const SearchSpace& space() const { return space_; }
  const RunConfig& config() const { return config_; }

  /// The family task slot `task_index` of `task_count` draws from under `key` (stratified by weight).
  const TaskFamily& family_for_slot(const EvaluationKey& key, int task_index, int task_count) const;
  /// Its index in the config's [[tasks]].
  std::size_t family_index_for_slot(const EvaluationKey& key, int task_index, int task_count) const;

 private:
  /// An [objective] run: fitness = the diagnostic function at the genome's block "x".
  EvaluationResult evaluate_objective(const Genome& genome) const;

  RunConfig config_;
  SearchSpace space_;
  std::vector<std::unique_ptr<TaskFamily>> families_;
  // Per family: itself when it runs its tasks externally (the evaluator calls it instead of running
  // the inner loop), else null.
  std::vector<const ExternalTaskFamily*> external_families_;
  std::vector<double> cumulative_weights_;
  // Per family, and for the config's rule: the plugin that registered it (empty: built-in), for the
  // line a fatal signal prints (metaevo/core/crash_report.hpp).
  std::vector<std::string> family_plugins_;
  std::string rule_plugin_;
};

}  // namespace metaevo
