#include "server/log.h"

#include <grpc/support/log.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"

namespace custody::server {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendUnicodeEscape(uint32_t code_point, std::string& out) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code_point >> shift) & 0xf];
}

bool IsContinuation(unsigned char c) { return (c & 0xc0) == 0x80; }

// The length of the well-formed UTF-8 sequence at the start of `in` (RFC 3629,
// table 3-7 of Unicode), and its code point; 0 when the first byte does not start
// one.
size_t DecodeUtf8(absl::string_view in, uint32_t& code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(in[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  size_t length;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
    if (lead == 0xe0) second_min = 0xa0;  // No overlong forms.
    if (lead == 0xed) second_max = 0x9f;  // No surrogates.
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xf0) second_min = 0x90;  // No overlong forms.
    if (lead == 0xf4) second_max = 0x8f;  // Nothing past U+10FFFF.
  } else {
    return 0;
  }
  if (in.size() < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (size_t i = 1; i < length; ++i) {
    if (!IsContinuation(byte(i))) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3f);
  }
  return length;
}

// Whether a well-formed code point is written escaped (see the header).
bool MustEscape(uint32_t code_point) {
  return code_point == '"' || code_point == '\\' || code_point < 0x20 ||
         (code_point >= 0x7f && code_point <= 0x9f) || code_point == 0x2028 || code_point == 0x2029;
}

// Appends `in` escaped for the inside of a double-quoted string; the same rules
// serve JSON and logfmt (see the header). Returns whether anything was escaped.
bool AppendEscaped(absl::string_view in, std::string& out) {
  bool escaped = false;
  while (!in.empty()) {
    uint32_t code_point = 0;
    const size_t length = DecodeUtf8(in, code_point);
    if (length == 0) {  // Not UTF-8: one replacement per byte.
      AppendUnicodeEscape(0xfffd, out);
      in.remove_prefix(1);
      escaped = true;
      continue;
    }
    if (!MustEscape(code_point)) {
      out.append(in.data(), length);
    } else {
      escaped = true;
      switch (code_point) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          AppendUnicodeEscape(code_point, out);
      }
    }
    in.remove_prefix(length);
  }
  return escaped;
}

void AppendJsonString(absl::string_view value, std::string& out) {
  out += '"';
  AppendEscaped(value, out);
  out += '"';
}

// Bare when it can be, otherwise quoted and escaped.
void AppendLogfmtValue(absl::string_view value, std::string& out) {
  std::string escaped;
  const bool needs_quotes = AppendEscaped(value, escaped) || value.empty() ||
                            value.find_first_of(" =") != absl::string_view::npos;
  if (needs_quotes) {
    out += '"';
    out += escaped;
    out += '"';
  } else {
    out += escaped;
  }
}

// Keys are [A-Za-z0-9_.-]+ and never one of the three every line starts with.
std::string SafeKey(absl::string_view key) {
  std::string safe;
  if (key == "ts" || key == "level" || key == "msg") safe = "_";
  for (char c : key) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    safe += allowed ? c : '_';
  }
  if (safe.empty()) safe = "_";
  return safe;
}

std::atomic<Logger*> default_logger{nullptr};
std::atomic<Logger*> grpc_logger{nullptr};

void LogFromGrpc(gpr_log_func_args* args) {
  Logger* logger = grpc_logger.load(std::memory_order_acquire);
  if (logger == nullptr) logger = &DefaultLogger();
  const LogLevel level =
      args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kError : LogLevel::kDebug;
  if (!logger->Enabled(level)) return;
  logger->Log(level, args->message != nullptr ? args->message : "",
              {{"component", "grpc"},
               {"file", args->file != nullptr ? args->file : ""},
               {"line", args->line}});
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "logfmt") return LogFormat::kLogfmt;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log format \"", absl::CHexEscape(name), "\"; expected logfmt or json"));
}

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown log level \"", absl::CHexEscape(name),
                                                 "\"; expected debug, info, warning or error"));
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

std::string Logger::FormatLine(LogLevel level, absl::string_view message,
                               absl::Span<const LogField> fields) const {
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", clock_.Now(), absl::UTCTimeZone());
  std::string line;
  if (format_ == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"ts\":\"", ts, "\",\"level\":\"", LogLevelName(level), "\",\"msg\":");
    AppendJsonString(message, line);
    for (const LogField& field : fields) {
      line += ',';
      AppendJsonString(SafeKey(field.key()), line);
      line += ':';
      AppendJsonString(field.value(), line);
    }
    line += "}\n";
  } else {
    absl::StrAppend(&line, "ts=", ts, " level=", LogLevelName(level), " msg=");
    AppendLogfmtValue(message, line);
    for (const LogField& field : fields) {
      absl::StrAppend(&line, " ", SafeKey(field.key()), "=");
      AppendLogfmtValue(field.value(), line);
    }
    line += '\n';
  }
  return line;
}

void Logger::Log(LogLevel level, absl::string_view message,
                 std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  const std::string line =
      FormatLine(level, message, absl::MakeConstSpan(fields.begin(), fields.size()));
  const int saved_errno = errno;
  {
    absl::MutexLock lock(&write_mu_);
    absl::string_view rest(line);
    while (!rest.empty()) {
      const ssize_t written = ::write(fd_, rest.data(), rest.size());
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) break;  // Nowhere to report it.
      rest.remove_prefix(static_cast<size_t>(written));
    }
  }
  errno = saved_errno;
}

Logger& DefaultLogger() {
  Logger* logger = default_logger.load(std::memory_order_acquire);
  if (logger != nullptr) return *logger;
  static Logger* const built_in =
      new Logger(SystemClock(), LogFormat::kLogfmt, LogLevel::kInfo, STDERR_FILENO);
  return *built_in;
}

void SetDefaultLogger(Logger* logger) { default_logger.store(logger, std::memory_order_release); }

void RouteGrpcLogs(Logger* logger) {
  grpc_logger.store(logger, std::memory_order_release);
  gpr_set_log_function(&LogFromGrpc);
}

}  // namespace custody::server
