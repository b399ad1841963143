// The buggy cache asks the backend twice for the same key when two threads
// miss at once. Lockstep finds the interleaving; this test is expected to
// FAIL (it is not part of the default test run; see examples/BUILD.bazel).
#include "examples/cache.h"

#include "gtest_ext/lockstep_test.h"
#include "lockstep/atomic.h"

namespace {

TEST_LOCKSTEP(BuggyCache, ComputesEachKeyOnce, .iterations = 300) {
  lockstep::Atomic<int> backend_calls(0, "backend_calls");
  examples::BuggyCache cache([&](const std::string& key) {
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
