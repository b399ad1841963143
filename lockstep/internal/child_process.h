// Running part of a run in a forked child process, watched by the parent.
//
// Whatever the code under test does in the child — crash on a signal,
// abort(), std::terminate, overflow a fiber stack, exit(), _exit(),
// quick_exit(), loop forever — the parent survives and learns how the child
// ended. The child writes what it finds into shared memory mapped before the
// fork (a ChildHeader followed by the caller's own area), so the parent has
// everything written up to the end. A watchdog kills a child whose progress
// counter stands still for too long. The child runs in a process group of
// its own, which is killed when it ends, so processes it forked do not
// outlive it; it dies with the parent.
#ifndef LOCKSTEP_INTERNAL_CHILD_PROCESS_H_
#define LOCKSTEP_INTERNAL_CHILD_PROCESS_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "lockstep/trace.pb.h"

namespace lockstep::internal {

// The start of the shared memory: what the child reports about itself.
struct ChildHeader {
  // Bumped by the child as it makes progress; the watchdog watches it.
  std::atomic<uint64_t> progress;
  // Set by the child's crash handler: the signal, the faulting address, the
  // logical thread running (kNoThread: an OS thread that is not one), and
  // that thread's stack bounds (for recognising a stack overflow).
  std::atomic<int> crash_signal;
  std::atomic<uintptr_t> crash_address;
  std::atomic<uint32_t> crash_thread;
  std::atomic<uintptr_t> crash_stack_bottom;
  std::atomic<uint64_t> crash_stack_size;
  // 1: exit() was called in the child; 2: quick_exit().
  std::atomic<int> exit_called;
  // The child returned from its function normally.
  std::atomic<int> returned;
  // A MISUSE found on a thread Lockstep cannot stop (see ReportChildMisuse).
  std::atomic<int> misuse;
  char misuse_message[2048];
};

// Shared, anonymous memory inherited by children forked later.
class SharedMemory {
 public:
  // `bytes` after the header; reserved lazily (MAP_NORESERVE).
  static absl::StatusOr<SharedMemory> Map(size_t bytes);
  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&&) = delete;
  ~SharedMemory();

  ChildHeader* header() const { return static_cast<ChildHeader*>(base_); }
  // The caller's area, after the header (64-byte aligned).
  char* area() const { return static_cast<char*>(base_) + kHeaderBytes; }
  size_t area_size() const { return size_ - kHeaderBytes; }

 private:
  static constexpr size_t kHeaderBytes = 4096;
  SharedMemory(void* base, size_t size) : base_(base), size_(size) {}
  void* base_;
  size_t size_;
};

// How a child ended.
struct ChildEnd {
  enum class Kind {
    kReturned,    // its function returned
    kCrashed,     // a signal (signal), or a sanitizer's report (sanitizer_report)
    kExited,      // exit(), _exit() or quick_exit() (status)
    kTimedOut,    // killed by the watchdog
    kMisuse,      // ended by ReportChildMisuse (misuse)
    kNotStarted,  // fork() failed (error)
  };
  Kind kind = Kind::kReturned;
  int signal = 0;
  int status = 0;
  std::string error;
  // The last lines the child wrote to stderr (which is forwarded as it comes).
  std::string output_tail;
  // When a sanitizer (ASan, UBSan, TSan, LSan) ended the child after a
  // report, which it does with _exit: the report's first line.
  std::string sanitizer_report;
  // What the child's header said, copied (the shared memory is reused).
  // kCrashed, when the crash handler ran: the logical thread running
  // (kNoThread: an OS thread that is not one), the faulting address, and
  // that thread's fiber stack (0, 0 if none).
  bool crash_noted = false;
  uint32_t crash_thread = 0;
  uintptr_t crash_address = 0;
  uintptr_t stack_bottom = 0;
  uint64_t stack_size = 0;
  // kExited: 1 exit(), 2 quick_exit(), 0 _exit().
  int exit_called = 0;
  // kMisuse: its message.
  std::string misuse;
};

// Forks; the child resets the header, installs its crash and exit handlers
// (on an alternate signal stack, so a stack overflow is caught too), makes
// every Controller count its steps in header->progress, runs `child` and
// _exit()s. The parent forwards the child's stderr, kills it when
// header->progress stands still for `watchdog`, and returns how it ended.
ChildEnd RunInChild(const SharedMemory& memory, const std::function<void()>& child,
                    std::chrono::milliseconds watchdog);

// In a child started by RunInChild: records `message` as a MISUSE and ends
// the child at once. For misuse on an OS thread Lockstep cannot stop.
// Returns (doing nothing) outside such a child.
void ReportChildMisuse(const std::string& message);

// "SIGSEGV (invalid memory access)", or with `stack_overflow`
// "SIGSEGV (stack overflow)".
std::string SignalDescription(int signal, bool stack_overflow = false);

// The last `max_lines` lines of a child's `output`, indented for a failure
// message.
std::string OutputTail(const std::string& output, int max_lines);

// The first line of a sanitizer's report (ASan, UBSan, TSan, LSan, MSan) in
// a child's `output`, or "". Sanitizers end a process with _exit after a
// report, so such an exit is really a crash.
std::string SanitizerReport(const std::string& output);

// A failed assert() prints "prog: file:line: function: Assertion `x' failed.";
// when `output` holds such a line, sets the failure's location from it.
void LocateAssert(const std::string& output, Failure* failure);

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_CHILD_PROCESS_H_
