// The one interface every scheduling strategy implements.
//
// A strategy sees only scheduling facts: which threads are enabled, which ran
// last, the step number, and for each thread a coarse description of the
// operation it is about to perform (which object, read or write). It never
// sees primitives, and primitives never see it. All randomness comes from the
// seed handed to BeginIteration (see internal/prng.h), so the same seed and
// options give the same decisions on every platform.
#ifndef LOCKSTEP_STRATEGY_STRATEGY_H_
#define LOCKSTEP_STRATEGY_STRATEGY_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lockstep/trace.pb.h"

namespace lockstep {

// What a thread will do when it next runs.
struct PendingOp {
  enum class Kind : uint8_t {
    kStart,    // the thread has not run yet
    kRead,     // reads `object` (atomic load, try_recv on empty mailbox, ...)
    kWrite,    // modifies `object` (lock, unlock, store, send, ...)
    kYield,    // yield(): the thread asks to let others run
    kTimeout,  // the thread is blocked with a deadline; running it fires the timeout
  };
  Kind kind = Kind::kStart;
  uint32_t object = 0;  // 0: no shared object

  // Two pending operations conflict (their order can matter) when they touch
  // the same object and at least one writes. Timeouts conflict with writes to
  // the object waited on.
  bool ConflictsWith(const PendingOp& other) const {
    if (object == 0 || object != other.object) return false;
    return kind != Kind::kRead || other.kind != Kind::kRead;
  }
};

// The facts at one scheduling point.
struct SchedulingPoint {
  std::span<const uint32_t> enabled;   // thread ids, ascending, never empty
  std::span<const PendingOp> pending;  // indexed by thread id, all threads
  uint32_t current = 0;                // the thread that ran last
  uint64_t step = 0;                   // 1-based scheduling step
  // Changes whenever `enabled` may differ from the previous point's (equal
  // non-zero versions: the same enabled threads), so a strategy can keep
  // what it derived from the set instead of rescanning it. 0: unknown.
  uint64_t enabled_version = 0;
};

class Strategy {
 public:
  // Returned by Pick* when the strategy cannot follow the test (replay only).
  static constexpr uint32_t kDiverged = std::numeric_limits<uint32_t>::max();

  virtual ~Strategy() = default;

  // Starts iteration `iteration` (0-based) whose seed is `seed`.
  virtual void BeginIteration(uint64_t iteration, uint64_t seed) = 0;

  // Thread `thread` now exists (thread 0, the test body, is announced first).
  virtual void OnThreadCreated(uint32_t thread) = 0;

  // Chooses which enabled thread runs next; returns its id, one of
  // point.enabled (or kDiverged).
  virtual uint32_t PickThread(const SchedulingPoint& point) = 0;

  // Chooses a value in [0, n) for choose(n), n >= 1 (or kDiverged).
  virtual uint32_t PickValue(uint32_t n) = 0;

  // The thread picked at the last scheduling point executed `op`.
  virtual void OnExecuted(uint32_t /*thread*/, const PendingOp& /*op*/) {}

  // Thread `later`'s next operations happen after everything thread
  // `earlier` has executed so far: `earlier`'s operation woke `later`, or
  // `later` returns from joining `earlier`, which finished. (Operations on
  // one object are ordered by their conflicts already; this is the order
  // that conflicts do not show.)
  virtual void OnHappensBefore(uint32_t /*earlier*/, uint32_t /*later*/) {}

  // The iteration ended after `steps` scheduling steps.
  virtual void EndIteration(uint64_t /*steps*/) {}

  // The name and parameters of the current iteration, for the trace.
  virtual StrategyConfig Config() const = 0;

  // Replay only: why the last Pick* returned kDiverged, or why the iteration
  // ended before all recorded decisions were used. Empty otherwise.
  // Exhaustive strategies: why the test body did not repeat itself.
  virtual std::string Divergence() const { return {}; }

  // --- Exhaustive strategies (dfs, dpor) --------------------------------
  // Their iterations are not independent: each explores the next schedule of
  // a search over all of them, so a runner asks when the search is over.

  // True once the iteration that just ended was the last schedule left: the
  // run has explored them all. Sampling strategies: never.
  virtual bool Exhausted() const { return false; }
  // Iterations of the run so far that were cut short as redundant: they
  // would only have repeated a schedule already explored or still to come
  // (a partial-order reduction's sleep-set blocked executions).
  virtual uint64_t RedundantIterations() const { return 0; }
  // Whether the state kept across iterations is more than a function of the
  // seeds and step counts (BeginIteration/EndIteration): then a runner that
  // explores in a child process carries it back with SaveState and
  // RestoreState.
  virtual bool HasSearchState() const { return false; }
  virtual std::string SaveState() const { return {}; }
  // False when `state` was not made by SaveState of the same strategy.
  virtual bool RestoreState(std::string_view /*state*/) { return true; }
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_STRATEGY_H_
