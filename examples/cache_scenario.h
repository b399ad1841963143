// The cache scenario, shared by cache_test.cc (FixedCache) and
// cache_buggy_test.cc (BuggyCache): two threads miss the same key at once,
// and the backend must still be asked for it only once.
#ifndef EXAMPLES_CACHE_SCENARIO_H_
#define EXAMPLES_CACHE_SCENARIO_H_

#include <string>

#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/thread.h"

namespace examples {

template <typename Cache>
void ComputesEachKeyOnce() {
  lockstep::Atomic<int> backend_calls(0, "backend_calls");
  Cache cache([&](const std::string& key) {
    backend_calls.fetch_add(1);
    return static_cast<int>(key.size());
  });
  lockstep::Thread a = lockstep::spawn([&] { EXPECT_EQ(cache.Get("alpha"), 5); }, "a");
  lockstep::Thread b = lockstep::spawn([&] { EXPECT_EQ(cache.Get("alpha"), 5); }, "b");
  a.join();
  b.join();
  EXPECT_EQ(backend_calls.load(), 1) << "the backend was asked for the same key twice";
}

}  // namespace examples

#endif  // EXAMPLES_CACHE_SCENARIO_H_
