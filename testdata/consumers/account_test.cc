// TEST_LOCKSTEP of the lockstep::sync variant of the account (README.md
// here): every lock is a scheduling point.
#include "account.h"

#include "gtest_ext/lockstep_test.h"

TEST_LOCKSTEP(AccountTest, ConcurrentWithdrawals, .iterations = 200) {
  bank::Account account(100);
  bank::sync::thread a([&] { account.Withdraw(80); });
  bank::sync::thread b([&] { account.Withdraw(80); });
  a.join();
  b.join();
  EXPECT_EQ(account.balance(), 20);
}
