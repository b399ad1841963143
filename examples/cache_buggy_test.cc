// The buggy cache asks the backend twice for the same key when two threads
// miss at once. Lockstep finds the interleaving; this test is expected to
// FAIL (it is not part of the default test run; see examples/BUILD.bazel).
#include "examples/cache.h"
#include "examples/cache_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BuggyCache, ComputesEachKeyOnce, .iterations = 300) {
  examples::ComputesEachKeyOnce<examples::BuggyCache>();
}

}  // namespace
