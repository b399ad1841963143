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

Regression traces: failing traces checked into the repository, replayed by
every test they were recorded for before it explores (as FuzzTest replays
its regression corpus):

    lockstep_cc_test(
        name = "queue_test",
        srcs = ["queue_test.cc"],
        deps = [":queue"],
        traces = glob(["testdata/queue_test/*.lockstep"]),
    )

A trace that still fails fails its test ("lockstep: regression trace <path>
reproduced: ..."), before any exploration; one that passes is reported as
fixed and exploration goes on; traces of other tests are skipped. Each entry
of `traces` must be a single file (a source file or a rule's only output);
the macro adds them to `data` and passes their runfiles paths in
--lockstep_regression_traces, before any `args` of your own.
"""

load("//lockstep:instrument.bzl", "INSTRUMENTED_COPTS", "instrumented_compatible_with")

def lockstep_cc_test(name, deps = [], size = "medium", traces = [], data = [], args = [], **kwargs):
    # Under `bazel test` the working directory is the runfiles root, which
    # $(rootpath) paths are relative to.
    regression_args = [
        "--lockstep_regression_traces=" + ",".join(["$(rootpath %s)" % t for t in traces]),
    ] if traces else []
    native.cc_test(
        name = name,
        deps = deps + [
            Label("//gtest_ext"),
            Label("//gtest_ext:lockstep_main"),
        ],
        size = size,
        data = data + traces,
        args = regression_args + args,
        **kwargs
    )

def lockstep_instrumented_library(name, copts = [], deps = [], tags = [], **kwargs):
    """A cc_library whose code is under test in Lockstep's instrumented mode.

        load("@lockstep//gtest_ext:lockstep.bzl", "lockstep_instrumented_library")

        lockstep_instrumented_library(
            name = "queue",
            srcs = ["queue.cc"],
            hdrs = ["queue.h"],
        )

    Compiled with -fsanitize=thread, so its atomic operations and memory
    accesses call Lockstep's runtime (@lockstep//lockstep:instrument, linked in
    instead of the ThreadSanitizer runtime): under TEST_LOCKSTEP_NATIVE (and
    TEST_LOCKSTEP) every atomic operation is a scheduling point, data races are
    found (--lockstep_races) and racing accesses become scheduling points
    (--lockstep_accesses). Link it only into test binaries; it is skipped
    (incompatible) in Lockstep's --config=asan and --config=tsan builds, whose
    sanitizer runtimes cannot share a binary with Lockstep's.
    """
    native.cc_library(
        name = name,
        copts = copts + INSTRUMENTED_COPTS,
        deps = deps + [Label("//lockstep:instrument")],
        tags = tags + ["no_asan", "no_tsan"],
        target_compatible_with = instrumented_compatible_with(),
        **kwargs
    )

def lockstep_sync_library(name, deps = [], sync_deps = [], defines = [], **kwargs):
    """A cc_library written against a switched `sync` namespace, in two variants.

        load("@lockstep//gtest_ext:lockstep.bzl", "lockstep_sync_library")

        lockstep_sync_library(
            name = "queue",
            srcs = ["queue.cc"],
            hdrs = ["queue.h", "sync.h"],
        )

    `name` is the production library: std:: types, no dependency on Lockstep.
    `name + "_lockstep"` is the same code built with LOCKSTEP_SYNC defined
    (propagated to its dependents), so the library's switch header (see
    lockstep/sync.h) names lockstep::sync's types; tests depend on it.
    `sync_deps` are libraries made by this macro that this one uses: the
    lockstep variant depends on their lockstep variants, since a binary must
    not mix the two variants of one library.
    """
    native.cc_library(
        name = name,
        deps = deps + sync_deps,
        defines = defines,
        **kwargs
    )
    native.cc_library(
        name = name + "_lockstep",
        deps = deps + [dep + "_lockstep" for dep in sync_deps] + [Label("//lockstep")],
        defines = defines + ["LOCKSTEP_SYNC"],
        **kwargs
    )
