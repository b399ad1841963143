#include "lockstep/strategy/replay.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/strategy/random.h"
#include "lockstep/trace.pb.h"

namespace lockstep {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uint32_t kDiverged = Strategy::kDiverged;

// A deterministic synthetic "test body": the enabled set depends on the step,
// and every fourth step calls choose(3). It records what the strategy
// returned, and, when `trace` is set, appends the decisions to it.
std::vector<uint32_t> RunBody(Strategy& strategy, uint64_t seed, Trace* trace) {
  strategy.BeginIteration(0, seed);
  for (uint32_t t = 0; t < 4; ++t) strategy.OnThreadCreated(t);
  const std::vector<PendingOp> pending(4);
  std::vector<uint32_t> enabled;
  std::vector<uint32_t> out;
  uint32_t current = 0;
  uint64_t step = 1;
  for (; step <= 30; ++step) {
    enabled.clear();
    for (uint32_t t = 0; t < 4; ++t) {
      if ((step + t) % 3 != 0) enabled.push_back(t);
    }
    current = strategy.PickThread({enabled, pending, current, step});
    out.push_back(current);
    if (trace != nullptr) {
      Decision* d = trace->add_decisions();
      d->set_kind(Decision::SCHEDULE);
      d->set_value(current);
      d->set_options(static_cast<uint32_t>(enabled.size()));
    }
    if (step % 4 == 0) {
      const uint32_t v = strategy.PickValue(3);
      out.push_back(100 + v);
      if (trace != nullptr) {
        Decision* d = trace->add_decisions();
        d->set_kind(Decision::CHOOSE);
        d->set_value(v);
        d->set_options(3);
      }
    }
  }
  strategy.EndIteration(step - 1);
  return out;
}

Trace MakeTrace(std::vector<Decision> decisions) {
  Trace trace;
  trace.mutable_strategy()->set_name("pct");
  trace.mutable_strategy()->set_pct_depth(3);
  for (const Decision& d : decisions) *trace.add_decisions() = d;
  return trace;
}

Decision Schedule(uint32_t thread, uint32_t options) {
  Decision d;
  d.set_kind(Decision::SCHEDULE);
  d.set_value(thread);
  d.set_options(options);
  return d;
}

Decision Choose(uint32_t value, uint32_t options) {
  Decision d;
  d.set_kind(Decision::CHOOSE);
  d.set_value(value);
  d.set_options(options);
  return d;
}

const std::vector<uint32_t> kEnabled01 = {0, 1};
const std::vector<uint32_t> kEnabled012 = {0, 1, 2};
const std::vector<uint32_t> kEnabled02 = {0, 2};
const std::vector<PendingOp> kPending(3);

TEST(ReplayStrategyTest, ReproducesARecordedIteration) {
  RandomStrategy random;
  Trace trace;
  trace.mutable_strategy()->set_name("random");
  const std::vector<uint32_t> recorded = RunBody(random, 5, &trace);

  // The trace need not outlive the strategy.
  auto replay = std::make_unique<ReplayStrategy>(Trace(trace));
  trace.Clear();
  EXPECT_EQ(RunBody(*replay, /*seed=*/999, nullptr), recorded);
  EXPECT_EQ(replay->Divergence(), "");
  EXPECT_EQ(replay->consumed(), replay->size());
  // A second iteration starts from the first decision again.
  EXPECT_EQ(RunBody(*replay, 1, nullptr), recorded);
  EXPECT_EQ(replay->Divergence(), "");
  EXPECT_EQ(replay->Config().name(), "random");
}

TEST(ReplayStrategyTest, ConfigIsTheTracesConfig) {
  Trace trace = MakeTrace({});
  trace.mutable_strategy()->set_spurious_wakeups(true);
  ReplayStrategy replay(trace);
  EXPECT_EQ(replay.Config().name(), "pct");
  EXPECT_EQ(replay.Config().pct_depth(), 3u);
  EXPECT_TRUE(replay.Config().spurious_wakeups());
}

TEST(ReplayStrategyTest, RecordedThreadNotEnabled) {
  ReplayStrategy replay(MakeTrace({Schedule(0, 2), Schedule(2, 2)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), 0u);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 2}), kDiverged);
  EXPECT_THAT(replay.Divergence(),
              AllOf(HasSubstr("step 2"), HasSubstr("decision 2 of 2"),
                    HasSubstr("SCHEDULE thread 2 of 2 enabled threads"),
                    HasSubstr("enabled threads {0, 1}"), HasSubstr("nondeterministic")));
}

TEST(ReplayStrategyTest, DifferentNumberOfEnabledThreads) {
  ReplayStrategy replay(MakeTrace({Schedule(1, 3)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 7}), kDiverged);
  EXPECT_THAT(replay.Divergence(), AllOf(HasSubstr("step 7"), HasSubstr("decision 1 of 1"),
                                         HasSubstr("SCHEDULE thread 1 of 3 enabled threads"),
                                         HasSubstr("enabled threads {0, 1}")));
}

TEST(ReplayStrategyTest, ScheduleWhereTheTraceHasAChoice) {
  ReplayStrategy replay(MakeTrace({Schedule(2, 3), Choose(1, 3), Schedule(0, 3)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled012, kPending, 0, 1}), 2u);
  EXPECT_EQ(replay.PickThread({kEnabled012, kPending, 2, 2}), kDiverged);
  EXPECT_THAT(replay.Divergence(),
              AllOf(HasSubstr("step 2"), HasSubstr("decision 2 of 3"),
                    HasSubstr("CHOOSE value 1 of choose(3)"),
                    HasSubstr("reached a scheduling point with enabled threads {0, 1, 2}")));
}

TEST(ReplayStrategyTest, ChoiceWithDifferentRange) {
  ReplayStrategy replay(MakeTrace({Schedule(1, 2), Choose(3, 4)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 4}), 1u);
  EXPECT_EQ(replay.PickValue(3), kDiverged);
  EXPECT_THAT(replay.Divergence(),
              AllOf(HasSubstr("step 4"), HasSubstr("decision 2 of 2"),
                    HasSubstr("CHOOSE value 3 of choose(4)"), HasSubstr("asked choose(3)")));
}

TEST(ReplayStrategyTest, ChoiceWhereTheTraceHasASchedule) {
  ReplayStrategy replay(MakeTrace({Schedule(1, 2)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickValue(2), kDiverged);
  EXPECT_THAT(replay.Divergence(),
              AllOf(HasSubstr("step 0"), HasSubstr("decision 1 of 1"),
                    HasSubstr("SCHEDULE thread 1 of 2"), HasSubstr("asked choose(2)")));
}

TEST(ReplayStrategyTest, CorruptChoiceValueDiverges) {
  ReplayStrategy replay(MakeTrace({Choose(5, 3)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickValue(3), kDiverged);
  EXPECT_THAT(replay.Divergence(), HasSubstr("CHOOSE value 5 of choose(3)"));
}

TEST(ReplayStrategyTest, UnspecifiedKindDiverges) {
  ReplayStrategy replay(MakeTrace({Decision()}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), kDiverged);
  EXPECT_THAT(replay.Divergence(), HasSubstr("invalid decision (kind 0"));
}

TEST(ReplayStrategyTest, MoreDecisionsThanTheTraceHolds) {
  ReplayStrategy replay(MakeTrace({Schedule(0, 2), Choose(0, 2)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), 0u);
  EXPECT_EQ(replay.PickValue(2), 0u);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 2}), kDiverged);
  EXPECT_THAT(
      replay.Divergence(),
      AllOf(HasSubstr("step 2"), HasSubstr("the test made more decisions than the trace holds (2)"),
            HasSubstr("enabled threads {0, 1}"), HasSubstr("nondeterministic")));
  // Also for a choice.
  replay.BeginIteration(0, 1);
  replay.PickThread({kEnabled01, kPending, 0, 1});
  replay.PickValue(2);
  EXPECT_EQ(replay.PickValue(2), kDiverged);
  EXPECT_THAT(replay.Divergence(), AllOf(HasSubstr("more decisions than the trace holds (2)"),
                                         HasSubstr("asked choose(2)")));
}

TEST(ReplayStrategyTest, FinishedBeforeUsingAllDecisions) {
  ReplayStrategy replay(MakeTrace({Schedule(0, 2), Schedule(1, 2), Schedule(1, 2)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), 0u);
  EXPECT_EQ(replay.Divergence(), "");
  replay.EndIteration(1);
  EXPECT_THAT(replay.Divergence(),
              AllOf(HasSubstr("the test finished after 1 of the trace's 3 decisions"),
                    HasSubstr("step 1"), HasSubstr("nondeterministic")));
}

TEST(ReplayStrategyTest, FirstDivergenceSticks) {
  ReplayStrategy replay(MakeTrace({Schedule(2, 3), Schedule(0, 2)}));
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), kDiverged);
  const std::string first = replay.Divergence();
  // Even a call that would match the next decision stays diverged.
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 2}), kDiverged);
  EXPECT_EQ(replay.PickValue(2), kDiverged);
  replay.EndIteration(2);
  EXPECT_EQ(replay.Divergence(), first);
  // A new iteration starts clean.
  replay.BeginIteration(1, 1);
  EXPECT_EQ(replay.Divergence(), "");
  EXPECT_EQ(replay.PickThread({kEnabled012, kPending, 0, 1}), 2u);
}

// Tolerant mode (regression traces): where the code stops fitting the
// trace, it goes on without preemptions, and nothing diverges.
TEST(ReplayStrategyTest, TolerantModeGoesOnWithoutPreemptionsWhereTheCodeChanged) {
  ReplayStrategy replay(MakeTrace({Schedule(1, 2), Choose(1, 3)}), /*tolerant=*/true);
  replay.BeginIteration(0, 1);
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), 1u);  // as recorded
  EXPECT_FALSE(replay.diverged());
  EXPECT_EQ(replay.PickValue(4), 0u);  // choose(4), recorded choose(3): off the trace
  EXPECT_TRUE(replay.diverged());
  EXPECT_EQ(replay.PickThread({kEnabled012, kPending, 1, 3}), 1u);  // the running thread
  EXPECT_EQ(replay.PickThread({kEnabled02, kPending, 1, 4}), 0u);   // it blocked: lowest
  replay.EndIteration(4);
  EXPECT_EQ(replay.Divergence(), "");

  // Running past the trace's end, or ending before it, is no divergence.
  replay.BeginIteration(0, 1);
  EXPECT_FALSE(replay.diverged());
  EXPECT_EQ(replay.PickThread({kEnabled01, kPending, 0, 1}), 1u);
  replay.EndIteration(1);
  EXPECT_TRUE(replay.diverged());
  EXPECT_EQ(replay.Divergence(), "");
}

}  // namespace
}  // namespace lockstep
