#pragma once
// A held-out task file for `metaevo evaluate`: [[tasks]] tables exactly as in a run config, plus an
// optional [evaluation] inner_steps (longer inner loops than the search used).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/tasks/task.hpp"

namespace metaevo {

struct TaskSet {
  std::vector<TaskConfig> tasks;            // at least one, each checked against its family's schema
  std::optional<std::int64_t> inner_steps;  // [evaluation] inner_steps; absent = the run's own
  std::string source_text;                  // the TOML as given, stored with the results
  std::string source_name;                  // file name (or "<string>") for messages
};

/// Parses and validates a task file. Only [[tasks]] and [evaluation] (with only inner_steps) are
/// allowed; errors are ConfigError "FILE:LINE: message", as for a run config.
TaskSet parse_task_set(std::string_view toml_text, std::string_view source_name = "<string>");
TaskSet load_task_set(const std::filesystem::path& path);

}  // namespace metaevo
