#include "metaevo/runtime/executor.hpp"

#include <chrono>

#include "metaevo/core/error.hpp"

namespace metaevo {

namespace {
double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

EvaluationResult evaluate_timed(const Evaluator& evaluator, const EvaluationRequest& request, int worker_rank) {
  const double start = unix_seconds_now();
  EvaluationResult result = evaluator.evaluate(request);
  result.start_time = start;
  result.end_time = unix_seconds_now();
  result.worker_rank = worker_rank;
  return result;
}

Executor::Batch Executor::evaluate(const std::vector<EvaluationRequest>& requests,
                                   const std::function<bool()>& should_stop,
                                   const std::function<void()>& while_running) {
  Batch batch;
  batch.results.resize(requests.size());
  batch.finished.assign(requests.size(), false);
  std::size_t next = 0;
  bool stopping = false;
  // A free worker always gets the next request. One is queued behind a running evaluation only
  // while more than a round of requests is left: the last round goes to workers as they free up,
  // so at the end no request waits behind a slow evaluation while another worker idles.
  auto may_submit = [&] {
    const auto workers = static_cast<std::size_t>(capacity());
    return in_flight() < capacity() || (in_flight() < queue_capacity() && requests.size() - next > workers);
  };
  auto submit_while_free = [&] {
    while (!stopping && next < requests.size() && may_submit()) {
      if (should_stop && should_stop()) {
        stopping = true;
        break;
      }
      submit(static_cast<std::int64_t>(next), requests[next]);
      ++next;
    }
  };
  // The caller's work waits for the first result when more requests are to follow: by then the
  // first round's workers have picked up their requests, which on shared cores they do faster
  // without that work competing with them. A batch that went out whole (one round) starts it at
  // once: no later round would leave it time.
  bool ran = false;
  auto run_caller_work = [&] {
    if (ran || !while_running) return;
    ran = true;
    while_running();
  };
  submit_while_free();
  if (next == requests.size()) run_caller_work();
  while (in_flight() > 0) {
    CompletedEvaluation done = wait_any();
    const auto slot = static_cast<std::size_t>(done.ticket);
    if (slot >= requests.size() || batch.finished[slot]) throw Error("executor returned an unknown or repeated ticket");
    batch.results[slot] = std::move(done.result);
    batch.finished[slot] = true;
    ++batch.finished_count;
    submit_while_free();
    run_caller_work();
  }
  run_caller_work();  // no request went out
  return batch;
}

void InProcessExecutor::submit(std::int64_t ticket, const EvaluationRequest& request) {
  queue_.emplace_back(ticket, request);
}

CompletedEvaluation InProcessExecutor::wait_any() {
  if (queue_.empty()) throw Error("wait_any() with no evaluation in flight");
  auto [ticket, request] = std::move(queue_.front());
  queue_.pop_front();
  return {ticket, evaluate_timed(evaluator_, request, 0)};
}

}  // namespace metaevo
