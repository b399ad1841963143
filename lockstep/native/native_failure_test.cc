// The native runner's failure path: whatever the code under test does
// (crash, spin, fork, exit, fail only once), the failure that happened is
// reported with a readable trace whose decisions replay it.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/internal/sanitizers.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/trace_io.h"

// The programs under test live outside namespace lockstep: traces locate
// events at the first frame that is not Lockstep's own.
namespace programs {

// An invalid pointer the compiler cannot see through (not null: UBSan would
// report a null store before the fault).
int* volatile g_null = reinterpret_cast<int*>(16);

void Segfault() { *g_null = 1; }

// Recurses until the stack runs out (g_never is never reached).
volatile int g_never = -1;
int Recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth == g_never) return 0;
  return Recurse(depth + 1) + frame[0];
}

// Spins on an atomic that nobody sets: no pthread call, ever.
void SpinForever() {
  std::atomic<bool> stop{false};
  while (!stop.load(std::memory_order_relaxed)) {
  }
}

// Process-shared state that outlives the isolated iteration processes.
struct Shared {
  std::atomic<int> runs{0};
};

Shared* MapShared() {
  void* memory =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return new (memory) Shared();
}

}  // namespace programs

namespace lockstep {
namespace {

using ::testing::HasSubstr;

NativeOptions Control(uint64_t iterations) {
  NativeOptions options;
  options.iterations = iterations;
  options.resume_quantum_us = 20000;
  options.watchdog = std::chrono::milliseconds(2000);
  return options;
}

// The trace is valid, survives a round trip through a file, and replaying
// its decisions fails with the same kind.
void ExpectReplayable(const std::function<void()>& body, const NativeOptions& options,
                      const Trace& trace, Failure::Kind kind) {
  ASSERT_TRUE(ValidateTrace(trace).ok()) << ValidateTrace(trace);
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/native_failure_", getpid(),
                                        "_", trace.failure().kind(), ".lockstep");
  ASSERT_TRUE(WriteTraceFile(trace, path).ok());
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  std::remove(path.c_str());
  NativeOptions replay = options;
  replay.replay = &*read;
  RunResult replayed = NativeRunner::Run(body, replay);
  ASSERT_TRUE(replayed.status.ok()) << replayed.status;
  ASSERT_TRUE(replayed.failed()) << "the replay passed";
  EXPECT_EQ(replayed.trace->failure().kind(), kind)
      << FailureKindName(replayed.trace->failure().kind()) << ": "
      << replayed.trace->failure().message();
}

// --- 1. A crash before the thread's first interposed call -------------------

TEST(NativeFailureTest, SegfaultBeforeFirstCallIsAReplayableCrash) {
  auto body = [] {
    std::thread t(programs::Segfault);
    t.join();
  };
  const NativeOptions options = Control(3);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::CRASH) << failure.message();
  EXPECT_THAT(failure.message(), HasSubstr("SIGSEGV"));
  EXPECT_THAT(failure.message(), HasSubstr("thread 1"));
  EXPECT_EQ(failure.thread(), 1u);
  EXPECT_EQ(failure.note(), "");
  ExpectReplayable(body, options, *result.trace, Failure::CRASH);
}

TEST(NativeFailureTest, AbortBeforeFirstCallIsAReplayableCrash) {
  auto body = [] {
    std::thread t([] { std::abort(); });
    t.join();
  };
  const NativeOptions options = Control(3);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::CRASH) << failure.message();
  EXPECT_THAT(failure.message(), HasSubstr("SIGABRT"));
  EXPECT_EQ(failure.thread(), 1u);
  ExpectReplayable(body, options, *result.trace, Failure::CRASH);
}

// --- 5. A segfault after some interposed calls --------------------------------

TEST(NativeFailureTest, SegfaultInAThreadNamesTheSignalAndTheThread) {
  auto body = [] {
    std::mutex mutex;
    int shared = 0;
    std::thread a([&] {
      std::lock_guard<std::mutex> lock(mutex);
      ++shared;
    });
    std::thread b([&] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        ++shared;
      }
      programs::Segfault();
    });
    a.join();
    b.join();
  };
  const NativeOptions options = Control(3);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::CRASH) << failure.message();
  EXPECT_THAT(failure.message(), HasSubstr("SIGSEGV"));
  EXPECT_THAT(failure.message(), HasSubstr("thread 2"));
  EXPECT_EQ(failure.thread(), 2u);
  EXPECT_GT(result.trace->events_size(), 0);
  ExpectReplayable(body, options, *result.trace, Failure::CRASH);
}

TEST(NativeFailureTest, StackOverflowInAThreadIsNamed) {
  auto body = [] {
    std::thread t([] { programs::Recurse(0); });
    t.join();
  };
  const NativeOptions options = Control(2);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::CRASH) << failure.message();
  EXPECT_THAT(failure.message(), HasSubstr("stack overflow"));
  EXPECT_EQ(failure.thread(), 1u);
  ExpectReplayable(body, options, *result.trace, Failure::CRASH);
}

// --- exit() in the body ------------------------------------------------------

TEST(NativeFailureTest, ExitInAThreadIsAnExitFailure) {
  for (bool isolate : {true, false}) {
    SCOPED_TRACE(isolate ? "isolated" : "in process");
    auto body = [] {
      std::mutex mutex;
      std::thread t([&] {
        { std::lock_guard<std::mutex> lock(mutex); }
        std::exit(3);
      });
      { std::lock_guard<std::mutex> lock(mutex); }
      t.join();
    };
    NativeOptions options = Control(2);
    options.isolate = isolate;
    RunResult result = NativeRunner::Run(body, options);
    ASSERT_TRUE(result.failed());
    const Failure& failure = result.trace->failure();
    EXPECT_EQ(failure.kind(), Failure::EXIT) << failure.message();
    EXPECT_THAT(failure.message(), HasSubstr("exit(3) in thread 1"));
    EXPECT_EQ(failure.thread(), 1u);
    EXPECT_EQ(failure.note(), "");
    // In-process, the exiting thread (and the body joining it) stay blocked
    // for good; the test process goes on.
    ExpectReplayable(body, options, *result.trace, Failure::EXIT);
  }
}

// --- 2. A thread that stops reaching interposed calls -----------------------

TEST(NativeFailureTest, SpinWithoutCallsIsATimeoutNamingTheThread) {
  auto body = [] {
    std::thread t(programs::SpinForever);
    t.join();
  };
  NativeOptions options = Control(2);
  options.watchdog = std::chrono::milliseconds(300);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::TIMEOUT) << failure.message();
  EXPECT_EQ(failure.thread(), 1u);
  EXPECT_THAT(failure.message(), HasSubstr("thread 1"));
  EXPECT_THAT(failure.location().function(), HasSubstr("SpinForever"));
  ExpectReplayable(body, options, *result.trace, Failure::TIMEOUT);
}

// --- 3. fork() in the body ------------------------------------------------

TEST(NativeFailureTest, ForkedChildRunsOutsideTheModel) {
#if defined(LOCKSTEP_TSAN)
  GTEST_SKIP() << "ThreadSanitizer cannot start threads reliably in a process forked while "
                  "other threads ran (it reuses their thread ids: \"dup thread with used id\")";
#endif
  auto body = [] {
    std::mutex mutex;
    std::thread t([&] { std::lock_guard<std::mutex> lock(mutex); });
    const pid_t pid = fork();
    if (pid == 0) {
      // Threads and locks in the forked process are real ones.
      std::mutex own;
      int value = 0;
      std::thread helper([&] {
        std::lock_guard<std::mutex> lock(own);
        value = 7;
      });
      helper.join();
      _exit(value);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    t.join();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) {
      RecordFailure(Failure::ASSERTION, absl::StrCat("forked child ended with status ", status),
                    __FILE__, __LINE__);
    }
  };
  RunResult result = NativeRunner::Run(body, Control(5));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
  EXPECT_EQ(result.iterations, 5u);
}

// Whether `pid` has ended (gone, or a zombie nobody reaped yet).
bool Ended(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.substr(paren + 2, 1) == "Z" ||
         line.substr(paren + 2, 1) == "X";
}

TEST(NativeFailureTest, ForkIsAnEventAndNoProcessOutlivesTheRun) {
  int pids[2];
  ASSERT_EQ(pipe2(pids, O_CLOEXEC | O_NONBLOCK), 0);
  const int pid_out = pids[1];
  auto body = [pid_out] {
    int ready[2];
    if (pipe(ready) != 0) return;
    const pid_t pid = fork();
    if (pid == 0) {
      const pid_t me = getpid();
      (void)!write(pid_out, &me, sizeof(me));
      (void)!write(ready[1], "r", 1);
      while (true) pause();  // outlives the iteration unless killed
    }
    char byte;
    (void)!read(ready[0], &byte, 1);  // its pid is written
    close(ready[0]);
    close(ready[1]);
    RecordFailure(Failure::ASSERTION, "failed after forking", __FILE__, __LINE__);
  };
  const NativeOptions options = Control(2);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Trace& trace = *result.trace;
  EXPECT_EQ(trace.failure().kind(), Failure::ASSERTION) << trace.failure().message();
  bool fork_event = false;
  for (const Event& event : trace.events()) fork_event |= event.op() == "process.fork";
  EXPECT_TRUE(fork_event) << TraceToText(trace);
  ExpectReplayable(body, options, trace, Failure::ASSERTION);
  close(pids[1]);
  std::vector<pid_t> forked;
  pid_t pid;
  while (read(pids[0], &pid, sizeof(pid)) == sizeof(pid)) forked.push_back(pid);
  close(pids[0]);
  EXPECT_GE(forked.size(), 3u);  // found, re-executed, replayed
  for (pid_t p : forked) {
    // Killed when its iteration ended; the kill may take a moment to land.
    for (int i = 0; i < 200 && !Ended(p); ++i) usleep(10000);
    EXPECT_TRUE(Ended(p)) << "forked process " << p << " outlived its iteration";
    if (!Ended(p)) kill(p, SIGKILL);
  }
}

TEST(NativeFailureTest, ForkedProcessEndsWhenTheTestProcessDies) {
  int pids[2];
  ASSERT_EQ(pipe2(pids, O_CLOEXEC), 0);
  // A test process of its own, which the body kills in the middle of the
  // iteration (as a test timeout would).
  const pid_t test_process = fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    const int pid_out = pids[1];
    NativeRunner::Run(
        [pid_out] {
          int ready[2];
          if (pipe(ready) != 0) return;
          const pid_t pid = fork();
          if (pid == 0) {
            const pid_t me = getpid();
            (void)!write(pid_out, &me, sizeof(me));
            (void)!write(ready[1], "r", 1);
            while (true) pause();
          }
          char byte;
          (void)!read(ready[0], &byte, 1);  // its pid is written
          kill(getppid(), SIGKILL);         // the test process
          while (true) pause();
        },
        Control(1));
    _exit(0);
  }
  close(pids[1]);
  int status = 0;
  ASSERT_EQ(waitpid(test_process, &status, 0), test_process);
  EXPECT_TRUE(WIFSIGNALED(status));
  pid_t forked = 0;
  ASSERT_EQ(read(pids[0], &forked, sizeof(forked)), static_cast<ssize_t>(sizeof(forked)));
  close(pids[0]);
  for (int i = 0; i < 200 && !Ended(forked); ++i) usleep(10000);
  EXPECT_TRUE(Ended(forked)) << "forked process " << forked << " outlived the test process";
  if (!Ended(forked)) kill(forked, SIGKILL);
}

// --- 4. A failure the re-execution does not repeat ---------------------------

// Fails in thread 1 on every execution but the `passes`-th (0-based).
void FailsExceptOnRun(programs::Shared* shared, int passes) {
  std::mutex mutex;
  int value = 0;
  std::thread t([&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++value;
    }
    if (shared->runs.fetch_add(1) != passes) {
      RecordFailure(Failure::ASSERTION, "the failure that happened", __FILE__, __LINE__);
    }
  });
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++value;
  }
  t.join();
}

TEST(NativeFailureTest, DivergedReExecutionKeepsTheFailureThatHappened) {
  for (bool isolate : {true, false}) {
    SCOPED_TRACE(isolate ? "isolated" : "in process");
    programs::Shared* shared = programs::MapShared();
    auto body = [shared] { FailsExceptOnRun(shared, /*passes=*/1); };
    NativeOptions options = Control(3);
    options.isolate = isolate;
    RunResult result = NativeRunner::Run(body, options);
    ASSERT_TRUE(result.failed());
    const Failure& failure = result.trace->failure();
    EXPECT_EQ(failure.kind(), Failure::ASSERTION) << failure.message();
    EXPECT_EQ(failure.message(), "the failure that happened");
    EXPECT_EQ(failure.thread(), 1u);
    EXPECT_GT(failure.step(), 0u);
    EXPECT_THAT(failure.note(), HasSubstr("re-execution diverged at step"));
    EXPECT_THAT(failure.note(), HasSubstr("more decisions than the trace holds"));
    EXPECT_EQ(result.iterations, 1u);
    // The decisions are the failing run's: the third execution follows them.
    ExpectReplayable(body, options, *result.trace, Failure::ASSERTION);
    munmap(shared, sizeof(*shared));
  }
}

TEST(NativeFailureTest, ReExecutionFailingTheSameWayAddsItsEvents) {
  programs::Shared* shared = programs::MapShared();
  auto body = [shared] { FailsExceptOnRun(shared, /*passes=*/-1); };
  const NativeOptions options = Control(3);
  RunResult result = NativeRunner::Run(body, options);
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::ASSERTION);
  EXPECT_EQ(failure.note(), "");
  EXPECT_GT(result.trace->events_size(), 3);
  ExpectReplayable(body, options, *result.trace, Failure::ASSERTION);
  munmap(shared, sizeof(*shared));
}

TEST(NativeFailureTest, ReplayThatDoesSomethingElseIsNondeterminismNamingTheStep) {
  programs::Shared* shared = programs::MapShared();
  const NativeOptions options = Control(3);
  RunResult result =
      NativeRunner::Run([shared] { FailsExceptOnRun(shared, /*passes=*/-1); }, options);
  ASSERT_TRUE(result.failed());
  NativeOptions replay = options;
  replay.replay = &*result.trace;
  // Given the same decisions, this body takes an extra lock first.
  RunResult replayed = NativeRunner::Run(
      [] {
        std::mutex mutex;
        std::thread t([&] { std::lock_guard<std::mutex> lock(mutex); });
        mutex.lock();
        mutex.unlock();
        mutex.lock();
        mutex.unlock();
        t.join();
      },
      replay);
  ASSERT_TRUE(replayed.failed());
  EXPECT_EQ(replayed.trace->failure().kind(), Failure::NONDETERMINISM);
  EXPECT_THAT(replayed.trace->failure().message(), HasSubstr("diverged at step"));
  munmap(shared, sizeof(*shared));
}

}  // namespace
}  // namespace lockstep
