#include "lockstep/internal/fiber.h"

#include <boost/context/detail/fcontext.hpp>
#include <cstdio>
#include <cstdlib>

#if defined(LOCKSTEP_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(LOCKSTEP_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

// Everything from the sanitizer announcements to the jump, and from the
// landing to the end of the announcement, is built without ThreadSanitizer
// instrumentation: an instrumented call in between (even a function entry)
// would be recorded on the wrong fiber's shadow stack.
#define LOCKSTEP_NO_TSAN __attribute__((no_sanitize("thread"), noinline))

namespace lockstep::internal {

namespace ctx = boost::context::detail;

// What a jump carries: who jumps (its resume point is only known on the
// other side, as the landing's fctx) and where to. Lives on the jumping
// context's stack, which stays mapped until the landing has read it.
struct FiberJump {
  Fiber* from;
  Fiber* to;

  // The jumping side: announces the switch and jumps. Returns (in `from`)
  // when something switches back to it.
  LOCKSTEP_NO_TSAN static void Go(Fiber& from, Fiber& to, bool from_ends) {
    FiberJump jump{&from, &to};
#if defined(LOCKSTEP_ASAN)
    __sanitizer_start_switch_fiber(from_ends ? nullptr : &from.asan_fake_stack_, to.stack_bottom_,
                                   to.stack_size_);
#else
    (void)from_ends;
#endif
#if defined(LOCKSTEP_TSAN)
    if (from.tsan_fiber_ == nullptr) from.tsan_fiber_ = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
    Land(ctx::jump_fcontext(to.context_, &jump));
  }

  // The landing side, first thing after a jump arrives: records where the
  // context that jumped resumes, and finishes the sanitizer announcement.
  LOCKSTEP_NO_TSAN static Fiber& Land(ctx::transfer_t transfer) {
    const FiberJump& jump = *static_cast<const FiberJump*>(transfer.data);
    jump.from->context_ = transfer.fctx;
#if defined(LOCKSTEP_ASAN)
    const void* bottom = nullptr;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(jump.to->asan_fake_stack_, &bottom, &size);
    if (jump.from->stack_size_ == 0) {  // the OS thread's own stack, first left
      jump.from->stack_bottom_ = bottom;
      jump.from->stack_size_ = size;
    }
#endif
    return *jump.to;
  }

  // A prepared context's first instructions.
  LOCKSTEP_NO_TSAN static void Start(ctx::transfer_t transfer) {
    Fiber& self = Land(transfer);
    self.entry_(self.arg_);
    std::fprintf(stderr, "lockstep: internal error: a fiber's entry returned\n");
    std::abort();
  }
};

Fiber::~Fiber() {
#if defined(LOCKSTEP_TSAN)
  if (owns_tsan_fiber_) __tsan_destroy_fiber(tsan_fiber_);
#endif
}

void Fiber::Prepare(void* bottom, size_t size, void (*entry)(void*), void* arg) {
  context_ = ctx::make_fcontext(static_cast<char*>(bottom) + size, size, &FiberJump::Start);
  entry_ = entry;
  arg_ = arg;
  stack_bottom_ = bottom;
  stack_size_ = size;
  asan_fake_stack_ = nullptr;
#if defined(LOCKSTEP_TSAN)
  // A fresh TSan fiber each time: the old one's shadow stack still holds
  // the frames of whatever ran here before and never returned.
  if (owns_tsan_fiber_) __tsan_destroy_fiber(tsan_fiber_);
  tsan_fiber_ = __tsan_create_fiber(0);
  owns_tsan_fiber_ = true;
#endif
}

void Fiber::Switch(Fiber& self, Fiber& to) { FiberJump::Go(self, to, /*from_ends=*/false); }

void Fiber::Exit(Fiber& self, Fiber& to) {
  FiberJump::Go(self, to, /*from_ends=*/true);
  std::fprintf(stderr, "lockstep: internal error: a fiber that ended was resumed\n");
  std::abort();
}

}  // namespace lockstep::internal
