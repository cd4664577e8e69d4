#pragma once
// Where the islands of a run live, seen from the run's recorder: all in this process, taking turns
// (the debug mode), or each on its own MPI master (MpiIslands in mpi_runtime.hpp). The recorder
// starts them, hears one event at a time, routes migrants and finally stops them; what it stores
// does not depend on which cluster ran the islands or on the order the events came in.
//
// Every island runs this protocol, from generation `first` to `total`:
//   for each generation g: run it (ask, evaluate, validate, tell) and report it; if migration_due(g),
//   wait for the migrants of g (or an abort), take them in; report the strategy's state of g.
//   A stop before or during a generation, or an abort, ends it with a `stopped` event; the end, with
//   `finished`. Both clusters implement it over Island::run_generation.
#include <cstdint>
#include <functional>
#include <vector>

#include "metaevo/runtime/island.hpp"

namespace metaevo {

class Executor;

struct IslandEvent {
  enum class Kind {
    generation,  // `report` holds generation `generation`
    state,       // `state`: the strategy after generation `generation` (and its migrants)
    stopped,     // no more generations from this island; `unfinished` holds what finished of `generation`
    finished,    // every generation ran
  };
  Kind kind = Kind::finished;
  int island = 0;
  std::int64_t generation = 0;
  IslandGeneration report;
  StrategyState state;
  Island::Stopped unfinished;
};

class IslandCluster {
 public:
  virtual ~IslandCluster() = default;
  /// Starts island i at `first_generation` from `states[i]` (one per island), to run until
  /// `total_generations`.
  virtual void start(std::int64_t first_generation, std::int64_t total_generations,
                     const std::vector<StrategyState>& states) = 0;
  /// Blocks until an island has something to say.
  virtual IslandEvent next() = 0;
  /// The migrants of `generation` for `island` (sent as soon as their source reports).
  virtual void send_migrants(int island, std::int64_t generation, const std::vector<Genome>& migrants) = 0;
  /// `island`'s source stopped: it gets no more migrants, and stops when it waits for some.
  virtual void abort_migration(int island) = 0;
  /// Every island stops before its next evaluation; idempotent.
  virtual void stop() = 0;
  /// Where evaluations after the search run (the holdout report).
  virtual Executor& final_executor() = 0;
  /// After the last event: the islands end (under MPI their masters stop their workers).
  virtual void finish() = 0;
  /// Whether the islands' evaluations run in this process (then the recorder stores inline: an
  /// evaluation may use HDF5 itself).
  virtual bool evaluates_in_this_process() const = 0;
};

/// Every island in this process, one generation at a time in island order, on one executor.
class InProcessIslands final : public IslandCluster {
 public:
  /// `should_stop` is polled before every evaluation, as by a run without islands.
  InProcessIslands(const RunConfig& config, Executor& executor, std::function<bool()> should_stop);
  ~InProcessIslands() override;

  void start(std::int64_t first_generation, std::int64_t total_generations,
             const std::vector<StrategyState>& states) override;
  IslandEvent next() override;
  void send_migrants(int island, std::int64_t generation, const std::vector<Genome>& migrants) override;
  void abort_migration(int island) override;
  void stop() override { stopping_ = true; }
  Executor& final_executor() override { return executor_; }
  void finish() override {}
  bool evaluates_in_this_process() const override { return true; }

 private:
  struct Member;
  const RunConfig& config_;
  Executor& executor_;
  std::function<bool()> should_stop_;
  std::vector<Member> members_;
  std::int64_t total_generations_ = 0;
  bool stopping_ = false;
};

}  // namespace metaevo
