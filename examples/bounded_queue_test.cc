// Two producers and two consumers through the fixed queue (capacity 1):
// nobody sleeps for ever, and every item put is taken exactly once.
#include "examples/bounded_queue.h"

#include "gtest_ext/lockstep_test.h"
#include "lockstep/atomic.h"

namespace {

constexpr int kItemsPerThread = 2;

TEST_LOCKSTEP(BoundedQueue, ProducersAndConsumersFinish, .iterations = 1000) {
  examples::FixedBoundedQueue queue(1);
  lockstep::Atomic<int> taken_sum(0, "taken_sum");
  auto producer = [&](int first) {
    for (int i = 0; i < kItemsPerThread; ++i) queue.Put(first + i);
  };
  auto consumer = [&] {
    for (int i = 0; i < kItemsPerThread; ++i) taken_sum.fetch_add(queue.Take());
  };
  lockstep::Thread p1 = lockstep::spawn([&] { producer(1); }, "producer-1");
  lockstep::Thread p2 = lockstep::spawn([&] { producer(10); }, "producer-2");
  lockstep::Thread c1 = lockstep::spawn(consumer, "consumer-1");
  lockstep::Thread c2 = lockstep::spawn(consumer, "consumer-2");
  p1.join();
  p2.join();
  c1.join();
  c2.join();
  EXPECT_EQ(taken_sum.load(), 1 + 2 + 10 + 11) << "an item was lost or taken twice";
}

}  // namespace
