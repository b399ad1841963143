#include "lockstep/internal/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lockstep/internal/controller.h"

namespace lockstep::internal {
namespace {

constexpr int kCrashSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
// The child's exit status after ReportChildMisuse.
constexpr int kMisuseStatus = 86;

// The child's own view of its run (set after the fork, in the child only).
ChildHeader* g_child_header = nullptr;
pid_t g_child_os_thread = 0;

void OnCrash(int signal, siginfo_t* info, void*) {
  ChildHeader* header = g_child_header;
  if (header != nullptr && header->crash_signal.load(std::memory_order_relaxed) == 0) {
    uint32_t thread = kNoThread;
    uintptr_t bottom = 0;
    uint64_t size = 0;
    // Only the OS thread that runs the fibers is a logical thread.
    if (gettid() == g_child_os_thread) {
      if (const Controller* controller = Controller::CurrentOrNull()) {
        thread = controller->current_thread();
        controller->CurrentStack(&bottom, &size);
      }
    }
    header->crash_thread.store(thread, std::memory_order_relaxed);
    header->crash_address.store(reinterpret_cast<uintptr_t>(info->si_addr),
                                std::memory_order_relaxed);
    header->crash_stack_bottom.store(bottom, std::memory_order_relaxed);
    header->crash_stack_size.store(size, std::memory_order_relaxed);
    header->crash_signal.store(signal, std::memory_order_release);
  }
  // Die of the same signal.
  ::signal(signal, SIG_DFL);
  raise(signal);
}

// exit() from the code under test (RunInChild itself uses _exit). Registered
// last, so it runs first: it ends the process at once with the same status,
// before anything else registered runs in a process whose iteration was cut
// short (LeakSanitizer's check would report the abandoned iteration's
// memory and change the status).
void OnExit(int status, void*) {
  if (g_child_header != nullptr) g_child_header->exit_called.store(1, std::memory_order_release);
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(status);
}

void OnQuickExit() {
  if (g_child_header != nullptr) g_child_header->exit_called.store(2, std::memory_order_release);
}

void InstallChildHandlers() {
  // The alternate stack lets the handler run when a stack overflowed.
  static char* alternate = new char[256 * 1024];
  stack_t stack{};
  stack.ss_sp = alternate;
  stack.ss_size = 256 * 1024;
  sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_sigaction = &OnCrash;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int signal : kCrashSignals) sigaction(signal, &action, nullptr);
  on_exit(&OnExit, nullptr);
  std::at_quick_exit(&OnQuickExit);
}

// Forwards what arrives on `fd` to stderr and keeps the tail.
bool Forward(int fd, std::string& kept) {
  char buffer[4096];
  const ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n <= 0) return false;
  std::fwrite(buffer, 1, static_cast<size_t>(n), stderr);
  kept.append(buffer, static_cast<size_t>(n));
  if (kept.size() > 64 * 1024) kept.erase(0, kept.size() - 32 * 1024);
  return true;
}

}  // namespace

absl::StatusOr<SharedMemory> SharedMemory::Map(size_t bytes) {
  const size_t size = kHeaderBytes + bytes;
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map shared memory for process isolation: ", std::strerror(errno)));
  }
  static_assert(sizeof(ChildHeader) <= kHeaderBytes);
  new (base) ChildHeader();
  return SharedMemory(base, size);
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(other.size_) {}

SharedMemory::~SharedMemory() {
  if (base_ != nullptr) munmap(base_, size_);
}

ChildEnd RunInChild(const SharedMemory& memory, const std::function<void()>& child,
                    std::chrono::milliseconds watchdog) {
  ChildHeader* header = memory.header();
  header->~ChildHeader();
  new (header) ChildHeader();
  ChildEnd end;
  int output[2];
  if (pipe2(output, O_CLOEXEC) != 0) {
    end.kind = ChildEnd::Kind::kNotStarted;
    end.error = absl::StrCat("cannot create a pipe: ", std::strerror(errno));
    return end;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(output[0]);
    close(output[1]);
    end.kind = ChildEnd::Kind::kNotStarted;
    end.error = absl::StrCat("cannot fork: ", std::strerror(errno));
    return end;
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Ends with the test process, should that be killed (a test timeout).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    close(output[0]);
    dup2(output[1], STDERR_FILENO);
    g_child_header = header;
    g_child_os_thread = gettid();
    InstallChildHandlers();
    Controller::set_progress_counter(&header->progress);
    Controller::set_foreign_use_handler(&ReportChildMisuse);
    child();
    std::fflush(stdout);
    std::fflush(stderr);
    header->returned.store(1, std::memory_order_release);
    _exit(0);
  }
  setpgid(pid, pid);  // also here, so the group exists before we may kill it
  close(output[1]);

  // Forward output, watch progress, and notice the end.
  bool timed_out = false;
  int status = 0;
  bool reaped = false;
  uint64_t last_progress = header->progress.load(std::memory_order_relaxed);
  auto last_change = std::chrono::steady_clock::now();
  bool open = true;
  while (!reaped) {
    pollfd p{output[0], POLLIN, 0};
    if (open && poll(&p, 1, 50) > 0) open = Forward(output[0], end.output_tail);
    if (!open) usleep(100);
    if (waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      break;
    }
    const uint64_t progress = header->progress.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (progress != last_progress) {
      last_progress = progress;
      last_change = now;
    } else if (now - last_change >= watchdog) {
      timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      reaped = true;
    }
  }
  // The rest of the output, then no survivors from the child's group.
  fcntl(output[0], F_SETFL, O_NONBLOCK);
  while (open && Forward(output[0], end.output_tail)) {
  }
  close(output[0]);
  kill(-pid, SIGKILL);

  end.crash_noted = header->crash_signal.load(std::memory_order_acquire) != 0;
  end.crash_thread = header->crash_thread.load(std::memory_order_relaxed);
  end.crash_address = header->crash_address.load(std::memory_order_relaxed);
  end.stack_bottom = header->crash_stack_bottom.load(std::memory_order_relaxed);
  end.stack_size = header->crash_stack_size.load(std::memory_order_relaxed);
  end.exit_called = header->exit_called.load(std::memory_order_acquire);
  if (header->misuse.load(std::memory_order_acquire) != 0) end.misuse = header->misuse_message;
  if (timed_out) {
    end.kind = ChildEnd::Kind::kTimedOut;
  } else if (header->misuse.load(std::memory_order_acquire) != 0) {
    end.kind = ChildEnd::Kind::kMisuse;
  } else if (header->returned.load(std::memory_order_acquire) != 0) {
    end.kind = ChildEnd::Kind::kReturned;
  } else if (WIFSIGNALED(status) || header->crash_signal.load(std::memory_order_acquire) != 0) {
    end.kind = ChildEnd::Kind::kCrashed;
    end.signal = header->crash_signal.load(std::memory_order_acquire);
    if (end.signal == 0) end.signal = WTERMSIG(status);
  } else {
    end.kind = ChildEnd::Kind::kExited;
    end.status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    end.sanitizer_report = SanitizerReport(end.output_tail);
    if (header->exit_called.load() == 0 && !end.sanitizer_report.empty()) {
      end.kind = ChildEnd::Kind::kCrashed;
    }
  }
  return end;
}

void ReportChildMisuse(const std::string& message) {
  ChildHeader* header = g_child_header;
  if (header == nullptr) return;
  int expected = 0;
  if (header->misuse.compare_exchange_strong(expected, 1)) {
    const size_t n = std::min(message.size(), sizeof(header->misuse_message) - 1);
    std::memcpy(header->misuse_message, message.data(), n);
    header->misuse_message[n] = '\0';
  }
  std::fflush(stderr);
  _exit(kMisuseStatus);
}

std::string SanitizerReport(const std::string& output) {
  for (const char* marker :
       {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
        "ERROR: ThreadSanitizer", "runtime error:", "ERROR: MemorySanitizer"}) {
    const size_t at = output.find(marker);
    if (at == std::string::npos) continue;
    const size_t begin = output.rfind('\n', at);
    const size_t start = begin == std::string::npos ? 0 : begin + 1;
    return output.substr(start, output.find('\n', at) - start);
  }
  return "";
}

std::string SignalDescription(int signal, bool stack_overflow) {
  switch (signal) {
    case SIGABRT:
      return "SIGABRT (abort(): a failed assert(), std::terminate, abort())";
    case SIGSEGV:
      return stack_overflow ? "SIGSEGV (stack overflow)" : "SIGSEGV (invalid memory access)";
    case SIGBUS:
      return stack_overflow ? "SIGBUS (stack overflow)" : "SIGBUS (bus error)";
    case SIGFPE:
      return "SIGFPE (arithmetic error)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGKILL:
      return "SIGKILL";
    default:
      return absl::StrCat("signal ", signal, " (", strsignal(signal), ")");
  }
}

std::string OutputTail(const std::string& output, int max_lines) {
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipWhitespace());
  std::string out;
  const size_t first = lines.size() > static_cast<size_t>(max_lines) ? lines.size() - max_lines : 0;
  for (size_t i = first; i < lines.size(); ++i) absl::StrAppend(&out, "\n    ", lines[i]);
  return out;
}

void LocateAssert(const std::string& output, Failure* failure) {
  const std::vector<std::string> lines = absl::StrSplit(output, '\n');
  for (const std::string& whole : lines) {
    std::string_view line = whole;
    const size_t assertion = line.find(": Assertion `");
    if (assertion == std::string_view::npos) continue;
    std::string_view rest = line.substr(0, assertion);
    const size_t after_prog = rest.find(": ");
    if (after_prog == std::string_view::npos) continue;
    rest.remove_prefix(after_prog + 2);
    const size_t after_where = rest.find(": ");
    const std::string_view where = rest.substr(0, after_where);
    const size_t colon = where.rfind(':');
    if (colon == std::string_view::npos) continue;
    SourceLocation* location = failure->mutable_location();
    location->set_file(std::string(where.substr(0, colon)));
    location->set_line(
        static_cast<uint32_t>(std::atoi(std::string(where.substr(colon + 1)).c_str())));
    location->set_function(
        after_where == std::string_view::npos ? "" : std::string(rest.substr(after_where + 2)));
    return;
  }
}

}  // namespace lockstep::internal
