#include "lockstep/sync/thread.h"

#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"
#include "lockstep/internal/controller.h"

namespace lockstep::sync {

using ::lockstep::internal::Controller;

thread& thread::operator=(thread&& other) {
  if (this != &other) {
    CheckNotJoinable("assigned to");
    handle_ = std::exchange(other.handle_, {});
  }
  return *this;
}

thread::~thread() { CheckNotJoinable("destroyed"); }

void thread::CheckNotJoinable(const char* what) {
  if (!joinable()) return;
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr || c->aborting()) return;
  c->Fail(
      Failure::MISUSE,
      absl::StrCat("lockstep::sync::thread of ", c->ThreadLabel(handle_.id()), " ", what,
                   " while joinable (std::terminate with std::thread): join or detach it first"),
      std::source_location::current());
}

void thread::join() {
  Controller& c = Controller::Current("lockstep::sync::thread::join");
  if (!joinable()) {
    return c.Fail(Failure::MISUSE, "join() on a lockstep::sync::thread that is not joinable",
                  std::source_location::current());
  }
  handle_.join(std::source_location::current());
  handle_ = {};
}

void thread::detach() {
  Controller& c = Controller::Current("lockstep::sync::thread::detach");
  if (!joinable()) {
    return c.Fail(Failure::MISUSE, "detach() on a lockstep::sync::thread that is not joinable",
                  std::source_location::current());
  }
  c.SetDetached(handle_.id());
  c.Record("thread.detach", 0, std::source_location::current(), handle_.id());
  handle_ = {};
}

}  // namespace lockstep::sync
