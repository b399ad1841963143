// Two producers and two consumers through the fixed queue (capacity 1):
// nobody sleeps for ever, and every item put is taken exactly once.
#include "examples/bounded_queue.h"

#include "examples/bounded_queue_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BoundedQueue, ProducersAndConsumersFinish, .iterations = 1000) {
  examples::ProducersAndConsumersFinish<examples::FixedBoundedQueue>();
}

}  // namespace
