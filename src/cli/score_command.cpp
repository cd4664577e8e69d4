#include "cli/score_command.hpp"

#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>

#include "cli/exit_status.hpp"
#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/rule_score.hpp"
#include "metaevo/rules/exported_rule.hpp"

namespace metaevo::cli {
namespace {

/// Exported rules are a few hundred kB at most; a limit keeps a wrong path (a device, a huge file)
/// from being read whole.
constexpr std::streamsize max_rule_bytes = 64 * 1024 * 1024;

std::string read_rule_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError(path + ": cannot open the rule file");
  std::string text(static_cast<std::size_t>(max_rule_bytes) + 1, '\0');
  file.read(text.data(), max_rule_bytes + 1);
  if (file.gcount() > max_rule_bytes) throw ConfigError(path + ": larger than 64 MiB, not an exported rule");
  text.resize(static_cast<std::size_t>(file.gcount()));
  return text;
}

}  // namespace

void add_score_command(CLI::App& app, ScoreArguments& arguments) {
  arguments.command = app.add_subcommand(
      "score", "print as JSON the fitness of one exported rule on a config's tasks (deterministic seeds)");
  arguments.command->add_option("config", arguments.config_path, "TOML config whose [[tasks]] and [evaluation] to use")
      ->required()
      ->check(CLI::ExistingFile);
  arguments.command->add_option("rule", arguments.rule_path, "rule JSON written by `metaevo export`")
      ->required()
      ->check(CLI::ExistingFile);
  arguments.command->add_option("--tasks", arguments.tasks, "number of tasks (default: the split's count in the config)")
      ->check(CLI::Range(1, 1000000));
  arguments.command
      ->add_option("--split", arguments.split,
                   "which fixed task set: holdout (the final report's), validation, or training (generation 0's)")
      ->check(CLI::IsMember({"holdout", "validation", "training"}))
      ->capture_default_str();
}

std::optional<int> run_score(const ScoreArguments& arguments) {
  if (arguments.command == nullptr || !arguments.command->parsed()) return std::nullopt;
  return with_exit_status([&arguments] {
    const RunConfig config = load_config(arguments.config_path);
    ExportedUpdateRule rule;
    try {
      rule = update_rule_from_json(read_rule_file(arguments.rule_path));
    } catch (const ConfigError& error) {
      throw ConfigError(arguments.rule_path + ": " + error.what());
    }
    const RuleScore score = score_rule(config, rule, *from_string<ScoreSplit>(arguments.split), arguments.tasks);
    std::fputs(to_json(score).c_str(), stdout);
    return static_cast<int>(exit_ok);
  });
}

}  // namespace metaevo::cli
