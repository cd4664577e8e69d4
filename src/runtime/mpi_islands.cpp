// Islands over MPI: the recorder (world rank 0) and the island masters talk over the world
// communicator with the tags below; each master talks to its workers over its island's
// communicator (MpiSession::split_islands), so the two kinds of traffic never mix.
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/nonblocking.hpp>
#include <boost/mpi/request.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "metaevo/core/error.hpp"
#include "metaevo/runtime/mpi_runtime.hpp"
#include "runtime/message_serialization.hpp"
#include "runtime/mpi_session_impl.hpp"
#include "runtime/mpi_wait.hpp"

namespace metaevo {

namespace mpi = boost::mpi;

namespace {

constexpr int recorder_rank = 0;

// Every message tag between the recorder and the island masters, in one place.
enum IslandTag : int {
  start_tag = 20,          // recorder -> master: StartMessage
  report_tag = 21,         // master -> recorder: IslandGeneration
  state_tag = 22,          // master -> recorder: StateMessage (after the generation's migrants)
  stopped_tag = 23,        // master -> recorder: StoppedMessage
  finished_tag = 24,       // master -> recorder: the island index
  migrants_tag = 25,       // recorder -> master: MigrantsMessage
  abort_tag = 26,          // recorder -> master: no payload; no more migrants will come
  stop_tag = 27,           // recorder -> master: no payload; stop before the next evaluation
  batch_tag = 28,          // recorder -> master: std::vector<EvaluationRequest>
  batch_results_tag = 29,  // master -> recorder: std::vector<EvaluationResult>
  finish_tag = 30,         // recorder -> master: no payload; stop the workers and return
};

struct StartMessage {
  std::int64_t first_generation = 0;
  std::int64_t total_generations = 0;
  std::uint64_t seed = 0;  // the run's effective seed (a --seed override is not in the config text)
  StrategyState state;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & first_generation & total_generations & seed & state;
  }
};

struct StateMessage {
  int island = 0;
  std::int64_t generation = 0;
  StrategyState state;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & island & generation & state;
  }
};

struct StoppedMessage {
  int island = 0;
  std::int64_t generation = 0;
  std::vector<Genome> genomes;
  std::vector<EvaluationResult> results;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & island & generation & genomes & results;
  }
};

struct MigrantsMessage {
  std::int64_t generation = 0;
  std::vector<Genome> genomes;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & generation & genomes;
  }
};

/// The recorder's executor for evaluations after the search: requests go to island 0's master as
/// one batch, which runs them on its workers and sends all results back.
class IslandZeroExecutor final : public Executor {
 public:
  IslandZeroExecutor(const mpi::communicator& world, int master) : world_(world), master_(master) {}
  int capacity() const override { return 1 << 20; }
  void submit(std::int64_t ticket, const EvaluationRequest& request) override {
    tickets_.push_back(ticket);
    requests_.push_back(request);
  }
  CompletedEvaluation wait_any() override {
    if (done_.empty()) {
      if (requests_.empty()) throw Error("wait_any() with no evaluation in flight");
      world_.send(master_, batch_tag, requests_);
      std::vector<EvaluationResult> results;
      wait_for_message(world_, master_, batch_results_tag);  // the holdout takes a while: no spinning
      world_.recv(master_, batch_results_tag, results);
      if (results.size() != requests_.size()) throw Error("island 0 returned a batch of another size");
      for (std::size_t i = 0; i < results.size(); ++i) done_.push_back({tickets_[i], std::move(results[i])});
      tickets_.clear();
      requests_.clear();
    }
    CompletedEvaluation next = std::move(done_.front());
    done_.pop_front();
    return next;
  }
  int in_flight() const override { return static_cast<int>(requests_.size() + done_.size()); }

 private:
  const mpi::communicator& world_;
  int master_;
  std::vector<std::int64_t> tickets_;
  std::vector<EvaluationRequest> requests_;
  std::deque<CompletedEvaluation> done_;
};

}  // namespace

struct MpiIslands::State {
  State(const MpiSession& session, const RunConfig& run_config, std::function<bool()> stop)
      : world(session.impl().world),
        config(run_config),
        layout(session.size(), run_config.islands.count),
        should_stop(std::move(stop)),
        final_evaluations(world, layout.master_of(0)) {}
  const mpi::communicator& world;
  const RunConfig& config;
  IslandLayout layout;
  std::function<bool()> should_stop;
  IslandZeroExecutor final_evaluations;
  bool stop_sent = false;
  bool finished = false;
};

MpiIslands::MpiIslands(const MpiSession& session, const RunConfig& config, std::function<bool()> should_stop)
    : state_(std::make_unique<State>(session, config, std::move(should_stop))) {
  if (!session.is_master()) throw Error("MpiIslands runs on the recorder (rank 0)");
  if (const std::string problem = state_->layout.problem(); !problem.empty()) throw ConfigError(problem);
}

MpiIslands::~MpiIslands() = default;

void MpiIslands::start(std::int64_t first_generation, std::int64_t total_generations,
                       const std::vector<StrategyState>& states) {
  for (int island = 0; island < state_->layout.islands(); ++island) {
    const StartMessage start{first_generation, total_generations, state_->config.run.seed,
                             states.at(static_cast<std::size_t>(island))};
    state_->world.send(state_->layout.master_of(island), start_tag, start);
  }
}

IslandEvent MpiIslands::next() {
  const mpi::communicator& world = state_->world;
  while (true) {
    // Polled, not a blocking receive: the recorder checks for a stop request meanwhile, and on an
    // oversubscribed node it leaves the cores to the masters and workers.
    const boost::optional<mpi::status> found = world.iprobe(mpi::any_source, mpi::any_tag);
    if (!found) {
      if (!state_->stop_sent && state_->should_stop && state_->should_stop()) stop();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    IslandEvent event;
    event.island = state_->layout.island_of(found->source());
    switch (found->tag()) {
      case report_tag:
        event.kind = IslandEvent::Kind::generation;
        world.recv(found->source(), report_tag, event.report);
        event.generation = event.report.generation;
        return event;
      case state_tag: {
        StateMessage message;
        world.recv(found->source(), state_tag, message);
        event.kind = IslandEvent::Kind::state;
        event.generation = message.generation;
        event.state = std::move(message.state);
        return event;
      }
      case stopped_tag: {
        StoppedMessage message;
        world.recv(found->source(), stopped_tag, message);
        event.kind = IslandEvent::Kind::stopped;
        event.generation = message.generation;
        event.unfinished.genomes = std::move(message.genomes);
        event.unfinished.results = std::move(message.results);
        return event;
      }
      case finished_tag:
        world.recv(found->source(), finished_tag, event.generation);
        event.kind = IslandEvent::Kind::finished;
        return event;
      default:
        throw Error("the recorder got an unexpected message (tag " + std::to_string(found->tag()) + ") from rank " +
                    std::to_string(found->source()));
    }
  }
}

void MpiIslands::send_migrants(int island, std::int64_t generation, const std::vector<Genome>& migrants) {
  state_->world.send(state_->layout.master_of(island), migrants_tag, MigrantsMessage{generation, migrants});
}

void MpiIslands::abort_migration(int island) { state_->world.send(state_->layout.master_of(island), abort_tag); }

void MpiIslands::stop() {
  if (state_->stop_sent) return;
  state_->stop_sent = true;
  for (int island = 0; island < state_->layout.islands(); ++island) {
    state_->world.send(state_->layout.master_of(island), stop_tag);
  }
}

Executor& MpiIslands::final_executor() { return state_->final_evaluations; }

void MpiIslands::finish() {
  if (state_->finished) return;
  state_->finished = true;
  for (int island = 0; island < state_->layout.islands(); ++island) {
    state_->world.send(state_->layout.master_of(island), finish_tag);
  }
}

void run_island_master(const MpiSession& session, RunConfig config, const std::function<bool()>& should_stop) {
  const mpi::communicator& world = session.impl().world;
  const IslandLayout layout(session.size(), config.islands.count);
  const int index = layout.island_of(session.rank());
  MpiExecutor executor(session);

  StartMessage start;
  world.recv(recorder_rank, start_tag, start);
  config.run.seed = start.seed;
  config.run.generations = start.total_generations;
  Island island(config, index);
  island.strategy().load_state(start.state);

  bool stop_heard = false;
  // Polled before every submission: the probe (which runs MPI's progress over every peer) at most
  // every millisecond, so handing out a round is not a probe per request.
  auto next_probe = std::chrono::steady_clock::time_point{};
  auto stop_requested = [&] {
    if (!stop_heard) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_probe) {
        next_probe = now + std::chrono::milliseconds(1);
        if (world.iprobe(recorder_rank, stop_tag)) {
          world.recv(recorder_rank, stop_tag);
          stop_heard = true;
        }
      }
    }
    return stop_heard || (should_stop && should_stop());
  };
  // Reports and states go out without waiting for the recorder (it may be committing): the
  // workers get the next generation at once. Boost.MPI keeps each serialized message in its request.
  std::vector<mpi::request> sends;
  auto send_ahead = [&](int tag, const auto& message) {
    std::erase_if(sends, [](mpi::request& request) { return static_cast<bool>(request.test()); });
    sends.push_back(world.isend(recorder_rank, tag, message));
  };
  // A generation's report (unless migrants wait on it) and its state go out once the next
  // generation's first round is with the workers: serializing them is then no gap of theirs.
  std::optional<IslandGeneration> pending_report;
  std::optional<StateMessage> pending_state;
  auto send_pending = [&] {
    if (pending_report) send_ahead(report_tag, *std::exchange(pending_report, std::nullopt));
    if (pending_state) send_ahead(state_tag, *std::exchange(pending_state, std::nullopt));
  };
  auto send_stopped = [&](std::int64_t generation, Island::Stopped unfinished) {
    send_pending();  // in order: the recorder hears the last state before the stop
    world.send(recorder_rank, stopped_tag,
               StoppedMessage{index, generation, std::move(unfinished.genomes), std::move(unfinished.results)});
  };

  bool ended = false;
  for (std::int64_t generation = start.first_generation; generation < start.total_generations && !ended;
       ++generation) {
    if (stop_requested()) {
      send_stopped(generation, {});
      ended = true;
      break;
    }
    Island::Stopped unfinished;
    std::optional<IslandGeneration> report = island.run_generation(executor, stop_requested, unfinished, send_pending);
    if (!report) {
      send_stopped(generation, std::move(unfinished));
      ended = true;
      break;
    }
    if (migration_due(config.islands, generation, start.total_generations)) {
      send_ahead(report_tag, *report);  // the recorder routes the migrants as it hears it
      // The migrants of this generation, or an abort when their source stopped first. A stop heard
      // meanwhile waits until they are in: the state of this generation then still reaches the recorder.
      while (true) {
        const mpi::status status = wait_for_message(world, recorder_rank, mpi::any_tag);
        if (status.tag() == stop_tag) {
          world.recv(recorder_rank, stop_tag);
          stop_heard = true;
        } else if (status.tag() == migrants_tag) {
          MigrantsMessage migrants;
          world.recv(recorder_rank, migrants_tag, migrants);
          if (migrants.generation != generation) {
            throw Error("island " + std::to_string(index) + " got the migrants of generation " +
                        std::to_string(migrants.generation) + " while waiting for those of " +
                        std::to_string(generation));
          }
          island.strategy().accept_migrants(migrants.genomes);
          break;
        } else if (status.tag() == abort_tag) {
          world.recv(recorder_rank, abort_tag);
          send_stopped(generation + 1, {});
          ended = true;
          break;
        } else {
          throw Error("island " + std::to_string(index) + " got an unexpected message (tag " +
                      std::to_string(status.tag()) + ") while waiting for migrants");
        }
      }
      if (ended) break;
    } else {
      pending_report = std::move(*report);
    }
    pending_state = StateMessage{index, generation, island.strategy().save_state()};
  }
  send_pending();
  if (!ended) world.send(recorder_rank, finished_tag, start.total_generations);
  mpi::wait_all(sends.begin(), sends.end());

  // Serve the recorder until it finishes the run: final evaluations (island 0), and the late stop
  // and abort messages of a run that ended anyway.
  while (true) {
    const mpi::status status = wait_for_message(world, recorder_rank, mpi::any_tag);
    if (status.tag() == finish_tag) {
      world.recv(recorder_rank, finish_tag);
      break;
    }
    if (status.tag() == batch_tag) {
      std::vector<EvaluationRequest> requests;
      world.recv(recorder_rank, batch_tag, requests);
      Executor::Batch batch = executor.evaluate(requests);
      world.send(recorder_rank, batch_results_tag, batch.results);
    } else if (status.tag() == migrants_tag) {
      MigrantsMessage ignored;
      world.recv(recorder_rank, migrants_tag, ignored);
    } else {
      world.recv(recorder_rank, status.tag());  // stop, abort: nothing left to stop
    }
  }
  executor.shutdown();
}

}  // namespace metaevo
