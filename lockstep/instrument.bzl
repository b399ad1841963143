"""What every target of instrumented code shares (see lockstep/instrument/)."""

# Compile as code under test in instrumented mode. GCC warns that
# atomic_thread_fence "is not supported with -fsanitize=thread" (by the TSan
# runtime; Lockstep's runtime models fences).
INSTRUMENTED_COPTS = [
    "-fsanitize=thread",
    "-Wno-tsan",
]

def instrumented_compatible_with(tsan = True):
    """target_compatible_with for instrumented code: not under --config=asan
    (GCC refuses -fsanitize=thread with address), nor, with `tsan`, under
    --config=tsan (the TSan runtime would take the place of Lockstep's)."""
    incompatible = [Label("//lockstep:incompatible")]
    configs = {str(Label("//lockstep:asan_build")): incompatible}
    if tsan:
        configs[str(Label("//lockstep:tsan_build"))] = incompatible
    configs["//conditions:default"] = []
    return select(configs)
