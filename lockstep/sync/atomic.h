// lockstep::sync::atomic and atomic_flag: std::atomic's interface, every
// operation a scheduling point (see lockstep/sync.h).
#ifndef LOCKSTEP_SYNC_ATOMIC_H_
#define LOCKSTEP_SYNC_ATOMIC_H_

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <source_location>
#include <type_traits>

#include "lockstep/internal/controller.h"

namespace lockstep::sync {

using std::memory_order;
using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_consume;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;
// Fences order nothing more in a run (operations are sequentially
// consistent); they are std's.
using std::atomic_signal_fence;
using std::atomic_thread_fence;
using std::kill_dependency;

namespace internal {

// The part of atomic<T> that does not depend on T: scheduling points,
// blocking waits and events, on an object of kind "atomic".
class AtomicBase : public ::lockstep::internal::ObjectBase {
 protected:
  using Controller = ::lockstep::internal::Controller;
  explicit AtomicBase(std::source_location created_at) : ObjectBase("atomic", {}, created_at) {}

  // A scheduling point reading (`write` false) or writing the value.
  Controller& Point(bool write, const char* api) {
    Controller& c = Controller::Current(api);
    c.SchedulePoint(PendingOp{write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead, Id(c)},
                    std::source_location::current());
    return c;
  }
  void Record(Controller& c, const char* op, std::optional<int64_t> value, memory_order order,
              uint32_t size) {
    if (c.recording()) {
      c.RecordAtomic(op, Id(c), std::source_location::current(), value,
                     static_cast<::lockstep::internal::Order>(order), size);
    }
  }
  // Blocks the caller until a notify (atomic::wait); false when the
  // iteration failed meanwhile.
  bool BlockUntilNotified(Controller& c) {
    return c.Block(*this, "atomic.wait", PendingOp{PendingOp::Kind::kRead, Id(c)},
                   std::source_location::current()) != ::lockstep::internal::WakeReason::kAborted;
  }
  void Notify(bool all, const char* api) {
    Controller& c = Point(true, api);
    if (all) {
      const int woken = c.WakeAll(*this);
      c.Record("atomic.notify_all", Id(c), std::source_location::current(), woken);
    } else {
      const uint32_t woken = c.WakeOne(*this);
      c.Record("atomic.notify_one", Id(c), std::source_location::current(), std::nullopt,
               woken == ::lockstep::internal::kNoThread ? "no waiter" : "", woken);
    }
  }
  // compare_exchange_weak fails spuriously when the strategy says so (only
  // with Options::spurious_wakeups, like spurious condition-variable wake-ups).
  static bool SpuriousFailure(Controller& c) { return c.spurious_wakeups() && c.Choose(2) == 1; }
};

template <typename T>
concept AtomicInteger = std::integral<T> && !std::same_as<T, bool>;

// The memory order of a compare-exchange's failure, derived from its success order.
constexpr memory_order FailureOrder(memory_order order) {
  return order == memory_order_acq_rel   ? memory_order_acquire
         : order == memory_order_release ? memory_order_relaxed
                                         : order;
}

}  // namespace internal

// Like std::atomic<T> for a trivially copyable T, with all its members
// (integral, pointer and floating-point operations where std has them, and
// C++20's wait/notify). Every operation is a scheduling point and an event
// that records its memory order. Operations are sequentially consistent
// whatever the order (weak memory is not modelled). compare_exchange_weak
// fails spuriously only with Options::spurious_wakeups, as a controlled
// choice. wait() blocks until a notify finds the value changed, as std's.
template <typename T>
class atomic : public internal::AtomicBase {
  static_assert(std::is_trivially_copyable_v<T>, "atomic<T> needs a trivially copyable T");

 public:
  using value_type = T;
  static constexpr bool is_always_lock_free = std::atomic<T>::is_always_lock_free;

  atomic(std::source_location created_at = std::source_location::current()) noexcept(
      std::is_nothrow_default_constructible_v<T>)
      : AtomicBase(created_at), value_() {}
  atomic(T desired, std::source_location created_at = std::source_location::current()) noexcept
      : AtomicBase(created_at), value_(desired) {}
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;
  atomic& operator=(const atomic&) volatile = delete;

  bool is_lock_free() const noexcept { return is_always_lock_free; }

  T load(memory_order order = memory_order_seq_cst) const {
    auto& self = const_cast<atomic&>(*this);
    Controller& c = self.Point(false, "lockstep::sync::atomic::load");
    self.Record(c, "atomic.load", Recorded(value_), order, sizeof(T));
    return value_;
  }
  operator T() const { return load(); }

  void store(T desired, memory_order order = memory_order_seq_cst) {
    Controller& c = Point(true, "lockstep::sync::atomic::store");
    value_ = desired;
    Record(c, "atomic.store", Recorded(value_), order, sizeof(T));
  }
  T operator=(T desired) {
    store(desired);
    return desired;
  }

  T exchange(T desired, memory_order order = memory_order_seq_cst) {
    return Modify(
        "atomic.exchange", [&](T) { return desired; }, order);
  }

  bool compare_exchange_strong(T& expected, T desired, memory_order success, memory_order failure) {
    return CompareExchange(expected, desired, success, failure, /*weak=*/false);
  }
  bool compare_exchange_strong(T& expected, T desired, memory_order order = memory_order_seq_cst) {
    return CompareExchange(expected, desired, order, internal::FailureOrder(order), false);
  }
  bool compare_exchange_weak(T& expected, T desired, memory_order success, memory_order failure) {
    return CompareExchange(expected, desired, success, failure, /*weak=*/true);
  }
  bool compare_exchange_weak(T& expected, T desired, memory_order order = memory_order_seq_cst) {
    return CompareExchange(expected, desired, order, internal::FailureOrder(order), true);
  }

  void wait(T old, memory_order order = memory_order_seq_cst) const {
    auto& self = const_cast<atomic&>(*this);
    for (;;) {
      Controller& c = self.Point(false, "lockstep::sync::atomic::wait");
      if (!Same(value_, old)) {
        self.Record(c, "atomic.wait", Recorded(value_), order, sizeof(T));
        return;
      }
      if (!self.BlockUntilNotified(c)) return;
    }
  }
  void notify_one() { Notify(false, "lockstep::sync::atomic::notify_one"); }
  void notify_all() { Notify(true, "lockstep::sync::atomic::notify_all"); }

  // --- Integral and floating-point types ------------------------------------

  using difference_type = std::conditional_t<std::is_pointer_v<T>, std::ptrdiff_t, T>;

  T fetch_add(difference_type arg, memory_order order = memory_order_seq_cst) requires(
      internal::AtomicInteger<T> || std::floating_point<T> || std::is_pointer_v<T>) {
    return Modify(
        "atomic.fetch_add", [&](T v) { return static_cast<T>(v + arg); }, order);
  }
  T fetch_sub(difference_type arg, memory_order order = memory_order_seq_cst) requires(
      internal::AtomicInteger<T> || std::floating_point<T> || std::is_pointer_v<T>) {
    return Modify(
        "atomic.fetch_sub", [&](T v) { return static_cast<T>(v - arg); }, order);
  }
  T fetch_and(T arg,
              memory_order order = memory_order_seq_cst) requires internal::AtomicInteger<T> {
    return Modify(
        "atomic.fetch_and", [&](T v) { return static_cast<T>(v & arg); }, order);
  }
  T fetch_or(T arg, memory_order order = memory_order_seq_cst) requires internal::AtomicInteger<T> {
    return Modify(
        "atomic.fetch_or", [&](T v) { return static_cast<T>(v | arg); }, order);
  }
  T fetch_xor(T arg,
              memory_order order = memory_order_seq_cst) requires internal::AtomicInteger<T> {
    return Modify(
        "atomic.fetch_xor", [&](T v) { return static_cast<T>(v ^ arg); }, order);
  }

  T operator++() requires(internal::AtomicInteger<T> || std::is_pointer_v<T>) {
    return fetch_add(1) + 1;
  }
  T operator++(int) requires(internal::AtomicInteger<T> || std::is_pointer_v<T>) {
    return fetch_add(1);
  }
  T operator--() requires(internal::AtomicInteger<T> || std::is_pointer_v<T>) {
    return fetch_sub(1) - 1;
  }
  T operator--(int) requires(internal::AtomicInteger<T> || std::is_pointer_v<T>) {
    return fetch_sub(1);
  }
  T operator+=(difference_type arg) requires(internal::AtomicInteger<T> || std::floating_point<T> ||
                                             std::is_pointer_v<T>) {
    return static_cast<T>(fetch_add(arg) + arg);
  }
  T operator-=(difference_type arg) requires(internal::AtomicInteger<T> || std::floating_point<T> ||
                                             std::is_pointer_v<T>) {
    return static_cast<T>(fetch_sub(arg) - arg);
  }
  T operator&=(T arg) requires internal::AtomicInteger<T> {
    return static_cast<T>(fetch_and(arg) & arg);
  }
  T operator|=(T arg) requires internal::AtomicInteger<T> {
    return static_cast<T>(fetch_or(arg) | arg);
  }
  T operator^=(T arg) requires internal::AtomicInteger<T> {
    return static_cast<T>(fetch_xor(arg) ^ arg);
  }

 private:
  // Object representations compared, as std's compare_exchange does.
  static bool Same(const T& a, const T& b) { return std::memcmp(&a, &b, sizeof(T)) == 0; }

  static std::optional<int64_t> Recorded(const T& value) {
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      return static_cast<int64_t>(value);
    } else if constexpr (std::is_pointer_v<T>) {
      return static_cast<int64_t>(reinterpret_cast<std::uintptr_t>(value));
    } else {
      return std::nullopt;
    }
  }

  template <typename F>
  T Modify(const char* op, F f, memory_order order) {
    Controller& c = Point(true, "lockstep::sync::atomic::fetch_*");
    const T old = value_;
    value_ = f(old);
    Record(c, op, Recorded(value_), order, sizeof(T));
    return old;
  }

  bool CompareExchange(T& expected, T desired, memory_order success, memory_order failure,
                       bool weak) {
    Controller& c = Point(true, "lockstep::sync::atomic::compare_exchange");
    const bool exchanged = Same(value_, expected) && !(weak && SpuriousFailure(c));
    if (exchanged) {
      value_ = desired;
    } else {
      expected = value_;
    }
    Record(c, exchanged ? "atomic.compare_exchange" : "atomic.compare_exchange_failed",
           Recorded(value_), exchanged ? success : failure, sizeof(T));
    return exchanged;
  }

  T value_;
};

// Like std::atomic_flag: clear when constructed (C++20); ATOMIC_FLAG_INIT
// works too.
class atomic_flag : public internal::AtomicBase {
 public:
  atomic_flag(std::source_location created_at = std::source_location::current()) noexcept
      : AtomicBase(created_at) {}
  // For `atomic_flag f = ATOMIC_FLAG_INIT;` ({ 0 }).
  atomic_flag(int set, std::source_location created_at = std::source_location::current()) noexcept
      : AtomicBase(created_at), set_(set != 0) {}
  atomic_flag(const atomic_flag&) = delete;
  atomic_flag& operator=(const atomic_flag&) = delete;

  bool test(memory_order order = memory_order_seq_cst) const {
    auto& self = const_cast<atomic_flag&>(*this);
    Controller& c = self.Point(false, "lockstep::sync::atomic_flag::test");
    self.Record(c, "atomic_flag.test", set_, order, 1);
    return set_;
  }
  bool test_and_set(memory_order order = memory_order_seq_cst) {
    Controller& c = Point(true, "lockstep::sync::atomic_flag::test_and_set");
    const bool was = set_;
    set_ = true;
    Record(c, "atomic_flag.test_and_set", was, order, 1);
    return was;
  }
  void clear(memory_order order = memory_order_seq_cst) {
    Controller& c = Point(true, "lockstep::sync::atomic_flag::clear");
    set_ = false;
    Record(c, "atomic_flag.clear", 0, order, 1);
  }
  void wait(bool old, memory_order order = memory_order_seq_cst) const {
    auto& self = const_cast<atomic_flag&>(*this);
    for (;;) {
      Controller& c = self.Point(false, "lockstep::sync::atomic_flag::wait");
      if (set_ != old) {
        self.Record(c, "atomic_flag.wait", set_, order, 1);
        return;
      }
      if (!self.BlockUntilNotified(c)) return;
    }
  }
  void notify_one() { Notify(false, "lockstep::sync::atomic_flag::notify_one"); }
  void notify_all() { Notify(true, "lockstep::sync::atomic_flag::notify_all"); }

 private:
  bool set_ = false;
};

// std's non-member atomic functions, over these types.
template <typename T>
T atomic_load(const atomic<T>* a) {
  return a->load();
}
template <typename T>
T atomic_load_explicit(const atomic<T>* a, memory_order order) {
  return a->load(order);
}
template <typename T>
void atomic_store(atomic<T>* a, std::type_identity_t<T> desired) {
  a->store(desired);
}
template <typename T>
void atomic_store_explicit(atomic<T>* a, std::type_identity_t<T> desired, memory_order order) {
  a->store(desired, order);
}
template <typename T>
T atomic_exchange(atomic<T>* a, std::type_identity_t<T> desired) {
  return a->exchange(desired);
}
template <typename T>
T atomic_exchange_explicit(atomic<T>* a, std::type_identity_t<T> desired, memory_order order) {
  return a->exchange(desired, order);
}
template <typename T>
bool atomic_compare_exchange_weak(atomic<T>* a, std::type_identity_t<T>* expected,
                                  std::type_identity_t<T> desired) {
  return a->compare_exchange_weak(*expected, desired);
}
template <typename T>
bool atomic_compare_exchange_strong(atomic<T>* a, std::type_identity_t<T>* expected,
                                    std::type_identity_t<T> desired) {
  return a->compare_exchange_strong(*expected, desired);
}
template <typename T>
bool atomic_compare_exchange_weak_explicit(atomic<T>* a, std::type_identity_t<T>* expected,
                                           std::type_identity_t<T> desired, memory_order success,
                                           memory_order failure) {
  return a->compare_exchange_weak(*expected, desired, success, failure);
}
template <typename T>
bool atomic_compare_exchange_strong_explicit(atomic<T>* a, std::type_identity_t<T>* expected,
                                             std::type_identity_t<T> desired, memory_order success,
                                             memory_order failure) {
  return a->compare_exchange_strong(*expected, desired, success, failure);
}
#define LOCKSTEP_SYNC_ATOMIC_FETCH(op)                                                  \
  template <typename T>                                                                 \
  T atomic_fetch_##op(atomic<T>* a, typename atomic<T>::difference_type arg) {          \
    return a->fetch_##op(arg);                                                          \
  }                                                                                     \
  template <typename T>                                                                 \
  T atomic_fetch_##op##_explicit(atomic<T>* a, typename atomic<T>::difference_type arg, \
                                 memory_order order) {                                  \
    return a->fetch_##op(arg, order);                                                   \
  }
LOCKSTEP_SYNC_ATOMIC_FETCH(add)
LOCKSTEP_SYNC_ATOMIC_FETCH(sub)
LOCKSTEP_SYNC_ATOMIC_FETCH(and)
LOCKSTEP_SYNC_ATOMIC_FETCH(or)
LOCKSTEP_SYNC_ATOMIC_FETCH(xor)
#undef LOCKSTEP_SYNC_ATOMIC_FETCH
template <typename T>
void atomic_wait(const atomic<T>* a, typename atomic<T>::value_type old) {
  a->wait(old);
}
template <typename T>
void atomic_wait_explicit(const atomic<T>* a, typename atomic<T>::value_type old,
                          memory_order order) {
  a->wait(old, order);
}
template <typename T>
void atomic_notify_one(atomic<T>* a) {
  a->notify_one();
}
template <typename T>
void atomic_notify_all(atomic<T>* a) {
  a->notify_all();
}
inline bool atomic_flag_test(const atomic_flag* f) { return f->test(); }
inline bool atomic_flag_test_explicit(const atomic_flag* f, memory_order order) {
  return f->test(order);
}
inline bool atomic_flag_test_and_set(atomic_flag* f) { return f->test_and_set(); }
inline bool atomic_flag_test_and_set_explicit(atomic_flag* f, memory_order order) {
  return f->test_and_set(order);
}
inline void atomic_flag_clear(atomic_flag* f) { f->clear(); }
inline void atomic_flag_clear_explicit(atomic_flag* f, memory_order order) { f->clear(order); }
inline void atomic_flag_wait(const atomic_flag* f, bool old) { f->wait(old); }
inline void atomic_flag_wait_explicit(const atomic_flag* f, bool old, memory_order order) {
  f->wait(old, order);
}
inline void atomic_flag_notify_one(atomic_flag* f) { f->notify_one(); }
inline void atomic_flag_notify_all(atomic_flag* f) { f->notify_all(); }

using atomic_bool = atomic<bool>;
using atomic_char = atomic<char>;
using atomic_schar = atomic<signed char>;
using atomic_uchar = atomic<unsigned char>;
using atomic_short = atomic<short>;
using atomic_ushort = atomic<unsigned short>;
using atomic_int = atomic<int>;
using atomic_uint = atomic<unsigned int>;
using atomic_long = atomic<long>;
using atomic_ulong = atomic<unsigned long>;
using atomic_llong = atomic<long long>;
using atomic_ullong = atomic<unsigned long long>;
using atomic_int8_t = atomic<std::int8_t>;
using atomic_uint8_t = atomic<std::uint8_t>;
using atomic_int16_t = atomic<std::int16_t>;
using atomic_uint16_t = atomic<std::uint16_t>;
using atomic_int32_t = atomic<std::int32_t>;
using atomic_uint32_t = atomic<std::uint32_t>;
using atomic_int64_t = atomic<std::int64_t>;
using atomic_uint64_t = atomic<std::uint64_t>;
using atomic_size_t = atomic<std::size_t>;
using atomic_ptrdiff_t = atomic<std::ptrdiff_t>;
using atomic_intptr_t = atomic<std::intptr_t>;
using atomic_uintptr_t = atomic<std::uintptr_t>;
using atomic_intmax_t = atomic<std::intmax_t>;
using atomic_uintmax_t = atomic<std::uintmax_t>;

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_ATOMIC_H_
