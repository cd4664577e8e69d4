// Cost of a commit as a run grows, with the segmented run file (docs/benchmarks.md, "Commit cost over
// a long run"; layout in docs/hdf5-schema.md).
//
// A 5,000-gene diagnostic search (sphere, [objective] dimension = 5000) with population 64, driven by a
// registered strategy (openai_es by default, or ga) from a synthetic fitness, and stored generation by
// generation exactly as the runtime's Session does: append_generation, append_strategy_statistics,
// append_evaluations, write_best, save_state and commit (a checkpoint every generation). Reports, as
// medians over repeats of the median over a window of generations, the commit time early in the run
// and at its end, the whole store cost of a generation (wall and CPU time), the bytes a commit writes,
// and the bytes of the whole run (what a schema-2 commit, a copy of the whole file, copied). Built
// against schema 2 (no segments), the same program measures the old commit.
//
// A plain main() printing tables (each measurement depends on the file built by the ones before it).
//
//   segment_benchmark [--dir DIR] [--generations G] [--repeats N] [--strategy openai_es|ga]
//                     [--window W]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/search/search_strategy.hpp"
#include "metaevo/search/strategy_registry.hpp"
#include "metaevo/store/run_store.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// CPU time of this thread: what storing costs the master's processor, whatever other jobs do to the
/// wall clock on a shared machine (waiting for fsync is not in it).
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string config_text(const std::string& strategy, std::int64_t generations) {
  std::string text = "[run]\nseed = 11\ngenerations = " + std::to_string(generations) + "\n\n[search]\nstrategy = \"" +
                     strategy + "\"\n\n";
  text += strategy == "ga" ? "[ga]\npopulation_size = 64\n\n" : "[search." + strategy + "]\npopulation_size = 64\n\n";
  text += "[objective]\nfunction = \"sphere\"\ndimension = 5000\n";
  return text;
}

/// Per generation (seconds, bytes).
struct GenerationCost {
  double store = 0.0;   // everything the master does to store the generation, commit included
  double commit = 0.0;  // RunStore::commit alone
  double append = 0.0;  // RunStore::append_generation alone
  double state = 0.0;   // the strategy's save_state (building the checkpoint in memory)
  double store_cpu = 0.0;  // CPU time of `store`
  double committed_bytes = 0.0;  // the new segment + the root: what this commit wrote
  double total_bytes = 0.0;      // the root + every segment: what a schema-2 commit copied
};

std::uintmax_t directory_bytes(const std::filesystem::path& directory) {
  std::uintmax_t bytes = 0;
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) return 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) bytes += entry.file_size();
  return bytes;
}

std::vector<GenerationCost> store_run(const metaevo::RunConfig& config, std::int64_t generations,
                                      const std::filesystem::path& file) {
  const std::unique_ptr<metaevo::SearchStrategy> strategy = metaevo::make_search_strategy(
      config.search.strategy, config.search_space(), config.strategy_options(), config.run.seed);
  const std::filesystem::path segments(file.string() + ".segments");
  metaevo::RunStore store = metaevo::RunStore::create(file, config);
  metaevo::Checkpoint checkpoint;
  checkpoint.strategy_state = strategy->save_state();
  store.commit(checkpoint);
  std::vector<GenerationCost> costs;
  std::uintmax_t segment_bytes_before = directory_bytes(segments);
  for (std::int64_t generation = 0; generation < generations; ++generation) {
    const std::vector<metaevo::Genome> population = strategy->ask();
    std::vector<double> fitness;
    std::vector<metaevo::EvaluationResult> results(population.size());
    for (std::size_t i = 0; i < population.size(); ++i) {
      fitness.push_back((population[i].x.array() - 0.3).square().sum());
      results[i].genome_id = population[i].id;
      results[i].fitness = fitness.back();
      results[i].mean_final_loss = fitness.back();
      results[i].wall_seconds = 1.0;
      results[i].start_time = 1.7e9 + static_cast<double>(generation);
      results[i].end_time = results[i].start_time + 1.0;
    }
    strategy->tell(fitness);

    GenerationCost cost;
    const double cpu_start = thread_cpu_seconds();
    const auto start = clock_type::now();
    store.append_generation(population, results);
    cost.append = seconds_since(start);
    store.append_strategy_statistics(strategy->statistics());
    store.append_evaluations(population, results, 0);
    if (strategy->best()) store.write_best(*strategy->best(), strategy->best_fitness());
    checkpoint.completed_generations = store.completed_generations();
    const auto state_start = clock_type::now();
    checkpoint.strategy_state = strategy->save_state();
    cost.state = seconds_since(state_start);
    const auto commit_start = clock_type::now();
    store.commit(checkpoint);
    cost.commit = seconds_since(commit_start);
    cost.store = seconds_since(start);
    cost.store_cpu = thread_cpu_seconds() - cpu_start;
    const std::uintmax_t segment_bytes = directory_bytes(segments);
    const auto root_bytes = static_cast<double>(std::filesystem::file_size(file));
    cost.committed_bytes = static_cast<double>(segment_bytes - segment_bytes_before) + root_bytes;
    cost.total_bytes = static_cast<double>(segment_bytes) + root_bytes;
    segment_bytes_before = segment_bytes;
    costs.push_back(cost);
  }
  return costs;
}

/// The median of `field` over generations [first, last] (1-based) of one run.
double window_median(const std::vector<GenerationCost>& run, std::int64_t first, std::int64_t last,
                     double GenerationCost::*field) {
  std::vector<double> values;
  for (std::int64_t g = std::max<std::int64_t>(first, 1); g <= last && g <= static_cast<std::int64_t>(run.size()); ++g) {
    values.push_back(run[static_cast<std::size_t>(g - 1)].*field);
  }
  return median_of(values);
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path directory = std::filesystem::temp_directory_path();
  std::int64_t generations = 500;
  std::int64_t window = 5;
  int repeats = 3;
  std::string strategy = "openai_es";
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "flag %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--dir") {
      directory = value;
    } else if (flag == "--generations") {
      generations = std::max<std::int64_t>(20, std::atoll(value.c_str()));
    } else if (flag == "--repeats") {
      repeats = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--strategy") {
      strategy = value;
    } else if (flag == "--window") {
      window = std::max<std::int64_t>(0, std::atoll(value.c_str()));
    } else {
      std::fprintf(stderr, "unknown flag %s (flags: --dir --generations --repeats --strategy --window)\n", flag.c_str());
      return 2;
    }
  }
  try {
    const metaevo::RunConfig config = metaevo::parse_config(config_text(strategy, generations), "<segment_benchmark>");
    const std::filesystem::path file = directory / "segment_benchmark.h5";
    std::printf("## %s, population %d, 5000 genes, %lld generations, a commit every generation, median of %d runs, "
                "files in %s\n\n",
                strategy.c_str(), config.population_size(), static_cast<long long>(generations), repeats,
                directory.string().c_str());
    std::fflush(stdout);
    std::vector<std::vector<GenerationCost>> runs;
    for (int r = 0; r < repeats; ++r) {
      runs.push_back(store_run(config, generations, file));
      std::filesystem::remove(file);
      std::filesystem::remove_all(file.string() + ".segments");
      std::fprintf(stderr, "run %d of %d done\n", r + 1, repeats);
    }
    std::printf("| generation (window) | commit | append_generation | save_state | store a generation (all of it) | "
                "its CPU time | bytes a commit wrote | bytes in the run |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    std::vector<double> early_commit, late_commit;
    for (const std::int64_t at : {std::int64_t{10}, generations / 2, generations}) {
      const std::int64_t first = at - window, last = at + window;
      std::vector<double> commit, store, written, copied, append, state, cpu;
      for (const auto& run : runs) {
        commit.push_back(window_median(run, first, last, &GenerationCost::commit));
        append.push_back(window_median(run, first, last, &GenerationCost::append));
        state.push_back(window_median(run, first, last, &GenerationCost::state));
        cpu.push_back(window_median(run, first, last, &GenerationCost::store_cpu));
        store.push_back(window_median(run, first, last, &GenerationCost::store));
        written.push_back(window_median(run, first, last, &GenerationCost::committed_bytes));
        copied.push_back(window_median(run, first, last, &GenerationCost::total_bytes));
      }
      if (at == 10) early_commit = commit;
      if (at == generations) late_commit = commit;
      std::printf("| %lld (%lld-%lld) | %.1f ms | %.1f ms | %.1f ms | %.1f ms (%.2f%% of 1 s) | %.1f ms | %.2f MB | %.0f MB |\n",
                  static_cast<long long>(at), static_cast<long long>(std::max<std::int64_t>(first, 1)),
                  static_cast<long long>(std::min(last, generations)), 1e3 * median_of(commit),
                  1e3 * median_of(append), 1e3 * median_of(state), 1e3 * median_of(store), 100.0 * median_of(store),
                  1e3 * median_of(cpu), median_of(written) / 1e6, median_of(copied) / 1e6);
    }
    std::vector<double> all_store, all_commit, all_cpu;
    for (const auto& run : runs) {
      for (const GenerationCost& cost : run) {
        all_cpu.push_back(cost.store_cpu);
        all_store.push_back(cost.store);
        all_commit.push_back(cost.commit);
      }
    }
    std::sort(all_commit.begin(), all_commit.end());
    std::printf("\nover every generation of every run: commit median %.1f ms, p90 %.1f ms, max %.1f ms; store median "
                "%.1f ms = %.2f%% of a 1 s generation (CPU time %.1f ms = %.2f%%)\n",
                1e3 * median_of(all_commit), 1e3 * all_commit[all_commit.size() * 9 / 10], 1e3 * all_commit.back(),
                1e3 * median_of(all_store), 100.0 * median_of(all_store), 1e3 * median_of(all_cpu),
                100.0 * median_of(all_cpu));
    std::printf("commit at generation %lld / commit at generation 10: %.2f\n", static_cast<long long>(generations),
                median_of(late_commit) / median_of(early_commit));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "segment_benchmark: %s\n", error.what());
    return 1;
  }
  return 0;
}
