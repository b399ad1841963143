#include "lockstep/internal/temp_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::internal {
namespace {

constexpr std::string_view kTempMarker = ".tmp-";

uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = 0xCBF29CE484222325ull) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001B3ull;
  }
  return hash;
}

// Reads up to `limit` bytes of a small file such as /proc/self/stat.
std::string ReadSmallFile(const std::string& path, size_t limit = 4096) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string bytes(limit, '\0');
  size_t size = 0;
  while (size < limit) {
    const ssize_t n = ::read(fd, bytes.data() + size, limit - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(size);
  return bytes;
}

// The start time of process `pid` in clock ticks since boot (field 22 of
// /proc/PID/stat), or nullopt if it cannot be read. This process's own is
// read through /proc/self, which is right even where /proc belongs to
// another PID namespace.
std::optional<uint64_t> ProcessStartTime(int64_t pid) {
  const std::string stat =
      ReadSmallFile(pid == ::getpid() ? std::string("/proc/self/stat")
                                      : "/proc/" + std::to_string(pid) + "/stat");
  // "PID (COMM) STATE ..."; COMM may hold spaces and parentheses, so the
  // fields are counted from the last ')'. STATE is field 3.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  size_t pos = paren + 1;
  for (int field = 3; field <= 22; ++field) {
    while (pos < stat.size() && stat[pos] == ' ') ++pos;
    const size_t end = stat.find(' ', pos);
    if (field == 22) {
      const std::string value = stat.substr(pos, end == std::string::npos ? end : end - pos);
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
      }
      return std::stoull(value);
    }
    if (end == std::string::npos) return std::nullopt;
    pos = end;
  }
  return std::nullopt;
}

// 16 hex digits for this host and PID namespace.
std::string HostTag() {
  char hostname[HOST_NAME_MAX + 1] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  char ns[256] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
  if (n > 0) ns[n] = '\0';
  const uint64_t hash = Fnv1a64(ns, Fnv1a64(std::string(hostname) + '\n'));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag(16, '0');
  for (int i = 0; i < 16; ++i) tag[static_cast<size_t>(i)] = kHex[(hash >> (60 - 4 * i)) & 0xF];
  return tag;
}

// A decimal number of at most 19 digits (so it fits), or nullopt.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

bool IsHostTag(std::string_view s) {
  if (s.size() != 16) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// What a temporary file's name says about its writer.
struct ParsedName {
  int64_t pid = 0;
  uint64_t start_time = 0;
  std::string host;  // empty: the form of earlier versions, without one
};

std::optional<ParsedName> ParseTempName(std::string_view name) {
  const size_t marker = name.rfind(kTempMarker);
  if (marker == std::string_view::npos || marker == 0) return std::nullopt;
  std::string_view rest = name.substr(marker + kTempMarker.size());
  std::vector<std::string_view> parts;
  while (true) {
    const size_t dash = rest.find('-');
    parts.push_back(rest.substr(0, dash));
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
  }
  ParsedName parsed;
  if (parts.size() == 4) {  // PID-START-COUNTER-HOST
    const std::optional<uint64_t> start = ParseDecimal(parts[1]);
    if (!start.has_value() || !ParseDecimal(parts[2]).has_value() || !IsHostTag(parts[3])) {
      return std::nullopt;
    }
    parsed.start_time = *start;
    parsed.host = std::string(parts[3]);
  } else if (parts.size() == 2) {  // PID-COUNTER, earlier versions
    if (!ParseDecimal(parts[1]).has_value()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  const std::optional<uint64_t> pid = ParseDecimal(parts[0]);
  // kill() takes 0 and negative numbers as process groups: never those.
  if (!pid.has_value() || *pid == 0 || *pid > static_cast<uint64_t>(INT_MAX)) return std::nullopt;
  parsed.pid = static_cast<int64_t>(*pid);
  return parsed;
}

// Whether the process that wrote a file named by `parsed` is known to be
// gone. Only meaningful when its host tag is ours.
bool WriterIsGone(const ParsedName& parsed) {
  if (::kill(static_cast<pid_t>(parsed.pid), 0) == -1 && errno == ESRCH) return true;
  // The PID exists (or is not ours to signal): it is the writer unless it
  // started at another time, i.e. the PID was reused.
  if (parsed.start_time == 0) return false;
  const std::optional<uint64_t> start = ProcessStartTime(parsed.pid);
  return start.has_value() && *start != parsed.start_time;
}

// Whether the regular file `name` in `dir_fd` is empty or starts like a
// serialized trace (field 1, varint: tag byte 0x08). Anything else is not a
// file Lockstep wrote, whatever its name.
bool LooksLikeOurs(int dir_fd, const char* name) {
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st;
  char first = 0;
  bool ours = false;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    ours = st.st_size == 0 || (::read(fd, &first, 1) == 1 && first == 0x08);
  }
  ::close(fd);
  return ours;
}

}  // namespace

TempFileWriter ThisTempFileWriter() {
  TempFileWriter writer;
  writer.pid = ::getpid();
  writer.start_time = ProcessStartTime(writer.pid).value_or(0);
  writer.host = HostTag();
  return writer;
}

std::string TempFilePath(std::string_view path, const TempFileWriter& writer, uint64_t counter) {
  std::string suffix(kTempMarker);
  suffix += std::to_string(writer.pid);
  suffix += '-';
  suffix += std::to_string(writer.start_time);
  suffix += '-';
  suffix += std::to_string(counter);
  suffix += '-';
  suffix += writer.host;
  // A file name has at most NAME_MAX (255) bytes on the usual file systems.
  // The suffix alone makes the name unique, so a long one is cut short.
  constexpr size_t kNameMax = 255;
  const size_t slash = path.rfind('/');
  const size_t base = slash == std::string_view::npos ? 0 : slash + 1;
  if (path.size() - base + suffix.size() > kNameMax) {
    path = path.substr(0, base + (kNameMax - suffix.size()));
  }
  return std::string(path) + suffix;
}

int RemoveStaleTempFiles(const std::string& directory) {
  DIR* dir = ::opendir(directory.empty() ? "." : directory.c_str());
  if (dir == nullptr) return 0;
  // Collect the candidates first: removing entries while reading the
  // directory may make readdir() skip or repeat others.
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::string_view(entry->d_name).find(kTempMarker) != std::string_view::npos) {
      names.emplace_back(entry->d_name);
    }
  }
  const int dir_fd = ::dirfd(dir);
  const std::string host = HostTag();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  int removed = 0;
  for (const std::string& name : names) {
    const std::optional<ParsedName> parsed = ParseTempName(name);
    if (!parsed.has_value()) continue;
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    const bool stale = parsed->host == host ? WriterIsGone(*parsed)
                                            : now - static_cast<int64_t>(st.st_mtime) >
                                                  kUncheckableTempFileAgeSeconds;
    if (stale && LooksLikeOurs(dir_fd, name.c_str()) && ::unlinkat(dir_fd, name.c_str(), 0) == 0) {
      ++removed;
    }
  }
  ::closedir(dir);
  return removed;
}

}  // namespace lockstep::internal
