// Structured log lines: one event per line, in logfmt or JSON.
//
// Every line carries `ts` (RFC 3339 UTC with milliseconds, from the injected
// Clock: 2026-12-02T05:00:01.123Z), `level` (debug, info, warning, error) and
// `msg`, then the caller's fields in order:
//
//   logfmt: ts=2026-12-02T05:00:01.123Z level=info msg="TO2 done" guid=ab12 peer=ipv4:10.0.0.1:5
//   JSON:   {"ts":"2026-12-02T05:00:01.123Z","level":"info","msg":"TO2 done","guid":"ab12",...}
//
// Escaping: whatever a peer puts in a message or a value stays on its line.
//   - Both formats escape `"` and `\` as \" and \\, newline, carriage return and
//     tab as \n, \r and \t, every other control character (U+0000..U+001F, U+007F,
//     U+0080..U+009F) as \u00XX, and U+2028 and U+2029 (which some viewers treat
//     as line breaks) as \u2028 and \u2029.
//   - Bytes that are not part of well-formed UTF-8 (RFC 3629: no overlong forms,
//     no surrogates, nothing past U+10FFFF) are each replaced by \ufffd, so a JSON
//     line is always valid UTF-8 and an invalid byte is told apart from a real
//     U+FFFD, which is written as is.
//   - logfmt writes a value bare unless it is empty or contains a space, `=`, or
//     anything escaped above; then it is written in double quotes, escaped.
//   - JSON writes every value as a string.
// Keys come from code, not peers, but are made safe too: bytes other than
// [A-Za-z0-9_.-] become `_`, an empty key becomes `_`, and a field named ts,
// level or msg is written as _ts, _level or _msg.
//
// Thread safety: Logger is thread-safe. Each line is written with one write(2)
// (more only if the kernel takes part of it), under a lock, so lines from
// different threads never interleave. Write errors are ignored and errno is
// preserved. Not copyable or movable; it does not own its file descriptor.

#ifndef CUSTODY_SERVER_LOG_H_
#define CUSTODY_SERVER_LOG_H_

#include <unistd.h>

#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/base/clock.h"

namespace custody::server {

enum class LogFormat { kLogfmt, kJson };

// In increasing severity.
enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "logfmt" or "json"; otherwise INVALID_ARGUMENT naming the accepted values.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);
// "debug", "info", "warning" or "error"; otherwise INVALID_ARGUMENT naming them.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
// The name ParseLogLevel accepts and lines carry: "debug", "info", ...
absl::string_view LogLevelName(LogLevel level);

// One field of a line. The value is anything absl::StrCat takes: strings as
// given, integers in decimal, floating point to six significant digits (a bool
// becomes 1 or 0). The key must outlive the Log call.
class LogField {
 public:
  LogField(absl::string_view key, const absl::AlphaNum& value) : key_(key), value_(value.Piece()) {}

  absl::string_view key() const { return key_; }
  absl::string_view value() const { return value_; }

 private:
  absl::string_view key_;
  std::string value_;
};

class Logger {
 public:
  // Writes lines of `format` at `min_level` and above to `fd` (not owned; it must
  // stay open for the logger's life), stamped from `clock`, which must outlive it.
  Logger(Clock& clock, LogFormat format, LogLevel min_level, int fd = STDERR_FILENO)
      : clock_(clock), format_(format), min_level_(min_level), fd_(fd) {}
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Whether a line at `level` would be written: check it before building costly
  // fields for a debug line.
  bool Enabled(LogLevel level) const { return level >= min_level_; }

  // Writes one line, unless `level` is below the minimum:
  //   logger.Log(LogLevel::kInfo, "TO2 done", {{"guid", guid}, {"entries", n}});
  void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});
  void Debug(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warning(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kWarning, message, fields);
  }
  void Error(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kError, message, fields);
  }

  LogFormat format() const { return format_; }
  LogLevel min_level() const { return min_level_; }

 private:
  // The whole line, with its trailing newline.
  std::string FormatLine(LogLevel level, absl::string_view message,
                         absl::Span<const LogField> fields) const;

  Clock& clock_;
  const LogFormat format_;
  const LogLevel min_level_;
  const int fd_;
  absl::Mutex write_mu_;
};

// The process-wide default logger: logfmt at info and above to stderr, stamped
// by SystemClock(), unless SetDefaultLogger replaced it. Never destroyed.
Logger& DefaultLogger();

// Makes `logger` (not owned) the default, or restores the built-in one for
// nullptr. Call it during start-up, before other threads log: a thread that
// already holds the previous default keeps using it, so a replaced logger must
// stay alive until the process ends.
void SetDefaultLogger(Logger* logger);

// Sends gRPC's own log lines (gpr_log) through `logger` (not owned), with the
// fields component=grpc, file and line. gRPC's ERROR lines are logged at error;
// its INFO and DEBUG lines at debug, so the default info level drops them (gRPC
// itself drops them first unless GRPC_VERBOSITY asks for them). nullptr sends them
// to DefaultLogger() as it is at each line.
//
// gpr_set_log_function takes a plain function pointer, so this keeps one
// process-wide pointer to `logger`: the last call wins, and `logger` must stay
// alive until another call replaces it, or until the process ends if gRPC may
// still be logging. Thread-safe.
void RouteGrpcLogs(Logger* logger);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_LOG_H_
