#include "config/values.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "config/properties.h"

namespace cachemesh {
namespace {

constexpr int kMaxPort = 65535;

bool IsIpv6Address(absl::string_view text) {
  absl::string_view address = text;
  const size_t percent = text.find('%');
  if (percent != absl::string_view::npos) {
    address = text.substr(0, percent);
    const absl::string_view zone = text.substr(percent + 1);
    const bool zone_ok =
        !zone.empty() && std::all_of(zone.begin(), zone.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
        });
    if (!zone_ok) return false;
  }
  const bool chars_ok =
      !address.empty() &&
      std::all_of(address.begin(), address.end(), [](char c) {
        return absl::ascii_isxdigit(c) || c == ':' || c == '.';
      });
  if (!chars_ok) return false;
  const std::string terminated(address);
  in6_addr parsed;
  return inet_pton(AF_INET6, terminated.c_str(), &parsed) == 1;
}

// A DNS name or IPv4 address: dot-separated labels of letters, digits, - and _.
bool IsHostname(absl::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(text, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
    }
  }
  return true;
}

}  // namespace

absl::Status Invalid(absl::string_view text, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(QuoteForMessage(text), " ", problem));
}

std::string Peer::address() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string Peer::endpoint() const { return absl::StrCat("tcp://", address()); }

absl::StatusOr<std::string> ParseHost(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("the hostname is empty");
  if (text.front() == '[') {
    const absl::string_view inner =
        text.size() < 2 ? "" : text.substr(1, text.size() - 2);
    if (text.back() != ']' || !IsIpv6Address(inner)) {
      return Invalid(text, "is not a valid IPv6 address in brackets");
    }
    return std::string(inner);
  }
  if (IsIpv6Address(text) || IsHostname(text)) return std::string(text);
  return Invalid(text, absl::StrContains(text, ':')
                           ? "is not a valid hostname or IP address (a port "
                             "cannot be given here)"
                           : "is not a valid hostname or IP address");
}

absl::StatusOr<int> ParsePort(absl::string_view text) {
  const bool digits_ok =
      !text.empty() && text.size() <= 5 &&
      std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
  int port = 0;
  if (!digits_ok || !absl::SimpleAtoi(text, &port) || port < 1 ||
      port > kMaxPort) {
    return Invalid(text, "is not a port number (1..65535)");
  }
  return port;
}

absl::StatusOr<Peer> ParseHostPort(absl::string_view text,
                                   std::optional<int> default_port) {
  absl::string_view host_text = text;
  std::optional<absl::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return Invalid(text, "has no ] after the IPv6 address");
    }
    host_text = text.substr(0, close + 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!absl::ConsumePrefix(&rest, ":")) {
        return Invalid(text, "must be [IPv6 address]:port");
      }
      port_text = rest;
    }
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    return Invalid(text,
                   "looks like an IPv6 address: write it in brackets, "
                   "e.g. [::1]:4001");
  } else if (const size_t colon = text.find(':');
             colon != absl::string_view::npos) {
    host_text = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  Peer peer;
  absl::StatusOr<std::string> host = ParseHost(host_text);
  if (!host.ok()) return host.status();
  peer.host = *std::move(host);
  if (!port_text.has_value()) {
    if (!default_port.has_value()) return Invalid(text, "has no :port");
    peer.port = *default_port;
    return peer;
  }
  absl::StatusOr<int> port = ParsePort(*port_text);
  if (!port.ok()) return port.status();
  peer.port = *port;
  return peer;
}

absl::StatusOr<int64_t> ParseInteger(absl::string_view text, int64_t min,
                                     int64_t max, absl::string_view unit) {
  const std::string of_unit = unit.empty() ? "" : absl::StrCat(" of ", unit);
  absl::string_view digits = text;
  absl::ConsumePrefix(&digits, "-");
  const size_t leading_digits =
      std::find_if_not(digits.begin(), digits.end(), absl::ascii_isdigit) -
      digits.begin();
  int64_t value = 0;
  if (leading_digits == 0 || leading_digits != digits.size() ||
      digits.size() > 18 || !absl::SimpleAtoi(text, &value)) {
    const bool has_suffix = !unit.empty() && leading_digits > 0 &&
                            leading_digits < digits.size() &&
                            absl::ascii_isalpha(digits[leading_digits]);
    return Invalid(text, absl::StrCat("is not a whole number", of_unit,
                                      has_suffix ? " (the unit is part of the "
                                                   "key name: write the number "
                                                   "only)"
                                                 : ""));
  }
  if (value < min || value > max) {
    return Invalid(
        text, absl::StrCat("is out of range: must be from ", min, " to ", max,
                           unit.empty() ? "" : " ", unit));
  }
  return value;
}

absl::StatusOr<double> ParsePositiveNumber(absl::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return Invalid(text, "is not a number");
  }
  if (value <= 0) return Invalid(text, "must be greater than 0");
  return value;
}

}  // namespace cachemesh
