// Atomic operations of instrumented code are scheduling points: lock-free
// data structures nobody wrote for Lockstep, explored at the granularity of
// their atomics, with their memory orders in the trace.
#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"

namespace lockstep {
namespace {

using ::testing::HasSubstr;

NativeOptions Options(uint64_t iterations) {
  NativeOptions options;
  options.iterations = iterations;
  options.resume_quantum_us = 20000;
  return options;
}

void Fail(const char* message) {
  lockstep::RecordFailure(Failure::ASSERTION, message, __FILE__, __LINE__);
}

// --- A Treiber stack over a pool of nodes, whose pop has the ABA problem:
// it reads top and top->next, and its compare-exchange succeeds if top is
// the same node again, though the stack changed meanwhile. The fixed twin
// tags top with a counter bumped by every change.
struct Node {
  int value;
  std::atomic<uint32_t> next{0};  // index + 1; 0 is none
};

class Stack {
 public:
  Stack(Node* pool, bool tagged) : pool_(pool), tagged_(tagged) {}

  void Push(uint32_t index) {
    uint64_t top = top_.load(std::memory_order_acquire);
    while (true) {
      pool_[index].next.store(static_cast<uint32_t>(top), std::memory_order_relaxed);
      if (top_.compare_exchange_weak(top, Next(top, index + 1), std::memory_order_release,
                                     std::memory_order_acquire)) {
        return;
      }
    }
  }

  // Index of the node popped, or -1.
  int Pop() {
    uint64_t top = top_.load(std::memory_order_acquire);
    while (static_cast<uint32_t>(top) != 0) {
      const uint32_t node = static_cast<uint32_t>(top) - 1;
      const uint32_t next = pool_[node].next.load(std::memory_order_relaxed);
      if (top_.compare_exchange_weak(top, Next(top, next), std::memory_order_acquire,
                                     std::memory_order_acquire)) {
        return static_cast<int>(node);
      }
    }
    return -1;
  }

 private:
  // `top` with its node replaced by `node` (and the tag bumped when tagged).
  uint64_t Next(uint64_t top, uint32_t node) const {
    const uint64_t tag = tagged_ ? (top >> 32) + 1 : 0;
    return tag << 32 | node;
  }

  Node* pool_;
  bool tagged_;
  std::atomic<uint64_t> top_{0};
};

void Aba(bool tagged) {
  Node pool[3] = {{0}, {1}, {2}};
  Stack stack(pool, tagged);
  stack.Push(2);
  stack.Push(1);
  stack.Push(0);  // top: 0, 1, 2
  int taken_by_a = -1;
  std::vector<int> taken_by_b;
  std::thread a([&] { taken_by_a = stack.Pop(); });
  std::thread b([&] {
    const int first = stack.Pop();
    const int second = stack.Pop();
    taken_by_b.push_back(second);
    if (first >= 0) stack.Push(static_cast<uint32_t>(first));  // the same node again
  });
  a.join();
  b.join();
  // Every node is in exactly one place: taken by a, kept by b, or stacked.
  std::vector<int> seen = taken_by_b;
  seen.push_back(taken_by_a);
  for (int node = stack.Pop(); node >= 0; node = stack.Pop()) seen.push_back(node);
  std::sort(seen.begin(), seen.end());
  seen.erase(std::remove(seen.begin(), seen.end(), -1), seen.end());
  if (seen != std::vector<int>{0, 1, 2}) Fail("ABA: a node was lost or is in two places");
}

TEST(LockFreeTest, TreiberStackAbaIsFound) {
  RunResult result = NativeRunner::Run([] { Aba(false); }, Options(500));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed()) << "not found in " << result.iterations << " iterations";
  EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION)
      << result.trace->failure().message();
  // The compare-exchanges that made it are in the trace, with their orders.
  int exchanges = 0;
  for (const Event& event : result.trace->events()) {
    if (event.op() != "atomic.compare_exchange") continue;
    ++exchanges;
    EXPECT_NE(event.order(), ORDER_UNSPECIFIED);
    EXPECT_THAT(event.location().file(), HasSubstr("lock_free_test.cc"));
  }
  EXPECT_GT(exchanges, 0);
}

TEST(LockFreeTest, TaggedTreiberStackPasses) {
  RunResult result = NativeRunner::Run([] { Aba(true); }, Options(500));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

// --- A Chase-Lev work-stealing deque (bounded, no resize) whose push
// publishes the new bottom with a relaxed store: a thief that sees the
// bottom has no happens-before with the write of the slot it then reads.
// The fixed twin releases the bottom.
class Deque {
 public:
  explicit Deque(bool release) : release_(release) {}

  void Push(int value) {
    const int64_t b = bottom_.load(std::memory_order_relaxed);
    slots_[b % kSize] = value;  // plain memory
    bottom_.store(b + 1, release_ ? std::memory_order_release : std::memory_order_relaxed);
  }

  bool Take(int* out) {
    const int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    bottom_.store(b, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    int64_t t = top_.load(std::memory_order_relaxed);
    bool taken = false;
    if (t <= b) {
      *out = slots_[b % kSize];
      taken = t != b || top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                                     std::memory_order_relaxed);
      if (t != b && taken) return true;
    }
    bottom_.store(b + 1, std::memory_order_relaxed);
    return taken;
  }

  bool Steal(int* out) {
    int64_t t = top_.load(std::memory_order_acquire);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return false;
    const int value = slots_[t % kSize];
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return false;
    }
    *out = value;
    return true;
  }

 private:
  static constexpr int64_t kSize = 16;
  bool release_;
  std::atomic<int64_t> top_{0};
  std::atomic<int64_t> bottom_{0};
  int slots_[kSize] = {};
};

void WorkStealing(bool release) {
  Deque deque(release);
  int sum = 0;
  int stolen = 0;
  std::thread thief([&] {
    int value;
    for (int i = 0; i < 2; ++i) {
      if (deque.Steal(&value)) stolen += value;
    }
  });
  deque.Push(1);
  deque.Push(2);
  int value;
  while (deque.Take(&value)) sum += value;
  thief.join();
  if (sum + stolen != 3) Fail("an item was lost or taken twice");
}

TEST(LockFreeTest, ChaseLevDequeWithARelaxedPublicationIsADataRace) {
  RunResult result = NativeRunner::Run([] { WorkStealing(false); }, Options(500));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed()) << "not found in " << result.iterations << " iterations";
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::DATA_RACE) << failure.message();
  ASSERT_EQ(failure.race_size(), 2);
  EXPECT_TRUE(failure.race(0).write());   // the slot, in Push
  EXPECT_FALSE(failure.race(1).write());  // read by Steal
}

TEST(LockFreeTest, ChaseLevDequeWithAReleasePublicationPasses) {
  RunResult result = NativeRunner::Run([] { WorkStealing(true); }, Options(500));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

// --- moodycamel::ConcurrentQueue (Debian's libconcurrentqueue-dev), run
// instrumented: a producer and a consumer, no false race, every item once.
void Queue(bool fail_at_end) {
  moodycamel::ConcurrentQueue<int> queue;
  int received = 0;
  int sum = 0;
  std::thread producer([&] {
    for (int i = 1; i <= 3; ++i) queue.enqueue(i);
  });
  std::thread consumer([&] {
    int item;
    while (received < 3) {
      if (queue.try_dequeue(item)) {
        ++received;
        sum += item;
      }
    }
  });
  producer.join();
  consumer.join();
  if (sum != 6) Fail("the queue lost or duplicated an item");
  if (fail_at_end) Fail("end of the observed run");
}

TEST(LockFreeTest, ConcurrentQueueDeliversEveryItemOnce) {
  RunResult result = NativeRunner::Run([] { Queue(false); }, Options(100));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(LockFreeTest, ConcurrentQueueAtomicsAreInTheTrace) {
  RunResult result = NativeRunner::Run([] { Queue(true); }, Options(1));
  ASSERT_TRUE(result.failed());
  ASSERT_THAT(result.trace->failure().message(), HasSubstr("end of the observed run"));
  int atomics = 0;
  bool in_queue = false;
  for (const Event& event : result.trace->events()) {
    if (event.op().rfind("atomic.", 0) != 0) continue;
    ++atomics;
    EXPECT_NE(event.order(), ORDER_UNSPECIFIED) << event.ShortDebugString();
    in_queue = in_queue || event.location().file().find("concurrentqueue.h") != std::string::npos;
  }
  EXPECT_GT(atomics, 10);
  EXPECT_TRUE(in_queue);
}

// --- Instrumented atomics in a controlled-runner test are scheduling
// points too: a check-then-act on a std::atomic between logical threads.
void LostUpdate(std::atomic<int>& counter) {
  const int seen = counter.load();
  counter.store(seen + 1);
}

TEST(LockFreeTest, InstrumentedAtomicsAreSchedulingPointsInTheControlledRunner) {
  lockstep::Options options;
  options.iterations = 200;
  RunResult result = Runner::Run(
      [] {
        std::atomic<int> counter{0};
        Thread a = spawn([&] { LostUpdate(counter); });
        Thread b = spawn([&] { LostUpdate(counter); });
        a.join();
        b.join();
        if (counter.load() != 2) Fail("lost update");
      },
      options);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed()) << "not found in " << result.iterations << " iterations";
  EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION)
      << result.trace->failure().message();
  bool located = false;
  for (const Event& event : result.trace->events()) {
    if (event.op() == "atomic.store") {
      EXPECT_THAT(event.location().function(), HasSubstr("LostUpdate")) << event.ShortDebugString();
      located = true;
    }
  }
  EXPECT_TRUE(located);
}

// The same race detection between logical threads of the controlled
// runner: a plain counter both increment, and its atomic twin.
TEST(LockFreeTest, PlainCounterIsADataRaceInTheControlledRunner) {
  lockstep::Options options;
  options.iterations = 50;
  RunResult result = Runner::Run(
      [] {
        int counter = 0;
        Thread a = spawn([&] { ++counter; });
        Thread b = spawn([&] { ++counter; });
        a.join();
        b.join();
      },
      options);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::DATA_RACE) << failure.message();
  ASSERT_EQ(failure.race_size(), 2);
  EXPECT_THAT(failure.race(1).location().file(), HasSubstr("lock_free_test.cc"));

  RunResult fixed = Runner::Run(
      [] {
        std::atomic<int> counter{0};
        Thread a = spawn([&] { counter.fetch_add(1); });
        Thread b = spawn([&] { counter.fetch_add(1); });
        a.join();
        b.join();
        if (counter.load() != 2) Fail("lost update");
      },
      options);
  EXPECT_FALSE(fixed.failed()) << fixed.trace->failure().message();
}

}  // namespace
}  // namespace lockstep
