#include "metaevo/runtime/mpi_runtime.hpp"

#include <boost/mpi/collectives/all_reduce.hpp>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/operations.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <cstdlib>
#include <deque>
#include <exception>
#include <utility>
#include <vector>

#include "metaevo/core/error.hpp"
#include "metaevo/tasks/float32_kernel.hpp"
#include "runtime/message_serialization.hpp"
#include "runtime/mpi_session_impl.hpp"
#include "runtime/mpi_wait.hpp"

namespace metaevo {

namespace mpi = boost::mpi;

namespace {

// Every message tag of the runtime, in one place.
enum MessageTag : int {
  work_tag = 1,    // master -> worker: WorkMessage
  result_tag = 2,  // worker -> master: ResultMessage
  stop_tag = 3,    // master -> worker: no payload; the worker returns from run_worker
};

struct WorkMessage {
  std::int64_t ticket = -1;
  EvaluationRequest request;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & ticket & request;
  }
};

struct ResultMessage {
  std::int64_t ticket = -1;
  EvaluationResult result;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & ticket & result;
  }
};

// hwloc's OpenGL component looks for X displays when MPI starts; where the host's own name does not
// resolve (no /etc/hosts, as in a bare chroot) every start then waits 5 s for DNS. metaevo needs no
// display topology, so the component is left out unless the user chose components themselves.
void skip_display_topology_probe() { ::setenv("HWLOC_COMPONENTS", "-gl", /*overwrite=*/0); }

}  // namespace

MpiSession::MpiSession(int& argc, char**& argv)
    : impl_((skip_display_topology_probe(), std::make_unique<Impl>(argc, argv))) {
  // Every rank computes float32 tasks with the same kernel: avx2-fma only when every rank would
  // (its CPU has AVX2 and FMA, and its METAEVO_SIMD allows it), else generic. A rank whose
  // METAEVO_SIMD is invalid keeps it, and fails when it first samples a float32 task.
  if (impl_->world.size() < 2) return;
  int would_use_avx2 = 0;
  try {
    would_use_avx2 = float32_kernel() == "generic" ? 0 : 1;
  } catch (const ConfigError&) {
    would_use_avx2 = -1;
  }
  const int every_rank = mpi::all_reduce(impl_->world, would_use_avx2, mpi::minimum<int>());
  if (every_rank == 0 && would_use_avx2 == 1) select_float32_kernel("generic");
}
MpiSession::~MpiSession() = default;

int MpiSession::rank() const { return impl_->world.rank(); }
int MpiSession::size() const { return impl_->world.size(); }

void MpiSession::abort(int status) const {
  impl_->world.abort(status);
  std::terminate();  // MPI_Abort does not return; this keeps [[noreturn]] honest if it ever did
}

std::string MpiSession::broadcast(const std::string& text) const {
  std::string value = text;
  mpi::broadcast(impl_->world, value, 0);
  return value;
}

void MpiSession::split_islands(const IslandLayout& layout) const {
  // The recorder (island -1) gets a group of its own; key = world rank keeps the master first.
  const int island = layout.island_of(rank());
  impl_->island = impl_->world.split(island < 0 ? layout.islands() : island, rank());
}

struct MpiExecutor::State {
  explicit State(const MpiSession& session)
      : world(session.impl().work()),
        assigned(static_cast<std::size_t>(world.size()), 0),
        stamp(static_cast<std::size_t>(world.size()), 0) {
    for (int rank = 1; rank < world.size(); ++rank) idle_workers.push_back(rank);
  }
  mpi::communicator world;
  std::deque<int> idle_workers;  // workers with nothing to do, the longest idle first
  std::vector<int> assigned;     // per rank: requests sent and not yet answered (0, 1 or 2)
  // Workers with exactly one request, in the order their current evaluation started: a request
  // queued ahead goes to the one that has run longest. Entries whose stamp is no longer the
  // worker's are stale and skipped.
  std::deque<std::pair<int, std::uint64_t>> running_one;
  std::vector<std::uint64_t> stamp;
  int in_flight = 0;
  bool shut_down = false;

  void now_running_one(int worker) {
    running_one.emplace_back(worker, stamp[static_cast<std::size_t>(worker)]);
    if (running_one.size() > 4 * assigned.size()) {  // drop stale entries now and then: bounded memory
      std::erase_if(running_one, [this](const auto& entry) { return stale(entry); });
    }
  }
  bool stale(const std::pair<int, std::uint64_t>& entry) const {
    const auto worker = static_cast<std::size_t>(entry.first);
    return assigned[worker] != 1 || stamp[worker] != entry.second;
  }
};

MpiExecutor::MpiExecutor(const MpiSession& session) : state_(std::make_unique<State>(session)) {
  if (state_->world.size() < 2) throw Error("MpiExecutor needs at least 2 ranks (a master and a worker)");
  if (state_->world.rank() != 0) throw Error("MpiExecutor runs on the master (rank 0 of the world or its island)");
}

MpiExecutor::~MpiExecutor() {
  try {
    shutdown();
  } catch (...) {
    // A destructor must not throw; a failing MPI here ends the job anyway.
  }
}

int MpiExecutor::capacity() const { return state_->world.size() - 1; }
int MpiExecutor::queue_capacity() const { return 2 * capacity(); }
int MpiExecutor::in_flight() const { return state_->in_flight; }

void MpiExecutor::submit(std::int64_t ticket, const EvaluationRequest& request) {
  State& state = *state_;
  int worker = 0;
  if (!state.idle_workers.empty()) {
    worker = state.idle_workers.front();
    state.idle_workers.pop_front();
  } else {
    while (!state.running_one.empty() && state.stale(state.running_one.front())) state.running_one.pop_front();
    if (state.running_one.empty()) throw Error("MpiExecutor::submit with every worker's queue full");
    worker = state.running_one.front().first;
    state.running_one.pop_front();
  }
  state.world.send(worker, work_tag, WorkMessage{ticket, request});
  const auto slot = static_cast<std::size_t>(worker);
  ++state.assigned[slot];
  ++state.stamp[slot];
  ++state.in_flight;
  if (state.assigned[slot] == 1) state.now_running_one(worker);
}

CompletedEvaluation MpiExecutor::wait_any() {
  State& state = *state_;
  if (state.in_flight == 0) throw Error("wait_any() with no evaluation in flight");
  const int worker = wait_for_message(state.world, mpi::any_source, result_tag).source();
  ResultMessage message;
  state.world.recv(worker, result_tag, message);
  const auto slot = static_cast<std::size_t>(worker);
  --state.assigned[slot];
  ++state.stamp[slot];
  --state.in_flight;
  if (state.assigned[slot] == 0) {
    state.idle_workers.push_back(worker);
  } else {
    state.now_running_one(worker);  // its queued request starts now
  }
  return {message.ticket, std::move(message.result)};
}

void MpiExecutor::shutdown() {
  if (state_->shut_down) return;
  while (in_flight() > 0) wait_any();
  for (int rank = 1; rank < state_->world.size(); ++rank) state_->world.send(rank, stop_tag);
  state_->shut_down = true;
}

void run_worker(const MpiSession& session, const Evaluator& evaluator) {
  const mpi::communicator& world = session.impl().work();
  while (true) {
    const mpi::status status = world.probe(0, mpi::any_tag);
    if (status.tag() == stop_tag) {
      world.recv(0, stop_tag);
      return;
    }
    WorkMessage work;
    world.recv(0, work_tag, work);
    ResultMessage reply{work.ticket, {}};
    try {
      reply.result = evaluate_timed(evaluator, work.request, session.rank());
    } catch (const std::exception& error) {
      // The evaluator already turns rule and task faults into failed results; this is the last net.
      reply.result.genome_id = work.request.genome.id;
      reply.result.failed = true;
      reply.result.fitness = evaluator.config().evaluation.penalty_fitness;
      reply.result.reason = std::string("worker error: ") + error.what();
      reply.result.worker_rank = session.rank();
    }
    world.send(0, result_tag, reply);
  }
}

}  // namespace metaevo
