#pragma once
// Where evaluations run. The in-process executor is the debug mode; the MPI executor runs them on
// worker ranks. Both have this interface, and a generational run gives the same results on either.
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "metaevo/evaluation/evaluator.hpp"

namespace metaevo {

/// A finished evaluation with the ticket it was submitted under.
struct CompletedEvaluation {
  std::int64_t ticket = -1;
  EvaluationResult result;
};

class Executor {
 public:
  virtual ~Executor() = default;

  /// How many evaluations can run at once (the number of workers; 1 in process).
  virtual int capacity() const = 0;
  /// How many may be in flight counting requests queued behind a running evaluation (a worker
  /// then starts its next one without waiting for a reply). While in_flight() < capacity() a
  /// worker is free, and a submission goes to one.
  virtual int queue_capacity() const { return capacity(); }
  /// Starts an evaluation; at most queue_capacity() may be in flight.
  virtual void submit(std::int64_t ticket, const EvaluationRequest& request) = 0;
  /// Blocks until one in-flight evaluation finishes and returns it (in arrival order).
  virtual CompletedEvaluation wait_any() = 0;
  virtual int in_flight() const = 0;
  /// Whether evaluations run in this process (then nothing else may use the CPU or HDF5 meanwhile).
  virtual bool runs_in_this_process() const { return false; }

  /// Runs all requests with dynamic load balancing (the next request goes to whichever worker frees
  /// up first; while more than a round of requests is left, up to queue_capacity() are in flight,
  /// one queued behind each running evaluation) and returns the results in request order, whatever
  /// order they finished in.
  /// `should_stop` is polled before each submission: once it returns true nothing more is submitted,
  /// the in-flight evaluations are collected and the batch comes back incomplete (the results of
  /// requests never run keep genome_id -1).
  struct Batch {
    std::vector<EvaluationResult> results;
    std::vector<bool> finished;
    std::int64_t finished_count = 0;
    bool complete() const { return finished_count == static_cast<std::int64_t>(results.size()); }
  };
  /// `while_running`, when given, is called once: work the caller overlaps with the evaluations,
  /// e.g. storing the previous generation. It runs after the first result came back (and its worker
  /// got its next request) when the batch did not go out whole, else right after the submissions
  /// (or at the end when none went out).
  Batch evaluate(const std::vector<EvaluationRequest>& requests, const std::function<bool()>& should_stop = {},
                 const std::function<void()>& while_running = {});
};

class InProcessExecutor final : public Executor {
 public:
  explicit InProcessExecutor(const Evaluator& evaluator) : evaluator_(evaluator) {}
  int capacity() const override { return 1; }
  void submit(std::int64_t ticket, const EvaluationRequest& request) override;
  CompletedEvaluation wait_any() override;
  int in_flight() const override { return static_cast<int>(queue_.size()); }
  bool runs_in_this_process() const override { return true; }

 private:
  const Evaluator& evaluator_;
  std::deque<std::pair<std::int64_t, EvaluationRequest>> queue_;
};

/// Fills in the timing fields of a result around an evaluation (shared by every executor).
EvaluationResult evaluate_timed(const Evaluator& evaluator, const EvaluationRequest& request, int worker_rank);

}  // namespace metaevo
