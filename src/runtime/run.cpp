#include "metaevo/runtime/run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "metaevo/core/error.hpp"
#include "metaevo/core/progress.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/search/strategy_registry.hpp"
#include "search/strategy_detail.hpp"
#include "metaevo/rules/update_rule.hpp"

namespace metaevo {

namespace {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  if (n == 0) return 0.0;
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
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

/// The run's search strategy, built from its config (the same on every resume).
std::unique_ptr<SearchStrategy> make_strategy(const RunConfig& config) {
  return make_search_strategy(config.search.strategy, config.search_space(), config.strategy_options(), config.run.seed);
}

void load_strategy_state(SearchStrategy& strategy, const RunConfig& config, const Checkpoint& checkpoint,
                         const std::filesystem::path& file) {
  if (!checkpoint.strategy_state) return;  // killed before the first commit: starts from the seed
  try {
    strategy.load_state(*checkpoint.strategy_state);
  } catch (const Error& error) {
    throw StorageError("cannot resume run file '" + file.string() + "': " + error.what());
  }
  // Every completed generation told the strategy finite fitness values (a failed evaluation scores the
  // penalty), so it holds a best genome: a state without one would silently restart the search.
  if (checkpoint.completed_generations > 0 && !strategy.best()) {
    throw StorageError("cannot resume run file '" + file.string() + "': its checkpoint is at generation " +
                       std::to_string(checkpoint.completed_generations) +
                       " but the strategy state holds no evaluated genome (empty or damaged)");
  }
  // Steady state counts batches, not strategy generations; a generational run must agree.
  if (config.run.mode == RunMode::generational && strategy.generation() != checkpoint.completed_generations) {
    throw StorageError("cannot resume run file '" + file.string() + "': its checkpoint is at generation " +
                       std::to_string(checkpoint.completed_generations) + " but the strategy state at generation " +
                       std::to_string(strategy.generation()));
  }
}

/// One session of a run (the first, or one resume): stores generations, logs them, and decides when
/// to checkpoint.
class Session {
 public:
  Session(const RunConfig& config, RunStore& store, SearchStrategy& ga, Checkpoint& checkpoint,
          const RunCallbacks& callbacks, RunSummary& summary)
      : config_(config), store_(store), ga_(ga), checkpoint_(checkpoint), callbacks_(callbacks), summary_(summary),
        start_(clock::now()), generation_start_(start_), last_checkpoint_(start_),
        progress_(config.run.generations, store.completed_generations()) {}

  /// Stores one generation (or steady-state batch) of evaluated genomes, then checkpoints if due.
  /// `validation_fitness` (one per genome, NaN where not re-scored) is empty when validation is off.
  void record(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results,
              const std::vector<double>& validation_fitness = {}) {
    GenerationRecord record;
    record.generation = store_.completed_generations();
    record.session = checkpoint_.session;
    record.evaluations = static_cast<int>(results.size());
    for (const double value : validation_fitness) {
      if (std::isnan(value)) continue;
      if (std::isnan(record.generation_validation_best) || value < record.generation_validation_best) {
        record.generation_validation_best = value;
      }
    }
    std::vector<double> fitness;
    fitness.reserve(results.size());
    for (const EvaluationResult& result : results) {
      fitness.push_back(result.fitness);
      record.diverged += result.diverged ? 1 : 0;
      record.failed += result.failed ? 1 : 0;
    }
    store_.append_generation(population, results);
    store_.append_strategy_statistics(ga_.statistics());
    store_.append_evaluations(population, results, checkpoint_.session);
    if (!validation_fitness.empty()) store_.append_validation_fitness(validation_fitness);
    if (const auto& validated = checkpoint_.validated_best) {
      store_.write_best(validated->genome, validated->training_fitness, validated->validation_fitness);
    } else {
      store_.write_best(*ga_.best(), ga_.best_fitness());
    }

    const auto now = clock::now();
    record.best_fitness = *std::min_element(fitness.begin(), fitness.end());
    record.median_fitness = median_of(fitness);
    record.best_so_far = ga_.best_fitness();
    if (checkpoint_.validated_best) record.validation_best = checkpoint_.validated_best->validation_fitness;
    record.elapsed_seconds = checkpoint_.elapsed_seconds + seconds_since(last_checkpoint_);  // the checkpoint holds the time before it
    const double generation_seconds = std::chrono::duration<double>(now - generation_start_).count();
    generation_start_ = now;
    record.evaluations_per_second =
        generation_seconds > 0.0 ? static_cast<double>(results.size()) / generation_seconds : 0.0;
    progress_.set_done(record.generation + 1);
    record.eta_seconds = progress_.eta_seconds().value_or(0.0);
    summary_.log.push_back(record);
    summary_.evaluations += static_cast<std::int64_t>(results.size());
    summary_.generations = record.generation + 1;

    const CheckpointOptions& every = config_.checkpoint;
    const bool by_count = every.every_generations > 0 && (record.generation + 1) % every.every_generations == 0;
    const bool by_time = every.every_seconds > 0.0 && seconds_since(last_checkpoint_) >= every.every_seconds;
    if (by_count || by_time) write_checkpoint();
    if (callbacks_.on_generation) callbacks_.on_generation(record);
  }

  /// Logs evaluations that finished but belong to no stored generation (a stop mid-generation).
  void record_unfinished(const std::vector<Genome>& genomes, const std::vector<EvaluationResult>& results) {
    if (genomes.empty()) return;
    store_.append_evaluations(genomes, results, checkpoint_.session);
    summary_.unrecorded_evaluations = static_cast<std::int64_t>(genomes.size());
  }

  void write_checkpoint() {
    checkpoint_.completed_generations = store_.completed_generations();
    checkpoint_.elapsed_seconds += seconds_since(last_checkpoint_);
    checkpoint_.strategy_state = ga_.save_state();
    store_.commit(checkpoint_);
    last_checkpoint_ = clock::now();
  }

  double elapsed_seconds() const { return seconds_since(start_); }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds_since(clock::time_point then) {
    return std::chrono::duration<double>(clock::now() - then).count();
  }

  const RunConfig& config_;
  RunStore& store_;
  SearchStrategy& ga_;
  Checkpoint& checkpoint_;
  const RunCallbacks& callbacks_;
  RunSummary& summary_;
  clock::time_point start_;
  clock::time_point generation_start_;
  clock::time_point last_checkpoint_;
  ProgressMeter progress_;  // generations of this session: the ETA is at this session's pace
};

bool stop_requested(const RunCallbacks& callbacks) { return callbacks.should_stop && callbacks.should_stop(); }

bool validation_enabled(const RunConfig& config) {
  return config.evaluation.validation_tasks > 0 && !config.objective && config.run.mode == RunMode::generational;
}

/// Re-scores the generation's best candidates (by training fitness, ties to the lower index) on the
/// fixed validation task set. Returns one value per genome (NaN where not re-scored), or nothing when
/// a stop interrupted it.
std::optional<std::vector<double>> validate_generation(const RunConfig& config, const std::vector<Genome>& population,
                                                       const std::vector<EvaluationResult>& results,
                                                       Executor& executor, const RunCallbacks& callbacks) {
  std::vector<double> fitness;
  for (const EvaluationResult& result : results) fitness.push_back(result.fitness);
  std::vector<int> order = strategy_detail::ranking(strategy_detail::sanitized(fitness));
  order.resize(std::min(order.size(), static_cast<std::size_t>(config.evaluation.validation_candidates)));

  // Generation 0 of its own purpose: the same tasks for every generation and candidate. Each
  // candidate's tasks go out in pieces of tasks_per_evaluation, so idle workers share them.
  const EvaluationKey key{config.run.seed, 0, StreamPurpose::validation_task};
  const int total = config.evaluation.validation_tasks;
  const int piece = config.evaluation.tasks_per_evaluation;
  std::vector<EvaluationRequest> requests;
  std::vector<std::size_t> candidate_of_request;
  for (std::size_t c = 0; c < order.size(); ++c) {
    for (int first = 0; first < total; first += piece) {
      requests.push_back({population[static_cast<std::size_t>(order[c])], key, total, false, first,
                          std::min(piece, total - first)});
      candidate_of_request.push_back(c);
    }
  }
  const Executor::Batch batch = executor.evaluate(requests, callbacks.should_stop);
  if (!batch.complete()) return std::nullopt;

  // The mean over all validation tasks: pieces weighted by their task count, summed in request
  // order (fixed, so the value does not depend on which worker ran what). A failed piece fails it.
  std::vector<double> sums(order.size(), 0.0);
  std::vector<bool> failed(order.size(), false);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    const std::size_t c = candidate_of_request[r];
    failed[c] = failed[c] || batch.results[r].failed;
    sums[c] += batch.results[r].fitness * requests[r].task_span;
  }
  std::vector<double> validation(population.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t c = 0; c < order.size(); ++c) {
    validation[static_cast<std::size_t>(order[c])] = failed[c] ? config.evaluation.penalty_fitness : sums[c] / total;
  }
  return validation;
}

/// Keeps the best by validation fitness; in genome order, strictly better replaces, so an earlier
/// genome keeps its place on a tie.
void update_validated_best(Checkpoint& checkpoint, const std::vector<Genome>& population,
                           const std::vector<EvaluationResult>& results, const std::vector<double>& validation) {
  std::optional<std::size_t> winner;
  double winner_score = checkpoint.validated_best ? checkpoint.validated_best->validation_fitness
                                                  : std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < validation.size(); ++i) {
    if (std::isfinite(validation[i]) && validation[i] < winner_score) {
      winner = i;
      winner_score = validation[i];
    }
  }
  if (winner) checkpoint.validated_best = ValidatedBest{population[*winner], winner_score, results[*winner].fitness};
}

Termination run_generational(const RunConfig& config, SearchStrategy& ga, RunStore& store, Executor& executor,
                             Session& session, Checkpoint& checkpoint, const RunCallbacks& callbacks) {
  std::vector<EvaluationRequest> requests;
  for (std::int64_t generation = store.completed_generations(); generation < config.run.generations; ++generation) {
    if (stop_requested(callbacks)) return Termination::interrupted;
    // tell() replaces the population ask() returns, so the evaluated genomes are kept aside.
    const std::vector<Genome> population = ga.ask();
    requests.clear();
    for (const Genome& genome : population) {
      requests.push_back({genome, EvaluationKey{config.run.seed, generation, StreamPurpose::task_sample}});
    }
    const Executor::Batch batch = executor.evaluate(requests, callbacks.should_stop);
    if (!batch.complete()) {
      // Only whole generations enter /generations and the checkpoint: a partial one would break
      // determinism on resume. What finished is kept in the evaluation log.
      std::vector<Genome> finished_genomes;
      std::vector<EvaluationResult> finished_results;
      for (std::size_t i = 0; i < population.size(); ++i) {
        if (!batch.finished[i]) continue;
        finished_genomes.push_back(population[i]);
        finished_results.push_back(batch.results[i]);
      }
      session.record_unfinished(finished_genomes, finished_results);
      return Termination::interrupted;
    }
    std::vector<double> validation;
    if (validation_enabled(config)) {
      std::optional<std::vector<double>> scores =
          validate_generation(config, population, batch.results, executor, callbacks);
      if (!scores) {  // a stop: the generation is incomplete and is evaluated again after a resume
        session.record_unfinished(population, batch.results);
        return Termination::interrupted;
      }
      validation = std::move(*scores);
      update_validated_best(checkpoint, population, batch.results, validation);
    }
    std::vector<double> fitness;
    fitness.reserve(batch.results.size());
    for (const EvaluationResult& result : batch.results) fitness.push_back(result.fitness);
    ga.tell(fitness);
    session.record(population, batch.results, validation);
  }
  return Termination::completed;
}

// Asynchronous: whenever a worker is free it gets the next genome (the initial population first,
// then offspring bred from whatever has been evaluated so far). Results are stored in batches of
// population_size in the order they arrive. Evaluations in flight at a checkpoint are not in it: a
// resume breeds new offspring in their place.
Termination run_steady_state(const RunConfig& config, GeneticAlgorithm& ga, RunStore& store, Executor& executor,
                             Session& session, Checkpoint& checkpoint, const RunCallbacks& callbacks) {
  const std::int64_t population_size = config.population_size();
  const std::int64_t total = config.run.generations * population_size;
  std::map<std::int64_t, Genome> in_flight;
  std::vector<Genome> batch_genomes;
  std::vector<EvaluationResult> batch_results;
  bool stopping = false;
  auto accounted = [&] {
    return store.completed_generations() * population_size + static_cast<std::int64_t>(batch_genomes.size()) +
           static_cast<std::int64_t>(in_flight.size());
  };
  while (true) {
    while (!stopping && accounted() < total && executor.in_flight() < executor.capacity()) {
      if (stop_requested(callbacks)) {
        stopping = true;
        break;
      }
      const std::int64_t index = checkpoint.submitted_evaluations++;
      Genome genome = index < population_size ? ga.ask()[static_cast<std::size_t>(index)]
                                              : ga.breed_offspring(index - population_size);
      executor.submit(index, {genome, EvaluationKey{config.run.seed, genome.generation, StreamPurpose::task_sample}});
      in_flight.emplace(index, std::move(genome));
    }
    if (executor.in_flight() == 0) break;
    CompletedEvaluation done = executor.wait_any();
    auto node = in_flight.extract(done.ticket);
    ga.tell_offspring(node.mapped(), done.result.fitness);
    batch_genomes.push_back(std::move(node.mapped()));
    batch_results.push_back(std::move(done.result));
    if (static_cast<std::int64_t>(batch_genomes.size()) == population_size) {
      session.record(batch_genomes, batch_results);
      batch_genomes.clear();
      batch_results.clear();
    }
  }
  session.record_unfinished(batch_genomes, batch_results);
  return stopping ? Termination::interrupted : Termination::completed;
}

/// Runs generations until the configured total or a stop, then checkpoints and reports.
RunSummary continue_search(const RunConfig& config, RunStore& store, SearchStrategy& ga, Checkpoint& checkpoint,
                           Executor& executor, const RunCallbacks& callbacks) {
  RunSummary summary;
  summary.generations = store.completed_generations();
  Session session(config, store, ga, checkpoint, callbacks, summary);
  summary.termination = config.run.mode == RunMode::generational
                            ? run_generational(config, ga, store, executor, session, checkpoint, callbacks)
                            : run_steady_state(config, dynamic_cast<GeneticAlgorithm&>(ga), store, executor, session,
                                               checkpoint, callbacks);
  if (ga.best()) {
    const Evaluator evaluator(config);
    summary.best = *ga.best();
    summary.best_fitness = ga.best_fitness();
    if (checkpoint.validated_best) {
      summary.best = checkpoint.validated_best->genome;
      summary.best_fitness = checkpoint.validated_best->training_fitness;
      summary.best_validation_fitness = checkpoint.validated_best->validation_fitness;
    }
    summary.best_hyperparameters = evaluator.hyperparameters_of(summary.best);
    // An [objective] has no tasks to hold out, and no defaults to compare with.
    if (summary.termination == Termination::completed && config.evaluation.holdout_tasks > 0 && !config.objective) {
      summary.holdout = evaluate_holdout(executor, config, summary.best);
      store.write_holdout_report(*summary.holdout);
    }
  }
  session.write_checkpoint();  // at the end and at a stop: the file is complete and resumable
  summary.wall_seconds = session.elapsed_seconds();
  return summary;
}

}  // namespace

std::string format_generation_line(const GenerationRecord& record, std::int64_t total_generations) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "gen %4lld/%lld  best %9.4f  median %9.4f  best-so-far %9.4f  diverged %3d  failed %3d  "
                "%8.1f eval/s  elapsed %s  ETA %s",
                static_cast<long long>(record.generation + 1), static_cast<long long>(total_generations),
                record.best_fitness, record.median_fitness, record.best_so_far, record.diverged, record.failed,
                record.evaluations_per_second, format_duration(record.elapsed_seconds).c_str(),
                format_duration(record.eta_seconds).c_str());
  std::string line = buffer;
  if (!std::isnan(record.validation_best)) {
    std::snprintf(buffer, sizeof buffer, "  validated best %9.4f", record.validation_best);
    line += buffer;
  }
  return line;
}

std::string RunSummary::brief_report() const {
  std::ostringstream out;
  out << to_string(termination) << ": " << generations << " generations, "
      << evaluations << " evaluations in " << format_duration(wall_seconds) << "; best fitness " << best_fitness
      << " (genome " << best.id << ", generation " << best.generation;
  if (best_validation_fitness) out << ", validation fitness " << *best_validation_fitness;
  out << ")";
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
  const std::unique_ptr<SearchStrategy> strategy = make_strategy(config);
  RunStore store = RunStore::create(output, config);
  Checkpoint checkpoint;
  checkpoint.strategy_state = strategy->save_state();
  store.commit(checkpoint);  // resumable from the start: a kill before generation 1 loses nothing
  return continue_search(config, store, *strategy, checkpoint, executor, callbacks);
}

RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, const RunCallbacks& callbacks) {
  const Evaluator evaluator(config);
  InProcessExecutor executor(evaluator);
  return run_search(config, output, executor, callbacks);
}

ResumePlan plan_resume(const std::filesystem::path& run_file, std::optional<std::int64_t> generations) {
  ResumePlan plan{RunStore::resume(run_file), {}};
  RunConfig& config = plan.run.config;
  const std::int64_t done = plan.run.checkpoint.completed_generations;
  if (generations) {
    if (*generations < done) {
      throw ConfigError("--generations " + std::to_string(*generations) + " is below the " + std::to_string(done) +
                        " generations '" + run_file.string() + "' already holds");
    }
    config.run.generations = *generations;
  }
  plan.remaining_generations = std::max<std::int64_t>(0, config.run.generations - done);
  return plan;
}

RunSummary resume_search(ResumePlan& plan, Executor& executor, const RunCallbacks& callbacks) {
  ResumedRun& run = plan.run;
  const RunConfig& config = run.config;
  const std::unique_ptr<SearchStrategy> strategy = make_strategy(config);
  load_strategy_state(*strategy, config, run.checkpoint, run.store.path());
  ++run.checkpoint.session;
  run.store.set_configured_generations(config.run.generations);
  return continue_search(config, run.store, *strategy, run.checkpoint, executor, callbacks);
}

RunSummary resume_search(ResumePlan& plan, const RunCallbacks& callbacks) {
  const Evaluator evaluator(plan.run.config);
  InProcessExecutor executor(evaluator);
  return resume_search(plan, executor, callbacks);
}

}  // namespace metaevo
