// The linearizability checker on histories written by hand, and specs of
// broken and correct concurrent objects run under Lockstep.
#include "lockstep/linearizability.h"

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"

namespace lockstep {
namespace {

using ::testing::HasSubstr;
using testing_util::FailureKind;
using testing_util::FailureMessage;

// --- The checker on a queue model, histories by hand ---------------------

using QueueModel = std::deque<int>;

enum QueueOp : uint32_t { kPush, kPop };

class QueueState final : public ModelState {
 public:
  std::unique_ptr<ModelState> Clone() const override { return std::make_unique<QueueState>(*this); }
  std::string Apply(uint32_t operation, uint32_t argument) override {
    if (operation == kPush) {
      q_.push_back(static_cast<int>(argument));
      return "";
    }
    if (q_.empty()) return "empty";
    const int v = q_.front();
    q_.pop_front();
    return std::to_string(v);
  }
  bool Equals(const ModelState& other) const override {
    return q_ == static_cast<const QueueState&>(other).q_;
  }
  size_t Hash() const override { return q_.size(); }

 private:
  QueueModel q_;
};

HistoryEntry Push(uint32_t thread, int v, uint64_t call, uint64_t ret) {
  return {thread, kPush, static_cast<uint32_t>(v), "push(" + std::to_string(v) + ")", "",
          call,   ret};
}
HistoryEntry Pop(uint32_t thread, std::string result, uint64_t call, uint64_t ret) {
  return {thread, kPop, 0, "pop()", std::move(result), call, ret};
}

TEST(LinearizabilityCheckerTest, SequentialHistoryOfTheModelIsLinearizable) {
  const std::vector<HistoryEntry> history = {Push(1, 1, 1, 2), Push(1, 2, 3, 4), Pop(2, "1", 5, 6),
                                             Pop(2, "2", 7, 8)};
  const LinearizabilityVerdict verdict = CheckLinearizable(history, QueueState(), 2);
  EXPECT_TRUE(verdict.linearizable);
  EXPECT_EQ(verdict.order, (std::vector<size_t>{0, 1, 2, 3}));
}

TEST(LinearizabilityCheckerTest, OverlappingOperationsMayTakeEitherOrder) {
  // pop() overlaps push(1) and saw it: push first.
  const std::vector<HistoryEntry> history = {Pop(2, "1", 1, 4), Push(1, 1, 2, 3)};
  const LinearizabilityVerdict verdict = CheckLinearizable(history, QueueState(), 2);
  EXPECT_TRUE(verdict.linearizable);
  EXPECT_EQ(verdict.order, (std::vector<size_t>{1, 0}));
}

TEST(LinearizabilityCheckerTest, RealTimeOrderIsRespected) {
  // push(1) returned before pop() was called: pop() cannot be empty.
  const std::vector<HistoryEntry> history = {Push(1, 1, 1, 2), Pop(2, "empty", 3, 4)};
  const LinearizabilityVerdict verdict = CheckLinearizable(history, QueueState(), 2);
  EXPECT_FALSE(verdict.linearizable);
  EXPECT_EQ(verdict.order, (std::vector<size_t>{0}));
  EXPECT_THAT(verdict.explanation,
              HasSubstr("thread 2: pop() returned empty; the model returns 1"));
  EXPECT_THAT(verdict.explanation, HasSubstr("1. thread 1: push(1)"));
}

TEST(LinearizabilityCheckerTest, TheHistoryTableHasAColumnPerThread) {
  const std::vector<HistoryEntry> history = {Push(1, 1, 1, 4), Pop(2, "1", 2, 3)};
  EXPECT_EQ(HistoryTable(history, 2),
            "  time   | thread 1 | thread 2\n"
            "  [1, 4] | push(1)\n"
            "  [2, 3] |          | pop() -> 1\n");
}

TEST(LinearizabilityCheckerTest, DuplicatedValueIsNotLinearizable) {
  // Two pops of one pushed value both got it.
  const std::vector<HistoryEntry> history = {Push(0, 5, 1, 2), Pop(1, "5", 3, 6),
                                             Pop(2, "5", 4, 5)};
  const LinearizabilityVerdict verdict = CheckLinearizable(history, QueueState(), 2);
  EXPECT_FALSE(verdict.linearizable);
  EXPECT_THAT(verdict.explanation, HasSubstr("init"));
  EXPECT_THAT(verdict.explanation, HasSubstr("returned 5; the model returns empty"));
}

// --- Specs run under Lockstep ---------------------------------------------

// A counter whose increment returns the new value.
struct Counter {
  Atomic<int> n{0, "n"};
  int Increment(bool racy) {
    if (!racy) return n.fetch_add(1) + 1;
    const int v = n.load() + 1;  // load, then store: two threads can both see 0
    n.store(v);
    return v;
  }
};
struct BrokenCounter : Counter {
  int Increment() { return Counter::Increment(true); }
};
struct GoodCounter : Counter {
  int Increment() { return Counter::Increment(false); }
};

template <typename C>
LinearizabilitySpec<C, int> CounterSpec() {
  return LinearizabilitySpec<C, int>()
      .Operation(
          "increment", [](C& c) { return c.Increment(); }, [](int& m) { return ++m; })
      .Operation(
          "get", [](C& c) { return c.n.load(); }, [](int& m) { return m; })
      .Threads(2)
      .OperationsPerThread(2);
}

// A queue whose pop looks at the front and removes it in two critical
// sections: two pops can return one value.
template <bool kBroken>
class Queue {
 public:
  void Push(int v) {
    std::lock_guard<Mutex> lock(m_);
    q_.push_back(v);
  }
  std::optional<int> Pop() {
    std::unique_lock<Mutex> lock(m_);
    if (q_.empty()) return std::nullopt;
    const int v = q_.front();
    if (kBroken) {
      lock.unlock();
      lock.lock();
      if (q_.empty()) return v;
    }
    q_.pop_front();
    return v;
  }

 private:
  Mutex m_{"queue"};
  std::deque<int> q_;
};

std::optional<int> ModelPop(std::deque<int>& q) {
  if (q.empty()) return std::nullopt;
  const int v = q.front();
  q.pop_front();
  return v;
}

template <bool kBroken>
LinearizabilitySpec<Queue<kBroken>, std::deque<int>> QueueSpec() {
  return LinearizabilitySpec<Queue<kBroken>, std::deque<int>>()
      .Operation(
          "push", std::vector<int>{1, 2}, [](Queue<kBroken>& q, int v) { q.Push(v); },
          [](std::deque<int>& m, int v) { m.push_back(v); })
      .Operation(
          "pop", [](Queue<kBroken>& q) { return q.Pop(); }, &ModelPop)
      .Threads(2)
      .OperationsPerThread(2)
      .InitOperations(1);
}

// A map whose put returns the previous value, read and written in two
// critical sections.
template <bool kBroken>
class Map {
 public:
  std::optional<int> Put(int key, int value) {
    std::unique_lock<Mutex> lock(m_);
    std::optional<int> previous;
    if (auto it = map_.find(key); it != map_.end()) previous = it->second;
    if (kBroken) {
      lock.unlock();
      lock.lock();
    }
    map_[key] = value;
    return previous;
  }
  std::optional<int> Get(int key) {
    std::lock_guard<Mutex> lock(m_);
    auto it = map_.find(key);
    return it == map_.end() ? std::nullopt : std::optional<int>(it->second);
  }

 private:
  Mutex m_{"map"};
  std::map<int, int> map_;
};

template <bool kBroken>
LinearizabilitySpec<Map<kBroken>, std::map<int, int>> MapSpec() {
  using M = std::map<int, int>;
  return LinearizabilitySpec<Map<kBroken>, M>()
      .Operation(
          "put", std::vector<std::pair<int, int>>{{1, 10}, {1, 20}, {2, 30}},
          [](Map<kBroken>& m, std::pair<int, int> kv) { return m.Put(kv.first, kv.second); },
          [](M& m, std::pair<int, int> kv) {
            std::optional<int> previous;
            if (auto it = m.find(kv.first); it != m.end()) previous = it->second;
            m[kv.first] = kv.second;
            return previous;
          })
      .Operation(
          "get", std::vector<int>{1, 2}, [](Map<kBroken>& m, int k) { return m.Get(k); },
          [](M& m, int k) {
            auto it = m.find(k);
            return it == m.end() ? std::nullopt : std::optional<int>(it->second);
          })
      .Threads(2)
      .OperationsPerThread(2);
}

RunResult RunSpec(const LinearizabilityCheck& check, StrategyKind strategy, uint64_t iterations) {
  Options options = testing_util::WithIterations(iterations, "Linearizability");
  options.strategy = strategy;
  return Runner::Run([&] { check.Run(RunOnLockstepThreads); }, options);
}

struct ObjectCase {
  const char* name;
  LinearizabilityCheck broken;
  LinearizabilityCheck fixed;
};

class LinearizabilityRunTest : public testing::TestWithParam<StrategyKind> {};

TEST_P(LinearizabilityRunTest, BrokenObjectsAreNotLinearizableAndFixedOnesPass) {
  const ObjectCase cases[] = {
      {"counter", CounterSpec<BrokenCounter>(), CounterSpec<GoodCounter>()},
      {"queue", QueueSpec<true>(), QueueSpec<false>()},
      {"map", MapSpec<true>(), MapSpec<false>()},
  };
  for (const ObjectCase& c : cases) {
    SCOPED_TRACE(c.name);
    // dpor explores scenario after scenario: the queue's needs 4331.
    const RunResult broken = RunSpec(c.broken, GetParam(), 10000);
    ASSERT_TRUE(broken.status.ok()) << broken.status;
    ASSERT_EQ(FailureKind(broken), Failure::NOT_LINEARIZABLE) << FailureMessage(broken);
    EXPECT_THAT(FailureMessage(broken), HasSubstr("| thread 1"));
    EXPECT_THAT(FailureMessage(broken), HasSubstr("the model returns"));
    // The trace replays the scenario and the schedule.
    Options replay = testing_util::WithIterations(1, "Linearizability");
    replay.replay = &*broken.trace;
    const RunResult again = Runner::Run([&] { c.broken.Run(RunOnLockstepThreads); }, replay);
    EXPECT_EQ(FailureKind(again), Failure::NOT_LINEARIZABLE);

    const RunResult fixed = RunSpec(c.fixed, GetParam(), 300);
    EXPECT_FALSE(fixed.failed()) << FailureMessage(fixed);
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, LinearizabilityRunTest,
                         testing::Values(StrategyKind::kRandom, StrategyKind::kPct,
                                         StrategyKind::kDpor),
                         [](const testing::TestParamInfo<StrategyKind>& info) {
                           return std::string(StrategyKindName(info.param));
                         });

TEST(LinearizabilityRunTest, DporVerifiesTheFixedCounterForEveryScenario) {
  const RunResult result = RunSpec(CounterSpec<GoodCounter>(), StrategyKind::kDpor, 100000);
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(result.exhausted);
}

TEST(LinearizabilityRunTest, ASpecWithoutOperationsIsAMisuse) {
  const LinearizabilityCheck empty = LinearizabilitySpec<GoodCounter, int>();
  EXPECT_EQ(FailureKind(RunSpec(empty, StrategyKind::kRandom, 1)), Failure::MISUSE);
}

}  // namespace
}  // namespace lockstep
