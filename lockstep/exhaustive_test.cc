// The exhaustive strategies (dfs, dpor) on real test bodies: schedule counts
// known by hand, verified runs, found bugs, replay, isolation, shards.
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/condvar.h"
#include "lockstep/failure.h"
#include "lockstep/mailbox.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"
#include "lockstep/thread.h"

namespace lockstep {
namespace {

using testing_util::FailureKind;
using testing_util::FailureMessage;

Options Exhaustive(StrategyKind kind, bool isolate = false) {
  Options options = testing_util::WithIterations(200000, "Exhaustive");
  options.strategy = kind;
  options.isolate = isolate;
  return options;
}

uint64_t Schedules(const RunResult& result) {
  return result.iterations - result.redundant_iterations;
}

// `threads` threads each add to their own counter `ops` times.
void IndependentThreads(int threads, int ops) {
  std::vector<std::unique_ptr<Atomic<int>>> counters;
  for (int t = 0; t < threads; ++t) counters.push_back(std::make_unique<Atomic<int>>(0));
  std::vector<Thread> handles;
  for (int t = 0; t < threads; ++t) {
    handles.push_back(spawn([&, t] {
      for (int k = 0; k < ops; ++k) counters[t]->fetch_add(1);
    }));
  }
  for (Thread& h : handles) h.join();
  for (int t = 0; t < threads; ++t) LOCKSTEP_CHECK(counters[t]->load() == ops);
}

TEST(ExhaustiveTest, IndependentThreadsAreOneDporSchedule) {
  const RunResult result =
      Runner::Run([] { IndependentThreads(4, 2); }, Exhaustive(StrategyKind::kDpor));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(result.exhausted);
  EXPECT_EQ(Schedules(result), 1u);
}

// Two threads each store `k` times to one atomic: every order of the 2k
// stores is its own class, C(2k, k) of them.
void TwoWriters(int k, std::set<std::vector<int>>* orders) {
  Atomic<int> x(0, "x");
  std::vector<int> order;  // who stored, in the order the stores happened
  auto writer = [&](int who) {
    for (int i = 0; i < k; ++i) {
      x.store(who);
      order.push_back(who);
    }
  };
  Thread a = spawn([&] { writer(1); });
  Thread b = spawn([&] { writer(2); });
  a.join();
  b.join();
  if (orders != nullptr) orders->insert(order);
}

TEST(ExhaustiveTest, TwoThreadsWithKConflictingAccessesGiveCTwoKKClasses) {
  for (int k : {1, 2, 3, 4}) {
    std::set<std::vector<int>> orders;
    const RunResult result =
        Runner::Run([&] { TwoWriters(k, &orders); }, Exhaustive(StrategyKind::kDpor));
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_TRUE(result.exhausted);
    const uint64_t expected[] = {0, 2, 6, 20, 70};  // C(2k, k)
    EXPECT_EQ(Schedules(result), expected[k]) << "k=" << k;
    EXPECT_EQ(orders.size(), expected[k]) << "k=" << k;
  }
}

TEST(ExhaustiveTest, DfsSeesEveryInterleavingAndMoreSchedulesThanDpor) {
  std::set<std::vector<int>> orders;
  const RunResult dfs =
      Runner::Run([&] { TwoWriters(2, &orders); }, Exhaustive(StrategyKind::kDfs));
  ASSERT_TRUE(dfs.status.ok()) << dfs.status;
  EXPECT_TRUE(dfs.exhausted);
  EXPECT_EQ(dfs.redundant_iterations, 0u);
  EXPECT_EQ(orders.size(), 6u);
  // dfs also orders the spawns, starts, exits and joins: more schedules,
  // every one distinct.
  EXPECT_GT(dfs.iterations, 6u);
  EXPECT_EQ(dfs.distinct_schedules, dfs.iterations);
}

TEST(ExhaustiveTest, EveryChooseValueIsExplored) {
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (StrategyKind kind : {StrategyKind::kDfs, StrategyKind::kDpor}) {
    seen.clear();
    const RunResult result = Runner::Run(
        [&] {
          const uint32_t a = choose(3);
          const uint32_t b = choose(2);
          seen.insert({a, b});
        },
        Exhaustive(kind));
    EXPECT_TRUE(result.exhausted);
    EXPECT_EQ(result.iterations, 6u);
    EXPECT_EQ(seen.size(), 6u);
  }
}

TEST(ExhaustiveTest, ThePreemptionBoundLimitsTheSearch) {
  auto run = [](std::optional<uint32_t> bound) {
    Options options = Exhaustive(StrategyKind::kDfs);
    options.preemption_bound = bound;
    return Runner::Run([] { TwoWriters(3, nullptr); }, options);
  };
  const RunResult zero = run(0);
  const RunResult one = run(1);
  const RunResult all = run(std::nullopt);
  for (const RunResult* r : {&zero, &one, &all}) EXPECT_TRUE(r->exhausted);
  EXPECT_LT(zero.iterations, one.iterations);
  EXPECT_LT(one.iterations, all.iterations);
}

TEST(ExhaustiveTest, APreemptionBoundIsForDfsOnly) {
  Options options = Exhaustive(StrategyKind::kDpor);
  options.preemption_bound = 2;
  const RunResult result = Runner::Run([] {}, options);
  EXPECT_FALSE(result.status.ok());
  EXPECT_THAT(std::string(result.status.message()), testing::HasSubstr("dfs strategy only"));
}

// The lost update, found by both searches in and out of process, and its
// fixed twin verified.
void LostUpdate(bool fixed) {
  Atomic<int> counter(0, "counter");
  auto increment = [&] {
    if (fixed) {
      counter.fetch_add(1);
    } else {
      counter.store(counter.load() + 1);
    }
  };
  Thread a = spawn(increment, "a");
  Thread b = spawn(increment, "b");
  a.join();
  b.join();
  LOCKSTEP_CHECK(counter.load() == 2);
}

class ExhaustiveRunnerTest : public testing::TestWithParam<std::pair<StrategyKind, bool>> {};

TEST_P(ExhaustiveRunnerTest, FindsTheBugAndReplaysIt) {
  const auto [kind, isolate] = GetParam();
  const RunResult result = Runner::Run([] { LostUpdate(false); }, Exhaustive(kind, isolate));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(FailureKind(result), Failure::ASSERTION) << FailureMessage(result);
  EXPECT_FALSE(result.exhausted);
  EXPECT_EQ(result.trace->strategy().name(), StrategyKindName(kind));
  // The trace replays alone.
  Options replay = Exhaustive(kind, isolate);
  replay.replay = &*result.trace;
  const RunResult again = Runner::Run([] { LostUpdate(false); }, replay);
  EXPECT_EQ(FailureKind(again), Failure::ASSERTION) << FailureMessage(again);
  // The iteration flag reaches it again: the search runs up to it.
  Options only = Exhaustive(kind, isolate);
  only.only_iteration = result.trace->iteration();
  const RunResult flags = Runner::Run([] { LostUpdate(false); }, only);
  EXPECT_EQ(FailureKind(flags), Failure::ASSERTION);
  EXPECT_EQ(flags.trace->iteration(), result.trace->iteration());
}

TEST_P(ExhaustiveRunnerTest, VerifiesTheFixedTwinTheSameWayInAndOutOfProcess) {
  const auto [kind, isolate] = GetParam();
  const RunResult result = Runner::Run([] { LostUpdate(true); }, Exhaustive(kind, isolate));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(result.exhausted);
  const RunResult in_process = Runner::Run([] { LostUpdate(true); }, Exhaustive(kind, false));
  EXPECT_EQ(result.iterations, in_process.iterations);
  EXPECT_EQ(result.redundant_iterations, in_process.redundant_iterations);
}

TEST_P(ExhaustiveRunnerTest, TheIterationCapMakesItASample) {
  const auto [kind, isolate] = GetParam();
  Options options = Exhaustive(kind, isolate);
  options.iterations = 2;
  const RunResult result = Runner::Run([] { TwoWriters(3, nullptr); }, options);
  EXPECT_FALSE(result.failed());
  EXPECT_EQ(result.iterations, 2u);
  EXPECT_FALSE(result.exhausted);
}

INSTANTIATE_TEST_SUITE_P(Strategies, ExhaustiveRunnerTest,
                         testing::Values(std::pair{StrategyKind::kDfs, false},
                                         std::pair{StrategyKind::kDfs, true},
                                         std::pair{StrategyKind::kDpor, false},
                                         std::pair{StrategyKind::kDpor, true}),
                         [](const testing::TestParamInfo<std::pair<StrategyKind, bool>>& info) {
                           return std::string(StrategyKindName(info.param.first)) +
                                  (info.param.second ? "Isolated" : "InProcess");
                         });

TEST(ExhaustiveTest, ACrashFoundByTheSearchIsRecordedFromTheMirroredDecisions) {
  // The explorer dies; its parent cannot redo the search, so the recording
  // child replays the decisions the explorer mirrored.
  auto body = [] {
    Atomic<int> counter(0, "counter");
    auto increment = [&] { counter.store(counter.load() + 1); };
    Thread a = spawn(increment);
    Thread b = spawn(increment);
    a.join();
    b.join();
    if (counter.load() != 2) std::abort();
  };
  for (StrategyKind kind : {StrategyKind::kDfs, StrategyKind::kDpor}) {
    const RunResult result = Runner::Run(body, Exhaustive(kind, /*isolate=*/true));
    ASSERT_EQ(FailureKind(result), Failure::CRASH) << FailureMessage(result);
    EXPECT_THAT(FailureMessage(result), testing::HasSubstr("SIGABRT"));
    EXPECT_TRUE(result.trace->failure().note().empty()) << result.trace->failure().note();
    EXPECT_GT(result.trace->events_size(), 0);
    Options replay = Exhaustive(kind, /*isolate=*/true);
    replay.replay = &*result.trace;
    EXPECT_EQ(FailureKind(Runner::Run(body, replay)), Failure::CRASH);
  }
}

TEST(ExhaustiveTest, MutualExclusionIsExploredThroughTheLock) {
  // Two threads increment under a mutex, a third reads without it: dpor
  // must still see the reader before, between and after the increments.
  std::set<int> seen;
  const RunResult result = Runner::Run(
      [&] {
        Mutex m("m");
        Atomic<int> value(0, "value");
        auto add = [&] {
          std::lock_guard<Mutex> lock(m);
          value.store(value.load() + 1);
        };
        Thread a = spawn(add);
        Thread b = spawn(add);
        Thread c = spawn([&] { seen.insert(value.load()); });
        a.join();
        b.join();
        c.join();
        LOCKSTEP_CHECK(value.load() == 2);
      },
      Exhaustive(StrategyKind::kDpor));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(result.exhausted);
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2}));
}

// What a body with blocking primitives can end up doing: dpor must reach
// every outcome dfs reaches (its reduction loses no behaviour through
// blocking, wake-ups and joins).
std::set<std::vector<int>> Outcomes(StrategyKind kind, void (*body)(std::vector<int>&)) {
  std::set<std::vector<int>> outcomes;
  const RunResult result = Runner::Run(
      [&] {
        std::vector<int> outcome;
        body(outcome);
        outcomes.insert(outcome);
      },
      Exhaustive(kind));
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(result.exhausted);
  return outcomes;
}

// Lock acquisitions and a condition variable (the body itself takes part).
void LockAndWait(std::vector<int>& outcome) {
  Mutex m("m");
  CondVar cv("cv");
  int x = 0;
  auto set = [&](int value) {
    std::lock_guard<Mutex> lock(m);
    outcome.push_back(value);
    x = value;
    cv.notify_one();
  };
  Thread a = spawn([&] { set(1); });
  Thread b = spawn([&] {
    std::unique_lock<Mutex> lock(m);
    outcome.push_back(3);
    cv.wait(lock, [&] { return x != 0; });
    outcome.push_back(10 + x);
  });
  set(2);
  a.join();
  b.join();
}

// Messages from two senders (one the body itself), one receiver that also
// polls.
void Messages(std::vector<int>& outcome) {
  Mailbox<int> box("box");
  Thread a = spawn([&] { box.send(1); });
  Thread r = spawn([&] {
    const std::optional<int> first = box.try_recv();
    outcome.push_back(first.value_or(0));
    outcome.push_back(box.recv());
  });
  box.send(2);
  a.join();
  r.join();
}

TEST(ExhaustiveTest, DporReachesEveryOutcomeDfsReachesThroughBlocking) {
  for (auto* body : {&LockAndWait, &Messages}) {
    const std::set<std::vector<int>> dfs = Outcomes(StrategyKind::kDfs, body);
    EXPECT_GT(dfs.size(), 3u);
    EXPECT_EQ(Outcomes(StrategyKind::kDpor, body), dfs);
  }
}

TEST(ExhaustiveTest, ANondeterministicBodyIsReportedNotExploredWrongly) {
  int runs = 0;
  const RunResult result = Runner::Run(
      [&] {
        // From the second run on, a choice comes first.
        if (++runs >= 2) choose(2);
        Thread a = spawn([] {});
        a.join();
      },
      Exhaustive(StrategyKind::kDfs));
  EXPECT_EQ(FailureKind(result), Failure::NONDETERMINISM) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result), testing::HasSubstr("did not repeat itself"));
}

TEST(ExhaustiveTest, ShardsTogetherExploreWhatOneRunDoes) {
  std::set<std::vector<int>> together;
  for (uint32_t index = 0; index < 3; ++index) {
    Options options = Exhaustive(StrategyKind::kDfs);
    options.shard = {.index = index, .count = 3};
    std::set<std::vector<int>> orders;
    const RunResult result = Runner::Run([&] { TwoWriters(2, &orders); }, options);
    EXPECT_TRUE(result.exhausted);
    together.insert(orders.begin(), orders.end());
  }
  EXPECT_EQ(together.size(), 6u);
  uint64_t sum = 0;
  for (uint32_t index = 0; index < 3; ++index) {
    Options options = Exhaustive(StrategyKind::kDfs);
    options.shard = {.index = index, .count = 3};
    sum += Schedules(Runner::Run([] { TwoWriters(2, nullptr); }, options));
  }
  EXPECT_EQ(sum,
            Runner::Run([] { TwoWriters(2, nullptr); }, Exhaustive(StrategyKind::kDfs)).iterations);
}

}  // namespace
}  // namespace lockstep
