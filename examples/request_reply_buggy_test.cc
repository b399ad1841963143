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

#include <chrono>
#include <optional>

#include "gtest_ext/lockstep_test.h"

namespace {

using namespace std::chrono_literals;

TEST_LOCKSTEP(BuggyRequestReply, AnswersMatchTheirRequests, .iterations = 1000) {
  lockstep::Mailbox<examples::LookupRequest> requests("requests");
  lockstep::Mailbox<examples::LookupReply> replies("replies");
  examples::LookupServer server({{"alpha", 1}, {"beta", 2}}, requests, replies);
  examples::BuggyLookupClient client(requests, replies, /*timeout=*/10ms, /*max_attempts=*/3);
  lockstep::Thread serving = lockstep::spawn([&] { server.Serve(); }, "server");
  lockstep::Thread calling = lockstep::spawn(
      [&] {
        // A lookup may fail (every attempt timed out); a wrong answer may not.
        if (std::optional<int> alpha = client.Lookup("alpha")) {
          EXPECT_EQ(*alpha, 1) << "the answer to another request";
        }
        if (std::optional<int> beta = client.Lookup("beta")) {
          EXPECT_EQ(*beta, 2) << "the answer to another request";
        }
        client.Shutdown();
      },
      "client");
  calling.join();
  serving.join();
}

}  // namespace
