// Reading DHIS 2's dhis.conf into a Config: this node and its peers (both
// DHIS 2 key styles), and every cachemesh.* setting of the settings table
// (config/settings.h), checked as the components themselves check them, so
// that a file this accepts is one the daemon starts with.
// docs/CONFIGURATION.md documents every key and error.
#ifndef CACHEMESH_CONFIG_CONFIG_H_
#define CACHEMESH_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "config/config_types.h"
#include "config/properties.h"

namespace cachemesh {

// How cachemesh reads dhis.conf: ${...} is expanded in the values of its own
// keys (cluster.* and cachemesh.*, strictly: an unset variable is an error)
// and of the DHIS 2 keys it reads (redis.*, as DHIS 2 expands them: an unset
// variable stays as text). Every other key is only unescaped, and ignored.
ParseOptions DhisConfParseOptions();

// Reads, parses and resolves a dhis.conf. On failure the status message lists
// every error, one per line ("FILE:LINE: message" or "FILE: message"), in
// line order.
absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const Environment& env);

// Resolves an already parsed file (errors as for LoadConfig). `env` gives
// the flush action's token; a null one has no variables.
absl::StatusOr<Config> ResolveConfig(const PropertiesFile& file,
                                     const Environment& env = nullptr);

// The --check_config report: this node, its peers, and an aligned table of
// every setting with its origin. Secret settings are never shown.
std::string FormatConfig(const Config& config);

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_CONFIG_H_
