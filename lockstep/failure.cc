#include "lockstep/failure.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lockstep/internal/controller.h"

namespace lockstep {

using internal::Controller;

bool InRun() { return Controller::CurrentOrNull() != nullptr; }

void ReportFailure(Failure::Kind kind, std::string_view message, std::source_location location) {
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) {
    std::fprintf(stderr, "%s:%u: lockstep failure outside a run: %.*s\n", location.file_name(),
                 location.line(), static_cast<int>(message.size()), message.data());
    std::abort();
  }
  c->Fail(kind, std::string(message), location);
}

void ReportFailure(Failure::Kind kind, std::string_view message, const char* file, int line) {
  RecordFailure(kind, message, file, line);
  if (std::uncaught_exceptions() == 0) throw internal::IterationAborted{};
}

void RecordFailure(Failure::Kind kind, std::string_view message, const char* file, int line) {
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) {
    std::fprintf(stderr, "%s:%d: lockstep failure outside a run: %.*s\n",
                 file == nullptr ? "?" : file, line, static_cast<int>(message.size()),
                 message.data());
    std::abort();
  }
  c->RecordFailure(kind, std::string(message), file, line);
}

}  // namespace lockstep
