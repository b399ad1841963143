"""lockstep_cc_test: a cc_test for TEST_LOCKSTEP tests.

    load("@lockstep//gtest_ext:lockstep.bzl", "lockstep_cc_test")

    lockstep_cc_test(
        name = "queue_test",
        srcs = ["queue_test.cc"],
        deps = [":queue"],
    )

Links Lockstep's GoogleTest integration and lockstep_main (use it instead of
gtest_main), and defaults to size "medium": exploring hundreds of schedules
takes longer than a plain unit test. Traces of failing tests land in the
test's undeclared outputs (bazel-testlogs/<pkg>/<name>/test.outputs/).
"""

def lockstep_cc_test(name, deps = [], size = "medium", **kwargs):
    native.cc_test(
        name = name,
        deps = deps + [
            Label("//gtest_ext"),
            Label("//gtest_ext:lockstep_main"),
        ],
        size = size,
        **kwargs
    )
