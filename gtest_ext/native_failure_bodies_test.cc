// TEST_LOCKSTEP_NATIVE bodies that fail on purpose in the ways unmodified
// code can (a thread crashing before its first pthread call, a spin without
// pthread calls, fork() in the body, abort()); Bodies.Passes passes. Not run
// by itself (tagged manual): //gtest_ext:failure_paths_test runs it as a user
// would and checks the report, the trace and its replay.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "gtest_ext/lockstep_native_test.h"

namespace {

using namespace std::chrono_literals;

TEST_LOCKSTEP_NATIVE(Bodies, CrashBeforeFirstCall, .iterations = 5) {
  std::thread t([] {
    // Not null: UBSan would report a null store before the fault.
    volatile int* invalid = reinterpret_cast<int*>(16);
    *invalid = 1;
  });
  t.join();
}

TEST_LOCKSTEP_NATIVE(Bodies, Spin, .iterations = 5, .watchdog = 1s) {
  std::atomic<bool> go{false};
  std::thread t([&] {
    while (!go.load()) {
    }
  });
  t.join();
}

// A process forked by the body outlives nothing: it sleeps, and the lost
// update in the body is found all the same.
// A queue on std::mutex whose pop reads the front and removes it in two
// critical sections: two pops can return the same value.
class TwoStepQueue {
 public:
  void Push(int v) {
    std::lock_guard<std::mutex> lock(m_);
    q_.push_back(v);
  }
  std::optional<int> Pop() {
    int v;
    {
      std::lock_guard<std::mutex> lock(m_);
      if (q_.empty()) return std::nullopt;
      v = q_.front();
    }
    std::lock_guard<std::mutex> lock(m_);
    if (!q_.empty()) q_.pop_front();
    return v;
  }

 private:
  std::mutex m_;
  std::deque<int> q_;
};

std::optional<int> PopFront(std::deque<int>& q) {
  if (q.empty()) return std::nullopt;
  const int v = q.front();
  q.pop_front();
  return v;
}

// The replay must reproduce it: a long quantum, as for DfsLostUpdate.
TEST_LOCKSTEP_NATIVE_LINEARIZABLE(Bodies, NotLinearizableQueue, .iterations = 2000,
                                  .resume_quantum_us = 200000) {
  return lockstep::LinearizabilitySpec<TwoStepQueue, std::deque<int>>()
      .Operation(
          "push", std::vector<int>{1, 2}, [](TwoStepQueue& q, int v) { q.Push(v); },
          [](std::deque<int>& m, int v) { m.push_back(v); })
      .Operation(
          "pop", [](TwoStepQueue& q) { return q.Pop(); }, &PopFront)
      .Threads(2)
      .OperationsPerThread(2)
      .InitOperations(1);
}

// Two threads increment a counter in two critical sections: an update can
// be lost.
void CheckThenActIncrements() {
  std::mutex m;
  int counter = 0;
  auto increment = [&] {
    int seen;
    {
      std::lock_guard<std::mutex> lock(m);
      seen = counter;
    }
    std::lock_guard<std::mutex> lock(m);
    counter = seen + 1;
  };
  std::thread a(increment);
  std::thread b(increment);
  a.join();
  b.join();
  EXPECT_EQ(counter, 2) << "lost update";
}

// dfs finds it while it explores every schedule. A search re-runs the body
// and needs it to repeat itself: a long quantum, so that a slow machine
// (a sanitizer, a loaded CI) never lets a thread run outside the model.
TEST_LOCKSTEP_NATIVE(Bodies, DfsLostUpdate, .strategy = lockstep::StrategyKind::kDfs,
                     .resume_quantum_us = 200000) {
  CheckThenActIncrements();
}

TEST_LOCKSTEP_NATIVE(Bodies, ForkInTheBody, .iterations = 50) {
  const pid_t child = fork();
  if (child == 0) {
    sleep(60);
    _exit(0);
  }
  CheckThenActIncrements();
}

TEST_LOCKSTEP_NATIVE(Bodies, Abort, .iterations = 5) {
  std::mutex m;
  std::thread t([&] {
    std::lock_guard<std::mutex> lock(m);
    std::abort();
  });
  t.join();
}

TEST_LOCKSTEP_NATIVE(Bodies, Passes, .iterations = 10) {
  std::mutex m;
  int counter = 0;
  std::thread t([&] {
    std::lock_guard<std::mutex> lock(m);
    ++counter;
  });
  t.join();
}

}  // namespace
