// lockstep::sync::barrier: std::barrier whose operations are scheduling
// points, for code that switches its sync namespace between std:: and
// lockstep::sync.
#ifndef LOCKSTEP_SYNC_BARRIER_H_
#define LOCKSTEP_SYNC_BARRIER_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

#include "lockstep/internal/controller.h"

namespace lockstep::sync {
namespace internal {

class BarrierBase;

// The completion function of a barrier<> without one.
struct NoCompletion {
  void operator()() const noexcept {}
};

// barrier<F>::arrival_token: the phase an arrival belongs to. Movable only;
// a moved-from token belongs to no barrier (waiting with it is MISUSE).
class BarrierToken {
 public:
  BarrierToken(BarrierToken&& other) noexcept
      : barrier_(std::exchange(other.barrier_, nullptr)), phase_(other.phase_) {}
  BarrierToken& operator=(BarrierToken&& other) noexcept {
    barrier_ = std::exchange(other.barrier_, nullptr);
    phase_ = other.phase_;
    return *this;
  }
  ~BarrierToken() = default;

 private:
  friend class BarrierBase;
  BarrierToken(const BarrierBase* barrier, uint64_t phase) : barrier_(barrier), phase_(phase) {}

  const BarrierBase* barrier_;
  uint64_t phase_;
};

// The logic of every barrier<F>; the completion function is Complete().
class BarrierBase : public ::lockstep::internal::ObjectBase {
 protected:
  BarrierBase(ptrdiff_t expected, std::source_location created_at);

  BarrierToken Arrive(ptrdiff_t update);
  void Wait(BarrierToken&& arrival) const;
  void ArriveAndWait();
  void ArriveAndDrop();

 private:
  // Runs the completion function (once per phase, in the last arriving
  // thread, before the waiters are released).
  virtual void Complete() = 0;

  std::string DescribeState(const ::lockstep::internal::Controller& controller) const override;
  void ResetState() override;
  // Checks and applies an arrival of `update` (dropping one participant for
  // the next phases with `drop`), completing the phase when it is the last.
  // Returns the phase arrived at, or nullopt when the iteration failed.
  std::optional<uint64_t> ArriveAt(::lockstep::internal::Controller& c, uint32_t id,
                                   ptrdiff_t update, bool drop, const char* op,
                                   std::source_location location);
  void CompletePhase(::lockstep::internal::Controller& c, uint32_t id,
                     std::source_location location);
  // Blocks until `phase` has completed (no scheduling point of its own).
  void WaitFor(::lockstep::internal::Controller& c, uint32_t id, uint64_t phase,
               std::source_location location) const;

  const ptrdiff_t initial_;
  ptrdiff_t expected_;       // arrivals the current phase expects in all
  ptrdiff_t pending_;        // arrivals the current phase still expects
  ptrdiff_t next_expected_;  // arrivals the next phases expect (after drops)
  uint64_t phase_ = 0;
  bool completing_ = false;  // the completion function is running
};

}  // namespace internal

// A reusable barrier, like std::barrier: each phase expects a number of
// arrivals; the last one runs the completion function (once per phase, in
// the arriving thread) and then releases every thread waiting for the
// phase, and the next phase begins. Every operation is a scheduling point,
// and waiters the missing arrivals never release are reported as a
// deadlock naming the phase and its count.
//
// Differences from std::barrier:
//  * What std leaves undefined fails the iteration as MISUSE: a negative
//    expected count, an update < 1, more arrivals than the phase has left,
//    an arrival while the completion function runs (from it, say), waiting
//    with a token that is not of this barrier's current or previous phase
//    (or was moved from), and a completion function that throws (std
//    requires it not to).
//  * The constructor is not constexpr; used outside a Lockstep run, every
//    operation throws lockstep::UsageError.
//  * A barrier that outlives an iteration (a fixture member, a global)
//    starts every iteration in phase 0 with its expected count again.
template <class CompletionFunction = internal::NoCompletion>
class barrier : public internal::BarrierBase {
  static_assert(std::is_invocable_v<CompletionFunction&>,
                "a barrier's completion function must be callable without arguments");

 public:
  // What arrive() returns and wait() takes: the phase arrived at.
  using arrival_token = internal::BarrierToken;

  static constexpr ptrdiff_t max() noexcept { return std::numeric_limits<ptrdiff_t>::max(); }

  explicit barrier(ptrdiff_t expected, CompletionFunction f = CompletionFunction(),
                   std::source_location created_at = std::source_location::current())
      : BarrierBase(expected, created_at), completion_(std::move(f)) {}
  ~barrier() override = default;
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  // Arrives `update` times (>= 1, at most what the phase has left) at the
  // current phase without waiting.
  [[nodiscard]] arrival_token arrive(ptrdiff_t update = 1) { return Arrive(update); }
  // Blocks until the phase `arrival` came from has completed.
  void wait(arrival_token&& arrival) const { Wait(std::move(arrival)); }
  // wait(arrive()), as one scheduling point.
  void arrive_and_wait() { ArriveAndWait(); }
  // Arrives once at the current phase and expects one arrival less in every
  // later phase.
  void arrive_and_drop() { ArriveAndDrop(); }

 private:
  void Complete() override { completion_(); }

  CompletionFunction completion_;
};

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_BARRIER_H_
