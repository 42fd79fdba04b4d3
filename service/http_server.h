// cachemeshd's HTTP API, served by cpp-httplib on its own threads:
//
//   GET    /health                   200 UP, or 503 DOWN / DRAINING + reasons
//   GET    /health/live              200 while the event loop is turning
//   GET    /v1/members               the member table (MemberList)
//   POST   /v1/invalidations         InvalidationList -> 202, to the mesh
//   GET    /v1/invalidations/stream  Server-Sent Events of AppEvents
//   POST   /v1/drain, DELETE ...     enter / leave draining -> Health
//   GET    /metrics                  Prometheus text
//
// Bodies are the protobuf JSON mapping of cachemesh.v1 messages. POST and
// DELETE are for loopback clients, or any client with the bearer token (see
// IsAuthorized). The server reads only the backend, the event log and the
// metrics registry; it never touches zmq or protocol state.
//
// Threads: every connection holds one pool thread while it is open, and a
// stream client holds one for as long as it listens. At most
// `max_stream_clients` streams are served (503 beyond), which must stay
// below `threads` so /health always finds a free thread.
#ifndef CACHEMESH_SERVICE_HTTP_SERVER_H_
#define CACHEMESH_SERVICE_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/event_log.h"
#include "service/http_backend.h"
#include "service/metrics.h"

namespace httplib {
class DataSink;
struct Request;
struct Response;
class Server;
}  // namespace httplib

namespace cachemesh {

struct HttpServerOptions {
  // cachemesh.http.address: "127.0.0.1", "0.0.0.0", "::", a host name...
  std::string address = "127.0.0.1";
  // cachemesh.http.port; 0 picks a free port (see HttpServer::port()).
  int port = 0;
  // cachemesh.http.token; empty: only loopback clients may POST/DELETE.
  std::string token;
  // Size of the request thread pool.
  int threads = 16;
  // Concurrent /v1/invalidations/stream clients; must be below `threads`.
  int max_stream_clients = 8;
  // A stream with no events for this long gets a ":" comment line, so
  // proxies keep it open and dead clients are noticed.
  absl::Duration stream_heartbeat = absl::Seconds(15);
  // /health/live fails once the latest snapshot is older than this.
  absl::Duration liveness_max_age = absl::Seconds(2);
  // Larger request bodies get 413.
  size_t max_body_bytes = 8 << 20;
  // Events per write on a stream.
  size_t max_events_per_write = 256;
  // The clock /health/live measures snapshot age with.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

class HttpServer {
 public:
  // All references must outlive the server.
  HttpServer(HttpServerOptions options, HttpBackend& backend,
             const EventLog& events, const MetricsRegistry& metrics);
  // Stops the server if running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (errors name the address and port) and serves on a new thread;
  // requests are answered once this returns OK. Call once. Sets SIGPIPE to
  // ignored for the process (see sigpipe.h).
  absl::Status Start();
  // Ends open streams cleanly, stops accepting and joins the server's
  // threads. Connections kept alive by clients can delay it by up to
  // httplib's keep-alive timeout (5 s). Idempotent.
  void Stop();

  // The bound port, once Start() succeeded.
  int port() const { return port_; }

  // Replaces the token that non-loopback clients must present (SIGHUP).
  // Thread-safe; requests after it returns use the new token.
  void SetToken(std::string token);

 private:
  void RegisterRoutes();
  void MarkListening();
  bool Authorize(const httplib::Request& request, httplib::Response& response);
  // Why the latest snapshot is too old to trust; empty if it is fresh.
  std::string StaleReason(const NodeSnapshot& snapshot) const;

  void GetHealth(const httplib::Request& request, httplib::Response& response);
  void GetLive(const httplib::Request& request, httplib::Response& response);
  void GetMembers(const httplib::Request& request, httplib::Response& response);
  void PostInvalidations(const httplib::Request& request,
                         httplib::Response& response);
  void GetStream(const httplib::Request& request, httplib::Response& response);
  // Writes SSE frames after `last_id` to `sink` until Stop() (then ends the
  // response cleanly) or the client leaves (then returns false).
  bool StreamEvents(uint64_t last_id, httplib::DataSink& sink);
  void SetDraining(bool draining, const httplib::Request& request,
                   httplib::Response& response);
  void GetMetrics(const httplib::Request& request, httplib::Response& response);

  const HttpServerOptions options_;
  HttpBackend& backend_;
  const EventLog& events_;
  const MetricsRegistry& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  // Raised by Stop(); open streams end when they see it.
  std::atomic<bool> stopping_{false};
  std::atomic<int> stream_clients_{0};
  absl::Mutex listening_mutex_;
  bool listening_ ABSL_GUARDED_BY(listening_mutex_) = false;
  mutable absl::Mutex token_mutex_;
  std::string token_ ABSL_GUARDED_BY(token_mutex_);
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_HTTP_SERVER_H_
