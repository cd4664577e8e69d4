#pragma once
// MPI master-worker runtime. Rank 0 is the master (GA, bookkeeping, I/O); ranks 1..N-1 are workers
// that run evaluations. mpi.h stays out of this header (PIMPL).
#include <memory>
#include <string>

#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/runtime/executor.hpp"

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

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Master side: hands each evaluation to whichever worker is free (ranks 1..N-1). Messages are
/// Boost.Serialization archives of EvaluationRequest / EvaluationResult: O(genes) bytes.
class MpiExecutor final : public Executor {
 public:
  explicit MpiExecutor(const MpiSession& session);
  ~MpiExecutor() override;

  int capacity() const override;
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

}  // namespace metaevo
