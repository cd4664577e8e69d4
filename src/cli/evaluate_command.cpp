#include "cli/evaluate_command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "cli/exit_status.hpp"
#include "cli/progress_display.hpp"
#include "metaevo/config/task_set.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/held_out_evaluation.hpp"
#include "metaevo/store/evaluation_store.hpp"
#include "metaevo/store/run_report.hpp"

extern char** environ;

namespace metaevo::cli {
namespace {

/// Where plot_evaluation.py may be, in order: the installed scripts, relative to this command's own
/// path (so a moved prefix still finds them), then scripts/ of the source tree this command was
/// built from (the command in a build tree). CMake defines both directories.
std::vector<std::filesystem::path> plot_script_candidates() {
  std::vector<std::filesystem::path> candidates;
  std::error_code error;
  const std::filesystem::path command = std::filesystem::canonical("/proc/self/exe", error);
  if (!error) candidates.push_back(command.parent_path() / METAEVO_BIN_TO_SCRIPTS / "plot_evaluation.py");
  candidates.push_back(std::filesystem::path(METAEVO_SOURCE_DIR) / "scripts" / "plot_evaluation.py");
  return candidates;
}

/// Debian's python3 has the Debian matplotlib and h5py; another one on PATH may not.
std::string python() { return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

/// Runs a program (searched on PATH) without a shell, so paths need no quoting. Returns its exit
/// status, 127 when it cannot be started, -1 when it died of a signal.
int run_program(const std::vector<std::string>& arguments, bool quiet) {
  std::vector<char*> argv;
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t child = 0;
  const int spawned = posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return 127;
  int status = 0;
  if (waitpid(child, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string command_text(const std::vector<std::string>& arguments) {
  std::string text;
  for (const std::string& argument : arguments) {
    if (!text.empty()) text += ' ';
    const bool plain = argument.find_first_of(" \t'\"\\$`*?;&|<>()") == std::string::npos;
    text += plain ? argument : "'" + argument + "'";
  }
  return text;
}

/// Draws the PNG with scripts/plot_evaluation.py; without python3, matplotlib, h5py or the script,
/// says so and prints the command to run elsewhere.
int draw_plot(const std::string& run_file, const std::string& png) {
  const std::vector<std::filesystem::path> candidates = plot_script_candidates();
  const auto found = std::find_if(candidates.begin(), candidates.end(),
                                  [](const std::filesystem::path& path) { return std::filesystem::exists(path); });
  const std::filesystem::path script = found != candidates.end() ? *found : candidates.back();
  const std::vector<std::string> command = {python(), script.lexically_normal().string(), run_file, "--out", png};
  std::string missing;
  if (found == candidates.end()) {
    missing = "plot_evaluation.py is in neither the installed scripts nor the source tree this metaevo was built "
              "from (looked in";
    for (const std::filesystem::path& candidate : candidates) {
      missing += " " + candidate.parent_path().lexically_normal().string();
    }
    missing += ")";
  } else if (run_program({python(), "-c", "import matplotlib, h5py, numpy"}, true) != 0) {
    missing = python() +
              " with matplotlib, h5py and numpy is not available (Debian: apt-get install python3-matplotlib "
              "python3-h5py)";
  }
  if (!missing.empty()) {
    std::fprintf(stderr, "metaevo: no plot: %s; draw it where they are with:\n  %s\n", missing.c_str(),
                 command_text(command).c_str());
    return exit_ok;  // the results are stored: the plot can be drawn from them at any time
  }
  const int status = run_program(command, false);
  if (status != 0) {
    std::fprintf(stderr, "metaevo: error: the plot script failed (status %d): %s\n", status,
                 command_text(command).c_str());
    return exit_internal_error;
  }
  return exit_ok;  // the script printed the PNG's path
}

}  // namespace

void add_evaluate_command(CLI::App& app, EvaluateArguments& arguments) {
  arguments.command = app.add_subcommand(
      "evaluate",
      "score the run's best rule on held-out tasks against sgd, momentum, adam and adam+cosine, each with its "
      "learning rate tuned on meta-training tasks; prints a table and stores /evaluation in the run file");
  arguments.command->add_option("run_file", arguments.run_file, "HDF5 run file written by `metaevo run`")
      ->required()
      ->check(CLI::ExistingFile);
  arguments.command
      ->add_option("--tasks", arguments.tasks_path,
                   "held-out task file: [[tasks]] tables as in a config, optional [evaluation] inner_steps "
                   "(default: the run's own [[tasks]] with fresh seeds)")
      ->check(CLI::ExistingFile);
  arguments.command->add_option("--seeds", arguments.seeds, "held-out tasks (fresh seeds) per contender")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  arguments.command
      ->add_option("--tuning-tasks", arguments.tuning_tasks,
                   "meta-training tasks each baseline learning rate is scored on")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  arguments.command->add_option("--plot", arguments.plot_path,
                                "write a PNG of the learning curves (python3 with matplotlib and h5py)");
}

std::optional<int> run_evaluate(const EvaluateArguments& arguments) {
  if (arguments.command == nullptr || !arguments.command->parsed()) return std::nullopt;
  const std::filesystem::path run_file = arguments.run_file;
  return with_exit_status([&]() -> int {
    // Everything that can be rejected is checked before the long work.
    std::optional<TaskSet> held_out;
    if (!arguments.tasks_path.empty()) held_out = load_task_set(arguments.tasks_path);
    const ExportedUpdateRule evolved = best_update_rule(run_file);
    const RunConfig config = stored_run_config(run_file);
    HeldOutOptions options;
    options.held_out_tasks = arguments.seeds;
    options.tuning_tasks = arguments.tuning_tasks;
    // One meter per phase: tuning and evaluating run inner loops of different lengths.
    std::optional<ProgressDisplay> display;
    std::string display_phase;
    options.progress = [&display](const std::string& line) {
      if (display) {
        display->message(line);
      } else {
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
      }
    };
    options.on_inner_loop = [&](std::string_view phase, std::int64_t done, std::int64_t total) {
      if (!display || phase != display_phase) {
        display.reset();
        display_phase = phase;
        display.emplace(stderr, display_phase + ": inner loop", "loop", ProgressMeter(total, done));
      }
      display->update(done);
    };
    validate(options);
    std::fprintf(stderr,
                 "tuning %zu baselines over %zu learning rates on %d meta-training tasks, then %zu contenders "
                 "on %d held-out tasks\n",
                 options.baselines.size(), options.learning_rate_grid.size(), options.tuning_tasks,
                 options.baselines.size() + 1, options.held_out_tasks);
    const HeldOutEvaluation evaluation = evaluate_held_out(config, evolved, held_out ? &*held_out : nullptr, options);
    display.reset();  // ends its line before the table
    write_evaluation(run_file, evaluation);
    std::fputs(format_evaluation_table(evaluation).c_str(), stdout);
    std::printf("\nstored in %s:/evaluation\n", run_file.string().c_str());
    std::fflush(stdout);
    if (!arguments.plot_path.empty()) return draw_plot(run_file.string(), arguments.plot_path);
    return exit_ok;
  });
}

}  // namespace metaevo::cli
