#include "lockstep/native/session.h"

#include <cxxabi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <typeinfo>

#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"
#include "lockstep/internal/locate.h"
#include "lockstep/native/isolation.h"
#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::Demangle;
using internal::FillCaller;
using internal::kNoThread;
using internal::LocatedInLockstep;

thread_local Binding t_binding;
thread_local uintptr_t t_call_site = 0;
uint64_t g_active_epoch = 0;
thread_local int PassThrough::depth_ = 0;

// A thread of the run ends in the model when this is destroyed.
struct ThreadEnd {
  uint32_t id = kNoThread;
  ~ThreadEnd() {
    if (id != kNoThread) Session::Get().ThreadDone(id);
  }
};

namespace {

std::atomic<uint64_t> g_next_epoch{1};
thread_local ThreadEnd t_thread_end;

uint64_t RealNow(clockid_t clock) {
  timespec ts{};
  Real().clock_gettime(clock, &ts);
  return TimespecToNs(ts);
}

}  // namespace

Session& Session::Get() {
  static Session* session = new Session();  // never destroyed: threads may outlive a run
  return *session;
}

Signal& Session::SlotOf(uint32_t id) {
  while (slots_.size() <= id) slots_.push_back(std::make_unique<Signal>());
  return *slots_[id];
}

bool Session::Return(uint32_t id, PendingOp op) {
  if (id < outside_.size()) outside_[id] = 0;
  return controller_->ReturnFromOutside(id, op);
}

void Session::AddThread(uint32_t id, uint32_t parent) {
  ThreadInfo* info = tables_.add_threads();
  info->set_id(id);
  info->set_name(id == 0 ? "main" : "");
  info->set_parent(parent);
  if (trace_ != nullptr && id != 0) FillCaller(info->mutable_created_at());
}

void Session::NoteObject(uint32_t id, const char* kind) {
  if (id <= static_cast<uint32_t>(tables_.objects_size())) return;
  // Ids the controller gave to objects the session did not see (Lockstep
  // primitives used in the body) are filled in as "unknown".
  while (static_cast<uint32_t>(tables_.objects_size()) < id) {
    ObjectInfo* info = tables_.add_objects();
    info->set_id(static_cast<uint32_t>(tables_.objects_size()));
    info->set_kind(info->id() == id ? kind : "unknown");
  }
  // First used here (the native runner does not see constructors).
  if (trace_ != nullptr) FillCaller(tables_.mutable_objects(id - 1)->mutable_created_at());
}

NativeObject& Session::Object(const void* address, const char* kind) {
  std::unique_ptr<NativeObject>& object = objects_[address];
  // Memory reused for another kind of object gets a fresh model.
  if (object == nullptr || std::strcmp(object->kind(), kind) != 0) {
    object = std::make_unique<NativeObject>(kind);
    object->address = address;
  }
  NoteObject(object->IdIn(*controller_), kind);
  return *object;
}

void Session::Record(const char* op, uint32_t object, std::optional<int64_t> value,
                     std::string_view detail, uint32_t woken) {
  if (trace_ == nullptr || controller_->aborting()) return;
  controller_->Record(op, object, std::source_location::current(), value, detail, woken);
}

void Session::LocateEvent(Event& event, const std::source_location&) {
  SourceLocation* location = event.mutable_location();
  if (event.op() == "quantum.expired") {
    // Recorded by the watchdog: where the thread that went on outside the
    // model is running now.
    Sample(event.thread(), location);
  } else if (event.op() == "thread.exit") {
    // A thread's end has no caller in the code under test (its stack is
    // unwound): it is located where the thread was started.
    for (const ThreadInfo& thread : tables_.threads()) {
      if (thread.id() == event.thread()) *location = thread.created_at();
    }
  } else {
    FillCaller(location);
  }
  if (!location->file().empty() || trace_ == nullptr) return;
  // No frame of the code under test found (the main thread's end, a call
  // the unwinder makes during pthread_exit): where the thread last was.
  for (int i = trace_->events_size() - 1; i >= 0; --i) {
    const Event& earlier = trace_->events(i);
    if (&earlier != &event && earlier.thread() == event.thread() &&
        !earlier.location().file().empty()) {
      *location = earlier.location();
      return;
    }
  }
}

NativeOutcome Session::RunIteration(const std::function<void()>& body, Controller& controller,
                                    Strategy& strategy, uint64_t iteration, uint64_t seed,
                                    Trace* trace, const IterationSetup& setup) {
  lock_.lock();
  controller_ = &controller;
  trace_ = trace;
  setup_ = setup;
  released_ = false;
  inside_ = 0;
  progress_ = 0;
  expirations_ = 0;
  observed_ = 0;
  main_finished_ = false;
  os_threads_.clear();
  last_call_.clear();
  outside_.clear();
  tables_.Clear();
  futex_bitsets_.clear();
  awaiting_.clear();
  done_.Reset();
  for (auto& slot : slots_) slot->Reset();
  base_realtime_ns_ = RealNow(CLOCK_REALTIME);
  base_monotonic_ns_ = RealNow(CLOCK_MONOTONIC);
  started_ = std::chrono::steady_clock::now();
  epoch_ = g_next_epoch.fetch_add(1);
  if (trace != nullptr) {
    // Loads the binary's debug information now, not in the middle of a
    // thread's quantum.
    SourceLocation warm_up;
    FillCaller(&warm_up);
  }
  controller.set_executor(this);
  controller.BeginIteration(strategy, iteration, seed, trace);
  const uint32_t main = controller.SpawnThread("main", /*detached=*/false);
  AddThread(main, main);
  Pass(main);
  __atomic_store_n(&g_active_epoch, epoch_, __ATOMIC_RELEASE);
  Start* start = new Start{nullptr, nullptr, &body, main, epoch_};
  pthread_t os_main;
  const int created = CreateOwnThread(&os_main, nullptr, &Trampoline, start);
  if (created == 0) os_threads_.push_back(OsThread{os_main, main});
  lock_.unlock();
  if (created != 0) {
    delete start;
    lock_.lock();
    controller.RecordFailure(
        Failure::MISUSE, absl::StrCat("cannot start the body's thread: ", std::strerror(created)),
        "", 0);
    Release();
    lock_.unlock();
  } else {
    Watch();
  }

  lock_.lock();
  if (!released_) Release();
  // Released threads still inside the model leave it before it goes away.
  while (inside_ > 0) {
    lock_.unlock();
    Real().sched_yield();
    lock_.lock();
  }
  const bool main_finished = main_finished_ || controller.Finished(main);
  NativeOutcome outcome{controller.EndIteration(), expirations_, tables_,
                        controller.coverage().NewThisIteration()};
  if (trace != nullptr) {
    // The session's tables name callers; the controller's would name itself.
    *trace->mutable_threads() = tables_.threads();
    *trace->mutable_objects() = tables_.objects();
  }
  controller.set_executor(nullptr);
  controller_ = nullptr;
  trace_ = nullptr;
  lock_.unlock();
  if (created == 0) {
    // A body that did not finish (a failed run) is left behind, released.
    if (main_finished) {
      JoinOwnThread(os_main, nullptr);
    } else {
      Real().pthread_detach(os_main);
    }
  }
  return outcome;
}

// Not checked by UBSan: catching pthread_exit's forced unwind binds a
// reference to its null exception object, which UBSan reports.
__attribute__((no_sanitize_undefined)) void* Session::Trampoline(void* arg) {
  std::unique_ptr<Start> start(static_cast<Start*>(arg));
  Session& s = Get();
  t_binding = Binding{start->epoch, start->id};
  // In an isolated child: a stack overflow still reports its thread.
  const CrashStack crash_stack(start->id);
  s.ThreadBegin(start->id);
  // The thread ends in the model after its thread_local destructors, which
  // may synchronize: this one is registered first, so it runs last (when
  // the thread returns or calls pthread_exit).
  t_thread_end.id = start->id;
  if (start->body == nullptr) return start->fn(start->arg);
  try {
    (*start->body)();
  } catch (abi::__forced_unwind&) {
    throw;  // pthread_exit in the body: the thread ends as it asked
  } catch (const std::exception& e) {
    lockstep::RecordFailure(Failure::EXCEPTION,
                            absl::StrCat("uncaught exception in the test body: ",
                                         Demangle(typeid(e).name()), ": ", e.what()),
                            "", 0);
  } catch (...) {
    lockstep::RecordFailure(Failure::EXCEPTION,
                            "uncaught exception of unknown type in the test body", "", 0);
  }
  return nullptr;
}

void Session::ThreadBegin(uint32_t id) {
  lock_.lock();
  if (t_binding.epoch == epoch_ && !released_) {
    Controller::Exchange(controller_);
    ++inside_;
    if (setup_.mode == NativeMode::kControl) {
      if (controller_->current_thread() != id) WaitTurn(id);
      holder_running_ = true;
    }
    --inside_;
  }
  lock_.unlock();
}

void Session::ThreadDone(uint32_t id) {
  if (!Managed()) return;
  lock_.lock();
  if (t_binding.epoch == epoch_ && !released_) {
    ++inside_;
    if (setup_.mode == NativeMode::kControl) {
      // The thread may be outside the model (its quantum expired).
      if (controller_->current_thread() != id) {
        if (Return(id, PendingOp{})) {
          controller_->set_current(id);
        } else {
          WaitTurn(id);
        }
      }
      if (!released_) {
        controller_->ThreadFinished(id);
        if (controller_->aborting() && !released_) HandleFailure();
      }
    } else {
      Observe("thread.exit", nullptr, "");
      if (id == 0) {
        main_finished_ = true;
        done_.Post();
      }
    }
    if (setup_.stream != nullptr) Flush();
    --inside_;
  }
  lock_.unlock();
  t_binding = Binding{};
  Controller::Exchange(nullptr);
}

void Session::WaitTurn(uint32_t me) {
  Signal& slot = SlotOf(me);
  while (true) {
    {
      // Lockstep's code while the lock is free.
      const PassThrough waiting;
      const internal::InLockstep in_lockstep;
      lock_.unlock();
      slot.Wait();
      lock_.lock();
    }
    if (released_) return;
    if (controller_->current_thread() == me) {
      holder_running_ = true;
      return;
    }
    // Expired while not yet awake: come back like a thread from outside.
    if (Return(me, PendingOp{})) {
      controller_->set_current(me);
      holder_running_ = true;
      return;
    }
  }
}

void Session::Pass(uint32_t to) {
  // Everything decided reaches the parent before another thread runs (and
  // perhaps crashes).
  if (setup_.stream != nullptr) Flush();
  holder_running_ = false;
  if (to != internal::kNoThread) SlotOf(to).Post();
}

void Session::Switch(uint32_t from, uint32_t to) {
  Pass(to);
  WaitTurn(from);
}

void Session::Exit(uint32_t from, uint32_t to) {
  Pass(to);
  if (from == 0) done_.Post();
}

void Session::ReportFailure(Controller& controller, Failure failure) {
  lock_.lock();
  ++inside_;
  if (t_binding.epoch == epoch_ && !released_) {
    controller.set_current(t_binding.id);
    controller.RecordFailure(std::move(failure));
    HandleFailure();
  }
  --inside_;
  lock_.unlock();
}

uint32_t Session::Choose(Controller& controller, uint32_t n, std::source_location location) {
  uint32_t value = 0;
  lock_.lock();
  ++inside_;
  if (t_binding.epoch == epoch_ && !released_) {
    value = controller.ChooseAndRecord(n, location);
    if (controller.aborting()) {
      HandleFailure();
    } else if (setup_.stream != nullptr) {
      Flush();
    }
  }
  --inside_;
  lock_.unlock();
  return value;
}

void Session::HandleFailure() {
  // A failure found inside the model (a deadlock...) is located where the
  // calling thread called in from the code under test.
  std::optional<Failure>& failure = controller_->failure();
  if (failure && t_binding.epoch == epoch_ && LocatedInLockstep(failure->location())) {
    failure->clear_location();
    FillCaller(failure->mutable_location());
  }
  if (setup_.stream != nullptr) FinishChild();
  if (setup_.mode == NativeMode::kControl) Release();
}

void Session::Release() {
  released_ = true;
  __atomic_store_n(&g_active_epoch, 0, __ATOMIC_RELEASE);
  if (controller_ != nullptr) controller_->StopModelling();
  for (auto& slot : slots_) slot->Post();
  done_.Post();
}

void Session::Flush() { setup_.stream->Flush(*controller_, tables_, trace_); }

void Session::FinishChild() {
  Flush();
  const uint32_t expirations = expirations_;
  setup_.stream->WriteOutcome(NativeOutcome{
      controller_->EndIteration(), expirations, {}, controller_->coverage().NewThisIteration()});
  // Not exit(): no atexit handler or static destructor may run while the
  // run's threads are stopped wherever they are.
  syscall(SYS_exit_group, 0);
  __builtin_unreachable();
}

NativeObject* Session::Begin(Turn& turn, const void* address, const char* kind, const char* op,
                             PendingOp::Kind access, bool synchronizes) {
  if (!turn.modelled()) {
    turn.Leave();
    return nullptr;
  }
  NativeObject& object = Object(address, kind);
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op, address, kind);
    turn.Leave();
    return nullptr;
  }
  controller_->SchedulePoint(PendingOp{access, object.IdIn(*controller_)},
                             std::source_location::current(), synchronizes);
  if (controller_->aborting()) {
    HandleFailure();
    turn.Leave();
    return nullptr;
  }
  return &object;
}

void Session::AfterWake(int woken) {
  if (woken == 0) return;
  controller_->SchedulePoint(PendingOp{}, std::source_location::current());
  if (controller_->aborting()) HandleFailure();
}

void Session::Observe(const char* op, const void* address, const char* kind) {
  Controller& c = *controller_;
  const uint32_t me = t_binding.id;
  c.set_current(me);
  uint32_t object = 0;
  if (address != nullptr) object = Object(address, kind).IdIn(c);
  if (last_call_.size() <= me) last_call_.resize(me + 1);
  last_call_[me] = op;
  if (trace_ == nullptr || c.aborting()) return;
  Event* event = trace_->add_events();
  event->set_step(++observed_);
  event->set_thread(me);
  event->set_op(op);
  event->set_object(object);
  event->set_time_ns(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now() - started_)
                                               .count()));
  FillCaller(event->mutable_location());
}

}  // namespace lockstep::native_internal
