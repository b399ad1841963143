// Bodies for scale_test: a lost update under both runners (put in by
// SCALE_BODIES_BUG=1), a passing Lockstep test and ordinary tests, to run
// sharded, repeated and summarized. Run alone (no bug) every test passes.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "gtest_ext/lockstep_native_test.h"
#include "gtest_ext/lockstep_test.h"
#include "lockstep/sync.h"

namespace {

bool Bug() {
  const char* bug = std::getenv("SCALE_BODIES_BUG");
  return bug != nullptr && *bug == '1';
}

// Each thread adds 1 to a counter: read under the lock, write under the
// lock again (the bug: the two are not one critical section).
template <typename Mutex, typename Thread>
void Increments() {
  Mutex mutex;
  int counter = 0;
  auto add = [&] {
    if (Bug()) {
      int seen;
      {
        std::lock_guard<Mutex> lock(mutex);
        seen = counter;
      }
      std::lock_guard<Mutex> lock(mutex);
      counter = seen + 1;
    } else {
      std::lock_guard<Mutex> lock(mutex);
      ++counter;
    }
  };
  std::vector<Thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(add);
  for (Thread& thread : threads) thread.join();
  EXPECT_EQ(counter, 3);
}

TEST_LOCKSTEP(Scale, ControlledLostUpdate, .iterations = 300) {
  Increments<lockstep::sync::mutex, lockstep::sync::thread>();
}

TEST_LOCKSTEP_NATIVE(Scale, NativeLostUpdate, .iterations = 300) {
  Increments<std::mutex, std::thread>();
}

TEST_LOCKSTEP(Scale, Passes) {
  lockstep::sync::mutex mutex;
  int counter = 0;
  lockstep::sync::thread other([&] {
    std::lock_guard<lockstep::sync::mutex> lock(mutex);
    ++counter;
  });
  {
    std::lock_guard<lockstep::sync::mutex> lock(mutex);
    ++counter;
  }
  other.join();
  EXPECT_EQ(counter, 2);
}

// Ordinary tests keep GoogleTest's sharding: each runs in one shard.
TEST(ScaleOrdinary, A) { std::printf("ordinary test A ran\n"); }
TEST(ScaleOrdinary, B) { std::printf("ordinary test B ran\n"); }
TEST(ScaleOrdinary, C) { std::printf("ordinary test C ran\n"); }
TEST(ScaleOrdinary, D) { std::printf("ordinary test D ran\n"); }
TEST(ScaleOrdinary, E) { std::printf("ordinary test E ran\n"); }

}  // namespace
