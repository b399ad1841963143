// TEST_LOCKSTEP_NATIVE bodies that fail on purpose in the ways unmodified
// code can (a thread crashing before its first pthread call, a spin without
// pthread calls, fork() in the body, abort()); Bodies.Passes passes. Not run
// by itself (tagged manual): //gtest_ext:failure_paths_test runs it as a user
// would and checks the report, the trace and its replay.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "gtest_ext/lockstep_native_test.h"

namespace {

using namespace std::chrono_literals;

TEST_LOCKSTEP_NATIVE(Bodies, CrashBeforeFirstCall, .iterations = 5) {
  std::thread t([] {
    // Not null: UBSan would report a null store before the fault.
    volatile int* invalid = reinterpret_cast<int*>(16);
    *invalid = 1;
  });
  t.join();
}

TEST_LOCKSTEP_NATIVE(Bodies, Spin, .iterations = 5, .watchdog = 1s) {
  std::atomic<bool> go{false};
  std::thread t([&] {
    while (!go.load()) {
    }
  });
  t.join();
}

// A process forked by the body outlives nothing: it sleeps, and the lost
// update in the body is found all the same.
TEST_LOCKSTEP_NATIVE(Bodies, ForkInTheBody, .iterations = 50) {
  const pid_t child = fork();
  if (child == 0) {
    sleep(60);
    _exit(0);
  }
  std::mutex m;
  int counter = 0;
  auto increment = [&] {
    int seen;
    {
      std::lock_guard<std::mutex> lock(m);
      seen = counter;
    }
    std::lock_guard<std::mutex> lock(m);
    counter = seen + 1;
  };
  std::thread a(increment);
  std::thread b(increment);
  a.join();
  b.join();
  EXPECT_EQ(counter, 2) << "lost update";
}

TEST_LOCKSTEP_NATIVE(Bodies, Abort, .iterations = 5) {
  std::mutex m;
  std::thread t([&] {
    std::lock_guard<std::mutex> lock(m);
    std::abort();
  });
  t.join();
}

TEST_LOCKSTEP_NATIVE(Bodies, Passes, .iterations = 10) {
  std::mutex m;
  int counter = 0;
  std::thread t([&] {
    std::lock_guard<std::mutex> lock(m);
    ++counter;
  });
  t.join();
}

}  // namespace
