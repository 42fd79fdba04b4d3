#include "service/app_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace cachemesh {

std::unique_ptr<httplib::Client> MakeAppClient(const HealthUrl& url,
                                               absl::Duration timeout) {
  auto client = std::make_unique<httplib::Client>(url.scheme_host_port);
  const std::chrono::microseconds limit(absl::ToInt64Microseconds(timeout));
  client->set_connection_timeout(limit);
  client->set_read_timeout(limit);
  client->set_write_timeout(limit);
  return client;
}

std::string DescribeRequestError(httplib::Error error, absl::Duration timeout) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection refused or unreachable";
    case httplib::Error::ConnectionTimeout:
      return absl::StrCat("no connection within ",
                          absl::FormatDuration(timeout));
    case httplib::Error::Read:
      return absl::StrCat("no complete answer within ",
                          absl::FormatDuration(timeout));
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "TLS server certificate not trusted";
    default:
      return absl::StrCat("request failed (", httplib::to_string(error), ")");
  }
}

}  // namespace cachemesh
