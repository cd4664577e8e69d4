// Cost of crash-safe checkpoints in the run file (docs/benchmarks.md, "Checkpoints").
//
// Case A: population 256 x 1000 real genes, populations bred by the real GeneticAlgorithm from a
// synthetic fitness, stored generation by generation exactly as Session::record does (append_generation,
// append_evaluations, write_best, commit with the GA's serialized state). Reports append and commit
// times as the file grows, the file's growth per generation and the GA state's size.
// Case B: the quickstart config run in process with a checkpoint every generation and with only the
// final one, and the same store operations timed directly at the quickstart's size, as a share of a
// generation's time.
//
// A plain main() printing tables rather than Google Benchmark: each measurement depends on the file
// built by the ones before it, so it cannot be repeated in place.
//
//   checkpoint_benchmark [--dir DIR] [--repeats N] [--generations G] [--config quickstart.toml]
//                        [--quickstart-only]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>


#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_store.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/// Bytes of a strategy state's values (what the checkpoint's datasets hold, without HDF5 metadata).
double state_value_bytes(const metaevo::StrategyState& state) {
  double bytes = 0.0;
  for (const auto& [name, array] : state.reals) bytes += 8.0 * static_cast<double>(array.values.size());
  for (const auto& [name, array] : state.integers) bytes += 8.0 * static_cast<double>(array.values.size());
  return bytes;
}

/// Deterministic synthetic fitness: distance to a fixed point, so selection has something to do and
/// step sizes and parents evolve as in a real search.
std::vector<double> synthetic_fitness(const std::vector<metaevo::Genome>& population) {
  std::vector<double> fitness;
  fitness.reserve(population.size());
  for (const metaevo::Genome& genome : population) {
    fitness.push_back((genome.x.array() - 0.3).square().sum());
  }
  return fitness;
}

std::vector<metaevo::EvaluationResult> synthetic_results(const std::vector<metaevo::Genome>& population,
                                                         const std::vector<double>& fitness) {
  std::vector<metaevo::EvaluationResult> results(population.size());
  for (std::size_t i = 0; i < population.size(); ++i) {
    metaevo::EvaluationResult& result = results[i];
    result.genome_id = population[i].id;
    result.fitness = fitness[i];
    result.mean_final_loss = 0.5 * fitness[i];
    result.inner_steps = 1600;
    result.wall_seconds = 0.05;
    result.start_time = 1.7e9 + static_cast<double>(i);
    result.end_time = result.start_time + 0.05;
  }
  return results;
}

/// Per generation, one run of case A (seconds, bytes).
struct GenerationCost {
  double append_generation = 0.0;
  double append_evaluations = 0.0;
  double write_best = 0.0;
  double serialize = 0.0;
  double commit = 0.0;
  double copy_alone = 0.0;  // std::filesystem::copy_file of the committed file: the copy inside commit
  double file_bytes = 0.0;  // RUN.h5 after the commit
  double state_bytes = 0.0;
};

/// Stores `generations` generations of `config` as a run does, timing each step.
std::vector<GenerationCost> store_generations(const metaevo::RunConfig& config, std::int64_t generations,
                                              const std::filesystem::path& file) {
  const std::filesystem::path scratch_copy = file.string() + ".copy";
  metaevo::GeneticAlgorithm ga(config.search_space(), config.ga, config.run.seed);
  metaevo::RunStore store = metaevo::RunStore::create(file, config);
  metaevo::Checkpoint checkpoint;
  checkpoint.strategy_state = ga.save_state();
  store.commit(checkpoint);
  std::vector<GenerationCost> costs;
  for (std::int64_t generation = 0; generation < generations; ++generation) {
    GenerationCost cost;
    const std::vector<metaevo::Genome> population = ga.ask();
    const std::vector<double> fitness = synthetic_fitness(population);
    const std::vector<metaevo::EvaluationResult> results = synthetic_results(population, fitness);
    ga.tell(fitness);

    auto start = clock_type::now();
    store.append_generation(population, results);
    cost.append_generation = seconds_since(start);
    start = clock_type::now();
    store.append_evaluations(population, results, 0);
    cost.append_evaluations = seconds_since(start);
    start = clock_type::now();
    store.write_best(*ga.best(), ga.best_fitness());
    cost.write_best = seconds_since(start);

    start = clock_type::now();
    checkpoint.completed_generations = store.completed_generations();
    checkpoint.strategy_state = ga.save_state();
    cost.serialize = seconds_since(start);
    start = clock_type::now();
    store.commit(checkpoint);
    cost.commit = seconds_since(start);

    cost.file_bytes = static_cast<double>(std::filesystem::file_size(file));
    cost.state_bytes = state_value_bytes(*checkpoint.strategy_state);
    start = clock_type::now();
    std::filesystem::copy_file(file, scratch_copy, std::filesystem::copy_options::overwrite_existing);
    cost.copy_alone = seconds_since(start);
    std::filesystem::remove(scratch_copy);
    costs.push_back(cost);
  }
  return costs;
}

/// costs[repeat][generation] -> per generation, the median over repeats of `field`.
std::vector<double> median_over_repeats(const std::vector<std::vector<GenerationCost>>& costs,
                                        double GenerationCost::*field) {
  std::vector<double> medians;
  for (std::size_t g = 0; g < costs.front().size(); ++g) {
    std::vector<double> values;
    for (const auto& run : costs) values.push_back(run[g].*field);
    medians.push_back(median_of(values));
  }
  return medians;
}

double milliseconds(double seconds) { return 1e3 * seconds; }

double percentile_of(std::vector<double> values, double fraction) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void print_store_table(const std::vector<std::vector<GenerationCost>>& costs, const std::vector<std::int64_t>& rows) {
  const auto append = median_over_repeats(costs, &GenerationCost::append_generation);
  const auto evaluations = median_over_repeats(costs, &GenerationCost::append_evaluations);
  const auto best = median_over_repeats(costs, &GenerationCost::write_best);
  const auto serialize = median_over_repeats(costs, &GenerationCost::serialize);
  const auto commit = median_over_repeats(costs, &GenerationCost::commit);
  const auto copy = median_over_repeats(costs, &GenerationCost::copy_alone);
  const auto bytes = median_over_repeats(costs, &GenerationCost::file_bytes);
  std::printf("| generation | file size | append_generation | append_evaluations | write_best | serialize GA | commit | copy_file alone |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<std::int64_t> printed;
  for (const std::int64_t row : rows) {
    if (row < 1 || row > static_cast<std::int64_t>(commit.size())) continue;
    if (std::find(printed.begin(), printed.end(), row) != printed.end()) continue;
    printed.push_back(row);
    const auto g = static_cast<std::size_t>(row - 1);
    std::printf("| %lld | %.2f MB | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.1f ms | %.1f ms |\n",
                static_cast<long long>(row), bytes[g] / 1e6, milliseconds(append[g]), milliseconds(evaluations[g]),
                milliseconds(best[g]), milliseconds(serialize[g]), milliseconds(commit[g]), milliseconds(copy[g]));
  }
  std::printf("| median over all | | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.1f ms | %.1f ms |\n",
              milliseconds(median_of(append)), milliseconds(median_of(evaluations)), milliseconds(median_of(best)),
              milliseconds(median_of(serialize)), milliseconds(median_of(commit)), milliseconds(median_of(copy)));

  // Growth: median of per-generation size differences (the first generation also creates chunks).
  std::vector<double> growth;
  for (std::size_t g = 1; g < bytes.size(); ++g) growth.push_back(bytes[g] - bytes[g - 1]);
  const double state = costs.front().back().state_bytes;
  std::printf("\nfile growth per generation: median %.0f bytes (%.3f MB); %.2f MB after generation 1, "
              "%.2f MB after %zu generations\n",
              median_of(growth), median_of(growth) / 1e6, bytes.front() / 1e6, bytes.back() / 1e6, bytes.size());
  std::printf("GA state (values in /checkpoint/strategy): %.0f bytes\n", state);
  double total_commit = 0.0;
  for (const double value : commit) total_commit += value;
  std::vector<double> every_commit;
  for (const auto& run : costs) {
    for (const GenerationCost& cost : run) every_commit.push_back(cost.commit);
  }
  std::printf("sum of commit times over the run: %.2f s; commit over all runs and generations: median %.1f ms, "
              "90th percentile %.1f ms, max %.1f ms\n",
              total_commit, milliseconds(median_of(every_commit)), milliseconds(percentile_of(every_commit, 0.9)),
              milliseconds(percentile_of(every_commit, 1.0)));
}

metaevo::RunConfig wide_config(std::int64_t generations) {
  metaevo::RunConfig config;
  config.run.seed = 2026;
  config.run.generations = generations;
  config.ga.population_size = 256;
  config.ga.elite_count = 2;
  config.ga.step_size_adaptation = metaevo::StepSizeAdaptation::per_gene;
  for (int j = 0; j < 1000; ++j) {
    metaevo::GeneSpec gene;
    char name[16];
    std::snprintf(name, sizeof name, "g%04d", j);
    gene.name = name;
    gene.kind = metaevo::GeneKind::real;
    gene.low = -1.0;
    gene.high = 1.0;
    config.update_rule.genes.push_back(gene);
  }
  // RunStore::create reads only the search space, population, GA step-size mode and header fields;
  // the rule family and tasks are not validated there, and no evaluation runs.
  config.source_text = "# checkpoint_benchmark: 1000 real genes, population 256, built in code\n";
  config.source_name = "<checkpoint_benchmark>";
  return config;
}

/// The in-process executor, noting when the last result came back: the time from there to the
/// generation's on_generation call is what the master spends storing it (tell, appends, write_best
/// and, when due, the checkpoint).
class TimingExecutor final : public metaevo::Executor {
 public:
  explicit TimingExecutor(const metaevo::Evaluator& evaluator) : inner_(evaluator) {}
  int capacity() const override { return inner_.capacity(); }
  void submit(std::int64_t ticket, const metaevo::EvaluationRequest& request) override { inner_.submit(ticket, request); }
  metaevo::CompletedEvaluation wait_any() override {
    metaevo::CompletedEvaluation done = inner_.wait_any();
    last_result_ = clock_type::now();
    return done;
  }
  int in_flight() const override { return inner_.in_flight(); }
  clock_type::time_point last_result() const { return last_result_; }

 private:
  metaevo::InProcessExecutor inner_;
  clock_type::time_point last_result_ = clock_type::now();
};

struct QuickstartRun {
  double wall_seconds = 0.0;
  std::vector<double> generation_seconds;  // between successive on_generation calls (includes the checkpoint)
  std::vector<double> storing_seconds;     // last result of the generation -> on_generation
  double last_record_elapsed = 0.0;        // GenerationRecord::elapsed_seconds of the last generation
  double last_measured_elapsed = 0.0;      // the same moment by this benchmark's clock
};

QuickstartRun run_quickstart(metaevo::RunConfig config, int every_generations, const std::filesystem::path& file) {
  config.checkpoint.every_generations = every_generations;
  config.checkpoint.every_seconds = 0.0;
  QuickstartRun run;
  const metaevo::Evaluator evaluator(config);
  TimingExecutor executor(evaluator);
  auto previous = clock_type::now();
  metaevo::RunCallbacks callbacks;
  const auto start = clock_type::now();
  callbacks.on_generation = [&](const metaevo::GenerationRecord& record) {
    const auto now = clock_type::now();
    run.last_record_elapsed = record.elapsed_seconds;
    run.last_measured_elapsed = std::chrono::duration<double>(now - start).count();
    run.generation_seconds.push_back(std::chrono::duration<double>(now - previous).count());
    run.storing_seconds.push_back(std::chrono::duration<double>(now - executor.last_result()).count());
    previous = now;
  };
  metaevo::run_search(config, file, executor, callbacks);
  run.wall_seconds = seconds_since(start);
  std::filesystem::remove(file);
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path directory = std::filesystem::temp_directory_path();
  std::filesystem::path quickstart_path = "experiments/quickstart.toml";
  int repeats = 3;
  std::int64_t generations = 100;
  bool wide_case = true;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--quickstart-only") {
      wide_case = false;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "flag %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--dir") {
      directory = value;
    } else if (flag == "--repeats") {
      repeats = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--generations") {
      generations = std::max<std::int64_t>(2, std::atoll(value.c_str()));
    } else if (flag == "--config") {
      quickstart_path = value;
    } else {
      std::fprintf(stderr, "unknown flag %s (flags: --dir --repeats --generations --config --quickstart-only)\n", flag.c_str());
      return 2;
    }
  }
  try {
    const std::filesystem::path file = directory / "checkpoint_benchmark.h5";

    if (wide_case) {
      std::printf("## Case A: population 256, 1000 real genes, %lld generations, median of %d runs, files in %s\n\n",
                  static_cast<long long>(generations), repeats, directory.string().c_str());
      std::fflush(stdout);
      std::vector<std::vector<GenerationCost>> wide;
      for (int r = 0; r < repeats; ++r) {
        wide.push_back(store_generations(wide_config(generations), generations, file));
        std::filesystem::remove(file);
      }
      print_store_table(wide, {1, 10, 50, 100, generations});
    }

    const metaevo::RunConfig quickstart = metaevo::load_config(quickstart_path);
    std::printf("\n## Case B: %s (population %d, %zu genes, %lld generations)\n\n", quickstart_path.string().c_str(),
                quickstart.ga.population_size, quickstart.update_rule.genes.size(),
                static_cast<long long>(quickstart.run.generations));
    std::fflush(stdout);
    // Alternating, so drift of the shared machine hits both settings alike.
    std::vector<double> every_wall, final_wall, every_generation, final_generation, every_storing, final_storing;
    for (int r = 0; r < repeats; ++r) {
      for (const int every : {1, 0}) {
        const QuickstartRun run = run_quickstart(quickstart, every, file);
        if (r == 0) {
          std::printf("every_generations = %d: last GenerationRecord.elapsed_seconds %.2f s, measured %.2f s\n", every,
                      run.last_record_elapsed, run.last_measured_elapsed);
        }
        (every == 1 ? every_wall : final_wall).push_back(run.wall_seconds);
        auto& target = every == 1 ? every_generation : final_generation;
        // The first interval also holds the store's creation: left out.
        target.insert(target.end(), run.generation_seconds.begin() + 1, run.generation_seconds.end());
        auto& storing = every == 1 ? every_storing : final_storing;
        storing.insert(storing.end(), run.storing_seconds.begin(), run.storing_seconds.end());
      }
    }
    const double every_median = median_of(every_generation);
    const double final_median = median_of(final_generation);
    const double every_storing_median = median_of(every_storing);
    const double final_storing_median = median_of(final_storing);
    std::printf("\n| [checkpoint] every_generations | run_search wall (median of %d) | generation time (median; p10, p90) "
                "| storing a generation (median; p90) |\n",
                repeats);
    std::printf("|---|---:|---:|---:|\n");
    std::printf("| 1 (default) | %.2f s | %.1f ms (%.1f, %.1f) | %.2f ms (%.2f) |\n", median_of(every_wall),
                milliseconds(every_median), milliseconds(percentile_of(every_generation, 0.1)),
                milliseconds(percentile_of(every_generation, 0.9)), milliseconds(every_storing_median),
                milliseconds(percentile_of(every_storing, 0.9)));
    std::printf("| 0 (final checkpoint only) | %.2f s | %.1f ms (%.1f, %.1f) | %.2f ms (%.2f) |\n", median_of(final_wall),
                milliseconds(final_median), milliseconds(percentile_of(final_generation, 0.1)),
                milliseconds(percentile_of(final_generation, 0.9)), milliseconds(final_storing_median),
                milliseconds(percentile_of(final_storing, 0.9)));
    std::printf("\ndifference of generation times: %.1f ms (%.1f%% of a generation without checkpoints)\n",
                milliseconds(every_median - final_median), 100.0 * (every_median - final_median) / final_median);
    std::printf("difference of storing times (the checkpoint inside the real run): %.2f ms (%.1f%%)\n",
                milliseconds(every_storing_median - final_storing_median),
                100.0 * (every_storing_median - final_storing_median) / final_median);

    std::vector<std::vector<GenerationCost>> small;
    for (int r = 0; r < repeats; ++r) {
      small.push_back(store_generations(quickstart, quickstart.run.generations, file));
      std::filesystem::remove(file);
    }
    std::printf("\nstore operations at the quickstart's size (synthetic fitness), median of %d runs:\n\n", repeats);
    print_store_table(small, {1, 10, 25});
    const double commit = median_of(median_over_repeats(small, &GenerationCost::commit));
    const double serialize = median_of(median_over_repeats(small, &GenerationCost::serialize));
    std::printf("\ncheckpoint (serialize + commit) / generation time without checkpoints: %.2f ms / %.1f ms = %.1f%% "
                "(target < 2%%)\n",
                milliseconds(commit + serialize), milliseconds(final_median),
                100.0 * (commit + serialize) / final_median);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "checkpoint_benchmark: %s\n", error.what());
    return 1;
  }
  return 0;
}
