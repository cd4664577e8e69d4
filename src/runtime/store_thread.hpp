#pragma once
// The recorder's store work (HDF5 appends, checkpoint commits) on a thread of its own, so that the
// recorder keeps routing migrants while a commit writes and fsyncs. The work runs in the order it
// was posted; its generation records come back to the posting thread, which reports them (the
// progress display and the JSON log stay on one thread). The thread runs at a lower priority (nice
// + 10): on a node whose cores are shared with masters and workers, storing yields to them; nobody
// waits for it but the end of the run (and a full queue, which holds back the posting thread), and
// the recorder's own thread sleeps between its polls rather than spinning.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "metaevo/runtime/run.hpp"

namespace metaevo {

class StoreThread {
 public:
  using Work = std::function<std::optional<GenerationRecord>()>;

  /// `on_thread` false: post() runs the work at once on the caller's thread (the in-process
  /// islands, whose evaluations may use HDF5 themselves). `queue_limit` bounds the work waiting.
  explicit StoreThread(bool on_thread, std::size_t queue_limit = 16);
  /// Drops work not yet started and waits for the one running (an error path: drain() first).
  ~StoreThread();
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  /// Queues `work` (waits while the queue is full). Rethrows an earlier work's exception.
  void post(Work work);
  /// The records of the work finished since the last call, in order. Rethrows a work's exception.
  std::vector<GenerationRecord> finished();
  /// Waits until every posted work ran; then as finished().
  std::vector<GenerationRecord> drain();

 private:
  void run();
  void rethrow_locked();  // with mutex_ held

  bool on_thread_;
  std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Work> queue_;
  bool busy_ = false;  // the thread is running a work taken from the queue
  bool closing_ = false;
  std::exception_ptr error_;
  std::vector<GenerationRecord> records_;
  std::thread thread_;  // last: started when the members above exist
};

}  // namespace metaevo
