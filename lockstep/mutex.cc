#include "lockstep/mutex.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lockstep {

using internal::Controller;
using internal::kNoThread;
using internal::WakeReason;

namespace {
constexpr PendingOp Write(uint32_t id) { return PendingOp{PendingOp::Kind::kWrite, id}; }
constexpr PendingOp Read(uint32_t id) { return PendingOp{PendingOp::Kind::kRead, id}; }
}  // namespace

// --- Mutex ----------------------------------------------------------------

Mutex::Mutex(std::string_view name, std::source_location created_at)
    : ObjectBase("mutex", name, created_at) {}

std::string Mutex::DescribeState(const Controller& c) const {
  if (owner_ == kNoThread) return "free";
  return absl::StrCat("held by ", c.ThreadLabel(owner_));
}

void Mutex::lock(std::source_location location) {
  Controller& c = Controller::Current("lockstep::Mutex::lock");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  Acquire(c, id, location);
}

void Mutex::Acquire(Controller& c, uint32_t id, std::source_location location) {
  if (!c.aborting() && owner_ == c.current_thread()) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(c.ThreadLabel(owner_), " locks ", Label(),
                               " which it already holds (lockstep::Mutex is not recursive)"),
                  location);
  }
  while (owner_ != kNoThread) {
    if (c.Block(*this, "mutex.lock", Write(id), location) == WakeReason::kAborted) return;
  }
  owner_ = c.current_thread();
  c.Record("mutex.lock", id, location);
}

bool Mutex::try_lock(std::source_location location) {
  Controller& c = Controller::Current("lockstep::Mutex::try_lock");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  const bool acquired = owner_ == kNoThread;
  if (acquired) owner_ = c.current_thread();
  c.Record("mutex.try_lock", id, location, acquired ? 1 : 0);
  return acquired;
}

void Mutex::unlock(std::source_location location) {
  Controller& c = Controller::Current("lockstep::Mutex::unlock");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  Release(c, id, location);
}

void Mutex::Release(Controller& c, uint32_t id, std::source_location location) {
  if (owner_ != c.current_thread()) {
    if (c.aborting()) return;
    return c.Fail(
        Failure::MISUSE,
        absl::StrCat(c.ThreadLabel(c.current_thread()), " unlocks ", Label(),
                     owner_ == kNoThread ? std::string(" which is not locked")
                                         : absl::StrCat(" held by ", c.ThreadLabel(owner_))),
        location);
  }
  owner_ = kNoThread;
  c.WakeOne(*this);  // see the class comment
  c.Record("mutex.unlock", id, location);
}

// --- SharedMutex ----------------------------------------------------------

SharedMutex::SharedMutex(std::string_view name, std::source_location created_at)
    : ObjectBase("shared_mutex", name, created_at) {}

std::string SharedMutex::DescribeState(const Controller& c) const {
  if (writer_ != kNoThread) return absl::StrCat("held exclusively by ", c.ThreadLabel(writer_));
  if (readers_.empty()) return "free";
  std::string holders;
  for (uint32_t reader : readers_) {
    absl::StrAppend(&holders, holders.empty() ? "" : ", ", c.ThreadLabel(reader));
  }
  return absl::StrCat("held shared by ", holders);
}

bool SharedMutex::HoldsShared(uint32_t thread) const {
  return std::find(readers_.begin(), readers_.end(), thread) != readers_.end();
}

void SharedMutex::lock(std::source_location location) {
  Controller& c = Controller::Current("lockstep::SharedMutex::lock");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  const uint32_t me = c.current_thread();
  if (!c.aborting() && (writer_ == me || HoldsShared(me))) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(c.ThreadLabel(me), " locks ", Label(), " which it already holds"),
                  location);
  }
  while (writer_ != kNoThread || !readers_.empty()) {
    if (c.Block(*this, "shared_mutex.lock", Write(id), location) == WakeReason::kAborted) return;
  }
  writer_ = me;
  c.Record("shared_mutex.lock", id, location);
}

bool SharedMutex::try_lock(std::source_location location) {
  Controller& c = Controller::Current("lockstep::SharedMutex::try_lock");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  const bool acquired = writer_ == kNoThread && readers_.empty();
  if (acquired) writer_ = c.current_thread();
  c.Record("shared_mutex.try_lock", id, location, acquired ? 1 : 0);
  return acquired;
}

void SharedMutex::unlock(std::source_location location) {
  Controller& c = Controller::Current("lockstep::SharedMutex::unlock");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  if (writer_ != c.current_thread()) {
    if (c.aborting()) return;
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(c.ThreadLabel(c.current_thread()), " unlocks ", Label(),
                               " which it does not hold exclusively (", DescribeState(c), ")"),
                  location);
  }
  writer_ = kNoThread;
  c.WakeAll(*this);
  c.Record("shared_mutex.unlock", id, location);
}

void SharedMutex::lock_shared(std::source_location location) {
  Controller& c = Controller::Current("lockstep::SharedMutex::lock_shared");
  const uint32_t id = Id(c);
  c.SchedulePoint(Read(id), location);
  const uint32_t me = c.current_thread();
  if (!c.aborting() && writer_ == me) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(c.ThreadLabel(me), " calls lock_shared on ", Label(),
                               " while holding it exclusively"),
                  location);
  }
  while (writer_ != kNoThread) {
    if (c.Block(*this, "shared_mutex.lock_shared", Read(id), location) == WakeReason::kAborted) {
      return;
    }
  }
  readers_.push_back(me);
  c.Record("shared_mutex.lock_shared", id, location);
}

bool SharedMutex::try_lock_shared(std::source_location location) {
  Controller& c = Controller::Current("lockstep::SharedMutex::try_lock_shared");
  const uint32_t id = Id(c);
  c.SchedulePoint(Read(id), location);
  const bool acquired = writer_ == kNoThread;
  if (acquired) readers_.push_back(c.current_thread());
  c.Record("shared_mutex.try_lock_shared", id, location, acquired ? 1 : 0);
  return acquired;
}

void SharedMutex::unlock_shared(std::source_location location) {
  Controller& c = Controller::Current("lockstep::SharedMutex::unlock_shared");
  const uint32_t id = Id(c);
  c.SchedulePoint(Write(id), location);
  auto it = std::find(readers_.begin(), readers_.end(), c.current_thread());
  if (it == readers_.end()) {
    if (c.aborting()) return;
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(c.ThreadLabel(c.current_thread()), " calls unlock_shared on ",
                               Label(), " which it does not hold shared"),
                  location);
  }
  readers_.erase(it);
  if (readers_.empty()) c.WakeAll(*this);
  c.Record("shared_mutex.unlock_shared", id, location);
}

}  // namespace lockstep
