// Opposite transfers with the fixed bank: they never deadlock, and an
// auditor that sums the balances mid-flight always sees the same total.
#include "examples/bank_transfer.h"

#include <mutex>

#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BankTransfer, OppositeTransfersConserveMoney, .iterations = 500) {
  examples::Account alice(1, 100);
  examples::Account bob(2, 100);
  lockstep::Thread to_bob = lockstep::spawn(
      [&] { EXPECT_TRUE(examples::FixedBank::Transfer(alice, bob, 30)); }, "alice-to-bob");
  lockstep::Thread to_alice = lockstep::spawn(
      [&] { EXPECT_TRUE(examples::FixedBank::Transfer(bob, alice, 50)); }, "bob-to-alice");
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
