// Linearizability checking: is a concurrent object's behaviour explained by
// a sequential model of it?
//
// A LinearizabilitySpec names the object's operations (with the arguments
// they may take), a sequential model (a plain type with the same
// operations) and a scenario shape: an init part run alone, `threads`
// threads of operations run concurrently, a post part run alone. Each
// iteration of a Lockstep run draws one scenario with choose() (so it is
// part of the schedule: a trace replays it, and dfs/dpor explore every
// scenario), runs it under the iteration's schedule recording every
// operation's call and return, and checks the history: it is linearizable
// when some order of the operations that respects real time (an operation
// that returned before another was called comes first) gives, applied to
// the model one at a time, the same results. The search is Wing and Gong's,
// with Lowe's memoization of (operations linearized, model state), as in
// Lincheck and Porcupine. A history that is not linearizable fails the
// iteration with NOT_LINEARIZABLE: the message shows the history as a
// table, one column per thread, and the longest order the model explains,
// with what each operation that could come next returned against what the
// model says.
//
//   struct Counter { lockstep::Atomic<int> n{0}; int Increment() { ... } };
//   auto spec = lockstep::LinearizabilitySpec<Counter, int>()
//       .Operation("increment", [](Counter& c) { return c.Increment(); },
//                  [](int& m) { return ++m; })
//       .Operation("add", std::vector<int>{1, 5},
//                  [](Counter& c, int v) { return c.Add(v); },
//                  [](int& m, int v) { return m += v; })
//       .Threads(2).OperationsPerThread(3);
//
// With GoogleTest, TEST_LOCKSTEP_LINEARIZABLE (gtest_ext/lockstep_test.h)
// and TEST_LOCKSTEP_NATIVE_LINEARIZABLE run a spec as a Lockstep test.
//
// Requirements: Object and Model are default-constructible; Model is
// copyable and equality-comparable (and hashed with absl::Hash when it can
// be, which makes the search faster); results and arguments are printable
// (bool, numbers, strings, std::optional, pairs, or anything with
// operator<<): results are compared as printed.
#ifndef LOCKSTEP_LINEARIZABILITY_H_
#define LOCKSTEP_LINEARIZABILITY_H_

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"

namespace lockstep {

// One operation of a history.
struct HistoryEntry {
  uint32_t part = 0;       // 0: init; 1..threads: a thread; threads + 1: post
  uint32_t operation = 0;  // its index in the spec
  uint32_t argument = 0;   // index into the operation's arguments (0: none)
  std::string call;        // "push(3)"
  std::string result;      // what it returned, printed ("" for void)
  uint64_t invoked = 0;    // logical time of the call
  uint64_t responded = 0;  // logical time of the return (> invoked)
};

// A sequential model's state, for the checker (LinearizabilitySpec makes
// one from a Model type).
class ModelState {
 public:
  virtual ~ModelState() = default;
  virtual std::unique_ptr<ModelState> Clone() const = 0;
  // Applies operation `operation` with argument `argument`; returns the
  // result, printed.
  virtual std::string Apply(uint32_t operation, uint32_t argument) = 0;
  virtual bool Equals(const ModelState& other) const = 0;
  // Equal states have equal hashes.
  virtual size_t Hash() const = 0;
};

struct LinearizabilityVerdict {
  bool linearizable = true;
  // Linearizable: an order of the history's entries the model explains.
  // Not: the longest such order of some of them.
  std::vector<size_t> order;
  // Not linearizable: why, readably (the history table, that order, and
  // what each entry that could come next returned against the model).
  std::string explanation;
  uint64_t states = 0;  // search states visited
};

// Whether `history` (complete: every operation returned) is linearizable
// with respect to the model starting in `initial`; `threads` is the
// number of concurrent parts, for the table.
LinearizabilityVerdict CheckLinearizable(const std::vector<HistoryEntry>& history,
                                         const ModelState& initial, uint32_t threads);

// The history as a table: one column per part, one row per operation in
// the order of their calls, with the logical times of call and return.
std::string HistoryTable(const std::vector<HistoryEntry>& history, uint32_t threads);

// Runs each function on a concurrent thread of the run and returns when all
// have finished: lockstep::spawn/join (RunOnLockstepThreads) in the
// controlled runner, std::thread in the native runner.
using ConcurrentRunner = std::function<void(std::vector<std::function<void()>>&)>;
void RunOnLockstepThreads(std::vector<std::function<void()>>& functions);

namespace linearizability_internal {

template <typename T>
std::string Show(const T& value);

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) {
  out << value;
};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
struct IsPair : std::false_type {};
template <typename A, typename B>
struct IsPair<std::pair<A, B>> : std::true_type {};

template <typename T>
std::string Show(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return "\"" + std::string(std::string_view(value)) + "\"";
  } else if constexpr (std::is_arithmetic_v<T>) {
    return std::to_string(value);
  } else if constexpr (IsOptional<T>::value) {
    return value ? Show(*value) : std::string("nullopt");
  } else if constexpr (IsPair<T>::value) {
    return "(" + Show(value.first) + ", " + Show(value.second) + ")";
  } else {
    static_assert(Streamable<T>,
                  "a result or argument of a linearizability spec must be printable: bool, a "
                  "number, a string, std::optional, std::pair or a type with operator<<");
    std::ostringstream out;
    out << value;
    return out.str();
  }
}

// Calls `f` and prints what it returns ("" for void).
template <typename F, typename... Args>
std::string CallAndShow(F& f, Args&... args) {
  using R = std::invoke_result_t<F&, Args&...>;
  if constexpr (std::is_void_v<R>) {
    std::invoke(f, args...);
    return "";
  } else {
    return Show(std::invoke(f, args...));
  }
}

template <typename Model>
class TypedModelState final : public ModelState {
 public:
  using Apply_ = std::function<std::string(Model&, uint32_t operation, uint32_t argument)>;
  TypedModelState(Model model, std::shared_ptr<const Apply_> apply)
      : model_(std::move(model)), apply_(std::move(apply)) {}
  std::unique_ptr<ModelState> Clone() const override {
    return std::make_unique<TypedModelState>(model_, apply_);
  }
  std::string Apply(uint32_t operation, uint32_t argument) override {
    return (*apply_)(model_, operation, argument);
  }
  bool Equals(const ModelState& other) const override {
    return model_ == static_cast<const TypedModelState&>(other).model_;
  }
  size_t Hash() const override {
    if constexpr (requires(const Model& m) {
                    { absl::Hash<Model>{}(m) } -> std::convertible_to<size_t>;
                  }) {
      return absl::Hash<Model>{}(model_);
    } else {
      return 0;  // every state in one bucket: slower, still right
    }
  }

 private:
  Model model_;
  std::shared_ptr<const Apply_> apply_;
};

}  // namespace linearizability_internal

// What a TEST_LOCKSTEP_LINEARIZABLE body returns: a spec, type-erased.
class LinearizabilityCheck {
 public:
  explicit LinearizabilityCheck(std::function<void(const ConcurrentRunner&)> run)
      : run_(std::move(run)) {}
  // Draws, runs and checks one scenario in the current iteration.
  void Run(const ConcurrentRunner& concurrently) const { run_(concurrently); }

 private:
  std::function<void(const ConcurrentRunner&)> run_;
};

template <typename Object, typename Model>
class LinearizabilitySpec {
 public:
  static_assert(std::equality_comparable<Model>, "the sequential model must have operator==");

  // An operation without arguments: `on_object(Object&)` and
  // `on_model(Model&)` return the same type (or both void).
  template <typename OnObject, typename OnModel>
  LinearizabilitySpec& Operation(std::string name, OnObject on_object, OnModel on_model) {
    Op op;
    op.name = std::move(name);
    op.arguments = {""};
    op.run = [f = std::move(on_object)](Object& object, uint32_t) mutable {
      return linearizability_internal::CallAndShow(f, object);
    };
    op.apply = [f = std::move(on_model)](Model& model, uint32_t) mutable {
      return linearizability_internal::CallAndShow(f, model);
    };
    ops_.push_back(std::move(op));
    return *this;
  }

  // An operation taking one of `arguments` (drawn per call):
  // `on_object(Object&, Arg)` and `on_model(Model&, Arg)`.
  template <typename Arg, typename OnObject, typename OnModel>
  LinearizabilitySpec& Operation(std::string name, std::vector<Arg> arguments, OnObject on_object,
                                 OnModel on_model) {
    Op op;
    op.name = std::move(name);
    for (const Arg& a : arguments) op.arguments.push_back(linearizability_internal::Show(a));
    auto shared = std::make_shared<const std::vector<Arg>>(std::move(arguments));
    op.run = [f = std::move(on_object), shared](Object& object, uint32_t i) mutable {
      Arg a = (*shared)[i];
      return linearizability_internal::CallAndShow(f, object, a);
    };
    op.apply = [f = std::move(on_model), shared](Model& model, uint32_t i) mutable {
      Arg a = (*shared)[i];
      return linearizability_internal::CallAndShow(f, model, a);
    };
    ops_.push_back(std::move(op));
    return *this;
  }

  // Concurrent threads (default 2), operations each (default 3), and
  // operations run alone before and after them (default 0).
  LinearizabilitySpec& Threads(uint32_t n) {
    threads_ = n;
    return *this;
  }
  LinearizabilitySpec& OperationsPerThread(uint32_t n) {
    per_thread_ = n;
    return *this;
  }
  LinearizabilitySpec& InitOperations(uint32_t n) {
    init_ = n;
    return *this;
  }
  LinearizabilitySpec& PostOperations(uint32_t n) {
    post_ = n;
    return *this;
  }

  // Draws a scenario with choose(), runs it (the threads through
  // `concurrently`) and checks its history; fails the iteration with
  // NOT_LINEARIZABLE when no order explains it.
  void Run(const ConcurrentRunner& concurrently = RunOnLockstepThreads) const;

  operator LinearizabilityCheck() const {  // NOLINT: returned by the macro's body
    return LinearizabilityCheck([spec = *this](const ConcurrentRunner& c) { spec.Run(c); });
  }

 private:
  struct Op {
    std::string name;
    std::vector<std::string> arguments;  // printed; {""}: none
    std::function<std::string(Object&, uint32_t)> run;
    std::function<std::string(Model&, uint32_t)> apply;
  };

  std::vector<Op> ops_;
  uint32_t threads_ = 2;
  uint32_t per_thread_ = 3;
  uint32_t init_ = 0;
  uint32_t post_ = 0;
};

namespace linearizability_internal {

// The parts of the scenario each iteration runs: (operation, argument)
// per operation of each part, drawn with choose().
std::vector<std::vector<std::pair<uint32_t, uint32_t>>> DrawScenario(
    const std::vector<uint32_t>& arguments_per_operation, uint32_t threads, uint32_t per_thread,
    uint32_t init, uint32_t post);

// Fails the iteration with the verdict's explanation (NOT_LINEARIZABLE).
void ReportNotLinearizable(const LinearizabilityVerdict& verdict);

// "push(3)" or "size()".
std::string CallText(const std::string& name, const std::string& argument);

// Checks a spec's use (operations declared, counts); fails the iteration
// as MISUSE when wrong.
bool CheckShape(size_t operations, uint32_t threads);

}  // namespace linearizability_internal

template <typename Object, typename Model>
void LinearizabilitySpec<Object, Model>::Run(const ConcurrentRunner& concurrently) const {
  namespace li = linearizability_internal;
  if (!li::CheckShape(ops_.size(), threads_)) return;
  std::vector<uint32_t> arguments;
  for (const Op& op : ops_) arguments.push_back(static_cast<uint32_t>(op.arguments.size()));
  const auto parts = li::DrawScenario(arguments, threads_, per_thread_, init_, post_);

  Object object;
  std::atomic<uint64_t> clock{0};
  std::vector<std::vector<HistoryEntry>> histories(parts.size());
  auto run_part = [&](uint32_t part) {
    for (const auto& [operation, argument] : parts[part]) {
      const Op& op = ops_[operation];
      HistoryEntry entry;
      entry.part = part;
      entry.operation = operation;
      entry.argument = argument;
      entry.call = li::CallText(op.name, op.arguments[argument]);
      entry.invoked = clock.fetch_add(1) + 1;
      entry.result = op.run(object, argument);
      entry.responded = clock.fetch_add(1) + 1;
      histories[part].push_back(std::move(entry));
    }
  };
  run_part(0);
  std::vector<std::function<void()>> threads;
  for (uint32_t t = 1; t <= threads_; ++t) threads.push_back([&run_part, t] { run_part(t); });
  concurrently(threads);
  run_part(threads_ + 1);

  std::vector<HistoryEntry> history;
  for (auto& part : histories) {
    for (HistoryEntry& entry : part) history.push_back(std::move(entry));
  }
  auto apply = std::make_shared<const typename li::TypedModelState<Model>::Apply_>(
      [ops = &ops_](Model& model, uint32_t operation, uint32_t argument) {
        return (*ops)[operation].apply(model, argument);
      });
  const li::TypedModelState<Model> initial(Model{}, apply);
  const LinearizabilityVerdict verdict = CheckLinearizable(history, initial, threads_);
  if (!verdict.linearizable) li::ReportNotLinearizable(verdict);
}

}  // namespace lockstep

#endif  // LOCKSTEP_LINEARIZABILITY_H_
