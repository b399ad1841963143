// The request-reply scenario, shared by request_reply_test.cc
// (FixedLookupClient) and request_reply_buggy_test.cc (BuggyLookupClient): a
// client looks up two keys through a server that may answer after the
// client's timeout; every answer it returns must be the value of the key it
// asked for, and client and server must finish.
#ifndef EXAMPLES_REQUEST_REPLY_SCENARIO_H_
#define EXAMPLES_REQUEST_REPLY_SCENARIO_H_

#include <chrono>
#include <optional>

#include "examples/request_reply.h"
#include "gtest/gtest.h"
#include "lockstep/mailbox.h"
#include "lockstep/thread.h"

namespace examples {

template <typename LookupClient>
void AnswersMatchTheirRequests() {
  using namespace std::chrono_literals;
  lockstep::Mailbox<LookupRequest> requests("requests");
  lockstep::Mailbox<LookupReply> replies("replies");
  LookupServer server({{"alpha", 1}, {"beta", 2}}, requests, replies);
  LookupClient client(requests, replies, /*timeout=*/10ms, /*max_attempts=*/3);
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

}  // namespace examples

#endif  // EXAMPLES_REQUEST_REPLY_SCENARIO_H_
