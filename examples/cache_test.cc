// The fixed cache computes each key once, whatever the interleaving.
#include "examples/cache.h"

#include "gtest_ext/lockstep_test.h"
#include "lockstep/atomic.h"

namespace {

TEST_LOCKSTEP(Cache, ComputesEachKeyOnce, .iterations = 300) {
  lockstep::Atomic<int> backend_calls(0, "backend_calls");
  examples::FixedCache cache([&](const std::string& key) {
    backend_calls.fetch_add(1);
    return static_cast<int>(key.size());
  });
  lockstep::Thread a = lockstep::spawn([&] { EXPECT_EQ(cache.Get("alpha"), 5); }, "a");
  lockstep::Thread b = lockstep::spawn([&] { EXPECT_EQ(cache.Get("alpha"), 5); }, "b");
  a.join();
  b.join();
  EXPECT_EQ(backend_calls.load(), 1) << "the backend was asked for the same key twice";
}

}  // namespace
