// The MPI runtime's executor under load. An MPI job, not a Google Benchmark one:
//
//   mpirun -np N mpi_dispatch_benchmark [--evaluations 20000] [--repetitions 5]
//                                       [--config FILE] [--batch-size P] [--no-warmup]
//                                       [--genes 5|5000]
//
// Rank 0 runs MpiExecutor::evaluate on `evaluations` requests `repetitions` times (after one
// warm-up round); ranks 1..N-1 are run_worker.
//
// Master throughput (the default): each evaluation is one synthetic task of dimension 1 for one
// inner step, so wall / evaluations bounds the master's cost per evaluation (send, receive, both
// serializations, bookkeeping) from above. --genes picks the message size: 5 (the default, an Adam
// genome) or 5000 (a learned_rnn rule of hidden size 64: 5,122 genes, so a request carries two
// vectors of 5,122 doubles, about 82 kB); the task is the same one-step quadratic.
//
// Stragglers (--config with a synthetic task that sleeps, e.g. sleep_tail = "pareto"): every request
// has its own EvaluationKey, so each evaluation draws its own task and its own sleep factor (in a
// metaevo run all genomes of a generation share their tasks, hence their sleep factors). The
// requests go out as consecutive Executor::evaluate calls of --batch-size requests: a batch the size
// of the population is how generational mode dispatches (every batch waits for its slowest
// evaluation), one batch of everything is continuous dispatch, as in steady_state mode.
// Efficiency = (sum of evaluation times) / (workers * wall).
//
// Run without mpirun (one rank), it measures the evaluation in process instead, for reference.
// Every result line starts with "RESULT" and is key=value pairs, for scripts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/runtime/mpi_runtime.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

// Both sides parse this same text, so the workers' Evaluator is the master's. Five genes (as in the
// quickstart) make a realistic message; the task costs one gradient of a 1-parameter quadratic.
constexpr std::string_view near_zero_cost_config = R"toml(
[run]
seed = 7
generations = 1

[ga]
population_size = 4

[evaluation]
tasks_per_evaluation = 1
inner_steps = 1
holdout_tasks = 0

[update_rule]
family = "adam"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1.0 }
beta1 = { kind = "real", low = 0.5, high = 0.999 }
beta2 = { kind = "real", low = 0.9, high = 0.9999 }
epsilon = { kind = "log_real", low = 1e-10, high = 1e-4 }
schedule = { kind = "categorical", choices = ["constant", "cosine", "warmup_cosine"] }

[[tasks]]
family = "synthetic"
dimension = 1
)toml";

// The same task with a learned_rnn rule of hidden size 64: 5,122 genes (input 896, recurrent 4,096,
// readout 130), the message size of a large learned rule.
constexpr std::string_view wide_genome_config = R"toml(
[run]
seed = 7
generations = 1

[ga]
population_size = 4

[evaluation]
tasks_per_evaluation = 1
inner_steps = 1
holdout_tasks = 0

[update_rule]
family = "learned_rnn"

[update_rule.architecture]
hidden_size = 64

[[tasks]]
family = "synthetic"
dimension = 1
)toml";

struct Options {
  long evaluations = 20000;
  int repetitions = 5;
  long batch_size = 0;       // 0: one batch of all the evaluations
  std::string config_path;   // empty: the built-in near-zero-cost config
  bool warmup = true;
  long genes = 5;            // the built-in config: 5 (Adam) or 5000 (learned_rnn, 5,122 genes)
  long genes_in_genome = 0;  // of the config in use, for the report
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    const bool has_value = i + 1 < argc;
    if (argument == "--evaluations" && has_value) {
      options.evaluations = std::strtol(argv[++i], nullptr, 10);
    } else if (argument == "--repetitions" && has_value) {
      options.repetitions = static_cast<int>(std::strtol(argv[++i], nullptr, 10));
    } else if (argument == "--batch-size" && has_value) {
      options.batch_size = std::strtol(argv[++i], nullptr, 10);
    } else if (argument == "--config" && has_value) {
      options.config_path = argv[++i];
    } else if (argument == "--genes" && has_value) {
      options.genes = std::strtol(argv[++i], nullptr, 10);
    } else if (argument == "--no-warmup") {
      options.warmup = false;
    } else {
      std::fprintf(stderr,
                   "usage: mpi_dispatch_benchmark [--evaluations N] [--repetitions R] [--config FILE] "
                   "[--batch-size P] [--no-warmup] [--genes 5|5000]\n");
      std::exit(2);
    }
  }
  if (options.evaluations < 1 || options.repetitions < 1 || options.batch_size < 0) {
    std::fprintf(stderr, "mpi_dispatch_benchmark: --evaluations and --repetitions must be >= 1, --batch-size >= 0\n");
    std::exit(2);
  }
  if (options.genes != 5 && options.genes != 5000) {
    std::fprintf(stderr, "mpi_dispatch_benchmark: --genes is 5 or 5000\n");
    std::exit(2);
  }
  if (options.batch_size == 0 || options.batch_size > options.evaluations) options.batch_size = options.evaluations;
  return options;
}

std::vector<metaevo::EvaluationRequest> make_requests(const metaevo::RunConfig& config, long count) {
  const Eigen::Index genes = config.search_space().size();
  std::vector<metaevo::EvaluationRequest> requests(static_cast<std::size_t>(count));
  for (long i = 0; i < count; ++i) {
    metaevo::EvaluationRequest& request = requests[static_cast<std::size_t>(i)];
    request.genome.id = i;
    request.genome.x = Eigen::VectorXd::Constant(genes, 0.25 + 0.5 * static_cast<double>(i % 2));
    request.genome.step_size = Eigen::VectorXd::Constant(genes, 0.1);
    request.key = metaevo::EvaluationKey{config.run.seed, i, metaevo::StreamPurpose::task_sample};
  }
  return requests;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct Repetition {
  double wall_seconds = 0.0;
  double evaluation_seconds = 0.0;  // sum over evaluations of end_time - start_time (on the workers)
  double longest_evaluation_seconds = 0.0;
};

void report(const char* mode, int ranks, const Options& options, const std::vector<Repetition>& repetitions) {
  std::vector<double> walls;
  std::vector<double> efficiencies;
  double longest = 0.0;
  const int workers = std::max(ranks - 1, 1);
  for (const Repetition& repetition : repetitions) {
    walls.push_back(repetition.wall_seconds);
    efficiencies.push_back(repetition.evaluation_seconds / (workers * repetition.wall_seconds));
    longest = std::max(longest, repetition.longest_evaluation_seconds);
  }
  const double wall = median(walls);
  const double evaluations_per_second = static_cast<double>(options.evaluations) / wall;
  std::printf("RESULT mode=%s genes=%ld ranks=%d workers=%d evaluations=%ld batch_size=%ld repetitions=%zu median_wall_s=%.6f "
              "min_wall_s=%.6f max_wall_s=%.6f evaluations_per_s=%.1f us_per_evaluation=%.3f "
              "median_evaluation_s=%.4f median_efficiency=%.4f longest_evaluation_s=%.4f\n",
              mode, options.genes_in_genome, ranks, workers, options.evaluations, options.batch_size, walls.size(), wall,
              *std::min_element(walls.begin(), walls.end()), *std::max_element(walls.begin(), walls.end()),
              evaluations_per_second, 1e6 / evaluations_per_second,
              median([&] {
                std::vector<double> sums;
                for (const Repetition& repetition : repetitions) sums.push_back(repetition.evaluation_seconds);
                return sums;
              }()),
              median(efficiencies), longest);
  std::fflush(stdout);
}

// One rank: the cost of the evaluation itself, called directly and through the in-process executor.
void run_in_process(const metaevo::RunConfig& config, const Options& options) {
  const metaevo::Evaluator evaluator(config);
  const std::vector<metaevo::EvaluationRequest> requests = make_requests(config, options.evaluations);
  metaevo::InProcessExecutor executor(evaluator);
  if (options.warmup) executor.evaluate(requests);

  std::vector<Repetition> direct;
  std::vector<Repetition> through_executor;
  double checksum = 0.0;  // keeps the results observable
  for (int repetition = 0; repetition < options.repetitions; ++repetition) {
    auto start = clock_type::now();
    for (const metaevo::EvaluationRequest& request : requests) checksum += evaluator.evaluate(request).fitness;
    const double direct_wall = seconds_since(start);
    direct.push_back({direct_wall, direct_wall, 0.0});

    start = clock_type::now();
    const metaevo::Executor::Batch batch = executor.evaluate(requests);
    const double executor_wall = seconds_since(start);
    through_executor.push_back({executor_wall, executor_wall, 0.0});
    checksum += batch.results.back().fitness;
  }
  report("in_process_evaluate", 1, options, direct);
  report("in_process_executor", 1, options, through_executor);
  std::printf("checksum %.6g\n", checksum);
}

// One round: the requests in consecutive batches of options.batch_size.
Repetition run_round(metaevo::MpiExecutor& executor, const std::vector<metaevo::EvaluationRequest>& requests,
                     const Options& options) {
  Repetition repetition;
  const auto start = clock_type::now();
  std::vector<metaevo::EvaluationRequest> batch_requests;
  for (std::size_t first = 0; first < requests.size(); first += static_cast<std::size_t>(options.batch_size)) {
    const std::size_t last = std::min(requests.size(), first + static_cast<std::size_t>(options.batch_size));
    // Timed on purpose: the generational loop copies each genome into its request the same way.
    batch_requests.assign(requests.begin() + static_cast<std::ptrdiff_t>(first),
                          requests.begin() + static_cast<std::ptrdiff_t>(last));
    const metaevo::Executor::Batch batch = executor.evaluate(batch_requests);
    if (!batch.complete()) throw metaevo::Error("a batch came back incomplete");
    for (const metaevo::EvaluationResult& result : batch.results) {
      if (result.failed) throw metaevo::Error("an evaluation failed: " + result.reason);
      repetition.evaluation_seconds += result.end_time - result.start_time;
      repetition.longest_evaluation_seconds =
          std::max(repetition.longest_evaluation_seconds, result.end_time - result.start_time);
    }
  }
  repetition.wall_seconds = seconds_since(start);
  return repetition;
}

void run_master(const metaevo::MpiSession& session, const metaevo::RunConfig& config, const Options& options) {
  const std::vector<metaevo::EvaluationRequest> requests = make_requests(config, options.evaluations);
  metaevo::MpiExecutor executor(session);
  if (options.warmup) run_round(executor, requests, options);  // connections, allocations, page faults

  std::vector<Repetition> repetitions;
  for (int index = 0; index < options.repetitions; ++index) {
    repetitions.push_back(run_round(executor, requests, options));
    std::printf("repetition %d: %.4f s wall, %.4f s of evaluations\n", index + 1, repetitions.back().wall_seconds,
                repetitions.back().evaluation_seconds);
    std::fflush(stdout);
  }
  executor.shutdown();
  report("mpi", session.size(), options, repetitions);
}

}  // namespace

int main(int argc, char** argv) {
  metaevo::MpiSession session(argc, argv);
  try {
    Options options = parse_options(argc, argv);
    const std::string_view built_in = options.genes == 5 ? near_zero_cost_config : wide_genome_config;
    const metaevo::RunConfig config = options.config_path.empty()
                                          ? metaevo::parse_config(built_in, "mpi_dispatch_benchmark")
                                          : metaevo::load_config(options.config_path);
    options.genes_in_genome = static_cast<long>(config.search_space().size());
    if (session.size() == 1) {
      run_in_process(config, options);
    } else if (session.is_master()) {
      run_master(session, config, options);
    } else {
      metaevo::run_worker(session, metaevo::Evaluator(config));
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "mpi_dispatch_benchmark (rank %d): %s\n", session.rank(), error.what());
    session.abort(1);
  }
  return 0;
}
