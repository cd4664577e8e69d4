#include "metaevo/evaluation/held_out_evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/text_format.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/store/run_report.hpp"

namespace metaevo {
namespace {

using text::format_number;

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
const std::string evolved_name = "evolved";

void report(const HeldOutOptions& options, const std::string& line) {
  if (options.progress) options.progress(line);
}

void count_inner_loop(const HeldOutOptions& options, std::string_view phase, std::int64_t done, std::int64_t total) {
  if (options.on_inner_loop) options.on_inner_loop(phase, done, total);
}

/// One task slot on its own, so a failure (an exception, the time limit) costs only that task and the
/// time limit covers one inner loop.
EvaluationResult evaluate_slot(const Evaluator& evaluator, std::string_view family, const RuleParameters& parameters,
                               const EvaluationKey& key, int task_count, int task_index,
                               std::vector<LearningCurve>* curves) {
  return evaluator.evaluate_rule(family, parameters, key, task_count, task_index, 1, curves);
}

RuleParameters baseline_parameters(const Baseline& baseline, double learning_rate, std::int64_t inner_steps) {
  RuleParameters parameters;
  parameters.hyperparameters = baseline_hyperparameters(baseline, learning_rate);
  parameters.architecture = update_rule_architecture(baseline.family);
  parameters.inner_steps = inner_steps;
  return parameters;
}

std::string format_loss(double loss) {
  if (std::isnan(loss)) return "-";
  if (std::isinf(loss)) return "diverged";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3e", loss);
  return buffer;
}

std::string format_rate(double rate) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", rate);
  return buffer;
}

}  // namespace

std::vector<Baseline> standard_baselines() {
  return {{"sgd", "sgd", {}},
          {"momentum", "momentum", {{"momentum", 0.9}}},
          {"adam", "adam", {}},
          {"adam_cosine", "adam", {{"schedule", std::string("cosine")}}}};
}

std::vector<double> default_learning_rate_grid() {
  std::vector<double> grid;
  for (int k = 0; k <= 12; ++k) grid.push_back(std::pow(10.0, -4.0 + k / 3.0));
  return grid;
}

void validate(const HeldOutOptions& options) {
  if (options.held_out_tasks < 1) {
    throw ConfigError("held_out_tasks (--seeds) must be >= 1, got " + std::to_string(options.held_out_tasks));
  }
  if (options.tuning_tasks < 1) {
    throw ConfigError("tuning_tasks must be >= 1, got " + std::to_string(options.tuning_tasks));
  }
  if (options.learning_rate_grid.empty()) throw ConfigError("learning_rate_grid must not be empty");
  for (const double rate : options.learning_rate_grid) {
    if (!(rate > 0.0 && rate < 10.0)) {
      throw ConfigError("learning_rate_grid values must be in (0, 10), got " + format_number(rate));
    }
  }
  if (options.baselines.empty()) throw ConfigError("baselines must not be empty");
  std::set<std::string> names = {evolved_name};
  for (const Baseline& baseline : options.baselines) {
    if (!names.insert(baseline.name).second) {
      throw ConfigError("baselines: the name \"" + baseline.name + "\" is used twice (\"evolved\" is taken)");
    }
    if (baseline.fixed.contains("learning_rate")) {
      throw ConfigError("baselines: " + baseline.name + " fixes learning_rate, which is the tuned one");
    }
    // Builds the rule once: an unknown family or hyperparameter is reported before any work.
    make_update_rule(baseline.family, baseline_parameters(baseline, options.learning_rate_grid.front(), 1));
  }
}

ParameterSet baseline_hyperparameters(const Baseline& baseline, double learning_rate) {
  ParameterSet hyperparameters = default_hyperparameters(baseline.family);
  for (const auto& [name, value] : baseline.fixed) hyperparameters[name] = value;
  hyperparameters["learning_rate"] = learning_rate;
  return hyperparameters;
}

std::vector<BaselineTuning> tune_baselines(const RunConfig& run_config, const HeldOutOptions& options) {
  validate(options);
  const Evaluator evaluator(run_config);
  const EvaluationKey key{run_config.run.seed, 0, StreamPurpose::baseline_tuning};
  const int task_count = options.tuning_tasks;
  std::vector<BaselineTuning> tunings;
  const auto loops =
      static_cast<std::int64_t>(options.baselines.size() * options.learning_rate_grid.size()) * task_count;
  std::int64_t loops_done = 0;
  count_inner_loop(options, "tuning", loops_done, loops);
  for (const Baseline& baseline : options.baselines) {
    BaselineTuning tuning;
    tuning.name = baseline.name;
    for (const double rate : options.learning_rate_grid) {
      const RuleParameters parameters = baseline_parameters(baseline, rate, run_config.evaluation.inner_steps);
      // The same sum in the same order as Evaluator's own mean over the K tasks.
      double score_sum = 0.0;
      for (int k = 0; k < task_count; ++k) {
        score_sum += evaluate_slot(evaluator, baseline.family, parameters, key, task_count, k, nullptr).fitness;
        count_inner_loop(options, "tuning", ++loops_done, loops);
      }
      tuning.fitness.push_back(score_sum / task_count);
    }
    // A NaN fitness never wins; the first (smaller) rate wins a tie.
    for (std::size_t g = 0; g < tuning.fitness.size(); ++g) {
      const double best = tuning.fitness[tuning.best_index];
      if (std::isnan(best) || tuning.fitness[g] < best) tuning.best_index = g;
    }
    tuning.learning_rate = options.learning_rate_grid[tuning.best_index];
    report(options, "tuned " + baseline.name + " on " + std::to_string(task_count) + " meta-training tasks x " +
                        std::to_string(run_config.evaluation.inner_steps) + " steps: learning_rate " +
                        format_rate(tuning.learning_rate) + " (fitness " +
                        format_number(tuning.fitness[tuning.best_index]) + ")");
    tunings.push_back(std::move(tuning));
  }
  return tunings;
}

RunConfig held_out_config(const RunConfig& run_config, const TaskSet* held_out) {
  RunConfig config = run_config;
  if (held_out != nullptr) {
    config.tasks = held_out->tasks;
    if (held_out->inner_steps) config.evaluation.inner_steps = *held_out->inner_steps;
  }
  const double length_ratio =
      static_cast<double>(config.evaluation.inner_steps) / static_cast<double>(run_config.evaluation.inner_steps);
  if (config.evaluation.time_limit_seconds > 0.0 && length_ratio > 1.0) {
    config.evaluation.time_limit_seconds =
        std::min(config.evaluation.time_limit_seconds * length_ratio, max_time_limit_seconds);
  }
  return config;
}

HeldOutEvaluation evaluate_contenders(const RunConfig& evaluation_config, const ExportedUpdateRule& evolved,
                                      const std::vector<BaselineTuning>& tuning, const HeldOutOptions& options) {
  validate(options);
  if (tuning.size() != options.baselines.size()) {
    throw Error("evaluate_contenders: " + std::to_string(tuning.size()) + " tunings for " +
                std::to_string(options.baselines.size()) + " baselines");
  }
  const Evaluator evaluator(evaluation_config);
  const EvaluationKey key{evaluation_config.run.seed, 0, StreamPurpose::evaluation_task};
  const int n = options.held_out_tasks;
  const auto task_count = static_cast<std::size_t>(n);
  const std::int64_t steps = evaluation_config.evaluation.inner_steps;

  HeldOutEvaluation evaluation;
  evaluation.run_seed = evaluation_config.run.seed;
  evaluation.evolved_family = evolved.family;
  evaluation.evolved_genome_id = evolved.genome_id;
  evaluation.evolved_generation = evolved.generation;
  evaluation.inner_steps = steps;
  evaluation.task_count = n;
  evaluation.learning_rate_grid = options.learning_rate_grid;
  for (const TaskConfig& task : evaluation_config.tasks) {
    evaluation.task_family_names.push_back(describe_task_family(task));
  }
  for (int k = 0; k < n; ++k) {
    evaluation.task_families.push_back(static_cast<std::int32_t>(evaluator.family_index_for_slot(key, k, n)));
    evaluation.task_seeds.push_back(task_seed(key, k));
  }

  struct Contender {
    std::string name;
    std::string family;
    RuleParameters parameters;
    double learning_rate;
  };
  std::vector<Contender> contenders;
  RuleParameters evolved_parameters = rule_parameters(evolved);
  evolved_parameters.inner_steps = steps;  // its schedule stretched to the held-out length
  contenders.push_back({evolved_name, evolved.family, std::move(evolved_parameters), nan});
  for (std::size_t b = 0; b < options.baselines.size(); ++b) {
    const Baseline& baseline = options.baselines[b];
    contenders.push_back({baseline.name, baseline.family, baseline_parameters(baseline, tuning[b].learning_rate, steps),
                          tuning[b].learning_rate});
    evaluation.tuning_fitness.push_back(tuning[b].fitness);
  }

  const std::size_t length = evaluation.curve_length();
  evaluation.learning_curves.assign(contenders.size() * task_count * length, nan);
  const auto loops = static_cast<std::int64_t>(contenders.size() * task_count);
  std::int64_t loops_done = 0;
  count_inner_loop(options, "evaluating", loops_done, loops);
  for (std::size_t c = 0; c < contenders.size(); ++c) {
    const Contender& contender = contenders[c];
    evaluation.contenders.push_back(contender.name);
    evaluation.contender_families.push_back(contender.family);
    evaluation.learning_rates.push_back(contender.learning_rate);
    std::vector<double> losses(task_count, infinity);
    std::vector<std::uint8_t> status(task_count, static_cast<std::uint8_t>(TaskOutcome::finished));
    int diverged = 0;
    for (int k = 0; k < n; ++k) {
      const auto slot = static_cast<std::size_t>(k);
      std::vector<LearningCurve> curves;
      const EvaluationResult result =
          evaluate_slot(evaluator, contender.family, contender.parameters, key, n, k, &curves);
      if (result.failed) {
        status[slot] = static_cast<std::uint8_t>(TaskOutcome::failed);
      } else if (result.diverged) {
        status[slot] = static_cast<std::uint8_t>(TaskOutcome::diverged);
      } else {
        losses[slot] = result.task_final_losses.front();
      }
      if (status[slot] != 0) ++diverged;
      // A diverged curve keeps the loss it blew up at; the steps after it stay NaN.
      if (!curves.empty()) {
        const std::vector<double>& curve = curves.front().losses;
        std::copy_n(curve.begin(), std::min(curve.size(), length),
                    evaluation.learning_curves.begin() + static_cast<std::ptrdiff_t>((c * task_count + slot) * length));
      }
      count_inner_loop(options, "evaluating", ++loops_done, loops);
    }
    report(options, "evaluated " + contender.name + " on " + std::to_string(n) + " held-out tasks x " +
                        std::to_string(steps) + " steps (" + std::to_string(diverged) + " diverged or failed)");
    evaluation.final_losses.push_back(std::move(losses));
    evaluation.outcomes.push_back(std::move(status));
  }

  // Per family, then all tasks.
  const std::size_t families = evaluation.task_family_names.size();
  for (std::size_t f = 0; f <= families; ++f) {
    std::vector<std::size_t> tasks;
    for (std::size_t k = 0; k < task_count; ++k) {
      if (f == families || static_cast<std::size_t>(evaluation.task_families[k]) == f) tasks.push_back(k);
    }
    const auto losses_of = [&](std::size_t c) {
      std::vector<double> losses;
      for (const std::size_t k : tasks) losses.push_back(evaluation.final_losses[c][k]);
      return losses;
    };
    std::vector<double> medians;
    for (std::size_t c = 0; c < contenders.size(); ++c) medians.push_back(median_loss(losses_of(c)));
    std::vector<WinRate> wins;
    const std::vector<double> evolved_losses = losses_of(0);
    for (std::size_t c = 1; c < contenders.size(); ++c) wins.push_back(win_rate(evolved_losses, losses_of(c)));
    evaluation.median_final_loss.push_back(std::move(medians));
    evaluation.win_rates.push_back(std::move(wins));
    evaluation.summary_task_counts.push_back(static_cast<int>(tasks.size()));
  }
  return evaluation;
}

HeldOutEvaluation evaluate_held_out(const RunConfig& run_config, const ExportedUpdateRule& evolved,
                                    const TaskSet* held_out, const HeldOutOptions& options) {
  validate(options);
  const std::vector<BaselineTuning> tuning = tune_baselines(run_config, options);
  HeldOutEvaluation evaluation = evaluate_contenders(held_out_config(run_config, held_out), evolved, tuning, options);
  evaluation.tuning_inner_steps = run_config.evaluation.inner_steps;
  evaluation.tuning_tasks = options.tuning_tasks;
  evaluation.held_out_source = held_out != nullptr ? held_out->source_name : "run config";
  evaluation.held_out_toml = held_out != nullptr ? held_out->source_text : "";
  return evaluation;
}

std::string format_evaluation_table(const HeldOutEvaluation& evaluation) {
  std::ostringstream out;
  char line[256];
  out << "evolved " << evaluation.evolved_family << " rule";
  if (evaluation.evolved_genome_id >= 0) {
    out << " (genome " << evaluation.evolved_genome_id << ", generation " << evaluation.evolved_generation << ")";
  }
  out << " on " << evaluation.task_count << " held-out tasks x " << evaluation.inner_steps << " steps ("
      << evaluation.held_out_source << ")\n";
  out << "baselines: learning rate tuned on " << evaluation.tuning_tasks << " meta-training tasks x "
      << evaluation.tuning_inner_steps << " steps over " << evaluation.learning_rate_grid.size()
      << " log-spaced rates in [" << format_rate(evaluation.learning_rate_grid.front()) << ", "
      << format_rate(evaluation.learning_rate_grid.back()) << "]\n";
  out << "final loss: median over tasks (diverged = +inf); win rate: share of tasks where the evolved rule ends "
         "lower (a tie, within a relative "
      << format_number(default_tie_tolerance) << ", counts half), with its 95% Wilson interval\n";
  const std::size_t families = evaluation.task_family_names.size();
  for (std::size_t f = 0; f <= families; ++f) {
    const int tasks = evaluation.summary_task_counts[f];
    out << "\n"
        << (f == families ? std::string("all families") : evaluation.task_family_names[f]) << ": " << tasks
        << (tasks == 1 ? " task\n" : " tasks\n");
    if (tasks == 0) continue;
    std::snprintf(line, sizeof line, "  %-14s %10s %18s   %s\n", "contender", "tuned lr", "median final loss",
                  "evolved wins  win rate [95% interval]");
    out << line;
    for (std::size_t c = 0; c < evaluation.contender_count(); ++c) {
      const double rate = evaluation.learning_rates[c];
      std::string versus = "-";
      if (c > 0) {
        const WinRate& win = evaluation.win_rates[f][c - 1];
        char text[96];
        std::snprintf(text, sizeof text, "%5s/%-6d %.2f [%.2f, %.2f]", format_number(win.wins).c_str(),
                      static_cast<int>(win.tasks), win.rate, win.interval.low, win.interval.high);
        versus = text;
      }
      std::snprintf(line, sizeof line, "  %-14s %10s %18s   %s\n", evaluation.contenders[c].c_str(),
                    std::isnan(rate) ? "-" : format_rate(rate).c_str(),
                    format_loss(evaluation.median_final_loss[f][c]).c_str(), versus.c_str());
      out << line;
    }
  }
  return out.str();
}

}  // namespace metaevo
