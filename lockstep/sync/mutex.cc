#include "lockstep/sync/mutex.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"

namespace lockstep::sync::internal {

using ::lockstep::internal::Controller;
using ::lockstep::internal::kNoThread;
using ::lockstep::internal::WakeReason;

std::string MutexModel::DescribeState(const Controller& c) const {
  if (owner_ != kNoThread) {
    return depth_ > 1 ? absl::StrCat("held by ", c.ThreadLabel(owner_), " (", depth_, " times)")
                      : absl::StrCat("held by ", c.ThreadLabel(owner_));
  }
  if (readers_.empty()) return "free";
  std::string holders;
  for (uint32_t reader : readers_) {
    absl::StrAppend(&holders, holders.empty() ? "" : ", ", c.ThreadLabel(reader));
  }
  return absl::StrCat("held shared by ", holders);
}

bool MutexModel::Lock(bool shared, bool try_only,
                      std::optional<VirtualClock::time_point> deadline) {
  const std::source_location location = std::source_location::current();
  Controller& c = Controller::Current(shared ? "lockstep::sync::*mutex::lock_shared"
                                             : "lockstep::sync::*mutex::lock");
  const uint32_t id = Id(c);
  const PendingOp op{shared ? PendingOp::Kind::kRead : PendingOp::Kind::kWrite, id};
  c.SchedulePoint(op, location);
  const char* event = shared ? (try_only ? "mutex.try_lock_shared" : "mutex.lock_shared")
                             : (try_only ? "mutex.try_lock" : "mutex.lock");
  const uint32_t me = c.current_thread();
  if (!c.aborting()) {
    if (owner_ == me && !shared && recursive_) {
      ++depth_;
      c.Record(event, id, location, depth_);
      return true;
    }
    if (owner_ == me || std::find(readers_.begin(), readers_.end(), me) != readers_.end()) {
      c.Fail(Failure::MISUSE,
             absl::StrCat(c.ThreadLabel(me), shared ? " locks (shared) " : " locks ", Label(),
                          " which it already holds (", DescribeState(c), ")"),
             location);
      return false;
    }
  }
  // A deadline already past: one attempt, as try_lock.
  if (deadline && deadline->time_since_epoch().count() <= static_cast<int64_t>(c.now_ns())) {
    try_only = true;
  }
  while (!Available(shared)) {
    if (try_only) {
      c.Record(event, id, location, 0, "busy");
      return false;
    }
    std::optional<uint64_t> deadline_ns;
    if (deadline) deadline_ns = static_cast<uint64_t>(deadline->time_since_epoch().count());
    shared_waiters_ += shared ? 1 : 0;
    const WakeReason reason = c.Block(*this, event, op, location, deadline_ns);
    shared_waiters_ -= shared ? 1 : 0;
    if (reason == WakeReason::kAborted) return false;
    if (reason == WakeReason::kTimeout && !Available(shared)) {
      c.Record(event, id, location, 0, "timed out");
      return false;
    }
  }
  if (shared) {
    readers_.push_back(me);
  } else {
    owner_ = me;
    depth_ = 1;
  }
  c.Record(event, id, location, 1);
  return true;
}

void MutexModel::Unlock(bool shared) {
  const std::source_location location = std::source_location::current();
  Controller& c = Controller::Current(shared ? "lockstep::sync::*mutex::unlock_shared"
                                             : "lockstep::sync::*mutex::unlock");
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  const uint32_t me = c.current_thread();
  auto reader = std::find(readers_.begin(), readers_.end(), me);
  if (shared ? reader == readers_.end() : owner_ != me) {
    if (c.aborting()) return;
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(c.ThreadLabel(me), shared ? " calls unlock_shared on " : " unlocks ",
                               Label(), " which it does not hold", shared ? " shared" : "", " (",
                               DescribeState(c), ")"),
                  location);
  }
  if (shared) {
    readers_.erase(reader);
    if (readers_.empty()) c.WakeAll(*this);
  } else if (--depth_ == 0) {
    owner_ = kNoThread;
    // One waiter, as lockstep::Mutex does, unless shared lockers wait: they
    // may all acquire now.
    if (shared_waiters_ == 0) {
      c.WakeOne(*this);
    } else {
      c.WakeAll(*this);
    }
  }
  c.Record(shared ? "mutex.unlock_shared" : "mutex.unlock", id, location, depth_);
}

}  // namespace lockstep::sync::internal
