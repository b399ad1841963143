// Process isolation of the controlled runner: whatever the code under test
// does to its process, the run reports it as a failure with a trace whose
// replay reproduces it, and the test binary goes on.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/mutex.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// The watchdog is generous but for the test that expects it to fire: under
// TSan on a loaded 2-core machine a std::thread start took over 1 s.
Options Isolated(uint64_t iterations, std::chrono::milliseconds watchdog = 30s) {
  Options options;
  options.iterations = iterations;
  options.test_suite = "IsolationTest";
  options.test_name = "Body";
  options.watchdog = watchdog;
  return options;
}

// Two threads; one of them does `bad` after taking the lock in some
// schedules (when it is second), so the failure needs a particular order.
template <typename Bad>
void SecondTakerDoes(Bad bad) {
  Mutex m("m");
  int taken = 0;
  auto take = [&] {
    std::lock_guard<Mutex> lock(m);
    if (++taken == 2) bad();
  };
  Thread a = spawn(take, "a");
  Thread b = spawn(take, "b");
  a.join();
  b.join();
}

// Runs `body`, expects a failure of `kind`, and checks the trace: it names
// the kind, parses back from a file, and its replay fails the same way.
template <typename Body>
Trace ExpectReplayableFailure(Body body, Failure::Kind kind, Options options = Isolated(50)) {
  RunResult result = Runner::Run(body, options);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.failed());
  if (!result.failed()) return Trace();
  const Trace& trace = *result.trace;
  EXPECT_EQ(trace.failure().kind(), kind) << trace.failure().message();
  EXPECT_EQ(trace.failure().note(), "") << trace.failure().note();
  EXPECT_GT(trace.decisions_size(), 0);
  EXPECT_GT(trace.events_size(), 0);
  EXPECT_TRUE(ValidateTrace(trace).ok()) << ValidateTrace(trace);

  Options replay = options;
  replay.replay = &trace;
  RunResult again = Runner::Run(body, replay);
  EXPECT_TRUE(again.failed());
  if (again.failed()) {
    EXPECT_TRUE(SameFailure(again.trace->failure(), trace.failure()))
        << again.trace->failure().DebugString() << " vs " << trace.failure().DebugString();
  }
  return trace;
}

TEST(IsolationTest, AbortInALogicalThreadIsACrash) {
  Trace trace =
      ExpectReplayableFailure([] { SecondTakerDoes([] { std::abort(); }); }, Failure::CRASH);
  EXPECT_THAT(trace.failure().message(), HasSubstr("SIGABRT"));
  // Located at the crashing thread's last Lockstep operation.
  EXPECT_THAT(trace.failure().message(), HasSubstr("after its last Lockstep operation"));
  EXPECT_GT(trace.failure().location().line(), 0u);
}

TEST(IsolationTest, CrashBeforeAnySchedulingPoint) {
  RunResult result = Runner::Run([] { std::abort(); }, Isolated(5));
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::CRASH);
  EXPECT_EQ(result.trace->failure().thread(), 0u);
  EXPECT_TRUE(ValidateTrace(*result.trace).ok()) << ValidateTrace(*result.trace);
}

TEST(IsolationTest, SegfaultIsACrashInItsThread) {
  Trace trace = ExpectReplayableFailure(
      [] {
        SecondTakerDoes([] {
          volatile int* null = nullptr;
          *null = 1;
        });
      },
      Failure::CRASH);
  // Under a sanitizer, its report ends the process first (and says so).
  EXPECT_THAT(trace.failure().message(),
              testing::AnyOf(HasSubstr("SIGSEGV"), HasSubstr("a sanitizer found an error")));
  const uint32_t thread = trace.failure().thread();
  EXPECT_TRUE(thread == 1 || thread == 2) << thread;
}

int Recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return depth <= 0 ? frame[0] : Recurse(depth + 1) + frame[0];
}

TEST(IsolationTest, StackOverflowOnAFiberIsNamed) {
  Trace trace =
      ExpectReplayableFailure([] { SecondTakerDoes([] { Recurse(1); }); }, Failure::CRASH);
  EXPECT_THAT(trace.failure().message(), HasSubstr("stack overflow"));
  EXPECT_THAT(trace.failure().message(), HasSubstr("256 KiB"));
  EXPECT_THAT(trace.failure().message(), HasSubstr("--lockstep_stack_size"));
}

TEST(IsolationTest, ExitIsAnExitFailureEvenWithStatusZero) {
  Trace trace =
      ExpectReplayableFailure([] { SecondTakerDoes([] { std::exit(0); }); }, Failure::EXIT);
  EXPECT_THAT(trace.failure().message(), HasSubstr("exit(0)"));
}

TEST(IsolationTest, UnderscoreExitAndQuickExit) {
  Trace underscore =
      ExpectReplayableFailure([] { SecondTakerDoes([] { _exit(3); }); }, Failure::EXIT);
  EXPECT_THAT(underscore.failure().message(), HasSubstr("_exit(3)"));
  Trace quick =
      ExpectReplayableFailure([] { SecondTakerDoes([] { std::quick_exit(0); }); }, Failure::EXIT);
  EXPECT_THAT(quick.failure().message(), HasSubstr("quick_exit(0)"));
}

TEST(IsolationTest, LoopWithoutSchedulingPointsIsATimeout) {
  Trace trace = ExpectReplayableFailure(
      [] {
        SecondTakerDoes([] {
          volatile bool forever = true;
          while (forever) {
          }
        });
      },
      Failure::TIMEOUT, Isolated(50, 1s));
  EXPECT_THAT(trace.failure().message(), HasSubstr("watchdog"));
}

TEST(IsolationTest, PrimitiveUsedFromAStdThreadIsMisuse) {
  Trace trace = ExpectReplayableFailure(
      [] {
        Mutex m("m");
        Thread helper = spawn([&] { std::lock_guard<Mutex> lock(m); }, "helper");
        std::thread t([&] { m.lock(); });
        t.join();
        helper.join();
      },
      Failure::MISUSE, Isolated(1));
  EXPECT_THAT(trace.failure().message(), HasSubstr("lockstep::Mutex::lock"));
  EXPECT_THAT(trace.failure().message(), HasSubstr("not a logical thread"));
}

TEST(IsolationTest, FailuresFoundByTheRunnerAreTheSameAsInProcess) {
  auto deadlock = [] {
    Mutex a("a");
    Mutex b("b");
    Thread t = spawn([&] {
      std::lock_guard<Mutex> la(a);
      std::lock_guard<Mutex> lb(b);
    });
    std::lock_guard<Mutex> lb(b);
    std::lock_guard<Mutex> la(a);
    t.join();
  };
  Options in_process = Isolated(100);
  in_process.isolate = false;
  RunResult expected = Runner::Run(deadlock, in_process);
  ASSERT_TRUE(expected.failed());
  Trace isolated = ExpectReplayableFailure(deadlock, Failure::DEADLOCK, Isolated(100));
  EXPECT_EQ(isolated.iteration(), expected.trace->iteration());
  EXPECT_EQ(isolated.decisions_size(), expected.trace->decisions_size());
  EXPECT_EQ(isolated.events_size(), expected.trace->events_size());
  EXPECT_EQ(isolated.failure().message(), expected.trace->failure().message());
}

TEST(IsolationTest, PassingRunCountsLikeInProcess) {
  auto body = [] { SecondTakerDoes([] {}); };
  Options in_process = Isolated(200);
  in_process.isolate = false;
  RunResult expected = Runner::Run(body, in_process);
  RunResult isolated = Runner::Run(body, Isolated(200));
  ASSERT_FALSE(isolated.failed());
  EXPECT_EQ(isolated.iterations, expected.iterations);
  EXPECT_EQ(isolated.distinct_schedules, expected.distinct_schedules);
  EXPECT_EQ(isolated.total_steps, expected.total_steps);
}

}  // namespace
}  // namespace lockstep
