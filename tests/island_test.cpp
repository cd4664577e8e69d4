// Islands: the rank layout, the [islands] config, migrants in the GA, and whole island runs that
// must give the same file in one process, under mpirun with any ranks per island, and after a stop
// or a kill -9 and a resume.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/runtime/island.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/search/strategy_registry.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

constexpr int island_count = 3;
constexpr int island_population = 6;
constexpr int island_generations = 8;

// Three islands of 6, migrants (2) after generations 2, 4 and 6 (0-based 1, 3, 5), validation on.
constexpr const char* island_config = R"([run]
seed = 77
generations = 8

[ga]
population_size = 6
elite_count = 1

[evaluation]
tasks_per_evaluation = 2
inner_steps = 30
holdout_tasks = 2
validation_tasks = 4

[islands]
count = 3
migration_interval = 2
migration_size = 2

[update_rule]
family = "adam"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
beta1 = { kind = "real", low = 0.5, high = 0.99 }

[[tasks]]
family = "quadratic"
dimension = 6
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string with_islands(const std::string& islands_table) {
  std::string text = island_config;
  const std::size_t begin = text.find("[islands]");
  const std::size_t end = text.find("[update_rule]");
  return text.substr(0, begin) + islands_table + "\n" + text.substr(end);
}

TEST(IslandLayout, SplitsTheRanksAfterTheRecorderIntoNearlyEqualBlocks) {
  const IslandLayout layout(10, 4);  // ranks 1..9: blocks of 3, 2, 2, 2
  EXPECT_TRUE(layout.problem().empty());
  EXPECT_EQ(layout.island_of(0), -1);
  EXPECT_EQ(layout.master_of(0), 1);
  EXPECT_EQ(layout.master_of(1), 4);
  EXPECT_EQ(layout.master_of(2), 6);
  EXPECT_EQ(layout.master_of(3), 8);
  EXPECT_EQ(layout.ranks_of(0), 3);
  EXPECT_EQ(layout.ranks_of(3), 2);
  EXPECT_EQ(layout.island_of(3), 0);
  EXPECT_EQ(layout.island_of(5), 1);
  EXPECT_EQ(layout.island_of(9), 3);
  EXPECT_TRUE(layout.is_island_master(6));
  EXPECT_FALSE(layout.is_island_master(7));
  EXPECT_FALSE(layout.is_island_master(0));
}

TEST(IslandLayout, EveryRankHasOneRoleInEveryLayout) {
  for (int world = 3; world <= 70; ++world) {
    for (int islands = 2; 1 + 2 * islands <= world; ++islands) {
      const IslandLayout layout(world, islands);
      int rank = 1;
      for (int island = 0; island < islands; ++island) {
        EXPECT_EQ(layout.master_of(island), rank) << world << " ranks, " << islands << " islands";
        EXPECT_GE(layout.ranks_of(island), 2);
        for (int member = 0; member < layout.ranks_of(island); ++member, ++rank) {
          EXPECT_EQ(layout.island_of(rank), island) << world << " ranks, " << islands << " islands, rank " << rank;
        }
      }
      EXPECT_EQ(rank, world);
    }
  }
}

TEST(IslandLayout, NamesTheRanksATooSmallWorldLacks) {
  EXPECT_EQ(IslandLayout(8, 4).problem(),
            "islands.count = 4 needs at least 9 MPI ranks (a recorder, then a master and a worker per island), got 8; "
            "run with mpirun -np 9 or more, or without mpirun (one process)");
  EXPECT_TRUE(IslandLayout(1, 4).problem().empty());  // one process runs them all
  EXPECT_TRUE(IslandLayout(2, 1).problem().empty());
  EXPECT_FALSE(IslandLayout(2, 1).has_recorder());
}

TEST(IslandConfig, ReadsTheTableAndSizesTheGeneration) {
  const RunConfig config = parse_config(island_config);
  EXPECT_EQ(config.islands.count, 3);
  EXPECT_EQ(config.islands.migration_interval, 2);
  EXPECT_EQ(config.islands.migration_size, 2);
  EXPECT_EQ(config.islands.topology, IslandTopology::ring);
  EXPECT_EQ(config.population_size(), 6);
  EXPECT_EQ(config.generation_size(), 18);
  EXPECT_EQ(parse_config(with_islands("")).islands.count, 1);
}

void expect_config_error(const std::string& text, const std::string& expected) {
  try {
    parse_config(text, "islands.toml");
    ADD_FAILURE() << "accepted; expected: " << expected;
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  }
}

TEST(IslandConfig, RefusesWhatIslandsCannotRun) {
  expect_config_error(with_islands("[islands]\ncount = 0"), "islands.count must be");
  expect_config_error(with_islands("[islands]\ncount = 2\nmigration_interval = 0"), "islands.migration_interval must be");
  expect_config_error(with_islands("[islands]\ncount = 2\ntopology = \"star\""), "islands.topology must be one of");
  expect_config_error(with_islands("[islands]\ncount = 2\nmigrants = 3"), "unknown key islands.migrants");
  // Migrants never replace an elite: 6 genomes, 1 elite.
  expect_config_error(with_islands("[islands]\ncount = 2\nmigration_size = 6"),
                      "islands.toml:17: islands.migration_size must be <= 5");
  expect_config_error(replaced(with_islands("[islands]\ncount = 2"), "generations = 8", "generations = 8\nmode = \"steady_state\""),
                      "run.mode must be \"generational\" with islands.count > 1");
  const std::string cma = replaced(with_islands("[islands]\ncount = 2\nmigration_size = 1"),
                                   "[ga]\npopulation_size = 6\nelite_count = 1", "[search]\nstrategy = \"sep_cma_es\"");
  expect_config_error(cma, "islands.migration_size must be 0 with search strategy sep_cma_es");
  const RunConfig independent = parse_config(replaced(cma, "migration_size = 1", "migration_size = 0"));
  EXPECT_EQ(independent.islands.count, 2);  // independent islands: any strategy
  // ... and each island's sep-CMA-ES numbers its genomes in its own block.
  Island second(independent, 1);
  const std::int64_t lambda = second.strategy().population_size();
  EXPECT_EQ(second.strategy().ask().front().id, lambda);
}

TEST(IslandMigrants, ReplaceTheLastGenomesOfTheNextPopulationAndNameTheirSource) {
  const RunConfig config = parse_config(island_config);
  Island island(config, 1);
  SearchStrategy& ga = island.strategy();
  // Island 1 of 3, population 6: ids generation * 18 + 6 + index.
  EXPECT_EQ(ga.ask().front().id, 6);
  EXPECT_EQ(ga.ask().back().id, 11);
  ga.tell({5, 4, 3, 2, 1, 0});
  const std::vector<Genome> before = ga.ask();
  EXPECT_EQ(before.front().id, 24);
  Genome first = before[0];
  first.id = 1000;
  first.x.setConstant(0.125);
  Genome second = first;
  second.id = 1001;
  second.x.setConstant(0.75);
  ga.accept_migrants({first, second});
  const std::vector<Genome>& after = ga.ask();
  ASSERT_EQ(after.size(), 6u);
  EXPECT_EQ(after[5].parent_a, 1000);  // the best migrant takes the last place
  EXPECT_EQ(after[5].parent_b, 1000);
  EXPECT_EQ(after[5].x, first.x);
  EXPECT_EQ(after[5].id, 29);  // the slot keeps its id
  EXPECT_EQ(after[4].parent_a, 1001);
  EXPECT_EQ(after[4].x, second.x);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(after[static_cast<std::size_t>(i)].x, before[static_cast<std::size_t>(i)].x);
  EXPECT_THROW(ga.accept_migrants(std::vector<Genome>(6, first)), Error);  // would replace the elite
}

TEST(IslandMigrants, AreTheBestOfTheGenerationBestFirst) {
  IslandGeneration generation;
  for (int i = 0; i < 4; ++i) {
    Genome genome;
    genome.id = i;
    generation.population.push_back(genome);
    EvaluationResult result;
    result.fitness = i == 2 ? -3.0 : (i == 0 ? std::numeric_limits<double>::quiet_NaN() : -1.0 * i);
    generation.results.push_back(result);
  }
  const std::vector<Genome> migrants = select_migrants(generation, 2);
  ASSERT_EQ(migrants.size(), 2u);
  EXPECT_EQ(migrants[0].id, 2);
  EXPECT_EQ(migrants[1].id, 3);
}

TEST(IslandMigrants, OnlyAfterEveryIntervalAndNeverAfterTheLastGeneration) {
  IslandOptions islands;
  islands.count = 2;
  islands.migration_interval = 3;
  EXPECT_FALSE(migration_due(islands, 0, 9));
  EXPECT_TRUE(migration_due(islands, 2, 9));
  EXPECT_TRUE(migration_due(islands, 5, 9));
  EXPECT_FALSE(migration_due(islands, 8, 9));
  islands.migration_size = 0;
  EXPECT_FALSE(migration_due(islands, 2, 9));
  islands.count = 3;
  EXPECT_EQ(migration_target(islands, 2), 0);
}

TEST(IslandRun, StoresEveryIslandInItsColumnsWithUniqueIdsAndMigrantsFromThePreviousIsland) {
  TemporaryPath output(".h5");
  RunCallbacks callbacks;
  std::vector<GenerationRecord> records;
  callbacks.on_generation = [&](const GenerationRecord& record) { records.push_back(record); };
  const RunSummary summary = run_search(parse_config(island_config), output.path(), callbacks);
  EXPECT_EQ(summary.termination, Termination::completed);
  const RunFileContents contents = read_run_file(output.path());
  // Each record is a whole row (island -1) with one record per island: the island's block of it.
  ASSERT_EQ(records.size(), static_cast<std::size_t>(island_generations));
  for (const GenerationRecord& record : records) {
    SCOPED_TRACE("generation " + std::to_string(record.generation));
    EXPECT_EQ(record.island, -1);
    ASSERT_EQ(record.islands.size(), static_cast<std::size_t>(island_count));
    double best_of_islands = record.islands[0].best_fitness;
    for (int island = 0; island < island_count; ++island) {
      const GenerationRecord& part = record.islands[static_cast<std::size_t>(island)];
      EXPECT_EQ(part.island, island);
      EXPECT_EQ(part.generation, record.generation);
      EXPECT_EQ(part.evaluations, island_population);
      const auto& row = contents.fitness[static_cast<std::size_t>(record.generation)];
      const auto block = row.begin() + island * island_population;
      EXPECT_EQ(part.best_fitness, *std::min_element(block, block + island_population));
      EXPECT_GE(part.best_so_far, record.best_so_far);  // the run's best is the best island's
      best_of_islands = std::min(best_of_islands, part.best_fitness);
    }
    EXPECT_EQ(best_of_islands, record.best_fitness);
  }
  EXPECT_EQ(contents.population_size, island_count * island_population);
  EXPECT_EQ(contents.generations, island_generations);
  EXPECT_EQ(testing_support::read_int64_attribute(output.path(), "/config", "islands"), island_count);
  EXPECT_EQ(testing_support::read_int64_attribute(output.path(), "/config", "island_population_size"),
            island_population);
  const std::vector<std::int64_t> ids = testing_support::read_int64_dataset(output.path(), "/generations/genome_id");
  const std::vector<std::int64_t> parents = testing_support::read_int64_dataset(output.path(), "/generations/parent_a");
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(island_generations * island_count * island_population));
  const std::set<std::int64_t> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  const int row = island_count * island_population;
  int migrants_seen = 0;
  for (int generation = 0; generation < island_generations; ++generation) {
    for (int column = 0; column < row; ++column) {
      const std::size_t at = static_cast<std::size_t>(generation * row + column);
      EXPECT_EQ(ids[at], generation * row + column);  // island i in columns [6i, 6i + 6)
      if (generation == 0) continue;
      // A parent is of the previous generation; a migrant's (the last two places of a generation
      // after a migration) is of the previous island's block.
      const std::int64_t parent = parents[at];
      const int parent_column = static_cast<int>(parent - (generation - 1) * row);
      ASSERT_GE(parent_column, 0);
      ASSERT_LT(parent_column, row);
      const int island = column / island_population;
      const int parent_island = parent_column / island_population;
      const bool migrant_place = generation % 2 == 0 && column % island_population >= island_population - 2;
      if (migrant_place) {
        EXPECT_EQ(parent_island, (island + island_count - 1) % island_count) << "generation " << generation;
        ++migrants_seen;
      } else {
        EXPECT_EQ(parent_island, island) << "generation " << generation << " column " << column;
      }
    }
  }
  EXPECT_EQ(migrants_seen, 3 * island_count * 2);
  const auto inspected = run_command(std::string(METAEVO_CLI_PATH) + " inspect " + output.string());
  EXPECT_NE(inspected.output.find("islands      : 3 of 6 genomes (island i: columns 6i..6i+5 of each generation); 2 "
                                  "migrants every 2 generations, ring"),
            std::string::npos)
      << inspected.output;
  // Statistics per island.
  EXPECT_FALSE(testing_support::read_double_dataset(output.path(), "/generations/strategy/mean_step_size_island2").empty());
}

TEST(IslandRun, StoppedInProcessThenResumedGivesTheUninterruptedRun) {
  const RunConfig config = parse_config(island_config);
  TemporaryPath reference(".reference.h5");
  run_search(config, reference.path());
  for (const int stop_after : {3, 40, 150}) {  // polls (one per evaluation): in generation 0, then later
    SCOPED_TRACE("stop after " + std::to_string(stop_after) + " polls");
    TemporaryPath output(".h5");
    RunCallbacks callbacks;
    int polls = 0;
    callbacks.should_stop = [&] { return ++polls > stop_after; };
    const RunSummary stopped = run_search(config, output.path(), callbacks);
    EXPECT_EQ(stopped.termination, Termination::interrupted);
    EXPECT_LT(read_run_file(output.path()).generations, island_generations);
    ResumePlan plan = plan_resume(output.path());
    const RunSummary resumed = resume_search(plan);
    EXPECT_EQ(resumed.termination, Termination::completed);
    testing_support::expect_same_results(reference.path(), output.path());
  }
}

class IslandMpiRun : public ::testing::Test {
 protected:
  void SetUp() override { write_config(island_config); }
  void write_config(const std::string& text) { std::ofstream(config_.path()) << text; }
  std::string run_line(const TemporaryPath& output, int ranks) const {
    const std::string cli = METAEVO_CLI_PATH;
    const std::string launcher =
        ranks > 1 ? "mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " : std::string();
    return launcher + cli + " run " + config_.string() + " --quiet --force --out " + output.string();
  }
  TemporaryPath config_{"_config.toml"};
};

TEST_F(IslandMpiRun, AnyRanksPerIslandGiveTheSingleProcessFile) {
  TemporaryPath single(".single.h5");
  const auto in_process = run_command(run_line(single, 1));
  ASSERT_EQ(in_process.exit_status, 0) << in_process.output;
  for (const int ranks : {7, 11}) {  // 2 ranks per island; 4, 3, 3
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    TemporaryPath output(".mpi.h5");
    const auto job = run_command(run_line(output, ranks));
    ASSERT_EQ(job.exit_status, 0) << job.output;
    testing_support::expect_same_results(single.path(), output.path());
    const RunFileContents a = read_run_file(single.path());
    const RunFileContents b = read_run_file(output.path());
    EXPECT_EQ(a.best_genome_id, b.best_genome_id);
    EXPECT_EQ(a.best_validation_fitness, b.best_validation_fitness);
  }
}

TEST_F(IslandMpiRun, TooFewRanksAreAConfigErrorBeforeAnyFile) {
  TemporaryPath output(".h5");
  const auto job = run_command(run_line(output, 5));
  EXPECT_EQ(job.exit_status, 3) << job.output;  // exit_config_error
  EXPECT_NE(job.output.find("islands.count = 3 needs at least 7 MPI ranks"), std::string::npos) << job.output;
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

TEST_F(IslandMpiRun, KilledOrStoppedThenResumedGivesTheUninterruptedRun) {
  write_config(replaced(replaced(island_config, "generations = 8", "generations = 20"), "inner_steps = 30",
                        "inner_steps = 150"));  // long enough to be stopped mid-run
  TemporaryPath reference(".reference.h5");
  const auto in_process = run_command(run_line(reference, 1));
  ASSERT_EQ(in_process.exit_status, 0) << in_process.output;
  const std::string cli = METAEVO_CLI_PATH;
  for (const char* signal : {"-9", "-TERM"}) {
    SCOPED_TRACE(std::string("kill ") + signal);
    TemporaryPath output(".h5");
    run_command("(" + run_line(output, 7) + ") > /dev/null 2>&1 &");
    // Once generation 3 is stored, the whole job (mpirun and every rank) gets the signal.
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
      try {
        if (std::filesystem::exists(output.path()) && read_run_file(output.path()).generations >= 3) break;
      } catch (const StorageError&) {
        // Renamed over while we read it: look again.
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    run_command(std::string("pkill ") + signal + " -f '" + config_.string() + ".*--out " + output.string() + "'");
    // The job is gone once nothing names the file any more.
    for (int wait = 0; wait < 300; ++wait) {
      if (run_command("pgrep -f -- '--out " + output.string() + "'").exit_status != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const RunFileContents at_stop = read_run_file(output.path());
    EXPECT_TRUE(at_stop.has_checkpoint);
    const std::string resume =
        "mpirun --allow-run-as-root --oversubscribe -np 8 " + cli + " resume " + output.string() + " --quiet";
    const auto resumed = run_command(resume);
    ASSERT_EQ(resumed.exit_status, 0) << resume << "\n" << resumed.output;
    testing_support::expect_same_results(reference.path(), output.path());
  }
}

}  // namespace
}  // namespace metaevo
