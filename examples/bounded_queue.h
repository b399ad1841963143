// A bounded blocking queue (producers wait while it is full, consumers while
// it is empty), in two versions.
//
// Buggy: one condition variable serves both "not full" and "not empty", and
// Put/Take wake a single waiter with notify_one. The wake-up can go to a
// thread of the wrong kind (a consumer wakes another consumer instead of the
// waiting producer); it re-checks, waits again, and the wake-up is lost.
// With two producers and two consumers, every thread still running can end
// up waiting although the queue is empty (producers could go on) or full
// (consumers could): a deadlock.
//
// Fixed: two condition variables, not_full for producers and not_empty for
// consumers, so every notify_one wakes a thread that can make progress.
//
// Written against the examples' sync namespace (examples/sync.h): std's
// types in production, Lockstep's in tests.
#ifndef EXAMPLES_BOUNDED_QUEUE_H_
#define EXAMPLES_BOUNDED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <mutex>

#include "examples/sync.h"

namespace examples {

class BuggyBoundedQueue {
 public:
  explicit BuggyBoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Waits while the queue is full, then appends `item`.
  void Put(int item) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(item);
    changed_.notify_one();  // meant for a consumer; may wake a producer
  }

  // Waits while the queue is empty, then removes the oldest item.
  int Take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !items_.empty(); });
    const int item = items_.front();
    items_.pop_front();
    changed_.notify_one();  // meant for a producer; may wake a consumer
    return item;
  }

 private:
  const size_t capacity_;
  sync::mutex mutex_;
  sync::condition_variable changed_;
  std::deque<int> items_;
};

class FixedBoundedQueue {
 public:
  explicit FixedBoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Waits while the queue is full, then appends `item`.
  void Put(int item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(item);
    not_empty_.notify_one();
  }

  // Waits while the queue is empty, then removes the oldest item.
  int Take() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty(); });
    const int item = items_.front();
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

 private:
  const size_t capacity_;
  sync::mutex mutex_;
  sync::condition_variable not_full_;
  sync::condition_variable not_empty_;
  std::deque<int> items_;
};

}  // namespace examples

#endif  // EXAMPLES_BOUNDED_QUEUE_H_
