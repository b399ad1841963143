// What the native runner's models share: the model of a pthread object and
// an interposed call's turn in the model. Each family of interposed calls
// is modelled in its own model_*.cc, as Session members.
#ifndef LOCKSTEP_NATIVE_MODEL_H_
#define LOCKSTEP_NATIVE_MODEL_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "lockstep/internal/controller.h"
#include "lockstep/native/session.h"

namespace lockstep::native_internal {

constexpr PendingOp Write(uint32_t id) { return PendingOp{PendingOp::Kind::kWrite, id}; }
constexpr PendingOp Read(uint32_t id) { return PendingOp{PendingOp::Kind::kRead, id}; }

// A pthread object, futex word or once control as the model sees it.
class NativeObject : public internal::ObjectBase {
  using Controller = internal::Controller;

 public:
  NativeObject(const char* kind) : ObjectBase(kind, "", std::source_location::current()) {}
  uint32_t IdIn(Controller& c) { return Id(c); }

  const void* address = nullptr;
  uint32_t owner = internal::kNoThread;  // mutex, rwlock writer: the thread of the run holding it
  uint32_t depth = 0;                    // recursive mutex: lock count
  uint32_t readers = 0;                  // rwlock: read holds by threads of the run

  // Thread `me` of the run took it, or released it, in writer (`write`) or
  // reader mode.
  void Hold(uint32_t me, bool write) {
    if (write) {
      owner = me;
      ++depth;
    } else {
      ++readers;
    }
  }
  void Drop(uint32_t me, bool write) {
    if (write && owner == me) {
      owner = internal::kNoThread;
      depth = 0;
    } else if (!write && readers > 0) {
      --readers;
    }
  }

 protected:
  std::string DescribeState(const Controller& c) const override {
    if (owner != internal::kNoThread) {
      return absl::StrCat(std::string_view(kind()) == "once" ? "run by " : "held by ",
                          c.ThreadLabel(owner));
    }
    if (readers > 0) return absl::StrCat("held shared by ", readers, " thread(s)");
    if (std::string_view(kind()) == "futex") {
      return absl::StrCat("word 0x", absl::Hex(reinterpret_cast<uintptr_t>(address)), " = ",
                          __atomic_load_n(static_cast<const uint32_t*>(address), __ATOMIC_SEQ_CST));
    }
    return {};
  }
  void ResetState() override {
    owner = internal::kNoThread;
    depth = 0;
    readers = 0;
  }
};

struct Session::Start {
  void* (*fn)(void*);
  void* arg;
  const std::function<void()>* body;  // thread 0 only
  uint32_t id;
  uint64_t epoch;
};

// One interposed call's stay in the model: holds the lock and the baton.
// `modelled()` is false when the run was released meanwhile: the call must
// then do the real thing, after Leave().
class Session::Turn {
 public:
  Turn(Session& s, PendingOp op) : s_(s) {
    s.lock_.lock();
    ++s.inside_;
    ++s.progress_;
    me_ = t_binding.id;
    if (t_binding.epoch != s.epoch_ || s.released_) return;
    internal::Controller& c = *s.controller_;
    if (s.setup_.mode == NativeMode::kControl && c.current_thread() != me_) {
      // Back from outside the model (its quantum expired): take an idle
      // baton, or wait to be scheduled like any runnable thread.
      if (s.Return(me_, op)) {
        c.set_current(me_);
      } else {
        s.WaitTurn(me_);
      }
    }
    modelled_ = !s.released_;
  }
  ~Turn() { Leave(); }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

  bool modelled() const { return modelled_ && !left_; }
  uint32_t me() const { return me_; }
  void Leave() {
    if (left_) return;
    left_ = true;
    if (s_.setup_.stream != nullptr && s_.controller_ != nullptr) s_.Flush();
    // Time spent in the model (symbolizing a recorded event, say) is not the
    // thread's quantum: the watchdog sees progress when the call leaves.
    ++s_.progress_;
    --s_.inside_;
    s_.lock_.unlock();
  }
  // Runs a real call that may block, outside the lock (the baton stays with
  // this thread unless its quantum expires), then comes back.
  template <typename F>
  auto Outside(F call) {
    const uint64_t epoch = t_binding.epoch;
    if (s_.setup_.stream != nullptr && s_.controller_ != nullptr) s_.Flush();
    --s_.inside_;
    s_.lock_.unlock();
    auto result = call();
    s_.lock_.lock();
    ++s_.inside_;
    ++s_.progress_;
    if (epoch != s_.epoch_ || s_.released_) {
      modelled_ = false;
    } else if (s_.controller_->current_thread() != me_) {
      if (s_.Return(me_, PendingOp{})) {
        s_.controller_->set_current(me_);
        s_.holder_running_ = true;
      } else {
        s_.WaitTurn(me_);
      }
      modelled_ = !s_.released_;
    }
    return result;
  }

 private:
  Session& s_;
  uint32_t me_ = 0;
  bool modelled_ = false;
  bool left_ = false;
};

}  // namespace lockstep::native_internal

#endif  // LOCKSTEP_NATIVE_MODEL_H_
