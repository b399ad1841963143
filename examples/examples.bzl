"""The example bug patterns: each has <name>.h, <name>_test.cc (fixed) and
<name>_buggy_test.cc (expected to fail)."""

EXAMPLES = [
    "bank_transfer",
    "bounded_queue",
    "cache",
    "lazy_init",
    "request_reply",
    "thread_pool",
]

# Examples written against examples/sync.h (std:: in production, Lockstep in
# tests): their tests use the lockstep variant of :sync_scenarios.
SYNC_EXAMPLES = [
    "bounded_queue",
    "thread_pool",
]
