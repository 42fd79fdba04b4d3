// Redis glob matching; see redis_glob.h.
#include "service/redis_glob.h"

#include <cstddef>
#include <utility>

namespace cachemesh {
namespace {

// Matches the one-byte token at pattern[*pos] (which is not '*') against c
// and advances *pos past the token.
bool MatchToken(absl::string_view pattern, size_t* pos, char c) {
  size_t p = *pos;
  switch (pattern[p]) {
    case '?':
      *pos = p + 1;
      return true;
    case '\\':
      if (p + 1 < pattern.size()) ++p;
      *pos = p + 1;
      return pattern[p] == c;
    case '[':
      break;
    default:
      *pos = p + 1;
      return pattern[p] == c;
  }
  ++p;
  bool negate = p < pattern.size() && pattern[p] == '^';
  if (negate) ++p;
  bool match = false;
  while (p < pattern.size() && pattern[p] != ']') {
    size_t left = pattern.size() - p;
    if (pattern[p] == '\\' && left >= 2) {
      match |= pattern[p + 1] == c;
      p += 2;
    } else if (left >= 3 && pattern[p + 1] == '-') {
      int start = static_cast<signed char>(pattern[p]);
      int end = static_cast<signed char>(pattern[p + 2]);
      if (start > end) std::swap(start, end);
      int value = static_cast<signed char>(c);
      match |= value >= start && value <= end;
      p += 3;
    } else {
      match |= pattern[p] == c;
      ++p;
    }
  }
  *pos = p < pattern.size() ? p + 1 : p;  // past ']' when there is one
  return match != negate;
}

}  // namespace

bool RedisGlobMatch(absl::string_view pattern, absl::string_view text) {
  if (text.empty()) return pattern.empty();
  // Greedy match with backtracking to the last '*' only: a later '*' can
  // absorb anything an earlier one would, so one resume point suffices.
  size_t p = 0;
  size_t t = 0;
  size_t star_p = absl::string_view::npos;  // pattern index after last '*'
  size_t star_t = 0;                        // text index that '*' resumes at
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      star_p = p;
      star_t = t;
      continue;
    }
    size_t next = p;
    if (p < pattern.size() && MatchToken(pattern, &next, text[t])) {
      p = next;
      ++t;
    } else if (star_p != absl::string_view::npos) {
      p = star_p;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace cachemesh
