#pragma once
// `metaevo evaluate RUN.h5 [--tasks HELDOUT.toml] [--seeds N] [--tuning-tasks K] [--plot FILE.png]`:
// the best rule of a run against tuned baselines on held-out tasks; a table on stdout, the results in
// the run file (/evaluation), optionally a PNG of the learning curves.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace metaevo::cli {

struct EvaluateArguments {
  std::string run_file;
  std::string tasks_path;       // empty: the run's own [[tasks]], with fresh seeds
  int seeds = 32;               // held-out tasks per contender
  int tuning_tasks = 16;        // meta-training tasks per grid point of the tuning
  std::string plot_path;        // empty: no PNG
  CLI::App* command = nullptr;  // set by add_evaluate_command
};

/// Adds the `evaluate` subcommand to `app`, parsing into `arguments` (which must outlive the parse).
void add_evaluate_command(CLI::App& app, EvaluateArguments& arguments);
/// After app.parse(): when `evaluate` was given, runs it and returns the exit status (0; 3 for a
/// rejected task file, with "metaevo: config error: FILE:LINE: ..."; 4 for a run file that cannot be
/// read, has no best genome or cannot be written; 1 when the PNG could not be drawn, after the results
/// were stored); std::nullopt otherwise. Call on rank 0 only.
std::optional<int> run_evaluate(const EvaluateArguments& arguments);

}  // namespace metaevo::cli
