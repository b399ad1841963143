// lockstep::sync futures: std::promise, std::future, std::shared_future,
// std::packaged_task and std::async with the standard signatures, whose
// every synchronizing operation is a Lockstep scheduling point. Code written
// against std:: switches by changing one namespace alias (see
// lockstep/sync.h):
//
//   namespace mylib { namespace sync = ::std; }             // production
//   namespace mylib { namespace sync = ::lockstep::sync; }  // tests
//
//   sync::promise<int> p;
//   sync::future<int> f = p.get_future();
//   sync::thread t([&] { p.set_value(42); });
//   CHECK(f.get() == 42);
//
// Errors are std's: std::future_error with std::future_errc codes, thrown
// where std throws them (setting a promise twice, a second get_future(),
// an operation on an object without a shared state, a broken promise). An
// uncaught exception in a logical thread fails the iteration, so a promise
// set twice by a race is found and reported.
//
// Differences from std:
//  * set_value, set_exception, get, wait* are scheduling points and work only
//    inside a Lockstep run (outside one they throw lockstep::UsageError).
//    Constructing, moving, valid(), share() and get_future() work anywhere.
//  * Timed waits use the iteration's virtual time (lockstep/sync/chrono.h).
//  * async with the default policy (async | deferred) picks the policy as a
//    controlled nondeterministic choice, so both behaviours are explored and
//    replays reproduce the one taken; code that polls a possibly deferred
//    future with wait_for in a loop is caught.
//  * The *_at_thread_exit functions act at once, like their plain forms.
//  * set_exception with a null exception_ptr fails the iteration as MISUSE
//    (undefined behaviour in std).
//  * The allocator constructors ignore their allocator.
#ifndef LOCKSTEP_SYNC_FUTURE_H_
#define LOCKSTEP_SYNC_FUTURE_H_

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/functional/function_ref.h"
#include "lockstep/internal/controller.h"
#include "lockstep/sync/chrono.h"
#include "lockstep/thread.h"

namespace lockstep::sync {

// The error types and enums are std's.
using std::future_category;
using std::future_errc;
using std::future_error;
using std::future_status;
using std::launch;
using std::make_error_code;
using std::make_error_condition;

template <typename R>
class future;
template <typename R>
class shared_future;
template <typename R>
class promise;
template <typename Signature>
class packaged_task;

namespace internal {

// The shared state of a promise/packaged_task/async and its futures: a
// Lockstep object of kind "future". Holds whether it is ready, the stored
// exception, and for async/deferred results the thread to join or the
// function to run. Shared by std::shared_ptr (one fiber runs at a time);
// `futures` counts the future/shared_future objects referring to it, the
// last of which joins an async thread.
class FutureStateBase : public ::lockstep::internal::ObjectBase {
 public:
  explicit FutureStateBase(std::source_location created_at);

  // Producer side. A scheduling point; then throws
  // future_error(promise_already_satisfied) if the state is ready, else runs
  // `store` (which stores the value), makes the state ready, wakes its
  // waiters and records `event` (with `value`, if any).
  void Satisfy(const char* api, const char* event, absl::FunctionRef<void()> store,
               std::optional<int64_t> value, std::source_location location);
  // The same storing `error`; a null `error` is a MISUSE failure.
  void SetException(const char* api, const char* event, std::exception_ptr error,
                    std::source_location location);
  // A packaged_task starts running: a scheduling point, then throws
  // future_error(promise_already_satisfied) if it already ran.
  void BeginTask(const char* api, std::source_location location);
  // The promise or task is destroyed (or reset) unsatisfied: stores
  // future_error(broken_promise) and makes the state ready. A scheduling
  // point only when a future can observe it and a run is going on; never
  // throws.
  void Abandon(const char* event, std::source_location location) noexcept;

  // Consumer side. Waits until the state is ready: runs a deferred function
  // in the calling thread, joins an async thread. A scheduling point.
  void Wait(const char* api, const char* event, std::source_location location);
  // Waits until ready or `deadline` (virtual): returns deferred at once for
  // a deferred function not yet started. A scheduling point.
  std::future_status WaitUntil(const char* api, VirtualClock::time_point deadline,
                               std::source_location location);
  // After Wait: rethrows the stored exception; throws
  // future_error(broken_promise) if the wait gave up (a failed iteration).
  void ThrowIfFailed() const;

  // For async: runs the function now (a deferred one) or in a new logical
  // thread as `policy` says (both bits: a controlled choice). `state` is the
  // state itself.
  static void Launch(const std::shared_ptr<FutureStateBase>& state, std::launch policy,
                     std::source_location location);

  // get_future(): throws future_error(future_already_retrieved) the second
  // time.
  void Retrieve();
  void AddFuture() { ++futures_; }
  // The last future releasing an async state joins its thread (unless
  // outside the run that spawned it or after a failure). Never throws.
  void ReleaseFuture() noexcept;

  bool ready() const { return ready_; }

 protected:
  // The async or deferred function: runs it and stores its result.
  virtual void RunTask() {}

 private:
  std::string DescribeState(const ::lockstep::internal::Controller& c) const override;
  // Waits until ready_ (Block in a loop); false if the wait gave up.
  bool BlockUntilReady(::lockstep::internal::Controller& c, uint32_t id, const char* op,
                       std::source_location location);
  // Joins the async thread if nobody has.
  void JoinAsync(::lockstep::internal::Controller& c, std::source_location location);

  bool ready_ = false;
  bool retrieved_ = false;
  bool task_started_ = false;      // packaged_task::operator() ran
  bool deferred_ = false;          // a deferred async function...
  bool deferred_started_ = false;  // ...which a wait started
  bool async_ = false;             // an async function in thread_...
  bool joined_ = false;            // ...which has been (or is being) joined
  uint64_t async_epoch_ = 0;       // the iteration that spawned thread_
  ::lockstep::Thread thread_;
  uint32_t futures_ = 0;
  std::exception_ptr error_;
};

// A value worth recording in a trace event (integers, enums).
template <typename T>
std::optional<int64_t> EventValue(const T& value) {
  if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
    return static_cast<int64_t>(value);
  } else {
    return std::nullopt;
  }
}

// The shared state with storage for the result.
template <typename R>
class FutureState : public FutureStateBase {
 public:
  using FutureStateBase::FutureStateBase;
  template <typename... A>
  void SetValue(const char* api, const char* event, std::source_location location, A&&... args) {
    std::optional<int64_t> recorded;
    if constexpr (sizeof...(A) == 1) recorded = EventValue(args...);
    Satisfy(
        api, event, [&] { value_.emplace(std::forward<A>(args)...); }, recorded, location);
  }
  R& value() { return *value_; }

 private:
  std::optional<R> value_;
};

template <typename R>
class FutureState<R&> : public FutureStateBase {
 public:
  using FutureStateBase::FutureStateBase;
  void SetValue(const char* api, const char* event, std::source_location location, R& value) {
    Satisfy(
        api, event, [&] { value_ = std::addressof(value); }, std::nullopt, location);
  }
  R& value() { return *value_; }

 private:
  R* value_ = nullptr;
};

template <>
class FutureState<void> : public FutureStateBase {
 public:
  using FutureStateBase::FutureStateBase;
  void SetValue(const char* api, const char* event, std::source_location location) {
    Satisfy(
        api, event, [] {}, std::nullopt, location);
  }
};

// Runs `fn` and stores what it returns or throws in `state` (events
// "<prefix>.set_value" / "<prefix>.set_exception" are given).
template <typename R, typename Fn>
void RunAndStore(FutureState<R>& state, Fn&& fn, const char* api, const char* set_value,
                 const char* set_exception, std::source_location location) {
  // Stored outside the catch block: a scheduling point inside one would
  // switch fibers with this thread's exception being handled.
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    try {
      std::forward<Fn>(fn)();
    } catch (...) {
      error = std::current_exception();
    }
    if (error == nullptr) return state.SetValue(api, set_value, location);
  } else if constexpr (std::is_reference_v<R>) {
    std::remove_reference_t<R>* result = nullptr;
    try {
      result = std::addressof(static_cast<R>(std::forward<Fn>(fn)()));
    } catch (...) {
      error = std::current_exception();
    }
    if (error == nullptr) return state.SetValue(api, set_value, location, *result);
  } else {
    std::optional<R> result;
    try {
      result.emplace(std::forward<Fn>(fn)());
    } catch (...) {
      error = std::current_exception();
    }
    if (error == nullptr) return state.SetValue(api, set_value, location, std::move(*result));
  }
  state.SetException(api, set_exception, std::move(error), location);
}

// The state of an async call: the bound function, run once.
template <typename R, typename Fn>
class AsyncState : public FutureState<R> {
 public:
  AsyncState(Fn fn, std::source_location created_at)
      : FutureState<R>(created_at), fn_(std::move(fn)) {}

 private:
  void RunTask() override {
    RunAndStore(*this, std::move(*fn_), "lockstep::sync::async", "async.set_value",
                "async.set_exception", std::source_location::current());
    fn_.reset();  // the function's copies die when it has run, as in std
  }
  std::optional<Fn> fn_;
};

// A reference to a shared state held by a future or shared_future (counted
// in FutureStateBase::futures).
template <typename R>
class FutureRef {
 public:
  FutureRef() noexcept = default;
  explicit FutureRef(std::shared_ptr<FutureState<R>> state) noexcept : state_(std::move(state)) {
    if (state_ != nullptr) state_->AddFuture();
  }
  FutureRef(const FutureRef& other) noexcept : FutureRef(other.state_) {}
  FutureRef(FutureRef&& other) noexcept : state_(std::move(other.state_)) {}
  FutureRef& operator=(const FutureRef& other) noexcept {
    if (this != &other) *this = FutureRef(other);
    return *this;
  }
  FutureRef& operator=(FutureRef&& other) noexcept {
    if (this != &other) {
      Release();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~FutureRef() { Release(); }

  FutureState<R>* get() const noexcept { return state_.get(); }
  // The state, or throws future_error(no_state).
  FutureState<R>& checked() const {
    if (state_ == nullptr) throw std::future_error(std::future_errc::no_state);
    return *state_;
  }

 private:
  void Release() noexcept {
    if (state_ == nullptr) return;
    std::shared_ptr<FutureState<R>> state = std::move(state_);
    state->ReleaseFuture();
  }
  std::shared_ptr<FutureState<R>> state_;
};

// Makes futures from shared states (their constructor is private).
struct FutureAccess {
  template <typename R>
  static future<R> Make(std::shared_ptr<FutureState<R>> state) {
    return future<R>(FutureRef<R>(std::move(state)));
  }
};

// A deadline for a timed wait; the Current call comes first so that a wait
// outside a run throws UsageError naming `api`.
template <typename Clock, typename Duration>
VirtualClock::time_point WaitDeadline(const char* api,
                                      const std::chrono::time_point<Clock, Duration>& deadline) {
  ::lockstep::internal::Controller::Current(api);
  return ToVirtual(deadline);
}
template <typename Rep, typename Period>
VirtualClock::time_point WaitTimeout(const char* api,
                                     const std::chrono::duration<Rep, Period>& timeout) {
  ::lockstep::internal::Controller::Current(api);
  return After(timeout);
}

// The wait/valid members common to future and shared_future.
template <typename R>
class FutureBase {
 public:
  // Whether this object refers to a shared state.
  bool valid() const noexcept { return ref_.get() != nullptr; }

  // Waits until the result is ready (running a deferred function in this
  // thread, joining an async one). Throws future_error(no_state) when
  // !valid().
  void wait() const {
    ::lockstep::internal::Controller::Current("lockstep::sync::future::wait");
    ref_.checked().Wait("lockstep::sync::future::wait", "future.wait",
                        std::source_location::current());
  }

  // Waits until the result is ready or `timeout` of virtual time passes.
  // Returns deferred at once when the result comes from a deferred function
  // not started yet.
  template <typename Rep, typename Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    const char* api = "lockstep::sync::future::wait_for";
    const VirtualClock::time_point deadline = WaitTimeout(api, timeout);
    return ref_.checked().WaitUntil(api, deadline, std::source_location::current());
  }

  // The same with a deadline on any clock (see sync::internal::ToVirtual).
  template <typename Clock, typename Duration>
  std::future_status wait_until(const std::chrono::time_point<Clock, Duration>& deadline) const {
    const char* api = "lockstep::sync::future::wait_until";
    const VirtualClock::time_point virtual_deadline = WaitDeadline(api, deadline);
    return ref_.checked().WaitUntil(api, virtual_deadline, std::source_location::current());
  }

 protected:
  FutureBase() noexcept = default;
  explicit FutureBase(FutureRef<R> ref) noexcept : ref_(std::move(ref)) {}

  FutureRef<R> ref_;
};

}  // namespace internal

// Like std::future<R>: the single consumer of a shared state. get() waits,
// then moves the result out (R&: returns the reference; void: nothing) or
// rethrows the stored exception, and leaves the future invalid. The
// destructor of the last future of an async (launch::async) call waits
// until its thread ends.
template <typename R>
class future : public internal::FutureBase<R> {
 public:
  future() noexcept = default;
  future(future&&) noexcept = default;
  future& operator=(future&&) noexcept = default;
  future(const future&) = delete;
  future& operator=(const future&) = delete;
  ~future() = default;

  // Transfers the shared state to a shared_future; this one becomes invalid.
  shared_future<R> share() noexcept { return shared_future<R>(std::move(*this)); }

  // Waits for the result and returns it (or rethrows the stored exception).
  // Throws future_error(no_state) when !valid(). A scheduling point.
  R get() {
    ::lockstep::internal::Controller::Current("lockstep::sync::future::get");
    internal::FutureRef<R> ref = std::move(this->ref_);  // invalid from now on
    internal::FutureState<R>& state = ref.checked();
    state.Wait("lockstep::sync::future::get", "future.get", std::source_location::current());
    state.ThrowIfFailed();
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return state.value();
    } else {
      return std::move(state.value());
    }
  }

 private:
  friend struct internal::FutureAccess;
  friend class shared_future<R>;
  explicit future(internal::FutureRef<R> ref) noexcept : internal::FutureBase<R>(std::move(ref)) {}
};

// Like std::shared_future<R>: a copyable consumer; any number of copies (in
// any threads) may wait and get. get() returns const R& (R&: R&; void:
// nothing) and leaves the object valid.
template <typename R>
class shared_future : public internal::FutureBase<R> {
 public:
  shared_future() noexcept = default;
  shared_future(const shared_future&) noexcept = default;
  shared_future(shared_future&&) noexcept = default;
  shared_future(future<R>&& other) noexcept  // NOLINT: implicit as in std
      : internal::FutureBase<R>(std::move(other.ref_)) {}
  shared_future& operator=(const shared_future&) noexcept = default;
  shared_future& operator=(shared_future&&) noexcept = default;
  ~shared_future() = default;

  // Waits for the result and returns it (or rethrows the stored exception).
  // Throws future_error(no_state) when !valid(). A scheduling point.
  decltype(auto) get() const {
    ::lockstep::internal::Controller::Current("lockstep::sync::shared_future::get");
    internal::FutureState<R>& state = this->ref_.checked();
    state.Wait("lockstep::sync::shared_future::get", "future.get", std::source_location::current());
    state.ThrowIfFailed();
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return static_cast<R>(state.value());
    } else {
      return static_cast<const R&>(state.value());
    }
  }
};

namespace internal {

// What promise<R>, promise<R&> and promise<void> share.
template <typename R>
class PromiseBase {
 public:
  PromiseBase() : state_(std::make_shared<FutureState<R>>(std::source_location::current())) {}
  template <typename Alloc>
  PromiseBase(std::allocator_arg_t, const Alloc&) : PromiseBase() {}
  PromiseBase(PromiseBase&& other) noexcept = default;
  PromiseBase& operator=(PromiseBase&& other) noexcept {
    if (this != &other) {
      Abandon();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  PromiseBase(const PromiseBase&) = delete;
  PromiseBase& operator=(const PromiseBase&) = delete;
  // An unsatisfied promise stores future_error(broken_promise).
  ~PromiseBase() { Abandon(); }

  void swap(PromiseBase& other) noexcept { state_.swap(other.state_); }

  // The future of this promise's result. Throws future_error:
  // future_already_retrieved the second time, no_state after a move.
  future<R> get_future() {
    State().Retrieve();
    return FutureAccess::Make(state_);
  }

  // Stores `error`. A scheduling point; throws future_error:
  // promise_already_satisfied if a value or exception is stored already,
  // no_state after a move.
  void set_exception(std::exception_ptr error) {
    State().SetException("lockstep::sync::promise::set_exception", "promise.set_exception",
                         std::move(error), std::source_location::current());
  }
  // Like set_exception (not deferred to the thread's exit).
  void set_exception_at_thread_exit(std::exception_ptr error) {
    State().SetException("lockstep::sync::promise::set_exception_at_thread_exit",
                         "promise.set_exception", std::move(error),
                         std::source_location::current());
  }

 protected:
  FutureState<R>& State() const {
    if (state_ == nullptr) throw std::future_error(std::future_errc::no_state);
    return *state_;
  }

 private:
  void Abandon() noexcept {
    if (state_ != nullptr && !state_->ready()) {
      state_->Abandon("promise.broken", std::source_location::current());
    }
  }
  std::shared_ptr<FutureState<R>> state_;
};

}  // namespace internal

// Like std::promise<R>: the producer of a result that a future<R> gets.
// set_value and set_exception are scheduling points that wake the waiters.
template <typename R>
class promise : public internal::PromiseBase<R> {
 public:
  using internal::PromiseBase<R>::PromiseBase;
  promise() = default;
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) noexcept = default;

  void swap(promise& other) noexcept { internal::PromiseBase<R>::swap(other); }

  // Stores `value`. A scheduling point; throws future_error:
  // promise_already_satisfied if a value or exception is stored already,
  // no_state after a move.
  void set_value(const R& value) { Set("lockstep::sync::promise::set_value", value); }
  void set_value(R&& value) { Set("lockstep::sync::promise::set_value", std::move(value)); }
  // Like set_value (not deferred to the thread's exit).
  void set_value_at_thread_exit(const R& value) {
    Set("lockstep::sync::promise::set_value_at_thread_exit", value);
  }
  void set_value_at_thread_exit(R&& value) {
    Set("lockstep::sync::promise::set_value_at_thread_exit", std::move(value));
  }

 private:
  template <typename V>
  void Set(const char* api, V&& value) {
    this->State().SetValue(api, "promise.set_value", std::source_location::current(),
                           std::forward<V>(value));
  }
};

template <typename R>
class promise<R&> : public internal::PromiseBase<R&> {
 public:
  using internal::PromiseBase<R&>::PromiseBase;
  promise() = default;
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) noexcept = default;

  void swap(promise& other) noexcept { internal::PromiseBase<R&>::swap(other); }

  // Stores a reference to `value` (see promise<R>::set_value).
  void set_value(R& value) {
    this->State().SetValue("lockstep::sync::promise::set_value", "promise.set_value",
                           std::source_location::current(), value);
  }
  // Like set_value (not deferred to the thread's exit).
  void set_value_at_thread_exit(R& value) {
    this->State().SetValue("lockstep::sync::promise::set_value_at_thread_exit", "promise.set_value",
                           std::source_location::current(), value);
  }
};

template <>
class promise<void> : public internal::PromiseBase<void> {
 public:
  using internal::PromiseBase<void>::PromiseBase;
  promise() = default;
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) noexcept = default;

  void swap(promise& other) noexcept { internal::PromiseBase<void>::swap(other); }

  // Makes the state ready (see promise<R>::set_value).
  void set_value() {
    State().SetValue("lockstep::sync::promise::set_value", "promise.set_value",
                     std::source_location::current());
  }
  // Like set_value (not deferred to the thread's exit).
  void set_value_at_thread_exit() {
    State().SetValue("lockstep::sync::promise::set_value_at_thread_exit", "promise.set_value",
                     std::source_location::current());
  }
};

template <typename R>
void swap(promise<R>& a, promise<R>& b) noexcept {
  a.swap(b);
}

// Like std::packaged_task<R(Args...)>: a callable whose result (or
// exception) goes to a future. operator() is a scheduling point before the
// function runs and another when the result is stored; calling it twice
// throws future_error(promise_already_satisfied). Destroying (or reset()ting)
// a task that has not run stores future_error(broken_promise).
template <typename R, typename... Args>
class packaged_task<R(Args...)> {
 public:
  packaged_task() noexcept = default;

  // Stores a decayed copy of `f` (which may be move-only).
  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, packaged_task> &&
           std::is_invocable_r_v<R, std::decay_t<F>&, Args...>) explicit packaged_task(F&& f)
      : fn_(std::make_unique<Callable<std::decay_t<F>>>(std::forward<F>(f))),
        state_(std::make_shared<internal::FutureState<R>>(std::source_location::current())) {}

  packaged_task(packaged_task&&) noexcept = default;
  packaged_task& operator=(packaged_task&& other) noexcept {
    if (this != &other) {
      Abandon();
      fn_ = std::move(other.fn_);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  packaged_task(const packaged_task&) = delete;
  packaged_task& operator=(const packaged_task&) = delete;
  ~packaged_task() { Abandon(); }

  // Whether the task has a shared state (false after a move).
  bool valid() const noexcept { return state_ != nullptr; }
  void swap(packaged_task& other) noexcept {
    fn_.swap(other.fn_);
    state_.swap(other.state_);
  }

  // The future of the task's result. Throws future_error:
  // future_already_retrieved the second time, no_state when !valid().
  future<R> get_future() {
    State().Retrieve();
    return internal::FutureAccess::Make(state_);
  }

  // Calls the function with `args` and stores its result or exception.
  // Throws future_error: promise_already_satisfied if it ran already,
  // no_state when !valid().
  void operator()(Args... args) {
    Run("lockstep::sync::packaged_task::operator()", std::forward<Args>(args)...);
  }
  // Like operator() (the state is made ready at once, not at thread exit).
  void make_ready_at_thread_exit(Args... args) {
    Run("lockstep::sync::packaged_task::make_ready_at_thread_exit", std::forward<Args>(args)...);
  }

  // Abandons the current state (broken_promise if the task has not run) and
  // starts a new one with the same function, so the task can run again.
  // Throws future_error(no_state) when !valid().
  void reset() {
    State();
    Abandon();
    state_ = std::make_shared<internal::FutureState<R>>(std::source_location::current());
  }

 private:
  struct CallableBase {
    virtual ~CallableBase() = default;
    virtual R Call(Args&&... args) = 0;
  };
  template <typename F>
  struct Callable final : CallableBase {
    template <typename G>
    explicit Callable(G&& g) : f(std::forward<G>(g)) {}
    R Call(Args&&... args) override {
      if constexpr (std::is_void_v<R>) {
        std::invoke(f, std::forward<Args>(args)...);
      } else {
        return std::invoke(f, std::forward<Args>(args)...);
      }
    }
    F f;
  };

  internal::FutureState<R>& State() const {
    if (state_ == nullptr) throw std::future_error(std::future_errc::no_state);
    return *state_;
  }
  void Run(const char* api, Args&&... args) {
    internal::FutureState<R>& state = State();
    const std::source_location location = std::source_location::current();
    state.BeginTask(api, location);
    internal::RunAndStore(
        state, [&]() -> R { return fn_->Call(std::forward<Args>(args)...); }, api,
        "packaged_task.set_value", "packaged_task.set_exception", location);
  }
  void Abandon() noexcept {
    if (state_ != nullptr && !state_->ready()) {
      state_->Abandon("packaged_task.broken", std::source_location::current());
    }
  }

  std::unique_ptr<CallableBase> fn_;
  std::shared_ptr<internal::FutureState<R>> state_;
};

template <typename R, typename... Args>
void swap(packaged_task<R(Args...)>& a, packaged_task<R(Args...)>& b) noexcept {
  a.swap(b);
}

namespace internal {
// The call signature of a callable's (non-overloaded) operator().
template <typename Member>
struct CallSignature;
template <typename R, typename C, typename... Args>
struct CallSignature<R (C::*)(Args...)> {
  using type = R(Args...);
};
template <typename R, typename C, typename... Args>
struct CallSignature<R (C::*)(Args...) const> {
  using type = R(Args...);
};
template <typename R, typename C, typename... Args>
struct CallSignature<R (C::*)(Args...)&> {
  using type = R(Args...);
};
template <typename R, typename C, typename... Args>
struct CallSignature<R (C::*)(Args...) const&> {
  using type = R(Args...);
};
template <typename R, typename C, typename... Args>
struct CallSignature<R (C::*)(Args...) noexcept> {
  using type = R(Args...);
};
template <typename R, typename C, typename... Args>
struct CallSignature<R (C::*)(Args...) const noexcept> {
  using type = R(Args...);
};
}  // namespace internal

// std's deduction guides: from a function pointer, and from a callable
// with one operator().
template <typename R, typename... Args>
packaged_task(R (*)(Args...)) -> packaged_task<R(Args...)>;
template <typename F,
          typename Signature = typename internal::CallSignature<decltype(&F::operator())>::type>
packaged_task(F) -> packaged_task<Signature>;

// Like std::async: runs f(args...) (decayed copies) and returns the future
// of its result. launch::async runs it in a new logical thread (named
// "async"), joined by the first wait that sees the result ready or by the
// destructor of the last future referring to it (which therefore waits);
// launch::deferred runs it in the thread that first calls get or wait
// (wait_for/wait_until return future_status::deferred until then); with
// both bits, the policy is a controlled choice of the strategy. Only inside
// a run (UsageError otherwise). A scheduling point.
template <typename F, typename... Args>
[[nodiscard]] future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> async(
    std::launch policy, F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  const std::source_location location = std::source_location::current();
  ::lockstep::internal::Controller::Current("lockstep::sync::async");
  auto bound = [fn = std::decay_t<F>(std::forward<F>(f)),
                bound_args =
                    std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)]() mutable -> R {
    return std::apply(std::move(fn), std::move(bound_args));
  };
  auto state =
      std::make_shared<internal::AsyncState<R, decltype(bound)>>(std::move(bound), location);
  internal::FutureStateBase::Launch(state, policy, location);
  return internal::FutureAccess::Make<R>(std::move(state));
}

// async with the default policy, launch::async | launch::deferred.
template <typename F, typename... Args>
requires(!std::is_same_v<std::decay_t<F>, std::launch>)
    [[nodiscard]] future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> async(
        F&& f, Args&&... args) {
  return ::lockstep::sync::async(std::launch::async | std::launch::deferred, std::forward<F>(f),
                                 std::forward<Args>(args)...);
}

}  // namespace lockstep::sync

// As for std::promise: a promise uses an allocator (which it ignores).
template <typename R, typename Alloc>
struct std::uses_allocator<lockstep::sync::promise<R>, Alloc> : std::true_type {};

#endif  // LOCKSTEP_SYNC_FUTURE_H_
