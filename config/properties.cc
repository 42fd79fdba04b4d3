#include "config/properties.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cachemesh {
namespace {

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr size_t kMaxQuotedBytes = 80;
// A dhis.conf is a few kilobytes; this only stops /dev/zero and the like.
constexpr size_t kMaxFileBytes = size_t{64} << 20;

// The whitespace java.util.Properties skips around keys and separators.
bool IsPropertiesWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

absl::string_view StripLeadingPropertiesWhitespace(absl::string_view text) {
  size_t start = 0;
  while (start < text.size() && IsPropertiesWhitespace(text[start])) ++start;
  return text.substr(start);
}

// True when `text` ends in an odd number of backslashes: the last one joins
// the next line.
bool EndsWithContinuation(absl::string_view text) {
  size_t backslashes = 0;
  while (backslashes < text.size() &&
         text[text.size() - 1 - backslashes] == '\\') {
    ++backslashes;
  }
  return backslashes % 2 == 1;
}

// One logical line: natural lines joined at continuations, with the
// continuation backslashes and the continuation lines' leading whitespace
// removed. Escapes are still raw.
struct LogicalLine {
  int line = 0;
  std::string text;
};

// Splits a file into logical lines, skipping blank and comment lines.
// Linear in the input size.
class LineReader {
 public:
  explicit LineReader(absl::string_view text) : text_(text) {}

  // False at the end of the text.
  bool Next(LogicalLine* out) {
    absl::string_view natural;
    while (NextNaturalLine(&natural)) {
      absl::string_view segment = StripLeadingPropertiesWhitespace(natural);
      if (segment.empty() || segment[0] == '#' || segment[0] == '!') continue;
      out->line = line_number_;
      out->text.clear();
      while (true) {
        const bool continues = EndsWithContinuation(segment);
        if (continues) segment.remove_suffix(1);
        out->text.append(segment.data(), segment.size());
        // A continuation on the last line just ends the value.
        if (!continues || !NextNaturalLine(&natural)) break;
        segment = StripLeadingPropertiesWhitespace(natural);
      }
      return true;
    }
    return false;
  }

 private:
  // The next line without its terminator (LF, CR or CRLF).
  bool NextNaturalLine(absl::string_view* line) {
    if (position_ >= text_.size()) return false;
    size_t end = text_.find_first_of("\r\n", position_);
    if (end == absl::string_view::npos) end = text_.size();
    *line = text_.substr(position_, end - position_);
    position_ = end + 1;
    if (end + 1 < text_.size() && text_[end] == '\r' &&
        text_[end + 1] == '\n') {
      ++position_;
    }
    ++line_number_;
    return true;
  }

  absl::string_view text_;
  size_t position_ = 0;
  int line_number_ = 0;
};

struct RawEntry {
  absl::string_view key;
  absl::string_view value;
};

// java.util.Properties' split: the key ends at the first unescaped `=`, `:`
// or whitespace; then whitespace, at most one `=` or `:`, and whitespace
// again are skipped.
RawEntry SplitKeyValue(absl::string_view line) {
  size_t key_end = 0;
  size_t value_start = line.size();
  bool has_separator = false;
  bool preceding_backslash = false;
  for (; key_end < line.size(); ++key_end) {
    const char c = line[key_end];
    if (!preceding_backslash && (c == '=' || c == ':')) {
      value_start = key_end + 1;
      has_separator = true;
      break;
    }
    if (!preceding_backslash && IsPropertiesWhitespace(c)) {
      value_start = key_end + 1;
      break;
    }
    preceding_backslash = (c == '\\') && !preceding_backslash;
  }
  while (value_start < line.size()) {
    const char c = line[value_start];
    if (!IsPropertiesWhitespace(c)) {
      if (has_separator || (c != '=' && c != ':')) break;
      has_separator = true;
    }
    ++value_start;
  }
  return {line.substr(0, key_end), line.substr(value_start)};
}

// Java's String.trim(), which DHIS 2 applies to every value: drops bytes up
// to and including the space from both ends.
absl::string_view TrimLikeJava(absl::string_view value) {
  auto is_trimmed = [](char c) { return static_cast<unsigned char>(c) <= ' '; };
  while (!value.empty() && is_trimmed(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_trimmed(value.back())) value.remove_suffix(1);
  return value;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// The 4 hex digits of a \uXXXX escape whose `u` is at `text[u_position]`.
std::optional<uint32_t> ReadUnicodeEscape(absl::string_view text,
                                          size_t u_position) {
  if (u_position + 5 > text.size()) return std::nullopt;
  uint32_t value = 0;
  for (size_t i = u_position + 1; i < u_position + 5; ++i) {
    const char c = text[i];
    if (!absl::ascii_isxdigit(c)) return std::nullopt;
    const uint32_t digit =
        absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10;
    value = value * 16 + digit;
  }
  return value;
}

bool IsHighSurrogate(uint32_t unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool IsLowSurrogate(uint32_t unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

bool IsVariableNameStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IsVariableNameChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

// Decodes one key or value the way DHIS 2 reads dhis.conf: escapes first
// (java.util.Properties.load), then, when asked, ${...} in the unescaped text
// (Apache Commons Text's StrSubstitutor). So a `$`, `{` or `}` written as an
// escape acts exactly like a literal one. Reports every problem as
// "FILE:LINE: <what>: message".
enum class Expansion {
  kOff,
  // Unset or malformed references are errors (cachemesh's own keys).
  kStrict,
  // As DHIS 2 reads it: such references stay as text.
  kLikeDhis2,
};

Expansion ExpansionFor(const ParseOptions& options, absl::string_view key) {
  if (options.keeps_unresolved_variables &&
      options.keeps_unresolved_variables(key)) {
    return Expansion::kLikeDhis2;
  }
  if (!options.expands_variables || options.expands_variables(key)) {
    return Expansion::kStrict;
  }
  return Expansion::kOff;
}

class TextDecoder {
 public:
  TextDecoder(absl::string_view file_name, int line, const Environment& env,
              std::vector<Diagnostic>* errors)
      : file_name_(file_name), line_(line), env_(env), errors_(errors) {}

  // Decodes `raw` into `out`. `what` names the text in messages. Returns
  // false when something was wrong (and reported). Linear in raw.size().
  bool Decode(absl::string_view raw, absl::string_view what,
              Expansion expansion, bool secret, std::string* out,
              std::vector<Substitution>* substitutions) {
    what_ = std::string(what);
    ok_ = true;
    secret_ = secret;
    lenient_ = expansion == Expansion::kLikeDhis2;
    if (expansion == Expansion::kOff) {
      Unescape(raw, out);
      return ok_;
    }
    std::string unescaped;
    Unescape(raw, &unescaped);
    Substitute(unescaped, out, substitutions);
    return ok_;
  }

 private:
  void Error(absl::string_view message) {
    ok_ = false;
    errors_->push_back({line_, absl::StrCat(file_name_, ":", line_, ": ", what_,
                                            ": ", message)});
  }

  // Appends `raw` to `out` with its escapes decoded.
  void Unescape(absl::string_view raw, std::string* out) {
    size_t i = 0;
    while (i < raw.size()) {
      if (raw[i] == '\\') {
        i = DecodeEscape(raw, i, out);
      } else {
        out->push_back(raw[i++]);
      }
    }
  }

  // Decodes the escape whose backslash is at raw[at]; returns the position
  // after it.
  size_t DecodeEscape(absl::string_view raw, size_t at, std::string* out) {
    if (at + 1 >= raw.size()) return raw.size();  // A lone final backslash.
    const char c = raw[at + 1];
    switch (c) {
      case 't':
        out->push_back('\t');
        return at + 2;
      case 'n':
        out->push_back('\n');
        return at + 2;
      case 'r':
        out->push_back('\r');
        return at + 2;
      case 'f':
        out->push_back('\f');
        return at + 2;
      case 'u':
        return DecodeUnicodeEscape(raw, at, out);
      default:
        out->push_back(c);
        return at + 2;
    }
  }

  size_t DecodeUnicodeEscape(absl::string_view raw, size_t at,
                             std::string* out) {
    const std::optional<uint32_t> unit = ReadUnicodeEscape(raw, at + 1);
    if (!unit.has_value()) {
      Error(absl::StrCat("invalid escape ", Quote(raw.substr(at, 6)),
                         ": \\u must be followed by 4 hex digits"));
      return at + 2;
    }
    size_t next = at + 6;
    uint32_t code_point = *unit;
    if (IsHighSurrogate(*unit)) {
      std::optional<uint32_t> low;
      if (next + 1 < raw.size() && raw[next] == '\\' && raw[next + 1] == 'u') {
        low = ReadUnicodeEscape(raw, next + 1);
      }
      if (!low.has_value() || !IsLowSurrogate(*low)) {
        Error(absl::StrCat("unpaired UTF-16 surrogate ",
                           Quote(raw.substr(at, 6)),
                           ": a \\uD800-\\uDBFF escape must be followed by a "
                           "\\uDC00-\\uDFFF one"));
        return next;
      }
      code_point = 0x10000 + ((*unit - 0xD800) << 10) + (*low - 0xDC00);
      next += 6;
    } else if (IsLowSurrogate(*unit)) {
      Error(absl::StrCat("unpaired UTF-16 surrogate ",
                         Quote(raw.substr(at, 6))));
      return next;
    }
    AppendUtf8(code_point, out);
    return next;
  }

  // Appends `text` to `out` with ${...} expanded and $${ turned into ${.
  // Stops at the first malformed reference: the rest of the text is then
  // dropped.
  void Substitute(absl::string_view text, std::string* out,
                  std::vector<Substitution>* substitutions) {
    size_t i = 0;
    while (i < text.size()) {
      const absl::string_view rest = text.substr(i);
      if (absl::StartsWith(rest, "$${")) {
        out->append("${");  // StrSubstitutor's escape.
        i += 3;
      } else if (absl::StartsWith(rest, "${")) {
        if (!Expand(text, &i, out, substitutions)) return;
      } else {
        out->push_back(text[i++]);
      }
    }
  }

  // Expands the ${...} starting at text[*at] and moves *at past it. Returns
  // false on a syntax error.
  bool Expand(absl::string_view text, size_t* at, std::string* out,
              std::vector<Substitution>* substitutions) {
    const size_t name_start = *at + 2;
    size_t name_end = name_start;
    while (name_end < text.size() && IsVariableNameChar(text[name_end])) {
      ++name_end;
    }
    const std::string name(text.substr(name_start, name_end - name_start));
    const bool valid_name = !name.empty() && IsVariableNameStart(name[0]);
    const absl::string_view rest = text.substr(name_end);
    if (valid_name && absl::StartsWith(rest, "}")) {
      *at = name_end + 1;
      std::optional<std::string> value = env_(name);
      if (!value.has_value()) {
        if (lenient_) {  // StrSubstitutor keeps the reference as text.
          absl::StrAppend(out, "${", name, "}");
          substitutions->push_back({name, false});
          return true;
        }
        Error(absl::StrCat("environment variable ${", name,
                           "} is not set (write ${", name,
                           ":-default} to make it optional)"));
        return true;
      }
      out->append(*value);
      substitutions->push_back({name, true});
      return true;
    }
    if (valid_name && absl::StartsWith(rest, ":-")) {
      const size_t fallback_start = name_end + 2;
      const size_t close = text.find('}', fallback_start);
      if (close == absl::string_view::npos) {
        if (lenient_) return KeepAsText(at, out);
        Error(absl::StrCat("${", name, ":-... has no closing }"));
        return false;
      }
      const absl::string_view fallback =
          text.substr(fallback_start, close - fallback_start);
      if (absl::StrContains(fallback, "${")) {
        if (lenient_) return KeepAsText(at, out);
        Error(absl::StrCat("${", name,
                           ":-...}: a default cannot contain ${...}"));
        return false;
      }
      *at = close + 1;
      std::optional<std::string> value = env_(name);
      const bool from_environment = value.has_value();
      if (from_environment) {
        out->append(*value);
      } else {
        out->append(fallback.data(), fallback.size());
      }
      substitutions->push_back({name, from_environment});
      return true;
    }
    if (lenient_) return KeepAsText(at, out);
    Error(absl::StrCat("malformed ",
                       Quote(text.substr(*at, name_end - *at + 1)),
                       ": expected ${NAME} or ${NAME:-default}, NAME made of "
                       "letters, digits and _ (write $${ for a literal ${)"));
    return false;
  }

  // A piece of the text for a message; nothing of a secret's.
  std::string Quote(absl::string_view text) const {
    return secret_ ? std::string("(in a secret value)") : QuoteForMessage(text);
  }

  // A "${" that is no reference, for a lenient value: kept as text, and
  // the scan goes on after it.
  bool KeepAsText(size_t* at, std::string* out) {
    out->append("${");
    *at += 2;
    return true;
  }

  absl::string_view file_name_;
  int line_;
  const Environment& env_;
  std::vector<Diagnostic>* errors_;
  std::string what_;
  bool ok_ = true;
  // DHIS 2's own reading: unset and malformed references stay as text.
  bool lenient_ = false;
  // Messages quote nothing of the value.
  bool secret_ = false;
};

}  // namespace

Environment ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Environment FixedEnvironment(
    absl::flat_hash_map<std::string, std::string> variables) {
  return [variables = std::move(variables)](
             const std::string& name) -> std::optional<std::string> {
    auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

const Property* PropertiesFile::Find(absl::string_view key) const {
  for (const Property& property : properties) {
    if (property.key == key) return &property;
  }
  return nullptr;
}

std::string QuoteForMessage(absl::string_view text) {
  std::string quoted = "\"";
  const size_t shown = std::min(text.size(), kMaxQuotedBytes);
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"') {
      quoted.push_back('\\');
      quoted.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&quoted, "\\x%02x", c);
    } else {
      quoted.push_back(static_cast<char>(c));
    }
  }
  quoted.push_back('"');
  if (shown < text.size()) quoted.append("...");
  return quoted;
}

std::string KeyForMessage(absl::string_view key) {
  const bool plain =
      !key.empty() && key.size() <= kMaxQuotedBytes &&
      std::all_of(key.begin(), key.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && c != 0x7F && c != '"';
      });
  return plain ? std::string(key) : QuoteForMessage(key);
}

ParsedProperties ParsePropertiesCollectingErrors(absl::string_view text,
                                                 absl::string_view file_name,
                                                 const Environment& env,
                                                 const ParseOptions& options) {
  ParsedProperties parsed;
  parsed.file.file_name = std::string(file_name);
  if (absl::StartsWith(text, kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
  absl::flat_hash_map<std::string, size_t> index_by_key;
  LineReader reader(text);
  LogicalLine line;
  while (reader.Next(&line)) {
    const RawEntry raw = SplitKeyValue(line.text);
    TextDecoder decoder(file_name, line.line, env, &parsed.errors);
    Property property;
    property.line = line.line;
    std::vector<Substitution> no_substitutions;
    if (!decoder.Decode(raw.key, absl::StrCat("key ", QuoteForMessage(raw.key)),
                        Expansion::kOff, /*secret=*/false, &property.key,
                        &no_substitutions)) {
      continue;  // Without a sure key the entry is useless.
    }
    const Expansion expand = ExpansionFor(options, property.key);
    std::string value;
    const bool secret = options.is_secret && options.is_secret(property.key);
    property.malformed =
        !decoder.Decode(raw.value, KeyForMessage(property.key), expand, secret,
                        &value, &property.substitutions);
    property.value = std::string(TrimLikeJava(value));

    auto [it, inserted] =
        index_by_key.try_emplace(property.key, parsed.file.properties.size());
    if (inserted) {
      parsed.file.properties.push_back(std::move(property));
      continue;
    }
    Property& earlier = parsed.file.properties[it->second];
    parsed.file.warnings.push_back(absl::StrCat(
        file_name, ":", property.line, ": duplicate key ", property.key,
        ": this line overrides line ", earlier.line, " (the last one wins)"));
    earlier = std::move(property);
  }
  return parsed;
}

absl::StatusOr<PropertiesFile> ParseProperties(absl::string_view text,
                                               absl::string_view file_name,
                                               const Environment& env,
                                               const ParseOptions& options) {
  ParsedProperties parsed =
      ParsePropertiesCollectingErrors(text, file_name, env, options);
  if (parsed.errors.empty()) return std::move(parsed.file);
  std::vector<absl::string_view> texts;
  for (const Diagnostic& error : parsed.errors) texts.push_back(error.text);
  return absl::InvalidArgumentError(absl::StrJoin(texts, "\n"));
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot read"));
  std::string contents;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot read"));
    }
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > kMaxFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": cannot read: larger than ", kMaxFileBytes, " bytes"));
    }
  }
  close(fd);
  return contents;
}

absl::StatusOr<PropertiesFile> LoadPropertiesFile(const std::string& path,
                                                  const Environment& env,
                                                  const ParseOptions& options) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return ParseProperties(*text, path, env, options);
}

}  // namespace cachemesh
