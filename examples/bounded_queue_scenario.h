// The bounded-queue scenario, shared by bounded_queue_test.cc
// (FixedBoundedQueue) and bounded_queue_buggy_test.cc (BuggyBoundedQueue):
// two producers and two consumers through a queue of capacity 1; nobody may
// sleep for ever, and every item put must be taken exactly once. Written
// with the examples' sync namespace, so it also runs on real std::threads
// (bounded_queue_std_test.cc).
#ifndef EXAMPLES_BOUNDED_QUEUE_SCENARIO_H_
#define EXAMPLES_BOUNDED_QUEUE_SCENARIO_H_

#include "examples/sync.h"
#include "gtest/gtest.h"

namespace examples {

template <typename BoundedQueue>
void ProducersAndConsumersFinish() {
  constexpr int kItemsPerThread = 2;
  BoundedQueue queue(1);
  sync::atomic<int> taken_sum{0};
  auto producer = [&](int first) {
    for (int i = 0; i < kItemsPerThread; ++i) queue.Put(first + i);
  };
  auto consumer = [&] {
    for (int i = 0; i < kItemsPerThread; ++i) taken_sum.fetch_add(queue.Take());
  };
  sync::thread p1(producer, 1);
  sync::thread p2(producer, 10);
  sync::thread c1(consumer);
  sync::thread c2(consumer);
  p1.join();
  p2.join();
  c1.join();
  c2.join();
  EXPECT_EQ(taken_sum.load(), 1 + 2 + 10 + 11) << "an item was lost or taken twice";
}

}  // namespace examples

#endif  // EXAMPLES_BOUNDED_QUEUE_SCENARIO_H_
