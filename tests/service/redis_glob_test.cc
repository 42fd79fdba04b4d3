// Tests of Redis glob matching (service/redis_glob.h).
#include "service/redis_glob.h"

#include <string>

#include "gtest/gtest.h"

namespace cachemesh {
namespace {

TEST(RedisGlobTest, StarAndQuestionMark) {
  EXPECT_TRUE(RedisGlobMatch("*", "dhis2_cache_invalidation"));
  EXPECT_TRUE(RedisGlobMatch("dhis2_*", "dhis2_cache_invalidation"));
  EXPECT_TRUE(RedisGlobMatch("d*_*_*n", "dhis2_cache_invalidation"));
  EXPECT_FALSE(RedisGlobMatch("dhis2_*x", "dhis2_cache_invalidation"));
  EXPECT_TRUE(RedisGlobMatch("h?llo", "hello"));
  EXPECT_FALSE(RedisGlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(RedisGlobMatch("a**b", "ab"));
  EXPECT_TRUE(RedisGlobMatch("a*", "a"));
}

TEST(RedisGlobTest, EmptyTextMatchesOnlyEmptyPattern) {
  EXPECT_TRUE(RedisGlobMatch("", ""));
  EXPECT_FALSE(RedisGlobMatch("*", ""));
  EXPECT_FALSE(RedisGlobMatch("", "a"));
}

TEST(RedisGlobTest, Classes) {
  EXPECT_TRUE(RedisGlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(RedisGlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(RedisGlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(RedisGlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(RedisGlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(RedisGlobMatch("h[b-a]llo", "hallo"));  // reversed range
  EXPECT_FALSE(RedisGlobMatch("h[a-b]llo", "hcllo"));
  EXPECT_TRUE(RedisGlobMatch("[\\]]", "]"));
  EXPECT_TRUE(RedisGlobMatch("[a-]", "]"));  // Redis: a range up to ']'
  EXPECT_FALSE(RedisGlobMatch("[]", "a"));
  EXPECT_TRUE(RedisGlobMatch("[^]", "a"));
  EXPECT_TRUE(RedisGlobMatch("[ab", "b"));  // unterminated class
  EXPECT_FALSE(RedisGlobMatch("[", "a"));
}

TEST(RedisGlobTest, Escapes) {
  EXPECT_TRUE(RedisGlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(RedisGlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(RedisGlobMatch("a\\?", "a?"));
  EXPECT_TRUE(RedisGlobMatch("a\\", "a\\"));  // trailing backslash
}

TEST(RedisGlobTest, BinarySafe) {
  const std::string text("a\0b\r\n\xff", 6);
  EXPECT_TRUE(RedisGlobMatch(std::string("a\0*", 3), text));
  EXPECT_TRUE(RedisGlobMatch(std::string("a?b*\xff", 5), text));
  EXPECT_FALSE(RedisGlobMatch(std::string("a\0c*", 4), text));
}

TEST(RedisGlobTest, NoExponentialBlowup) {
  const std::string text(20000, 'a');
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "a*";
  EXPECT_FALSE(RedisGlobMatch(pattern + "b", text));
  EXPECT_TRUE(RedisGlobMatch(pattern, text));
}

}  // namespace
}  // namespace cachemesh
