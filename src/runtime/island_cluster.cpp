#include "metaevo/runtime/island_cluster.hpp"

#include <deque>
#include <map>
#include <optional>

#include "metaevo/core/error.hpp"
#include "metaevo/runtime/executor.hpp"

namespace metaevo {

struct InProcessIslands::Member {
  Member(const RunConfig& config, int index) : island(config, index) {}
  Island island;
  std::int64_t next_generation = 0;
  std::optional<std::int64_t> waiting_for;         // the generation whose migrants it waits for
  std::map<std::int64_t, std::vector<Genome>> inbox;  // migrants by generation
  bool aborted = false;
  bool done = false;
  std::deque<IslandEvent> outbox;  // events made but not yet heard
};

InProcessIslands::InProcessIslands(const RunConfig& config, Executor& executor, std::function<bool()> should_stop)
    : config_(config), executor_(executor), should_stop_(std::move(should_stop)) {}

InProcessIslands::~InProcessIslands() = default;

void InProcessIslands::start(std::int64_t first_generation, std::int64_t total_generations,
                             const std::vector<StrategyState>& states) {
  total_generations_ = total_generations;
  members_.clear();
  members_.reserve(static_cast<std::size_t>(config_.islands.count));
  for (int index = 0; index < config_.islands.count; ++index) {
    Member& member = members_.emplace_back(config_, index);
    member.island.strategy().load_state(states.at(static_cast<std::size_t>(index)));
    member.next_generation = first_generation;
  }
}

void InProcessIslands::send_migrants(int island, std::int64_t generation, const std::vector<Genome>& migrants) {
  members_.at(static_cast<std::size_t>(island)).inbox[generation] = migrants;
}

void InProcessIslands::abort_migration(int island) { members_.at(static_cast<std::size_t>(island)).aborted = true; }

IslandEvent InProcessIslands::next() {
  auto stopped = [](int island, std::int64_t generation, Island::Stopped unfinished = {}) {
    IslandEvent event;
    event.kind = IslandEvent::Kind::stopped;
    event.island = island;
    event.generation = generation;
    event.unfinished = std::move(unfinished);
    return event;
  };
  auto state_of = [](Member& member, std::int64_t generation) {
    IslandEvent event;
    event.kind = IslandEvent::Kind::state;
    event.island = member.island.index();
    event.generation = generation;
    event.state = member.island.strategy().save_state();
    return event;
  };
  const std::function<bool()> stop_requested = [this] { return stopping_ || (should_stop_ && should_stop_()); };

  while (true) {
    // Generation by generation, island by island: the member furthest behind goes next.
    Member* chosen = nullptr;
    for (Member& member : members_) {
      if (!member.outbox.empty()) {
        IslandEvent event = std::move(member.outbox.front());
        member.outbox.pop_front();
        return event;
      }
      if (member.done) continue;
      const bool blocked = member.waiting_for && member.inbox.count(*member.waiting_for) == 0 && !member.aborted;
      if (blocked) continue;
      if (chosen == nullptr || member.next_generation < chosen->next_generation) chosen = &member;
    }
    if (chosen == nullptr) throw Error("InProcessIslands::next: no island can go on (none is running)");
    Member& member = *chosen;
    const int index = member.island.index();
    if (member.waiting_for) {
      const std::int64_t generation = *member.waiting_for;
      const auto migrants = member.inbox.find(generation);
      if (migrants == member.inbox.end()) {  // aborted: its source stopped before this generation
        member.done = true;
        return stopped(index, generation + 1);
      }
      member.island.strategy().accept_migrants(migrants->second);
      member.inbox.erase(migrants);
      member.waiting_for.reset();
      return state_of(member, generation);
    }
    if (member.next_generation >= total_generations_) {
      member.done = true;
      IslandEvent event;
      event.island = index;
      event.generation = member.next_generation;
      return event;  // finished
    }
    if (stop_requested()) {
      member.done = true;
      return stopped(index, member.next_generation);
    }
    Island::Stopped unfinished;
    std::optional<IslandGeneration> report = member.island.run_generation(executor_, stop_requested, unfinished);
    if (!report) {
      member.done = true;
      return stopped(index, member.next_generation, std::move(unfinished));
    }
    const std::int64_t generation = member.next_generation++;
    IslandEvent event;
    event.kind = IslandEvent::Kind::generation;
    event.island = index;
    event.generation = generation;
    event.report = std::move(*report);
    if (migration_due(config_.islands, generation, total_generations_)) {
      member.waiting_for = generation;
    } else {
      member.outbox.push_back(state_of(member, generation));
    }
    return event;
  }
}

}  // namespace metaevo
