// A memoizing cache in front of an expensive computation, in two versions.
//
// Buggy: Get() checks for the key under the lock, releases it to compute,
// then inserts. Two threads missing the same key both compute it: the
// "compute once per key" promise breaks (here: a backend that must see each
// key once is asked twice). A real race in real code: it only needs one
// thread to be preempted between the check and the insert.
//
// Fixed: the check and the reservation of the key happen in one critical
// section; latecomers wait for the value on a condition variable.
#ifndef EXAMPLES_CACHE_H_
#define EXAMPLES_CACHE_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "lockstep/condvar.h"
#include "lockstep/mutex.h"

namespace examples {

class BuggyCache {
 public:
  explicit BuggyCache(std::function<int(const std::string&)> compute)
      : compute_(std::move(compute)) {}

  int Get(const std::string& key) {
    {
      std::lock_guard<lockstep::Mutex> lock(mutex_);
      if (auto it = values_.find(key); it != values_.end()) return it->second;
    }
    const int value = compute_(key);  // another thread may be computing it too
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    values_.emplace(key, value);
    return value;
  }

 private:
  std::function<int(const std::string&)> compute_;
  lockstep::Mutex mutex_{"cache"};
  std::map<std::string, int> values_;
};

class FixedCache {
 public:
  explicit FixedCache(std::function<int(const std::string&)> compute)
      : compute_(std::move(compute)) {}

  int Get(const std::string& key) {
    std::unique_lock<lockstep::Mutex> lock(mutex_);
    auto [it, inserted] = values_.try_emplace(key);
    if (!inserted) {
      // Someone computes or computed it: wait for the value.
      computed_.wait(lock, [&] { return values_.at(key).has_value(); });
      return *values_.at(key);
    }
    lock.unlock();
    const int value = compute_(key);
    lock.lock();
    values_.at(key) = value;
    computed_.notify_all();
    return value;
  }

 private:
  std::function<int(const std::string&)> compute_;
  lockstep::Mutex mutex_{"cache"};
  lockstep::CondVar computed_{"computed"};
  std::map<std::string, std::optional<int>> values_;
};

}  // namespace examples

#endif  // EXAMPLES_CACHE_H_
