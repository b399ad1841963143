// Message passing between logical threads, the model of the original
// (Elixir) Lockstep: every thread may own mailboxes; send never blocks;
// receive blocks until a (matching) message arrives.
#ifndef LOCKSTEP_MAILBOX_H_
#define LOCKSTEP_MAILBOX_H_

#include <chrono>
#include <deque>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lockstep/internal/controller.h"
#include "lockstep/time.h"

namespace lockstep {

// A FIFO mailbox. Messages are received in send order, except that
// recv_if() takes the first message matching a predicate (like a selective
// `receive` in Erlang/Elixir). Every operation is a scheduling point.
template <typename T>
class Mailbox : public internal::ObjectBase {
 public:
  using Location = std::source_location;

  explicit Mailbox(std::string_view name = {}, Location created_at = Location::current())
      : ObjectBase("mailbox", name, created_at) {}

  void send(T message, Location location = Location::current()) {
    internal::Controller& c = Begin("lockstep::Mailbox::send", location);
    queue_.push_back(std::move(message));
    c.WakeAll(*this);
    c.Record("mailbox.send", Id(c), location, static_cast<int64_t>(queue_.size()));
  }

  // Waits for the next message.
  T recv(Location location = Location::current()) {
    return *Receive([](const T&) { return true; }, nullptr, location);
  }

  // Waits for the first message satisfying `predicate`; others stay queued.
  template <typename Predicate>
  T recv_if(Predicate predicate, Location location = Location::current()) {
    return *Receive(predicate, nullptr, location);
  }

  // Waits at most `timeout` of virtual time; nullopt when it passed first.
  template <typename Rep, typename Period>
  std::optional<T> recv_for(std::chrono::duration<Rep, Period> timeout,
                            Location location = Location::current()) {
    const auto deadline = now() + std::chrono::ceil<VirtualClock::duration>(timeout);
    return Receive([](const T&) { return true; }, &deadline, location);
  }

  // Waits at most `timeout` for the first message satisfying `predicate`.
  template <typename Predicate, typename Rep, typename Period>
  std::optional<T> recv_if_for(Predicate predicate, std::chrono::duration<Rep, Period> timeout,
                               Location location = Location::current()) {
    const auto deadline = now() + std::chrono::ceil<VirtualClock::duration>(timeout);
    return Receive(predicate, &deadline, location);
  }

  // The next message if one is queued, without waiting.
  std::optional<T> try_recv(Location location = Location::current()) {
    internal::Controller& c = Begin("lockstep::Mailbox::try_recv", location);
    std::optional<T> message;
    if (!queue_.empty()) {
      message.emplace(std::move(queue_.front()));
      queue_.pop_front();
    }
    c.Record("mailbox.try_recv", Id(c), location, message ? 1 : 0);
    return message;
  }

 private:
  std::string DescribeState(const internal::Controller&) const override {
    return absl::StrCat(queue_.size(), " message(s) queued, none matching");
  }
  void ResetState() override { queue_.clear(); }

  internal::Controller& Begin(const char* api, Location location) {
    internal::Controller& c = internal::Controller::Current(api);
    c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, Id(c)}, location);
    return c;
  }

  template <typename Predicate>
  std::optional<T> Receive(Predicate predicate, const VirtualClock::time_point* deadline,
                           Location location) {
    internal::Controller& c = Begin("lockstep::Mailbox::recv", location);
    const uint32_t id = Id(c);
    std::optional<uint64_t> deadline_ns;
    if (deadline != nullptr) deadline_ns = deadline->time_since_epoch().count();
    while (true) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (!predicate(*it)) continue;
        std::optional<T> message(std::move(*it));
        queue_.erase(it);
        c.Record("mailbox.recv", id, location, static_cast<int64_t>(queue_.size()));
        return message;
      }
      const internal::WakeReason reason = c.Block(
          *this, "mailbox.recv", PendingOp{PendingOp::Kind::kWrite, id}, location, deadline_ns);
      // Only on an executor, which runs no mailboxes: a fiber of a failed
      // iteration never comes back from Block.
      if (reason == internal::WakeReason::kAborted) return std::nullopt;
      if (reason == internal::WakeReason::kTimeout) {
        c.Record("mailbox.recv", id, location, std::nullopt, "timed out");
        return std::nullopt;
      }
    }
  }

  std::deque<T> queue_;
};

// Delivers `message` to `mailbox` after `delay` of virtual time, from an
// internal timer thread (named "timer"), like Erlang's send_after. The
// mailbox must outlive the delivery or the iteration. Pending deliveries are
// dropped when the test body returns.
template <typename T, typename Rep, typename Period>
void send_after(Mailbox<T>& mailbox, T message, std::chrono::duration<Rep, Period> delay,
                std::source_location location = std::source_location::current()) {
  internal::Controller& c = internal::Controller::Current("lockstep::send_after");
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, 0}, location);
  const auto deadline = now() + std::chrono::ceil<VirtualClock::duration>(delay);
  c.Spawn(
      [&mailbox, message = std::move(message), deadline, location]() mutable {
        sleep_until(deadline, location);
        mailbox.send(std::move(message), location);
      },
      "timer", /*detached=*/true, location);
}

}  // namespace lockstep

#endif  // LOCKSTEP_MAILBOX_H_
