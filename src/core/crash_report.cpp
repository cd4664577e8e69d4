#include "metaevo/core/crash_report.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace metaevo::crash_report {

namespace {

constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr std::size_t fatal_signal_count = std::size(fatal_signals);

// What each signal did before install(): after its line the handler hands the signal on to it
// (Open MPI's backtrace, a sanitizer's report), or to the default action.
struct sigaction previous_actions[fatal_signal_count];

/// What this process evaluates, as the text after "while ". Written only by the evaluating thread;
/// `length` is 0 while the text is rewritten or when nothing is evaluated, so the handler never
/// copies a half-written line of its own thread.
struct EvaluationSite {
  std::atomic<bool> installed{false};
  std::atomic<long> thread{0};  // the kernel thread id of the evaluating thread
  std::atomic<std::size_t> length{0};
  char text[768] = {};
  std::int64_t genome_id = -1;  // -1: outside GenomeScope (a score or baseline evaluation)
  char label[64] = {};
  std::size_t label_length = 0;
};

EvaluationSite site;

// An alternate stack, so that a stack overflow (itself a SIGSEGV) still runs the handler. Roomy:
// the handler it hands on to runs there too (Open MPI's backtrace, a sanitizer's symbolizing
// report); untouched pages cost nothing.
alignas(16) char alternate_stack[256 * 1024];

long this_thread_id() { return syscall(SYS_gettid); }

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
  }
}

/// A line built in a fixed buffer with async-signal-safe steps only.
struct SignalSafeLine {
  char text[1024];
  std::size_t length = 0;
  void append(const char* part, std::size_t count) {
    count = std::min(count, sizeof text - length);
    std::memcpy(text + length, part, count);
    length += count;
  }
  void append(const char* part) { append(part, std::strlen(part)); }
  void append_number(unsigned long value, unsigned base) {
    char digits[24];
    std::size_t count = 0;
    do {
      digits[sizeof digits - 1 - count++] = "0123456789abcdef"[value % base];
      value /= base;
    } while (value != 0 && count < sizeof digits);
    append(digits + sizeof digits - count, count);
  }
};

extern "C" void report_fatal_signal(int signal_number, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  SignalSafeLine line;
  line.append("metaevo: ");
  if (site.label_length > 0) {
    line.append(site.label, site.label_length);
    line.append(": ");
  }
  line.append("fatal signal ");
  line.append_number(static_cast<unsigned long>(signal_number), 10);
  line.append(" (");
  line.append(signal_name(signal_number));
  line.append(")");
  if (info != nullptr && (signal_number == SIGSEGV || signal_number == SIGBUS)) {
    line.append(" at address 0x");
    line.append_number(reinterpret_cast<unsigned long>(info->si_addr), 16);
  }
  const std::size_t length = site.length.load(std::memory_order_acquire);
  if (length == 0) {
    line.append(" outside any evaluation");
  } else if (site.thread.load(std::memory_order_relaxed) == this_thread_id()) {
    line.append(" while ");
    line.append(site.text, length);
  } else {
    line.append(" in a thread other than the evaluating one, which was ");
    line.append(site.text, length);
  }
  line.append("\n", 1);
  if (line.text[line.length - 1] != '\n') line.text[line.length - 1] = '\n';  // a line cut at the buffer's end
  for (std::size_t written = 0; written < line.length;) {
    const ssize_t count = write(STDERR_FILENO, line.text + written, line.length - written);
    if (count <= 0) break;
    written += static_cast<std::size_t>(count);
  }
  // Then what would have happened without this handler: the previous one runs with the same
  // signal information (Open MPI prints a backtrace, a sanitizer its report; both then raise the
  // signal again with its default action), and in any case the process dies of this signal.
  errno = saved_errno;
  for (std::size_t k = 0; k < fatal_signal_count; ++k) {
    if (fatal_signals[k] != signal_number) continue;
    const struct sigaction& previous = previous_actions[k];
    sigaction(signal_number, &previous, nullptr);
    if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
      previous.sa_sigaction(signal_number, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
      previous.sa_handler(signal_number);
    }
  }
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(signal_number, &default_action, nullptr);
  raise(signal_number);  // delivered when the handler returns (the signal is blocked until then)
}

/// Rewrites the site's text; `format` as printf. Called only by the evaluating thread.
template <class... Arguments>
void write_site(const char* format, Arguments... arguments) {
  site.length.store(0, std::memory_order_release);
  site.thread.store(this_thread_id(), std::memory_order_relaxed);
  const int count = std::snprintf(site.text, sizeof site.text, format, arguments...);
  if (count <= 0) return;
  site.length.store(std::min(static_cast<std::size_t>(count), sizeof site.text - 1), std::memory_order_release);
}

int as_int(std::size_t size) { return static_cast<int>(std::min<std::size_t>(size, 256)); }

}  // namespace

void install(std::string_view process_label) {
  site.label_length = std::min(process_label.size(), sizeof site.label - 1);
  std::memcpy(site.label, process_label.data(), site.label_length);
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof alternate_stack;
  sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_sigaction = report_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (std::size_t k = 0; k < fatal_signal_count; ++k) sigaction(fatal_signals[k], &action, &previous_actions[k]);
  site.installed.store(true);
}

bool installed() { return site.installed.load(std::memory_order_relaxed); }

GenomeScope::GenomeScope(std::int64_t genome_id) {
  if (installed()) site.genome_id = genome_id;
}

GenomeScope::~GenomeScope() {
  if (!installed()) return;
  site.genome_id = -1;
  site.length.store(0, std::memory_order_release);
}

EvaluationScope::EvaluationScope(std::int64_t generation, std::string_view rule_family, std::string_view rule_plugin)
    : generation_(generation), rule_family_(rule_family), rule_plugin_(rule_plugin) {
  if (installed()) describe(-1, {}, {});
}

EvaluationScope::~EvaluationScope() {
  if (installed()) site.length.store(0, std::memory_order_release);
}

void EvaluationScope::task(int task_index, std::string_view family, std::string_view family_plugin) {
  if (installed()) describe(task_index, family, family_plugin);
}

void EvaluationScope::describe(int task_index, std::string_view family, std::string_view family_plugin) {
  char genome[48] = "a baseline or scoring run";  // evaluate_rule called without a genome
  if (site.genome_id >= 0) std::snprintf(genome, sizeof genome, "genome %lld", static_cast<long long>(site.genome_id));
  char rule[400];
  std::snprintf(rule, sizeof rule, "update rule \"%.*s\"%s%.*s%s", as_int(rule_family_.size()), rule_family_.data(),
                rule_plugin_.empty() ? "" : " (plugin ", as_int(rule_plugin_.size()), rule_plugin_.data(),
                rule_plugin_.empty() ? "" : ")");
  if (task_index < 0) {
    write_site("evaluating %s of generation %lld: building its %s", genome, static_cast<long long>(generation_), rule);
    return;
  }
  write_site("evaluating %s of generation %lld: task %d of family \"%.*s\"%s%.*s%s with %s", genome,
             static_cast<long long>(generation_), task_index, as_int(family.size()), family.data(),
             family_plugin.empty() ? "" : " (plugin ", as_int(family_plugin.size()), family_plugin.data(),
             family_plugin.empty() ? "" : ")", rule);
}

}  // namespace metaevo::crash_report
