// A client looks up two keys through a server that may answer after the
// client's timeout, with the buggy client that takes the next reply as the
// answer. This test is expected to FAIL (it is not part of the default test
// run; see examples/BUILD.bazel).
//
// Lockstep reports: an ASSERTION failure, the lookup of "beta" returns 1,
// the late reply to a timed-out attempt of the "alpha" lookup. At seed 1 with
// the default strategy (PCT, d=3) it is found at iteration 2 (the 3rd
// schedule).
#include "examples/request_reply.h"
#include "examples/request_reply_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(BuggyRequestReply, AnswersMatchTheirRequests, .iterations = 1000) {
  examples::AnswersMatchTheirRequests<examples::BuggyLookupClient>();
}

}  // namespace
