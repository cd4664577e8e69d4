// The metaevo command line: `metaevo run CONFIG --out RUN.h5`, `metaevo check CONFIG`.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "metaevo/config.hpp"
#include "metaevo/error.hpp"
#include "metaevo/run.hpp"
#include "metaevo/update_rule.hpp"

namespace {

// Exit statuses (documented in README.md): scripts and job files branch on them.
enum ExitStatus : int {
  exit_ok = 0,
  exit_internal_error = 1,
  exit_usage_error = 2,     // bad command line (CLI11 uses this too)
  exit_config_error = 3,    // the config was rejected before any work
  exit_storage_error = 4,   // the run file could not be written or read
};

void print_search_space(const metaevo::RunConfig& config) {
  std::printf("update rule %s; %zu genes, %zu task families; population %d x %lld generations, %d tasks x %lld steps "
              "per evaluation\n",
              config.update_rule.family.c_str(), config.update_rule.genes.size(), config.tasks.size(),
              config.ga.population_size, static_cast<long long>(config.run.generations),
              config.evaluation.tasks_per_evaluation, static_cast<long long>(config.evaluation.inner_steps));
  for (const metaevo::GeneSpec& gene : config.update_rule.genes) {
    if (gene.kind == metaevo::GeneKind::categorical) {
      std::string choices;
      for (const std::string& choice : gene.choices) choices += (choices.empty() ? "" : ", ") + choice;
      std::printf("  gene %-18s categorical {%s}\n", gene.name.c_str(), choices.c_str());
    } else {
      std::printf("  gene %-18s %-11s [%g, %g]\n", gene.name.c_str(), std::string(to_string(gene.kind)).c_str(),
                  gene.low, gene.high);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"metaevo: evolutionary meta-optimization of how to train"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "metaevo 0.1.0");

  std::string config_path;
  std::string output_path;
  bool force = false;
  bool quiet = false;
  std::optional<std::int64_t> generations_override;
  std::optional<std::uint64_t> seed_override;

  CLI::App* run = app.add_subcommand("run", "run a whole search in this process and write RUN.h5");
  run->add_option("config", config_path, "TOML config (see docs/configuration.md)")->required()->check(CLI::ExistingFile);
  run->add_option("-o,--out", output_path, "HDF5 run file to write (default: the config's name with .h5)");
  run->add_flag("-f,--force", force, "overwrite the run file if it exists");
  run->add_flag("-q,--quiet", quiet, "print only the final summary");
  run->add_option("--generations", generations_override, "override run.generations")->check(CLI::PositiveNumber);
  run->add_option("--seed", seed_override, "override run.seed");

  CLI::App* check = app.add_subcommand("check", "validate a config and print its search space, without running");
  check->add_option("config", config_path, "TOML config")->required()->check(CLI::ExistingFile);

  CLI11_PARSE(app, argc, argv);

  try {
    metaevo::RunConfig config = metaevo::load_config(config_path);
    if (generations_override) config.run.generations = *generations_override;
    if (seed_override) config.run.seed = *seed_override;

    if (check->parsed()) {
      std::printf("%s: valid\n", config_path.c_str());
      print_search_space(config);
      return exit_ok;
    }

    std::filesystem::path output = output_path.empty()
                                       ? std::filesystem::path(config_path).filename().replace_extension(".h5")
                                       : std::filesystem::path(output_path);
    if (std::filesystem::exists(output) && !force) {
      std::fprintf(stderr, "metaevo: %s exists; it may hold a run. Use --force to overwrite it.\n",
                   output.string().c_str());
      return exit_usage_error;
    }

    if (!quiet) print_search_space(config);
    metaevo::RunCallbacks callbacks;
    if (!quiet) {
      callbacks.on_generation = [&config](const metaevo::GenerationRecord& record) {
        std::printf("%s\n", metaevo::format_generation_line(record, config.run.generations).c_str());
        std::fflush(stdout);
      };
    }
    const metaevo::RunSummary summary = metaevo::run_search(config, output, callbacks);
    std::printf("\n%s", summary.full_report().c_str());
    std::printf("run file: %s\n", output.string().c_str());
    return exit_ok;
  } catch (const metaevo::ConfigError& error) {
    std::fprintf(stderr, "metaevo: config error: %s\n", error.what());
    return exit_config_error;
  } catch (const metaevo::StorageError& error) {
    std::fprintf(stderr, "metaevo: storage error: %s\n", error.what());
    return exit_storage_error;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "metaevo: error: %s\n", error.what());
    return exit_internal_error;
  }
}
