#include "metaevo/evaluation/evaluator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>

#include "core/text_format.hpp"
#include "metaevo/core/crash_report.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/plugin_loader.hpp"
#include "metaevo/evaluation/diagnostic_objective.hpp"
#include "metaevo/evaluation/inner_loop.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/external_task.hpp"

namespace metaevo {

namespace {

// A loss reduced 10^-floor-fold counts as solved (floor = [evaluation] score_floor, -8 by default):
// without a floor, tasks that converge to machine zero would dominate the mean and the search would
// chase digits instead of robustness.
double log_ratio_score(double initial, double reached, double floor) {
  if (initial <= 0.0) return reached <= 0.0 ? floor : 0.0;
  if (reached <= 0.0) return floor;
  return std::max(floor, std::log10(reached / initial));
}

/// The loss a task's score measures: the final one, or (auc) the mean over the steps 1..T.
double reached_loss(const std::vector<double>& losses, double final_loss, FitnessMeasure measure) {
  if (measure != FitnessMeasure::auc || losses.size() < 2) return final_loss;
  double sum = 0.0;
  for (std::size_t t = 1; t < losses.size(); ++t) sum += losses[t];
  return sum / static_cast<double>(losses.size() - 1);
}

double task_score(const LearningCurve& curve, FitnessMeasure measure, double floor) {
  return log_ratio_score(curve.losses.front(), reached_loss(curve.losses, curve.losses.back(), measure), floor);
}

/// The loss before training an external task reported: initial_loss, else its curve's first entry.
std::optional<double> initial_loss_of(const ExternalTaskOutcome& outcome) {
  if (outcome.initial_loss) return outcome.initial_loss;
  if (!outcome.learning_curve.empty()) return outcome.learning_curve.front();
  return std::nullopt;
}

/// An external task scores like a built-in one when it reports where it started; otherwise its
/// loss is taken as it is (on the program's own scale; docs/external-tasks.md).
double external_task_score(const ExternalTaskOutcome& outcome, FitnessMeasure measure, double floor) {
  const double reached = reached_loss(outcome.learning_curve, outcome.final_loss, measure);
  const std::optional<double> initial = initial_loss_of(outcome);
  return initial ? log_ratio_score(*initial, reached, floor) : reached;
}

/// What the inner loop would have recorded for an external task: its curve, else [initial,] final.
LearningCurve external_task_curve(const ExternalTaskOutcome& outcome) {
  LearningCurve curve;
  if (!outcome.learning_curve.empty()) {
    curve.losses = outcome.learning_curve;
  } else {
    if (outcome.initial_loss) curve.losses.push_back(*outcome.initial_loss);
    curve.losses.push_back(outcome.final_loss);
  }
  curve.diverged = outcome.diverged;
  return curve;
}

}  // namespace

std::uint64_t task_seed(const EvaluationKey& key, int task_index) {
  return stream_key(key.run_seed, key.purpose,
                    {static_cast<std::uint64_t>(key.generation), static_cast<std::uint64_t>(task_index)});
}

Evaluator::Evaluator(const RunConfig& config) : config_(config), space_(config.search_space()) {
  double total = 0.0;
  rule_plugin_ = plugin_of_update_rule(config_.update_rule.family);
  for (const TaskConfig& task : config_.tasks) {
    families_.push_back(make_task_family(task));
    external_families_.push_back(dynamic_cast<const ExternalTaskFamily*>(families_.back().get()));
    family_plugins_.push_back(plugin_of_task_family(task.family));
    total += task.weight;
    cumulative_weights_.push_back(total);
  }
  if (config_.objective) return;  // the genome itself is the point: no tasks
  if (families_.empty()) throw ConfigError("the config needs at least one [[tasks]] table");
  if (!std::isfinite(total)) throw ConfigError("the [[tasks]] weights sum to " + std::to_string(total) + ", not a finite number");
}

const TaskFamily& Evaluator::family_for_slot(const EvaluationKey& key, int task_index, int task_count) const {
  return *families_[family_index_for_slot(key, task_index, task_count)];
}

std::size_t Evaluator::family_index_for_slot(const EvaluationKey& key, int task_index, int task_count) const {
  // Systematic sampling: slot k sits at (k + offset) / K along the cumulative weights, with one offset
  // per generation. Each family then gets its weight's share of the K slots to within one, so the mix
  // (and with it the fitness scale) does not swing from generation to generation.
  RandomStream stream(key.run_seed, StreamPurpose::task_choice,
                      {static_cast<std::uint64_t>(key.purpose), static_cast<std::uint64_t>(key.generation)});
  const double offset = stream.uniform();
  const double position = (task_index + offset) / task_count * cumulative_weights_.back();
  const auto slot = std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), position);
  const auto index = std::min<std::ptrdiff_t>(slot - cumulative_weights_.begin(),
                                              static_cast<std::ptrdiff_t>(families_.size()) - 1);
  return static_cast<std::size_t>(index);
}

ParameterSet Evaluator::baseline_hyperparameters() const {
  if (config_.objective) return {};
  ParameterSet parameters = default_hyperparameters(config_.update_rule.family);
  for (const auto& [name, value] : config_.update_rule.fixed) parameters[name] = value;
  return parameters;
}

ParameterSet Evaluator::hyperparameters_of(const Genome& genome) const {
  ParameterSet parameters = baseline_hyperparameters();
  for (auto& [name, value] : space_.decode(genome.x)) parameters[name] = std::move(value);
  return parameters;
}

RuleParameters Evaluator::rule_parameters_of(const Genome& genome) const {
  RuleParameters parameters;
  parameters.hyperparameters = hyperparameters_of(genome);
  parameters.blocks.resize(space_.blocks().size());
  for (std::size_t b = 0; b < space_.blocks().size(); ++b) space_.decode_block(genome.x, b, parameters.blocks[b]);
  parameters.architecture = config_.update_rule.architecture;
  parameters.inner_steps = config_.evaluation.inner_steps;
  return parameters;
}

RuleParameters Evaluator::baseline_rule_parameters() const {
  RuleParameters parameters;
  parameters.hyperparameters = baseline_hyperparameters();
  parameters.architecture = config_.update_rule.architecture;  // blocks empty: at their initial values
  parameters.inner_steps = config_.evaluation.inner_steps;
  return parameters;
}

EvaluationResult Evaluator::evaluate(const Genome& genome, const EvaluationKey& key) const {
  return evaluate(EvaluationRequest{genome, key});
}

EvaluationResult Evaluator::evaluate_objective(const Genome& genome) const {
  const auto start = std::chrono::steady_clock::now();
  const ObjectiveOptions& objective = *config_.objective;
  EvaluationResult result;
  result.genome_id = genome.id;
  try {
    if (objective.evaluation_sleep_seconds > 0.0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(objective.evaluation_sleep_seconds));
    }
    Eigen::VectorXd point;
    space_.decode_block(genome.x, 0, point);
    result.fitness = diagnostic_objective(objective.function, point);
    result.mean_final_loss = result.fitness;
    if (!std::isfinite(result.fitness)) {
      result.diverged = true;
      result.reason = "the objective is not finite at this point";
      result.fitness = config_.evaluation.penalty_fitness;
    }
  } catch (const std::exception& error) {
    result.failed = true;
    result.fitness = config_.evaluation.penalty_fitness;
    result.mean_final_loss = std::numeric_limits<double>::quiet_NaN();
    result.reason = std::string("evaluation failed: ") + error.what();
  }
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

EvaluationResult Evaluator::evaluate(const EvaluationRequest& request) const {
  const crash_report::GenomeScope crash_site(request.genome.id);
  if (config_.objective) return evaluate_objective(request.genome);
  const int task_count = request.task_count > 0 ? request.task_count : config_.evaluation.tasks_per_evaluation;
  const RuleParameters parameters = request.baseline ? baseline_rule_parameters() : rule_parameters_of(request.genome);
  const int span = request.task_span > 0 ? request.task_span : -1;
  EvaluationResult result = evaluate_parameters(parameters, request.key, task_count, request.first_task, span);
  result.genome_id = request.genome.id;
  return result;
}

EvaluationResult Evaluator::evaluate_parameters(const ParameterSet& hyperparameters, const EvaluationKey& key,
                                                int task_count, int first_task, int task_span) const {
  RuleParameters parameters = baseline_rule_parameters();
  parameters.hyperparameters = hyperparameters;
  return evaluate_parameters(parameters, key, task_count, first_task, task_span);
}

EvaluationResult Evaluator::evaluate_parameters(const RuleParameters& parameters, const EvaluationKey& key,
                                                int task_count, int first_task, int task_span) const {
  return evaluate_rule(config_.update_rule.family, parameters, key, task_count, first_task, task_span);
}

EvaluationResult Evaluator::evaluate_rule(std::string_view rule_family, const RuleParameters& parameters,
                                          const EvaluationKey& key, int task_count, int first_task, int task_span,
                                          std::vector<LearningCurve>* curves) const {
  const auto start = std::chrono::steady_clock::now();
  if (first_task < 0 || first_task >= task_count || task_span == 0 || (task_span > 0 && first_task + task_span > task_count)) {
    throw Error("Evaluator: tasks [" + std::to_string(first_task) + ", +" + std::to_string(task_span) + ") of " +
                std::to_string(task_count));
  }
  const int end_task = task_span > 0 ? first_task + task_span : task_count;
  const int span = end_task - first_task;
  const EvaluationOptions& options = config_.evaluation;
  // The config's rule was looked up once; another (a baseline's) only here, off the run's hot path.
  std::string other_rule_plugin;
  if (rule_family != config_.update_rule.family) other_rule_plugin = plugin_of_update_rule(rule_family);
  crash_report::EvaluationScope crash_site(key.generation, rule_family,
                                           rule_family != config_.update_rule.family ? other_rule_plugin : rule_plugin_);
  EvaluationResult result;
  double score_sum = 0.0;
  double final_loss_sum = 0.0;
  int finished_tasks = 0;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  result.task_scores.assign(static_cast<std::size_t>(span), nan);
  result.task_final_losses.assign(static_cast<std::size_t>(span), nan);
  result.task_families.resize(static_cast<std::size_t>(span));
  for (int task_index = first_task; task_index < end_task; ++task_index) {
    result.task_families[static_cast<std::size_t>(task_index - first_task)] =
        static_cast<std::int32_t>(family_index_for_slot(key, task_index, task_count));
  }
  try {
    InnerLoopOptions loop_options{options.inner_steps, options.divergence_factor};
    if (options.time_limit_seconds > 0.0) {
      loop_options.deadline = std::chrono::steady_clock::time_point(
          start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(options.time_limit_seconds)));
    }
    // One rule for all K tasks: run_inner_loop resets its state for each.
    const std::unique_ptr<UpdateRule> rule = make_update_rule(rule_family, parameters);
    if (curves != nullptr) curves->assign(static_cast<std::size_t>(span), LearningCurve{});
    std::string rule_json;  // built for the first external task, shared by the others
    // The bookkeeping of one task, the same for inner loops and external tasks: a diverged task
    // costs the penalty (the first one gives the reason); a finished one adds its score and loss.
    const auto record_diverged = [&](std::size_t slot, LearningCurve&& curve, const std::string& reason) {
      if (curves != nullptr) (*curves)[slot] = std::move(curve);
      score_sum += options.penalty_fitness;
      if (!result.diverged) result.reason = reason;
      result.diverged = true;
      result.task_scores[slot] = options.penalty_fitness;
    };
    const auto record_finished = [&](std::size_t slot, LearningCurve&& curve, double score, double final_loss) {
      result.task_scores[slot] = score;
      result.task_final_losses[slot] = final_loss;
      score_sum += score;
      final_loss_sum += final_loss;
      ++finished_tasks;
      if (curves != nullptr) (*curves)[slot] = std::move(curve);
    };
    for (int task_index = first_task; task_index < end_task; ++task_index) {
      const auto slot = static_cast<std::size_t>(task_index - first_task);
      const auto family_index = static_cast<std::size_t>(result.task_families[slot]);
      const TaskFamily& family = *families_[family_index];
      crash_site.task(task_index, family.name(), family_plugins_[family_index]);
      if (const ExternalTaskFamily* external = external_families_[family_index]) {
        if (rule_json.empty()) rule_json = to_json(exported_rule(rule_family, parameters));
        ExternalTaskRequest request;
        request.task_index = task_index;
        request.seed = task_seed(key, task_index);
        request.generation = key.generation;
        request.inner_steps = options.inner_steps;
        request.rule_json = rule_json;
        request.deadline = loop_options.deadline;
        ExternalTaskOutcome outcome;
        try {
          outcome = external->run(request);
        } catch (const EvaluationError& error) {
          throw EvaluationError("task " + std::to_string(task_index) + " (" + std::string(family.name()) +
                                ") failed: " + error.what());
        }
        result.inner_steps += outcome.steps;
        // The inner loop's divergence test, on what the program reports.
        const std::optional<double> initial = initial_loss_of(outcome);
        const bool exploded = initial && *initial > 0.0 && outcome.final_loss > options.divergence_factor * *initial;
        if (outcome.diverged || exploded) {
          record_diverged(slot, external_task_curve(outcome),
                          "task " + std::to_string(task_index) + " (" + std::string(family.name()) + ") diverged" +
                              (outcome.diverged ? std::string(": the program reported it")
                                                : ": loss " + text::format_number(outcome.final_loss) + " from " +
                                                      text::format_number(*initial)));
          continue;
        }
        record_finished(slot, external_task_curve(outcome),
                        external_task_score(outcome, options.fitness, options.score_floor), outcome.final_loss);
        continue;
      }
      const std::unique_ptr<Task> task = family.sample(task_seed(key, task_index));
      LearningCurve curve = run_inner_loop(*rule, *task, loop_options);
      result.inner_steps += curve.steps();
      if (curve.timed_out) {
        std::ostringstream reason;
        reason << "time limit of " << options.time_limit_seconds << " s exceeded in task " << task_index << " ("
               << family.name() << ") at step " << curve.steps();
        throw EvaluationError(reason.str());
      }
      if (curve.diverged) {
        std::ostringstream reason;
        reason << "task " << task_index << " (" << family.name() << ") diverged at step " << curve.steps();
        switch (curve.divergence) {
          case LearningCurve::Divergence::loss:
            reason << ": loss " << curve.losses.back() << " from " << curve.losses.front();
            break;
          case LearningCurve::Divergence::parameters:
            reason << ": its parameters are not finite (NaN, inf, or their squared norm overflows) at loss "
                   << curve.losses.back();
            break;
          case LearningCurve::Divergence::gradient:
            reason << ": its gradient is not finite (NaN, inf, or its squared norm overflows) at loss "
                   << curve.losses.back();
            break;
        }
        record_diverged(slot, std::move(curve), reason.str());
        continue;
      }
      const double score = task_score(curve, options.fitness, options.score_floor);
      const double final_loss = curve.losses.back();
      record_finished(slot, std::move(curve), score, final_loss);
    }
    result.fitness = score_sum / span;
    result.mean_final_loss =
        finished_tasks > 0 ? final_loss_sum / finished_tasks : std::numeric_limits<double>::quiet_NaN();
  } catch (const std::exception& error) {
    // A rule or task that throws (or runs out of time) costs this genome its evaluation, never the run.
    result.failed = true;
    result.fitness = options.penalty_fitness;
    result.mean_final_loss = std::numeric_limits<double>::quiet_NaN();
    result.reason = dynamic_cast<const EvaluationError*>(&error) != nullptr
                        ? std::string(error.what())
                        : std::string("evaluation failed: ") + error.what();
  }
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace metaevo
