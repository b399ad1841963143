// Per-iteration process isolation: the stream a forked child writes its
// decisions, trace and outcome into as it goes (shared memory, so the parent
// has everything written up to a crash), and the parent's reading of it.
#ifndef LOCKSTEP_NATIVE_ISOLATION_H_
#define LOCKSTEP_NATIVE_ISOLATION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "lockstep/internal/controller.h"
#include "lockstep/trace.pb.h"

namespace lockstep::native_internal {

struct NativeOutcome;

class ChildStream {
 public:
  // Maps `capacity` bytes shared with children forked later.
  static absl::StatusOr<ChildStream*> Create(size_t capacity);
  ~ChildStream();

  // Parent, before each fork: empties the stream.
  void Reset();

  // Child: appends what is new since the last call (decisions, and when
  // recording, threads, objects and events).
  void Flush(const internal::Controller& controller, const Trace* trace);
  // Child: the iteration's end (after a last Flush).
  void WriteOutcome(const NativeOutcome& outcome);
  // Child, from a signal handler: which signal killed it, in which thread.
  void NoteCrash(int signal, uint32_t thread);

  struct Contents {
    std::vector<internal::DecisionRecord> decisions;
    Trace trace;            // threads, objects, events (when recording)
    bool finished = false;  // the outcome was written
    uint64_t steps = 0;
    uint64_t schedule_hash = 0;
    uint32_t quantum_expirations = 0;
    std::optional<Failure> failure;
    StrategyConfig strategy_config;
    int crash_signal = 0;
    uint32_t crash_thread = internal::kNoThread;
    bool overflowed = false;
  };
  // Parent, after the child exited.
  Contents Read() const;

 private:
  struct Header;
  ChildStream(Header* header, size_t capacity) : header_(header), capacity_(capacity) {}
  void Append(uint32_t tag, const void* data, uint32_t size);
  void AppendMessage(uint32_t tag, const google::protobuf::MessageLite& message);

  Header* header_;
  size_t capacity_;
  // Child-side progress of Flush.
  size_t decisions_ = 0;
  int threads_ = 0;
  int objects_ = 0;
  int events_ = 0;
};

}  // namespace lockstep::native_internal

#endif  // LOCKSTEP_NATIVE_ISOLATION_H_
