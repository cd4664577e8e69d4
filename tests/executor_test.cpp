#include "metaevo/runtime/executor.hpp"

#include <gtest/gtest.h>

#include "metaevo/core/error.hpp"
#include "metaevo/runtime/run.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

constexpr const char* quick_config = R"(
[run]
seed = 3
generations = 3
[ga]
population_size = 5
elite_count = 1
[evaluation]
tasks_per_evaluation = 2
inner_steps = 10
holdout_tasks = 2
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.5 }
[[tasks]]
family = "quadratic"
dimension = 4
)";

std::vector<EvaluationRequest> requests_for(const RunConfig& config, int count) {
  const SearchSpace space = config.search_space();
  std::vector<EvaluationRequest> requests;
  for (int i = 0; i < count; ++i) {
    Genome genome;
    genome.id = 100 + i;
    genome.x = Eigen::VectorXd::Constant(space.size(), (i + 0.5) / count);
    genome.step_size = Eigen::VectorXd::Constant(space.size(), 0.1);
    requests.push_back({genome, EvaluationKey{config.run.seed, 0, StreamPurpose::task_sample}});
  }
  return requests;
}

TEST(InProcessExecutor, BatchResultsComeBackInRequestOrder) {
  const RunConfig config = parse_config(quick_config);
  const Evaluator evaluator(config);
  InProcessExecutor executor(evaluator);
  const auto requests = requests_for(config, 4);
  const Executor::Batch batch = executor.evaluate(requests);
  ASSERT_TRUE(batch.complete());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(batch.results[i].genome_id, requests[i].genome.id);
    EXPECT_EQ(batch.results[i].fitness, evaluator.evaluate(requests[i]).fitness);
    EXPECT_EQ(batch.results[i].worker_rank, 0);
    EXPECT_LE(batch.results[i].start_time, batch.results[i].end_time);
    EXPECT_GT(batch.results[i].start_time, 1.7e9);  // a Unix time, not a duration
  }
  EXPECT_EQ(executor.in_flight(), 0);
}

/// Workers that finish in submission order (a FIFO per worker, workers taking turns), with a queue
/// of `depth` per worker: what Executor::evaluate submits, and when.
class QueueingExecutor final : public Executor {
 public:
  QueueingExecutor(int workers, int depth) : workers_(workers), depth_(depth) {}
  int capacity() const override { return workers_; }
  int queue_capacity() const override { return workers_ * depth_; }
  void submit(std::int64_t ticket, const EvaluationRequest& request) override {
    if (in_flight() >= queue_capacity()) throw Error("submit beyond queue_capacity()");
    in_flight_at_submit_.push_back(in_flight());
    queue_.push_back({ticket, request.genome.id});
  }
  CompletedEvaluation wait_any() override {
    if (queue_.empty()) throw Error("wait_any() with nothing in flight");
    const auto [ticket, id] = queue_.front();
    queue_.erase(queue_.begin());
    EvaluationResult result;
    result.genome_id = id;
    result.fitness = static_cast<double>(id);
    return {ticket, result};
  }
  int in_flight() const override { return static_cast<int>(queue_.size()); }
  std::vector<int> in_flight_at_submit_;

 private:
  int workers_;
  int depth_;
  std::vector<std::pair<std::int64_t, std::int64_t>> queue_;
};

TEST(Executor, QueuesAheadOnlyWhileMoreThanARoundIsLeft) {
  const RunConfig config = parse_config(quick_config);
  const auto requests = requests_for(config, 40);
  QueueingExecutor executor(/*workers=*/8, /*depth=*/2);
  const Executor::Batch batch = executor.evaluate(requests);
  ASSERT_TRUE(batch.complete());
  for (std::size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(batch.results[i].genome_id, requests[i].genome.id);
  ASSERT_EQ(executor.in_flight_at_submit_.size(), requests.size());
  // First 8 to free workers, then 8 queued behind them; after that each result frees one slot.
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(executor.in_flight_at_submit_[i], static_cast<int>(i)) << i;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::size_t left = requests.size() - i;  // not yet submitted, this one included
    if (left <= 8) {
      EXPECT_LT(executor.in_flight_at_submit_[i], 8) << "request " << i << " of the last round was queued";
    }
    EXPECT_LT(executor.in_flight_at_submit_[i], 16) << i;
  }
}

TEST(Executor, TheCallersWorkWaitsForTheFirstResultUnlessTheBatchWentOutWhole) {
  const RunConfig config = parse_config(quick_config);
  // 40 requests: 16 go out (8 run, 8 queued), the first result frees a slot for the 17th, then the
  // work runs. 8 or 5: the batch goes out whole and the work runs at once.
  for (const auto& [count, expected_submitted_before] : {std::pair{40, 17}, std::pair{8, 8}, std::pair{5, 5}}) {
    QueueingExecutor executor(/*workers=*/8, /*depth=*/2);
    std::size_t submitted_before = 0;
    int calls = 0;
    const auto requests = requests_for(config, count);
    const Executor::Batch batch = executor.evaluate(requests, {}, [&] {
      ++calls;
      submitted_before = executor.in_flight_at_submit_.size();
    });
    ASSERT_TRUE(batch.complete());
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(submitted_before, static_cast<std::size_t>(expected_submitted_before)) << count << " requests";
  }
  QueueingExecutor empty(4, 2);
  int calls = 0;
  empty.evaluate({}, {}, [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(Executor, WithoutAQueueAtMostOnePerWorker) {
  const RunConfig config = parse_config(quick_config);
  const auto requests = requests_for(config, 20);
  QueueingExecutor executor(/*workers=*/4, /*depth=*/1);
  ASSERT_TRUE(executor.evaluate(requests).complete());
  for (int in_flight : executor.in_flight_at_submit_) EXPECT_LT(in_flight, 4);
}

TEST(InProcessExecutor, StopRequestLeavesTheBatchIncomplete) {
  const RunConfig config = parse_config(quick_config);
  const Evaluator evaluator(config);
  InProcessExecutor executor(evaluator);
  int polls = 0;
  const Executor::Batch batch = executor.evaluate(requests_for(config, 5), [&] { return ++polls > 2; });
  EXPECT_FALSE(batch.complete());
  EXPECT_EQ(batch.finished_count, 2);
  EXPECT_TRUE(batch.finished[0] && batch.finished[1] && !batch.finished[2]);
  EXPECT_EQ(batch.results[2].genome_id, -1);
}

TEST(InProcessExecutor, WaitAnyWithNothingInFlightIsAnError) {
  const Evaluator evaluator(parse_config(quick_config));
  InProcessExecutor executor(evaluator);
  EXPECT_THROW(executor.wait_any(), Error);
}

TEST(RunSearchModes, StopRequestEndsTheRunAsInterruptedWithWholeGenerations) {
  const RunConfig config = parse_config(quick_config);
  testing_support::TemporaryPath output(".h5");
  RunCallbacks callbacks;
  int generations_seen = 0;
  callbacks.on_generation = [&](const GenerationRecord&) { ++generations_seen; };
  callbacks.should_stop = [&] { return generations_seen >= 1; };
  const RunSummary summary = run_search(config, output.path(), callbacks);
  EXPECT_EQ(summary.termination, Termination::interrupted);
  EXPECT_EQ(summary.generations, 1);
  EXPECT_FALSE(summary.holdout.has_value());
  EXPECT_EQ(read_run_file(output.path()).generations, 1);
}

TEST(RunSearchModes, SteadyStateInProcessRunsGenerationsTimesPopulationEvaluations) {
  RunConfig config = parse_config(quick_config);
  config.run.mode = RunMode::steady_state;
  testing_support::TemporaryPath first("_a.h5");
  testing_support::TemporaryPath second("_b.h5");
  const RunSummary summary = run_search(config, first.path());
  run_search(config, second.path());
  EXPECT_EQ(summary.termination, Termination::completed);
  EXPECT_EQ(summary.evaluations, 15);
  const RunFileContents a = read_run_file(first.path());
  EXPECT_EQ(a.generations, 3);
  // With one evaluation at a time the arrival order is fixed, so even steady state repeats exactly.
  EXPECT_EQ(a.fitness, read_run_file(second.path()).fitness);
  double best = a.fitness[0][0];
  for (const auto& row : a.fitness)
    for (double f : row) best = std::min(best, f);
  EXPECT_EQ(summary.best_fitness, best);
}

}  // namespace
}  // namespace metaevo
