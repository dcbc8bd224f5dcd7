#include "streams/records/json_text.h"

#include <gtest/gtest.h>

namespace runnel::streams {
namespace {

// The fast paths write exactly what nlohmann::json writes, and read back what they wrote.
TEST(JsonTextTest, SameTextAsTheGeneralPathAndBackAgain) {
    const json samples[] = {
        "#tag",        "", "with \"quotes\"", "back\\slash",  "tab\there",
        "caf\xc3\xa9", 42, nullptr,           json{{"a", 1}}, json::array({1, "x"})};
    for (const auto& v : samples) {
        EXPECT_EQ(group_key_text(v), json::array({v}).dump()) << v.dump();
        for (const auto& k : {json(nullptr), json("k"), json(7)}) {
            const std::string text = pair_text(k, v);
            EXPECT_EQ(text, json::array({k, v}).dump()) << text;
            json key, value;
            ASSERT_TRUE(parse_pair(text, key, value)) << text;
            EXPECT_EQ(key, k);
            EXPECT_EQ(value, v);
        }
    }
    json key, value;
    EXPECT_FALSE(parse_pair("[1]", key, value));
    EXPECT_FALSE(parse_pair("not json", key, value));
    EXPECT_FALSE(parse_pair("[null,\"open]", key, value));
}

}  // namespace
}  // namespace runnel::streams
