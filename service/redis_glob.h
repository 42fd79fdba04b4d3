// Redis glob matching, as PSUBSCRIBE and PUBSUB CHANNELS use it.
#ifndef CACHEMESH_SERVICE_REDIS_GLOB_H_
#define CACHEMESH_SERVICE_REDIS_GLOB_H_

#include "absl/strings/string_view.h"

namespace cachemesh {

// True when `text` matches the glob `pattern` with the semantics of Redis's
// stringmatchlen (case-sensitive), both binary-safe:
//   *       any run of bytes, including none
//   ?       any one byte
//   [abc]   one of the bytes; [^abc] any other byte; [a-z] a range (bounds
//           in either order, compared as signed chars like Redis); \x in a
//           class is a literal x; an unterminated class runs to the end
//   \x      the literal byte x (a trailing \ is a literal backslash)
// As in Redis, an empty text matches only the empty pattern. Runs in
// O(|pattern| * |text|) time whatever the pattern (no backtracking blowup).
bool RedisGlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_REDIS_GLOB_H_
