// The ThreadSanitizer ABI: the functions GCC and Clang call from code
// compiled with -fsanitize=thread (declared in LLVM's
// compiler-rt/include/sanitizer/tsan_interface*.h and GCC's tsan builtins),
// implemented by Lockstep instead of the TSan runtime. Memory accesses go
// to runtime.h; atomics are performed here, sequentially consistent, each
// a scheduling point of the run the calling thread is in (if any).
//
// Not provided: 128-bit atomics (emitted only with -mcx16), and the TSan
// runtime's own API (annotations, fibers, mutex hooks): a binary that needs
// them fails to link, naming the symbol.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lockstep/instrument/runtime.h"
#include "lockstep/internal/controller.h"

namespace lockstep::instrument_internal {
namespace {

using internal::Controller;
using internal::MemoryOp;
using internal::MemoryResult;
using internal::Order;

uintptr_t Caller(void* return_address) { return reinterpret_cast<uintptr_t>(return_address); }

Order ToOrder(int order) {
  order &= 0xFFFF;  // GCC's HLE bits
  return order >= 0 && order <= 5 ? static_cast<Order>(order) : Order::kSeqCst;
}

template <typename T>
int64_t AsValue(T value) {
  return static_cast<int64_t>(static_cast<std::make_signed_t<T>>(value));
}

template <typename T>
MemoryOp AtomicOp(const char* name, const volatile T* a, int order, uintptr_t pc) {
  MemoryOp op;
  op.op = name;
  op.address = reinterpret_cast<uintptr_t>(a);
  op.size = sizeof(T);
  op.atomic = true;
  op.order = ToOrder(order);
  op.pc = pc;
  return op;
}

template <typename T>
T Load(const char* name, const volatile T* a, int order, uintptr_t pc) {
  T value = __atomic_load_n(a, __ATOMIC_SEQ_CST);
  Controller* c = ActiveController();
  if (c == nullptr) return value;
  MemoryOp op = AtomicOp(name, a, order, pc);
  op.load = true;
  op.pending = LoadKind(*c, op.address, static_cast<uint64_t>(value));
  c->MemoryOperation(op, [&] {
    value = __atomic_load_n(a, __ATOMIC_SEQ_CST);
    return MemoryResult{AsValue(value), false};
  });
  return value;
}

template <typename T>
void Store(volatile T* a, T value, int order, uintptr_t pc) {
  Controller* c = ActiveController();
  if (c == nullptr) return __atomic_store_n(a, value, __ATOMIC_SEQ_CST);
  MemoryOp op = AtomicOp("atomic.store", a, order, pc);
  op.store = true;
  op.pending = PendingOp::Kind::kWrite;
  NoteStore(*c);
  c->MemoryOperation(op, [&] {
    __atomic_store_n(a, value, __ATOMIC_SEQ_CST);
    return MemoryResult{AsValue(value), true};
  });
}

// A read-modify-write: `update(old, &stores)` is the new value and whether
// it stores (a compare-exchange that fails does not). Returns the old value.
template <typename T, typename F>
T Rmw(const char* name, volatile T* a, int order, uintptr_t pc, F update) {
  auto perform = [&](bool* stored) {
    T old = __atomic_load_n(a, __ATOMIC_SEQ_CST);
    bool stores = false;
    while (true) {
      const T desired = update(old, &stores);
      if (!stores) break;
      if (__atomic_compare_exchange_n(a, &old, desired, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST)) {
        break;
      }
    }
    *stored = stores;
    return old;
  };
  Controller* c = ActiveController();
  bool stored = false;
  if (c == nullptr) return perform(&stored);
  MemoryOp op = AtomicOp(name, a, order, pc);
  op.load = true;
  op.store = true;
  // One that would leave the value as it is (a failing compare-exchange,
  // a spin lock's exchange while it is held) is a load to the strategy.
  const T now = __atomic_load_n(a, __ATOMIC_SEQ_CST);
  bool stores = false;
  const T next = update(now, &stores);
  if (!stores || next == now) {
    op.pending = LoadKind(*c, op.address, static_cast<uint64_t>(now));
  } else {
    op.pending = PendingOp::Kind::kWrite;
    NoteStore(*c);
  }
  T old{};
  c->MemoryOperation(op, [&] {
    old = perform(&stored);
    return MemoryResult{AsValue(__atomic_load_n(a, __ATOMIC_SEQ_CST)), stored};
  });
  return old;
}

template <typename T>
bool CompareExchange(const char* name, volatile T* a, T* expected, T desired, int order,
                     uintptr_t pc) {
  const T want = *expected;
  const T old = Rmw(name, a, order, pc, [&](T value, bool* stores) {
    *stores = value == want;
    return *stores ? desired : value;
  });
  *expected = old;
  return old == want;
}

void Fence(int order, uintptr_t pc) {
  Controller* c = ActiveController();
  if (c == nullptr) return __atomic_thread_fence(__ATOMIC_SEQ_CST);
  MemoryOp op;
  op.op = "atomic.fence";
  op.atomic = true;
  op.order = ToOrder(order);
  op.pc = pc;
  c->MemoryOperation(op, [] {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return MemoryResult{};
  });
}

}  // namespace
}  // namespace lockstep::instrument_internal

using lockstep::instrument_internal::Access;
using lockstep::instrument_internal::Caller;
using lockstep::instrument_internal::CompareExchange;
using lockstep::instrument_internal::Fence;
using lockstep::instrument_internal::Load;
using lockstep::instrument_internal::Rmw;
using lockstep::instrument_internal::Store;

#define LOCKSTEP_RA() Caller(__builtin_return_address(0))

extern "C" {

void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_ignore_thread_begin() {}
void __tsan_ignore_thread_end() {}
// Virtual-table pointer updates (constructors, destructors) are not data.
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}

#define LOCKSTEP_ACCESS(n)                                           \
  void __tsan_read##n(void* a) {                                     \
    Access(reinterpret_cast<uintptr_t>(a), n, false, LOCKSTEP_RA()); \
  }                                                                  \
  void __tsan_write##n(void* a) {                                    \
    Access(reinterpret_cast<uintptr_t>(a), n, true, LOCKSTEP_RA());  \
  }                                                                  \
  void __tsan_read##n##_pc(void* a, void* pc) {                      \
    Access(reinterpret_cast<uintptr_t>(a), n, false, Caller(pc));    \
  }                                                                  \
  void __tsan_write##n##_pc(void* a, void* pc) {                     \
    Access(reinterpret_cast<uintptr_t>(a), n, true, Caller(pc));     \
  }                                                                  \
  void __tsan_unaligned_read##n(const void* a) {                     \
    Access(reinterpret_cast<uintptr_t>(a), n, false, LOCKSTEP_RA()); \
  }                                                                  \
  void __tsan_unaligned_write##n(void* a) {                          \
    Access(reinterpret_cast<uintptr_t>(a), n, true, LOCKSTEP_RA());  \
  }                                                                  \
  void __tsan_volatile_read##n(void* a) {                            \
    Access(reinterpret_cast<uintptr_t>(a), n, false, LOCKSTEP_RA()); \
  }                                                                  \
  void __tsan_volatile_write##n(void* a) {                           \
    Access(reinterpret_cast<uintptr_t>(a), n, true, LOCKSTEP_RA());  \
  }
LOCKSTEP_ACCESS(1)
LOCKSTEP_ACCESS(2)
LOCKSTEP_ACCESS(4)
LOCKSTEP_ACCESS(8)
LOCKSTEP_ACCESS(16)
#undef LOCKSTEP_ACCESS

void __tsan_read_range(void* a, unsigned long size) {
  Access(reinterpret_cast<uintptr_t>(a), size, false, LOCKSTEP_RA());
}
void __tsan_write_range(void* a, unsigned long size) {
  Access(reinterpret_cast<uintptr_t>(a), size, true, LOCKSTEP_RA());
}
void* __tsan_memcpy(void* to, const void* from, unsigned long size) {
  Access(reinterpret_cast<uintptr_t>(from), size, false, LOCKSTEP_RA());
  Access(reinterpret_cast<uintptr_t>(to), size, true, LOCKSTEP_RA());
  return std::memcpy(to, from, size);
}
void* __tsan_memmove(void* to, const void* from, unsigned long size) {
  Access(reinterpret_cast<uintptr_t>(from), size, false, LOCKSTEP_RA());
  Access(reinterpret_cast<uintptr_t>(to), size, true, LOCKSTEP_RA());
  return std::memmove(to, from, size);
}
void* __tsan_memset(void* to, int value, unsigned long size) {
  Access(reinterpret_cast<uintptr_t>(to), size, true, LOCKSTEP_RA());
  return std::memset(to, value, size);
}

#define LOCKSTEP_ATOMICS(bits, T)                                                                  \
  T __tsan_atomic##bits##_load(const volatile T* a, int mo) {                                      \
    return Load("atomic.load", a, mo, LOCKSTEP_RA());                                              \
  }                                                                                                \
  void __tsan_atomic##bits##_store(volatile T* a, T v, int mo) { Store(a, v, mo, LOCKSTEP_RA()); } \
  T __tsan_atomic##bits##_exchange(volatile T* a, T v, int mo) {                                   \
    return Rmw("atomic.exchange", a, mo, LOCKSTEP_RA(), [v](T, bool* s) {                          \
      *s = true;                                                                                   \
      return v;                                                                                    \
    });                                                                                            \
  }                                                                                                \
  LOCKSTEP_FETCH(bits, T, add, old + v)                                                            \
  LOCKSTEP_FETCH(bits, T, sub, old - v)                                                            \
  LOCKSTEP_FETCH(bits, T, and, old& v)                                                             \
  LOCKSTEP_FETCH(bits, T, or, old | v)                                                             \
  LOCKSTEP_FETCH(bits, T, xor, old ^ v)                                                            \
  LOCKSTEP_FETCH(bits, T, nand, ~(old & v))                                                        \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, int mo, int) {       \
    return CompareExchange("atomic.compare_exchange", a, c, v, mo, LOCKSTEP_RA());                 \
  }                                                                                                \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* c, T v, int mo, int) {         \
    return CompareExchange("atomic.compare_exchange", a, c, v, mo, LOCKSTEP_RA());                 \
  }                                                                                                \
  T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T c, T v, int mo, int) {             \
    CompareExchange("atomic.compare_exchange", a, &c, v, mo, LOCKSTEP_RA());                       \
    return c;                                                                                      \
  }
#define LOCKSTEP_FETCH(bits, T, name, expression)                                 \
  T __tsan_atomic##bits##_fetch_##name(volatile T* a, T v, int mo) {              \
    return Rmw("atomic.fetch_" #name, a, mo, LOCKSTEP_RA(), [v](T old, bool* s) { \
      *s = true;                                                                  \
      return static_cast<T>(expression);                                          \
    });                                                                           \
  }
LOCKSTEP_ATOMICS(8, uint8_t)
LOCKSTEP_ATOMICS(16, uint16_t)
LOCKSTEP_ATOMICS(32, uint32_t)
LOCKSTEP_ATOMICS(64, uint64_t)
#undef LOCKSTEP_ATOMICS
#undef LOCKSTEP_FETCH

void __tsan_atomic_thread_fence(int mo) { Fence(mo, LOCKSTEP_RA()); }
void __tsan_atomic_signal_fence(int) {}

}  // extern "C"
