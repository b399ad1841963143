"""A repository of the system (Debian) libraries Lockstep links against.

Headers already sit on the compiler's default search path (/usr/include), so
each library is a `cc_library` with only `linkopts`, taken from pkg-config at
fetch time. A missing package fails the fetch with the command that fixes it.
"""

# target name -> pkg-config modules, or a list of fixed linkopts (no .pc file).
_LIBS = {
    "absl": [
        "absl_flags",
        "absl_flags_parse",
        "absl_flags_reflection",
        "absl_flags_usage",
        "absl_status",
        "absl_statusor",
        "absl_str_format",
        "absl_strings",
        "absl_synchronization",
        "absl_time",
    ],
    "benchmark": ["benchmark"],
    "gmock": ["gmock"],
    "gtest": ["gtest"],
    "gtest_main": ["gtest_main"],
    # elfutils: source lines of the native runner's events.
    "libdw": ["libdw"],
    "protobuf": ["protobuf"],
}

# Header-only or .pc-less libraries: target name -> (header to check, linkopts).
_FIXED = {
    "boost_context": ("/usr/include/boost/context/fiber.hpp", ["-lboost_context"]),
    # moodycamel::ConcurrentQueue, a lock-free queue for the instrumentation tests.
    "concurrentqueue": ("/usr/include/concurrentqueue/concurrentqueue.h", []),
    "relacy": ("/usr/include/relacy/relacy.hpp", []),
}

_FIX = "run `bash tools/setup.sh` (as root) in the Lockstep checkout"

def _system_libs_impl(rctx):
    if not rctx.which("pkg-config"):
        fail("pkg-config not found; " + _FIX)
    if not rctx.which("protoc"):
        fail("protoc not found (Debian package protobuf-compiler); " + _FIX)
    targets = []
    for name, modules in _LIBS.items():
        result = rctx.execute(["pkg-config", "--libs"] + modules)
        if result.return_code != 0:
            fail("system library '%s' not found by pkg-config (%s): %s; %s" %
                 (name, " ".join(modules), result.stderr.strip(), _FIX))
        targets.append((name, [opt for opt in result.stdout.strip().split(" ") if opt]))
    for name, (header, linkopts) in _FIXED.items():
        if not rctx.path(header).exists:
            fail("system library '%s' not found (no %s); %s" % (name, header, _FIX))
        targets.append((name, linkopts))

    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, linkopts in targets:
        build.append("cc_library(name = %r, linkopts = %r)" % (name, linkopts))
    rctx.file("WORKSPACE", "workspace(name = %r)\n" % rctx.name)
    rctx.file("BUILD.bazel", "\n".join(build) + "\n")

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
