// Test bodies that break in the ways real code breaks: each TEST_LOCKSTEP
// here fails on purpose (except Bodies.Passes). Not run by itself (tagged
// manual); //gtest_ext:failure_paths_test runs it as a user would and checks
// that every failure ends in a report, a readable trace and a replay that
// reproduces it.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest_ext/lockstep_test.h"

namespace {

using namespace std::chrono_literals;

// A fixed-size pool whose workers wait on a CondVar; Submit() forgets to
// notify, so the body's Wait() can deadlock with the pool on its stack.
class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; ++i) {
      threads_.push_back(lockstep::spawn([this] { Work(); }, "worker"));
    }
  }
  ~ThreadPool() {
    {
      std::lock_guard<lockstep::Mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (lockstep::Thread& thread : threads_) thread.join();
  }
  void Submit(std::function<void()> task) {
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
    ++pending_;
  }
  void Wait() {
    std::unique_lock<lockstep::Mutex> lock(mutex_);
    while (pending_ > 0) done_.wait(lock);
  }

 private:
  void Work() {
    std::unique_lock<lockstep::Mutex> lock(mutex_);
    while (true) {
      while (tasks_.empty() && !stopping_) wake_.wait(lock);
      if (tasks_.empty()) return;
      std::function<void()> task = std::move(tasks_.back());
      tasks_.pop_back();
      lock.unlock();
      task();
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }

  lockstep::Mutex mutex_{"pool"};
  lockstep::CondVar wake_{"wake"};
  lockstep::CondVar done_{"done"};
  std::vector<std::function<void()>> tasks_;
  int pending_ = 0;
  bool stopping_ = false;
  std::vector<lockstep::Thread> threads_;
};

// Two threads take a lock; the second one to get it does `bad`.
void SecondTakerDoes(const std::function<void()>& bad) {
  lockstep::Mutex m("m");
  int taken = 0;
  auto take = [&] {
    std::lock_guard<lockstep::Mutex> lock(m);
    if (++taken == 2) bad();
  };
  lockstep::Thread a = lockstep::spawn(take, "a");
  lockstep::Thread b = lockstep::spawn(take, "b");
  a.join();
  b.join();
}

int Recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return depth <= 0 ? frame[0] : Recurse(depth + 1) + frame[0];
}

TEST_LOCKSTEP(Bodies, PoolDeadlock) {
  ThreadPool pool(2);
  int done = 0;
  pool.Submit([&done] { ++done; });
  pool.Wait();
  EXPECT_EQ(done, 1);
}

// max_steps is reached inside a lock_guard's destructor (its unlock()).
TEST_LOCKSTEP(Bodies, StepLimitInADestructor, .max_steps = 6) {
  lockstep::Mutex m("m");
  while (true) std::lock_guard<lockstep::Mutex> lock(m);
}

TEST_LOCKSTEP(Bodies, InfiniteLoop, .iterations = 5, .watchdog = 1s) {
  SecondTakerDoes([] {
    volatile bool forever = true;
    while (forever) {
    }
  });
}

TEST_LOCKSTEP(Bodies, StackOverflow) {
  SecondTakerDoes([] { Recurse(1); });
}

TEST_LOCKSTEP(Bodies, Abort) {
  SecondTakerDoes([] { std::abort(); });
}

[[noreturn]] void ThrowRuntimeError() { throw std::runtime_error("thrown from a destructor"); }

// Destructors are noexcept: this one's exception calls std::terminate.
struct ThrowsOnDestruction {
  ~ThrowsOnDestruction() { ThrowRuntimeError(); }
};

TEST_LOCKSTEP(Bodies, ThrowFromADestructor) {
  SecondTakerDoes([] { ThrowsOnDestruction object; });
}

TEST_LOCKSTEP(Bodies, ExitZero) {
  SecondTakerDoes([] { std::exit(0); });
}

TEST_LOCKSTEP(Bodies, StdThreadUsesAPrimitive, .iterations = 1) {
  lockstep::Mutex m("m");
  lockstep::Thread helper = lockstep::spawn([&] { std::lock_guard<lockstep::Mutex> lock(m); });
  std::thread t([&] { m.lock(); });
  t.join();
  helper.join();
}

TEST_LOCKSTEP(Bodies, NonUtf8Exception) {
  SecondTakerDoes([] { throw std::runtime_error("bad bytes: \xff\xfe end"); });
}

// A queue whose pop reads the front and removes it in two critical
// sections: two pops can return the same value.
class TwoStepQueue {
 public:
  void Push(int v) {
    std::lock_guard<lockstep::Mutex> lock(m_);
    q_.push_back(v);
  }
  std::optional<int> Pop() {
    int v;
    {
      std::lock_guard<lockstep::Mutex> lock(m_);
      if (q_.empty()) return std::nullopt;
      v = q_.front();
    }
    std::lock_guard<lockstep::Mutex> lock(m_);
    if (!q_.empty()) q_.pop_front();
    return v;
  }

 private:
  lockstep::Mutex m_{"queue"};
  std::deque<int> q_;
};

std::optional<int> PopFront(std::deque<int>& q) {
  if (q.empty()) return std::nullopt;
  const int v = q.front();
  q.pop_front();
  return v;
}

TEST_LOCKSTEP_LINEARIZABLE(Bodies, NotLinearizableQueue, .iterations = 2000) {
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

// A lost update that dpor finds while it explores every schedule.
TEST_LOCKSTEP(Bodies, DporLostUpdate, .strategy = lockstep::StrategyKind::kDpor) {
  lockstep::Atomic<int> counter(0, "counter");
  auto increment = [&] { counter.store(counter.load() + 1); };
  lockstep::Thread a = lockstep::spawn(increment);
  lockstep::Thread b = lockstep::spawn(increment);
  a.join();
  b.join();
  EXPECT_EQ(counter.load(), 2) << "lost update";
}

TEST_LOCKSTEP(Bodies, Passes, .iterations = 10) {
  SecondTakerDoes([] {});
}

}  // namespace
