// Execution contexts of one OS thread, and the switches between them.
//
// A Fiber is either a context running on its own stack (Prepare) or, default
// constructed, the OS thread's own stack (the context that switches to the
// first fiber). Switching is one jump (Boost.Context's fcontext) announced to
// the sanitizers present: AddressSanitizer's and ThreadSanitizer's fiber APIs
// must each see every switch, and ThreadSanitizer requires that no
// instrumented code runs between its announcement and the jump. That is why
// the switch is written here on raw fcontext, in functions built without
// ThreadSanitizer instrumentation, and not with boost::context::fiber (whose
// resume() is an instrumented template).
#ifndef LOCKSTEP_INTERNAL_FIBER_H_
#define LOCKSTEP_INTERNAL_FIBER_H_

#include <cstddef>

#include "lockstep/internal/sanitizers.h"

namespace lockstep::internal {

class Fiber {
 public:
  // The context running now (on the OS thread's own stack, typically). It
  // learns what it needs at its first switch away.
  Fiber() = default;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber();

  // Makes this context run `entry(arg)` on the stack [bottom, bottom + size)
  // when it is next switched to. `entry` never returns: it ends with Exit.
  // Whatever ran on this context before is forgotten (never unwound).
  void Prepare(void* bottom, size_t size, void (*entry)(void*), void* arg);

  // Suspends `self`, the running context, and runs `to`. Returns when some
  // context switches back to `self`.
  static void Switch(Fiber& self, Fiber& to);

  // Leaves `self`, the running context, for good (finished, or abandoned
  // without unwinding) and runs `to`. Once `to` runs, self's stack is free.
  [[noreturn]] static void Exit(Fiber& self, Fiber& to);

 private:
  friend struct FiberJump;  // the switch itself (fiber.cc)

  void* context_ = nullptr;  // fcontext_t: where this context resumes
  void (*entry_)(void*) = nullptr;
  void* arg_ = nullptr;
  // The stack's lowest address and size; for the OS thread's own stack,
  // learnt at its first switch away (AddressSanitizer only).
  const void* stack_bottom_ = nullptr;
  size_t stack_size_ = 0;
  void* asan_fake_stack_ = nullptr;
  void* tsan_fiber_ = nullptr;
  bool owns_tsan_fiber_ = false;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_FIBER_H_
