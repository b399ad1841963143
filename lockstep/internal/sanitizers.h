// Which sanitizer this translation unit is built with: LOCKSTEP_ASAN for
// AddressSanitizer, LOCKSTEP_TSAN for ThreadSanitizer (GCC and Clang).
#ifndef LOCKSTEP_INTERNAL_SANITIZERS_H_
#define LOCKSTEP_INTERNAL_SANITIZERS_H_

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

#endif  // LOCKSTEP_INTERNAL_SANITIZERS_H_
