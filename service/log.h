// Levelled, line-at-a-time logging to stderr (abseil 20220623 has no
// absl/log). One call writes one whole line, so lines from threads do not mix.
#ifndef CACHEMESH_SERVICE_LOG_H_
#define CACHEMESH_SERVICE_LOG_H_

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cachemesh {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning" or "error".
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

class Logger {
 public:
  explicit Logger(LogLevel min_level, std::FILE* out = stderr)
      : min_level_(min_level), out_(out) {}

  bool Enabled(LogLevel level) const { return level >= min_level_.load(); }
  // Thread-safe: SIGHUP changes the level of a running daemon.
  void SetLevel(LogLevel min_level) { min_level_ = min_level; }
  // Writes "2026-11-24T21:00:00.123Z INFO message\n" if `level` is enabled.
  void Log(LogLevel level, absl::string_view message) const;

  void Debug(absl::string_view message) const {
    Log(LogLevel::kDebug, message);
  }
  void Info(absl::string_view message) const { Log(LogLevel::kInfo, message); }
  void Warning(absl::string_view message) const {
    Log(LogLevel::kWarning, message);
  }
  void Error(absl::string_view message) const {
    Log(LogLevel::kError, message);
  }

 private:
  std::atomic<LogLevel> min_level_;
  std::FILE* out_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_LOG_H_
