// Two producers and two consumers through the buggy queue (one condition
// variable for both conditions, notify_one). This test is expected to FAIL
// (it is not part of the default test run; see examples/BUILD.bazel).
//
// Lockstep reports: DEADLOCK, a lost wake-up: a producer and a consumer both
// wait on 'changed' although one of them could go on, and the test body
// waits to join them. At seed 1 the default strategy (PCT, d=3) finds it at
// iteration 10 (the 11th schedule), so the test keeps the default strategy.
#include "examples/bounded_queue.h"
#include "examples/bounded_queue_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BuggyBoundedQueue, ProducersAndConsumersFinish, .iterations = 1000) {
  examples::ProducersAndConsumersFinish<examples::BuggyBoundedQueue>();
}

}  // namespace
