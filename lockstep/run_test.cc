// The controlled runner's contract: determinism, replay, failure detection
// and reporting, misuse, virtual time, teardown, and no allocation per
// scheduling point.
#include "lockstep/run.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/condvar.h"
#include "lockstep/failure.h"
#include "lockstep/mailbox.h"
#include "lockstep/mutex.h"
#include "lockstep/run_test_util.h"
#include "lockstep/semaphore.h"
#include "lockstep/thread.h"
#include "lockstep/time.h"
#include "lockstep/trace_io.h"

// Counts heap allocations, to check the steady-state hot path allocates
// nothing per scheduling point.
static std::atomic<uint64_t> g_allocations{0};
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace lockstep {
namespace {

using namespace std::chrono_literals;
using ::lockstep::testing_util::FailureKind;
using ::lockstep::testing_util::FailureMessage;
using ::testing::EndsWith;
using ::testing::HasSubstr;

::lockstep::Options WithIterations(uint64_t iterations) {
  return ::lockstep::testing_util::WithIterations(iterations, "RunTest");
}

::lockstep::Options InProcess(uint64_t iterations) {
  return ::lockstep::testing_util::InProcess(iterations, "RunTest");
}

void LostUpdate() {
  Atomic<int> counter(0, "counter");
  auto increment = [&] { counter.store(counter.load() + 1); };
  Thread a = spawn(increment, "a");
  Thread b = spawn(increment, "b");
  a.join();
  b.join();
  LOCKSTEP_CHECK(counter.load() == 2);
}

// For tests that look at what the body did: no process isolation.

TEST(RunTest, SameSeedGivesIdenticalDecisionsAndTraces) {
  for (StrategyKind kind : {StrategyKind::kRandom, StrategyKind::kPct, StrategyKind::kFairPct,
                            StrategyKind::kPos, StrategyKind::kIdPct}) {
    Options options = WithIterations(100);
    options.strategy = kind;
    options.seed = 7;
    RunResult first = Runner::Run(LostUpdate, options);
    RunResult second = Runner::Run(LostUpdate, options);
    ASSERT_TRUE(first.failed());
    EXPECT_EQ(first.iterations, second.iterations);
    EXPECT_EQ(first.distinct_schedules, second.distinct_schedules);
    ASSERT_TRUE(second.failed());
    EXPECT_EQ(first.trace->SerializeAsString(), second.trace->SerializeAsString());
  }
}

TEST(RunTest, DifferentSeedsExploreDifferently) {
  std::vector<std::string> traces;
  for (uint64_t seed : {1, 2, 3}) {
    Options options = WithIterations(100);
    options.seed = seed;
    RunResult result = Runner::Run(LostUpdate, options);
    ASSERT_TRUE(result.failed());
    traces.push_back(result.trace->SerializeAsString());
  }
  EXPECT_FALSE(traces[0] == traces[1] && traces[1] == traces[2]);
}

TEST(RunTest, TraceDescribesTheFailingIteration) {
  RunResult result = Runner::Run(LostUpdate, WithIterations(100));
  ASSERT_TRUE(result.failed());
  const Trace& trace = *result.trace;
  EXPECT_TRUE(ValidateTrace(trace).ok()) << ValidateTrace(trace);
  EXPECT_EQ(trace.test_suite(), "RunTest");
  EXPECT_EQ(trace.runner(), RUNNER_CONTROLLED);
  EXPECT_EQ(trace.strategy().name(), "pct");
  EXPECT_EQ(trace.strategy().pct_depth(), 3u);
  EXPECT_GE(trace.strategy().pct_step_estimate(), 1u);
  EXPECT_EQ(trace.iteration() + 1, result.iterations);
  ASSERT_EQ(trace.threads_size(), 3);
  EXPECT_EQ(trace.threads(1).name(), "a");
  ASSERT_EQ(trace.objects_size(), 1);
  EXPECT_EQ(trace.objects(0).name(), "counter");
  EXPECT_EQ(trace.objects(0).kind(), "atomic");
  EXPECT_GT(trace.events_size(), 8);
  EXPECT_FALSE(trace.decisions().empty());
  const Failure& failure = trace.failure();
  EXPECT_EQ(failure.kind(), Failure::ASSERTION);
  EXPECT_THAT(failure.message(), HasSubstr("counter.load() == 2"));
  EXPECT_THAT(failure.location().file(), HasSubstr("run_test.cc"));
  EXPECT_EQ(failure.thread(), 0u);
  // Both stores wrote 1: the update of one thread was lost.
  int stores_of_one = 0;
  for (const Event& event : trace.events()) {
    if (event.op() == "atomic.store" && event.value() == 1) ++stores_of_one;
  }
  EXPECT_EQ(stores_of_one, 2);
}

TEST(RunTest, ReplayReproducesTheFailure) {
  RunResult found = Runner::Run(LostUpdate, WithIterations(100));
  ASSERT_TRUE(found.failed());
  Options replay = WithIterations(1);
  replay.replay = &*found.trace;
  RunResult again = Runner::Run(LostUpdate, replay);
  ASSERT_TRUE(again.status.ok()) << again.status;
  ASSERT_TRUE(again.failed());
  EXPECT_EQ(again.iterations, 1u);
  EXPECT_EQ(again.trace->failure().SerializeAsString(), found.trace->failure().SerializeAsString());
  EXPECT_EQ(again.trace->events_size(), found.trace->events_size());
}

TEST(RunTest, TamperedTraceReportsDivergence) {
  RunResult found = Runner::Run(LostUpdate, WithIterations(100));
  ASSERT_TRUE(found.failed());
  Trace tampered = *found.trace;
  // Point a decision with a real choice at another enabled thread.
  bool changed = false;
  for (Decision& decision : *tampered.mutable_decisions()) {
    if (decision.kind() == Decision::SCHEDULE && decision.options() == 3) {
      decision.set_options(2);
      changed = true;
      break;
    }
  }
  ASSERT_TRUE(changed);
  Options replay = WithIterations(1);
  replay.replay = &tampered;
  RunResult result = Runner::Run(LostUpdate, replay);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(FailureKind(result), Failure::NONDETERMINISM);
  EXPECT_THAT(FailureMessage(result), HasSubstr("diverged at step"));
}

TEST(RunTest, TruncatedDecisionListReportsDivergence) {
  RunResult found = Runner::Run(LostUpdate, WithIterations(100));
  ASSERT_TRUE(found.failed());
  Trace shorter = *found.trace;
  shorter.mutable_decisions()->RemoveLast();
  shorter.mutable_decisions()->RemoveLast();
  shorter.mutable_decisions()->RemoveLast();
  Options replay = WithIterations(1);
  replay.replay = &shorter;
  RunResult result = Runner::Run(LostUpdate, replay);
  EXPECT_EQ(FailureKind(result), Failure::NONDETERMINISM) << FailureMessage(result);
}

TEST(RunTest, NondeterministicBodyIsReported) {
  // A body whose behaviour depends on state kept across runs: the failing
  // iteration passes when re-executed to record its trace. The failure
  // reported is the one that happened; the re-execution is a note.
  for (bool isolate : {true, false}) {
    int runs = 0;
    Options options = WithIterations(10);
    options.isolate = isolate;
    RunResult result = Runner::Run(
        [&] {
          ++runs;
          Thread t = spawn([] {});
          t.join();
          LOCKSTEP_CHECK(runs != 3);
        },
        options);
    ASSERT_TRUE(result.failed()) << isolate;
    EXPECT_EQ(FailureKind(result), Failure::ASSERTION);
    EXPECT_EQ(result.trace->iteration(), 2u);
    EXPECT_THAT(result.trace->failure().note(), HasSubstr("nondeterministic"));
    EXPECT_THAT(result.trace->failure().note(), HasSubstr("(it passed)"));
  }
}

TEST(RunTest, PassingRunReportsCounts) {
  RunResult result = Runner::Run(
      [] {
        Atomic<int> counter(0);
        Thread a = spawn([&] { counter.fetch_add(1); });
        Thread b = spawn([&] { counter.fetch_add(1); });
        a.join();
        b.join();
        LOCKSTEP_CHECK(counter.load() == 2);
      },
      WithIterations(50));
  EXPECT_TRUE(result.status.ok());
  EXPECT_FALSE(result.failed());
  EXPECT_EQ(result.iterations, 50u);
  EXPECT_GT(result.distinct_schedules, 1u);
  EXPECT_LE(result.distinct_schedules, 50u);
  EXPECT_GT(result.total_steps, 50u * 5);
}

TEST(RunTest, TimeBudgetStopsExploration) {
  Options options = WithIterations(1'000'000'000);
  options.time_budget = std::chrono::milliseconds(50);
  RunResult result = Runner::Run([] { yield(); }, options);
  EXPECT_FALSE(result.failed());
  EXPECT_GE(result.iterations, 1u);
  EXPECT_LT(result.iterations, 1'000'000'000u);
}

TEST(RunTest, InvalidOptionsAreRejected) {
  Options options;
  options.iterations = 0;
  EXPECT_THAT(std::string(Runner::Run([] {}, options).status.message()), HasSubstr("iterations"));
  options = Options();
  options.pct_depth = 0;
  EXPECT_FALSE(Runner::Run([] {}, options).status.ok());
  options = Options();
  options.max_steps = 0;
  EXPECT_FALSE(Runner::Run([] {}, options).status.ok());
}

TEST(RunTest, DeadlockListsEachBlockedThread) {
  RunResult result = Runner::Run(
      [] {
        Mutex a("a");
        Mutex b("b");
        Thread t1 = spawn(
            [&] {
              std::lock_guard<Mutex> l1(a);
              std::lock_guard<Mutex> l2(b);
            },
            "t1");
        Thread t2 = spawn(
            [&] {
              std::lock_guard<Mutex> l1(b);
              std::lock_guard<Mutex> l2(a);
            },
            "t2");
        t1.join();
        t2.join();
      },
      WithIterations(100));
  ASSERT_EQ(FailureKind(result), Failure::DEADLOCK);
  const std::string message = FailureMessage(result);
  EXPECT_THAT(message, HasSubstr("thread 1 't1': mutex.lock on mutex 'b' (held by thread 2 't2')"));
  EXPECT_THAT(message, HasSubstr("thread 2 't2': mutex.lock on mutex 'a' (held by thread 1 't1')"));
  EXPECT_THAT(message, HasSubstr("thread 0 'main': joining thread 1 't1'"));
  EXPECT_EQ(result.trace->failure().blocked_size(), 3);
  // Reported from a blocked thread, at the operation where it blocked: the
  // user's line that made the std::lock_guard (which calls Mutex::lock).
  const Failure& failure = result.trace->failure();
  EXPECT_TRUE(failure.thread() == 1 || failure.thread() == 2) << failure.thread();
  EXPECT_THAT(failure.location().file(), EndsWith("lockstep/run_test.cc"));
  EXPECT_THAT(failure.location().function(), HasSubstr("DeadlockListsEachBlockedThread"));
}

// Every logical thread has its own C++ exception state: a rethrow after a
// scheduling point inside a catch block rethrows the thread's own exception.
TEST(RunTest, RethrowAfterASchedulingPointIsTheThreadsOwnException) {
  Options options = WithIterations(200);
  options.strategy = StrategyKind::kRandom;
  RunResult result = Runner::Run(
      [] {
        auto rethrow = [](int value) {
          try {
            try {
              throw value;
            } catch (int) {
              yield();
              yield();
              throw;
            }
          } catch (int caught) {
            LOCKSTEP_CHECK(caught == value);
          }
          yield();
          LOCKSTEP_CHECK(std::current_exception() == nullptr);
        };
        Thread a = spawn([&] { rethrow(1); });
        Thread b = spawn([&] { rethrow(2); });
        a.join();
        b.join();
      },
      options);
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(RunTest, UncaughtExceptionIsReported) {
  RunResult result = Runner::Run(
      [] {
        Thread t = spawn([] { throw std::runtime_error("boom"); }, "thrower");
        t.join();
      },
      WithIterations(5));
  ASSERT_EQ(FailureKind(result), Failure::EXCEPTION);
  EXPECT_THAT(FailureMessage(result), HasSubstr("thread 1 'thrower'"));
  EXPECT_THAT(FailureMessage(result), HasSubstr("std::runtime_error: boom"));
  EXPECT_EQ(result.trace->failure().thread(), 1u);
}

TEST(RunTest, StepLimitReportsLivelock) {
  Options options = WithIterations(3);
  options.max_steps = 200;
  RunResult result = Runner::Run(
      [] {
        Atomic<bool> stop(false);
        Thread spinner = spawn([&] {
          while (!stop.load()) {
          }
        });
        spinner.join();
      },
      options);
  ASSERT_EQ(FailureKind(result), Failure::STEP_LIMIT);
  EXPECT_THAT(FailureMessage(result), HasSubstr("max_steps=200"));
}

TEST(RunTest, UnjoinedThreadsAreReported) {
  RunResult result = Runner::Run([] { spawn([] {}, "forgotten"); }, WithIterations(5));
  ASSERT_EQ(FailureKind(result), Failure::UNJOINED_THREADS);
  EXPECT_THAT(FailureMessage(result), HasSubstr("thread 1 'forgotten'"));
}

TEST(RunTest, MisuseIsReported) {
  auto misuse = [](std::function<void()> body) {
    RunResult result = Runner::Run(body, WithIterations(1));
    EXPECT_EQ(FailureKind(result), Failure::MISUSE);
    return FailureMessage(result);
  };
  EXPECT_THAT(misuse([] {
                Mutex m("m");
                m.unlock();
              }),
              HasSubstr("unlocks mutex 'm' which is not locked"));
  EXPECT_THAT(misuse([] {
                Mutex m("m");
                m.lock();
                m.lock();
              }),
              HasSubstr("already holds (lockstep::Mutex is not recursive)"));
  EXPECT_THAT(misuse([] {
                Mutex m("m");
                Thread t = spawn([&] { m.lock(); });
                t.join();
                m.unlock();
              }),
              HasSubstr("unlocks mutex 'm' held by thread 1"));
  EXPECT_THAT(misuse([] {
                Thread t = spawn([] {});
                t.join();
                t.join();
              }),
              HasSubstr("joined twice"));
  EXPECT_THAT(misuse([] { choose(0); }), HasSubstr("choose(0)"));
}

TEST(RunTest, PrimitivesOutsideARunThrowUsageError) {
  Mutex m("m");
  EXPECT_THROW(m.lock(), UsageError);
  EXPECT_THROW(yield(), UsageError);
  EXPECT_THROW(spawn([] {}), UsageError);
  try {
    m.lock();
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("outside a Lockstep run"));
  }
}

TEST(RunTest, ObjectsOutlivingAnIterationStartClean) {
  // A mutex left locked by a failed iteration must not poison the next run.
  Mutex shared("shared");
  RunResult failed = Runner::Run(
      [&] {
        shared.lock();
        LOCKSTEP_CHECK(false);
      },
      WithIterations(1));
  ASSERT_EQ(FailureKind(failed), Failure::ASSERTION);
  RunResult next = Runner::Run([&] { std::lock_guard<Mutex> lock(shared); }, WithIterations(10));
  EXPECT_FALSE(next.failed()) << FailureMessage(next);
}

TEST(RunTest, ChooseIsControlledAndReplayed) {
  // The bug needs choose(4) == 3 and choose_bool() == true.
  auto body = [] {
    const uint32_t a = choose(4);
    const bool b = choose_bool();
    LOCKSTEP_CHECK(!(a == 3 && b));
  };
  RunResult found = Runner::Run(body, WithIterations(200));
  ASSERT_EQ(FailureKind(found), Failure::ASSERTION);
  Options replay = WithIterations(1);
  replay.replay = &*found.trace;
  EXPECT_EQ(FailureKind(Runner::Run(body, replay)), Failure::ASSERTION);
}

TEST(RunTest, VirtualTimeAdvancesOnlyThroughTimers) {
  RunResult result = Runner::Run(
      [] {
        const auto start = now();
        Thread sleeper = spawn([&] {
          sleep_for(10ms);
          LOCKSTEP_CHECK(now() - start >= 10ms);
        });
        Thread late = spawn([&] {
          sleep_for(20ms);
          LOCKSTEP_CHECK(now() - start >= 20ms);
        });
        sleeper.join();
        late.join();
        // `late` may start only after the first timer fired (a strategy may
        // delay any thread), so its sleep can end at 20 or 30 ms.
        LOCKSTEP_CHECK(now() - start >= 20ms && now() - start <= 30ms);
      },
      WithIterations(50));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(RunTest, TimeoutRacesNotification) {
  // Both outcomes of a timed wait against a notify must be explored.
  bool saw_timeout = false;
  bool saw_notify = false;
  RunResult result = Runner::Run(
      [&] {
        Mutex m;
        CondVar cv;
        bool done = false;
        Thread notifier = spawn([&] {
          std::lock_guard<Mutex> lock(m);
          done = true;
          cv.notify_one();
        });
        {
          std::unique_lock<Mutex> lock(m);
          if (cv.wait_for(lock, 1s, [&] { return done; })) {
            saw_notify = true;
          } else {
            saw_timeout = true;
          }
        }
        notifier.join();
      },
      InProcess(100));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(saw_timeout);
  EXPECT_TRUE(saw_notify);
}

TEST(RunTest, SpuriousWakeupsAreExploredWhenEnabled) {
  auto body = [] {
    Mutex m;
    CondVar cv;
    bool ready = false;
    Thread waiter = spawn([&] {
      std::unique_lock<Mutex> lock(m);
      if (!ready) cv.wait(lock);  // no predicate loop
      LOCKSTEP_CHECK_MSG(ready, "woke without the condition");
    });
    {
      std::lock_guard<Mutex> lock(m);
      ready = true;
    }
    cv.notify_one();
    waiter.join();
  };
  Options options = WithIterations(200);
  EXPECT_FALSE(Runner::Run(body, options).failed());
  options.spurious_wakeups = true;
  RunResult result = Runner::Run(body, options);
  EXPECT_EQ(FailureKind(result), Failure::ASSERTION);
  EXPECT_TRUE(result.trace->strategy().spurious_wakeups());
}

TEST(RunTest, SpuriousWakeupsLetAPredicateLoopFinishUnderEveryStrategy) {
  for (StrategyKind kind : {StrategyKind::kRandom, StrategyKind::kPct, StrategyKind::kFairPct,
                            StrategyKind::kPos, StrategyKind::kIdPct}) {
    Options options = WithIterations(200);
    options.strategy = kind;
    options.spurious_wakeups = true;
    RunResult result = Runner::Run(
        [] {
          Mutex m;
          CondVar cv;
          bool ready = false;
          Thread waiter = spawn([&] {
            std::unique_lock<Mutex> lock(m);
            cv.wait(lock, [&] { return ready; });
          });
          {
            std::lock_guard<Mutex> lock(m);
            ready = true;
          }
          cv.notify_one();
          waiter.join();
        },
        options);
    EXPECT_FALSE(result.failed()) << StrategyKindName(kind) << ": " << FailureMessage(result);
  }
}

TEST(RunTest, MailboxSelectiveReceiveAndSendAfter) {
  RunResult result = Runner::Run(
      [] {
        Mailbox<int> inbox("inbox");
        send_after(inbox, 3, 5ms);
        Thread sender = spawn([&] {
          inbox.send(1);
          inbox.send(2);
        });
        // Selective receive skips older messages, which stay queued in order.
        LOCKSTEP_CHECK(inbox.recv_if([](int v) { return v == 2; }) == 2);
        LOCKSTEP_CHECK(inbox.recv_if([](int v) { return v != 3; }) == 1);
        LOCKSTEP_CHECK(inbox.recv() == 3);
        LOCKSTEP_CHECK(now().time_since_epoch() >= 5ms);
        LOCKSTEP_CHECK(!inbox.try_recv().has_value());
        sender.join();
        Thread fifo = spawn([&] {
          inbox.send(4);
          inbox.send(5);
        });
        LOCKSTEP_CHECK(inbox.recv() == 4);
        LOCKSTEP_CHECK(inbox.recv() == 5);
        fifo.join();
        send_after(inbox, 6, 10ms);
        LOCKSTEP_CHECK(!inbox.recv_if_for([](int v) { return v == 7; }, 20ms).has_value());
        LOCKSTEP_CHECK(inbox.recv() == 6);
      },
      WithIterations(50));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(RunTest, SharedMutexAndSemaphore) {
  RunResult result = Runner::Run(
      [] {
        SharedMutex rw("rw");
        Semaphore slots(1, "slots");
        Atomic<int> readers(0);
        Atomic<int> inside(0);
        int value = 0;
        auto reader = [&] {
          std::shared_lock<SharedMutex> lock(rw);
          readers.fetch_add(1);
          LOCKSTEP_CHECK(value == 0 || value == 1);
          readers.fetch_sub(1);
        };
        auto writer = [&] {
          std::unique_lock<SharedMutex> lock(rw);
          LOCKSTEP_CHECK(readers.load() == 0);
          value = 1;
        };
        auto limited = [&] {
          slots.acquire();
          LOCKSTEP_CHECK(inside.fetch_add(1) == 0);
          inside.fetch_sub(1);
          slots.release();
        };
        Thread r1 = spawn(reader);
        Thread r2 = spawn(reader);
        Thread w = spawn(writer);
        Thread l1 = spawn(limited);
        Thread l2 = spawn(limited);
        r1.join();
        r2.join();
        w.join();
        l1.join();
        l2.join();
      },
      WithIterations(100));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(RunTest, NoHeapAllocationPerSchedulingPoint) {
  auto body_with = [](int increments) {
    return [increments] {
      Atomic<int> counter(0);
      auto work = [&] {
        for (int i = 0; i < increments; ++i) counter.fetch_add(1);
      };
      Thread a = spawn(work);
      Thread b = spawn(work);
      a.join();
      b.join();
    };
  };
  auto allocations = [](const std::function<void()>& body, uint64_t* steps) {
    Options options;
    options.iterations = 20;
    options.strategy = StrategyKind::kRandom;
    Runner::Run(body, options);  // warm up: pools and buffers grow once
    const uint64_t before = g_allocations.load();
    RunResult result = Runner::Run(body, options);
    *steps = result.total_steps;
    return g_allocations.load() - before;
  };
  uint64_t few_steps = 0;
  uint64_t many_steps = 0;
  const uint64_t few = allocations(body_with(10), &few_steps);
  const uint64_t many = allocations(body_with(200), &many_steps);
  ASSERT_GT(many_steps, few_steps * 10);
  // Per-iteration and per-run costs are allowed; per-step ones are not.
  // (The decision log grows geometrically at most once per run.)
  EXPECT_LE(many, few + 8) << "allocations: " << few << " for " << few_steps << " steps, " << many
                           << " for " << many_steps << " steps";
}

}  // namespace
}  // namespace lockstep
