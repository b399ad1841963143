// Every strategy finds each classic concurrency bug within a stated
// iteration budget, and each bug's correct twin passes every iteration.
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/condvar.h"
#include "lockstep/failure.h"
#include "lockstep/mailbox.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"
#include "lockstep/time.h"

namespace lockstep {
namespace {

using namespace std::chrono_literals;

// Budget: every strategy must find every bug within this many iterations at
// seed 1 (measured at seed 1: the slowest, LostWakeup under random, needs
// 52; the test prints each figure).
constexpr uint64_t kFindBudget = 100;
// Iterations the correct twins must pass.
constexpr uint64_t kPassIterations = 100;
// The cap within which dfs and dpor must have explored every schedule of
// each correct twin.
constexpr uint64_t kVerifyCap = 20000;

// --- Lost update: load then store on an atomic ---------------------------
void LostUpdate(bool fixed) {
  Atomic<int> counter(0, "counter");
  auto increment = [&] {
    if (fixed) {
      counter.fetch_add(1);
    } else {
      counter.store(counter.load() + 1);
    }
  };
  Thread a = spawn(increment, "a");
  Thread b = spawn(increment, "b");
  a.join();
  b.join();
  LOCKSTEP_CHECK(counter.load() == 2);
}

// --- Check-then-act under separate critical sections ---------------------
void CheckThenAct(bool fixed) {
  Mutex mutex("account");
  int balance = 100;
  auto withdraw = [&] {
    if (fixed) {
      std::lock_guard<Mutex> lock(mutex);
      if (balance >= 80) balance -= 80;
      return;
    }
    bool enough;
    {
      std::lock_guard<Mutex> lock(mutex);
      enough = balance >= 80;
    }
    if (enough) {
      std::lock_guard<Mutex> lock(mutex);
      balance -= 80;
    }
  };
  Thread a = spawn(withdraw, "a");
  Thread b = spawn(withdraw, "b");
  a.join();
  b.join();
  LOCKSTEP_CHECK(balance >= 0);
}

// --- Order violation: use before initialization --------------------------
void OrderViolation(bool fixed) {
  Atomic<const int*> config(nullptr, "config");
  const int value = 42;
  Mutex mutex("init");
  CondVar initialized("initialized");
  Thread init = spawn(
      [&] {
        std::lock_guard<Mutex> lock(mutex);
        config.store(&value);
        initialized.notify_all();
      },
      "init");
  Thread user = spawn(
      [&] {
        if (fixed) {
          std::unique_lock<Mutex> lock(mutex);
          initialized.wait(lock, [&] { return config.load() != nullptr; });
        }
        const int* c = config.load();
        LOCKSTEP_CHECK(c != nullptr && *c == 42);
      },
      "user");
  init.join();
  user.join();
}

// --- Lock-order inversion deadlock --------------------------------------
void LockOrderInversion(bool fixed) {
  Mutex a("a");
  Mutex b("b");
  Thread t1 = spawn(
      [&] {
        std::scoped_lock<Mutex> first(a);
        std::scoped_lock<Mutex> second(b);
      },
      "t1");
  Thread t2 = spawn(
      [&] {
        Mutex& first = fixed ? a : b;
        Mutex& second = fixed ? b : a;
        std::lock_guard<Mutex> l1(first);
        std::lock_guard<Mutex> l2(second);
      },
      "t2");
  t1.join();
  t2.join();
}

// --- Lost wake-up: notify outside the lock, wait without a predicate -----
void LostWakeup(bool fixed) {
  Mutex mutex("m");
  CondVar ready_cv("ready");
  Atomic<bool> ready(false, "ready");
  Thread waiter = spawn(
      [&] {
        std::unique_lock<Mutex> lock(mutex);
        if (fixed) {
          ready_cv.wait(lock, [&] { return ready.load(); });
        } else if (!ready.load()) {
          ready_cv.wait(lock);
        }
      },
      "waiter");
  Thread notifier = spawn(
      [&] {
        if (fixed) {
          std::lock_guard<Mutex> lock(mutex);
          ready.store(true);
        } else {
          ready.store(true);
        }
        ready_cv.notify_one();
      },
      "notifier");
  waiter.join();
  notifier.join();
}

// --- A timeout racing a reply on a mailbox -------------------------------
// The client asks the server to debit an account and waits at most 100 ms.
// Buggy: on timeout it tells the user the debit failed, but the server may
// still perform it. Fixed: on timeout it still waits for the (late) reply,
// which says what really happened.
struct Request {
  Mailbox<bool>* reply_to;
};
void TimeoutRacesReply(bool fixed) {
  Mailbox<Request> server_inbox("server");
  Mailbox<bool> client_inbox("client");
  bool debited = false;
  bool client_believes_debited = false;
  Thread server = spawn(
      [&] {
        Request request = server_inbox.recv();
        debited = true;
        request.reply_to->send(true);
      },
      "server");
  Thread client = spawn(
      [&] {
        server_inbox.send(Request{&client_inbox});
        std::optional<bool> reply = client_inbox.recv_for(100ms);
        if (!reply && fixed) reply = client_inbox.recv();
        client_believes_debited = reply.value_or(false);
      },
      "client");
  server.join();
  client.join();
  LOCKSTEP_CHECK_MSG(debited == client_believes_debited,
                     debited ? "the client reported a failed debit that happened"
                             : "the client reported a debit that did not happen");
}

struct Bug {
  const char* name;
  std::function<void(bool)> body;
  Failure::Kind kind;
};

const Bug kBugs[] = {
    {"LostUpdate", LostUpdate, Failure::ASSERTION},
    {"CheckThenAct", CheckThenAct, Failure::ASSERTION},
    {"OrderViolation", OrderViolation, Failure::ASSERTION},
    {"LockOrderInversion", LockOrderInversion, Failure::DEADLOCK},
    {"LostWakeup", LostWakeup, Failure::DEADLOCK},
    {"TimeoutRacesReply", TimeoutRacesReply, Failure::ASSERTION},
};

class ClassicBugsTest : public testing::TestWithParam<StrategyKind> {
 protected:
  Options MakeOptions(uint64_t iterations) const {
    Options options;
    options.strategy = GetParam();
    options.seed = 1;
    options.iterations = iterations;
    return options;
  }
};

TEST_P(ClassicBugsTest, FindsEachBugWithinBudget) {
  for (const Bug& bug : kBugs) {
    SCOPED_TRACE(bug.name);
    // An exhaustive search finds it before its search is over.
    const uint64_t budget = IsExhaustive(GetParam()) ? kVerifyCap : kFindBudget;
    RunResult result = Runner::Run([&] { bug.body(false); }, MakeOptions(budget));
    ASSERT_TRUE(result.status.ok()) << result.status;
    ASSERT_TRUE(result.failed()) << bug.name << " not found in " << budget << " iterations";
    EXPECT_EQ(result.trace->failure().kind(), bug.kind) << result.trace->failure().message();
    std::printf("%-10s %-20s found at iteration %llu\n",
                std::string(StrategyKindName(GetParam())).c_str(), bug.name,
                static_cast<unsigned long long>(result.trace->iteration()));
  }
}

TEST_P(ClassicBugsTest, FixedTwinsPassEveryIteration) {
  for (const Bug& bug : kBugs) {
    SCOPED_TRACE(bug.name);
    RunResult result = Runner::Run([&] { bug.body(true); }, MakeOptions(kPassIterations));
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_FALSE(result.failed()) << result.trace->failure().message();
    // An exhaustive search may see every schedule before the cap.
    if (!result.exhausted) {
      EXPECT_EQ(result.iterations, kPassIterations);
    }
  }
}

TEST_P(ClassicBugsTest, ExhaustiveSearchesVerifyTheFixedTwins) {
  if (!IsExhaustive(GetParam())) GTEST_SKIP() << "a sampling strategy";
  for (const Bug& bug : kBugs) {
    SCOPED_TRACE(bug.name);
    RunResult result = Runner::Run([&] { bug.body(true); }, MakeOptions(kVerifyCap));
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_FALSE(result.failed()) << result.trace->failure().message();
    EXPECT_TRUE(result.exhausted) << "not every schedule within " << kVerifyCap;
    std::printf("%-10s %-20s verified in %llu schedules (%llu cut short)\n",
                std::string(StrategyKindName(GetParam())).c_str(), bug.name,
                static_cast<unsigned long long>(result.iterations - result.redundant_iterations),
                static_cast<unsigned long long>(result.redundant_iterations));
  }
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, ClassicBugsTest,
                         testing::Values(StrategyKind::kRandom, StrategyKind::kPct,
                                         StrategyKind::kFairPct, StrategyKind::kPos,
                                         StrategyKind::kIdPct, StrategyKind::kDfs,
                                         StrategyKind::kDpor),
                         [](const testing::TestParamInfo<StrategyKind>& info) {
                           return std::string(StrategyKindName(info.param));
                         });

}  // namespace
}  // namespace lockstep
