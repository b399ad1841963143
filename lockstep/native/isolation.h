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

  // Child: appends what is new since the last call: the decisions, the
  // session's thread and object tables (`tables`), and when recording the
  // events of `trace`. Called before every hand-over of the baton and
  // before a thread leaves the model, so a crash loses nothing decided.
  void Flush(const internal::Controller& controller, const Trace& tables, const Trace* trace);
  // Child: the iteration's end (after a last Flush).
  void WriteOutcome(const NativeOutcome& outcome);
  // Child, after the outcome: an exhaustive strategy's search state
  // (Strategy::SaveState), for the parent's copy.
  void WriteSearchState(const std::string& state);
  // Child, from a signal handler: which signal killed it, in which thread.
  void NoteCrash(int signal, uint32_t thread, bool stack_overflow);

  // Child: catches the crash signals and notes them in `stream` (on an
  // alternate stack, see CrashStack) before dying of them.
  static void InstallCrashHandlers(ChildStream* stream);
  // A process forked by the code under test: crash signals take their
  // default action again and nothing more is noted in the stream.
  static void DetachCrashHandlers();

  struct Contents {
    std::vector<internal::DecisionRecord> decisions;
    Trace trace;            // threads, objects, events (when recording)
    bool finished = false;  // the outcome was written
    uint64_t steps = 0;
    uint64_t schedule_hash = 0;
    uint32_t quantum_expirations = 0;
    std::vector<uint64_t> conflict_pairs;  // new in the child's iteration
    std::optional<Failure> failure;
    StrategyConfig strategy_config;
    std::string search_state;  // WriteSearchState's
    int crash_signal = 0;
    uint32_t crash_thread = internal::kNoThread;
    bool stack_overflow = false;
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

// Parent, before forking a child whose iteration starts `threads` threads
// (the body's included). A process's first thread creations are its
// costliest: a stack is mapped, a malloc arena created, and the dynamic
// linker binds the functions thread start and exit call on their first
// call. A forked child would pay all of that again in every iteration, since
// nothing it does reaches the parent. Starting that many threads here at
// once (each allocating) and joining them, once per process, leaves glibc's
// stack cache and free arenas filled and those functions bound for every
// child forked after. Only glibc's caches change: no code under test runs.
void WarmThreadCaches(uint32_t threads);

// An alternate signal stack for the calling thread of the run (`thread`,
// its id) in an isolated child, so that a stack overflow still reaches the
// crash handler; released on destruction.
class CrashStack {
 public:
  explicit CrashStack(uint32_t thread);
  ~CrashStack();
  CrashStack(const CrashStack&) = delete;
  CrashStack& operator=(const CrashStack&) = delete;

 private:
  bool installed_ = false;
  void* mapped_ = nullptr;  // when not one of the stacks mapped in advance
};

}  // namespace lockstep::native_internal

#endif  // LOCKSTEP_NATIVE_ISOLATION_H_
