// The bounded-queue scenario, shared by bounded_queue_test.cc
// (FixedBoundedQueue) and bounded_queue_buggy_test.cc (BuggyBoundedQueue):
// two producers and two consumers through a queue of capacity 1; nobody may
// sleep for ever, and every item put must be taken exactly once.
#ifndef EXAMPLES_BOUNDED_QUEUE_SCENARIO_H_
#define EXAMPLES_BOUNDED_QUEUE_SCENARIO_H_

#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/thread.h"

namespace examples {

template <typename BoundedQueue>
void ProducersAndConsumersFinish() {
  constexpr int kItemsPerThread = 2;
  BoundedQueue queue(1);
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

}  // namespace examples

#endif  // EXAMPLES_BOUNDED_QUEUE_SCENARIO_H_
