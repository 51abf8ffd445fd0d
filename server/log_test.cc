#include "server/log.h"

#include <fcntl.h>
#include <grpc/support/log.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/base/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace custody::server {
namespace {

using ::testing::HasSubstr;

absl::Time TestTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 12, 2, 5, 0, 1), absl::UTCTimeZone()) +
         absl::Milliseconds(123) + absl::Microseconds(999);  // Truncated, not rounded.
}

// Lines written to a pipe, read back without blocking.
class LogTest : public ::testing::Test {
 protected:
  LogTest() : clock_(TestTime()) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    ::fcntl(read_fd_, F_SETFL, O_NONBLOCK);
  }
  ~LogTest() override {
    ::close(read_fd_);
    ::close(write_fd_);
  }

  std::string Drain() {
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(read_fd_, buffer, sizeof(buffer))) > 0) out.append(buffer, n);
    return out;
  }

  FakeClock clock_;
  int read_fd_ = -1;
  int write_fd_ = -1;
};

TEST_F(LogTest, LogfmtLine) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  const std::string guid = "0a1b2c";
  logger.Info("TO2 done", {{"guid", guid}, {"entries", 3}, {"ok", true}, {"ratio", 0.5}});
  EXPECT_EQ(Drain(),
            "ts=2026-12-02T05:00:01.123Z level=info msg=\"TO2 done\" guid=0a1b2c entries=3 ok=1 "
            "ratio=0.5\n");
  clock_.Advance(absl::Seconds(2));
  logger.Error("refused");
  EXPECT_EQ(Drain(), "ts=2026-12-02T05:00:03.123Z level=error msg=refused\n");
}

TEST_F(LogTest, JsonLine) {
  Logger logger(clock_, LogFormat::kJson, LogLevel::kInfo, write_fd_);
  logger.Warning("slow step", {{"step", "TO2.ProveDevice"}, {"ms", 1500}});
  EXPECT_EQ(Drain(),
            "{\"ts\":\"2026-12-02T05:00:01.123Z\",\"level\":\"warning\",\"msg\":\"slow step\","
            "\"step\":\"TO2.ProveDevice\",\"ms\":\"1500\"}\n");
}

TEST_F(LogTest, LogfmtQuotesOnlyWhenNeeded) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  logger.Info("m", {{"bare", "ipv4:10.0.0.1:5000"},
                    {"empty", ""},
                    {"space", "a b"},
                    {"equals", "a=b"},
                    {"quote", "say \"hi\""},
                    {"backslash", "C:\\dir"},
                    {"utf8", "Grüße"}});
  EXPECT_EQ(Drain(),
            "ts=2026-12-02T05:00:01.123Z level=info msg=m bare=ipv4:10.0.0.1:5000 empty=\"\" "
            "space=\"a b\" equals=\"a=b\" quote=\"say \\\"hi\\\"\" backslash=\"C:\\\\dir\" "
            "utf8=Grüße\n");
}

// What a peer might send to forge a line or hide one, with how each format writes it.
struct InjectionCase {
  std::string value;
  std::string logfmt;
  std::string json;
};

class LogInjectionTest : public LogTest, public ::testing::WithParamInterface<InjectionCase> {};

TEST_P(LogInjectionTest, StaysOnOneLine) {
  const InjectionCase& c = GetParam();
  Logger logfmt(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  logfmt.Info(c.value, {{"peer", c.value}});
  const std::string logfmt_line = Drain();
  EXPECT_EQ(logfmt_line, absl::StrCat("ts=2026-12-02T05:00:01.123Z level=info msg=", c.logfmt,
                                      " peer=", c.logfmt, "\n"));

  Logger json(clock_, LogFormat::kJson, LogLevel::kInfo, write_fd_);
  json.Info(c.value, {{"peer", c.value}});
  const std::string json_line = Drain();
  EXPECT_EQ(json_line, absl::StrCat("{\"ts\":\"2026-12-02T05:00:01.123Z\",\"level\":\"info\","
                                    "\"msg\":",
                                    c.json, ",\"peer\":", c.json, "}\n"));

  // A JSON parser reads the line back, with the value intact when it was UTF-8.
  const nlohmann::json parsed =
      nlohmann::json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(parsed.is_discarded()) << json_line;
  EXPECT_EQ(parsed["msg"], parsed["peer"]);
  if (c.json.find("\\ufffd") == std::string::npos) {
    EXPECT_EQ(parsed["msg"], c.value);
  }

  for (const std::string& line : {logfmt_line, json_line}) {
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    for (unsigned char ch : line.substr(0, line.size() - 1)) EXPECT_GE(ch, 0x20) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Values, LogInjectionTest,
    ::testing::Values(InjectionCase{"x\nts=2026-01-01T00:00:00.000Z level=error msg=forged",
                                    "\"x\\nts=2026-01-01T00:00:00.000Z level=error msg=forged\"",
                                    "\"x\\nts=2026-01-01T00:00:00.000Z level=error msg=forged\""},
                      InjectionCase{"a\r\nb", "\"a\\r\\nb\"", "\"a\\r\\nb\""},
                      InjectionCase{"\"},{\"level\":\"error", "\"\\\"},{\\\"level\\\":\\\"error\"",
                                    "\"\\\"},{\\\"level\\\":\\\"error\""},
                      InjectionCase{std::string("nul\0bell\a", 9), "\"nul\\u0000bell\\u0007\"",
                                    "\"nul\\u0000bell\\u0007\""},
                      InjectionCase{"esc\x1b[2Jdel\x7f", "\"esc\\u001b[2Jdel\\u007f\"",
                                    "\"esc\\u001b[2Jdel\\u007f\""},
                      InjectionCase{"tab\there", "\"tab\\there\"", "\"tab\\there\""},
                      // NEL (C1), LINE SEPARATOR and PARAGRAPH SEPARATOR.
                      InjectionCase{"a\xc2\x85"
                                    "b\xe2\x80\xa8"
                                    "c\xe2\x80\xa9",
                                    "\"a\\u0085b\\u2028c\\u2029\"", "\"a\\u0085b\\u2028c\\u2029\""},
                      // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong
                      // '/', a surrogate, a code point past U+10FFFF. A real U+FFFD stays.
                      InjectionCase{
                          "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xef\xbf\xbd",
                          "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
                          "\\ufffd\\ufffd\\ufffd\\ufffd|\xef\xbf\xbd\"",
                          "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
                          "\\ufffd\\ufffd\\ufffd\\ufffd|\xef\xbf\xbd\""},
                      InjectionCase{"\xf0\x9f\x94\x91 key", "\"\xf0\x9f\x94\x91 key\"",
                                    "\"\xf0\x9f\x94\x91 key\""}));

TEST_F(LogTest, KeysAreMadeSafe) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  logger.Info("m", {{"msg", "1"}, {"bad key=\n", "2"}, {"", "3"}, {"ok.key-2_", "4"}});
  EXPECT_EQ(Drain(),
            "ts=2026-12-02T05:00:01.123Z level=info msg=m _msg=1 bad_key__=2 _=3 ok.key-2_=4\n");
  Logger json(clock_, LogFormat::kJson, LogLevel::kInfo, write_fd_);
  json.Info("m", {{"ts", "1"}, {"le\"vel", "2"}});
  EXPECT_EQ(Drain(),
            "{\"ts\":\"2026-12-02T05:00:01.123Z\",\"level\":\"info\",\"msg\":\"m\",\"_ts\":\"1\","
            "\"le_vel\":\"2\"}\n");
}

TEST_F(LogTest, LevelFiltering) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kWarning, write_fd_);
  EXPECT_FALSE(logger.Enabled(LogLevel::kDebug));
  EXPECT_FALSE(logger.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.Enabled(LogLevel::kWarning));
  EXPECT_TRUE(logger.Enabled(LogLevel::kError));
  logger.Debug("d");
  logger.Info("i");
  logger.Warning("w");
  logger.Log(LogLevel::kError, "e");
  EXPECT_EQ(Drain(),
            "ts=2026-12-02T05:00:01.123Z level=warning msg=w\n"
            "ts=2026-12-02T05:00:01.123Z level=error msg=e\n");
}

TEST_F(LogTest, PreservesErrno) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  errno = ENOENT;
  logger.Info("m");
  EXPECT_EQ(errno, ENOENT);
  Logger broken(clock_, LogFormat::kLogfmt, LogLevel::kInfo, /*fd=*/-1);
  broken.Info("m");  // EBADF, ignored.
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(LogTest, ConcurrentLinesDoNotInterleave) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  constexpr int kThreads = 4;
  constexpr int kLines = 100;  // 400 short lines fit in the pipe's buffer.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) logger.Info("line", {{"thread", t}, {"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> lines = absl::StrSplit(Drain(), '\n');
  ASSERT_EQ(lines.size(), kThreads * kLines + 1u);
  EXPECT_EQ(lines.back(), "");
  lines.pop_back();
  for (const std::string& line : lines) {
    EXPECT_THAT(line, ::testing::MatchesRegex("ts=2026-12-02T05:00:01.123Z level=info msg=line "
                                              "thread=[0-3] i=[0-9]+"));
  }
}

TEST(ParseLogTest, Formats) {
  EXPECT_EQ(ParseLogFormat("logfmt").value(), LogFormat::kLogfmt);
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  for (const char* bad : {"", "JSON", "text", "json "}) {
    const absl::Status status = ParseLogFormat(bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(status.message(),
              absl::StrCat("unknown log format \"", bad, "\"; expected logfmt or json"));
  }
}

TEST(ParseLogTest, Levels) {
  EXPECT_EQ(ParseLogLevel("debug").value(), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info").value(), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warning").value(), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("error").value(), LogLevel::kError);
  const absl::Status status = ParseLogLevel("warn\n").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "unknown log level \"warn\\n\"; expected debug, info, warning or error");
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(level)).value(), level);
  }
}

TEST_F(LogTest, DefaultLoggerCanBeReplaced) {
  Logger& built_in = DefaultLogger();
  EXPECT_EQ(built_in.format(), LogFormat::kLogfmt);
  EXPECT_EQ(built_in.min_level(), LogLevel::kInfo);
  Logger mine(clock_, LogFormat::kJson, LogLevel::kDebug, write_fd_);
  SetDefaultLogger(&mine);
  EXPECT_EQ(&DefaultLogger(), &mine);
  DefaultLogger().Debug("via default");
  EXPECT_THAT(Drain(), HasSubstr("\"msg\":\"via default\""));
  SetDefaultLogger(nullptr);
  EXPECT_EQ(&DefaultLogger(), &built_in);
}

TEST_F(LogTest, GrpcLinesGoThroughTheLogger) {
  Logger logger(clock_, LogFormat::kLogfmt, LogLevel::kInfo, write_fd_);
  RouteGrpcLogs(&logger);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);  // Let gRPC pass everything on.

  gpr_log("src/core/lib/surface/server.cc", 42, GPR_LOG_SEVERITY_ERROR, "bind failed: %s",
          "in use\nforged=1");
  EXPECT_EQ(Drain(),
            "ts=2026-12-02T05:00:01.123Z level=error msg=\"bind failed: in use\\nforged=1\" "
            "component=grpc file=src/core/lib/surface/server.cc line=42\n");
  // INFO and DEBUG are logged at debug: dropped at info.
  gpr_log("chttp2.cc", 7, GPR_LOG_SEVERITY_INFO, "%s", "info");
  gpr_log("chttp2.cc", 8, GPR_LOG_SEVERITY_DEBUG, "%s", "debug");
  EXPECT_EQ(Drain(), "");

  Logger verbose(clock_, LogFormat::kJson, LogLevel::kDebug, write_fd_);
  RouteGrpcLogs(&verbose);
  gpr_log("chttp2.cc", 7, GPR_LOG_SEVERITY_INFO, "%s", "info");
  EXPECT_EQ(Drain(),
            "{\"ts\":\"2026-12-02T05:00:01.123Z\",\"level\":\"debug\",\"msg\":\"info\","
            "\"component\":\"grpc\",\"file\":\"chttp2.cc\",\"line\":\"7\"}\n");

  // nullptr: to the default logger.
  SetDefaultLogger(&logger);
  RouteGrpcLogs(nullptr);
  gpr_log("a.cc", 1, GPR_LOG_SEVERITY_ERROR, "%s", "to default");
  EXPECT_THAT(Drain(), HasSubstr("level=error msg=\"to default\" component=grpc file=a.cc line=1"));
  SetDefaultLogger(nullptr);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
}

}  // namespace
}  // namespace custody::server
