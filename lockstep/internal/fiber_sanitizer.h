// Telling AddressSanitizer and ThreadSanitizer about fiber switches.
//
// Both sanitizers track one stack per OS thread; a fiber switch moves the
// thread to another stack behind their back. ASan then reports false stack
// errors (its fake stacks and stack bounds are wrong), and TSan mixes the
// fibers' happens-before histories. Each switch is announced with the
// sanitizers' fiber APIs (sanitizer/common_interface_defs.h,
// sanitizer/tsan_interface.h). Without a sanitizer everything here is empty.
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

#if defined(__SANITIZE_THREAD__)
#define LOCKSTEP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LOCKSTEP_TSAN 1
#endif
#endif

#if defined(LOCKSTEP_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif
#if defined(LOCKSTEP_TSAN)
#include <sanitizer/tsan_interface.h>
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
  void* tsan_fiber = nullptr;
};

// A context is about to jump to `to`. `from` is null when the current
// context ends with this jump (a fiber returning for good).
inline void BeforeFiberSwitch([[maybe_unused]] FiberSanitizerState* from,
                              [[maybe_unused]] const FiberSanitizerState& to) {
#if defined(LOCKSTEP_ASAN)
  __sanitizer_start_switch_fiber(from == nullptr ? nullptr : &from->asan_fake_stack,
                                 to.stack_bottom, to.stack_size);
#endif
#if defined(LOCKSTEP_TSAN)
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
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
#if defined(LOCKSTEP_TSAN)
  if (state.tsan_fiber == nullptr) state.tsan_fiber = __tsan_create_fiber(0);
#endif
}

// The scheduler context's state: the OS thread's own TSan fiber.
inline void InitSchedulerSanitizer([[maybe_unused]] FiberSanitizerState& state) {
#if defined(LOCKSTEP_TSAN)
  state.tsan_fiber = __tsan_get_current_fiber();
#endif
}

// A fiber's stack is reused after its fiber was abandoned mid-run: forget
// the poisoning its frames left behind.
inline void ForgetAbandonedStack([[maybe_unused]] const void* bottom,
                                 [[maybe_unused]] size_t size) {
#if defined(LOCKSTEP_ASAN)
  __asan_unpoison_memory_region(bottom, size);
#endif
}

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_FIBER_SANITIZER_H_
