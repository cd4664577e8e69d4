#pragma once
// The last words of a process that a fatal signal kills (a plugin's segfault, an abort): one line on
// stderr naming the signal and what the process was evaluating (generation, genome, task, family,
// and the plugin that registered the family or rule). Then whatever handled the signal before runs
// (Open MPI's backtrace, a sanitizer's report), and the process still dies of the signal (exit
// status and core dump as without this line). The metaevo command installs it on every rank; the
// evaluator says what it evaluates. docs/reliability.md, "Faults during a run".
//
// The handler may use only async-signal-safe calls, so the line is formatted in advance: the
// evaluator's scopes below write it into a fixed buffer (no allocation) as each task starts, and the
// handler only copies bytes and calls write(2). One thread per process evaluates (the executors do);
// a fatal signal in another thread says so instead of blaming the evaluation.
#include <cstdint>
#include <string_view>

namespace metaevo::crash_report {

/// Installs the fatal-signal handler (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) on an alternate
/// signal stack of the calling thread (a stack overflow still gets its line). `process_label`
/// ("rank 2", or empty in one process) starts the line after "metaevo: "; at most 63 bytes are kept.
/// Call it once, from the main thread, after anything else that installs handlers for these
/// signals (MPI_Init does): each previous handler is called after the line.
void install(std::string_view process_label);

/// Whether install() ran in this process; the scopes below do nothing until it has.
bool installed();

/// The evaluation of one genome on this thread: the line names its id. (Evaluator::evaluate.)
class GenomeScope {
 public:
  explicit GenomeScope(std::int64_t genome_id);
  ~GenomeScope();
  GenomeScope(const GenomeScope&) = delete;
  GenomeScope& operator=(const GenomeScope&) = delete;
};

/// One rule on the tasks of one evaluation key (Evaluator::evaluate_rule). Until task() it says the
/// rule is being built; the line is cleared when the scope ends. A plugin path is empty for a
/// built-in family or rule. The views must stay valid while the scope lives.
class EvaluationScope {
 public:
  EvaluationScope(std::int64_t generation, std::string_view rule_family, std::string_view rule_plugin);
  ~EvaluationScope();
  EvaluationScope(const EvaluationScope&) = delete;
  EvaluationScope& operator=(const EvaluationScope&) = delete;

  /// Task slot `task_index` of family `family` starts (sampling it, then its inner loop or program).
  void task(int task_index, std::string_view family, std::string_view family_plugin);

 private:
  void describe(int task_index, std::string_view family, std::string_view family_plugin);
  std::int64_t generation_;
  std::string_view rule_family_;
  std::string_view rule_plugin_;
};

}  // namespace metaevo::crash_report
