// `inspect` and `export`: a run file read back as a summary, and its best genome as a JSON update rule.
#include "metaevo/store/run_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/store/run_store.hpp"
#include "core/text_format.hpp"

namespace metaevo {
namespace {

using text::format_number;
using text::joined;

using Json = nlohmann::ordered_json;  // keeps the documented key order in the output

// ---------------------------------------------------------------------------------------------
// Reading the run file
// ---------------------------------------------------------------------------------------------

struct LoadedRun {
  RunFileContents contents;
  RunConfig config;
};

StorageError run_file_error(const std::filesystem::path& run_file, const std::string& reason) {
  return StorageError("cannot read run file '" + run_file.string() + "': " + reason);
}

LoadedRun load_run(const std::filesystem::path& run_file) {
  LoadedRun run;
  run.contents = read_run_file(run_file, /*with_population_genes=*/false);  // neither report needs them
  try {
    run.config = parse_config(run.contents.config_toml, run_file.string() + ":/config/toml",
                              run.contents.config_base_directory);
  } catch (const ConfigError& error) {
    // The file is readable but its config is not (edited by hand, or from another metaevo version).
    throw run_file_error(run_file, std::string("its stored config does not parse: ") + error.what());
  }
  // The stored TOML is the config as written; the run's effective seed and length (after the
  // command line's --seed/--generations) are the /config attributes.
  run.config.run.seed = run.contents.seed;
  if (run.contents.configured_generations > 0) run.config.run.generations = run.contents.configured_generations;
  if (run.config.search_space().size() != static_cast<Eigen::Index>(run.contents.coordinate_count)) {
    throw run_file_error(run_file, "its stored config has " + std::to_string(run.config.search_space().size()) +
                                       " coordinates but /search_space has " +
                                       std::to_string(run.contents.coordinate_count));
  }
  return run;
}

/// The GA ranks non-finite fitness as +inf; the stored rows keep the raw values.
double ranked_score(double fitness) {
  return std::isfinite(fitness) ? fitness : std::numeric_limits<double>::infinity();
}

/// The best genome as /best stores it (empty genes before the first generation).
Genome best_genome(const RunFileContents& contents) {
  Genome genome;
  genome.id = contents.best_genome_id;
  genome.generation = contents.best_generation;
  genome.x = contents.best_genes;
  return genome;
}

// ---------------------------------------------------------------------------------------------
// Text formatting
// ---------------------------------------------------------------------------------------------

std::string fixed_number(double value, int width) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%*.4f", width, value);
  return buffer;
}

std::string padded(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string describe_gene(const GeneSpec& gene) {
  std::string text = padded(gene.name, 20) + padded(std::string(to_string(gene.kind)), 13);
  if (gene.kind == GeneKind::categorical) return text + "{" + joined(gene.choices, ", ") + "}";
  if (gene.kind == GeneKind::integer) {
    return text + "[" + std::to_string(static_cast<long long>(gene.low)) + ", " +
           std::to_string(static_cast<long long>(gene.high)) + "]";
  }
  return text + "[" + format_number(gene.low) + ", " + format_number(gene.high) + "]";
}

/// Where a hyperparameter of the best genome comes from (Evaluator::hyperparameters_of's order).
const char* origin_of(const std::string& name, const SearchSpace& space, const ParameterSet& fixed) {
  if (space.index_of(name)) return "gene";
  if (fixed.find(name) != fixed.end()) return "fixed";
  return "default";
}

/// Best, median and worst of one generation; non-finite fitness ranks worst, as in the GA.
struct GenerationStatistics {
  double best = 0.0;
  double median = 0.0;
  double worst = 0.0;
};

GenerationStatistics statistics_of(const std::vector<double>& fitness) {
  std::vector<double> sorted;
  sorted.reserve(fitness.size());
  for (double value : fitness) sorted.push_back(ranked_score(value));
  std::sort(sorted.begin(), sorted.end());
  GenerationStatistics statistics;
  const std::size_t n = sorted.size();
  if (n == 0) return statistics;
  statistics.best = sorted.front();
  statistics.worst = sorted.back();
  statistics.median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  return statistics;
}

// Long runs: the first few generations show the start, the last ones where it ended.
constexpr std::size_t full_table_limit = 20;
constexpr std::size_t head_rows = 5;
constexpr std::size_t tail_rows = 10;

void write_fitness_table(std::ostringstream& out, const RunFileContents& contents) {
  out << "fitness per generation (generations from 0; lower is better):\n";
  if (contents.fitness.empty()) {
    out << "  (no generation stored yet)\n";
    return;
  }
  out << "  " << padded("gen", 6) << "        best      median       worst  best-so-far\n";
  const std::size_t rows = contents.fitness.size();
  double best_so_far = std::numeric_limits<double>::infinity();
  for (std::size_t row = 0; row < rows; ++row) {
    const GenerationStatistics statistics = statistics_of(contents.fitness[row]);
    best_so_far = std::min(best_so_far, statistics.best);
    const bool shown = rows <= full_table_limit || row < head_rows || row >= rows - tail_rows;
    if (!shown) {
      if (row == head_rows) out << "  ...   (" << rows - head_rows - tail_rows << " generations not shown)\n";
      continue;
    }
    out << "  " << padded(std::to_string(row), 6) << fixed_number(statistics.best, 12)
        << fixed_number(statistics.median, 12) << fixed_number(statistics.worst, 12)
        << fixed_number(best_so_far, 13) << "\n";
  }
}

}  // namespace

std::string describe_task_family(const TaskConfig& task) {
  std::vector<std::string> details{"weight " + format_number(task.weight)};
  if (const TaskFamilyRegistration* family = task_family_registry().find_if_present(task.family)) {
    for (const OptionSpec& spec : family->options.specs()) {
      if (task.options.has(spec.key)) details.push_back(spec.key + " " + format_option_value(task.options.value(spec.key)));
    }
  }
  return task.family + " (" + joined(details, ", ") + ")";
}

std::string describe_registered_families() {
  std::ostringstream out;
  const auto row = [&out](const std::string& key, const std::string& allowed, const std::string& default_text,
                          const std::string& help) {
    out << "    " << padded(key, 20) << padded(allowed, 34) << " default " << padded(default_text, 10) << " "
        << help << "\n";
  };
  out << "task families ([[tasks]] family = \"...\"; every table also takes weight, > 0):\n";
  for (const TaskFamilyRegistration& family : task_family_registry().entries()) {
    out << "  " << family.name << ": " << family.help << "\n";
    for (const OptionSpec& spec : family.options.specs()) {
      row(spec.key, spec.describe_allowed(), format_option_value(spec.default_value), spec.help);
    }
  }
  out << "update rules ([update_rule] family = \"...\"; genes and fixed name these hyperparameters):\n";
  for (const UpdateRuleRegistration& rule : update_rule_registry().entries()) {
    out << "  " << rule.name << ": " << rule.help << "\n";
    for (const HyperparameterInfo& info : rule.hyperparameters) {
      if (info.choices.empty()) {
        row(info.name, "number in " + info.range, format_number(info.default_value), info.description);
      } else {
        row(info.name, "one of " + joined(info.choices, ", "), "\"" + info.default_choice + "\"", info.description);
      }
    }
    // The shape options of a rule with gene blocks, which [update_rule.architecture] may set.
    if (!rule.architecture.specs().empty()) out << "    [update_rule.architecture]:\n";
    for (const OptionSpec& spec : rule.architecture.specs()) {
      row(spec.key, spec.describe_allowed(), format_option_value(spec.default_value), spec.help);
    }
  }
  return out.str();
}

/// Per task family: how many slots it had, the median per-task score over the last generation, and the
/// reported best genome's mean score on it (where a candidate fails shows here).
void write_task_family_summary(std::ostringstream& out, const RunFileContents& contents, const RunConfig& config) {
  const auto k = static_cast<std::size_t>(contents.tasks_per_evaluation);
  if (k == 0 || contents.generations == 0 || config.tasks.empty()) return;
  const auto p = static_cast<std::size_t>(contents.population_size);
  const auto last = static_cast<std::size_t>(contents.generations - 1);
  // The reported best's row: ids are generation * population_size + index.
  std::optional<std::size_t> best_row;
  const std::int64_t best_index = contents.best_genome_id - contents.best_generation * contents.population_size;
  if (contents.best_genome_id >= 0 && best_index >= 0 && best_index < contents.population_size &&
      contents.best_generation < contents.generations) {
    best_row = static_cast<std::size_t>(contents.best_generation) * p + static_cast<std::size_t>(best_index);
  }
  out << "per task family (score = log10 loss ratio, penalty if diverged; lower is better):\n";
  out << "  " << padded("family", 24) << padded("slots", 8) << padded("median, last generation", 26)
      << "reported best\n";
  for (std::size_t family = 0; family < config.tasks.size(); ++family) {
    std::vector<double> last_scores;
    double best_sum = 0.0;
    int best_count = 0;
    int slots = 0;
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t slot = 0; slot < k; ++slot) {
        const std::size_t at = (last * p + i) * k + slot;
        if (contents.task_families[at] != static_cast<std::int64_t>(family)) continue;
        last_scores.push_back(contents.task_scores[at]);
        if (i == 0) ++slots;
      }
    }
    if (best_row) {
      for (std::size_t slot = 0; slot < k; ++slot) {
        const std::size_t at = *best_row * k + slot;
        if (contents.task_families[at] != static_cast<std::int64_t>(family) || std::isnan(contents.task_scores[at])) continue;
        best_sum += contents.task_scores[at];
        ++best_count;
      }
    }
    std::sort(last_scores.begin(), last_scores.end());
    const auto fixed3 = [](double value) {
      char text[32];
      std::snprintf(text, sizeof text, "%.3f", value);
      return std::string(text);
    };
    const std::string median = last_scores.empty() ? "-" : fixed3(last_scores[last_scores.size() / 2]);
    const std::string best = best_count == 0 ? "-" : fixed3(best_sum / best_count);
    out << "  " << padded(config.tasks[family].family + " #" + std::to_string(family), 24)
        << padded(std::to_string(slots), 8) << padded(median, 26) << best << "\n";
  }
}

std::string inspect_run(const std::filesystem::path& run_file) {
  const LoadedRun run = load_run(run_file);
  const RunFileContents& contents = run.contents;
  const RunConfig& config = run.config;
  const SearchSpace space = config.search_space();

  std::ostringstream out;
  out << "run file     : " << run_file.string() << " (schema version " << contents.schema_version << ")\n";
  if (config.objective) {
    out << "objective    : " << to_string(config.objective->function) << " in " << config.objective->dimension
        << " dimensions (the genome is the point)\n";
  } else {
    out << "update rule  : " << config.update_rule.family << "\n";
  }
  out << "strategy     : " << config.search.strategy << "\n";
  out << "seed         : " << config.run.seed << "\n";
  out << "mode         : " << to_string(config.run.mode) << "\n";
  const bool complete = contents.generations >= config.run.generations;
  out << "progress     : " << contents.generations << " of " << config.run.generations
      << " configured generations stored" << (complete ? " (complete)" : " (incomplete: interrupted or running)")
      << "\n";
  if (contents.has_checkpoint) {
    out << "checkpoint   : after " << contents.checkpoint_generation << " completed generations (resumable)\n";
  }
  out << "population   : " << contents.population_size << " x " << contents.generations << " generations = "
      << contents.population_size * contents.generations << " evaluations stored\n";
  if (const IslandOptions& islands = config.islands; islands.count > 1) {
    const int size = config.population_size();
    out << "islands      : " << islands.count << " of " << size << " genomes (island i: columns " << size << "i.."
        << size << "i+" << size - 1 << " of each generation); " << islands.migration_size << " migrants every "
        << islands.migration_interval << " generations, " << to_string(islands.topology) << "\n";
  }
  out << "evaluation   : " << config.evaluation.tasks_per_evaluation << " tasks x "
      << config.evaluation.inner_steps << " inner steps, fitness " << to_string(config.evaluation.fitness) << "\n";
  out << "task mix     :\n";
  for (const TaskConfig& task : config.tasks) out << "  " << describe_task_family(task) << "\n";
  if (!contents.data_files.empty()) {
    out << "data files   : (SHA-256 as recorded when the run started)\n";
    for (const DataFileRecord& file : contents.data_files) out << "  " << file.path << "  sha256 " << file.sha256 << "\n";
  }
  if (!contents.plugins.empty()) {
    out << "plugins      : (SHA-256 as recorded when the run started)\n";
    for (const PluginRecord& plugin : contents.plugins) out << "  " << plugin.path << "  sha256 " << plugin.sha256 << "\n";
  }
  out << "genes (" << space.size() << " coordinates):\n";
  for (const GeneSpec& gene : space.genes()) out << "  " << describe_gene(gene) << "\n";
  for (const GeneBlock& block : space.blocks()) {
    out << "  " << padded(block.name, 20) << "block of " << block.length << " real genes in [" << format_number(block.low)
        << ", " << format_number(block.high) << "]\n";
  }
  if (!config.update_rule.fixed.empty()) {
    out << "fixed        :\n";
    for (const auto& [name, value] : config.update_rule.fixed) {
      out << "  " << padded(name, 20) << format_gene_value(value) << "\n";
    }
  }

  if (contents.best_genome_id < 0) {
    out << "best genome  : none yet (no generation completed)\n";
  } else {
    out << "best genome  : id " << contents.best_genome_id << ", generation " << contents.best_generation
        << ", fitness " << format_number(contents.best_fitness);
    if (!std::isnan(contents.best_validation_fitness)) {
      out << ", validation fitness " << format_number(contents.best_validation_fitness) << " (selected by validation)";
    }
    out << "\n";
    const Evaluator evaluator(config);
    const ParameterSet hyperparameters = evaluator.hyperparameters_of(best_genome(contents));
    out << "  hyperparameters:\n";
    for (const auto& [name, value] : hyperparameters) {
      out << "    " << padded(name, 20) << padded(format_gene_value(value), 24) << "("
          << origin_of(name, space, config.update_rule.fixed) << ")\n";
    }
    if (!config.objective && !space.blocks().empty()) {
      // Blocks can hold thousands of values: a line each with its size and spread (export has them all).
      const RuleParameters rule = evaluator.rule_parameters_of(best_genome(contents));
      out << "  gene blocks:\n";
      for (std::size_t b = 0; b < space.blocks().size(); ++b) {
        const Eigen::VectorXd& values = rule.blocks[b];
        out << "    " << padded(space.blocks()[b].name, 20) << values.size() << " values, min "
            << format_number(values.minCoeff()) << ", max " << format_number(values.maxCoeff()) << ", rms "
            << format_number(std::sqrt(values.squaredNorm() / static_cast<double>(values.size()))) << "\n";
      }
    }
  }
  write_task_family_summary(out, contents, config);
  write_fitness_table(out, contents);
  return out.str();
}

ExportedUpdateRule best_update_rule(const std::filesystem::path& run_file) {
  const LoadedRun run = load_run(run_file);
  const RunFileContents& contents = run.contents;
  if (contents.best_genome_id < 0) throw run_file_error(run_file, "it holds no best genome yet (no generation completed)");
  if (run.config.objective) {
    throw run_file_error(run_file, "it is a diagnostic [objective] search, which has no update rule to export");
  }
  const Genome genome = best_genome(contents);
  const Evaluator evaluator(run.config);
  ExportedUpdateRule rule;
  rule.family = run.config.update_rule.family;
  const RuleParameters parameters = evaluator.rule_parameters_of(genome);
  rule.hyperparameters = parameters.hyperparameters;
  rule.architecture = parameters.architecture;
  const std::vector<GeneBlock>& blocks = evaluator.space().blocks();
  for (std::size_t b = 0; b < blocks.size(); ++b) rule.blocks.emplace_back(blocks[b].name, parameters.blocks[b]);
  rule.definition = update_rule_registry().find(rule.family).definition;
  rule.inner_steps = run.config.evaluation.inner_steps;
  rule.run_file = run_file.string();
  rule.genome_id = genome.id;
  rule.generation = genome.generation;
  rule.fitness = contents.best_fitness;
  return rule;
}

RunConfig stored_run_config(const std::filesystem::path& run_file) { return load_run(run_file).config; }

}  // namespace metaevo
