// A client looks up two keys through a server that may answer after the
// client's timeout. With the fixed client every answer it returns is the
// value of the key it asked for, and client and server always finish.
#include "examples/request_reply.h"

#include "examples/request_reply_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(RequestReply, AnswersMatchTheirRequests, .iterations = 1000) {
  examples::AnswersMatchTheirRequests<examples::FixedLookupClient>();
}

}  // namespace
