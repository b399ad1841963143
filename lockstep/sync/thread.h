// lockstep::sync::thread, jthread and this_thread (see lockstep/sync.h):
// std's threads as Lockstep logical threads.
#ifndef LOCKSTEP_SYNC_THREAD_H_
#define LOCKSTEP_SYNC_THREAD_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <source_location>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "lockstep/sync/chrono.h"
#include "lockstep/sync/stop_token.h"
#include "lockstep/thread.h"
#include "lockstep/time.h"

namespace lockstep::sync {

namespace internal {
struct ThreadIds;
}  // namespace internal

// Like std::thread: a logical thread of the run (lockstep::spawn). The
// strategy decides when it starts and runs. Where std calls std::terminate
// (destroying or assigning over a joinable thread) the iteration fails as
// MISUSE; joining a thread that is not joinable is MISUSE too (std throws
// std::system_error).
class thread {
 public:
  // Like std::thread::id: ordered, hashable, printable ("thread 3").
  class id {
   public:
    id() noexcept = default;
    friend bool operator==(id, id) noexcept = default;
    friend std::strong_ordering operator<=>(id, id) noexcept = default;
    template <typename CharT, typename Traits>
    friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& out,
                                                         id value) {
      if (value.plus_one_ == 0) return out << "thread::id of a non-executing thread";
      return out << "thread " << value.plus_one_ - 1;
    }

   private:
    friend class thread;
    friend struct std::hash<id>;
    friend struct internal::ThreadIds;
    explicit id(uint32_t thread) : plus_one_(thread + 1) {}
    uint32_t plus_one_ = 0;  // 0: no thread
  };
  // The logical thread's number in the iteration (0 is the test body).
  using native_handle_type = uint32_t;

  thread() noexcept = default;
  template <typename F, typename... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, thread>) explicit thread(F&& f, Args&&... args)
      : handle_(spawn(Bind(std::forward<F>(f), std::forward<Args>(args)...))) {}
  thread(thread&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  thread& operator=(thread&& other);
  ~thread();
  thread(const thread&) = delete;
  thread& operator=(const thread&) = delete;

  bool joinable() const noexcept { return handle_.valid(); }
  id get_id() const noexcept { return joinable() ? id(handle_.id()) : id(); }
  native_handle_type native_handle() { return handle_.id(); }
  // std's value (the machine's); it does not limit the logical threads.
  static unsigned int hardware_concurrency() noexcept {
    return std::thread::hardware_concurrency();
  }

  void join();
  // The thread runs on unjoined; the iteration does not wait for it.
  void detach();
  void swap(thread& other) noexcept { std::swap(handle_, other.handle_); }
  friend void swap(thread& a, thread& b) noexcept { a.swap(b); }

 private:
  // `f(args...)` with std::thread's copies of f and args (decay-copied in
  // the calling thread, moved into the call), as a copyable function.
  template <typename F, typename... Args>
  static std::function<void()> Bind(F&& f, Args&&... args) {
    auto bound = std::make_shared<std::tuple<std::decay_t<F>, std::decay_t<Args>...>>(
        std::forward<F>(f), std::forward<Args>(args)...);
    return [bound] {
      std::apply([](auto&&... call) { std::invoke(std::move(call)...); }, std::move(*bound));
    };
  }
  // Fails the iteration when a joinable thread is dropped (`what`).
  void CheckNotJoinable(const char* what);

  Thread handle_;
};

// Like std::jthread: joins when destroyed, after requesting a stop; a
// function taking a stop_token first gets the thread's.
class jthread {
 public:
  using id = thread::id;
  using native_handle_type = thread::native_handle_type;

  jthread() noexcept : source_(nostopstate) {}
  template <typename F, typename... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, jthread>) explicit jthread(F&& f, Args&&... args)
      : source_() {
    if constexpr (std::is_invocable_v<std::decay_t<F>, stop_token, std::decay_t<Args>...>) {
      thread_ = thread(std::forward<F>(f), source_.get_token(), std::forward<Args>(args)...);
    } else {
      thread_ = thread(std::forward<F>(f), std::forward<Args>(args)...);
    }
  }
  jthread(jthread&& other) noexcept = default;
  jthread& operator=(jthread&& other) {
    if (this != &other) {
      Stop();
      thread_ = std::move(other.thread_);
      source_ = std::move(other.source_);
    }
    return *this;
  }
  ~jthread() { Stop(); }
  jthread(const jthread&) = delete;
  jthread& operator=(const jthread&) = delete;

  bool joinable() const noexcept { return thread_.joinable(); }
  id get_id() const noexcept { return thread_.get_id(); }
  native_handle_type native_handle() { return thread_.native_handle(); }
  static unsigned int hardware_concurrency() noexcept { return thread::hardware_concurrency(); }
  void join() { thread_.join(); }
  void detach() { thread_.detach(); }
  void swap(jthread& other) noexcept {
    thread_.swap(other.thread_);
    source_.swap(other.source_);
  }
  friend void swap(jthread& a, jthread& b) noexcept { a.swap(b); }

  stop_source get_stop_source() noexcept { return source_; }
  stop_token get_stop_token() const noexcept { return source_.get_token(); }
  bool request_stop() { return source_.request_stop(); }

 private:
  void Stop() {
    if (!joinable()) return;
    request_stop();
    join();
  }

  thread thread_;
  stop_source source_;
};

namespace internal {
struct ThreadIds {
  static thread::id Of(uint32_t logical_thread) { return thread::id(logical_thread); }
};
}  // namespace internal

namespace this_thread {

// The calling logical thread's id (only inside a run).
inline thread::id get_id() { return internal::ThreadIds::Of(this_thread_id()); }

// A scheduling point where the strategy may run another thread (PCT treats
// the caller as waiting for others).
inline void yield() { ::lockstep::yield(std::source_location::current()); }

// Sleeps in virtual time: nothing really waits.
template <typename Rep, typename Period>
void sleep_for(const std::chrono::duration<Rep, Period>& duration) {
  ::lockstep::sleep_until(internal::After(duration), std::source_location::current());
}
template <typename Clock, typename Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& deadline) {
  ::lockstep::sleep_until(internal::ToVirtual(deadline), std::source_location::current());
}

}  // namespace this_thread

}  // namespace lockstep::sync

template <>
struct std::hash<lockstep::sync::thread::id> {
  size_t operator()(lockstep::sync::thread::id value) const noexcept {
    return std::hash<uint32_t>()(value.plus_one_);
  }
};

#endif  // LOCKSTEP_SYNC_THREAD_H_
