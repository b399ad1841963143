#include "lockstep/internal/progress.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lockstep::internal {

ProgressMeter::ProgressMeter(const Options& options, std::chrono::nanoseconds budget)
    : label_(absl::StrCat(options.test_suite, options.test_suite.empty() ? "" : ".",
                          options.test_name)),
      interval_(options.progress_interval),
      budget_(budget),
      start_(std::chrono::steady_clock::now()),
      last_check_(start_),
      next_line_(start_ + interval_) {
  if (label_.empty()) label_ = "run";
  if (options.shard.count > 1) {
    absl::StrAppend(&label_, " [shard ", options.shard.index + 1, "/", options.shard.count, "]");
  }
}

std::string ProgressMeter::Line(const ExplorationCounts& counts,
                                std::chrono::nanoseconds elapsed) const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::string line = absl::StrFormat(
      "lockstep: %s: %d schedules (%.0f/s), %d distinct, %d conflict pairs, %.1f s", label_,
      counts.schedules, seconds > 0 ? static_cast<double>(counts.schedules) / seconds : 0.0,
      counts.distinct, counts.conflict_pairs, seconds);
  if (budget_.count() > 0) {
    const double left = std::max(0.0, std::chrono::duration<double>(budget_ - elapsed).count());
    absl::StrAppendFormat(&line, ", %.1f s of budget left", left);
  }
  return line;
}

void ProgressMeter::Check(const ExplorationCounts& counts) {
  since_check_ = 0;
  const auto now = std::chrono::steady_clock::now();
  // Aim at one clock read per millisecond or so.
  const auto since = now - last_check_;
  if (since < std::chrono::microseconds(500) && check_every_ < (1u << 16)) check_every_ *= 2;
  if (since > std::chrono::milliseconds(2) && check_every_ > 1) check_every_ /= 2;
  last_check_ = now;
  if (now < next_line_) return;
  next_line_ = now + interval_;
  std::fprintf(stderr, "%s\n", Line(counts, now - start_).c_str());
  std::fflush(stderr);
}

}  // namespace lockstep::internal
