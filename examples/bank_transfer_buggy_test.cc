// Opposite transfers with the buggy bank, which locks source then
// destination. This test is expected to FAIL (it is not part of the default
// test run; see examples/BUILD.bazel).
//
// Lockstep reports: DEADLOCK, a lock-order cycle. At seed 1 with the default
// strategy (PCT, d=3) it is found at iteration 9 (the 10th schedule): the
// auditor holds account-1 and waits for account-2, which bob-to-alice holds
// while it waits for account-1. (In other schedules the cycle is between
// the two transfers; either way bob-to-alice takes the locks against the id
// order.)
#include "examples/bank_transfer.h"

#include <mutex>

#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BuggyBankTransfer, OppositeTransfersConserveMoney, .iterations = 500) {
  examples::Account alice(1, 100);
  examples::Account bob(2, 100);
  lockstep::Thread to_bob = lockstep::spawn(
      [&] { EXPECT_TRUE(examples::BuggyBank::Transfer(alice, bob, 30)); }, "alice-to-bob");
  lockstep::Thread to_alice = lockstep::spawn(
      [&] { EXPECT_TRUE(examples::BuggyBank::Transfer(bob, alice, 50)); }, "bob-to-alice");
  lockstep::Thread auditor = lockstep::spawn(
      [&] {
        // Both locks, in account-id order: a consistent snapshot.
        std::lock_guard<lockstep::Mutex> first(alice.mutex());
        std::lock_guard<lockstep::Mutex> second(bob.mutex());
        EXPECT_EQ(alice.balance() + bob.balance(), 200) << "money appeared or vanished";
      },
      "auditor");
  to_bob.join();
  to_alice.join();
  auditor.join();
  EXPECT_EQ(alice.Balance(), 120);
  EXPECT_EQ(bob.Balance(), 80);
}

}  // namespace
