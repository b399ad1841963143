// A counting semaphore whose operations are scheduling points.
#ifndef LOCKSTEP_SEMAPHORE_H_
#define LOCKSTEP_SEMAPHORE_H_

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>

#include "lockstep/internal/controller.h"

namespace lockstep {

// Like std::counting_semaphore: acquire() waits until the count is positive
// and decrements it; release(n) adds n and wakes waiters.
class Semaphore : public internal::ObjectBase {
 public:
  explicit Semaphore(int64_t initial, std::string_view name = {},
                     std::source_location created_at = std::source_location::current());

  void acquire(std::source_location location = std::source_location::current());
  bool try_acquire(std::source_location location = std::source_location::current());
  // n must be >= 0.
  void release(int64_t n = 1, std::source_location location = std::source_location::current());

 private:
  std::string DescribeState(const internal::Controller& controller) const override;
  int64_t count_;
};

}  // namespace lockstep

#endif  // LOCKSTEP_SEMAPHORE_H_
