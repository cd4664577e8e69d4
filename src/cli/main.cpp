// The metaevo command line: `metaevo run CONFIG --out RUN.h5` (in one process, or as an MPI job
// under mpirun/srun: rank 0 the master, the other ranks workers) and `metaevo check CONFIG`.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/evaluate_command.hpp"
#include "cli/exit_status.hpp"
#include "cli/inspect_export.hpp"
#include "cli/progress_display.hpp"
#include "cli/score_command.hpp"
#include "metaevo/config/config.hpp"
#include "metaevo/core/crash_report.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/plugin_loader.hpp"
#include "metaevo/runtime/executor.hpp"
#include "metaevo/runtime/generation_log.hpp"
#include "metaevo/runtime/island.hpp"
#include "metaevo/runtime/mpi_runtime.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_report.hpp"
#include "metaevo/store/run_store.hpp"
#include "metaevo/tasks/float32_kernel.hpp"

namespace {

using namespace metaevo::cli;  // the exit statuses

volatile std::sig_atomic_t stop_signal = 0;

extern "C" void record_stop_signal(int signal_number) { stop_signal = signal_number; }

// Every rank catches the signals a scheduler sends (mpirun forwards them to all ranks): workers keep
// working until the master sends stop, and the master stops dispatching and records what finished.
void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaction(signal_number, &action, nullptr);
}

void print_search_space(const metaevo::RunConfig& config) {
  const metaevo::SearchSpace space = config.search_space();
  std::printf("strategy %s; population %d x %lld generations (%s); %lld coordinates\n", config.search.strategy.c_str(),
              config.population_size(), static_cast<long long>(config.run.generations),
              std::string(to_string(config.run.mode)).c_str(), static_cast<long long>(space.size()));
  if (config.objective) {
    std::printf("objective %s in %lld dimensions (the genome is the point)\n",
                std::string(to_string(config.objective->function)).c_str(),
                static_cast<long long>(config.objective->dimension));
  } else {
    std::printf("update rule %s; %zu genes, %zu task families; %d tasks x %lld steps per evaluation\n",
                config.update_rule.family.c_str(), config.update_rule.genes.size(), config.tasks.size(),
                config.evaluation.tasks_per_evaluation, static_cast<long long>(config.evaluation.inner_steps));
  }
  for (const metaevo::GeneSpec& gene : space.genes()) {
    if (gene.kind == metaevo::GeneKind::categorical) {
      std::string choices;
      for (const std::string& choice : gene.choices) choices += (choices.empty() ? "" : ", ") + choice;
      std::printf("  gene %-18s categorical {%s}\n", gene.name.c_str(), choices.c_str());
    } else {
      std::printf("  gene %-18s %-11s [%g, %g]\n", gene.name.c_str(), std::string(to_string(gene.kind)).c_str(),
                  gene.low, gene.high);
    }
  }
  for (const metaevo::GeneBlock& block : space.blocks()) {
    std::printf("  block %-17s %lld real genes in [%g, %g], starting at %g +- %g%s%s\n", block.name.c_str(),
                static_cast<long long>(block.length), block.low, block.high, block.initial_value, block.initial_scale,
                block.description.empty() ? "" : ": ", block.description.c_str());
  }
  for (const metaevo::TaskConfig& task : config.tasks) {
    std::printf("  task %s\n", metaevo::describe_task_family(task).c_str());
  }
  for (const metaevo::PluginRecord& plugin : config.plugins) {
    std::printf("  plugin %s (sha256 %s)\n", plugin.path.c_str(), plugin.sha256.c_str());
  }
}

// Plugins first: the config may name their families. --plugin files, then the config's run.plugins
// (a file given both ways is loaded once). Returns every plugin this process loaded. Throws
// PluginError, or ConfigError when the config's plugins key itself is wrong.
std::vector<metaevo::PluginRecord> load_plugins(const std::vector<std::string>& command_line,
                                                const std::string& config_path) {
  for (const std::string& path : command_line) metaevo::load_plugin(path);
  if (!config_path.empty()) {
    for (const std::filesystem::path& path : metaevo::plugin_paths_in_config(config_path)) metaevo::load_plugin(path);
  }
  return metaevo::loaded_plugins();
}

// The plugins a run file records, loaded again from their recorded paths; a missing or changed file
// is refused (PluginError) rather than resuming with other code.
/// The plugins a run file records, read from its root alone (no segment is opened).
std::vector<metaevo::PluginRecord> recorded_plugins(const std::filesystem::path& run_file) {
  return metaevo::read_run_file(run_file, metaevo::RunFileReadOptions::root_only()).plugins;
}

void load_recorded_plugins(const std::vector<metaevo::PluginRecord>& recorded) {
  for (const metaevo::PluginRecord& plugin : recorded) metaevo::load_recorded_plugin(plugin);
}

// What the master sends the workers: one "SHA256 PATH" line per plugin (a SHA-256 has no spaces).
std::string plugin_list_text(const std::vector<metaevo::PluginRecord>& plugins) {
  std::string text;
  for (const metaevo::PluginRecord& plugin : plugins) text += plugin.sha256 + " " + plugin.path + "\n";
  return text;
}

std::vector<metaevo::PluginRecord> plugin_list_from_text(const std::string& text) {
  std::vector<metaevo::PluginRecord> plugins;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    const std::string line = text.substr(begin, end - begin);
    const std::size_t space = line.find(' ');
    if (space != std::string::npos) plugins.push_back({line.substr(space + 1), line.substr(0, space)});
    begin = end == std::string::npos ? text.size() : end + 1;
  }
  return plugins;
}

// The one line --quiet prints before the work: what runs where.
void print_start_line(const metaevo::RunConfig& config, const std::filesystem::path& output,
                      const metaevo::ResumePlan* plan, int worker_ranks) {
  const std::string where =
      worker_ranks > 0 ? std::to_string(worker_ranks) + " MPI worker ranks" : std::string("single process");
  if (plan != nullptr) {
    std::printf("metaevo: resuming %s at generation %lld of %lld (session %lld, %s)\n", output.string().c_str(),
                static_cast<long long>(plan->run.checkpoint.completed_generations),
                static_cast<long long>(config.run.generations),
                static_cast<long long>(plan->run.checkpoint.session + 1), where.c_str());
  } else {
    std::printf("metaevo: running %s: strategy %s, population %d x %lld generations, %s\n", output.string().c_str(),
                config.search.strategy.c_str(), config.population_size(),
                static_cast<long long>(config.run.generations), where.c_str());
  }
  std::fflush(stdout);
}

struct RunArguments {
  std::string config_path;
  std::string output_path;
  bool force = false;
  bool quiet = false;
  std::string log_json_path;  // empty: no JSON log
  std::optional<std::int64_t> generations;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> plugins;  // --plugin, in order
};

// Master (or the only process): validates, runs or resumes, reports. Returns the exit status.
int run_master(const metaevo::MpiSession& session, const RunArguments& arguments, bool resuming) {
  const bool distributed = session.size() > 1;
  // Workers wait for the config text; an empty text tells them to leave without work.
  auto release_workers = [&] {
    if (distributed) session.broadcast(std::string());
  };
  metaevo::RunConfig config;
  std::filesystem::path output;
  std::optional<metaevo::ResumePlan> plan;
  try {
    if (resuming) {
      output = arguments.config_path;  // for resume the positional argument is the run file
      load_recorded_plugins(recorded_plugins(output));
      // A run of many generations takes a while to read: shown once it has taken a second.
      std::optional<ProgressDisplay> reading;
      const auto show_reading = [&reading](std::int64_t done, std::int64_t total) {
        if (!reading) {
          reading.emplace(stderr, "reading generation", "gen", metaevo::ProgressMeter(total));
          reading->show_after(ProgressDisplay::quiet_start_seconds);
        }
        reading->update(done);
      };
      plan.emplace(metaevo::plan_resume(output, arguments.generations, show_reading));
      config = plan->run.config;
    } else {
      const std::vector<metaevo::PluginRecord> plugins = load_plugins(arguments.plugins, arguments.config_path);
      config = metaevo::load_config(arguments.config_path);
      config.plugins = plugins;
      if (arguments.generations) config.run.generations = *arguments.generations;
      if (arguments.seed) config.run.seed = *arguments.seed;
      output = arguments.output_path.empty()
                   ? std::filesystem::path(arguments.config_path).filename().replace_extension(".h5")
                   : std::filesystem::path(arguments.output_path);
    }
    metaevo::float32_kernel();  // an invalid METAEVO_SIMD ends the run here, before its file exists
  } catch (const metaevo::PluginError& error) {
    std::fprintf(stderr, "metaevo: %s\n", error.what());
    release_workers();
    return exit_config_error;
  } catch (const metaevo::ConfigError& error) {
    std::fprintf(stderr, "metaevo: config error: %s\n", error.what());
    release_workers();
    return exit_config_error;
  } catch (const metaevo::StorageError& error) {
    std::fprintf(stderr, "metaevo: %s\n", error.what());
    release_workers();
    return exit_storage_error;
  }
  const metaevo::IslandLayout layout(session.size(), config.islands.count);
  if (const std::string problem = layout.problem(); !problem.empty()) {
    std::fprintf(stderr, "metaevo: config error: %s\n", problem.c_str());
    release_workers();
    return exit_config_error;
  }
  const bool island_ranks = distributed && layout.has_recorder();
  std::error_code unreadable;  // an output we cannot even stat is left for RunStore::create to report
  if (!resuming && std::filesystem::exists(output, unreadable) && !arguments.force) {
    std::fprintf(stderr, "metaevo: %s exists; it may hold a run. Use --force to overwrite it, or `metaevo resume %s`.\n",
                 output.string().c_str(), output.string().c_str());
    release_workers();
    return exit_usage_error;
  }
  // Opened before any work, so a path that cannot be written ends the job at once.
  std::optional<metaevo::GenerationLog> generation_log;
  if (!arguments.log_json_path.empty()) {
    try {
      if (plan) {
        generation_log.emplace(
            metaevo::GenerationLog::resume(arguments.log_json_path, plan->run.checkpoint.completed_generations));
      } else {
        generation_log.emplace(metaevo::GenerationLog::create(arguments.log_json_path));
      }
    } catch (const metaevo::StorageError& error) {
      std::fprintf(stderr, "metaevo: %s\n", error.what());
      release_workers();
      return exit_storage_error;
    }
  }
  if (distributed) {
    session.broadcast(config.source_text);
    session.broadcast(plugin_list_text(config.plugins));  // every rank loads them before reading the config
    if (island_ranks) session.split_islands(layout);
  }

  // Outside the try: on an error the catch aborts the job, without the MPI executor's destructor
  // first waiting for the evaluations in flight. (The in-process executor outlives the evaluator it
  // refers to, but its destructor does not use it.)
  std::unique_ptr<metaevo::Executor> executor;
  // --quiet: the progress of the generations on stderr instead of a line per generation on stdout.
  std::optional<ProgressDisplay> progress;
  try {
    if (arguments.quiet) {
      print_start_line(config, output, plan ? &*plan : nullptr, session.size() - 1);
      progress.emplace(stderr, "generation", "gen",
                       metaevo::ProgressMeter(config.run.generations,
                                              plan ? plan->run.checkpoint.completed_generations : 0));
    } else {
      print_search_space(config);
      if (island_ranks) {
        std::printf("MPI: rank 0 records; %d islands, each a master and %d-%d worker ranks\n", layout.islands(),
                    layout.ranks_of(layout.islands() - 1) - 1, layout.ranks_of(0) - 1);
      } else if (distributed) {
        std::printf("MPI: rank 0 is the master, %d worker ranks\n", session.size() - 1);
      } else if (config.islands.count > 1) {
        std::printf("single process (no MPI workers): %d islands take turns\n", config.islands.count);
      } else {
        std::printf("single process (no MPI workers)\n");
      }
      if (plan) {
        std::printf("resuming %s at generation %lld of %lld (session %lld)\n", output.string().c_str(),
                    static_cast<long long>(plan->run.checkpoint.completed_generations),
                    static_cast<long long>(config.run.generations),
                    static_cast<long long>(plan->run.checkpoint.session + 1));
      }
    }
    metaevo::RunCallbacks callbacks;
    callbacks.on_generation = [&](const metaevo::GenerationRecord& record) {
      if (generation_log) {
        try {
          generation_log->append(record);
        } catch (const metaevo::StorageError& error) {
          // The run file is the record of the run: a full disk under the log does not stop it.
          const std::string warning = std::string("metaevo: warning: ") + error.what() + "; no more JSON log lines";
          if (progress) {
            progress->message(warning);
          } else {
            std::fprintf(stderr, "%s\n", warning.c_str());
          }
          generation_log.reset();
        }
      }
      if (progress) {
        char best[64];
        std::snprintf(best, sizeof best, "best %.4g", record.best_so_far);
        progress->update(record.generation + 1, best);
      } else {
        std::printf("%s\n", metaevo::format_generation_line(record, config.run.generations).c_str());
        std::fflush(stdout);
      }
    };
    callbacks.should_stop = [announced = false, &progress]() mutable {
      if (stop_signal == 0) return false;
      if (!announced) {
        const std::string notice = "metaevo: signal " + std::to_string(static_cast<int>(stop_signal)) +
                                   ": no new evaluations; collecting those in flight";
        if (progress) {
          progress->message(notice);
        } else {
          std::fprintf(stderr, "%s\n", notice.c_str());
        }
        announced = true;
      }
      return true;
    };

    const metaevo::Evaluator evaluator(config);
    metaevo::RunSummary summary;
    if (island_ranks) {
      // Rank 0 records; the islands run on their masters (docs/islands.md).
      metaevo::MpiIslands islands(session, config, callbacks.should_stop);
      summary = plan ? metaevo::resume_search(*plan, islands, callbacks)
                     : metaevo::run_search(config, output, islands, callbacks);
    } else {
      if (distributed) {
        executor = std::make_unique<metaevo::MpiExecutor>(session);
      } else {
        executor = std::make_unique<metaevo::InProcessExecutor>(evaluator);
      }
      summary = plan ? metaevo::resume_search(*plan, *executor, callbacks)
                     : metaevo::run_search(config, output, *executor, callbacks);
      if (auto* mpi_executor = dynamic_cast<metaevo::MpiExecutor*>(executor.get())) mpi_executor->shutdown();
    }
    progress.reset();  // ends its line before the summary
    std::printf("\n%s", summary.full_report().c_str());
    std::printf("run file: %s\n", output.string().c_str());
    if (summary.termination == metaevo::Termination::interrupted) {
      std::fprintf(stderr,
                   "metaevo: interrupted: %lld complete generations are checkpointed in %s (%lld finished evaluations "
                   "of the incomplete one are only in its evaluation log); continue with `metaevo resume %s`\n",
                   static_cast<long long>(summary.generations), output.string().c_str(),
                   static_cast<long long>(summary.unrecorded_evaluations), output.string().c_str());
      return exit_interrupted;
    }
    return exit_ok;
  } catch (const std::exception& error) {
    progress.reset();
    const bool storage = dynamic_cast<const metaevo::StorageError*>(&error) != nullptr;
    std::fprintf(stderr, "metaevo: %s: %s\n", storage ? "storage error" : "error", error.what());
    std::fflush(stderr);
    const int status = storage ? exit_storage_error : exit_internal_error;
    // Workers block waiting for work: only MPI_Abort ends them.
    if (distributed) session.abort(status);
    return status;
  }
}

int run_worker_rank(const metaevo::MpiSession& session, const RunArguments& arguments) {
  const std::string config_text = session.broadcast(std::string());
  if (config_text.empty()) return exit_ok;  // the master rejected the run and reports why
  try {
    // The master's files, checked by SHA-256: a rank that would load other code stops the job.
    load_recorded_plugins(plugin_list_from_text(session.broadcast(std::string())));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "metaevo: worker %d: %s\n", session.rank(), error.what());
    std::fflush(stderr);
    session.abort(exit_config_error);
  }
  try {
    metaevo::RunConfig config = metaevo::parse_config(config_text, arguments.config_path);
    const metaevo::IslandLayout layout(session.size(), config.islands.count);
    if (layout.has_recorder()) {
      session.split_islands(layout);
      if (layout.is_island_master(session.rank())) {
        metaevo::run_island_master(session, std::move(config), [] { return stop_signal != 0; });
        return exit_ok;
      }
    }
    const metaevo::Evaluator evaluator(config);
    metaevo::run_worker(session, evaluator);
    return exit_ok;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "metaevo: worker %d: %s\n", session.rank(), error.what());
    session.abort(exit_internal_error);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: a stop request that arrives while MPI starts up (slow on some machines) must set
  // the flag, not kill the rank with the signal's default action.
  install_stop_handlers();
  metaevo::MpiSession session(argc, argv);
  // After MPI_Init, whose handlers for the same signals it calls after its own line: a plugin's
  // segfault in an evaluation ends the rank with a line naming the plugin and the evaluation.
  metaevo::crash_report::install(session.size() > 1 ? "rank " + std::to_string(session.rank()) : std::string());

  CLI::App app{"metaevo: evolutionary meta-optimization of how to train"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "metaevo 0.1.0");

  RunArguments arguments;
  CLI::App* run = app.add_subcommand(
      "run", "run a search and write RUN.h5; under mpirun/srun rank 0 is the master and the others are workers");
  run->add_option("config", arguments.config_path, "TOML config (see docs/configuration.md)")
      ->required()
      ->check(CLI::ExistingFile);
  run->add_option("-o,--out", arguments.output_path, "HDF5 run file to write (default: the config's name with .h5)");
  run->add_flag("-f,--force", arguments.force, "overwrite the run file if it exists");
  run->add_flag("-q,--quiet", arguments.quiet,
                "stdout: a start line and the final summary; generation progress with rate and ETA on stderr");
  run->add_option("--log-json", arguments.log_json_path,
                  "write one JSON object per generation to FILE (JSON Lines, docs/logging.md)");
  // Same bounds as run.generations in the config.
  const CLI::Range generations_range(std::int64_t{1}, metaevo::max_generations);
  run->add_option("--generations", arguments.generations, "override run.generations")->check(generations_range);
  run->add_option("--seed", arguments.seed, "override run.seed");
  // One file per --plugin (repeat it for more): the option never swallows the config argument.
  const auto add_plugin_option = [&arguments](CLI::App* command) {
    command->add_option("--plugin", arguments.plugins,
                        "load a plugin (a shared module registering task families and update rules, docs/plugins.md) "
                        "before reading the config; repeatable")
        ->allow_extra_args(false);  // not ExistingFile: the loader's message and status 3
  };
  add_plugin_option(run);

  CLI::App* resume = app.add_subcommand(
      "resume", "continue a run from its last checkpoint (any number of MPI ranks; same results as uninterrupted)");
  resume->add_option("run_file", arguments.config_path, "HDF5 run file written by `metaevo run`")
      ->required()
      ->check(CLI::ExistingFile);
  resume->add_option("--generations", arguments.generations, "raise the run's total number of generations")
      ->check(generations_range);
  resume->add_flag("-q,--quiet", arguments.quiet,
                   "stdout: a start line and the final summary; generation progress with rate and ETA on stderr");
  resume->add_option("--log-json", arguments.log_json_path,
                     "append one JSON object per generation to FILE, dropping the records of generations after "
                     "the checkpoint, which run again (docs/logging.md)");

  CLI::App* check = app.add_subcommand("check", "validate a config and print its search space, without running");
  check->add_option("config", arguments.config_path, "TOML config")->required()->check(CLI::ExistingFile);
  add_plugin_option(check);

  CLI::App* families = app.add_subcommand(
      "families", "list the registered task families and update rules with their options, ranges and defaults");
  add_plugin_option(families);

  metaevo::cli::InspectExportArguments inspect_export_arguments;
  metaevo::cli::add_inspect_export_commands(app, inspect_export_arguments);
  metaevo::cli::ScoreArguments score_arguments;
  metaevo::cli::add_score_command(app, score_arguments);
  metaevo::cli::EvaluateArguments evaluate_arguments;
  metaevo::cli::add_evaluate_command(app, evaluate_arguments);
  add_plugin_option(score_arguments.command);
  add_plugin_option(evaluate_arguments.command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Every rank sees the same arguments and fails the same way; only rank 0 explains. --help and
    // --version end here too, with CLI11's status 0; every other parse error is a usage error.
    const int status = session.is_master() ? app.exit(error) : error.get_exit_code();
    return status == 0 ? exit_ok : exit_usage_error;
  }

  if (inspect_export_arguments.inspect->parsed() || inspect_export_arguments.export_best->parsed()) {
    if (!session.is_master()) return exit_ok;
    // The stored config may name the run's plugin families.
    const int loaded = with_exit_status([&] {
      load_recorded_plugins(recorded_plugins(inspect_export_arguments.run_file));
      return exit_ok;
    });
    return loaded != exit_ok ? loaded : *metaevo::cli::run_inspect_export(inspect_export_arguments);
  }

  if (score_arguments.command->parsed()) {
    if (!session.is_master()) return exit_ok;
    const int loaded = with_exit_status([&] {
      load_plugins(arguments.plugins, score_arguments.config_path);
      return exit_ok;
    });
    return loaded != exit_ok ? loaded : *metaevo::cli::run_score(score_arguments);
  }
  if (evaluate_arguments.command->parsed()) {
    if (!session.is_master()) return exit_ok;
    // The run's own plugins, then --plugin (e.g. for the families of a --tasks file).
    const int loaded = with_exit_status([&] {
      load_recorded_plugins(recorded_plugins(evaluate_arguments.run_file));
      load_plugins(arguments.plugins, "");
      return exit_ok;
    });
    return loaded != exit_ok ? loaded : *metaevo::cli::run_evaluate(evaluate_arguments);
  }

  if (families->parsed()) {
    if (!session.is_master()) return exit_ok;
    return with_exit_status([&] {
      load_plugins(arguments.plugins, "");
      std::fputs(metaevo::describe_registered_families().c_str(), stdout);
      return exit_ok;
    });
  }

  if (check->parsed()) {
    if (!session.is_master()) return exit_ok;
    return with_exit_status([&] {
      const std::vector<metaevo::PluginRecord> plugins = load_plugins(arguments.plugins, arguments.config_path);
      metaevo::RunConfig config = metaevo::load_config(arguments.config_path);
      config.plugins = plugins;
      std::printf("%s: valid\n", arguments.config_path.c_str());
      std::printf("float32 MLP kernel on this machine: %s (METAEVO_SIMD, docs/configuration.md)\n",
                  std::string(metaevo::float32_kernel()).c_str());
      print_search_space(config);
      return exit_ok;
    });
  }

  const bool resuming = resume->parsed();
  return session.is_master() ? run_master(session, arguments, resuming) : run_worker_rank(session, arguments);
}
