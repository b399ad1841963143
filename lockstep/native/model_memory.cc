// Atomic operations and scheduled plain accesses of instrumented code
// (lockstep/instrument): a scheduling point on the memory's model, the
// operation itself, then its happens-before, race check and event.
#include "lockstep/native/model.h"

namespace lockstep::native_internal {

void Session::MemoryOperation(internal::Controller& controller, const internal::MemoryOp& op,
                              absl::FunctionRef<internal::MemoryResult()> perform) {
  Turn turn(*this, PendingOp{op.pending, 0});
  NativeObject* object = Begin(turn, reinterpret_cast<const void*>(op.address),
                               op.atomic ? "atomic" : "memory", op.op, op.pending,
                               /*synchronizes=*/false);
  if (object == nullptr) {
    perform();
    return;
  }
  std::optional<internal::Race> race =
      controller.RecordMemoryOperation(op, object->IdIn(controller), perform());
  // A race that fails the iteration is reported through ReportFailure,
  // which takes the session's lock: after the turn. The baton stays with
  // this thread until its next scheduling point.
  turn.Leave();
  if (race) controller.RaceFound(*race);
}

}  // namespace lockstep::native_internal
