// cpp-httplib (0.11) writes to sockets without MSG_NOSIGNAL, so a peer that
// hangs up mid-response would kill the whole daemon with SIGPIPE. Every
// component that runs httplib calls IgnoreSigpipe() before it starts.
#ifndef CACHEMESH_SERVICE_SIGPIPE_H_
#define CACHEMESH_SERVICE_SIGPIPE_H_

namespace cachemesh {

// Sets SIGPIPE to ignored for the whole process (writes then fail with
// EPIPE instead). Idempotent and thread-safe.
void IgnoreSigpipe();

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_SIGPIPE_H_
