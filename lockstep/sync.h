// lockstep::sync: the standard library's threads and synchronization, as
// Lockstep primitives, for code that switches one namespace between std::
// and Lockstep (the way Rust code switches to loom::sync or shuttle::sync).
//
//   // mylib/sync.h, the library's one switch (see docs/guide.md):
//   #ifdef LOCKSTEP_SYNC
//   #include "lockstep/sync.h"
//   namespace mylib { namespace sync = ::lockstep::sync; }
//   #else
//   #include <mutex> ...
//   namespace mylib { namespace sync = ::std; }
//   #endif
//
// Code written against sync::mutex, sync::condition_variable,
// sync::atomic<T>, sync::thread, sync::this_thread::sleep_for... compiles
// unchanged against either; in a TEST_LOCKSTEP body every operation is a
// scheduling point and time is virtual. Each type has its std counterpart's
// whole interface (its header says where it differs). Events are located at
// the line of the user's code that called, also through std::lock_guard,
// std::unique_lock and the other std lock types, which work unchanged.
// Using these types outside a Lockstep run throws lockstep::UsageError.
#ifndef LOCKSTEP_SYNC_H_
#define LOCKSTEP_SYNC_H_

#include "lockstep/sync/atomic.h"
#include "lockstep/sync/barrier.h"
#include "lockstep/sync/chrono.h"
#include "lockstep/sync/condition_variable.h"
#include "lockstep/sync/future.h"
#include "lockstep/sync/latch.h"
#include "lockstep/sync/mutex.h"
#include "lockstep/sync/once.h"
#include "lockstep/sync/semaphore.h"
#include "lockstep/sync/stop_token.h"
#include "lockstep/sync/thread.h"

#endif  // LOCKSTEP_SYNC_H_
