#pragma once
// Islands (docs/islands.md): [islands] count populations, each with its own search strategy, seeded
// per island, and (under MPI) its own master and workers. Every migration_interval generations each
// island sends copies of its best genomes of that generation to the next island of the ring. The
// run's recorder stores all islands' generations as one row each, in island order.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/search/search_strategy.hpp"
#include "metaevo/search/strategy_state.hpp"

namespace metaevo {

class Executor;

/// Which MPI rank does what in an island run. One island: rank 0 is the master, the rest workers.
/// Several: rank 0 is the recorder (run file, checkpoints, migration routing; no evaluations); ranks
/// 1..N-1 form `count` contiguous blocks, as equal as possible (the first blocks one rank larger),
/// each its island's master followed by its workers.
class IslandLayout {
 public:
  IslandLayout(int world_size, int islands);
  /// Empty when the world can hold the layout, else why not ("islands.count = 4 needs ...").
  std::string problem() const;
  int islands() const { return islands_; }
  bool has_recorder() const { return islands_ > 1; }
  /// The island a rank belongs to (-1: the recorder).
  int island_of(int rank) const;
  int master_of(int island) const;
  int ranks_of(int island) const;  // master and workers
  bool is_island_master(int rank) const;

 private:
  int world_size_;
  int islands_;
};

/// The seed of island `island`'s strategy: the run seed for island 0 (so one island is the run
/// without islands), a stream of it for the others.
std::uint64_t island_seed(std::uint64_t run_seed, int island);

/// One generation of one island, as its master reports it to the recorder.
struct IslandGeneration {
  int island = 0;
  std::int64_t generation = 0;
  std::vector<Genome> population;
  std::vector<EvaluationResult> results;
  std::vector<double> validation;  // one per genome (NaN: not re-scored); empty when validation is off
  StrategyStatistics statistics;   // the strategy's, after tell()
  std::optional<Genome> best;      // the island's best so far, after tell()
  double best_fitness = 0.0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & island & generation & population & results & validation & statistics & best & best_fitness;
  }
};

/// Whether migrants move after `generation` (0-based): every interval generations, never after the last.
bool migration_due(const IslandOptions& islands, std::int64_t generation, std::int64_t total_generations);
/// The island that receives `island`'s migrants (ring: the next one).
int migration_target(const IslandOptions& islands, int island);
/// A generation's migrants: copies of its `count` best genomes by fitness, best first (ties: lower index).
std::vector<Genome> select_migrants(const IslandGeneration& generation, int count);

/// A generation's validation as requests: its best candidates (by training fitness, ties to the
/// lower index) on the fixed validation task set, each in pieces of tasks_per_evaluation tasks that
/// idle workers share. The requests may go out alone or with another generation's evaluations.
class ValidationRequests {
 public:
  ValidationRequests(const RunConfig& config, const std::vector<Genome>& population,
                     const std::vector<EvaluationResult>& results);
  const std::vector<EvaluationRequest>& requests() const { return requests_; }
  /// One value per genome (NaN where not re-scored) from the requests' results, in request order:
  /// the mean over the validation tasks, pieces weighted by their task count and summed in request
  /// order (so it does not depend on which worker ran what); a failed piece gives the penalty.
  std::vector<double> scores(const std::vector<EvaluationResult>& results) const;

 private:
  int total_tasks_;
  double penalty_fitness_;
  std::size_t population_size_;
  std::vector<int> candidates_;  // genome indices, best first
  std::vector<EvaluationRequest> requests_;
  std::vector<std::size_t> candidate_of_request_;
};

/// One population of the search: its strategy, its seed and genome numbering, and how one of its
/// generations is evaluated (the same with or without islands, in process or on an MPI master).
class Island {
 public:
  /// Builds the configured strategy for island `index` (of config.islands.count).
  Island(const RunConfig& config, int index);
  ~Island();
  Island(Island&&) noexcept;

  int index() const { return index_; }
  SearchStrategy& strategy() { return *strategy_; }
  const SearchStrategy& strategy() const { return *strategy_; }

  /// Asks, evaluates on `executor` (then re-scores the best on the validation tasks when that is on)
  /// and tells. Returns nullopt when `should_stop` ended it early: the strategy is unchanged and
  /// `unfinished` holds what finished (for the evaluation log). `while_running` is called once while
  /// the generation's first evaluations run (the strategy still at the previous generation's state).
  struct Stopped {
    std::vector<Genome> genomes;
    std::vector<EvaluationResult> results;
  };
  std::optional<IslandGeneration> run_generation(Executor& executor, const std::function<bool()>& should_stop,
                                                 Stopped& unfinished, const std::function<void()>& while_running = {});

  /// The pipelined form (one population, see run_generational): `carried` requests (the previous
  /// generation's validation) go out in the same batch as this generation's evaluations, their
  /// results into `carried_results`; this generation's own validation is not run but returned in
  /// `deferred` (report.validation stays empty), to be carried by the next one. Nothing when a stop
  /// ended it early: the strategy is unchanged, and `carried_results` holds the carried results only
  /// if all of them finished (they go out first), else nothing.
  std::optional<IslandGeneration> run_generation_carrying(Executor& executor, const std::function<bool()>& should_stop,
                                                          Stopped& unfinished, const std::function<void()>& while_running,
                                                          const std::vector<EvaluationRequest>& carried,
                                                          std::vector<EvaluationResult>& carried_results,
                                                          std::optional<ValidationRequests>& deferred);

 private:
  /// Asks and evaluates (after `carried`, in one batch); does not tell.
  std::optional<IslandGeneration> evaluate_population(Executor& executor, const std::function<bool()>& should_stop,
                                                      Stopped& unfinished, const std::function<void()>& while_running,
                                                      const std::vector<EvaluationRequest>& carried,
                                                      std::vector<EvaluationResult>& carried_results);
  /// Tells the strategy the generation's fitness and fills the report's statistics and best.
  void tell(IslandGeneration& report);

  const RunConfig* config_;
  int index_;
  std::unique_ptr<SearchStrategy> strategy_;
};

/// Re-scores the generation's best candidates (ValidationRequests) as a batch of its own. Returns one value per genome (NaN where not re-scored), or nothing when
/// a stop interrupted it.
std::optional<std::vector<double>> validate_generation(const RunConfig& config, const std::vector<Genome>& population,
                                                       const std::vector<EvaluationResult>& results,
                                                       Executor& executor, const std::function<bool()>& should_stop);

/// Whether generations are re-scored on the validation tasks.
bool validation_enabled(const RunConfig& config);

}  // namespace metaevo
