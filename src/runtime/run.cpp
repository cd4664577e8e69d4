#include "metaevo/runtime/run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "metaevo/core/error.hpp"
#include "metaevo/core/progress.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/runtime/island.hpp"
#include "metaevo/runtime/island_cluster.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/search/strategy_registry.hpp"
#include "runtime/store_thread.hpp"
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

void check_strategy_generation(const SearchStrategy& strategy, const RunConfig& config, const Checkpoint& checkpoint,
                               const std::filesystem::path& file) {
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

void load_strategy_state(SearchStrategy& strategy, const RunConfig& config, const Checkpoint& checkpoint,
                         const std::filesystem::path& file) {
  if (!checkpoint.strategy_state) return;  // killed before the first commit: starts from the seed
  try {
    strategy.load_state(*checkpoint.strategy_state);
  } catch (const Error& error) {
    throw StorageError("cannot resume run file '" + file.string() + "': " + error.what());
  }
  check_strategy_generation(strategy, config, checkpoint, file);
}

/// What a session reads of the search after each stored generation: one strategy, or the islands'
/// latest reports.
class SearchView {
 public:
  virtual ~SearchView() = default;
  virtual StrategyStatistics statistics() const = 0;
  virtual const std::optional<Genome>& best() const = 0;
  virtual double best_fitness() const = 0;
  /// Puts the strategy state(s) of the last stored generation into the checkpoint.
  virtual void save(Checkpoint& checkpoint) const = 0;
  /// Each island's best fitness so far, in island order; empty with one population.
  virtual std::vector<double> island_best_fitness() const { return {}; }
};

class StrategyView final : public SearchView {
 public:
  explicit StrategyView(const SearchStrategy& strategy) : strategy_(strategy) {}
  StrategyStatistics statistics() const override { return strategy_.statistics(); }
  const std::optional<Genome>& best() const override { return strategy_.best(); }
  double best_fitness() const override { return strategy_.best_fitness(); }
  void save(Checkpoint& checkpoint) const override { checkpoint.strategy_state = strategy_.save_state(); }

 private:
  const SearchStrategy& strategy_;
};

/// The islands as of the last generation stored: their states, statistics and the best over all.
class IslandsView final : public SearchView {
 public:
  /// From a checkpoint's island states (each checked to be at the checkpoint's generation).
  IslandsView(const RunConfig& config, const Checkpoint& checkpoint, const std::filesystem::path& file)
      : states_(checkpoint.island_states) {
    for (int index = 0; index < config.islands.count; ++index) {
      Island island(config, index);
      try {
        island.strategy().load_state(states_.at(static_cast<std::size_t>(index)));
      } catch (const Error& error) {
        throw StorageError("cannot resume run file '" + file.string() + "': island " + std::to_string(index) + ": " +
                           error.what());
      }
      check_strategy_generation(island.strategy(), config, checkpoint, file);
      consider(island.strategy().best(), island.strategy().best_fitness());
      island_best_fitness_.push_back(island.strategy().best_fitness());
    }
  }

  /// After generation g is stored: every island's report and state of g, in island order.
  void update(const std::vector<IslandGeneration>& reports, std::vector<StrategyState> states) {
    statistics_.clear();
    for (const IslandGeneration& report : reports) {
      for (const auto& [name, value] : report.statistics) {
        statistics_.emplace_back(name + "_island" + std::to_string(report.island), value);
      }
      consider(report.best, report.best_fitness);
      island_best_fitness_.at(static_cast<std::size_t>(report.island)) = report.best_fitness;
    }
    states_ = std::move(states);
  }

  StrategyStatistics statistics() const override { return statistics_; }
  const std::optional<Genome>& best() const override { return best_; }
  double best_fitness() const override { return best_fitness_; }
  void save(Checkpoint& checkpoint) const override { checkpoint.island_states = states_; }
  std::vector<double> island_best_fitness() const override { return island_best_fitness_; }

 private:
  // Strictly better replaces: on a tie the lower island (seen first) keeps it.
  void consider(const std::optional<Genome>& genome, double fitness) {
    if (genome && (!best_ || fitness < best_fitness_)) {
      best_ = genome;
      best_fitness_ = fitness;
    }
  }

  std::vector<StrategyState> states_;
  StrategyStatistics statistics_;
  std::optional<Genome> best_;
  double best_fitness_ = std::numeric_limits<double>::infinity();
  std::vector<double> island_best_fitness_;
};

/// A search as it was when taken: what a store thread reads while the strategy moves on.
class FrozenView final : public SearchView {
 public:
  explicit FrozenView(const SearchView& live)
      : statistics_(live.statistics()), best_(live.best()), best_fitness_(live.best_fitness()),
        island_best_fitness_(live.island_best_fitness()) {
    live.save(states_);
  }
  std::vector<double> island_best_fitness() const override { return island_best_fitness_; }
  StrategyStatistics statistics() const override { return statistics_; }
  const std::optional<Genome>& best() const override { return best_; }
  double best_fitness() const override { return best_fitness_; }
  void save(Checkpoint& checkpoint) const override {
    if (states_.strategy_state) checkpoint.strategy_state = states_.strategy_state;
    if (!states_.island_states.empty()) checkpoint.island_states = states_.island_states;
  }

 private:
  StrategyStatistics statistics_;
  std::optional<Genome> best_;
  double best_fitness_;
  std::vector<double> island_best_fitness_;
  Checkpoint states_;  // only its strategy state(s)
};

/// The figures of a record that come from results [first, first + count) of a generation's row:
/// evaluations, failures, divergences, best, median and best validation fitness.
void fill_generation_figures(GenerationRecord& record, const std::vector<EvaluationResult>& results,
                             const std::vector<double>& validation_fitness, std::size_t first, std::size_t count) {
  record.evaluations = static_cast<int>(count);
  std::vector<double> fitness;
  fitness.reserve(count);
  for (std::size_t i = first; i < first + count; ++i) {
    fitness.push_back(results[i].fitness);
    record.diverged += results[i].diverged ? 1 : 0;
    record.failed += results[i].failed ? 1 : 0;
    if (i >= validation_fitness.size() || std::isnan(validation_fitness[i])) continue;
    if (std::isnan(record.generation_validation_best) || validation_fitness[i] < record.generation_validation_best) {
      record.generation_validation_best = validation_fitness[i];
    }
  }
  record.best_fitness = *std::min_element(fitness.begin(), fitness.end());
  record.median_fitness = median_of(fitness);
}

/// One session of a run (the first, or one resume): stores generations, logs them, and decides when
/// to checkpoint.
class Session {
 public:
  Session(const RunConfig& config, RunStore& store, const SearchView& search, Checkpoint& checkpoint,
          const RunCallbacks& callbacks, RunSummary& summary)
      : config_(config), store_(store), search_(search), checkpoint_(checkpoint), callbacks_(callbacks),
        summary_(summary), start_(clock::now()), generation_start_(start_), last_checkpoint_(start_),
        progress_(config.run.generations, store.completed_generations()) {}

  /// Stores one generation (or steady-state batch) of evaluated genomes, then checkpoints if due.
  /// `validation_fitness` (one per genome, NaN where not re-scored) is empty when validation is off.
  void record(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results,
              const std::vector<double>& validation_fitness = {}) {
    report(store_generation(population, results, validation_fitness, search_));
  }

  /// record() without the on_generation callback, reading the search through `search`: what a
  /// store thread runs (the caller then reports on its own thread).
  GenerationRecord store_generation(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results,
                                    const std::vector<double>& validation_fitness, const SearchView& search) {
    GenerationRecord record;
    record.generation = store_.completed_generations();
    record.session = checkpoint_.session;
    record.island = config_.islands.count > 1 ? -1 : 0;  // with islands, a record is the whole row
    fill_generation_figures(record, results, validation_fitness, 0, results.size());
    store_.append_generation(population, results);
    store_.append_strategy_statistics(search.statistics());
    store_.append_evaluations(population, results, checkpoint_.session);
    if (!validation_fitness.empty()) store_.append_validation_fitness(validation_fitness);
    if (const auto& validated = checkpoint_.validated_best) {
      store_.write_best(validated->genome, validated->training_fitness, validated->validation_fitness);
    } else {
      store_.write_best(*search.best(), search.best_fitness());
    }

    const auto now = clock::now();
    record.best_so_far = search.best_fitness();
    if (checkpoint_.validated_best) record.validation_best = checkpoint_.validated_best->validation_fitness;
    record.elapsed_seconds = checkpoint_.elapsed_seconds + seconds_since(last_checkpoint_);  // the checkpoint holds the time before it
    const double generation_seconds = std::chrono::duration<double>(now - generation_start_).count();
    generation_start_ = now;
    record.evaluations_per_second =
        generation_seconds > 0.0 ? static_cast<double>(results.size()) / generation_seconds : 0.0;
    progress_.set_done(record.generation + 1);
    record.eta_seconds = progress_.eta_seconds().value_or(0.0);
    const std::vector<double> island_best = search.island_best_fitness();
    const std::size_t island_size = island_best.empty() ? 0 : results.size() / island_best.size();
    for (std::size_t island = 0; island < island_best.size(); ++island) {
      GenerationRecord part;
      part.generation = record.generation;
      part.island = static_cast<int>(island);
      part.session = record.session;
      fill_generation_figures(part, results, validation_fitness, island * island_size, island_size);
      part.best_so_far = island_best[island];
      part.validation_best = record.validation_best;
      part.evaluations_per_second = record.evaluations_per_second / static_cast<double>(island_best.size());
      part.elapsed_seconds = record.elapsed_seconds;
      part.eta_seconds = record.eta_seconds;
      record.islands.push_back(std::move(part));
    }
    summary_.log.push_back(record);
    summary_.evaluations += static_cast<std::int64_t>(results.size());
    summary_.generations = record.generation + 1;

    const CheckpointOptions& every = config_.checkpoint;
    const bool by_count = every.every_generations > 0 && (record.generation + 1) % every.every_generations == 0;
    const bool by_time = every.every_seconds > 0.0 && seconds_since(last_checkpoint_) >= every.every_seconds;
    if (by_count || by_time) write_checkpoint(search);
    return record;
  }

  void report(const GenerationRecord& record) const {
    if (callbacks_.on_generation) callbacks_.on_generation(record);
  }

  /// Logs evaluations that finished but belong to no stored generation (a stop mid-generation).
  void record_unfinished(const std::vector<Genome>& genomes, const std::vector<EvaluationResult>& results) {
    if (genomes.empty()) return;
    store_.append_evaluations(genomes, results, checkpoint_.session);
    summary_.unrecorded_evaluations += static_cast<std::int64_t>(genomes.size());
  }

  void write_checkpoint() { write_checkpoint(search_); }
  void write_checkpoint(const SearchView& search) {
    checkpoint_.completed_generations = store_.completed_generations();
    checkpoint_.elapsed_seconds += seconds_since(last_checkpoint_);
    search.save(checkpoint_);
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
  const SearchView& search_;
  Checkpoint& checkpoint_;
  const RunCallbacks& callbacks_;
  RunSummary& summary_;
  clock::time_point start_;
  clock::time_point generation_start_;
  clock::time_point last_checkpoint_;
  ProgressMeter progress_;  // generations of this session: the ETA is at this session's pace
};

bool stop_requested(const RunCallbacks& callbacks) { return callbacks.should_stop && callbacks.should_stop(); }

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

// Generation g is stored (and checkpointed when due) while later evaluations run, so the workers do
// not wait for the store; and g's validation (when on) goes out in the same batch as g + 1's
// evaluations, so it is no barrier of its own. g is then stored while g + 2 runs (without
// validation: while g + 1 runs), from a view of the strategy frozen right after g was told. What is
// stored is what the plain order stores: tell() does not use validation, and every piece is keyed.
// With the evaluations in other processes the store runs on a thread of its own (the master keeps
// answering workers while HDF5 writes and fsyncs); in process it runs inline (one core does both
// anyway, and HDF5 may be in use by an evaluation). A stop before g's validation finished drops g
// (a resume evaluates it again, to the same bits): the strategy goes back to the last stored
// generation's state, which the final checkpoint then holds. (g's validation goes out first in the
// batch, so a stop in the middle of g + 1 usually finds it done, and g is stored.)
Termination run_generational(const RunConfig& config, Island& island, RunStore& store, Executor& executor,
                             Session& session, Checkpoint& checkpoint, const RunCallbacks& callbacks,
                             const SearchView& live) {
  struct Told {
    IslandGeneration report;
    FrozenView view;
    std::optional<ValidationRequests> validation;  // to be carried by the next batch
  };
  const bool store_thread = !executor.runs_in_this_process();
  const bool validating = validation_enabled(config);
  // The state a stop goes back to while a generation awaits its validation: this session's start,
  // then each stored generation's.
  const std::optional<StrategyState> start_state =
      validating ? std::optional<StrategyState>(island.strategy().save_state()) : std::nullopt;
  std::optional<Told> awaiting;  // told, its validation not yet evaluated
  std::optional<Told> unstored;  // complete, not yet stored
  std::optional<Told> stored;    // the last handed to the store (a store thread reads it)
  std::future<GenerationRecord> storing;
  auto store_previous = [&] {
    if (!unstored) return;
    stored = std::move(unstored);
    unstored.reset();
    const Told& generation = *stored;
    if (store_thread) {
      storing = std::async(std::launch::async, [&session, &generation] {
        return session.store_generation(generation.report.population, generation.report.results,
                                        generation.report.validation, generation.view);
      });
    } else {
      session.report(session.store_generation(generation.report.population, generation.report.results,
                                              generation.report.validation, generation.view));
    }
  };
  auto finish_storing = [&] {
    if (storing.valid()) session.report(storing.get());
  };
  // After the store is done: what was not stored goes to the evaluation log.
  auto interrupted = [&](const Island::Stopped& unfinished) {
    if (awaiting) {
      session.record_unfinished(awaiting->report.population, awaiting->report.results);
      Checkpoint states;
      if (stored) stored->view.save(states);
      island.strategy().load_state(stored ? *states.strategy_state : *start_state);
    }
    session.record_unfinished(unfinished.genomes, unfinished.results);
    return Termination::interrupted;
  };
  // `awaiting`'s validation results arrived: it is complete.
  auto validated = [&](const std::vector<EvaluationResult>& results) {
    awaiting->report.validation = awaiting->validation->scores(results);
    update_validated_best(checkpoint, awaiting->report.population, awaiting->report.results, awaiting->report.validation);
    unstored = std::move(awaiting);
    awaiting.reset();
  };
  for (std::int64_t generation = store.completed_generations(); generation < config.run.generations; ++generation) {
    if (stop_requested(callbacks)) {
      store_previous();
      finish_storing();
      return interrupted({});
    }
    Island::Stopped unfinished;
    std::vector<EvaluationResult> carried_results;
    std::optional<ValidationRequests> deferred;
    std::optional<IslandGeneration> report = island.run_generation_carrying(
        executor, callbacks.should_stop, unfinished, store_previous,
        awaiting ? awaiting->validation->requests() : std::vector<EvaluationRequest>{}, carried_results, deferred);
    store_previous();  // when the evaluations could not start
    finish_storing();
    if (awaiting && carried_results.size() == awaiting->validation->requests().size()) validated(carried_results);
    if (!report) {
      store_previous();  // the previous generation, if its validation finished before the stop
      finish_storing();
      return interrupted(unfinished);
    }
    Told told{std::move(*report), FrozenView(live), std::move(deferred)};
    if (told.validation) {
      awaiting = std::move(told);
    } else {
      unstored = std::move(told);
    }
  }
  if (awaiting) {  // the last generation's validation, alone
    const Executor::Batch batch = executor.evaluate(awaiting->validation->requests(), callbacks.should_stop, store_previous);
    store_previous();
    finish_storing();
    if (!batch.complete()) return interrupted({});
    validated(batch.results);
  }
  store_previous();
  finish_storing();
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

/// The recorder of an island run: starts the islands, routes migrants as soon as their source
/// reports, and stores generation g (all islands, in island order) once every island has reported
/// it and its state after migration. A stop (a signal, or any island stopping) stops them all; the
/// checkpoint then holds the last generation every island completed.
Termination run_islands(const RunConfig& config, IslandCluster& cluster, IslandsView& view, RunStore& store,
                        Session& session, Checkpoint& checkpoint, const RunCallbacks& callbacks) {
  const auto count = static_cast<std::size_t>(config.islands.count);
  std::int64_t next_to_store = store.completed_generations();
  cluster.start(next_to_store, config.run.generations, checkpoint.island_states);
  std::vector<std::map<std::int64_t, IslandGeneration>> reports(count);
  std::vector<std::map<std::int64_t, StrategyState>> states(count);
  std::size_t running = count;
  bool stopping = false;
  bool all_finished = true;
  // From here to drain(), only store_work's thread touches the store, session, view and checkpoint.
  StoreThread store_work(!cluster.evaluates_in_this_process());
  auto report_stored = [&](std::vector<GenerationRecord> records) {
    for (const GenerationRecord& record : records) session.report(record);
  };
  auto stop_all = [&] {
    if (stopping) return;
    stopping = true;
    cluster.stop();
  };
  auto store_complete_generations = [&] {
    while (true) {
      for (std::size_t i = 0; i < count; ++i) {
        if (reports[i].count(next_to_store) == 0 || states[i].count(next_to_store) == 0) return;
      }
      std::vector<IslandGeneration> generation_reports;
      std::vector<StrategyState> generation_states;
      std::vector<Genome> population;
      std::vector<EvaluationResult> results;
      std::vector<double> validation;
      for (std::size_t i = 0; i < count; ++i) {
        generation_reports.push_back(std::move(reports[i].extract(next_to_store).mapped()));
        generation_states.push_back(std::move(states[i].extract(next_to_store).mapped()));
        const IslandGeneration& report = generation_reports.back();
        population.insert(population.end(), report.population.begin(), report.population.end());
        results.insert(results.end(), report.results.begin(), report.results.end());
        validation.insert(validation.end(), report.validation.begin(), report.validation.end());
      }
      store_work.post([&session, &view, &checkpoint, reports = std::move(generation_reports),
                       states = std::move(generation_states), population = std::move(population),
                       results = std::move(results), validation = std::move(validation)]() mutable {
        if (!validation.empty()) update_validated_best(checkpoint, population, results, validation);
        view.update(reports, std::move(states));
        return std::optional<GenerationRecord>(session.store_generation(population, results, validation, view));
      });
      ++next_to_store;
    }
  };
  auto record_unfinished = [&](std::vector<Genome> genomes, std::vector<EvaluationResult> results) {
    store_work.post([&session, genomes = std::move(genomes), results = std::move(results)] {
      session.record_unfinished(genomes, results);
      return std::optional<GenerationRecord>();
    });
  };

  while (running > 0) {
    if (stop_requested(callbacks)) stop_all();
    IslandEvent event = cluster.next();
    const auto island = static_cast<std::size_t>(event.island);
    switch (event.kind) {
      case IslandEvent::Kind::generation:
        if (migration_due(config.islands, event.generation, config.run.generations)) {
          cluster.send_migrants(migration_target(config.islands, event.island), event.generation,
                                select_migrants(event.report, config.islands.migration_size));
        }
        reports[island].emplace(event.generation, std::move(event.report));
        break;
      case IslandEvent::Kind::state:
        states[island].emplace(event.generation, std::move(event.state));
        store_complete_generations();
        break;
      case IslandEvent::Kind::stopped:
        --running;
        all_finished = false;
        record_unfinished(std::move(event.unfinished.genomes), std::move(event.unfinished.results));
        if (config.islands.migration_size > 0) cluster.abort_migration(migration_target(config.islands, event.island));
        stop_all();
        break;
      case IslandEvent::Kind::finished:
        --running;
        break;
    }
    report_stored(store_work.finished());
  }
  // Generations some islands completed but not all: only in the evaluation log.
  for (auto& island_reports : reports) {
    for (auto& [generation, report] : island_reports) {
      record_unfinished(std::move(report.population), std::move(report.results));
    }
  }
  report_stored(store_work.drain());
  return all_finished && !stopping ? Termination::completed : Termination::interrupted;
}

/// Runs generations until the configured total or a stop, then reports and checkpoints. `loop` runs
/// the generations; `final_executor` runs the holdout report.
RunSummary continue_search(const RunConfig& config, RunStore& store, const SearchView& search, Checkpoint& checkpoint,
                           const RunCallbacks& callbacks, const std::function<Termination(Session&)>& loop,
                           const std::function<Executor&()>& final_executor) {
  RunSummary summary;
  summary.generations = store.completed_generations();
  Session session(config, store, search, checkpoint, callbacks, summary);
  summary.termination = loop(session);
  if (search.best()) {
    const Evaluator evaluator(config);
    summary.best = *search.best();
    summary.best_fitness = search.best_fitness();
    if (checkpoint.validated_best) {
      summary.best = checkpoint.validated_best->genome;
      summary.best_fitness = checkpoint.validated_best->training_fitness;
      summary.best_validation_fitness = checkpoint.validated_best->validation_fitness;
    }
    summary.best_hyperparameters = evaluator.hyperparameters_of(summary.best);
    // An [objective] has no tasks to hold out, and no defaults to compare with.
    if (summary.termination == Termination::completed && config.evaluation.holdout_tasks > 0 && !config.objective) {
      summary.holdout = evaluate_holdout(final_executor(), config, summary.best);
      store.write_holdout_report(*summary.holdout);
    }
  }
  session.write_checkpoint();  // at the end and at a stop: the file is complete and resumable
  summary.wall_seconds = session.elapsed_seconds();
  return summary;
}

/// One population (no islands) on `executor`: generational or steady state.
RunSummary continue_single(const RunConfig& config, RunStore& store, Island& island, Checkpoint& checkpoint,
                           Executor& executor, const RunCallbacks& callbacks) {
  const StrategyView view(island.strategy());
  return continue_search(
      config, store, view, checkpoint, callbacks,
      [&](Session& session) {
        return config.run.mode == RunMode::generational
                   ? run_generational(config, island, store, executor, session, checkpoint, callbacks, view)
                   : run_steady_state(config, dynamic_cast<GeneticAlgorithm&>(island.strategy()), store, executor,
                                      session, checkpoint, callbacks);
      },
      [&]() -> Executor& { return executor; });
}

/// Islands on `cluster`, recorded here.
RunSummary continue_islands(const RunConfig& config, RunStore& store, Checkpoint& checkpoint, IslandCluster& cluster,
                            const RunCallbacks& callbacks) {
  IslandsView view(config, checkpoint, store.path());
  RunSummary summary = continue_search(
      config, store, view, checkpoint, callbacks,
      [&](Session& session) { return run_islands(config, cluster, view, store, session, checkpoint, callbacks); },
      [&]() -> Executor& { return cluster.final_executor(); });
  cluster.finish();
  return summary;
}

/// The islands' states as built from the seed: the first checkpoint of a new island run.
std::vector<StrategyState> initial_island_states(const RunConfig& config) {
  std::vector<StrategyState> states;
  for (int index = 0; index < config.islands.count; ++index) {
    states.push_back(Island(config, index).strategy().save_state());
  }
  return states;
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
  if (config.islands.count > 1) {
    InProcessIslands cluster(config, executor, callbacks.should_stop);
    return run_search(config, output, cluster, callbacks);
  }
  Island island(config, 0);
  RunStore store = RunStore::create(output, config);
  Checkpoint checkpoint;
  checkpoint.strategy_state = island.strategy().save_state();
  store.commit(checkpoint);  // resumable from the start: a kill before generation 1 loses nothing
  return continue_single(config, store, island, checkpoint, executor, callbacks);
}

RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, IslandCluster& islands,
                      const RunCallbacks& callbacks) {
  RunStore store = RunStore::create(output, config);
  Checkpoint checkpoint;
  checkpoint.island_states = initial_island_states(config);
  store.commit(checkpoint);
  return continue_islands(config, store, checkpoint, islands, callbacks);
}

RunSummary run_search(const RunConfig& config, const std::filesystem::path& output, const RunCallbacks& callbacks) {
  const Evaluator evaluator(config);
  InProcessExecutor executor(evaluator);
  return run_search(config, output, executor, callbacks);
}

ResumePlan plan_resume(const std::filesystem::path& run_file, std::optional<std::int64_t> generations,
                       const ProgressCallback& progress) {
  ResumePlan plan{RunStore::resume(run_file, progress), {}};
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

namespace {
/// A resumed run's next session: its counter, and the generations it now runs to.
void begin_resumed_session(ResumedRun& run) {
  ++run.checkpoint.session;
  run.store.set_configured_generations(run.config.run.generations);
}

/// A file killed before its first commit has no strategy state: the run restarts from its seed.
void fill_missing_initial_state(ResumedRun& run) {
  if (run.config.islands.count > 1 && run.checkpoint.island_states.empty()) {
    run.checkpoint.island_states = initial_island_states(run.config);
  }
}
}  // namespace

RunSummary resume_search(ResumePlan& plan, Executor& executor, const RunCallbacks& callbacks) {
  ResumedRun& run = plan.run;
  const RunConfig& config = run.config;
  if (config.islands.count > 1) {
    InProcessIslands cluster(config, executor, callbacks.should_stop);
    return resume_search(plan, cluster, callbacks);
  }
  Island island(config, 0);
  load_strategy_state(island.strategy(), config, run.checkpoint, run.store.path());
  begin_resumed_session(run);
  return continue_single(config, run.store, island, run.checkpoint, executor, callbacks);
}

RunSummary resume_search(ResumePlan& plan, IslandCluster& islands, const RunCallbacks& callbacks) {
  ResumedRun& run = plan.run;
  fill_missing_initial_state(run);
  begin_resumed_session(run);
  return continue_islands(run.config, run.store, run.checkpoint, islands, callbacks);
}

RunSummary resume_search(ResumePlan& plan, const RunCallbacks& callbacks) {
  const Evaluator evaluator(plan.run.config);
  InProcessExecutor executor(evaluator);
  return resume_search(plan, executor, callbacks);
}

}  // namespace metaevo
