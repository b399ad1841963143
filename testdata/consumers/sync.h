// The bank's switch between std:: and Lockstep (see lockstep/sync.h): the
// production build gets std's types, the test build (LOCKSTEP_SYNC defined
// by lockstep_sync_library / lockstep_use_sync) gets lockstep::sync's.
#ifndef BANK_SYNC_H_
#define BANK_SYNC_H_

#ifdef LOCKSTEP_SYNC
#include "lockstep/sync.h"
namespace bank {
namespace sync = ::lockstep::sync;
}  // namespace bank
#else
#include <mutex>
#include <thread>
namespace bank {
namespace sync = ::std;
}  // namespace bank
#endif

#endif  // BANK_SYNC_H_
