// fork() and the process exits.
#include <sys/types.h>

#include "lockstep/native/isolation.h"
#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;

pid_t Session::Fork() {
  Turn turn(*this, Write(0));
  if (turn.modelled()) {
    if (setup_.mode == NativeMode::kObserve) {
      Observe("process.fork", nullptr, "");
    } else {
      controller_->SchedulePoint(Write(0), std::source_location::current());
      if (controller_->aborting()) {
        HandleFailure();
      } else {
        Record("process.fork", 0, std::nullopt, "the new process runs outside the model");
      }
    }
  }
  turn.Leave();
  return Real().fork();
}

void Session::DetachForkedProcess() {
  // Only the forking thread exists here; the session's lock may have been
  // held by another: nothing of the session is touched again.
  __atomic_store_n(&g_active_epoch, 0, __ATOMIC_RELEASE);
  t_binding = Binding{};
  ChildStream::DetachCrashHandlers();
}

void Session::ProcessExit(const char* call, int status) {
  lock_.lock();
  ++inside_;
  if (t_binding.epoch == epoch_ && !released_ && controller_ != nullptr) {
    Controller& c = *controller_;
    const uint32_t me = t_binding.id;
    c.set_current(me);
    c.RecordFailure(Failure::EXIT,
                    absl::StrCat(call, "(", status, ") in ", c.ThreadLabel(me),
                                 ": the process would end in the middle of the iteration"),
                    "", 0);
    HandleFailure();  // an isolated child ends here
    if (!released_) Release();
  }
  --inside_;
  lock_.unlock();
  // In-process: ending the process would end the test before it reports;
  // this thread stays here instead (as a deadlocked one would).
  Signal never;
  while (true) never.Wait();
}

}  // namespace lockstep::native_internal
