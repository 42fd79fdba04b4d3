// A reader for java.util.Properties files (the format of DHIS 2's dhis.conf),
// with ${VAR} and ${VAR:-default} substitution from an injected environment.
//
// The syntax follows java.util.Properties.load: `=`, `:` or whitespace
// separate key and value; `#` and `!` start a comment line; an odd number of
// trailing backslashes continues a line; \uXXXX, \t, \n, \r, \f and \x
// escapes. Differences from Java: the text is taken as UTF-8 bytes (not
// ISO-8859-1), \u escapes are emitted as UTF-8, and a malformed or unpaired
// \u escape is reported instead of thrown. Like DHIS 2, values are unescaped,
// then expanded (so an escaped `$`, `{` or `}` counts as a literal one), then
// trimmed (String.trim()). docs/CONFIGURATION.md has every rule.
#ifndef CACHEMESH_CONFIG_PROPERTIES_H_
#define CACHEMESH_CONFIG_PROPERTIES_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cachemesh {

// Looks up one environment variable: its value, or nullopt when it is unset.
using Environment =
    std::function<std::optional<std::string>(const std::string& name)>;

// The real process environment (getenv).
Environment ProcessEnvironment();

// A fixed set of variables; every other name is unset.
Environment FixedEnvironment(
    absl::flat_hash_map<std::string, std::string> variables);

// One ${VAR} that was expanded in a value.
struct Substitution {
  std::string variable;
  // False when the variable was unset and the ${VAR:-default} default was
  // used instead. (A set but empty variable counts as set, as in DHIS 2.)
  bool from_environment = false;
};

// One key = value entry.
struct Property {
  std::string key;
  // Escapes decoded, then ${...} expanded in the decoded text, then bytes
  // <= ' ' trimmed from both ends.
  std::string value;
  // 1-based line on which the entry's logical line starts.
  int line = 0;
  // The ${...} expansions in `value`, in order.
  std::vector<Substitution> substitutions;
  // True when reading the value failed (the error is reported separately);
  // `value` is then incomplete and should not be validated again.
  bool malformed = false;
};

// A parsed file: one Property per key.
struct PropertiesFile {
  std::string file_name;
  // In order of each key's first appearance; a repeated key keeps its first
  // position but takes the last value and line (the last one wins).
  std::vector<Property> properties;
  // "FILE:LINE: message" for each duplicate key.
  std::vector<std::string> warnings;

  // The entry for `key`, or nullptr.
  const Property* Find(absl::string_view key) const;
};

// A problem found in a file. `text` is ready to print: "FILE:LINE: message",
// or "FILE: message" when no single line is to blame (then `line` is 0).
struct Diagnostic {
  int line = 0;
  std::string text;
};

struct ParseOptions {
  // Whether ${...} is expanded in the value of `key`; when unset, in every
  // value. Values not expanded are only unescaped: they keep `${` and `$${`,
  // whether written as is or as escapes.
  std::function<bool(absl::string_view key)> expands_variables;
  // Keys whose value is expanded exactly as DHIS 2 expands it (commons-text
  // StrSubstitutor): a ${VAR} that is unset, or a "${" that is no valid
  // reference, stays as text instead of being an error. Takes precedence
  // over expands_variables. For DHIS 2's own keys that cachemesh must read
  // byte for byte as DHIS 2 does (redis.password, ...).
  std::function<bool(absl::string_view key)> keeps_unresolved_variables;
  // Keys whose value is a secret: error messages quote nothing of it.
  std::function<bool(absl::string_view key)> is_secret;
};

// Everything that could be read, and every error found on the way.
struct ParsedProperties {
  PropertiesFile file;
  // In line order.
  std::vector<Diagnostic> errors;
};

// Parses `text` (the contents of `file_name`) without stopping at the first
// error. Never fails and never crashes, whatever the bytes.
ParsedProperties ParsePropertiesCollectingErrors(
    absl::string_view text, absl::string_view file_name, const Environment& env,
    const ParseOptions& options = {});

// Like ParsePropertiesCollectingErrors, but any error makes it fail with
// InvalidArgument whose message lists every error, one per line.
absl::StatusOr<PropertiesFile> ParseProperties(
    absl::string_view text, absl::string_view file_name, const Environment& env,
    const ParseOptions& options = {});

// Reads a whole file of at most 64 MiB. Fails with
// "PATH: cannot read: <strerror>" (or "...: larger than N bytes").
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// `text` in double quotes, safe to put in a one-line message: control bytes
// and quotes escaped, cut to at most 80 bytes with "..." when longer.
std::string QuoteForMessage(absl::string_view text);

// `key` as is when it is short and printable, else QuoteForMessage(key).
std::string KeyForMessage(absl::string_view key);

// ReadTextFile, then ParseProperties.
absl::StatusOr<PropertiesFile> LoadPropertiesFile(
    const std::string& path, const Environment& env,
    const ParseOptions& options = {});

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_PROPERTIES_H_
