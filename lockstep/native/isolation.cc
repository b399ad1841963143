#include "lockstep/native/isolation.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lockstep/native/real.h"
#include "lockstep/native/session.h"

namespace lockstep::native_internal {

namespace {
enum Tag : uint32_t { kDecision = 1, kThread, kObject, kEvent, kOutcome, kSearchState };

struct OutcomeHeader {
  uint64_t steps;
  uint64_t schedule_hash;
  uint32_t quantum_expirations;
  uint32_t has_failure;
  uint64_t conflict_pairs;  // followed by that many uint64_t, then a Trace
};
}  // namespace

struct ChildStream::Header {
  std::atomic<uint64_t> committed;  // bytes of complete records
  std::atomic<int> crash_signal;
  std::atomic<uint32_t> crash_thread;
  std::atomic<uint32_t> stack_overflow;
  std::atomic<uint32_t> overflowed;
  char data[];
};

namespace {

ChildStream* g_crash_stream = nullptr;  // the child's, for its signal handler
constexpr int kCrashSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};

// Alternate signal stacks: one per thread id below kAltStacks, mapped once
// by the parent (children get them without a system call), more on demand.
constexpr size_t kCrashStackSize = 64 * 1024;
constexpr uint32_t kAltStacks = 64;
char* g_alt_stacks = nullptr;

// The stack pointer where the signal interrupted the thread, or 0.
uintptr_t StackPointer(void* context) {
#if defined(__x86_64__)
  return static_cast<uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  return static_cast<uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.sp);
#else
  (void)context;
  return 0;
#endif
}

void OnCrash(int signal, siginfo_t* info, void* context) {
  const uint32_t thread = Session::Managed() ? t_binding.id : internal::kNoThread;
  // A fault next to the stack pointer is a push or a new frame running
  // into the guard page below the stack: a stack overflow.
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  const uintptr_t sp = StackPointer(context);
  const bool overflow = (signal == SIGSEGV || signal == SIGBUS) && sp != 0 &&
                        address + 65536 >= sp && address <= sp + 65536;
  if (ChildStream* stream = g_crash_stream) stream->NoteCrash(signal, thread, overflow);
  ::signal(signal, SIG_DFL);
  raise(signal);
}

}  // namespace

void ChildStream::InstallCrashHandlers(ChildStream* stream) {
  g_crash_stream = stream;
  struct sigaction action {};
  action.sa_sigaction = &OnCrash;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int signal : kCrashSignals) sigaction(signal, &action, nullptr);
}

void ChildStream::DetachCrashHandlers() {
  if (g_crash_stream == nullptr) return;
  g_crash_stream = nullptr;
  for (int signal : kCrashSignals) ::signal(signal, SIG_DFL);
}

void WarmThreadCaches(uint32_t threads) {
  // glibc caches up to 40 MiB of stacks: about four of the default size.
  constexpr uint32_t kMostThreads = 8;
  static uint32_t warmed = 0;  // the runner's thread only (runs do not nest)
  threads = std::min(threads, kMostThreads);
  if (threads <= warmed) return;
  warmed = threads;
  // All alive at once, each holding memory of its arena until all have
  // one, so that each gets a stack and an arena of its own.
  uint32_t arrived[2] = {0, 0};
  auto all_arrive = [&](uint32_t& count) {
    __atomic_add_fetch(&count, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&count, __ATOMIC_ACQUIRE) < threads) Real().sched_yield();
  };
  auto warm = [&] {
    all_arrive(arrived[0]);
    void* memory = std::malloc(64);
    __asm__ volatile("" : : "r"(memory) : "memory");
    all_arrive(arrived[1]);
    std::free(memory);
  };
  std::vector<std::thread> started_threads;
  started_threads.reserve(threads);
  for (uint32_t i = 0; i < threads; ++i) started_threads.emplace_back(warm);
  for (std::thread& thread : started_threads) thread.join();
}

CrashStack::CrashStack(uint32_t thread) {
  if (g_crash_stream == nullptr) return;  // only an isolated child reports crashes
  void* memory = nullptr;
  if (thread < kAltStacks && g_alt_stacks != nullptr) {
    memory = g_alt_stacks + thread * kCrashStackSize;
  } else {
    memory = mmap(nullptr, kCrashStackSize, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) return;
    mapped_ = memory;
  }
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = kCrashStackSize;
  installed_ = sigaltstack(&stack, nullptr) == 0;
}

CrashStack::~CrashStack() {
  if (installed_) {
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
  }
  if (mapped_ != nullptr) munmap(mapped_, kCrashStackSize);
}

absl::StatusOr<ChildStream*> ChildStream::Create(size_t capacity) {
  void* memory = mmap(nullptr, sizeof(Header) + capacity, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map the isolation stream: ", std::strerror(errno)));
  }
  if (g_alt_stacks == nullptr) {
    void* stacks = mmap(nullptr, kAltStacks * kCrashStackSize, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stacks != MAP_FAILED) g_alt_stacks = static_cast<char*>(stacks);
  }
  return new ChildStream(new (memory) Header(), capacity);
}

ChildStream::~ChildStream() { munmap(header_, sizeof(Header) + capacity_); }

void ChildStream::Reset() {
  header_->committed.store(0, std::memory_order_relaxed);
  header_->crash_signal.store(0, std::memory_order_relaxed);
  header_->crash_thread.store(internal::kNoThread, std::memory_order_relaxed);
  header_->stack_overflow.store(0, std::memory_order_relaxed);
  header_->overflowed.store(0, std::memory_order_relaxed);
  decisions_ = 0;
  threads_ = objects_ = events_ = 0;
}

void ChildStream::Append(uint32_t tag, const void* data, uint32_t size) {
  const uint64_t at = header_->committed.load(std::memory_order_relaxed);
  if (at + 8 + size > capacity_) {
    header_->overflowed.store(1, std::memory_order_relaxed);
    return;
  }
  std::memcpy(header_->data + at, &tag, 4);
  std::memcpy(header_->data + at + 4, &size, 4);
  std::memcpy(header_->data + at + 8, data, size);
  // Published only when complete: a crash cannot leave half a record.
  header_->committed.store(at + 8 + size, std::memory_order_release);
}

void ChildStream::AppendMessage(uint32_t tag, const google::protobuf::MessageLite& message) {
  const std::string bytes = message.SerializeAsString();
  Append(tag, bytes.data(), static_cast<uint32_t>(bytes.size()));
}

void ChildStream::Flush(const internal::Controller& controller, const Trace& tables,
                        const Trace* trace) {
  const std::vector<internal::DecisionRecord>& decisions = controller.decisions();
  for (; decisions_ < decisions.size(); ++decisions_) {
    Append(kDecision, &decisions[decisions_], sizeof(internal::DecisionRecord));
  }
  for (; threads_ < tables.threads_size(); ++threads_) {
    AppendMessage(kThread, tables.threads(threads_));
  }
  for (; objects_ < tables.objects_size(); ++objects_) {
    AppendMessage(kObject, tables.objects(objects_));
  }
  if (trace == nullptr) return;
  for (; events_ < trace->events_size(); ++events_) AppendMessage(kEvent, trace->events(events_));
}

void ChildStream::WriteOutcome(const NativeOutcome& native) {
  const internal::IterationOutcome& outcome = native.outcome;
  Trace extra;  // carries the failure and the strategy configuration
  if (outcome.failure) *extra.mutable_failure() = *outcome.failure;
  *extra.mutable_strategy() = outcome.strategy_config;
  const std::string bytes = extra.SerializeAsString();
  const size_t pairs_size = native.conflict_pairs.size() * sizeof(uint64_t);
  std::string record(sizeof(OutcomeHeader) + pairs_size, '\0');
  const OutcomeHeader header{outcome.steps, outcome.schedule_hash, native.quantum_expirations,
                             outcome.failure ? 1u : 0u, native.conflict_pairs.size()};
  std::memcpy(record.data(), &header, sizeof(header));
  if (pairs_size > 0) {
    std::memcpy(record.data() + sizeof(header), native.conflict_pairs.data(), pairs_size);
  }
  record += bytes;
  Append(kOutcome, record.data(), static_cast<uint32_t>(record.size()));
}

void ChildStream::WriteSearchState(const std::string& state) {
  Append(kSearchState, state.data(), static_cast<uint32_t>(state.size()));
}

void ChildStream::NoteCrash(int signal, uint32_t thread, bool stack_overflow) {
  // The first crash is the one reported (another thread may crash after).
  int none = 0;
  static std::atomic<int> claimed{0};
  if (!claimed.compare_exchange_strong(none, 1)) return;
  header_->crash_thread.store(thread, std::memory_order_relaxed);
  header_->stack_overflow.store(stack_overflow ? 1 : 0, std::memory_order_relaxed);
  header_->crash_signal.store(signal, std::memory_order_release);
}

ChildStream::Contents ChildStream::Read() const {
  Contents contents;
  contents.crash_signal = header_->crash_signal.load(std::memory_order_acquire);
  contents.crash_thread = header_->crash_thread.load(std::memory_order_relaxed);
  contents.stack_overflow = header_->stack_overflow.load(std::memory_order_relaxed) != 0;
  contents.overflowed = header_->overflowed.load(std::memory_order_relaxed) != 0;
  const uint64_t end = header_->committed.load(std::memory_order_acquire);
  uint64_t at = 0;
  while (at + 8 <= end) {
    uint32_t tag = 0;
    uint32_t size = 0;
    std::memcpy(&tag, header_->data + at, 4);
    std::memcpy(&size, header_->data + at + 4, 4);
    const char* data = header_->data + at + 8;
    at += 8 + size;
    switch (tag) {
      case kDecision: {
        internal::DecisionRecord decision;
        std::memcpy(&decision, data, sizeof(decision));
        contents.decisions.push_back(decision);
        break;
      }
      case kThread:
        contents.trace.add_threads()->ParseFromArray(data, static_cast<int>(size));
        break;
      case kObject:
        contents.trace.add_objects()->ParseFromArray(data, static_cast<int>(size));
        break;
      case kEvent:
        contents.trace.add_events()->ParseFromArray(data, static_cast<int>(size));
        break;
      case kSearchState:
        contents.search_state.assign(data, size);
        break;
      case kOutcome: {
        OutcomeHeader header;
        std::memcpy(&header, data, sizeof(header));
        const size_t pairs_size = header.conflict_pairs * sizeof(uint64_t);
        contents.conflict_pairs.resize(header.conflict_pairs);
        if (pairs_size > 0) {
          std::memcpy(contents.conflict_pairs.data(), data + sizeof(header), pairs_size);
        }
        const size_t skip = sizeof(header) + pairs_size;
        Trace extra;
        extra.ParseFromArray(data + skip, static_cast<int>(size - skip));
        contents.finished = true;
        contents.steps = header.steps;
        contents.schedule_hash = header.schedule_hash;
        contents.quantum_expirations = header.quantum_expirations;
        if (header.has_failure != 0) contents.failure = extra.failure();
        contents.strategy_config = extra.strategy();
        break;
      }
    }
  }
  return contents;
}

}  // namespace lockstep::native_internal
