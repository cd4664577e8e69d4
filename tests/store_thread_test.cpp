// StoreThread: the recorder's store work in order on a thread of its own (src/runtime/store_thread.hpp).
#include "runtime/store_thread.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace metaevo {
namespace {

StoreThread::Work record_of(std::int64_t generation, std::vector<std::int64_t>* ran = nullptr) {
  return [generation, ran] {
    if (ran) ran->push_back(generation);
    GenerationRecord record;
    record.generation = generation;
    return std::optional<GenerationRecord>(record);
  };
}

std::vector<std::int64_t> generations_of(const std::vector<GenerationRecord>& records) {
  std::vector<std::int64_t> generations;
  for (const GenerationRecord& record : records) generations.push_back(record.generation);
  return generations;
}

TEST(StoreThread, RunsTheWorkInOrderAndHandsBackItsRecords) {
  for (const bool on_thread : {false, true}) {
    StoreThread store(on_thread, 2);
    std::vector<std::int64_t> ran;  // written by the store thread alone until drain()
    for (std::int64_t g = 0; g < 20; ++g) store.post(record_of(g, &ran));
    store.post([] { return std::optional<GenerationRecord>(); });  // work without a record
    const std::vector<GenerationRecord> first = store.finished();
    std::vector<std::int64_t> all = generations_of(first);
    const std::vector<GenerationRecord> rest = store.drain();
    for (std::int64_t g : generations_of(rest)) all.push_back(g);
    std::vector<std::int64_t> expected;
    for (std::int64_t g = 0; g < 20; ++g) expected.push_back(g);
    EXPECT_EQ(all, expected) << "on_thread " << on_thread;
    EXPECT_EQ(ran, expected);
    EXPECT_TRUE(store.drain().empty());
  }
}

TEST(StoreThread, InlineWorkRunsInPost) {
  StoreThread store(false);
  bool ran = false;
  store.post([&] {
    ran = true;
    return std::optional<GenerationRecord>();
  });
  EXPECT_TRUE(ran);
}

TEST(StoreThread, AFullQueueHoldsBackThePoster) {
  StoreThread store(true, 1);
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  auto blocked = [&] {
    ++started;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::optional<GenerationRecord>();
  };
  store.post(blocked);  // taken by the thread
  while (started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  store.post(blocked);  // waits in the queue (limit 1)
  std::atomic<bool> third_posted{false};
  std::thread poster([&] {
    store.post(record_of(7));
    third_posted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_posted) << "a post into a full queue returned";
  release = true;
  poster.join();
  EXPECT_EQ(generations_of(store.drain()), std::vector<std::int64_t>{7});
}

TEST(StoreThread, AnErrorDropsTheRestAndIsRethrownToThePosterEveryTime) {
  StoreThread store(true);
  std::atomic<bool> after_error_ran{false};
  store.post(record_of(0));
  store.post([]() -> std::optional<GenerationRecord> { throw std::runtime_error("disk full"); });
  store.post([&] {
    after_error_ran = true;
    return std::optional<GenerationRecord>();
  });
  EXPECT_THROW(
      {
        try {
          store.drain();
        } catch (const std::runtime_error& error) {
          EXPECT_STREQ(error.what(), "disk full");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(store.finished(), std::runtime_error);
  EXPECT_THROW(store.post(record_of(1)), std::runtime_error);
  EXPECT_FALSE(after_error_ran);
}

TEST(StoreThread, InlineErrorsReachThePosterAtOnce) {
  StoreThread store(false);
  EXPECT_THROW(store.post([]() -> std::optional<GenerationRecord> { throw std::runtime_error("bad"); }),
               std::runtime_error);
}

TEST(StoreThread, TheThreadRunsTenNiceStepsBelowThePoster) {
  StoreThread store(true);
  const int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  int theirs = 0;
  store.post([&] {
    theirs = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
    return std::optional<GenerationRecord>();
  });
  store.drain();
  EXPECT_EQ(theirs, std::min(mine + 10, 19));  // 19: the lowest priority there is
}

TEST(StoreThread, DestroyedWithWorkPendingDropsItAndJoins) {
  std::atomic<int> ran{0};
  {
    StoreThread store(true, 8);
    for (int i = 0; i < 8; ++i) {
      store.post([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ++ran;
        return std::optional<GenerationRecord>();
      });
    }
  }
  EXPECT_LT(ran.load(), 8);
}

}  // namespace
}  // namespace metaevo
