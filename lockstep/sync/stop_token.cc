#include "lockstep/sync/stop_token.h"

#include <algorithm>

namespace lockstep::sync::internal {

using ::lockstep::internal::Controller;
using ::lockstep::internal::kNoThread;
using ::lockstep::internal::WakeReason;

namespace {

// A scheduling point on `state`, or null outside a run.
Controller* Point(StopState& state, bool write, uint32_t* id) {
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) return nullptr;
  *id = state.IdIn(*c);
  c->SchedulePoint(PendingOp{write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead, *id},
                   std::source_location::current());
  return c;
}

}  // namespace

bool StopState::Requested() {
  uint32_t id = 0;
  if (Controller* c = Point(*this, false, &id)) {
    c->Record("stop_token.stop_requested", id, std::source_location::current(), requested_);
  }
  return requested_;
}

bool StopState::Request() {
  uint32_t id = 0;
  Controller* c = Point(*this, true, &id);
  if (c != nullptr)
    c->Record("stop_source.request_stop", id, std::source_location::current(), requested_ ? 0 : 1);
  if (requested_) return false;
  requested_ = true;
  while (!callbacks_.empty()) {
    running_ = callbacks_.front();
    callbacks_.pop_front();
    running_thread_ = c != nullptr ? c->current_thread() : kNoThread;
    running_->Run();
    running_ = nullptr;
    if (c != nullptr) c->WakeAll(*this);
  }
  return true;
}

bool StopState::Register(StopCallbackNode* node) {
  uint32_t id = 0;
  Controller* c = Point(*this, true, &id);
  if (c != nullptr) {
    c->Record("stop_callback.register", id, std::source_location::current(), requested_);
  }
  if (requested_) {
    node->Run();
    return false;
  }
  callbacks_.push_back(node);
  return true;
}

void StopState::Unregister(StopCallbackNode* node) {
  uint32_t id = 0;
  Controller* c = Point(*this, true, &id);
  callbacks_.remove(node);
  // Running in another thread: wait until it returns (in this thread, the
  // callback destroys itself: nothing to wait for).
  while (c != nullptr && running_ == node && running_thread_ != c->current_thread()) {
    if (c->Block(*this, "stop_callback.unregister", PendingOp{PendingOp::Kind::kWrite, id},
                 std::source_location::current()) == WakeReason::kAborted) {
      return;
    }
  }
  if (c != nullptr) c->Record("stop_callback.unregister", id, std::source_location::current());
}

}  // namespace lockstep::sync::internal
