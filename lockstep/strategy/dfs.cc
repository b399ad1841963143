// The DfsStrategy; what it does, its parameters, sources and guarantees are
// documented at the top of dfs.h.

#include "lockstep/strategy/dfs.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lockstep/internal/prng.h"

namespace lockstep {
namespace {

bool Contains(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

uint32_t At(const std::vector<uint32_t>& clock, uint32_t thread) {
  return thread < clock.size() ? clock[thread] : 0;
}

void Join(std::vector<uint32_t>& into, const std::vector<uint32_t>& other) {
  if (into.size() < other.size()) into.resize(other.size());
  for (size_t t = 0; t < other.size(); ++t) into[t] = std::max(into[t], other[t]);
}

// Whether two operations' order can matter: PendingOp::ConflictsWith, and
// timeouts among themselves (which fires first depends on virtual time,
// which they share).
bool Dependent(const PendingOp& a, const PendingOp& b) {
  return a.ConflictsWith(b) ||
         (a.kind == PendingOp::Kind::kTimeout && b.kind == PendingOp::Kind::kTimeout);
}

}  // namespace

DfsStrategy::DfsStrategy(Reduction reduction, std::optional<uint32_t> preemption_bound,
                         uint32_t shard_index, uint32_t shard_count)
    : reduction_(reduction),
      preemption_bound_(preemption_bound),
      shard_index_(shard_index),
      shard_count_(std::max<uint32_t>(shard_count, 1)),
      // At least four subtrees per shard when every choice is binary.
      split_depth_(shard_count_ <= 1 ? 0 : std::bit_width(shard_count_ - 1) + 2) {}

void DfsStrategy::BeginIteration(uint64_t /*iteration*/, uint64_t /*seed*/) {
  depth_ = 0;
  redundant_now_ = false;
  divergence_.clear();
  next_sleep_.clear();
  last_picked_ = 0;
  events_.clear();
  clocks_.clear();
  for (std::vector<uint32_t>& list : by_object_) list.clear();
  timeouts_.clear();
}

void DfsStrategy::OnThreadCreated(uint32_t thread) {
  if (!Dpor()) return;
  if (clocks_.size() <= thread) clocks_.resize(thread + 1);
  // Its operations come after what its creator did so far.
  clocks_[thread] = thread == 0 ? std::vector<uint32_t>{} : clocks_[last_picked_];
}

void DfsStrategy::OnHappensBefore(uint32_t earlier, uint32_t later) {
  if (!Dpor() || redundant_now_) return;
  if (clocks_.size() <= std::max(earlier, later)) clocks_.resize(std::max(earlier, later) + 1);
  Join(clocks_[later], clocks_[earlier]);
}

uint32_t DfsStrategy::Diverge(std::string why) {
  divergence_ = absl::StrCat(
      "the test body did not repeat itself: ", why,
      ". Exhaustive exploration (dfs, dpor) re-runs the body once per schedule and needs it to "
      "do the same under the same decisions; it depends on something Lockstep does not "
      "control (real time, unseeded randomness, state kept across iterations...)");
  return kDiverged;
}

bool DfsStrategy::Asleep(const Node& node, uint32_t thread) const {
  return std::any_of(node.sleep.begin(), node.sleep.end(),
                     [thread](const Sleeper& s) { return s.thread == thread; });
}

uint32_t DfsStrategy::Cost(const Node& node, uint32_t thread) const {
  const auto it = std::lower_bound(node.enabled.begin(), node.enabled.end(), node.current);
  if (it == node.enabled.end() || *it != node.current) return 0;  // it blocked or finished
  if (node.ops[it - node.enabled.begin()].kind == PendingOp::Kind::kYield) {
    return thread == node.current && node.enabled.size() > 1 ? 1 : 0;
  }
  return thread != node.current ? 1 : 0;
}

// The shard a path belongs to: a hash of its first split_depth_ choices (the
// choices of `node`'s ancestors with a branch, and `choice` at `node`).
bool DfsStrategy::Owned(const Node& node, uint32_t choice) const {
  if (shard_count_ <= 1) return true;
  uint64_t key = 0;
  for (const Node& earlier : path_) {
    if (&earlier == &node) break;
    const bool branches = earlier.is_value || earlier.enabled.size() > 1;
    if (branches) key = internal::Mix64(key ^ (earlier.chosen + 1));
  }
  key = internal::Mix64(key ^ (choice + 1));
  return key % shard_count_ == shard_index_;
}

std::optional<uint32_t> DfsStrategy::Default(const Node& node, bool ignore_sleep) const {
  auto usable = [&](uint32_t t) {
    if (!ignore_sleep && Asleep(node, t)) return false;
    if (node.branch + 1 != split_depth_ || node.enabled.size() == 1) return true;
    // The split point: only this shard's subtrees, within the bound.
    return Owned(node, t) &&
           (!preemption_bound_ || node.preemptions + Cost(node, t) <= *preemption_bound_);
  };
  if (Cost(node, node.current) == 0 && Contains(node.enabled, node.current) &&
      usable(node.current)) {
    return node.current;
  }
  // The next enabled thread after the one that ran last, in id order.
  const auto after = std::upper_bound(node.enabled.begin(), node.enabled.end(), node.current);
  for (size_t k = 0; k < node.enabled.size(); ++k) {
    const size_t i = (after - node.enabled.begin() + k) % node.enabled.size();
    const uint32_t t = node.enabled[i];
    if (usable(t) && (t != node.current || node.enabled.size() == 1)) return t;
  }
  if (usable(node.current) && Contains(node.enabled, node.current)) return node.current;
  return std::nullopt;
}

std::optional<uint32_t> DfsStrategy::NextAlternative(const Node& node) const {
  if (node.is_value) {
    for (uint32_t v = node.chosen + 1; v < node.options; ++v) {
      if (node.branch + 1 != split_depth_ || Owned(node, v)) return v;
    }
    return std::nullopt;
  }
  // Above the split, and without reduction: every enabled thread; below it
  // with dpor: the backtrack set, but for sleeping threads.
  const bool full = !Dpor() || node.branch < split_depth_;
  const std::vector<uint32_t>& candidates = full ? node.enabled : node.backtrack;
  for (uint32_t t : candidates) {
    if (t == node.chosen || Contains(node.done, t)) continue;
    if (!full && Asleep(node, t)) continue;
    if (preemption_bound_ && node.preemptions + Cost(node, t) > *preemption_bound_) continue;
    if (node.branch + 1 == split_depth_ && !Owned(node, t)) continue;
    return t;
  }
  return std::nullopt;
}

uint32_t DfsStrategy::PickThread(const SchedulingPoint& point) {
  if (redundant_now_) {
    // Cut short: any thread, no more search (the controller cannot stop
    // the body half-way; it runs to its end).
    const bool current_enabled =
        std::find(point.enabled.begin(), point.enabled.end(), point.current) != point.enabled.end();
    return current_enabled ? point.current : point.enabled.front();
  }
  const uint32_t depth = depth_++;
  if (depth < path_.size()) {
    const Node& node = path_[depth];
    if (node.is_value) {
      return Diverge(absl::StrCat("decision ", depth + 1,
                                  " was a choose() before and is a thread switch now"));
    }
    if (!std::equal(node.enabled.begin(), node.enabled.end(), point.enabled.begin(),
                    point.enabled.end())) {
      return Diverge(absl::StrCat("at decision ", depth + 1, " (step ", point.step,
                                  ") the enabled threads are {", absl::StrJoin(point.enabled, ", "),
                                  "}; the same decisions before gave {",
                                  absl::StrJoin(node.enabled, ", "), "}"));
    }
  } else {
    Node node;
    node.current = point.current;
    node.enabled.assign(point.enabled.begin(), point.enabled.end());
    node.ops.reserve(node.enabled.size());
    for (uint32_t t : node.enabled) node.ops.push_back(point.pending[t]);
    node.sleep = std::move(next_sleep_);
    if (!path_.empty()) {
      const Node& parent = path_.back();
      node.preemptions = parent.preemptions + (parent.is_value ? 0 : Cost(parent, parent.chosen));
      node.branch = parent.branch + (parent.is_value || parent.enabled.size() > 1 ? 1 : 0);
    }
    const std::optional<uint32_t> pick = Default(node, /*ignore_sleep=*/!Dpor());
    if (!pick) {
      // Every enabled thread sleeps (dpor) or belongs to another shard: the
      // rest of this execution repeats what is explored elsewhere.
      redundant_now_ = true;
      ++redundant_;
      --depth_;
      return Default(node, /*ignore_sleep=*/true).value_or(node.enabled.front());
    }
    node.chosen = *pick;
    node.backtrack = {*pick};
    path_.push_back(std::move(node));
  }
  Took(depth, point);
  return path_[depth].chosen;
}

void DfsStrategy::Took(uint32_t depth, const SchedulingPoint& point) {
  const Node& node = path_[depth];
  const uint32_t pick = node.chosen;
  last_picked_ = pick;
  if (!Dpor()) return;
  const PendingOp op = point.pending[pick];
  // The next point's sleep set: what sleeps here, and what was explored
  // here before, as long as it is independent of what runs now.
  next_sleep_.clear();
  for (const Sleeper& s : node.sleep) {
    if (!Dependent(s.op, op)) next_sleep_.push_back(s);
  }
  for (uint32_t t : node.done) {
    const size_t i =
        std::lower_bound(node.enabled.begin(), node.enabled.end(), t) - node.enabled.begin();
    if (!Dependent(node.ops[i], op)) next_sleep_.push_back({t, node.ops[i]});
  }
  Execute(pick, op, depth);
}

void DfsStrategy::Execute(uint32_t thread, PendingOp op, uint32_t node) {
  if (clocks_.size() <= thread) clocks_.resize(thread + 1);
  std::vector<uint32_t> clock = clocks_[thread];
  if (clock.size() <= thread) clock.resize(thread + 1);
  const uint32_t seq = ++clock[thread];
  // The earlier events this one depends on, latest first. One not already
  // ordered before it (through a later one) is in a race with it.
  std::vector<uint32_t> dependent;
  if (op.object != 0 && op.object < by_object_.size()) dependent = by_object_[op.object];
  if (op.kind == PendingOp::Kind::kTimeout) {
    dependent.insert(dependent.end(), timeouts_.begin(), timeouts_.end());
    std::sort(dependent.begin(), dependent.end());
    dependent.erase(std::unique(dependent.begin(), dependent.end()), dependent.end());
  }
  for (auto it = dependent.rbegin(); it != dependent.rend(); ++it) {
    const Event& earlier = events_[*it];
    if (earlier.thread == thread || !Dependent(earlier.op, op)) continue;
    if (At(clock, earlier.thread) >= earlier.seq) continue;
    Race(*it, thread, clock);
    Join(clock, events_[*it].clock);
  }
  const uint32_t index = static_cast<uint32_t>(events_.size());
  if (op.object != 0) {
    if (by_object_.size() <= op.object) by_object_.resize(op.object + 1);
    by_object_[op.object].push_back(index);
  }
  if (op.kind == PendingOp::Kind::kTimeout) timeouts_.push_back(index);
  clocks_[thread] = clock;
  events_.push_back(Event{thread, op, seq, node, std::move(clock)});
}

// Event `earlier` races with the event `thread` is about to execute (its
// clock so far `clock`): make sure the point before `earlier` will also try
// a thread that can start the reversed order.
void DfsStrategy::Race(size_t earlier, uint32_t thread, const std::vector<uint32_t>& clock) {
  const Event& e = events_[earlier];
  Node& node = path_[e.node];
  if (node.branch < split_depth_) return;  // explored in full anyway
  // The events after `earlier` that do not happen after it, then the new
  // one; its initials are the threads whose first event there has nothing
  // before it there.
  std::vector<const Event*> between;
  std::vector<uint32_t> seen;
  std::vector<uint32_t> initials;
  auto after_one_of = [&between](const std::vector<uint32_t>& c) {
    return std::any_of(between.begin(), between.end(),
                       [&c](const Event* y) { return At(c, y->thread) >= y->seq; });
  };
  for (size_t j = earlier + 1; j < events_.size(); ++j) {
    const Event& x = events_[j];
    if (At(x.clock, e.thread) >= e.seq) continue;
    if (!Contains(seen, x.thread)) {
      seen.push_back(x.thread);
      if (!after_one_of(x.clock)) initials.push_back(x.thread);
    }
    between.push_back(&x);
  }
  if (!Contains(seen, thread) && !after_one_of(clock)) initials.push_back(thread);
  for (uint32_t q : initials) {
    if (Contains(node.backtrack, q)) return;
  }
  const uint32_t q = Contains(initials, thread) || initials.empty() ? thread : initials.front();
  if (Contains(node.enabled, q)) {
    node.backtrack.push_back(q);
    return;
  }
  // It could not run there (it was blocked): try everything that could.
  for (uint32_t t : node.enabled) {
    if (!Contains(node.backtrack, t)) node.backtrack.push_back(t);
  }
}

uint32_t DfsStrategy::PickValue(uint32_t n) {
  if (redundant_now_) return 0;
  const uint32_t depth = depth_++;
  if (depth < path_.size()) {
    const Node& node = path_[depth];
    if (!node.is_value || node.options != n) {
      return Diverge(absl::StrCat("decision ", depth + 1, " is a choose(", n,
                                  ") now; the same decisions before gave ",
                                  node.is_value ? absl::StrCat("a choose(", node.options, ")")
                                                : std::string("a thread switch")));
    }
    return node.chosen;
  }
  Node node;
  node.is_value = true;
  node.options = n;
  if (!path_.empty()) {
    const Node& parent = path_.back();
    node.preemptions = parent.preemptions + (parent.is_value ? 0 : Cost(parent, parent.chosen));
    node.branch = parent.branch + (parent.is_value || parent.enabled.size() > 1 ? 1 : 0);
  }
  node.sleep = next_sleep_;  // unchanged across a choice: every value is explored
  std::optional<uint32_t> value;
  for (uint32_t v = 0; v < n && !value; ++v) {
    if (node.branch + 1 != split_depth_ || Owned(node, v)) value = v;
  }
  if (!value) {
    redundant_now_ = true;
    ++redundant_;
    --depth_;
    return 0;
  }
  node.chosen = *value;
  path_.push_back(std::move(node));
  return *value;
}

void DfsStrategy::EndIteration(uint64_t /*steps*/) {
  if (!divergence_.empty()) return;  // the run stops at this failure
  // A path that ended with fewer choices than the split depth belongs to one
  // shard; the others ran it only to get there.
  if (!redundant_now_ && shard_count_ > 1 && !path_.empty()) {
    uint32_t choices = 0;
    const Node* last = nullptr;
    for (const Node& node : path_) {
      if (node.is_value || node.enabled.size() > 1) {
        ++choices;
        last = &node;
      }
    }
    if (choices < split_depth_ &&
        (last == nullptr ? shard_index_ != 0 : !Owned(*last, last->chosen))) {
      ++redundant_;
    }
  }
  path_.resize(std::min<size_t>(path_.size(), depth_));
  while (!path_.empty()) {
    Node& node = path_.back();
    if (const std::optional<uint32_t> next = NextAlternative(node)) {
      if (!node.is_value) node.done.push_back(node.chosen);
      node.chosen = *next;
      if (!Contains(node.backtrack, *next)) node.backtrack.push_back(*next);
      return;
    }
    path_.pop_back();
  }
  exhausted_ = true;
}

StrategyConfig DfsStrategy::Config() const {
  StrategyConfig config;
  config.set_name(Dpor() ? "dpor" : "dfs");
  if (preemption_bound_) {
    config.set_preemption_bounded(true);
    config.set_preemption_bound(*preemption_bound_);
  }
  return config;
}

// --- Search state --------------------------------------------------------
// A flat array of 32-bit words: a tag, the parameters, the counters and the
// path, each vector as its length then its elements.

namespace {

constexpr uint32_t kStateTag = 0x4C444653;  // "LDFS"

class Writer {
 public:
  void Word(uint32_t w) { out_.append(reinterpret_cast<const char*>(&w), sizeof w); }
  void Words(const std::vector<uint32_t>& v) {
    Word(static_cast<uint32_t>(v.size()));
    for (uint32_t w : v) Word(w);
  }
  void Op(const PendingOp& op) {
    Word(static_cast<uint32_t>(op.kind));
    Word(op.object);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Word(uint32_t& w) {
    if (in_.size() < sizeof w) return false;
    std::memcpy(&w, in_.data(), sizeof w);
    in_.remove_prefix(sizeof w);
    return true;
  }
  bool Length(uint32_t& n) { return Word(n) && n <= in_.size() / sizeof(uint32_t); }
  bool Words(std::vector<uint32_t>& v) {
    uint32_t n = 0;
    if (!Length(n)) return false;
    v.resize(n);
    for (uint32_t& w : v) {
      if (!Word(w)) return false;
    }
    return true;
  }
  bool Op(PendingOp& op) {
    uint32_t kind = 0;
    if (!Word(kind) || !Word(op.object) ||
        kind > static_cast<uint32_t>(PendingOp::Kind::kTimeout)) {
      return false;
    }
    op.kind = static_cast<PendingOp::Kind>(kind);
    return true;
  }
  bool AtEnd() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string DfsStrategy::SaveState() const {
  Writer w;
  w.Word(kStateTag);
  w.Word(static_cast<uint32_t>(reduction_));
  w.Word(preemption_bound_.value_or(UINT32_MAX));
  w.Word(shard_index_);
  w.Word(shard_count_);
  w.Word(exhausted_ ? 1 : 0);
  w.Word(static_cast<uint32_t>(redundant_));
  w.Word(static_cast<uint32_t>(redundant_ >> 32));
  w.Word(static_cast<uint32_t>(path_.size()));
  for (const Node& node : path_) {
    w.Word(node.is_value ? 1 : 0);
    w.Word(node.chosen);
    w.Word(node.options);
    w.Word(node.current);
    w.Word(node.preemptions);
    w.Word(node.branch);
    w.Words(node.enabled);
    for (const PendingOp& op : node.ops) w.Op(op);
    w.Words(node.done);
    w.Words(node.backtrack);
    w.Word(static_cast<uint32_t>(node.sleep.size()));
    for (const Sleeper& s : node.sleep) {
      w.Word(s.thread);
      w.Op(s.op);
    }
  }
  return w.Take();
}

bool DfsStrategy::RestoreState(std::string_view state) {
  Reader r(state);
  uint32_t tag = 0, reduction = 0, bound = 0, index = 0, count = 0, exhausted = 0, low = 0,
           high = 0, nodes = 0;
  if (!r.Word(tag) || tag != kStateTag || !r.Word(reduction) || !r.Word(bound) || !r.Word(index) ||
      !r.Word(count) || !r.Word(exhausted) || !r.Word(low) || !r.Word(high) || !r.Length(nodes)) {
    return false;
  }
  if (reduction != static_cast<uint32_t>(reduction_) ||
      bound != preemption_bound_.value_or(UINT32_MAX) || index != shard_index_ ||
      count != shard_count_) {
    return false;
  }
  std::vector<Node> path(nodes);
  for (Node& node : path) {
    uint32_t is_value = 0, sleepers = 0;
    if (!r.Word(is_value) || !r.Word(node.chosen) || !r.Word(node.options) ||
        !r.Word(node.current) || !r.Word(node.preemptions) || !r.Word(node.branch) ||
        !r.Words(node.enabled)) {
      return false;
    }
    node.is_value = is_value != 0;
    node.ops.resize(node.enabled.size());
    for (PendingOp& op : node.ops) {
      if (!r.Op(op)) return false;
    }
    if (!r.Words(node.done) || !r.Words(node.backtrack) || !r.Length(sleepers)) return false;
    node.sleep.resize(sleepers);
    for (Sleeper& s : node.sleep) {
      if (!r.Word(s.thread) || !r.Op(s.op)) return false;
    }
  }
  if (!r.AtEnd()) return false;
  path_ = std::move(path);
  exhausted_ = exhausted != 0;
  redundant_ = (static_cast<uint64_t>(high) << 32) | low;
  return true;
}

}  // namespace lockstep
