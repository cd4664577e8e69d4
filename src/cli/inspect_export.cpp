// The read-only subcommands on a run file: a readable summary, and the best genome as JSON.
#include "cli/inspect_export.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>

#include "cli/exit_status.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/store/run_report.hpp"

namespace metaevo::cli {
namespace {

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw StorageError("cannot write '" + path.string() + "': cannot open it for writing");
  file << text;
  file.flush();
  if (!file) throw StorageError("cannot write '" + path.string() + "': write failed (disk full?)");
}

int inspect(const InspectExportArguments& arguments) {
  std::fputs(inspect_run(arguments.run_file).c_str(), stdout);
  return exit_ok;
}

int export_best(const InspectExportArguments& arguments) {
  const std::string json = to_json(best_update_rule(arguments.run_file));
  if (arguments.output_path.empty()) {
    std::fputs(json.c_str(), stdout);
  } else {
    write_text_file(arguments.output_path, json);
    std::fprintf(stderr, "metaevo: wrote the best genome of %s to %s\n", arguments.run_file.c_str(),
                 arguments.output_path.c_str());
  }
  return exit_ok;
}

}  // namespace

void add_inspect_export_commands(CLI::App& app, InspectExportArguments& arguments) {
  arguments.inspect = app.add_subcommand(
      "inspect", "summarize a run file: config, progress, best genome decoded, fitness per generation");
  arguments.inspect->add_option("run_file", arguments.run_file, "HDF5 run file written by `metaevo run`")->required();

  arguments.export_best = app.add_subcommand(
      "export", "write the best genome as a JSON update rule (family, hyperparameters) the library loads back");
  arguments.export_best->add_option("run_file", arguments.run_file, "HDF5 run file written by `metaevo run`")
      ->required();
  arguments.export_best->add_flag("--best", arguments.best, "export the best genome (required: the only choice for now)")
      ->required();
  arguments.export_best->add_option("--format", arguments.format, "output format (only json)")
      ->check(CLI::IsMember({"json"}))
      ->capture_default_str();
  arguments.export_best->add_option("-o,--out", arguments.output_path, "file to write (default: standard output)");
}

std::optional<int> run_inspect_export(const InspectExportArguments& arguments) {
  const bool inspecting = arguments.inspect != nullptr && arguments.inspect->parsed();
  const bool exporting = arguments.export_best != nullptr && arguments.export_best->parsed();
  if (!inspecting && !exporting) return std::nullopt;
  return with_exit_status([&] { return inspecting ? inspect(arguments) : export_best(arguments); });
}

}  // namespace metaevo::cli
