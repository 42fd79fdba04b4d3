// Tests of the RESP request parser and reply encoders (service/resp.h).
#include "service/resp.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;
using Commands = std::vector<std::vector<std::string>>;

// Feeds `input` in pieces cut at `cuts` and returns every parsed command;
// fails the test on a protocol error.
Commands ParseAll(const std::string& input, std::vector<size_t> cuts = {}) {
  RespParser parser;
  Commands commands;
  size_t from = 0;
  cuts.push_back(input.size());
  for (size_t cut : cuts) {
    parser.Feed(absl::string_view(input).substr(from, cut - from));
    from = cut;
    std::vector<std::string> args;
    for (;;) {
      absl::StatusOr<bool> next = parser.Next(&args);
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok() || !*next) break;
      commands.push_back(args);
    }
  }
  EXPECT_FALSE(parser.HasPartialCommand());
  return commands;
}

// The status after feeding `input` whole and parsing until it stops.
absl::Status ErrorOf(const std::string& input, RespParserOptions options = {}) {
  RespParser parser(options);
  parser.Feed(input);
  std::vector<std::string> args;
  for (;;) {
    absl::StatusOr<bool> next = parser.Next(&args);
    if (!next.ok()) return next.status();
    if (!*next) return absl::OkStatus();
  }
}

const char kPipeline[] =
    "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$0\r\n\r\n"
    "PING\r\n"
    "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n";

TEST(RespParserTest, ParsesPipelinedMultibulkAndInline) {
  Commands commands = ParseAll(kPipeline);
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_THAT(commands[0], ElementsAre("HELLO", "3", "AUTH", "default", ""));
  EXPECT_THAT(commands[1], ElementsAre("PING"));
  EXPECT_THAT(commands[2], ElementsAre("PUBLISH", "ch", "hello"));
}

TEST(RespParserTest, EverySplitPointGivesTheSameCommands) {
  const std::string input = kPipeline;
  Commands whole = ParseAll(input);
  for (size_t cut = 1; cut < input.size(); ++cut) {
    EXPECT_EQ(ParseAll(input, {cut}), whole) << "cut at " << cut;
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(ParseAll(input, every_byte), whole);
}

TEST(RespParserTest, InlineCommands) {
  EXPECT_EQ(ParseAll("subscribe  a\tb\n\r\n\nping\r\n"),
            (Commands{{"subscribe", "a", "b"}, {"ping"}}));
}

TEST(RespParserTest, BinaryPayloadKeptExactly) {
  const std::string payload("a\r\nb\0c\xff\r\n", 9);
  const std::string input = "*2\r\n$4\r\nECHO\r\n$9\r\n" + payload + "\r\n";
  EXPECT_EQ(ParseAll(input), (Commands{{"ECHO", payload}}));
}

TEST(RespParserTest, EmptyMultibulkIsSkipped) {
  EXPECT_EQ(ParseAll("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"),
            (Commands{{"PING"}}));
}

TEST(RespParserTest, ReportsPartialCommand) {
  RespParser parser;
  std::vector<std::string> args;
  EXPECT_FALSE(parser.HasPartialCommand());
  parser.Feed("*2\r\n$4\r\nECHO\r\n$3\r\nab");
  EXPECT_FALSE(*parser.Next(&args));
  EXPECT_TRUE(parser.HasPartialCommand());
  parser.Feed("c\r\n");
  EXPECT_TRUE(*parser.Next(&args));
  EXPECT_THAT(args, ElementsAre("ECHO", "abc"));
  EXPECT_FALSE(parser.HasPartialCommand());
  parser.Feed("PI");
  EXPECT_FALSE(*parser.Next(&args));
  EXPECT_TRUE(parser.HasPartialCommand());
}

TEST(RespParserTest, LimitsAreProtocolErrors) {
  RespParserOptions options;
  options.max_arguments = 2;
  options.max_bulk_bytes = 4;
  options.max_inline_bytes = 8;
  EXPECT_EQ(ErrorOf("*3\r\n", options).message(),
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$5\r\n", options).message(),
            "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("PING 123456", options).message(),
            "Protocol error: too big inline request");
  EXPECT_TRUE(ErrorOf("*2\r\n$4\r\nPING\r\n$4\r\nabcd\r\n", options).ok());
}

TEST(RespParserTest, CommandBytesAreBounded) {
  RespParserOptions options;
  // "*2\r\n$4\r\nPING\r\n$4\r\nabcd\r\n" is 24 bytes.
  options.max_command_bytes = 24;
  EXPECT_TRUE(ErrorOf("*2\r\n$4\r\nPING\r\n$4\r\nabcd\r\n", options).ok());
  options.max_command_bytes = 23;
  // Refused when the bulk header announces it, before its bytes arrive.
  EXPECT_EQ(ErrorOf("*2\r\n$4\r\nPING\r\n$4\r\n", options).message(),
            "Protocol error: command too large");
  // The count restarts with every command.
  options.max_command_bytes = 14;
  EXPECT_TRUE(
      ErrorOf("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", options).ok());
}

TEST(RespParserTest, LimitsCanBeRaisedBetweenCommands) {
  RespParserOptions small;
  small.max_bulk_bytes = 2;
  RespParser parser(small);
  parser.Feed("*1\r\n$2\r\nhi\r\n*1\r\n$5\r\nhello\r\n");
  std::vector<std::string> args;
  ASSERT_TRUE(*parser.Next(&args));
  EXPECT_THAT(args, ElementsAre("hi"));
  parser.set_options(RespParserOptions());
  ASSERT_TRUE(*parser.Next(&args));
  EXPECT_THAT(args, ElementsAre("hello"));
}

TEST(RespParserTest, MalformedInputIsAProtocolError) {
  EXPECT_EQ(ErrorOf("*x\r\n").message(),
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*1\r\n+PING\r\n").message(),
            "Protocol error: expected '$', got '+'");
  EXPECT_EQ(ErrorOf("*1\r\n$-1\r\n").message(),
            "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$1 \r\n").message(),
            "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$2\r\nabc\r\n").message(),
            "Protocol error: expected CRLF after bulk string");
}

TEST(RespParserTest, ErrorIsSticky) {
  RespParser parser;
  parser.Feed("*x\r\n");
  std::vector<std::string> args;
  EXPECT_FALSE(parser.Next(&args).ok());
  parser.Feed("PING\r\n");
  EXPECT_FALSE(parser.Next(&args).ok());
}

TEST(RespEncodeTest, Elements) {
  std::string out;
  AppendSimpleString(&out, "OK");
  AppendError(&out, "ERR bad\r\nthing");
  AppendInteger(&out, -7);
  AppendBulkString(&out, std::string("a\0b", 3));
  AppendNull(&out, 2);
  AppendNull(&out, 3);
  AppendArrayHeader(&out, 2);
  EXPECT_EQ(out, std::string("+OK\r\n-ERR bad  thing\r\n:-7\r\n$3\r\na\0b\r\n"
                             "$-1\r\n_\r\n*2\r\n",
                             48));
}

TEST(RespEncodeTest, MapAndPushHeadersPerProtocol) {
  std::string out;
  AppendMapHeader(&out, 7, 3);
  AppendMapHeader(&out, 7, 2);
  AppendPushHeader(&out, 3, 3);
  AppendPushHeader(&out, 3, 2);
  EXPECT_EQ(out, "%7\r\n*14\r\n>3\r\n*3\r\n");
}

}  // namespace
}  // namespace cachemesh
