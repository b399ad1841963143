// A client that looks keys up on a server over mailboxes, with a timeout and
// retries, in two versions.
//
// Buggy: when a reply does not come within the timeout, the client resends
// the request and takes whatever reply arrives next as the answer. The reply
// to the timed-out attempt was only late: it arrives too, stays in the
// mailbox, and the client's *next* lookup reads it as its own answer (the
// value of the previous key). A timeout racing a reply is all it takes.
//
// Fixed: every reply carries the sequence number of its request, and the
// client drops replies to requests of earlier lookups (a late reply to an
// earlier attempt of the same lookup is a valid answer).
#ifndef EXAMPLES_REQUEST_REPLY_H_
#define EXAMPLES_REQUEST_REPLY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "lockstep/mailbox.h"
#include "lockstep/time.h"

namespace examples {

struct LookupRequest {
  uint64_t seq = 0;
  std::string key;
  bool shutdown = false;  // stop the server (sent after the last lookup)
};

struct LookupReply {
  uint64_t seq = 0;  // of the request this answers
  int value = -1;    // -1: no such key
};

// Answers lookups from a fixed table, in request order, until it receives a
// shutdown request.
class LookupServer {
 public:
  LookupServer(std::map<std::string, int> table, lockstep::Mailbox<LookupRequest>& requests,
               lockstep::Mailbox<LookupReply>& replies)
      : table_(std::move(table)), requests_(requests), replies_(replies) {}

  void Serve() {
    while (true) {
      const LookupRequest request = requests_.recv();
      if (request.shutdown) return;
      const auto it = table_.find(request.key);
      replies_.send(LookupReply{request.seq, it == table_.end() ? -1 : it->second});
    }
  }

 private:
  const std::map<std::string, int> table_;
  lockstep::Mailbox<LookupRequest>& requests_;
  lockstep::Mailbox<LookupReply>& replies_;
};

class BuggyLookupClient {
 public:
  BuggyLookupClient(lockstep::Mailbox<LookupRequest>& server, lockstep::Mailbox<LookupReply>& inbox,
                    lockstep::VirtualClock::duration timeout, int max_attempts)
      : server_(server), inbox_(inbox), timeout_(timeout), max_attempts_(max_attempts) {}

  // The value of `key`, or nullopt when every attempt timed out.
  std::optional<int> Lookup(const std::string& key) {
    for (int attempt = 0; attempt < max_attempts_; ++attempt) {
      server_.send(LookupRequest{.seq = ++last_seq_, .key = key, .shutdown = false});
      // The next reply, whichever request it answers.
      if (std::optional<LookupReply> reply = inbox_.recv_for(timeout_)) return reply->value;
    }
    return std::nullopt;
  }

  void Shutdown() { server_.send(LookupRequest{.seq = 0, .key = "", .shutdown = true}); }

 private:
  lockstep::Mailbox<LookupRequest>& server_;
  lockstep::Mailbox<LookupReply>& inbox_;
  const lockstep::VirtualClock::duration timeout_;
  const int max_attempts_;
  uint64_t last_seq_ = 0;
};

class FixedLookupClient {
 public:
  FixedLookupClient(lockstep::Mailbox<LookupRequest>& server, lockstep::Mailbox<LookupReply>& inbox,
                    lockstep::VirtualClock::duration timeout, int max_attempts)
      : server_(server), inbox_(inbox), timeout_(timeout), max_attempts_(max_attempts) {}

  // The value of `key`, or nullopt when every attempt timed out.
  std::optional<int> Lookup(const std::string& key) {
    const uint64_t first_seq = last_seq_ + 1;  // requests of this lookup: first_seq..last_seq_
    for (int attempt = 0; attempt < max_attempts_; ++attempt) {
      server_.send(LookupRequest{.seq = ++last_seq_, .key = key, .shutdown = false});
      const auto deadline = lockstep::now() + timeout_;
      while (std::optional<LookupReply> reply = inbox_.recv_for(deadline - lockstep::now())) {
        if (reply->seq >= first_seq) return reply->value;
        // A late reply to an earlier lookup: drop it and keep waiting.
      }
    }
    return std::nullopt;
  }

  void Shutdown() { server_.send(LookupRequest{.seq = 0, .key = "", .shutdown = true}); }

 private:
  lockstep::Mailbox<LookupRequest>& server_;
  lockstep::Mailbox<LookupReply>& inbox_;
  const lockstep::VirtualClock::duration timeout_;
  const int max_attempts_;
  uint64_t last_seq_ = 0;
};

}  // namespace examples

#endif  // EXAMPLES_REQUEST_REPLY_H_
