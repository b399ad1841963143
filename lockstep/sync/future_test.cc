// lockstep::sync futures: std semantics under controlled scheduling.
#include "lockstep/sync/future.h"

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"
#include "lockstep/sync/chrono.h"
#include "lockstep/thread.h"
#include "lockstep/time.h"

namespace lockstep {
namespace {

using namespace std::chrono_literals;
using ::lockstep::testing_util::FailureKind;
using ::lockstep::testing_util::FailureMessage;
using ::testing::HasSubstr;

::lockstep::Options InProcess(uint64_t iterations) {
  return ::lockstep::testing_util::InProcess(iterations, "FutureTest");
}

// Runs `body` and expects no iteration to fail.
void ExpectPasses(const std::function<void()>& body, uint64_t iterations = 200) {
  RunResult result = Runner::Run(body, InProcess(iterations));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(result.iterations, iterations);
}

// The future_errc of a std::future_error thrown by `fn`, if any.
template <typename Fn>
std::optional<std::future_errc> ErrcOf(Fn&& fn) {
  try {
    fn();
  } catch (const std::future_error& e) {
    if (e.code() == std::future_errc::no_state) return std::future_errc::no_state;
    if (e.code() == std::future_errc::broken_promise) return std::future_errc::broken_promise;
    if (e.code() == std::future_errc::promise_already_satisfied) {
      return std::future_errc::promise_already_satisfied;
    }
    if (e.code() == std::future_errc::future_already_retrieved) {
      return std::future_errc::future_already_retrieved;
    }
  }
  return std::nullopt;
}

TEST(FutureTest, ValueCrossesThreads) {
  ExpectPasses([] {
    sync::promise<int> p;
    sync::future<int> f = p.get_future();
    EXPECT_TRUE(f.valid());
    Thread t = spawn([&] { p.set_value(42); }, "setter");
    LOCKSTEP_CHECK(f.get() == 42);
    LOCKSTEP_CHECK(!f.valid());
    t.join();
  });
}

TEST(FutureTest, MoveOnlyValueCrossesThreads) {
  ExpectPasses([] {
    sync::promise<std::unique_ptr<std::string>> p;
    sync::future<std::unique_ptr<std::string>> f = p.get_future();
    Thread t = spawn([&] { p.set_value(std::make_unique<std::string>("hello")); });
    std::unique_ptr<std::string> value = f.get();
    LOCKSTEP_CHECK(value != nullptr && *value == "hello");
    t.join();
  });
}

TEST(FutureTest, VoidCrossesThreads) {
  ExpectPasses([] {
    bool written = false;
    sync::promise<void> p;
    sync::future<void> f = p.get_future();
    Thread t = spawn([&] {
      written = true;
      p.set_value();
    });
    f.get();
    LOCKSTEP_CHECK(written);
    t.join();
  });
}

TEST(FutureTest, ReferenceCrossesThreads) {
  ExpectPasses([] {
    int target = 7;
    sync::promise<int&> p;
    sync::future<int&> f = p.get_future();
    Thread t = spawn([&] { p.set_value(target); });
    int& got = f.get();
    LOCKSTEP_CHECK(&got == &target);
    t.join();
  });
}

TEST(FutureTest, ExceptionPropagates) {
  ExpectPasses([] {
    sync::promise<int> p;
    sync::future<int> f = p.get_future();
    Thread t = spawn([&] { p.set_exception(std::make_exception_ptr(std::runtime_error("boom"))); });
    std::string caught;
    try {
      f.get();
    } catch (const std::runtime_error& e) {
      caught = e.what();
    }
    LOCKSTEP_CHECK(caught == "boom");
    t.join();
  });
}

TEST(FutureTest, DestroyedPromiseBreaksItsFuture) {
  ExpectPasses([] {
    auto p = std::make_unique<sync::promise<int>>();
    sync::future<int> f = p->get_future();
    Thread t = spawn([&] { p.reset(); });
    LOCKSTEP_CHECK(ErrcOf([&] { f.get(); }) == std::future_errc::broken_promise);
    t.join();
  });
}

TEST(FutureTest, ErrorsAreThrownWhereStdThrowsThem) {
  ExpectPasses(
      [] {
        sync::promise<int> p;
        sync::future<int> f = p.get_future();
        LOCKSTEP_CHECK(ErrcOf([&] { (void)p.get_future(); }) ==
                       std::future_errc::future_already_retrieved);
        p.set_value(1);
        LOCKSTEP_CHECK(ErrcOf([&] { p.set_value(2); }) ==
                       std::future_errc::promise_already_satisfied);
        LOCKSTEP_CHECK(ErrcOf([&] { p.set_exception(std::make_exception_ptr(1)); }) ==
                       std::future_errc::promise_already_satisfied);
        LOCKSTEP_CHECK(f.get() == 1);
        sync::promise<int> moved_to(std::move(p));
        LOCKSTEP_CHECK(ErrcOf([&] { p.set_value(3); }) == std::future_errc::no_state);
        LOCKSTEP_CHECK(ErrcOf([&] { (void)p.get_future(); }) == std::future_errc::no_state);
        sync::future<int> empty;
        LOCKSTEP_CHECK(!empty.valid());
        LOCKSTEP_CHECK(ErrcOf([&] { (void)empty.get(); }) == std::future_errc::no_state);
        LOCKSTEP_CHECK(ErrcOf([&] { empty.wait(); }) == std::future_errc::no_state);
      },
      1);
}

TEST(FutureTest, PromiseSetTwiceByARaceIsFound) {
  RunResult result = Runner::Run(
      [] {
        sync::promise<int> p;
        sync::future<int> f = p.get_future();
        Thread a = spawn([&] { p.set_value(1); }, "a");
        Thread b = spawn([&] { p.set_value(2); }, "b");
        (void)f.get();
        a.join();
        b.join();
      },
      InProcess(100));
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(FailureKind(result), Failure::EXCEPTION);
  EXPECT_THAT(FailureMessage(result), HasSubstr("std::future_error"));
  EXPECT_THAT(FailureMessage(result), HasSubstr("atisfied"));
}

TEST(FutureTest, GetOfAPromiseNobodySetsDeadlocks) {
  RunResult result = Runner::Run(
      [] {
        sync::promise<int> p;
        (void)p.get_future().get();
      },
      InProcess(1));
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(FailureKind(result), Failure::DEADLOCK);
  EXPECT_THAT(FailureMessage(result), HasSubstr("future"));
}

TEST(FutureTest, WaitForTimesOutInVirtualTimeWhenNobodySets) {
  ExpectPasses(
      [] {
        sync::promise<int> p;
        sync::future<int> f = p.get_future();
        LOCKSTEP_CHECK(f.wait_for(0s) == sync::future_status::timeout);
        const auto start = now();
        LOCKSTEP_CHECK(f.wait_for(10ms) == sync::future_status::timeout);
        LOCKSTEP_CHECK(now() - start >= 10ms);
        LOCKSTEP_CHECK(f.wait_until(sync::chrono::steady_clock::now() + 5ms) ==
                       sync::future_status::timeout);
        LOCKSTEP_CHECK(f.wait_until(sync::chrono::system_clock::now() + 5ms) ==
                       sync::future_status::timeout);
        LOCKSTEP_CHECK(now() - start >= 20ms);
        p.set_value(3);
        LOCKSTEP_CHECK(f.wait_for(0s) == sync::future_status::ready);
        LOCKSTEP_CHECK(f.get() == 3);
      },
      10);
}

TEST(FutureTest, WaitForIsReadyWhenSetAndTheTimeoutRacesTheSetter) {
  std::set<sync::future_status> seen;
  RunResult result = Runner::Run(
      [&] {
        sync::promise<int> p;
        sync::future<int> f = p.get_future();
        Thread t = spawn([&] { p.set_value(5); });
        const sync::future_status status = f.wait_for(1h);
        seen.insert(status);
        LOCKSTEP_CHECK(status != sync::future_status::deferred);
        if (status == sync::future_status::ready) {
          LOCKSTEP_CHECK(f.wait_for(0s) == sync::future_status::ready);
        }
        LOCKSTEP_CHECK(f.get() == 5);
        t.join();
      },
      InProcess(300));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_TRUE(seen.count(sync::future_status::ready));
}

TEST(FutureTest, AsyncRunsInAnotherLogicalThread) {
  ExpectPasses([] {
    const uint32_t me = this_thread_id();
    sync::future<uint32_t> f = sync::async(
        std::launch::async, [](int x) { return this_thread_id() + 0 * x; }, 1);
    LOCKSTEP_CHECK(f.get() != me);
  });
}

TEST(FutureTest, AsyncFutureDestructorWaitsForTheTask) {
  ExpectPasses([] {
    bool done = false;
    {
      sync::future<void> f = sync::async(std::launch::async, [&] {
        lockstep::yield();
        done = true;
      });
    }
    LOCKSTEP_CHECK(done);
    // A result nobody asks for is joined too (no UNJOINED_THREADS failure).
    (void)sync::async(std::launch::async, [] { return 1; });
  });
}

TEST(FutureTest, AsyncExceptionReachesGet) {
  ExpectPasses([] {
    sync::future<int> f =
        sync::async(std::launch::async, []() -> int { throw std::logic_error("bad"); });
    std::string caught;
    try {
      f.get();
    } catch (const std::logic_error& e) {
      caught = e.what();
    }
    LOCKSTEP_CHECK(caught == "bad");
  });
}

TEST(FutureTest, DeferredRunsOnGetInTheCallingThread) {
  ExpectPasses(
      [] {
        uint32_t ran_in = internal::kNoThread;
        sync::future<int> f = sync::async(
            std::launch::deferred,
            [&](int x) {
              ran_in = this_thread_id();
              return x * 2;
            },
            21);
        LOCKSTEP_CHECK(f.wait_for(1s) == sync::future_status::deferred);
        LOCKSTEP_CHECK(ran_in == internal::kNoThread);
        LOCKSTEP_CHECK(f.get() == 42);
        LOCKSTEP_CHECK(ran_in == this_thread_id());
      },
      20);
}

TEST(FutureTest, DefaultPolicyExploresBothLaunchModes) {
  std::set<bool> same_thread;
  RunResult result = Runner::Run(
      [&] {
        const uint32_t me = this_thread_id();
        sync::future<uint32_t> f = sync::async([] { return this_thread_id(); });
        same_thread.insert(f.get() == me);
      },
      InProcess(50));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(same_thread.size(), 2u);
}

// Fails when the default policy deferred the call.
void FailsWhenDeferred() {
  const uint32_t me = this_thread_id();
  sync::future<uint32_t> f = sync::async([] { return this_thread_id(); });
  LOCKSTEP_CHECK(f.get() != me);
}

TEST(FutureTest, ReplayRepeatsTheLaunchPolicyChoice) {
  RunResult found = Runner::Run(FailsWhenDeferred, InProcess(100));
  ASSERT_TRUE(found.failed());
  Options replay = InProcess(1);
  replay.replay = &*found.trace;
  RunResult again = Runner::Run(FailsWhenDeferred, replay);
  ASSERT_TRUE(again.failed()) << again.status;
  EXPECT_EQ(FailureKind(again), Failure::ASSERTION);
  EXPECT_EQ(again.trace->events_size(), found.trace->events_size());
}

TEST(FutureTest, PollingAPossiblyDeferredFutureIsFound) {
  Options options = InProcess(200);
  options.max_steps = 200;
  RunResult result = Runner::Run(
      [] {
        sync::future<int> f = sync::async([] { return 1; });
        while (f.wait_for(0s) != sync::future_status::ready) lockstep::yield();
      },
      options);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(FailureKind(result), Failure::STEP_LIMIT);
}

TEST(FutureTest, SharedFutureHasManyReaders) {
  ExpectPasses([] {
    sync::promise<std::string> p;
    sync::shared_future<std::string> sf = p.get_future().share();
    const std::string* seen_a = nullptr;
    const std::string* seen_b = nullptr;
    Thread a = spawn([&, copy = sf] { seen_a = &copy.get(); }, "a");
    Thread b = spawn([&, copy = sf] { seen_b = &copy.get(); }, "b");
    p.set_value("shared");
    a.join();
    b.join();
    LOCKSTEP_CHECK(seen_a == seen_b && *seen_a == "shared");
    LOCKSTEP_CHECK(sf.valid() && sf.get() == "shared");
  });
}

TEST(FutureTest, SharedFutureOfReferenceAndVoid) {
  ExpectPasses([] {
    int target = 0;
    sync::promise<int&> pr;
    sync::promise<void> pv;
    sync::shared_future<int&> sr = pr.get_future();
    sync::shared_future<void> sv = pv.get_future().share();
    Thread t = spawn([&] {
      pr.set_value(target);
      pv.set_value();
    });
    sv.wait();
    sv.get();
    LOCKSTEP_CHECK(&sr.get() == &target);
    t.join();
  });
}

TEST(FutureTest, PackagedTaskDeliversItsResult) {
  ExpectPasses([] {
    sync::packaged_task<int(int, int)> task([](int a, int b) { return a + b; });
    LOCKSTEP_CHECK(task.valid());
    sync::future<int> f = task.get_future();
    Thread t = spawn([&] { task(2, 3); });
    LOCKSTEP_CHECK(f.get() == 5);
    t.join();
    LOCKSTEP_CHECK(ErrcOf([&] { task(1, 1); }) == std::future_errc::promise_already_satisfied);
    task.reset();
    sync::future<int> again = task.get_future();
    task(4, 5);
    LOCKSTEP_CHECK(again.get() == 9);
  });
}

TEST(FutureTest, PackagedTaskExceptionsAndBrokenPromise) {
  ExpectPasses(
      [] {
        auto owned = std::make_unique<int>(3);
        sync::packaged_task<void(std::unique_ptr<int>)> task(
            [](std::unique_ptr<int> p) { throw std::runtime_error(std::to_string(*p)); });
        sync::future<void> f = task.get_future();
        task.make_ready_at_thread_exit(std::move(owned));
        std::string caught;
        try {
          f.get();
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        LOCKSTEP_CHECK(caught == "3");

        sync::future<std::string> broken;
        {
          sync::packaged_task<std::string()> unused([] { return std::string("x"); });
          broken = unused.get_future();
        }
        LOCKSTEP_CHECK(ErrcOf([&] { (void)broken.get(); }) == std::future_errc::broken_promise);

        sync::packaged_task<int()> empty;
        LOCKSTEP_CHECK(!empty.valid());
        LOCKSTEP_CHECK(ErrcOf([&] { empty(); }) == std::future_errc::no_state);
      },
      20);
}

TEST(FutureTest, TraceRecordsFutureEvents) {
  Options options = InProcess(1);
  RunResult result = Runner::Run(
      [] {
        sync::promise<int> p;
        sync::future<int> f = p.get_future();
        p.set_value(5);
        (void)f.get();
        LOCKSTEP_CHECK(false);
      },
      options);
  ASSERT_TRUE(result.failed());
  std::set<std::string> ops;
  for (const Event& event : result.trace->events()) {
    ops.insert(event.op());
    // Located at the calling line of this test, not in future.h/.cc.
    if (event.op() == "future.get" || event.op() == "promise.set_value") {
      EXPECT_THAT(event.location().file(), ::testing::EndsWith("future_test.cc"));
    }
  }
  EXPECT_TRUE(ops.count("promise.set_value"));
  EXPECT_TRUE(ops.count("future.get"));
  bool has_future_object = false;
  for (const ObjectInfo& object : result.trace->objects()) {
    has_future_object |= object.kind() == "future";
  }
  EXPECT_TRUE(has_future_object);
}

TEST(FutureTest, OperationsOutsideARunThrowUsageError) {
  sync::promise<int> p;
  sync::future<int> f = p.get_future();  // no synchronization: fine anywhere
  try {
    (void)f.get();
    ADD_FAILURE() << "no UsageError";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lockstep::sync::future::get"));
  }
  EXPECT_TRUE(f.valid());
  EXPECT_THROW(p.set_value(1), UsageError);
  EXPECT_THROW(f.wait_for(1s), UsageError);
  EXPECT_THROW((void)sync::async(std::launch::deferred, [] { return 1; }), UsageError);
  // Destroying an unsatisfied promise with a future outside a run is fine.
}

}  // namespace
}  // namespace lockstep
