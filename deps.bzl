"""lockstep_dependencies(): the repositories Lockstep needs, for any WORKSPACE.

    local_repository(
        name = "lockstep",
        path = "/path/to/lockstep",
    )

    load("@lockstep//:deps.bzl", "lockstep_dependencies")

    lockstep_dependencies()

Declares
  * @lockstep_system: the system (Debian) libraries Lockstep links, found with
    pkg-config (third_party/system_libs.bzl): @lockstep_system//:absl, :gtest,
    :gmock, :protobuf, ...
  * @rules_cc, @rules_java, @remote_coverage_tools: Bazel 4 downloads these on
    first use; here they are Lockstep's small offline stand-ins
    (third_party/bazel/), found in Lockstep's own checkout wherever that is
    (also when Lockstep is an external repository). A repository the
    WORKSPACE declared before this call is left alone.
"""

load("//third_party:system_libs.bzl", "system_libs")

_STAND_INS = ["rules_cc", "rules_java", "remote_coverage_tools"]

def _stand_in_impl(rctx):
    # The directory of a file of Lockstep's checkout, wherever it is.
    third_party = rctx.path(rctx.attr._anchor).dirname
    src = third_party.get_child("bazel").get_child(rctx.attr.stand_in)
    if not src.exists:
        fail("Lockstep's stand-in %s is missing" % src)
    for child in src.readdir():
        rctx.symlink(child, child.basename)

_stand_in = repository_rule(
    implementation = _stand_in_impl,
    attrs = {
        "stand_in": attr.string(mandatory = True),
        "_anchor": attr.label(default = Label("//third_party:BUILD.bazel")),
    },
)

def lockstep_dependencies():
    """Declares @lockstep_system and the offline stand-ins (see above)."""
    for name in _STAND_INS:
        if not native.existing_rule(name):
            _stand_in(name = name, stand_in = name)
    if not native.existing_rule("lockstep_system"):
        system_libs(name = "lockstep_system")
