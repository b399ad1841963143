// Money transfers between accounts that each have their own lock, in two
// versions.
//
// Buggy: Transfer() locks the source account, then the destination. Two
// transfers in opposite directions (alice -> bob and bob -> alice) can each
// take their first lock and then wait forever for the other's: a lock-order
// deadlock, the classic ABBA.
//
// Fixed: Transfer() takes both locks in one global order (by account id),
// whichever way the money goes, so no cycle of waiting threads can form.
#ifndef EXAMPLES_BANK_TRANSFER_H_
#define EXAMPLES_BANK_TRANSFER_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "lockstep/mutex.h"

namespace examples {

// An account whose balance is guarded by its own mutex.
class Account {
 public:
  Account(int id, int64_t balance)
      : id_(id), mutex_("account-" + std::to_string(id)), balance_(balance) {}

  int id() const { return id_; }
  lockstep::Mutex& mutex() { return mutex_; }
  // The caller holds mutex().
  int64_t balance() const { return balance_; }
  void set_balance(int64_t balance) { balance_ = balance; }

  // Reads the balance under the lock.
  int64_t Balance() {
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    return balance_;
  }

 private:
  const int id_;
  lockstep::Mutex mutex_;
  int64_t balance_;
};

namespace bank_internal {

// Moves `amount` unless `from` has too little; both locks are held.
inline bool MoveLocked(Account& from, Account& to, int64_t amount) {
  if (from.balance() < amount) return false;
  from.set_balance(from.balance() - amount);
  to.set_balance(to.balance() + amount);
  return true;
}

}  // namespace bank_internal

class BuggyBank {
 public:
  // Moves `amount` from `from` to `to` (different accounts) unless `from`
  // has too little; returns whether the money moved.
  static bool Transfer(Account& from, Account& to, int64_t amount) {
    std::lock_guard<lockstep::Mutex> source(from.mutex());
    std::lock_guard<lockstep::Mutex> destination(to.mutex());  // may wait for ever
    return bank_internal::MoveLocked(from, to, amount);
  }
};

class FixedBank {
 public:
  // Moves `amount` from `from` to `to` (different accounts) unless `from`
  // has too little; returns whether the money moved.
  static bool Transfer(Account& from, Account& to, int64_t amount) {
    // Lock in account-id order, whichever way the money goes.
    Account& first = from.id() < to.id() ? from : to;
    Account& second = from.id() < to.id() ? to : from;
    std::lock_guard<lockstep::Mutex> first_lock(first.mutex());
    std::lock_guard<lockstep::Mutex> second_lock(second.mutex());
    return bank_internal::MoveLocked(from, to, amount);
  }
};

}  // namespace examples

#endif  // EXAMPLES_BANK_TRANSFER_H_
