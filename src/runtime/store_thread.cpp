#include "runtime/store_thread.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace metaevo {

namespace {

// Best effort: on Linux the nice value is per thread (setpriority with a thread id); where the
// call is refused the store simply runs at the process's priority.
void lower_this_threads_priority() {
  const auto thread = static_cast<id_t>(::gettid());
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, thread);
  if (errno != 0) return;
  (void)::setpriority(PRIO_PROCESS, thread, current + 10);
}

}  // namespace

StoreThread::StoreThread(bool on_thread, std::size_t queue_limit)
    : on_thread_(on_thread), queue_limit_(queue_limit == 0 ? 1 : queue_limit) {
  if (on_thread_) thread_ = std::thread([this] { run(); });
}

StoreThread::~StoreThread() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    closing_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

void StoreThread::post(Work work) {
  if (!on_thread_) {
    if (std::optional<GenerationRecord> record = work()) records_.push_back(std::move(*record));
    return;
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return error_ || queue_.size() < queue_limit_; });
  rethrow_locked();
  queue_.push_back(std::move(work));
  changed_.notify_all();
}

std::vector<GenerationRecord> StoreThread::finished() {
  const std::lock_guard lock(mutex_);
  rethrow_locked();
  return std::exchange(records_, {});
}

std::vector<GenerationRecord> StoreThread::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return error_ || (queue_.empty() && !busy_); });
  rethrow_locked();
  return std::exchange(records_, {});
}

void StoreThread::rethrow_locked() {
  if (error_) std::rethrow_exception(error_);  // sticky: the store stays broken
}

void StoreThread::run() {
  lower_this_threads_priority();
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return closing_ || !queue_.empty(); });
    if (closing_) return;
    Work work = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    changed_.notify_all();  // room in the queue
    lock.unlock();
    std::optional<GenerationRecord> record;
    std::exception_ptr error;
    try {
      record = work();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    if (record) records_.push_back(std::move(*record));
    if (error) {
      // The store is broken: the rest is dropped, and the posting thread hears it at its next call.
      error_ = error;
      queue_.clear();
    }
    changed_.notify_all();
  }
}

}  // namespace metaevo
