// The watchdog: quantum expirations and TIMEOUT failures of a native run.
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <ucontext.h>

#include <atomic>
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "lockstep/internal/locate.h"
#include "lockstep/native/session.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;
using internal::LocateFrames;

namespace {

// The watchdog's backtrace of a thread of the run (Session::Sample).
struct SampleSlot {
  std::atomic<int> done{0};
  int count = 0;
  void* frames[48];
  void* pc = nullptr;  // the interrupted instruction (null: unknown)
};
SampleSlot g_sample;

// The instruction the signal interrupted, from its context (null: unknown).
void* InterruptedPc(void* context) {
#if defined(__x86_64__)
  return reinterpret_cast<void*>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return reinterpret_cast<void*>(static_cast<ucontext_t*>(context)->uc_mcontext.pc);
#else
  (void)context;
  return nullptr;
#endif
}

void OnSample(int, siginfo_t*, void* context) {
  const PassThrough pass_through;
  const int saved = errno;
  g_sample.pc = InterruptedPc(context);
  g_sample.count = backtrace(g_sample.frames, 48);
  g_sample.done.store(1, std::memory_order_release);
  errno = saved;
}

// Where the interrupted thread's own frames start in the sample: at the
// interrupted instruction (the frames above it are the handler's and the
// signal trampoline's, usually two, but a sanitizer or the unwinder may
// add one). A frame found there is a pc, not a return address, so it is
// located as is: taking it for a return address would name the byte before
// it, outside the function when the signal came at its first instruction.
int FirstInterruptedFrame() {
  for (int i = 0; i < g_sample.count; ++i) {
    if (g_sample.pc != nullptr && g_sample.frames[i] == g_sample.pc) return i;
  }
  return 2;
}

}  // namespace

void Session::Watch() {
  const uint64_t quantum_ns = static_cast<uint64_t>(setup_.resume_quantum_us) * 1000;
  const timespec tick = NsToTimespec(quantum_ns);
  const auto watchdog = setup_.watchdog;
  uint64_t last_progress = ~0ull;
  auto last_change = std::chrono::steady_clock::now();
  while (!done_.WaitFor(tick)) {
    lock_.lock();
    if (released_) {
      lock_.unlock();
      break;
    }
    Controller& c = *controller_;
    const auto now = std::chrono::steady_clock::now();
    if (progress_ != last_progress) {
      last_progress = progress_;
      last_change = now;
    } else if (setup_.mode == NativeMode::kControl && c.current_thread() != kNoThread &&
               holder_running_ && !c.aborting()) {
      // The baton holder reached no interposed call for a whole quantum.
      const uint32_t holder = c.current_thread();
      const uint32_t outside_before = c.outside_count();
      const uint32_t next = c.ExpireQuantum();
      if (c.outside_count() > outside_before) {
        ++expirations_;  // as many as the trace's quantum.expired events
        if (outside_.size() <= holder) outside_.resize(holder + 1);
        outside_[holder] = 1;
      }
      Pass(next);
    }
    if (!c.aborting() && now - last_change >= watchdog) ReportTimeout();
    if (c.aborting()) HandleFailure();
    lock_.unlock();
  }
}

void Session::ReportTimeout() {
  Controller& c = *controller_;
  // Control mode: the thread that stopped reaching interposed calls is one
  // whose quantum expired and that never came back. Observe mode: the last
  // thread that made a call.
  uint32_t stuck = kNoThread;
  if (setup_.mode == NativeMode::kControl) {
    for (uint32_t t = 0; t < outside_.size() && stuck == kNoThread; ++t) {
      if (outside_[t] != 0 && !c.Finished(t)) stuck = t;
    }
  }
  if (stuck == kNoThread) stuck = c.current_thread();
  if (stuck == kNoThread) stuck = 0;
  SourceLocation where;
  const bool located = !c.Finished(stuck) && Sample(stuck, &where);
  c.RecordFailure(Failure::TIMEOUT, TimeoutMessage(stuck), "", 0);
  std::optional<Failure>& failure = c.failure();
  if (!failure || failure->kind() != Failure::TIMEOUT) return;
  failure->set_thread(stuck);
  if (located) {
    *failure->mutable_location() = where;
    absl::StrAppend(failure->mutable_message(), "\n  ", c.ThreadLabel(stuck), " is now at ",
                    where.function(), " (", where.file(), ")");
  }
}

std::string Session::TimeoutMessage(uint32_t stuck) const {
  std::string message =
      absl::StrCat("no interposed call for ", setup_.watchdog.count(), " ms (the watchdog): ");
  if (setup_.mode == NativeMode::kControl) {
    absl::StrAppend(&message, controller_->ThreadLabel(stuck),
                    " stopped reaching interposed calls: it spins without end, or is blocked in "
                    "a call Lockstep does not model");
    for (uint32_t t = 0; t < outside_.size(); ++t) {
      if (t == stuck || outside_[t] == 0 || controller_->Finished(t)) continue;
      absl::StrAppend(&message, "\n  ", controller_->ThreadLabel(t),
                      " also runs outside the model (its quantum expired)");
    }
    return message;
  }
  absl::StrAppend(&message, "the threads are hung (a deadlock?)");
  for (size_t t = 0; t < last_call_.size(); ++t) {
    if (last_call_[t].empty() || controller_->Finished(static_cast<uint32_t>(t))) continue;
    absl::StrAppend(&message, "\n  ", controller_->ThreadLabel(static_cast<uint32_t>(t)),
                    ": last call ", last_call_[t]);
  }
  return message;
}

bool Session::Sample(uint32_t id, SourceLocation* out) {
  const pthread_t* handle = nullptr;
  for (const OsThread& t : os_threads_) {
    if (t.id == id) handle = &t.handle;
  }
  if (handle == nullptr) return false;
  // SIGURG is ignored by default: if the thread has it blocked and takes it
  // after the old handler is back, nothing happens.
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_sigaction = &OnSample;
  action.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGURG, &action, &previous) != 0) return false;
  g_sample.done.store(0, std::memory_order_relaxed);
  bool answered = false;
  if (pthread_kill(*handle, SIGURG) == 0) {
    const timespec millisecond{0, 1000000};
    for (int i = 0; i < 200 && !answered; ++i) {
      answered = g_sample.done.load(std::memory_order_acquire) != 0;
      if (!answered) Real().nanosleep(&millisecond, nullptr);
    }
  }
  sigaction(SIGURG, &previous, nullptr);
  if (!answered) return false;
  const int first = FirstInterruptedFrame();
  return g_sample.count > first && LocateFrames(g_sample.frames + first, g_sample.count - first,
                                                /*first_is_pc=*/true, out);
}

}  // namespace lockstep::native_internal
