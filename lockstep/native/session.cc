#include "lockstep/native/session.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <signal.h>
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
#include "lockstep/native/isolation.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::Demangle;
using internal::kNoThread;
using internal::WakeReason;

thread_local Binding t_binding;
std::atomic<uint64_t> g_active_epoch{0};

namespace {

std::atomic<uint64_t> g_next_epoch{1};

constexpr PendingOp Write(uint32_t id) { return PendingOp{PendingOp::Kind::kWrite, id}; }
constexpr PendingOp Read(uint32_t id) { return PendingOp{PendingOp::Kind::kRead, id}; }

uint64_t RealNow(clockid_t clock) {
  timespec ts{};
  Real().clock_gettime(clock, &ts);
  return TimespecToNs(ts);
}

bool IsRealtime(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI;
}

bool IsMonotonic(clockid_t clock) {
  return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW ||
         clock == CLOCK_MONOTONIC_COARSE || clock == CLOCK_BOOTTIME;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The code under test among `frames` (return addresses, innermost first):
// the first frame outside the standard library, libc, sanitizer runtimes
// (whose signal handler calls the watchdog's sampler) and Lockstep. Function
// names need the binary's symbols exported (the native library links with
// -rdynamic); the module offset resolves with `addr2line -e <binary>
// <offset>`. Returns false when every frame is a library's.
bool LocateFrames(void* const* frames, int n, SourceLocation* out) {
  for (int i = 0; i < n; ++i) {
    Dl_info info;
    void* entry = nullptr;
    if (dladdr1(frames[i], &info, &entry, RTLD_DL_SYMENT) == 0 || info.dli_fname == nullptr) {
      continue;
    }
    const auto* symbol_entry = static_cast<const ElfW(Sym)*>(entry);
    std::string_view module = info.dli_fname;
    module = module.substr(module.rfind('/') + 1);
    if (StartsWith(module, "libstdc++") || StartsWith(module, "libc.so") ||
        StartsWith(module, "liblockstep") || StartsWith(module, "libgtest") ||
        StartsWith(module, "libtsan") || StartsWith(module, "libasan") ||
        StartsWith(module, "libubsan")) {
      continue;
    }
    const uintptr_t address = reinterpret_cast<uintptr_t>(frames[i]);
    // dladdr names the nearest exported symbol before the address, which
    // for a function that is not exported (static, in an anonymous
    // namespace) is some other function: only trust it within its size.
    const bool within = info.dli_sname != nullptr && symbol_entry != nullptr &&
                        address - reinterpret_cast<uintptr_t>(info.dli_saddr) <
                            std::max<uint64_t>(symbol_entry->st_size, 1);
    const std::string symbol = within ? Demangle(info.dli_sname) : "";
    if (StartsWith(symbol, "std::") || StartsWith(symbol, "lockstep::") ||
        StartsWith(symbol, "pthread_") || StartsWith(symbol, "__gthread") ||
        StartsWith(symbol, "sem_") || StartsWith(symbol, "void std::") || symbol == "nanosleep" ||
        symbol == "sched_yield" || symbol == "usleep" || symbol == "sleep" ||
        symbol == "clock_nanosleep" || symbol == "fork" || symbol == "exit" || symbol == "_exit" ||
        symbol == "_Exit" || symbol == "quick_exit") {
      continue;
    }
    // The return address points after the call: name the call itself.
    const uintptr_t offset = address - reinterpret_cast<uintptr_t>(info.dli_fbase) - 1;
    out->set_file(std::string(module));
    out->set_line(0);
    out->set_function(symbol.empty() ? absl::StrCat("+0x", absl::Hex(offset))
                                     : absl::StrCat(symbol, " +0x", absl::Hex(offset)));
    return true;
  }
  return false;
}

// The code that made the interposed call.
void FillCaller(SourceLocation* out) {
  void* frames[32];
  const int n = backtrace(frames, 32);
  if (n > 1) LocateFrames(frames + 1, n - 1, out);
}

// A failure located inside Lockstep (a deadlock found by the controller,
// say) is better located at the caller in the code under test.
bool LocatedInLockstep(const SourceLocation& location) {
  const std::string& file = location.file();
  return file.empty() || file.find("lockstep/native/session") != std::string::npos ||
         file.find("lockstep/internal/") != std::string::npos;
}

// The watchdog's backtrace of a thread of the run (Session::Sample).
struct SampleSlot {
  std::atomic<int> done{0};
  int count = 0;
  void* frames[48];
};
SampleSlot g_sample;

void OnSample(int) {
  const int saved = errno;
  g_sample.count = backtrace(g_sample.frames, 48);
  g_sample.done.store(1, std::memory_order_release);
  errno = saved;
}

}  // namespace

// A pthread object as the model sees it.
class NativeObject : public internal::ObjectBase {
 public:
  NativeObject(const char* kind) : ObjectBase(kind, "", std::source_location::current()) {}
  uint32_t IdIn(Controller& c) { return Id(c); }

  uint32_t owner = kNoThread;  // mutex, rwlock writer: the thread of the run holding it
  uint32_t depth = 0;          // recursive mutex: lock count
  uint32_t readers = 0;        // rwlock: read holds by threads of the run

 protected:
  std::string DescribeState(const Controller& c) const override {
    if (owner != kNoThread) return absl::StrCat("held by ", c.ThreadLabel(owner));
    if (readers > 0) return absl::StrCat("held shared by ", readers, " thread(s)");
    return {};
  }
  void ResetState() override {
    owner = kNoThread;
    depth = 0;
    readers = 0;
  }
};

struct Session::Start {
  void* (*fn)(void*);
  void* arg;
  const std::function<void()>* body;  // thread 0 only
  uint32_t id;
  uint64_t epoch;
};

// One interposed call's stay in the model: holds the lock and the baton.
// `modelled()` is false when the run was released meanwhile: the call must
// then do the real thing, after Leave().
class Session::Turn {
 public:
  Turn(Session& s, PendingOp op) : s_(s) {
    s.lock_.lock();
    ++s.inside_;
    ++s.progress_;
    me_ = t_binding.id;
    if (t_binding.epoch != s.epoch_ || s.released_) return;
    Controller& c = *s.controller_;
    if (s.setup_.mode == NativeMode::kControl && c.current_thread() != me_) {
      // Back from outside the model (its quantum expired): take an idle
      // baton, or wait to be scheduled like any runnable thread.
      if (s.Return(me_, op)) {
        c.set_current(me_);
      } else {
        s.WaitTurn(me_);
      }
    }
    modelled_ = !s.released_;
  }
  ~Turn() { Leave(); }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

  bool modelled() const { return modelled_ && !left_; }
  uint32_t me() const { return me_; }
  void Leave() {
    if (left_) return;
    left_ = true;
    if (s_.setup_.stream != nullptr && s_.controller_ != nullptr) s_.Flush();
    --s_.inside_;
    s_.lock_.unlock();
  }
  // Runs a real call that may block, outside the lock (the baton stays with
  // this thread unless its quantum expires), then comes back.
  template <typename F>
  auto Outside(F call) {
    const uint64_t epoch = t_binding.epoch;
    if (s_.setup_.stream != nullptr && s_.controller_ != nullptr) s_.Flush();
    --s_.inside_;
    s_.lock_.unlock();
    auto result = call();
    s_.lock_.lock();
    ++s_.inside_;
    ++s_.progress_;
    if (epoch != s_.epoch_ || s_.released_) {
      modelled_ = false;
    } else if (s_.controller_->current_thread() != me_) {
      if (s_.Return(me_, PendingOp{})) {
        s_.controller_->set_current(me_);
        s_.holder_running_ = true;
      } else {
        s_.WaitTurn(me_);
      }
      modelled_ = !s_.released_;
    }
    return result;
  }

 private:
  Session& s_;
  uint32_t me_ = 0;
  bool modelled_ = false;
  bool left_ = false;
};

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
  }
  NoteObject(object->IdIn(*controller_), kind);
  return *object;
}

void Session::Record(const char* op, uint32_t object, std::optional<int64_t> value,
                     std::string_view detail, uint32_t woken) {
  if (trace_ == nullptr || controller_->aborting()) return;
  const int before = trace_->events_size();
  controller_->Record(op, object, std::source_location::current(), value, detail, woken);
  if (trace_->events_size() > before) {
    FillCaller(trace_->mutable_events(before)->mutable_location());
  }
}

// --- The iteration ------------------------------------------------------

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
  done_.Reset();
  for (auto& slot : slots_) slot->Reset();
  base_realtime_ns_ = RealNow(CLOCK_REALTIME);
  base_monotonic_ns_ = RealNow(CLOCK_MONOTONIC);
  started_ = std::chrono::steady_clock::now();
  epoch_ = g_next_epoch.fetch_add(1);
  controller.set_executor(this);
  controller.BeginIteration(strategy, iteration, seed, trace);
  const uint32_t main = controller.SpawnThread("main", /*detached=*/false);
  AddThread(main, main);
  Pass(main);
  g_active_epoch.store(epoch_, std::memory_order_release);
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
  NativeOutcome outcome{controller.EndIteration(), expirations_, tables_};
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

void* Session::Trampoline(void* arg) {
  std::unique_ptr<Start> start(static_cast<Start*>(arg));
  Session& s = Get();
  t_binding = Binding{start->epoch, start->id};
  // In an isolated child: a stack overflow still reports its thread.
  const CrashStack crash_stack(start->id);
  s.ThreadBegin(start->id);
  // Runs when the thread finishes, returns or calls pthread_exit (which
  // unwinds the stack).
  struct Done {
    Session& s;
    uint32_t id;
    ~Done() { s.ThreadDone(id); }
  } done{s, start->id};
  if (start->body == nullptr) return start->fn(start->arg);
  try {
    (*start->body)();
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
    lock_.unlock();
    slot.Wait();
    lock_.lock();
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

void Session::ReportFailure(Controller& controller, Failure::Kind kind, std::string message,
                            const char* file, int line, const char* function) {
  lock_.lock();
  ++inside_;
  if (t_binding.epoch == epoch_ && !released_) {
    controller.set_current(t_binding.id);
    controller.RecordFailure(kind, std::move(message), file, line, function);
    HandleFailure();
  }
  --inside_;
  lock_.unlock();
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
  g_active_epoch.store(0, std::memory_order_release);
  if (controller_ != nullptr) controller_->StopModelling();
  for (auto& slot : slots_) slot->Post();
  done_.Post();
}

void Session::Flush() { setup_.stream->Flush(*controller_, tables_, trace_); }

void Session::FinishChild() {
  Flush();
  const uint32_t expirations = expirations_;
  setup_.stream->WriteOutcome(NativeOutcome{controller_->EndIteration(), expirations, {}});
  // Not exit(): no atexit handler or static destructor may run while the
  // run's threads are stopped wherever they are.
  syscall(SYS_exit_group, 0);
  __builtin_unreachable();
}

void Session::Watch() {
  const uint64_t quantum_ns = static_cast<uint64_t>(setup_.resume_quantum_us) * 1000;
  const timespec tick = NsToTimespec(quantum_ns);
  const auto watchdog = setup_.watchdog;
  uint64_t last_progress = ~0ull;
  auto last_change = std::chrono::steady_clock::now();
  while (!done_.WaitFor(tick)) {
    lock_.lock();
    if (released_) {
      lock_.unlock();
      break;
    }
    Controller& c = *controller_;
    const auto now = std::chrono::steady_clock::now();
    if (progress_ != last_progress) {
      last_progress = progress_;
      last_change = now;
    } else if (setup_.mode == NativeMode::kControl && c.current_thread() != kNoThread &&
               holder_running_ && !c.aborting()) {
      // The baton holder reached no interposed call for a whole quantum.
      ++expirations_;
      const uint32_t holder = c.current_thread();
      const uint32_t outside_before = c.outside_count();
      const uint32_t next = c.ExpireQuantum();
      if (c.outside_count() > outside_before) {
        if (outside_.size() <= holder) outside_.resize(holder + 1);
        outside_[holder] = 1;
      }
      Pass(next);
    }
    if (!c.aborting() && now - last_change >= watchdog) ReportTimeout();
    if (c.aborting()) HandleFailure();
    lock_.unlock();
  }
}

void Session::ReportTimeout() {
  Controller& c = *controller_;
  // Control mode: the thread that stopped reaching interposed calls is one
  // whose quantum expired and that never came back. Observe mode: the last
  // thread that made a call.
  uint32_t stuck = kNoThread;
  if (setup_.mode == NativeMode::kControl) {
    for (uint32_t t = 0; t < outside_.size() && stuck == kNoThread; ++t) {
      if (outside_[t] != 0 && !c.Finished(t)) stuck = t;
    }
  }
  if (stuck == kNoThread) stuck = c.current_thread();
  if (stuck == kNoThread) stuck = 0;
  SourceLocation where;
  const bool located = !c.Finished(stuck) && Sample(stuck, &where);
  c.RecordFailure(Failure::TIMEOUT, TimeoutMessage(stuck), "", 0);
  std::optional<Failure>& failure = c.failure();
  if (!failure || failure->kind() != Failure::TIMEOUT) return;
  failure->set_thread(stuck);
  if (located) {
    *failure->mutable_location() = where;
    absl::StrAppend(failure->mutable_message(), "\n  ", c.ThreadLabel(stuck), " is now at ",
                    where.function(), " (", where.file(), ")");
  }
}

std::string Session::TimeoutMessage(uint32_t stuck) const {
  std::string message =
      absl::StrCat("no interposed call for ", setup_.watchdog.count(), " ms (the watchdog): ");
  if (setup_.mode == NativeMode::kControl) {
    absl::StrAppend(&message, controller_->ThreadLabel(stuck),
                    " stopped reaching interposed calls: it spins without end, or is blocked in "
                    "a call Lockstep does not model");
    for (uint32_t t = 0; t < outside_.size(); ++t) {
      if (t == stuck || outside_[t] == 0 || controller_->Finished(t)) continue;
      absl::StrAppend(&message, "\n  ", controller_->ThreadLabel(t),
                      " also runs outside the model (its quantum expired)");
    }
    return message;
  }
  absl::StrAppend(&message, "the threads are hung (a deadlock?)");
  for (size_t t = 0; t < last_call_.size(); ++t) {
    if (last_call_[t].empty() || controller_->Finished(static_cast<uint32_t>(t))) continue;
    absl::StrAppend(&message, "\n  ", controller_->ThreadLabel(static_cast<uint32_t>(t)),
                    ": last call ", last_call_[t]);
  }
  return message;
}

bool Session::Sample(uint32_t id, SourceLocation* out) {
  const pthread_t* handle = nullptr;
  for (const OsThread& t : os_threads_) {
    if (t.id == id) handle = &t.handle;
  }
  if (handle == nullptr) return false;
  // SIGURG is ignored by default: if the thread has it blocked and takes it
  // after the old handler is back, nothing happens.
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = &OnSample;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGURG, &action, &previous) != 0) return false;
  g_sample.done.store(0, std::memory_order_relaxed);
  bool answered = false;
  if (pthread_kill(*handle, SIGURG) == 0) {
    const timespec millisecond{0, 1000000};
    for (int i = 0; i < 200 && !answered; ++i) {
      answered = g_sample.done.load(std::memory_order_acquire) != 0;
      if (!answered) Real().nanosleep(&millisecond, nullptr);
    }
  }
  sigaction(SIGURG, &previous, nullptr);
  // Frames 0 and 1 are the handler and the signal trampoline.
  return answered && g_sample.count > 2 &&
         LocateFrames(g_sample.frames + 2, g_sample.count - 2, out);
}

std::optional<uint64_t> Session::VirtualDeadline(clockid_t clock, const timespec* deadline) const {
  if (deadline == nullptr) return std::nullopt;
  const uint64_t base = IsRealtime(clock) ? base_realtime_ns_ : base_monotonic_ns_;
  const uint64_t at = TimespecToNs(*deadline);
  const uint64_t now = controller_->now_ns();
  return at > base + now ? at - base : now;
}

bool Session::VirtualClock(clockid_t clock, timespec* out) {
  if (setup_.mode != NativeMode::kControl || !(IsRealtime(clock) || IsMonotonic(clock))) {
    return false;
  }
  lock_.lock();
  const bool modelled = t_binding.epoch == epoch_ && !released_ && controller_ != nullptr;
  if (modelled) {
    *out = NsToTimespec((IsRealtime(clock) ? base_realtime_ns_ : base_monotonic_ns_) +
                        controller_->now_ns());
  }
  lock_.unlock();
  return modelled;
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

// --- Processes ----------------------------------------------------------

pid_t Session::Fork() {
  Turn turn(*this, Write(0));
  if (turn.modelled()) {
    if (setup_.mode == NativeMode::kObserve) {
      Observe("process.fork", nullptr, "");
    } else {
      controller_->SchedulePoint(Write(0), std::source_location::current());
      if (controller_->aborting()) {
        HandleFailure();
      } else {
        Record("process.fork", 0, std::nullopt, "the new process runs outside the model");
      }
    }
  }
  turn.Leave();
  return Real().fork();
}

void Session::DetachForkedProcess() {
  // Only the forking thread exists here; the session's lock may have been
  // held by another: nothing of the session is touched again.
  g_active_epoch.store(0, std::memory_order_release);
  t_binding = Binding{};
  ChildStream::DetachCrashHandlers();
}

void Session::ProcessExit(const char* call, int status) {
  lock_.lock();
  ++inside_;
  if (t_binding.epoch == epoch_ && !released_ && controller_ != nullptr) {
    Controller& c = *controller_;
    const uint32_t me = t_binding.id;
    c.set_current(me);
    c.RecordFailure(Failure::EXIT,
                    absl::StrCat(call, "(", status, ") in ", c.ThreadLabel(me),
                                 ": the process would end in the middle of the iteration"),
                    "", 0);
    HandleFailure();  // an isolated child ends here
    if (!released_) Release();
  }
  --inside_;
  lock_.unlock();
  // In-process: ending the process would end the test before it reports;
  // this thread stays here instead (as a deadlocked one would).
  Signal never;
  while (true) never.Wait();
}

// --- Threads ------------------------------------------------------------

int Session::ThreadCreate(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                          void* arg) {
  int detach_state = PTHREAD_CREATE_JOINABLE;
  if (attr != nullptr) pthread_attr_getdetachstate(attr, &detach_state);
  const bool detached = detach_state == PTHREAD_CREATE_DETACHED;
  Turn turn(*this, Write(0));
  if (!turn.modelled()) {
    turn.Leave();
    return CreateThread(thread, attr, start, arg);
  }
  Controller& c = *controller_;
  if (setup_.mode == NativeMode::kObserve) {
    Observe("thread.spawn", nullptr, "");
  } else {
    c.SchedulePoint(Write(0), std::source_location::current());
    if (c.aborting()) {
      HandleFailure();
      turn.Leave();
      return CreateThread(thread, attr, start, arg);
    }
  }
  const uint32_t id = c.SpawnThread("", detached);
  AddThread(id, turn.me());
  SlotOf(id).Reset();
  if (setup_.mode == NativeMode::kControl) Record("thread.spawn", 0, id);
  Start* s = new Start{start, arg, nullptr, id, epoch_};
  const int result = CreateThread(thread, attr, &Trampoline, s);
  if (result != 0) {
    delete s;
    c.RecordFailure(Failure::MISUSE, absl::StrCat("pthread_create failed: ", std::strerror(result)),
                    "", 0);
    HandleFailure();
    return result;
  }
  os_threads_.push_back(OsThread{*thread, id});
  return 0;
}

int Session::ThreadJoin(pthread_t thread, void** result) {
  Turn turn(*this, Read(0));
  uint32_t id = kNoThread;
  for (const OsThread& t : os_threads_) {
    if (pthread_equal(t.handle, thread)) id = t.id;
  }
  if (turn.modelled() && id != kNoThread) {
    if (setup_.mode == NativeMode::kObserve) {
      Observe("thread.join", nullptr, "");
    } else {
      controller_->Join(id, std::source_location::current());
      if (controller_->aborting()) HandleFailure();
    }
  }
  // The thread has finished in the model; the OS thread is on its way out.
  turn.Leave();
  return JoinThread(thread, result);
}

int Session::ThreadDetach(pthread_t thread) {
  Turn turn(*this, Write(0));
  if (turn.modelled()) {
    for (const OsThread& t : os_threads_) {
      if (pthread_equal(t.handle, thread)) controller_->SetDetached(t.id);
    }
  }
  turn.Leave();
  return Real().pthread_detach(thread);
}

// --- Locks --------------------------------------------------------------

int Session::Acquire(Turn& turn, NativeObject& object, const char* op, PendingOp pending,
                     const std::function<int()>& try_op, const std::function<int()>& blocking_op,
                     std::optional<uint64_t> deadline_ns, bool owned) {
  Controller& c = *controller_;
  while (true) {
    const int r = try_op();
    if (r != EBUSY && r != EAGAIN) return r;
    // Held, but by no thread of the run: wait for the real owner, outside
    // the model.
    if (owned && object.owner == kNoThread && object.readers == 0) return turn.Outside(blocking_op);
    const WakeReason reason =
        c.Block(object, op, pending, std::source_location::current(), deadline_ns);
    if (reason == WakeReason::kAborted) {
      HandleFailure();
      turn.Leave();
      return blocking_op();
    }
    if (reason == WakeReason::kTimeout) return try_op() == 0 ? 0 : ETIMEDOUT;
  }
}

int Session::MutexLock(pthread_mutex_t* mutex, bool try_only, clockid_t clock,
                       const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (try_only) return real.pthread_mutex_trylock(mutex);
    if (deadline != nullptr) return real.pthread_mutex_clocklock(mutex, clock, deadline);
    return real.pthread_mutex_lock(mutex);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  NativeObject& object = Object(mutex, "mutex");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const uint32_t me = turn.me();
  const char* op = try_only              ? "mutex.try_lock"
                   : deadline != nullptr ? "mutex.timedlock"
                                         : "mutex.lock";
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op, mutex, "mutex");
    turn.Leave();
    return blocking();
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  int r;
  if (object.owner == me && (mutex->__data.__kind & 3) == PTHREAD_MUTEX_ERRORCHECK) {
    r = EDEADLK;  // what the real error-checking mutex says
  } else if (try_only) {
    r = real.pthread_mutex_trylock(mutex);
  } else {
    r = Acquire(
        turn, object, op, Write(id), [&] { return real.pthread_mutex_trylock(mutex); }, blocking,
        VirtualDeadline(clock, deadline), /*owned=*/true);
  }
  if (!turn.modelled()) return r;
  if (r == 0) {
    object.owner = me;
    ++object.depth;
  }
  Record(op, id, r == 0 ? 1 : 0, r == ETIMEDOUT ? "timed out" : "");
  return r;
}

int Session::MutexUnlock(pthread_mutex_t* mutex) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return real.pthread_mutex_unlock(mutex);
  }
  NativeObject& object = Object(mutex, "mutex");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (setup_.mode == NativeMode::kObserve) {
    Observe("mutex.unlock", mutex, "mutex");
    turn.Leave();
    return real.pthread_mutex_unlock(mutex);
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return real.pthread_mutex_unlock(mutex);
  }
  const int r = real.pthread_mutex_unlock(mutex);
  if (r == 0 && object.owner == turn.me() && --object.depth == 0) {
    object.owner = kNoThread;
    c.WakeAll(object);
  }
  Record("mutex.unlock", id);
  return r;
}

int Session::RwLock(pthread_rwlock_t* lock, bool write, bool try_only, clockid_t clock,
                    const timespec* deadline) {
  const RealFunctions& real = Real();
  auto try_op = [&] {
    return write ? real.pthread_rwlock_trywrlock(lock) : real.pthread_rwlock_tryrdlock(lock);
  };
  auto blocking = [&] {
    if (try_only) return try_op();
    if (deadline != nullptr) {
      return write ? real.pthread_rwlock_clockwrlock(lock, clock, deadline)
                   : real.pthread_rwlock_clockrdlock(lock, clock, deadline);
    }
    return write ? real.pthread_rwlock_wrlock(lock) : real.pthread_rwlock_rdlock(lock);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  NativeObject& object = Object(lock, "rwlock");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const char* op = write ? (try_only ? "rwlock.try_wrlock" : "rwlock.wrlock")
                         : (try_only ? "rwlock.try_rdlock" : "rwlock.rdlock");
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op, lock, "rwlock");
    turn.Leave();
    return blocking();
  }
  const PendingOp pending = write ? Write(id) : Read(id);
  c.SchedulePoint(pending, std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  const int r = try_only ? try_op()
                         : Acquire(turn, object, op, pending, try_op, blocking,
                                   VirtualDeadline(clock, deadline), /*owned=*/true);
  if (!turn.modelled()) return r;
  if (r == 0) {
    if (write) {
      object.owner = turn.me();
    } else {
      ++object.readers;
    }
  }
  Record(op, id, r == 0 ? 1 : 0, r == ETIMEDOUT ? "timed out" : "");
  return r;
}

int Session::RwUnlock(pthread_rwlock_t* lock) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return real.pthread_rwlock_unlock(lock);
  }
  NativeObject& object = Object(lock, "rwlock");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (setup_.mode == NativeMode::kObserve) {
    Observe("rwlock.unlock", lock, "rwlock");
    turn.Leave();
    return real.pthread_rwlock_unlock(lock);
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return real.pthread_rwlock_unlock(lock);
  }
  const int r = real.pthread_rwlock_unlock(lock);
  if (r == 0) {
    if (object.owner == turn.me()) {
      object.owner = kNoThread;
    } else if (object.readers > 0) {
      --object.readers;
    }
    c.WakeAll(object);
  }
  Record("rwlock.unlock", id);
  return r;
}

// --- Condition variables --------------------------------------------------

int Session::CondWait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clock,
                      const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (deadline != nullptr) return real.pthread_cond_clockwait(cond, mutex, clock, deadline);
    return real.pthread_cond_wait(cond, mutex);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  NativeObject& object = Object(cond, "condvar");
  NativeObject& lock = Object(mutex, "mutex");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const uint32_t mutex_id = lock.IdIn(c);
  if (setup_.mode == NativeMode::kObserve) {
    Observe("condvar.wait", cond, "condvar");
    turn.Leave();
    return blocking();
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  // A spurious wake-up is a controlled choice made as the wait starts.
  const bool may_wake_spuriously = !c.aborting() && c.spurious_wakeups() && c.Choose(2) == 1;
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  // Release the mutex and start waiting in one step: no signal slips in.
  real.pthread_mutex_unlock(mutex);
  if (lock.owner == turn.me()) {
    lock.owner = kNoThread;
    lock.depth = 0;
    c.WakeAll(lock);
  }
  const WakeReason reason =
      c.Block(object, "condvar.wait", Write(mutex_id), std::source_location::current(),
              VirtualDeadline(clock, deadline), may_wake_spuriously);
  if (reason == WakeReason::kAborted) {
    HandleFailure();
    turn.Leave();
    // Released: come back with the mutex held, as after a spurious wake-up.
    return real.pthread_mutex_lock(mutex);
  }
  Record("condvar.wait", id, std::nullopt,
         reason == WakeReason::kTimeout    ? "timed out"
         : reason == WakeReason::kSpurious ? "spurious wake-up"
                                           : "notified");
  const int r = Acquire(
      turn, lock, "mutex.lock", Write(mutex_id), [&] { return real.pthread_mutex_trylock(mutex); },
      [&] { return real.pthread_mutex_lock(mutex); }, std::nullopt, /*owned=*/true);
  if (turn.modelled() && r == 0) {
    lock.owner = turn.me();
    lock.depth = 1;
    Record("mutex.lock", mutex_id, 1);
  }
  return reason == WakeReason::kTimeout ? ETIMEDOUT : r;
}

int Session::CondSignal(pthread_cond_t* cond, bool all) {
  const RealFunctions& real = Real();
  // Threads outside the run may wait on it for real: wake them too.
  auto real_signal = [&] {
    return all ? real.pthread_cond_broadcast(cond) : real.pthread_cond_signal(cond);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return real_signal();
  }
  NativeObject& object = Object(cond, "condvar");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const char* op = all ? "condvar.notify_all" : "condvar.notify_one";
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op, cond, "condvar");
    turn.Leave();
    return real_signal();
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return real_signal();
  }
  if (all) {
    Record(op, id, c.WakeAll(object));
  } else {
    const uint32_t woken = c.WakeOne(object);
    Record(op, id, std::nullopt, woken == kNoThread ? "no waiter" : "", woken);
  }
  return real_signal();
}

// --- Semaphores, yields, sleeps --------------------------------------------

int Session::SemWait(sem_t* sem, bool try_only, clockid_t clock, const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (try_only) return real.sem_trywait(sem);
    if (deadline != nullptr) return real.sem_clockwait(sem, clock, deadline);
    return real.sem_wait(sem);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  NativeObject& object = Object(sem, "semaphore");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const char* op = try_only ? "sem.trywait" : "sem.wait";
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op, sem, "semaphore");
    turn.Leave();
    return blocking();
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  // sem_* report errors through errno.
  auto try_op = [&] { return real.sem_trywait(sem) == 0 ? 0 : errno; };
  const int r = try_only ? try_op()
                         : Acquire(turn, object, op, Write(id), try_op, blocking,
                                   VirtualDeadline(clock, deadline), /*owned=*/false);
  if (!turn.modelled()) return r;
  Record(op, id, r == 0 ? 1 : 0, r == ETIMEDOUT ? "timed out" : "");
  if (r == 0) return 0;
  errno = r;
  return -1;
}

int Session::SemPost(sem_t* sem) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return real.sem_post(sem);
  }
  NativeObject& object = Object(sem, "semaphore");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (setup_.mode == NativeMode::kObserve) {
    Observe("sem.post", sem, "semaphore");
    turn.Leave();
    return real.sem_post(sem);
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  const int r = real.sem_post(sem);
  if (c.aborting()) {
    HandleFailure();
    return r;
  }
  if (r == 0) c.WakeAll(object);
  Record("sem.post", id);
  return r;
}

int Session::Yield() {
  Turn turn(*this, PendingOp{PendingOp::Kind::kYield, 0});
  if (turn.modelled()) {
    if (setup_.mode == NativeMode::kObserve) {
      Observe("yield", nullptr, "");
    } else {
      controller_->SchedulePoint(PendingOp{PendingOp::Kind::kYield, 0},
                                 std::source_location::current());
      if (controller_->aborting()) {
        HandleFailure();
      } else {
        Record("yield", 0);
      }
    }
  }
  turn.Leave();
  return Real().sched_yield();
}

int Session::Sleep(const timespec* duration, clockid_t clock, const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (deadline != nullptr) return real.clock_nanosleep(clock, TIMER_ABSTIME, deadline, nullptr);
    return real.nanosleep(duration, nullptr);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  if (setup_.mode == NativeMode::kObserve) {
    Observe("sleep", nullptr, "");
    turn.Leave();
    return blocking();
  }
  Controller& c = *controller_;
  const uint64_t until = deadline != nullptr
                             ? *VirtualDeadline(clock, deadline)
                             : c.now_ns() + (duration != nullptr ? TimespecToNs(*duration) : 0);
  c.SleepUntil(until, std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  Record("sleep", 0, static_cast<int64_t>(until));
  return 0;
}

}  // namespace lockstep::native_internal
