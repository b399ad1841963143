// The linearizability checker (Wing and Gong's search with Lowe's
// memoization) and the scenario plumbing of linearizability.h.

#include "lockstep/linearizability.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lockstep/failure.h"
#include "lockstep/thread.h"

namespace lockstep {
namespace {

std::string PartName(uint32_t part, uint32_t threads) {
  if (part == 0) return "init";
  if (part > threads) return "post";
  return absl::StrCat("thread ", part);
}

std::string Cell(const HistoryEntry& entry) {
  return entry.result.empty() ? entry.call : absl::StrCat(entry.call, " -> ", entry.result);
}

// The search: which entries are linearized (a bit set), and the model state
// they lead to; memoized by both.
class Search {
 public:
  explicit Search(const std::vector<HistoryEntry>& history) : history_(history) {
    by_call_.resize(history.size());
    for (size_t i = 0; i < history.size(); ++i) by_call_[i] = i;
    std::sort(by_call_.begin(), by_call_.end(),
              [&](size_t a, size_t b) { return history[a].invoked < history[b].invoked; });
    done_.assign((history.size() + 63) / 64, 0);
  }

  bool Run(const ModelState& state) { return Visit(state); }

  uint64_t states() const { return states_; }
  const std::vector<size_t>& order() const { return order_; }
  const std::vector<size_t>& best() const { return best_; }
  // At the deepest point: each entry that could have come next, with what
  // the model returns for it.
  const std::vector<std::pair<size_t, std::string>>& refused() const { return refused_; }

 private:
  bool Done(size_t i) const { return (done_[i / 64] >> (i % 64)) & 1; }
  void Flip(size_t i) { done_[i / 64] ^= uint64_t{1} << (i % 64); }

  bool Visit(const ModelState& state) {
    ++states_;
    if (order_.size() == history_.size()) return true;
    // Seen (same entries linearized, same state): it failed then.
    std::string key(reinterpret_cast<const char*>(done_.data()), done_.size() * sizeof(uint64_t));
    const size_t hash = state.Hash();
    key.append(reinterpret_cast<const char*>(&hash), sizeof hash);
    std::vector<std::unique_ptr<ModelState>>& seen = memo_[key];
    for (const auto& s : seen) {
      if (s->Equals(state)) return false;
    }
    seen.push_back(state.Clone());
    // An entry may come next when no remaining entry returned before it
    // was called.
    uint64_t first_return = UINT64_MAX;
    for (size_t i = 0; i < history_.size(); ++i) {
      if (!Done(i)) first_return = std::min(first_return, history_[i].responded);
    }
    std::vector<std::pair<size_t, std::string>> refused;
    for (size_t i : by_call_) {
      if (Done(i)) continue;
      const HistoryEntry& entry = history_[i];
      if (entry.invoked > first_return) break;
      std::unique_ptr<ModelState> next = state.Clone();
      std::string result = next->Apply(entry.operation, entry.argument);
      if (result != entry.result) {
        refused.push_back({i, std::move(result)});
        continue;
      }
      Flip(i);
      order_.push_back(i);
      if (Visit(*next)) return true;
      order_.pop_back();
      Flip(i);
    }
    if (!has_best_ || order_.size() > best_.size()) {
      has_best_ = true;
      best_ = order_;
      refused_ = std::move(refused);
    }
    return false;
  }

  const std::vector<HistoryEntry>& history_;
  std::vector<size_t> by_call_;
  std::vector<uint64_t> done_;
  std::vector<size_t> order_;
  bool has_best_ = false;
  std::vector<size_t> best_;
  std::vector<std::pair<size_t, std::string>> refused_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<ModelState>>> memo_;
  uint64_t states_ = 0;
};

}  // namespace

LinearizabilityVerdict CheckLinearizable(const std::vector<HistoryEntry>& history,
                                         const ModelState& initial, uint32_t threads) {
  LinearizabilityVerdict verdict;
  Search search(history);
  verdict.linearizable = search.Run(initial);
  verdict.states = search.states();
  if (verdict.linearizable) {
    verdict.order = search.order();
    return verdict;
  }
  verdict.order = search.best();
  std::string& text = verdict.explanation;
  text = absl::StrCat(
      "not linearizable: no order of these operations that respects their real-time order "
      "gives the results they returned when applied one by one to the sequential model.\n",
      "history (times are logical: [call, return]; operations whose intervals overlap ran "
      "concurrently):\n",
      HistoryTable(history, threads));
  if (verdict.order.empty()) {
    absl::StrAppend(&text, "no operation can come first:\n");
  } else {
    absl::StrAppend(&text, "the longest order the model explains:\n");
    for (size_t k = 0; k < verdict.order.size(); ++k) {
      const HistoryEntry& e = history[verdict.order[k]];
      absl::StrAppend(&text, "  ", k + 1, ". ", PartName(e.part, threads), ": ", Cell(e), "\n");
    }
    absl::StrAppend(&text, "after it, no operation that could come next fits the model:\n");
  }
  for (const auto& [i, model_result] : search.refused()) {
    const HistoryEntry& e = history[i];
    absl::StrAppend(&text, "  ", PartName(e.part, threads), ": ", e.call, " returned ",
                    e.result.empty() ? "nothing" : e.result, "; the model returns ",
                    model_result.empty() ? "nothing" : model_result, "\n");
  }
  return verdict;
}

std::string HistoryTable(const std::vector<HistoryEntry>& history, uint32_t threads) {
  std::vector<size_t> rows(history.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  std::sort(rows.begin(), rows.end(),
            [&](size_t a, size_t b) { return history[a].invoked < history[b].invoked; });
  // The columns: parts that have operations, in order.
  std::vector<uint32_t> parts;
  for (const HistoryEntry& e : history) {
    if (std::find(parts.begin(), parts.end(), e.part) == parts.end()) parts.push_back(e.part);
  }
  std::sort(parts.begin(), parts.end());
  const std::string time_header = "time";
  size_t time_width = time_header.size();
  std::vector<std::string> times;
  for (size_t i : rows) {
    times.push_back(absl::StrCat("[", history[i].invoked, ", ", history[i].responded, "]"));
    time_width = std::max(time_width, times.back().size());
  }
  std::vector<size_t> widths;
  for (uint32_t part : parts) {
    size_t width = PartName(part, threads).size();
    for (const HistoryEntry& e : history) {
      if (e.part == part) width = std::max(width, Cell(e).size());
    }
    widths.push_back(width);
  }
  auto pad = [](const std::string& s, size_t width) {
    return s + std::string(width > s.size() ? width - s.size() : 0, ' ');
  };
  std::string out = absl::StrCat("  ", pad(time_header, time_width));
  for (size_t c = 0; c < parts.size(); ++c) {
    absl::StrAppend(&out, " | ", pad(PartName(parts[c], threads), widths[c]));
  }
  out += "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const HistoryEntry& e = history[rows[r]];
    absl::StrAppend(&out, "  ", pad(times[r], time_width));
    for (size_t c = 0; c < parts.size(); ++c) {
      absl::StrAppend(&out, " | ", pad(parts[c] == e.part ? Cell(e) : "", widths[c]));
    }
    out += "\n";
  }
  // No trailing blanks or empty cells.
  std::string trimmed;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&trimmed, line.substr(0, line.find_last_not_of(" |") + 1), "\n");
  }
  return trimmed;
}

void RunOnLockstepThreads(std::vector<std::function<void()>>& functions) {
  std::vector<Thread> threads;
  for (size_t t = 0; t < functions.size(); ++t) {
    threads.push_back(spawn(functions[t], absl::StrCat("thread ", t + 1)));
  }
  for (Thread& thread : threads) thread.join();
}

namespace linearizability_internal {

std::vector<std::vector<std::pair<uint32_t, uint32_t>>> DrawScenario(
    const std::vector<uint32_t>& arguments_per_operation, uint32_t threads, uint32_t per_thread,
    uint32_t init, uint32_t post) {
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> parts(threads + 2);
  const uint32_t n = static_cast<uint32_t>(arguments_per_operation.size());
  for (uint32_t part = 0; part < parts.size(); ++part) {
    const uint32_t count = part == 0 ? init : part > threads ? post : per_thread;
    for (uint32_t k = 0; k < count; ++k) {
      const uint32_t operation = choose(n);
      parts[part].push_back({operation, choose(arguments_per_operation[operation])});
    }
  }
  return parts;
}

void ReportNotLinearizable(const LinearizabilityVerdict& verdict) {
  ReportFailure(Failure::NOT_LINEARIZABLE, verdict.explanation);
}

std::string CallText(const std::string& name, const std::string& argument) {
  return absl::StrCat(name, "(", argument, ")");
}

bool CheckShape(size_t operations, uint32_t threads) {
  if (operations == 0) {
    ReportFailure(Failure::MISUSE, "a linearizability spec needs at least one Operation()");
    return false;
  }
  if (threads == 0) {
    ReportFailure(Failure::MISUSE, "a linearizability spec needs Threads() >= 1");
    return false;
  }
  return true;
}

}  // namespace linearizability_internal
}  // namespace lockstep
