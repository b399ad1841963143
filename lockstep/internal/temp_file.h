// Temporary files for atomic writes (temporary file + rename), and removing
// the ones writers left behind when they were killed mid-write.
//
// A writer of `path` writes to
//
//   path + ".tmp-" + PID + "-" + START + "-" + COUNTER + "-" + HOST
//
// in the same directory and renames it over `path`: PID is the writing
// process, START its start time (clock ticks since boot, from
// /proc/PID/stat; 0 where unknown), COUNTER a per-process sequence number
// and HOST 16 hex digits identifying the host and PID namespace the PID
// belongs to. PID and START together name one process even after its PID is
// reused; HOST keeps writers on other machines (a shared file system) or in
// other PID namespaces (Bazel's Linux sandbox gives each action one) from being
// judged by a PID that means something else here.
#ifndef LOCKSTEP_INTERNAL_TEMP_FILE_H_
#define LOCKSTEP_INTERNAL_TEMP_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lockstep::internal {

// Who writes a temporary file: what its name records.
struct TempFileWriter {
  int64_t pid = 0;
  uint64_t start_time = 0;  // 0: unknown
  std::string host;         // 16 lower-case hex digits
};

// The calling process (computed on each call, so it is right after fork()).
TempFileWriter ThisTempFileWriter();

// The temporary file name for `path` (see above). When the file name would
// be longer than 255 bytes, the part taken from `path`'s file name is cut
// short to fit.
std::string TempFilePath(std::string_view path, const TempFileWriter& writer, uint64_t counter);

// How old a temporary file whose writer cannot be checked must be before
// `RemoveStaleTempFiles` removes it.
inline constexpr int64_t kUncheckableTempFileAgeSeconds = 60 * 60;

// Removes from `directory` ("" is the current directory) the temporary files
// of writers that are gone, and returns how many it removed. Best effort:
// errors are ignored. A file is removed only if it is a regular file, empty
// or starting like a Lockstep trace (byte 0x08, the tag of field 1), its name
// has the form above, and either
//  * its HOST is this host and PID namespace, and process PID does not exist
//    (kill(PID, 0) fails with ESRCH) or has another START (the PID was
//    reused); or
//  * its writer cannot be checked (another HOST, or the form
//    `path.tmp-PID-COUNTER` of earlier Lockstep versions) and it was last
//    modified more than kUncheckableTempFileAgeSeconds ago.
// So the temporary file of a process running on this host and in this PID
// namespace is never removed.
int RemoveStaleTempFiles(const std::string& directory);

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_TEMP_FILE_H_
