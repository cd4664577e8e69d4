#include "metaevo/run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
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

HoldoutReport evaluate_holdout(Executor& executor, const RunConfig& config, const Genome& best) {
  HoldoutReport report;
  report.task_count = config.evaluation.holdout_tasks;
  // Fresh tasks: a purpose of their own, so no search generation ever saw them. Both requests run
  // on workers like any evaluation: the master stays thin.
  const EvaluationKey key{config.run.seed, 0, StreamPurpose::holdout_task};
  const std::vector<EvaluationRequest> requests{{best, key, report.task_count, false},
                                                {best, key, report.task_count, true}};
  const Executor::Batch batch = executor.evaluate(requests);
  report.best_fitness = batch.results[0].fitness;
  report.default_fitness = batch.results[1].fitness;
  report.best_mean_final_loss = batch.results[0].mean_final_loss;
  report.default_mean_final_loss = batch.results[1].mean_final_loss;
  return report;
}

/// Turns a batch of evaluated genomes into the stored generation and its log line.
class GenerationRecorder {
 public:
  GenerationRecorder(const RunConfig& config, RunStore& store, const RunCallbacks& callbacks, RunSummary& summary)
      : config_(config), store_(store), callbacks_(callbacks), summary_(summary), start_(clock::now()),
        generation_start_(start_) {}

  void record(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results,
              const GeneticAlgorithm& ga) {
    GenerationRecord record;
    record.generation = static_cast<std::int64_t>(summary_.log.size());
    std::vector<double> fitness;
    fitness.reserve(results.size());
    for (const EvaluationResult& result : results) {
      fitness.push_back(result.fitness);
      record.diverged += result.diverged ? 1 : 0;
      record.failed += result.failed ? 1 : 0;
    }
    store_.append_generation(population, results);
    store_.write_best(*ga.best(), ga.best_fitness());
    store_.flush();

    const auto now = clock::now();
    record.best_fitness = *std::min_element(fitness.begin(), fitness.end());
    record.median_fitness = median_of(fitness);
    record.best_so_far = ga.best_fitness();
    record.elapsed_seconds = std::chrono::duration<double>(now - start_).count();
    const double generation_seconds = std::chrono::duration<double>(now - generation_start_).count();
    generation_start_ = now;
    record.evaluations_per_second =
        generation_seconds > 0.0 ? static_cast<double>(results.size()) / generation_seconds : 0.0;
    record.eta_seconds = record.elapsed_seconds / static_cast<double>(record.generation + 1) *
                         static_cast<double>(config_.run.generations - record.generation - 1);
    summary_.log.push_back(record);
    summary_.evaluations += static_cast<std::int64_t>(results.size());
    summary_.generations = record.generation + 1;
    if (callbacks_.on_generation) callbacks_.on_generation(record);
  }

  double elapsed_seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  const RunConfig& config_;
  RunStore& store_;
  const RunCallbacks& callbacks_;
  RunSummary& summary_;
  clock::time_point start_;
  clock::time_point generation_start_;
};

bool stop_requested(const RunCallbacks& callbacks) { return callbacks.should_stop && callbacks.should_stop(); }

void run_generational(const RunConfig& config, GeneticAlgorithm& ga, Executor& executor,
                      GenerationRecorder& recorder, const RunCallbacks& callbacks, RunSummary& summary) {
  std::vector<EvaluationRequest> requests;
  for (std::int64_t generation = 0; generation < config.run.generations; ++generation) {
    const std::vector<Genome>& population = ga.ask();
    requests.clear();
    for (const Genome& genome : population) {
      requests.push_back({genome, EvaluationKey{config.run.seed, generation, StreamPurpose::task_sample}});
    }
    const Executor::Batch batch = executor.evaluate(requests, callbacks.should_stop);
    if (!batch.complete()) {
      // Only whole generations enter the file: a partial one would break determinism on resume.
      summary.unrecorded_evaluations = batch.finished_count;
      summary.termination = Termination::interrupted;
      return;
    }
    std::vector<double> fitness;
    fitness.reserve(batch.results.size());
    for (const EvaluationResult& result : batch.results) fitness.push_back(result.fitness);
    // tell() replaces the population ask() returned, and the stored best must include this
    // generation, so the evaluated genomes are kept aside first.
    const std::vector<Genome> evaluated = population;
    ga.tell(fitness);
    recorder.record(evaluated, batch.results, ga);
    if (stop_requested(callbacks) && generation + 1 < config.run.generations) {
      summary.termination = Termination::interrupted;
      return;
    }
  }
  summary.termination = Termination::completed;
}

// Asynchronous: whenever a worker is free it gets the next genome (the initial population first,
// then offspring bred from whatever has been evaluated so far). Results are stored in batches of
// population_size in the order they arrive.
void run_steady_state(const RunConfig& config, GeneticAlgorithm& ga, Executor& executor,
                      GenerationRecorder& recorder, const RunCallbacks& callbacks, RunSummary& summary) {
  const std::int64_t population_size = config.ga.population_size;
  const std::int64_t total = config.run.generations * population_size;
  std::map<std::int64_t, Genome> in_flight;
  std::vector<Genome> batch_genomes;
  std::vector<EvaluationResult> batch_results;
  std::int64_t submitted = 0;
  bool stopping = false;
  while (true) {
    while (!stopping && submitted < total && executor.in_flight() < executor.capacity()) {
      if (stop_requested(callbacks)) {
        stopping = true;
        break;
      }
      Genome genome = submitted < population_size ? ga.ask()[static_cast<std::size_t>(submitted)]
                                                  : ga.breed_offspring(submitted - population_size);
      executor.submit(submitted, {genome, EvaluationKey{config.run.seed, genome.generation, StreamPurpose::task_sample}});
      in_flight.emplace(submitted, std::move(genome));
      ++submitted;
    }
    if (executor.in_flight() == 0) break;
    CompletedEvaluation done = executor.wait_any();
    auto node = in_flight.extract(done.ticket);
    ga.tell_offspring(node.mapped(), done.result.fitness);
    batch_genomes.push_back(std::move(node.mapped()));
    batch_results.push_back(std::move(done.result));
    if (static_cast<std::int64_t>(batch_genomes.size()) == population_size) {
      recorder.record(batch_genomes, batch_results, ga);
      batch_genomes.clear();
      batch_results.clear();
    }
  }
  summary.unrecorded_evaluations = static_cast<std::int64_t>(batch_genomes.size());
  summary.termination = stopping ? Termination::interrupted : Termination::completed;
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
  out << to_string(termination) << ": " << generations << " generations, "
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

std::string_view to_string(Termination termination) {
  switch (termination) {
    case Termination::not_run: return "not run";
    case Termination::completed: return "completed";
    case Termination::interrupted: return "interrupted";
  }
  return "unknown";
}

RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, Executor& executor,
                      const RunCallbacks& callbacks) {
  GeneticAlgorithm ga(config.search_space(), config.ga, config.run.seed);
  RunStore store = RunStore::create(output, config);
  RunSummary summary;
  GenerationRecorder recorder(config, store, callbacks, summary);

  if (config.run.mode == RunMode::generational) {
    run_generational(config, ga, executor, recorder, callbacks, summary);
  } else {
    run_steady_state(config, ga, executor, recorder, callbacks, summary);
  }

  if (ga.best()) {
    const Evaluator evaluator(config);
    summary.best = *ga.best();
    summary.best_fitness = ga.best_fitness();
    summary.best_hyperparameters = evaluator.hyperparameters_of(summary.best);
    if (summary.termination == Termination::completed && config.evaluation.holdout_tasks > 0) {
      summary.holdout = evaluate_holdout(executor, config, summary.best);
      store.write_holdout_report(*summary.holdout);
    }
  }
  store.flush();
  summary.wall_seconds = recorder.elapsed_seconds();
  return summary;
}

RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, const RunCallbacks& callbacks) {
  const Evaluator evaluator(config);
  InProcessExecutor executor(evaluator);
  return run_search(config, output, executor, callbacks);
}

}  // namespace metaevo
