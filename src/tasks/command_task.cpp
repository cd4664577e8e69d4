// The "command" task family: each task is a run of the user's program, which trains with the
// given update rule and prints the losses it reached (the protocol is docs/external-tasks.md).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/json_excerpt.hpp"
#include "core/text_format.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/subprocess.hpp"
#include "metaevo/tasks/external_task.hpp"
#include "tasks/command_task_detail.hpp"
#include "tasks/task_detail.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace metaevo {

namespace {

using Json = nlohmann::json;

constexpr std::string_view input_format = "metaevo-command-task";
constexpr std::int64_t input_version = 1;
// How much of the program's stderr a failure reason quotes.
constexpr std::size_t reason_stderr_lines = 10;
constexpr std::size_t reason_stderr_bytes = 4096;
constexpr double max_time_limit_seconds = 7.0 * 24 * 3600;

enum class InputMode { stdin_json, file };

struct CommandSpec {
  std::vector<std::string> command;
  std::string workdir;
  std::vector<std::string> env;  // "KEY=VALUE", over the worker's environment
  double time_limit_seconds = 600.0;
  double kill_grace_seconds = 2.0;
  InputMode input = InputMode::stdin_json;
  std::size_t max_output_bytes = 1 << 20;
};

std::string quoted_command(const std::vector<std::string>& command) {
  std::string text;
  for (const std::string& word : command) {
    if (!text.empty()) text += ' ';
    text += word;
  }
  return "\"" + text + "\"";
}

/// The worker's environment with the task's variables over it (a later entry replaces a key).
std::vector<std::string> program_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) environment.emplace_back(*entry);
  for (const std::string& entry : overrides) {
    const std::string key = entry.substr(0, entry.find('=') + 1);  // with the '='
    std::erase_if(environment, [&key](const std::string& existing) { return existing.starts_with(key); });
    environment.push_back(entry);
  }
  return environment;
}

/// The input file of input = "file": created private (mode 0600) in the temp directory, removed
/// when the task ends.
class InputFile {
 public:
  explicit InputFile(const std::string& text) {
    std::string pattern = (std::filesystem::temp_directory_path() / "metaevo-task-XXXXXX.json").string();
    const int fd = ::mkostemps(pattern.data(), 5, O_CLOEXEC);
    if (fd < 0) throw EvaluationError("cannot create the task's input file: " + std::string(std::strerror(errno)));
    path_ = pattern;
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t count = ::write(fd, text.data() + written, text.size() - written);
      if (count < 0 && errno == EINTR) continue;
      if (count < 0) {
        const int error = errno;
        ::close(fd);
        throw EvaluationError("cannot write the task's input file " + path_ + ": " + std::strerror(error));
      }
      written += static_cast<std::size_t>(count);
    }
    ::close(fd);
  }
  ~InputFile() { ::unlink(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The JSON result: the whole of stdout, or else its last non-empty line (so the program may print
/// progress before it).
Json parse_result(const std::string& output) {
  const std::string last = last_lines(output, 1);
  if (last.empty()) throw EvaluationError("printed no result on stdout (expected a JSON object)");
  Json result = Json::parse(output, nullptr, false);
  if (result.is_discarded()) result = Json::parse(last, nullptr, false);
  if (result.is_discarded()) {
    throw EvaluationError("printed no valid JSON result; its last stdout line: " + last.substr(0, 200));
  }
  if (!result.is_object()) throw EvaluationError("printed JSON that is not an object: " + last.substr(0, 200));
  return result;
}

double number_field(const Json& value, const std::string& field) {
  if (!value.is_number()) {
    throw EvaluationError("its result's \"" + field + "\" must be a number, got " + json_excerpt(value, 100));
  }
  const double number = value.get<double>();
  if (!std::isfinite(number)) throw EvaluationError("its result's \"" + field + "\" is not finite");
  return number;
}

ExternalTaskOutcome outcome_from_result(const Json& result) {
  ExternalTaskOutcome outcome;
  if (const auto diverged = result.find("diverged"); diverged != result.end()) {
    if (!diverged->is_boolean()) throw EvaluationError("its result's \"diverged\" must be true or false");
    outcome.diverged = diverged->get<bool>();
  }
  const auto final_loss = result.find("final_loss");
  if (final_loss == result.end() || final_loss->is_null()) {
    // A diverged run may have no loss worth reporting.
    if (!outcome.diverged) throw EvaluationError("its result has no \"final_loss\"");
    outcome.final_loss = std::numeric_limits<double>::quiet_NaN();
  } else {
    outcome.final_loss = number_field(*final_loss, "final_loss");
  }
  if (const auto initial = result.find("initial_loss"); initial != result.end() && !initial->is_null()) {
    outcome.initial_loss = number_field(*initial, "initial_loss");
  }
  if (const auto curve = result.find("learning_curve"); curve != result.end() && !curve->is_null()) {
    if (!curve->is_array()) throw EvaluationError("its result's \"learning_curve\" must be an array of numbers");
    for (const Json& loss : *curve) outcome.learning_curve.push_back(number_field(loss, "learning_curve"));
  }
  if (const auto steps = result.find("steps"); steps != result.end() && !steps->is_null()) {
    if (!steps->is_number_integer() || steps->get<std::int64_t>() < 0) {
      throw EvaluationError("its result's \"steps\" must be an integer >= 0");
    }
    outcome.steps = steps->get<std::int64_t>();
  }
  if (const auto metrics = result.find("metrics"); metrics != result.end() && !metrics->is_object()) {
    throw EvaluationError("its result's \"metrics\" must be an object");
  }
  return outcome;
}

class CommandTaskFamily final : public ExternalTaskFamily {
 public:
  explicit CommandTaskFamily(CommandSpec spec) : spec_(std::move(spec)) {}

  std::string_view name() const override { return "command"; }

  ExternalTaskOutcome run(const ExternalTaskRequest& request) const override {
    SubprocessOptions options;
    options.argv = spec_.command;
    options.workdir = spec_.workdir;
    options.max_stdout_bytes = spec_.max_output_bytes;
    options.stderr_tail_bytes = reason_stderr_bytes;
    options.kill_grace_seconds = spec_.kill_grace_seconds;
    options.time_limit_seconds = spec_.time_limit_seconds;
    if (request.deadline != std::chrono::steady_clock::time_point::max()) {
      // The evaluation's own time limit bounds each of its tasks too.
      const double left = std::chrono::duration<double>(request.deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0.0) throw EvaluationError("the evaluation's time limit was exceeded before the task started");
      options.time_limit_seconds = std::min(options.time_limit_seconds, left);
    }

    const std::string input = input_document(request, options.time_limit_seconds);
    std::vector<std::string> variables = spec_.env;
    variables.push_back("METAEVO_TASK_INDEX=" + std::to_string(request.task_index));
    variables.push_back("METAEVO_TASK_SEED=" + std::to_string(request.seed));
    std::optional<InputFile> input_file;
    if (spec_.input == InputMode::file) {
      input_file.emplace(input);
      variables.push_back("METAEVO_TASK_INPUT=" + input_file->path());
    } else {
      options.stdin_text = input;
    }
    options.environment = program_environment(variables);

    SubprocessResult finished;
    try {
      finished = run_subprocess(options);
    } catch (const Error& error) {
      throw EvaluationError(error.what());  // it names the program: cannot run "...": ...
    }
    try {
      if (!finished.succeeded()) throw EvaluationError(finished.describe(options));
      return task_detail::command_task_outcome(finished.stdout_text);
    } catch (const EvaluationError& error) {
      std::string reason = "command " + quoted_command(spec_.command) + " " + error.what();
      const std::string tail = last_lines(finished.stderr_tail, reason_stderr_lines);
      reason += tail.empty() ? "; its stderr was empty" : "; the last lines of its stderr:\n" + tail;
      throw EvaluationError(reason);
    }
  }

 private:
  std::string input_document(const ExternalTaskRequest& request, double time_limit_seconds) const {
    Json rule = Json::parse(request.rule_json);
    Json input = {
        {"format", input_format},
        {"version", input_version},
        {"task_index", request.task_index},
        {"seed", request.seed},
        {"generation", request.generation},
        {"inner_steps", request.inner_steps},
        {"time_limit_seconds", time_limit_seconds},
        {"hyperparameters", rule.at("hyperparameters")},
        {"rule", std::move(rule)},
    };
    return input.dump() + "\n";
  }

  CommandSpec spec_;
};

CommandSpec spec_from_options(const Options& options) {
  const auto fail = [](const std::string& key, const std::string& requirement, const std::string& seen) {
    throw ConfigError("task family 'command': " + key + " must be " + requirement + ", got " + seen);
  };
  CommandSpec spec;
  spec.command = options.string_list("command");
  if (spec.command.empty()) {
    fail("command", "a non-empty array of strings (the program and its arguments)", "[]");
  }
  if (spec.command.front().empty()) fail("command", "an array whose first string names the program", "\"\"");
  spec.workdir = options.string("workdir");
  spec.env = options.string_list("env");
  for (const std::string& entry : spec.env) {
    const std::size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      fail("env", "an array of \"KEY=VALUE\" strings", "\"" + entry + "\"");
    }
  }
  spec.time_limit_seconds = options.real("time_limit_seconds");
  spec.kill_grace_seconds = options.real("kill_grace_seconds");
  spec.input = options.string("input") == "file" ? InputMode::file : InputMode::stdin_json;
  spec.max_output_bytes = static_cast<std::size_t>(options.integer("max_output_bytes"));
  return spec;
}

}  // namespace

namespace task_detail {

ExternalTaskOutcome command_task_outcome(const std::string& stdout_text) {
  return outcome_from_result(parse_result(stdout_text));
}

void register_command_family(Registry<TaskFamilyRegistration>& registry) {
  TaskFamilyRegistration registration;
  registration.name = "command";
  registration.help =
      "each task runs an external program with the rule and the task's seed as JSON; it prints its "
      "final loss as JSON (docs/external-tasks.md)";
  registration.options = OptionSchema{
      string_list_option("command", {}, 0, 4096,
                         "the program and its arguments, e.g. [\"python3\", \"train.py\"] (required)"),
      choice_option("workdir", "", {}, "the program's working directory; empty = the directory metaevo runs in"),
      string_list_option("env", {}, 0, 4096, "\"KEY=VALUE\" variables set for the program, over the worker's"),
      real_option("time_limit_seconds", 600.0, NumericRange::make(0.0, true, max_time_limit_seconds, false),
                  "past it the program's process group is killed and the evaluation fails"),
      real_option("kill_grace_seconds", 2.0, NumericRange::closed(0.0, 60.0),
                  "time between SIGTERM and SIGKILL to the process group on a timeout"),
      choice_option("input", "stdin", {"stdin", "file"},
                    "how the program gets its input JSON: on stdin, or in a file named by $METAEVO_TASK_INPUT"),
      integer_option("max_output_bytes", 1 << 20, NumericRange::closed(16, 1 << 30),
                     "more stdout than this fails the task"),
  };
  registration.make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
    return std::make_unique<CommandTaskFamily>(spec_from_options(options));
  };
  registry.add(std::move(registration));
}

}  // namespace task_detail

}  // namespace metaevo
