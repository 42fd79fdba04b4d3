// Tests for the java.util.Properties reader: syntax, escapes, line ends,
// ${VAR} substitution, errors, and hostile input.
#include "config/properties.h"

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kFile[] = "dhis.conf";

Environment NoEnvironment() { return FixedEnvironment({}); }

// Parses `text`, which must be valid.
PropertiesFile Parse(absl::string_view text,
                     const Environment& env = NoEnvironment()) {
  absl::StatusOr<PropertiesFile> file = ParseProperties(text, kFile, env);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : PropertiesFile();
}

// The value of `key` in valid `text`; "<missing>" when absent.
std::string ValueOf(absl::string_view text, absl::string_view key,
                    const Environment& env = NoEnvironment()) {
  const PropertiesFile file = Parse(text, env);
  const Property* property = file.Find(key);
  return property == nullptr ? "<missing>" : property->value;
}

// The error texts for `text`.
std::vector<std::string> Errors(absl::string_view text,
                                const Environment& env = NoEnvironment()) {
  std::vector<std::string> texts;
  for (const Diagnostic& error :
       ParsePropertiesCollectingErrors(text, kFile, env).errors) {
    texts.push_back(error.text);
  }
  return texts;
}

std::vector<std::string> Keys(const PropertiesFile& file) {
  std::vector<std::string> keys;
  for (const Property& property : file.properties) keys.push_back(property.key);
  return keys;
}

// --- Keys, separators, comments. ---

TEST(PropertiesTest, SeparatorsAreEqualsColonOrWhitespace) {
  const PropertiesFile file = Parse(
      "a = 1\n"
      "b:2\n"
      "c 3\n"
      "d\t=\t4\n"
      "e   :   5\n"
      "f=\n"
      "g\n"
      "h:=6\n"
      "i = = 7\n"
      "j    8 9\n");
  EXPECT_THAT(Keys(file),
              ElementsAre("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"));
  EXPECT_EQ(file.Find("a")->value, "1");
  EXPECT_EQ(file.Find("b")->value, "2");
  EXPECT_EQ(file.Find("c")->value, "3");
  EXPECT_EQ(file.Find("d")->value, "4");
  EXPECT_EQ(file.Find("e")->value, "5");
  EXPECT_EQ(file.Find("f")->value, "");
  EXPECT_EQ(file.Find("g")->value, "");
  EXPECT_EQ(file.Find("h")->value, "=6");  // Only one separator is skipped.
  EXPECT_EQ(file.Find("i")->value, "= 7");
  EXPECT_EQ(file.Find("j")->value, "8 9");
}

TEST(PropertiesTest, EscapedSeparatorsBelongToTheKey) {
  const PropertiesFile file = Parse(
      "a\\=b = 1\n"
      "c\\:d:2\n"
      "e\\ f 3\n"
      "g\\\\=4\n");
  EXPECT_THAT(Keys(file), ElementsAre("a=b", "c:d", "e f", "g\\"));
  EXPECT_EQ(file.Find("g\\")->value, "4");
}

TEST(PropertiesTest, EmptyKeyIsKept) {
  EXPECT_EQ(ValueOf("=value\n", ""), "value");
}

TEST(PropertiesTest, CommentsOnlyAtTheStartOfALine) {
  const PropertiesFile file = Parse(
      "# a comment = 1\n"
      "! another: 2\n"
      "   \t# indented comment\n"
      "key = value # not a comment\n"
      "other = #value\n"
      "bang = !value\n");
  EXPECT_THAT(Keys(file), ElementsAre("key", "other", "bang"));
  EXPECT_EQ(file.Find("key")->value, "value # not a comment");
  EXPECT_EQ(file.Find("other")->value, "#value");
  EXPECT_EQ(file.Find("bang")->value, "!value");
}

TEST(PropertiesTest, BlankLinesAreSkippedAndLinesCounted) {
  const PropertiesFile file = Parse("\n   \n\t\f\n# c\na = 1\n\n\nb = 2\n");
  ASSERT_THAT(file.properties, SizeIs(2));
  EXPECT_EQ(file.Find("a")->line, 5);
  EXPECT_EQ(file.Find("b")->line, 8);
}

TEST(PropertiesTest, ValuesAreTrimmedLikeJavaStringTrim) {
  EXPECT_EQ(ValueOf("key =   value \t \n", "key"), "value");
  EXPECT_EQ(ValueOf("key = a  b\n", "key"), "a  b");
  EXPECT_EQ(ValueOf("key = \v value \v\n", "key"), "value");
  // As in DHIS 2, trimming comes after decoding: escaped blanks go too.
  EXPECT_EQ(ValueOf("key = value\\ \n", "key"), "value");
  EXPECT_EQ(ValueOf("key = \\ value\\t\n", "key"), "value");
  EXPECT_EQ(ValueOf("key = \\u0000x\\u0001\n", "key"), "x");
  EXPECT_EQ(ValueOf("key = value\\\\ \n", "key"), "value\\");
  EXPECT_EQ(ValueOf("key = \\u00A0x\n", "key"), "\xC2\xA0x");  // Not ASCII.
}

// --- Continuation lines. ---

TEST(PropertiesTest, OddTrailingBackslashesContinueTheLine) {
  const PropertiesFile file = Parse(
      "list = a,\\\n"
      "       b,\\\n"
      "\t\t c\n"
      "next = 1\n");
  EXPECT_EQ(file.Find("list")->value, "a,b,c");
  EXPECT_EQ(file.Find("list")->line, 1);
  EXPECT_EQ(file.Find("next")->line, 4);
}

TEST(PropertiesTest, EvenTrailingBackslashesDoNotContinue) {
  const PropertiesFile file = Parse("a = x\\\\\nb = y\\\\\\\n z\n");
  EXPECT_EQ(file.Find("a")->value, "x\\");
  EXPECT_EQ(file.Find("b")->value, "y\\z");
}

TEST(PropertiesTest, ContinuationLineStartingWithHashIsNotAComment) {
  EXPECT_EQ(ValueOf("a = x\\\n  # y\n", "a"), "x# y");
}

TEST(PropertiesTest, CommentEndingInBackslashDoesNotContinue) {
  const PropertiesFile file = Parse("# comment \\\na = 1\n");
  EXPECT_THAT(Keys(file), ElementsAre("a"));
  EXPECT_EQ(file.Find("a")->line, 2);
}

TEST(PropertiesTest, EmptyContinuationLineEndsTheValue) {
  const PropertiesFile file = Parse("a = x\\\n\nb = 2\n");
  EXPECT_EQ(file.Find("a")->value, "x");
  EXPECT_EQ(file.Find("b")->value, "2");
}

TEST(PropertiesTest, ContinuationAtEndOfFileDropsTheBackslash) {
  EXPECT_EQ(ValueOf("a = x\\", "a"), "x");
  EXPECT_EQ(ValueOf("a = x\\\n", "a"), "x");
  EXPECT_EQ(ValueOf("a = x\\\n   ", "a"), "x");
}

TEST(PropertiesTest, ContinuationCanSplitTheKey) {
  EXPECT_EQ(ValueOf("clus\\\n   ter.hostname = h\n", "cluster.hostname"), "h");
}

// --- Escapes. ---

TEST(PropertiesTest, CharacterEscapes) {
  EXPECT_EQ(ValueOf("a = <\\t\\n\\r\\f|\\q\\\\\\=\\:\\#\\!\\$>\n", "a"),
            "<\t\n\r\f|q\\=:#!$>");
}

TEST(PropertiesTest, UnicodeEscapesBecomeUtf8) {
  EXPECT_EQ(ValueOf("a = \\u0041\\u00e9\\u00E9\\u20AC\n", "a"),
            "A\xC3\xA9\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(ValueOf("\\u006bey = v\n", "key"), "v");
}

TEST(PropertiesTest, SurrogatePairsBecomeOneCodePoint) {
  // U+1F600 GRINNING FACE.
  EXPECT_EQ(ValueOf("a = \\uD83D\\uDE00!\n", "a"), "\xF0\x9F\x98\x80!");
  // U+10FFFF, the last code point.
  EXPECT_EQ(ValueOf("a = \\udbff\\udfff\n", "a"), "\xF4\x8F\xBF\xBF");
}

TEST(PropertiesTest, NulEscapeAndRawNulAreKept) {
  EXPECT_EQ(ValueOf("a = x\\u0000y\n", "a"), std::string("x\0y", 3));
  EXPECT_EQ(ValueOf(std::string("a = x\0y\n", 8), "a"), std::string("x\0y", 3));
}

TEST(PropertiesTest, InvalidUnicodeEscapeIsAnErrorWithFileAndLine) {
  EXPECT_THAT(Errors("ok = 1\na = \\u12G4\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:2: a: "),
                                HasSubstr("invalid escape \"\\u12G4\""))));
  EXPECT_THAT(Errors("a = \\u12"),
              ElementsAre(StartsWith("dhis.conf:1: a: invalid escape")));
  EXPECT_THAT(Errors("a = \\u\n"),
              ElementsAre(StartsWith("dhis.conf:1: a: invalid escape")));
}

TEST(PropertiesTest, UnpairedSurrogatesAreErrors) {
  EXPECT_THAT(Errors("a = \\uD83D\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:1: a: "),
                                HasSubstr("unpaired UTF-16 surrogate"))));
  EXPECT_THAT(Errors("a = \\uD83Dx\\uDE00\n"),
              ElementsAre(HasSubstr("unpaired"), HasSubstr("unpaired")));
  EXPECT_THAT(Errors("a = \\uD83D\\u0041\n"),
              ElementsAre(HasSubstr("unpaired")));
}

TEST(PropertiesTest, InvalidEscapeInKeyDropsTheEntry) {
  const ParsedProperties parsed = ParsePropertiesCollectingErrors(
      "b\\uXYZW = 1\nc = 2\n", kFile, NoEnvironment());
  ASSERT_THAT(parsed.errors, SizeIs(1));
  EXPECT_THAT(parsed.errors[0].text,
              StartsWith("dhis.conf:1: key \"b\\uXYZW\": invalid escape"));
  EXPECT_EQ(parsed.errors[0].line, 1);
  EXPECT_THAT(Keys(parsed.file), ElementsAre("c"));
}

TEST(PropertiesTest, MalformedValueIsFlagged) {
  const ParsedProperties parsed = ParsePropertiesCollectingErrors(
      "a = \\uXYZW\nb = fine\n", kFile, NoEnvironment());
  EXPECT_TRUE(parsed.file.Find("a")->malformed);
  EXPECT_FALSE(parsed.file.Find("b")->malformed);
}

TEST(PropertiesTest, EveryErrorIsReportedInLineOrder) {
  const absl::StatusOr<PropertiesFile> file =
      ParseProperties("a = \\u1\nb = ok\nc = \\uD800\nd = ${MISSING}\n", kFile,
                      NoEnvironment());
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> lines =
      absl::StrSplit(file.status().message(), '\n');
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], StartsWith("dhis.conf:1: a: "));
  EXPECT_THAT(lines[1], StartsWith("dhis.conf:3: c: "));
  EXPECT_THAT(lines[2], StartsWith("dhis.conf:4: d: "));
}

// --- Line ends, BOM, final newline. ---

TEST(PropertiesTest, CrLfAndLoneCrEndLines) {
  const PropertiesFile file =
      Parse("a = 1\r\nb = 2\rc = 3\n\r\nd = 4\r\re = x\\\r\n  y\r");
  EXPECT_THAT(Keys(file), ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_EQ(file.Find("a")->value, "1");
  EXPECT_EQ(file.Find("b")->line, 2);
  EXPECT_EQ(file.Find("c")->line, 3);
  EXPECT_EQ(file.Find("d")->line, 5);
  EXPECT_EQ(file.Find("e")->line, 7);
  EXPECT_EQ(file.Find("e")->value, "xy");
}

TEST(PropertiesTest, Utf8ByteOrderMarkIsSkipped) {
  const PropertiesFile file = Parse(
      "\xEF\xBB\xBF"
      "key = v\n");
  EXPECT_THAT(Keys(file), ElementsAre("key"));
  EXPECT_EQ(file.Find("key")->line, 1);
}

TEST(PropertiesTest, OnlyALeadingBomIsSkipped) {
  EXPECT_THAT(Keys(Parse("a = 1\n\xEF\xBB\xBF"
                         "b = 2\n")),
              ElementsAre("a",
                          "\xEF\xBB\xBF"
                          "b"));
}

TEST(PropertiesTest, NoFinalNewline) {
  EXPECT_EQ(ValueOf("a = 1\nb = last", "b"), "last");
}

TEST(PropertiesTest, EmptyInput) {
  EXPECT_THAT(Parse("").properties, IsEmpty());
  EXPECT_THAT(Parse("\xEF\xBB\xBF").properties, IsEmpty());
  EXPECT_THAT(Parse("\n\r\n\r").properties, IsEmpty());
}

TEST(PropertiesTest, Utf8TextPassesThrough) {
  EXPECT_EQ(ValueOf("name = Sør-Trøndelag ✓\n", "name"), "Sør-Trøndelag ✓");
}

// --- Duplicates. ---

TEST(PropertiesTest, LastDuplicateWinsWithAWarningNamingBothLines) {
  const PropertiesFile file = Parse("a = 1\nb = x\na = 2\n");
  EXPECT_THAT(Keys(file), ElementsAre("a", "b"));
  EXPECT_EQ(file.Find("a")->value, "2");
  EXPECT_EQ(file.Find("a")->line, 3);
  ASSERT_THAT(file.warnings, SizeIs(1));
  EXPECT_THAT(file.warnings[0], StartsWith("dhis.conf:3: duplicate key a"));
  EXPECT_THAT(file.warnings[0], HasSubstr("line 1"));
}

TEST(PropertiesTest, EveryDuplicateIsWarned) {
  const PropertiesFile file = Parse("a = 1\na = 2\na = 3\n");
  EXPECT_EQ(file.Find("a")->value, "3");
  EXPECT_THAT(
      file.warnings,
      ElementsAre(AllOf(StartsWith("dhis.conf:2:"), HasSubstr("line 1")),
                  AllOf(StartsWith("dhis.conf:3:"), HasSubstr("line 2"))));
}

// --- ${VAR} substitution. ---

TEST(PropertiesTest, SubstitutesSetVariables) {
  const Environment env = FixedEnvironment({{"HOST", "10.0.0.5"}, {"P", "4"}});
  const PropertiesFile file = Parse("a = tcp://${HOST}:400${P}/x\n", env);
  const Property& a = *file.Find("a");
  EXPECT_EQ(a.value, "tcp://10.0.0.5:4004/x");
  ASSERT_THAT(a.substitutions, SizeIs(2));
  EXPECT_EQ(a.substitutions[0].variable, "HOST");
  EXPECT_TRUE(a.substitutions[0].from_environment);
  EXPECT_EQ(a.substitutions[1].variable, "P");
}

TEST(PropertiesTest, DefaultIsUsedOnlyWhenUnset) {
  const Environment env = FixedEnvironment({{"EMPTY", ""}, {"SET", "s"}});
  EXPECT_EQ(ValueOf("a = ${UNSET:-fallback}\n", "a", env), "fallback");
  EXPECT_EQ(ValueOf("a = ${SET:-fallback}\n", "a", env), "s");
  // As in DHIS 2 (Apache Commons Text), unlike the shell's :-.
  EXPECT_EQ(ValueOf("a = ${EMPTY:-fallback}\n", "a", env), "");
  EXPECT_EQ(ValueOf("a = ${UNSET:-}\n", "a", env), "");
  EXPECT_EQ(ValueOf("a = ${EMPTY}\n", "a", env), "");
  const PropertiesFile file = Parse("a = ${UNSET:-x}${EMPTY:-y}\n", env);
  ASSERT_THAT(file.Find("a")->substitutions, SizeIs(2));
  EXPECT_FALSE(file.Find("a")->substitutions[0].from_environment);
  EXPECT_TRUE(file.Find("a")->substitutions[1].from_environment);
}

TEST(PropertiesTest, DefaultsAreReadAfterEscapes) {
  EXPECT_EQ(ValueOf("a = ${U:-x\\u0041\\:y}\n", "a"), "xA:y");
  EXPECT_EQ(ValueOf("a = ${U:-http://h:80/p?q=1}\n", "a"), "http://h:80/p?q=1");
  // As in Java, an escaped `}` is a `}` by the time the default is read, so
  // it ends the default.
  EXPECT_EQ(ValueOf("a = ${U:-x\\}y\\u0041}z\n", "a"), "xyA}z");
  EXPECT_EQ(ValueOf("a = ${U\\:-x\\u007d}\n", "a"), "x}");
}

TEST(PropertiesTest, UnsetVariableIsAnErrorNamingFileLineAndVariable) {
  EXPECT_THAT(Errors("\n\na = x${NOT_THERE}y\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:3: a: "),
                                HasSubstr("${NOT_THERE} is not set"))));
}

TEST(PropertiesTest, EveryUnsetVariableOnALineIsReported) {
  EXPECT_THAT(Errors("a = ${A}:${B}\n"),
              ElementsAre(HasSubstr("${A}"), HasSubstr("${B}")));
}

// java.util.Properties unescapes the value before DHIS 2 substitutes in it,
// so `$`, `{` and `}` written as escapes are expanded like literal ones.
TEST(PropertiesTest, EscapedDollarAndBracesExpandLikeLiteralOnes) {
  const Environment env = FixedEnvironment({{"HOME", "/root"}});
  for (absl::string_view text :
       {"a = \\${HOME}\n", "a = $\\{HOME}\n", "a = ${HOME\\}\n",
        "a = \\$\\{HOME\\}\n", "a = \\u0024{HOME}\n",
        "a = \\u0024\\u007bHOME\\u007d\n", "a = \\u0024\\u007BHOME\\u007D\n",
        "a = \\u0024{\\u0048OME}\n", "a = \\u0024{HOME\\\n    }\n"}) {
    const PropertiesFile file = Parse(text, env);
    const Property* a = file.Find("a");
    ASSERT_NE(a, nullptr) << text;
    EXPECT_EQ(a->value, "/root") << text;
    ASSERT_THAT(a->substitutions, SizeIs(1)) << text;
    EXPECT_EQ(a->substitutions[0].variable, "HOME") << text;
    EXPECT_TRUE(a->substitutions[0].from_environment) << text;
  }
  EXPECT_EQ(ValueOf("a = \\u0024{UNSET:-d}\\u0024{HOME:-d}\n", "a", env),
            "d/root");
  EXPECT_EQ(ValueOf("a = \\u0024{UNSET\\u003a\\u002dd\\u007d\n", "a", env),
            "d");
}

TEST(PropertiesTest, EscapedUnsetVariableIsAnErrorLikeALiteralOne) {
  EXPECT_THAT(Errors("\na = x\\u0024{NOT_THERE}y\nb = \\$\\{ALSO_NOT\\}\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:2: a: "),
                                HasSubstr("${NOT_THERE} is not set")),
                          AllOf(StartsWith("dhis.conf:3: b: "),
                                HasSubstr("${ALSO_NOT} is not set"))));
}

TEST(PropertiesTest, EscapedMalformedReferencesAreErrors) {
  for (absl::string_view bad :
       {"a = \\u0024{\n", "a = \\${A\n", "a = $\\{}\n", "a = \\u0024{1A}\n",
        "a = ${A:-\\u0024{B}}\n", "a = \\u0024\\u007bA B}\n"}) {
    EXPECT_THAT(Errors(bad), ElementsAre(AllOf(StartsWith("dhis.conf:1: a: "),
                                               HasSubstr("${"))))
        << bad;
  }
}

// StrSubstitutor's own escape, $${, is also read after unescaping.
TEST(PropertiesTest, EscapedDoubleDollarIsLiteral) {
  const Environment env = FixedEnvironment({{"HOME", "/root"}});
  for (absl::string_view text :
       {"a = \\$${HOME}\n", "a = $\\${HOME}\n", "a = \\$\\$\\{HOME\\}\n",
        "a = \\u0024${HOME}\n", "a = \\u0024\\u0024\\u007bHOME\\u007d\n"}) {
    const PropertiesFile file = Parse(text, env);
    const Property* a = file.Find("a");
    ASSERT_NE(a, nullptr) << text;
    EXPECT_EQ(a->value, "${HOME}") << text;
    EXPECT_THAT(a->substitutions, IsEmpty()) << text;
  }
  // The escape is not expanded either when its variable is unset.
  EXPECT_EQ(ValueOf("a = \\u0024\\u0024{UNSET} \\$${HOME}\n", "a", env),
            "${UNSET} ${HOME}");
}

TEST(PropertiesTest, DoubleDollarIsLiteralAsInDhis2) {
  const Environment env = FixedEnvironment({{"HOME", "/root"}});
  EXPECT_EQ(ValueOf("a = $${HOME} ${HOME}\n", "a", env), "${HOME} /root");
  EXPECT_EQ(ValueOf("a = $$ $$x\n", "a", env), "$$ $$x");
}

TEST(PropertiesTest, DollarWithoutBraceIsLiteral) {
  EXPECT_EQ(ValueOf("a = $HOME $ 5$ $$\n", "a"), "$HOME $ 5$ $$");
}

TEST(PropertiesTest, SubstitutedTextIsNotDecodedOrExpandedAgain) {
  const Environment env =
      FixedEnvironment({{"A", "${B}\\t"}, {"B", "no"}, {"S", "  spaced  "}});
  EXPECT_EQ(ValueOf("a = ${A}\n", "a", env), "${B}\\t");
  EXPECT_EQ(ValueOf("a = <${S}>\n", "a", env), "<  spaced  >");
}

TEST(PropertiesTest, ExpandedValuesAreTrimmed) {
  const Environment env = FixedEnvironment({{"S", "  spaced\n"}});
  EXPECT_EQ(ValueOf("a = ${S}\n", "a", env), "spaced");
}

TEST(PropertiesTest, MalformedReferencesAreErrors) {
  for (absl::string_view bad :
       {"a = ${\n", "a = ${A\n", "a = ${}\n", "a = ${1A}\n", "a = ${A-x}\n",
        "a = ${A:-x\n", "a = ${A:-${B}}\n", "a = ${A B}\n"}) {
    EXPECT_THAT(Errors(bad), ElementsAre(StartsWith("dhis.conf:1: a: ")))
        << bad;
  }
}

TEST(PropertiesTest, KeysAreNeverExpanded) {
  const Environment env = FixedEnvironment({{"K", "x"}});
  EXPECT_EQ(ValueOf("${K} = 1\n", "${K}", env), "1");
}

TEST(PropertiesTest, ExpansionCanBeLimitedToSomeKeys) {
  ParseOptions options;
  options.expands_variables = [](absl::string_view key) {
    return key == "mine";
  };
  const absl::StatusOr<PropertiesFile> file =
      ParseProperties("mine = ${V}\nother = p${ss\\${x}$${y}\n", kFile,
                      FixedEnvironment({{"V", "v"}}), options);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->Find("mine")->value, "v");
  EXPECT_EQ(file->Find("other")->value, "p${ss${x}$${y}");
}

// Only cluster.* and cachemesh.* values expand in cachemesh; escapes that
// make `${` expand there and stay text everywhere else.
TEST(PropertiesTest, EscapedDollarExpandsOnlyInExpandingKeys) {
  ParseOptions options;
  options.expands_variables = [](absl::string_view key) {
    return absl::StartsWith(key, "cluster.") ||
           absl::StartsWith(key, "cachemesh.");
  };
  const absl::StatusOr<PropertiesFile> file = ParseProperties(
      "# header\n"
      "cluster.hostname = \\u0024{HOST}\n"
      "connection.url = \\u0024{HOST}|\\$\\{UNSET\\}|\\u0024\\u0024{HOST}\n"
      "\n"
      "cachemesh.cluster.name = a\\\n"
      "    \\${PREFIX:-p}-\\$\\{HOST\\}|\\u0024${HOST}\n"
      "\\u0024{HOST} = \\u0024{HOST}\n",
      kFile, FixedEnvironment({{"HOST", "10.0.0.5"}}), options);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_THAT(Keys(*file), ElementsAre("cluster.hostname", "connection.url",
                                       "cachemesh.cluster.name", "${HOST}"));

  const Property& hostname = *file->Find("cluster.hostname");
  EXPECT_EQ(hostname.value, "10.0.0.5");
  EXPECT_EQ(hostname.line, 2);
  ASSERT_THAT(hostname.substitutions, SizeIs(1));
  EXPECT_EQ(hostname.substitutions[0].variable, "HOST");
  EXPECT_TRUE(hostname.substitutions[0].from_environment);

  const Property& url = *file->Find("connection.url");
  EXPECT_EQ(url.value, "${HOST}|${UNSET}|$${HOST}");
  EXPECT_EQ(url.line, 3);
  EXPECT_THAT(url.substitutions, IsEmpty());

  const Property& name = *file->Find("cachemesh.cluster.name");
  EXPECT_EQ(name.value, "ap-10.0.0.5|${HOST}");
  EXPECT_EQ(name.line, 5);
  ASSERT_THAT(name.substitutions, SizeIs(2));
  EXPECT_EQ(name.substitutions[0].variable, "PREFIX");
  EXPECT_FALSE(name.substitutions[0].from_environment);
  EXPECT_EQ(name.substitutions[1].variable, "HOST");
  EXPECT_TRUE(name.substitutions[1].from_environment);

  const Property& key = *file->Find("${HOST}");
  EXPECT_EQ(key.value, "${HOST}");
  EXPECT_EQ(key.line, 7);
}

// --- Hostile input. ---

TEST(PropertiesTest, OneMegabyteLine) {
  const std::string big(1 << 20, 'v');
  EXPECT_EQ(ValueOf(absl::StrCat("k = ", big, "\n"), "k"), big);
  const std::string big_key(1 << 20, 'k');
  EXPECT_EQ(ValueOf(absl::StrCat(big_key, "=1"), big_key), "1");
}

TEST(PropertiesTest, OneMegabyteOfEscapes) {
  std::string escapes;
  for (int i = 0; i < (1 << 18); ++i) escapes.append("\\u0041");
  EXPECT_EQ(ValueOf(absl::StrCat("k = ", escapes), "k"),
            std::string(1 << 18, 'A'));
  // 2^20 backslashes: an even run, so no continuation; half survive.
  const std::string backslashes(1 << 20, '\\');
  EXPECT_EQ(ValueOf(absl::StrCat("k = ", backslashes, "\nz = 1"), "k"),
            std::string(1 << 19, '\\'));
}

TEST(PropertiesTest, OneMegabyteOfContinuations) {
  std::string text = "k = ";
  for (int i = 0; i < (1 << 18); ++i) text.append("x\\\n");
  text.append("end\nnext = 1\n");
  const PropertiesFile file = Parse(text);
  EXPECT_EQ(file.Find("k")->value, std::string(1 << 18, 'x') + "end");
  EXPECT_EQ(file.Find("next")->line, (1 << 18) + 2);
}

TEST(PropertiesTest, OneMegabyteOfBareBackslashLines) {
  // Each line is a single backslash joining the next one.
  std::string text = "k = ";
  for (int i = 0; i < (1 << 19); ++i) text.append("\\\n");
  text.append("v\n");
  EXPECT_EQ(ValueOf(text, "k"), "v");
}

TEST(PropertiesTest, OneMegabyteOfDollarBraces) {
  std::string text = "k = ";
  for (int i = 0; i < (1 << 19); ++i) text.append("${");
  EXPECT_THAT(Errors(text), SizeIs(1));
}

TEST(PropertiesTest, OneMegabyteOfEscapedReferences) {
  std::string text = "k = ";
  for (int i = 0; i < (1 << 16); ++i) text.append("\\u0024\\u007bV\\u007d");
  EXPECT_EQ(ValueOf(text, "k", FixedEnvironment({{"V", "v"}})),
            std::string(1 << 16, 'v'));
  text = "k = ";
  for (int i = 0; i < (1 << 17); ++i) text.append("\\$\\{");
  EXPECT_THAT(Errors(text), SizeIs(1));
  text = "k = ";
  std::string literal;
  for (int i = 0; i < (1 << 17); ++i) {
    text.append("\\$${");
    literal.append("${");
  }
  EXPECT_EQ(ValueOf(text, "k"), literal);
}

TEST(PropertiesTest, ManyLinesAndKeys) {
  std::string text;
  for (int i = 0; i < 100000; ++i)
    absl::StrAppend(&text, "key", i, " = ", i, "\n");
  const PropertiesFile file = Parse(text);
  ASSERT_THAT(file.properties, SizeIs(100000));
  EXPECT_EQ(file.properties[99999].value, "99999");
}

// Random bytes must give entries or errors: never a crash or a hang.
TEST(PropertiesTest, RandomBytesNeverCrash) {
  std::mt19937 random(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 600);
  const Environment env = FixedEnvironment({{"A", "a"}});
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text(length(random), '\0');
    for (char& c : text) c = static_cast<char>(byte(random));
    const ParsedProperties parsed =
        ParsePropertiesCollectingErrors(text, "fuzz.conf", env);
    for (const Diagnostic& error : parsed.errors) {
      ASSERT_THAT(error.text, StartsWith("fuzz.conf:"));
      ASSERT_GE(error.line, 1);
    }
    for (const Property& property : parsed.file.properties) {
      ASSERT_GE(property.line, 1);
    }
  }
}

// Random text made of the characters the grammar cares about.
TEST(PropertiesTest, RandomSyntaxNeverCrashes) {
  std::string alphabet = "\\\\\\u{}$:-=: \t\f\r\n#!aZ09DdEe";
  alphabet.push_back('\0');
  std::mt19937 random(7);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 300);
  const Environment env = FixedEnvironment({{"a", "x"}, {"aZ", ""}});
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string text(length(random), ' ');
    for (char& c : text) c = alphabet[pick(random)];
    const ParsedProperties parsed =
        ParsePropertiesCollectingErrors(text, "fuzz.conf", env);
    for (const Diagnostic& error : parsed.errors) {
      ASSERT_THAT(error.text,
                  StartsWith(absl::StrCat("fuzz.conf:", error.line, ": ")));
    }
  }
}

// --- Files and messages. ---

std::string TempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

TEST(PropertiesTest, LoadsAFile) {
  const std::string path = TempPath("load.conf");
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("a = ${X}\n", file);
  std::fclose(file);
  const absl::StatusOr<PropertiesFile> loaded =
      LoadPropertiesFile(path, FixedEnvironment({{"X", "1"}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->file_name, path);
  EXPECT_EQ(loaded->Find("a")->value, "1");
}

TEST(PropertiesTest, ErrorsInALoadedFileNameIt) {
  const std::string path = TempPath("bad.conf");
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("\na = \\uXXXX\n", file);
  std::fclose(file);
  const absl::StatusOr<PropertiesFile> loaded =
      LoadPropertiesFile(path, NoEnvironment());
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()),
              StartsWith(absl::StrCat(path, ":2: a: ")));
}

TEST(PropertiesTest, UnreadableFileNamesTheFileAndTheReason) {
  const std::string missing = TempPath("does-not-exist.conf");
  const absl::StatusOr<PropertiesFile> loaded =
      LoadPropertiesFile(missing, NoEnvironment());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            absl::StrCat(missing, ": cannot read: No such file or directory"));
  const absl::StatusOr<std::string> directory = ReadTextFile(TempPath(""));
  ASSERT_FALSE(directory.ok());
  EXPECT_THAT(std::string(directory.status().message()),
              HasSubstr(": cannot read: Is a directory"));
}

TEST(PropertiesTest, EndlessFileIsRefused) {
  const absl::StatusOr<std::string> endless = ReadTextFile("/dev/zero");
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.status().message(),
            "/dev/zero: cannot read: larger than 67108864 bytes");
}

TEST(PropertiesTest, ProcessEnvironmentReadsTheRealEnvironment) {
  ASSERT_EQ(setenv("CACHEMESH_PROPERTIES_TEST", "yes", 1), 0);
  const Environment env = ProcessEnvironment();
  EXPECT_EQ(env("CACHEMESH_PROPERTIES_TEST"), "yes");
  EXPECT_EQ(env("CACHEMESH_PROPERTIES_TEST_UNSET"), std::nullopt);
}

TEST(PropertiesTest, QuoteForMessageEscapesAndTruncates) {
  EXPECT_EQ(QuoteForMessage("a\"b\x01\\"), "\"a\\\"b\\x01\\\"");
  EXPECT_EQ(QuoteForMessage(std::string(100, 'x')),
            absl::StrCat("\"", std::string(80, 'x'), "\"..."));
}

TEST(PropertiesTest, KeyForMessageQuotesOnlyOddKeys) {
  EXPECT_EQ(KeyForMessage("cluster.hostname"), "cluster.hostname");
  EXPECT_EQ(KeyForMessage(""), "\"\"");
  EXPECT_EQ(KeyForMessage("a b"), "\"a b\"");
  EXPECT_EQ(KeyForMessage(std::string("a\0", 2)), "\"a\\x00\"");
}

}  // namespace
}  // namespace cachemesh
