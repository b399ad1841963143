// lockstep::Mutex hands an unlocked mutex to one waiter (chosen by the
// strategy) instead of waking them all. These tests check that this loses
// none of the behaviours std::mutex allows: every order in which contending
// threads can acquire the mutex still happens, including a thread taking it
// again before the waiter it woke has run, and a woken waiter that lost the
// race waits again rather than being forgotten.
#include "lockstep/mutex.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"
#include "lockstep/sync/mutex.h"
#include "lockstep/thread.h"

namespace lockstep {
namespace {

constexpr int kThreads = 3;
constexpr int kLocksPerThread = 2;

// Explores `threads` threads each taking `mutex` twice, and returns every
// order of acquirers seen.
template <typename MutexT>
std::set<std::vector<int>> AcquisitionOrders(StrategyKind strategy, uint64_t iterations) {
  std::set<std::vector<int>> orders;
  Options options = testing_util::InProcess(iterations, "MutexTest");
  options.strategy = strategy;
  RunResult result = Runner::Run(
      [&] {
        MutexT mutex;
        std::vector<int> order;  // one fiber runs at a time
        std::vector<Thread> threads;
        for (int t = 0; t < kThreads; ++t) {
          threads.push_back(spawn([&, t] {
            for (int i = 0; i < kLocksPerThread; ++i) {
              std::lock_guard<MutexT> lock(mutex);
              order.push_back(t);
            }
          }));
        }
        for (Thread& thread : threads) thread.join();
        orders.insert(order);
      },
      options);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
  return orders;
}

// Fails naming every order of acquirers (each thread twice) not in `seen`.
void ExpectEveryOrder(const std::set<std::vector<int>>& seen) {
  std::vector<int> order;
  for (int t = 0; t < kThreads; ++t) order.insert(order.end(), kLocksPerThread, t);
  int missing = 0;
  do {
    if (seen.count(order) == 0 && ++missing <= 5) {
      std::string text;
      for (int t : order) text += std::to_string(t);
      ADD_FAILURE() << "acquisition order never seen: " << text;
    }
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(missing, 0);
}

TEST(MutexTest, EveryAcquisitionOrderIsReachable) {
  ExpectEveryOrder(AcquisitionOrders<Mutex>(StrategyKind::kRandom, 3000));
}

TEST(MutexTest, EveryAcquisitionOrderIsReachableWithTheStdCompatibleMutex) {
  ExpectEveryOrder(AcquisitionOrders<sync::mutex>(StrategyKind::kRandom, 3000));
}

// POS (a biased sampler) needs more schedules for the rarest orders.
TEST(MutexTest, PosReachesEveryOrderToo) {
  ExpectEveryOrder(AcquisitionOrders<Mutex>(StrategyKind::kPos, 20000));
}

// Thread 1 waits while thread 0 holds the mutex; thread 0 unlocks (waking
// thread 1) and locks again at once. Both "thread 1 gets it next" and
// "thread 0 gets it again first" must happen, and thread 1 must always get
// it in the end (no lost wake-up: the run would end in a deadlock).
TEST(MutexTest, TheUnlockerMayRetakeTheMutexBeforeTheWokenWaiter) {
  std::set<std::vector<int>> orders;
  RunResult result = Runner::Run(
      [&] {
        Mutex mutex;
        std::vector<int> order;
        mutex.lock();
        order.push_back(0);
        Thread waiter = spawn([&] {
          std::lock_guard<Mutex> lock(mutex);
          order.push_back(1);
        });
        yield();  // let the waiter block (sometimes)
        mutex.unlock();
        mutex.lock();
        order.push_back(0);
        mutex.unlock();
        waiter.join();
        orders.insert(order);
      },
      testing_util::InProcess(500, "MutexTest"));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
  EXPECT_TRUE(orders.count({0, 0, 1})) << "the unlocker never retook the mutex first";
  EXPECT_TRUE(orders.count({0, 1, 0})) << "the woken waiter never got the mutex next";
}

}  // namespace
}  // namespace lockstep
