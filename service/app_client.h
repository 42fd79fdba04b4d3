// The HTTP client side of the local app's URLs (its health check, its flush
// action): one place that sets a request's timeouts, and that says in words
// why a request failed.
#ifndef CACHEMESH_SERVICE_APP_CLIENT_H_
#define CACHEMESH_SERVICE_APP_CLIENT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "httplib.h"
#include "service/health_url.h"

namespace cachemesh {

// A client for `url` whose connect, read and write each give up after
// `timeout`.
std::unique_ptr<httplib::Client> MakeAppClient(const HealthUrl& url,
                                               absl::Duration timeout);

// "connection refused or unreachable", "no complete answer within 2s", ...
std::string DescribeRequestError(httplib::Error error, absl::Duration timeout);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_APP_CLIENT_H_
