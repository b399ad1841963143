#include "lockstep/native/locate.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "lockstep/internal/controller.h"

namespace lockstep::native_internal {

using internal::Demangle;

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool LocateFrames(void* const* frames, int n, SourceLocation* out) {
  for (int i = 0; i < n; ++i) {
    Dl_info info;
    void* entry = nullptr;
    if (dladdr1(frames[i], &info, &entry, RTLD_DL_SYMENT) == 0 || info.dli_fname == nullptr) {
      continue;
    }
    const auto* symbol_entry = static_cast<const ElfW(Sym)*>(entry);
    std::string_view module = info.dli_fname;
    module = module.substr(module.rfind('/') + 1);
    if (StartsWith(module, "libstdc++") || StartsWith(module, "libc.so") ||
        StartsWith(module, "liblockstep") || StartsWith(module, "libgtest") ||
        StartsWith(module, "libtsan") || StartsWith(module, "libasan") ||
        StartsWith(module, "libubsan")) {
      continue;
    }
    const uintptr_t address = reinterpret_cast<uintptr_t>(frames[i]);
    // dladdr names the nearest exported symbol before the address, which
    // for a function that is not exported (static, in an anonymous
    // namespace) is some other function: only trust it within its size.
    const bool within = info.dli_sname != nullptr && symbol_entry != nullptr &&
                        address - reinterpret_cast<uintptr_t>(info.dli_saddr) <
                            std::max<uint64_t>(symbol_entry->st_size, 1);
    const std::string symbol = within ? Demangle(info.dli_sname) : "";
    if (StartsWith(symbol, "std::") || StartsWith(symbol, "lockstep::") ||
        StartsWith(symbol, "pthread_") || StartsWith(symbol, "__gthread") ||
        StartsWith(symbol, "sem_") || StartsWith(symbol, "void std::") || symbol == "nanosleep" ||
        symbol == "sched_yield" || symbol == "usleep" || symbol == "sleep" ||
        symbol == "clock_nanosleep" || symbol == "fork" || symbol == "exit" || symbol == "_exit" ||
        symbol == "_Exit" || symbol == "quick_exit") {
      continue;
    }
    // The return address points after the call: name the call itself.
    const uintptr_t offset = address - reinterpret_cast<uintptr_t>(info.dli_fbase) - 1;
    out->set_file(std::string(module));
    out->set_line(0);
    out->set_function(symbol.empty() ? absl::StrCat("+0x", absl::Hex(offset))
                                     : absl::StrCat(symbol, " +0x", absl::Hex(offset)));
    return true;
  }
  return false;
}

void FillCaller(SourceLocation* out) {
  void* frames[32];
  const int n = backtrace(frames, 32);
  if (n > 1) LocateFrames(frames + 1, n - 1, out);
}

bool LocatedInLockstep(const SourceLocation& location) {
  const std::string& file = location.file();
  return file.empty() || file.find("lockstep/native/session") != std::string::npos ||
         file.find("lockstep/native/model_") != std::string::npos ||
         file.find("lockstep/internal/") != std::string::npos;
}

}  // namespace lockstep::native_internal
