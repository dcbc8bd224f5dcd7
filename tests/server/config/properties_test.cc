#include "server/config/properties.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/config/config_entry.h"

namespace runnel::server {
namespace {

// Parses text that must hold exactly one entry.
property only(std::string_view text) {
    auto props = parse_properties(text);
    EXPECT_EQ(props.size(), 1u) << text;
    return props.empty() ? property{} : props[0];
}

TEST(PropertiesTest, Separators) {
    EXPECT_EQ(only("a=b"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a:b"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a b"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a\tb"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a\fb"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a = b"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a  :   b"), (property{"a", "b", 1}));
    EXPECT_EQ(only("a \t= \tb"), (property{"a", "b", 1}));
    // Only the first separator counts; the rest belongs to the value.
    EXPECT_EQ(only("a=b=c").value, "b=c");
    EXPECT_EQ(only("a==b").value, "=b");
    EXPECT_EQ(only("a:=b").value, "=b");
    EXPECT_EQ(only("a = = b").value, "= b");
    EXPECT_EQ(only("a b = c").value, "b = c");
    EXPECT_EQ(only("url=http://host:80/x").value, "http://host:80/x");
}

TEST(PropertiesTest, WhitespaceAroundKeysAndValues) {
    EXPECT_EQ(only("   a=b"), (property{"a", "b", 1}));
    EXPECT_EQ(only("\t\f a=b"), (property{"a", "b", 1}));
    // Trailing whitespace of a value is kept, as in Java.
    EXPECT_EQ(only("a=b  ").value, "b  ");
    // An escaped blank keeps leading whitespace in a value.
    EXPECT_EQ(only("a=\\  b").value, "  b");
}

TEST(PropertiesTest, KeysWithoutValues) {
    EXPECT_EQ(only("key"), (property{"key", "", 1}));
    EXPECT_EQ(only("key="), (property{"key", "", 1}));
    EXPECT_EQ(only("key:"), (property{"key", "", 1}));
    EXPECT_EQ(only("key   "), (property{"key", "", 1}));
    EXPECT_EQ(only("=value"), (property{"", "value", 1}));
}

TEST(PropertiesTest, CommentsAndBlankLines) {
    auto props = parse_properties(
        "# comment\n"
        "! also a comment\n"
        "   # indented comment\n"
        "\t! indented too\n"
        "\n"
        "   \t \n"
        "a=b # not a comment\n"
        "c=d!e\n");
    ASSERT_EQ(props.size(), 2u);
    EXPECT_EQ(props[0], (property{"a", "b # not a comment", 7}));
    EXPECT_EQ(props[1], (property{"c", "d!e", 8}));
}

TEST(PropertiesTest, CommentsDoNotContinue) {
    auto props = parse_properties("# comment ending in backslash \\\nkey=value\n");
    ASSERT_EQ(props.size(), 1u);
    EXPECT_EQ(props[0], (property{"key", "value", 2}));
}

TEST(PropertiesTest, Escapes) {
    EXPECT_EQ(only("a=x\\ty").value, "x\ty");
    EXPECT_EQ(only("a=x\\ny").value, "x\ny");
    EXPECT_EQ(only("a=x\\ry").value, "x\ry");
    EXPECT_EQ(only("a=x\\fy").value, "x\fy");
    EXPECT_EQ(only("a=C:\\\\dir").value, "C:\\dir");
    // A backslash before any other character yields that character.
    EXPECT_EQ(only("a=\\q\\#\\!\\=\\:").value, "q#!=:");
    EXPECT_EQ(only("a=\\b").value, "b");
}

TEST(PropertiesTest, EscapedSeparatorsInKeys) {
    EXPECT_EQ(only("my\\=key=value"), (property{"my=key", "value", 1}));
    EXPECT_EQ(only("my\\:key:value"), (property{"my:key", "value", 1}));
    EXPECT_EQ(only("my\\ key value"), (property{"my key", "value", 1}));
    EXPECT_EQ(only("\\#not-a-comment=1"), (property{"#not-a-comment", "1", 1}));
    EXPECT_EQ(only("\\!bang=2"), (property{"!bang", "2", 1}));
    // An escaped backslash does not escape the separator after it.
    EXPECT_EQ(only("a\\\\=b"), (property{"a\\", "b", 1}));
}

TEST(PropertiesTest, UnicodeEscapes) {
    EXPECT_EQ(only("a=\\u0041").value, "A");
    EXPECT_EQ(only("a=\\u00e9\\u00E9").value, "\xC3\xA9\xC3\xA9");
    EXPECT_EQ(only("a=\\u20AC").value, "\xE2\x82\xAC");
    EXPECT_EQ(only("\\u006by=v").key, "ky");
    // A surrogate pair becomes one code point.
    EXPECT_EQ(only("a=\\uD83D\\uDE00").value, "\xF0\x9F\x98\x80");
    // Lone surrogates become U+FFFD.
    EXPECT_EQ(only("a=\\uD83Dx").value, "\xEF\xBF\xBDx");
    EXPECT_EQ(only("a=\\uDE00").value, "\xEF\xBF\xBD");
    // Raw UTF-8 passes through.
    EXPECT_EQ(only("a=caf\xC3\xA9").value, "caf\xC3\xA9");
}

TEST(PropertiesTest, MalformedUnicodeEscapeThrows) {
    EXPECT_THROW(parse_properties("a=\\u12"), config_error);
    EXPECT_THROW(parse_properties("a=\\u12G4"), config_error);
    try {
        parse_properties("ok=1\nbad=\\uZZZZ\n", "etc/x.properties");
        FAIL() << "expected config_error";
    } catch (const config_error& e) {
        EXPECT_STREQ(e.what(), "etc/x.properties:2: malformed \\uxxxx encoding");
    }
}

TEST(PropertiesTest, LineContinuation) {
    auto props = parse_properties(
        "fruits = apple, banana, \\\n"
        "         pear, \\\n"
        "         cantaloupe\n"
        "next=1\n");
    ASSERT_EQ(props.size(), 2u);
    EXPECT_EQ(props[0], (property{"fruits", "apple, banana, pear, cantaloupe", 1}));
    EXPECT_EQ(props[1], (property{"next", "1", 4}));
}

TEST(PropertiesTest, ContinuationNeedsAnOddNumberOfBackslashes) {
    auto even = parse_properties("a=x\\\\\nb=y\n");
    ASSERT_EQ(even.size(), 2u);
    EXPECT_EQ(even[0].value, "x\\");
    EXPECT_EQ(even[1], (property{"b", "y", 2}));

    auto odd = parse_properties("a=x\\\\\\\n  y\n");
    ASSERT_EQ(odd.size(), 1u);
    EXPECT_EQ(odd[0].value, "x\\y");
}

TEST(PropertiesTest, ContinuationEdgeCases) {
    // A continued line starting with '#' is data, not a comment.
    EXPECT_EQ(only("a=b\\\n#c").value, "b#c");
    // The key itself may be continued.
    EXPECT_EQ(only("lo\\\n  ng=v"), (property{"long", "v", 1}));
    // A trailing backslash at the end of the text is dropped.
    EXPECT_EQ(only("a=b\\").value, "b");
    EXPECT_EQ(only("a=b\\\n").value, "b");
    // A blank line after a continuation ends the logical line.
    auto props = parse_properties("a=b\\\n\nc=d\n");
    ASSERT_EQ(props.size(), 2u);
    EXPECT_EQ(props[0], (property{"a", "b", 1}));
    EXPECT_EQ(props[1], (property{"c", "d", 3}));
}

TEST(PropertiesTest, LineEndings) {
    auto crlf = parse_properties("a=1\r\nb=2\\\r\n  3\r\n\r\nc=4");
    ASSERT_EQ(crlf.size(), 3u);
    EXPECT_EQ(crlf[0], (property{"a", "1", 1}));
    EXPECT_EQ(crlf[1], (property{"b", "23", 2}));
    EXPECT_EQ(crlf[2], (property{"c", "4", 5}));

    auto cr = parse_properties("a=1\rb=2\\\r 3\rc=4\r");
    ASSERT_EQ(cr.size(), 3u);
    EXPECT_EQ(cr[1], (property{"b", "23", 2}));
    EXPECT_EQ(cr[2], (property{"c", "4", 4}));
}

TEST(PropertiesTest, DuplicatesKeepFileOrderAndLaterWinsInMap) {
    auto props = parse_properties("a=1\nb=2\na=3\n");
    ASSERT_EQ(props.size(), 3u);
    EXPECT_EQ(props[0], (property{"a", "1", 1}));
    EXPECT_EQ(props[2], (property{"a", "3", 3}));
    auto m = to_map(props);
    EXPECT_EQ(m.size(), 2u);
    EXPECT_EQ(m["a"], "3");
    EXPECT_EQ(m["b"], "2");
}

TEST(PropertiesTest, EmptyTextAndByteOrderMark) {
    EXPECT_TRUE(parse_properties("").empty());
    EXPECT_TRUE(parse_properties("\n\n# only comments\n").empty());
    EXPECT_EQ(only("\xEF\xBB\xBF"
                   "a=b"),
              (property{"a", "b", 1}));
}

class PropertiesFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        path_ = (std::filesystem::temp_directory_path() /
                 ("runnel_props_" + std::to_string(::getpid()) + ".properties"))
                    .string();
    }
    void TearDown() override { std::filesystem::remove(path_); }
    std::string path_;
};

TEST_F(PropertiesFileTest, LoadsFile) {
    std::ofstream(path_) << "# server\nbroker.id=3\nlog.dirs = /a,/b\n";
    auto props = load_properties_file(path_);
    ASSERT_EQ(props.size(), 2u);
    EXPECT_EQ(props[0], (property{"broker.id", "3", 2}));
    EXPECT_EQ(props[1], (property{"log.dirs", "/a,/b", 3}));
}

TEST_F(PropertiesFileTest, MissingFileNamesIt) {
    try {
        load_properties_file(path_ + ".missing");
        FAIL() << "expected config_error";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find(path_ + ".missing"), std::string::npos) << e.what();
    }
}

TEST_F(PropertiesFileTest, DirectoryIsRejected) {
    EXPECT_THROW(load_properties_file(std::filesystem::temp_directory_path().string()),
                 config_error);
}

TEST_F(PropertiesFileTest, MalformedEscapeNamesFileAndLine) {
    std::ofstream(path_) << "a=1\n\nb=\\u00\n";
    try {
        load_properties_file(path_);
        FAIL() << "expected config_error";
    } catch (const config_error& e) {
        EXPECT_EQ(std::string(e.what()), path_ + ":3: malformed \\uxxxx encoding");
    }
}

}  // namespace
}  // namespace runnel::server
