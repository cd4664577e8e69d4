#include "metaevo/runtime/island.hpp"

#include <algorithm>
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
  const RunConfig& config = *config_;
  const std::int64_t generation = strategy_->generation();
  // tell() replaces the population ask() returns, so the evaluated genomes are kept aside. Every
  // island scores a generation on the same tasks: migrants' fitness is comparable.
  IslandGeneration report;
  report.island = index_;
  report.generation = generation;
  report.population = strategy_->ask();
  std::vector<EvaluationRequest> requests;
  requests.reserve(report.population.size());
  for (const Genome& genome : report.population) {
    requests.push_back({genome, EvaluationKey{config.run.seed, generation, StreamPurpose::task_sample}});
  }
  Executor::Batch batch = executor.evaluate(requests, should_stop, while_running);
  if (!batch.complete()) {
    // Only whole generations enter /generations and the checkpoint: a partial one would break
    // determinism on resume. What finished goes to the evaluation log.
    for (std::size_t i = 0; i < report.population.size(); ++i) {
      if (!batch.finished[i]) continue;
      unfinished.genomes.push_back(report.population[i]);
      unfinished.results.push_back(std::move(batch.results[i]));
    }
    return std::nullopt;
  }
  report.results = std::move(batch.results);
  if (validation_enabled(config)) {
    std::optional<std::vector<double>> scores =
        validate_generation(config, report.population, report.results, executor, should_stop);
    if (!scores) {  // a stop: the generation is evaluated again after a resume
      unfinished.genomes = report.population;
      unfinished.results = report.results;
      return std::nullopt;
    }
    report.validation = std::move(*scores);
  }
  std::vector<double> fitness;
  fitness.reserve(report.results.size());
  for (const EvaluationResult& result : report.results) fitness.push_back(result.fitness);
  strategy_->tell(fitness);
  report.statistics = strategy_->statistics();
  report.best = strategy_->best();
  report.best_fitness = strategy_->best_fitness();
  return report;
}

bool validation_enabled(const RunConfig& config) {
  return config.evaluation.validation_tasks > 0 && !config.objective && config.run.mode == RunMode::generational;
}

std::optional<std::vector<double>> validate_generation(const RunConfig& config, const std::vector<Genome>& population,
                                                       const std::vector<EvaluationResult>& results,
                                                       Executor& executor, const std::function<bool()>& should_stop) {
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
  const Executor::Batch batch = executor.evaluate(requests, should_stop);
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

}  // namespace metaevo
