#pragma once
// Private to the library and its tests: the parser of a command task's stdout (command_task.cpp),
// reachable by the fuzz target and the regression replay of tests/fuzz/.
#include <string>

#include "metaevo/tasks/external_task.hpp"

namespace metaevo::task_detail {

/// The outcome a command task's program reported: its stdout (the whole of it, or else its last
/// non-empty line) parsed as the JSON result object of docs/external-tasks.md. Throws
/// EvaluationError naming what is wrong with it.
ExternalTaskOutcome command_task_outcome(const std::string& stdout_text);

}  // namespace metaevo::task_detail
