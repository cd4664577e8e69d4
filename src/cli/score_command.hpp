#pragma once
// `metaevo score CONFIG RULE.json [--tasks N] [--split holdout|validation|training]`: one rule's
// fitness on a config's task distribution, printed as JSON.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace metaevo::cli {

struct ScoreArguments {
  std::string config_path;
  std::string rule_path;
  int tasks = 0;                 // 0 = the split's count in the config
  std::string split = "holdout";
  CLI::App* command = nullptr;   // set by add_score_command
};

/// Adds the `score` subcommand to `app`, parsing into `arguments` (which must outlive the parse).
void add_score_command(CLI::App& app, ScoreArguments& arguments);
/// After app.parse(): when `score` was given, runs it and returns the exit status (0; 3 for a
/// rejected config or rule JSON, with "metaevo: config error: <reason>" on stderr); std::nullopt
/// otherwise. Call on rank 0 only.
std::optional<int> run_score(const ScoreArguments& arguments);

}  // namespace metaevo::cli
