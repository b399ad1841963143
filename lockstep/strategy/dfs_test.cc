// The exhaustive searches on programs simulated here (threads as lists of
// operations), where the number of schedules and of equivalence classes
// (Mazurkiewicz traces) is known by hand.
#include "lockstep/strategy/dfs.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace lockstep {
namespace {

using Kind = PendingOp::Kind;
using Reduction = DfsStrategy::Reduction;

PendingOp W(uint32_t object) { return {Kind::kWrite, object}; }
PendingOp R(uint32_t object) { return {Kind::kRead, object}; }

// Each thread runs its operations in order; all threads exist from the start.
using Program = std::vector<std::vector<PendingOp>>;

// An event: thread and its index in the thread.
using EventId = std::pair<uint32_t, uint32_t>;

// The equivalence class of a schedule: the order of every two dependent
// operations of different threads.
std::set<std::pair<EventId, EventId>> TraceOf(const Program& program,
                                              const std::vector<uint32_t>& schedule) {
  std::vector<EventId> events;
  std::vector<uint32_t> next(program.size(), 0);
  for (uint32_t t : schedule) events.push_back({t, next[t]++});
  std::set<std::pair<EventId, EventId>> order;
  for (size_t i = 0; i < events.size(); ++i) {
    for (size_t j = i + 1; j < events.size(); ++j) {
      const EventId& a = events[i];
      const EventId& b = events[j];
      if (a.first != b.first &&
          program[a.first][a.second].ConflictsWith(program[b.first][b.second])) {
        order.insert({a, b});
      }
    }
  }
  return order;
}

struct Searched {
  std::vector<std::vector<uint32_t>> schedules;  // complete ones, in order
  uint64_t iterations = 0;
  bool exhausted = false;
};

// Runs `strategy`'s search over `program` to its end. With `restart`, the
// search state moves to a fresh strategy (`make()`) between iterations, as
// it does between processes.
template <typename Make>
Searched Search(const Program& program, Make make, bool restart = false) {
  auto strategy_owner = std::make_unique<DfsStrategy>(make());
  Searched searched;
  for (uint64_t i = 0; i < 100000 && !searched.exhausted; ++i) {
    DfsStrategy& strategy = *strategy_owner;
    const uint64_t redundant = strategy.RedundantIterations();
    strategy.BeginIteration(i, 0);
    for (uint32_t t = 0; t < program.size(); ++t) strategy.OnThreadCreated(t);
    std::vector<uint32_t> position(program.size(), 0);
    std::vector<uint32_t> schedule;
    uint32_t current = 0;
    for (uint64_t step = 1;; ++step) {
      std::vector<uint32_t> enabled;
      std::vector<PendingOp> pending(program.size());
      for (uint32_t t = 0; t < program.size(); ++t) {
        if (position[t] < program[t].size()) {
          enabled.push_back(t);
          pending[t] = program[t][position[t]];
        }
      }
      if (enabled.empty()) break;
      const uint32_t pick = strategy.PickThread({enabled, pending, current, step});
      EXPECT_NE(std::find(enabled.begin(), enabled.end(), pick), enabled.end());
      if (std::find(enabled.begin(), enabled.end(), pick) == enabled.end()) return searched;
      strategy.OnExecuted(pick, pending[pick]);
      ++position[pick];
      schedule.push_back(pick);
      current = pick;
    }
    strategy.EndIteration(schedule.size());
    ++searched.iterations;
    if (strategy.RedundantIterations() == redundant) searched.schedules.push_back(schedule);
    searched.exhausted = strategy.Exhausted();
    if (restart) {
      const std::string state = strategy.SaveState();
      strategy_owner = std::make_unique<DfsStrategy>(make());
      EXPECT_TRUE(strategy_owner->RestoreState(state));
    }
  }
  return searched;
}

DfsStrategy Dfs(std::optional<uint32_t> bound = std::nullopt) {
  return DfsStrategy(Reduction::kNone, bound);
}
DfsStrategy Dpor() { return DfsStrategy(Reduction::kDpor, std::nullopt); }

size_t Distinct(const std::vector<std::vector<uint32_t>>& schedules) {
  return std::set<std::vector<uint32_t>>(schedules.begin(), schedules.end()).size();
}

std::set<std::set<std::pair<EventId, EventId>>> Traces(const Program& program,
                                                       const Searched& searched) {
  std::set<std::set<std::pair<EventId, EventId>>> traces;
  for (const auto& schedule : searched.schedules) traces.insert(TraceOf(program, schedule));
  return traces;
}

struct Case {
  const char* name;
  Program program;
  uint64_t dfs;   // interleavings
  uint64_t dpor;  // equivalence classes
};

// k = 3 operations per thread where it applies: C(6, 3) = 20 interleavings.
const Case kCases[] = {
    // Every operation conflicts across the threads: every interleaving is a
    // class of its own.
    {"TwoWritersOneObject", {{W(1), W(1), W(1)}, {W(1), W(1), W(1)}}, 20, 20},
    {"WriterAndReader", {{W(1), W(1), W(1)}, {R(1), R(1), R(1)}}, 20, 20},
    // Nothing conflicts: one class.
    {"TwoWritersOwnObjects", {{W(1), W(1), W(1)}, {W(2), W(2), W(2)}}, 20, 1},
    {"TwoReaders", {{R(1), R(1), R(1)}, {R(1), R(1), R(1)}}, 20, 1},
    // One conflicting pair among private work: C(6, 3) interleavings, two
    // orders of the pair.
    {"OneConflictAmongPrivateWork", {{W(1), W(2), W(3)}, {W(1), W(4), W(5)}}, 20, 2},
    // Four threads on their own objects: 4! interleavings, one class.
    {"FourIndependentThreads", {{W(1)}, {W(2)}, {W(3)}, {W(4)}}, 24, 1},
    // Three writers of one object: 3! orders, all different.
    {"ThreeWritersOneObject", {{W(1)}, {W(1)}, {W(1)}}, 6, 6},
    // A write and two reads of one object: each read before or after the
    // write (the reads commute): 4 classes of 3! interleavings.
    {"OneWriterTwoReaders", {{W(1)}, {R(1)}, {R(1)}}, 6, 4},
    // x then y against y then x: C(4, 2) = 6 interleavings; the classes are
    // the orders of the x pair and of the y pair: both thread 0 first
    // (0011), both thread 1 first (1100), or x by 0 first and y by 1 first
    // (the other four); x by 1 first and y by 0 first would be a cycle.
    {"CrossedPairs", {{W(1), W(2)}, {W(2), W(1)}}, 6, 3},
};

class DfsCountTest : public testing::TestWithParam<Case> {};

TEST_P(DfsCountTest, DfsExploresEveryInterleavingOnce) {
  const Case& c = GetParam();
  const Searched searched = Search(c.program, [] { return Dfs(); });
  EXPECT_TRUE(searched.exhausted);
  EXPECT_EQ(searched.schedules.size(), c.dfs);
  EXPECT_EQ(searched.iterations, c.dfs);
  EXPECT_EQ(Distinct(searched.schedules), c.dfs);
}

TEST_P(DfsCountTest, DporExploresOneScheduleOfEveryClass) {
  const Case& c = GetParam();
  const Searched dpor = Search(c.program, [] { return Dpor(); });
  EXPECT_TRUE(dpor.exhausted);
  EXPECT_EQ(dpor.schedules.size(), c.dpor);
  // One schedule per class, and every class the full search reaches.
  EXPECT_EQ(Traces(c.program, dpor).size(), c.dpor);
  EXPECT_EQ(Traces(c.program, dpor), Traces(c.program, Search(c.program, [] { return Dfs(); })));
}

TEST_P(DfsCountTest, SearchStateSurvivesAMoveBetweenProcesses) {
  const Case& c = GetParam();
  EXPECT_EQ(Search(
                c.program, [] { return Dfs(); }, /*restart=*/true)
                .schedules,
            Search(c.program, [] { return Dfs(); }).schedules);
  EXPECT_EQ(Search(
                c.program, [] { return Dpor(); }, /*restart=*/true)
                .schedules,
            Search(c.program, [] { return Dpor(); }).schedules);
}

INSTANTIATE_TEST_SUITE_P(Programs, DfsCountTest, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(DfsStrategyTest, DporScalesWithClassesNotInterleavings) {
  // Two threads of 8 operations with one conflict: C(16, 8) = 12870
  // interleavings, 2 classes.
  Program program(2);
  program[0].push_back(W(1));
  program[1].push_back(W(1));
  for (uint32_t k = 0; k < 7; ++k) {
    program[0].push_back(W(10 + k));
    program[1].push_back(W(20 + k));
  }
  const Searched dpor = Search(program, [] { return Dpor(); });
  EXPECT_TRUE(dpor.exhausted);
  EXPECT_EQ(dpor.schedules.size(), 2u);
  EXPECT_EQ(Search(program, [] { return Dfs(); }).schedules.size(), 12870u);
}

TEST(DfsStrategyTest, DporReachesEveryClassOfRandomPrograms) {
  // 200 random programs of 2 or 3 threads with 1 to 4 reads or writes of 3
  // objects each: dpor must reach every class dfs does, once.
  uint64_t state = 7;
  auto next = [&state](uint32_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>((state >> 33) % n);
  };
  for (int trial = 0; trial < 200; ++trial) {
    Program program(2 + next(2));
    for (auto& thread : program) {
      const uint32_t ops = 1 + next(4);
      for (uint32_t k = 0; k < ops; ++k) {
        const uint32_t object = 1 + next(3);
        thread.push_back(next(2) == 0 ? R(object) : W(object));
      }
    }
    const Searched dfs = Search(program, [] { return Dfs(); });
    const Searched dpor = Search(program, [] { return Dpor(); });
    ASSERT_TRUE(dpor.exhausted);
    EXPECT_EQ(Traces(program, dpor), Traces(program, dfs)) << "trial " << trial;
    EXPECT_EQ(dpor.schedules.size(), Traces(program, dfs).size()) << "trial " << trial;
  }
}

TEST(DfsStrategyTest, PreemptionBoundCountsSwitchesAwayFromARunnableThread) {
  // Two threads of k = 3 operations; thread 0 runs first. 0 preemptions:
  // 000111. One: 0^i 1^3 0^(3-i) for i in 0..2. Unbounded: C(6, 3).
  const Program program = {{W(1), W(1), W(1)}, {W(1), W(1), W(1)}};
  EXPECT_EQ(Search(program, [] { return Dfs(0); }).schedules,
            (std::vector<std::vector<uint32_t>>{{0, 0, 0, 1, 1, 1}}));
  const Searched one = Search(program, [] { return Dfs(1); });
  EXPECT_TRUE(one.exhausted);
  EXPECT_EQ(one.schedules.size(), 4u);
  EXPECT_EQ(Search(program, [] { return Dfs(2); }).schedules.size(), 4u + 6u);
  EXPECT_EQ(Search(program, [] { return Dfs(100); }).schedules.size(), 20u);
}

TEST(DfsStrategyTest, ShardsExploreDisjointPartsThatTogetherAreTheWhole) {
  const Program program = {{W(1), W(2), W(1)}, {W(1), W(1)}, {W(2), R(1)}};
  const Searched whole = Search(program, [] { return Dfs(); });
  for (uint32_t count : {2u, 3u, 5u}) {
    std::vector<std::vector<uint32_t>> together;
    std::set<std::set<std::pair<EventId, EventId>>> dpor_traces;
    for (uint32_t index = 0; index < count; ++index) {
      const Searched part = Search(
          program, [&] { return DfsStrategy(Reduction::kNone, std::nullopt, index, count); });
      EXPECT_TRUE(part.exhausted);
      together.insert(together.end(), part.schedules.begin(), part.schedules.end());
      const Searched dpor = Search(
          program, [&] { return DfsStrategy(Reduction::kDpor, std::nullopt, index, count); });
      const auto traces = Traces(program, dpor);
      dpor_traces.insert(traces.begin(), traces.end());
    }
    std::sort(together.begin(), together.end());
    std::vector<std::vector<uint32_t>> all = whole.schedules;
    std::sort(all.begin(), all.end());
    EXPECT_EQ(together, all) << count << " shards";
    EXPECT_EQ(dpor_traces, Traces(program, whole)) << count << " shards";
  }
}

TEST(DfsStrategyTest, ADifferentEnabledSetOnTheSamePathIsADivergence) {
  DfsStrategy dfs = Dfs();
  const std::vector<PendingOp> pending = {W(1), W(1)};
  const std::vector<uint32_t> both = {0, 1};
  dfs.BeginIteration(0, 0);
  EXPECT_EQ(dfs.PickThread({both, pending, 0, 1}), 0u);
  EXPECT_EQ(dfs.PickThread({both, pending, 0, 2}), 0u);
  dfs.EndIteration(2);
  EXPECT_FALSE(dfs.Exhausted());
  dfs.BeginIteration(1, 0);
  const std::vector<uint32_t> only1 = {1};
  EXPECT_EQ(dfs.PickThread({only1, pending, 0, 1}), Strategy::kDiverged);
  EXPECT_NE(dfs.Divergence().find("did not repeat itself"), std::string::npos) << dfs.Divergence();
}

TEST(DfsStrategyTest, RestoreRejectsAnotherStrategysState) {
  DfsStrategy dfs = Dfs();
  EXPECT_FALSE(dfs.RestoreState("garbage"));
  EXPECT_FALSE(Dpor().RestoreState(dfs.SaveState()));
  EXPECT_FALSE(Dfs(2).RestoreState(dfs.SaveState()));
  EXPECT_TRUE(Dfs().RestoreState(dfs.SaveState()));
}

}  // namespace
}  // namespace lockstep
