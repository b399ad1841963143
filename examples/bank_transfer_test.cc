// Opposite transfers with the fixed bank: they never deadlock, and an
// auditor that sums the balances mid-flight always sees the same total.
#include "examples/bank_transfer.h"

#include "examples/bank_transfer_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BankTransfer, OppositeTransfersConserveMoney, .iterations = 500) {
  examples::OppositeTransfersConserveMoney<examples::FixedBank>();
}

}  // namespace
