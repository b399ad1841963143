// The bank-transfer scenario, shared by bank_transfer_test.cc (FixedBank) and
// bank_transfer_buggy_test.cc (BuggyBank): two opposite transfers and an
// auditor that sums the balances mid-flight, holding both locks in
// account-id order.
#ifndef EXAMPLES_BANK_TRANSFER_SCENARIO_H_
#define EXAMPLES_BANK_TRANSFER_SCENARIO_H_

#include <mutex>

#include "examples/bank_transfer.h"
#include "gtest/gtest.h"
#include "lockstep/mutex.h"
#include "lockstep/thread.h"

namespace examples {

template <typename Bank>
void OppositeTransfersConserveMoney() {
  Account alice(1, 100);
  Account bob(2, 100);
  lockstep::Thread to_bob =
      lockstep::spawn([&] { EXPECT_TRUE(Bank::Transfer(alice, bob, 30)); }, "alice-to-bob");
  lockstep::Thread to_alice =
      lockstep::spawn([&] { EXPECT_TRUE(Bank::Transfer(bob, alice, 50)); }, "bob-to-alice");
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

}  // namespace examples

#endif  // EXAMPLES_BANK_TRANSFER_SCENARIO_H_
