#include "metaevo/runtime/island.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <string>

#include "metaevo/core/random.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/search/strategy_registry.hpp"
#include "search/strategy_detail.hpp"

namespace metaevo {

IslandLayout::IslandLayout(int world_size, int islands) : world_size_(world_size), islands_(islands) {}

std::string IslandLayout::problem() const {
  if (islands_ <= 1 || world_size_ == 1) return {};  // one process runs every island in turn
  const int needed = 1 + 2 * islands_;
  if (world_size_ >= needed) return {};
  return "islands.count = " + std::to_string(islands_) + " needs at least " + std::to_string(needed) +
         " MPI ranks (a recorder, then a master and a worker per island), got " + std::to_string(world_size_) +
         "; run with mpirun -np " + std::to_string(needed) + " or more, or without mpirun (one process)";
}

// Ranks 1..N-1 in blocks: the first (N-1) mod count blocks have one rank more. Arithmetic, not a
// scan: the recorder asks for every message it receives.
int IslandLayout::ranks_of(int island) const {
  const int ranks = world_size_ - 1;
  return ranks / islands_ + (island < ranks % islands_ ? 1 : 0);
}

int IslandLayout::master_of(int island) const {
  if (!has_recorder()) return 0;
  const int ranks = world_size_ - 1;
  return 1 + island * (ranks / islands_) + std::min(island, ranks % islands_);
}

int IslandLayout::island_of(int rank) const {
  if (!has_recorder()) return 0;
  if (rank == 0) return -1;
  const int ranks = world_size_ - 1;
  const int base = ranks / islands_;
  const int larger = ranks % islands_;  // blocks of base + 1 ranks
  const int offset = rank - 1;
  if (offset < larger * (base + 1)) return offset / (base + 1);
  return larger + (offset - larger * (base + 1)) / base;
}

bool IslandLayout::is_island_master(int rank) const {
  const int island = island_of(rank);
  return island >= 0 && master_of(island) == rank;
}

std::uint64_t island_seed(std::uint64_t run_seed, int island) {
  if (island == 0) return run_seed;
  return RandomStream(run_seed, StreamPurpose::island_seed, {static_cast<std::uint64_t>(island)}).next_u64();
}

bool migration_due(const IslandOptions& islands, std::int64_t generation, std::int64_t total_generations) {
  return islands.count > 1 && islands.migration_size > 0 && (generation + 1) % islands.migration_interval == 0 &&
         generation + 1 < total_generations;
}

int migration_target(const IslandOptions& islands, int island) { return (island + 1) % islands.count; }

std::vector<Genome> select_migrants(const IslandGeneration& generation, int count) {
  std::vector<double> fitness;
  fitness.reserve(generation.results.size());
  for (const EvaluationResult& result : generation.results) fitness.push_back(result.fitness);
  const std::vector<int> order = strategy_detail::ranking(strategy_detail::sanitized(fitness));
  std::vector<Genome> migrants;
  for (std::size_t k = 0; k < order.size() && static_cast<int>(k) < count; ++k) {
    migrants.push_back(generation.population[static_cast<std::size_t>(order[k])]);
  }
  return migrants;
}

Island::Island(const RunConfig& config, int index)
    : config_(&config),
      index_(index),
      strategy_(make_search_strategy(config.search.strategy, config.search_space(), config.strategy_options(),
                                     island_seed(config.run.seed, index))) {
  if (config.islands.count > 1) {
    const std::int64_t size = strategy_->population_size();
    strategy_->set_genome_numbering({size * config.islands.count, size * index});
  }
}

Island::~Island() = default;
Island::Island(Island&&) noexcept = default;

std::optional<IslandGeneration> Island::run_generation(Executor& executor, const std::function<bool()>& should_stop,
                                                       Stopped& unfinished,
                                                       const std::function<void()>& while_running) {
  std::vector<EvaluationResult> no_results;
  std::optional<IslandGeneration> report = evaluate_population(executor, should_stop, unfinished, while_running, {}, no_results);
  if (!report) return std::nullopt;
  if (validation_enabled(*config_)) {
    // A batch of its own, before tell(): a stop here leaves the strategy unchanged.
    std::optional<std::vector<double>> scores =
        validate_generation(*config_, report->population, report->results, executor, should_stop);
    if (!scores) {  // a stop: the generation is evaluated again after a resume
      unfinished.genomes = report->population;
      unfinished.results = report->results;
      return std::nullopt;
    }
    report->validation = std::move(*scores);
  }
  tell(*report);
  return report;
}

std::optional<IslandGeneration> Island::run_generation_carrying(
    Executor& executor, const std::function<bool()>& should_stop, Stopped& unfinished,
    const std::function<void()>& while_running, const std::vector<EvaluationRequest>& carried,
    std::vector<EvaluationResult>& carried_results, std::optional<ValidationRequests>& deferred) {
  std::optional<IslandGeneration> report =
      evaluate_population(executor, should_stop, unfinished, while_running, carried, carried_results);
  if (!report) return std::nullopt;
  deferred.reset();
  if (validation_enabled(*config_)) deferred.emplace(*config_, report->population, report->results);
  tell(*report);
  return report;
}

std::optional<IslandGeneration> Island::evaluate_population(Executor& executor, const std::function<bool()>& should_stop,
                                                            Stopped& unfinished,
                                                            const std::function<void()>& while_running,
                                                            const std::vector<EvaluationRequest>& carried,
                                                            std::vector<EvaluationResult>& carried_results) {
  const RunConfig& config = *config_;
  const std::int64_t generation = strategy_->generation();
  // tell() replaces the population ask() returns, so the evaluated genomes are kept aside. Every
  // island scores a generation on the same tasks: migrants' fitness is comparable.
  IslandGeneration report;
  report.island = index_;
  report.generation = generation;
  report.population = strategy_->ask();
  // The carried requests first: the generation they belong to waits on them to be stored.
  std::vector<EvaluationRequest> requests = carried;
  requests.reserve(carried.size() + report.population.size());
  for (const Genome& genome : report.population) {
    requests.push_back({genome, EvaluationKey{config.run.seed, generation, StreamPurpose::task_sample}});
  }
  Executor::Batch batch = executor.evaluate(requests, should_stop, while_running);
  const auto first_own = static_cast<std::ptrdiff_t>(carried.size());
  if (!batch.complete()) {
    // Only whole generations enter /generations and the checkpoint: a partial one would break
    // determinism on resume. What finished goes to the evaluation log.
    for (std::size_t i = 0; i < report.population.size(); ++i) {
      const std::size_t r = carried.size() + i;
      if (!batch.finished[r]) continue;
      unfinished.genomes.push_back(report.population[i]);
      unfinished.results.push_back(std::move(batch.results[r]));
    }
    // The carried requests went out first: usually they all finished, and their generation need
    // not be evaluated again.
    if (std::all_of(batch.finished.begin(), batch.finished.begin() + first_own, [](bool done) { return done; })) {
      carried_results.assign(std::make_move_iterator(batch.results.begin()),
                             std::make_move_iterator(batch.results.begin() + first_own));
    }
    return std::nullopt;
  }
  carried_results.assign(std::make_move_iterator(batch.results.begin()),
                         std::make_move_iterator(batch.results.begin() + first_own));
  report.results.assign(std::make_move_iterator(batch.results.begin() + first_own),
                        std::make_move_iterator(batch.results.end()));
  return report;
}

void Island::tell(IslandGeneration& report) {
  std::vector<double> fitness;
  fitness.reserve(report.results.size());
  for (const EvaluationResult& result : report.results) fitness.push_back(result.fitness);
  strategy_->tell(fitness);
  report.statistics = strategy_->statistics();
  report.best = strategy_->best();
  report.best_fitness = strategy_->best_fitness();
}

bool validation_enabled(const RunConfig& config) {
  return config.evaluation.validation_tasks > 0 && !config.objective && config.run.mode == RunMode::generational;
}

ValidationRequests::ValidationRequests(const RunConfig& config, const std::vector<Genome>& population,
                                       const std::vector<EvaluationResult>& results)
    : total_tasks_(config.evaluation.validation_tasks),
      penalty_fitness_(config.evaluation.penalty_fitness),
      population_size_(population.size()) {
  std::vector<double> fitness;
  fitness.reserve(results.size());
  for (const EvaluationResult& result : results) fitness.push_back(result.fitness);
  candidates_ = strategy_detail::ranking(strategy_detail::sanitized(fitness));
  candidates_.resize(std::min(candidates_.size(), static_cast<std::size_t>(config.evaluation.validation_candidates)));

  // Generation 0 of its own purpose: the same tasks for every generation and candidate.
  const EvaluationKey key{config.run.seed, 0, StreamPurpose::validation_task};
  const int piece = config.evaluation.tasks_per_evaluation;
  for (std::size_t c = 0; c < candidates_.size(); ++c) {
    for (int first = 0; first < total_tasks_; first += piece) {
      requests_.push_back({population[static_cast<std::size_t>(candidates_[c])], key, total_tasks_, false, first,
                           std::min(piece, total_tasks_ - first)});
      candidate_of_request_.push_back(c);
    }
  }
}

std::vector<double> ValidationRequests::scores(const std::vector<EvaluationResult>& results) const {
  std::vector<double> sums(candidates_.size(), 0.0);
  std::vector<bool> failed(candidates_.size(), false);
  for (std::size_t r = 0; r < requests_.size(); ++r) {
    const std::size_t c = candidate_of_request_[r];
    failed[c] = failed[c] || results[r].failed;
    sums[c] += results[r].fitness * requests_[r].task_span;
  }
  std::vector<double> validation(population_size_, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t c = 0; c < candidates_.size(); ++c) {
    validation[static_cast<std::size_t>(candidates_[c])] = failed[c] ? penalty_fitness_ : sums[c] / total_tasks_;
  }
  return validation;
}

std::optional<std::vector<double>> validate_generation(const RunConfig& config, const std::vector<Genome>& population,
                                                       const std::vector<EvaluationResult>& results,
                                                       Executor& executor, const std::function<bool()>& should_stop) {
  const ValidationRequests validation(config, population, results);
  const Executor::Batch batch = executor.evaluate(validation.requests(), should_stop);
  if (!batch.complete()) return std::nullopt;
  return validation.scores(batch.results);
}

}  // namespace metaevo
