// DfsStrategy: exhaustive exploration. Iteration after iteration it walks the
// tree of every schedule of the test depth first, and says when it has seen
// them all (Exhausted): a run that gets there without a failure has verified
// the test for every schedule, instead of sampling some.
//
// What it does: the decisions of the last iteration are a path in the tree
// (a thread to run at each scheduling point, a value at each choose(n)).
// The next iteration replays that path up to its deepest point with an
// alternative left, takes the alternative, and from there on takes the
// default at every new point: the thread that ran last if it can still run
// and did not yield, otherwise the next enabled thread after it in id order
// (so a thread spinning on yield() lets the others run). A test body must
// behave the same under the same decisions; where it does not (the enabled
// threads differ from the last time at that point), the iteration fails with
// NONDETERMINISM.
//
// Two searches:
//  * kNone ("dfs"): every schedule. Optionally bounded by a number of
//    preemptions, as CHESS does (Musuvathi and Qadeer, PLDI'07): a
//    preemption is running another thread while the one that ran last could
//    go on (after a yield, going on is the preemption). Bugs that need few
//    preemptions are the common case, and the bounded search is polynomial
//    in the number of steps instead of exponential.
//  * kDpor ("dpor"): dynamic partial-order reduction, source sets with sleep
//    sets (Abdulla, Aronis, Jonsson and Sagonas, "Optimal dynamic partial
//    order reduction", POPL'14, Algorithm 1). Two schedules that order only
//    independent operations differently (PendingOp::ConflictsWith: another
//    object, or two reads) are equivalent: they reach the same state. dpor
//    explores at least one schedule of every equivalence class (Mazurkiewicz
//    trace) and never completes two of the same class; an execution that
//    could only repeat one is cut short (RedundantIterations). Happens-before
//    is program order, spawn, the conflicts between executed operations, and
//    OnHappensBefore (wake-ups, joins).
//
// choose(n) decisions are explored for every value by both.
//
// Shards: with a shard count above one, the first decisions with a choice
// are explored in full by every shard (without reduction) and the subtrees
// below them dealt out among the shards by a hash of the path, so the shards
// explore disjoint parts of the tree without talking to each other.
//
// The search state (the path, with each point's alternatives, and for dpor
// its backtrack and sleep sets) is kept across iterations (HasSearchState).
// choose() and the seed are not random: `seed` is ignored.
#ifndef LOCKSTEP_STRATEGY_DFS_H_
#define LOCKSTEP_STRATEGY_DFS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lockstep/strategy/strategy.h"

namespace lockstep {

class DfsStrategy final : public Strategy {
 public:
  enum class Reduction { kNone, kDpor };

  // `preemption_bound`: kNone only (nullopt: unbounded). `shard_index` of
  // `shard_count` (>= 1).
  DfsStrategy(Reduction reduction, std::optional<uint32_t> preemption_bound,
              uint32_t shard_index = 0, uint32_t shard_count = 1);

  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  void OnThreadCreated(uint32_t thread) override;
  uint32_t PickThread(const SchedulingPoint& point) override;
  uint32_t PickValue(uint32_t n) override;
  void OnHappensBefore(uint32_t earlier, uint32_t later) override;
  // Moves to the next schedule (or finds there is none).
  void EndIteration(uint64_t steps) override;
  // name "dfs" (with preemption_bound when bounded) or "dpor".
  StrategyConfig Config() const override;
  std::string Divergence() const override { return divergence_; }
  bool Exhausted() const override { return exhausted_; }
  uint64_t RedundantIterations() const override { return redundant_; }
  bool HasSearchState() const override { return true; }
  std::string SaveState() const override;
  bool RestoreState(std::string_view state) override;

 private:
  struct Sleeper {
    uint32_t thread;
    PendingOp op;
  };
  // One decision of the current path.
  struct Node {
    bool is_value = false;            // a choose(n), not a thread
    uint32_t chosen = 0;              // the thread or value taken on the path
    uint32_t options = 0;             // choose: n
    uint32_t current = 0;             // the thread that ran last
    uint32_t preemptions = 0;         // on the path before this point
    uint32_t branch = 0;              // decisions with a choice on the path before this one
    std::vector<uint32_t> enabled;    // ascending
    std::vector<PendingOp> ops;       // of each enabled thread
    std::vector<uint32_t> done;       // taken before `chosen` (threads)
    std::vector<uint32_t> backtrack;  // dpor: threads to take here
    std::vector<Sleeper> sleep;       // dpor: threads not to take here
  };
  // An executed operation (dpor).
  struct Event {
    uint32_t thread;
    PendingOp op;
    uint32_t seq;   // its thread's seq-th event
    uint32_t node;  // the decision that ran it
    std::vector<uint32_t> clock;
  };

  bool Dpor() const { return reduction_ == Reduction::kDpor; }
  uint32_t Diverge(std::string why);
  // The default thread at a new point, or nullopt when every enabled thread
  // sleeps.
  std::optional<uint32_t> Default(const Node& node, bool ignore_sleep) const;
  // The preemptions taking `thread` at `node` costs (0 or 1).
  uint32_t Cost(const Node& node, uint32_t thread) const;
  bool Asleep(const Node& node, uint32_t thread) const;
  bool Owned(const Node& node, uint32_t choice) const;
  // The next alternative to take at `node`, if any.
  std::optional<uint32_t> NextAlternative(const Node& node) const;
  // After `node`'s choice: the sleep set of the next point, and (dpor) the
  // executed event with its races.
  void Took(uint32_t depth, const SchedulingPoint& point);
  void Execute(uint32_t thread, PendingOp op, uint32_t node);
  void Race(size_t earlier, uint32_t thread, const std::vector<uint32_t>& clock);

  const Reduction reduction_;
  const std::optional<uint32_t> preemption_bound_;
  const uint32_t shard_index_;
  const uint32_t shard_count_;
  // Decisions with a choice explored in full before shards split.
  const uint32_t split_depth_;

  std::vector<Node> path_;
  uint32_t depth_ = 0;          // decisions taken this iteration
  bool redundant_now_ = false;  // this iteration is cut short (all asleep)
  bool exhausted_ = false;
  uint64_t redundant_ = 0;
  std::string divergence_;
  std::vector<Sleeper> next_sleep_;
  uint32_t last_picked_ = 0;

  // dpor, this iteration: events, each thread's vector clock, and the
  // events on each object.
  std::vector<Event> events_;
  std::vector<std::vector<uint32_t>> clocks_;
  std::vector<std::vector<uint32_t>> by_object_;
  std::vector<uint32_t> timeouts_;
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_DFS_H_
