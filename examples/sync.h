// The examples' one switch between std:: and Lockstep (see lockstep/sync.h):
// code in namespace examples names its threads and synchronization as
// sync::mutex, sync::condition_variable, sync::atomic<T>, sync::thread...
// The production build gets std's types and no dependency on Lockstep; the
// test build defines LOCKSTEP_SYNC (lockstep_sync_library in Bazel,
// lockstep_use_sync in CMake) and gets Lockstep's, whose every operation is
// a scheduling point.
#ifndef EXAMPLES_SYNC_H_
#define EXAMPLES_SYNC_H_

#ifdef LOCKSTEP_SYNC
#include "lockstep/sync.h"
namespace examples {
namespace sync = ::lockstep::sync;
}  // namespace examples
#else
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <shared_mutex>
#include <stop_token>
#include <thread>
namespace examples {
namespace sync = ::std;
}  // namespace examples
#endif

#endif  // EXAMPLES_SYNC_H_
