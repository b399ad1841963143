// Atomics whose every access is a scheduling point.
#ifndef LOCKSTEP_ATOMIC_H_
#define LOCKSTEP_ATOMIC_H_

#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <source_location>
#include <string_view>
#include <type_traits>

#include "lockstep/internal/controller.h"

namespace lockstep {

// Like std::atomic<T>, for trivially copyable T. Every operation is a
// scheduling point, so the strategy decides how accesses of different
// threads interleave. Sequentially consistent: the memory_order arguments of
// std::atomic are not taken (weak memory is not modelled yet), and
// compare_exchange_weak never fails spuriously.
template <typename T>
class Atomic : public internal::ObjectBase {
  static_assert(std::is_trivially_copyable_v<T>, "Atomic<T> needs a trivially copyable T");

 public:
  using Location = std::source_location;

  explicit Atomic(T initial = T(), std::string_view name = {},
                  Location created_at = Location::current())
      : ObjectBase("atomic", name, created_at), value_(initial) {}

  T load(Location location = Location::current()) const {
    auto& self = const_cast<Atomic&>(*this);
    self.Point(PendingOp::Kind::kRead, "atomic.load", location);
    self.Record("atomic.load", value_, location);
    return value_;
  }

  void store(T value, Location location = Location::current()) {
    Point(PendingOp::Kind::kWrite, "atomic.store", location);
    value_ = value;
    Record("atomic.store", value_, location);
  }

  T exchange(T value, Location location = Location::current()) {
    Point(PendingOp::Kind::kWrite, "atomic.exchange", location);
    T old = value_;
    value_ = value;
    Record("atomic.exchange", value_, location);
    return old;
  }

  // On failure, `expected` receives the current value.
  bool compare_exchange_strong(T& expected, T desired, Location location = Location::current()) {
    Point(PendingOp::Kind::kWrite, "atomic.compare_exchange", location);
    const bool success = Equal(value_, expected);
    if (success) {
      value_ = desired;
    } else {
      expected = value_;
    }
    Record(success ? "atomic.compare_exchange" : "atomic.compare_exchange_failed", value_,
           location);
    return success;
  }

  bool compare_exchange_weak(T& expected, T desired, Location location = Location::current()) {
    return compare_exchange_strong(expected, desired, location);
  }

  T fetch_add(T arg, Location location = Location::current()) requires std::integral<T> {
    return Rmw(
        "atomic.fetch_add", [arg](T v) { return static_cast<T>(v + arg); }, location);
  }
  T fetch_sub(T arg, Location location = Location::current()) requires std::integral<T> {
    return Rmw(
        "atomic.fetch_sub", [arg](T v) { return static_cast<T>(v - arg); }, location);
  }
  T fetch_and(T arg, Location location = Location::current()) requires std::integral<T> {
    return Rmw(
        "atomic.fetch_and", [arg](T v) { return static_cast<T>(v & arg); }, location);
  }
  T fetch_or(T arg, Location location = Location::current()) requires std::integral<T> {
    return Rmw(
        "atomic.fetch_or", [arg](T v) { return static_cast<T>(v | arg); }, location);
  }
  T fetch_xor(T arg, Location location = Location::current()) requires std::integral<T> {
    return Rmw(
        "atomic.fetch_xor", [arg](T v) { return static_cast<T>(v ^ arg); }, location);
  }

  // Convenience operators, as on std::atomic.
  operator T() const { return load(); }
  Atomic& operator=(T value) {
    store(value);
    return *this;
  }
  T operator++() requires std::integral<T> { return static_cast<T>(fetch_add(1) + 1); }
  T operator++(int) requires std::integral<T> { return fetch_add(1); }
  T operator--() requires std::integral<T> { return static_cast<T>(fetch_sub(1) - 1); }
  T operator--(int) requires std::integral<T> { return fetch_sub(1); }
  T operator+=(T arg) requires std::integral<T> { return static_cast<T>(fetch_add(arg) + arg); }
  T operator-=(T arg) requires std::integral<T> { return static_cast<T>(fetch_sub(arg) - arg); }

 private:
  static bool Equal(const T& a, const T& b) {
    if constexpr (std::equality_comparable<T>) {
      return a == b;
    } else {
      return std::memcmp(&a, &b, sizeof(T)) == 0;
    }
  }

  void Point(PendingOp::Kind kind, const char* api, Location location) {
    internal::Controller& c = internal::Controller::Current(api);
    c.SchedulePoint(PendingOp{kind, Id(c)}, location);
  }

  void Record(const char* op, const T& value, Location location) {
    internal::Controller& c = *internal::Controller::CurrentOrNull();
    if (!c.recording()) return;
    std::optional<int64_t> recorded;
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      recorded = static_cast<int64_t>(value);
    } else if constexpr (std::is_pointer_v<T>) {
      recorded = static_cast<int64_t>(reinterpret_cast<std::uintptr_t>(value));
    }
    c.Record(op, Id(c), location, recorded);
  }

  template <typename F>
  T Rmw(const char* op, F f, Location location) {
    Point(PendingOp::Kind::kWrite, op, location);
    T old = value_;
    value_ = f(old);
    Record(op, value_, location);
    return old;
  }

  T value_;
};

}  // namespace lockstep

#endif  // LOCKSTEP_ATOMIC_H_
