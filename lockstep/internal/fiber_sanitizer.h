// Telling AddressSanitizer about fiber switches.
//
// ASan tracks one stack per OS thread; a fiber switch moves the thread to
// another stack behind its back, and ASan then reports false stack errors
// (its fake stacks and stack bounds are wrong). Each switch is announced with
// its fiber API (sanitizer/common_interface_defs.h). Without ASan everything
// here is empty.
//
// ThreadSanitizer is not supported yet: its __tsan_switch_to_fiber must run
// immediately before the jump with no instrumented code in between, but
// Boost 1.74's fiber::resume() is an instrumented header template that runs
// after it, which unbalances TSan's shadow call stacks until its runtime
// crashes. Supporting it means switching on raw fcontext in a function built
// without TSan instrumentation.
#ifndef LOCKSTEP_INTERNAL_FIBER_SANITIZER_H_
#define LOCKSTEP_INTERNAL_FIBER_SANITIZER_H_

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define LOCKSTEP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOCKSTEP_ASAN 1
#endif
#endif

#if defined(LOCKSTEP_ASAN)
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace lockstep::internal {

// The sanitizer state of one execution context (a fiber, or the scheduler
// context on the OS thread's own stack).
struct FiberSanitizerState {
  // The stack's lowest address and size; for the scheduler context, learnt
  // at the first switch back to it.
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
};

// A context is about to jump to `to`. `from` is null when the current
// context ends with this jump (a fiber returning for good).
inline void BeforeFiberSwitch([[maybe_unused]] FiberSanitizerState* from,
                              [[maybe_unused]] const FiberSanitizerState& to) {
#if defined(LOCKSTEP_ASAN)
  __sanitizer_start_switch_fiber(from == nullptr ? nullptr : &from->asan_fake_stack,
                                 to.stack_bottom, to.stack_size);
#endif
}

// First thing a context does when it runs again after a jump (or starts).
// `self` is the context now running; `from` (may be null) learns the bounds
// of the stack that was left, which is how the scheduler context's bounds
// become known.
inline void AfterFiberSwitch([[maybe_unused]] FiberSanitizerState& self,
                             [[maybe_unused]] FiberSanitizerState* from) {
#if defined(LOCKSTEP_ASAN)
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, &bottom, &size);
  if (from != nullptr) {
    from->stack_bottom = bottom;
    from->stack_size = size;
  }
#endif
}

// A new fiber's state, with its stack [bottom, bottom + size).
inline void InitFiberSanitizer(FiberSanitizerState& state, const void* bottom, size_t size) {
  state.stack_bottom = bottom;
  state.stack_size = size;
  state.asan_fake_stack = nullptr;
}

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_FIBER_SANITIZER_H_
