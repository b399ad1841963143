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

  // The iteration ended after `steps` scheduling steps.
  virtual void EndIteration(uint64_t /*steps*/) {}

  // The name and parameters of the current iteration, for the trace.
  virtual StrategyConfig Config() const = 0;

  // Replay only: why the last Pick* returned kDiverged, or why the iteration
  // ended before all recorded decisions were used. Empty otherwise.
  virtual std::string Divergence() const { return {}; }
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_STRATEGY_H_
