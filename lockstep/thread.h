// Logical threads of a Lockstep run, and controlled choices.
#ifndef LOCKSTEP_THREAD_H_
#define LOCKSTEP_THREAD_H_

#include <cstdint>
#include <functional>
#include <source_location>
#include <string_view>

namespace lockstep {

// A handle to a spawned logical thread. Every spawned thread must be joined
// before the test body returns (otherwise the iteration fails with
// UNJOINED_THREADS); joining twice, or joining oneself, is a MISUSE failure.
class Thread {
 public:
  Thread() = default;

  // Waits until the thread finishes. A scheduling point.
  void join(std::source_location location = std::source_location::current());
  // The thread's id in the iteration (0 is the test body).
  uint32_t id() const { return id_; }
  bool valid() const { return id_ != kInvalid; }

 private:
  friend Thread spawn(std::function<void()>, std::string_view, std::source_location);
  static constexpr uint32_t kInvalid = 0xFFFFFFFFu;
  explicit Thread(uint32_t id) : id_(id) {}
  uint32_t id_ = kInvalid;
};

// Starts a logical thread running `fn`. A scheduling point; the new thread
// may run before spawn returns. `name` appears in traces and reports.
Thread spawn(std::function<void()> fn, std::string_view name = {},
             std::source_location location = std::source_location::current());

// Lets the strategy run another thread (a scheduling point that does
// nothing). Strategies treat a yield as "waiting for others" (PCT lowers the
// yielding thread's priority), so spin loops should yield.
void yield(std::source_location location = std::source_location::current());

// A nondeterministic value in [0, n) chosen by the strategy and reproduced by
// replay; n must be >= 1.
uint32_t choose(uint32_t n, std::source_location location = std::source_location::current());

// choose(2) == 1.
bool choose_bool(std::source_location location = std::source_location::current());

// The id of the calling logical thread.
uint32_t this_thread_id();

}  // namespace lockstep

#endif  // LOCKSTEP_THREAD_H_
