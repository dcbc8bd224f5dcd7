// DeleteTopics (20): by name (v0-5) or by name or topic id (v6+).
#include "protocol/messages/delete_topics.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<delete_topics_response>> handle(request_context& ctx,
                                                              delete_topics_request req) {
    kafka_services& b = ctx.services;
    delete_topics_response resp;
    // v0-5 send names only; v6 sends {name or id} pairs.
    if (ctx.api_version < 6) {
        for (auto& n : req.topic_names) req.topics.push_back({n, {}, {}});
    }
    for (const auto& t : req.topics) {
        auto& r = resp.responses.emplace_back();
        r.name = t.name;
        r.topic_id = t.topic_id;
        std::optional<std::string> name = t.name;
        if (!name) {
            if (auto found = b.topics().snapshot()->find(t.topic_id)) {
                name = found->name;
                r.name = found->name;
            } else {
                r.error_code = to_wire(error_code::unknown_topic_id);
                r.error_message = "Topic id does not exist.";
                continue;
            }
        }
        if (*name == groups::offsets_topic_name) {
            // The consumer groups' state lives there; Runnel never deletes it.
            r.error_code = to_wire(error_code::invalid_topic_exception);
            r.error_message = "Cannot delete the internal topic " + *name + ".";
            continue;
        }
        auto deleted = co_await b.admin().delete_topic(*name);
        r.error_code = to_wire(deleted.error);
        r.error_message = deleted.message;
        if (deleted.topic) r.topic_id = deleted.topic->id;
    }
    co_return resp;
}

}  // namespace

void register_delete_topics(dispatch& d) { d.add<api_types<20>>(handle); }

}  // namespace runnel::server
