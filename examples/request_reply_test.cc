// A client looks up two keys through a server that may answer after the
// client's timeout. With the fixed client every answer it returns is the
// value of the key it asked for, and client and server always finish.
#include "examples/request_reply.h"

#include <chrono>
#include <optional>

#include "gtest_ext/lockstep_test.h"

namespace {

using namespace std::chrono_literals;

TEST_LOCKSTEP(RequestReply, AnswersMatchTheirRequests, .iterations = 1000) {
  lockstep::Mailbox<examples::LookupRequest> requests("requests");
  lockstep::Mailbox<examples::LookupReply> replies("replies");
  examples::LookupServer server({{"alpha", 1}, {"beta", 2}}, requests, replies);
  examples::FixedLookupClient client(requests, replies, /*timeout=*/10ms, /*max_attempts=*/3);
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
