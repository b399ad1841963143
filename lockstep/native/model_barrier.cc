// pthread barriers, modelled entirely: the threads of the run never wait on
// the real barrier (a released thread would block on it for good), so the
// model keeps each barrier's count, given to pthread_barrier_init, and its
// arrivals. The last thread to arrive opens it, and the ones it wakes may
// run before it goes on.
#include <pthread.h>

#include <unordered_map>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::WakeReason;

namespace {

// Barrier address -> count: barriers are initialized in or outside runs.
FutexMutex g_counts_mutex;
std::unordered_map<const void*, unsigned>& Counts() {
  static auto* counts = new std::unordered_map<const void*, unsigned>();
  return *counts;
}

unsigned CountOf(const pthread_barrier_t* barrier) {
  std::lock_guard<FutexMutex> lock(g_counts_mutex);
  auto it = Counts().find(barrier);
  return it == Counts().end() ? 0 : it->second;
}

}  // namespace

void Session::NoteBarrier(const pthread_barrier_t* barrier, unsigned count) {
  std::lock_guard<FutexMutex> lock(g_counts_mutex);
  Counts()[barrier] = count;
}

void Session::ForgetBarrier(const pthread_barrier_t* barrier) {
  std::lock_guard<FutexMutex> lock(g_counts_mutex);
  Counts().erase(barrier);
}

int Session::BarrierWait(pthread_barrier_t* barrier) {
  const unsigned count = CountOf(barrier);
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, barrier, "barrier", "barrier.wait", PendingOp::Kind::kWrite);
  // A barrier whose pthread_barrier_init Lockstep did not see: not modelled.
  if (model == nullptr || count == 0) {
    turn.Leave();
    return Real().pthread_barrier_wait(barrier);
  }
  // The model's state: `readers` threads arrived in this round, `depth`
  // rounds opened.
  NativeObject& object = *model;
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (++object.readers < count) {
    const uint32_t round = object.depth;
    while (object.depth == round) {
      if (c.Block(object, "barrier.wait", Write(id), std::source_location::current()) ==
          WakeReason::kAborted) {
        HandleFailure();
        return 0;  // released: go on as if it opened
      }
    }
    Record("barrier.wait", id, 0);
    return 0;
  }
  object.readers = 0;
  ++object.depth;
  const int woken = c.WakeAll(object);
  Record("barrier.wait", id, woken, "the last to arrive: opens it");
  AfterWake(woken);
  return PTHREAD_BARRIER_SERIAL_THREAD;
}

}  // namespace lockstep::native_internal
