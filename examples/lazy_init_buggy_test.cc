// Threads racing to the buggy lazy widget, which publishes the widget before
// loading it. This test is expected to FAIL (it is not part of the default
// test run; see examples/BUILD.bazel).
//
// Lockstep reports: an ASSERTION failure, `widget.Get().size` is 0 instead of
// 42 in the thread that took the fast path while the other was still
// loading. At seed 1 with the default strategy (PCT, d=3) it is found at
// iteration 13 (the 14th schedule).
#include "examples/lazy_init.h"
#include "examples/lazy_init_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BuggyLazyInit, EveryThreadSeesInitializedWidget, .iterations = 500) {
  examples::EveryThreadSeesInitializedWidget<examples::BuggyLazyWidget>();
}

}  // namespace
