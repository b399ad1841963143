// Marks Lockstep's own code running on a thread. Interposed calls (native
// runner) and instrumented operations (lockstep/instrument) it makes are
// not the code under test's: they pass straight through. This matters for
// instrumented code because the linker keeps one copy of each inline
// function (std::atomic<T>::load, std::vector<T>::size, ...) for the whole
// binary, and it may be the copy compiled with -fsanitize=thread in the
// code under test, which Lockstep's own code then calls.
//
// Per OS thread; the controller saves and restores it across fiber switches,
// so each fiber has its own.
#ifndef LOCKSTEP_INTERNAL_IN_LOCKSTEP_H_
#define LOCKSTEP_INTERNAL_IN_LOCKSTEP_H_

namespace lockstep::internal {

class InLockstep {
 public:
  InLockstep() { ++depth_; }
  ~InLockstep() { --depth_; }
  InLockstep(const InLockstep&) = delete;
  InLockstep& operator=(const InLockstep&) = delete;

  static bool Active() { return depth_ > 0; }
  // For guards that are not scopes (a lock's lock and unlock), and fibers.
  static void Enter() { ++depth_; }
  static void Leave() { --depth_; }
  static int Depth() { return depth_; }
  static void SetDepth(int depth) { depth_ = depth; }

 private:
  static thread_local int depth_;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_IN_LOCKSTEP_H_
