// pthread_once, which std::call_once is built on: the first thread of the
// run to get there runs the real pthread_once (and so the init function,
// with the baton); the others wait for it in the model. An init that
// throws leaves the once control unused, as glibc does, and wakes them.
#include <pthread.h>

#include <exception>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;
using internal::WakeReason;

int Session::Once(pthread_once_t* once, void (*init)()) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, once, "once", "once", PendingOp::Kind::kWrite);
  if (model == nullptr) return real.pthread_once(once, init);
  // The model's state: `owner` runs the init function; `depth` is 1 once it
  // has returned in this iteration.
  NativeObject& object = *model;
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  while (object.owner != kNoThread) {
    if (c.Block(object, "once.wait", Write(id), std::source_location::current()) ==
        WakeReason::kAborted) {
      HandleFailure();
      turn.Leave();
      return real.pthread_once(once, init);
    }
  }
  if (object.depth == 1) {
    Record("once", id, 0, "already done");
    turn.Leave();
    return real.pthread_once(once, init);  // returns at once
  }
  object.owner = turn.me();
  Record("once.begin", id);
  turn.Leave();

  // Back in the model when pthread_once returns or init throws.
  struct Finish {
    Session& s;
    const pthread_once_t* once;
    int exceptions = std::uncaught_exceptions();
    ~Finish() {
      Turn turn(s, PendingOp{});
      if (!turn.modelled()) return;
      const bool thrown = std::uncaught_exceptions() > exceptions;
      NativeObject& object = s.Object(once, "once");
      object.owner = kNoThread;
      object.depth = thrown ? 0 : 1;
      s.controller_->WakeAll(object);
      s.Record("once.end", object.IdIn(*s.controller_), std::nullopt,
               thrown ? "the init function threw" : "");
    }
  } finish{*this, once};
  return real.pthread_once(once, init);
}

}  // namespace lockstep::native_internal
