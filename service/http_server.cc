#include "service/http_server.h"

#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "service/health.h"
#include "service/http_api.h"
#include "service/sigpipe.h"

namespace cachemesh {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kEventStream[] = "text/event-stream";
constexpr char kPrometheusText[] = "text/plain; version=0.0.4";
// Requests one kept-alive connection may carry before the server closes it
// (as nginx's keepalive_requests, which defaults to 1000).
constexpr size_t kKeepAliveMaxRequests = 10000;
constexpr char kNoSnapshot[] =
    "the event loop has not published a snapshot yet";

void Reply(httplib::Response& response, int status, const std::string& json) {
  response.status = status;
  response.set_content(json, kJson);
}

void ReplyError(httplib::Response& response, int status,
                absl::string_view message) {
  Reply(response, status, ErrorJson(message));
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// A body for errors httplib answers itself (no route, body too large...).
std::string DefaultErrorMessage(const httplib::Request& request, int status) {
  switch (status) {
    case 404:
      return absl::StrCat("no such endpoint: ", request.method, " ",
                          request.path);
    case 413:
      return "request body too large";
    default:
      return absl::StrCat("HTTP ", status);
  }
}

// Holds one place in the stream-client count while it exists.
class StreamSlot {
 public:
  explicit StreamSlot(std::atomic<int>& clients) : clients_(clients) {}
  ~StreamSlot() { clients_.fetch_sub(1); }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

 private:
  std::atomic<int>& clients_;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, HttpBackend& backend,
                       const EventLog& events, const MetricsRegistry& metrics)
    : options_(std::move(options)),
      backend_(backend),
      events_(events),
      metrics_(metrics),
      server_(std::make_unique<httplib::Server>()) {
  SetToken(options_.token);
}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  if (options_.threads < 2 || options_.max_stream_clients < 1 ||
      options_.max_stream_clients >= options_.threads) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP server: max_stream_clients (", options_.max_stream_clients,
        ") must be at least 1 and below threads (", options_.threads,
        "): every stream client holds a thread"));
  }
  IgnoreSigpipe();
  RegisterRoutes();
  server_->set_payload_max_length(options_.max_body_bytes);
  // A response goes out in several writes (headers, body). With Nagle's
  // algorithm on, a kept-alive client's delayed ACK holds each later write
  // back by about 40 ms; accepted sockets inherit TCP_NODELAY from this one.
  server_->set_tcp_nodelay(true);
  // httplib closes a kept-alive connection after 5 requests by default, so
  // an app that keeps one open would reconnect every 5 publishes.
  server_->set_keep_alive_max_count(kKeepAliveMaxRequests);
  // httplib's default sets SO_REUSEPORT, which would let a second daemon
  // bind the same port and silently share its traffic. SO_REUSEADDR only
  // allows a quick restart.
  server_->set_socket_options([](socket_t socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->new_task_queue = [this] {
    // httplib calls this once listen_after_bind() is running, when stop()
    // has become effective.
    MarkListening();
    return new httplib::ThreadPool(options_.threads);
  };
  const std::string where =
      absl::StrCat(options_.address, ":", options_.port,
                   " (cachemesh.http.address, cachemesh.http.port)");
  int bound = -1;
  if (options_.port == 0) {
    bound = server_->bind_to_any_port(options_.address);
  } else if (server_->bind_to_port(options_.address, options_.port)) {
    bound = options_.port;
  }
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("HTTP server cannot listen on ", where,
                     ": the port is in use or the address is not local"));
  }
  port_ = bound;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    MarkListening();  // Also when listening failed, so Start() returns.
  });
  absl::MutexLock lock(&listening_mutex_);
  listening_mutex_.Await(absl::Condition(&listening_));
  return absl::OkStatus();
}

void HttpServer::MarkListening() {
  absl::MutexLock lock(&listening_mutex_);
  listening_ = true;
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  events_.WakeWaiters();
  server_->stop();
  thread_.join();
}

void HttpServer::RegisterRoutes() {
  using httplib::Request;
  using httplib::Response;
  server_->Get("/health", [this](const Request& request, Response& response) {
    GetHealth(request, response);
  });
  server_->Get("/health/live",
               [this](const Request& request, Response& response) {
                 GetLive(request, response);
               });
  server_->Get("/v1/members",
               [this](const Request& request, Response& response) {
                 GetMembers(request, response);
               });
  server_->Post("/v1/invalidations",
                [this](const Request& request, Response& response) {
                  PostInvalidations(request, response);
                });
  server_->Get("/v1/invalidations/stream",
               [this](const Request& request, Response& response) {
                 GetStream(request, response);
               });
  server_->Post("/v1/drain",
                [this](const Request& request, Response& response) {
                  SetDraining(true, request, response);
                });
  server_->Delete("/v1/drain",
                  [this](const Request& request, Response& response) {
                    SetDraining(false, request, response);
                  });
  server_->Get("/metrics", [this](const Request& request, Response& response) {
    GetMetrics(request, response);
  });
  // Our handlers always set a body; this fills in httplib's bare errors.
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const Request& request, Response& response) {
        if (!response.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        response.set_content(
            ErrorJson(DefaultErrorMessage(request, response.status)), kJson);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

void HttpServer::SetToken(std::string token) {
  absl::MutexLock lock(&token_mutex_);
  token_ = std::move(token);
}

bool HttpServer::Authorize(const httplib::Request& request,
                           httplib::Response& response) {
  std::string token;
  {
    absl::MutexLock lock(&token_mutex_);
    token = token_;
  }
  switch (IsAuthorized(request.remote_addr,
                       request.get_header_value("Authorization"), token)) {
    case AuthDecision::kAllowed:
      return true;
    case AuthDecision::kUnauthorized:
      response.set_header("WWW-Authenticate", "Bearer");
      ReplyError(response, 401,
                 "this needs 'Authorization: Bearer <cachemesh.http.token>'");
      return false;
    case AuthDecision::kForbidden:
      ReplyError(response, 403,
                 "only clients on this host may change state or read the "
                 "stream; set "
                 "cachemesh.http.token to allow others");
      return false;
  }
  return false;
}

std::string HttpServer::StaleReason(const NodeSnapshot& snapshot) const {
  const absl::Duration age = options_.now() - snapshot.taken_at;
  if (age <= options_.liveness_max_age) return "";
  return absl::StrCat("the event loop last published a snapshot ",
                      absl::FormatDuration(age), " ago (limit ",
                      absl::FormatDuration(options_.liveness_max_age), ")");
}

void HttpServer::GetHealth(const httplib::Request& request,
                           httplib::Response& response) {
  const std::shared_ptr<const NodeSnapshot> snapshot = backend_.Snapshot();
  HealthResult result =
      EvaluateHealth(snapshot.get(), backend_.draining(), backend_.AppHealth());
  // A stuck event loop no longer hears the cluster: whatever it last said
  // about the cache is out of date.
  if (snapshot != nullptr) {
    if (std::string stale = StaleReason(*snapshot); !stale.empty()) {
      result.http_status = 503;
      if (result.health.status() == "UP") result.health.set_status("DOWN");
      result.health.add_reasons(std::move(stale));
    }
  }
  Reply(response, result.http_status, ToJson(result.health));
}

void HttpServer::GetLive(const httplib::Request& request,
                         httplib::Response& response) {
  const std::shared_ptr<const NodeSnapshot> snapshot = backend_.Snapshot();
  v1::Health live;
  if (snapshot == nullptr) {
    live.add_reasons(kNoSnapshot);
  } else {
    live.set_id(snapshot->self_id);
    if (std::string stale = StaleReason(*snapshot); !stale.empty()) {
      live.add_reasons(std::move(stale));
    }
  }
  live.set_status(live.reasons_size() == 0 ? "UP" : "DOWN");
  Reply(response, live.reasons_size() == 0 ? 200 : 503, ToJson(live));
}

void HttpServer::GetMembers(const httplib::Request& request,
                            httplib::Response& response) {
  const std::shared_ptr<const NodeSnapshot> snapshot = backend_.Snapshot();
  if (snapshot == nullptr) {
    ReplyError(response, 503, kNoSnapshot);
    return;
  }
  Reply(response, 200, ToJson(snapshot->members));
}

void HttpServer::PostInvalidations(const httplib::Request& request,
                                   httplib::Response& response) {
  if (!Authorize(request, response)) return;
  absl::StatusOr<v1::InvalidationList> list =
      ParseInvalidationList(request.body);
  if (!list.ok()) {
    ReplyError(response, 400, list.status().message());
    return;
  }
  const int count = list->invalidations_size();
  if (absl::Status published = backend_.Publish(*std::move(list));
      !published.ok()) {
    if (published.code() == absl::StatusCode::kResourceExhausted) {
      response.set_header("Retry-After", "1");
    }
    ReplyError(response, HttpStatusFor(published), published.message());
    return;
  }
  Reply(response, 202, absl::StrCat(R"({"accepted":)", count, "}"));
}

void HttpServer::SetDraining(bool draining, const httplib::Request& request,
                             httplib::Response& response) {
  if (!Authorize(request, response)) return;
  if (absl::Status set = backend_.SetDraining(draining); !set.ok()) {
    ReplyError(response, HttpStatusFor(set), set.message());
    return;
  }
  const std::shared_ptr<const NodeSnapshot> snapshot = backend_.Snapshot();
  const HealthResult result =
      EvaluateHealth(snapshot.get(), backend_.draining(), backend_.AppHealth());
  Reply(response, 200, ToJson(result.health));
}

void HttpServer::GetMetrics(const httplib::Request& request,
                            httplib::Response& response) {
  response.status = 200;
  response.set_content(metrics_.RenderPrometheus(), kPrometheusText);
}

void HttpServer::GetStream(const httplib::Request& request,
                           httplib::Response& response) {
  // The stream reveals every invalidated key: same rule as changing state.
  if (!Authorize(request, response)) return;
  const absl::StatusOr<absl::optional<uint64_t>> resume =
      ParseLastEventId(request.get_header_value("Last-Event-ID"),
                       request.get_param_value("lastEventId"));
  if (!resume.ok()) {
    ReplyError(response, 400, resume.status().message());
    return;
  }
  if (stream_clients_.fetch_add(1) >= options_.max_stream_clients) {
    stream_clients_.fetch_sub(1);
    ReplyError(response, 503,
               absl::StrCat("too many stream clients (limit ",
                            options_.max_stream_clients, ")"));
    return;
  }
  auto slot = std::make_shared<StreamSlot>(stream_clients_);
  // Without a resume point the stream starts live, after the newest event.
  const uint64_t resume_point =
      resume->has_value() ? **resume : events_.newest_id();
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");
  // httplib keeps the provider (and so the slot) until the response is done.
  response.set_chunked_content_provider(
      kEventStream,
      [this, slot, resume_point](size_t, httplib::DataSink& sink) {
        return StreamEvents(resume_point, sink);
      });
}

bool HttpServer::StreamEvents(uint64_t last_id, httplib::DataSink& sink) {
  // Streams within this one call until Stop() or the client leaves: httplib
  // checks for shutdown only between calls, and then ends the response
  // without its final chunk.
  const std::string greeting =
      absl::StrCat(": streaming events after ", last_id, "\n\n");
  if (!sink.write(greeting.data(), greeting.size())) return false;
  while (true) {
    const std::vector<v1::AppEvent> events =
        events_.WaitAfter(last_id, options_.max_events_per_write,
                          options_.stream_heartbeat, &stopping_);
    if (stopping_.load() || (events.empty() && events_.is_shutdown())) {
      sink.done();
      return true;
    }
    std::string chunk;
    for (const v1::AppEvent& event : events) {
      chunk += FormatSseEvent(event);
      last_id = event.event_id();
    }
    if (chunk.empty()) chunk = ":\n\n";  // Heartbeat after idleness.
    if (!sink.write(chunk.data(), chunk.size())) return false;
  }
}

}  // namespace cachemesh
