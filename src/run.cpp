#include "metaevo/run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "metaevo/executor.hpp"
#include "metaevo/genetic_algorithm.hpp"
#include "metaevo/update_rule.hpp"

namespace metaevo {

namespace {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  if (n == 0) return 0.0;
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string format_seconds(double seconds) {
  char buffer[32];
  if (seconds < 60.0) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 3600.0) {
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", static_cast<int>(seconds / 60.0), static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", static_cast<int>(seconds / 3600.0),
                  static_cast<int>(seconds / 60.0) % 60);
  }
  return buffer;
}

HoldoutReport evaluate_holdout(const Evaluator& evaluator, const RunConfig& config, const ParameterSet& best) {
  HoldoutReport report;
  report.task_count = config.evaluation.holdout_tasks;
  // Fresh tasks: a purpose of their own, so no search generation ever saw them.
  const EvaluationKey key{config.run.seed, 0, StreamPurpose::holdout_task};
  ParameterSet defaults = default_hyperparameters(config.update_rule.family);
  for (const auto& [name, value] : config.update_rule.fixed) defaults[name] = value;
  const EvaluationResult best_result = evaluator.evaluate_parameters(best, key, report.task_count);
  const EvaluationResult default_result = evaluator.evaluate_parameters(defaults, key, report.task_count);
  report.best_fitness = best_result.fitness;
  report.default_fitness = default_result.fitness;
  report.best_mean_final_loss = best_result.mean_final_loss;
  report.default_mean_final_loss = default_result.mean_final_loss;
  return report;
}

}  // namespace

std::string format_generation_line(const GenerationRecord& record, std::int64_t total_generations) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "gen %4lld/%lld  best %9.4f  median %9.4f  best-so-far %9.4f  diverged %3d  failed %3d  "
                "%8.1f eval/s  elapsed %s  ETA %s",
                static_cast<long long>(record.generation + 1), static_cast<long long>(total_generations),
                record.best_fitness, record.median_fitness, record.best_so_far, record.diverged, record.failed,
                record.evaluations_per_second, format_seconds(record.elapsed_seconds).c_str(),
                format_seconds(record.eta_seconds).c_str());
  return buffer;
}

std::string RunSummary::brief_report() const {
  std::ostringstream out;
  out << (termination == Termination::completed ? "completed " : "not run: ") << generations << " generations, "
      << evaluations << " evaluations in " << format_seconds(wall_seconds) << "; best fitness " << best_fitness
      << " (genome " << best.id << ", generation " << best.generation << ")";
  return out.str();
}

std::string RunSummary::full_report() const {
  std::ostringstream out;
  out << brief_report() << "\n";
  out << "best hyperparameters:\n";
  for (const auto& [name, value] : best_hyperparameters) out << "  " << name << " = " << format_gene_value(value) << "\n";
  if (holdout) {
    char line[256];
    out << "on " << holdout->task_count << " fresh holdout tasks (fitness = mean log10 loss ratio, lower is better):\n";
    std::snprintf(line, sizeof line, "  best found : fitness %9.4f  mean final loss %.4g\n", holdout->best_fitness,
                  holdout->best_mean_final_loss);
    out << line;
    std::snprintf(line, sizeof line, "  defaults   : fitness %9.4f  mean final loss %.4g\n", holdout->default_fitness,
                  holdout->default_mean_final_loss);
    out << line;
    std::snprintf(line, sizeof line, "  best found / defaults, geometric mean of per-task final loss ratios: %.3g (10^%.3f)\n",
                  std::pow(10.0, holdout->best_fitness - holdout->default_fitness),
                  holdout->best_fitness - holdout->default_fitness);
    out << line;
  }
  return out.str();
}

RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, const RunCallbacks& callbacks) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  Evaluator evaluator(config);
  GeneticAlgorithm ga(config.search_space(), config.ga, config.run.seed);
  RunStore store = RunStore::create(output, config);
  InProcessExecutor executor(evaluator);

  RunSummary summary;
  std::vector<EvaluationRequest> requests;
  for (std::int64_t generation = 0; generation < config.run.generations; ++generation) {
    const auto generation_start = clock::now();
    const std::vector<Genome>& population = ga.ask();
    requests.clear();
    for (const Genome& genome : population) {
      requests.push_back({genome, EvaluationKey{config.run.seed, generation, StreamPurpose::task_sample}});
    }
    const std::vector<EvaluationResult> results = executor.evaluate(requests);

    GenerationRecord record;
    record.generation = generation;
    std::vector<double> fitness;
    fitness.reserve(results.size());
    for (const EvaluationResult& result : results) {
      fitness.push_back(result.fitness);
      record.diverged += result.diverged ? 1 : 0;
      record.failed += result.failed ? 1 : 0;
    }
    store.append_generation(population, results);
    ga.tell(fitness);
    store.write_best(*ga.best(), ga.best_fitness());
    store.flush();

    const auto now = clock::now();
    record.best_fitness = *std::min_element(fitness.begin(), fitness.end());
    record.median_fitness = median_of(fitness);
    record.best_so_far = ga.best_fitness();
    record.elapsed_seconds = std::chrono::duration<double>(now - start).count();
    const double generation_seconds = std::chrono::duration<double>(now - generation_start).count();
    record.evaluations_per_second = generation_seconds > 0.0 ? static_cast<double>(results.size()) / generation_seconds : 0.0;
    record.eta_seconds = record.elapsed_seconds / static_cast<double>(generation + 1) *
                         static_cast<double>(config.run.generations - generation - 1);
    summary.log.push_back(record);
    summary.evaluations += static_cast<std::int64_t>(results.size());
    if (callbacks.on_generation) callbacks.on_generation(record);
  }

  summary.termination = Termination::completed;
  summary.generations = config.run.generations;
  summary.best = *ga.best();
  summary.best_fitness = ga.best_fitness();
  summary.best_hyperparameters = evaluator.hyperparameters_of(summary.best);
  if (config.evaluation.holdout_tasks > 0) {
    summary.holdout = evaluate_holdout(evaluator, config, summary.best_hyperparameters);
    store.write_holdout_report(*summary.holdout);
  }
  store.flush();
  summary.wall_seconds = std::chrono::duration<double>(clock::now() - start).count();
  return summary;
}

}  // namespace metaevo
