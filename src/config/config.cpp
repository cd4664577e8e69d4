#include "metaevo/config/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "metaevo/config/task_set.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/search/strategy_registry.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "core/text_format.hpp"

// Reading order: the TOML syntax, then the top-level tables, then each section in the order of the
// file layout ([run], [ga], [evaluation], [update_rule], [[tasks]]). The first problem found is
// thrown as "FILE:LINE: KEY ..."; nothing is returned unless every key has been checked.

namespace metaevo {

namespace {

using text::format_number;
using text::joined;
using text::suggestion;

constexpr std::int64_t max_inner_steps = 10'000'000;
constexpr std::int64_t int_max = std::numeric_limits<int>::max();
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr double infinity = std::numeric_limits<double>::infinity();

const std::vector<std::string> top_level_keys = {"run",        "search",      "ga",    "evaluation",
                                                 "checkpoint", "update_rule", "tasks", "objective", "islands"};
const std::vector<std::string> objective_keys = {"function",      "dimension",     "low", "high",
                                                 "initial_value", "initial_scale", "evaluation_sleep_seconds"};
const std::vector<std::string> checkpoint_keys = {"every_generations", "every_seconds"};
const std::vector<std::string> island_keys = {"count", "migration_interval", "migration_size", "topology"};
const std::vector<std::string> run_keys = {"seed", "generations", "mode", "plugins"};
const std::vector<std::string> ga_keys = {
    "population_size", "elite_count",   "tournament_size",      "crossover",
    "crossover_rate",  "blend_alpha",   "initial_step_size",    "min_step_size",
    "max_step_size",   "step_size_adaptation", "categorical_mutation_rate",
    "operator_selection", "bandit_min_probability", "bandit_learning_rate"};
const std::vector<std::string> evaluation_keys = {"tasks_per_evaluation", "inner_steps",     "fitness",
                                                  "divergence_factor",    "penalty_fitness", "score_floor", "holdout_tasks", "validation_tasks", "validation_candidates",
                                                  "time_limit_seconds"};
const std::vector<std::string> update_rule_keys = {"family", "genes", "fixed", "architecture"};
const std::vector<std::string> gene_keys = {"kind", "low", "high", "choices", "group"};
bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

template <class Enum>
std::vector<std::string> names_of(std::initializer_list<Enum> values) {
  std::vector<std::string> names;
  for (Enum value : values) names.emplace_back(to_string(value));
  return names;
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

/// What the user wrote, for the "got ..." of a wrong-type message: `string "abc"`, `float 2.5`, `table`.
std::string describe_value(const toml::node& node) {
  std::string text(type_name(node));
  if (const auto* string = node.as_string()) return text + " " + in_quotes(string->get());
  if (const auto* integer = node.as_integer()) return text + " " + std::to_string(integer->get());
  if (const auto* real = node.as_floating_point()) return text + " " + format_number(real->get());
  if (const auto* boolean = node.as_boolean()) return text + (boolean->get() ? " true" : " false");
  return text;
}

/// The line a node starts on. Tables toml++ creates implicitly (e.g. [update_rule] when only
/// [update_rule.genes] is written) carry no position: use their first child's. 0 when unknown.
std::uint32_t line_of(const toml::node& node) {
  if (node.source().begin.line > 0) return node.source().begin.line;
  std::uint32_t line = 0;
  auto consider = [&line](const toml::node& child) {
    const std::uint32_t child_line = line_of(child);
    if (child_line > 0 && (line == 0 || child_line < line)) line = child_line;
  };
  if (const auto* table = node.as_table()) {
    for (auto&& [key, child] : *table) consider(child);
  } else if (const auto* array = node.as_array()) {
    for (const toml::node& child : *array) consider(child);
  }
  return line;
}

struct Entry {
  std::string key;
  const toml::node* node;
  std::uint32_t line;
  std::uint32_t column;
};

/// toml++ keeps a table's keys sorted by name; messages and gene order follow the file instead.
std::vector<Entry> entries_in_file_order(const toml::table& table) {
  std::vector<Entry> entries;
  for (auto&& [key, node] : table) {
    entries.push_back({std::string(key.str()), &node, line_of(node), node.source().begin.column});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return entries;
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

/// Position of `word` in `text` at or after `from` as a whole word (not part of a longer name), or npos.
std::size_t find_word(std::string_view text, std::string_view word, std::size_t from = 0) {
  for (std::size_t at = text.find(word, from); at != std::string_view::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !is_word_char(text[at - 1]);
    const bool ends = at + word.size() == text.size() || !is_word_char(text[at + word.size()]);
    if (starts && ends) return at;
  }
  return std::string_view::npos;
}

struct IntegerRange {
  std::int64_t min;
  std::int64_t max;

  /// ">= 2" when the upper bound is only the type's limit and the value is below; else "in [a, b]".
  std::string describe(std::int64_t value) const {
    const bool type_limit = max == int_max || max == int64_max;
    if (type_limit && value < min) return ">= " + std::to_string(min);
    if (type_limit) return "<= " + std::to_string(max);
    return "in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  }
};

struct RealRange {
  double low = -infinity;
  bool low_open = false;
  double high = infinity;
  bool high_open = false;
  bool allow_infinite = false;

  bool contains(double value) const {
    if (std::isnan(value) || (!allow_infinite && std::isinf(value))) return false;
    const bool above = low_open ? value > low : value >= low;
    const bool below = high_open ? value < high : value <= high;
    return above && below;
  }

  std::string describe() const {
    const bool has_low = low > -infinity;
    const bool has_high = high < infinity;
    if (has_low && has_high) {
      return std::string("in ") + (low_open ? "(" : "[") + format_number(low) + ", " + format_number(high) +
             (high_open ? ")" : "]");
    }
    const std::string finite = allow_infinite ? "" : " and finite";
    if (has_low) return (low_open ? "> " : ">= ") + format_number(low) + finite;
    if (has_high) return (high_open ? "< " : "<= ") + format_number(high) + finite;
    return "finite";
  }
};

/// Turns problems into ConfigError "FILE:LINE: message".
class Reporter {
 public:
  explicit Reporter(std::string_view source_name) : source_name_(source_name) {}

  [[noreturn]] void fail(std::uint32_t line, const std::string& message) const {
    throw ConfigError(source_name_ + ":" + std::to_string(std::max<std::uint32_t>(line, 1)) + ": " + message);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& message) const {
    fail(line_of(node), message);
  }

 private:
  std::string source_name_;
};

/// One table of the config with its dotted path ("ga", "tasks[1]", "update_rule.genes.beta1"):
/// typed, range-checked reads whose errors name the key and its line.
class Section {
 public:
  Section(const Reporter& reporter, const toml::table& table, std::string path)
      : reporter_(&reporter), table_(&table), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const toml::table& table() const { return *table_; }
  const Reporter& reporter() const { return *reporter_; }
  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  /// The table's own line (its header); the root counts as line 1.
  std::uint32_t line() const { return path_.empty() ? 1 : line_of(*table_); }
  const toml::node* find(std::string_view key) const { return table_->get(key); }

  /// At the key's line when it is present, else at the table's.
  [[noreturn]] void fail(std::string_view key, const std::string& message) const {
    const toml::node* node = find(key);
    reporter_->fail(node != nullptr ? line_of(*node) : line(), message);
  }
  [[noreturn]] void fail_here(const std::string& message) const { reporter_->fail(line(), message); }

  [[noreturn]] void fail_unknown(const Entry& entry, const std::vector<std::string>& allowed,
                                 std::string_view table_label) const {
    reporter_->fail(entry.line, "unknown key " + key_path(entry.key) + suggestion(entry.key, allowed) +
                                    "; allowed keys of " + std::string(table_label) + ": " + joined(allowed));
  }

  void reject_unknown_keys(const std::vector<std::string>& allowed) const {
    for (const Entry& entry : entries_in_file_order(*table_)) {
      if (!contains(allowed, entry.key)) fail_unknown(entry, allowed, "[" + path_ + "]");
    }
  }

  std::optional<std::int64_t> integer(std::string_view key, IntegerRange range) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    return integer_value(*node, key_path(key), range);
  }

  std::optional<double> real(std::string_view key, RealRange range) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    return real_value(*node, key_path(key), range);
  }

  std::optional<std::string> string(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* value = node->as_string();
    if (value == nullptr) reporter_->fail(*node, key_path(key) + " must be a string, got " + describe_value(*node));
    return value->get();
  }

  /// A string that must be one of `choices`.
  std::optional<std::string> choice(std::string_view key, const std::vector<std::string>& choices) const {
    std::optional<std::string> value = string(key);
    if (value && !contains(choices, *value)) {
      fail(key, key_path(key) + " must be one of " + joined(choices) + ", got " + in_quotes(*value) +
                    suggestion(*value, choices));
    }
    return value;
  }

  std::optional<Section> subtable(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* table = node->as_table();
    if (table == nullptr) reporter_->fail(*node, key_path(key) + " must be a table, got " + describe_value(*node));
    return Section(*reporter_, *table, key_path(key));
  }

  void read(std::string_view key, IntegerRange range, int& out) const {
    if (const auto value = integer(key, range)) out = static_cast<int>(*value);
  }
  void read(std::string_view key, IntegerRange range, std::int64_t& out) const {
    if (const auto value = integer(key, range)) out = *value;
  }
  void read(std::string_view key, RealRange range, double& out) const {
    if (const auto value = real(key, range)) out = *value;
  }
  template <class Enum>
  void read_enum(std::string_view key, std::initializer_list<Enum> values, Enum& out) const {
    const std::vector<std::string> names = names_of(values);
    if (const auto value = choice(key, names)) {
      out = *(values.begin() + (std::find(names.begin(), names.end(), *value) - names.begin()));
    }
  }

  std::int64_t integer_value(const toml::node& node, const std::string& name, IntegerRange range) const {
    const auto* value = node.as_integer();
    if (value == nullptr) reporter_->fail(node, name + " must be an integer, got " + describe_value(node));
    const std::int64_t number = value->get();
    if (number < range.min || number > range.max) {
      reporter_->fail(node, name + " must be " + range.describe(number) + ", got " + std::to_string(number));
    }
    return number;
  }

  /// Integers are accepted where a real is expected (`condition_number = 100`).
  double real_value(const toml::node& node, const std::string& name, RealRange range) const {
    double number = 0.0;
    if (const auto* real = node.as_floating_point()) {
      number = real->get();
    } else if (const auto* integer = node.as_integer()) {
      number = static_cast<double>(integer->get());
    } else {
      reporter_->fail(node, name + " must be a number, got " + describe_value(node));
    }
    if (!range.contains(number)) {
      const std::string requirement = std::isinf(number) && !range.allow_infinite ? "finite" : range.describe();
      reporter_->fail(node, name + " must be " + requirement + ", got " + format_number(number));
    }
    return number;
  }

  /// Runs another module's validation and re-throws its ConfigError at the line of the first of
  /// `keys` it names that this table sets (else at the table's line), under the key's dotted path.
  template <class Check>
  void check_with_lines(const std::vector<std::string>& keys, Check&& check) const {
    try {
      check();
    } catch (const ConfigError& error) {
      const std::string message = error.what();
      // The key the message is about: preferably one followed by "must", else the first named.
      std::optional<std::string> named;
      std::size_t named_at = std::string::npos;
      bool named_must = false;
      for (const std::string& key : keys) {
        if (find(key) == nullptr) continue;
        for (std::size_t at = find_word(message, key); at != std::string::npos;
             at = find_word(message, key, at + 1)) {
          const bool must = std::string_view(message).substr(at + key.size()).starts_with(" must ");
          if (!named || (must && !named_must) || (must == named_must && at < named_at)) {
            named = key;
            named_at = at;
            named_must = must;
          }
        }
      }
      if (!named) fail_here(path_ + ": " + message);
      // "ga.x must be ..." and "...: x must be ..." both become "<path>.x must be ...".
      if (named_must) fail(*named, key_path(*named) + message.substr(named_at + named->size()));
      fail(*named, key_path(*named) + ": " + message);
    }
  }

 private:
  const Reporter* reporter_;
  const toml::table* table_;
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/// [run] plugins: an array of file paths (strings), as given.
std::vector<std::string> read_plugin_paths(const Section& run) {
  std::vector<std::string> paths;
  const toml::node* node = run.find("plugins");
  if (node == nullptr) return paths;
  const toml::array* array = node->as_array();
  const std::string expected = run.key_path("plugins") + " must be an array of plugin file paths (strings), got ";
  if (array == nullptr) run.reporter().fail(*node, expected + describe_value(*node));
  for (const toml::node& element : *array) {
    const auto* path = element.as_string();
    if (path == nullptr || path->get().empty()) run.reporter().fail(*node, expected + describe_value(element));
    paths.push_back(path->get());
  }
  return paths;
}

RunOptions read_run(const Section& root) {
  const std::string how = "add seed = <integer >= 0> to [run]; there is no default seed, so every run's "
                          "randomness is chosen";
  const std::optional<Section> section = root.subtable("run");
  if (!section) root.fail_here("run.seed is required: " + how);
  section->reject_unknown_keys(run_keys);
  RunOptions run;
  const auto seed = section->integer("seed", {0, int64_max});
  if (!seed) section->fail_here("run.seed is required: " + how);
  run.seed = static_cast<std::uint64_t>(*seed);
  section->read("generations", {1, max_generations}, run.generations);
  section->read_enum("mode", {RunMode::generational, RunMode::steady_state}, run.mode);
  run.plugins = read_plugin_paths(*section);
  return run;
}

GeneticAlgorithmOptions read_ga(const Section& root) {
  GeneticAlgorithmOptions options;
  const std::optional<Section> found = root.subtable("ga");
  const toml::table empty;
  const Section section = found ? *found : Section(root.reporter(), empty, "ga");
  section.reject_unknown_keys(ga_keys);
  // Types and the int range here; the ranges themselves are validate()'s, mapped back to lines.
  const IntegerRange any_int{std::numeric_limits<int>::min(), int_max};
  const RealRange any_real;
  section.read("population_size", any_int, options.population_size);
  section.read("elite_count", any_int, options.elite_count);
  section.read("tournament_size", any_int, options.tournament_size);
  section.read_enum("crossover", {CrossoverKind::uniform, CrossoverKind::blend}, options.crossover);
  section.read("crossover_rate", any_real, options.crossover_rate);
  section.read("blend_alpha", any_real, options.blend_alpha);
  section.read("initial_step_size", any_real, options.initial_step_size);
  section.read("min_step_size", any_real, options.min_step_size);
  section.read("max_step_size", any_real, options.max_step_size);
  section.read_enum("step_size_adaptation",
                    {StepSizeAdaptation::per_gene, StepSizeAdaptation::per_group, StepSizeAdaptation::global},
                    options.step_size_adaptation);
  section.read("categorical_mutation_rate", any_real, options.categorical_mutation_rate);
  section.read_enum("operator_selection", {OperatorSelection::fixed, OperatorSelection::bandit},
                    options.operator_selection);
  section.read("bandit_min_probability", any_real, options.bandit_min_probability);
  section.read("bandit_learning_rate", any_real, options.bandit_learning_rate);
  if (found) {
    section.check_with_lines(ga_keys, [&options] { validate(options); });
  } else {
    validate(options);  // the defaults are valid
  }
  return options;
}

EvaluationOptions read_evaluation(const Section& root) {
  EvaluationOptions options;
  const std::optional<Section> section = root.subtable("evaluation");
  if (!section) return options;
  section->reject_unknown_keys(evaluation_keys);
  section->read("tasks_per_evaluation", {1, max_tasks_per_evaluation}, options.tasks_per_evaluation);
  section->read("inner_steps", {1, max_inner_steps}, options.inner_steps);
  section->read_enum("fitness", {FitnessMeasure::final_loss, FitnessMeasure::auc}, options.fitness);
  // inf is allowed: only NaN/inf losses then count as divergence.
  section->read("divergence_factor", RealRange{.low = 1.0, .low_open = true, .allow_infinite = true},
                options.divergence_factor);
  section->read("penalty_fitness", RealRange{}, options.penalty_fitness);
  section->read("score_floor", RealRange{.low = -300.0, .high = 0.0, .high_open = true}, options.score_floor);
  section->read("holdout_tasks", {0, max_tasks_per_evaluation}, options.holdout_tasks);
  section->read("validation_tasks", {0, max_tasks_per_evaluation}, options.validation_tasks);
  section->read("validation_candidates", {1, max_population_size}, options.validation_candidates);
  section->read("time_limit_seconds", RealRange{.low = 0.0, .high = max_time_limit_seconds}, options.time_limit_seconds);
  return options;
}

CheckpointOptions read_checkpoint(const Section& root) {
  CheckpointOptions options;
  const std::optional<Section> section = root.subtable("checkpoint");
  if (!section) return options;
  section->reject_unknown_keys(checkpoint_keys);
  section->read("every_generations", {0, int_max}, options.every_generations);
  section->read("every_seconds", RealRange{.low = 0.0}, options.every_seconds);
  return options;
}

// Islands beyond this are a layout mistake, not a job: each needs a master rank and workers.
constexpr int max_islands = 100'000;

IslandOptions read_islands(const Section& root) {
  IslandOptions options;
  const std::optional<Section> section = root.subtable("islands");
  if (!section) return options;
  section->reject_unknown_keys(island_keys);
  section->read("count", {1, max_islands}, options.count);
  section->read("migration_interval", {1, int_max}, options.migration_interval);
  section->read("migration_size", {0, int_max}, options.migration_size);
  section->read_enum("topology", {IslandTopology::ring}, options.topology);
  return options;
}

std::vector<std::string> hyperparameter_names(const std::vector<HyperparameterInfo>& infos) {
  std::vector<std::string> names;
  for (const HyperparameterInfo& info : infos) names.push_back(info.name);
  return names;
}

const HyperparameterInfo* find_hyperparameter(const std::vector<HyperparameterInfo>& infos, std::string_view name) {
  const auto found =
      std::find_if(infos.begin(), infos.end(), [name](const HyperparameterInfo& info) { return info.name == name; });
  return found == infos.end() ? nullptr : &*found;
}

std::string range_text(const HyperparameterInfo& info) {
  if (!info.range.empty()) return info.range;
  return "[" + format_number(info.min_value) + ", " + format_number(info.max_value) + "]";
}

/// Names the hyperparameter a [update_rule.genes] or [update_rule.fixed] key refers to, or fails.
const HyperparameterInfo& hyperparameter_of_key(const Section& section, const Entry& entry, const std::string& family,
                                                const std::vector<HyperparameterInfo>& infos) {
  const HyperparameterInfo* info = find_hyperparameter(infos, entry.key);
  if (info == nullptr) {
    const std::vector<std::string> names = hyperparameter_names(infos);
    section.reporter().fail(entry.line, section.key_path(entry.key) + ": " + in_quotes(entry.key) +
                                            " is not a hyperparameter of " + family + suggestion(entry.key, names) +
                                            "; its hyperparameters: " + joined(names));
  }
  return *info;
}

GeneSpec read_gene(const Section& gene, const HyperparameterInfo& info, const std::string& family) {
  gene.reject_unknown_keys(gene_keys);
  GeneSpec spec;
  spec.name = info.name;
  const std::vector<std::string> kinds =
      names_of({GeneKind::real, GeneKind::log_real, GeneKind::integer, GeneKind::categorical});
  const std::optional<std::string> kind = gene.choice("kind", kinds);
  if (!kind) gene.fail_here(gene.key_path("kind") + " is required: one of " + joined(kinds));
  spec.kind = *from_string<GeneKind>(*kind);
  if (const auto group = gene.string("group")) spec.group = *group;

  const bool has_choices = !info.choices.empty();
  if (spec.kind == GeneKind::categorical) {
    if (!has_choices) {
      gene.fail("kind", gene.key_path("kind") + " cannot be \"categorical\": " + family + "'s " + info.name +
                            " is a number in " + range_text(info) + "; use real, log_real or integer");
    }
    for (const char* bound : {"low", "high"}) {
      if (gene.find(bound) != nullptr) {
        gene.fail(bound, gene.key_path(bound) + " does not apply to a categorical gene (it lists choices)");
      }
    }
    const toml::node* node = gene.find("choices");
    if (node == nullptr) {
      gene.fail_here(gene.key_path("choices") + " is required for a categorical gene: some of " +
                     joined(info.choices));
    }
    const auto* array = node->as_array();
    if (array == nullptr) {
      gene.reporter().fail(*node, gene.key_path("choices") + " must be an array of strings, got " +
                                      describe_value(*node));
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string name = gene.key_path("choices") + "[" + std::to_string(i) + "]";
      const auto* choice = element.as_string();
      if (choice == nullptr) gene.reporter().fail(element, name + " must be a string, got " + describe_value(element));
      if (!contains(info.choices, choice->get())) {
        gene.reporter().fail(element, name + " must be one of " + joined(info.choices) + " (the choices of " +
                                          info.name + "), got " + in_quotes(choice->get()));
      }
      if (contains(spec.choices, choice->get())) {
        gene.reporter().fail(element, name + ": " + in_quotes(choice->get()) + " is listed twice");
      }
      spec.choices.push_back(choice->get());
    }
    if (spec.choices.size() < 2) {
      gene.reporter().fail(*node, gene.key_path("choices") + " must list at least 2 choices, got " +
                                      std::to_string(spec.choices.size()));
    }
    return spec;
  }

  if (has_choices) {
    gene.fail("kind", gene.key_path("kind") + " must be \"categorical\": " + info.name + " takes one of " +
                          joined(info.choices) + ", got " + in_quotes(*kind));
  }
  if (gene.find("choices") != nullptr) {
    gene.fail("choices", gene.key_path("choices") + " does not apply to a " + *kind +
                             " gene (only categorical genes take choices)");
  }
  const RealRange allowed{.low = info.min_value, .high = info.max_value};
  std::array<double, 2> bounds{};
  const std::array<const char*, 2> bound_keys{"low", "high"};
  for (std::size_t b = 0; b < 2; ++b) {
    const char* key = bound_keys[b];
    const toml::node* node = gene.find(key);
    if (node == nullptr) gene.fail_here(gene.key_path(key) + " is required for a " + *kind + " gene");
    const std::string name = gene.key_path(key);
    bounds[b] = spec.kind == GeneKind::integer
                    ? static_cast<double>(gene.integer_value(*node, name, {-int64_max, int64_max}))
                    : gene.real_value(*node, name, RealRange{});
    if (!allowed.contains(bounds[b])) {
      gene.fail(key, name + " must lie in " + info.name + "'s range " + range_text(info) + ", got " +
                         format_number(bounds[b]));
    }
  }
  spec.low = bounds[0];
  spec.high = bounds[1];
  if (!(spec.low < spec.high)) {
    gene.fail("low", gene.key_path("low") + " must be < high (" + format_number(spec.high) + "), got " +
                         format_number(spec.low));
  }
  if (spec.kind == GeneKind::log_real && !(spec.low > 0.0)) {
    gene.fail("low", gene.key_path("low") + " must be > 0 for a log_real gene, got " + format_number(spec.low));
  }
  return spec;
}

std::map<std::string, OptionValue, std::less<>> read_schema_values(const Section& table, const OptionSchema& schema);

/// [update_rule.architecture], read from the schema the family registered (refused for a family
/// that has none).
Options read_architecture(const Section& update_rule, const std::string& family) {
  const OptionSchema& schema = update_rule_registry().find(family).architecture;
  const std::optional<Section> table = update_rule.subtable("architecture");
  if (!table) return schema.resolve({});
  if (schema.specs().empty()) {
    table->fail_here("update rule \"" + family + "\" has no architecture options; [update_rule.architecture] is for "
                     "rules that declare gene blocks (e.g. learned_mlp)");
  }
  table->reject_unknown_keys(schema.keys());
  Options architecture = schema.resolve(read_schema_values(*table, schema));
  table->check_with_lines(schema.keys(), [&] { update_rule_gene_blocks(family, architecture); });
  return architecture;
}

UpdateRuleOptions read_update_rule(const Section& root, std::int64_t inner_steps) {
  const std::optional<Section> section = root.subtable("update_rule");
  if (!section) root.fail_here("[update_rule] is required: its [update_rule.genes] name what the search tunes");
  section->reject_unknown_keys(update_rule_keys);
  UpdateRuleOptions options;
  if (const auto family = section->choice("family", update_rule_families())) options.family = *family;
  const std::vector<HyperparameterInfo>& infos = update_rule_hyperparameters(options.family);

  options.architecture = read_architecture(*section, options.family);
  const bool has_blocks = !update_rule_gene_blocks(options.family, options.architecture).empty();
  const std::optional<Section> genes = section->subtable("genes");
  const toml::table no_genes;
  if (!has_blocks && (!genes || genes->table().empty())) {
    section->fail_here("update_rule.genes must name at least one hyperparameter of " + options.family +
                       " to search over; its hyperparameters: " + joined(hyperparameter_names(infos)));
  }
  std::map<std::string, std::uint32_t, std::less<>> gene_lines;
  const Section genes_table = genes ? *genes : Section(section->reporter(), no_genes, "update_rule.genes");
  for (const Entry& entry : entries_in_file_order(genes_table.table())) {
    const HyperparameterInfo& info = hyperparameter_of_key(genes_table, entry, options.family, infos);
    const auto* table = entry.node->as_table();
    if (table == nullptr) {
      genes_table.reporter().fail(entry.line, genes_table.key_path(entry.key) +
                                             " must be a table like { kind = \"real\", low = 0.5, high = 0.99 }, got " +
                                             describe_value(*entry.node));
    }
    options.genes.push_back(read_gene(Section(genes_table.reporter(), *table, genes_table.key_path(entry.key)), info,
                                      options.family));
    gene_lines[entry.key] = entry.line;
  }

  if (const std::optional<Section> fixed = section->subtable("fixed")) {
    for (const Entry& entry : entries_in_file_order(fixed->table())) {
      const HyperparameterInfo& info = hyperparameter_of_key(*fixed, entry, options.family, infos);
      const std::string name = fixed->key_path(entry.key);
      if (const auto gene_line = gene_lines.find(entry.key); gene_line != gene_lines.end()) {
        fixed->reporter().fail(entry.line, name + ": " + entry.key + " is also a gene (update_rule.genes." +
                                               entry.key + ", line " + std::to_string(gene_line->second) +
                                               "); a hyperparameter is either searched or fixed");
      }
      if (!info.choices.empty()) {
        const auto* choice = entry.node->as_string();
        if (choice == nullptr || !contains(info.choices, choice->get())) {
          fixed->reporter().fail(entry.line, name + " must be one of " + joined(info.choices) + ", got " +
                                                 describe_value(*entry.node));
        }
        options.fixed[entry.key] = choice->get();
      } else {
        const double value = fixed->real_value(*entry.node, name, RealRange{});
        if (!RealRange{.low = info.min_value, .high = info.max_value}.contains(value)) {
          fixed->reporter().fail(entry.line, name + " must be in " + range_text(info) + ", got " +
                                                 format_number(value));
        }
        options.fixed[entry.key] = value;
      }
    }
    fixed->check_with_lines(hyperparameter_names(infos),
                            [&] { make_update_rule(options.family, options.fixed, inner_steps); });
  }

  std::vector<std::string> gene_names;
  for (const GeneSpec& gene : options.genes) gene_names.push_back(gene.name);
  genes_table.check_with_lines(gene_names, [&options] {
    SearchSpace space(options.genes, update_rule_gene_blocks(options.family, options.architecture));
  });
  return options;
}

/// A [[tasks]] value as the type its schema declares (an integer is accepted for a real); a wrong
/// type fails at the key's line.
OptionValue option_value(const Section& table, const toml::node& node, const OptionSpec& spec) {
  const std::string name = table.key_path(spec.key);
  switch (spec.type) {
    case OptionType::boolean:
      if (const auto* value = node.as_boolean()) return value->get();
      break;
    case OptionType::integer:
      if (const auto* value = node.as_integer()) return value->get();
      break;
    case OptionType::real:
      if (const auto* value = node.as_floating_point()) return value->get();
      if (const auto* value = node.as_integer()) return static_cast<double>(value->get());
      break;
    case OptionType::string:
      if (const auto* value = node.as_string()) return value->get();
      break;
    case OptionType::integer_list:
      if (const auto* array = node.as_array()) {
        std::vector<std::int64_t> items;
        for (std::size_t i = 0; i < array->size(); ++i) {
          const toml::node& element = *array->get(i);
          const auto* item = element.as_integer();
          if (item == nullptr) {
            table.reporter().fail(element, name + "[" + std::to_string(i) + "] must be an integer, got " +
                                               describe_value(element));
          }
          items.push_back(item->get());
        }
        return items;
      }
      break;
    case OptionType::string_list:
      if (const auto* array = node.as_array()) {
        std::vector<std::string> items;
        for (std::size_t i = 0; i < array->size(); ++i) {
          const toml::node& element = *array->get(i);
          const auto* item = element.as_string();
          if (item == nullptr) {
            table.reporter().fail(element, name + "[" + std::to_string(i) + "] must be a string, got " +
                                               describe_value(element));
          }
          items.push_back(item->get());
        }
        return items;
      }
      break;
  }
  std::string expected;
  switch (spec.type) {
    case OptionType::boolean: expected = "a boolean"; break;
    case OptionType::integer: expected = "an integer"; break;
    case OptionType::real: expected = "a number"; break;
    case OptionType::string: expected = spec.choices.empty() ? "a string" : "one of " + joined(spec.choices); break;
    case OptionType::integer_list: expected = "an array of " + spec.describe_allowed(); break;
    case OptionType::string_list: expected = "an array of " + spec.describe_allowed(); break;
  }
  table.reporter().fail(node, name + " must be " + expected + ", got " + describe_value(node));
}

/// The values a table gives for a schema's keys, each type- and range-checked at its line.
std::map<std::string, OptionValue, std::less<>> read_schema_values(const Section& table, const OptionSchema& schema) {
  std::map<std::string, OptionValue, std::less<>> given;
  for (const OptionSpec& spec : schema.specs()) {
    const toml::node* node = table.find(spec.key);
    if (node == nullptr) continue;
    OptionValue value = option_value(table, *node, spec);
    const std::string problem = spec.problem(value);
    if (!problem.empty()) table.reporter().fail(*node, table.key_path(problem));
    given[spec.key] = std::move(value);
  }
  return given;
}

/// [search]: the strategy's name, and its table [search.<name>] read from the schema it registered.
/// The GA's options stay in [ga]; [search.ga] is refused so there is one place for them.
SearchOptions read_search(const Section& root, const GeneticAlgorithmOptions& ga) {
  SearchOptions search;
  const Registry<SearchStrategyRegistration>& registry = search_strategy_registry();
  const std::vector<std::string> names = registry.names();
  const std::optional<Section> found = root.subtable("search");
  if (!found) {
    search.options = to_options(ga);
    return search;
  }
  const Section& section = *found;
  if (const auto strategy = section.choice("strategy", names)) search.strategy = *strategy;
  std::vector<std::string> allowed = {"strategy"};
  if (search.strategy != "ga") allowed.push_back(search.strategy);
  for (const Entry& entry : entries_in_file_order(section.table())) {
    if (contains(allowed, entry.key)) continue;
    if (entry.key == "ga") {
      section.reporter().fail(entry.line, "the GA's options are the [ga] table, not [search.ga]");
    }
    if (contains(names, entry.key)) {
      section.reporter().fail(entry.line, "[search." + entry.key + "] is for strategy = \"" + entry.key +
                                              "\", but search.strategy is \"" + search.strategy + "\"");
    }
    section.fail_unknown(entry, allowed, "[search]");
  }
  const SearchStrategyRegistration& registration = registry.find(search.strategy);
  if (search.strategy == "ga") {
    search.options = to_options(ga);
    return search;
  }
  const std::optional<Section> table = section.subtable(search.strategy);
  const toml::table empty;
  const Section options_table = table ? *table : Section(root.reporter(), empty, "search." + search.strategy);
  options_table.reject_unknown_keys(registration.options.keys());
  search.options = registration.options.resolve(read_schema_values(options_table, registration.options));
  return search;
}

std::optional<ObjectiveOptions> read_objective(const Section& root) {
  const std::optional<Section> found = root.subtable("objective");
  if (!found) return std::nullopt;
  const Section& section = *found;
  section.reject_unknown_keys(objective_keys);
  ObjectiveOptions objective;
  const std::optional<std::string> function = section.choice("function", enum_names<DiagnosticFunction>());
  if (!function) section.fail_here("objective.function is required: one of " + joined(enum_names<DiagnosticFunction>()));
  objective.function = *from_string<DiagnosticFunction>(*function);
  section.read("dimension", IntegerRange{1, max_block_length}, objective.dimension);
  section.read("low", RealRange{}, objective.low);
  section.read("high", RealRange{}, objective.high);
  section.read("initial_value", RealRange{}, objective.initial_value);
  section.read("initial_scale", RealRange{.low = 0.0, .low_open = true}, objective.initial_scale);
  section.read("evaluation_sleep_seconds", RealRange{.low = 0.0, .high = 60.0}, objective.evaluation_sleep_seconds);
  section.check_with_lines(objective_keys, [&objective] { SearchSpace space({}, {objective_block(objective)}); });
  return objective;
}

/// Sizes that cannot run on the machine, refused at the population_size key before the strategy
/// builds (and allocates) a population: the population itself, its genome values and its per-task
/// scores (see max_population_values).
void check_population_sizes(const Section& root, const RunConfig& config) {
  const Options options = config.strategy_options();
  if (!options.has("population_size")) return;
  const bool ga = config.search.strategy == "ga";
  const std::string key = (ga ? "ga" : "search." + config.search.strategy) + ".population_size";
  std::optional<Section> table = ga ? root.subtable("ga") : std::nullopt;
  if (!ga) {
    if (const std::optional<Section> search = root.subtable("search")) table = search->subtable(config.search.strategy);
  }
  const auto fail = [&](const std::string& message) {
    if (table && table->find("population_size") != nullptr) table->fail("population_size", message);
    if (table) table->fail_here(message);
    root.fail_here(message);
  };
  const std::int64_t population = options.integer("population_size");
  if (population > max_population_size) {
    fail(key + " must be <= " + std::to_string(max_population_size) + " (the limit of a population), got " +
         std::to_string(population));
  }
  std::int64_t coordinates = 0;
  try {
    coordinates = config.search_space().size();
  } catch (const ConfigError&) {
    return;  // the strategy's build reports an invalid search space at its key
  }
  const auto limit = std::to_string(max_population_values);
  if (population * coordinates > max_population_values) {
    fail(key + " " + std::to_string(population) + " x " + std::to_string(coordinates) +
         " coordinates of the search space = " + std::to_string(population * coordinates) +
         " genome values, more than the limit " + limit + "; use a smaller population or search space");
  }
  const std::int64_t tasks = config.objective ? 1 : config.evaluation.tasks_per_evaluation;
  if (population * tasks > max_population_values) {
    fail(key + " " + std::to_string(population) + " x evaluation.tasks_per_evaluation " + std::to_string(tasks) +
         " = " + std::to_string(population * tasks) + " task scores per generation, more than the limit " + limit);
  }
}

/// A file path option given relative: relative to the config file's directory (base_directory).
std::string resolved_file_path(const std::string& given, const std::filesystem::path& base_directory) {
  const std::filesystem::path path(given);
  if (given.empty() || path.is_absolute() || base_directory.empty()) return given;
  return (base_directory / path).lexically_normal().string();
}

/// One [[tasks]] table, read from the schema its family registered: no per-family code here.
TaskConfig read_task(const Section& task, const std::filesystem::path& base_directory) {
  const Registry<TaskFamilyRegistration>& registry = task_family_registry();
  const std::vector<std::string> families = registry.names();
  const std::optional<std::string> family = task.choice("family", families);
  if (!family) task.fail_here(task.key_path("family") + " is required: one of " + joined(families));
  const TaskFamilyRegistration& registration = registry.find(*family);

  std::vector<std::string> allowed = {"family", "weight"};
  for (const std::string& key : registration.options.keys()) allowed.push_back(key);
  for (const Entry& entry : entries_in_file_order(task.table())) {
    if (contains(allowed, entry.key)) continue;
    std::vector<std::string> owners;
    for (const TaskFamilyRegistration& other : registry.entries()) {
      if (other.options.find(entry.key) != nullptr) owners.push_back(other.name);
    }
    if (owners.empty()) task.fail_unknown(entry, allowed, *family + " tasks");
    task.reporter().fail(entry.line, task.key_path(entry.key) + " does not apply to family " + *family +
                                         " (only to " + joined(owners) + "); keys of " + *family +
                                         " tasks: " + joined(allowed));
  }

  TaskConfig config;
  config.family = *family;
  task.read("weight", RealRange{.low = 0.0, .low_open = true, .high = max_task_weight}, config.weight);
  std::map<std::string, OptionValue, std::less<>> given;
  for (const OptionSpec& spec : registration.options.specs()) {
    const toml::node* node = task.find(spec.key);
    if (node == nullptr) continue;
    OptionValue value = option_value(task, *node, spec);
    const std::string problem = spec.problem(value);
    if (!problem.empty()) task.reporter().fail(*node, task.key_path(problem));
    if (spec.file_path) value = resolved_file_path(std::get<std::string>(value), base_directory);
    given[spec.key] = std::move(value);
  }
  config.options = registration.options.resolve(given);  // checked above: this only adds the defaults

  // Checks across keys are the family's own (e.g. samples * dimension), mapped back to a key's line.
  // "family" is left out: every message of make_task_family says "task family '...'".
  const std::vector<std::string> value_keys(allowed.begin() + 1, allowed.end());
  // Building the family reads its data files (once per process, see shared_dataset), so a bad file
  // fails here, before any work, and the run file can record what was read.
  task.check_with_lines(value_keys, [&config] { config.data_files = make_task_family(config)->data_files(); });
  return config;
}

std::vector<TaskConfig> read_tasks(const Section& root, const std::filesystem::path& base_directory) {
  const std::string example = "add one [[tasks]] table per task family, e.g. [[tasks]] family = \"quadratic\"";
  const toml::node* node = root.find("tasks");
  if (node == nullptr) root.fail_here("at least one [[tasks]] table is required: " + example);
  const auto* array = node->as_array();
  if (array != nullptr && array->empty()) root.reporter().fail(*node, "tasks must hold at least one table: " + example);
  if (array == nullptr || !array->is_array_of_tables()) {
    root.reporter().fail(*node, "tasks must be an array of tables ([[tasks]]), got " + describe_value(*node));
  }
  std::vector<TaskConfig> specs;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Section task(root.reporter(), *array->get(i)->as_table(), "tasks[" + std::to_string(i) + "]");
    specs.push_back(read_task(task, base_directory));
  }
  return specs;
}

/// A config (or task file) is read whole, but never more than max_config_bytes: a device such as
/// /dev/zero is refused by its type, and a pipe or a growing file stops at the limit.
std::string read_file(const std::filesystem::path& path) {
  const std::string context = "cannot read config " + path.string() + ": ";
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (std::filesystem::is_directory(status)) throw ConfigError(context + "it is a directory");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status) &&
      !std::filesystem::is_fifo(status)) {
    throw ConfigError(context + "not a regular file (a device or socket); a config is a TOML file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError(context + std::strerror(errno));
  std::string text;
  std::array<char, 65536> buffer{};
  while (file) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    text.append(buffer.data(), static_cast<std::size_t>(file.gcount()));
    if (text.size() > max_config_bytes) {
      throw ConfigError(context + "larger than " + std::to_string(max_config_bytes) +
                        " bytes (16 MiB), the limit of a config file");
    }
  }
  if (file.bad()) throw ConfigError(context + "read failed");
  return text;
}

/// How deeply a TOML text nests (table headers, dotted keys, arrays and inline tables), found by a
/// scan that never recurses, and the first line where it passes `limit` (0 when it never does).
/// toml++ and the readers here recurse once per level, so a document nested 100,000 deep would
/// overflow the stack; it is refused before it is parsed. Strings and comments are skipped; syntax
/// errors are left to the parser.
std::uint32_t line_nested_beyond(std::string_view text, std::size_t limit) {
  struct Frame {
    char open;
    std::size_t depth;  // of the array or inline table itself
  };
  std::vector<Frame> frames;
  std::uint32_t line = 1;
  std::size_t table_depth = 0;   // of the last [header]
  std::size_t key_parts = 0;     // of the key being read
  bool in_key = false;           // reading a key (before '=')
  bool line_start = true;        // only blanks so far on this line, outside any bracket
  std::size_t i = 0;
  const std::size_t size = text.size();
  // Skips the string starting at text[i] (a quote), counting its newlines; leaves i after it.
  const auto skip_string = [&] {
    const char quote = text[i];
    const bool multi_line = text.substr(i, 3) == std::string(3, quote);
    i += multi_line ? 3 : 1;
    while (i < size) {
      if (quote == '"' && text[i] == '\\') {
        if (i + 1 < size && text[i + 1] == '\n') ++line;
        i += 2;
        continue;
      }
      if (text[i] == '\n') {
        ++line;
        if (!multi_line) return;
      }
      if (text[i] == quote && (!multi_line || text.substr(i, 3) == std::string(3, quote))) {
        i += multi_line ? 3 : 1;
        while (multi_line && i < size && text[i] == quote) ++i;  // up to two quotes end the string's text
        return;
      }
      ++i;
    }
  };
  const auto depth_here = [&] {  // of a value that starts now
    if (frames.empty()) return table_depth + key_parts;
    const Frame& frame = frames.back();
    return frame.depth + (frame.open == '{' ? key_parts : 1);
  };
  while (i < size) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      if (line_start) {
        line_start = false;
        in_key = true;
        key_parts = 1;
      }
      skip_string();
      continue;
    }
    if (c == '#') {
      while (i < size && text[i] != '\n') ++i;
      continue;
    }
    if (c == '\n') {
      ++line;
      ++i;
      if (frames.empty()) {
        line_start = true;
        in_key = false;
        key_parts = 0;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (line_start && c == '[') {  // a [table] or [[array of tables]] header
      line_start = false;
      std::size_t parts = 1;
      i += i + 1 < size && text[i + 1] == '[' ? 2 : 1;
      while (i < size && text[i] != ']' && text[i] != '\n') {
        if (text[i] == '"' || text[i] == '\'') {
          skip_string();
          continue;
        }
        if (text[i] == '.') ++parts;
        ++i;
      }
      if (parts > limit) return line;
      table_depth = parts;
      key_parts = 0;
      continue;
    }
    if (line_start) {
      line_start = false;
      in_key = true;
      key_parts = 1;
    }
    if (in_key && !(c == '}' && !frames.empty() && frames.back().open == '{')) {  // not an empty {}
      if (c == '.') {
        ++key_parts;
      } else if (c == '=') {
        in_key = false;
        if (depth_here() > limit) return line;
      }
      ++i;
      continue;
    }
    if (c == '[' || c == '{') {
      const std::size_t depth = depth_here() + 1;
      if (depth > limit) return line;
      frames.push_back({c, depth});
      key_parts = 0;
      if (c == '{') {
        in_key = true;
        key_parts = 1;
      }
    } else if ((c == ']' || c == '}') && !frames.empty()) {
      frames.pop_back();  // a value of the enclosing array or inline table ends here
      key_parts = 0;
      in_key = false;
    } else if (c == ',' && !frames.empty() && frames.back().open == '{') {
      in_key = true;
      key_parts = 1;
    }
    ++i;
  }
  return 0;
}

/// The TOML document of a config or a task file; a syntax error fails at its line.
toml::table parse_toml(std::string_view toml_text, std::string_view source_name, const Reporter& reporter) {
  if (toml_text.size() > max_config_bytes) {
    reporter.fail(1, "the TOML text is " + std::to_string(toml_text.size()) + " bytes, more than " +
                         std::to_string(max_config_bytes) + " (16 MiB), the limit of a config");
  }
  if (const std::uint32_t line = line_nested_beyond(toml_text, max_config_nesting_depth)) {
    reporter.fail(line, "tables, dotted keys, arrays and inline tables nest more than " +
                            std::to_string(max_config_nesting_depth) + " levels deep here, the limit of a config");
  }
  try {
    return toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    reporter.fail(error.source().begin.line, std::string(error.description()));
  }
}

/// Where a config's relative file paths point: the directory of the file it was read from, else the
/// current directory; absolute, so the run file records where the data was.
// What islands need of the rest of the config, checked against a strategy built as the run builds it.
void check_islands(const Section& root, const RunConfig& config) {
  if (config.islands.count == 1) return;
  const Section islands = *root.subtable("islands");
  // The recorder holds whole generations of every island.
  const std::int64_t values = static_cast<std::int64_t>(config.generation_size()) * config.search_space().size();
  if (values > max_population_values) {
    islands.fail("count", "islands.count " + std::to_string(config.islands.count) + " x population " +
                              std::to_string(config.population_size()) + " x " +
                              std::to_string(config.search_space().size()) + " coordinates = " + std::to_string(values) +
                              " genome values per generation, more than the limit " +
                              std::to_string(max_population_values) + "; use fewer or smaller islands");
  }
  if (config.run.mode != RunMode::generational) {
    root.subtable("run")->fail("mode", "run.mode must be \"generational\" with islands.count > 1 (islands are deterministic only generation by generation)");
  }
  const std::unique_ptr<SearchStrategy> strategy =
      make_search_strategy(config.search.strategy, config.search_space(), config.strategy_options(), config.run.seed);
  const int migrants = config.islands.migration_size;
  if (migrants > 0 && !strategy->accepts_migrants()) {
    islands.fail("migration_size", "islands.migration_size must be 0 with search strategy " + config.search.strategy +
                                       " (it does not take migrants; the ga does), got " + std::to_string(migrants));
  }
  if (migrants > 0 && migrants > strategy->max_migrants()) {
    islands.fail("migration_size", "islands.migration_size must be <= " + std::to_string(strategy->max_migrants()) +
                                       " (population_size - elite_count: migrants never replace an elite), got " +
                                       std::to_string(migrants));
  }
}

std::filesystem::path default_base_directory(std::string_view source_name) {
  std::error_code error;
  const std::filesystem::path source{std::string(source_name)};
  std::filesystem::path directory = std::filesystem::is_regular_file(source, error) ? source.parent_path() : ".";
  if (directory.empty()) directory = ".";
  const std::filesystem::path absolute = std::filesystem::absolute(directory, error);
  return error ? directory : absolute.lexically_normal();
}

}  // namespace

RunConfig parse_config(std::string_view toml_text, std::string_view source_name,
                       const std::filesystem::path& base_directory) {
  const Reporter reporter(source_name);
  const toml::table document = parse_toml(toml_text, source_name, reporter);

  const Section root(reporter, document, "");
  for (const Entry& entry : entries_in_file_order(document)) {
    if (contains(top_level_keys, entry.key)) continue;
    const std::string what = entry.node->is_table() || entry.node->is_array_of_tables() ? "table [" + entry.key + "]"
                                                                                          : "key " + entry.key;
    reporter.fail(entry.line, "unknown " + what + suggestion(entry.key, top_level_keys) +
                                  "; allowed top-level tables: [run], [search], [ga], [evaluation], [checkpoint], [islands], "
                                  "[update_rule], [[tasks]], [objective]");
  }

  RunConfig config;
  config.base_directory = base_directory.empty() ? default_base_directory(source_name) : base_directory;
  config.run = read_run(root);
  config.ga = read_ga(root);
  config.search = read_search(root, config.ga);
  config.evaluation = read_evaluation(root);
  config.checkpoint = read_checkpoint(root);
  config.islands = read_islands(root);
  config.objective = read_objective(root);
  if (config.objective) {
    // The genome is the point: no update rule and no inner-loop tasks.
    for (const char* key : {"update_rule", "tasks"}) {
      if (const toml::node* node = root.find(key)) {
        reporter.fail(*node, std::string(key == std::string("tasks") ? "[[tasks]]" : "[update_rule]") +
                                 " does not apply to a run with an [objective] (the genome itself is the point)");
      }
    }
  } else {
    config.update_rule = read_update_rule(root, config.evaluation.inner_steps);
    config.tasks = read_tasks(root, config.base_directory);
  }
  if (config.run.mode == RunMode::steady_state && !search_strategy_registry().find(config.search.strategy).steady_state) {
    const toml::node* mode = root.subtable("run")->find("mode");
    reporter.fail(*mode, "run.mode = \"steady_state\" needs a strategy that breeds one genome at a time (ga), not " +
                             config.search.strategy);
  }
  check_population_sizes(root, config);
  // Build the strategy once: its own checks run before any work, and it says its population size.
  const std::optional<Section> search_table = root.subtable("search");
  const Section& search_section = search_table ? *search_table : root;
  search_section.check_with_lines({"strategy"}, [&config] {
    config.search.population_size =
        make_search_strategy(config.search.strategy, config.search_space(), config.strategy_options(), config.run.seed)
            ->population_size();
  });
  check_islands(root, config);
  config.source_text = std::string(toml_text);
  config.source_name = std::string(source_name);
  return config;
}

GeneBlock objective_block(const ObjectiveOptions& objective) {
  return GeneBlock{"x",
                   objective.dimension,
                   objective.low,
                   objective.high,
                   objective.initial_value,
                   objective.initial_scale,
                   "the point the diagnostic objective is evaluated at"};
}

SearchSpace RunConfig::search_space() const {
  if (objective) return SearchSpace({}, {objective_block(*objective)});
  return SearchSpace(update_rule.genes, update_rule_gene_blocks(update_rule.family, update_rule.architecture));
}

RunConfig load_config(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  return parse_config(text, path.string());
}

std::vector<std::filesystem::path> plugin_paths_in_config(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  const Reporter reporter(path.string());
  const toml::table document = parse_toml(text, path.string(), reporter);
  const Section root(reporter, document, "");
  const std::optional<Section> run = root.subtable("run");
  std::vector<std::filesystem::path> paths;
  if (!run) return paths;
  const std::filesystem::path base_directory = default_base_directory(path.string());
  for (const std::string& given : read_plugin_paths(*run)) paths.emplace_back(resolved_file_path(given, base_directory));
  return paths;
}

// The held-out task file shares the [[tasks]] reader and the messages of a run config.
TaskSet parse_task_set(std::string_view toml_text, std::string_view source_name) {
  const Reporter reporter(source_name);
  const toml::table document = parse_toml(toml_text, source_name, reporter);
  const Section root(reporter, document, "");
  const std::vector<std::string> allowed = {"tasks", "evaluation"};
  for (const Entry& entry : entries_in_file_order(document)) {
    if (contains(allowed, entry.key)) continue;
    const std::string what = entry.node->is_table() || entry.node->is_array_of_tables() ? "table [" + entry.key + "]"
                                                                                          : "key " + entry.key;
    reporter.fail(entry.line, "unknown " + what + suggestion(entry.key, allowed) +
                                  "; a held-out task file has only [[tasks]] and [evaluation] (inner_steps)");
  }
  TaskSet set;
  if (const std::optional<Section> evaluation = root.subtable("evaluation")) {
    evaluation->reject_unknown_keys({"inner_steps"});
    std::int64_t inner_steps = 0;
    evaluation->read("inner_steps", {1, max_inner_steps}, inner_steps);
    if (inner_steps > 0) set.inner_steps = inner_steps;
  }
  set.tasks = read_tasks(root, default_base_directory(source_name));
  set.source_text = std::string(toml_text);
  set.source_name = std::string(source_name);
  return set;
}

TaskSet load_task_set(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  return parse_task_set(text, path.string());
}

}  // namespace metaevo
