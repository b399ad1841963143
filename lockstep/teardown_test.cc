// What happens after an iteration has failed: no user code of it runs any
// more. The failing thread stops where it failed and every unfinished fiber
// is abandoned, so ordinary test shapes (objects on the body's stack used by
// spawned threads, checks inside destructors) cannot crash the runner.
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/condvar.h"
#include "lockstep/failure.h"
#include "lockstep/mutex.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"

namespace lockstep {
namespace {

using ::testing::HasSubstr;

Options InProcess(uint64_t iterations) {
  Options options;
  options.iterations = iterations;
  options.isolate = false;  // what is tested here is the teardown itself
  options.test_suite = "TeardownTest";
  options.test_name = "Body";
  return options;
}

// A fixed-size thread pool whose workers wait on a condition variable; its
// destructor stops and joins them. Submit() forgets to notify, so a worker
// can sleep through a task, and the body's Wait() deadlocks.
class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.push_back(spawn([this] { Work(); }, "worker"));
  }
  ~ThreadPool() {
    {
      std::lock_guard<Mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (Thread& thread : threads_) thread.join();
  }
  void Submit(std::function<void()> task) {
    std::lock_guard<Mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
    ++pending_;
    // Bug: no wake_.notify_one().
  }
  void Wait() {
    std::unique_lock<Mutex> lock(mutex_);
    while (pending_ > 0) done_.wait(lock);
  }

 private:
  void Work() {
    std::unique_lock<Mutex> lock(mutex_);
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

  Mutex mutex_{"pool"};
  CondVar wake_{"wake"};
  CondVar done_{"done"};
  std::vector<std::function<void()>> tasks_;
  int pending_ = 0;
  bool stopping_ = false;
  std::vector<Thread> threads_;
};

TEST(TeardownTest, DeadlockWithAPoolOnTheBodysStackIsReported) {
  RunResult result = Runner::Run(
      [] {
        ThreadPool pool(2);
        int done = 0;
        pool.Submit([&done] { ++done; });
        pool.Wait();
        LOCKSTEP_CHECK(done == 1);
      },
      InProcess(200));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::DEADLOCK);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("condvar 'done'"));

  // The replay stops at the same deadlock, again without tearing down.
  Options replay = InProcess(1);
  replay.replay = &*result.trace;
  RunResult again = Runner::Run(
      [] {
        ThreadPool pool(2);
        int done = 0;
        pool.Submit([&done] { ++done; });
        pool.Wait();
      },
      replay);
  ASSERT_TRUE(again.failed());
  EXPECT_EQ(again.trace->failure().kind(), Failure::DEADLOCK);
}

// max_steps is reached at every possible step of a lock/unlock loop, among
// them the unlock() inside lock_guard's destructor.
TEST(TeardownTest, StepLimitInsideADestructorIsReported) {
  for (uint64_t max_steps = 3; max_steps <= 8; ++max_steps) {
    Options options = InProcess(1);
    options.max_steps = max_steps;
    RunResult result = Runner::Run(
        [] {
          Mutex mutex("m");
          while (true) std::lock_guard<Mutex> lock(mutex);
        },
        options);
    ASSERT_TRUE(result.failed()) << max_steps;
    EXPECT_EQ(result.trace->failure().kind(), Failure::STEP_LIMIT) << max_steps;
  }
}

// An exception propagates; a destructor on its way locks a mutex its thread
// already holds. That misuse is the failure, and the abandoned exception
// does not leak into the OS thread (std::uncaught_exceptions() is 0 again).
TEST(TeardownTest, FailureWhileAnExceptionPropagates) {
  RunResult result = Runner::Run(
      [] {
        Mutex mutex("m");
        struct RelockOnExit {
          Mutex& mutex;
          ~RelockOnExit() { mutex.lock(); }  // deadlocks: already held
        };
        std::lock_guard<Mutex> held(mutex);
        RelockOnExit relock{mutex};
        throw std::runtime_error("boom");
      },
      InProcess(1));
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::MISUSE);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("already holds"));
  EXPECT_EQ(std::uncaught_exceptions(), 0);
}

// A thread failing inside a catch block leaves no caught exception behind.
TEST(TeardownTest, FailureInsideACatchBlock) {
  RunResult result = Runner::Run(
      [] {
        try {
          throw std::runtime_error("caught");
        } catch (const std::exception&) {
          LOCKSTEP_CHECK(false);
        }
      },
      InProcess(1));
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION);
  EXPECT_EQ(std::uncaught_exceptions(), 0);
  EXPECT_EQ(std::current_exception(), nullptr);
}

// Failed iterations reuse their stacks: many of them in a row work.
TEST(TeardownTest, ManyFailedIterationsInARow) {
  for (int run = 0; run < 300; ++run) {
    RunResult result = Runner::Run(
        [] {
          Mutex a("a");
          Mutex b("b");
          Thread t = spawn([&] {
            std::lock_guard<Mutex> la(a);
            std::lock_guard<Mutex> lb(b);
          });
          std::lock_guard<Mutex> lb(b);
          std::lock_guard<Mutex> la(a);
          t.join();
        },
        InProcess(100));
    ASSERT_TRUE(result.failed());
    ASSERT_EQ(result.trace->failure().kind(), Failure::DEADLOCK);
  }
}

}  // namespace
}  // namespace lockstep
