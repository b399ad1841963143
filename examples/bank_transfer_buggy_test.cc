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
#include "examples/bank_transfer_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BuggyBankTransfer, OppositeTransfersConserveMoney, .iterations = 500) {
  examples::OppositeTransfersConserveMoney<examples::BuggyBank>();
}

}  // namespace
