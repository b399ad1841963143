// A downstream project's code under test (see README.md here).
#ifndef BANK_ACCOUNT_H_
#define BANK_ACCOUNT_H_

#include <mutex>

#include "sync.h"

namespace bank {

class Account {
 public:
  explicit Account(int balance) : balance_(balance) {}

  // Takes `amount` if the balance covers it.
  bool Withdraw(int amount) {
    std::lock_guard lock(mutex_);
    if (balance_ < amount) return false;
    balance_ -= amount;
    return true;
  }

  int balance() {
    std::lock_guard lock(mutex_);
    return balance_;
  }

 private:
  sync::mutex mutex_;
  int balance_;
};

}  // namespace bank

#endif  // BANK_ACCOUNT_H_
