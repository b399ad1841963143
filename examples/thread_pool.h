// A fixed-size thread pool: Submit returns a future, WaitIdle waits until
// every submitted task has finished, ParallelFor runs a loop on the workers,
// and Shutdown fails the tasks that have not finished (their futures throw
// std::future_error(broken_promise)) and joins the workers.
//
// Written against the examples' sync namespace (examples/sync.h): std's
// types in production, Lockstep's in tests. Each bug below is one line that
// differs from the fixed pool, switched on by the template parameter; the
// buggy tests (thread_pool_buggy_test.cc) show Lockstep finds each.
//
//   kShutdownRace: Shutdown sets the stop flag without holding the mutex.
//     A worker that has just found no work and not stopping, but not yet
//     started waiting, misses the notify and waits for ever: Shutdown's join
//     deadlocks (a lost wake-up).
//   kPromiseSetTwice: a task is settled by its worker and by Shutdown (which
//     fails unfinished tasks), each checking a "settled" flag and then
//     setting it: both can pass the check, and the second set_value /
//     set_exception throws std::future_error(promise_already_satisfied).
//   kWaitWithoutRecheck: WaitIdle waits once for the pending count to change
//     instead of until it is zero (workers notify at every change), so it
//     can return with tasks still running.
//   kLatchMisuse: ParallelFor's tasks wait on the latch (arrive_and_wait)
//     instead of counting down, so with more iterations than workers every
//     worker waits for iterations that no worker is left to run.
#ifndef EXAMPLES_THREAD_POOL_H_
#define EXAMPLES_THREAD_POOL_H_

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "examples/sync.h"

namespace examples {

enum class PoolBug { kNone, kShutdownRace, kPromiseSetTwice, kWaitWithoutRecheck, kLatchMisuse };

template <PoolBug kBug = PoolBug::kNone>
class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ThreadPool() { Shutdown(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs `fn` on a worker. The future gets its result or exception, or
  // std::future_error(broken_promise) when Shutdown comes first.
  template <typename F>
  sync::future<std::invoke_result_t<F>> Submit(F fn) {
    using R = std::invoke_result_t<F>;
    auto promise = std::make_shared<sync::promise<R>>();
    sync::future<R> future = promise->get_future();
    auto task = std::make_shared<Task>();
    task->run = [promise, fn = std::move(fn)]() mutable -> std::function<void()> {
      // Computes, and returns how to publish the outcome.
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
          return [promise] { promise->set_value(); };
        } else {
          return [promise, value = fn()]() mutable { promise->set_value(std::move(value)); };
        }
      } catch (...) {
        return [promise, error = std::current_exception()] { promise->set_exception(error); };
      }
    };
    task->fail = [promise] {
      promise->set_exception(
          std::make_exception_ptr(sync::future_error(sync::future_errc::broken_promise)));
    };
    pending_.fetch_add(1);
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(task);
      unfinished_.push_back(task);
    }
    work_available_.notify_one();
    return future;
  }

  // Waits until every task submitted so far has finished.
  void WaitIdle() {
    if constexpr (kBug == PoolBug::kWaitWithoutRecheck) {
      if (int pending = pending_.load(); pending != 0) pending_.wait(pending);
    } else {
      for (int pending = pending_.load(); pending != 0; pending = pending_.load()) {
        pending_.wait(pending);
      }
    }
  }

  // Runs fn(0) ... fn(n - 1) on the workers and waits for all of them.
  void ParallelFor(int n, const std::function<void(int)>& fn) {
    sync::latch done(n);
    for (int i = 0; i < n; ++i) {
      Submit([&done, &fn, i] {
        fn(i);
        if constexpr (kBug == PoolBug::kLatchMisuse) {
          done.arrive_and_wait();
        } else {
          done.count_down();
        }
      });
    }
    done.wait();
  }

  // Stops the workers after their current task, fails every task that has
  // not finished, and joins the workers. Idempotent.
  void Shutdown() {
    if constexpr (kBug == PoolBug::kShutdownRace) {
      stopping_ = true;
    } else {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_available_.notify_all();
    std::list<std::shared_ptr<Task>> unfinished;
    int never_run = 0;
    {
      std::lock_guard lock(mutex_);
      unfinished.swap(unfinished_);
      never_run = static_cast<int>(queue_.size());
      queue_.clear();
    }
    for (const std::shared_ptr<Task>& task : unfinished) Settle(*task, task->fail);
    if (never_run > 0) {
      pending_.fetch_sub(never_run);
      pending_.notify_all();
    }
    for (sync::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

 private:
  struct Task {
    std::function<std::function<void()>()> run;
    std::function<void()> fail;
    sync::atomic<bool> settled{false};
  };

  void Work() {
    for (;;) {
      std::shared_ptr<Task> task;
      {
        std::unique_lock lock(mutex_);
        work_available_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      Settle(*task, task->run());
      {
        std::lock_guard lock(mutex_);
        unfinished_.remove(task);
      }
      pending_.fetch_sub(1);
      pending_.notify_all();
    }
  }

  // Publishes a task's outcome once: its worker's result, or Shutdown's
  // failure, whichever comes first.
  void Settle(Task& task, const std::function<void()>& publish) {
    if constexpr (kBug == PoolBug::kPromiseSetTwice) {
      if (task.settled.load()) return;
      task.settled.store(true);
    } else {
      if (task.settled.exchange(true)) return;
    }
    publish();
  }

  sync::mutex mutex_;
  sync::condition_variable work_available_;
  std::deque<std::shared_ptr<Task>> queue_;      // not yet taken by a worker
  std::list<std::shared_ptr<Task>> unfinished_;  // queued or running
  std::conditional_t<kBug == PoolBug::kShutdownRace, sync::atomic<bool>, bool> stopping_{false};
  sync::atomic<int> pending_{0};  // submitted, not finished
  std::vector<sync::thread> workers_;
};

}  // namespace examples

#endif  // EXAMPLES_THREAD_POOL_H_
