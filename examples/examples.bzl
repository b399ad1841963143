"""The example bug patterns: each has <name>.h, <name>_test.cc (fixed) and
<name>_buggy_test.cc (expected to fail)."""

EXAMPLES = [
    "bank_transfer",
    "bounded_queue",
    "cache",
    "lazy_init",
    "request_reply",
]
