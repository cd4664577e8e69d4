#pragma once
// `metaevo inspect RUN.h5` and `metaevo export RUN.h5 --best --format json [-o FILE]`: added to the
// command line by main() with add_inspect_export_commands, run by run_inspect_export after parsing.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace metaevo::cli {

struct InspectExportArguments {
  std::string run_file;
  bool best = false;           // export: the best genome (the only one exportable for now)
  std::string format = "json";
  std::string output_path;     // export: empty = standard output
  CLI::App* inspect = nullptr;  // set by add_inspect_export_commands
  CLI::App* export_best = nullptr;
};

/// Adds the `inspect` and `export` subcommands to `app`, parsing into `arguments` (which must outlive
/// the parse).
void add_inspect_export_commands(CLI::App& app, InspectExportArguments& arguments);

/// After app.parse(): when `inspect` or `export` was given, runs it and returns the exit status
/// (0; 4 when the run file cannot be read or the output written, with "metaevo: <reason>" on
/// stderr); std::nullopt when neither was given. Call on rank 0 only.
std::optional<int> run_inspect_export(const InspectExportArguments& arguments);

}  // namespace metaevo::cli
