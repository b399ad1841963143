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
  c->ReportUserFailure(kind, std::string(message), location.file_name(),
                       static_cast<int>(location.line()), location.function_name(),
                       /*stop=*/true);
}

void ReportFailure(Failure::Kind kind, std::string_view message, const char* file, int line) {
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) return RecordFailure(kind, message, file, line);  // aborts
  c->ReportUserFailure(kind, std::string(message), file, line, "", /*stop=*/true);
}

void RecordFailure(Failure::Kind kind, std::string_view message, const char* file, int line) {
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) {
    std::fprintf(stderr, "%s:%d: lockstep failure outside a run: %.*s\n",
                 file == nullptr ? "?" : file, line, static_cast<int>(message.size()),
                 message.data());
    std::abort();
  }
  c->ReportUserFailure(kind, std::string(message), file, line, "", /*stop=*/false);
}

}  // namespace lockstep
