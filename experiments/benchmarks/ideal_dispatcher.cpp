// The ideal against which metaevo's MPI runtime is measured: a dispatcher with no search, no run
// file and no evaluator. An MPI job:
//
//   mpirun -np N ideal_dispatcher [--duration 0.1] [--sleeps 10] [--population 252]
//                                 [--generations 10] [--groups 1] [--genes 0]
//                                 [--repetitions 1] [--warmup]
//                                 [--generation-work S] [--overlap none|inline|thread]
//                                 [--trace DIR] [--queue-ahead] [--cpu-us X]
//
// Each master hands out `generations` x `population` evaluations to its workers the way metaevo's
// generational mode does (MpiExecutor inside Executor::evaluate): one evaluation per idle worker,
// the next one to whichever worker replies first, and a barrier per generation (the next
// generation goes out only when all of this one's results are in). Between generations a master
// does nothing, which is what makes it the ideal. A worker's "evaluation" is `sleeps` sleeps of
// duration / sleeps each (std::this_thread::sleep_for), as the synthetic task's step_sleep_seconds
// makes metaevo's evaluations, so both overshoot alike. The worker stamps its start and end
// (system clock, as metaevo's run file) and replies.
//
// Layout (--groups K), as metaevo's [islands] count = K:
//   K = 1: rank 0 is the master, ranks 1..N-1 its workers.
//   K > 1: rank 0 only waits (metaevo's recorder); ranks 1..N-1 form K contiguous blocks, as equal
//          as possible; the first rank of each block is its master, the rest its workers. Every
//          master runs `population` evaluations per generation. Needs N >= 1 + 2K.
// Message size (--genes G): each work message carries two vectors of G doubles (a genome's x and
// step sizes, Boost.Serialization as metaevo's), so with --duration 0 the job measures a master's
// cost per evaluation at that message size.
//
// Per-generation work (--generation-work S): a master also sleeps S seconds per generation, a
// stand-in for metaevo's store step and checkpoint commit (mostly waiting for fsync). --overlap says
// where: none (the default) between the last result of a generation and the first request of the
// next, as metaevo does today; inline after handing out the next generation's first round (results
// that arrive meanwhile wait); thread on a second thread started at that point (at most one in
// flight: a master joins it before starting the next one), while the master goes on dispatching.
//
// Queue ahead (--queue-ahead): as metaevo's MpiExecutor, a master may also send a worker that is
// running one request a second one (the worker that has run longest), while more than a round of
// the generation is left, so that the worker starts it without a round trip.
//
// Per repetition one line "RESULT key=value ..." with
//   efficiency = (sum of evaluation times) / (workers x span), span = last end - first start,
//   the mean worker idle gap (an evaluation's start minus the end of the same worker's previous one),
//   master_wall_s (longest master, first send to last reply), us_per_evaluation = master_wall /
//   evaluations of one master.
#include <boost/mpi/collectives/reduce.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/mpi/operations.hpp>
#include <boost/serialization/vector.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace mpi = boost::mpi;

namespace {

enum Tag : int {
  work_tag = 1,              // master -> worker: Work
  result_tag = 2,            // worker -> master: Reply
  end_of_repetition_tag = 3  // master -> worker: no payload
};

struct Work {
  std::int64_t ticket = 0;
  std::vector<double> x;
  std::vector<double> step_size;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & ticket & x & step_size;
  }
};

struct Reply {
  std::int64_t ticket = 0;
  double start_time = 0.0;
  double end_time = 0.0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & ticket & start_time & end_time;
  }
};

struct Options {
  double duration = 0.1;  // seconds per evaluation
  int sleeps = 10;
  long population = 252;
  long generations = 10;
  int groups = 1;
  long genes = 0;
  int repetitions = 1;
  bool warmup = false;
  double generation_work = 0.0;  // seconds a master sleeps per generation
  std::string overlap = "none";  // none, inline or thread
  std::string trace;             // a directory: each worker writes its evaluations there
  bool queue_ahead = false;      // one more request queued behind a running one, as MpiExecutor
  double cpu_us = 0.0;           // CPU a worker burns per evaluation, spread over its sleeps
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "ideal_dispatcher: %s\nusage: ideal_dispatcher [--duration S] [--sleeps K] [--population P] "
               "[--generations G] [--groups K] [--genes G] [--repetitions R] [--warmup]\n",
               problem);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    const bool has_value = i + 1 < argc;
    if (argument == "--warmup") {
      options.warmup = true;
    } else if (argument == "--queue-ahead") {
      options.queue_ahead = true;
    } else if (!has_value) {
      usage("unknown option or missing value");
    } else if (argument == "--duration") {
      options.duration = std::strtod(argv[++i], nullptr);
    } else if (argument == "--sleeps") {
      options.sleeps = static_cast<int>(std::strtol(argv[++i], nullptr, 10));
    } else if (argument == "--population") {
      options.population = std::strtol(argv[++i], nullptr, 10);
    } else if (argument == "--generations") {
      options.generations = std::strtol(argv[++i], nullptr, 10);
    } else if (argument == "--groups") {
      options.groups = static_cast<int>(std::strtol(argv[++i], nullptr, 10));
    } else if (argument == "--genes") {
      options.genes = std::strtol(argv[++i], nullptr, 10);
    } else if (argument == "--generation-work") {
      options.generation_work = std::strtod(argv[++i], nullptr);
    } else if (argument == "--overlap") {
      options.overlap = argv[++i];
    } else if (argument == "--cpu-us") {
      options.cpu_us = std::strtod(argv[++i], nullptr);
    } else if (argument == "--trace") {
      options.trace = argv[++i];
    } else if (argument == "--repetitions") {
      options.repetitions = static_cast<int>(std::strtol(argv[++i], nullptr, 10));
    } else {
      usage("unknown option");
    }
  }
  if (options.duration < 0.0 || options.sleeps < 1 || options.population < 1 || options.generations < 1 ||
      options.groups < 1 || options.genes < 0 || options.repetitions < 1 || options.generation_work < 0.0 ||
      options.cpu_us < 0.0) {
    usage("--duration, --generation-work, --genes >= 0 and every other value >= 1");
  }
  if (options.overlap != "none" && options.overlap != "inline" && options.overlap != "thread") {
    usage("--overlap is none, inline or thread");
  }
  return options;
}

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Who does what: this rank's master (or -1 on the waiting rank 0 of a K > 1 layout) and, on a
// master, its workers.
struct Layout {
  int master = -1;
  std::vector<int> workers;  // filled on masters only
  int total_workers = 0;
};

Layout make_layout(int size, int rank, int groups) {
  Layout layout;
  if (groups == 1) {
    layout.master = 0;
    layout.total_workers = size - 1;
    if (rank == 0) {
      for (int worker = 1; worker < size; ++worker) layout.workers.push_back(worker);
    }
    return layout;
  }
  const int ranks = size - 1;  // rank 0 waits
  layout.total_workers = ranks - groups;
  int first = 1;
  for (int group = 0; group < groups; ++group) {
    const int block = ranks / groups + (group < ranks % groups ? 1 : 0);
    if (rank >= first && rank < first + block) {
      layout.master = first;
      if (rank == first) {
        for (int worker = first + 1; worker < first + block; ++worker) layout.workers.push_back(worker);
      }
    }
    first += block;
  }
  return layout;
}

// What one rank contributes to a repetition's figures (reduced over the world).
struct Figures {
  double evaluation_seconds = 0.0;  // masters: sum of their evaluations' end - start
  double first_start = std::numeric_limits<double>::infinity();
  double last_end = -std::numeric_limits<double>::infinity();
  double evaluations = 0.0;
  double gap_seconds = 0.0;  // workers: sum of their idle gaps
  double gaps = 0.0;
  double master_wall = 0.0;
};

Figures run_master(const mpi::communicator& world, const Layout& layout, const Options& options) {
  Figures figures;
  Work work;
  work.x.assign(static_cast<std::size_t>(options.genes), 0.25);
  work.step_size.assign(static_cast<std::size_t>(options.genes), 0.1);
  std::deque<int> idle(layout.workers.begin(), layout.workers.end());
  // --queue-ahead: workers with one request, the longest running first (entries of workers that no
  // longer have exactly one are skipped).
  std::vector<int> assigned(static_cast<std::size_t>(world.size()), 0);
  std::deque<int> running_one;
  const auto workers = static_cast<long>(layout.workers.size());
  const std::chrono::duration<double> work_time(options.generation_work);
  std::thread background;  // --overlap thread: the previous generation's work
  const auto start = std::chrono::steady_clock::now();
  for (long generation = 0; generation < options.generations; ++generation) {
    long next = 0;
    long outstanding = 0;
    auto may_submit = [&] {
      if (!idle.empty()) return true;
      return options.queue_ahead && outstanding < 2 * workers && options.population - next > workers;
    };
    auto submit_while_free = [&] {
      while (next < options.population && may_submit()) {
        int worker = 0;
        if (!idle.empty()) {
          worker = idle.front();
          idle.pop_front();
        } else {
          while (assigned[static_cast<std::size_t>(running_one.front())] != 1) running_one.pop_front();
          worker = running_one.front();
          running_one.pop_front();
        }
        work.ticket = generation * options.population + next++;
        world.send(worker, work_tag, work);
        if (++assigned[static_cast<std::size_t>(worker)] == 1) running_one.push_back(worker);
        ++outstanding;
      }
    };
    // The previous generation's work (none for the first generation).
    const bool work_due = generation > 0 && options.generation_work > 0.0;
    if (work_due && options.overlap == "none") std::this_thread::sleep_for(work_time);
    submit_while_free();
    if (work_due && options.overlap == "inline") std::this_thread::sleep_for(work_time);
    if (work_due && options.overlap == "thread") {
      if (background.joinable()) background.join();
      background = std::thread([work_time] { std::this_thread::sleep_for(work_time); });
    }
    while (outstanding > 0) {  // the generation's barrier: every result before the next generation
      Reply reply;
      const mpi::status status = world.recv(mpi::any_source, result_tag, reply);
      if (--assigned[static_cast<std::size_t>(status.source())] == 0) {
        idle.push_back(status.source());
      } else {
        running_one.push_back(status.source());  // its queued request starts now
      }
      --outstanding;
      figures.evaluation_seconds += reply.end_time - reply.start_time;
      figures.first_start = std::min(figures.first_start, reply.start_time);
      figures.last_end = std::max(figures.last_end, reply.end_time);
      figures.evaluations += 1.0;
      submit_while_free();
    }
  }
  if (background.joinable()) background.join();
  figures.master_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const int worker : layout.workers) world.send(worker, end_of_repetition_tag);
  return figures;
}

// --cpu-us X: after each sleep a worker spins until its thread has used X / sleeps more
// microseconds of CPU: an evaluation's own work between its steps (metaevo's inner loop uses about
// 35 µs more CPU per sleeping synthetic evaluation than these bare sleeps; docs/benchmarks.md).
void burn_thread_cpu(double microseconds) {
  if (microseconds <= 0.0) return;
  auto cpu_now = [] {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
  };
  const double until = cpu_now() + microseconds;
  while (cpu_now() < until) {
  }
}

// --trace DIR: one line per evaluation, "master ticket worker start end" (tickets count a master's
// evaluations: generation x population + index), in DIR/worker-RANK.txt, for the same timeline
// figures as a run file gives (experiments/benchmarks/efficiency.py).
void write_trace(const Options& options, int rank, int master, const std::vector<Reply>& trace) {
  if (options.trace.empty()) return;
  const std::string path = options.trace + "/worker-" + std::to_string(rank) + ".txt";
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (!file) {
    std::fprintf(stderr, "ideal_dispatcher: cannot write %s\n", path.c_str());
    return;
  }
  for (const Reply& reply : trace) {
    std::fprintf(file, "%d %lld %d %.6f %.6f\n", master, static_cast<long long>(reply.ticket), rank, reply.start_time,
                 reply.end_time);
  }
  std::fclose(file);
}

Figures run_worker(const mpi::communicator& world, const Layout& layout, const Options& options) {
  Figures figures;
  const std::chrono::duration<double> piece(options.duration / options.sleeps);
  double previous_end = std::numeric_limits<double>::quiet_NaN();
  Work work;
  std::vector<Reply> trace;
  while (true) {
    const mpi::status status = world.probe(layout.master, mpi::any_tag);  // blocking, as run_worker
    if (status.tag() == end_of_repetition_tag) {
      world.recv(layout.master, end_of_repetition_tag);
      write_trace(options, world.rank(), layout.master, trace);
      return figures;
    }
    world.recv(layout.master, work_tag, work);
    Reply reply{work.ticket, unix_seconds_now(), 0.0};
    if (options.duration > 0.0) {
      for (int i = 0; i < options.sleeps; ++i) {
        std::this_thread::sleep_for(piece);
        burn_thread_cpu(options.cpu_us / options.sleeps);
      }
    }
    reply.end_time = unix_seconds_now();
    if (previous_end == previous_end) {  // not NaN: not this repetition's first evaluation
      figures.gap_seconds += reply.start_time - previous_end;
      figures.gaps += 1.0;
    }
    previous_end = reply.end_time;
    if (!options.trace.empty()) trace.push_back(reply);
    world.send(layout.master, result_tag, reply);
  }
}

Figures reduce_figures(const mpi::communicator& world, const Figures& mine) {
  Figures total;
  mpi::reduce(world, mine.evaluation_seconds, total.evaluation_seconds, std::plus<double>(), 0);
  mpi::reduce(world, mine.first_start, total.first_start, mpi::minimum<double>(), 0);
  mpi::reduce(world, mine.last_end, total.last_end, mpi::maximum<double>(), 0);
  mpi::reduce(world, mine.evaluations, total.evaluations, std::plus<double>(), 0);
  mpi::reduce(world, mine.gap_seconds, total.gap_seconds, std::plus<double>(), 0);
  mpi::reduce(world, mine.gaps, total.gaps, std::plus<double>(), 0);
  mpi::reduce(world, mine.master_wall, total.master_wall, mpi::maximum<double>(), 0);
  return total;
}

void report(const mpi::communicator& world, const Layout& layout, const Options& options, int repetition,
            const Figures& total) {
  const double span = total.last_end - total.first_start;
  const double evaluations_per_master = static_cast<double>(options.population * options.generations);
  std::printf("RESULT program=ideal_dispatcher ranks=%d groups=%d workers=%d population=%ld generations=%ld "
              "duration_s=%.4f sleeps=%d genes=%ld generation_work_s=%.4f overlap=%s queue_ahead=%d repetition=%d evaluations=%.0f mean_evaluation_s=%.6f "
              "ideal_s=%.4f span_s=%.4f efficiency=%.4f mean_gap_ms=%.3f master_wall_s=%.4f "
              "us_per_evaluation=%.3f\n",
              world.size(), options.groups, layout.total_workers, options.population, options.generations,
              options.duration, options.sleeps, options.genes, options.generation_work, options.overlap.c_str(),
              options.queue_ahead ? 1 : 0, repetition, total.evaluations,
              total.evaluation_seconds / total.evaluations, total.evaluation_seconds / layout.total_workers, span,
              total.evaluation_seconds / (layout.total_workers * span),
              total.gaps > 0.0 ? 1e3 * total.gap_seconds / total.gaps : 0.0, total.master_wall,
              1e6 * total.master_wall / evaluations_per_master);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  mpi::environment environment(argc, argv);
  mpi::communicator world;
  const Options options = parse_options(argc, argv);
  const int needed = options.groups == 1 ? 2 : 1 + 2 * options.groups;
  if (world.size() < needed) {
    if (world.rank() == 0) {
      std::fprintf(stderr, "ideal_dispatcher: --groups %d needs at least %d ranks\n", options.groups, needed);
    }
    return 2;
  }
  const Layout layout = make_layout(world.size(), world.rank(), options.groups);
  const bool is_master = layout.master == world.rank();
  for (int repetition = options.warmup ? 0 : 1; repetition <= options.repetitions; ++repetition) {
    world.barrier();
    Figures mine;  // rank 0 of a K > 1 layout only waits, as metaevo's recorder would
    if (is_master) {
      mine = run_master(world, layout, options);
    } else if (layout.master >= 0) {
      mine = run_worker(world, layout, options);
    }
    const Figures total = reduce_figures(world, mine);
    if (world.rank() == 0 && repetition > 0) report(world, layout, options, repetition, total);
  }
  return 0;
}
