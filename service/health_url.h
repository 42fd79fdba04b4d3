// The application health URL (cachemesh.app.health.url): its syntax, checked
// by the config reader and by the prober alike, split the way the HTTP client
// wants it. No HTTP client here, so the config reader can link it.
#ifndef CACHEMESH_SERVICE_HEALTH_URL_H_
#define CACHEMESH_SERVICE_HEALTH_URL_H_

#include <string>

#include "absl/status/statusor.h"

namespace cachemesh {

// A URL split the way httplib::Client wants it.
struct HealthUrl {
  // "http://host:port", for the httplib::Client constructor.
  std::string scheme_host_port;
  // "/path?query", for Get().
  std::string path;
};

// Errors quote the URL and say what is wrong with it.
absl::StatusOr<HealthUrl> ParseHealthUrl(const std::string& url);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_HEALTH_URL_H_
