// TEST_LOCKSTEP_NATIVE of the production account (std::mutex inside) and
// Abseil, as Lockstep links it (README.md here).
#include <thread>

#include "absl/synchronization/notification.h"
#include "account.h"
#include "gtest_ext/lockstep_native_test.h"

TEST_LOCKSTEP_NATIVE(AccountNativeTest, ConcurrentWithdrawals, .iterations = 200) {
  bank::Account account(100);
  absl::Notification start;
  auto withdraw = [&] {
    start.WaitForNotification();
    account.Withdraw(80);
  };
  std::thread a(withdraw);
  std::thread b(withdraw);
  start.Notify();
  a.join();
  b.join();
  EXPECT_EQ(account.balance(), 20);
}
