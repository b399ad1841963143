// Thread creation, join and detach.
#include <pthread.h>

#include <cstring>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;

int Session::ThreadCreate(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                          void* arg) {
  int detach_state = PTHREAD_CREATE_JOINABLE;
  if (attr != nullptr) pthread_attr_getdetachstate(attr, &detach_state);
  const bool detached = detach_state == PTHREAD_CREATE_DETACHED;
  Turn turn(*this, Write(0));
  if (!turn.modelled()) {
    turn.Leave();
    return CreateThread(thread, attr, start, arg);
  }
  Controller& c = *controller_;
  if (setup_.mode == NativeMode::kObserve) {
    Observe("thread.spawn", nullptr, "");
  } else {
    c.SchedulePoint(Write(0), std::source_location::current());
    if (c.aborting()) {
      HandleFailure();
      turn.Leave();
      return CreateThread(thread, attr, start, arg);
    }
  }
  const uint32_t id = c.SpawnThread("", detached);
  AddThread(id, turn.me());
  SlotOf(id).Reset();
  if (setup_.mode == NativeMode::kControl) Record("thread.spawn", 0, id);
  Start* s = new Start{start, arg, nullptr, id, epoch_};
  const int result = CreateThread(thread, attr, &Trampoline, s);
  if (result != 0) {
    delete s;
    c.RecordFailure(Failure::MISUSE, absl::StrCat("pthread_create failed: ", std::strerror(result)),
                    "", 0);
    HandleFailure();
    return result;
  }
  os_threads_.push_back(OsThread{*thread, id});
  // The new thread may run first: the parent has no other scheduling point
  // until its next interposed call.
  if (setup_.mode == NativeMode::kControl) {
    c.SchedulePoint(PendingOp{}, std::source_location::current());
    if (c.aborting()) HandleFailure();
  }
  return 0;
}

int Session::ThreadJoin(pthread_t thread, void** result) {
  Turn turn(*this, Read(0));
  uint32_t id = kNoThread;
  for (const OsThread& t : os_threads_) {
    if (pthread_equal(t.handle, thread)) id = t.id;
  }
  if (turn.modelled() && id != kNoThread) {
    if (setup_.mode == NativeMode::kObserve) {
      Observe("thread.join", nullptr, "");
    } else {
      controller_->Join(id, std::source_location::current());
      if (controller_->aborting()) HandleFailure();
    }
  }
  // The thread has finished in the model; the OS thread is on its way out.
  turn.Leave();
  return JoinThread(thread, result);
}

void Session::ThreadExitCall() {
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) return;
  if (setup_.mode == NativeMode::kObserve) {
    Observe("thread.pthread_exit", nullptr, "");
    return;
  }
  controller_->SchedulePoint(PendingOp{}, std::source_location::current());
  if (controller_->aborting()) {
    HandleFailure();
    return;
  }
  Record("thread.pthread_exit", 0);
}

int Session::ThreadDetach(pthread_t thread) {
  Turn turn(*this, Write(0));
  if (turn.modelled()) {
    for (const OsThread& t : os_threads_) {
      if (pthread_equal(t.handle, thread)) controller_->SetDetached(t.id);
    }
  }
  turn.Leave();
  return Real().pthread_detach(thread);
}

}  // namespace lockstep::native_internal
