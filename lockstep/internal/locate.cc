#include "lockstep/internal/locate.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <execinfo.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lockstep/internal/controller.h"

namespace lockstep::internal {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// A place in the source: one physical frame holds several when functions
// were inlined into it.
struct SourceFrame {
  std::string file;
  int line = 0;
  std::string function;
};

// Lockstep's own sources (its tests excepted): lockstep/*.{h,cc} and the
// files of its subdirectories.
bool IsLockstepFile(std::string_view file) {
  if (Contains(file, "lockstep/internal/")) return true;
  if (file.ends_with("_test.cc")) return false;
  for (std::string_view dir :
       {"lockstep/native/", "lockstep/instrument/", "lockstep/sync/", "lockstep/strategy/"}) {
    if (Contains(file, dir)) return true;
  }
  // "lockstep/x.h", "external/lockstep/lockstep/x.cc", "/src/lockstep/x.h".
  const size_t slash = file.rfind('/');
  if (slash == std::string_view::npos || slash < 8) return false;
  const size_t dir = slash - 8;
  return file.substr(dir, 9) == "lockstep/" && (dir == 0 || file[dir - 1] == '/') &&
         (file.ends_with(".h") || file.ends_with(".cc"));
}

// Code the caller did not write: the standard library, Abseil, GoogleTest,
// Boost, Lockstep, and libc's pthread/semaphore/sleep/exit functions.
bool IsLibraryFile(std::string_view file) {
  return Contains(file, "/c++/") || Contains(file, "/absl/") || StartsWith(file, "absl/") ||
         Contains(file, "/gtest/") || Contains(file, "/gmock/") || Contains(file, "/boost/") ||
         Contains(file, "gtest_ext/") || IsLockstepFile(file);
}

bool IsLibraryFunction(std::string_view f) {
  return StartsWith(f, "std::") || StartsWith(f, "void std::") || StartsWith(f, "absl::") ||
         StartsWith(f, "lockstep::internal::") || StartsWith(f, "lockstep::native_internal::") ||
         StartsWith(f, "pthread_") || StartsWith(f, "__gthread") || StartsWith(f, "sem_") ||
         f == "nanosleep" || f == "sched_yield" || f == "usleep" || f == "sleep" ||
         f == "clock_nanosleep" || f == "fork" || f == "exit" || f == "_exit" || f == "_Exit" ||
         f == "quick_exit" || f == "syscall";
}

bool IsLibraryFrame(const SourceFrame& frame) {
  return (!frame.file.empty() && IsLibraryFile(frame.file)) || IsLibraryFunction(frame.function);
}

// The modules of this process, with their DWARF (elfutils' libdwfl). Built
// on first use and refreshed when an address is in no known module; a child
// forked afterwards has the same modules. Used under the session's lock.
Dwfl* ProcessModules(bool refresh) {
  static const Dwfl_Callbacks callbacks = {dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo,
                                           nullptr, nullptr};
  static Dwfl* dwfl = dwfl_begin(&callbacks);
  static bool reported = false;
  if (dwfl != nullptr && (refresh || !reported)) {
    reported = true;
    dwfl_report_begin(dwfl);
    dwfl_linux_proc_report(dwfl, getpid());
    dwfl_report_end(dwfl, nullptr, nullptr);
  }
  return dwfl;
}

std::string DieName(Dwarf_Die* die) {
  Dwarf_Attribute attribute;
  for (int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, name, &attribute) != nullptr) {
      if (const char* linkage = dwarf_formstring(&attribute)) return Demangle(linkage);
    }
  }
  const char* name = dwarf_diename(die);
  return name != nullptr ? name : "";
}

// The source frames at `pc` (innermost first): the line table's place, then
// for each inlined function, the place it was called from.
std::vector<SourceFrame> SymbolizeUncached(uintptr_t pc) {
  std::vector<SourceFrame> frames;
  Dwfl* dwfl = ProcessModules(false);
  if (dwfl == nullptr) return frames;
  Dwfl_Module* module = dwfl_addrmodule(dwfl, pc);
  if (module == nullptr) module = dwfl_addrmodule(ProcessModules(true), pc);
  if (module == nullptr) return frames;
  SourceFrame innermost;
  if (Dwfl_Line* line = dwfl_module_getsrc(module, pc)) {
    if (const char* file =
            dwfl_lineinfo(line, nullptr, &innermost.line, nullptr, nullptr, nullptr)) {
      innermost.file = file;
    }
  }
  Dwarf_Addr bias = 0;
  Dwarf_Die* unit = dwfl_module_addrdie(module, pc, &bias);
  Dwarf_Die* scopes = nullptr;
  const int n = unit != nullptr ? dwarf_getscopes(unit, pc - bias, &scopes) : 0;
  Dwarf_Files* files = nullptr;
  size_t file_count = 0;
  if (unit != nullptr) dwarf_getsrcfiles(unit, &files, &file_count);
  SourceFrame current = innermost;
  bool in_subprogram = false;
  Dwarf_Addr function_start = 0;  // of the physical frame's function, when known
  for (int i = 0; i < n && !in_subprogram; ++i) {
    Dwarf_Die* scope = &scopes[i];
    const int tag = dwarf_tag(scope);
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
    current.function = DieName(scope);
    frames.push_back(current);
    in_subprogram = tag == DW_TAG_subprogram;
    if (in_subprogram) {
      if (dwarf_lowpc(scope, &function_start) == 0) function_start += bias;
      break;
    }
    // An inlined function: its caller's place is the call site.
    Dwarf_Attribute attribute;
    Dwarf_Word file_index = 0;
    Dwarf_Word call_line = 0;
    current = SourceFrame{};
    if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attribute), &file_index) == 0 &&
        files != nullptr && file_index < file_count) {
      if (const char* file = dwarf_filesrc(files, file_index, nullptr, nullptr))
        current.file = file;
    }
    if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attribute), &call_line) == 0) {
      current.line = static_cast<int>(call_line);
    }
  }
  free(scopes);
  if (!in_subprogram) {
    // The function the code is in has no DWARF scope here: the symbol table
    // names it and gives its start.
    GElf_Off offset = 0;
    GElf_Sym symbol;
    if (const char* name =
            dwfl_module_addrinfo(module, pc, &offset, &symbol, nullptr, nullptr, nullptr)) {
      current.function = Demangle(name);
      function_start = pc - offset;
    }
    frames.push_back(current);
  }
  // Code inlined without an inline scope (libstdc++'s always_inline atomic
  // operations at -O0) leaves the line table in a header while the function
  // is the caller's: its line is the last of its own rows before `pc`.
  SourceFrame& outer = frames.back();
  Dwarf_Lines* lines = nullptr;
  size_t line_count = 0;
  if (function_start != 0 && !IsLibraryFunction(outer.function) && IsLibraryFile(outer.file)) {
    if (dwarf_getsrclines(unit, &lines, &line_count) == 0) {
      const Dwarf_Addr start = function_start;
      Dwarf_Addr best = 0;
      for (size_t i = 0; i < line_count; ++i) {
        Dwarf_Line* line = dwarf_onesrcline(lines, i);
        Dwarf_Addr address = 0;
        int number = 0;
        if (line == nullptr || dwarf_lineaddr(line, &address) != 0) continue;
        address += bias;
        const char* file = dwarf_linesrc(line, nullptr, nullptr);
        if (address < start || address > pc || address < best || file == nullptr ||
            IsLibraryFile(file) || dwarf_lineno(line, &number) != 0 || number <= 0) {
          continue;
        }
        best = address;
        outer.file = file;
        outer.line = number;
      }
    }
  }
  return frames;
}

// Symbolize, remembered per address: a failing iteration's trace walks the
// same call sites over and over. Used under the same lock as ProcessModules.
const std::vector<SourceFrame>& Symbolize(uintptr_t pc) {
  static auto* cache = new std::unordered_map<uintptr_t, std::vector<SourceFrame>>();
  auto it = cache->find(pc);
  if (it == cache->end()) it = cache->emplace(pc, SymbolizeUncached(pc)).first;
  return it->second;
}

}  // namespace

bool LocateFrames(void* const* frames, int n, bool first_is_pc, SourceLocation* out) {
  for (int i = 0; i < n; ++i) {
    Dl_info info;
    if (dladdr(frames[i], &info) == 0 || info.dli_fname == nullptr) continue;
    std::string_view module = info.dli_fname;
    module = module.substr(module.rfind('/') + 1);
    if (StartsWith(module, "libstdc++") || StartsWith(module, "libc.so") ||
        StartsWith(module, "liblockstep") || StartsWith(module, "libgtest") ||
        StartsWith(module, "libabsl") || StartsWith(module, "libgcc_s") ||
        StartsWith(module, "ld-linux") || StartsWith(module, "libtsan") ||
        StartsWith(module, "libasan") || StartsWith(module, "libubsan")) {
      continue;
    }
    // A return address points after the call: name the call itself. (An
    // interrupted instruction may be a function's first: pc - 1 would be in
    // no function.)
    const uintptr_t pc = reinterpret_cast<uintptr_t>(frames[i]) - (i == 0 && first_is_pc ? 0 : 1);
    for (const SourceFrame& frame : Symbolize(pc)) {
      if (IsLibraryFrame(frame)) continue;
      if (!frame.file.empty() && frame.line > 0) {
        SetLocation(out, frame.file.c_str(), frame.line, frame.function.c_str());
      } else {
        // No line table (built without -g): the module and the offset,
        // which `addr2line -e <binary> <offset>` resolves.
        const uintptr_t offset = pc - reinterpret_cast<uintptr_t>(info.dli_fbase);
        out->set_file(std::string(module));
        out->set_line(0);
        out->set_function(frame.function.empty()
                              ? absl::StrCat("+0x", absl::Hex(offset))
                              : absl::StrCat(frame.function, " +0x", absl::Hex(offset)));
      }
      return true;
    }
  }
  return false;
}

bool LocatePc(uintptr_t pc, SourceLocation* out) {
  void* frame = reinterpret_cast<void*>(pc);
  if (LocateFrames(&frame, 1, /*first_is_pc=*/true, out)) return true;
  // Only library code here (inlined into the instruction): the innermost.
  const std::vector<SourceFrame> frames = Symbolize(pc);
  if (frames.empty()) return false;
  out->set_file(frames.front().file);
  out->set_line(static_cast<uint32_t>(frames.front().line));
  out->set_function(frames.front().function);
  return true;
}

CodeSite SiteOf(uintptr_t pc) {
  CodeSite site;
  Dl_info info;
  link_map* map = nullptr;
  if (dladdr1(reinterpret_cast<void*>(pc), &info, reinterpret_cast<void**>(&map),
              RTLD_DL_LINKMAP) != 0 &&
      info.dli_fname != nullptr && map != nullptr) {
    std::string_view module = info.dli_fname;
    site.set_module(std::string(module.substr(module.rfind('/') + 1)));
    site.set_offset(pc - map->l_addr);  // the load bias, as dl_iterate_phdr's dlpi_addr
  }
  return site;
}

uintptr_t PcOf(const CodeSite& site) {
  struct Search {
    const CodeSite* site;
    uintptr_t base = 0;
    bool found = false;
  } search{&site};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        std::string_view name = info->dlpi_name != nullptr ? info->dlpi_name : "";
        if (name.empty()) {
          // The executable.
          static char self[4096];
          const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
          name = std::string_view(self, n > 0 ? static_cast<size_t>(n) : 0);
        }
        if (name.substr(name.rfind('/') + 1) != s->site->module()) return 0;
        s->base = info->dlpi_addr;
        s->found = true;
        return 1;
      },
      &search);
  return search.found ? search.base + site.offset() : 0;
}

void FillCaller(SourceLocation* out) {
  void* frames[32];
  const int n = backtrace(frames, 32);
  if (n > 1) LocateFrames(frames + 1, n - 1, /*first_is_pc=*/false, out);
}

void SetLocation(SourceLocation* out, const char* file, int line, const char* function) {
  std::string_view path = file == nullptr ? "" : file;
  // Headers found through `-iquote .` are named "./dir/x.h"; sources "dir/x.cc".
  if (path.substr(0, 2) == "./") path.remove_prefix(2);
  out->set_file(std::string(path));
  out->set_line(line < 0 ? 0 : static_cast<uint32_t>(line));
  out->set_function(function == nullptr ? "" : function);
}

void SetLocation(SourceLocation* out, const std::source_location& where) {
  SetLocation(out, where.file_name(), static_cast<int>(where.line()), where.function_name());
}

void LocateCall(const std::source_location& where, SourceLocation* out) {
  if (IsLibraryFile(where.file_name())) {
    void* frames[48];
    const int n = backtrace(frames, 48);
    SourceLocation caller;
    if (n > 1 && LocateFrames(frames + 1, n - 1, /*first_is_pc=*/false, &caller) &&
        caller.line() > 0) {
      *out = std::move(caller);
      return;
    }
  }
  SetLocation(out, where);
}

bool LocatedInLockstep(const SourceLocation& location) {
  const std::string& file = location.file();
  return file.empty() || file.find("lockstep/native/session") != std::string::npos ||
         file.find("lockstep/native/model_") != std::string::npos ||
         file.find("lockstep/internal/") != std::string::npos;
}

}  // namespace lockstep::internal
