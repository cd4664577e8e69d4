#pragma once
// MPI master-worker runtime. Rank 0 is the master (GA, bookkeeping, I/O); ranks 1..N-1 are workers
// that run evaluations. mpi.h stays out of this header (PIMPL).
#include <memory>
#include <string>

#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/runtime/island_cluster.hpp"

namespace metaevo {

/// MPI's lifetime for the process (MPI_Init .. MPI_Finalize) and the world communicator.
/// Without mpirun it is a world of one rank.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const;
  int size() const;
  bool is_master() const { return rank() == 0; }

  /// Ends every rank of the job with `status` (MPI_Abort): what a master does on a fatal error, so
  /// workers blocked in a receive never hang the job.
  [[noreturn]] void abort(int status) const;

  /// Master: sends `text` to every rank; workers: receive and return it.
  std::string broadcast(const std::string& text) const;

  /// Collective: from now on executors and workers talk within their island's ranks (the island's
  /// master is its rank 0 there). Without it, within the whole world.
  void split_islands(const IslandLayout& layout) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Master side: hands each evaluation to whichever worker is free (ranks 1..N-1 of the world, or of
/// its island after split_islands), and may queue one more request behind a running one (the worker
/// that has run longest), so that a worker starts its next evaluation without a round trip to the
/// master (queue_capacity(): two per worker; Executor::evaluate decides when). Messages are
/// Boost.Serialization archives of EvaluationRequest / EvaluationResult: O(genes) bytes.
class MpiExecutor final : public Executor {
 public:
  explicit MpiExecutor(const MpiSession& session);
  ~MpiExecutor() override;

  int capacity() const override;
  int queue_capacity() const override;
  void submit(std::int64_t ticket, const EvaluationRequest& request) override;
  CompletedEvaluation wait_any() override;
  int in_flight() const override;

  /// Collects what is in flight, then tells every worker to stop. Idempotent; the destructor calls it.
  void shutdown();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Worker side: receives evaluations, runs them (faults become failed results, never a crash) and
/// sends the results back, until the master's stop message.
void run_worker(const MpiSession& session, const Evaluator& evaluator);

/// The recorder's view of islands whose masters are MPI ranks (the layout's). `should_stop` is
/// polled while waiting for them; when it turns true every island is told to stop.
class MpiIslands final : public IslandCluster {
 public:
  MpiIslands(const MpiSession& session, const RunConfig& config, std::function<bool()> should_stop);
  ~MpiIslands() override;

  void start(std::int64_t first_generation, std::int64_t total_generations,
             const std::vector<StrategyState>& states) override;
  IslandEvent next() override;
  void send_migrants(int island, std::int64_t generation, const std::vector<Genome>& migrants) override;
  void abort_migration(int island) override;
  void stop() override;
  /// Island 0's master runs these evaluations on its workers.
  Executor& final_executor() override;
  void finish() override;
  bool evaluates_in_this_process() const override { return false; }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// An island master: runs its island's generations on its workers as the recorder's MpiIslands
/// directs (docs/islands.md), then serves evaluations until the recorder finishes. `should_stop`
/// is this rank's own stop request (a signal).
void run_island_master(const MpiSession& session, RunConfig config, const std::function<bool()>& should_stop);

}  // namespace metaevo
