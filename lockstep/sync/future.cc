#include "lockstep/sync/future.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lockstep::sync::internal {

using ::lockstep::internal::Controller;
using ::lockstep::internal::WakeReason;

FutureStateBase::FutureStateBase(std::source_location created_at)
    : ObjectBase("future", {}, created_at) {}

std::string FutureStateBase::DescribeState(const Controller& c) const {
  if (ready_) return "ready";
  if (deferred_) return deferred_started_ ? "deferred function running" : "deferred";
  if (async_) return absl::StrCat("not ready, computed by ", c.ThreadLabel(thread_.id()));
  if (futures_ == 0 && !retrieved_) return "not ready";
  return "not ready: no value or exception set yet";
}

void FutureStateBase::Satisfy(const char* api, const char* event, absl::FunctionRef<void()> store,
                              std::optional<int64_t> value, std::source_location location) {
  Controller& c = Controller::Current(api);
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (ready_) throw std::future_error(std::future_errc::promise_already_satisfied);
  store();
  ready_ = true;
  const int woken = c.WakeAll(*this);
  c.Record(event, id, location, value, woken > 0 ? absl::StrCat("woke ", woken) : "");
}

void FutureStateBase::SetException(const char* api, const char* event, std::exception_ptr error,
                                   std::source_location location) {
  Controller& c = Controller::Current(api);
  if (error == nullptr) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat(api, " with a null std::exception_ptr on ", Label()), location);
  }
  Satisfy(
      api, event, [&] { error_ = std::move(error); }, std::nullopt, location);
}

void FutureStateBase::BeginTask(const char* api, std::source_location location) {
  Controller& c = Controller::Current(api);
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (task_started_ || ready_) {
    throw std::future_error(std::future_errc::promise_already_satisfied);
  }
  task_started_ = true;
  c.Record("packaged_task.run", id, location);
}

void FutureStateBase::Abandon(const char* event, std::source_location location) noexcept {
  if (ready_) return;
  Controller* c = Controller::CurrentOrNull();
  // Nobody can observe the broken promise (no future, or no run to
  // schedule in): no scheduling point, so destructors work anywhere.
  if (futures_ == 0 || c == nullptr || c->aborting()) {
    error_ = std::make_exception_ptr(std::future_error(std::future_errc::broken_promise));
    ready_ = true;
    return;
  }
  const uint32_t id = Id(*c);
  c->SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (ready_) return;
  error_ = std::make_exception_ptr(std::future_error(std::future_errc::broken_promise));
  ready_ = true;
  c->WakeAll(*this);
  c->Record(event, id, location, std::nullopt, "broken_promise stored");
}

bool FutureStateBase::BlockUntilReady(Controller& c, uint32_t id, const char* op,
                                      std::source_location location) {
  while (!ready_) {
    if (c.Block(*this, op, PendingOp{PendingOp::Kind::kRead, id}, location) ==
        WakeReason::kAborted) {
      return false;
    }
  }
  return true;
}

void FutureStateBase::Wait(const char* api, const char* event, std::source_location location) {
  Controller& c = Controller::Current(api);
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kRead, id}, location);
  if (!ready_ && deferred_ && !deferred_started_) {
    deferred_started_ = true;
    c.Record("future.run_deferred", id, location);
    RunTask();
  }
  if (!BlockUntilReady(c, id, event, location)) return;
  JoinAsync(c, location);
  c.Record(event, id, location, std::nullopt, error_ != nullptr ? "exception" : "");
}

std::future_status FutureStateBase::WaitUntil(const char* api, VirtualClock::time_point deadline,
                                              std::source_location location) {
  Controller& c = Controller::Current(api);
  const uint32_t id = Id(c);
  const uint64_t deadline_ns =
      static_cast<uint64_t>(std::max<int64_t>(0, deadline.time_since_epoch().count()));
  const PendingOp op{PendingOp::Kind::kRead, id};
  c.SchedulePoint(op, location);
  if (!ready_ && deferred_ && !deferred_started_) {
    c.Record("future.wait_until", id, location, std::nullopt, "deferred");
    return std::future_status::deferred;
  }
  while (!ready_) {
    if (c.now_ns() >= deadline_ns) break;
    const WakeReason reason = c.Block(*this, "future.wait_until", op, location, deadline_ns);
    if (reason == WakeReason::kAborted) return std::future_status::timeout;
    if (reason == WakeReason::kTimeout) break;
  }
  if (!ready_) {
    c.Record("future.wait_until", id, location, std::nullopt, "timeout");
    return std::future_status::timeout;
  }
  JoinAsync(c, location);
  c.Record("future.wait_until", id, location, std::nullopt, "ready");
  return std::future_status::ready;
}

void FutureStateBase::ThrowIfFailed() const {
  if (error_ != nullptr) std::rethrow_exception(error_);
  if (!ready_) throw std::future_error(std::future_errc::broken_promise);
}

void FutureStateBase::JoinAsync(Controller& c, std::source_location location) {
  if (!async_ || joined_ || c.epoch() != async_epoch_ || c.aborting()) return;
  joined_ = true;
  thread_.join(location);
}

void FutureStateBase::Launch(const std::shared_ptr<FutureStateBase>& state, std::launch policy,
                             std::source_location location) {
  Controller& c = Controller::Current("lockstep::sync::async");
  const bool may_async = (policy & std::launch::async) == std::launch::async;
  const bool may_defer = (policy & std::launch::deferred) == std::launch::deferred;
  // Both (the default policy): the strategy decides, and replay repeats it.
  // Neither: deferred, as libstdc++ and libc++ do.
  const bool run_async = may_async && (!may_defer || c.Choose(2) == 0);
  const uint32_t id = state->Id(c);
  c.Record("async.launch", id, location, run_async ? 0 : 1,
           run_async ? "launch::async" : "launch::deferred");
  if (!run_async) {
    state->deferred_ = true;
    return;
  }
  state->async_ = true;
  state->async_epoch_ = c.epoch();
  // The thread keeps the state alive (not only the futures): on an executor
  // a failed iteration's futures may go while the thread still runs.
  state->thread_ = ::lockstep::spawn([state] { state->RunTask(); }, "async", location);
}

void FutureStateBase::Retrieve() {
  if (retrieved_) throw std::future_error(std::future_errc::future_already_retrieved);
  retrieved_ = true;
}

void FutureStateBase::ReleaseFuture() noexcept {
  if (--futures_ > 0 || !async_ || joined_) return;
  // std: the last reference to an async state waits for its thread.
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) return;
  JoinAsync(*c, std::source_location::current());
}

}  // namespace lockstep::sync::internal
