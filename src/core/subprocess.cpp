#include "metaevo/core/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

#include "core/text_format.hpp"
#include "metaevo/core/error.hpp"

namespace metaevo {

namespace {

using Clock = std::chrono::steady_clock;

// How often the loop looks whether the program has ended while a pipe stays open (a child it left
// behind may hold it), and while it waits out the grace period.
constexpr int exit_check_milliseconds = 20;

std::string system_error_text(int error) {
  std::array<char, 256> buffer{};
  // GNU strerror_r: returns the message, which may or may not be in buffer.
  return ::strerror_r(error, buffer.data(), buffer.size());
}

/// Owns one file descriptor.
class Descriptor {
 public:
  Descriptor() = default;
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() { reset(); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  Descriptor(Descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Descriptor& operator=(Descriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Descriptor read_end;
  Descriptor write_end;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw Error("cannot create a pipe: " + system_error_text(errno));
  Pipe pipe;
  pipe.read_end = Descriptor(fds[0]);
  pipe.write_end = Descriptor(fds[1]);
  return pipe;
}

/// stdin as an anonymous in-memory file: the program reads it at its own pace, and this process never
/// writes to a pipe (no blocking on a program that does not read, no SIGPIPE on one that exits).
Descriptor make_stdin_file(const std::string& text) {
  Descriptor file(::memfd_create("metaevo-subprocess-stdin", MFD_CLOEXEC));
  if (!file.open()) throw Error("cannot create the program's stdin: " + system_error_text(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(file.get(), text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw Error("cannot write the program's stdin: " + system_error_text(errno));
    written += static_cast<std::size_t>(count);
  }
  if (::lseek(file.get(), 0, SEEK_SET) != 0) throw Error("cannot rewind the program's stdin: " + system_error_text(errno));
  return file;
}

std::string environment_value(const std::vector<std::string>& environment, std::string_view key) {
  for (const std::string& entry : environment) {
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 && entry[key.size()] == '=') {
      return entry.substr(key.size() + 1);
    }
  }
  return "";
}

/// The program's path: looked up here, before the spawn, in the PATH the program will get.
std::string resolve_program(const std::string& name, const std::vector<std::string>& environment) {
  if (name.empty()) throw Error("cannot run a program with an empty name");
  if (name.find('/') != std::string::npos) return name;
  std::string search = environment_value(environment, "PATH");
  if (search.empty()) search = "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= search.size()) {
    const std::size_t end = std::min(search.find(':', begin), search.size());
    const std::string directory = end > begin ? search.substr(begin, end - begin) : std::string(".");
    const std::string candidate = directory + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    begin = end + 1;
  }
  throw Error("cannot run \"" + name + "\": not found in PATH (" + search + ")");
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& text : strings) pointers.push_back(const_cast<char*>(text.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

/// Starts the program in a process group of its own (its pid is the group's id).
pid_t spawn(const SubprocessOptions& options, const std::string& program, int stdin_fd, int stdout_fd,
            int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  if (::posix_spawn_file_actions_init(&actions) != 0) throw Error("cannot prepare to start a program");
  if (::posix_spawnattr_init(&attributes) != 0) {
    ::posix_spawn_file_actions_destroy(&actions);
    throw Error("cannot prepare to start a program");
  }
  ::posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  if (!options.workdir.empty()) ::posix_spawn_file_actions_addchdir_np(&actions, options.workdir.c_str());
  // Default dispositions and an empty mask: what this process (MPI, a signal-handling run) ignores
  // or blocks must not carry over into the program, or SIGTERM might not reach it.
  sigset_t defaults;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  sigset_t mask;
  sigemptyset(&mask);
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  ::posix_spawnattr_setsigmask(&attributes, &mask);
  ::posix_spawnattr_setpgroup(&attributes, 0);
  ::posix_spawnattr_setflags(&attributes, static_cast<short>(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                                             POSIX_SPAWN_SETSIGMASK));
  const std::vector<char*> argv = c_strings(options.argv);
  const std::vector<char*> envp = c_strings(options.environment);
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    std::string where = options.workdir.empty() ? std::string() : " in workdir \"" + options.workdir + "\"";
    throw Error("cannot run \"" + program + "\"" + where + ": " + system_error_text(error));
  }
  return pid;
}

/// True once the program has ended. It stays a zombie (WNOWAIT) until reaped, so its pid, which is
/// also the id of its process group, cannot be reused while the group may still be signalled.
bool has_ended(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) return true;  // ECHILD: nothing left to wait for
  }
  return info.si_pid != 0;
}

/// Reads what a pipe holds now (non-blocking). False at end of file or on an error.
bool read_available(Descriptor& pipe, std::string& into) {
  std::array<char, 65536> buffer{};
  const ssize_t count = ::read(pipe.get(), buffer.data(), buffer.size());
  if (count > 0) {
    into.append(buffer.data(), static_cast<std::size_t>(count));
    return true;
  }
  if (count < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  pipe.reset();
  return false;
}

/// The program's two output pipes and what was read from them.
class OutputReader {
 public:
  OutputReader(Descriptor stdout_pipe, Descriptor stderr_pipe, const SubprocessOptions& options)
      : stdout_(std::move(stdout_pipe)), stderr_(std::move(stderr_pipe)), options_(options) {
    for (const Descriptor* pipe : {&stdout_, &stderr_}) ::fcntl(pipe->get(), F_SETFL, O_NONBLOCK);
  }

  bool any_open() const { return stdout_.open() || stderr_.open(); }
  bool stdout_overflowed() const { return stdout_text_.size() > options_.max_stdout_bytes; }

  /// Waits up to `milliseconds` for output and reads what came.
  void poll_and_read(int milliseconds) {
    std::array<pollfd, 2> fds{};
    nfds_t count = 0;
    if (stdout_.open()) fds[count++] = pollfd{stdout_.get(), POLLIN, 0};
    if (stderr_.open()) fds[count++] = pollfd{stderr_.get(), POLLIN, 0};
    if (count == 0) {
      ::poll(nullptr, 0, milliseconds);
      return;
    }
    if (::poll(fds.data(), count, milliseconds) <= 0) return;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == stdout_.get()) read_stdout();
      else read_stderr();
    }
  }

  /// After the program ended: what is still in the pipes, in a bounded number of reads (a child left
  /// behind may keep writing).
  void drain() {
    for (int round = 0; round < 64 && any_open() && !stdout_overflowed(); ++round) {
      const std::size_t before = stdout_text_.size() + stderr_seen_;
      if (stdout_.open()) read_stdout();
      if (stderr_.open()) read_stderr();
      if (stdout_text_.size() + stderr_seen_ == before) break;  // nothing more right now
    }
  }

  std::string take_stdout() {
    if (stdout_text_.size() > options_.max_stdout_bytes) stdout_text_.resize(options_.max_stdout_bytes);
    return std::move(stdout_text_);
  }
  std::string take_stderr_tail() {
    trim_stderr(options_.stderr_tail_bytes);
    return std::move(stderr_tail_);
  }

 private:
  void read_stdout() {
    // Past the cap stdout is only drained (discarded), so a program stuck writing cannot grow memory.
    if (stdout_overflowed()) {
      std::string discarded;
      read_available(stdout_, discarded);
      return;
    }
    read_available(stdout_, stdout_text_);
  }
  void read_stderr() {
    const std::size_t before = stderr_tail_.size();
    read_available(stderr_, stderr_tail_);
    stderr_seen_ += stderr_tail_.size() - before;
    if (stderr_tail_.size() > 2 * options_.stderr_tail_bytes) trim_stderr(options_.stderr_tail_bytes);
  }
  void trim_stderr(std::size_t keep) {
    if (stderr_tail_.size() > keep) stderr_tail_.erase(0, stderr_tail_.size() - keep);
  }

  Descriptor stdout_;
  Descriptor stderr_;
  const SubprocessOptions& options_;
  std::string stdout_text_;
  std::string stderr_tail_;
  std::size_t stderr_seen_ = 0;
};

int milliseconds_until(Clock::time_point deadline, int at_most) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1;
  return static_cast<int>(std::clamp<long long>(left, 0, at_most));
}

Clock::time_point after(Clock::time_point start, double seconds) {
  return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

std::string SubprocessResult::describe(const SubprocessOptions& options) const {
  std::ostringstream text;
  switch (ending) {
    case Ending::exited: text << "exited with status " << exit_code; break;
    case Ending::signaled: {
      const char* name = ::sigabbrev_np(signal);
      text << "was killed by signal " << signal;
      if (name != nullptr) text << " (SIG" << name << ")";
      break;
    }
    case Ending::timed_out:
      text << "ran past its time limit of " << text::format_number(options.time_limit_seconds)
           << " s (its process group was killed)";
      break;
    case Ending::output_too_large:
      text << "printed more than " << options.max_stdout_bytes << " bytes on stdout (its process group was killed)";
      break;
  }
  return text.str();
}

SubprocessResult run_subprocess(const SubprocessOptions& options) {
  if (options.argv.empty()) throw Error("cannot run a program: the command is empty");
  if (!(options.time_limit_seconds > 0.0)) throw Error("a program's time limit must be > 0");
  const std::string program = resolve_program(options.argv.front(), options.environment);
  const auto start = Clock::now();
  Descriptor input = make_stdin_file(options.stdin_text);
  Pipe stdout_pipe = make_pipe();
  Pipe stderr_pipe = make_pipe();
  const pid_t pid = spawn(options, program, input.get(), stdout_pipe.write_end.get(), stderr_pipe.write_end.get());
  // Only the program holds the write ends now: its exit (and that of anything it started) ends the pipes.
  input.reset();
  stdout_pipe.write_end.reset();
  stderr_pipe.write_end.reset();

  OutputReader output(std::move(stdout_pipe.read_end), std::move(stderr_pipe.read_end), options);
  SubprocessResult result;
  const auto deadline = after(start, options.time_limit_seconds);
  bool ended = false;
  while (true) {
    if (has_ended(pid)) {
      ended = true;
      output.drain();
      if (output.stdout_overflowed()) result.ending = SubprocessResult::Ending::output_too_large;
      break;
    }
    if (output.stdout_overflowed()) {
      result.ending = SubprocessResult::Ending::output_too_large;
      break;
    }
    if (Clock::now() >= deadline) {
      result.ending = SubprocessResult::Ending::timed_out;
      break;
    }
    // Open pipes wake the poll when output comes or the program ends; a pipe held by a child the
    // program left behind would not, hence the bounded wait between checks.
    output.poll_and_read(milliseconds_until(deadline, exit_check_milliseconds));
  }

  if (!ended) {
    // SIGTERM first so the program may clean up; its output is still read meanwhile (a full pipe
    // must not keep it from exiting), and stderr's tail then says what it was doing.
    ::kill(-pid, SIGTERM);
    const auto grace_end = after(Clock::now(), options.kill_grace_seconds);
    while (!has_ended(pid) && Clock::now() < grace_end) {
      output.poll_and_read(milliseconds_until(grace_end, exit_check_milliseconds));
    }
  }
  // Whatever is left of the group (children that ignore SIGTERM, or that outlived a program that
  // ended by itself) goes now. The unreaped program keeps the group's id from being reused.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  output.drain();

  if (result.ending == SubprocessResult::Ending::exited) {
    if (WIFSIGNALED(status)) {
      result.ending = SubprocessResult::Ending::signaled;
      result.signal = WTERMSIG(status);
    } else {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
  }
  result.stdout_text = output.take_stdout();
  result.stderr_tail = output.take_stderr_tail();
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

std::string last_lines(std::string_view text, std::size_t count) {
  std::vector<std::string_view> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    begin = end + 1;
  }
  const std::size_t first = lines.size() > count ? lines.size() - count : 0;
  std::string joined;
  for (std::size_t i = first; i < lines.size(); ++i) {
    if (!joined.empty()) joined += '\n';
    joined += lines[i];
  }
  return joined;
}

}  // namespace metaevo
