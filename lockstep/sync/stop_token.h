// lockstep::sync::stop_token, stop_source and stop_callback: std's
// cooperative cancellation, with stop requests and callback registration as
// scheduling points (see lockstep/sync.h). std's own would wait for a
// callback running in another thread with a real semaphore, which stalls a
// run; these wait as a Lockstep thread does.
#ifndef LOCKSTEP_SYNC_STOP_TOKEN_H_
#define LOCKSTEP_SYNC_STOP_TOKEN_H_

#include <list>
#include <memory>
#include <source_location>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "lockstep/internal/controller.h"

namespace lockstep::sync {

using nostopstate_t = std::nostopstate_t;
inline constexpr nostopstate_t nostopstate{};

template <typename Callback>
class stop_callback;

namespace internal {

// A registered stop_callback, type-erased.
struct StopCallbackNode {
  virtual void Run() = 0;
  virtual ~StopCallbackNode() = default;
};

// The state shared by a stop_source and its tokens and callbacks.
class StopState : public ::lockstep::internal::ObjectBase {
 public:
  StopState() : ObjectBase("stop_source", {}, std::source_location::current()) {}
  uint32_t IdIn(::lockstep::internal::Controller& c) { return Id(c); }

  // Reads the flag; a scheduling point inside a run (and a plain read
  // outside one, so tokens can be queried anywhere).
  bool Requested();
  // Sets the flag and runs the callbacks in the calling thread; false when
  // it was set already.
  bool Request();
  // Registers `node`, or runs it now when a stop was requested; true when
  // registered.
  bool Register(StopCallbackNode* node);
  // Unregisters `node`, waiting for it to finish when another thread runs it.
  void Unregister(StopCallbackNode* node);

  int sources = 0;  // stop_sources sharing the state (for stop_possible)

 private:
  bool requested_ = false;
  std::list<StopCallbackNode*> callbacks_;
  StopCallbackNode* running_ = nullptr;  // the callback request_stop runs now
  uint32_t running_thread_ = ::lockstep::internal::kNoThread;
};

}  // namespace internal

// Like std::stop_token.
class stop_token {
 public:
  stop_token() noexcept = default;

  bool stop_requested() const { return state_ != nullptr && state_->Requested(); }
  bool stop_possible() const noexcept {
    return state_ != nullptr && (state_->sources > 0 || state_->Requested());
  }
  void swap(stop_token& other) noexcept { state_.swap(other.state_); }
  friend bool operator==(const stop_token& a, const stop_token& b) noexcept {
    return a.state_ == b.state_;
  }
  friend void swap(stop_token& a, stop_token& b) noexcept { a.swap(b); }

 private:
  friend class stop_source;
  template <typename Callback>
  friend class stop_callback;
  explicit stop_token(std::shared_ptr<internal::StopState> state) : state_(std::move(state)) {}
  std::shared_ptr<internal::StopState> state_;
};

// Like std::stop_source.
class stop_source {
 public:
  stop_source() : state_(std::make_shared<internal::StopState>()) { state_->sources = 1; }
  explicit stop_source(nostopstate_t) noexcept {}
  stop_source(const stop_source& other) noexcept : state_(other.state_) {
    if (state_ != nullptr) ++state_->sources;
  }
  stop_source(stop_source&& other) noexcept : state_(std::move(other.state_)) {}
  stop_source& operator=(const stop_source& other) noexcept {
    stop_source(other).swap(*this);
    return *this;
  }
  stop_source& operator=(stop_source&& other) noexcept {
    stop_source(std::move(other)).swap(*this);
    return *this;
  }
  ~stop_source() {
    if (state_ != nullptr) --state_->sources;
  }

  bool request_stop() { return state_ != nullptr && state_->Request(); }
  stop_token get_token() const noexcept { return stop_token(state_); }
  bool stop_possible() const noexcept { return state_ != nullptr; }
  bool stop_requested() const { return state_ != nullptr && state_->Requested(); }
  void swap(stop_source& other) noexcept { state_.swap(other.state_); }
  friend bool operator==(const stop_source& a, const stop_source& b) noexcept {
    return a.state_ == b.state_;
  }
  friend void swap(stop_source& a, stop_source& b) noexcept { a.swap(b); }

 private:
  std::shared_ptr<internal::StopState> state_;
};

// Like std::stop_callback: runs the callback when a stop is requested (at
// once, in the constructing thread, if it already was). Destruction waits
// for the callback when another thread is running it.
template <typename Callback>
class [[nodiscard]] stop_callback : private internal::StopCallbackNode {
 public:
  using callback_type = Callback;

  template <typename C>
  requires std::is_constructible_v<Callback, C>
  explicit stop_callback(const stop_token& token, C&& callback)
      : callback_(std::forward<C>(callback)), state_(token.state_) {
    if (state_ != nullptr && !state_->Register(this)) state_ = nullptr;
  }
  template <typename C>
  requires std::is_constructible_v<Callback, C>
  explicit stop_callback(stop_token&& token, C&& callback)
      : callback_(std::forward<C>(callback)), state_(std::move(token.state_)) {
    if (state_ != nullptr && !state_->Register(this)) state_ = nullptr;
  }
  ~stop_callback() override {
    if (state_ != nullptr) state_->Unregister(this);
  }
  stop_callback(const stop_callback&) = delete;
  stop_callback& operator=(const stop_callback&) = delete;

 private:
  void Run() override { std::forward<Callback>(callback_)(); }

  Callback callback_;
  std::shared_ptr<internal::StopState> state_;  // null when not registered
};

template <typename Callback>
stop_callback(stop_token, Callback) -> stop_callback<Callback>;

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_STOP_TOKEN_H_
