// The syntax of dhis.conf values that more than one key shares: hosts, ports,
// host:port pairs and numbers. Each parser returns the value, or an
// InvalidArgument that quotes the text and says what is wrong with it (the
// caller adds "FILE:LINE: KEY: ").
#ifndef CACHEMESH_CONFIG_VALUES_H_
#define CACHEMESH_CONFIG_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cachemesh {

// A cluster member's cache endpoint.
struct Peer {
  // Hostname or IP address; an IPv6 address without brackets.
  std::string host;
  int port = 0;

  // "host:port", with an IPv6 host in brackets: "[::1]:4001".
  std::string address() const;
  // "tcp://" + address().
  std::string endpoint() const;
};

// InvalidArgument: the quoted `text`, then `problem`.
absl::Status Invalid(absl::string_view text, absl::string_view problem);

// A hostname, IPv4 address, IPv6 address, or [IPv6 address]; returns it
// without brackets.
absl::StatusOr<std::string> ParseHost(absl::string_view text);

// 1..65535, digits only.
absl::StatusOr<int> ParsePort(absl::string_view text);

// host, host:port, [ipv6] or [ipv6]:port. `default_port` when no port is
// given; a port is required when it is nullopt.
absl::StatusOr<Peer> ParseHostPort(absl::string_view text,
                                   std::optional<int> default_port);

// A whole number in [min, max]. `unit` ("milliseconds", or empty for a
// count) appears in messages.
absl::StatusOr<int64_t> ParseInteger(absl::string_view text, int64_t min,
                                     int64_t max, absl::string_view unit);

// A finite number greater than 0.
absl::StatusOr<double> ParsePositiveNumber(absl::string_view text);

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_VALUES_H_
