// Every message at every version: a sample with every field of that version set survives
// encode → decode → encode with identical bytes and an equal struct.
#define RUNNEL_PROTOCOL_SAMPLES
#include <gtest/gtest.h>

#include <tuple>

#include "protocol/messages/api_table.h"
#include "protocol/messages/group_metadata_key.h"
#include "protocol/messages/group_metadata_value.h"
#include "protocol/messages/offset_commit_key.h"
#include "protocol/messages/offset_commit_value.h"
#include "protocol/messages/producer_snapshot.h"
#include "protocol/messages/transaction_log_key.h"
#include "protocol/messages/transaction_log_value.h"

namespace runnel::protocol::msg {
namespace {

template <class T>
void expect_round_trip(const char* what, int16_t version) {
    T original;
    int seed = 1 + version;
    samples::fill_sample(original, version, seed);
    writer w;
    original.encode(w, version);
    auto bytes = w.flatten();
    reader r(bytes.data(), bytes.size());
    T decoded;
    decoded.decode(r, version);
    ASSERT_TRUE(r.ok()) << what << " v" << version;
    EXPECT_EQ(r.remaining(), 0u) << what << " v" << version;
    EXPECT_TRUE(decoded == original) << what << " v" << version;
    writer again;
    decoded.encode(again, version);
    EXPECT_EQ(again.flatten(), bytes) << what << " v" << version;
    // Every strict prefix of the message must fail cleanly rather than crash.
    for (size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 64) {
        reader partial(bytes.data(), cut);
        T t;
        t.decode(partial, version);
        EXPECT_FALSE(partial.ok() && partial.remaining() == 0 && t == original)
            << what << " v" << version << " decoded from a prefix of " << cut << " bytes";
    }
}

TEST(message_round_trip, every_api_every_version) {
    size_t checked = 0;
    std::apply(
        [&](auto... api) {
            (
                [&] {
                    using A = decltype(api);
                    for (int16_t v = 0; v <= A::schema_max_version; ++v) {
                        expect_round_trip<typename A::request>(A::name, v);
                        expect_round_trip<typename A::response>(A::name, v);
                        ++checked;
                    }
                }(),
                ...);
        },
        all_apis{});
    EXPECT_GT(checked, 100u);
}

TEST(message_round_trip, headers) {
    for (int16_t v = 0; v <= 2; ++v) expect_round_trip<request_header>("RequestHeader", v);
    for (int16_t v = 0; v <= 1; ++v) expect_round_trip<response_header>("ResponseHeader", v);
}

// Record and file formats defined in the schema (data kind).
TEST(message_round_trip, data_records) {
    for (int16_t v = 0; v <= 1; ++v) expect_round_trip<offset_commit_key>("OffsetCommitKey", v);
    for (int16_t v = 0; v <= 4; ++v) expect_round_trip<offset_commit_value>("OffsetCommitValue", v);
    expect_round_trip<group_metadata_key>("GroupMetadataKey", 2);
    for (int16_t v = 0; v <= 4; ++v)
        expect_round_trip<group_metadata_value>("GroupMetadataValue", v);
    expect_round_trip<producer_snapshot>("ProducerSnapshot", 1);
    expect_round_trip<transaction_log_key>("TransactionLogKey", 0);
    for (int16_t v = 0; v <= 1; ++v)
        expect_round_trip<transaction_log_value>("TransactionLogValue", v);
}

}  // namespace
}  // namespace runnel::protocol::msg
